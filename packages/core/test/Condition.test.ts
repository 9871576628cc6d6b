import { Condition, Contact, FieldDefinition, Ids, LifecycleDefinition } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { contactField } from "./helpers.js"

const ws = Ids.WorkspaceId.make("conditions")
const epoch = DateTime.unsafeMake("2025-01-01T00:00:00Z")
const field = (key: string, type: FieldDefinition.FieldType, options: ReadonlyArray<string> = []) => contactField(ws, key, type, options)

const fields = [field("colour", "select", ["red", "white", "rosé"]), field("size", "integer"), field("renewal", "date"), field("lastSeen", "datetime"), field("credit", "money"), field("topics", "multiSelect", ["wine", "beer"])]
const registry: Condition.Registry = { fields, stages: LifecycleDefinition.classic.stages.map((s) => s.key), event: true }

const contact = (overrides: Partial<Contact.Contact> = {}) =>
  new Contact.Contact({
    id: Ids.ContactId.make("00000000-0000-7000-8000-000000000001"),
    workspaceId: ws,
    email: null,
    firstName: "Ada",
    lastName: null,
    phone: null,
    emails: [],
    phones: [],
    companyId: null,
    source: { channel: "trade-show", campaign: null },
    firstSeenAt: epoch,
    stage: LifecycleDefinition.StageKey.make("customer"),
    tags: ["vip"],
    ownerId: null,
    score: 10,
    timezone: null,
    fields: {},
    version: 1,
    createdAt: epoch,
    updatedAt: epoch,
    ...overrides
  })

const event = (type: string, payload: Record<string, unknown>, occurredAt = epoch) => ({ id: "e-1", type, occurredAt, receivedAt: occurredAt, payload })

const holds = (condition: unknown, c = contact(), e: Condition.EventView | undefined = event("page.viewed", {}), now = epoch, counts: ReadonlyArray<number> = []) => {
  const decoded = Schema.decodeUnknownSync(Condition.Condition)(condition)
  expect(Condition.check(decoded, registry)).toEqual([])
  return Condition.compile(decoded, registry).test({ contact: c, event: e, now: DateTime.toEpochMillis(now), counts })
}

const shapeIssues = (u: unknown) => Condition.shapeIssues(u).map((i) => `${i.path.join(".")}: ${i.message}`)
const checkIssues = (u: unknown, r: Condition.Registry = registry) =>
  Condition.check(Schema.decodeUnknownSync(Condition.Condition)(u), r).map((i) => `${i.path.join(".")}: ${i.message}`)

describe("condition shape", () => {
  it("names every problem at its path", () => {
    expect(
      shapeIssues({
        all: [
          { path: "contact.email", op: "equals", value: "x" },
          { path: "customer.email", op: "eq", value: "x" },
          { path: "contact.score", op: "gt", value: { n: 1 } },
          { count: { event: "orders", within: "3 dayz" }, op: "gte", value: -1 },
          { path: "contact.firstSeenAt", olderThan: "30 days", within: "1 day" },
          { path: "event.payload.constructor", op: "exists" },
          "nope"
        ]
      })
    ).toEqual([
      "all.0.op: must be one of eq, ne, gt, gte, lt, lte, in, notIn, contains, startsWith, exists (got \"equals\")",
      'all.1.path: must start with "contact." or "event." (got "customer.email")',
      'all.2.value: must be a string, a finite number, true, false or null (got {"n":1})',
      'all.3.count.event: must be an event type such as "order.placed", or a non-empty list of them (got "orders")',
      'all.3.count.within: must be a duration such as "30 minutes", "2 hours", "1 day" or "2 weeks" (got "3 dayz")',
      "all.3.value: must be a whole number, 0 or more (got -1)",
      'all.4: give "olderThan" or "within", not both',
      'all.5.path: "constructor" cannot appear in a path (every JavaScript object has it)',
      'all.6: must be a condition: { all }, { any }, { not }, { path, op, value }, { path, olderThan | within } or { count, op, value } (got "nope")'
    ])
  })

  it("decoding reports the issues through the Schema, with their paths", () => {
    const decoded = Schema.decodeUnknownEither(Condition.Condition)({ any: [{ path: "contact.email", op: "in", value: [] }] })
    expect(Either.isLeft(decoded)).toBe(true)
    expect(String(Either.isLeft(decoded) ? decoded.left.message : "")).toContain('"in" takes a list of 1 to 1,000')
  })
})

