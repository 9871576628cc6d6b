import { Contacts, Errors, Events, Fields, Json, Storage, Timeline } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { failure, withCrm } from "./helpers.js"

const paths = (error: unknown) => (error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))

describe("JSON values", () => {
  it("accept what JSON can hold and drop properties set to undefined", () => {
    const decode = Schema.decodeUnknownSync(Json.JsonObject)
    expect(decode({ a: [1, null, "é", { b: true }], c: undefined, d: { e: undefined } })).toEqual({ a: [1, null, "é", { b: true }], d: {} })
  })

  it("refuse what a database would silently change", () => {
    const decode = Schema.decodeUnknownEither(Json.JsonObject)
    for (const bad of [{ when: new Date() }, { n: Number.NaN }, { n: Number.POSITIVE_INFINITY }, { n: 10n }, { s: "a\u0000b" }, { list: [undefined] }]) {
      expect(decode(bad)._tag, String(Object.keys(bad))).toBe("Left")
    }
  })

  it.effect("an event payload holding a Date is refused, naming the property", () =>
    withCrm(
      Effect.gen(function* () {
        const error = yield* failure((yield* Events.Events).emit({ type: "form.submitted", email: "a@example.com", payload: { when: new Date() as never } }))
        expect(paths(error)).toEqual(["payload.when"])
        expect((error as Errors.ValidationError).issues[0]?.message).toContain("a Date (pass it as an ISO string)")
        expect(yield* (yield* Storage.Storage).contacts.list("default" as never, { limit: 10 })).toEqual([])
      })
    ))

  it.effect("instants outside the years 0001-9999 and text with NUL are refused", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        expect(paths(yield* failure(contacts.create({ firstName: "x", firstSeenAt: new Date(Date.UTC(20250, 0, 1)) })))).toEqual(["firstSeenAt"])
        expect(paths(yield* failure(contacts.create({ firstName: "a\u0000b" })))).toEqual(["firstName"])
        const c = yield* contacts.create({ firstName: "x" })
        expect(paths(yield* failure((yield* Timeline.Timeline).log({ contactId: c.id, kind: "note", summary: "bad\u0000" })))).toEqual(["summary"])
      })
    ))

  it.effect("field keys every JavaScript object has are refused", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        for (const key of ["constructor", "toString", "valueOf", "hasOwnProperty"]) {
          const error = yield* failure(fields.define({ key, type: "text" }))
          expect(paths(error), key).toEqual(["key"])
          expect((error as Errors.ValidationError).issues[0]?.message).toContain("reserved")
        }
      })
    ))
})

describe("__proto__ keys", () => {
  it("are refused in JSON objects, never silently dropped", () => {
    const result = Schema.decodeUnknownEither(Json.JsonObject)(JSON.parse('{"a": {"__proto__": {"polluted": true}}}'))
    expect(result._tag).toBe("Left")
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })

  it.effect("in a custom-fields patch, are refused naming the field, and nothing changes", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const c = yield* contacts.create({ firstName: "x" })
        const error = yield* failure(contacts.update(c.id, { expectedVersion: 1, fields: JSON.parse('{"__proto__": {"x": 1}}') }))
        expect(paths(error)).toEqual(["fields"])
        expect((yield* contacts.get(c.id)).version).toBe(1)
      })
    ))
})

describe("strings every storage keeps", () => {
  it("refuse NUL and lone surrogates, in values and in keys", () => {
    const decode = Schema.decodeUnknownEither(Json.JsonObject)
    for (const bad of [{ "a\u0000b": 1 }, { note: "x\ud800y" }, { ["\udc00"]: 1 }, { list: ["ok", "\ud83d"] }]) {
      expect(decode(bad)._tag, JSON.stringify(Object.keys(bad))).toBe("Left")
    }
    expect(decode({ emoji: "🍷 é", "clé 日本": "ok" })._tag).toBe("Right")
  })
})
