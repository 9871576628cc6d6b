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

  // Regression: "next 02:30" on a spring-forward night gave 03:30 (the time shifted by the gap's
  // length) while the docs promise the first instant after the gap.
  it("a local time skipped by a change of clocks is the first instant after the gap", () => {
    // 02:30 does not exist in Paris on 30 March 2025: clocks go from 02:00 (+01:00) to 03:00 (+02:00).
    expect(iso(Schedule.nextTimeOfDay(utc("2025-03-29T20:00:00Z"), "02:30", tz("Europe/Paris")))).toBe("2025-03-30T01:00:00.000Z")
    expect(iso(Schedule.nextTimeOfDay(utc("2025-03-09T05:00:00Z"), "02:30", tz("America/New_York")))).toBe("2025-03-09T07:00:00.000Z")
    // Lord Howe moves by 30 minutes: 02:00 -> 02:30 (+11:00) on 5 October 2025.
    expect(iso(Schedule.nextTimeOfDay(utc("2025-10-04T10:00:00Z"), "02:15", tz("Australia/Lord_Howe")))).toBe("2025-10-04T15:30:00.000Z")
    // A day after 02:30 the day before the change lands in the gap too.
    expect(iso(Schedule.dueAt(utc("2025-03-29T01:30:00Z"), "1 day", tz("Europe/Paris")))).toBe("2025-03-30T01:00:00.000Z")
  })

  it("a local time that occurs twice (clocks going back) is taken the first time", () => {
    // 02:30 happens at +02:00 (00:30Z) and again at +01:00 (01:30Z) on 26 October 2025 in Paris.
    expect(iso(Schedule.nextTimeOfDay(utc("2025-10-25T22:00:00Z"), "02:30", tz("Europe/Paris")))).toBe("2025-10-26T00:30:00.000Z")
  })

  it("a delay never ends past 9999-12-31T23:59:59.999Z (its ISO text would sort before today)", () => {
    const last = "9999-12-31T23:59:59.999Z"
    expect(iso(Schedule.dueAt(utc("9999-12-31T12:00:00Z"), "1 day", tz("Europe/Paris")))).toBe(last)
    expect(iso(Schedule.dueAt(utc("9999-12-31T12:00:00Z"), "next 10:00", tz("UTC")))).toBe(last)
    // In Kiritimati (+14:00) the next 10:00 is still in the year 9999 in UTC.
    expect(iso(Schedule.dueAt(utc("9999-12-31T12:00:00Z"), "next 10:00", tz("Pacific/Kiritimati")))).toBe("9999-12-31T20:00:00.000Z")
    expect(iso(Schedule.dueAt(utc("9999-06-30T12:00:00Z"), { after: "520 weeks", at: "09:00" }, tz("UTC")))).toBe(last)
    expect(iso(Schedule.dueAt(utc("9999-12-31T12:00:00Z"), "30 minutes", tz("UTC")))).toBe("9999-12-31T12:30:00.000Z")
  })

  const gapZones = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"] as const
  const anyTimes = FastCheck.tuple(FastCheck.integer({ min: 0, max: 23 }), FastCheck.integer({ min: 0, max: 59 })).map(
    ([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
  )
  const changeDays = FastCheck.constantFrom("2025-03-08T12:00:00Z", "2025-03-29T12:00:00Z", "2025-10-04T05:00:00Z", "2025-10-25T12:00:00Z", "2025-11-01T12:00:00Z", "2026-03-28T12:00:00Z")

  it.prop("next HH:MM around changes of clocks: that local time, or the instant the clocks jumped past it", [changeDays, anyTimes, FastCheck.constantFrom(...gapZones)], ([start, at, zone]) => {
    const from = utc(start)
    const next = Schedule.nextTimeOfDay(from, at, tz(zone))
    expect(DateTime.toEpochMillis(next)).toBeGreaterThan(DateTime.toEpochMillis(from))
    const parts = localParts(next, zone)
    const shown = `${String(parts.hours).padStart(2, "0")}:${String(parts.minutes).padStart(2, "0")}`
    if (shown === at) return
    // Otherwise `at` was skipped: the offset changed in the millisecond before `next`, and the
    // local time just before it is earlier than `at`.
    const offset = (millis: number) => DateTime.zonedOffset(DateTime.unsafeMakeZoned(millis, { timeZone: zone }))
    expect(offset(DateTime.toEpochMillis(next) - 1)).not.toBe(offset(DateTime.toEpochMillis(next)))
    expect(shown > at).toBe(true)
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
