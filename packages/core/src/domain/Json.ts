/**
 * JSON values as Rapport stores them: what goes into a payload or a custom field comes back
 * equal from every storage (object keys may come back in another order: PostgreSQL's JSONB sorts
 * them). Dates, `NaN`, `Infinity`, `undefined`, bigints and functions are not JSON and are
 * refused up front (a SQL store would silently turn them into something else), and so are
 * strings PostgreSQL cannot hold: with a NUL character, or a lone UTF-16 surrogate.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | { readonly [key: string]: JsonValue }

/**
 * A JSON value as callers may give it: object properties may be `undefined` (they are dropped).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonInput = null | boolean | number | string | ReadonlyArray<JsonInput> | { readonly [key: string]: JsonInput | undefined }

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

// PostgreSQL text and JSONB refuse both; SQLite and memory would keep them: refused everywhere.
const storable = (s: string): true | string =>
  s.includes("\u0000")
    ? "must not contain the NUL character (\\u0000)"
    : LONE_SURROGATE.test(s)
      ? "must be well-formed Unicode (it contains a lone surrogate)"
      : true

/**
 * A string every storage keeps as given: no NUL character, well-formed Unicode.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SafeString = Schema.String.pipe(Schema.filter(storable))

// Only plain objects: a Date, a Map or a class instance would otherwise pass as an empty record.
// A "__proto__" key is refused: JavaScript objects cannot keep it as data (assigning it changes
// the object's prototype), so it would be silently lost or, worse, alter objects downstream. Keys
// are checked here, on the input: a Record with a refined key schema drops the keys it refuses.
const isPlainObject = (u: unknown): boolean =>
  typeof u === "object" &&
  u !== null &&
  (Object.getPrototypeOf(u) === Object.prototype || Object.getPrototypeOf(u) === null) &&
  !Object.hasOwn(u, "__proto__") &&
  Object.keys(u).every((key) => storable(key) === true)

// Properties whose value is `undefined` are dropped, as JSON.stringify does; `undefined` anywhere
// else (an array element) is refused.
const objectOf = <A, I>(value: Schema.Schema<A, I>) =>
  Schema.transform(
    Schema.compose(
      Schema.declare((u: unknown): u is { readonly [key: string]: I | undefined } => isPlainObject(u), {
        identifier: "PlainObject",
        jsonSchema: { type: "object" },
        message: () => 'must be a plain object (not a Date, Map or class instance), without a "__proto__" key, whose keys have no NUL or lone surrogate'
      }),
      Schema.Record({ key: Schema.String, value: Schema.UndefinedOr(value) })
    ),
    Schema.Record({ key: Schema.String, value: Schema.typeSchema(value) }),
    {
    strict: true,
      decode: (record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Record<string, A>,
      encode: (record) => record
    }
  )

/**
 * Any JSON value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonValue: Schema.Schema<JsonValue, JsonInput> = Schema.Union(
  Schema.Null,
  Schema.Boolean,
  Schema.Number.pipe(Schema.finite()),
  SafeString,
  Schema.Array(Schema.suspend((): Schema.Schema<JsonValue, JsonInput> => JsonValue)),
  objectOf(Schema.suspend((): Schema.Schema<JsonValue, JsonInput> => JsonValue))
).annotations({
  identifier: "JsonValue",
  message: (issue) => ({
    message: `must be a JSON value (null, true/false, a finite number, a string without NUL, an array or an object), got ${describe(issue.actual)}`,
    override: true
  })
})

const describe = (u: unknown): string => {
  if (u instanceof Date) return "a Date (pass it as an ISO string)"
  if (typeof u === "bigint") return "a bigint"
  if (typeof u === "number") return String(u)
  if (typeof u === "string") return "a string containing NUL"
  if (u === undefined) return "undefined"
  if (typeof u === "function") return "a function"
  return typeof u
}

/**
 * A JSON object, as payloads are (properties set to `undefined` are dropped).
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonObject = objectOf(JsonValue)

/**
 * A patch of JSON values: `null` (or `undefined`) removes a key, other values replace it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonPatch = objectOf(Schema.NullOr(JsonValue))

/**
 * Text as callers give it: trimmed, at least `min` and at most `max` characters, no NUL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Text = (max: number, min = 1) =>
  Schema.Trim.pipe(
    Schema.minLength(min, { message: () => (min === 1 ? "must not be empty" : `must be at least ${min} characters`) }),
    Schema.maxLength(max, { message: () => `must be at most ${max} characters` }),
    Schema.filter(storable)
  )

/**
 * The options of a field that is `null` when not given: by its constructor, and when decoding a
 * record stored before the field existed.
 *
 * @since 0.7.0
 * @category models
 */
export interface NullByDefault {
  /** The value when the field is not given: `null`. */
  readonly default: () => null
}

/**
 * A field of `schema` or `null`, `null` when not given (see {@link NullByDefault}).
 *
 * @since 0.7.0
 * @category schemas
 */
export const nullByDefault = <S extends Schema.Schema.All>(schema: S): Schema.optionalWith<Schema.NullOr<S>, NullByDefault> =>
  Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

/**
 * The options of a flag that is `false` when not given: by its constructor, and when decoding a
 * record stored before the flag existed.
 *
 * @since 0.8.0
 * @category models
 */
export interface FalseByDefault {
  /** The value when the flag is not given: `false`. */
  readonly default: () => false
}

/**
 * A flag, `false` when not given (see {@link FalseByDefault}).
 *
 * @since 0.8.0
 * @category schemas
 */
export const falseByDefault: Schema.optionalWith<typeof Schema.Boolean, FalseByDefault> = Schema.optionalWith(Schema.Boolean, { default: () => false as const })
