// Runs the quickstart: `pnpm demo` from the repository root.
// On a SQLite file by default (RAPPORT_DEMO_DB chooses it, else examples/quickstart/data/quickstart.db);
// on PostgreSQL when RAPPORT_PG_URL is set, e.g. postgres://postgres@127.0.0.1:5432/test.
import { createCrm } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import { fileURLToPath } from "node:url"
import { demoMail, runDemo } from "./demo.js"

const pgUrl = process.env["RAPPORT_PG_URL"]
const filename = process.env["RAPPORT_DEMO_DB"] ?? fileURLToPath(new URL("../data/quickstart.db", import.meta.url))

// Mails go to the console (consoleMailer, the default); plug your provider's Mailer in instead.
const crm = await createCrm({ storage: pgUrl ? postgresStorage({ url: pgUrl }) : sqliteStorage({ filename }), mail: demoMail })
try {
  console.log(`Rapport quickstart — ${pgUrl ? `PostgreSQL ${pgUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@")}` : `SQLite database ${filename}`}`)
  await runDemo(crm, console.log)
} finally {
  await crm.close()
}
