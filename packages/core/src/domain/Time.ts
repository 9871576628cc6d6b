/**
 * Time in Rapport: instants are stored in UTC; a workspace (and optionally a contact) has an IANA
 * timezone for what is local; date-only values (a birthday, a contract date) are calendar dates,
 * never midnight instants, so they do not shift by a day across zones.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { showValue } from "../internal/show.js"

// Building an Intl.DateTimeFormat is costly and every stored contact and workspace names a
// timezone: each name is checked once per process.
const checkedZones = new Map<string, boolean>()
const isTimezone = (s: string): boolean => {
  const known = checkedZones.get(s)
  if (known !== undefined) return known
  let valid: boolean
  try {
    new Intl.DateTimeFormat("en", { timeZone: s })
    valid = true
  } catch {
    valid = false
  }
  if (checkedZones.size < 10_000) checkedZones.set(s, valid)
  return valid
}

/**
 * An IANA timezone name known to the runtime, e.g. `Europe/Paris`, `UTC`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timezone = Schema.String.pipe(
  Schema.filter((s) => s.length > 0 && s.length <= 64 && isTimezone(s), {
    message: (issue) => `must be an IANA timezone such as "Europe/Paris" (got ${showValue(issue.actual)})`,
    arbitrary: () => (fc) =>
      fc.constantFrom("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "Pacific/Kiritimati")
  }),
  Schema.brand("Timezone"),
  Schema.annotations({ identifier: "Timezone" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Timezone = typeof Timezone.Type

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/**
 * `true` for a date `YYYY-MM-DD` that exists in the calendar (not `2025-02-30`).
 *
 * @since 0.4.0
 * @category utils
 */
export const isCalendarDate = (s: string): boolean => {
  const m = DATE.exec(s)
  if (m === null) return false
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const d = new Date(Date.UTC(year, month - 1, day))
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
}

/**
 * A calendar date `YYYY-MM-DD` (no time, no zone).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LocalDate = Schema.String.pipe(
  Schema.filter(isCalendarDate, {
    message: (issue) => `must be a calendar date YYYY-MM-DD (got ${showValue(issue.actual)})`,
    arbitrary: () => (fc) =>
      fc
        .date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2199-12-31T00:00:00Z"), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10))
  }),
  Schema.brand("LocalDate"),
  Schema.annotations({ identifier: "LocalDate" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type LocalDate = typeof LocalDate.Type

/**
 * An instant, stored and encoded as an ISO-8601 UTC string (`2025-03-30T08:00:00.000Z`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Instant = Schema.DateTimeUtc

/**
 * An instant a service already wrote out as its ISO-8601 UTC text (`2025-03-30T08:00:00.000Z`,
 * as `DateTime.formatIso` and the JSON of {@link Instant} write it): the fields of computed
 * results (a consent status, a report) that are text in their TypeScript type too.
 *
 * @since 0.7.0
 * @category schemas
 */
export const InstantText = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, {
    message: (issue) => `must be an ISO-8601 UTC instant such as "2025-03-30T08:00:00.000Z" (got ${showValue(issue.actual)})`
  }),
  Schema.annotations({
    jsonSchema: { type: "string", format: "date-time", description: "An ISO-8601 UTC instant, e.g. 2025-03-30T08:00:00.000Z" }
  })
)

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/i

const EARLIEST = Date.parse("0001-01-01T00:00:00.000Z")
const LATEST = Date.parse("9999-12-31T23:59:59.999Z")

/**
 * The first and last instants Rapport stores (years 0001 to 9999): stored ISO strings keep their
 * fixed width, so they sort as they compare. Computed instants (delays, due dates) are bounded by
 * them too.
 *
 * @since 0.4.0
 * @category utils
 */
export const instantRange = { earliest: EARLIEST, latest: LATEST } as const

/**
 * `true` when epoch milliseconds fall in {@link instantRange}.
 *
 * @since 0.4.0
 * @category utils
 */
export const isInInstantRange = (millis: number): boolean => Number.isFinite(millis) && millis >= EARLIEST && millis <= LATEST

