// events.emitMany: one transaction, the same results as emitting one by one, idempotent by id.
import { createCrm, Crm, type EmitInput, Errors, type Events, Storage } from "@rapport/core"
import { memoryStorage, SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { failure, line, TestCrm } from "./helpers.js"

const setUp = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const template = yield* crm.templates.create({ name: "Receipt", subject: "Thanks", text: "Thanks" })
  yield* crm.rules.create({ id: "receipt", name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: template.id, transactional: true }] })
  yield* crm.rules.create({ id: "cart", name: "Cart", on: "cart.abandoned", delay: "1 day", limits: { oncePer: "event.payload.cartId" }, actions: [{ type: "addTag", tag: "cart" }] })
  yield* crm.rules.create({ id: "welcome", name: "Welcome", on: "contact.created", actions: [{ type: "adjustScore", by: 1 }] })
  return yield* crm.contacts.create({ email: "ada@example.com" })
})

const at = (minutes: number) => new Date(Date.UTC(2025, 2, 1) + minutes * 60_000).toISOString()

/** A stream with stage moves (orders), a contact created by email, delayed rules and repeated ids. */
const stream = (ada: string): ReadonlyArray<EmitInput> => [
  { id: "o-1", type: "order.placed", contactId: ada, occurredAt: at(1), payload: { orderId: "o-1", lines: [line("A")] } },
  { id: "c-1", type: "cart.abandoned", contactId: ada, occurredAt: at(2), payload: { cartId: "k-1" } },
  { id: "c-2", type: "cart.abandoned", contactId: ada, occurredAt: at(3), payload: { cartId: "k-1" } },
  { id: "o-2", type: "order.placed", contactId: ada, occurredAt: at(4), payload: { orderId: "o-2", lines: [line("B")] } },
  { id: "v-1", type: "page.viewed", email: "bob@example.com", occurredAt: at(5), payload: { url: "/" } },
  { id: "o-3", type: "order.placed", email: "bob@example.com", occurredAt: at(6), payload: { orderId: "o-3", lines: [line("C")] } },
  { id: "o-1", type: "order.placed", contactId: ada, occurredAt: at(7), payload: { orderId: "o-1", lines: [line("A")] } },
  { type: "page.viewed", contactId: ada, occurredAt: at(8), payload: { url: "/sale" } }
]

// What a result says, without the ids generated along the way (contacts are named by email).
const shape = (result: Events.EmitResult) => ({
  event: [result.event.type, result.event.occurredAt.epochMillis],
  contact: result.contact === null ? null : [result.contact.email, result.contact.stage, result.contact.version, result.contact.score],
  duplicate: result.duplicate,
  contactCreated: result.contactCreated,
  stageChange: result.stageChange === null ? null : [result.stageChange.from, result.stageChange.to],
  triggered: result.triggered.map((t) => [t.ruleId, t.delayed])
})

const stored = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const jobs = (yield* crm.dispatcher.jobs({ limit: 500 })).items
  return { jobs: jobs.map((j) => [j.ruleId, j.kind, j.action?.type ?? null]).sort(), counts: yield* crm.contacts.countByStage() }
})

// Streams for the property below: a few contacts named by id, by a known email or by new emails
// (created by the stream), ids drawn from a small pool (repeats are duplicates), every event type
// the rules react to, and times that go back and forth.
const RULE_SETUP = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const template = yield* crm.templates.create({ name: "Receipt", subject: "Thanks", text: "Thanks" })
  yield* crm.rules.create({ id: "receipt", name: "Receipt", on: "order.placed", goal: { event: "quote.sent", within: "7 days" }, actions: [{ type: "sendEmail", template: template.id, transactional: true }] })
  yield* crm.rules.create({ id: "cart", name: "Cart", on: "cart.abandoned", limits: { oncePer: "event.payload.cartId" }, actions: [{ type: "addTag", tag: "cart" }] })
  yield* crm.rules.create({ id: "reminder", name: "Reminder", on: "cart.abandoned", delay: "1 day", actions: [{ type: "addTag", tag: "reminded" }] })
  yield* crm.rules.create({ id: "welcome", name: "Welcome", on: "contact.created", limits: { oncePerContact: true }, actions: [{ type: "adjustScore", by: 1 }] })
  yield* crm.rules.create({ id: "browsing", name: "Browsing", on: "page.viewed", when: { count: { event: "page.viewed", within: "30 days" }, op: "gte", value: 2 }, limits: { cooldown: "1 day" }, actions: [{ type: "addTag", tag: "browsing" }] })
  yield* crm.rules.create({ id: "moved", name: "Moved", on: "contact.stage_changed", when: { count: { event: "contact.stage_changed" }, op: "gte", value: 2 }, actions: [{ type: "addTag", tag: "moved twice" }] })
  // Counts the stage change the same order causes: asked after the move.
  yield* crm.rules.create({ id: "promoted", name: "Promoted", on: "order.placed", when: { count: { event: "contact.stage_changed" }, op: "gte", value: 1 }, actions: [{ type: "addTag", tag: "promoted" }] })
  const a = yield* crm.contacts.create({ email: "a@example.com" })
  const b = yield* crm.contacts.create({ email: "b@example.com" })
  return [a.id, b.id] as const
})

