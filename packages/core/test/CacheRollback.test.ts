// What an emit compiles once and keeps (the rules, the field definitions) is kept under the rules
// counter, and only once the transaction that read it commits. Regression: the cache was filled
// inside the transaction, so one that rolled back left rules or definitions it had written itself
// under a counter value that the next change then took again, and later emits used them.
import { Crm, Storage } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { TestCrm } from "./helpers.js"

/** Runs `effect` in a transaction that then rolls back; returns what it returned. */
const rolledBack = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const storage = yield* Storage.Storage
    let inside: A | undefined
    const outcome = yield* Effect.either(storage.transaction(Effect.flatMap(effect, (a) => ((inside = a), Effect.fail("roll back" as const)))))
    expect(outcome).toEqual(Either.left("roll back"))
    return inside!
  })

const line = { sku: "SKU-1", name: "Mug", quantity: 1, unitPrice: { amountMinor: 900, currency: "EUR" } }

describe("compiled rules and field definitions after a rollback", () => {
  it.effect("emit - a rule from a rolled-back transaction does not run after the next rule change", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      const inside = yield* rolledBack(
        Effect.gen(function* () {
          yield* crm.rules.create({ id: "ghost", name: "Ghost", on: "page.viewed", actions: [{ type: "addTag", tag: "ghost" }] })
          return yield* crm.events.emit({ id: "v-0", type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
        })
      )
      // Inside its transaction the emit did compile and run the rule.
      expect(inside.triggered.map((t) => t.ruleId)).toEqual(["ghost"])
      expect((yield* crm.rules.list()).map((r) => r.id)).toEqual([])
      // The next change takes the counter value the rolled-back one had.
      yield* crm.rules.create({ id: "real", name: "Real", on: "page.viewed", actions: [{ type: "addTag", tag: "real" }] })
      const result = yield* crm.events.emit({ id: "v-1", type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
      expect(result.triggered.map((t) => t.ruleId)).toEqual(["real"])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("emit - a field definition from a rolled-back transaction does not validate contacts after the next change", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const inside = yield* rolledBack(
        Effect.gen(function* () {
          yield* crm.fields.define({ key: "tier", type: "select", options: ["bronze", "silver"] })
          return yield* crm.events.emit({ type: "page.viewed", email: "ada@example.com", contact: { fields: { tier: "bronze" } }, payload: { url: "/" } })
        })
      )
      expect([inside.contactCreated, inside.contact?.fields["tier"]]).toEqual([true, "bronze"])
      yield* crm.fields.define({ key: "tier", type: "select", options: ["gold", "platinum"] })
      const result = yield* crm.events.emit({ type: "page.viewed", email: "bob@example.com", contact: { fields: { tier: "gold" } }, payload: { url: "/" } })
      expect([result.contactCreated, result.contact?.fields["tier"]]).toEqual([true, "gold"])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("emit - a webhook subscription from a rolled-back transaction queues no message after the next change", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      yield* rolledBack(
        Effect.gen(function* () {
          yield* crm.webhooks.create({ url: "https://ghost.example.com/hooks", eventTypes: ["order.placed"] })
          return yield* crm.events.emit({ id: "o-0", type: "order.placed", contactId: ada.id, payload: { orderId: "o-0", lines: [line] } })
        })
      )
      expect((yield* crm.webhooks.list()).items).toEqual([])
      // The next change takes the counter value the rolled-back one had.
      const { subscription } = yield* crm.webhooks.create({ url: "https://erp.example.com/hooks", eventTypes: ["order.placed"] })
      yield* crm.events.emit({ id: "o-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
      const queued = (yield* crm.dispatcher.jobs({ limit: 100 })).items.filter((job) => String(job.ruleId).startsWith("webhook:"))
      expect(queued.map((job) => job.ruleId)).toEqual([`webhook:${subscription.id}`])
    }).pipe(Effect.provide(TestCrm)))
})
