import { Contacts, Events, Ids, Storage, Timeline } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { Contact, TimelineEntry } from "@rapport/core"
import { failure, line, withCrm } from "./helpers.js"

const ws = Ids.DefaultWorkspaceId

describe("Events.emit", () => {
  it.effect("an event for an unknown email creates the contact as a suspect, with the source given", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        const result = yield* events.emit({
          id: "visit-1",
          type: "page.viewed",
          email: "Visitor@Shop.example",
          occurredAt: "2025-02-01T09:00:00+01:00",
          payload: { url: "/shoes/red" },
          contact: { firstName: "Vi", source: { channel: "website", campaign: "winter-sale" } }
        })
        expect([result.contactCreated, result.duplicate, result.contact?.stage, result.contact?.email, result.contact?.source]).toEqual([
          true,
          false,
          "suspect",
          "Visitor@shop.example",
          { channel: "website", campaign: "winter-sale" }
        ])
        const timeline = yield* (yield* Timeline.Timeline).list(result.contact!.id)
        expect(timeline.items.map((e) => [e.kind, e.summary])).toEqual([
          ["event", "Viewed /shoes/red"],
          ["event", "Contact created"]
        ])
      })
    ))

  it.effect("an id sent again after its contact was removed is a duplicate, by contact id or by email", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        const contacts = yield* Contacts.Contacts
        const ada = yield* contacts.create({ email: "ada@example.com" })
        const byId = { id: "view-1", type: "page.viewed", contactId: ada.id, payload: { url: "/" } }
        const byEmail = { id: "view-2", type: "page.viewed", email: "ada@example.com", payload: { url: "/" } }
        expect([(yield* events.emit(byId)).duplicate, (yield* events.emit(byEmail)).duplicate]).toEqual([false, false])
        yield* contacts.remove(ada.id)
        const again = [yield* events.emit(byId), yield* events.emit(byEmail)]
        expect(again.map((r) => [r.duplicate, r.contact, r.contactCreated, r.event.contactId])).toEqual([
          [true, null, false, ada.id],
          [true, null, false, ada.id]
        ])
        // Nothing was created by the repeat sent by email.
        expect(yield* contacts.findByEmail("ada@example.com")).toMatchObject({ _tag: "None" })
      })
    ))

  it.effect("the same id twice has the effect of once", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        const input = { id: "order-77", type: "order.placed", email: "a@example.com", payload: { orderId: "77", lines: [line("A", 2, 1500)] } }
        const first = yield* events.emit(input)
        const second = yield* events.emit(input)
        expect([first.duplicate, second.duplicate, second.contact?.id, second.event.id]).toEqual([false, true, first.contact?.id, "order-77"])
        const storage = yield* Storage.Storage
        const orders = yield* storage.orders.forContact(ws, first.contact!.id, { limit: 10 })
        expect(orders.map((o) => [o.id, o.totalMinor, o.currency, o.lines.length])).toEqual([["77", 3000, "EUR", 1]])
        expect((yield* storage.timeline.list(ws, { kinds: ["order"], limit: 10 })).length).toBe(1)
      })
    ))

  it.effect("an emitted contact.created for a new email is the creation record itself", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        const result = yield* events.emit({ id: "signup-1", type: "contact.created", email: "new@example.com", payload: { form: "newsletter" } })
        expect([result.contactCreated, result.event.id, result.event.payload]).toEqual([true, "signup-1", { form: "newsletter" }])
        const storage = yield* Storage.Storage
        expect(yield* storage.events.count(ws, { contactId: result.contact!.id, types: ["contact.created"], until: result.event.occurredAt })).toBe(1)
      })
    ))

  it.effect("bad events fail with ValidationError naming the path, and store nothing", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        const storage = yield* Storage.Storage
        const cases: Array<[unknown, string]> = [
          [{ type: "order.placed", email: "a@example.com", payload: { orderId: "1", lines: [] } }, "payload.lines"],
          [{ type: "order.placed", email: "a@example.com", payload: { orderId: "1", lines: [{ ...line("A"), quantity: 0 }] } }, "payload.lines[0].quantity"],
          [{ type: "order.placed", email: "a@example.com", payload: { orderId: "1", lines: [line("A", 1, 10.5)] } }, "payload.lines[0].unitPrice.amountMinor"],
          [{ type: "order.placed", email: "a@example.com", payload: { orderId: "1", lines: [line("A", 1, 100, "EURO")] } }, "payload.lines[0].unitPrice.currency"],
          [{ type: "order.placed", email: "a@example.com", payload: { orderId: "1", lines: [line("A"), line("B", 1, 100, "USD")] } }, "payload.lines[1]"],
          [{ type: "Order Placed", email: "a@example.com" }, "type"],
          [{ type: "custom.thing" }, "contactId"],
          [{ type: "custom.thing", email: "nope" }, "email"],
          [{ type: "custom.thing", email: "a@example.com", occurredAt: "yesterday" }, "occurredAt"]
        ]
        for (const [input, path] of cases) {
          const error = yield* failure(events.emit(input as never))
          expect(error._tag, JSON.stringify(input)).toBe("ValidationError")
          expect(
            (error as { issues: ReadonlyArray<{ path: ReadonlyArray<string | number> }> }).issues.map((i) =>
              i.path.map((p, n) => (typeof p === "number" ? `[${p}]` : n === 0 ? p : `.${p}`)).join("")
            ),
            JSON.stringify(input)
          ).toContain(path)
        }
        expect(yield* storage.contacts.list(ws, { limit: 10 })).toEqual([])
      })
    ))

  it.effect("an event for an unknown contact id fails with NotFound", () =>
    withCrm(
      Effect.gen(function* () {
        const events = yield* Events.Events
        expect(yield* failure(events.emit({ type: "quote.sent", contactId: "018f0000-0000-7000-8000-000000000000" }))).toMatchObject({
          _tag: "NotFound",
          entity: "contact"
        })
      })
    ))

  it.effect("custom event types carry any JSON payload and land on the timeline", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const events = yield* Events.Events
        const c = yield* contacts.create({ email: "a@example.com" })
        const result = yield* events.emit({ type: "webinar.attended", contactId: c.id, payload: { title: "CRM 101", minutes: 45 } })
        expect(result.event.payload).toEqual({ title: "CRM 101", minutes: 45 })
        expect((yield* events.get(result.event.id)).type).toBe("webinar.attended")
      })
    ))
})

