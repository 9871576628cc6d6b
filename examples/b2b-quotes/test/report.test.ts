// When the weekly report is due, and which week it names, in Paris time.
import { describe, expect, it } from "vitest"
import { isoWeekOf, nextReportAt } from "../src/report.js"

const at = (iso: string) => Date.parse(iso)
const paris = "Europe/Paris"

describe("the weekly report's schedule", () => {
  it("falls on the next Monday at 08:00 in Paris, strictly after now, across daylight-saving changes", () => {
    expect(new Date(nextReportAt(at("2026-12-03T09:00:00Z"), paris)).toISOString()).toBe("2026-12-07T07:00:00.000Z")
    expect(new Date(nextReportAt(at("2026-12-07T06:59:59Z"), paris)).toISOString()).toBe("2026-12-07T07:00:00.000Z")
    expect(new Date(nextReportAt(at("2026-12-07T07:00:00Z"), paris)).toISOString()).toBe("2026-12-14T07:00:00.000Z")
    // Summer time from Sunday 28 March 2027: 08:00 in Paris is 06:00 UTC.
    expect(new Date(nextReportAt(at("2027-03-26T12:00:00Z"), paris)).toISOString()).toBe("2027-03-29T06:00:00.000Z")
  })

  it("names the ISO week of the local date", () => {
    expect(isoWeekOf(at("2026-12-07T07:00:00Z"), paris)).toBe("2026-W50")
    // Sunday 23:30 UTC is already Monday in Paris.
    expect(isoWeekOf(at("2026-12-06T23:30:00Z"), paris)).toBe("2026-W50")
    expect(isoWeekOf(at("2026-12-06T22:30:00Z"), paris)).toBe("2026-W49")
    // 2026 starts on a Thursday: it has 53 weeks, and 1 January 2027 is in the last one.
    expect(isoWeekOf(at("2026-01-01T12:00:00Z"), paris)).toBe("2026-W01")
    expect(isoWeekOf(at("2027-01-01T12:00:00Z"), paris)).toBe("2026-W53")
    expect(isoWeekOf(at("2027-01-04T12:00:00Z"), paris)).toBe("2027-W01")
  })
})
