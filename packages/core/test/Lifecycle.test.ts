import { Contacts, Errors, Events, Fields, Lifecycle, Timeline } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { failure, line, withCrm } from "./helpers.js"

const order = (contactId: string, id: string, occurredAt: string) => ({
  id: `evt-${id}`,
  type: "order.placed",
  contactId,
  occurredAt,
  payload: { orderId: id, lines: [line("SKU-1")] }
})

describe("Lifecycle.move", () => {
  it.effect("moves by hand with a reason, recorded on the timeline", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const lifecycle = yield* Lifecycle.Lifecycle
        const c = yield* contacts.create({ email: "a@example.com" })
        const moved = yield* lifecycle.move(c.id, "prospect", { reason: "Met at the trade show", author: "user-7" })
        expect([moved.stage, moved.version]).toEqual(["prospect", 2])
        const history = yield* lifecycle.history(c.id)
        expect(history.map((h) => [h.from, h.to, h.author, h.cause])).toEqual([
          ["suspect", "prospect", "user-7", { kind: "manual", reason: "Met at the trade show" }]
        ])
        const entries = yield* (yield* Timeline.Timeline).list(c.id, { kinds: ["stageChange"] })
        expect(entries.items[0]?.summary).toBe("Moved from Suspect to Prospect (Met at the trade show)")
        const same = yield* lifecycle.move(c.id, "prospect", { reason: "again" })
        expect(same.version).toBe(2)
      })
    ))

  it.effect("refuses an unknown stage, a missing reason, and a stale version", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const lifecycle = yield* Lifecycle.Lifecycle
        const c = yield* contacts.create({ email: "a@example.com" })
        const unknown = yield* failure(lifecycle.move(c.id, "vip", { reason: "x" }))
        expect([unknown._tag, (unknown as Errors.ValidationError).issues[0]?.message]).toEqual([
          "ValidationError",
          'unknown stage "vip"; stages are suspect, prospect, customer, loyal, fan, addict'
        ])
        expect(yield* failure(lifecycle.move(c.id, "prospect", { reason: " " }))).toMatchObject({ _tag: "ValidationError" })
        expect(yield* failure(lifecycle.move(c.id, "prospect", { reason: "x", expectedVersion: 5 }))).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect((yield* contacts.get(c.id)).stage).toBe("suspect")
      })
    ))

  it.effect("entering a stage whose required fields are missing fails with InvalidTransition naming them", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        for (const key of ["siret", "vatNumber", "paymentTerms"]) yield* fields.define({ key, type: "text", required: { fromStage: "customer" } })
        yield* fields.define({ key: "creditLimit", type: "money", required: { fromStage: "loyal" } })
        const contacts = yield* Contacts.Contacts
        const lifecycle = yield* Lifecycle.Lifecycle
        const c = yield* contacts.create({ email: "b2b@example.com", fields: { siret: "123" } })
        const error = yield* failure(lifecycle.move(c.id, "loyal", { reason: "second order" }))
        expect(error).toMatchObject({
          _tag: "InvalidTransition",
          reason: "missingFields",
          from: "suspect",
          to: "loyal",
          missingFields: ["vatNumber", "paymentTerms", "creditLimit"],
          code: "INVALID_TRANSITION"
        })
        expect(error.message).toContain('"vatNumber"')
        expect((yield* contacts.get(c.id)).stage).toBe("suspect")
      })
    ))

  it.effect("moves backwards only when the lifecycle allows it", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const lifecycle = yield* Lifecycle.Lifecycle
        const c = yield* contacts.create({ email: "a@example.com", stage: "fan" })
        expect((yield* lifecycle.move(c.id, "loyal", { reason: "stopped buying" })).stage).toBe("loyal")
        yield* contacts.remove(c.id)
        yield* lifecycle.configure({ preset: "relationship" })
        const r = yield* contacts.create({ email: "r@example.com", stage: "customer" })
        expect(yield* failure(lifecycle.move(r.id, "lead", { reason: "oops" }))).toMatchObject({ _tag: "InvalidTransition", reason: "backward" })
      })
    ))
})

describe("Lifecycle.configure", () => {
  it.effect("refuses to drop a stage that contacts are in, naming the count", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const lifecycle = yield* Lifecycle.Lifecycle
        yield* contacts.create({ firstName: "a", stage: "loyal" })
        yield* contacts.create({ firstName: "b", stage: "loyal" })
        const error = yield* failure(lifecycle.configure({ preset: "hubspot" }))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "inUse", affected: 2 })
        expect((yield* lifecycle.definition).preset).toBe("classic")
      })
    ))

  it.effect("accepts a custom definition with its own thresholds", () =>
    withCrm(
      Effect.gen(function* () {
        const lifecycle = yield* Lifecycle.Lifecycle
        const def = yield* lifecycle.configure({
          definition: {
            allowBackward: false,
            stages: [
              { key: "visitor", label: "Visitor" },
              { key: "buyer", label: "Buyer", enterWhen: { kind: "orders", atLeast: 1 } },
              { key: "regular", label: "Regular", enterWhen: { kind: "orders", atLeast: 5, withinDays: 30 } }
            ]
          }
        })
        expect(def.stages.map((s) => s.key)).toEqual(["visitor", "buyer", "regular"])
        const contacts = yield* Contacts.Contacts
        expect((yield* contacts.create({ firstName: "x" })).stage).toBe("visitor")
      })
    ))
})

