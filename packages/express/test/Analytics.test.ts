// Analytics over HTTP (issue 16): every report is a GET any role may read and answers what the
// Promise client answers; POST /analytics/spend is for admin and marketing; bad query parameters
// are 400 problems naming the parameter; the OpenAPI document describes each answer.
import { Analytics } from "@rapport/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callers, type Served, serve } from "./helpers.js"

let api: Served
let ada: string
let bob: string
const client = () => api.crm.workspace("ws-a")
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

beforeAll(async () => {
  const withMarketing = { ...callers, "Bearer marketing-a": { workspace: "ws-a", principal: "mia", role: "marketing" } }
  api = await serve({ authenticate: (req) => withMarketing[req.headers.authorization as keyof typeof withMarketing] ?? null })
  const crm = client()
  await crm.fields.define({ key: "size", type: "select", options: ["S", "M"] })
  ada = (await crm.contacts.create({ email: "ada@example.com", source: { channel: "ads", campaign: "spring" }, firstSeenAt: "2025-01-10T00:00:00Z", fields: { size: "S" } })).id
  bob = (await crm.contacts.create({ email: "bob@example.com", source: { channel: "fair" }, firstSeenAt: "2025-01-20T00:00:00Z", fields: { size: "M" } })).id
  await crm.contacts.create({ email: "cy@example.com", source: { channel: "fair" }, firstSeenAt: "2025-02-01T00:00:00Z", fields: { size: "M" } })
  const place = (contactId: string, orderId: string, occurredAt: string, quantity: number, price: number, cost?: number) =>
    crm.events.emit({
      type: "order.placed",
      contactId,
      occurredAt,
      payload: { orderId, lines: [{ sku: "SHOE", name: "Shoe", quantity, unitPrice: eur(price), ...(cost === undefined ? {} : { unitCost: eur(cost) }) }] }
    })
  await place(ada, "o-1", "2025-03-05T09:00:00Z", 2, 5000, 3000) // 10,000; margin 2 × 2,000 = 4,000
  await place(bob, "o-2", "2025-03-06T09:00:00Z", 1, 7000) // 7,000; no cost
  await place(bob, "o-3", "2025-03-07T09:00:00Z", 1, 9000, 1000) // cancelled below
  await crm.events.emit({ type: "order.cancelled", contactId: bob, payload: { orderId: "o-3" } })
  await crm.events.emit({ type: "order.refunded", contactId: ada, payload: { orderId: "o-1", amount: eur(1500) } })
})
afterAll(() => api.close())

