// The rule engine's part of the storage contract: rules, the outbox (jobs), firings, consent
// records, counters, and the event and order reads that rules, exports and erasure use; then the
// same behaviour through the services. Registered by `storageSuite`; not a public entry point of
// its own. Every claim and nextDue names the test's own workspace: the outbox is the one place
// where storage looks across workspaces, and one database serves every test and every run.
import { Consent, Crm, CrmEvent, Ids, Job, LifecycleDefinition, Mailer, Rule, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const iso = (t: DateTime.Utc | null) => (t === null ? null : DateTime.formatIso(t))
/** A record as JSON (instants as ISO strings), so stored and expected records compare exactly. */
const encode = <A, I>(schema: Schema.Schema<A, I>) => {
  const run = Schema.encodeSync(schema)
  return (a: A): I => run(a)
}
const json = {
  rule: encode(Rule.Rule),
  job: encode(Job.Job),
  firing: encode(Job.Firing),
  consent: encode(Consent.ConsentRecord),
  event: encode(CrmEvent.StoredEvent)
}
const ruleId = Ids.RuleId.make
const contactId = (n: number) => Ids.ContactId.make(`018f0000-0000-7000-8000-${String(n).padStart(12, "0")}`)
const templateId = Ids.TemplateId.make("018f0000-0000-7000-8000-00000000abcd")
const byVariant = <A extends { readonly variant: string | null }>(rows: ReadonlyArray<A>) =>
  [...rows].sort((a, b) => String(a.variant).localeCompare(String(b.variant)))
const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id)
const sortedIds = (rows: ReadonlyArray<{ readonly id: string }>) => ids(rows).sort()

/** A claim in the test's own workspace only, at `now`, holding the jobs for `leaseMinutes`. */
const claimIn = (s: Storage.StorageService, ws: Ids.WorkspaceId, now: string, token: string, limit = 10, leaseMinutes = 1) =>
  s.jobs.claim({ now: at(now), leaseUntil: DateTime.add(at(now), { minutes: leaseMinutes }), token, limit, workspaces: [ws] })

/** Sets the test clock to an instant. */
const setNow = (instant: string) => TestClock.setTime(DateTime.toEpochMillis(at(instant)))