describe("automatic progression", () => {
  it.effect("classic: quote → prospect, order → customer, 2 → loyal, 3 in 90 days → fan, 12 in a year → addict", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const events = yield* Events.Events
        const c = yield* contacts.create({ email: "fan@example.com" })
        const stage = () => Effect.map(contacts.get(c.id), (x) => x.stage)
        yield* events.emit({ id: "q1", type: "quote.sent", contactId: c.id, occurredAt: "2024-01-01T10:00:00Z" })
        expect(yield* stage()).toBe("prospect")
        yield* events.emit(order(c.id, "o1", "2024-01-05T10:00:00Z"))
        expect(yield* stage()).toBe("customer")
        yield* events.emit(order(c.id, "o2", "2024-03-01T10:00:00Z"))
        expect(yield* stage()).toBe("loyal")
        yield* events.emit(order(c.id, "o3", "2024-07-01T10:00:00Z"))
        yield* events.emit(order(c.id, "o4", "2024-07-15T10:00:00Z"))
        expect(yield* stage()).toBe("loyal")
        yield* events.emit(order(c.id, "o5", "2024-08-01T10:00:00Z"))
        expect(yield* stage()).toBe("fan")
        // Seven more before the year is out: twelve orders within 365 days.
        for (const [n, day] of ["09-01", "09-15", "10-01", "10-15", "11-01", "11-15", "12-01"].entries()) {
          yield* events.emit(order(c.id, `p${n}`, `2024-${day}T10:00:00Z`))
          expect(yield* stage()).toBe(n < 6 ? "fan" : "addict")
        }
        const history = yield* (yield* Lifecycle.Lifecycle).history(c.id)
        expect(history.map((h) => [h.to, h.cause.kind === "automatic" ? h.cause.criterion : ""])).toEqual([
          ["prospect", "first quote.sent"],
          ["customer", "1 order"],
          ["loyal", "2 orders"],
          ["fan", "3 orders within 90 days"],
          ["addict", "12 orders within 365 days"]
        ])
      })
    ))

  it.effect("a first order jumps straight to customer, but only once the required fields are filled", () =>
    withCrm(
      Effect.gen(function* () {
        yield* (yield* Fields.Fields).define({ key: "siret", type: "text", required: { fromStage: "customer" } })
        const events = yield* Events.Events
        const contacts = yield* Contacts.Contacts
        const result = yield* events.emit({ type: "order.placed", email: "new@example.com", payload: { orderId: "o1", lines: [line("A")] } })
        expect([result.contactCreated, result.contact?.stage, result.stageChange, result.progressionBlocked]).toEqual([
          true,
          "suspect",
          null,
          { stage: "customer", missingFields: ["siret"] }
        ])
        const notes = yield* (yield* Timeline.Timeline).list(result.contact!.id, { kinds: ["note"] })
        expect(notes.items[0]?.summary).toBe("Could not move to Customer: missing siret")
        const filled = yield* contacts.update(result.contact!.id, { expectedVersion: result.contact!.version, fields: { siret: "123" } })
        expect(filled.stage).toBe("customer")
        const history = yield* (yield* Lifecycle.Lifecycle).history(filled.id)
        expect(history.map((h) => h.cause)).toEqual([{ kind: "automatic", criterion: "1 order", eventId: null, eventType: null }])
      })
    ))

  it.effect("orders reported out of order count where they belong (windowed and not)", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const events = yield* Events.Events
        const a = yield* contacts.create({ email: "a@example.com" })
        for (const [id, day] of [["o1", "2024-01-01"], ["o3", "2024-01-20"], ["o2", "2024-01-10"]] as const) {
          yield* events.emit(order(a.id, id, `${day}T10:00:00Z`))
        }
        expect((yield* contacts.get(a.id)).stage).toBe("fan")
        const history = yield* (yield* Lifecycle.Lifecycle).history(a.id)
        // Read in order, each move starts where the previous one ended.
        history.slice(1).forEach((move, i) => expect(move.from).toBe(history[i]!.to))
        const b = yield* contacts.create({ email: "b@example.com" })
        yield* events.emit(order(b.id, "b2", "2024-06-01T10:00:00Z"))
        yield* events.emit(order(b.id, "b1", "2024-01-01T10:00:00Z"))
        expect((yield* contacts.get(b.id)).stage).toBe("loyal")
      })
    ))

  // --- Property: the stage reached does not depend on the order events are reported in.

  const shuffled = <A>(items: ReadonlyArray<A>, seed: number) => {
    const out = [...items]
    let x = seed || 1
    for (let i = out.length - 1; i > 0; i--) {
      x = (x * 48271) % 2147483647
      const j = x % (i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  it.effect.prop(
    "the final stage is the same whatever order the same orders and quotes are reported in",
    [
      FastCheck.array(FastCheck.record({ kind: FastCheck.constantFrom("order", "quote"), day: FastCheck.integer({ min: 0, max: 400 }) }), { minLength: 1, maxLength: 16 }),
      FastCheck.integer({ min: 1, max: 2 ** 30 })
    ],
    ([history, seed]) =>
      Effect.gen(function* () {
        const finalStage = (sequence: typeof history) =>
          withCrm(
            Effect.gen(function* () {
              const contacts = yield* Contacts.Contacts
              const events = yield* Events.Events
              const c = yield* contacts.create({ email: "p@example.com" })
              for (const step of sequence) {
                const at = new Date(Date.UTC(2024, 0, 1) + step.day * 86_400_000).toISOString()
                const n = history.indexOf(step)
                yield* events.emit(
                  step.kind === "order"
                    ? order(c.id, `o${n}`, at)
                    : { id: `q${n}`, type: "quote.sent", contactId: c.id, occurredAt: at }
                )
              }
              return (yield* contacts.get(c.id)).stage
            })
          )
        const inOrder = [...history].sort((x, y) => x.day - y.day)
        expect(yield* finalStage(shuffled(history, seed))).toBe(yield* finalStage(inOrder))
      }),
    { fastCheck: { numRuns: 40 } }
  )

  // --- Property: whatever happens, progression never goes back and never skips a required-field check.

  const fc = FastCheck
  const step = fc.oneof(
    fc.record({ kind: fc.constant("order" as const), day: fc.integer({ min: 0, max: 500 }) }),
    fc.record({ kind: fc.constant("quote" as const), day: fc.integer({ min: 0, max: 500 }) }),
    fc.record({ kind: fc.constant("view" as const), day: fc.integer({ min: 0, max: 500 }) }),
    fc.record({ kind: fc.constant("fill" as const), field: fc.constantFrom("siret", "vat", "terms") })
  )
  const requirements = fc.record({
    siret: fc.constantFrom("prospect", "customer", "loyal", "fan", "addict"),
    vat: fc.constantFrom("customer", "loyal", "fan", "addict"),
    terms: fc.constantFrom("loyal", "fan", "addict")
  })

  it.effect.prop(
    "automatic progression never moves backwards and never enters a stage whose required fields are missing",
    [requirements, fc.array(step, { minLength: 1, maxLength: 25 })],
    ([required, steps]) =>
      withCrm(
        Effect.gen(function* () {
          const fields = yield* Fields.Fields
          for (const [key, fromStage] of Object.entries(required)) yield* fields.define({ key, type: "text", required: { fromStage } })
          const contacts = yield* Contacts.Contacts
          const events = yield* Events.Events
          const lifecycle = yield* Lifecycle.Lifecycle
          const def = yield* lifecycle.definition
          const position = (stage: string) => def.stages.findIndex((s) => s.key === stage)
          const requiredAt = (stage: string) => Object.entries(required).filter(([, from]) => position(from) <= position(stage)).map(([k]) => k)
          let c = yield* contacts.create({ email: "p@example.com" })
          let n = 0
          for (const s of steps) {
            const before = c.stage
            const at = new Date(Date.UTC(2024, 0, 1) + ("day" in s ? s.day : 0) * 86_400_000).toISOString()
            n++
            if (s.kind === "fill") c = yield* contacts.update(c.id, { expectedVersion: c.version, fields: { [s.field]: "filled" } })
            else if (s.kind === "order") c = (yield* events.emit({ id: `e${n}`, type: "order.placed", contactId: c.id, occurredAt: at, payload: { orderId: `o${n}`, lines: [line("A")] } })).contact!
            else if (s.kind === "quote") c = (yield* events.emit({ id: `e${n}`, type: "quote.sent", contactId: c.id, occurredAt: at })).contact!
            else c = (yield* events.emit({ id: `e${n}`, type: "page.viewed", contactId: c.id, occurredAt: at, payload: { url: "/" } })).contact!
            expect(position(c.stage)).toBeGreaterThanOrEqual(position(before))
            for (const key of requiredAt(c.stage)) expect(c.fields[key], `${key} at ${c.stage}`).toBeDefined()
          }
          const history = yield* lifecycle.history(c.id)
          for (const h of history) expect(position(h.to)).toBeGreaterThan(position(h.from))
        })
      ),
    { fastCheck: { numRuns: 60 } }
  )
})
