// The Promise client's results as JSON. Every entity Schema's encoded form is its type with
// DateTime values written as ISO strings (brands do not exist at run time), so converting those is
// all encoding does; the property test in test/json-output.test.ts checks it against
// Schema.encode for generated entities. Walking the instance once is several times cheaper than
// re-validating every field, which matters for bulk results.
import * as DateTime from "effect/DateTime"

export const toJson = (value: unknown): unknown => {
  if (DateTime.isDateTime(value)) return DateTime.formatIso(value)
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === "object") {
    // fromEntries defines own properties: even a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, toJson(v)]))
  }
  return value
}