const streamOf = FastCheck.array(
  FastCheck.record({
    who: FastCheck.constantFrom("a", "b", "a by email", "new x", "new y"),
    type: FastCheck.constantFrom("order.placed", "cart.abandoned", "page.viewed", "quote.sent", "contact.created"),
    id: FastCheck.option(FastCheck.integer({ min: 0, max: 40 }), { nil: undefined }),
    minutes: FastCheck.integer({ min: 0, max: 60 * 24 * 40 }),
    cart: FastCheck.integer({ min: 0, max: 2 })
  }),
  { minLength: 1, maxLength: 40 }
)

const inputsOf = (stream: typeof streamOf extends FastCheck.Arbitrary<infer A> ? A : never, [a, b]: readonly [string, string]): ReadonlyArray<EmitInput> =>
  stream.map((e, i) => ({
    ...(e.id === undefined ? {} : { id: `p-${e.id}` }),
    type: e.type,
    ...(e.who === "a" ? { contactId: a } : e.who === "b" ? { contactId: b } : { email: e.who === "a by email" ? "a@example.com" : e.who === "new x" ? "x@example.com" : "y@example.com" }),
    occurredAt: at(e.minutes),
    payload:
      e.type === "order.placed" ? { orderId: `o-${i}`, lines: [line("A", 1 + (i % 3))] } : e.type === "cart.abandoned" ? { cartId: `k-${e.cart}` } : e.type === "page.viewed" ? { url: `/p/${i}` } : {}
  }))

const heldBackCart: typeof streamOf extends FastCheck.Arbitrary<infer A> ? A : never = [
  { who: "a", type: "cart.abandoned", id: undefined, minutes: 0, cart: 1 },
  { who: "a", type: "cart.abandoned", id: undefined, minutes: 10, cart: 1 }
]

// A count condition met within the batch: the second view is the contact's second in 30 days.
const viewedTwice: typeof heldBackCart = [
  { who: "a", type: "page.viewed", id: undefined, minutes: 0, cart: 0 },
  { who: "a", type: "page.viewed", id: undefined, minutes: 10, cart: 0 }
]

