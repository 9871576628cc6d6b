// Segments in SQL: the storage's `segments.count/members` select exactly the contacts that
// `Condition.compile`'s predicate holds for, on generated contacts whose custom fields hold values
// of colliding types ("3", 3, true, 1, "1", null, missing, "", "a", "A", "ä", "😀"…) and on
// generated conditions; plus one example per known trap, and saved segments' storage. Registered
// by `storageSuite`, so SQLite (file and memory) and PostgreSQL each agree with the predicate, and
// so with each other. Not a public entry point of its own.
import { Condition, Crm, Ids, LifecycleDefinition, Segment, Storage, Time, Workspace, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void
type Scalar = Condition.Scalar

const NOW = Date.parse("2026-01-15T00:00:00.000Z")
const DAY = 86_400_000
const STAGES = ["suspect", "prospect", "customer"]

// The colliding-type pool: values that SQL would confuse if it coerced, ordered by bytes wrongly,
// or folded case.
const SCALARS: ReadonlyArray<Scalar> = [
  "3", 3, 2.5, -1, 0, 1, "1", true, false, null, "", "a", "A", "ä", "b", "ab", "Ab", "a%", "_", "\uFFFF", "😀", "a😀",
  "2026-01-01", "2025-12-31", "2026-01-14T12:00:00.000Z", "2025-06-01T00:00:00.000Z"
]
const INSTANTS = ["2026-01-14T12:00:00.000Z", "2025-06-01T00:00:00.000Z", "2026-01-14T13:00:00+01:00", "2030-01-01T00:00:00.000Z"]
const FIELD_VALUES: ReadonlyArray<unknown> = [
  ...SCALARS,
  undefined,
  undefined,
  ["a", "3"],
  [3, true, null],
  ["b"],
  [],
  ["A", 1],
  { amountMinor: 3, currency: "EUR" },
  { amountMinor: "3", currency: "eur" },
  { amountMinor: 2.5 }
]
const FIELDS = ["t", "n", "b", "d", "dt", "ms", "m", "mixed_Key1"] as const
const TYPES: Readonly<Record<(typeof FIELDS)[number], "text" | "number" | "boolean" | "date" | "datetime" | "multiSelect" | "money">> = {
  t: "text",
  n: "number",
  b: "boolean",
  d: "date",
  dt: "datetime",
  ms: "multiSelect",
  m: "money",
  "mixed_Key1": "text"
}

const registryOf = (ws: Ids.WorkspaceId): Condition.Registry => ({
  fields: FIELDS.map((key) =>
    Fixtures.fieldDefinition(ws, key, {
      type: TYPES[key],
      options: key === "ms" ? [{ value: "a", label: "a" }, { value: "b", label: "b" }, { value: "3", label: "3" }, { value: "A", label: "A" }] : []
    })
  ),
  stages: STAGES,
  event: false
})

const fc = FastCheck

// --- generated contacts and their events

interface ContactSeed {
  readonly fields: Readonly<Record<string, unknown>>
  readonly firstName: string | null
  readonly score: number
  readonly stage: string
  readonly tags: ReadonlyArray<string>
  readonly channel: string
  readonly campaign: string | null
  readonly firstSeenAt: number
  readonly events: ReadonlyArray<{ readonly type: string; readonly at: number; readonly payload: Readonly<Record<string, unknown>> }>
}

const textPool = ["a", "A", "ä", "b", "ab", "", "3", "😀", "\uFFFF"]
const payloadValue = fc.constantFrom<unknown>(...SCALARS, undefined, ["a", 3], [true], { x: 1 })
const eventArb = fc.record({
  type: fc.constantFrom("order.placed", "page.viewed", "quote.sent"),
  at: fc.constantFrom(NOW - 3_600_000, NOW - 10 * DAY, NOW - 30 * DAY, NOW - 30 * DAY + 1, NOW - 40 * DAY, NOW - 500 * DAY, NOW, NOW + DAY),
  payload: fc.record({ colour: payloadValue, items: fc.constantFrom<unknown>(undefined, ["a", "3"], [3, "b"], { "0": "a" }, "a") })
})
const contactArb: FastCheck.Arbitrary<ContactSeed> = fc.record({
  fields: fc.record(Object.fromEntries(FIELDS.map((k) => [k, fc.constantFrom(...FIELD_VALUES)])) as Record<string, FastCheck.Arbitrary<unknown>>),
  firstName: fc.constantFrom(null, ...textPool),
  score: fc.constantFrom(-1, 0, 1, 3, 10),
  stage: fc.constantFrom(...STAGES),
  tags: fc.subarray(["vip", "a", "3", "A"]),
  channel: fc.constantFrom("web", "Web", "trade-show", "3"),
  campaign: fc.constantFrom(null, "spring", ""),
  firstSeenAt: fc.constantFrom(NOW - DAY, NOW - 20 * DAY, NOW - 400 * DAY, NOW, NOW + DAY),
  events: fc.array(eventArb, { maxLength: 4 })
})

// --- generated conditions (only those `Condition.check` accepts for a segment)

const PATHS = [
  ...FIELDS.filter((k) => k !== "m").map((k) => `contact.fields.${k}`),
  "contact.fields.m",
  "contact.fields.m.amountMinor",
  "contact.fields.m.currency",
  "contact.firstName",
  "contact.email",
  "contact.score",
  "contact.stage",
  "contact.tags",
  "contact.source.channel",
  "contact.source.campaign",
  "contact.firstSeenAt",
  "contact.timezone"
]
const OPS: ReadonlyArray<Condition.Operator> = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "notIn", "contains", "startsWith", "exists"]
const valueArb = fc.constantFrom<Scalar>(...SCALARS, ...INSTANTS, ...STAGES)
const comparisonArb = (paths: ReadonlyArray<string>) =>
  fc.record({ path: fc.constantFrom(...paths), op: fc.constantFrom(...OPS), value: valueArb, list: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }).map(
    ({ path, op, value, list }): Condition.Condition =>
      op === "exists" ? { path, op } : op === "in" || op === "notIn" ? { path, op, value: list } : { path, op, value }
  )