describe("condition paths against the workspace", () => {
  it("refuses unknown attributes and fields, values of the wrong kind, unknown stages and options", () => {
    expect(
      checkIssues({
        all: [
          { path: "contact.nickname", op: "exists" },
          { path: "contact.fields.colur", op: "eq", value: "red" },
          { path: "contact.fields.colour", op: "eq", value: "blue" },
          { path: "contact.score", op: "eq", value: "10" },
          { path: "contact.stage", op: "in", value: ["customer", "custmer"] },
          { path: "contact.tags", op: "eq", value: "vip" },
          { path: "contact.fields.credit", op: "gt", value: 5 },
          { path: "contact.firstSeenAt", op: "gt", value: "last week" },
          { path: "contact.email", olderThan: "1 day" }
        ]
      })
    ).toEqual([
      'all.0.path: "contact.nickname" is not a contact attribute; use contact.id, email, firstName, lastName, phone, companyId, stage, tags, ownerId, score, timezone, firstSeenAt, createdAt, updatedAt, contact.source.channel, contact.source.campaign or contact.fields.<key>',
      'all.1.path: "contact.fields.colur": no contact field "colur" is defined (fields: colour, size, renewal, lastSeen, credit, topics)',
      'all.2.value: contact.fields.colour: "blue" is not an option of field "colour" (options: red, white, rosé)',
      "all.3.value: contact.score: is a number: compare it with a number using eq, ne, gt, gte, lt, lte, in or notIn",
      "all.4.value.1: contact.stage: unknown stage \"custmer\"; stages are suspect, prospect, customer, loyal, fan, addict",
      'all.5.value: contact.tags: is a list: use "contains" (or "exists")',
      "all.6.value: contact.fields.credit: is an amount: compare its .amountMinor or .currency",
      'all.7.value: contact.firstSeenAt: is an instant: compare it with an ISO-8601 instant such as "2025-03-30T10:00:00Z" (or use olderThan / within)',
      "all.8.path: contact.email is text, not an instant: olderThan / within need an instant"
    ])
  })

  it("event paths only where there is an event; counts do not nest", () => {
    const noEvent = { ...registry, event: false }
    expect(checkIssues({ path: "event.payload.url", op: "exists" }, noEvent)).toEqual(['path: "event.payload.url": there is no event here; only contact.* paths can be used'])
    expect(
      checkIssues({ count: { event: "page.viewed", where: { count: { event: "order.placed" }, op: "gte", value: 1 } }, op: "gte", value: 1 })
    ).toEqual(["count.where.count: a count cannot be nested in another count's where"])
  })
})

