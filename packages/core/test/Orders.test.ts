// Orders as records you can read (issue 16): orders.get and orders.list (by contact, period,
// status, with cursors), cancellations and refunds recorded by events through the one recording
// path (once per event id; refunds never past the total), the per-contact figures computed by hand
// here, and cancelled orders left out of lifecycle progression (no automatic move back).
import { Crm } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { WorkspaceId } from "../src/domain/Ids.js"
import { failure, inWorkspace, line, withCrm } from "./helpers.js"

const acme = WorkspaceId.make("acme")
const globex = WorkspaceId.make("globex")
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

/** Ada's orders: o-1 3,499 EUR, o-2 5,000 EUR, o-3 999 USD, o-4 2,001 EUR; Bob's o-5 100 EUR. */
const fixture = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const ada = yield* crm.contacts.create({ email: "ada@example.com" })
  const bob = yield* crm.contacts.create({ email: "bob@example.com" })
  const place = (id: string, contactId: string, occurredAt: string, lines: ReadonlyArray<ReturnType<typeof line>>) =>
    crm.events.emit({ id: `placed-${id}`, type: "order.placed", contactId, occurredAt, payload: { orderId: id, lines } })
  yield* place("o-1", ada.id, "2025-01-10T10:00:00Z", [line("A", 2, 1250), line("B", 1, 999)])
  yield* place("o-2", ada.id, "2025-02-15T10:00:00Z", [line("C", 1, 5000)])
  yield* place("o-3", ada.id, "2025-03-01T10:00:00Z", [line("D", 3, 333, "USD")])
  yield* place("o-4", ada.id, "2025-03-20T10:00:00Z", [line("E", 1, 2001)])
  yield* place("o-5", bob.id, "2025-02-01T10:00:00Z", [line("F", 1, 100)])
  return { crm, ada, bob }
})