// --- Property: emitting any sequence of events twice leaves the same state as once.

const fc = FastCheck
const emails = ["ada@example.com", "bob@example.com", "cy@example.com"]
const eventArb = fc.oneof(
  fc.record({ type: fc.constant("order.placed"), email: fc.constantFrom(...emails), n: fc.integer({ min: 1, max: 4 }), day: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ type: fc.constantFrom("quote.sent", "page.viewed", "email.opened", "cart.abandoned", "contact.created", "referral.made"), email: fc.constantFrom(...emails), n: fc.constant(1), day: fc.integer({ min: 0, max: 400 }) })
)
const toInput = (e: { type: string; email: string; n: number; day: number }, i: number) => ({
  id: `evt-${i}`,
  type: e.type,
  email: e.email,
  occurredAt: new Date(Date.UTC(2024, 0, 1) + e.day * 86_400_000).toISOString(),
  payload:
    e.type === "order.placed"
      ? { orderId: `o-${i}`, lines: [line("A", e.n)] }
      : e.type === "page.viewed"
        ? { url: "/p" }
        : e.type === "cart.abandoned"
          ? { cartId: `c-${i}` }
          : {}
})

const state = Effect.gen(function* () {
  const storage = yield* Storage.Storage
  const contacts = yield* storage.contacts.list(ws, { limit: 1000 })
  const timeline = yield* storage.timeline.list(ws, { limit: 10_000 })
  return {
    contacts: contacts.map((c) => Schema.encodeSync(Contact.Contact)(c)),
    timeline: timeline.map((e) => Schema.encodeSync(TimelineEntry.TimelineEntry)(e)),
    orders: yield* Effect.forEach(contacts, (c) => storage.orders.count(ws, { contactId: c.id, until: DateTime.unsafeMake("2100-01-01T00:00:00Z") }))
  }
})

describe("Events properties", () => {
  it.effect.prop(
    "emitting any sequence of events twice leaves the same state as once",
    [fc.array(eventArb, { minLength: 1, maxLength: 20 })],
    ([sequence]) =>
      withCrm(
        Effect.gen(function* () {
          const events = yield* Events.Events
          const inputs = sequence.map(toInput)
          for (const input of inputs) yield* events.emit(input)
          const once = yield* state
          // Every order is counted once: a window that missed them would make both states equal and empty.
          expect(once.orders.reduce((a, b) => a + b, 0)).toBe(inputs.filter((i) => i.type === "order.placed").length)
          for (const input of inputs) expect((yield* events.emit(input)).duplicate).toBe(true)
          expect(yield* state).toEqual(once)
        })
      ),
    { fastCheck: { numRuns: 50 } }
  )
})