describe("condition semantics", () => {
  it("eq and ne never coerce; missing and null are the same", () => {
    expect(holds({ path: "contact.score", op: "eq", value: 10 })).toBe(true)
    expect(holds({ path: "event.payload.n", op: "eq", value: "3" }, contact(), event("x.y", { n: 3 }))).toBe(false)
    expect(holds({ path: "contact.email", op: "eq", value: null })).toBe(true)
    expect(holds({ path: "event.payload.missing", op: "eq", value: null })).toBe(true)
    expect(holds({ path: "event.payload.missing", op: "ne", value: "a" })).toBe(true)
    expect(holds({ path: "event.payload.missing", op: "notIn", value: ["a"] })).toBe(true)
    expect(holds({ path: "event.payload.missing", op: "in", value: ["a", null] })).toBe(true)
    expect(holds({ not: { path: "contact.email", op: "exists" } })).toBe(true)
  })

  it("orders numbers as numbers, strings by code unit, instants in time, dates as dates", () => {
    expect(holds({ path: "contact.score", op: "gte", value: 10 })).toBe(true)
    expect(holds({ path: "contact.score", op: "gt", value: 9.5 })).toBe(true)
    expect(holds({ path: "event.payload.v", op: "lt", value: "b" }, contact(), event("x.y", { v: "a" }))).toBe(true)
    expect(holds({ path: "event.payload.v", op: "lt", value: 5 }, contact(), event("x.y", { v: "4" }))).toBe(false)
    // The same instant written two ways is equal.
    expect(holds({ path: "contact.firstSeenAt", op: "eq", value: "2025-01-01T01:00:00+01:00" })).toBe(true)
    expect(holds({ path: "contact.fields.lastSeen", op: "gt", value: "2025-03-01T00:00:00Z" }, contact({ fields: { lastSeen: "2025-03-01T00:00:01.000Z" } }))).toBe(true)
    expect(holds({ path: "contact.fields.renewal", op: "lt", value: "2025-10-01" }, contact({ fields: { renewal: "2025-09-30" } }))).toBe(true)
  })

  it("contains looks into text and lists; startsWith into text", () => {
    expect(holds({ path: "contact.tags", op: "contains", value: "vip" })).toBe(true)
    expect(holds({ path: "contact.fields.topics", op: "contains", value: "wine" }, contact({ fields: { topics: ["beer", "wine"] } }))).toBe(true)
    expect(holds({ path: "contact.firstName", op: "contains", value: "d" })).toBe(true)
    expect(holds({ path: "contact.source.channel", op: "startsWith", value: "trade" })).toBe(true)
    expect(holds({ path: "event.payload.lines.0.sku", op: "startsWith", value: "RED" }, contact(), event("order.placed", { lines: [{ sku: "RED-42" }] }))).toBe(true)
  })

  it("olderThan and within look back from now", () => {
    const now = DateTime.unsafeMake("2025-01-31T00:00:00Z")
    expect(holds({ path: "contact.firstSeenAt", olderThan: "29 days" }, contact(), undefined, now)).toBe(true)
    expect(holds({ path: "contact.firstSeenAt", olderThan: "31 days" }, contact(), undefined, now)).toBe(false)
    expect(holds({ path: "event.occurredAt", within: "1 day" }, contact(), event("x.y", {}, DateTime.unsafeMake("2025-01-30T12:00:00Z")), now)).toBe(true)
    expect(holds({ path: "event.payload.at", within: "1 day" }, contact(), event("x.y", { at: "2025-01-20T00:00:00Z" }), now)).toBe(false)
  })

  it("counts read the values the caller computed, in order", () => {
    const condition = Schema.decodeUnknownSync(Condition.Condition)({
      all: [
        { count: { event: "page.viewed", within: "30 days", where: { path: "event.payload.colour", op: "eq", value: "red" } }, op: "gte", value: 3 },
        { count: { event: ["order.placed"], sinceTrigger: true }, op: "eq", value: 0 }
      ]
    })
    const compiled = Condition.compile(condition, registry)
    expect(compiled.counts.map((q) => [q.types, q.withinMillis, q.sinceTrigger, q.where === undefined])).toEqual([
      [["page.viewed"], 30 * 86_400_000, false, false],
      [["order.placed"], undefined, true, true]
    ])
    expect(compiled.counts[0]!.where!({ contact: contact(), event: event("page.viewed", { colour: "red" }), now: 0, counts: [] })).toBe(true)
    const context = (counts: ReadonlyArray<number>) => ({ contact: contact(), event: undefined, now: 0, counts })
    expect([compiled.test(context([3, 0])), compiled.test(context([2, 0])), compiled.test(context([5, 1]))]).toEqual([true, false, false])
  })

  it("explain says what each part read and why the whole holds or not", () => {
    const condition = Schema.decodeUnknownSync(Condition.Condition)({ all: [{ path: "contact.score", op: "gt", value: 20 }, { path: "contact.tags", op: "contains", value: "vip" }] })
    const explanation = Condition.explain(condition, registry, { contact: contact(), event: undefined, now: 0, counts: [] })
    expect(explanation).toEqual({
      holds: false,
      description: "all of 2",
      parts: [
        { holds: false, description: "contact.score gt 20 (actual: 10)" },
        { holds: true, description: 'contact.tags contains "vip" (actual: ["vip"])' }
      ]
    })
  })
})

// --- properties: the compiled predicate against a plain interpreter of the documented semantics

const scalar = FastCheck.oneof(FastCheck.constantFrom("red", "white", "a", "b", "", null), FastCheck.integer({ min: -2, max: 12 }), FastCheck.boolean())
const leafPaths = ["contact.score", "contact.firstName", "contact.tags", "contact.fields.size", "event.payload.colour", "event.payload.n"] as const
const comparisonArb = FastCheck.record({
  path: FastCheck.constantFrom(...leafPaths),
  op: FastCheck.constantFrom<Condition.Operator>("eq", "ne", "gt", "gte", "lt", "lte", "in", "notIn", "contains", "startsWith", "exists"),
  value: scalar,
  list: FastCheck.array(scalar, { minLength: 1, maxLength: 3 })
}).map(({ path, op, value, list }): Condition.Comparison => {
  if (op === "exists") return { path, op }
  if (op === "in" || op === "notIn") return { path, op, value: list }
  if (op === "startsWith") return { path, op, value: typeof value === "string" ? value : "a" }
  if ((op === "gt" || op === "gte" || op === "lt" || op === "lte") && typeof value !== "number" && typeof value !== "string") return { path, op, value: 5 }
  return { path, op, value: value as Condition.Scalar }
})
const conditionArb: FastCheck.Arbitrary<Condition.Condition> = FastCheck.letrec<{ node: Condition.Condition }>((tie) => ({
  node: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparisonArb,
    FastCheck.record({ all: FastCheck.array(tie("node"), { maxLength: 3 }) }),
    FastCheck.record({ any: FastCheck.array(tie("node"), { maxLength: 3 }) }),
    FastCheck.record({ not: tie("node") })
  )
})).node

