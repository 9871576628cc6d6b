/**
 * Custom fields, defined at run time per entity (contact, company, deal). A set of definitions
 * compiles to an Effect Schema that validates a record's `fields` object: known keys only, each
 * value of its declared type, required ones present (always, or from a lifecycle stage on).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ValidationIssue } from "./Errors.js"
import * as Email from "./Email.js"
import { WorkspaceId } from "./Ids.js"
import { indexOf, type LifecycleDefinition, StageKey } from "./LifecycleDefinition.js"
import { Money } from "./Money.js"
import { Instant, LocalDate, parseIsoInstant } from "./Time.js"
import * as DateTime from "effect/DateTime"
import { SafeString, Text } from "./Json.js"
import { showValue } from "../internal/show.js"

/**
 * The record kinds that carry custom fields.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldEntity = Schema.Literal("contact", "company", "deal")

/**
 * @since 0.1.0
 * @category models
 */
export type FieldEntity = typeof FieldEntity.Type

/**
 * The value types of custom fields, and the JSON each one stores:
 * `text` (string, trimmed, ≤ 1,000 chars), `longText` (string, ≤ 100,000), `number` (finite),
 * `integer` (safe integer), `money` (`{ amountMinor, currency }`), `boolean`, `date`
 * (`YYYY-MM-DD`), `datetime` (ISO-8601 UTC string), `email` (normalised), `phone`, `url`
 * (http/https), `select` (one option value), `multiSelect` (option values, no duplicates).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldType = Schema.Literal(
  "text",
  "longText",
  "number",
  "integer",
  "money",
  "boolean",
  "date",
  "datetime",
  "email",
  "phone",
  "url",
  "select",
  "multiSelect"
)

/**
 * @since 0.1.0
 * @category models
 */
export type FieldType = typeof FieldType.Type

// Names every JavaScript object answers to: a field called "constructor" would read as filled on
// every record.
const RESERVED_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype))

/**
 * A field key: a lower-case letter, then letters, digits or `_` (at most 64). Keys are the only
 * identifiers that reach SQL, and only as bound parameters; this pattern is what makes them safe
 * to use as JSON paths.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldKey = Schema.String.pipe(
  Schema.filter((s) => /^[a-z][a-zA-Z0-9_]{0,63}$/.test(s), {
    message: (issue) =>
      `must be a field key: a lower-case letter then letters, digits or _ (max 64), got ${showValue(issue.actual)}`
  }),
  Schema.filter((s) => !RESERVED_KEYS.has(s), {
    message: (issue) => `${showValue(issue.actual)} is reserved (a name every JavaScript object has); choose another key`
  }),
  Schema.brand("FieldKey"),
  Schema.annotations({ identifier: "FieldKey" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type FieldKey = typeof FieldKey.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const FieldOption = Schema.Struct({
  value: Text(100),
  label: SafeString.pipe(Schema.minLength(1), Schema.maxLength(200))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface FieldOption extends Schema.Schema.Type<typeof FieldOption> {}

/**
 * When a value must be present: `never`, `always`, or from a lifecycle stage on (contacts only):
 * `{ fromStage: "customer" }` makes the field required for customers and every later stage.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Requirement = Schema.Union(
  Schema.Literal("never", "always"),
  Schema.Struct({ fromStage: StageKey })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Requirement = typeof Requirement.Type

/**
 * A stored custom field definition.
 *
 * @since 0.1.0
 * @category models
 */
