// Event payloads are decoded on a quick path (quickJsonObject): for any input it must give what
// Json.JsonObject gives, the same value when valid and the same issues when not.
import { Json } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import { quickJsonObject } from "../src/internal/validation.js"

const options = { errors: "all", onExcessProperty: "error" } as const
const slow = ParseResult.decodeUnknownEither(Json.JsonObject)
const quick = ParseResult.decodeUnknownEither(quickJsonObject(Json.JsonObject))

const outcome = (result: Either.Either<unknown, ParseResult.ParseIssue>) =>
  Either.isRight(result) ? { value: result.right } : { issues: ParseResult.ArrayFormatter.formatIssueSync(result.left) }

class Point {
  constructor(readonly x: number) {}
}

// Values JSON cannot hold, or storage refuses, next to ordinary ones.
const odd = FastCheck.constantFrom<unknown>(
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -0,
  10n,
  new Date(0),
  new Map([["a", 1]]),
  new Point(1),
  () => 1,
  Symbol("s"),
  "nul \u0000 inside",
  "lone \ud800 surrogate",
  "pair \ud83d\ude00 fine",
  JSON.parse('{"__proto__": {"x": 1}}'),
  Object.create(null),
  { [Symbol("key")]: 1 },
  { "bad\u0000key": 1 },
  Object.defineProperty({ a: 1 }, "hidden", { value: 2, enumerable: false }),
  // eslint-disable-next-line no-sparse-arrays
  [1, , 3],
  [undefined]
)

const value: FastCheck.Arbitrary<unknown> = FastCheck.letrec<{ value: unknown }>((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.jsonValue(),
    odd,
    FastCheck.array(tie("value"), { maxLength: 4 }),
    FastCheck.dictionary(FastCheck.oneof(FastCheck.string(), FastCheck.constantFrom("__proto__", "constructor", "a\u0000")), tie("value"), { maxKeys: 4 })
  )
})).value

describe("quickJsonObject", () => {
  it("decodes any input as Json.JsonObject does: the same value, or the same issues", () => {
    let valid = 0
    let invalid = 0
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(FastCheck.dictionary(FastCheck.string(), value, { maxKeys: 5 }), value), (input) => {
        const expected = outcome(slow(input, options))
        expect(outcome(quick(input, options))).toEqual(expected)
        if ("value" in expected) valid++
        else invalid++
      }),
      { numRuns: 2_000 }
    )
    // Both paths were exercised, many times each.
    expect(valid).toBeGreaterThan(200)
    expect(invalid).toBeGreaterThan(200)
  })

  it("copies the value: the decoded payload does not share objects with the input", () => {
    const input = { lines: [{ sku: "A", extra: undefined }], nested: { a: 1 } }
    const decoded = Either.getOrThrow(quick(input, options)) as { lines: Array<object>; nested: object }
    expect(decoded).toEqual({ lines: [{ sku: "A" }], nested: { a: 1 } })
    expect(decoded.lines).not.toBe(input.lines)
    expect(decoded.nested).not.toBe(input.nested)
  })
})