const subjectArb = FastCheck.record({
  score: FastCheck.integer({ min: -2, max: 12 }),
  firstName: FastCheck.option(FastCheck.constantFrom("red", "a", "ab", "b"), { nil: null }),
  tags: FastCheck.uniqueArray(FastCheck.constantFrom("red", "a", "vip"), { maxLength: 3 }),
  size: FastCheck.option(FastCheck.integer({ min: -2, max: 12 }), { nil: undefined }),
  payload: FastCheck.dictionary(FastCheck.constantFrom("colour", "n"), scalar)
})

// The documented semantics, written as plainly as possible.
const read = (path: string, s: typeof subjectArb extends FastCheck.Arbitrary<infer T> ? T : never): unknown =>
  ({
    "contact.score": s.score,
    "contact.firstName": s.firstName,
    "contact.tags": s.tags,
    "contact.fields.size": s.size,
    "event.payload.colour": s.payload["colour"],
    "event.payload.n": s.payload["n"]
  })[path]
const same = (a: unknown, b: unknown) => (b === null ? a === null || a === undefined : a === b)
const interpret = (c: Condition.Condition, s: Parameters<typeof read>[1]): boolean => {
  if ("all" in c) return c.all.every((x) => interpret(x, s))
  if ("any" in c) return c.any.some((x) => interpret(x, s))
  if ("not" in c) return !interpret(c.not, s)
  const { path, op, value } = c as Condition.Comparison
  const v = read(path, s)
  const order = () => (typeof v === "number" && typeof value === "number" ? Math.sign(v - value) : typeof v === "string" && typeof value === "string" ? (v < value ? -1 : v > value ? 1 : 0) : undefined)
  switch (op) {
    case "exists":
      return v !== undefined && v !== null
    case "eq":
      return same(v, value as Condition.Scalar)
    case "ne":
      return !same(v, value as Condition.Scalar)
    case "in":
      return (value as ReadonlyArray<Condition.Scalar>).some((x) => same(v, x))
    case "notIn":
      return !(value as ReadonlyArray<Condition.Scalar>).some((x) => same(v, x))
    case "gt":
      return order() === 1
    case "gte":
      return order() === 1 || order() === 0
    case "lt":
      return order() === -1
    case "lte":
      return order() === -1 || order() === 0
    case "contains":
      return typeof v === "string" ? typeof value === "string" && v.includes(value) : Array.isArray(v) && v.some((x) => same(x, value as Condition.Scalar))
    case "startsWith":
      return typeof v === "string" && v.startsWith(value as string)
  }
}

const contextOf = (s: Parameters<typeof read>[1]): Condition.Context => ({
  contact: contact({ score: s.score, firstName: s.firstName, tags: s.tags, fields: s.size === undefined ? {} : { size: s.size } }),
  event: event("x.y", s.payload),
  now: 0,
  counts: []
})

describe("condition properties", () => {
  it.prop("the compiled predicate agrees with the documented semantics on every condition and contact", [conditionArb, subjectArb], ([condition, subject]) => {
    const compiled = Condition.compile(condition, registry)
    expect(compiled.test(contextOf(subject))).toBe(interpret(condition, subject))
  }, { fastCheck: { numRuns: 500 } })

  it.prop("explain and the predicate agree, and evaluation is deterministic", [conditionArb, subjectArb], ([condition, subject]) => {
    const context = contextOf(subject)
    const compiled = Condition.compile(condition, registry)
    const first = compiled.test(context)
    expect(compiled.test(context)).toBe(first)
    expect(Condition.compile(condition, registry).test(context)).toBe(first)
    expect(Condition.explain(condition, registry, context).holds).toBe(first)
  }, { fastCheck: { numRuns: 300 } })

  it.prop("not (all of a, b) is any of (not a, not b)", [conditionArb, conditionArb, subjectArb], ([a, b, subject]) => {
    const context = contextOf(subject)
    const left = Condition.compile({ not: { all: [a, b] } }, registry).test(context)
    const right = Condition.compile({ any: [{ not: a }, { not: b }] }, registry).test(context)
    expect(left).toBe(right)
  })

  it.prop("every condition built from the documented forms decodes, and encodes back unchanged", [conditionArb], ([condition]) => {
    expect(Condition.shapeIssues(condition)).toEqual([])
    expect(Schema.encodeSync(Condition.Condition)(Schema.decodeUnknownSync(Condition.Condition)(condition))).toEqual(condition)
  })
})