const get = async (path: string, as = "reader-a") => {
  const answer = await api.request("GET", path, { as })
  if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${answer.text}`)
  return answer.body
}

/** The answer decodes strictly with the schema and encodes back to itself. */
const conforms = <A, I>(schema: Schema.Schema<A, I>, body: unknown) => {
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(body)
  if (Either.isLeft(decoded)) throw new Error(ParseResult.TreeFormatter.formatErrorSync(decoded.left))
  expect(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(decoded.right)))).toEqual(body)
}

const period = "from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z"

describe("analytics over HTTP", () => {
  it("GET /analytics/top-customers and /top-products: exact figures, net of the refund, without the cancelled order, to a read-only caller", async () => {
    const customers = await get(`/analytics/top-customers?${period}&limit=5`)
    // ada: 10,000 − 1,500 refunded = 8,500; margin 4,000 − 1,500 = 2,500. bob: 7,000 (o-3 cancelled), margin 0 (no cost).
    expect(customers).toEqual([
      { rank: 1, contactId: ada, revenue: eur(8500), orders: 1, margin: eur(2500), marginComplete: true, uncostedLines: 0 },
      { rank: 2, contactId: bob, revenue: eur(7000), orders: 1, margin: eur(0), marginComplete: false, uncostedLines: 1 }
    ])
    expect(customers).toEqual(await client().analytics.topCustomers({ from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", limit: 5 }))
    conforms(Schema.Array(Analytics.CustomerFigures), customers)
    // SHOE: 2 × 5,000 + 1 × 7,000 = 17,000 over 3 units; margin 4,000 from the costed line, 1 unit uncosted.
    const products = await get(`/analytics/top-products?${period}&currency=EUR`)
    expect(products).toEqual([{ rank: 1, sku: "SHOE", name: "Shoe", revenue: eur(17_000), quantity: 3, margin: eur(4000), marginComplete: false, uncostedQuantity: 1 }])
    conforms(Schema.Array(Analytics.ProductFigures), products)
    // Another workspace sees nothing.
    expect(await get(`/analytics/top-customers?${period}`, "admin-b")).toEqual([])
  })

  it("bad parameters are 400 problems naming them: from after to, limit out of range, an unknown parameter", async () => {
    const pointers = async (path: string) => {
      const answer = await api.request("GET", path, { as: "reader-a" })
      expect(answer.status).toBe(400)
      return answer.body.errors.map((e: { pointer: string }) => e.pointer)
    }
    expect(await pointers("/analytics/top-customers?from=2025-04-01T00:00:00Z&to=2025-03-01T00:00:00Z")).toEqual(["/from"])
    expect(await pointers(`/analytics/top-products?${period}&limit=0`)).toEqual(["/limit"])
    expect(await pointers(`/analytics/top-products?${period}&limit=ten`)).toEqual(["/limit"])
    expect(await pointers("/analytics/funnel?cohortFrom=2025-13")).toEqual(["/cohortFrom"])
    expect(await pointers(`/analytics/channels?${period}&customerStage=vip`)).toEqual(["/customerStage"])
    expect((await api.request("GET", `/analytics/top-customers?${period}&sort=desc`, { as: "reader-a" })).status).toBe(400)
  })

  it("POST /analytics/spend: admin and marketing record spend, sales and read-only callers may not; a bad month is a 400 naming it", async () => {
    const spend = { channel: "ads", campaign: "spring", month: "2025-01", amount: eur(30_000) }
    expect((await api.request("POST", "/analytics/spend", { as: "reader-a", json: spend })).status).toBe(403)
    expect((await api.request("POST", "/analytics/spend", { as: "sales-a", json: spend })).status).toBe(403)
    const byMarketing = await api.request("POST", "/analytics/spend", { as: "marketing-a", json: spend })
    expect([byMarketing.status, byMarketing.body]).toEqual([200, spend])
    const byAdmin = await api.request("POST", "/analytics/spend", { as: "admin-a", json: { ...spend, amount: eur(20_000) } })
    expect([byAdmin.status, byAdmin.body]).toEqual([200, { ...spend, amount: eur(20_000) }])
    const bad = await api.request("POST", "/analytics/spend", { as: "admin-a", json: { ...spend, month: "January" } })
    expect([bad.status, bad.body.errors.map((e: { pointer: string }) => e.pointer)]).toEqual([400, ["/month"]])
    // The channel report sees the last amount recorded (20,000 replaced 30,000): ada is ads/spring's one customer.
    const channels = await get("/analytics/channels?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z")
    expect(channels).toEqual([
      { channel: "ads", campaign: "spring", acquired: 1, customers: 1, customerShare: 1, currency: "EUR", revenue: eur(8500), spend: eur(20_000), costPerCustomer: eur(20_000) },
      // bob: a customer; o-2 = 7,000 (o-3 cancelled). cy was first seen in February.
      { channel: "fair", campaign: null, acquired: 1, customers: 1, customerShare: 1, currency: "EUR", revenue: eur(7000), spend: eur(0), costPerCustomer: eur(0) }
    ])
    expect(channels).toEqual(await client().analytics.channels({ from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z" }))
    conforms(Schema.Array(Analytics.ChannelFigures), channels)
  })

  it("GET /analytics/funnel, /avatar and /rules answer what the Promise client answers, in their schemas", async () => {
    const funnel = await get("/analytics/funnel?cohortFrom=2025-01&cohortTo=2025-02")
    expect(funnel).toEqual(await client().analytics.funnel({ cohortFrom: "2025-01", cohortTo: "2025-02" }))
    conforms(Schema.Array(Analytics.FunnelStage), funnel)
    // January: ada (one order: customer) and bob (two orders: loyal; the cancellation does not move
    // him back), both reached customer; February: cy, a suspect.
    expect(funnel.filter((r: { stage: string }) => r.stage === "customer").map((r: { cohort: string; current: number; reached: number }) => [r.cohort, r.current, r.reached])).toEqual([
      ["2025-01", 1, 2],
      ["2025-02", 0, 0]
    ])
    const avatar = await get("/analytics/avatar?fields=size&maxValues=5")
    expect(avatar).toEqual(await client().analytics.avatar({ fields: ["size"], maxValues: 5 }))
    conforms(Analytics.AvatarReport, avatar)
    // 3 contacts, 2 customers (ada, bob). size S: ada: (1 × 3) / (1 × 2) = 1.5; size M: bob, cy: (1 × 3) / (2 × 2) = 0.75.
    expect(avatar.values.filter((v: { dimension: string }) => v.dimension === "field")).toEqual([
      { dimension: "field", field: "size", value: "S", contacts: 1, customers: 1, lift: 1.5 },
      { dimension: "field", field: "size", value: "M", contacts: 2, customers: 1, lift: 0.75 }
    ])
    await client().rules.create({ id: "welcome", name: "Welcome", on: "signed.up", actions: [{ type: "addTag", tag: "new" }] })
    const rules = await get("/analytics/rules")
    expect(rules).toEqual([{ ruleId: "welcome", name: "Welcome", enabled: true, variant: null, fired: 0, sent: 0, opened: 0, converted: 0, conversionRate: null }])
    conforms(Schema.Array(Analytics.RuleVariantFigures), rules)
  })

  it("the OpenAPI document names each route's action and describes its answer", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const actions = {
      "/analytics/top-customers": "analytics.topCustomers",
      "/analytics/top-products": "analytics.topProducts",
      "/analytics/channels": "analytics.channels",
      "/analytics/funnel": "analytics.funnel",
      "/analytics/avatar": "analytics.avatar",
      "/analytics/rules": "analytics.rules"
    }
    for (const [path, action] of Object.entries(actions)) expect(spec.paths[path].get["x-rapport-action"]).toBe(action)
    expect(spec.paths["/analytics/spend"].post["x-rapport-action"]).toBe("analytics.recordSpend")
    expect(Object.keys(spec.components.schemas)).toEqual(
      expect.arrayContaining(["CustomerFigures", "ProductFigures", "ChannelFigures", "FunnelStage", "AvatarReport", "AvatarValue", "RuleVariantFigures", "RecordedSpend", "SpendInput"])
    )
    expect(Object.keys(spec.components.schemas.CustomerFigures.properties)).toEqual(["rank", "contactId", "revenue", "orders", "margin", "marginComplete", "uncostedLines"])
  })
})
