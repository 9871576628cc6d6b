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
import * as Condition from "./Condition.js"
import type { ValidationIssue } from "./Errors.js"
import * as Email from "./Email.js"
import { WorkspaceId } from "./Ids.js"
import { indexOf, type LifecycleDefinition, StageKey } from "./LifecycleDefinition.js"
import { Money } from "./Money.js"
import { Instant, LocalDate, parseIsoInstant } from "./Time.js"
import * as DateTime from "effect/DateTime"
import { falseByDefault, SafeString, Text } from "./Json.js"
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
 * A requirement from a lifecycle stage on (contacts only): `{ fromStage: "customer" }` makes the
 * field required for customers and every later stage. With `when` (since 0.7.0), only for
 * contacts the condition holds for, in the rules' condition language on `contact.*` and
 * `contact.fields.*` (`{ path: "contact.fields.kind", op: "eq", value: "b2b" }`: a B2C buyer
 * is not asked for a SIRET). The condition is read on the contact as it would be saved; it may
 * not use `event.*`, counts of events or time windows (`olderThan`, `within`), so whether a
 * record is valid never depends on other records or on the time.
 *
 * @since 0.7.0
 * @category schemas
 */
export const StageRequirement = Schema.Struct({
  fromStage: StageKey,
  when: Schema.optional(Condition.Condition)
})

/**
 * @since 0.7.0
 * @category models
 */
export type StageRequirement = typeof StageRequirement.Type

/**
 * When a value must be present: `never`, `always`, or from a lifecycle stage on (contacts only),
 * optionally only when a condition holds ({@link StageRequirement}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Requirement = Schema.Union(Schema.Literal("never", "always"), StageRequirement)

/**
 * @since 0.1.0
 * @category models
 */
export type Requirement = typeof Requirement.Type

export type { FalseByDefault } from "./Json.js"

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
  /**
   * Frequently filtered (contact fields): the storage keeps an expression index on the field's
   * value, so segments filtering on it read the index instead of every contact. Since 0.8.0.
   */
  indexed: falseByDefault,
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
  position: Schema.optional(Schema.Int),
  /** Keep an index on the field's value (a contact field segments often filter on). Since 0.8.0. */
  indexed: Schema.optional(Schema.Boolean)
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
  position: Schema.optional(Schema.Int),
  /** Keep an index on the field's value (a contact field segments often filter on). Since 0.8.0. */
  indexed: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export type FieldDefinitionChanges = typeof FieldDefinitionChanges.Encoded

const UNIQUE_UNSUPPORTED: ReadonlySet<FieldType> = new Set(["boolean", "money", "multiSelect", "longText"])

/**
 * The problems of a requirement's `when` condition: paths that name nothing among the contact's
 * attributes and `fields` (custom fields of contacts), values that cannot match, and what a
 * requirement may not read (`event.*`, counts of events, time windows).
 *
 * @since 0.7.0
 * @category utils
 */
export const conditionIssues = (
  condition: Condition.Condition,
  fields: ReadonlyArray<FieldDefinition>,
  lifecycle: LifecycleDefinition,
  path: ReadonlyArray<string | number> = ["required", "when"]
): ReadonlyArray<ValidationIssue> => {
  const issues: Array<ValidationIssue> = []
  const visit = (node: Condition.Condition, at: ReadonlyArray<string | number>): void => {
    if ("all" in node) return node.all.forEach((c, i) => visit(c, [...at, "all", i]))
    if ("any" in node) return node.any.forEach((c, i) => visit(c, [...at, "any", i]))
    if ("not" in node) return visit(node.not, [...at, "not"])
    if ("count" in node) {
      issues.push({ path: [...at, "count"], message: "a requirement cannot count events: whether a record is valid must depend on the record alone" })
      return
    }
    if ("olderThan" in node || "within" in node) {
      issues.push({ path: [...at, "olderThan" in node ? "olderThan" : "within"], message: "a requirement cannot use a time window: whether a record is valid must not change with the time" })
    }
  }
  visit(condition, path)
  if (issues.length > 0) return issues
  return Condition.check(condition, Condition.contactRegistry(fields, lifecycle.stages.map((s) => s.key)), path)
}

/**
 * Checks a definition's own consistency (options only for select types, distinct option values,
 * which types may be unique, stage requirements only on contacts and on stages that exist, and a
 * requirement's `when` against the contact fields `fields` defines, the definition itself
 * included).
 *
 * @since 0.1.0
 * @category utils
 */