export class FieldDefinition extends Schema.Class<FieldDefinition>("FieldDefinition")({
  workspaceId: WorkspaceId,
  entity: FieldEntity,
  key: FieldKey,
  label: Schema.String,
  type: FieldType,
  options: Schema.Array(FieldOption),
  required: Requirement,
  /** No two records of the workspace may share a value (compared case-insensitively for text). */
  unique: Schema.Boolean,
  description: Schema.NullOr(Schema.String),
  position: Schema.Int,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

const OptionInput = Schema.Union(
  Schema.transform(Text(100), FieldOption, {
    strict: true,
    decode: (value) => ({ value, label: value }),
    encode: (option) => option.value
  }),
  FieldOption
)

const Label = Text(200)

/**
 * What `fields.define` accepts. Options may be plain strings (`["small", "large"]`) or
 * `{ value, label }`. `entity` defaults to `contact`, `required` to `never`, `label` to the key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldDefinitionInput = Schema.Struct({
  entity: Schema.optional(FieldEntity),
  key: FieldKey,
  label: Schema.optional(Label),
  type: FieldType,
  options: Schema.optional(Schema.Array(OptionInput)),
  required: Schema.optional(Requirement),
  unique: Schema.optional(Schema.Boolean),
  description: Schema.optional(Schema.NullOr(SafeString.pipe(Schema.maxLength(2000)))),
  position: Schema.optional(Schema.Int)
})

/**
 * @since 0.1.0
 * @category models
 */
export type FieldDefinitionInput = typeof FieldDefinitionInput.Encoded

/**
 * What `fields.update` accepts: every attribute but the key and entity may change. Changes
 * that stored values would violate are refused with the number of records affected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldDefinitionChanges = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  label: Schema.optional(Label),
  type: Schema.optional(FieldType),
  options: Schema.optional(Schema.Array(OptionInput)),
  required: Schema.optional(Requirement),
  unique: Schema.optional(Schema.Boolean),
  description: Schema.optional(Schema.NullOr(SafeString.pipe(Schema.maxLength(2000)))),
  position: Schema.optional(Schema.Int)
})

/**
 * @since 0.1.0
 * @category models
 */
export type FieldDefinitionChanges = typeof FieldDefinitionChanges.Encoded

const UNIQUE_UNSUPPORTED: ReadonlySet<FieldType> = new Set(["boolean", "money", "multiSelect", "longText"])

/**
 * Checks a definition's own consistency (options only for select types, distinct option values,
 * which types may be unique, stage requirements only on contacts and on stages that exist).
 *
 * @since 0.1.0
 * @category utils
 */
export const checkDefinition = (
  def: Pick<FieldDefinition, "entity" | "type" | "options" | "required" | "unique">,
  lifecycle: LifecycleDefinition
): ReadonlyArray<ValidationIssue> => {
  const issues: Array<ValidationIssue> = []
  const isSelect = def.type === "select" || def.type === "multiSelect"
  if (isSelect && def.options.length === 0) {
    issues.push({ path: ["options"], message: `a ${def.type} field needs at least one option` })
  }
  if (!isSelect && def.options.length > 0) {
    issues.push({ path: ["options"], message: `only select and multiSelect fields have options, not ${def.type}` })
  }
  const values = new Set<string>()
  def.options.forEach((option, i) => {
    if (values.has(option.value)) issues.push({ path: ["options", i, "value"], message: `option "${option.value}" appears twice` })
    values.add(option.value)
  })
  if (def.unique && UNIQUE_UNSUPPORTED.has(def.type)) {
    issues.push({ path: ["unique"], message: `a ${def.type} field cannot be unique` })
  }
  if (typeof def.required === "object") {
    if (def.entity !== "contact") {
      issues.push({ path: ["required"], message: `only contact fields can be required from a lifecycle stage on` })
    } else if (indexOf(lifecycle, def.required.fromStage) < 0) {
      issues.push({
        path: ["required", "fromStage"],
        message: `unknown stage "${def.required.fromStage}"; stages are ${lifecycle.stages.map((s) => s.key).join(", ")}`
      })
    }
  }
  return issues
}

const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u.length > 60 ? `${u.slice(0, 57)}...` : u)
  if (u === undefined) return "undefined"
  if (Array.isArray(u)) return "an array"
  if (u !== null && typeof u === "object") return "an object"
  return String(u)
}

type Check = (u: unknown) => Either.Either<unknown, string>

const ok = Either.right
const fail = (expectation: string, u: unknown) => Either.left(`must be ${expectation}, got ${show(u)}`)

const textOf = (max: number, trim: boolean): Check => (u) => {
  if (typeof u !== "string") return fail("text", u)
  const value = trim ? u.trim() : u
  if (value.trim().length === 0) return Either.left("must not be empty (use null to clear the field)")
  const storable = Schema.decodeUnknownEither(SafeString)(value)
  if (Either.isLeft(storable)) return Either.left(ParseResult.TreeFormatter.formatErrorSync(storable.left))
  if (value.length > max) return Either.left(`must be at most ${max} characters (got ${value.length})`)
  return ok(value)
}

const decodeMoney = Schema.decodeUnknownEither(Money)
const PHONE = /^\+?[0-9 ().\-/]{3,32}$/

