// Webhooks in over HTTP on loopback (issue 14): an admin configures a source; a shop posts its
// delivery to /webhooks/in/:source without authenticating (the signature over the raw bytes is
// the proof); the answer is 200 with the receipt, 200 `duplicate: true` for a replayed delivery,
// and a problem document for a bad signature (401), an expired timestamp (401), a missing header
// (400), an unknown source (404), an oversized body (413), or a body a JSON parser already read.
import { rapportRouter } from "@rapport/express"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createHmac } from "node:crypto"
import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"
import { type Served, serve } from "./helpers.js"

const SHOPIFY_SECRET = "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"
const STANDARD_SECRET = "whsec_" + Buffer.from("http standard webhooks secret 32").toString("base64")

// Pretty-printed, as Shopify sends it: the signature covers these exact bytes, spaces included.
const order = Buffer.from(`{
  "id": 820982911946154508,
  "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
  "email": "jon@example.com",
  "created_at": "2021-12-31T19:00:00-05:00",
  "currency": "EUR",
  "name": "#9999",
  "total_price": "24.90",
  "customer": { "id": 115310627314723954, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow", "phone": null },
  "line_items": [
    { "id": 866550311766439020, "name": "Wool scarf - grey", "price": "12.45", "quantity": 2, "sku": "SCARF-GREY", "variant_id": 808950810 }
  ]
}
`)
const shopifyHeaders = (body: Uint8Array, id: string, secret = SHOPIFY_SECRET) => ({
  "content-type": "application/json",
  "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"),
  "x-shopify-webhook-id": id,
  "x-shopify-topic": "orders/create"
})

const servers: Array<Server> = []
const routers: Array<ReturnType<typeof rapportRouter>> = []
const listen = async (handler: RequestListener) => {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let served: Served

beforeAll(async () => {
  served = await serve({
    bodyLimit: 64 * 1024,
    webhooks: { mappers: { billing: (payload) => ({ type: "invoice.paid", email: (payload as { email: string }).email }) } }
  })
  for (const source of [
    { source: "acme-shop", provider: "shopify", secrets: [SHOPIFY_SECRET] },
    { source: "erp", provider: "standard", secrets: [STANDARD_SECRET] },
    { source: "billing", provider: "standard", secrets: [STANDARD_SECRET] },
    { source: "woo", provider: "woocommerce", secrets: ["woo-secret"] }
  ]) {
    const created = await served.request("POST", "/webhooks/sources", { as: "admin-a", json: source })
    expect(created.status).toBe(201)
    expect(created.text).not.toContain(source.secrets[0])
  }
})
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await Promise.all(routers.map((r) => r.close()))
  await served.close()
})

