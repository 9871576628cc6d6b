// The Promise client's one encoder: a service result as JSON. Every entity Schema's encoded form is
// its type with DateTime values written as ISO strings (brands do not exist at run time), so
// converting those, and an Option to its value or null, is all encoding does; the property tests
// in test/json-output.test.ts check it against Schema.encode for every entity the client returns,
// and every client method's result. Walking the value once is several times cheaper than
// re-validating every field, which matters for bulk results.
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"

// Instants as ISO text, each formatted once: the same instant (a batch's `now`) is in many results.
const isoText = new WeakMap<DateTime.DateTime, string>()

/**
 * A service result as the Promise client returns it: instants as ISO-8601 UTC strings, an
 * `Option` as its value or `null`, everything else as it is. Integrations that answer for the
 * services themselves (the HTTP API) use it to answer the same JSON as the client.
 *
 * @since 0.6.0
 * @category conversions
 */
export const toJson = (value: unknown): unknown => {
  // Most values are primitives: they are answered before any other check (bulk results walk
  // every payload).
  if (value === null || typeof value !== "object") return value
  if (DateTime.isDateTime(value)) {
    let text = isoText.get(value)
    if (text === undefined) {
      text = DateTime.formatIso(value)
      isoText.set(value, text)
    }
    return text
  }
  if (Option.isOption(value)) return Option.isSome(value) ? toJson(value.value) : null
  if (Array.isArray(value)) return value.map(toJson)
  const json: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const v = toJson((value as Record<string, unknown>)[key])
    // Defined as an own property: even a "__proto__" key stays a key (assigning it would not).
    if (key === "__proto__") Object.defineProperty(json, key, { value: v, enumerable: true, writable: true, configurable: true })
    else json[key] = v
  }
  return json
}