export const checkDefinition = (
  def: Pick<FieldDefinition, "entity" | "type" | "options" | "required" | "unique">,
  lifecycle: LifecycleDefinition,
  fields: ReadonlyArray<FieldDefinition> = []
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
    } else {
      if (indexOf(lifecycle, def.required.fromStage) < 0) {
        issues.push({
          path: ["required", "fromStage"],
          message: `unknown stage "${def.required.fromStage}"; stages are ${lifecycle.stages.map((s) => s.key).join(", ")}`
        })
      }
      if (def.required.when !== undefined) issues.push(...conditionIssues(def.required.when, fields, lifecycle))
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
 * The contact a conditional requirement is read on: any of a contact's attributes (those not
 * given read as a new contact's: no email, no tags, score 0…); its `fields` are the values being
 * validated.
 *
 * @since 0.7.0
 * @category models
 */
export type RequirementSubject = Partial<Omit<Condition.ContactView, "fields">>

const EPOCH = DateTime.unsafeMake(0)

const viewOf = (subject: RequirementSubject | undefined, fields: FieldValues, stage: string): Condition.ContactView => ({
  id: "",
  email: null,
  firstName: null,
  lastName: null,
  phone: null,
  companyId: null,
  tags: [],
  ownerId: null,
  score: 0,
  timezone: null,
  firstSeenAt: EPOCH,
  createdAt: EPOCH,
  updatedAt: EPOCH,
  source: { channel: "", campaign: null },
  ...subject,
  stage,
  fields
})

/** A requirement's condition as a predicate over the contact, for a set of contact fields. */
const requirementTest = (condition: Condition.Condition, fields: ReadonlyArray<FieldDefinition>, lifecycle: LifecycleDefinition): Condition.Predicate =>
  Condition.compile(condition, Condition.contactRegistry(fields, lifecycle.stages.map((s) => s.key))).test

/**
 * Whether a field must have a value for a record at the given stage position (`undefined` for
 * records without a lifecycle stage). A requirement with `when` counts as required here from its
 * stage on (there is no contact to read it on): {@link CompiledFields} `requiredAt` and
 * {@link validate} read it on the contact.
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
  typeof def.required === "object"
    ? `is required from stage "${def.required.fromStage}" on${def.required.when === undefined ? "" : " when its condition holds"}`
    : "is required"

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
  /**
   * The Schema of a `fields` object for a record at a stage position. Conditional requirements
   * count as required here (no contact to read them on): use {@link validate} with the contact.
   */
  readonly schemaAt: (stageIndex: number | undefined) => Schema.Schema<FieldValues, FieldValues>
  /**
   * Keys that must be present at a stage position; for a contact, conditional requirements are
   * read on `subject` with `values` as its fields (without a subject they count as required).
   */
  readonly requiredAt: (stageIndex: number | undefined, subject?: RequirementSubject, values?: FieldValues) => ReadonlyArray<FieldKey>
  /** The Schema of a `fields` object when exactly `required` keys must be present. */
  readonly schemaRequiring: (required: ReadonlyArray<FieldKey>) => Schema.Schema<FieldValues, FieldValues>
  /** Whether some definition is required only when a condition holds. */
  readonly conditional: boolean
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
  // Each conditional requirement's condition, compiled once (paths read the contact's fields).
  const contactFields = definitions.filter((d) => d.entity === "contact")
  const tests = new Map(
    own.flatMap((d) => (typeof d.required === "object" && d.required.when !== undefined ? [[d.key, requirementTest(d.required.when, contactFields, lifecycle)] as const] : []))
  )
  // One Schema per set of required keys (a few per stage): built on first use.
  const cache = new Map<string, Schema.Schema<FieldValues, FieldValues>>()
  const schemaRequiring = (required: ReadonlyArray<FieldKey>) => {
    const cacheKey = required.join(",")
    const cached = cache.get(cacheKey)
    if (cached !== undefined) return cached
    const wanted = new Set<string>(required)
    const fields: Record<string, Schema.Schema.All | Schema.PropertySignature.All> = {}
    for (const def of own) {
      const value = values.get(def.key)!
      fields[def.key] = wanted.has(def.key)
        ? Schema.propertySignature(value).annotations({ missingMessage: () => describeRequirement(def) })
        : Schema.optionalWith(value, { exact: true })
    }
    // The keys are only known at run time: the struct's static type cannot say more than this.
    const schema = Schema.Struct(fields) as unknown as Schema.Schema<FieldValues, FieldValues>
    if (cache.size >= 256) cache.clear()
    cache.set(cacheKey, schema)
    return schema
  }
  const requiredAt = (stageIndex: number | undefined, subject?: RequirementSubject, recordValues?: FieldValues): ReadonlyArray<FieldKey> =>
    own
      .filter((d) => {
        if (!isRequiredAt(d, lifecycle, stageIndex)) return false
        const test = tests.get(d.key)
        if (test === undefined || subject === undefined) return true
        const stage = lifecycle.stages[stageIndex ?? -1]?.key ?? ""
        return test({ contact: viewOf(subject, recordValues ?? {}, stage), event: undefined, now: 0, counts: [] })
      })
      .map((d) => d.key)
  // Without a contact (or without conditions), one Schema per stage position, found by number.
  const byStage = new Map<number, Schema.Schema<FieldValues, FieldValues>>()
  const schemaAt = (stageIndex: number | undefined) => {
    const cached = byStage.get(stageIndex ?? -1)
    if (cached !== undefined) return cached
    const schema = schemaRequiring(requiredAt(stageIndex))
    byStage.set(stageIndex ?? -1, schema)
    return schema
  }
  return {
    entity,
    definitions: own,
    schemaAt,
    requiredAt,
    schemaRequiring,
    conditional: tests.size > 0
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
 * values (trimmed text, normalised emails, UTC instants). A contact's conditional requirements
 * are read on `subject` (the contact as it will be saved) with `values` as its fields; without a
 * subject they count as required.
 *
 * @since 0.1.0
 * @category utils
 */
export const validate = (
  compiled: CompiledFields,
  values: FieldValues,
  stageIndex: number | undefined,
  subject?: RequirementSubject
): Either.Either<FieldValues, ReadonlyArray<ValidationIssue>> => {
  const options = { errors: "all", onExcessProperty: "error" } as const
  // Conditions read the values as they will be stored (trimmed, normalised) when they decode.
  const read =
    compiled.conditional && subject !== undefined
      ? Either.getOrElse(Schema.decodeUnknownEither(compiled.schemaRequiring([]), options)(values), () => values)
      : values
  const schema = compiled.conditional && subject !== undefined ? compiled.schemaRequiring(compiled.requiredAt(stageIndex, subject, read)) : compiled.schemaAt(stageIndex)
  return Schema.decodeUnknownEither(schema, options)(values).pipe(
    Either.mapLeft((error) => issuesOf(error, compiled.definitions.map((d) => d.key)))
  )
}

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
