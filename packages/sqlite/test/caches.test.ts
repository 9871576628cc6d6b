import { sqliteStorage } from "@rapport/sqlite"
import { sharedDatabaseSuite } from "@rapport/testing/contract"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// Two clients on one file, as a web server and a worker would open it.
const filename = join(mkdtempSync(join(tmpdir(), "rapport-caches-")), "crm.db")
sharedDatabaseSuite({ name: "sqlite", client: () => ({ storage: sqliteStorage({ filename }) }) })
