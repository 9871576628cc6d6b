// Starts the B2B back office: `pnpm start` here, or `pnpm example:b2b` from the repository root.
// SQLite file by default (RAPPORT_B2B_DB, else examples/b2b-quotes/data/b2b-quotes.db); PostgreSQL
// when DATABASE_URL is a postgres:// URL. PORT (default 3001) and SMTP_PORT (default 2525) on 127.0.0.1.
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { createApp } from "./app.js"

const port = (name: string, fallback: number) => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`${name} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`)
  return n
}

const databaseUrl = process.env["DATABASE_URL"]
const usePostgres = databaseUrl !== undefined && databaseUrl !== ""
if (usePostgres && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
  throw new Error(`DATABASE_URL must be a postgres:// URL (unset it to use the SQLite file), got ${JSON.stringify(databaseUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@"))}`)
}
const filename = process.env["RAPPORT_B2B_DB"] ?? fileURLToPath(new URL("../data/b2b-quotes.db", import.meta.url))
if (!usePostgres) mkdirSync(dirname(filename), { recursive: true })

const app = await createApp({
  storage: usePostgres ? postgresStorage({ url: databaseUrl }) : sqliteStorage({ filename }),
  port: port("PORT", 3001),
  smtpPort: port("SMTP_PORT", 2525)
})
const where = usePostgres ? `PostgreSQL ${databaseUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@")}` : `SQLite ${filename}`
console.log(`
Vasseur Équipement Pro — B2B quotes back office (${where})
  Back office        ${app.url}/
  Rapport API        ${app.url}/crm/api/docs
  Dashboard          ${app.url}/crm/dashboard/
  Mails (dev SMTP)   ${app.url}/mails   — SMTP server on 127.0.0.1:${app.smtpPort}
Ctrl+C to stop.`)

const stop = () => {
  void app.close().then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
