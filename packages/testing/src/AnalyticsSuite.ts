// The analytics part of the storage contract (issue 16): every report on a small fixed data set
// whose answers are worked out by hand below (each expected figure is a literal, with the
// arithmetic beside it), then again after a refund and a cancellation. Registered by
// `storageSuite` (the contract entry's suite), so SQLite (file and memory) and PostgreSQL run it;
// not a public entry point of its own.
import { Crm, Errors, Ids, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const usd = (amountMinor: number) => ({ amountMinor, currency: "USD" })
const line = (sku: string, quantity: number, unitPrice: { amountMinor: number; currency: string }, unitCost?: { amountMinor: number; currency: string }) => ({
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPrice,
  ...(unitCost === undefined ? {} : { unitCost })
})
const DAY = 86_400

/** Runs the service call in the workspace. */
const inWorkspace =
  (ws: Ids.WorkspaceId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Workspaces.withWorkspace(ws)(effect)

/** The issues' paths of a ValidationError, as dotted strings. */
const pathsOf = (error: unknown) => {
  expect(error).toBeInstanceOf(Errors.ValidationError)
  return (error as Errors.ValidationError).issues.map((i) => i.path.join("."))
}

/**
 * The shop: seven contacts from two channels, with custom fields, and seven orders (EUR and USD,
 * lines with and without a cost). Each contact's stage follows from its orders (classic lifecycle:
 * one order makes a customer, two a loyal customer).
 *
 * | contact | channel / campaign | first seen | size | vip   | city  | orders                     |
 * |---------|--------------------|------------|------|-------|-------|----------------------------|
 * | ada     | ads / spring       | 2026-01-10 | L    | true  | Paris | o1, o2 → loyal             |
 * | bob     | ads / spring       | 2026-01-20 | M    | false | Lyon  | o3 → customer              |
 * | frank   | ads / spring       | 2026-01-25 | L    | true  |       | none → suspect             |
 * | cy      | ads / —            | 2026-02-05 | L    |       | Nice  | o4 → customer              |
 * | dee     | fair / —           | 2026-02-10 | S    | false | Lille | o5, o6 → loyal             |
 * | gus     | fair / —           | 2026-02-12 | S    |       |       | none → suspect             |
 * | eve     | fair / —           | 2025-12-15 |      |       |       | o7 → customer              |
 *
 * Orders (A costs 600, C 700, D 5000 a unit; B has no cost):
 * - o1 ada 2026-03-05: 2 × A at 1000 + 1 × B at 500 = 2500 EUR
 * - o2 ada 2026-03-20: 1 × A at 1000 = 1000 EUR
 * - o3 bob 2026-03-10: 3 × C at 1200 = 3600 EUR
 * - o4 cy 2026-03-15: 4 × B at 500 = 2000 EUR
 * - o5 dee 2026-02-25: 5 × A at 1000 = 5000 EUR (before March)
 * - o6 dee 2026-03-25: 1 × D at 9900 = 9900 USD
 * - o7 eve 2026-04-01T00:00Z: 1 × A at 1000 = 1000 EUR (at the end of March, excluded)
 */
const shop = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const ws = Fixtures.freshWorkspaceId()
  const run = inWorkspace(ws)
  yield* TestClock.setTime(Date.parse("2026-06-01T00:00:00.000Z"))
  yield* run(crm.fields.define({ key: "size", type: "select", options: ["S", "M", "L"] }))
  yield* run(crm.fields.define({ key: "vip", type: "boolean" }))
  yield* run(crm.fields.define({ key: "city", type: "text" }))
  yield* run(crm.fields.define({ key: "visits", type: "integer" }))
  const contact = (name: string, channel: string, campaign: string | null, firstSeen: string, fields: { readonly [key: string]: string | boolean | number }) =>
    Effect.map(
      run(crm.contacts.create({ email: `${name}@example.com`, firstName: name, source: { channel, campaign }, firstSeenAt: `${firstSeen}T00:00:00.000Z`, fields })),
      (c) => c.id
    )
  const ada = yield* contact("ada", "ads", "spring", "2026-01-10", { size: "L", vip: true, city: "Paris", visits: 3 })
  const bob = yield* contact("bob", "ads", "spring", "2026-01-20", { size: "M", vip: false, city: "Lyon", visits: 1 })
  const frank = yield* contact("frank", "ads", "spring", "2026-01-25", { size: "L", vip: true })
  const cy = yield* contact("cy", "ads", null, "2026-02-05", { size: "L", city: "Nice" })
  const dee = yield* contact("dee", "fair", null, "2026-02-10", { size: "S", vip: false, city: "Lille" })
  const gus = yield* contact("gus", "fair", null, "2026-02-12", { size: "S" })
  const eve = yield* contact("eve", "fair", null, "2025-12-15", {})
  const order = (contactId: Ids.ContactId, orderId: string, at: string, lines: ReadonlyArray<ReturnType<typeof line>>) =>
    run(crm.events.emit({ type: "order.placed", contactId, occurredAt: at, payload: { orderId, lines } }))
  yield* order(ada, "o1", "2026-03-05T10:00:00.000Z", [line("A", 2, eur(1000), eur(600)), line("B", 1, eur(500))])
  yield* order(ada, "o2", "2026-03-20T10:00:00.000Z", [line("A", 1, eur(1000), eur(600))])
  yield* order(bob, "o3", "2026-03-10T10:00:00.000Z", [line("C", 3, eur(1200), eur(700))])
  yield* order(cy, "o4", "2026-03-15T10:00:00.000Z", [line("B", 4, eur(500))])
  yield* order(dee, "o5", "2026-02-25T10:00:00.000Z", [line("A", 5, eur(1000), eur(600))])
  yield* order(dee, "o6", "2026-03-25T10:00:00.000Z", [line("D", 1, usd(9900), usd(5000))])
  yield* order(eve, "o7", "2026-04-01T00:00:00.000Z", [line("A", 1, eur(1000), eur(600))])
  return { ws, run, crm, ada, bob, frank, cy, dee, gus, eve }
})