/**
 * The instant, moved into {@link instantRange} when a computation took it past either end: a
 * delay added to an event of 9999-12-31 ends on 9999-12-31 (in practice, never), not in the year
 * 10000, whose ISO text (`+010000-…`) would sort before today in a text column and be due at once.
 *
 * @since 0.4.0
 * @category utils
 */
export const clampInstant = (instant: DateTime.DateTime | number): DateTime.Utc => {
  const millis = typeof instant === "number" ? instant : DateTime.toEpochMillis(instant)
  return DateTime.unsafeMake(Number.isNaN(millis) ? LATEST : Math.min(LATEST, Math.max(EARLIEST, millis)))
}

/**
 * Parses an ISO-8601 instant that states its offset; a string without `Z` or `±hh:mm` would be
 * read in the server's local zone, so it is refused. Every part must exist as written: JavaScript
 * reads `2025-02-30` as March 2 and `24:00` as the next day, which would store another instant
 * than the one meant, so both are refused, as are instants outside the years 0001 to 9999.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseIsoInstant = (s: string): DateTime.Utc | string => {
  const m = ISO_WITH_OFFSET.exec(s)
  if (m === null) {
    return `must be an ISO-8601 instant with an offset, e.g. "2025-03-30T10:00:00Z" or "2025-03-30T12:00:00+02:00" (got ${JSON.stringify(s)})`
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as [number, number, number, number, number, number]
  const offsetHours = m[8] === undefined ? 0 : Number(m[8])
  const offsetMinutes = m[9] === undefined ? 0 : Number(m[9])
  const problem =
    month < 1 || month > 12
      ? "the month must be 01 to 12"
      : day < 1 || day > daysInMonth(year, month)
        ? `${m[1]}-${m[2]} has no day ${m[3]}`
        : hour > 23
          ? "the hour must be 00 to 23 (24:00 is written 00:00 of the next day)"
          : minute > 59
            ? "the minutes must be 00 to 59"
            : second > 59
              ? "the seconds must be 00 to 59"
              : offsetHours > 23 || offsetMinutes > 59
                ? "the offset must be at most ±23:59"
                : undefined
  if (problem !== undefined) return `is not a valid instant: ${problem} (got ${JSON.stringify(s)})`
  const ms = Date.parse(s)
  if (!isInInstantRange(ms)) return `must be between the years 0001 and 9999 (got ${JSON.stringify(s)})`
  return DateTime.unsafeMake(ms)
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0)
const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const InstantFromIsoString = Schema.transformOrFail(Schema.String, Schema.DateTimeUtcFromSelf, {
  strict: true,
  decode: (s, _, ast) => {
    const parsed = parseIsoInstant(s)
    return typeof parsed === "string" ? ParseResult.fail(new ParseResult.Type(ast, s, parsed)) : ParseResult.succeed(parsed)
  },
  encode: (dt) => ParseResult.succeed(DateTime.formatIso(dt))
})

/**
 * What callers may pass for an instant: an ISO string with offset, a `Date`, or a `DateTime`,
 * in the years 0001 to 9999 (so that stored ISO strings keep their fixed width and order).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InstantInput = Schema.Union(
  InstantFromIsoString,
  Schema.DateTimeUtcFromDate,
  Schema.DateTimeUtcFromSelf
).pipe(
  Schema.filter((dt) => isInInstantRange(DateTime.toEpochMillis(dt)), {
    message: () => "must be between the years 0001 and 9999"
  }),
  // Over JSON (the HTTP API, its OpenAPI document) an instant is its ISO-8601 string.
  Schema.annotations({
    identifier: "InstantInput",
    jsonSchema: { type: "string", format: "date-time", description: "An ISO-8601 instant with an offset, e.g. 2025-03-30T10:00:00Z" }
  })
)

/**
 * The calendar date of an instant in a timezone: 23:30 UTC on the 1st is the 2nd in Paris.
 *
 * @since 0.1.0
 * @category utils
 */
export const localDateOf = (instant: DateTime.DateTime, timezone: Timezone): LocalDate => {
  const zoned = DateTime.unsafeMakeZoned(instant, { timeZone: timezone })
  const parts = DateTime.toParts(zoned)
  const pad = (n: number, w = 2) => String(n).padStart(w, "0")
  return LocalDate.make(`${pad(parts.year, 4)}-${pad(parts.month)}-${pad(parts.day)}`)
}
