/**
 * The condition language rules (and, later, segments) are written in: one JSON AST.
 *
 * ```json
 * { "all": [
 *   { "path": "contact.fields.favouriteColour", "op": "eq", "value": "red" },
 *   { "count": { "event": "page.viewed", "within": "30 days",
 *                "where": { "path": "event.payload.colour", "op": "eq", "value": "red" } },
 *     "op": "gte", "value": 3 },
 *   { "not": { "path": "contact.tags", "op": "contains", "value": "vip" } }
 * ] }
 * ```
 *
 * - `all` / `any` / `not` combine conditions (`all: []` holds, `any: []` does not).
 * - Comparisons read a path: `contact.<attribute>`, `contact.source.channel`,
 *   `contact.fields.<key>`, `event.id`, `event.type`, `event.occurredAt`, `event.payload.<…>`.
 *   Operators: `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `in`, `notIn`, `contains` (a substring, or
 *   an element of a list), `startsWith`, `exists`. Values are never coerced: `"3"` is not `3`. A
 *   missing value and `null` are the same; `ne` and `notIn` hold for them, other operators do not.
 * - Time: `{ "path": "contact.firstSeenAt", "olderThan": "30 days" }` or `"within"`.
 * - Counts of the contact's past events: `{ "count": { "event": "order.placed", "within": "90
 *   days" }, "op": "gte", "value": 2 }`; `"sinceTrigger": true` counts only events since the
 *   event the rule reacted to: those of another type from its very millisecond on, those of its
 *   own type (never that event itself) from the next; `where` filters the counted events (its
 *   `event.*` paths are theirs).
 *
 * Conditions are evaluated as of an instant (`now`). The AST is checked in two steps: its shape
 * when decoded ({@link Condition}), its paths and values against the workspace (fields, stages)
 * with {@link check}. {@link fold} walks it for any backend: {@link compile} builds a predicate,
 * {@link explain} a readable trace; a SQL backend for segments is another algebra.
 *
 * @since 0.3.0
 */
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import type { ValidationIssue } from "./Errors.js"
import type { FieldDefinition } from "./FieldDefinition.js"
import { SafeString } from "./Json.js"
import { isCalendarDate, parseIsoInstant } from "./Time.js"
import { parseSpan, spanMillis } from "./Schedule.js"
import { showValue } from "../internal/show.js"

/**
 * A value a comparison may hold.
 *
 * @since 0.3.0
 * @category models
 */
export type Scalar = string | number | boolean | null

/**
 * Comparison operators.
 *
 * @since 0.3.0
 * @category models
 */
export type Operator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "notIn" | "contains" | "startsWith" | "exists"

/**
 * Operators of counts.
 *
 * @since 0.3.0
 * @category models
 */
export type CountOperator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte"

/**
 * `{ path, op, value }`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Comparison {
  readonly path: string
  readonly op: Operator
  readonly value?: Scalar | ReadonlyArray<Scalar> | undefined
}

/**
 * `{ path, olderThan }` or `{ path, within }`.
 *
 * @since 0.3.0
 * @category models
 */
export interface TimeTest {
  readonly path: string
  readonly olderThan?: string | undefined
  readonly within?: string | undefined
}

/**
 * What a count counts: the contact's events of a type (or types), in a window, matching `where`.
 *
 * @since 0.3.0
 * @category models
 */
export interface CountSpec {
  readonly event: string | ReadonlyArray<string>
  readonly within?: string | undefined
  readonly sinceTrigger?: boolean | undefined
  readonly where?: Condition | undefined
}

/**
 * `{ count, op, value }`.
 *
 * @since 0.3.0
 * @category models
 */
export interface CountTest {
  readonly count: CountSpec
  readonly op: CountOperator
  readonly value: number
}

/**
 * A condition.
 *
 * @since 0.3.0
 * @category models
 */
export type Condition =
  | { readonly all: ReadonlyArray<Condition> }
  | { readonly any: ReadonlyArray<Condition> }
  | { readonly not: Condition }
  | Comparison
  | TimeTest
  | CountTest

// ---------------------------------------------------------------------------------------------
// Shape

const OPERATORS: ReadonlyArray<Operator> = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "notIn", "contains", "startsWith", "exists"]
const COUNT_OPERATORS: ReadonlyArray<CountOperator> = ["eq", "ne", "gt", "gte", "lt", "lte"]
const EVENT_TYPE = /^[a-z][a-zA-Z0-9_-]*(?:\.[a-z][a-zA-Z0-9_-]*)+$/
const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_-]{0,63}|\d{1,6})$/
const MAX_DEPTH = 16
const MAX_NODES = 500
// Names every JavaScript object answers to: a path through them would read a function, not data.
const RESERVED: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"])

type Path = ReadonlyArray<string | number>
type Issues = Array<ValidationIssue>

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)
const isScalar = (u: unknown): u is Scalar =>
  u === null || typeof u === "string" || typeof u === "boolean" || (typeof u === "number" && Number.isFinite(u))
const show = (u: unknown) => (u === undefined ? "nothing" : showValue(u))
// Text PostgreSQL cannot store (a NUL, a lone surrogate) is refused here as everywhere else: the
// rule is saved as JSON.
const unstorable = (u: unknown) => typeof u === "string" && !Schema.is(SafeString)(u)
const UNSTORABLE = "must not contain the NUL character or a lone surrogate (text every database can store)"
const KINDS = '{ all }, { any }, { not }, { path, op, value }, { path, olderThan | within } or { count, op, value }'

const unexpected = (node: Readonly<Record<string, unknown>>, allowed: ReadonlyArray<string>, path: Path, issues: Issues) => {
  for (const key of Object.keys(node)) {
    if (!allowed.includes(key)) issues.push({ path: [...path, key], message: `is not a property of this kind of condition (it takes ${allowed.join(", ")})` })
  }
}

