import { SqliteStorage } from "@rapport/sqlite"
import { storageSuite } from "@rapport/testing/contract"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// A database file (not :memory:) so WAL mode, the file lock and the pragmas are exercised too.
storageSuite(SqliteStorage.layer({ filename: join(mkdtempSync(join(tmpdir(), "rapport-contract-")), "crm.db") }), { name: "sqlite" })

// The in-process storage (createTestCrm, demos) is the same SQL on SQLite's :memory: database.
storageSuite(SqliteStorage.memoryLayer, { name: "sqlite in memory" })
