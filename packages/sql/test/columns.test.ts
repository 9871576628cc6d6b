// The column codecs read what either driver returns: SQLite's text and numbers, PostgreSQL's
// parsed JSONB, BIGINT strings and Date objects.
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Bool, Instant, Int, Json } from "../src/internal/columns.js"

describe("column codecs", () => {
  it("Json reads text (SQLite) and parsed values (PostgreSQL), and writes text", () => {
    expect(Schema.decodeUnknownSync(Json)('{"a":[1,"é",null]}')).toEqual({ a: [1, "é", null] })
    expect(Schema.decodeUnknownSync(Json)({ a: 1 })).toEqual({ a: 1 })
    expect(Schema.encodeSync(Json)({ a: [1] })).toBe('{"a":[1]}')
    expect(() => Schema.decodeUnknownSync(Json)("{not json")).toThrow(/could not be parsed/)
  })

  it("Int reads numbers, BIGINT strings and bigints, refusing unsafe values", () => {
    expect(Schema.decodeUnknownSync(Int)(42)).toBe(42)
    expect(Schema.decodeUnknownSync(Int)("9007199254740991")).toBe(9007199254740991)
    expect(Schema.decodeUnknownSync(Int)(12n)).toBe(12)
    expect(() => Schema.decodeUnknownSync(Int)("9007199254740993")).toThrow()
  })

  it("Instant reads ISO text and Date objects as ISO text", () => {
    expect(Schema.decodeUnknownSync(Instant)("2025-01-01T00:00:00.000Z")).toBe("2025-01-01T00:00:00.000Z")
    expect(Schema.decodeUnknownSync(Instant)(new Date("2025-01-01T00:00:00Z"))).toBe("2025-01-01T00:00:00.000Z")
  })

  it("Bool reads 0/1 and booleans, and writes 0/1 (which both dialects accept)", () => {
    expect([0, 1, true, false].map((v) => Schema.decodeUnknownSync(Bool)(v))).toEqual([false, true, true, false])
    expect(Schema.encodeSync(Bool)(true)).toBe(1)
  })
})
