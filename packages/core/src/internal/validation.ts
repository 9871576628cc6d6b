// Decoding of caller input into domain values, with every failure reported as a ValidationError
// whose issues name the path and the reason in plain words.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ParseOptions } from "effect/SchemaAST"
import { ValidationError, type ValidationIssue } from "../domain/Errors.js"

const rephrase = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Unexpected":
      return "is not a known property"
    case "Missing":
      return issue.message === "is missing" ? "is required" : issue.message
    default:
      return issue.message
  }
}

// A value checked against a union (nullable, optional, or alternative input forms) fails every
// member: keep the specific reason when there is one, else merge the members' expectations.
const GENERIC = /^Expected (.+), actual (.+)$/s
const NULLISH = /^Expected (null|undefined), actual /

const merge = (issues: ReadonlyArray<ValidationIssue>): ReadonlyArray<ValidationIssue> => {
  const specific = issues.filter((i) => !GENERIC.test(i.message))
  if (specific.length > 0) return specific
  if (issues.length < 2) return issues
  const expected = [...new Set(issues.map((i) => GENERIC.exec(i.message)![1]!))].filter((e) => e !== "null" && e !== "undefined")
  const actual = GENERIC.exec(issues[0]!.message)![2]!
  return [{ path: issues[0]!.path, message: `Expected ${expected.join(" or ")}, actual ${actual}` }]
}

export const issuesOf = (
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<string | number> = []
): ReadonlyArray<ValidationIssue> => {
  const byPath = new Map<string, Array<ValidationIssue>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))]
    const key = JSON.stringify(path)
    byPath.set(key, [...(byPath.get(key) ?? []), { path, message: rephrase(issue) }])
  }
  // A union member's bare "Expected undefined" at `payload` says nothing when `payload.when`
  // says what is wrong.
  const keys = [...byPath.keys()].map((k) => JSON.parse(k) as ReadonlyArray<string | number>)
  const hasDeeper = (path: ReadonlyArray<string | number>) =>
    keys.some((other) => other.length > path.length && path.every((p, i) => other[i] === p))
  return [...byPath.values()]
    .filter((issues) => !(issues.every((i) => NULLISH.test(i.message)) && hasDeeper(issues[0]!.path)))
    .flatMap(merge)
}

const options: ParseOptions = { errors: "all", onExcessProperty: "error" }

/**
 * How deep any input may nest (a payload, custom-field values, a rule): documented in
 * docs/errors.md. Deeper input is refused before it is decoded, because decoding and formatting
 * recurse and a value a few thousand levels deep (or a cycle) would overflow the stack.
 */
export const MAX_INPUT_DEPTH = 64

/**
 * The path of the first value nested deeper than {@link MAX_INPUT_DEPTH}, found without
 * recursion; `undefined` when the input is shallow enough.
 */
export const tooDeep = (input: unknown, limit = MAX_INPUT_DEPTH): ReadonlyArray<string | number> | undefined => {
  // Each value with its depth and where it sits (a link to its parent's place): the path is only
  // spelled out for the value found too deep.
  interface Place {
    readonly parent: Place | undefined
    readonly key: string | number
  }
  const pathOf = (place: Place | undefined): Array<string | number> => (place === undefined ? [] : [...pathOf(place.parent), place.key])
  const stack: Array<{ readonly value: unknown; readonly depth: number; readonly place: Place | undefined }> = [{ value: input, depth: 0, place: undefined }]
  while (stack.length > 0) {
    const { value, depth, place } = stack.pop()!
    // Bytes (an attachment's Uint8Array) are one value, not an object of millions of keys.
    if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) continue
    if (depth >= limit) return pathOf(place)
    if (Array.isArray(value)) value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, place: { parent: place, key: i } }))
    else for (const key of Object.keys(value)) stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, place: { parent: place, key } })
  }
  return undefined
}

// A JSON value as `Json.JsonValue` decodes it, checked and copied without the Schema machinery
// (its union tries each kind of value in turn, which cost more than all the rest of an event's
// input): NOT_JSON when the quick check refuses it. It refuses whatever it is not sure of (symbol
// keys, anything but plain objects), and the Schema then decodes it, so refusals read as before.
const NOT_JSON: unique symbol = Symbol("NOT_JSON")
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const storableText = (s: string) => !s.includes("\u0000") && !LONE_SURROGATE.test(s)

