// The batch part of the storage contract: the reads and writes an emit or a batch of emits sends
// once for many records (history questions answered together, contacts and events read by ids,
// orders stored together, several locks at once). Each answer must be what the one-record
// methods say. Registered by `storageSuite`; not a public entry point of its own.
import { Contact, type Crm, Ids, LifecycleDefinition, Storage } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const day = (d: string) => at(`2025-05-${d}T12:00:00.000Z`)
const iso = (answer: Storage.HistoryAnswer) => answer.times.map((t) => DateTime.formatIso(t))

export const historySuite = (test: Test) => {
  const store = Storage.Storage

  describe("history questions and batch reads", () => {
    test("history answers every kind of question as the one-question reads do, in the order asked", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.contact(ws)
        const b = yield* Fixtures.contact(ws)
        const none = yield* Fixtures.contact(ws)
        for (const [id, d] of [["o1", "01"], ["o2", "10"], ["o3", "20"]] as const) yield* s.orders.insert(Fixtures.order(ws, a.id, id, { placedAt: day(d) }))
        yield* s.orders.insert(Fixtures.order(ws, b.id, "o4", { placedAt: day("10") }))
        yield* s.events.insertMany([
          Fixtures.storedEvent(ws, a.id, "e1", { type: "quote.sent", occurredAt: day("01") }),
          Fixtures.storedEvent(ws, a.id, "e2", { type: "email.opened", occurredAt: day("10") }),
          Fixtures.storedEvent(ws, a.id, "e3", { type: "quote.sent", occurredAt: day("20") }),
          Fixtures.storedEvent(ws, b.id, "e4", { type: "quote.sent", occurredAt: day("10") })
        ])
        for (const d of ["05", "15"]) yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, a.id, { kind: "stageChange", occurredAt: day(d) }))
        yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, a.id, { kind: "note", occurredAt: day("25") }))
        const rule = Ids.RuleId.make("limited")
        yield* s.firings.insertMany([
          yield* Fixtures.firing(ws, { ruleId: rule, contactId: a.id, dedupeKey: "cart-1", firedAt: day("03") }),
          yield* Fixtures.firing(ws, { ruleId: rule, contactId: a.id, dedupeKey: "cart-2", firedAt: day("08") }),
          yield* Fixtures.firing(ws, { ruleId: Ids.RuleId.make("other"), contactId: a.id, dedupeKey: "cart-3", firedAt: day("09") })
        ])
        const questions: ReadonlyArray<Storage.HistoryQuestion> = [
          { ask: "orderCount", contactId: a.id },
          { ask: "orderCount", contactId: a.id, since: day("01"), until: day("20") },
          { ask: "orderTimes", contactId: a.id, until: day("10") },
          { ask: "orderTimes", contactId: b.id },
          { ask: "eventCount", contactId: a.id, types: ["quote.sent", "email.opened"] },
          { ask: "eventCount", contactId: a.id, types: ["quote.sent"], since: day("01") },
          { ask: "eventTimes", contactId: a.id, types: ["quote.sent"], until: day("20") },
          { ask: "eventTimes", contactId: none.id, types: ["quote.sent"] },
          { ask: "lastStageChange", contactId: a.id },
          { ask: "lastStageChange", contactId: b.id },
          { ask: "firingKey", contactId: a.id, ruleId: rule, key: "cart-2" },
          { ask: "firingKey", contactId: a.id, ruleId: rule, key: "cart-3" },
          { ask: "lastFiring", contactId: a.id, ruleId: rule },
          { ask: "lastFiring", contactId: b.id, ruleId: rule },
          { ask: "orderCount", contactId: none.id }
        ]
        const answers = yield* s.history(ws, questions)
        expect(answers.map((answer) => answer.count)).toEqual([3, 2, 2, 1, 3, 1, 2, 0, 1, 0, 1, 0, 1, 0, 0])
        expect(answers.map(iso)).toEqual([
          [],
          [],
          [DateTime.formatIso(day("01")), DateTime.formatIso(day("10"))],
          [DateTime.formatIso(day("10"))],
          [],
          [],
          [DateTime.formatIso(day("01")), DateTime.formatIso(day("20"))],
          [],
          [DateTime.formatIso(day("15"))],
          [],
          [],
          [],
          [DateTime.formatIso(day("08"))],
          [],
          []
        ])
        // The same as the one-question reads.
        expect(answers[1]!.count).toBe(yield* s.orders.count(ws, { contactId: a.id, since: day("01"), until: day("20") }))
        expect(iso(answers[2]!)).toEqual((yield* s.orders.times(ws, { contactId: a.id, until: day("10") })).map((t) => DateTime.formatIso(t)))
        expect(answers[5]!.count).toBe(yield* s.events.count(ws, { contactId: a.id, types: ["quote.sent"], since: day("01") }))
        expect(answers[10]!.count > 0).toBe(yield* s.firings.hasKey(ws, rule, a.id, "cart-2"))
        expect(yield* s.history(ws, [])).toEqual([])
      }))

    test("history answers questions about other workspaces' records with nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.contact(ws)
        yield* s.orders.insert(Fixtures.order(ws, a.id, "o1", { placedAt: day("01") }))
        const answers = yield* s.history(other, [
          { ask: "orderCount", contactId: a.id },
          { ask: "orderTimes", contactId: a.id }
        ])
        expect(answers.map((answer) => [answer.count, answer.times.length])).toEqual([
          [0, 0],
          [0, 0]
        ])
      }))

    // What a rule's sinceTrigger count relies on: "from the trigger's instant on" is the window
    // after the millisecond before it, and "after the trigger" the window after its instant.
    test("event windows are exact to the millisecond: since the millisecond before an instant takes that instant's events, since the instant none, in count, times, list and history", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.contact(ws)
        const instant = day("10")
        const plus = (millis: number) => DateTime.add(instant, { millis })
        yield* s.events.insertMany([
          Fixtures.storedEvent(ws, a.id, "w1", { type: "quote.sent", occurredAt: plus(-1) }),
          Fixtures.storedEvent(ws, a.id, "w2", { type: "quote.sent", occurredAt: instant }),
          Fixtures.storedEvent(ws, a.id, "w3", { type: "email.opened", occurredAt: instant }),
          Fixtures.storedEvent(ws, a.id, "w4", { type: "quote.sent", occurredAt: plus(1) })
        ])
        const reads = (since: DateTime.Utc, until: DateTime.Utc) =>
          Effect.gen(function* () {
            const w = { contactId: a.id, types: ["quote.sent", "email.opened"], since, until }
            const [count, times] = yield* s.history(ws, [{ ask: "eventCount", ...w }, { ask: "eventTimes", ...w }])
            return {
              count: yield* s.events.count(ws, w),
              times: (yield* s.events.times(ws, w)).map((t) => DateTime.formatIso(t)),
              list: (yield* s.events.list(ws, { ...w, limit: 10 })).map((e) => e.id),
              history: [count!.count, ...iso(times!)]
            }
          })
        const [before, at, after] = [plus(-1), instant, plus(1)].map((t) => DateTime.formatIso(t))
        expect(yield* reads(plus(-1), plus(1))).toEqual({ count: 3, times: [at, at, after], list: ["w4", "w3", "w2"], history: [3, at, at, after] })
        expect(yield* reads(instant, plus(1))).toEqual({ count: 1, times: [after], list: ["w4"], history: [1, after] })
        expect(yield* reads(plus(-2), instant)).toEqual({ count: 3, times: [before, at, at], list: ["w3", "w2", "w1"], history: [3, before, at, at] })
        expect(yield* reads(plus(-2), plus(-1))).toEqual({ count: 1, times: [before], list: ["w1"], history: [1, before] })
      }))

    test("history answers more questions than one statement takes", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.contact(ws)
        yield* s.orders.insert(Fixtures.order(ws, a.id, "o1", { placedAt: day("01") }))
        const answers = yield* s.history(ws, Array.from({ length: 2_500 }, (_, i) => ({ ask: i % 2 === 0 ? "orderCount" : "orderTimes", contactId: a.id }) as const))
        expect(answers.length).toBe(2_500)
        expect(answers.every((answer) => answer.count === 1)).toBe(true)
      }))

    test("contacts.getMany and events.getMany read the stored ones among the ids, of this workspace only", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.contact(ws, { email: Fixtures.email("getmany-a@example.com") })
        const b = yield* Fixtures.contact(ws)
        const elsewhere = yield* Fixtures.contact(Fixtures.freshWorkspaceId())
        yield* s.contacts.insertMany([a, b])
        yield* s.contacts.insertMany([elsewhere])
        const contacts = yield* s.contacts.getMany(ws, [a.id, b.id, a.id, elsewhere.id, Ids.ContactId.make("0192d6a0-0000-7000-8000-00000000dead")])
        expect(contacts.map((c) => c.id).sort()).toEqual([a.id, b.id].sort())
        expect(contacts.find((c) => c.id === a.id)?.emails).toEqual(a.emails)
        yield* s.events.insertMany([Fixtures.storedEvent(ws, a.id, "g1", { payload: { url: "/one" } }), Fixtures.storedEvent(ws, b.id, "g2")])
        const events = yield* s.events.getMany(ws, [Ids.EventId.make("g1"), Ids.EventId.make("g3"), Ids.EventId.make("g1")])
        expect(events.map((e) => [e.id, e.contactId, e.payload])).toEqual([["g1", a.id, { url: "/one" }]])
        expect(yield* s.contacts.getMany(ws, [])).toEqual([])
      }))

    test("orders.insertMany stores new orders with their lines and leaves stored ones as they were", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const c = yield* Fixtures.contact(ws)
        yield* s.orders.insert(Fixtures.order(ws, c.id, "old", { totalMinor: 1 }))
        const fresh = Fixtures.order(ws, c.id, "new-1", { placedAt: day("02") })
        const stored = yield* s.orders.insertMany([fresh, Fixtures.order(ws, c.id, "old", { totalMinor: 2 }), Fixtures.order(ws, c.id, "new-2", { placedAt: day("03") })])
        expect(stored).toEqual(["old"])
        const orders = yield* s.orders.forContact(ws, c.id, { limit: 10 })
        expect(orders.map((o) => [o.id, o.totalMinor, o.lines.length])).toEqual([
          ["new-1", fresh.totalMinor, 2],
          ["new-2", fresh.totalMinor, 2],
          ["old", 1, 2]
        ])
        expect(orders[0]!.lines).toEqual(fresh.lines)
        expect(yield* s.orders.insertMany([])).toEqual([])
      }))

    test("contacts.update with `only` writes the stage, version and time, keeps the emails, and refuses a stale version", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const c = yield* Fixtures.contact(ws, { email: Fixtures.email("only@example.com"), fields: { tier: "gold" } })
        yield* s.contacts.insertMany([c])
        const later = at("2025-06-01T09:00:00.000Z")
        const moved = new Contact.Contact({ ...c, stage: LifecycleDefinition.StageKey.make("customer"), version: 2, updatedAt: later }, true)
        yield* s.contacts.update(moved, 1, { only: ["stage"] })
        const stored = Option.getOrThrow(yield* s.contacts.get(ws, c.id))
        expect([stored.stage, stored.version, DateTime.formatIso(stored.updatedAt), stored.fields, stored.emails]).toEqual([
          "customer",
          2,
          DateTime.formatIso(later),
          { tier: "gold" },
          c.emails
        ])
        const stale = yield* Effect.flip(s.contacts.update(new Contact.Contact({ ...moved, stage: LifecycleDefinition.StageKey.make("loyal"), version: 3 }, true), 1, { only: ["stage"] }))
        expect(stale).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect(Option.getOrThrow(yield* s.contacts.get(ws, c.id)).stage).toBe("customer")
      }))

    test("contacts.updateMany writes each contact's stage over its expected version; a stale one is a Conflict naming it", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const made = [yield* Fixtures.contact(ws, { tags: ["vip"] }), yield* Fixtures.contact(ws), yield* Fixtures.contact(ws, { score: 7 })]
        yield* s.contacts.insertMany(made)
        const later = at("2025-06-01T09:00:00.000Z")
        const stage = (key: string) => LifecycleDefinition.StageKey.make(key)
        const next = (c: Contact.Contact, key: string) => new Contact.Contact({ ...c, stage: stage(key), version: c.version + 1, updatedAt: later }, true)
        yield* s.contacts.updateMany(made.map((c, i) => ({ contact: next(c, ["customer", "loyal", "fan"][i]!), expectedVersion: 1 })), { only: ["stage"] })
        const read = yield* s.contacts.getMany(ws, made.map((c) => c.id))
        const byId = new Map(read.map((c) => [c.id, c]))
        expect(made.map((c) => { const r = byId.get(c.id)!; return [r.stage, r.version, DateTime.formatIso(r.updatedAt), r.tags, r.score] })).toEqual([
          ["customer", 2, DateTime.formatIso(later), ["vip"], 0],
          ["loyal", 2, DateTime.formatIso(later), [], 0],
          ["fan", 2, DateTime.formatIso(later), [], 7]
        ])
        // The second contact is now at version 2, not 1: nothing of the batch is kept.
        const again = [next(byId.get(made[0]!.id)!, "addict"), next(next(made[1]!, "loyal"), "addict")]
        const conflict = yield* Effect.flip(
          s.transaction(s.contacts.updateMany([{ contact: again[0]!, expectedVersion: 2 }, { contact: again[1]!, expectedVersion: 1 }], { only: ["stage"] }))
        )
        expect(conflict).toMatchObject({ _tag: "Conflict", reason: "version", id: made[1]!.id })
        expect((yield* s.contacts.getMany(ws, made.map((c) => c.id))).map((c) => c.stage).sort()).toEqual(["customer", "fan", "loyal"])
      }))

    test("lockMany takes several locks in one transaction, twice over, and releases them at its end", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const keys = ["contact:b", "contact:a", "contact:b"]
        yield* s.transaction(Effect.zipRight(s.lockMany(ws, keys, "exclusive"), s.lockMany(ws, keys, "exclusive")))
        yield* s.transaction(Effect.zipRight(s.lockMany(ws, keys, "shared"), s.lockMany(ws, [], "exclusive")))
        // Released: another transaction takes them alone.
        const taken = yield* s.transaction(Effect.as(s.lockMany(ws, keys, "exclusive"), "taken"))
        expect(taken).toBe("taken")
      }))
  })
}