/** Syntax of a path: dot-separated segments, starting with `contact` or `event`. */
export const pathProblem = (path: unknown): string | undefined => {
  if (typeof path !== "string") return `must be a path such as "contact.fields.colour" (got ${show(path)})`
  const segments = path.split(".")
  if (segments[0] !== "contact" && segments[0] !== "event") {
    return `must start with "contact." or "event." (got ${JSON.stringify(path)})`
  }
  if (segments.length < 2 || segments.length > 10) return `must have 2 to 10 dot-separated segments (got ${JSON.stringify(path)})`
  const bad = segments.find((s) => !SEGMENT.test(s) || RESERVED.has(s))
  if (bad !== undefined) {
    return RESERVED.has(bad)
      ? `"${bad}" cannot appear in a path (every JavaScript object has it)`
      : `segment ${JSON.stringify(bad)} of ${JSON.stringify(path)} must be a name (letters, digits, _ or -) or a list index`
  }
  return undefined
}

const checkSpan = (value: unknown, path: Path, issues: Issues) => {
  if (typeof value !== "string") return void issues.push({ path, message: `must be a duration such as "7 days" (got ${show(value)})` })
  const parsed = parseSpan(value)
  if (typeof parsed === "string") issues.push({ path, message: parsed })
}

const shape = (u: unknown, path: Path, issues: Issues, depth: number, nodes: { n: number }): void => {
  if (++nodes.n > MAX_NODES) {
    if (nodes.n === MAX_NODES + 1) issues.push({ path, message: `a condition has at most ${MAX_NODES} parts` })
    return
  }
  if (depth > MAX_DEPTH) return void issues.push({ path, message: `conditions nest at most ${MAX_DEPTH} levels deep` })
  if (!isObject(u)) return void issues.push({ path, message: `must be a condition: ${KINDS} (got ${show(u)})` })
  if ("all" in u || "any" in u) {
    const key = "all" in u ? "all" : "any"
    unexpected(u, [key], path, issues)
    const items = u[key]
    if (!Array.isArray(items)) return void issues.push({ path: [...path, key], message: `must be a list of conditions (got ${show(items)})` })
    items.forEach((item, i) => shape(item, [...path, key, i], issues, depth + 1, nodes))
    return
  }
  if ("not" in u) {
    unexpected(u, ["not"], path, issues)
    return shape(u["not"], [...path, "not"], issues, depth + 1, nodes)
  }
  if ("count" in u) {
    unexpected(u, ["count", "op", "value"], path, issues)
    const spec = u["count"]
    if (!isObject(spec)) {
      issues.push({ path: [...path, "count"], message: `must be { event, within?, sinceTrigger?, where? } (got ${show(spec)})` })
    } else {
      unexpected(spec, ["event", "within", "sinceTrigger", "where"], [...path, "count"], issues)
      const types = typeof spec["event"] === "string" ? [spec["event"]] : spec["event"]
      if (!Array.isArray(types) || types.length === 0 || types.some((t) => typeof t !== "string" || !EVENT_TYPE.test(t) || t.length > 100)) {
        issues.push({ path: [...path, "count", "event"], message: `must be an event type such as "order.placed", or a non-empty list of them (got ${show(spec["event"])})` })
      }
      if (spec["within"] !== undefined) checkSpan(spec["within"], [...path, "count", "within"], issues)
      if (spec["sinceTrigger"] !== undefined && typeof spec["sinceTrigger"] !== "boolean") {
        issues.push({ path: [...path, "count", "sinceTrigger"], message: `must be true or false (got ${show(spec["sinceTrigger"])})` })
      }
      if (spec["where"] !== undefined) shape(spec["where"], [...path, "count", "where"], issues, depth + 1, nodes)
    }
    if (!COUNT_OPERATORS.includes(u["op"] as CountOperator)) {
      issues.push({ path: [...path, "op"], message: `must be one of ${COUNT_OPERATORS.join(", ")} (got ${show(u["op"])})` })
    }
    const value = u["value"]
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      issues.push({ path: [...path, "value"], message: `must be a whole number, 0 or more (got ${show(value)})` })
    }
    return
  }
  if (!("path" in u)) return void issues.push({ path, message: `must be a condition: ${KINDS} (got an object with ${Object.keys(u).map((k) => JSON.stringify(k)).join(", ") || "no properties"})` })
  const problem = pathProblem(u["path"])
  if (problem !== undefined) issues.push({ path: [...path, "path"], message: problem })
  if ("olderThan" in u || "within" in u) {
    unexpected(u, ["path", "olderThan", "within"], path, issues)
    if ("olderThan" in u && "within" in u) return void issues.push({ path, message: 'give "olderThan" or "within", not both' })
    const key = "olderThan" in u ? "olderThan" : "within"
    return checkSpan(u[key], [...path, key], issues)
  }
  unexpected(u, ["path", "op", "value"], path, issues)
  const op = u["op"] as Operator
  if (!OPERATORS.includes(op)) return void issues.push({ path: [...path, "op"], message: `must be one of ${OPERATORS.join(", ")} (got ${show(u["op"])})` })
  const value = u["value"]
  if (op === "exists") {
    if ("value" in u) issues.push({ path: [...path, "value"], message: '"exists" takes no value; wrap it in { "not": … } to test absence' })
  } else if (op === "in" || op === "notIn") {
    if (!Array.isArray(value) || value.length === 0 || value.length > 1000 || !value.every(isScalar)) {
      issues.push({ path: [...path, "value"], message: `"${op}" takes a list of 1 to 1,000 strings, numbers, booleans or null (got ${show(value)})` })
    } else if (value.some(unstorable)) {
      issues.push({ path: [...path, "value", value.findIndex(unstorable)], message: UNSTORABLE })
    }
  } else if (!isScalar(value)) {
    issues.push({ path: [...path, "value"], message: `must be a string, a finite number, true, false or null (got ${show(value)})` })
  } else if (unstorable(value)) {
    issues.push({ path: [...path, "value"], message: UNSTORABLE })
  } else if (op === "startsWith" && typeof value !== "string") {
    issues.push({ path: [...path, "value"], message: `"startsWith" takes a string (got ${show(value)})` })
  } else if ((op === "gt" || op === "gte" || op === "lt" || op === "lte") && typeof value !== "number" && typeof value !== "string") {
    issues.push({ path: [...path, "value"], message: `"${op}" compares numbers, or strings such as dates (got ${show(value)})` })
  }
}

