/**
 * Durations and delays as rules write them: `"30 minutes"`, `"1 day"`, `"next 10:00"`, or
 * `{ after: "1 day", at: "10:00" }`. Days and weeks are calendar days in a timezone (one day after
 * 10:00 is 10:00 the next day, even across a daylight-saving change); minutes and hours are exact.
 * A local time of day that a daylight-saving change skips is taken at the first instant after the
 * gap; one that occurs twice is taken the first time.
 *
 * @since 0.3.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { clampInstant, type Timezone } from "./Time.js"
import { showValue } from "../internal/show.js"

/**
 * The units a duration may use.
 *
 * @since 0.3.0
 * @category models
 */
export type DurationUnit = "second" | "minute" | "hour" | "day" | "week"

/**
 * A parsed duration: a positive whole number of one unit.
 *
 * @since 0.3.0
 * @category models
 */
export interface Span {
  readonly amount: number
  readonly unit: DurationUnit
}

const SPAN = /^\s*(\d{1,6})\s*(seconds?|minutes?|hours?|days?|weeks?)\s*$/i
const MAX_DAYS = 3660

const UNIT_MS: Record<DurationUnit, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 }

/**
 * Parses `"3 days"`, `"1 hour"`, `"90 minutes"` (whole numbers, up to ten years), or says why not.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseSpan = (input: string): Span | string => {
  const match = SPAN.exec(input)
  if (match === null) {
    return `must be a duration such as "30 minutes", "2 hours", "1 day" or "2 weeks" (got ${JSON.stringify(input)})`
  }
  const amount = Number(match[1])
  const unit = match[2]!.toLowerCase().replace(/s$/, "") as DurationUnit
  if (amount <= 0) return `must be a positive duration (got ${JSON.stringify(input)})`
  if ((amount * UNIT_MS[unit]) / UNIT_MS.day > MAX_DAYS) return `must be at most ten years (got ${JSON.stringify(input)})`
  return { amount, unit }
}

/**
 * A duration string: a positive whole number and a unit (`second`, `minute`, `hour`, `day`,
 * `week`, singular or plural), e.g. `"7 days"`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurationString = Schema.String.pipe(
  Schema.filter((s) => {
    const parsed = parseSpan(s)
    return typeof parsed === "string" ? parsed : true
  }),
  Schema.annotations({
    identifier: "DurationString",
    arbitrary: () => (fc) =>
      fc.tuple(fc.integer({ min: 1, max: 48 }), fc.constantFrom("minutes", "hours", "days", "weeks")).map(([n, u]) => `${n} ${u}`)
  })
)

/**
 * The length of a duration in milliseconds, counting a day as 24 hours (for windows that look
 * back from an instant; delays use {@link addSpan}, which counts calendar days).
 *
 * @since 0.3.0
 * @category utils
 */
export const spanMillis = (span: Span): number => span.amount * UNIT_MS[span.unit]

/**
 * The duration in milliseconds of a valid duration string (24-hour days).
 *
 * @since 0.3.0
 * @category utils
 */
export const durationMillis = (duration: string): number => {
  const parsed = parseSpan(duration)
  if (typeof parsed === "string") throw new Error(parsed)
  return spanMillis(parsed)
}

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/

/**
 * A local time of day, `HH:MM` (24-hour clock).
 *
 * @since 0.3.0
 * @category schemas
 */
export const TimeOfDay = Schema.String.pipe(
  Schema.pattern(TIME_OF_DAY, { message: (issue) => `must be a time of day HH:MM such as "10:00" (got ${showValue(issue.actual)})` }),
  Schema.annotations({ identifier: "TimeOfDay" })
)

/**
 * When a delayed action runs: `after` a duration, then (when `at` is given) at the next such local
 * time of day in the contact's timezone, else the workspace's.
 *
 * @since 0.3.0
 * @category models
 */
export interface DelaySpec {
  readonly after?: string | undefined
  readonly at?: string | undefined
}

const DelayObject = Schema.Struct({
  after: Schema.optional(DurationString),
  at: Schema.optional(TimeOfDay)
}).pipe(Schema.filter((d) => d.after !== undefined || d.at !== undefined || 'give "after", "at" or both'))

const NEXT = /^next\s+(.+)$/i

const DelayString = Schema.String.pipe(
  Schema.filter((s) => {
    const next = NEXT.exec(s.trim())
    if (next !== null) return TIME_OF_DAY.test(next[1]!) || `"${s}": after "next", write a time of day HH:MM such as "next 10:00"`
    const parsed = parseSpan(s)
    return typeof parsed === "string" ? `must be a duration ("1 day"), "next HH:MM", or { after, at } (got ${JSON.stringify(s)})` : true
  })
)

/**
 * A delay as rules write it: a duration (`"1 day"`), a time of day (`"next 10:00"`), or both
 * (`{ after: "1 day", at: "10:00" }`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Delay = Schema.Union(DelayString, DelayObject).annotations({
  identifier: "Delay",
  arbitrary: () => (fc) =>
    fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 10 }), fc.constantFrom("hours", "days")).map(([n, u]) => `${n} ${u}`),
      fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 30)).map(([h, m]) => `next ${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`)
    )
})

/**
 * @since 0.3.0
 * @category models
 */
export type Delay = typeof Delay.Type