const checkOf = (type: FieldType, options: ReadonlyArray<FieldOption>): Check => {
  switch (type) {
    case "text":
      return textOf(1_000, true)
    case "longText":
      return textOf(100_000, false)
    case "number":
      return (u) => (typeof u === "number" && Number.isFinite(u) ? ok(u) : fail("a finite number", u))
    case "integer":
      return (u) => (typeof u === "number" && Number.isSafeInteger(u) ? ok(u) : fail("an integer", u))
    case "money":
      return (u) =>
        Either.isRight(decodeMoney(u))
          ? ok(u)
          : fail('money: { amountMinor: an integer number of cents, currency: an ISO code such as "EUR" }', u)
    case "boolean":
      return (u) => (typeof u === "boolean" ? ok(u) : fail("true or false", u))
    case "date":
      return (u) => (Schema.is(LocalDate)(u) ? ok(u) : fail("a date YYYY-MM-DD", u))
    case "datetime":
      return (u) => {
        if (typeof u !== "string") return fail("an ISO-8601 instant", u)
        const parsed = parseIsoInstant(u)
        return typeof parsed === "string" ? Either.left(parsed) : ok(DateTime.formatIso(parsed))
      }
    case "email":
      return (u) => (typeof u === "string" ? Email.normalize(u) : fail("an email address", u))
    case "phone":
      return (u) => {
        if (typeof u !== "string") return fail("a phone number", u)
        const value = u.trim()
        const digits = value.replace(/\D/g, "").length
        return PHONE.test(value) && digits >= 3 ? ok(value) : fail("a phone number (digits, spaces, + ( ) . - /)", u)
      }
    case "url":
      return (u) => {
        if (typeof u !== "string") return fail("a URL", u)
        const value = u.trim()
        try {
          const url = new URL(value)
          if ((url.protocol === "http:" || url.protocol === "https:") && value.length <= 2000) return ok(value)
        } catch {
          // falls through to the failure below
        }
        return fail("an http(s) URL", u)
      }
    case "select": {
      const allowed = new Set(options.map((o) => o.value))
      const list = options.map((o) => JSON.stringify(o.value)).join(", ")
      return (u) => (typeof u === "string" && allowed.has(u) ? ok(u) : fail(`one of ${list}`, u))
    }
    case "multiSelect": {
      const allowed = new Set(options.map((o) => o.value))
      const list = options.map((o) => JSON.stringify(o.value)).join(", ")
      return (u) => {
        if (!Array.isArray(u)) return fail(`a list of ${list}`, u)
        const bad = u.find((v) => typeof v !== "string" || !allowed.has(v))
        if (bad !== undefined) return Either.left(`contains ${show(bad)}, which is not one of ${list}`)
        return ok([...new Set(u as ReadonlyArray<string>)])
      }
    }
  }
}

/**
 * The Schema of one field's value: decodes (and normalises) a JSON value or fails with a
 * readable reason.
 *
 * @since 0.1.0
 * @category utils
 */
export const valueSchema = (def: Pick<FieldDefinition, "type" | "options">): Schema.Schema<unknown> => {
  const check = checkOf(def.type, def.options)
  return Schema.transformOrFail(Schema.Unknown, Schema.Unknown, {
    strict: true,
    decode: (u, _, ast) =>
      Either.match(check(u), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, u, message)),
        onRight: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  })
}

/**
 * Whether a field must have a value for a record at the given stage position (`undefined` for
 * records without a lifecycle stage).
 *
 * @since 0.1.0
 * @category utils
 */
export const isRequiredAt = (
  def: Pick<FieldDefinition, "required">,
  lifecycle: LifecycleDefinition,
  stageIndex: number | undefined
): boolean => {
  if (def.required === "always") return true
  if (def.required === "never" || stageIndex === undefined) return false
  const from = indexOf(lifecycle, def.required.fromStage)
  return from >= 0 && stageIndex >= from
}

const describeRequirement = (def: Pick<FieldDefinition, "required">): string =>
  typeof def.required === "object" ? `is required from stage "${def.required.fromStage}" on` : "is required"

/**
 * The custom-field values of one record: plain JSON keyed by field key.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValues = Readonly<Record<string, unknown>>

/**
 * @since 0.1.0
 * @category schemas
 */
export const FieldValues: Schema.Schema<FieldValues> = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * Definitions compiled once for validating many records.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompiledFields {
  readonly entity: FieldEntity
  readonly definitions: ReadonlyArray<FieldDefinition>
  /** The Schema of a `fields` object for a record at a stage position. */
  readonly schemaAt: (stageIndex: number | undefined) => Schema.Schema<FieldValues, FieldValues>
  /** Keys that must be present at a stage position. */
  readonly requiredAt: (stageIndex: number | undefined) => ReadonlyArray<FieldKey>
}

