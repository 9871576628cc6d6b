// The dispatcher's options, checked before anything runs: a string or fractional batch size used to
// reach SQL, a negative lease or zero concurrency was accepted, and a bad duration threw a plain
// Error. Every problem is reported at once, by option name.
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { ValidationError, type ValidationIssue } from "../domain/Errors.js"
import { showValue } from "./show.js"

/** The options, checked and with their defaults. */
export interface DispatchSettings {
  readonly batchSize: number
  readonly leaseMillis: number
  readonly maxAttempts: number
  readonly retryDelayMillis: number
  readonly concurrency: number
  readonly limit: number
  readonly pollMillis: number
  readonly workspaces: unknown
}

const DAY = 86_400_000

/** Checks `runDue` options (`poll: false`) or `start` options (`poll: true`). */
export const dispatchSettings = (options: unknown, poll: boolean): DispatchSettings | ValidationError => {
  const given = options ?? {}
  if (typeof given !== "object" || Array.isArray(given)) {
    return ValidationError.at([], `the dispatcher's options must be an object (got ${showValue(options)})`)
  }
  const read = (key: string): unknown => (given as Readonly<Record<string, unknown>>)[key]
  const issues: Array<ValidationIssue> = []
  const known = ["batchSize", "lease", "maxAttempts", "retryDelay", "concurrency", "limit", "workspaces", ...(poll ? ["pollInterval"] : [])]
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) issues.push({ path: [key], message: `is not a dispatcher option (they are ${known.join(", ")})` })
  }
  const whole = (key: string, min: number, max: number, fallback: number): number => {
    const value = read(key)
    if (value === undefined) return fallback
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max) return value
    issues.push({ path: [key], message: `must be a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? "2^53 - 1" : max} (got ${showValue(value)})` })
    return fallback
  }
  const duration = (key: string, min: number, minText: string, fallback: number): number => {
    const value = read(key)
    if (value === undefined) return fallback
    const decoded = isDurationInput(value) ? Duration.decodeUnknown(value) : Option.none()
    const millis = Option.isSome(decoded) && Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : Number.NaN
    if (millis >= min && millis <= DAY) return millis
    issues.push({
      path: [key],
      message: `must be a duration from ${minText} to 1 day, such as "30 seconds", "5 minutes" or a number of milliseconds (got ${showValue(value)})`
    })
    return fallback
  }
  const settings: DispatchSettings = {
    batchSize: whole("batchSize", 1, 1000, 20),
    maxAttempts: whole("maxAttempts", 1, 100, 8),
    concurrency: whole("concurrency", 1, 64, 4),
    limit: whole("limit", 1, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY),
    leaseMillis: duration("lease", 1000, "1 second", 60_000),
    retryDelayMillis: duration("retryDelay", 0, "0", 30_000),
    pollMillis: poll ? duration("pollInterval", 10, "10 milliseconds", 1000) : 1000,
    workspaces: read("workspaces")
  }
  return issues.length > 0 ? ValidationError.fromIssues(issues, "Invalid dispatcher options") : settings
}

// Duration.decodeUnknown reads numbers as milliseconds, bigints as nanoseconds, "5 minutes", a
// Duration, or [seconds, nanos]; negative numbers and NaN it would clamp or throw on are refused.
const isDurationInput = (u: unknown): boolean =>
  (typeof u === "number" && Number.isFinite(u) && u >= 0) ||
  (typeof u === "bigint" && u >= 0n) ||
  typeof u === "string" ||
  Duration.isDuration(u) ||
  (Array.isArray(u) && u.length === 2 && u.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0))

/**
 * How long a failed job waits before its next attempt: `retryDelay` doubled at each attempt
 * (`attempts` counts the one that just failed, from 1), at most one hour.
 */
export const backoffMillis = (settings: Pick<DispatchSettings, "retryDelayMillis">, attempts: number): number =>
  Math.min(settings.retryDelayMillis * 2 ** Math.max(0, attempts - 1), 3_600_000)
