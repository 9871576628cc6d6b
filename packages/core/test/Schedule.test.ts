import { Schedule, Time } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const utc = (iso: string) => DateTime.unsafeMake(iso)
const tz = (name: string) => Time.Timezone.make(name)
const iso = DateTime.formatIso
const localParts = (at: DateTime.Utc, zone: string) => DateTime.toParts(DateTime.unsafeMakeZoned(at, { timeZone: zone }))

describe("durations and delays", () => {
  it("parses whole durations and says why others are refused", () => {
    expect(Schedule.parseSpan("3 days")).toEqual({ amount: 3, unit: "day" })
    expect(Schedule.parseSpan("1 Hour")).toEqual({ amount: 1, unit: "hour" })
    expect(Schedule.parseSpan("0 days")).toBe('must be a positive duration (got "0 days")')
    expect(Schedule.parseSpan("1.5 days")).toContain("must be a duration such as")
    expect(Schedule.parseSpan("600 weeks")).toBe('must be at most ten years (got "600 weeks")')
    expect(Schema.decodeUnknownEither(Schedule.Delay)("next 25:00")._tag).toBe("Left")
    expect(Schema.decodeUnknownEither(Schedule.Delay)({ after: "1 day", at: "10:00" })._tag).toBe("Right")
    expect(Schema.decodeUnknownEither(Schedule.Delay)({})._tag).toBe("Left")
  })

  it("days are calendar days in the timezone: one day after 10:00 is 10:00 the next day, across a change of clocks", () => {
    // Paris moves from +01:00 to +02:00 on 30 March 2025 at 02:00.
    expect(iso(Schedule.dueAt(utc("2025-03-29T09:00:00Z"), "1 day", tz("Europe/Paris")))).toBe("2025-03-30T08:00:00.000Z")
    // Hours are exact.
    expect(iso(Schedule.dueAt(utc("2025-03-29T09:00:00Z"), "24 hours", tz("Europe/Paris")))).toBe("2025-03-30T09:00:00.000Z")
    expect(iso(Schedule.dueAt(utc("2025-10-25T08:00:00Z"), "1 week", tz("Europe/Paris")))).toBe("2025-11-01T09:00:00.000Z")
  })

  it("next HH:MM is the next such local time, strictly after", () => {
    expect(iso(Schedule.dueAt(utc("2025-06-02T07:59:00Z"), "next 10:00", tz("Europe/Paris")))).toBe("2025-06-02T08:00:00.000Z")
    expect(iso(Schedule.dueAt(utc("2025-06-02T08:00:00Z"), "next 10:00", tz("Europe/Paris")))).toBe("2025-06-03T08:00:00.000Z")
    expect(iso(Schedule.dueAt(utc("2025-06-02T12:00:00Z"), { after: "2 days", at: "09:30" }, tz("America/New_York")))).toBe("2025-06-04T13:30:00.000Z")
  })

  it("a local time skipped by a change of clocks is taken just after the gap", () => {
    // 02:30 does not exist in Paris on 30 March 2025; 03:30 (+02:00) follows the gap.
    expect(iso(Schedule.nextTimeOfDay(utc("2025-03-29T20:00:00Z"), "02:30", tz("Europe/Paris")))).toBe("2025-03-30T01:30:00.000Z")
  })

  const zones = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"] as const
  const instants = FastCheck.date({ min: new Date("2024-01-01T00:00:00Z"), max: new Date("2027-12-31T00:00:00Z"), noInvalidDate: true }).map((d) =>
    DateTime.unsafeMake(d)
  )
  const times = FastCheck.tuple(FastCheck.integer({ min: 4, max: 23 }), FastCheck.constantFrom(0, 15, 30, 45)).map(
    ([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
  )

  it.prop("next HH:MM is after the start, at that local time, within a day and a half", [instants, times, FastCheck.constantFrom(...zones)], ([from, at, zone]) => {
    const next = Schedule.nextTimeOfDay(from, at, tz(zone))
    const gap = DateTime.toEpochMillis(next) - DateTime.toEpochMillis(from)
    expect(gap).toBeGreaterThan(0)
    expect(gap).toBeLessThanOrEqual(36 * 3_600_000)
    const parts = localParts(next, zone)
    // Hours 04:00-23:45 exist on every day in these zones (clocks change around 02:00-03:00).
    expect(`${String(parts.hours).padStart(2, "0")}:${String(parts.minutes).padStart(2, "0")}`).toBe(at)
  })

  it.prop("N days later keeps the local time of day", [instants, FastCheck.integer({ min: 1, max: 400 }), FastCheck.constantFrom(...zones)], ([from, days, zone]) => {
    const start = localParts(from, zone)
    if (start.hours < 4) return
    const later = localParts(Schedule.dueAt(from, `${days} days`, tz(zone)), zone)
    expect([later.hours, later.minutes, later.seconds]).toEqual([start.hours, start.minutes, start.seconds])
    const calendar = (p: typeof start) => Date.UTC(p.year, p.month - 1, p.day)
    expect((calendar(later) - calendar(start)) / 86_400_000).toBe(days)
  })
})