/**
 * Every shape problem of a condition (unknown operator, bad path syntax, bad duration…), at the
 * path where it is.
 *
 * @since 0.3.0
 * @category utils
 */
export const shapeIssues = (u: unknown, path: ReadonlyArray<string | number> = []): ReadonlyArray<ValidationIssue> => {
  const issues: Issues = []
  shape(u, path, issues, 0, { n: 0 })
  return issues
}

/**
 * A condition, decoded from JSON: its shape is checked (every problem reported at its path);
 * paths and values against the workspace are checked by {@link check}.
 *
 * @since 0.3.0
 * @category schemas
 */
const decodeShape = (u: unknown, _options: unknown, ast: SchemaAST.AST): Either.Either<Condition, ParseResult.ParseIssue> => {
  const issues = shapeIssues(u)
  if (issues.length === 0) return Either.right(u as Condition)
  const parts = issues.map((i): ParseResult.ParseIssue => {
    const type = new ParseResult.Type(ast, u, i.message)
    return i.path.length === 0 ? type : new ParseResult.Pointer(i.path as [PropertyKey, ...Array<PropertyKey>], u, type)
  })
  return Either.left(new ParseResult.Composite(ast, u, parts as [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>]))
}

/**
 * A condition, decoded from JSON: its shape is checked (every problem reported at its path);
 * paths and values against the workspace are checked by {@link check}.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Condition: Schema.Schema<Condition> = Schema.declare([], { decode: () => decodeShape, encode: () => decodeShape }, {
  identifier: "Condition",
  // What JSON Schema (the HTTP API's OpenAPI document) shows: the grammar is checked by decodeShape.
  jsonSchema: { type: "object", description: "A condition: { all: [...] }, { any: [...] }, { not: ... } or a comparison { path, op, value }" },
  // Generated values (property tests of what holds a condition): a few valid conditions.
  arbitrary: () => (fc) =>
    fc.constantFrom<Condition>(
      { all: [] },
      { any: [] },
      { not: { path: "contact.email", op: "exists" } },
      { path: "contact.score", op: "gte", value: 10 },
      { any: [{ path: "contact.tags", op: "contains", value: "vip" }, { path: "contact.stage", op: "eq", value: "customer" }] }
    )
})

// ---------------------------------------------------------------------------------------------
// Paths against the workspace

/**
 * What a path holds, as far as Rapport knows: `instant` values are compared in time, `list`
 * values with `contains`; `any` is whatever the payload carries.
 *
 * @since 0.3.0
 * @category models
 */
export type ValueKind = "string" | "number" | "boolean" | "instant" | "date" | "list" | "stage" | "object" | "any"

/**
 * A resolved path.
 *
 * @since 0.3.0
 * @category models
 */
export interface PathInfo {
  readonly root: "contact" | "event"
  readonly segments: ReadonlyArray<string>
  readonly kind: ValueKind
  /** The custom field the path reads, when it reads one. */
  readonly field?: FieldDefinition | undefined
}

/**
 * What paths and values are checked against: the workspace's contact fields and lifecycle stages,
 * and whether `event.*` paths make sense where the condition is used.
 *
 * @since 0.3.0
 * @category models
 */
export interface Registry {
  readonly fields: ReadonlyArray<FieldDefinition>
  readonly stages: ReadonlyArray<string>
  readonly event: boolean
}

/**
 * The registry of a condition on a contact alone (a segment, an export's selection, a field's
 * `required.when`): the contact fields among `fields`, the lifecycle's stages, no event.
 *
 * @since 0.8.0
 * @category models
 */
export const contactRegistry = (fields: ReadonlyArray<FieldDefinition>, stages: ReadonlyArray<string>): Registry => ({
  fields: fields.filter((d) => d.entity === "contact"),
  stages,
  event: false
})

const CONTACT: Readonly<Record<string, ValueKind>> = {
  id: "string",
  email: "string",
  firstName: "string",
  lastName: "string",
  phone: "string",
  companyId: "string",
  stage: "stage",
  tags: "list",
  ownerId: "string",
  score: "number",
  timezone: "string",
  firstSeenAt: "instant",
  createdAt: "instant",
  updatedAt: "instant"
}
const SOURCE: Readonly<Record<string, ValueKind>> = { channel: "string", campaign: "string" }
// The contact's RFM quintiles (1 to 5), as last computed (see `Snapshots`); missing without placed orders.
const RFM: Readonly<Record<string, ValueKind>> = { recency: "number", frequency: "number", monetary: "number" }
const EVENT: Readonly<Record<string, ValueKind>> = { id: "string", type: "string", occurredAt: "instant", receivedAt: "instant" }

const fieldKind = (def: FieldDefinition, rest: ReadonlyArray<string>): ValueKind | string => {
  if (def.type === "money") {
    if (rest.length === 0) return "object"
    if (rest.length === 1 && rest[0] === "amountMinor") return "number"
    if (rest.length === 1 && rest[0] === "currency") return "string"
    return `money field "${def.key}" has only amountMinor and currency`
  }
  if (rest.length > 0) return `field "${def.key}" (${def.type}) has no parts`
  switch (def.type) {
    case "number":
    case "integer":
      return "number"
    case "boolean":
      return "boolean"
    case "date":
      return "date"
    case "datetime":
      return "instant"
    case "multiSelect":
      return "list"
    default:
      return "string"
  }
}