/**
 * Compiles a set of definitions of one entity into Schemas, one per stage position, built on
 * first use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (
  entity: FieldEntity,
  definitions: ReadonlyArray<FieldDefinition>,
  lifecycle: LifecycleDefinition
): CompiledFields => {
  const own = definitions.filter((d) => d.entity === entity)
  const values = new Map(own.map((d) => [d.key, valueSchema(d)]))
  const cache = new Map<number, Schema.Schema<FieldValues, FieldValues>>()
  const schemaAt = (stageIndex: number | undefined) => {
    const cacheKey = stageIndex ?? -1
    const cached = cache.get(cacheKey)
    if (cached !== undefined) return cached
    const fields: Record<string, Schema.Schema.All | Schema.PropertySignature.All> = {}
    for (const def of own) {
      const value = values.get(def.key)!
      fields[def.key] = isRequiredAt(def, lifecycle, stageIndex)
        ? Schema.propertySignature(value).annotations({ missingMessage: () => describeRequirement(def) })
        : Schema.optionalWith(value, { exact: true })
    }
    // The keys are only known at run time: the struct's static type cannot say more than this.
    const schema = Schema.Struct(fields) as unknown as Schema.Schema<FieldValues, FieldValues>
    cache.set(cacheKey, schema)
    return schema
  }
  return {
    entity,
    definitions: own,
    schemaAt,
    requiredAt: (stageIndex) => own.filter((d) => isRequiredAt(d, lifecycle, stageIndex)).map((d) => d.key)
  }
}

const issuesOf = (error: ParseResult.ParseError, known: ReadonlyArray<string>): ReadonlyArray<ValidationIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = ["fields", ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))]
    if (issue._tag === "Unexpected") {
      const hint = known.length === 0 ? "no custom fields are defined" : `defined fields are ${known.join(", ")}`
      return { path, message: `unknown field (${hint})` }
    }
    return { path, message: issue.message }
  })

/**
 * Validates a `fields` object for a record at a stage position: unknown keys, wrong types and
 * missing required values are all reported, each under `fields.<key>`. Returns the normalised
 * values (trimmed text, normalised emails, UTC instants).
 *
 * @since 0.1.0
 * @category utils
 */
export const validate = (
  compiled: CompiledFields,
  values: FieldValues,
  stageIndex: number | undefined
): Either.Either<FieldValues, ReadonlyArray<ValidationIssue>> =>
  Schema.decodeUnknownEither(compiled.schemaAt(stageIndex), { errors: "all", onExcessProperty: "error" })(values).pipe(
    Either.mapLeft((error) => issuesOf(error, compiled.definitions.map((d) => d.key)))
  )

/**
 * The key under which a unique field's value is compared: text-like values case-insensitively
 * and trimmed, phone numbers by their digits (and leading +), others as stored.
 *
 * @since 0.1.0
 * @category utils
 */
export const uniqueValueKey = (def: Pick<FieldDefinition, "type">, value: unknown): string => {
  switch (def.type) {
    case "phone":
      return String(value).replace(/(?!^\+)\D/g, "")
    case "text":
    case "email":
    case "url":
    case "select":
      return String(value).trim().toLowerCase()
    default:
      return typeof value === "string" ? value : JSON.stringify(value)
  }
}

/**
 * The unique-value claims a record makes: one `{ fieldKey, valueKey }` per unique field it fills.
 *
 * @since 0.1.0
 * @category utils
 */
export const uniqueClaims = (
  compiled: CompiledFields,
  values: FieldValues
): ReadonlyArray<{ readonly fieldKey: FieldKey; readonly valueKey: string }> =>
  compiled.definitions.flatMap((def) =>
    def.unique && Object.hasOwn(values, def.key) ? [{ fieldKey: def.key, valueKey: uniqueValueKey(def, values[def.key]) }] : []
  )

/**
 * Applies a patch: a `null` value removes the key, other values replace it.
 *
 * @since 0.1.0
 * @category utils
 */
export const applyPatch = (current: FieldValues, patch: Readonly<Record<string, unknown>>): FieldValues => {
  // Built from entries so that every key becomes an own property (assignment of "__proto__"
  // would change the prototype instead of adding a key the validation could refuse).
  const next = new Map(Object.entries(current))
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || value === undefined) next.delete(key)
    else next.set(key, value)
  }
  return Object.fromEntries(next)
}