/**
 * A delay in its object form.
 *
 * @since 0.3.0
 * @category utils
 */
export const normalizeDelay = (delay: Delay): DelaySpec => {
  if (typeof delay !== "string") return delay
  const next = NEXT.exec(delay.trim())
  return next !== null ? { at: next[1]! } : { after: delay.trim() }
}

/**
 * Adds a duration to an instant: minutes and hours exactly, days and weeks as calendar days in the
 * timezone (keeping the local time of day).
 *
 * @since 0.3.0
 * @category utils
 */
export const addSpan = (from: DateTime.Utc, span: Span, timezone: Timezone): DateTime.Utc => {
  // In UTC a calendar day is always 24 hours: no need to read the wall clock.
  if ((span.unit !== "day" && span.unit !== "week") || timezone === "UTC") return DateTime.add(from, { millis: spanMillis(span) })
  const zoned = DateTime.unsafeMakeZoned(from, { timeZone: zoneOf(timezone) })
  const days = span.unit === "week" ? span.amount * 7 : span.amount
  const parts = DateTime.toParts(zoned)
  const target = new Date(Date.UTC(parts.year, parts.month - 1, parts.day + days))
  return localInstant(timezone, {
    year: target.getUTCFullYear(),
    month: target.getUTCMonth() + 1,
    day: target.getUTCDate(),
    hours: parts.hours,
    minutes: parts.minutes,
    seconds: parts.seconds,
    millis: parts.millis
  })
}

interface LocalParts {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hours: number
  readonly minutes: number
  readonly seconds: number
  readonly millis: number
}

// Each zone made once: making one from its name builds an Intl formatter, the costliest step of
// computing a due date.
const zones = new Map<string, DateTime.TimeZone>()
const zoneOf = (timezone: Timezone): DateTime.TimeZone => {
  let zone = zones.get(timezone)
  if (zone === undefined) {
    zone = DateTime.zoneUnsafeMakeNamed(timezone)
    zones.set(timezone, zone)
  }
  return zone
}

const zoned = (timezone: Timezone, parts: LocalParts, disambiguation: "earlier" | "later") =>
  DateTime.toEpochMillis(DateTime.unsafeMakeZoned(parts, { timeZone: zoneOf(timezone), adjustForTimeZone: true, disambiguation }))

const offsetAt = (timezone: Timezone, millis: number): number => DateTime.zonedOffset(DateTime.unsafeMakeZoned(millis, { timeZone: zoneOf(timezone) }))

// A wall-clock time in a zone; when it occurs twice, the first. In a gap (02:30 on a spring-forward
// night) it is the first instant after the gap (03:00), not the time shifted by the gap's length
// (03:30, which "compatible" disambiguation gives): the gap is the interval between the "earlier"
// and "later" readings, and the change of offset inside it is found by bisection.
const localInstant = (timezone: Timezone, parts: LocalParts): DateTime.Utc => {
  const earlier = zoned(timezone, parts, "earlier")
  const read = DateTime.toParts(DateTime.unsafeMakeZoned(earlier, { timeZone: zoneOf(timezone) }))
  // The wall time exists (once, or twice and this is the first time).
  if (read.hours === parts.hours && read.minutes === parts.minutes) return DateTime.unsafeMake(earlier)
  const later = zoned(timezone, parts, "later")
  const after = offsetAt(timezone, later)
  let [low, high] = [earlier, later]
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (offsetAt(timezone, middle) === after) high = middle
    else low = middle
  }
  return DateTime.unsafeMake(high)
}

/**
 * The first instant strictly after `from` at which the local time of day is `at` (`HH:MM`).
 *
 * @since 0.3.0
 * @category utils
 */
export const nextTimeOfDay = (from: DateTime.Utc, at: string, timezone: Timezone): DateTime.Utc => {
  const [hours, minutes] = at.split(":").map(Number) as [number, number]
  const local = DateTime.toParts(DateTime.unsafeMakeZoned(from, { timeZone: zoneOf(timezone) }))
  for (let offset = 0; offset < 3; offset++) {
    const day = new Date(Date.UTC(local.year, local.month - 1, local.day + offset))
    const candidate = localInstant(timezone, {
      year: day.getUTCFullYear(),
      month: day.getUTCMonth() + 1,
      day: day.getUTCDate(),
      hours,
      minutes,
      seconds: 0,
      millis: 0
    })
    if (DateTime.toEpochMillis(candidate) > DateTime.toEpochMillis(from)) return candidate
  }
  // Unreachable: some day among three has the time of day after `from`.
  return DateTime.add(from, { days: 1 })
}

/**
 * When a delay that starts at `from` ends, in the timezone; never past the last storable instant
 * (9999-12-31T23:59:59.999Z).
 *
 * @since 0.3.0
 * @category utils
 */
export const dueAt = (from: DateTime.Utc, delay: Delay, timezone: Timezone): DateTime.Utc => {
  const spec = normalizeDelay(delay)
  let at = from
  if (spec.after !== undefined) {
    const span = parseSpan(spec.after)
    if (typeof span === "string") throw new Error(span)
    at = clampInstant(addSpan(at, span, timezone))
  }
  return spec.at === undefined ? at : clampInstant(nextTimeOfDay(at, spec.at, timezone))
}