const list = (names: Iterable<string>) => [...names].join(", ")

/**
 * Resolves a path against the registry, or says why it names nothing.
 *
 * @since 0.3.0
 * @category utils
 */
export const resolvePath = (path: string, registry: Registry): PathInfo | string => {
  const problem = pathProblem(path)
  if (problem !== undefined) return problem
  const [root, first, ...rest] = path.split(".") as ["contact" | "event", string, ...Array<string>]
  if (root === "event") {
    if (!registry.event) return `"${path}": there is no event here; only contact.* paths can be used`
    if (first === "payload") return { root, segments: [first, ...rest], kind: "any" }
    const kind = EVENT[first]
    if (kind === undefined || rest.length > 0) return `"${path}" is not an event attribute; use event.${list(Object.keys(EVENT))} or event.payload.<name>`
    return { root, segments: [first], kind }
  }
  if (first === "fields") {
    const [key, ...parts] = rest
    if (key === undefined) return `"${path}": name the field, e.g. contact.fields.siret`
    const def = registry.fields.find((d) => d.key === key)
    if (def === undefined) {
      const known = registry.fields.map((d) => d.key)
      return `"${path}": no contact field "${key}" is defined${known.length === 0 ? "" : ` (fields: ${list(known)})`}`
    }
    const kind = fieldKind(def, parts)
    return kind in KIND_NAMES ? { root, segments: [first, key, ...parts], kind: kind as ValueKind, field: def } : `"${path}": ${kind}`
  }
  if (first === "source") {
    const kind = rest.length === 1 ? SOURCE[rest[0]!] : undefined
    return kind === undefined ? `"${path}": a source has channel and campaign` : { root, segments: [first, rest[0]!], kind }
  }
  if (first === "rfm") {
    const kind = rest.length === 1 ? RFM[rest[0]!] : undefined
    return kind === undefined ? `"${path}": RFM scores are contact.rfm.recency, contact.rfm.frequency and contact.rfm.monetary` : { root, segments: [first, rest[0]!], kind }
  }
  const kind = CONTACT[first]
  if (kind === undefined || rest.length > 0) {
    return `"${path}" is not a contact attribute; use contact.${list(Object.keys(CONTACT))}, contact.source.channel, contact.source.campaign or contact.fields.<key>`
  }
  return { root, segments: [first], kind }
}

const KIND_NAMES: Readonly<Record<ValueKind, string>> = {
  string: "text",
  number: "a number",
  boolean: "true or false",
  instant: "an instant",
  date: "a date",
  list: "a list",
  stage: "a lifecycle stage",
  object: "an object",
  any: "a value"
}

const isInstantString = (v: unknown) => typeof v === "string" && typeof parseIsoInstant(v) !== "string"
const isDateString = (v: unknown) => typeof v === "string" && isCalendarDate(v)

/** Why a value does not fit a path of this kind, if it does not. */
const valueProblem = (info: PathInfo, op: Operator, value: Scalar, registry: Registry): string | undefined => {
  if (value === null) return op === "eq" || op === "ne" || op === "in" || op === "notIn" ? undefined : `"${op}" cannot compare with null`
  switch (info.kind) {
    case "any":
      return undefined
    case "object":
      return `is an amount: compare its .amountMinor or .currency`
    case "list":
      return op === "contains" ? undefined : `is a list: use "contains" (or "exists")`
    case "boolean":
      return typeof value === "boolean" && (op === "eq" || op === "ne" || op === "in" || op === "notIn") ? undefined : `compare true/false with eq or ne`
    case "number":
      return typeof value === "number" && op !== "contains" && op !== "startsWith" ? undefined : `is a number: compare it with a number using eq, ne, gt, gte, lt, lte, in or notIn`
    case "instant":
      return isInstantString(value) && op !== "contains" && op !== "startsWith"
        ? undefined
        : `is an instant: compare it with an ISO-8601 instant such as "2025-03-30T10:00:00Z" (or use olderThan / within)`
    case "date":
      return isDateString(value) && op !== "contains" ? undefined : `is a date: compare it with a date YYYY-MM-DD`
    case "stage":
      if (typeof value !== "string") return "is a lifecycle stage: compare it with a stage key"
      if (op === "gt" || op === "gte" || op === "lt" || op === "lte" || op === "contains") return `compare stages with eq, ne, in or notIn`
      return op === "startsWith" || registry.stages.includes(value) ? undefined : `unknown stage "${value}"; stages are ${list(registry.stages)}`
    case "string": {
      if (typeof value !== "string") return `is text: compare it with a string`
      const options = info.field?.type === "select" || info.field?.type === "multiSelect" ? info.field.options.map((o) => o.value) : undefined
      if (options !== undefined && (op === "eq" || op === "ne" || op === "in" || op === "notIn") && !options.includes(value)) {
        return `"${value}" is not an option of field "${info.field!.key}" (options: ${list(options)})`
      }
      return undefined
    }
  }
}

