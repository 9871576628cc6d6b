// The one recording path: what wakes the dispatcher, and when.
import { Crm, Dispatcher, Storage } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { line, TestCrm } from "./helpers.js"

// The services and the test share one JobSignal (layers are built once per reference).
const layer = Layer.merge(TestCrm, Dispatcher.JobSignal.Default)

const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("the job signal", () => {
  it.effect("is raised once the transaction commits: not inside it, not for one that rolls back", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const storage = yield* Storage.Storage
      const signal = yield* Dispatcher.JobSignal
      const template = yield* crm.templates.create({ name: "Receipt", subject: "Thanks", text: "Thanks" })
      yield* crm.rules.create({ id: "receipt", name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: template.id, transactional: true }] })
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      const order = (id: string) => ({ id, type: "order.placed", contactId: ada.id, payload: { orderId: id, lines: [line("A")] } })
      const waiter = yield* Effect.fork(signal.wait)

      // An emit whose caller's transaction then fails: its job is gone, and nothing was signalled.
      yield* Effect.either(storage.transaction(Effect.zipRight(crm.events.emit(order("o-1")), Effect.fail("boom" as const))))
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      expect((yield* crm.dispatcher.jobs()).items).toEqual([])

      // An emit in a transaction that commits: not signalled while the transaction runs, then once.
      const during = yield* storage.transaction(
        Effect.gen(function* () {
          yield* crm.events.emit(order("o-2"))
          yield* settle
          return Option.isNone(yield* Fiber.poll(waiter))
        })
      )
      expect(during).toBe(true)
      yield* Fiber.join(waiter)
      expect((yield* crm.dispatcher.jobs()).items.length).toBe(1)
    }).pipe(Effect.provide(layer)))

  it.effect("is raised by contact creation and consent changes whose rules queue actions due now", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const signal = yield* Dispatcher.JobSignal
      yield* crm.rules.create({ id: "welcome", name: "Welcome", on: "contact.created", actions: [{ type: "addTag", tag: "new" }] })
      yield* crm.rules.create({ id: "opted-in", name: "Opted in", on: "consent.granted", actions: [{ type: "addTag", tag: "opted-in" }] })
      const created = yield* Effect.fork(signal.wait)
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      yield* Fiber.join(created)
      const granted = yield* Effect.fork(signal.wait)
      yield* crm.consent.grant(ada.id)
      yield* Fiber.join(granted)
      expect((yield* crm.dispatcher.jobs()).items.map((j) => j.ruleId).sort()).toEqual(["opted-in", "welcome"])
    }).pipe(Effect.provide(layer)))
})

describe("what rules read when an event is recorded", () => {
  // Recording asks the lifecycle's and the rules' questions in one statement, before the moves:
  // a condition that counts stage changes must still see the move its own event caused.
  it.effect("a rule on order.placed counting stage changes sees the move the same order caused, by emit and by emitMany", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      yield* crm.rules.create({ id: "promoted", name: "Promoted", on: "order.placed", when: { count: { event: "contact.stage_changed" }, op: "gte", value: 1 }, actions: [{ type: "addTag", tag: "promoted" }] })
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      const bob = yield* crm.contacts.create({ email: "bob@example.com" })
      const order = (id: string, contactId: string) => ({ id, type: "order.placed", contactId, payload: { orderId: id, lines: [line("A")] } })
      const one = yield* crm.events.emit(order("o-1", ada.id))
      const [many] = yield* crm.events.emitMany([order("o-2", bob.id)])
      expect([one.stageChange?.to, one.triggered.map((t) => t.ruleId)]).toEqual(["customer", ["promoted"]])
      expect([many!.stageChange?.to, many!.triggered.map((t) => t.ruleId)]).toEqual(["customer", ["promoted"]])
    }).pipe(Effect.provide(TestCrm)))
})
