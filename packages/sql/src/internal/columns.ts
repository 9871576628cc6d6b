// Column codecs that read the same domain value whatever the driver returns: SQLite gives JSON as
// text, integers as numbers and instants as ISO text; PostgreSQL gives JSONB as objects, BIGINT
// and COUNT(*) as strings, TIMESTAMPTZ as Date. Writes always send text, numbers and ISO strings.
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * A JSON object or array stored as TEXT (SQLite) or JSONB (PostgreSQL), or any JSON value stored
 * as TEXT on both. A string read back is always JSON text to parse: that is why JSONB columns
 * never hold a bare JSON string (PostgreSQL would return it already parsed).
 */
export const Json = Schema.transformOrFail(Schema.Unknown, Schema.Unknown, {
  strict: true,
  decode: (u, _, ast) =>
    typeof u === "string"
      ? ParseResult.try({
          try: () => JSON.parse(u) as unknown,
          catch: () => new ParseResult.Type(ast, u, "stored JSON could not be parsed")
        })
      : ParseResult.succeed(u),
  encode: (value) => ParseResult.succeed(JSON.stringify(value))
})

/** An integer stored as INTEGER or BIGINT (PostgreSQL returns BIGINT as a string). */
export const Int = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String, Schema.BigIntFromSelf), Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const n = Number(u)
    return Number.isSafeInteger(n) ? ParseResult.succeed(n) : ParseResult.fail(new ParseResult.Type(ast, u, "not a safe integer"))
  },
  encode: ParseResult.succeed
})

/** An instant as ISO-8601 text, stored as TEXT (SQLite) or TIMESTAMPTZ (PostgreSQL returns a Date). */
export const Instant = Schema.transform(Schema.Union(Schema.String, Schema.DateFromSelf), Schema.String, {
  strict: true,
  decode: (u) => (typeof u === "string" ? u : u.toISOString()),
  encode: (s) => s
})

/** A boolean stored as 0/1 (SQLite) or BOOLEAN (PostgreSQL accepts '1'/'0' on input). */
export const Bool = Schema.transform(Schema.Union(Schema.Boolean, Schema.Literal(0, 1)), Schema.Boolean, {
  strict: true,
  decode: (u) => u === true || u === 1,
  encode: (b) => (b ? 1 : 0)
})

/** Nullable text. */
export const Text = Schema.NullOr(Schema.String)