describe("events.emitMany", () => {
  // What the runs of the property below saw: a stream that never repeats an id, creates a contact,
  // moves one twice or lets a limit bite would pass it without testing the rounds.
  const seen = { firstOrderCountsItsMove: 0, duplicateInBatch: 0, contactCreated: 0, severalEventsOfOneContact: 0, twoMovesOfOneContact: 0, onStageChangeFired: 0, oncePerHeldBack: 0, countConditionMet: 0 }

  it.effect.prop(
    "gives the same results, and stores the same, as emitting the events one by one, for any stream",
    [streamOf],
    ([stream]) =>
      Effect.gen(function* () {
        const run = (batched: boolean) =>
          Effect.gen(function* () {
            const named = yield* RULE_SETUP
            const crm = yield* Crm.Crm
            const inputs = inputsOf(stream, named)
            const results = batched ? yield* crm.events.emitMany(inputs) : yield* Effect.forEach(inputs, (e) => crm.events.emit(e))
            const contacts = (yield* crm.contacts.list({ limit: 100 })).items
            const timelines = yield* Effect.forEach(contacts, (c) =>
              Effect.map(crm.timeline.list(c.id, { limit: 500 }), (page) => page.items.map((e) => [c.email, e.kind, e.summary, e.occurredAt.epochMillis]).sort())
            )
            return {
              results: results.map(shape),
              stored: yield* stored,
              contacts: contacts.map((c) => [c.email, c.stage, c.version]).sort(),
              timelines: timelines.flat().sort()
            }
          }).pipe(Effect.provide(TestCrm))
        const oneByOne = yield* run(false)
        const batched = yield* run(true)
        expect(batched).toEqual(oneByOne)
        const results = oneByOne.results
        if (results.some((r) => r.duplicate)) seen.duplicateInBatch++
        if (results.some((r) => r.contactCreated)) seen.contactCreated++
        const perContact = new Map<unknown, number>()
        for (const r of results.filter((r) => !r.duplicate)) perContact.set(r.contact?.[0], (perContact.get(r.contact?.[0]) ?? 0) + 1)
        if ([...perContact.values()].some((n) => n >= 3)) seen.severalEventsOfOneContact++
        const moves = new Map<unknown, number>()
        for (const r of results.filter((r) => r.stageChange !== null)) moves.set(r.contact?.[0], (moves.get(r.contact?.[0]) ?? 0) + 1)
        if ([...moves.values()].some((n) => n >= 2)) seen.twoMovesOfOneContact++
        if (oneByOne.stored.jobs.some(([ruleId]) => ruleId === "moved")) seen.onStageChangeFired++
        const carts = results.filter((r) => r.event[0] === "cart.abandoned" && !r.duplicate)
        if (carts.some((r) => !r.triggered.some(([ruleId]) => ruleId === "cart"))) seen.oncePerHeldBack++
        if (results.some((r) => r.triggered.some(([ruleId]) => ruleId === "browsing"))) seen.countConditionMet++
        const firstMove = results.find((r) => r.stageChange !== null && r.event[0] === "order.placed" && r.stageChange[0] === "suspect")
        if (firstMove !== undefined && firstMove.triggered.some(([ruleId]) => ruleId === "promoted")) seen.firstOrderCountsItsMove++
      }),
    // Random streams reach a cart held back by `oncePer` in most runs, not all: this one always does.
    { fastCheck: { numRuns: 40, examples: [[heldBackCart], [viewedTwice]] }, timeout: 120_000 }
  )

  it("the property above saw duplicates, creations, several events and moves of one contact, and rules held back and fired", () => {
    expect(Object.entries(seen).flatMap(([what, n]) => (n === 0 ? [what] : []))).toEqual([])
  })


  it.effect("gives the same results, and writes the same, as emitting the events one by one", () =>
    Effect.gen(function* () {
      const oneByOne = yield* Effect.gen(function* () {
        const ada = yield* setUp
        const crm = yield* Crm.Crm
        const results = yield* Effect.forEach(stream(ada.id), (e) => crm.events.emit(e))
        return { results: results.map(shape), stored: yield* stored }
      }).pipe(Effect.provide(TestCrm))
      const batched = yield* Effect.gen(function* () {
        const ada = yield* setUp
        const results = yield* (yield* Crm.Crm).events.emitMany(stream(ada.id))
        return { results: results.map(shape), stored: yield* stored }
      }).pipe(Effect.provide(TestCrm))
      expect(batched).toEqual(oneByOne)
      // The stream does what it is meant to: moves, a creation, a repeated id, a delayed rule held by oncePer.
      expect(oneByOne.results.map((r) => [r.duplicate, r.contactCreated, r.stageChange])).toEqual([
        [false, false, ["suspect", "customer"]],
        [false, false, null],
        [false, false, null],
        [false, false, ["customer", "loyal"]],
        [false, true, null],
        [false, false, ["suspect", "customer"]],
        [true, false, null],
        [false, false, null]
      ])
      expect(oneByOne.results.flatMap((r) => r.triggered.map(([ruleId]) => ruleId))).toEqual(["receipt", "cart", "cart", "receipt", "welcome", "receipt"])
    }))

  it.effect("is idempotent by id within a batch and across batches", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const ada = yield* setUp
      const batch = [
        { id: "p-1", type: "page.viewed", contactId: ada.id, payload: { url: "/a" } },
        { id: "p-1", type: "page.viewed", contactId: ada.id, payload: { url: "/b" } },
        { id: "p-2", type: "page.viewed", contactId: ada.id, payload: { url: "/c" } }
      ]
      expect((yield* crm.events.emitMany(batch)).map((r) => [r.event.id, r.duplicate, r.event.payload["url"]])).toEqual([
        ["p-1", false, "/a"],
        ["p-1", true, "/a"],
        ["p-2", false, "/c"]
      ])
      const again = yield* crm.events.emitMany([...batch, { id: "p-3", type: "page.viewed", contactId: ada.id, payload: { url: "/d" } }])
      expect(again.map((r) => r.duplicate)).toEqual([true, true, true, false])
      const entries = (yield* crm.timeline.list(ada.id, { limit: 100 })).items.filter((e) => e.eventId?.startsWith("p-"))
      expect(entries.map((e) => e.eventId).sort()).toEqual(["p-1", "p-2", "p-3"])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("refuses more than 1,000 events, and invalid items, naming them; stores nothing", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const ada = yield* setUp
      const many = Array.from({ length: 1001 }, (_, i) => ({ id: `x-${i}`, type: "page.viewed", contactId: ada.id, payload: { url: "/" } }))
      const tooMany = yield* failure(crm.events.emitMany(many))
      expect(tooMany).toBeInstanceOf(Errors.ValidationError)
      expect((tooMany as Errors.ValidationError).issues.map((i) => i.path)).toEqual([["events"]])
      const invalid = yield* failure(
        crm.events.emitMany([
          { id: "ok", type: "page.viewed", contactId: ada.id, payload: { url: "/" } },
          { id: "bad", type: "order.placed", contactId: ada.id, payload: { orderId: "o" } },
          { type: "page.viewed" }
        ])
      )
      expect((invalid as Errors.ValidationError).issues.map((i) => i.path[0])).toEqual([1, 2])
      expect((yield* crm.events.emitMany(many.slice(0, 1000))).length).toBe(1000)
      expect(Option.isSome(yield* Effect.option(crm.events.get("ok")))).toBe(false)
    }).pipe(Effect.provide(TestCrm)))

  it.effect("stores nothing when storage fails part-way through the batch", () =>
    Effect.gen(function* () {
      const base = yield* Storage.Storage
      let appends = 0
      const storage: Storage.StorageService = {
        ...base,
        timeline: {
          ...base.timeline,
          appendMany: (entries) =>
            ++appends === 3 ? Effect.fail(new Errors.StorageError({ reason: "unavailable", message: "connection lost" })) : base.timeline.appendMany(entries)
        }
      }
      yield* Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        const error = yield* failure(
          crm.events.emitMany([
            { id: "a", type: "order.placed", contactId: ada.id, payload: { orderId: "o-a", lines: [line("A")] } },
            { id: "b", type: "page.viewed", email: "new@example.com", payload: { url: "/" } },
            { id: "c", type: "page.viewed", contactId: ada.id, payload: { url: "/" } }
          ])
        )
        expect(error).toMatchObject({ _tag: "StorageError" })
        for (const id of ["a", "b", "c"]) expect(Option.isNone(yield* Effect.option(crm.events.get(id)))).toBe(true)
        expect(Option.isNone(yield* crm.contacts.findByEmail("new@example.com"))).toBe(true)
        expect((yield* crm.contacts.get(ada.id)).stage).toBe("suspect")
      }).pipe(Effect.provide(Crm.layer.pipe(Layer.provideMerge(Layer.succeed(Storage.Storage, storage)))))
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))

  it("Promise client: events.emitMany returns each event's result as JSON", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      const results = await crm.events.emitMany([
        { id: "o-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("A")] } },
        { id: "o-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("A")] } }
      ])
      expect(results.map((r) => [r.event.id, r.duplicate, r.contact?.stage, typeof r.event.occurredAt])).toEqual([
        ["o-1", false, "customer", "string"],
        ["o-1", true, "customer", "string"]
      ])
    } finally {
      await crm.close()
    }
  })
})