const checkNode = (node: Condition, registry: Registry, path: Path, issues: Issues, inCount: boolean): void => {
  if ("all" in node) return node.all.forEach((c, i) => checkNode(c, registry, [...path, "all", i], issues, inCount))
  if ("any" in node) return node.any.forEach((c, i) => checkNode(c, registry, [...path, "any", i], issues, inCount))
  if ("not" in node) return checkNode(node.not, registry, [...path, "not"], issues, inCount)
  if ("count" in node) {
    if (inCount) return void issues.push({ path: [...path, "count"], message: "a count cannot be nested in another count's where" })
    if (node.count.where !== undefined) checkNode(node.count.where, { ...registry, event: true }, [...path, "count", "where"], issues, true)
    if (node.count.sinceTrigger === true && !registry.event) {
      issues.push({ path: [...path, "count", "sinceTrigger"], message: "there is no triggering event here" })
    }
    return
  }
  const info = resolvePath(node.path, registry)
  if (typeof info === "string") return void issues.push({ path: [...path, "path"], message: info })
  if ("olderThan" in node || "within" in node) {
    if (info.kind !== "instant" && info.kind !== "date" && info.kind !== "any") {
      issues.push({ path: [...path, "path"], message: `${node.path} is ${KIND_NAMES[info.kind]}, not an instant: olderThan / within need an instant` })
    }
    return
  }
  const { op, value } = node as Comparison
  if (op === "exists" || value === undefined) return
  const values = Array.isArray(value) ? (value as ReadonlyArray<Scalar>) : [value as Scalar]
  values.forEach((v, i) => {
    const problem = valueProblem(info, op, v, registry)
    if (problem !== undefined) issues.push({ path: Array.isArray(value) ? [...path, "value", i] : [...path, "value"], message: `${node.path}: ${problem}` })
  })
}

/**
 * Every path that names nothing in the workspace and every value that cannot match its path
 * (a number compared with text, an unknown stage or select option, a misspelt field), at the path
 * where it is. Empty when the condition can be saved.
 *
 * @since 0.3.0
 * @category utils
 */
export const check = (condition: Condition, registry: Registry, path: ReadonlyArray<string | number> = []): ReadonlyArray<ValidationIssue> => {
  const issues: Issues = []
  checkNode(condition, registry, path, issues, false)
  return issues
}

// ---------------------------------------------------------------------------------------------
// Backends

/**
 * What a backend does with each kind of node; {@link fold} calls it bottom-up. Counts are numbered
 * in the order they appear (`index`), so a backend that needs them computed outside (the
 * predicate reads them from its context) can find them.
 *
 * @since 0.3.0
 * @category models
 */
export interface Algebra<A> {
  /** Every item holds (`all: []` holds). */
  readonly all: (items: ReadonlyArray<A>) => A
  /** Some item holds (`any: []` does not). */
  readonly any: (items: ReadonlyArray<A>) => A
  /** The item does not hold. */
  readonly not: (item: A) => A
  /** A comparison, with what its path resolved to. */
  readonly compare: (node: Comparison, info: PathInfo) => A
  /** `olderThan` / `within`, with the duration in milliseconds. */
  readonly time: (node: TimeTest, info: PathInfo, millis: number) => A
  /** A count, its place among the condition's counts, and its `where` folded. */
  readonly count: (node: CountTest, index: number, where: A | undefined) => A
}

/**
 * Walks a checked condition with a backend. Paths are resolved against the registry; a path that
 * does not resolve (a field removed since the condition was saved) is read as `any`.
 *
 * @since 0.3.0
 * @category utils
 */
export const fold = <A>(condition: Condition, registry: Registry, algebra: Algebra<A>): A => {
  let counts = 0
  const info = (path: string, event: boolean): PathInfo => {
    const resolved = resolvePath(path, { ...registry, event })
    return typeof resolved === "string"
      ? { root: path.startsWith("event.") ? "event" : "contact", segments: path.split(".").slice(1), kind: "any" }
      : resolved
  }
  const go = (node: Condition, event: boolean): A => {
    if ("all" in node) return algebra.all(node.all.map((c) => go(c, event)))
    if ("any" in node) return algebra.any(node.any.map((c) => go(c, event)))
    if ("not" in node) return algebra.not(go(node.not, event))
    if ("count" in node) {
      const index = counts++
      return algebra.count(node, index, node.count.where === undefined ? undefined : go(node.count.where, true))
    }
    if ("olderThan" in node || "within" in node) {
      const span = parseSpan((node.olderThan ?? node.within)!)
      return algebra.time(node, info(node.path, event), typeof span === "string" ? 0 : spanMillis(span))
    }
    return algebra.compare(node as Comparison, info(node.path, event))
  }
  return go(condition, registry.event)
}

// ---------------------------------------------------------------------------------------------
// The predicate backend

/**
 * An event as conditions read it.
 *
 * @since 0.3.0
 * @category models
 */
export interface EventView {
  readonly id: string
  readonly type: string
  readonly occurredAt: DateTime.DateTime
  readonly receivedAt: DateTime.DateTime
  readonly payload: Readonly<Record<string, unknown>>
}

/**
 * A contact as conditions read it (a `Contact` is one).
 *
 * @since 0.3.0
 * @category models
 */
export interface ContactView {
  readonly id: string
  readonly email: string | null
  readonly firstName: string | null
  readonly lastName: string | null
  readonly phone: string | null
  readonly companyId: string | null
  readonly stage: string
  readonly tags: ReadonlyArray<string>
  readonly ownerId: string | null
  readonly score: number
  readonly timezone: string | null
  readonly firstSeenAt: DateTime.DateTime
  readonly createdAt: DateTime.DateTime
  readonly updatedAt: DateTime.DateTime
  readonly source: { readonly channel: string; readonly campaign: string | null }
  readonly fields: Readonly<Record<string, unknown>>
  /**
   * The contact's RFM quintiles, for `contact.rfm.*` paths: loaded only for conditions that read
   * them (see {@link Compiled.readsRfm}); absent or `null` when the contact has none.
   *
   * @since 0.8.0
   */
  readonly rfm?: RfmView | null | undefined
}

/**
 * A contact's RFM quintiles (1 to 5) as conditions read them.
 *
 * @since 0.8.0
 * @category models
 */
