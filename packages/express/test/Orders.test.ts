// Orders over HTTP (issue 16): GET /orders (filters and cursor paging, the Link header),
// GET /orders/{orderId}, GET /contacts/{contactId}/orders/summary; every role may read them, no
// workspace sees another's, and the OpenAPI document describes their answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
let ada: string
beforeAll(async () => {
  api = await serve()
  const crm = api.crm.workspace("ws-a")
  ada = (await crm.contacts.create({ email: "ada@example.com" })).id
  const place = (orderId: string, occurredAt: string, amountMinor: number, quantity = 1) =>
    crm.events.emit({ type: "order.placed", contactId: ada, occurredAt, payload: { orderId, lines: [{ sku: "S", name: "Shoe", quantity, unitPrice: { amountMinor, currency: "EUR" } }] } })
  await place("o-1", "2025-01-05T09:00:00Z", 1999, 2)
  await place("o-2", "2025-02-05T09:00:00Z", 5000)
  await place("o-3", "2025-03-05T09:00:00Z", 700)
  await crm.events.emit({ type: "order.refunded", contactId: ada, payload: { orderId: "o-2", amount: { amountMinor: 1200, currency: "EUR" }, reason: "late" } })
  await crm.events.emit({ type: "order.cancelled", contactId: ada, payload: { orderId: "o-3" } })
})
afterAll(() => api.close())

describe("orders over HTTP", () => {
  it("GET /orders/{orderId}: the order with its status and refunded sum, to a read-only caller", async () => {
    const answer = await api.request("GET", "/orders/o-2", { as: "reader-a" })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ id: "o-2", contactId: ada, totalMinor: 5000, refundedMinor: 1200, status: "placed", cancelledAt: null, placedAt: "2025-02-05T09:00:00.000Z" })
    expect((await api.request("GET", "/orders/o-3", { as: "reader-a" })).body).toMatchObject({ status: "cancelled" })
    const missing = await api.request("GET", "/orders/o-404", { as: "reader-a" })
    expect([missing.status, missing.body.code]).toEqual([404, "NOT_FOUND"])
    // Another workspace's caller does not see it.
    expect((await api.request("GET", "/orders/o-2", { as: "admin-b" })).status).toBe(404)
  })

  it("GET /orders: newest first, filtered by contact, period and status, paged with a cursor and a Link header", async () => {
    const all = await api.request("GET", `/orders?contactId=${ada}`, { as: "sales-a" })
    expect(all.status).toBe(200)
    expect(all.body.items.map((o: { id: string }) => o.id)).toEqual(["o-3", "o-2", "o-1"])
    const placed = await api.request("GET", "/orders?status=placed&from=2025-01-05T09:00:00Z&to=2025-02-05T09:00:00Z", { as: "reader-a" })
    expect(placed.body.items.map((o: { id: string }) => o.id)).toEqual(["o-1"])
    const first = await api.request("GET", "/orders?limit=2", { as: "reader-a" })
    expect(first.body.items.map((o: { id: string }) => o.id)).toEqual(["o-3", "o-2"])
    expect(first.headers.get("link")).toContain("rel=\"next\"")
    const second = await api.request("GET", `/orders?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, { as: "reader-a" })
    expect(second.body).toMatchObject({ items: [{ id: "o-1" }], nextCursor: null })
    const bad = await api.request("GET", "/orders?status=lost", { as: "reader-a" })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/status"])
    expect((await api.request("GET", "/orders", { as: "admin-b" })).body.items).toEqual([])
  })

  it("GET /contacts/{contactId}/orders/summary: revenue net of refunds without the cancelled order, count, first and last, average", async () => {
    const answer = await api.request("GET", `/contacts/${ada}/orders/summary`, { as: "reader-a" })
    expect(answer.status).toBe(200)
    // o-1 2 × 1,999 = 3,998 and o-2 5,000 − 1,200 = 3,800: 7,798 over 2 orders, 3,899 each; o-3 is cancelled.
    expect(answer.body).toEqual({
      contactId: ada,
      currencies: [{ currency: "EUR", revenueMinor: 7798, orders: 2, firstOrderAt: "2025-01-05T09:00:00.000Z", lastOrderAt: "2025-02-05T09:00:00.000Z", averageBasketMinor: 3899 }]
    })
    expect((await api.request("GET", `/contacts/${ada}/orders/summary`, { as: "admin-b" })).status).toBe(404)
  })

  it("the OpenAPI document describes the three routes and their answers", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    expect(spec.paths["/orders"].get["x-rapport-action"]).toBe("orders.list")
    expect(spec.paths["/orders/{orderId}"].get["x-rapport-action"]).toBe("orders.get")
    expect(spec.paths["/contacts/{contactId}/orders/summary"].get["x-rapport-action"]).toBe("orders.summary")
    expect(Object.keys(spec.components.schemas)).toEqual(expect.arrayContaining(["Order", "OrderSummary", "CurrencyFigures"]))
    expect(Object.keys(spec.components.schemas.Order.properties)).toEqual(expect.arrayContaining(["status", "refundedMinor", "cancelledAt", "totalMinor", "lines"]))
  })
})
