// Mounted in an Express 5 app under /crm: links carry the mount path, the host's own routes and
// body parsers keep working, a body express.json() parsed first is reused, and a body something
// else consumed is a clear 500. Also mounted the way Connect does it (prefix stripped from req.url).
import { once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { createTestCrm, type TestCrm } from "@rapport/testing"
import { rapportRouter, toNodeHandler } from "@rapport/express"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const authenticate = (req: http.IncomingMessage) => (req.headers.authorization === "Bearer admin" ? { workspace: "shop", principal: "owner", role: "admin" } : null)

const listen = async (handler: http.RequestListener) => {
  const server = http.createServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const call = (url: string, method: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method,
    headers: { authorization: "Bearer admin", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }))

let crm: TestCrm
const closers: Array<() => Promise<void>> = []
beforeAll(async () => {
  crm = await createTestCrm()
})
afterAll(async () => {
  for (const close of closers) await close()
  await crm.close()
})

describe("Express 5", () => {
  it("app.use('/crm', rapportRouter(crm)) before express.json(): links under /crm, the app's routes untouched", async () => {
    const app = express()
    const router = rapportRouter(crm, { authenticate })
    app.use("/crm", router)
    app.use(express.json())
    app.post("/shop/echo", (req, res) => void res.json({ echoed: req.body }))
    const { server, url } = await listen(app)
    closers.push(async () => void server.close(), () => router.close())

    const created = await call(`${url}/crm/contacts`, "POST", { email: "express@example.com" })
    expect(created.status).toBe(201)
    const contact = JSON.parse(created.text)
    expect(created.headers.get("location")).toBe(`/crm/contacts/${contact.id}`)
    await call(`${url}/crm/contacts`, "POST", { email: "express2@example.com" })
    const page = await call(`${url}/crm/contacts?limit=1`, "GET")
    expect(page.headers.get("link")).toMatch(/^<\/crm\/contacts\?limit=1&cursor=[^>]+>; rel="next"$/)
    const unknown = await call(`${url}/crm/nope`, "GET")
    expect([unknown.status, unknown.headers.get("content-type"), JSON.parse(unknown.text).instance]).toEqual([404, "application/problem+json", "/crm/nope"])
    expect(JSON.parse((await call(`${url}/shop/echo`, "POST", { a: 1 })).text)).toEqual({ echoed: { a: 1 } })
    const spec = JSON.parse((await call(`${url}/crm/openapi.json`, "GET")).text)
    expect(spec.servers).toEqual([{ url: "/crm" }])
  })

  it("after express.json(): the parsed body is reused", async () => {
    const app = express()
    const router = rapportRouter(crm, { authenticate })
    app.use(express.json())
    app.use("/crm", router)
    const { server, url } = await listen(app)
    closers.push(async () => void server.close(), () => router.close())
    const created = await call(`${url}/crm/companies`, "POST", { name: "Parsed First" })
    expect(created.status).toBe(201)
    expect(JSON.parse(created.text).name).toBe("Parsed First")
    const invalid = await call(`${url}/crm/companies`, "POST", { name: "" })
    expect([invalid.status, JSON.parse(invalid.text).errors[0].pointer]).toEqual([400, "/name"])
  })

  it("a body another middleware consumed is a 500 BODY_CONSUMED saying to mount Rapport first", async () => {
    const app = express()
    const router = rapportRouter(crm, { authenticate })
    app.use((req, _res, next) => {
      req.on("data", () => undefined)
      req.on("end", () => next())
    })
    app.use("/crm", router)
    const { server, url } = await listen(app)
    closers.push(async () => void server.close(), () => router.close())
    const answer = await call(`${url}/crm/companies`, "POST", { name: "Lost" })
    const problem = JSON.parse(answer.text)
    expect([answer.status, problem.code]).toEqual([500, "BODY_CONSUMED"])
    expect(problem.detail).toMatch(/before express\.json\(\)/)
  })
})

describe("node:http and Connect-style mounts", () => {
  it("node:http serves the API at the root; a Connect-style mount (req.url stripped, originalUrl kept) links under its prefix", async () => {
    const handler = toNodeHandler(crm, { authenticate })
    const { server, url } = await listen((req, res) => {
      if (req.url?.startsWith("/api/")) {
        Object.assign(req, { originalUrl: req.url })
        req.url = req.url.slice("/api".length)
      }
      handler(req, res)
    })
    closers.push(async () => void server.close(), () => handler.close())
    const root = await call(`${url}/companies`, "POST", { name: "Root" })
    expect(root.headers.get("location")).toBe(`/companies/${JSON.parse(root.text).id}`)
    const mounted = await call(`${url}/api/companies`, "POST", { name: "Mounted" })
    expect(mounted.headers.get("location")).toBe(`/api/companies/${JSON.parse(mounted.text).id}`)
  })
})
