// Orders as records (issue 16), as part of the storage contract: an order is read back whole,
// listed newest first by contact, period and status with a cursor; cancelling changes a placed
// order once; refunds add up and never pass the total, even when two are recorded at once; a
// contact's figures are exact per currency (sums past 2^31, the average rounded half up); and
// cancelled orders leave the lifecycle's order counts. Registered by `storageSuite`; not a public
// entry point of its own.
import { Crm, Ids, Order, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const contactId = (n: number) => Ids.ContactId.make(`00000000-0000-4000-8000-${String(n).padStart(12, "0")}`)
const line = (sku: string, quantity: number, amountMinor: number, currency = "EUR") => ({ sku, name: `Product ${sku}`, quantity, unitPrice: { amountMinor, currency } })

/** An order of one line of `quantity` × `unitMinor`. */
const order = (ws: Ids.WorkspaceId, contact: Ids.ContactId, id: string, placedAt: string, quantity: number, unitMinor: number, currency = "EUR") =>
  Fixtures.order(ws, contact, id, {
    placedAt: at(placedAt),
    currency: currency as Order.Order["currency"],
    totalMinor: quantity * unitMinor,
    lines: [{ sku: `SKU-${id}`, name: `Item ${id}`, quantity, unitPrice: { amountMinor: unitMinor, currency: currency as Order.Order["currency"] } }]
  })

const iso = (figures: ReadonlyArray<Storage.OrderFigures>) =>
  figures.map((f) => ({ ...f, firstOrderAt: DateTime.formatIso(f.firstOrderAt), lastOrderAt: DateTime.formatIso(f.lastOrderAt) }))

export const ordersSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("orders as records", () => {
    test("orders.get reads an order back whole (lines, status, refunded sum); none in another workspace", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const written = Fixtures.order(ws, contactId(1), "o-1", { placedAt: at("2025-04-01T08:30:00.000Z") })
        yield* s.orders.insertMany([written])
        const read = Option.getOrThrow(yield* s.orders.get(ws, "o-1"))
        expect(read).toEqual(written)
        expect([read.status, read.refundedMinor, read.cancelledAt]).toEqual(["placed", 0, null])
        expect(Option.isNone(yield* s.orders.get(Fixtures.freshWorkspaceId(), "o-1"))).toBe(true)
        expect(Option.isNone(yield* s.orders.get(ws, "o-2"))).toBe(true)
      }))

    test("orders.list: newest first (placedAt, then id), by contact, period [from, to) and status, after a position", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [a, b] = [contactId(1), contactId(2)]
        yield* s.orders.insertMany([
          order(ws, a, "o-1", "2025-01-01T00:00:00.000Z", 1, 100),
          order(ws, b, "o-2", "2025-02-01T00:00:00.000Z", 1, 200),
          // Same instant as o-2: the id orders them.
          order(ws, a, "o-3", "2025-02-01T00:00:00.000Z", 1, 300),
          order(ws, a, "o-4", "2025-03-01T00:00:00.000Z", 1, 400)
        ])
        yield* s.orders.insertMany([order(Fixtures.freshWorkspaceId(), a, "o-9", "2025-02-15T00:00:00.000Z", 1, 1)])
        const ids = (orders: ReadonlyArray<Order.Order>) => orders.map((o) => o.id)
        expect(ids(yield* s.orders.list(ws, { limit: 10 }))).toEqual(["o-4", "o-3", "o-2", "o-1"])
        expect(ids(yield* s.orders.list(ws, { contactId: a, limit: 10 }))).toEqual(["o-4", "o-3", "o-1"])
        expect(ids(yield* s.orders.list(ws, { from: at("2025-02-01T00:00:00.000Z"), to: at("2025-03-01T00:00:00.000Z"), limit: 10 }))).toEqual(["o-3", "o-2"])
        expect(ids(yield* s.orders.list(ws, { before: { placedAt: at("2025-02-01T00:00:00.000Z"), id: "o-3" }, limit: 10 }))).toEqual(["o-2", "o-1"])
        expect(ids(yield* s.orders.list(ws, { limit: 2 }))).toEqual(["o-4", "o-3"])
        expect(yield* s.orders.cancel(ws, "o-1", at("2025-05-01T00:00:00.000Z"))).toBe(true)
        expect(ids(yield* s.orders.list(ws, { status: "cancelled", limit: 10 }))).toEqual(["o-1"])
        expect(ids(yield* s.orders.list(ws, { status: "placed", limit: 10 }))).toEqual(["o-4", "o-3", "o-2"])
        // The lines come with each order of a page.
        expect((yield* s.orders.list(ws, { contactId: b, limit: 10 }))[0]!.lines.map((l) => l.sku)).toEqual(["SKU-o-2"])
      }))

    test("cancel changes a placed order once, with its time; refund adds up to the total and no further", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        yield* s.orders.insertMany([order(ws, contactId(1), "o-1", "2025-01-01T00:00:00.000Z", 2, 1000)])
        expect(yield* s.orders.cancel(ws, "o-404", at("2025-01-02T00:00:00.000Z"))).toBe(false)
        const refund = (eventId: string, amountMinor: number) =>
          s.orders.refund(ws, { orderId: "o-1", eventId: Ids.EventId.make(eventId), amountMinor, reason: eventId === "r-1" ? "broken" : null, refundedAt: at("2025-01-03T00:00:00.000Z") })
        expect(yield* refund("r-1", 1500)).toBe(true)
        expect(yield* refund("r-2", 501)).toBe(false)
        expect(Option.getOrThrow(yield* s.orders.get(ws, "o-1")).refundedMinor).toBe(1500)
        expect(yield* refund("r-3", 500)).toBe(true)
        expect(yield* refund("r-4", 1)).toBe(false)
        expect(Option.getOrThrow(yield* s.orders.get(ws, "o-1")).refundedMinor).toBe(2000)
        expect(yield* s.orders.refund(ws, { orderId: "o-404", eventId: Ids.EventId.make("r-5"), amountMinor: 1, reason: null, refundedAt: at("2025-01-03T00:00:00.000Z") })).toBe(false)
        expect(yield* s.orders.cancel(ws, "o-1", at("2025-01-04T00:00:00.000Z"))).toBe(true)
        expect(yield* s.orders.cancel(ws, "o-1", at("2025-01-05T00:00:00.000Z"))).toBe(false)
        const cancelled = Option.getOrThrow(yield* s.orders.get(ws, "o-1"))
        expect([cancelled.status, DateTime.formatIso(cancelled.cancelledAt!)]).toEqual(["cancelled", "2025-01-04T00:00:00.000Z"])
      }))

    test("figures: per currency, net of refunds, cancelled orders left out, exact past 2^31, average rounded half up", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = contactId(1)
        yield* s.orders.insertMany([
          order(ws, a, "o-1", "2025-01-10T00:00:00.000Z", 3, 1_000_000_000), // 3,000,000,000 EUR
          order(ws, a, "o-2", "2025-02-10T00:00:00.000Z", 1, 1), // 1 EUR
          order(ws, a, "o-3", "2025-03-10T00:00:00.000Z", 1, 999_999), // cancelled below
          order(ws, a, "o-4", "2025-01-20T00:00:00.000Z", 1, 5, "JPY"),
          order(ws, a, "o-5", "2025-04-20T00:00:00.000Z", 1, 6, "JPY"),
          order(ws, contactId(2), "o-6", "2025-01-01T00:00:00.000Z", 1, 77)
        ])
        yield* s.orders.refund(ws, { orderId: "o-1", eventId: Ids.EventId.make("r-1"), amountMinor: 2, reason: null, refundedAt: at("2025-05-01T00:00:00.000Z") })
        yield* s.orders.cancel(ws, "o-3", at("2025-05-01T00:00:00.000Z"))
        // EUR: (3,000,000,000 − 2) + 1 = 2,999,999,999 over 2 orders: 1,499,999,999.5 → 1,500,000,000.
        // JPY: 5 + 6 = 11 over 2: 5.5 → 6.
        expect(iso(yield* s.orders.figures(ws, a))).toEqual([
          { currency: "EUR", revenueMinor: 2_999_999_999, orders: 2, firstOrderAt: "2025-01-10T00:00:00.000Z", lastOrderAt: "2025-02-10T00:00:00.000Z", averageBasketMinor: 1_500_000_000 },
          { currency: "JPY", revenueMinor: 11, orders: 2, firstOrderAt: "2025-01-20T00:00:00.000Z", lastOrderAt: "2025-04-20T00:00:00.000Z", averageBasketMinor: 6 }
        ])
        expect(yield* s.orders.figures(ws, contactId(3))).toEqual([])
        expect(yield* s.orders.figures(Fixtures.freshWorkspaceId(), a)).toEqual([])
      }))

    test("a cancelled order leaves the history's order counts and times (lifecycle progression)", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = contactId(1)
        yield* s.orders.insertMany([order(ws, a, "o-1", "2025-01-01T00:00:00.000Z", 1, 10), order(ws, a, "o-2", "2025-01-02T00:00:00.000Z", 1, 10)])
        yield* s.orders.cancel(ws, "o-1", at("2025-01-03T00:00:00.000Z"))
        const answers = yield* s.history(ws, [
          { ask: "orderCount", contactId: a },
          { ask: "orderTimes", contactId: a }
        ])
        expect(answers.map((x) => [x.count, x.times.map(DateTime.formatIso)])).toEqual([
          [1, []],
          [1, ["2025-01-02T00:00:00.000Z"]]
        ])
        expect(yield* s.orders.count(ws, { contactId: a })).toBe(1)
        expect((yield* s.orders.times(ws, { contactId: a })).map(DateTime.formatIso)).toEqual(["2025-01-02T00:00:00.000Z"])
      }))

    test("through the services: refunds and a cancellation by events, once per id; two refunds at once never pass the total", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect)
        const ada = yield* run(crm.contacts.create({ email: "ada@example.com" }))
        yield* run(crm.events.emit({ type: "order.placed", contactId: ada.id, occurredAt: "2025-01-01T00:00:00Z", payload: { orderId: "o-1", lines: [line("A", 1, 1000)] } }))
        yield* run(crm.events.emit({ type: "order.placed", contactId: ada.id, occurredAt: "2025-01-02T00:00:00Z", payload: { orderId: "o-2", lines: [line("B", 2, 250)] } }))
        const refund = (id: string, amountMinor: number) =>
          run(crm.events.emit({ id, type: "order.refunded", contactId: ada.id, payload: { orderId: "o-1", amount: { amountMinor, currency: "EUR" } } }))
        // Two refunds of 600 of a 1,000 order, at once: one is recorded, the other refused.
        const outcomes = yield* Effect.all([Effect.either(refund("r-a", 600)), Effect.either(refund("r-b", 600))], { concurrency: 2 })
        expect(outcomes.filter(Either.isRight).length).toBe(1)
        expect(outcomes.filter(Either.isLeft).map((o) => (o as Either.Left<{ readonly _tag: string }, unknown>).left._tag)).toEqual(["ValidationError"])
        expect((yield* run(crm.orders.get("o-1"))).refundedMinor).toBe(600)
        // Replaying the recorded one changes nothing.
        const recorded = Either.isRight(outcomes[0]!) ? "r-a" : "r-b"
        expect((yield* refund(recorded, 600)).duplicate).toBe(true)
        expect((yield* run(crm.orders.get("o-1"))).refundedMinor).toBe(600)
        yield* run(crm.events.emit({ id: "c-1", type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-2" } }))
        expect(yield* failure(run(crm.events.emit({ id: "c-2", type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-2" } })))).toMatchObject({ _tag: "ValidationError" })
        const summary = yield* run(crm.orders.summary(ada.id))
        // o-1: 1,000 − 600 = 400, one order; o-2 cancelled.
        expect(summary.currencies.map((c) => [c.currency, c.revenueMinor, c.orders, c.averageBasketMinor])).toEqual([["EUR", 400, 1, 400]])
        expect((yield* run(crm.orders.list({ status: "cancelled" }))).items.map((o) => o.id)).toEqual(["o-2"])
      }))
  })
}