const timeArb = fc
  .record({ path: fc.constantFrom("contact.firstSeenAt", "contact.fields.dt", "contact.fields.d", "contact.createdAt"), older: fc.boolean(), span: fc.constantFrom("1 day", "30 days", "400 days") })
  .map(({ path, older, span }): Condition.Condition => (older ? { path, olderThan: span } : { path, within: span }))
const WHERE_PATHS = ["event.payload.colour", "event.payload.items", "event.payload.items.0", "event.type", "contact.fields.t", "contact.score"]
const whereArb = fc.oneof(
  comparisonArb(WHERE_PATHS),
  fc.constantFrom<Condition.Condition>({ path: "event.occurredAt", within: "7 days" }, { path: "event.occurredAt", olderThan: "20 days" })
)
const countArb = fc
  .record({
    event: fc.constantFrom<string | ReadonlyArray<string>>("order.placed", ["order.placed", "page.viewed"]),
    within: fc.constantFrom(undefined, "30 days"),
    where: fc.option(whereArb, { nil: undefined }),
    op: fc.constantFrom<Condition.CountOperator>("eq", "ne", "gt", "gte", "lt", "lte"),
    value: fc.constantFrom(0, 1, 2)
  })
  .map(({ event, within, where, op, value }): Condition.Condition => ({
    count: { event, ...(within === undefined ? {} : { within }), ...(where === undefined ? {} : { where }) },
    op,
    value
  }))

const conditionArb = (registry: Condition.Registry): FastCheck.Arbitrary<Condition.Condition> => {
  const valid = (c: Condition.Condition) => Condition.shapeIssues(c).length === 0 && Condition.check(c, registry).length === 0
  const leaf = fc.oneof({ weight: 6, arbitrary: comparisonArb(PATHS).filter(valid) }, { weight: 1, arbitrary: timeArb.filter(valid) }, { weight: 2, arbitrary: countArb.filter(valid) })
  const { node } = fc.letrec<{ node: Condition.Condition }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      leaf,
      fc.array(tie("node"), { maxLength: 3 }).map((all): Condition.Condition => ({ all })),
      fc.array(tie("node"), { maxLength: 3 }).map((any): Condition.Condition => ({ any })),
      tie("node").map((not): Condition.Condition => ({ not }))
    )
  }))
  return node
}

// --- the two evaluations

