// Webhooks in and API keys on PostgreSQL, with two clients of their own pools (two app instances):
// the same delivery posted to both at once is processed once; two deliveries of the same order at
// once record one event; a key made by one instance is verified by the other.
import { createCrm, type CrmClient } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { createHmac, randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { available, pgUrl, skipReason } from "./database.js"

const SECRET = "shpss_pg_0123456789abcdef0123456789ab"
const orderBody = (orderId: string) =>
  Buffer.from(JSON.stringify({ id: Number(orderId), email: "pg-buyer@example.com", currency: "EUR", total_price: "10.00", line_items: [{ name: "Mug", sku: "MUG", price: "5.00", quantity: 2 }] }))
const headers = (body: Uint8Array, webhookId: string) => ({
  "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("base64"),
  "x-shopify-webhook-id": webhookId,
  "x-shopify-topic": "orders/create"
})

const suite = available ? describe : describe.skip

suite(`postgres — webhooks in and API keys across two instances${available ? "" : ` (${skipReason})`}`, () => {
  // A workspace and a source of the test's own: source names are unique across the database.
  const workspace = `wh-${randomUUID()}`
  const source = `pg-${randomUUID().slice(0, 8)}`
  let one: CrmClient
  let two: CrmClient
  beforeAll(async () => {
    one = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace })
    two = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace: "default" })
    await one.inboundWebhooks.create({ source, provider: "shopify", secrets: [SECRET] })
  })
  afterAll(async () => {
    await one?.close()
    await two?.close()
  })

  it("the same delivery posted 8 times at once to two instances is processed once; the others are duplicates", async () => {
    const body = orderBody("5001")
    const delivery = { source, headers: headers(body, "same-delivery"), body }
    const receipts = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? one : two).inboundWebhooks.receive(delivery)))
    expect(receipts.map((r) => r.duplicate).sort()).toEqual([false, true, true, true, true, true, true, true])
    const processed = receipts.find((r) => !r.duplicate)!
    expect(processed.events.map((e) => [e.id, e.duplicate])).toEqual([[`${source}:order:5001`, false]])
    const contact = await one.contacts.findByEmail("pg-buyer@example.com")
    expect((await one.timeline.list(contact!.id)).items.filter((e) => e.kind === "order").length).toBe(1)
  })

  it("two deliveries of one order at once (two delivery ids): both answered, one event recorded", async () => {
    const body = orderBody("5002")
    const receipts = await Promise.all([
      one.inboundWebhooks.receive({ source, headers: headers(body, "order-5002-a"), body }),
      two.inboundWebhooks.receive({ source, headers: headers(body, "order-5002-b"), body })
    ])
    expect(receipts.map((r) => r.duplicate)).toEqual([false, false])
    expect(receipts.map((r) => r.events[0]!.duplicate).sort()).toEqual([false, true])
  })

  it("a key made by one instance is verified by the other, and refused there once revoked", async () => {
    const { key, secret } = await one.apiKeys.create({ name: "pg", role: "sales" })
    expect(await two.apiKeys.verify(secret)).toEqual({ workspace, keyId: key.id, name: "pg", role: "sales" })
    await one.apiKeys.revoke(key.id)
    await expect(two.apiKeys.verify(secret)).rejects.toMatchObject({ code: "UNAUTHENTICATED", reason: "revoked" })
  })
})
