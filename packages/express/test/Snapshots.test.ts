// The pipeline's history and RFM scores over HTTP (issue 16): what the Promise client answers, to
// a read-only caller for reads; refresh and snapshot refused to read-only and sales, allowed to
// marketing; bad query parameters are 400 problems naming the parameter; each workspace its own.
import { Snapshots } from "@rapport/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callers, type Served, serve } from "./helpers.js"

let api: Served
let ada: string
let bob: string
let cy: string
const client = () => api.crm.workspace("ws-a")
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

beforeAll(async () => {
  const withMarketing = { ...callers, "Bearer marketing-a": { workspace: "ws-a", principal: "mia", role: "marketing" } }
  api = await serve({ authenticate: (req) => withMarketing[req.headers.authorization as keyof typeof withMarketing] ?? null })
  const crm = client()
  ada = (await crm.contacts.create({ email: "ada@example.com" })).id
  bob = (await crm.contacts.create({ email: "bob@example.com" })).id
  cy = (await crm.contacts.create({ email: "cy@example.com" })).id
  const place = (contactId: string, orderId: string, occurredAt: string, price: number) =>
    crm.events.emit({ type: "order.placed", contactId, occurredAt, payload: { orderId, lines: [{ sku: "S", name: "Shoe", quantity: 1, unitPrice: eur(price) }] } })
  await place(ada, "o-1", "2024-11-01T09:00:00Z", 5000)
  await place(ada, "o-2", "2024-12-01T09:00:00Z", 5000)
  await place(bob, "o-3", "2024-12-20T09:00:00Z", 100)
  // Deals: 100,000 at 10% and 20,000 at 40% → 18,000.
  await crm.deals.create({ title: "A", amount: eur(100_000), stage: "prospecting", contactId: ada })
  await crm.deals.create({ title: "B", amount: eur(20_000), stage: "demo", contactId: bob })
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

describe("pipeline history and RFM over HTTP", () => {
  it("POST /analytics/rfm/refresh: refused to read-only and sales, done for marketing; then GET /contacts/{id}/rfm and GET /analytics/rfm answer the scores", async () => {
    expect((await api.request("POST", "/analytics/rfm/refresh", { as: "reader-a" })).status).toBe(403)
    expect((await api.request("POST", "/analytics/rfm/refresh", { as: "sales-a" })).status).toBe(403)
    expect(await get(`/contacts/${ada}/rfm`)).toBeNull()
    const refreshed = await api.request("POST", "/analytics/rfm/refresh", { as: "marketing-a" })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body).toMatchObject({ contacts: 2 })
    // Two contacts: ada (last order 12-01, 2 orders, 10,000) ranks below bob on recency (12-20), above him on frequency and money.
    // Quintile of rank r among 2: 1 + (r − 1) × 5 ÷ 2 → 1 or 3.
    const scores = await get(`/contacts/${ada}/rfm`)
    expect(scores).toMatchObject({ contactId: ada, recency: 1, frequency: 3, monetary: 3, orderCount: 2, lastOrderAt: "2024-12-01T09:00:00.000Z" })
    expect(scores).toEqual(await client().snapshots.rfm(ada))
    conforms(Snapshots.RfmScores, scores)
    expect(await get(`/contacts/${bob}/rfm`)).toMatchObject({ recency: 3, frequency: 1, monetary: 1 })
    expect(await get(`/contacts/${cy}/rfm`)).toBeNull()
    const distribution = await get("/analytics/rfm")
    expect(distribution).toEqual({
      contacts: 2,
      recency: [{ score: 1, contacts: 1 }, { score: 2, contacts: 0 }, { score: 3, contacts: 1 }, { score: 4, contacts: 0 }, { score: 5, contacts: 0 }],
      frequency: [{ score: 1, contacts: 1 }, { score: 2, contacts: 0 }, { score: 3, contacts: 1 }, { score: 4, contacts: 0 }, { score: 5, contacts: 0 }],
      monetary: [{ score: 1, contacts: 1 }, { score: 2, contacts: 0 }, { score: 3, contacts: 1 }, { score: 4, contacts: 0 }, { score: 5, contacts: 0 }]
    })
    conforms(Snapshots.RfmDistribution, distribution)
    // Workspace b has none of it, and a's contact is not found from b.
    expect(await get("/analytics/rfm", "admin-b")).toMatchObject({ contacts: 0 })
    const fromB = await api.request("GET", `/contacts/${ada}/rfm`, { as: "admin-b" })
    expect([fromB.status, fromB.body?.code]).toEqual([404, "NOT_FOUND"])
  })

  it("GET /analytics/pipeline-history: the day's snapshot by pipeline, as the client answers it; bad days are 400 naming the parameter", async () => {
    expect((await api.request("POST", "/analytics/pipeline-history/snapshot", { as: "reader-a" })).status).toBe(403)
    const taken = await api.request("POST", "/analytics/pipeline-history/snapshot", { as: "admin-a" })
    expect(taken.body).toEqual({ day: "2025-01-06", taken: true })
    const history = await get("/analytics/pipeline-history?from=2025-01-01&to=2025-01-31")
    expect(history.map((d: { day: string; totals: ReadonlyArray<{ weighted: { amountMinor: number } }> }) => [d.day, d.totals.map((t) => t.weighted.amountMinor)])).toEqual([["2025-01-06", [18_000]]])
    expect(history).toEqual(await client().snapshots.pipelineHistory({ from: "2025-01-01", to: "2025-01-31" }))
    conforms(Schema.Array(Snapshots.PipelineDay), history)
    const bad = await api.request("GET", "/analytics/pipeline-history?from=2025-13-01&to=2025-01-31", { as: "reader-a" })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain("from")
    const reversed = await api.request("GET", "/analytics/pipeline-history?from=2025-02-01&to=2025-01-31", { as: "reader-a" })
    expect(reversed.status).toBe(400)
    expect(JSON.stringify(reversed.body)).toContain("/to")
  })
})
