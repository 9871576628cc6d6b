// Starts Boutique Lumière: `pnpm example:eshop` from the repository root (or `pnpm start` here).
// Settings come from the environment:
//   PORT            HTTP port on 127.0.0.1 (default 3000)
//   DATABASE_URL    postgres://… to use PostgreSQL; else a SQLite file (ESHOP_DB, default data/eshop.db)
//   SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD   a real relay; else a local SMTP server logs the mails
//   SMTP_DEV_PORT   port of that local SMTP server (default: any free port)
//   RAPPORT_SECRET  signs unsubscribe and confirmation links (a development value otherwise)
//   ADMIN_EMAIL, ADMIN_PASSWORD   the shop account that may open the dashboard and the CRM's API
//   RAPPORT_WORKSPACE  the CRM workspace (default "default"), to share one database between shops
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { createShop } from "./shop.js"

const env = process.env
const databaseUrl = env["DATABASE_URL"]
const filename = env["ESHOP_DB"] ?? fileURLToPath(new URL("../data/eshop.db", import.meta.url))
if (databaseUrl === undefined) mkdirSync(dirname(filename), { recursive: true })
const secret = env["RAPPORT_SECRET"] ?? "eshop-development-secret-change-me"
if (env["RAPPORT_SECRET"] === undefined) console.warn("RAPPORT_SECRET is not set: using a development secret (set one before going live)")
const admin = { email: env["ADMIN_EMAIL"] ?? "admin@boutique-lumiere.example", password: env["ADMIN_PASSWORD"] ?? "lumiere-admin" }
const smtpHost = env["SMTP_HOST"]

const shop = await createShop({
  storage: databaseUrl !== undefined ? postgresStorage({ url: databaseUrl }) : sqliteStorage({ filename }),
  port: Number(env["PORT"] ?? 3000),
  secret,
  admin,
  ...(env["RAPPORT_WORKSPACE"] === undefined ? {} : { workspace: env["RAPPORT_WORKSPACE"] }),
  ...(env["PUBLIC_URL"] === undefined ? {} : { publicUrl: env["PUBLIC_URL"] }),
  ...(smtpHost === undefined
    ? { smtpPort: Number(env["SMTP_DEV_PORT"] ?? 0) }
    : {
        smtp: {
          host: smtpHost,
          port: Number(env["SMTP_PORT"] ?? 587),
          ...(env["SMTP_USER"] === undefined ? {} : { auth: { user: env["SMTP_USER"], pass: env["SMTP_PASSWORD"] ?? "" } })
        }
      })
})
console.log(`  Database:  ${databaseUrl !== undefined ? databaseUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@") : `SQLite ${filename}`}`)
console.log(`  Admin:     ${admin.email} / ${env["ADMIN_PASSWORD"] === undefined ? admin.password : "(ADMIN_PASSWORD)"}`)
console.log("Press Ctrl+C to stop.")

const stop = () => {
  shop.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
