// The Promise client's one encoder: a service result as JSON. Every entity Schema's encoded form is
// its type with DateTime values written as ISO strings (brands do not exist at run time), so
// converting those, and an Option to its value or null, is all encoding does; the property tests
// in test/json-output.test.ts check it against Schema.encode for every entity the client returns,
// and every client method's result. Walking the value once is several times cheaper than
// re-validating every field, which matters for bulk results.
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"

export const toJson = (value: unknown): unknown => {
  if (DateTime.isDateTime(value)) return DateTime.formatIso(value)
  if (Option.isOption(value)) return Option.isSome(value) ? toJson(value.value) : null
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === "object") {
    // fromEntries defines own properties: even a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, toJson(v)]))
  }
  return value
}
