import { Time } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"

describe("Time", () => {
  it("accepts IANA timezones and refuses others", () => {
    expect(Schema.is(Time.Timezone)("Europe/Paris")).toBe(true)
    expect(Schema.is(Time.Timezone)("UTC")).toBe(true)
    expect(Schema.is(Time.Timezone)("Paris")).toBe(false)
    expect(Schema.is(Time.Timezone)("")).toBe(false)
  })

  it("accepts calendar dates only", () => {
    expect(Schema.is(Time.LocalDate)("2024-02-29")).toBe(true)
    expect(Schema.is(Time.LocalDate)("2023-02-29")).toBe(false)
    expect(Schema.is(Time.LocalDate)("2024-13-01")).toBe(false)
    expect(Schema.is(Time.LocalDate)("17/05/1990")).toBe(false)
  })

  it("refuses an instant without an offset: it would be read in the server's zone", () => {
    expect(typeof Time.parseIsoInstant("2025-03-30T10:00:00")).toBe("string")
    expect(Time.parseIsoInstant("2025-03-30T10:00:00+02:00")).toEqual(DateTime.unsafeMake("2025-03-30T08:00:00Z"))
  })

  it("accepts a Date, an ISO string with offset or a DateTime as instant input", () => {
    const decode = Schema.decodeUnknownSync(Time.InstantInput)
    const expected = DateTime.unsafeMake("2025-01-01T00:00:00Z")
    expect(decode(new Date("2025-01-01T00:00:00Z"))).toEqual(expected)
    expect(decode("2025-01-01T01:00:00+01:00")).toEqual(expected)
    expect(decode(expected)).toEqual(expected)
  })

  it("gives the calendar date of an instant in a zone (no off-by-one across zones)", () => {
    const lateEvening = DateTime.unsafeMake("2025-06-01T23:30:00Z")
    expect(Time.localDateOf(lateEvening, Time.Timezone.make("Europe/Paris"))).toBe("2025-06-02")
    expect(Time.localDateOf(lateEvening, Time.Timezone.make("America/New_York"))).toBe("2025-06-01")
    expect(Time.localDateOf(lateEvening, Time.Timezone.make("UTC"))).toBe("2025-06-01")
  })
})
