// Runs the quickstart on a SQLite file: `pnpm demo` from the repository root.
// RAPPORT_DEMO_DB chooses the file (default: examples/quickstart/data/quickstart.db).
import { createCrm } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import { fileURLToPath } from "node:url"
import { runDemo } from "./demo.js"

const filename = process.env["RAPPORT_DEMO_DB"] ?? fileURLToPath(new URL("../data/quickstart.db", import.meta.url))

const crm = await createCrm({ storage: sqliteStorage({ filename }) })
try {
  console.log(`Rapport quickstart — SQLite database ${filename}`)
  await runDemo(crm, console.log)
} finally {
  await crm.close()
}
