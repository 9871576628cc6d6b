// A service result as JSON: the same encoding as the Promise client's (`toJson` in @rapport/core's
// internal/json.ts, which the core does not export), so that the HTTP API and `crm.contacts.get()`
// answer the same document (Routes.test.ts compares them route by route). Instants become
// ISO-8601 strings, an Option its value or null; everything else is JSON already.
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"

export const toJson = (value: unknown): unknown => {
  // Most values are primitives: answered before any other check (pages walk every record).
  if (value === null || typeof value !== "object") return value
  if (DateTime.isDateTime(value)) return DateTime.formatIso(value)
  if (Option.isOption(value)) return Option.isSome(value) ? toJson(value.value) : null
  if (Array.isArray(value)) return value.map(toJson)
  const json: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    // Defined as an own property: even a "__proto__" key stays a key (assigning it would not).
    if (key === "__proto__") Object.defineProperty(json, key, { value: toJson(v), enumerable: true, writable: true, configurable: true })
    else json[key] = toJson(v)
  }
  return json
}