// No Authorization header: the signature is the sender's proof.
const post = async (path: string, headers: Record<string, string>, body: Uint8Array | string, at?: string) => {
  const response = await fetch((at ?? served.url) + path, { method: "POST", headers, body })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

describe("POST /webhooks/in/:source", () => {
  it("a signed Shopify order is recorded and answered 200; the same delivery again is 200 duplicate", async () => {
    const first = await post("/webhooks/in/acme-shop", shopifyHeaders(order, "wh-1"), order)
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ source: "acme-shop", webhookId: "wh-1", duplicate: false, ignored: false, events: [{ id: "acme-shop:order:820982911946154508", type: "order.placed", duplicate: false }] })
    // Recorded in the source's workspace (ws-a, where admin-a created it).
    expect((await served.request("GET", "/contacts/by-email?email=jon@example.com", { as: "admin-a" })).body).toMatchObject({ firstName: "Jon", stage: "customer" })
    expect((await served.request("GET", "/contacts/by-email?email=jon@example.com", { as: "admin-b" })).status).toBe(404)
    const again = await post("/webhooks/in/acme-shop", shopifyHeaders(order, "wh-1"), order)
    expect(again).toEqual({ status: 200, body: expect.objectContaining({ duplicate: true, events: [] }) })
  })

  it("a bad signature is 401, an unknown source 404, a missing header 400: problem documents, nothing recorded", async () => {
    const tampered = Buffer.from(order.toString().replace('"12.45"', '"0.01"'))
    const bad = await post("/webhooks/in/acme-shop", shopifyHeaders(order, "wh-2"), tampered)
    expect(bad.status).toBe(401)
    expect(bad.body).toMatchObject({ code: "WEBHOOK_REJECTED", reason: "signature", field: "x-shopify-hmac-sha256" })
    const unknown = await post("/webhooks/in/nobody", shopifyHeaders(order, "wh-2"), order)
    expect([unknown.status, unknown.body.code, unknown.body.reason]).toEqual([404, "WEBHOOK_REJECTED", "unknownSource"])
    const { "x-shopify-webhook-id": _, ...noId } = shopifyHeaders(order, "wh-2")
    const missing = await post("/webhooks/in/acme-shop", noId, order)
    expect([missing.status, missing.body.reason, missing.body.field]).toEqual([400, "missingHeader", "x-shopify-webhook-id"])
    // wh-2 was never recorded.
    expect((await post("/webhooks/in/acme-shop", shopifyHeaders(order, "wh-2"), order)).body.duplicate).toBe(false)
  })

  it("Standard Webhooks: signed by the standardwebhooks package; a delivery 6 minutes old or ahead is 401", async () => {
    const body = JSON.stringify({ type: "signed.up", email: "grace@example.com" })
    // Signed at the CRM's (virtual) clock, then delivered after it moved.
    const headers = (id: string, at: Date, payload = body) => ({
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(STANDARD_SECRET).sign(id, at, payload)
    })
    const now = () => new Date(served.crm.clock.now())
    const ok = await post("/webhooks/in/erp", headers("msg_1", now()), body)
    expect(ok).toMatchObject({ status: 200, body: { events: [{ id: "erp:msg_1", type: "signed.up" }] } })
    const signedAt = now()
    await served.crm.clock.advance("6 minutes")
    const expired = await post("/webhooks/in/erp", headers("msg_2", signedAt), body)
    expect([expired.status, expired.body.reason]).toEqual([401, "timestamp"])
    const future = await post("/webhooks/in/erp", headers("msg_3", new Date(now().getTime() + 6 * 60_000)), body)
    expect([future.status, future.body.reason]).toEqual([401, "timestamp"])
    expect((await post("/webhooks/in/erp", headers("msg_4", new Date(now().getTime() - 4 * 60_000)), body)).status).toBe(200)
    // The host's mapper of another source.
    const invoice = JSON.stringify({ email: "lin@example.com", amount: 10 })
    const mapped = await post("/webhooks/in/billing", headers("inv_1", now(), invoice), invoice)
    expect(mapped).toMatchObject({ status: 200, body: { events: [{ id: "billing:inv_1", type: "invoice.paid" }] } })
  })

  it("WooCommerce's unsigned form-encoded ping is acknowledged; an oversized body is 413", async () => {
    const ping = await post("/webhooks/in/woo", { "content-type": "application/x-www-form-urlencoded" }, "webhook_id=42")
    expect(ping).toEqual({ status: 200, body: { source: "woo", webhookId: null, duplicate: false, ignored: true, events: [] } })
    const huge = await post("/webhooks/in/acme-shop", shopifyHeaders(order, "wh-big"), "x".repeat(70 * 1024))
    expect([huge.status, huge.body.code]).toEqual([413, "PAYLOAD_TOO_LARGE"])
  })

  it("behind express.json() the signed bytes are gone: 500 BODY_CONSUMED saying what to do; express.raw() keeps them", async () => {
    const router = () => {
      const handler = rapportRouter(served.crm, { authenticate: () => null })
      routers.push(handler)
      return handler
    }
    const parsed = express()
    parsed.use(express.json())
    parsed.use("/crm", router())
    const consumed = await post("/crm/webhooks/in/acme-shop", shopifyHeaders(order, "wh-json"), order, await listen(parsed))
    expect([consumed.status, consumed.body.code]).toEqual([500, "BODY_CONSUMED"])
    expect(consumed.body.detail).toMatch(/before express\.json\(\)/)

    const raw = express()
    raw.use(express.raw({ type: "*/*" }))
    raw.use("/crm", router())
    const kept = await post("/crm/webhooks/in/acme-shop", shopifyHeaders(order, "wh-raw"), order, await listen(raw))
    expect([kept.status, kept.body.events?.[0]?.duplicate]).toEqual([200, true])
  })

  it("sources are managed by admins only; their secrets are never answered", async () => {
    for (const as of ["sales-a", "reader-a"]) {
      expect([as, (await served.request("GET", "/webhooks/sources", { as })).status]).toEqual([as, 403])
      expect([as, (await served.request("POST", "/webhooks/sources", { as, json: { provider: "shopify", secrets: ["x"] } })).status]).toEqual([as, 403])
    }
    const listed = await served.request("GET", "/webhooks/sources", { as: "admin-a" })
    expect(listed.body.map((s: { source: string; secretCount: number }) => [s.source, s.secretCount])).toEqual([["acme-shop", 1], ["billing", 1], ["erp", 1], ["woo", 1]])
    expect(listed.text).not.toMatch(/shpss_|whsec_|woo-secret/)
    // Another workspace cannot take a name in use (the URL names only the source).
    expect((await served.request("POST", "/webhooks/sources", { as: "admin-b", json: { source: "acme-shop", provider: "shopify", secrets: ["x"] } })).status).toBe(409)
  })
})
