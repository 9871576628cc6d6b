import { SqliteStorage } from "@rapport/sqlite"
import { hostileInputSuite } from "@rapport/testing/contract"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// A database file, as users run it; each run of the suite works in a workspace of its own.
hostileInputSuite(SqliteStorage.layer({ filename: join(mkdtempSync(join(tmpdir(), "rapport-hostile-")), "crm.db") }), { name: "sqlite" })