export const rulesSuite = (test: Test) => {
  const store = Storage.Storage

  describe("rules", () => {
    test("insert, get, list in id order, update with the expected version, remove", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const b = yield* Fixtures.rule(ws, { id: ruleId("b-rule"), name: "B" })
        const a = yield* Fixtures.rule(ws, { id: ruleId("a-rule"), name: "A" })
        const c = yield* Fixtures.rule(ws, { id: ruleId("c-rule"), name: "C" })
        for (const r of [b, c, a]) yield* s.rules.insert(r)
        expect(ids(yield* s.rules.list(ws))).toEqual(["a-rule", "b-rule", "c-rule"])
        expect(Option.map(yield* s.rules.get(ws, b.id), json.rule)).toEqual(Option.some(json.rule(b)))
        expect(Option.isNone(yield* s.rules.get(ws, ruleId("unknown")))).toBe(true)
        expect(Option.isNone(yield* s.rules.get(Fixtures.freshWorkspaceId(), b.id))).toBe(true)
        expect(yield* s.rules.list(Fixtures.freshWorkspaceId())).toEqual([])

        const renamed = new Rule.Rule({ ...b, name: "B renamed", enabled: false, version: 2, updatedAt: at("2025-02-01T00:00:00.000Z") })
        yield* s.rules.update(renamed, 1)
        expect(Option.map(yield* s.rules.get(ws, b.id), json.rule)).toEqual(Option.some(json.rule(renamed)))

        expect(yield* s.rules.remove(ws, a.id)).toBe(true)
        expect(yield* s.rules.remove(ws, a.id)).toBe(false)
        expect(Option.isNone(yield* s.rules.get(ws, a.id))).toBe(true)
        expect(ids(yield* s.rules.list(ws))).toEqual(["b-rule", "c-rule"])
      }))

    test("update with a stale version fails with Conflict version and changes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const r = yield* Fixtures.rule(ws)
        yield* s.rules.insert(r)
        const v2 = new Rule.Rule({ ...r, name: "Second", version: 2 })
        yield* s.rules.update(v2, 1)
        const stale = yield* failure(s.rules.update(new Rule.Rule({ ...r, name: "Lost", version: 2 }), 1))
        expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", entity: "rule", expectedVersion: 1 })
        expect(Option.map(yield* s.rules.get(ws, r.id), json.rule)).toEqual(Option.some(json.rule(v2)))
        const missing = yield* failure(s.rules.update(yield* Fixtures.rule(ws, { version: 2 }), 1))
        expect(missing).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect((yield* s.rules.list(ws)).length).toBe(1)
      }))

    test("a taken id fails with Conflict unique on the id and keeps the first rule; the same id in another workspace is fine", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const first = yield* Fixtures.rule(ws, { id: ruleId("abandoned-cart"), name: "First" })
        yield* s.rules.insert(first)
        const error = yield* failure(s.rules.insert(new Rule.Rule({ ...first, name: "Second" })))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "id" })
        expect(Option.getOrThrow(yield* s.rules.get(ws, first.id)).name).toBe("First")
        const other = Fixtures.freshWorkspaceId()
        yield* s.rules.insert(new Rule.Rule({ ...first, workspaceId: other, name: "Elsewhere" }))
        expect(Option.getOrThrow(yield* s.rules.get(other, first.id)).name).toBe("Elsewhere")
        expect(Option.getOrThrow(yield* s.rules.get(ws, first.id)).name).toBe("First")
      }))

    test("rules round-trip every attribute exactly: conditions, delays as a string and an object, every action, variants, goal, limits", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const when = {
          all: [
            { path: "contact.fields.favouriteColour", op: "in" as const, value: ["red", "rouge « vif »", null, 3, true] },
            { count: { event: ["page.viewed", "product.viewed"], within: "30 days", where: { path: "event.payload.colour", op: "eq" as const, value: "red" } }, op: "gte" as const, value: 3 },
            { not: { path: "contact.tags", op: "contains" as const, value: "vip" } },
            { any: [{ path: "contact.firstSeenAt", olderThan: "7 days" }, { path: "event.payload.total", op: "gt" as const, value: 99.5 }] }
          ]
        }
        const unless = { count: { event: "order.placed", sinceTrigger: true }, op: "gte" as const, value: 1 }
        const actions: ReadonlyArray<Rule.Action> = [
          { type: "sendEmail", template: templateId, transactional: true, purpose: "newsletter" },
          { type: "setStage", stage: LifecycleDefinition.StageKey.make("customer") },
          { type: "addTag", tag: "été 🍷" },
          { type: "removeTag", tag: "cold" },
          { type: "setField", key: "plan", value: { tier: "gold", seats: [1, 2.5, null], "odd key": "\"quoted\"\n" } },
          { type: "setField", key: "note", value: null },
          { type: "createTask", title: "Call {{ contact.firstName }}", due: { after: "1 day", at: "10:00" }, channel: "call", ownerId: "sales:lea", note: "Zoë's quote" },
          { type: "adjustScore", by: -15 },
          { type: "assignOwner", byCondition: [{ when: { path: "contact.source.channel", op: "eq", value: "trade-show" }, owner: "ada" }], otherwise: "grace", overwrite: true },
          { type: "assignOwner", roundRobin: ["ada", "grace"] },
          { type: "custom", name: "notifySlack", params: { channel: "#sales", mentions: ["@ada"], urgent: false, nested: { n: 0.1 } } }
        ]
        const full = yield* Fixtures.rule(ws, {
          id: ruleId("full.rule:1"),
          name: "Every attribute « été »",
          on: "cart.abandoned",
          when,
          unless,
          delay: "1 day",
          actions,
          variants: [
            { key: "A", weight: 3, actions: [{ type: "addTag", tag: "a" }] },
            { key: "control", actions: [] }
          ],
          goal: { event: "order.placed", within: "7 days" },
          limits: { oncePerContact: false, cooldown: "2 days", oncePer: "event.payload.cartId" },
          enabled: false,
          version: 7,
          createdAt: at("2024-02-29T23:59:59.999Z"),
          updatedAt: at("2025-03-30T01:30:00.001Z")
        })
        const objectDelay = yield* Fixtures.rule(ws, { id: ruleId("object-delay"), delay: { after: "2 hours", at: "09:30" }, limits: { oncePerContact: true } })
        const nextMorning = yield* Fixtures.rule(ws, { id: ruleId("next-morning"), delay: "next 10:00" })
        const bare = yield* Fixtures.rule(ws, { id: ruleId("bare") })
        for (const r of [full, objectDelay, nextMorning, bare]) yield* s.rules.insert(r)
        for (const r of [full, objectDelay, nextMorning, bare]) {
          expect(Option.map(yield* s.rules.get(ws, r.id), json.rule)).toEqual(Option.some(json.rule(r)))
        }
        expect((yield* s.rules.list(ws)).map(json.rule)).toEqual([bare, full, nextMorning, objectDelay].map(json.rule))
        const stored = Option.getOrThrow(yield* s.rules.get(ws, objectDelay.id))
        expect([stored.delay, stored.when, stored.variants, stored.goal]).toEqual([{ after: "2 hours", at: "09:30" }, null, null, null])
      }))
  })

  describe("jobs", () => {
    test("insertMany skips a job whose idempotency key the workspace already has; the same key in another workspace is stored", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const first = yield* Fixtures.job(ws, { idempotencyKey: "ws/rule/event/0", action: { type: "addTag", tag: "first" } })
        yield* s.jobs.insertMany([first])
        const again = yield* Fixtures.job(ws, { idempotencyKey: "ws/rule/event/0", action: { type: "addTag", tag: "again" } })
        const fresh = yield* Fixtures.job(ws, { idempotencyKey: "ws/rule/event/1" })
        yield* s.jobs.insertMany([again, fresh])
        expect(Option.isNone(yield* s.jobs.get(ws, again.id))).toBe(true)
        expect(Option.map(yield* s.jobs.get(ws, first.id), json.job)).toEqual(Option.some(json.job(first)))
        expect(Option.isSome(yield* s.jobs.get(ws, fresh.id))).toBe(true)
        expect(sortedIds(yield* s.jobs.list(ws, { limit: 10 }))).toEqual([first.id, fresh.id].sort())

        // Twice in one batch: one of them is stored.
        const twice = yield* Effect.forEach([1, 2], () => Fixtures.job(ws, { idempotencyKey: "ws/rule/event/2" }))
        yield* s.jobs.insertMany(twice)
        expect((yield* s.jobs.list(ws, { limit: 10 })).filter((j) => j.idempotencyKey === "ws/rule/event/2").length).toBe(1)

        const other = Fixtures.freshWorkspaceId()
        const elsewhere = yield* Fixtures.job(other, { idempotencyKey: "ws/rule/event/0" })
        yield* s.jobs.insertMany([elsewhere])
        expect(Option.isSome(yield* s.jobs.get(other, elsewhere.id))).toBe(true)
        expect(Option.isNone(yield* s.jobs.get(ws, elsewhere.id))).toBe(true)
        yield* s.jobs.insertMany([])
        expect((yield* s.jobs.list(ws, { limit: 10 })).length).toBe(3)
      }))

    test("claim takes only due pending jobs of the given workspaces, soonest due first, at most limit, running under the lease and token with one more attempt", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const due = (iso: string, overrides: Partial<Job.Job> = {}) => Fixtures.job(ws, { dueAt: at(iso), ...overrides })
        const second = yield* due("2025-06-01T08:00:00.000Z", { attempts: 2 })
        const first = yield* due("2025-06-01T07:00:00.000Z")
        const third = yield* due("2025-06-01T09:00:00.000Z")
        const later = yield* due("2025-06-01T09:00:00.001Z")
        const finished = yield* Effect.all(
          (["done", "skipped", "dead"] as const).map((status) => due("2025-06-01T06:00:00.000Z", { status, completedAt: at("2025-06-01T06:00:01.000Z") }))
        )
        yield* s.jobs.insertMany([second, first, third, later, ...finished])
        const other = Fixtures.freshWorkspaceId()
        const elsewhere = yield* Fixtures.job(other, { dueAt: at("2025-06-01T05:00:00.000Z") })
        yield* s.jobs.insertMany([elsewhere])

        const now = "2025-06-01T09:00:00.000Z"
        const claimed = yield* claimIn(s, ws, now, "token-1", 2, 5)
        expect(ids(claimed)).toEqual([first.id, second.id])
        expect(claimed.map((j) => [j.status, j.claimToken, iso(j.leaseUntil), j.attempts])).toEqual([
          ["running", "token-1", "2025-06-01T09:05:00.000Z", 1],
          ["running", "token-1", "2025-06-01T09:05:00.000Z", 3]
        ])
        const stored = Option.getOrThrow(yield* s.jobs.get(ws, second.id))
        expect([stored.status, stored.claimToken, iso(stored.leaseUntil), stored.attempts]).toEqual(["running", "token-1", "2025-06-01T09:05:00.000Z", 3])
        expect([stored.action, stored.idempotencyKey, iso(stored.dueAt)]).toEqual([second.action, second.idempotencyKey, iso(second.dueAt)])

        // A job due exactly now is due; one due a millisecond later is not; finished jobs never are.
        expect(ids(yield* claimIn(s, ws, now, "token-2"))).toEqual([third.id])
        expect(yield* claimIn(s, ws, now, "token-3")).toEqual([])
        for (const j of finished) expect(Option.getOrThrow(yield* s.jobs.get(ws, j.id)).status).toBe(j.status)
        expect(Option.getOrThrow(yield* s.jobs.get(ws, later.id)).status).toBe("pending")
        expect(Option.getOrThrow(yield* s.jobs.get(other, elsewhere.id))).toMatchObject({ status: "pending", attempts: 0, claimToken: null })
        expect(yield* s.jobs.claim({ now: at(now), leaseUntil: at("2025-06-01T09:01:00.000Z"), token: "token-4", limit: 10, workspaces: [] })).toEqual([])
      }))

    test("claim over several workspaces takes the soonest due jobs across them (an ended lease included), at most limit, and leaves other workspaces alone", () =>
      Effect.gen(function* () {
        const s = yield* store
        const [a, b, c] = [Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId()]
        const due = (ws: Ids.WorkspaceId, iso: string, overrides: Partial<Job.Job> = {}) => Fixtures.job(ws, { dueAt: at(iso), ...overrides })
        const a1 = yield* due(a, "2025-06-01T07:00:00.000Z")
        const a2 = yield* due(a, "2025-06-01T07:40:00.000Z")
        const a3 = yield* due(a, "2025-06-01T08:30:00.000Z")
        const aLater = yield* due(a, "2025-06-01T10:00:00.000Z")
        const b1 = yield* due(b, "2025-06-01T07:20:00.000Z")
        const bExpired = yield* due(b, "2025-06-01T06:50:00.000Z", { status: "running", attempts: 1, leaseUntil: at("2025-06-01T08:00:00.000Z"), claimToken: "old" })
        const bHeld = yield* due(b, "2025-06-01T06:00:00.000Z", { status: "running", attempts: 1, leaseUntil: at("2025-06-01T10:00:00.000Z"), claimToken: "held" })
        const b3 = yield* due(b, "2025-06-01T08:10:00.000Z")
        const c1 = yield* due(c, "2025-06-01T05:00:00.000Z")
        yield* s.jobs.insertMany([a3, b3, a1, bHeld, aLater, b1, a2, bExpired, c1])

        const now = at("2025-06-01T09:00:00.000Z")
        const claim = (token: string, limit: number) =>
          s.jobs.claim({ now, leaseUntil: at("2025-06-01T09:05:00.000Z"), token, limit, workspaces: [a, b] })
        const first = yield* claim("token-1", 4)
        expect(ids(first)).toEqual([bExpired.id, a1.id, b1.id, a2.id])
        expect(first.map((j) => [j.status, j.claimToken, j.attempts])).toEqual([
          ["running", "token-1", 2],
          ["running", "token-1", 1],
          ["running", "token-1", 1],
          ["running", "token-1", 1]
        ])
        expect(ids(yield* claim("token-2", 10))).toEqual([b3.id, a3.id])
        expect(yield* claim("token-3", 10)).toEqual([])
        expect(Option.getOrThrow(yield* s.jobs.get(b, bHeld.id))).toMatchObject({ status: "running", claimToken: "held", attempts: 1 })
        expect(Option.getOrThrow(yield* s.jobs.get(a, aLater.id))).toMatchObject({ status: "pending", attempts: 0 })
        expect(Option.getOrThrow(yield* s.jobs.get(c, c1.id))).toMatchObject({ status: "pending", attempts: 0, claimToken: null })
      }))

    test("a job whose lease ended is claimed again by another token; the first token's settle then returns false and writes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const j = yield* Fixtures.job(ws, { dueAt: at("2025-06-01T09:00:00.000Z") })
        yield* s.jobs.insertMany([j])
        const [mine] = yield* claimIn(s, ws, "2025-06-01T09:00:00.000Z", "first", 10, 1)
        expect(mine?.id).toBe(j.id)
        // While the lease holds, nobody else gets it.
        expect(yield* claimIn(s, ws, "2025-06-01T09:00:30.000Z", "second")).toEqual([])
        const [taken] = yield* claimIn(s, ws, "2025-06-01T09:02:00.000Z", "second", 10, 1)
        expect([taken?.id, taken?.claimToken, taken?.attempts, iso(taken?.leaseUntil ?? null)]).toEqual([j.id, "second", 2, "2025-06-01T09:03:00.000Z"])

        const late = new Job.Job({ ...mine!, status: "done", outcome: { by: "first" }, completedAt: at("2025-06-01T09:02:30.000Z"), leaseUntil: null, claimToken: null })
        expect(yield* s.jobs.settle(late, "first")).toBe(false)
        expect(Option.map(yield* s.jobs.get(ws, j.id), json.job)).toEqual(Option.some(json.job(taken!)))

        const ok = new Job.Job({ ...taken!, status: "done", outcome: { by: "second" }, completedAt: at("2025-06-01T09:02:40.000Z"), leaseUntil: null, claimToken: null })
        expect(yield* s.jobs.settle(ok, "second")).toBe(true)
        expect(Option.map(yield* s.jobs.get(ws, j.id), json.job)).toEqual(Option.some(json.job(ok)))
        // Settled: no longer running under any token.
        expect(yield* s.jobs.settle(new Job.Job({ ...ok, outcome: { by: "again" } }), "second")).toBe(false)
        expect(Option.getOrThrow(yield* s.jobs.get(ws, j.id)).outcome).toEqual({ by: "second" })
        expect(yield* claimIn(s, ws, "2025-06-02T00:00:00.000Z", "third")).toEqual([])
      }))

    test("settle under the claim's token writes the new state: kept running with a reservation, done with its outcome, or pending again until later", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const a = yield* Fixtures.job(ws, { dueAt: at("2025-06-01T08:00:00.000Z"), action: { type: "sendEmail", template: templateId } })
        const b = yield* Fixtures.job(ws, { dueAt: at("2025-06-01T08:30:00.000Z") })
        const never = yield* Fixtures.job(ws, { dueAt: at("2025-06-01T12:00:00.000Z") })
        yield* s.jobs.insertMany([a, b, never])
        const [ca, cb] = yield* claimIn(s, ws, "2025-06-01T09:00:00.000Z", "tok", 2)
        expect([ca?.id, cb?.id]).toEqual([a.id, b.id])

        // Still running under the token, recording the mail's category and reservation.
        const reserved = new Job.Job({ ...ca!, category: "marketing", reservedAt: at("2025-06-01T09:00:01.000Z") })
        expect(yield* s.jobs.settle(reserved, "tok")).toBe(true)
        expect(Option.getOrThrow(yield* s.jobs.get(ws, a.id))).toMatchObject({ status: "running", claimToken: "tok", category: "marketing" })
        const finished = new Job.Job({
          ...reserved,
          status: "done",
          outcome: { to: "ada@example.com", messageId: "<m-1@example.com>", nested: { list: [1, null, "z"], ok: true } },
          completedAt: at("2025-06-01T09:00:02.000Z"),
          updatedAt: at("2025-06-01T09:00:02.000Z"),
          leaseUntil: null,
          claimToken: null
        })
        // What the rule queued stays as stored, whatever the settled job says of it.
        const rewritten = new Job.Job({ ...finished, idempotencyKey: "another-key", variant: "B", action: { type: "addTag", tag: "rewritten" } })
        expect(yield* s.jobs.settle(rewritten, "tok")).toBe(true)
        expect(Option.map(yield* s.jobs.get(ws, a.id), json.job)).toEqual(Option.some(json.job(finished)))

        const retry = new Job.Job({ ...cb!, status: "pending", lastError: "SMTP 421 « try later »", dueAt: at("2025-06-01T09:10:00.000Z"), leaseUntil: null, claimToken: null })
        expect(yield* s.jobs.settle(retry, "tok")).toBe(true)
        expect(Option.map(yield* s.jobs.get(ws, b.id), json.job)).toEqual(Option.some(json.job(retry)))
        expect(yield* claimIn(s, ws, "2025-06-01T09:05:00.000Z", "tok-2")).toEqual([])
        const [retried] = yield* claimIn(s, ws, "2025-06-01T09:10:00.000Z", "tok-2")
        expect([retried?.id, retried?.attempts, retried?.lastError]).toEqual([b.id, 2, "SMTP 421 « try later »"])

        // A job nobody claimed is not running: settling it writes nothing.
        expect(yield* s.jobs.settle(new Job.Job({ ...never, status: "done" }), "tok")).toBe(false)
        expect(Option.map(yield* s.jobs.get(ws, never.id), json.job)).toEqual(Option.some(json.job(never)))
        expect(yield* s.jobs.settle(yield* Fixtures.job(ws, { status: "running", claimToken: "tok" }), "tok")).toBe(false)
      }))

    test("requeue puts a dead or skipped job back, pending and due at the instant with its attempts reset; other jobs are not requeued", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const finishedAt = at("2025-06-01T09:00:00.000Z")
        const dead = yield* Fixtures.job(ws, { status: "dead", attempts: 8, lastError: "rejected", completedAt: finishedAt })
        const skipped = yield* Fixtures.job(ws, { status: "skipped", attempts: 1, outcome: { reason: "no consent" }, completedAt: finishedAt })
        const done = yield* Fixtures.job(ws, { status: "done", attempts: 1, completedAt: finishedAt })
        const pending = yield* Fixtures.job(ws, { dueAt: at("2025-07-01T00:00:00.000Z") })
        const running = yield* Fixtures.job(ws, { status: "running", attempts: 1, leaseUntil: at("2025-06-03T00:00:00.000Z"), claimToken: "tok" })
        yield* s.jobs.insertMany([dead, skipped, done, pending, running])
        const when = at("2025-06-02T10:00:00.000Z")

        const requeued = yield* s.jobs.requeue(ws, dead.id, when)
        expect(Option.map(requeued, (j) => [j.id, j.status, j.attempts, iso(j.dueAt)])).toEqual(Option.some([dead.id, "pending", 0, "2025-06-02T10:00:00.000Z"]))
        expect(Option.map(yield* s.jobs.get(ws, dead.id), json.job)).toEqual(Option.map(requeued, json.job))
        expect(Option.map(yield* s.jobs.requeue(ws, skipped.id, when), (j) => [j.status, j.attempts])).toEqual(Option.some(["pending", 0]))

        for (const j of [done, pending, running]) {
          expect(Option.isNone(yield* s.jobs.requeue(ws, j.id, when))).toBe(true)
          expect(Option.map(yield* s.jobs.get(ws, j.id), json.job)).toEqual(Option.some(json.job(j)))
        }
        expect(Option.isNone(yield* s.jobs.requeue(ws, Ids.JobId.make("018f0000-0000-7000-8000-000000000000"), when))).toBe(true)
        expect(Option.isNone(yield* s.jobs.requeue(Fixtures.freshWorkspaceId(), skipped.id, when))).toBe(true)
        // Requeued twice: the second time it is pending, so nothing happens.
        expect(Option.isNone(yield* s.jobs.requeue(ws, dead.id, at("2030-01-01T00:00:00.000Z")))).toBe(true)

        expect(yield* claimIn(s, ws, "2025-06-02T09:59:59.999Z", "tok-2")).toEqual([])
        const claimed = yield* claimIn(s, ws, "2025-06-02T10:00:00.000Z", "tok-2")
        expect(sortedIds(claimed)).toEqual([dead.id, skipped.id].sort())
        expect(claimed.map((j) => j.attempts)).toEqual([1, 1])
      }))

    test("list filters by statuses, rule and contact, orders by due time then id, and pages after the last job", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const noon = at("2025-06-01T12:00:00.000Z")
        const jobs = [
          yield* Fixtures.job(ws, { dueAt: noon, contactId: ada, ruleId: ruleId("welcome") }),
          yield* Fixtures.job(ws, { dueAt: noon, contactId: bob, ruleId: ruleId("welcome"), status: "done" }),
          yield* Fixtures.job(ws, { dueAt: noon, contactId: ada, ruleId: ruleId("cart"), status: "dead" }),
          yield* Fixtures.job(ws, { dueAt: at("2025-06-01T08:00:00.000Z"), contactId: bob, ruleId: ruleId("cart"), status: "skipped" }),
          yield* Fixtures.job(ws, { dueAt: at("2025-06-02T08:00:00.000Z"), contactId: ada, ruleId: ruleId("welcome") })
        ]
        yield* s.jobs.insertMany([...jobs].reverse())
        yield* s.jobs.insertMany([yield* Fixtures.job(Fixtures.freshWorkspaceId(), { contactId: ada, ruleId: ruleId("welcome") })])
        const expected = [...jobs].sort((x, y) => DateTime.toEpochMillis(x.dueAt) - DateTime.toEpochMillis(y.dueAt) || (x.id < y.id ? -1 : 1))
        const list = (query: Omit<Storage.JobQuery, "limit"> & { readonly limit?: number }) => Effect.map(s.jobs.list(ws, { limit: 100, ...query }), ids)

        expect(yield* list({})).toEqual(ids(expected))
        expect((yield* s.jobs.list(ws, { limit: 100 })).map(json.job)).toEqual(expected.map(json.job))
        expect(yield* list({ statuses: ["pending"] })).toEqual(ids(expected.filter((j) => j.status === "pending")))
        expect(yield* list({ statuses: ["dead", "skipped"] })).toEqual(ids(expected.filter((j) => j.status === "dead" || j.status === "skipped")))
        expect(yield* list({ statuses: [] })).toEqual([])
        expect(yield* list({ ruleId: ruleId("cart") })).toEqual(ids(expected.filter((j) => j.ruleId === "cart")))
        expect(yield* list({ contactId: ada })).toEqual(ids(expected.filter((j) => j.contactId === ada)))
        expect(yield* list({ contactId: ada, ruleId: ruleId("welcome"), statuses: ["pending"] })).toEqual(
          ids(expected.filter((j) => j.contactId === ada && j.ruleId === "welcome"))
        )
        expect(yield* list({ limit: 2 })).toEqual(ids(expected.slice(0, 2)))
        const pages: Array<string> = []
        let after: Storage.JobQuery["after"]
        // Bounded, so a store that ignores `after` fails the test instead of looping.
        for (let i = 0; i < 10; i++) {
          const page = yield* s.jobs.list(ws, { after, limit: 2 })
          pages.push(...ids(page))
          if (page.length < 2) break
          after = { dueAt: page[1]!.dueAt, id: page[1]!.id }
        }
        expect(pages).toEqual(ids(expected))
      }))

    test("nextDue is the earliest due time of a pending job or lease end of a running one in the given workspaces; none when none is pending or running", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const next = (...workspaces: ReadonlyArray<Ids.WorkspaceId>) => Effect.map(s.jobs.nextDue(workspaces), Option.map(iso))
        expect(yield* next(ws)).toEqual(Option.none())
        yield* s.jobs.insertMany([
          yield* Fixtures.job(ws, { status: "done", dueAt: at("2025-01-01T00:00:00.000Z"), completedAt: at("2025-01-01T00:00:00.000Z") }),
          yield* Fixtures.job(ws, { status: "dead", dueAt: at("2025-01-01T00:00:00.000Z") }),
          yield* Fixtures.job(ws, { status: "skipped", dueAt: at("2025-01-01T00:00:00.000Z") })
        ])
        expect(yield* next(ws)).toEqual(Option.none())
        const early = yield* Fixtures.job(ws, { dueAt: at("2025-06-01T08:00:00.000Z") })
        yield* s.jobs.insertMany([yield* Fixtures.job(ws, { dueAt: at("2025-06-01T10:00:00.000Z") }), early])
        expect(yield* next(ws)).toEqual(Option.some("2025-06-01T08:00:00.000Z"))
        const [claimed] = yield* s.jobs.claim({ now: at("2025-06-01T08:00:00.000Z"), leaseUntil: at("2025-06-01T09:00:00.000Z"), token: "tok", limit: 1, workspaces: [ws] })
        expect(yield* next(ws)).toEqual(Option.some("2025-06-01T09:00:00.000Z"))
        expect(yield* s.jobs.settle(new Job.Job({ ...claimed!, status: "done", leaseUntil: null, claimToken: null, completedAt: at("2025-06-01T08:00:01.000Z") }), "tok")).toBe(true)
        expect(yield* next(ws)).toEqual(Option.some("2025-06-01T10:00:00.000Z"))

        const other = Fixtures.freshWorkspaceId()
        yield* s.jobs.insertMany([yield* Fixtures.job(other, { dueAt: at("2025-06-01T07:00:00.000Z") })])
        expect(yield* next(ws, other)).toEqual(Option.some("2025-06-01T07:00:00.000Z"))
        expect(yield* next(ws)).toEqual(Option.some("2025-06-01T10:00:00.000Z"))
        expect(yield* next(Fixtures.freshWorkspaceId())).toEqual(Option.none())
      }))

    test("reservedSince counts the contact's jobs of the given categories reserved after the instant, whatever their status", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const mail = (contact: Ids.ContactId, category: "marketing" | "transactional" | null, reservedAt: string | null, status: Job.Job["status"] = "done") =>
          Fixtures.job(ws, { contactId: contact, category, reservedAt: reservedAt === null ? null : at(reservedAt), status, action: { type: "sendEmail", template: templateId } })
        yield* s.jobs.insertMany([
          yield* mail(ada, "marketing", "2025-06-01T09:00:00.000Z"),
          yield* mail(ada, "marketing", "2025-06-03T09:00:00.000Z", "running"),
          yield* mail(ada, "marketing", "2025-06-05T09:00:00.000Z", "dead"),
          yield* mail(ada, "transactional", "2025-06-05T09:00:00.000Z"),
          yield* mail(ada, "marketing", null, "pending"),
          yield* mail(ada, null, null, "pending"),
          yield* mail(bob, "marketing", "2025-06-05T09:00:00.000Z")
        ])
        const since = (contact: Ids.ContactId, instant: string, categories: ReadonlyArray<"marketing" | "transactional"> = ["marketing"]) =>
          s.jobs.reservedSince(ws, { contactId: contact, categories, since: at(instant) })
        expect(yield* since(ada, "2025-05-01T00:00:00.000Z")).toBe(3)
        expect(yield* since(ada, "2025-06-02T00:00:00.000Z")).toBe(2)
        expect(yield* since(ada, "2025-06-04T00:00:00.000Z")).toBe(1)
        expect(yield* since(ada, "2025-06-06T00:00:00.000Z")).toBe(0)
        expect(yield* since(bob, "2025-05-01T00:00:00.000Z")).toBe(1)
        expect(yield* since(ada, "2025-05-01T00:00:00.000Z", ["transactional"])).toBe(1)
        expect(yield* since(ada, "2025-05-01T00:00:00.000Z", ["marketing", "transactional"])).toBe(4)
        expect(yield* since(ada, "2025-05-01T00:00:00.000Z", [])).toBe(0)
        expect(yield* s.jobs.reservedSince(Fixtures.freshWorkspaceId(), { contactId: ada, categories: ["marketing"], since: at("2025-05-01T00:00:00.000Z") })).toBe(0)
      }))

    test("placesSince counts the contact's places under one purpose after the instant, across action types, and names the one that frees the window", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const place = (contact: Ids.ContactId, purpose: string | null, reservedAt: string | null, action: Job.Job["action"], status: Job.Job["status"] = "done") =>
          Fixtures.job(ws, { contactId: contact, purpose, reservedAt: reservedAt === null ? null : at(reservedAt), status, action })
        const mail = { type: "sendEmail" as const, template: templateId }
        const call = { type: "createTask" as const, title: "Call", channel: "call" as const, purpose: "marketing" }
        yield* s.jobs.insertMany([
          yield* place(ada, "marketing", "2025-06-01T09:00:00.000Z", mail),
          yield* place(ada, "marketing", "2025-06-03T09:00:00.000Z", call),
          yield* place(ada, "marketing", "2025-06-05T09:00:00.000Z", mail, "running"),
          yield* place(ada, "newsletter", "2025-06-05T10:00:00.000Z", mail),
          yield* place(ada, "marketing", null, call, "pending"),
          yield* place(ada, null, "2025-06-05T11:00:00.000Z", mail),
          yield* place(bob, "marketing", "2025-06-05T09:00:00.000Z", mail)
        ])
        const places = (contact: Ids.ContactId, instant: string, max: number, purpose = "marketing") =>
          Effect.map(s.jobs.placesSince(ws, { contactId: contact, purpose, since: at(instant), max }), (r) => ({
            count: r.count,
            releasedBy: Option.map(r.releasedBy, DateTime.formatIso)
          }))
        // Below max: no release instant.
        expect(yield* places(ada, "2025-05-01T00:00:00.000Z", 4)).toEqual({ count: 3, releasedBy: Option.none() })
        // At max, the oldest place frees the window; one over, the second oldest.
        expect(yield* places(ada, "2025-05-01T00:00:00.000Z", 3)).toEqual({ count: 3, releasedBy: Option.some("2025-06-01T09:00:00.000Z") })
        expect(yield* places(ada, "2025-05-01T00:00:00.000Z", 2)).toEqual({ count: 3, releasedBy: Option.some("2025-06-03T09:00:00.000Z") })
        expect(yield* places(ada, "2025-05-01T00:00:00.000Z", 1)).toEqual({ count: 3, releasedBy: Option.some("2025-06-05T09:00:00.000Z") })
        // The window is strict: a place at the instant itself is out.
        expect(yield* places(ada, "2025-06-03T09:00:00.000Z", 1)).toEqual({ count: 1, releasedBy: Option.some("2025-06-05T09:00:00.000Z") })
        expect(yield* places(ada, "2025-06-06T00:00:00.000Z", 1)).toEqual({ count: 0, releasedBy: Option.none() })
        expect(yield* places(ada, "2025-05-01T00:00:00.000Z", 1, "newsletter")).toEqual({ count: 1, releasedBy: Option.some("2025-06-05T10:00:00.000Z") })
        expect(yield* places(bob, "2025-05-01T00:00:00.000Z", 5)).toEqual({ count: 1, releasedBy: Option.none() })
        // The purpose round-trips on the job.
        const stored = yield* s.jobs.list(ws, { contactId: ada, statuses: ["running"], limit: 10 })
        expect(stored.map((j) => j.purpose)).toEqual(["marketing"])
        const elsewhere = yield* s.jobs.placesSince(Fixtures.freshWorkspaceId(), { contactId: ada, purpose: "marketing", since: at("2025-05-01T00:00:00.000Z"), max: 1 })
        expect(elsewhere.count).toBe(0)
      }))

    test("countByVariant counts a rule's jobs of the given statuses and action types per variant", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const send = { type: "sendEmail" as const, template: templateId }
        const job = (rule: string, variant: string | null, status: Job.Job["status"], action: Rule.Action = send) =>
          Fixtures.job(ws, { ruleId: ruleId(rule), variant, status, action })
        yield* s.jobs.insertMany([
          yield* job("ab", "A", "done"),
          yield* job("ab", "A", "done"),
          yield* job("ab", "B", "done"),
          yield* job("ab", "A", "done", { type: "addTag", tag: "a" }),
          yield* job("ab", "A", "pending"),
          yield* job("ab", "B", "running"),
          yield* job("ab", "B", "dead"),
          yield* job("ab", "B", "skipped"),
          yield* job("plain", null, "done"),
          yield* job("plain", null, "done", { type: "adjustScore", by: 1 })
        ])
        const count = (rule: string, statuses: ReadonlyArray<Job.JobStatus> = ["done"], actionTypes: ReadonlyArray<string> = ["sendEmail"]) =>
          Effect.map(s.jobs.countByVariant(ws, { ruleId: ruleId(rule), statuses, actionTypes }), (rows) => byVariant(rows.filter((r) => r.count > 0)))
        expect(yield* count("ab")).toEqual([{ variant: "A", count: 2, opened: 0 }, { variant: "B", count: 1, opened: 0 }])
        expect(yield* count("plain")).toEqual([{ variant: null, count: 1, opened: 0 }])
        expect(yield* count("none")).toEqual([])
        expect(yield* count("ab", ["dead", "skipped"])).toEqual([{ variant: "B", count: 2, opened: 0 }])
        expect(yield* count("ab", ["done"], ["sendEmail", "addTag"])).toEqual([{ variant: "A", count: 3, opened: 0 }, { variant: "B", count: 1, opened: 0 }])
        expect(yield* count("ab", [], ["sendEmail"])).toEqual([])
        expect(yield* s.jobs.countByVariant(Fixtures.freshWorkspaceId(), { ruleId: ruleId("ab"), statuses: ["done"], actionTypes: ["sendEmail"] })).toEqual([])
      }))

    test("countByVariant counts each done mail opened once, by jobId or its messageId, only when its own contact opened it, in its own variant", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const send = { type: "sendEmail" as const, template: templateId }
        const [ada, bob, cyd, dan, eve] = Array.from({ length: 5 }, () => Ids.ContactId.make(randomUUID())) as [Ids.ContactId, Ids.ContactId, Ids.ContactId, Ids.ContactId, Ids.ContactId]
        const mail = (contactId: Ids.ContactId, variant: string, status: Job.Job["status"], messageId: string | null) =>
          Fixtures.job(ws, { ruleId: ruleId("ab"), variant, status, action: send, contactId, outcome: messageId === null ? { reason: "no consent" } : { to: "x@example.com", messageId } })
        const a1 = yield* mail(ada, "A", "done", `<a1-${ws}@mail.example>`) // opened twice, by its messageId
        const a2 = yield* mail(bob, "A", "done", `a2-${ws}`) // opened, named by its job id
        const a3 = yield* mail(cyd, "A", "done", `a3-${ws}`) // its messageId opened by another contact; an unknown message opened by its own
        const b1 = yield* mail(dan, "B", "done", `b1-${ws}`) // opened, in B
        const b2 = yield* mail(eve, "B", "skipped", null) // never sent: an open naming it counts for nobody
        yield* s.jobs.insertMany([a1, a2, a3, b1, b2])
        let n = 0
        const open = (workspaceId: Ids.WorkspaceId, contactId: Ids.ContactId, payload: Record<string, string>) =>
          s.events.insert(Fixtures.storedEvent(workspaceId, contactId, `open-${ws}-${n++}`, { type: "email.opened", payload }))
        yield* open(ws, ada, { messageId: a1.outcome!["messageId"] as string })
        yield* open(ws, ada, { messageId: a1.outcome!["messageId"] as string, provider: "brevo" })
        yield* open(ws, bob, { jobId: a2.id })
        yield* open(ws, dan, { messageId: `a3-${ws}` })
        yield* open(ws, cyd, { messageId: `unknown-${ws}` })
        yield* open(ws, cyd, { jobId: `unknown-${ws}` })
        yield* open(ws, dan, { jobId: b1.id })
        yield* open(ws, eve, { jobId: b2.id })
        // Another workspace's open of the same contact id and message changes nothing.
        yield* open(Fixtures.freshWorkspaceId(), cyd, { jobId: a3.id, messageId: `a3-${ws}` })
        // Another event type naming a mail is no open.
        yield* s.events.insert(Fixtures.storedEvent(ws, cyd, `click-${ws}`, { type: "email.clicked", payload: { jobId: a3.id } }))
        const count = (statuses: ReadonlyArray<Job.JobStatus>) =>
          Effect.map(s.jobs.countByVariant(ws, { ruleId: ruleId("ab"), statuses, actionTypes: ["sendEmail"] }), byVariant)
        expect(yield* count(["done"])).toEqual([{ variant: "A", count: 3, opened: 2 }, { variant: "B", count: 1, opened: 1 }])
        expect(yield* count(["done", "skipped"])).toEqual([{ variant: "A", count: 3, opened: 2 }, { variant: "B", count: 2, opened: 1 }])
        // cyd opens her own mail at last: A's opens go up by one.
        yield* open(ws, cyd, { messageId: `a3-${ws}` })
        expect(yield* count(["done"])).toEqual([{ variant: "A", count: 3, opened: 3 }, { variant: "B", count: 1, opened: 1 }])
      }))

    test("removeForContact removes only that contact's jobs in the workspace and returns how many", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const adas = yield* Effect.forEach(["pending", "done", "dead"] as const, (status) => Fixtures.job(ws, { contactId: ada, status }))
        const bobs = yield* Fixtures.job(ws, { contactId: bob })
        const elsewhere = yield* Fixtures.job(other, { contactId: ada })
        yield* s.jobs.insertMany([...adas, bobs])
        yield* s.jobs.insertMany([elsewhere])
        expect(yield* s.jobs.removeForContact(ws, ada)).toBe(3)
        expect(ids(yield* s.jobs.list(ws, { limit: 10 }))).toEqual([bobs.id])
        for (const j of adas) expect(Option.isNone(yield* s.jobs.get(ws, j.id))).toBe(true)
        expect(Option.isSome(yield* s.jobs.get(other, elsewhere.id))).toBe(true)
        expect(yield* s.jobs.removeForContact(ws, ada)).toBe(0)
      }))

    test("jobs round-trip every attribute exactly: each kind of action, the outcome JSON, instants and nulls", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const full = yield* Fixtures.job(ws, {
          idempotencyKey: `${ws}/full.rule:1/evt « é »/2`,
          kind: "action",
          ruleId: ruleId("full.rule:1"),
          eventId: Ids.EventId.make("evt « é » 🍷"),
          contactId: contactId(7),
          variant: "control",
          action: { type: "createTask", title: "Call {{ contact.firstName }}", due: { after: "1 day", at: "10:00" }, channel: "call", ownerId: "sales:lea", note: "Zoë \"quoted\"\nnew line" },
          actionIndex: 2,
          category: "marketing",
          dueAt: at("2024-02-29T23:59:59.999Z"),
          status: "dead",
          attempts: 8,
          leaseUntil: at("2025-03-30T01:59:00.000Z"),
          claimToken: "018f0000-0000-7000-8000-00000000cafe",
          lastError: "Template \"Offer\" is invalid: {{ contact.fristName }} « unknown »",
          outcome: { taskId: "t-1", dueAt: "2025-06-01T10:00:00.000Z", float: 0.1, big: 9007199254740991, negative: -1.5, flags: [true, false, null], nested: { "key with spaces": { "dotted.key": ["a", { "🍷": 1 }] }, empty: {}, none: [] } },
          reservedAt: at("2025-03-30T02:00:00.000Z"),
          createdAt: at("2025-03-29T00:00:00.001Z"),
          updatedAt: at("2025-03-30T03:00:00.000Z"),
          completedAt: at("2025-03-30T03:00:00.000Z")
        })
        const check = yield* Fixtures.job(ws, { kind: "check", action: null, actionIndex: null, variant: null, category: null, outcome: null })
        const actions: ReadonlyArray<Rule.Action> = [
          { type: "sendEmail", template: templateId },
          { type: "sendEmail", template: templateId, transactional: true, purpose: "newsletter" },
          { type: "setStage", stage: LifecycleDefinition.StageKey.make("customer") },
          { type: "addTag", tag: "été" },
          { type: "removeTag", tag: "cold" },
          { type: "setField", key: "plan", value: { tier: "gold", seats: [1, 2.5, null] } },
          { type: "setField", key: "plan", value: null },
          { type: "createTask", title: "Call back" },
          { type: "adjustScore", by: -3 },
          { type: "assignOwner", roundRobin: ["ada", "grace"], overwrite: false },
          { type: "assignOwner", byCondition: [{ when: { all: [{ path: "contact.score", op: "gte", value: 10 }] }, owner: "ada" }], otherwise: "grace" },
          { type: "custom", name: "notifySlack", params: { channel: "#sales", n: [1, { deep: null }] } },
          { type: "custom", name: "ping" }
        ]
        const each = yield* Effect.forEach(actions, (action, actionIndex) => Fixtures.job(ws, { action, actionIndex }))
        yield* s.jobs.insertMany([full, check, ...each])
        for (const j of [full, check, ...each]) {
          expect(Option.map(yield* s.jobs.get(ws, j.id), json.job)).toEqual(Option.some(json.job(j)))
        }
        const listed = yield* s.jobs.list(ws, { limit: 100 })
        expect(listed.find((j) => j.id === full.id)?.outcome).toEqual(full.outcome)
        expect(listed.map(json.job).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([full, check, ...each].map(json.job).sort((a, b) => (a.id < b.id ? -1 : 1)))
      }))
  })

  describe("firings", () => {
    test("latest is the rule's most recent firing for the contact; hasKey finds a oncePer value", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const cart = ruleId("cart")
        const fired = (day: string, overrides: Partial<Job.Firing> = {}) =>
          Fixtures.firing(ws, { ruleId: cart, contactId: ada, firedAt: at(`2025-06-${day}T09:00:00.000Z`), ...overrides })
        const newest = yield* fired("03", { dedupeKey: "cart-2" })
        yield* s.firings.insertMany([yield* fired("01", { dedupeKey: "cart-1" }), newest, yield* fired("02")])
        yield* s.firings.insertMany([yield* fired("05", { ruleId: ruleId("other") })])
        yield* s.firings.insertMany([yield* fired("06", { contactId: bob, dedupeKey: "cart-9" })])

        expect(Option.map(yield* s.firings.latest(ws, cart, ada), json.firing)).toEqual(Option.some(json.firing(newest)))
        expect(Option.map(yield* s.firings.latest(ws, cart, bob), (f) => iso(f.firedAt))).toEqual(Option.some("2025-06-06T09:00:00.000Z"))
        expect(Option.isNone(yield* s.firings.latest(ws, cart, contactId(3)))).toBe(true)
        expect(Option.isNone(yield* s.firings.latest(ws, ruleId("never"), ada))).toBe(true)
        expect(Option.isNone(yield* s.firings.latest(Fixtures.freshWorkspaceId(), cart, ada))).toBe(true)

        expect(yield* s.firings.hasKey(ws, cart, ada, "cart-1")).toBe(true)
        expect(yield* s.firings.hasKey(ws, cart, ada, "cart-2")).toBe(true)
        expect(yield* s.firings.hasKey(ws, cart, ada, "cart-9")).toBe(false)
        expect(yield* s.firings.hasKey(ws, ruleId("other"), ada, "cart-1")).toBe(false)
        expect(yield* s.firings.hasKey(ws, cart, bob, "cart-9")).toBe(true)
        expect(yield* s.firings.hasKey(Fixtures.freshWorkspaceId(), cart, ada, "cart-1")).toBe(false)
      }))

    test("insertMany records many firings at once (more than one statement's worth), each read back exactly", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const firings = yield* Effect.forEach(Array.from({ length: 1_201 }, (_, i) => i), (i) =>
          Fixtures.firing(ws, { ruleId: ruleId("bulk"), contactId: contactId(i % 3), dedupeKey: `k-${i}`, firedAt: at(`2025-06-01T00:00:00.000Z`) })
        )
        yield* s.firings.insertMany(firings)
        yield* s.firings.insertMany([])
        const stored = (yield* Effect.forEach([0, 1, 2], (n) => s.firings.forContact(ws, contactId(n)))).flat()
        expect(stored.map(json.firing).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(firings.map(json.firing).sort((a, b) => (a.id < b.id ? -1 : 1)))
        expect(yield* s.firings.hasKey(ws, ruleId("bulk"), contactId(1200 % 3), "k-1200")).toBe(true)
      }))

    test("convert marks the contact's unconverted firings of that goal whose window [firedAt, goalUntil] holds the instant; converting again converts nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const f = (firedAt: string, goalUntil: string | null, overrides: Partial<Job.Firing> = {}) =>
          Fixtures.firing(ws, {
            contactId: ada,
            firedAt: at(`2025-06-01T${firedAt}:00.000Z`),
            goalEvent: goalUntil === null ? null : "order.placed",
            goalUntil: goalUntil === null ? null : at(`2025-06-01T${goalUntil}:00.000Z`),
            ...overrides
          })
        const inside = yield* f("10:00", "12:00")
        const endsThen = yield* f("09:00", "11:00")
        const startsThen = yield* f("11:00", "13:00")
        const expired = yield* f("09:00", "10:30")
        const notYet = yield* f("11:30", "14:00")
        const otherGoal = yield* f("10:00", "12:00", { goalEvent: "newsletter.signedUp" })
        const noGoal = yield* f("10:00", null)
        const already = yield* f("10:00", "12:00", { convertedAt: at("2025-06-01T10:45:00.000Z") })
        const bobs = yield* f("10:00", "12:00", { contactId: bob })
        const all = [inside, endsThen, startsThen, expired, notYet, otherGoal, noGoal, already, bobs]
        yield* s.firings.insertMany(all)

        const instant = at("2025-06-01T11:00:00.000Z")
        const convert = (workspaceId: Ids.WorkspaceId, contactId: Ids.ContactId, when: DateTime.Utc) =>
          s.firings.convert(workspaceId, { contactId, goalEvent: "order.placed", firedBy: when, openAt: when, convertedAt: when })
        expect(yield* convert(ws, ada, instant)).toBe(3)
        const converted = new Map((yield* s.firings.forContact(ws, ada)).map((x) => [x.id, iso(x.convertedAt)]))
        expect([inside, endsThen, startsThen].map((x) => converted.get(x.id))).toEqual(Array(3).fill("2025-06-01T11:00:00.000Z"))
        expect([expired, notYet, otherGoal, noGoal].map((x) => converted.get(x.id))).toEqual([null, null, null, null])
        expect(converted.get(already.id)).toBe("2025-06-01T10:45:00.000Z")
        expect((yield* s.firings.forContact(ws, bob)).map((x) => x.convertedAt)).toEqual([null])

        expect(yield* convert(ws, ada, instant)).toBe(0)
        expect(yield* convert(ws, ada, at("2025-06-01T11:30:00.000Z"))).toBe(1)
        expect(yield* convert(Fixtures.freshWorkspaceId(), bob, instant)).toBe(0)
        // The window is the caller's: fired by 10:00 and still open at 11:50 takes bob's (fired 10:00, open until 12:00).
        const window = { contactId: bob, goalEvent: "order.placed", convertedAt: instant }
        expect(yield* s.firings.convert(ws, { ...window, firedBy: at("2025-06-01T09:59:00.000Z"), openAt: at("2025-06-01T11:50:00.000Z") })).toBe(0)
        expect(yield* s.firings.convert(ws, { ...window, firedBy: at("2025-06-01T10:00:00.000Z"), openAt: at("2025-06-01T12:01:00.000Z") })).toBe(0)
        expect(yield* s.firings.convert(ws, { ...window, firedBy: at("2025-06-01T10:00:00.000Z"), openAt: at("2025-06-01T11:50:00.000Z") })).toBe(1)
        expect(iso(Option.getOrThrow(Option.fromNullable((yield* s.firings.forContact(ws, bob))[0])).convertedAt)).toBe("2025-06-01T11:00:00.000Z")
      }))

    test("stats counts a rule's firings and conversions per variant", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const converted = at("2025-06-02T00:00:00.000Z")
        const fire = (rule: string, variant: string | null, isConverted: boolean) =>
          Effect.flatMap(Fixtures.firing(ws, { ruleId: ruleId(rule), variant, goalEvent: "order.placed", goalUntil: at("2025-06-08T00:00:00.000Z"), convertedAt: isConverted ? converted : null }), (f) => s.firings.insertMany([f]))
        yield* fire("ab", "A", true)
        yield* fire("ab", "A", false)
        yield* fire("ab", "A", false)
        yield* fire("ab", "B", true)
        yield* fire("ab", "B", true)
        yield* fire("plain", null, false)
        expect(byVariant(yield* s.firings.stats(ws, ruleId("ab")))).toEqual([
          { variant: "A", fired: 3, converted: 1 },
          { variant: "B", fired: 2, converted: 2 }
        ])
        expect(yield* s.firings.stats(ws, ruleId("plain"))).toEqual([{ variant: null, fired: 1, converted: 0 }])
        expect(yield* s.firings.stats(ws, ruleId("none"))).toEqual([])
        expect(yield* s.firings.stats(Fixtures.freshWorkspaceId(), ruleId("ab"))).toEqual([])
      }))

    test("forContact lists a contact's firings oldest first with every attribute; removeForContact removes only theirs and counts them", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const f = (day: string, overrides: Partial<Job.Firing> = {}) => Fixtures.firing(ws, { contactId: ada, firedAt: at(`2025-06-${day}T09:00:00.000Z`), ...overrides })
        const third = yield* f("03")
        const first = yield* f("01", {
          ruleId: ruleId("full.rule:1"),
          eventId: Ids.EventId.make("evt « é »"),
          variant: "control",
          dedupeKey: "{\"cartId\":\"c-1\"}",
          goalEvent: "order.placed",
          goalUntil: at("2025-06-08T09:00:00.000Z"),
          convertedAt: at("2025-06-02T10:30:00.001Z")
        })
        const second = yield* f("02")
        yield* s.firings.insertMany([third, first, second])
        const bobs = yield* f("01", { contactId: bob })
        yield* s.firings.insertMany([bobs])
        const elsewhere = yield* Fixtures.firing(Fixtures.freshWorkspaceId(), { contactId: ada })
        yield* s.firings.insertMany([elsewhere])

        expect((yield* s.firings.forContact(ws, ada)).map(json.firing)).toEqual([first, second, third].map(json.firing))
        expect(yield* s.firings.removeForContact(ws, ada)).toBe(3)
        expect(yield* s.firings.forContact(ws, ada)).toEqual([])
        expect(ids(yield* s.firings.forContact(ws, bob))).toEqual([bobs.id])
        expect(ids(yield* s.firings.forContact(elsewhere.workspaceId, ada))).toEqual([elsewhere.id])
        expect(yield* s.firings.removeForContact(ws, ada)).toBe(0)
      }))
  })

  describe("consents", () => {
    test("put replaces the contact's record for the same purpose; list holds one record per purpose, of that contact only", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        yield* s.consents.put(Fixtures.consent(ws, { contactId: ada, at: at("2025-06-01T09:00:00.000Z") }))
        const newsletter = Fixtures.consent(ws, { contactId: ada, purpose: "newsletter", source: null, at: at("2025-06-01T09:30:00.000Z") })
        yield* s.consents.put(newsletter)
        const withdrawn = Fixtures.consent(ws, { contactId: ada, granted: false, source: "unsubscribe-link « é »", at: at("2025-06-02T10:00:00.001Z") })
        yield* s.consents.put(withdrawn)
        const everything = Fixtures.consent(ws, { contactId: ada, purpose: Consent.everyPurpose, granted: false, at: at("2025-06-03T00:00:00.000Z") })
        yield* s.consents.put(everything)
        yield* s.consents.put(Fixtures.consent(ws, { contactId: bob }))
        yield* s.consents.put(Fixtures.consent(Fixtures.freshWorkspaceId(), { contactId: ada, purpose: "partnerOffers" }))

        const listed = (yield* s.consents.list(ws, ada)).map(json.consent).sort((a, b) => (a.purpose < b.purpose ? -1 : 1))
        expect(listed).toEqual([everything, withdrawn, newsletter].map(json.consent))
        expect((yield* s.consents.list(ws, bob)).map((r) => [r.purpose, r.granted])).toEqual([["marketing", true]])
        expect(yield* s.consents.list(ws, contactId(3))).toEqual([])
      }))

    test("removeForContact removes only that contact's records and counts them", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        for (const purpose of ["marketing", "newsletter"]) yield* s.consents.put(Fixtures.consent(ws, { contactId: ada, purpose }))
        yield* s.consents.put(Fixtures.consent(ws, { contactId: bob }))
        expect(yield* s.consents.removeForContact(ws, ada)).toBe(2)
        expect(yield* s.consents.list(ws, ada)).toEqual([])
        expect((yield* s.consents.list(ws, bob)).length).toBe(1)
        expect(yield* s.consents.removeForContact(ws, ada)).toBe(0)
      }))
  })

  describe("counters", () => {
    test("increment counts from 1 per workspace and key; get reads the value, 0 before any increment", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        expect(yield* s.counters.get(ws, "turns:sales")).toBe(0)
        expect([yield* s.counters.increment(ws, "turns:sales"), yield* s.counters.increment(ws, "turns:sales"), yield* s.counters.increment(ws, "turns:sales")]).toEqual([1, 2, 3])
        expect(yield* s.counters.get(ws, "turns:sales")).toBe(3)
        expect(yield* s.counters.increment(ws, "rules")).toBe(1)
        expect(yield* s.counters.increment(other, "turns:sales")).toBe(1)
        expect([yield* s.counters.get(ws, "turns:sales"), yield* s.counters.get(ws, "rules"), yield* s.counters.get(other, "turns:sales")]).toEqual([3, 1, 1])
      }))

    test("increments at once never lose a count nor return the same value twice", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const values = yield* Effect.all(Array.from({ length: 20 }, () => s.counters.increment(ws, "turns")), { concurrency: "unbounded" })
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
        expect(yield* s.counters.get(ws, "turns")).toBe(20)
      }))
  })

  describe("events and orders for rules and exports", () => {
    test("events.list returns the contact's events of the types in the window (since exclusive, until inclusive), most recent first, up to limit", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const when = (d: string) => at(`2025-05-${d}T12:00:00.000Z`)
        const e = (id: string, contact: Ids.ContactId, type: string, day: string) =>
          Fixtures.storedEvent(ws, contact, id, { type, occurredAt: when(day), payload: { colour: id === "v2" ? "red" : "blue", n: Number(day) } })
        const events = [e("v1", ada, "page.viewed", "01"), e("v2", ada, "page.viewed", "10"), e("v3", ada, "page.viewed", "20"), e("o1", ada, "order.placed", "15"), e("b1", bob, "page.viewed", "12")]
        for (const x of events) yield* s.events.insert(x)
        const list = (query: Partial<Storage.HistoryWindow> & { readonly types: ReadonlyArray<string>; readonly limit?: number }) =>
          Effect.map(s.events.list(ws, { contactId: ada, limit: 100, ...query }), ids)

        expect(yield* list({ types: ["page.viewed"] })).toEqual(["v3", "v2", "v1"])
        expect(yield* list({ types: ["page.viewed", "order.placed"] })).toEqual(["v3", "o1", "v2", "v1"])
        expect(yield* list({ types: ["page.viewed"], since: when("01"), until: when("20") })).toEqual(["v3", "v2"])
        expect(yield* list({ types: ["page.viewed"], until: when("19") })).toEqual(["v2", "v1"])
        expect(yield* list({ types: ["page.viewed"], limit: 2 })).toEqual(["v3", "v2"])
        expect(yield* list({ types: [] })).toEqual([])
        expect(yield* list({ types: ["page.viewed"], contactId: bob })).toEqual(["b1"])
        expect((yield* s.events.list(ws, { contactId: ada, types: ["page.viewed"], limit: 100 })).map(json.event)).toEqual([events[2]!, events[1]!, events[0]!].map(json.event))
      }))

    test("events.list with before continues right after that event (occurredAt, then id, descending): pages cover every event once, ties included", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = contactId(1)
        const e = (id: string, occurredAt: string) => Fixtures.storedEvent(ws, ada, id, { occurredAt: at(occurredAt) })
        yield* s.events.insertMany([
          e("a", "2025-05-01T00:00:00.000Z"),
          e("c", "2025-05-02T00:00:00.000Z"),
          e("b", "2025-05-02T00:00:00.000Z"),
          e("d", "2025-05-02T00:00:00.000Z"),
          e("e", "2025-05-03T00:00:00.000Z")
        ])
        const page = (before: Storage.EventPosition | undefined) => Effect.map(s.events.list(ws, { contactId: ada, types: ["page.viewed"], limit: 2, before }), ids)
        const position = (id: string, occurredAt: string): Storage.EventPosition => ({ id: Ids.EventId.make(id), occurredAt: at(occurredAt) })
        expect(yield* page(undefined)).toEqual(["e", "d"])
        expect(yield* page(position("d", "2025-05-02T00:00:00.000Z"))).toEqual(["c", "b"])
        expect(yield* page(position("b", "2025-05-02T00:00:00.000Z"))).toEqual(["a"])
        expect(yield* page(position("a", "2025-05-01T00:00:00.000Z"))).toEqual([])
      }))

    // Regression: counts with `where` read only the 10,000 most recent events, so an older match was missed.
    test("countEvents with matches is exact past 10,000 events: the only match is the oldest, and every event is read once", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const n = 10_050
        const base = DateTime.toEpochMillis(at("2025-01-01T00:00:00.000Z"))
        // Three events a minute, so ties on occurredAt straddle the pages' boundaries.
        const events = Array.from({ length: n }, (_, i) =>
          Fixtures.storedEvent(ws, ada, `view-${String(i).padStart(6, "0")}`, {
            occurredAt: DateTime.unsafeMake(base + Math.floor(i / 3) * 60_000),
            payload: { colour: i === 0 ? "red" : "blue", i }
          })
        )
        yield* s.events.insertMany(events)
        yield* s.events.insertMany([
          Fixtures.storedEvent(ws, ada, "order-red", { type: "order.placed", payload: { colour: "red" } }),
          Fixtures.storedEvent(ws, bob, "bob-red", { payload: { colour: "red" } })
        ])
        const count = (matches: ((event: CrmEvent.StoredEvent) => boolean) | undefined, window: Partial<Storage.HistoryWindow> = {}) =>
          Storage.countEvents(s, ws, { contactId: ada, types: ["page.viewed"], matches, ...window })
        expect(yield* count((e) => e.payload["colour"] === "red")).toBe(1)
        expect(yield* count(() => true)).toBe(n)
        expect(yield* count(undefined)).toBe(n)
        const seen = new Set<unknown>()
        expect(yield* count((e) => (seen.add(e.payload["i"]), false))).toBe(0)
        expect(seen.size).toBe(n)
        // The window still applies: the oldest event is outside (since is exclusive).
        expect(yield* count((e) => e.payload["colour"] === "red", { since: events[0]!.occurredAt })).toBe(0)
      }))

    test("events.forContact pages through a contact's events of any type in id order", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        yield* s.events.insert(Fixtures.storedEvent(ws, ada, "evt-3", { type: "order.placed" }))
        yield* s.events.insert(Fixtures.storedEvent(ws, ada, "evt-1", { occurredAt: at("2025-07-01T00:00:00.000Z") }))
        yield* s.events.insert(Fixtures.storedEvent(ws, bob, "evt-0"))
        yield* s.events.insert(Fixtures.storedEvent(ws, ada, "evt-2", { type: "quote.sent", payload: { quoteRef: "Q-1" } }))
        const page = (after: string | undefined, limit: number) => Effect.map(s.events.forContact(ws, ada, { after, limit }), ids)
        expect(yield* page(undefined, 2)).toEqual(["evt-1", "evt-2"])
        expect(yield* page("evt-2", 2)).toEqual(["evt-3"])
        expect(yield* page("evt-3", 2)).toEqual([])
        expect(yield* page(undefined, 10)).toEqual(["evt-1", "evt-2", "evt-3"])
        expect((yield* s.events.forContact(ws, ada, { limit: 10 }))[1]?.payload).toEqual({ quoteRef: "Q-1" })
        expect(yield* s.events.forContact(Fixtures.freshWorkspaceId(), ada, { limit: 10 })).toEqual([])
      }))

    test("events.eraseForContact empties the payloads of a contact's events and counts them; the ids stay, so the events are still recognised", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        const adas = [
          Fixtures.storedEvent(ws, ada, "e-1", { payload: { email: "ada@example.com", name: "Ada" } }),
          Fixtures.storedEvent(ws, ada, "e-2", { type: "order.placed", occurredAt: at("2025-02-01T00:00:00.000Z"), payload: { orderId: "o-1", address: "1 rue de la Paix" } })
        ]
        const bobs = Fixtures.storedEvent(ws, bob, "e-3", { payload: { email: "bob@example.com" } })
        for (const e of [...adas, bobs]) yield* s.events.insert(e)

        expect(yield* s.events.eraseForContact(ws, ada)).toBe(2)
        for (const e of adas) {
          const stored = Option.getOrThrow(yield* s.events.get(ws, e.id))
          expect(stored.payload).toEqual({})
          expect([stored.type, iso(stored.occurredAt), stored.contactId]).toEqual([e.type, iso(e.occurredAt), ada])
        }
        expect(Option.getOrThrow(yield* s.events.get(ws, bobs.id)).payload).toEqual({ email: "bob@example.com" })
        expect(yield* s.events.insert(adas[0]!)).toBe(false)
        expect(yield* s.events.insertMany([adas[1]!])).toEqual([adas[1]!.id])
        expect(Option.getOrThrow(yield* s.events.get(ws, adas[0]!.id)).payload).toEqual({})
        expect(yield* s.events.eraseForContact(ws, contactId(3))).toBe(0)
      }))

    test("orders.forContact pages through a contact's orders with their lines in id order", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [ada, bob] = [contactId(1), contactId(2)]
        for (const [id, contact] of [["o-3", ada], ["o-1", ada], ["o-0", bob], ["o-2", ada]] as const) yield* s.orders.insert(Fixtures.order(ws, contact, id))
        const first = yield* s.orders.forContact(ws, ada, { limit: 2 })
        expect(ids(first)).toEqual(["o-1", "o-2"])
        expect(first.map((o) => [o.lines, o.totalMinor, o.currency])).toEqual(
          ["o-1", "o-2"].map((id) => {
            const o = Fixtures.order(ws, ada, id)
            return [o.lines, o.totalMinor, o.currency]
          })
        )
        expect(ids(yield* s.orders.forContact(ws, ada, { after: "o-2", limit: 2 }))).toEqual(["o-3"])
        expect(ids(yield* s.orders.forContact(ws, bob, { limit: 10 }))).toEqual(["o-0"])
        expect(yield* s.orders.forContact(Fixtures.freshWorkspaceId(), ada, { limit: 10 })).toEqual([])
      }))
  })

  describe("the outbox under concurrency and transactions", () => {
    test("claims at the same time over the same due jobs never return a job twice, and together return them all", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const jobs = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => Fixtures.job(ws, { dueAt: at(`2025-06-01T08:${String(i).padStart(2, "0")}:00.000Z`) }))
        yield* s.jobs.insertMany(jobs)
        const claims = yield* Effect.all(
          ["a", "b", "c", "d"].map((token) => claimIn(s, ws, "2025-06-01T09:00:00.000Z", `token-${token}`, 50)),
          { concurrency: "unbounded" }
        )
        const claimed = claims.flatMap(ids)
        expect(claimed.length).toBe(40)
        expect(new Set(claimed).size).toBe(40)
        expect([...claimed].sort()).toEqual(sortedIds(jobs))
        // Each job is held by the claim that returned it.
        const tokens = ["a", "b", "c", "d"]
        for (const [i, claim] of claims.entries()) {
          for (const j of claim) expect(Option.getOrThrow(yield* s.jobs.get(ws, j.id)).claimToken).toBe(`token-${tokens[i]}`)
        }
      }))

    test("jobs, firings, consents, counters and rules written in a transaction that fails are not stored", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = contactId(1)
        const jobs = yield* Effect.forEach([1, 2], () => Fixtures.job(ws, { contactId: ada }))
        const r = yield* Fixtures.rule(ws)
        const error = yield* failure(
          s.transaction(
            Effect.gen(function* () {
              yield* s.rules.insert(r)
              yield* s.jobs.insertMany(jobs)
              yield* s.firings.insertMany([yield* Fixtures.firing(ws, { contactId: ada })])
              yield* s.consents.put(Fixtures.consent(ws, { contactId: ada }))
              yield* s.counters.increment(ws, "rules")
              return yield* Effect.fail("boom" as const)
            })
          )
        )
        expect(error).toBe("boom")
        expect(yield* s.rules.list(ws)).toEqual([])
        expect(yield* s.jobs.list(ws, { limit: 10 })).toEqual([])
        expect(Option.isNone(yield* s.jobs.nextDue([ws]))).toBe(true)
        expect(yield* s.firings.forContact(ws, ada)).toEqual([])
        expect(yield* s.consents.list(ws, ada)).toEqual([])
        expect(yield* s.counters.get(ws, "rules")).toBe(0)
        // The idempotency keys were not kept either: the same jobs can be stored afterwards.
        yield* s.jobs.insertMany(jobs)
        expect(sortedIds(yield* s.jobs.list(ws, { limit: 10 }))).toEqual(sortedIds(jobs))
      }))

    test("a settle in a transaction that fails is undone: the job stays running under its token", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        yield* s.jobs.insertMany([yield* Fixtures.job(ws)])
        const [claimed] = yield* claimIn(s, ws, "2025-06-01T09:00:00.000Z", "tok")
        yield* Effect.ignore(
          s.transaction(Effect.zipRight(s.jobs.settle(new Job.Job({ ...claimed!, status: "done", leaseUntil: null, claimToken: null }), "tok"), Effect.fail("after")))
        )
        expect(Option.map(yield* s.jobs.get(ws, claimed!.id), json.job)).toEqual(Option.some(json.job(claimed!)))
        expect(yield* s.jobs.settle(new Job.Job({ ...claimed!, status: "done", leaseUntil: null, claimToken: null }), "tok")).toBe(true)
      }))
  })

  describe("rules through the services", () => {
    const fresh = () => {
      const ws = Fixtures.freshWorkspaceId()
      return { ws, run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect) }
    }

    test("a rule on page.viewed fires on emit, and the dispatcher applies its actions once", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(crm.rules.create({ id: "engaged", name: "Engaged visitor", on: "page.viewed", actions: [{ type: "adjustScore", by: 5 }, { type: "addTag", tag: "engaged" }] }))
        const ada = yield* run(crm.contacts.create({ email: "ada@example.com", firstName: "Ada" }))
        const emitted = yield* run(crm.events.emit({ id: "view-1", type: "page.viewed", contactId: ada.id, payload: { url: "/shoes/red" } }))
        expect(emitted.triggered.map((t) => [t.ruleId, t.delayed])).toEqual([["engaged", false]])
        const queued = yield* s.jobs.list(ws, { ruleId: ruleId("engaged"), limit: 10 })
        expect(queued.map((j) => [j.status, j.kind, j.contactId, j.eventId])).toEqual(Array(2).fill(["pending", "action", ada.id, "view-1"]))
        expect(queued.map((j) => j.action?.type).sort()).toEqual(["addTag", "adjustScore"])

        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 2, done: 2, dead: 0, retried: 0 })
        const after = yield* run(crm.contacts.get(ada.id))
        expect([after.score, after.tags]).toEqual([5, ["engaged"]])
        expect((yield* s.jobs.list(ws, { ruleId: ruleId("engaged"), limit: 10 })).map((j) => j.status)).toEqual(["done", "done"])

        // Running again, or the same event again, changes nothing.
        expect((yield* crm.dispatcher.runDue({ workspaces: [ws] })).claimed).toBe(0)
        expect((yield* run(crm.events.emit({ id: "view-1", type: "page.viewed", contactId: ada.id, payload: { url: "/shoes/red" } }))).duplicate).toBe(true)
        expect((yield* crm.dispatcher.runDue({ workspaces: [ws] })).claimed).toBe(0)
        expect((yield* run(crm.contacts.get(ada.id))).score).toBe(5)
        expect((yield* run(crm.rules.stats("engaged"))).total).toMatchObject({ fired: 1, sent: 0, converted: 0 })
      }))

    // Regression: counts with `where` read only the 10,000 most recent events, so an older match was missed.
    test("a rule whose when counts past events with where sees a match older than 10,000 events, on emit and in rules.simulate", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        const ada = yield* run(crm.contacts.create({ email: "ada@example.com", firstName: "Ada" }))
        const base = DateTime.toEpochMillis(at("2025-01-01T00:00:00.000Z"))
        yield* s.events.insertMany(
          Array.from({ length: 10_020 }, (_, i) =>
            Fixtures.storedEvent(ws, ada.id, `view-${String(i).padStart(6, "0")}`, {
              occurredAt: DateTime.unsafeMake(base + i * 60_000),
              payload: { colour: i === 0 ? "red" : "blue" }
            })
          )
        )
        const viewedRed = (value: number) => ({ count: { event: "page.viewed", where: { path: "event.payload.colour", op: "eq", value: "red" } }, op: "eq", value } as const)
        yield* run(crm.rules.create({ id: "red-once", name: "Saw red once", on: "cart.abandoned", when: viewedRed(1), actions: [{ type: "addTag", tag: "red-once" }] }))
        yield* run(crm.rules.create({ id: "never-red", name: "Never saw red", on: "cart.abandoned", when: viewedRed(0), actions: [{ type: "addTag", tag: "never-red" }] }))

        const simulation = yield* run(crm.rules.simulate({ event: { type: "cart.abandoned", contactId: ada.id, payload: { cartId: "cart-1" } } }))
        const byRule = Object.fromEntries(simulation.rules.map((r) => [r.ruleId, [r.fires, r.when?.description]]))
        expect(byRule).toEqual({
          "red-once": [true, "count of page.viewed matching where eq 1 (found 1)"],
          "never-red": [false, "count of page.viewed matching where eq 0 (found 1)"]
        })

        const { triggered } = yield* run(crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "cart-1" } }))
        expect(triggered.map((t) => t.ruleId)).toEqual(["red-once"])
        yield* crm.dispatcher.runDue({ workspaces: [ws] })
        expect((yield* run(crm.contacts.get(ada.id))).tags).toEqual(["red-once"])
      }))

    test("a delayed rule stores its check due at the end of the delay and acts only once due", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(
          crm.rules.create({
            id: "quote-follow-up",
            name: "Call after two hours",
            on: "quote.sent",
            delay: "2 hours",
            actions: [{ type: "createTask", title: "Call {{ contact.firstName }} about {{ event.payload.quoteRef }}", channel: "call" }]
          })
        )
        const bruno = yield* run(crm.contacts.create({ email: "bruno@example.com", firstName: "Bruno" }))
        const { triggered } = yield* run(crm.events.emit({ type: "quote.sent", contactId: bruno.id, payload: { quoteRef: "Q-7" } }))
        expect(triggered.map((t) => [t.delayed, iso(t.dueAt)])).toEqual([[true, "2025-06-02T11:00:00.000Z"]])
        const [check] = yield* s.jobs.list(ws, { ruleId: ruleId("quote-follow-up"), limit: 10 })
        expect([check?.kind, check?.status, iso(check?.dueAt ?? null), check?.contactId]).toEqual(["check", "pending", "2025-06-02T11:00:00.000Z", bruno.id])
        expect(Option.map(yield* s.jobs.nextDue([ws]), iso)).toEqual(Option.some("2025-06-02T11:00:00.000Z"))

        yield* TestClock.adjust(Duration.minutes(119))
        expect((yield* crm.dispatcher.runDue({ workspaces: [ws] })).claimed).toBe(0)
        expect((yield* run(crm.tasks.list())).items).toEqual([])

        yield* TestClock.adjust(Duration.minutes(1))
        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 2, done: 2 })
        expect((yield* run(crm.tasks.list())).items.map((t) => [t.title, t.channel, t.contactId])).toEqual([["Call Bruno about Q-7", "call", bruno.id]])
        expect((yield* crm.dispatcher.runDue({ workspaces: [ws] })).claimed).toBe(0)
        expect(Option.isNone(yield* s.jobs.nextDue([ws]))).toBe(true)
        expect((yield* run(crm.tasks.list())).items.length).toBe(1)
      }))

    test("a delayed rule whose unless holds when due is skipped, with the reason", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(
          crm.rules.create({
            id: "quote-follow-up",
            name: "Call unless answered",
            on: "quote.sent",
            delay: "2 hours",
            unless: { count: { event: "quote.accepted", sinceTrigger: true }, op: "gte", value: 1 },
            actions: [{ type: "createTask", title: "Call back" }]
          })
        )
        const claire = yield* run(crm.contacts.create({ email: "claire@example.com" }))
        yield* run(crm.events.emit({ type: "quote.sent", contactId: claire.id, payload: { quoteRef: "Q-8" } }))
        yield* TestClock.adjust(Duration.hours(1))
        yield* run(crm.events.emit({ type: "quote.accepted", contactId: claire.id, payload: { quoteRef: "Q-8" } }))
        yield* TestClock.adjust(Duration.hours(1))
        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 1, skipped: 1, done: 0 })
        expect((yield* run(crm.tasks.list())).items).toEqual([])
        const [check] = (yield* run(crm.dispatcher.jobs({ ruleId: "quote-follow-up" }))).items
        expect(check?.status).toBe("skipped")
        expect(String(check?.outcome?.["reason"])).toContain('"unless" holds')
      }))

    test("variants split contacts, each gets its variant's actions, and a goal event within the window converts", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        const rule = yield* run(
          crm.rules.create({
            id: "ab-offer",
            name: "A/B score",
            on: "page.viewed",
            variants: [{ key: "A", actions: [{ type: "adjustScore", by: 1 }] }, { key: "B", actions: [{ type: "adjustScore", by: 2 }] }],
            goal: { event: "order.placed", within: "7 days" },
            limits: { oncePerContact: true }
          })
        )
        const contacts = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => run(crm.contacts.create({ email: `visitor${i}@example.com` })))
        for (const c of contacts) yield* run(crm.events.emit({ type: "page.viewed", contactId: c.id, payload: { url: "/" } }))
        yield* crm.dispatcher.runDue({ workspaces: [ws] })
        const variantOf = (id: string) => Rule.variantFor(rule, id)!.key
        for (const c of contacts) expect((yield* run(crm.contacts.get(c.id))).score).toBe(variantOf(c.id) === "A" ? 1 : 2)

        const line = { sku: "RED-42", name: "Red shoe", quantity: 1, unitPrice: { amountMinor: 4990, currency: "EUR" } }
        yield* TestClock.adjust(Duration.hours(1))
        yield* run(crm.events.emit({ type: "order.placed", contactId: contacts[0]!.id, payload: { orderId: "o-1", lines: [line] } }))
        yield* run(crm.events.emit({ type: "order.placed", contactId: contacts[0]!.id, payload: { orderId: "o-2", lines: [line] } }))
        yield* TestClock.adjust(Duration.days(8))
        yield* run(crm.events.emit({ type: "order.placed", contactId: contacts[1]!.id, payload: { orderId: "o-3", lines: [line] } }))

        const stats = yield* run(crm.rules.stats("ab-offer"))
        expect(stats.total).toMatchObject({ fired: 6, converted: 1, sent: 0 })
        const expected = ["A", "B"].map((variant) => ({
          variant,
          fired: contacts.filter((c) => variantOf(c.id) === variant).length,
          converted: variantOf(contacts[0]!.id) === variant ? 1 : 0
        }))
        expect(byVariant(stats.variants).map(({ variant, fired, converted }) => ({ variant, fired, converted }))).toEqual(expected)
      }))

    test("stats count each variant's mails opened once, from opens of the mail's own contact naming its messageId", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { ws, run: inWorkspace } = fresh()
        const mailer = Mailer.Mailer.of({ send: (mail) => Effect.succeed({ messageId: `<${mail.to.split("@")[0]}-${ws}@mail.example>` }) })
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => inWorkspace(Effect.provideService(effect, Mailer.Mailer, mailer))
        yield* setNow("2025-06-02T09:00:00.000Z")
        const template = yield* run(crm.templates.create({ name: "Welcome", purpose: "transactional", subject: "Welcome", text: "Hello" }))
        const rule = yield* run(
          crm.rules.create({
            id: "ab-mail",
            name: "A/B welcome",
            on: "page.viewed",
            variants: [{ key: "A", actions: [{ type: "sendEmail", template: template.id }] }, { key: "B", actions: [{ type: "sendEmail", template: template.id }] }],
            limits: { oncePerContact: true }
          })
        )
        const contacts = yield* Effect.forEach([0, 1, 2, 3, 4, 5, 6, 7], (i) => run(crm.contacts.create({ email: `v${i}@example.com` })))
        for (const c of contacts) yield* run(crm.events.emit({ type: "page.viewed", contactId: c.id, payload: { url: "/" } }))
        yield* crm.dispatcher.runDue({ workspaces: [ws] }).pipe(Effect.provideService(Mailer.Mailer, mailer))
        const messageIdOf = (i: number) => `<v${i}-${ws}@mail.example>`
        // Contact i opens its own mail i times (none, once, twice…); contact 0 opens contact 1's.
        for (const [i, c] of contacts.entries()) {
          for (let k = 0; k < i; k++) yield* run(crm.events.emit({ type: "email.opened", contactId: c.id, payload: { messageId: messageIdOf(i) } }))
        }
        yield* run(crm.events.emit({ type: "email.opened", contactId: contacts[0]!.id, payload: { messageId: messageIdOf(1) } }))
        const variantOf = (id: string) => Rule.variantFor(rule, id)!.key
        const stats = yield* run(crm.rules.stats("ab-mail"))
        const expected = ["A", "B"].map((variant) => {
          const members = contacts.filter((c) => variantOf(c.id) === variant)
          return { variant, sent: members.length, opened: members.filter((c) => c.id !== contacts[0]!.id).length }
        })
        expect(byVariant(stats.variants).map(({ variant, sent, opened }) => ({ variant, sent, opened }))).toEqual(expected)
        expect(stats.total).toMatchObject({ fired: 8, sent: 8, opened: 7 })
      }))

    test("a job that fails for good is dead-lettered with its error, and retry queues it again", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } }))
        yield* run(crm.rules.create({ id: "signed", name: "Signed", on: "contract.signed", actions: [{ type: "setStage", stage: "customer" }] }))
        const firm = yield* run(crm.contacts.create({ email: "firm@example.com" }))
        yield* run(crm.events.emit({ type: "contract.signed", contactId: firm.id }))
        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 1, dead: 1 })
        const [dead] = yield* s.jobs.list(ws, { ruleId: ruleId("signed"), limit: 10 })
        expect([dead?.status, dead?.attempts]).toEqual(["dead", 1])
        expect(dead?.lastError).toContain("siret")
        expect((yield* run(crm.contacts.get(firm.id))).stage).not.toBe("customer")

        const current = yield* run(crm.contacts.get(firm.id))
        yield* run(crm.contacts.update(firm.id, { expectedVersion: current.version, fields: { siret: "12345678900012" } }))
        const requeued = yield* run(crm.dispatcher.retry(dead!.id))
        expect([requeued.status, requeued.attempts]).toEqual(["pending", 0])
        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 1, done: 1 })
        expect((yield* run(crm.contacts.get(firm.id))).stage).toBe("customer")
        expect(Option.getOrThrow(yield* s.jobs.get(ws, dead!.id))).toMatchObject({ status: "done", attempts: 1 })
        expect(yield* failure(run(crm.dispatcher.retry(dead!.id)))).toMatchObject({ _tag: "ValidationError" })
      }))

    test("two dispatchers running at once apply each job exactly once", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(crm.rules.create({ name: "Score", on: "page.viewed", actions: [{ type: "adjustScore", by: 5 }] }))
        const contacts = yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) => run(crm.contacts.create({ email: `c${i}@example.com` })))
        for (const c of contacts) yield* run(crm.events.emit({ type: "page.viewed", contactId: c.id, payload: { url: "/" } }))
        const reports = yield* Effect.all(
          [crm.dispatcher.runDue({ workspaces: [ws], batchSize: 3 }), crm.dispatcher.runDue({ workspaces: [ws], batchSize: 3 })],
          { concurrency: "unbounded" }
        )
        expect(reports.reduce((n, r) => n + r.claimed, 0)).toBe(12)
        expect(reports.reduce((n, r) => n + r.done, 0)).toBe(12)
        for (const c of contacts) expect((yield* run(crm.contacts.get(c.id))).score).toBe(5)
      }))

    test("erasing a contact removes its jobs, firings and consent, empties its events, and a re-sent event is still recognised", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const { ws, run } = fresh()
        yield* setNow("2025-06-02T09:00:00.000Z")
        yield* run(crm.rules.create({ id: "engaged", name: "Engaged", on: "page.viewed", actions: [{ type: "adjustScore", by: 5 }] }))
        yield* run(crm.rules.create({ id: "later", name: "Later", on: "page.viewed", delay: "1 day", actions: [{ type: "addTag", tag: "later" }] }))
        const ada = yield* run(crm.contacts.create({ email: "ada@example.com" }))
        const bob = yield* run(crm.contacts.create({ email: "bob@example.com" }))
        yield* run(crm.consent.grant(ada.id, { source: "signup-form" }))
        yield* run(crm.events.emit({ id: "ada-view", type: "page.viewed", contactId: ada.id, payload: { url: "/private" } }))
        yield* run(crm.events.emit({ id: "bob-view", type: "page.viewed", contactId: bob.id, payload: { url: "/bob" } }))
        yield* crm.dispatcher.runDue({ workspaces: [ws] })
        const events = yield* s.events.forContact(ws, ada.id, { limit: 100 })

        const report = yield* run(crm.consent.erase(ada.id))
        expect(report).toMatchObject({ jobs: 2, firings: 1, consents: 1, events: events.length })
        expect(yield* s.jobs.list(ws, { contactId: ada.id, limit: 10 })).toEqual([])
        expect(yield* s.firings.forContact(ws, ada.id)).toEqual([])
        expect(yield* s.consents.list(ws, ada.id)).toEqual([])
        expect(Option.getOrThrow(yield* s.events.get(ws, Ids.EventId.make("ada-view"))).payload).toEqual({})
        expect((yield* s.jobs.list(ws, { contactId: bob.id, limit: 10 })).length).toBe(2)
        expect((yield* s.firings.forContact(ws, bob.id)).length).toBe(1)

        const again = yield* run(crm.events.emit({ id: "ada-view", type: "page.viewed", email: "ada@example.com", payload: { url: "/private" } }))
        expect(again.duplicate).toBe(true)
        expect(Option.isNone(yield* run(crm.contacts.findByEmail("ada@example.com")))).toBe(true)
        expect((yield* s.jobs.list(ws, { statuses: ["pending"], limit: 10 })).map((j) => [j.kind, j.contactId])).toEqual([["check", bob.id]])
      }))
  })
}
