// Outbound webhook subscriptions over HTTP on loopback (issue 14, "Webhooks out"): an admin
// creates a subscription (the secret once, not cached), lists, reads (ETag), changes it under
// If-Match, rotates its secret, reads its delivery log and redelivers a message; allowPrivateNetwork
// cannot be set over HTTP; other roles and other workspaces are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Served, serve } from "./helpers.js"

let served: Served
let receiver: http.Server
let receiverUrl: string
const received: Array<{ id: string; body: string }> = []

beforeAll(async () => {
  served = await serve()
  receiver = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ id: String(req.headers["webhook-id"]), body: Buffer.concat(chunks).toString("utf8") })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`
})
afterAll(async () => {
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
  await served.close()
})

const create = (body: unknown, as = "admin-a") => served.request("POST", "/webhooks/subscriptions", { as, json: body })

describe("outbound webhooks over HTTP", () => {
  it("POST answers 201 with the secret once (no-store, Location); GET reads and lists without it, with an ETag", async () => {
    const created = await create({ url: "https://erp.example.com/hooks", eventTypes: ["contact.created", "deal.won"], description: "ERP" })
    expect(created.status).toBe(201)
    expect(created.headers.get("cache-control")).toBe("no-store")
    const id = created.body.subscription.id as string
    expect(created.headers.get("location")).toBe(`/webhooks/subscriptions/${id}`)
    expect(created.body).toMatchObject({ subscription: { url: "https://erp.example.com/hooks", enabled: true, workspaceId: "ws-a", allowPrivateNetwork: false } })
    const secret = created.body.secret as string
    expect(secret).toMatch(/^whsec_/)
    const read = await served.request("GET", `/webhooks/subscriptions/${id}`, { as: "admin-a" })
    expect(read.status).toBe(200)
    expect(read.headers.get("etag")).toBe('"1"')
    const listed = await served.request("GET", "/webhooks/subscriptions?limit=100", { as: "admin-a" })
    expect(listed.status).toBe(200)
    expect(listed.body.items.map((s: { id: string }) => s.id)).toContain(id)
    expect(read.text + listed.text).not.toContain(secret.slice("whsec_".length))
  })

  it("allowPrivateNetwork cannot be set over HTTP, and a URL on a private or loopback address is a 400 naming /url; nothing is stored", async () => {
    const before = (await served.request("GET", "/webhooks/subscriptions?limit=100", { as: "admin-a" })).body.items.length
    const privateFlag = await create({ url: receiverUrl, eventTypes: ["*"], allowPrivateNetwork: true })
    expect(privateFlag.status).toBe(400)
    expect(privateFlag.headers.get("content-type")).toContain("application/problem+json")
    expect(privateFlag.body.errors).toEqual([expect.objectContaining({ pointer: "/allowPrivateNetwork" })])
    const loopback = await create({ url: receiverUrl, eventTypes: ["*"] })
    expect(loopback.status).toBe(400)
    expect(loopback.body.errors).toEqual([expect.objectContaining({ pointer: "/url", detail: expect.stringContaining("loopback") })])
    const bad = await create({ url: "ftp://x.example/", eventTypes: ["deal.signed"] })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(["/eventTypes/0", "/url"])
    const { body: existing } = await create({ url: "https://erp.example.com/a", eventTypes: ["*"] })
    const patched = await served.request("PATCH", `/webhooks/subscriptions/${existing.subscription.id}`, { as: "admin-a", json: { allowPrivateNetwork: true } })
    expect(patched.status).toBe(400)
    expect((await served.request("GET", "/webhooks/subscriptions?limit=100", { as: "admin-a" })).body.items.length).toBe(before + 1)
    expect((await served.request("GET", `/webhooks/subscriptions/${existing.subscription.id}`, { as: "admin-a" })).body.allowPrivateNetwork).toBe(false)
  })

  it("PATCH honours If-Match (a stale one is 412, nothing written); rotate-secret answers a new secret; DELETE is 204 then 404", async () => {
    const { body } = await create({ url: "https://erp.example.com/hooks", eventTypes: ["deal.won"] })
    const path = `/webhooks/subscriptions/${body.subscription.id}`
    const stale = await served.request("PATCH", path, { as: "admin-a", json: { description: "stale" }, headers: { "if-match": '"7"' } })
    expect(stale.status).toBe(412)
    const ok = await served.request("PATCH", path, { as: "admin-a", json: { description: "ERP", eventTypes: ["deal.won", "deal.lost"] }, headers: { "if-match": '"1"' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get("etag")).toBe('"2"')
    expect(ok.body).toMatchObject({ description: "ERP", eventTypes: ["deal.won", "deal.lost"], version: 2 })
    const rotated = await served.request("POST", `${path}/rotate-secret`, { as: "admin-a", json: { keepPreviousFor: "1 hour" } })
    expect(rotated.status).toBe(200)
    expect(rotated.headers.get("cache-control")).toBe("no-store")
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(body.secret)
    expect(rotated.body.subscription.previousSecretExpiresAt).not.toBeNull()
    expect((await served.request("DELETE", path, { as: "admin-a" })).status).toBe(204)
    const gone = await served.request("GET", path, { as: "admin-a" })
    expect(gone.status).toBe(404)
    expect(gone.body.code).toBe("NOT_FOUND")
  })

  it("the delivery log lists attempts newest first, and redeliver queues a message again (202, same webhook-id)", async () => {
    const { body } = await create({ url: "https://erp.example.com/hooks", eventTypes: ["contact.created"] })
    const id = body.subscription.id as string
    // Letting this subscription reach the test's loopback receiver is the host app's decision.
    const ws = served.crm.workspace("ws-a")
    await ws.webhooks.update(id, { url: receiverUrl, allowPrivateNetwork: true })
    expect((await served.request("POST", "/contacts", { as: "admin-a", json: { email: "hook@example.com" } })).status).toBe(201)
    await ws.dispatcher.runDue()
    expect(received).toHaveLength(1)
    const log = await served.request("GET", `/webhooks/subscriptions/${id}/deliveries`, { as: "admin-a" })
    expect(log.status).toBe(200)
    expect(log.body.items).toEqual([expect.objectContaining({ result: "delivered", statusCode: 204, attempt: 1, messageId: received[0]!.id, eventType: "contact.created" })])
    const redelivered = await served.request("POST", `/webhooks/deliveries/${log.body.items[0].id}/redeliver`, { as: "admin-a" })
    expect(redelivered.status).toBe(202)
    expect(redelivered.body).toMatchObject({ status: "pending", attempts: 0, idempotencyKey: received[0]!.id })
    await ws.dispatcher.runDue()
    expect(received.map((r) => r.id)).toEqual([received[0]!.id, received[0]!.id])
    const again = await served.request("GET", `/webhooks/subscriptions/${id}/deliveries?limit=1`, { as: "admin-a" })
    expect(again.body.items).toHaveLength(1)
    expect(again.headers.get("link")).toMatch(/rel="next"/)
  })

  it("only admins reach the routes, reads included; another workspace's subscription is a 404 and stays as it was", async () => {
    const { body } = await create({ url: "https://erp.example.com/hooks", eventTypes: ["deal.won"] })
    const path = `/webhooks/subscriptions/${body.subscription.id}`
    for (const as of ["sales-a", "reader-a"]) {
      expect((await served.request("GET", "/webhooks/subscriptions", { as })).status).toBe(403)
      expect((await served.request("GET", path, { as })).status).toBe(403)
      expect((await create({ url: "https://x.example.com/", eventTypes: ["*"] }, as)).status).toBe(403)
    }
    expect((await served.request("GET", path, { as: "admin-b" })).status).toBe(404)
    expect((await served.request("PATCH", path, { as: "admin-b", json: { enabled: false } })).status).toBe(404)
    expect((await served.request("DELETE", path, { as: "admin-b" })).status).toBe(404)
    expect((await served.request("GET", "/webhooks/subscriptions", { as: "admin-b" })).body.items).toEqual([])
    expect((await served.request("GET", path, { as: "admin-a" })).body).toMatchObject({ enabled: true, version: 1 })
    expect((await served.request("GET", "/webhooks/subscriptions")).status).toBe(401)
  })
})