describe("orders", () => {
  it.effect("get - an order with its lines, total and status; NotFound for an unknown id or another workspace's", () =>
    withCrm(
      Effect.gen(function* () {
        const { crm, ada } = yield* fixture.pipe(inWorkspace(acme))
        const order = yield* crm.orders.get("o-1").pipe(inWorkspace(acme))
        expect(order).toMatchObject({ id: "o-1", contactId: ada.id, currency: "EUR", totalMinor: 3499, status: "placed", refundedMinor: 0, cancelledAt: null, eventId: "placed-o-1" })
        expect(order.lines.map((l) => [l.sku, l.quantity, l.unitPrice.amountMinor])).toEqual([["A", 2, 1250], ["B", 1, 999]])
        expect(DateTime.formatIso(order.placedAt)).toBe("2025-01-10T10:00:00.000Z")
        expect(yield* failure(crm.orders.get("o-404").pipe(inWorkspace(acme)))).toMatchObject({ _tag: "NotFound", entity: "order", id: "o-404" })
        expect(yield* failure(crm.orders.get("o-1").pipe(inWorkspace(globex)))).toMatchObject({ _tag: "NotFound" })
      })
    ))

  it.effect("list - newest first, filtered by contact, period [from, to) and status, paged by cursor", () =>
    withCrm(
      Effect.gen(function* () {
        const { crm, ada, bob } = yield* fixture.pipe(inWorkspace(acme))
        const ids = (page: { readonly items: ReadonlyArray<{ readonly id: string }> }) => page.items.map((o) => o.id)
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) => e.pipe(inWorkspace(acme))
        expect(ids(yield* run(crm.orders.list()))).toEqual(["o-4", "o-3", "o-2", "o-5", "o-1"])
        expect(ids(yield* run(crm.orders.list({ contactId: bob.id })))).toEqual(["o-5"])
        // from is inclusive, to exclusive.
        expect(ids(yield* run(crm.orders.list({ from: "2025-02-01T10:00:00Z", to: "2025-03-01T10:00:00Z" })))).toEqual(["o-2", "o-5"])
        yield* run(crm.events.emit({ id: "cancel-o-4", type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-4" } }))
        expect(ids(yield* run(crm.orders.list({ status: "cancelled" })))).toEqual(["o-4"])
        expect(ids(yield* run(crm.orders.list({ status: "placed", contactId: ada.id })))).toEqual(["o-3", "o-2", "o-1"])
        // Pages of two walk every order once.
        const first = yield* run(crm.orders.list({ limit: 2 }))
        expect(ids(first)).toEqual(["o-4", "o-3"])
        const second = yield* run(crm.orders.list({ limit: 2, cursor: first.nextCursor! }))
        expect(ids(second)).toEqual(["o-2", "o-5"])
        const third = yield* run(crm.orders.list({ limit: 2, cursor: second.nextCursor! }))
        expect(ids(third)).toEqual(["o-1"])
        expect(third.nextCursor).toBeNull()
        expect(ids(yield* crm.orders.list().pipe(inWorkspace(globex)))).toEqual([])
        expect(yield* failure(run(crm.orders.list({ cursor: "nope" })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["cursor"] }] })
        expect(yield* failure(run(crm.orders.list({ status: "lost" as never })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["status"] }] })
        expect(yield* failure(run(crm.orders.list({ from: "yesterday" })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["from"] }] })
      })
    ))

  it.effect("order.cancelled - marks the order cancelled at the event's time, once; a second cancellation is refused", () =>
    withCrm(
      Effect.gen(function* () {
        const { crm, ada, bob } = yield* fixture.pipe(inWorkspace(acme))
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) => e.pipe(inWorkspace(acme))
        const result = yield* run(crm.events.emit({ id: "cancel-1", type: "order.cancelled", contactId: ada.id, occurredAt: "2025-03-21T08:00:00Z", payload: { orderId: "o-4", reason: "changed mind" } }))
        expect(result.duplicate).toBe(false)
        const cancelled = yield* run(crm.orders.get("o-4"))
        expect(cancelled.status).toBe("cancelled")
        expect(DateTime.formatIso(cancelled.cancelledAt!)).toBe("2025-03-21T08:00:00.000Z")
        // The same event again: a duplicate, nothing changes.
        expect((yield* run(crm.events.emit({ id: "cancel-1", type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-4" } }))).duplicate).toBe(true)
        // Another cancellation of it: refused, and not stored.
        const again = yield* failure(run(crm.events.emit({ id: "cancel-2", type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-4" } })))
        expect(again).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["payload", "orderId"] }] })
        expect(yield* failure(run(crm.events.get("cancel-2")))).toMatchObject({ _tag: "NotFound" })
        // Unknown order, another contact's order.
        expect(yield* failure(run(crm.events.emit({ type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-404" } })))).toMatchObject({
          _tag: "ValidationError",
          issues: [{ path: ["payload", "orderId"] }]
        })
        expect(yield* failure(run(crm.events.emit({ type: "order.cancelled", contactId: bob.id, payload: { orderId: "o-1" } })))).toMatchObject({
          _tag: "ValidationError",
          issues: [{ path: ["payload", "orderId"] }]
        })
        expect((yield* run(crm.orders.get("o-1"))).status).toBe("placed")
        // The timeline shows it as an order entry.
        const entries = yield* run(crm.timeline.list(ada.id))
        expect(entries.items.find((e) => e.eventId === "cancel-1")).toMatchObject({ kind: "order", summary: "Order o-4 cancelled" })
      })
    ))

  it.effect("order.refunded - partial refunds add up; past the total is a ValidationError; replaying a refund's id changes nothing", () =>
    withCrm(
      Effect.gen(function* () {
        const { crm, ada } = yield* fixture.pipe(inWorkspace(acme))
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) => e.pipe(inWorkspace(acme))
        const refund = (id: string, amountMinor: number, currency = "EUR") =>
          crm.events.emit({ id, type: "order.refunded", contactId: ada.id, payload: { orderId: "o-2", amount: { amountMinor, currency }, reason: "damaged" } })
        yield* run(refund("r-1", 1000))
        yield* run(refund("r-2", 1500))
        expect((yield* run(crm.orders.get("o-2"))).refundedMinor).toBe(2500)
        // The same event id again: a duplicate, the sum stays.
        expect((yield* run(refund("r-2", 1500))).duplicate).toBe(true)
        expect((yield* run(crm.orders.get("o-2"))).refundedMinor).toBe(2500)
        // 2,500 left: 2,501 is refused, and neither stored nor counted.
        const over = yield* failure(run(refund("r-3", 2501)))
        expect(over).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["payload", "amount", "amountMinor"] }] })
        expect(over.message).toContain("2500 left")
        expect(yield* failure(run(crm.events.get("r-3")))).toMatchObject({ _tag: "NotFound" })
        // Another currency, zero, a negative amount.
        expect(yield* failure(run(refund("r-4", 10, "USD")))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["payload", "amount", "currency"] }] })
        expect(yield* failure(run(refund("r-5", 0)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["payload", "amount", "amountMinor"] }] })
        expect(yield* failure(run(refund("r-6", -5)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["payload", "amount", "amountMinor"] }] })
        // Exactly what is left: accepted; then nothing is left.
        yield* run(refund("r-7", 2500))
        expect((yield* run(crm.orders.get("o-2"))).refundedMinor).toBe(5000)
        expect(yield* failure(run(refund("r-8", 1)))).toMatchObject({ _tag: "ValidationError" })
        // In a batch: the second refund would pass the total, so the whole batch is refused.
        const batch = yield* failure(
          run(
            crm.events.emitMany([
              { id: "b-1", type: "order.refunded", contactId: ada.id, payload: { orderId: "o-1", amount: eur(3000) } },
              { id: "b-2", type: "order.refunded", contactId: ada.id, payload: { orderId: "o-1", amount: eur(500) } }
            ])
          )
        )
        // The path names the refused item of the batch.
        expect(batch).toMatchObject({ _tag: "ValidationError", issues: [{ path: [1, "payload", "amount", "amountMinor"] }] })
        expect((yield* run(crm.orders.get("o-1"))).refundedMinor).toBe(0)
        expect(yield* failure(run(crm.events.get("b-1")))).toMatchObject({ _tag: "NotFound" })
      })
    ))

  it.effect("summary - per currency: revenue net of refunds without cancelled orders, count, first and last, average rounded half up", () =>
    withCrm(
      Effect.gen(function* () {
        const { crm, ada, bob } = yield* fixture.pipe(inWorkspace(acme))
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) => e.pipe(inWorkspace(acme))
        yield* run(crm.events.emit({ type: "order.refunded", contactId: ada.id, payload: { orderId: "o-2", amount: eur(1000) } }))
        yield* run(crm.events.emit({ type: "order.refunded", contactId: ada.id, payload: { orderId: "o-2", amount: eur(1500) } }))
        yield* run(crm.events.emit({ type: "order.cancelled", contactId: ada.id, payload: { orderId: "o-4" } }))
        const summary = yield* run(crm.orders.summary(ada.id))
        // EUR: o-1 3,499 + o-2 (5,000 − 2,500) = 5,999 over 2 orders (o-4 cancelled); 5,999 / 2 =
        // 2,999.5 → 3,000. USD: o-3 3 × 333 = 999, one order.
        expect(summary.contactId).toBe(ada.id)
        expect(
          summary.currencies.map((c) => ({ ...c, firstOrderAt: DateTime.formatIso(c.firstOrderAt), lastOrderAt: DateTime.formatIso(c.lastOrderAt) }))
        ).toEqual([
          { currency: "EUR", revenueMinor: 5999, orders: 2, firstOrderAt: "2025-01-10T10:00:00.000Z", lastOrderAt: "2025-02-15T10:00:00.000Z", averageBasketMinor: 3000 },
          { currency: "USD", revenueMinor: 999, orders: 1, firstOrderAt: "2025-03-01T10:00:00.000Z", lastOrderAt: "2025-03-01T10:00:00.000Z", averageBasketMinor: 999 }
        ])
        expect((yield* run(crm.orders.summary(bob.id))).currencies.map((c) => [c.currency, c.revenueMinor, c.orders])).toEqual([["EUR", 100, 1]])
        const carol = yield* run(crm.contacts.create({ email: "carol@example.com" }))
        expect((yield* run(crm.orders.summary(carol.id))).currencies).toEqual([])
        expect(yield* failure(run(crm.orders.summary("00000000-0000-4000-8000-000000000000")))).toMatchObject({ _tag: "NotFound", entity: "contact" })
      })
    ))

  it.effect("lifecycle - a cancelled order no longer counts towards progression, and cancelling does not move the contact back", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) => e.pipe(inWorkspace(acme))
        const dan = yield* run(crm.contacts.create({ email: "dan@example.com" }))
        const placed = yield* run(crm.events.emit({ type: "order.placed", contactId: dan.id, payload: { orderId: "d-1", lines: [line("A")] } }))
        expect(placed.contact?.stage).toBe("customer")
        const cancelled = yield* run(crm.events.emit({ type: "order.cancelled", contactId: dan.id, payload: { orderId: "d-1" } }))
        expect(cancelled.contact?.stage).toBe("customer")
        expect(cancelled.stageChange).toBeNull()
        // Two orders placed, one cancelled: one counts, so Dan is not loyal (two orders) yet.
        const second = yield* run(crm.events.emit({ type: "order.placed", contactId: dan.id, payload: { orderId: "d-2", lines: [line("A")] } }))
        expect(second.contact?.stage).toBe("customer")
        const third = yield* run(crm.events.emit({ type: "order.placed", contactId: dan.id, payload: { orderId: "d-3", lines: [line("A")] } }))
        expect(third.contact?.stage).toBe("loyal")
      })
    ))
})