export interface RfmView {
  readonly recency: number
  readonly frequency: number
  readonly monetary: number
}

/**
 * What a compiled condition is evaluated on: the contact, the event (the one the rule reacts to,
 * or in a count's `where` the counted one), the instant (epoch milliseconds), and the values of
 * the condition's counts, in {@link Compiled.counts} order.
 *
 * @since 0.3.0
 * @category models
 */
export interface Context {
  readonly contact: ContactView
  readonly event: EventView | undefined
  readonly now: number
  readonly counts: ReadonlyArray<number>
}

/**
 * A count the caller computes before evaluating: the contact's events of `types` that occurred in
 * the window, `sinceTrigger` since the triggering event (another type's from its instant on, its own
 * type's after it), and that pass `where`.
 *
 * @since 0.3.0
 * @category models
 */
export interface CountQuery {
  readonly types: ReadonlyArray<string>
  readonly withinMillis: number | undefined
  readonly sinceTrigger: boolean
  readonly where: Predicate | undefined
}

/**
 * A predicate over a {@link Context}.
 *
 * @since 0.3.0
 * @category models
 */
export type Predicate = (context: Context) => boolean

/**
 * A condition compiled once: the predicate, and the counts it reads.
 *
 * @since 0.3.0
 * @category models
 */
export interface Compiled {
  readonly test: Predicate
  readonly counts: ReadonlyArray<CountQuery>
  /**
   * Whether it reads `contact.rfm.*`: the caller then loads the contact's RFM scores into the
   * context's contact (others need not pay for that read).
   *
   * @since 0.8.0
   */
  readonly readsRfm?: boolean | undefined
}

type Accessor = (context: Context) => unknown

const child = (value: unknown, segment: string): unknown =>
  typeof value === "object" && value !== null ? (Array.isArray(value) ? (/^\d+$/.test(segment) ? value[Number(segment)] : undefined) : (value as Record<string, unknown>)[segment]) : undefined

const millisOf = (value: unknown): number | undefined => {
  if (DateTime.isDateTime(value)) return DateTime.toEpochMillis(value)
  if (typeof value === "string") {
    const parsed = parseIsoInstant(value)
    return typeof parsed === "string" ? undefined : DateTime.toEpochMillis(parsed)
  }
  return undefined
}

// One reader per attribute, so each property read sees one shape of object and stays fast.
const CONTACT_READERS: Readonly<Record<string, Accessor>> = {
  id: (c) => c.contact.id,
  email: (c) => c.contact.email,
  firstName: (c) => c.contact.firstName,
  lastName: (c) => c.contact.lastName,
  phone: (c) => c.contact.phone,
  companyId: (c) => c.contact.companyId,
  stage: (c) => c.contact.stage,
  tags: (c) => c.contact.tags,
  ownerId: (c) => c.contact.ownerId,
  score: (c) => c.contact.score,
  timezone: (c) => c.contact.timezone,
  firstSeenAt: (c) => c.contact.firstSeenAt,
  createdAt: (c) => c.contact.createdAt,
  updatedAt: (c) => c.contact.updatedAt
}
const EVENT_READERS: Readonly<Record<string, Accessor>> = {
  id: (c) => c.event?.id,
  type: (c) => c.event?.type,
  occurredAt: (c) => c.event?.occurredAt,
  receivedAt: (c) => c.event?.receivedAt
}

const accessor = (info: PathInfo): Accessor => {
  const [first, second, ...rest] = info.segments as [string, string | undefined, ...Array<string>]
  let base: Accessor
  if (info.root === "event") {
    if (first === "payload") {
      const keys = [second!, ...rest].filter((s) => s !== undefined)
      if (keys.length === 1) {
        const key = keys[0]!
        // A payload is a JSON object, never a list.
        base = (c) => {
          const payload = c.event?.payload
          return payload === undefined ? undefined : payload[key]
        }
      } else {
        base = (c) => {
          let value: unknown = c.event?.payload
          for (const key of keys) value = child(value, key)
          return value
        }
      }
    } else {
      base = EVENT_READERS[first] ?? (() => undefined)
    }
  } else if (first === "fields") {
    const key = second!
    if (rest.length === 0) base = (c) => c.contact.fields[key]
    else base = (c) => rest.reduce<unknown>((v, s) => child(v, s), c.contact.fields[key])
  } else if (first === "source") {
    base = second === "channel" ? (c) => c.contact.source.channel : (c) => c.contact.source.campaign
  } else if (first === "rfm") {
    base = second === "recency" ? (c) => c.contact.rfm?.recency : second === "frequency" ? (c) => c.contact.rfm?.frequency : (c) => c.contact.rfm?.monetary
  } else {
    base = CONTACT_READERS[first] ?? (() => undefined)
  }
  return info.kind === "instant" ? (c) => millisOf(base(c)) : base
}

const normalize = (info: PathInfo, value: Scalar): Scalar => (info.kind === "instant" && typeof value === "string" ? (millisOf(value) ?? value) : value)

/**
 * Orders two strings by code point (as SQLite's BINARY collation and PostgreSQL's `COLLATE "C"`
 * do, so a segment's SQL agrees with the predicate), not by UTF-16 code unit as `<` does: the two
 * differ only where a character above U+FFFF (a surrogate pair) meets one in U+E000–U+FFFF.
 *
 * @since 0.8.0
 * @category utils
 */
export const compareText = (a: string, b: string): number => {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      // Surrogates (D800–DFFF) encode code points above FFFF: move them above E000–FFFF.
      const fx = x >= 0xd800 ? (x <= 0xdfff ? x + 0x2000 : x - 0x800) : x
      const fy = y >= 0xd800 ? (y <= 0xdfff ? y + 0x2000 : y - 0x800) : y
      return fx - fy
    }
  }
  return a.length - b.length
}

