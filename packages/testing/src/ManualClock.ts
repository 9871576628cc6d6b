/**
 * A clock whose time moves only when told, for an app that builds its own CRM (a real mailer, its
 * own HTTP server) and still wants to test what happens a day or 90 days later in milliseconds.
 * `createTestCrm` runs on one; pass `clock` to `createCrm({ clock })` to run an app's CRM on one.
 *
 * @example
 * ```ts
 * const time = manualClock("2026-12-07T09:00:00Z")
 * const crm = await createCrm({ storage: memoryStorage(), mailer, clock: time.clock })
 * crm.dispatcher.start()
 * time.advance("1 day") // the dispatcher's poll wakes, and the reminder due at D+1 goes
 * ```
 *
 * @since 0.9.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * A clock that moves only when told.
 *
 * @since 0.9.0
 * @category models
 */
export interface ManualClock {
  /** The Effect `Clock` to give the CRM (`createCrm({ clock })`). */
  readonly clock: Clock.Clock
  /** The current instant, ISO-8601. */
  now(): string
  /** Moves time forward by a duration (`"1 day"`, `"90 minutes"`, milliseconds), waking every sleeper whose deadline it passes. */
  advance(duration: Duration.DurationInput): void
  /** Moves time forward to an instant (never back: an earlier one changes nothing), waking the sleepers it passes. */
  advanceTo(instant: string | Date): void
}

const millisOf = (instant: string | Date): number => {
  const ms = instant instanceof Date ? instant.getTime() : Date.parse(instant)
  if (Number.isNaN(ms)) throw new RangeError(`not an instant: ${String(instant)}`)
  return ms
}

/**
 * A clock at `start` that moves only when told.
 *
 * @since 0.9.0
 * @category constructors
 */
export const manualClock = (start: string | Date): ManualClock => {
  let now = millisOf(start)
  const sleepers: Array<{ readonly at: number; readonly wake: () => void }> = []
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const sleeper = { at: now + Duration.toMillis(duration), wake: () => resume(Effect.void) }
        if (sleeper.at <= now) return resume(Effect.void)
        sleepers.push(sleeper)
        return Effect.sync(() => {
          const i = sleepers.indexOf(sleeper)
          if (i >= 0) sleepers.splice(i, 1)
        })
      })
  }
  const moveTo = (to: number) => {
    now = Math.max(now, to)
    for (const sleeper of sleepers.filter((s) => s.at <= now)) {
      sleepers.splice(sleepers.indexOf(sleeper), 1)
      sleeper.wake()
    }
  }
  return {
    clock,
    now: () => new Date(now).toISOString(),
    advance: (duration) => moveTo(now + Duration.toMillis(Duration.decode(duration))),
    advanceTo: (instant) => moveTo(millisOf(instant))
  }
}