const population = (ws: Ids.WorkspaceId, seeds: ReadonlyArray<ContactSeed>) =>
  Effect.gen(function* () {
    const s = yield* Storage.Storage
    const contacts = yield* Effect.forEach(seeds, (seed, i) =>
      Fixtures.contact(ws, {
        email: i % 3 === 0 ? null : Fixtures.email(`c${i}@example.com`),
        firstName: seed.firstName,
        score: seed.score,
        stage: LifecycleDefinition.StageKey.make(seed.stage),
        tags: seed.tags,
        source: { channel: seed.channel, campaign: seed.campaign },
        firstSeenAt: DateTime.unsafeMake(seed.firstSeenAt),
        timezone: i % 2 === 0 ? null : Time.Timezone.make("Europe/Paris"),
        fields: Object.fromEntries(Object.entries(seed.fields).filter(([, v]) => v !== undefined))
      })
    )
    yield* s.contacts.insertMany(contacts)
    const events = seeds.flatMap((seed, i) =>
      seed.events.map((e, j) =>
        Fixtures.storedEvent(ws, contacts[i]!.id, `${contacts[i]!.id}-${j}`, {
          type: e.type,
          occurredAt: DateTime.unsafeMake(e.at),
          receivedAt: DateTime.unsafeMake(e.at),
          payload: Object.fromEntries(Object.entries(e.payload).filter(([, v]) => v !== undefined))
        })
      )
    )
    yield* s.events.insertMany(events)
    // What the predicate is evaluated on: the contacts and events as stored and read back.
    const stored = yield* s.contacts.list(ws, { limit: 1_000 })
    const history = new Map(yield* Effect.forEach(stored, (c) => Effect.map(s.events.forContact(ws, c.id, { limit: 1_000 }), (es) => [c.id, es] as const)))
    return { stored, history }
  })

type Population = Effect.Effect.Success<ReturnType<typeof population>>

/** The contacts the predicate holds for, its counts computed as the port documents them. */
const byPredicate = (condition: Condition.Condition, registry: Condition.Registry, { history, stored }: Population): ReadonlyArray<string> => {
  const compiled = Condition.compile(condition, registry)
  return stored
    .filter((contact) => {
      const counts = compiled.counts.map((q) =>
        (history.get(contact.id) ?? []).filter((e) => {
          const at = DateTime.toEpochMillis(e.occurredAt)
          return (
            q.types.includes(e.type) &&
            at <= NOW &&
            (q.withinMillis === undefined || at > NOW - q.withinMillis) &&
            (q.where === undefined || q.where({ contact, event: e, now: NOW, counts: [] }))
          )
        }).length
      )
      return compiled.test({ contact, event: undefined, now: NOW, counts })
    })
    .map((c) => c.id)
    .sort()
}

const bySql = (ws: Ids.WorkspaceId, condition: Condition.Condition, registry: Condition.Registry) =>
  Effect.gen(function* () {
    const s = yield* Storage.Storage
    const query = { condition, registry, now: DateTime.unsafeMake(NOW) }
    const members = yield* s.segments.members(ws, { ...query, limit: 10_000 })
    const count = yield* s.segments.count(ws, query)
    const ids = members.map((c) => c.id as string)
    // Members come in id order, and count agrees with them.
    expect(ids).toEqual([...ids].sort())
    expect(count).toBe(ids.length)
    return ids
  })

const show = (c: Condition.Condition) => JSON.stringify(c)