const ordered = (a: unknown, b: Scalar): number | undefined =>
  typeof a === "number" && typeof b === "number" ? a - b : typeof a === "string" && typeof b === "string" ? compareText(a, b) : undefined

/**
 * Comparisons on one custom field or one payload key, with the read written into the comparison:
 * the commonest conditions, and the ones whose cost matters when hundreds of rules run per event.
 */
const fused = (node: Comparison, info: PathInfo, value: Scalar): Predicate | undefined => {
  if (info.kind === "instant" || info.segments.length !== 2 || value === null) return undefined
  const [first, key] = info.segments as [string, string]
  const field = info.root === "contact" && first === "fields"
  const payload = info.root === "event" && first === "payload"
  if (!field && !payload) return undefined
  const number = typeof value === "number"
  if (typeof value !== "number" && typeof value !== "string" && node.op !== "eq" && node.op !== "ne") return undefined
  if (field) {
    switch (node.op) {
      case "eq":
        return (c) => c.contact.fields[key] === value
      case "ne":
        return (c) => c.contact.fields[key] !== value
      case "gt":
        return number ? (c) => { const v = c.contact.fields[key]; return typeof v === "number" && v > value } : (c) => { const v = c.contact.fields[key]; return typeof v === "string" && compareText(v, value as string) > 0 }
      case "gte":
        return number ? (c) => { const v = c.contact.fields[key]; return typeof v === "number" && v >= value } : (c) => { const v = c.contact.fields[key]; return typeof v === "string" && compareText(v, value as string) >= 0 }
      case "lt":
        return number ? (c) => { const v = c.contact.fields[key]; return typeof v === "number" && v < value } : (c) => { const v = c.contact.fields[key]; return typeof v === "string" && compareText(v, value as string) < 0 }
      case "lte":
        return number ? (c) => { const v = c.contact.fields[key]; return typeof v === "number" && v <= value } : (c) => { const v = c.contact.fields[key]; return typeof v === "string" && compareText(v, value as string) <= 0 }
      default:
        return undefined
    }
  }
  switch (node.op) {
    case "eq":
      return (c) => c.event !== undefined && c.event.payload[key] === value
    case "ne":
      return (c) => c.event === undefined || c.event.payload[key] !== value
    case "gt":
      return number ? (c) => { const v = c.event?.payload[key]; return typeof v === "number" && v > value } : (c) => { const v = c.event?.payload[key]; return typeof v === "string" && compareText(v, value as string) > 0 }
    case "gte":
      return number ? (c) => { const v = c.event?.payload[key]; return typeof v === "number" && v >= value } : (c) => { const v = c.event?.payload[key]; return typeof v === "string" && compareText(v, value as string) >= 0 }
    case "lt":
      return number ? (c) => { const v = c.event?.payload[key]; return typeof v === "number" && v < value } : (c) => { const v = c.event?.payload[key]; return typeof v === "string" && compareText(v, value as string) < 0 }
    case "lte":
      return number ? (c) => { const v = c.event?.payload[key]; return typeof v === "number" && v <= value } : (c) => { const v = c.event?.payload[key]; return typeof v === "string" && compareText(v, value as string) <= 0 }
    default:
      return undefined
  }
}

const comparison = (node: Comparison, info: PathInfo): Predicate => {
  const read = accessor(info)
  if (node.op === "exists") return (c) => {
    const v = read(c)
    return v !== undefined && v !== null
  }
  if (node.op === "in" || node.op === "notIn") {
    const values = (node.value as ReadonlyArray<Scalar>).map((v) => normalize(info, v))
    const scalars = new Set<unknown>(values.filter((v) => v !== null))
    const withNull = values.includes(null)
    const member = (v: unknown) => (v === undefined || v === null ? withNull : scalars.has(v))
    return node.op === "in" ? (c) => member(read(c)) : (c) => !member(read(c))
  }
  const value = normalize(info, node.value as Scalar)
  const direct = fused(node, info, value)
  if (direct !== undefined) return direct
  switch (node.op) {
    case "eq":
      return value === null ? (c) => read(c) == null : (c) => read(c) === value
    case "ne":
      return value === null ? (c) => read(c) != null : (c) => read(c) !== value
    case "gt":
      return (c) => (ordered(read(c), value) ?? 0) > 0
    case "gte": {
      return (c) => {
        const o = ordered(read(c), value)
        return o !== undefined && o >= 0
      }
    }
    case "lt":
      return (c) => (ordered(read(c), value) ?? 0) < 0
    case "lte":
      return (c) => {
        const o = ordered(read(c), value)
        return o !== undefined && o <= 0
      }
    case "contains":
      // Values are finite scalars: `includes` finds exactly what `eq` would.
      return value === null
        ? (c) => {
            const v = read(c)
            return Array.isArray(v) && v.some((e) => e === null || e === undefined)
          }
        : (c) => {
            const v = read(c)
            return typeof v === "string" ? typeof value === "string" && v.includes(value) : Array.isArray(v) && v.includes(value)
          }
    case "startsWith":
      return (c) => {
        const v = read(c)
        return typeof v === "string" && v.startsWith(value as string)
      }
  }
}

const compareCount = (op: CountOperator, n: number, value: number) =>
  op === "eq" ? n === value : op === "ne" ? n !== value : op === "gt" ? n > value : op === "gte" ? n >= value : op === "lt" ? n < value : n <= value

const dateMillis = (v: unknown) => (typeof v === "string" && isDateString(v) ? Date.parse(`${v}T00:00:00Z`) : undefined)

