// The dashboard mounted the way the docs say, in Express 5 (`app.use("/crm/dashboard", …)`): links,
// assets and cookies carry the mount path, and the app's own routes after it still answer.
import { once } from "node:events"
import type * as http from "node:http"
import type { AddressInfo } from "node:net"
import { rapportDashboard } from "@rapport/express"
import { createTestCrm, type TestCrm } from "@rapport/testing"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let crm: TestCrm
let server: http.Server
let url: string

beforeAll(async () => {
  crm = await createTestCrm()
  await crm.contacts.create({ email: "zoe@example.fr", firstName: "Zoé" })
  const app = express()
  app.use("/crm/dashboard", rapportDashboard(crm, { authenticate: (req) => (req.headers.authorization === "Bearer owner" ? { workspace: "default", principal: "owner", role: "admin" } : null), title: "Ma boutique" }))
  app.get("/health", (_req, res) => void res.send("ok"))
  server = app.listen(0, "127.0.0.1")
  await once(server, "listening")
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  await crm?.close()
})

describe("dashboard in Express", () => {
  it("pages, links, assets and cookies are under the mount path; the default workspace is the host client's", async () => {
    const response = await fetch(`${url}/crm/dashboard/contacts`, { headers: { authorization: "Bearer owner", "accept-language": "fr" } })
    expect(response.status).toBe(200)
    const page = await response.text()
    expect(page).toContain('<html lang="fr">')
    expect(page).toContain("<title>Contacts · Ma boutique</title>")
    expect(page).toContain('<script src="/crm/dashboard/assets/chart.umd.js" defer></script>')
    expect(page).toContain('href="/crm/dashboard/contacts/')
    expect(page).toContain("Zoé")
    expect(response.headers.getSetCookie().some((c) => c.startsWith("rapport_csrf=") && c.includes("Path=/crm/dashboard"))).toBe(true)
    const chart = await fetch(`${url}/crm/dashboard/assets/chart.umd.js`)
    expect([chart.status, chart.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"])
    expect((await fetch(`${url}/crm/dashboard/`)).status).toBe(401)
    expect(await (await fetch(`${url}/health`)).text()).toBe("ok")
  })
})