export const segmentsSuite = (test: Test) => {
  describe("segments in SQL", () => {
    test("property: on generated contacts (colliding-type values) and conditions, SQL selects exactly the predicate's contacts; not(not c) = c; any[c, not c] = everyone", () =>
      Effect.gen(function* () {
        let conditions = 0
        let partial = 0
        const mismatches: Array<string> = []
        for (const seed of [16, 17, 18]) {
          const ws = Fixtures.freshWorkspaceId()
          const registry = registryOf(ws)
          const seeds = fc.sample(contactArb, { seed, numRuns: 30 })
          const pop = yield* population(ws, seeds)
          const everyone = pop.stored.map((c) => c.id as string).sort()
          for (const condition of fc.sample(conditionArb(registry), { seed: seed * 7, numRuns: 120 })) {
            conditions++
            const expected = byPredicate(condition, registry, pop)
            const actual = yield* bySql(ws, condition, registry)
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              mismatches.push(`${show(condition)}: predicate ${expected.length}, SQL ${actual.length}`)
              continue
            }
            if (expected.length > 0 && expected.length < everyone.length) partial++
            const twice = yield* bySql(ws, { not: { not: condition } }, registry)
            if (JSON.stringify(twice) !== JSON.stringify(expected)) mismatches.push(`not(not ${show(condition)})`)
            const either = yield* bySql(ws, { any: [condition, { not: condition }] }, registry)
            if (JSON.stringify(either) !== JSON.stringify(everyone)) mismatches.push(`any[c, not c] for ${show(condition)}: ${either.length} of ${everyone.length}`)
            const both = yield* bySql(ws, { all: [condition, { not: condition }] }, registry)
            if (both.length !== 0) mismatches.push(`all[c, not c] for ${show(condition)}: ${both.length}`)
          }
        }
        expect(mismatches.slice(0, 5)).toEqual([])
        // Not vacuous: a good share of the conditions select some contacts but not all.
        expect(partial).toBeGreaterThan(conditions / 5)
      }))

    // Every leaf, exhaustively: each custom field holding each value of the pool (one contact per
    // value), compared by each operator with each value. A compiler that lets a value of another
    // JSON type into a comparison (a boolean into a number range, a numeric string into a number
    // equality) fails here whatever the generated conditions above happen to draw.
    test("every comparison of a custom field, with every operator and every value of the colliding-type pool, selects exactly the predicate's contacts", () =>
      Effect.gen(function* () {
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const seeds: ReadonlyArray<ContactSeed> = FIELD_VALUES.map((value) => ({
          fields: Object.fromEntries(FIELDS.map((k) => [k, value])),
          firstName: null,
          score: 0,
          stage: "suspect",
          tags: [],
          channel: "web",
          campaign: null,
          firstSeenAt: NOW - DAY,
          events: []
        }))
        const pop = yield* population(ws, seeds)
        const valid = (c: Condition.Condition) => Condition.shapeIssues(c).length === 0 && Condition.check(c, registry).length === 0
        const values: ReadonlyArray<Scalar> = [...SCALARS, ...INSTANTS]
        const mismatches: Array<string> = []
        let checked = 0
        let partial = 0
        for (const path of PATHS.filter((p) => p.startsWith("contact.fields."))) {
          for (const op of OPS) {
            const conditions: ReadonlyArray<Condition.Condition> =
              op === "exists" ? [{ path, op }] : values.flatMap((value): ReadonlyArray<Condition.Condition> => (op === "in" || op === "notIn" ? [{ path, op, value: [value] }, { path, op, value: [value, 3, "a"] }] : [{ path, op, value }]))
            for (const condition of conditions.filter(valid)) {
              checked++
              const expected = byPredicate(condition, registry, pop)
              const actual = yield* bySql(ws, condition, registry)
              if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push(`${show(condition)}: predicate ${expected.length}, SQL ${actual.length}`)
              else if (expected.length > 0 && expected.length < pop.stored.length) partial++
            }
          }
        }
        expect(mismatches.slice(0, 5)).toEqual([])
        // Not vacuous: most fields accept most comparisons, and many select some contacts but not all.
        expect(checked).toBeGreaterThan(800)
        expect(partial).toBeGreaterThan(checked / 4)
      }))

    // One example per trap, on a hand-made population.
    test("traps: JSON true is not 1, '3' is not 3 and '3' > 2 is false, ne/notIn hold for missing and null, startsWith is case-sensitive and literal, strings order by code point", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const make = (name: string, fields: Record<string, unknown>, extra: Partial<Parameters<typeof Fixtures.contact>[1]> = {}) =>
          Fixtures.contact(ws, { firstName: name, fields, ...extra })
        const people = yield* Effect.all([
          make("true", { b: true, n: true, t: true }),
          make("one", { b: 1, n: 1, t: 1 }),
          make("one-text", { b: "1", n: "1", t: "1" }),
          make("three-text", { n: "3", t: "3" }),
          make("three", { n: 3, t: 3 }),
          make("missing", {}),
          make("null", { b: null, n: null, t: null }),
          make("upper", { t: "Apple" }),
          make("lower", { t: "apple" }),
          make("percent", { t: "a%b" }),
          make("emoji", { t: "😀" }),
          make("ffff", { t: "\uFFFF" })
        ])
        yield* s.contacts.insertMany(people)
        const all = people.map((p) => p.firstName!).sort()
        const except = (...names: Array<string>) => all.filter((n) => !names.includes(n))
        const names = (condition: Condition.Condition) =>
          Effect.map(bySql(ws, condition, registry), (ids) => people.filter((p) => ids.includes(p.id)).map((p) => p.firstName).sort())
        // JSON booleans vs 1 (SQLite's json_extract reads true as 1).
        expect(yield* names({ path: "contact.fields.b", op: "eq", value: true })).toEqual(["true"])
        expect(yield* names({ path: "contact.fields.b", op: "ne", value: true })).toEqual(except("true"))
        expect(yield* names({ path: "contact.fields.n", op: "eq", value: 1 })).toEqual(["one"])
        // No coercion: "3" is not 3, "1" is not 1.
        expect(yield* names({ path: "contact.fields.t", op: "eq", value: "1" })).toEqual(["one-text"])
        expect(yield* names({ path: "contact.fields.t", op: "eq", value: "3" })).toEqual(["three-text"])
        expect(yield* names({ path: "contact.fields.n", op: "eq", value: 3 })).toEqual(["three"])
        // Cross-type ordering: only numbers compare with a number ("3" > 2 is false), only strings with a string.
        expect(yield* names({ path: "contact.fields.n", op: "gt", value: 2 })).toEqual(["three"])
        expect(yield* names({ path: "contact.fields.t", op: "gte", value: "3" })).toEqual(["emoji", "ffff", "lower", "percent", "three-text", "upper"])
        // ne / notIn hold for missing and null values.
        expect(yield* names({ path: "contact.fields.n", op: "ne", value: 3 })).toEqual(except("three"))
        expect(yield* names({ path: "contact.fields.n", op: "notIn", value: [3, 1] })).toEqual(except("three", "one"))
        expect(yield* names({ path: "contact.fields.n", op: "in", value: [null] })).toEqual(except("true", "one", "one-text", "three-text", "three"))
        // startsWith: case-sensitive, and % / _ are plain characters (never LIKE).
        expect(yield* names({ path: "contact.fields.t", op: "startsWith", value: "A" })).toEqual(["upper"])
        expect(yield* names({ path: "contact.fields.t", op: "startsWith", value: "a%" })).toEqual(["percent"])
        expect(yield* names({ path: "contact.fields.t", op: "startsWith", value: "a_" })).toEqual([])
        // Code-point order: U+1F600 sorts after U+FFFF (UTF-16 code units would say the opposite).
        expect(yield* names({ path: "contact.fields.t", op: "gt", value: "\uFFFF" })).toEqual(["emoji"])
        expect(Condition.compareText("😀", "\uFFFF")).toBeGreaterThan(0)
        // "Apple" < "apple" by code point, whatever the database's collation.
        expect(yield* names({ path: "contact.fields.t", op: "lt", value: "apple" })).toEqual(["one-text", "percent", "three-text", "upper"])
      }))

    test("traps: contains on text and on lists, exists, time tests against now, calendar dates, counts of past events in a window with where", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const people = yield* Effect.all([
          Fixtures.contact(ws, { firstName: "list", fields: { t: ["a", "b"], ms: ["a", "3"] }, tags: ["vip"] }),
          Fixtures.contact(ws, { firstName: "text", fields: { t: "banana", ms: "a", d: "2026-01-10" }, firstSeenAt: DateTime.unsafeMake(NOW - 2 * DAY) }),
          Fixtures.contact(ws, { firstName: "number", fields: { ms: [3], d: "2025-01-01", dt: "2026-01-14T00:00:00.000Z" }, firstSeenAt: DateTime.unsafeMake(NOW - 100 * DAY) }),
          Fixtures.contact(ws, { firstName: "none", fields: { dt: "not a date", d: 20260110 }, firstSeenAt: DateTime.unsafeMake(NOW + DAY) })
        ])
        yield* s.contacts.insertMany(people)
        const [list, text, number] = people
        yield* s.events.insertMany([
          Fixtures.storedEvent(ws, list!.id, "e1", { type: "order.placed", occurredAt: DateTime.unsafeMake(NOW - DAY), payload: { colour: "red" } }),
          Fixtures.storedEvent(ws, list!.id, "e2", { type: "order.placed", occurredAt: DateTime.unsafeMake(NOW - 40 * DAY), payload: { colour: "red" } }),
          Fixtures.storedEvent(ws, text!.id, "e3", { type: "order.placed", occurredAt: DateTime.unsafeMake(NOW - DAY), payload: { colour: "blue" } }),
          Fixtures.storedEvent(ws, text!.id, "e4", { type: "order.placed", occurredAt: DateTime.unsafeMake(NOW + DAY), payload: { colour: "red" } }),
          Fixtures.storedEvent(ws, number!.id, "e5", { type: "page.viewed", occurredAt: DateTime.unsafeMake(NOW - DAY), payload: { colour: "red" } })
        ])
        const names = (condition: Condition.Condition) =>
          Effect.map(bySql(ws, condition, registry), (ids) => people.filter((p) => ids.includes(p.id)).map((p) => p.firstName).sort())
        expect(yield* names({ path: "contact.fields.t", op: "contains", value: "an" })).toEqual(["text"])
        expect(yield* names({ path: "contact.fields.t", op: "contains", value: "a" })).toEqual(["list", "text"])
        expect(yield* names({ path: "contact.fields.ms", op: "contains", value: "3" })).toEqual(["list"])
        expect(yield* names({ path: "contact.tags", op: "contains", value: "vip" })).toEqual(["list"])
        expect(yield* names({ path: "contact.fields.t", op: "exists" })).toEqual(["list", "text"])
        // A datetime field that does not hold an instant reads as missing, as in the predicate.
        expect(yield* names({ path: "contact.fields.dt", op: "exists" })).toEqual(["number"])
        expect(yield* names({ path: "contact.fields.dt", within: "2 days" })).toEqual(["number"])
        expect(yield* names({ path: "contact.firstSeenAt", within: "30 days" })).toEqual(["text"])
        expect(yield* names({ path: "contact.firstSeenAt", olderThan: "30 days" })).toEqual(["list", "number"])
        // Calendar dates: as their midnight UTC; a number is not a date.
        expect(yield* names({ path: "contact.fields.d", within: "7 days" })).toEqual(["text"])
        expect(yield* names({ path: "contact.fields.d", olderThan: "7 days" })).toEqual(["number"])
        // Counts: in the window, not after now, matching where.
        expect(yield* names({ count: { event: "order.placed" }, op: "gte", value: 1 })).toEqual(["list", "text"])
        expect(yield* names({ count: { event: "order.placed" }, op: "eq", value: 2 })).toEqual(["list"])
        expect(yield* names({ count: { event: "order.placed", within: "30 days" }, op: "eq", value: 1 })).toEqual(["list", "text"])
        expect(yield* names({ count: { event: "order.placed", where: { path: "event.payload.colour", op: "eq", value: "red" } }, op: "gte", value: 1 })).toEqual(["list"])
        expect(yield* names({ count: { event: ["order.placed", "page.viewed"], within: "7 days" }, op: "eq", value: 0 })).toEqual(["none"])
        // The JavaScript predicate agrees on each of them (the property test checks the rest).
      }))

    test("numbers above and below a value: never a boolean, a list, an object, a numeric string or null (types a database may order after numbers)", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const values: ReadonlyArray<readonly [string, unknown]> = [
          ["95", 95], ["90", 90], ["89", 89], ["false", false], ["true", true], ["list", [100]], ["object", { a: 100 }], ["text", "95"], ["null", null]
        ]
        const people = yield* Effect.all([...values.map(([name, n]) => Fixtures.contact(ws, { firstName: name, fields: { n } })), Fixtures.contact(ws, { firstName: "missing" })])
        yield* s.contacts.insertMany(people)
        const names = (condition: Condition.Condition) =>
          Effect.map(bySql(ws, condition, registry), (ids) => people.filter((p) => ids.includes(p.id)).map((p) => p.firstName).sort())
        expect(yield* names({ path: "contact.fields.n", op: "gte", value: 90 })).toEqual(["90", "95"])
        expect(yield* names({ path: "contact.fields.n", op: "gt", value: 90 })).toEqual(["95"])
        expect(yield* names({ path: "contact.fields.n", op: "lt", value: 90 })).toEqual(["89"])
        expect(yield* names({ path: "contact.fields.n", op: "lte", value: 90 })).toEqual(["89", "90"])
      }))

    // A storage may keep what it compiled for a condition and registry it is given again (a saved
    // segment counted often): never what depends on the instant.
    test("the same condition and registry objects asked at two instants: time tests and counts of past events answer for each instant", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const [early, late] = yield* Effect.all([
          Fixtures.contact(ws, { firstName: "early", firstSeenAt: DateTime.unsafeMake(NOW - 10 * DAY) }),
          Fixtures.contact(ws, { firstName: "late", firstSeenAt: DateTime.unsafeMake(NOW - DAY) })
        ])
        yield* s.contacts.insertMany([early!, late!])
        yield* s.events.insertMany([Fixtures.storedEvent(ws, early!.id, "e1", { type: "order.placed", occurredAt: DateTime.unsafeMake(NOW - 2 * DAY) })])
        const recent: Condition.Condition = { path: "contact.firstSeenAt", within: "5 days" }
        const ordered: Condition.Condition = { count: { event: "order.placed", within: "5 days" }, op: "eq", value: 1 }
        const plain: Condition.Condition = { path: "contact.firstName", op: "eq", value: "late" }
        const at = (millis: number, condition: Condition.Condition) => s.segments.count(ws, { condition, registry, now: DateTime.unsafeMake(millis) })
        expect([yield* at(NOW, recent), yield* at(NOW + 20 * DAY, recent), yield* at(NOW, recent)]).toEqual([1, 0, 1])
        expect([yield* at(NOW, ordered), yield* at(NOW + 20 * DAY, ordered), yield* at(NOW - 3 * DAY, ordered)]).toEqual([1, 0, 0])
        expect([yield* at(NOW, plain), yield* at(NOW + 20 * DAY, plain)]).toEqual([1, 1])
      }))

    test("countWithVersions: the count with the workspace's version and a counter's value of the same moment (none and 0 before either is written)", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const query = { condition: { path: "contact.firstName", op: "eq", value: "ada" } as const, registry: registryOf(ws), now: DateTime.unsafeMake(NOW) }
        yield* s.contacts.insertMany(yield* Effect.all([Fixtures.contact(ws, { firstName: "ada" }), Fixtures.contact(ws, { firstName: "bob" })]))
        expect(yield* s.segments.countWithVersions(ws, query, "rules")).toEqual({ count: 1, workspaceVersion: undefined, counter: 0 })
        const v1 = yield* s.workspaces.insertIfAbsent(Fixtures.workspace(ws))
        yield* s.workspaces.update(new Workspace.Workspace({ ...v1, name: "Renamed", version: 2 }), 1)
        yield* s.counters.increment(ws, "rules")
        yield* s.counters.increment(ws, "rules")
        yield* s.counters.increment(ws, "other")
        yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { firstName: "ada" })])
        expect(yield* s.segments.countWithVersions(ws, query, "rules")).toEqual({ count: 2, workspaceVersion: 2, counter: 2 })
        expect(yield* s.segments.count(ws, query)).toBe(2)
      }))

    test("a segment's condition is contact-only: event.* paths and sinceTrigger are refused with a ValidationError naming the path", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const registry = registryOf(ws)
        const now = DateTime.unsafeMake(NOW)
        const refused = (condition: Condition.Condition) => Effect.either(s.segments.count(ws, { condition, registry, now }))
        const event = yield* refused({ path: "event.payload.colour", op: "eq", value: "red" })
        expect(Either.isLeft(event) && event.left._tag === "ValidationError" ? event.left.issues.map((i) => i.path) : event).toEqual([["condition", "path"]])
        const trigger = yield* refused({ count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 })
        expect(Either.isLeft(trigger) && trigger.left._tag === "ValidationError" ? trigger.left.issues.map((i) => i.path) : trigger).toEqual([["condition", "count", "sinceTrigger"]])
        const unknown = yield* refused({ path: "contact.fields.nope", op: "exists" })
        expect(Either.isLeft(unknown) && unknown.left._tag === "ValidationError" ? unknown.left.message : unknown).toMatch(/no contact field "nope"/)
      }))

    test("saved segments: insert, get, list by name, a taken name is a Conflict, versioned update, remove; per workspace", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const at = DateTime.unsafeMake(NOW)
        const segment = (workspaceId: Ids.WorkspaceId, n: number, name: string) =>
          new Segment.Segment({
            id: Segment.SegmentId.make(`018f0000-0000-7000-b000-${String(n).padStart(12, "0")}`),
            workspaceId,
            name,
            description: n === 1 ? "Best customers — é 🎉" : null,
            condition: { all: [{ path: "contact.tags", op: "contains", value: "vip" }, { not: { path: "contact.fields.t", op: "eq", value: true } }] },
            version: 1,
            createdAt: at,
            updatedAt: at
          })
        const vip = segment(ws, 1, "VIP")
        yield* s.segments.insert(vip)
        yield* s.segments.insert(segment(ws, 2, "Another"))
        yield* s.segments.insert(segment(other, 3, "VIP"))
        const taken = yield* Effect.either(s.segments.insert(segment(ws, 4, "VIP")))
        expect(Either.isLeft(taken) && taken.left._tag === "Conflict" ? [taken.left.reason, taken.left.field] : taken).toEqual(["unique", "name"])
        expect(Option.getOrNull(yield* s.segments.get(ws, vip.id))).toEqual(vip)
        expect(Option.isNone(yield* s.segments.get(other, vip.id))).toBe(true)
        expect((yield* s.segments.list(ws)).map((x) => x.name)).toEqual(["Another", "VIP"])
        const renamed = new Segment.Segment({ ...vip, name: "Very important", version: 2 })
        yield* s.segments.update(renamed, 1)
        const stale = yield* Effect.either(s.segments.update(new Segment.Segment({ ...vip, version: 2 }), 1))
        expect(Either.isLeft(stale) && stale.left._tag === "Conflict" ? stale.left.reason : stale).toBe("version")
        const clash = yield* Effect.either(s.segments.update(new Segment.Segment({ ...renamed, name: "Another", version: 3 }), 2))
        expect(Either.isLeft(clash) && clash.left._tag === "Conflict" ? [clash.left.reason, clash.left.field] : clash).toEqual(["unique", "name"])
        expect(Option.getOrNull(yield* s.segments.get(ws, vip.id))?.name).toBe("Very important")
        expect(yield* s.segments.remove(ws, vip.id)).toBe(true)
        expect(yield* s.segments.remove(ws, vip.id)).toBe(false)
        expect((yield* s.segments.list(other)).map((x) => x.name)).toEqual(["VIP"])
      }))

    test("through the service: create checks the condition, count and members page through a saved or ad-hoc segment (on an indexed field)", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect)
        yield* run(crm.fields.define({ key: "colour", type: "text", indexed: true }))
        for (let i = 0; i < 7; i++) {
          yield* run(crm.contacts.create({ email: `p${i}@example.com`, fields: { colour: i % 2 === 0 ? "red" : "blue" } }))
        }
        const bad = yield* Effect.either(run(crm.segments.create({ name: "Bad", condition: { path: "contact.fields.color", op: "eq", value: "red" } })))
        expect(Either.isLeft(bad) && bad.left._tag === "ValidationError" ? bad.left.issues.map((i) => i.path) : bad).toEqual([["condition", "path"]])
        const red = yield* run(crm.segments.create({ name: "Red", condition: { path: "contact.fields.colour", op: "eq", value: "red" } }))
        expect(yield* run(crm.segments.count({ segmentId: red.id }))).toBe(4)
        expect(yield* run(crm.segments.count({ condition: { not: { path: "contact.fields.colour", op: "eq", value: "red" } } }))).toBe(3)
        const seen: Array<string> = []
        let cursor: string | undefined
        for (let pages = 0; pages < 10; pages++) {
          const page = yield* run(crm.segments.members({ segmentId: red.id }, { limit: 3, ...(cursor === undefined ? {} : { cursor }) }))
          seen.push(...page.items.map((c) => c.fields["colour"] as string))
          if (page.nextCursor === null) break
          cursor = page.nextCursor
        }
        expect(seen).toEqual(["red", "red", "red", "red"])
        const missing = yield* Effect.either(run(crm.segments.count({ segmentId: "018f0000-0000-7000-b000-000000000999" })))
        expect(Either.isLeft(missing) ? missing.left._tag : missing).toBe("NotFound")
      }))
  })
}