// Small fixed arities get their own closures; longer lists a plain loop (no callback per call).
const allOf = (items: ReadonlyArray<Predicate>): Predicate => {
  const [a, b, c3, d] = items
  switch (items.length) {
    case 0:
      return () => true
    case 1:
      return a!
    case 2:
      return (c) => a!(c) && b!(c)
    case 3:
      return (c) => a!(c) && b!(c) && c3!(c)
    case 4:
      return (c) => a!(c) && b!(c) && c3!(c) && d!(c)
    default:
      return (c) => {
        for (let i = 0; i < items.length; i++) if (!items[i]!(c)) return false
        return true
      }
  }
}
const anyOf = (items: ReadonlyArray<Predicate>): Predicate => {
  const [a, b, c3, d] = items
  switch (items.length) {
    case 0:
      return () => false
    case 1:
      return a!
    case 2:
      return (c) => a!(c) || b!(c)
    case 3:
      return (c) => a!(c) || b!(c) || c3!(c)
    case 4:
      return (c) => a!(c) || b!(c) || c3!(c) || d!(c)
    default:
      return (c) => {
        for (let i = 0; i < items.length; i++) if (items[i]!(c)) return true
        return false
      }
  }
}

/**
 * Compiles a condition into a predicate, once: paths become direct property reads, values are
 * normalised (instants to milliseconds), and the counts it needs are listed for the caller.
 *
 * @since 0.3.0
 * @category constructors
 */
export const compile = (condition: Condition, registry: Registry): Compiled => {
  const counts: Array<CountQuery> = []
  let readsRfm = false
  const test = fold<Predicate>(condition, registry, {
    all: allOf,
    any: anyOf,
    not: (item) => (c) => !item(c),
    compare: (node, info) => {
      if (info.root === "contact" && info.segments[0] === "rfm") readsRfm = true
      return comparison(node, info)
    },
    time: (node, info, millis) => {
      const read = accessor(info)
      const at = info.kind === "date" ? (c: Context) => dateMillis(read(c)) : info.kind === "instant" ? (c: Context) => read(c) as number | undefined : (c: Context) => millisOf(read(c))
      return node.olderThan !== undefined
        ? (c) => {
            const t = at(c)
            return t !== undefined && t < c.now - millis
          }
        : (c) => {
            const t = at(c)
            return t !== undefined && t >= c.now - millis && t <= c.now
          }
    },
    count: (node, index, where) => {
      const types = typeof node.count.event === "string" ? [node.count.event] : [...node.count.event]
      const within = node.count.within === undefined ? undefined : parseSpan(node.count.within)
      counts[index] = {
        types,
        withinMillis: within === undefined || typeof within === "string" ? undefined : spanMillis(within),
        sinceTrigger: node.count.sinceTrigger === true,
        where
      }
      const { op, value } = node
      return (c) => compareCount(op, c.counts[index] ?? 0, value)
    }
  })
  return readsRfm ? { test, counts, readsRfm } : { test, counts }
}

// ---------------------------------------------------------------------------------------------
// The explaining backend

/**
 * Why a condition held or not: one line per node, nested like the condition.
 *
 * @since 0.3.0
 * @category models
 */
export interface Explanation {
  readonly holds: boolean
  readonly description: string
  readonly parts?: ReadonlyArray<Explanation> | undefined
}

/**
 * The schema of an {@link Explanation} (recursive: its `parts` are explanations).
 *
 * @since 0.7.0
 * @category schemas
 */
export const Explanation: Schema.Schema<Explanation> = Schema.Struct({
  holds: Schema.Boolean,
  description: Schema.String,
  parts: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<Explanation> => Explanation)))
}).annotations({ identifier: "Explanation" })

const shown = (value: unknown): string => {
  if (value === undefined) return "missing"
  if (typeof value === "number" && value > 1e11) return `${value} (${new Date(value).toISOString()})`
  const text = JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}

/**
 * Evaluates a condition and says why it holds or not, node by node: what each path read, what it
 * was compared with, and what each count found. Slower than {@link compile}; for simulations.
 *
 * @since 0.3.0
 * @category utils
 */
export const explain = (condition: Condition, registry: Registry, context: Context): Explanation => {
  const explainer = fold<(c: Context) => Explanation>(condition, registry, {
    all: (items) => (c) => {
      const parts = items.map((p) => p(c))
      return { holds: parts.every((p) => p.holds), description: `all of ${parts.length}`, parts }
    },
    any: (items) => (c) => {
      const parts = items.map((p) => p(c))
      return { holds: parts.some((p) => p.holds), description: `any of ${parts.length}`, parts }
    },
    not: (item) => (c) => {
      const inner = item(c)
      return { holds: !inner.holds, description: "not", parts: [inner] }
    },
    compare: (node, info) => {
      const test = comparison(node, info)
      const read = accessor(info)
      return (c) => ({
        holds: test(c),
        description: `${node.path} ${node.op}${node.op === "exists" ? "" : ` ${shown(node.value)}`} (actual: ${shown(read(c))})`
      })
    },
    time: (node, info, millis) => {
      const read = accessor(info)
      const test = compile(node, registry).test
      return (c) => ({
        holds: test(c),
        description: `${node.path} ${node.olderThan !== undefined ? `older than ${node.olderThan}` : `within ${node.within}`} (actual: ${shown(read(c))}, limit: ${new Date(c.now - millis).toISOString()})`
      })
    },
    count: (node, index) => (c) => {
      const n = c.counts[index] ?? 0
      const types = typeof node.count.event === "string" ? node.count.event : node.count.event.join(" or ")
      const window = [node.count.within === undefined ? "" : ` within ${node.count.within}`, node.count.sinceTrigger === true ? " since the trigger" : "", node.count.where === undefined ? "" : " matching where"].join("")
      return { holds: compareCount(node.op, n, node.value), description: `count of ${types}${window} ${node.op} ${node.value} (found ${n})` }
    }
  })
  return explainer(context)
}