/** o3 (bob) refunded 1000 EUR, o4 (cy) cancelled. */
const refundAndCancel = (s: Effect.Effect.Success<typeof shop>) =>
  Effect.gen(function* () {
    yield* s.run(s.crm.events.emit({ type: "order.refunded", contactId: s.bob, occurredAt: "2026-03-28T10:00:00.000Z", payload: { orderId: "o3", amount: eur(1000) } }))
    yield* s.run(s.crm.events.emit({ type: "order.cancelled", contactId: s.cy, occurredAt: "2026-03-16T10:00:00.000Z", payload: { orderId: "o4" } }))
  })

const march = { from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" }

export const analyticsSuite = (test: Test) => {
  describe("analytics", () => {
    test("topCustomers - revenue, orders and margin per contact and currency over [from, to), ranked by revenue", () =>
      Effect.gen(function* () {
        const s = yield* shop
        expect(yield* s.run(s.crm.analytics.topCustomers(march))).toEqual([
          // bob: o3 = 3600; margin 3 × (1200 − 700) = 1500
          { rank: 1, contactId: s.bob, revenue: eur(3600), orders: 1, margin: eur(1500), marginComplete: true, uncostedLines: 0 },
          // ada: o1 + o2 = 2500 + 1000 = 3500; margin 2 × (1000 − 600) + 1 × (1000 − 600) = 1200 (B has no cost)
          { rank: 2, contactId: s.ada, revenue: eur(3500), orders: 2, margin: eur(1200), marginComplete: false, uncostedLines: 1 },
          // cy: o4 = 4 × 500 = 2000; margin 0 (its only line has no cost)
          { rank: 3, contactId: s.cy, revenue: eur(2000), orders: 1, margin: eur(0), marginComplete: false, uncostedLines: 1 },
          // dee: o6 = 9900 USD (o5 is in February); margin 9900 − 5000 = 4900. eve's o7 is at `to`: out.
          { rank: 1, contactId: s.dee, revenue: usd(9900), orders: 1, margin: usd(4900), marginComplete: true, uncostedLines: 0 }
        ])
        // limit is per currency; currency keeps one.
        expect((yield* s.run(s.crm.analytics.topCustomers({ ...march, limit: 1 }))).map((r) => [r.contactId, r.revenue.currency])).toEqual([
          [s.bob, "EUR"],
          [s.dee, "USD"]
        ])
        expect((yield* s.run(s.crm.analytics.topCustomers({ ...march, currency: "USD" }))).map((r) => r.contactId)).toEqual([s.dee])
        // Another workspace sees none of it.
        expect(yield* inWorkspace(Fixtures.freshWorkspaceId())(s.crm.analytics.topCustomers(march))).toEqual([])
      }))

    test("topCustomers - a refund lowers revenue and margin, a cancelled order counts for nothing", () =>
      Effect.gen(function* () {
        const s = yield* shop
        yield* refundAndCancel(s)
        expect((yield* s.run(s.crm.analytics.topCustomers({ ...march, currency: "EUR" }))).map(({ rank, contactId, revenue, orders, margin }) => ({ rank, contactId, revenue, orders, margin }))).toEqual([
          // ada unchanged: 3500, margin 1200
          { rank: 1, contactId: s.ada, revenue: eur(3500), orders: 2, margin: eur(1200) },
          // bob: 3600 − 1000 refunded = 2600; margin 1500 − 1000 = 500
          { rank: 2, contactId: s.bob, revenue: eur(2600), orders: 1, margin: eur(500) }
          // cy: o4 cancelled, nothing left
        ])
      }))

    test("topProducts - revenue, quantity and margin per SKU and currency; lines without a cost are left out of the margin", () =>
      Effect.gen(function* () {
        const s = yield* shop
        expect(yield* s.run(s.crm.analytics.topProducts(march))).toEqual([
          // C: 3 × 1200 = 3600; margin 3 × 500 = 1500
          { rank: 1, sku: "C", name: "Product C", revenue: eur(3600), quantity: 3, margin: eur(1500), marginComplete: true, uncostedQuantity: 0 },
          // A: 2 × 1000 (o1) + 1 × 1000 (o2) = 3000; margin 3 × 400 = 1200 (o5 in February, o7 at `to`)
          { rank: 2, sku: "A", name: "Product A", revenue: eur(3000), quantity: 3, margin: eur(1200), marginComplete: true, uncostedQuantity: 0 },
          // B: 1 × 500 (o1) + 4 × 500 (o4) = 2500; no cost: margin 0 over 5 uncosted units
          { rank: 3, sku: "B", name: "Product B", revenue: eur(2500), quantity: 5, margin: eur(0), marginComplete: false, uncostedQuantity: 5 },
          // D: 9900 USD; margin 4900
          { rank: 1, sku: "D", name: "Product D", revenue: usd(9900), quantity: 1, margin: usd(4900), marginComplete: true, uncostedQuantity: 0 }
        ])
        yield* refundAndCancel(s)
        // o4 cancelled: B keeps o1's 1 × 500. A refund is of an order, not of a line: C unchanged.
        expect((yield* s.run(s.crm.analytics.topProducts({ ...march, limit: 3, currency: "EUR" }))).map((r) => [r.sku, r.revenue.amountMinor, r.quantity, r.uncostedQuantity])).toEqual([
          ["C", 3600, 3, 0],
          ["A", 3000, 3, 0],
          ["B", 500, 1, 1]
        ])
      }))

    test("channels - contacts acquired, share now customers, revenue, spend and cost per customer per channel, campaign and currency", () =>
      Effect.gen(function* () {
        const s = yield* shop
        const spend = (channel: string, campaign: string | null, month: string, amountMinor: number) =>
          s.run(s.crm.analytics.recordSpend({ channel, campaign, month, amount: eur(amountMinor) }))
        yield* spend("ads", "spring", "2026-01", 30_000)
        yield* spend("ads", "spring", "2026-02", 20_001)
        yield* spend("ads", null, "2026-02", 7_000)
        yield* spend("fair", null, "2026-02", 10_000)
        // Recorded again: replaces the 10,000.
        expect(yield* spend("fair", null, "2026-02", 12_000)).toEqual({ channel: "fair", campaign: null, month: "2026-02", amount: eur(12_000) })
        // March begins at `to`: out of the period.
        yield* spend("fair", null, "2026-03", 99_999)
        yield* spend("radio", null, "2026-01", 5_000)
        const period = { from: "2026-01-01T00:00:00.000Z", to: "2026-03-01T00:00:00.000Z" }
        expect(yield* s.run(s.crm.analytics.channels(period))).toEqual([
          // cy: customer; o4 = 2000. Spend 7000 / 1 customer.
          { channel: "ads", campaign: null, acquired: 1, customers: 1, customerShare: 1, currency: "EUR", revenue: eur(2000), spend: eur(7000), costPerCustomer: eur(7000) },
          // ada (loyal), bob (customer), frank (suspect): 2 of 3. Revenue 3500 + 3600 = 7100.
          // Spend 30,000 + 20,001 = 50,001; / 2 customers = 25,000.5 → 25,001 (half up).
          { channel: "ads", campaign: "spring", acquired: 3, customers: 2, customerShare: 2 / 3, currency: "EUR", revenue: eur(7100), spend: eur(50_001), costPerCustomer: eur(25_001) },
          // dee (loyal), gus (suspect): 1 of 2; eve was first seen in December. Revenue o5 = 5000 EUR (whenever placed).
          { channel: "fair", campaign: null, acquired: 2, customers: 1, customerShare: 0.5, currency: "EUR", revenue: eur(5000), spend: eur(12_000), costPerCustomer: eur(12_000) },
          // ... and o6 = 9900 USD, no USD spend.
          { channel: "fair", campaign: null, acquired: 2, customers: 1, customerShare: 0.5, currency: "USD", revenue: usd(9900), spend: usd(0), costPerCustomer: usd(0) },
          // Spend without a contact acquired.
          { channel: "radio", campaign: null, acquired: 0, customers: 0, customerShare: null, currency: "EUR", revenue: eur(0), spend: eur(5000), costPerCustomer: null }
        ])
        yield* refundAndCancel(s)
        const after = yield* s.run(s.crm.analytics.channels(period))
        // bob's refund: 7100 − 1000 = 6100. cy's cancelled order: revenue 0 (cy stays a customer:
        // a cancellation does not move the stage back).
        expect(after.filter((r) => r.channel === "ads").map((r) => [r.campaign, r.customers, r.revenue?.amountMinor])).toEqual([
          [null, 1, 0],
          ["spring", 2, 6100]
        ])
        // From `loyal` on, only ada and dee count: ads/spring 1 of 3, fair 1 of 2, ads/— 0 of 1.
        expect((yield* s.run(s.crm.analytics.channels({ ...period, customerStage: "loyal" }))).map((r) => [r.channel, r.campaign, r.currency, r.customers, r.costPerCustomer?.amountMinor ?? null])).toEqual([
          ["ads", null, "EUR", 0, null],
          ["ads", "spring", "EUR", 1, 50_001],
          ["fair", null, "EUR", 1, 12_000],
          ["fair", null, "USD", 1, 0],
          ["radio", null, "EUR", 0, null]
        ])
      }))

    test("funnel - contacts per stage now and reached, conversion and the median stay, by first-seen month", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = inWorkspace(ws)
        yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00.000Z"))
        const create = (name: string, firstSeenAt: string) =>
          Effect.map(run(crm.contacts.create({ email: `${name}@example.com`, firstSeenAt })), (c) => c.id)
        const p1 = yield* create("p1", "2026-01-01T00:00:00.000Z")
        const p2 = yield* create("p2", "2026-01-10T00:00:00.000Z")
        const p3 = yield* create("p3", "2026-01-20T00:00:00.000Z")
        yield* create("p4", "2026-01-31T12:00:00.000Z")
        const q1 = yield* create("q1", "2026-02-01T00:00:00.000Z")
        yield* create("q2", "2026-02-15T00:00:00.000Z")
        // The moves, in time order (each at the clock's time).
        const moves: ReadonlyArray<readonly [Ids.ContactId, string, string]> = [
          [p1, "prospect", "2026-01-03T00:00:00.000Z"], // p1: 2 days a suspect
          [p1, "customer", "2026-01-08T00:00:00.000Z"], // p1: 5 days a prospect
          [p2, "prospect", "2026-01-14T00:00:00.000Z"], // p2: 4 days a suspect
          [p2, "customer", "2026-01-15T00:00:00.000Z"], // p2: 1 day a prospect
          [p3, "prospect", "2026-01-21T00:00:00.000Z"], // p3: 1 day a suspect
          [p2, "loyal", "2026-01-25T00:00:00.000Z"], // p2: 10 days a customer
          [q1, "prospect", "2026-02-04T00:00:00.000Z"], // q1: 3 days a suspect
          [q1, "suspect", "2026-02-06T00:00:00.000Z"] // q1: 2 days a prospect, back to suspect
        ]
        for (const [id, stage, at] of moves) {
          yield* TestClock.setTime(Date.parse(at))
          yield* run(crm.lifecycle.move(id, stage, { reason: "funnel data set" }))
        }
        const funnel = yield* run(crm.analytics.funnel())
        const row = (cohort: string, stage: string, position: number, current: number, reached: number, conversion: number | null, stays: number, medianSeconds: number | null) => ({
          cohort,
          stage,
          position,
          current,
          reached,
          conversion,
          stays,
          medianSeconds
        })
        expect(funnel).toEqual([
          // January: p4 still a suspect, p3 a prospect, p1 a customer, p2 loyal. All 4 were suspects,
          // 3 reached prospect, 2 customer, 1 loyal. Suspect stays 2, 4, 1 days: median 2 days.
          row("2026-01", "suspect", 0, 1, 4, 3 / 4, 3, 2 * DAY),
          // Prospect stays 5 and 1 days: median (1 + 5) / 2 = 3 days.
          row("2026-01", "prospect", 1, 1, 3, 2 / 3, 2, 3 * DAY),
          row("2026-01", "customer", 2, 1, 2, 1 / 2, 1, 10 * DAY),
          // loyal → fan: 0 of 1; nobody reached fan, so fan → addict is null; addict is last.
          row("2026-01", "loyal", 3, 1, 1, 0, 0, null),
          row("2026-01", "fan", 4, 0, 0, null, 0, null),
          row("2026-01", "addict", 5, 0, 0, null, 0, null),
          // February: q1 went to prospect and back, q2 never moved. q1's second stay as a suspect
          // has not ended: only its first (3 days) counts.
          row("2026-02", "suspect", 0, 2, 2, 1 / 2, 1, 3 * DAY),
          row("2026-02", "prospect", 1, 0, 1, 0, 1, 2 * DAY),
          row("2026-02", "customer", 2, 0, 0, null, 0, null),
          row("2026-02", "loyal", 3, 0, 0, null, 0, null),
          row("2026-02", "fan", 4, 0, 0, null, 0, null),
          row("2026-02", "addict", 5, 0, 0, null, 0, null)
        ])
        // One cohort.
        expect(yield* run(crm.analytics.funnel({ cohortFrom: "2026-02", cohortTo: "2026-02" }))).toEqual(funnel.slice(6))
        expect(yield* run(crm.analytics.funnel({ cohortTo: "2026-01" }))).toEqual(funnel.slice(0, 6))
      }))

    test("avatar - channels and field values over-represented among customers: counts and lift", () =>
      Effect.gen(function* () {
        const s = yield* shop
        const report = yield* s.run(s.crm.analytics.avatar({ maxValues: 3 }))
        // 7 contacts; customers (customer or later): ada, bob, cy, dee, eve = 5.
        // lift = (customers with it / 5) / (contacts with it / 7) = (customers × 7) / (contacts × 5).
        // city has 4 distinct values (> maxValues 3) and visits is an integer field: left out.
        expect(report).toEqual({
          totalContacts: 7,
          totalCustomers: 5,
          customerStages: ["customer", "loyal", "fan", "addict"],
          values: [
            // vip false: bob, dee, both customers: (2 × 7) / (2 × 5) = 1.4
            { dimension: "field", field: "vip", value: "false", contacts: 2, customers: 2, lift: 14 / 10 },
            // size M: bob: (1 × 7) / (1 × 5) = 1.4
            { dimension: "field", field: "size", value: "M", contacts: 1, customers: 1, lift: 7 / 5 },
            // ads: ada, bob, cy, frank; customers ada, bob, cy: (3 × 7) / (4 × 5) = 1.05
            { dimension: "channel", field: null, value: "ads", contacts: 4, customers: 3, lift: 21 / 20 },
            // fair: dee, gus, eve; customers dee, eve: (2 × 7) / (3 × 5)
            { dimension: "channel", field: null, value: "fair", contacts: 3, customers: 2, lift: 14 / 15 },
            // size L: ada, cy, frank; customers ada, cy: (2 × 7) / (3 × 5)
            { dimension: "field", field: "size", value: "L", contacts: 3, customers: 2, lift: 14 / 15 },
            // size S: dee, gus; customer dee: (1 × 7) / (2 × 5) = 0.7
            { dimension: "field", field: "size", value: "S", contacts: 2, customers: 1, lift: 7 / 10 },
            // vip true: ada, frank; customer ada: (1 × 7) / (2 × 5) = 0.7
            { dimension: "field", field: "vip", value: "true", contacts: 2, customers: 1, lift: 7 / 10 }
          ]
        })
        // With the default (20 values) city is in.
        const cities = (yield* s.run(s.crm.analytics.avatar({ fields: ["city"] }))).values.filter((v) => v.dimension === "field")
        // Each city has one contact; Paris, Lyon, Nice and Lille are all customers: (1 × 7) / (1 × 5) = 1.4
        expect(cities.map((v) => [v.value, v.contacts, v.customers, v.lift])).toEqual([
          ["Lille", 1, 1, 7 / 5],
          ["Lyon", 1, 1, 7 / 5],
          ["Nice", 1, 1, 7 / 5],
          ["Paris", 1, 1, 7 / 5]
        ])
      }))

    test("rules - firings, mails sent and opened, and conversions per rule and variant in one report", () =>
      Effect.gen(function* () {
        const store = yield* Storage.Storage
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const ab = yield* Fixtures.rule(ws, { id: Ids.RuleId.make("ab"), name: "Spring offer" })
        const quiet = yield* Fixtures.rule(ws, { id: Ids.RuleId.make("quiet"), name: "Never fired", enabled: false })
        yield* store.rules.insert(ab)
        yield* store.rules.insert(quiet)
        const converted = DateTime.unsafeMake("2026-03-02T00:00:00.000Z")
        const fire = (variant: string | null, isConverted: boolean) =>
          Effect.flatMap(Fixtures.firing(ws, { ruleId: ab.id, variant, convertedAt: isConverted ? converted : null }), (f) => store.firings.insertMany([f]))
        yield* fire("A", true)
        yield* fire("A", false)
        yield* fire("A", false)
        yield* fire("B", true)
        yield* fire("B", true)
        const job = (variant: string | null, status: "done" | "pending", type: "sendEmail" | "addTag") =>
          Effect.flatMap(
            Fixtures.job(ws, {
              ruleId: ab.id,
              variant,
              status,
              action: type === "sendEmail" ? { type: "sendEmail", template: Ids.TemplateId.make("00000000-0000-4000-8000-000000000001") } : { type: "addTag", tag: "x" }
            }),
            (j) => Effect.as(store.jobs.insertMany([j]), j)
          )
        const a1 = yield* job("A", "done", "sendEmail")
        const a2 = yield* job("A", "done", "sendEmail")
        const pending = yield* job("A", "pending", "sendEmail") // not sent yet
        const tag = yield* job("B", "done", "addTag") // not a mail
        const c1 = yield* job("C", "done", "sendEmail") // a variant that sent without a firing recorded
        // Opens: a1 twice by its own contact; a2 only by another contact; the pending mail and the
        // tag job named by their contacts; c1 once.
        let n = 0
        const open = (contactId: Ids.ContactId, jobId: Ids.JobId) =>
          store.events.insert(Fixtures.storedEvent(ws, contactId, `open-${ws}-${n++}`, { type: "email.opened", payload: { jobId } }))
        yield* open(a1.contactId, a1.id)
        yield* open(a1.contactId, a1.id)
        yield* open(a1.contactId, a2.id)
        yield* open(pending.contactId, pending.id)
        yield* open(tag.contactId, tag.id)
        yield* open(c1.contactId, c1.id)
        expect(yield* inWorkspace(ws)(crm.analytics.rules())).toEqual([
          // A: 3 fired, 1 converted (1/3), 2 mails done, 1 of them opened
          { ruleId: "ab", name: "Spring offer", enabled: true, variant: "A", fired: 3, sent: 2, opened: 1, converted: 1, conversionRate: 1 / 3 },
          // B: 2 fired, 2 converted
          { ruleId: "ab", name: "Spring offer", enabled: true, variant: "B", fired: 2, sent: 0, opened: 0, converted: 2, conversionRate: 1 },
          { ruleId: "ab", name: "Spring offer", enabled: true, variant: "C", fired: 0, sent: 1, opened: 1, converted: 0, conversionRate: null },
          { ruleId: "quiet", name: "Never fired", enabled: false, variant: null, fired: 0, sent: 0, opened: 0, converted: 0, conversionRate: null }
        ])
      }))

    test("bad input - a ValidationError naming the field: from after to, limit out of range, a bad month, an unknown stage or field", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = inWorkspace(Fixtures.freshWorkspaceId())
        yield* run(crm.fields.define({ key: "visits", type: "integer" }))
        expect(pathsOf(yield* failure(run(crm.analytics.topCustomers({ from: march.to, to: march.from }))))).toEqual(["from"])
        expect(pathsOf(yield* failure(run(crm.analytics.topProducts({ from: march.from, to: march.from }))))).toEqual(["from"])
        expect(pathsOf(yield* failure(run(crm.analytics.topCustomers({ ...march, limit: 0 }))))).toEqual(["limit"])
        expect(pathsOf(yield* failure(run(crm.analytics.topProducts({ ...march, limit: 1001 }))))).toEqual(["limit"])
        expect(pathsOf(yield* failure(run(crm.analytics.topProducts({ ...march, limit: 2.5 }))))).toEqual(["limit"])
        expect(pathsOf(yield* failure(run(crm.analytics.topCustomers({ ...march, currency: "EURO" }))))).toEqual(["currency"])
        expect(pathsOf(yield* failure(run(crm.analytics.channels({ from: "yesterday", to: march.to }))))).toEqual(["from"])
        expect(pathsOf(yield* failure(run(crm.analytics.channels({ ...march, customerStage: "vip" }))))).toEqual(["customerStage"])
        expect(pathsOf(yield* failure(run(crm.analytics.recordSpend({ channel: "ads", month: "2026-13", amount: eur(1) }))))).toEqual(["month"])
        expect(pathsOf(yield* failure(run(crm.analytics.recordSpend({ channel: "ads", month: "2026-3", amount: eur(1) }))))).toEqual(["month"])
        expect(pathsOf(yield* failure(run(crm.analytics.recordSpend({ channel: "ads", month: "2026-03", amount: eur(-1) }))))).toEqual(["amount.amountMinor"])
        expect(pathsOf(yield* failure(run(crm.analytics.funnel({ cohortFrom: "2026-00" }))))).toEqual(["cohortFrom"])
        expect(pathsOf(yield* failure(run(crm.analytics.funnel({ cohortFrom: "2026-03", cohortTo: "2026-02" }))))).toEqual(["cohortFrom"])
        expect(pathsOf(yield* failure(run(crm.analytics.avatar({ maxValues: 0 }))))).toEqual(["maxValues"])
        // visits is an integer field: not one the avatar report looks at.
        expect(pathsOf(yield* failure(run(crm.analytics.avatar({ fields: ["visits"] }))))).toEqual(["fields.0"])
      }))
  })
}