const quickValue = (u: unknown): unknown => {
  switch (typeof u) {
    case "string":
      return storableText(u) ? u : NOT_JSON
    case "number":
      return Number.isFinite(u) ? u : NOT_JSON
    case "boolean":
      return u
    case "object": {
      if (u === null) return null
      if (!Array.isArray(u)) return quickObject(u)
      const copy: Array<unknown> = []
      for (let i = 0; i < u.length; i++) {
        const item = quickValue(u[i])
        if (item === NOT_JSON) return NOT_JSON
        copy.push(item)
      }
      return copy
    }
    default:
      return NOT_JSON
  }
}

// Plain objects only, no "__proto__" key, keys storable; properties set to undefined dropped.
const quickObject = (u: object): unknown => {
  const proto = Object.getPrototypeOf(u)
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(u).length > 0) return NOT_JSON
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(u)) {
    if (key === "__proto__" || !storableText(key)) return NOT_JSON
    const value = (u as Record<string, unknown>)[key]
    if (value === undefined) continue
    const item = quickValue(value)
    if (item === NOT_JSON) return NOT_JSON
    copy[key] = item
  }
  return copy
}

/**
 * A JSON object Schema (`slow`, as `Json.JsonObject`) that decodes valid input on a quick path:
 * the same value (copied, undefined properties dropped), and input the quick path refuses is
 * decoded by `slow`, so failures are exactly `slow`'s. For hot inputs (event payloads); the
 * public Schemas keep `slow` (their JSON Schema and arbitraries come from it).
 */
export const quickJsonObject = <A, I>(slow: Schema.Schema<A, I>): Schema.Schema<A, I> => {
  const decodeSlow = ParseResult.decodeUnknownEither(slow)
  const encodeSlow = ParseResult.encodeUnknownEither(slow)
  return Schema.declare([], {
    decode: () => (input, parseOptions) => {
      const copy = typeof input === "object" && input !== null && !Array.isArray(input) ? quickObject(input) : NOT_JSON
      return copy === NOT_JSON ? decodeSlow(input, parseOptions) : ParseResult.succeed(copy as A)
    },
    encode: () => (value, parseOptions) => encodeSlow(value, parseOptions)
  })
}

const depthIssue = (path: ReadonlyArray<string | number>, prefix: ReadonlyArray<string | number>): ValidationIssue => ({
  path: [...prefix, ...path],
  message: `nests more than ${MAX_INPUT_DEPTH} levels deep (objects and lists inside each other, or a cycle); flatten it`
})

/**
 * Decodes a list of caller inputs at once: the values that decode, each with its index, and the
 * issues of those that do not (paths start with the index). Synchronous, with the parser built
 * once: bulk writes decode thousands of inputs.
 */
export const decodeEach = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, options)
  return (inputs: ReadonlyArray<unknown>) => {
    const values: Array<{ readonly value: A; readonly index: number }> = []
    const issues: Array<ValidationIssue> = []
    inputs.forEach((input, index) => {
      const deep = tooDeep(input)
      if (deep !== undefined) return void issues.push(depthIssue(deep, [index]))
      const decoded = decode(input)
      if (decoded._tag === "Right") values.push({ value: decoded.right, index })
      else issues.push(...issuesOf(decoded.left, [index]))
    })
    return { values, issues }
  }
}

/**
 * {@link decodeInput} for a part of an input already checked for depth (an event's payload),
 * synchronously, with the decoder built once per Schema.
 */
export const decodePart = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, options)
  return (input: unknown, prefix: ReadonlyArray<string | number>): Either.Either<A, ValidationError> =>
    Either.mapLeft(decode(input), (error) => ValidationError.fromIssues(issuesOf(error, prefix)))
}

/** Decodes caller input; unknown properties are errors (a typo must not be silently ignored). */
export const decodeInput =
  <A, I>(schema: Schema.Schema<A, I>, prefix: ReadonlyArray<string | number> = []) =>
  (input: unknown): Effect.Effect<A, ValidationError> => {
    const deep = tooDeep(input)
    if (deep !== undefined) return Effect.fail(ValidationError.fromIssues([depthIssue(deep, prefix)]))
    return Effect.mapError(Schema.decodeUnknown(schema, options)(input), (error) => ValidationError.fromIssues(issuesOf(error, prefix)))
  }
