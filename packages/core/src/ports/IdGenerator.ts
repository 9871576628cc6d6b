/**
 * The IdGenerator port. By default ids are UUID version 7: time-ordered (from Effect's Clock, so
 * they follow the TestClock in tests) and unique. Provide another implementation to control ids.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { v7 } from "uuid"
import { randomFillSync } from "node:crypto"

/**
 * @since 0.1.0
 * @category models
 */
export interface IdGeneratorService {
  /** A new UUID string. */
  readonly next: Effect.Effect<string>
}

/**
 * UUID v7 ids, monotonic within the process: ids made in the same millisecond still sort in the
 * order they were made.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUuidV7 = (): IdGeneratorService => {
  let lastMs = -1
  let seq = 0
  // Random bytes are drawn 4 KiB at a time: one system call per 256 ids, not one per id.
  const pool = new Uint8Array(4096)
  let offset = pool.length
  const randomBytes = () => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    offset += 16
    return pool.subarray(offset - 16, offset)
  }
  return {
    next: Effect.map(Clock.currentTimeMillis, (now) => {
      const random = randomBytes()
      if (now > lastMs) {
        lastMs = now
        // Start the sequence in the lower half of its range so increments never wrap in practice.
        seq = ((random[6]! << 23) | (random[7]! << 16) | (random[8]! << 8) | random[9]!) >>> 1
      } else {
        seq = (seq + 1) >>> 0
        if (seq === 0) lastMs++
      }
      return v7({ msecs: lastMs, seq, random })
    })
  }
}

/**
 * Deterministic ids `00000000-0000-7000-8000-000000000001`, `…002`…: for snapshot tests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSequential = (): IdGeneratorService => {
  let n = 0
  return {
    next: Effect.sync(() => `00000000-0000-7000-8000-${(++n).toString(16).padStart(12, "0")}`)
  }
}

/**
 * The IdGenerator port; optional to provide (UUID v7 by default).
 *
 * @since 0.1.0
 * @category services
 */
export class IdGenerator extends Context.Reference<IdGenerator>()("@rapport/core/IdGenerator", {
  defaultValue: makeUuidV7
}) {}
