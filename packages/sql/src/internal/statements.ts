// What every repository's statements share: mapping driver failures to Rapport's errors, and
// optimistic-version updates.
import { Errors } from "@rapport/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { isParseError, type ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { corruptRow, isLostConnection, isUniqueViolation, storageError, violatesPrimaryKey } from "./errors.js"
import { VersionRow } from "./rows.js"

export const isSqlError = (u: unknown): u is SqlError => u instanceof SqlError

/**
 * The rows of a multi-row INSERT, split into statements. SQLite prepares each statement text once
 * per connection and keeps it (a few hundred): 64 rows at a time, and the rest in powers of two,
 * keeps the texts few and each small enough to prepare and bind quickly (preparing an INSERT of
 * 600 rows took longer than running it). On PostgreSQL, where each statement is a round trip,
 * up to `max` rows go in one. Both stay far below the bound-parameter limits (SQLite's 32,766,
 * PostgreSQL's 65,535): 64 rows of the widest table (23 columns) are 1,472 parameters.
 */
export const insertChunks =
  (sql: SqlClient.SqlClient, max: number) =>
  <A>(rows: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
    sql.onDialectOrElse({
      sqlite: () => {
        const parts: Array<ReadonlyArray<A>> = []
        let at = 0
        for (; rows.length - at >= 64; at += 64) parts.push(rows.slice(at, at + 64))
        for (let size = 32; size >= 1; size /= 2) {
          if (rows.length - at >= size) {
            parts.push(rows.slice(at, at + size))
            at += size
          }
        }
        return parts
      },
      orElse: () => Array.from({ length: Math.ceil(rows.length / max) }, (_, i) => rows.slice(i * max, (i + 1) * max))
    })

/**
 * Runs a unit of work again, up to three times 20 ms apart, when its pooled connection turns out
 * to have been closed (a server restart, pg_terminate_backend) before anything was committed. A
 * restart closes every idle connection at once: the pause lets the pool see the others close too,
 * so the next try opens a new one instead of taking the next dead one.
 */
export const retryLostConnection = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, { schedule: Schedule.spaced("20 millis"), times: 3, while: (error) => isSqlError(error) && isLostConnection(error) })

// A statement outside a transaction takes any connection from the pool, so it may be retried on
// another; inside a transaction the connection is the transaction's, which retries as a whole.
const retryOnFreshConnection = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
    Option.isSome(inTransaction) ? effect : retryLostConnection(effect)
  )

/** Maps driver and decoding failures to StorageError; Rapport's own errors (Conflict) pass through. */
export const orStorage = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, Exclude<E, SqlError | ParseError> | Errors.StorageError> =>
  Effect.mapError(retryOnFreshConnection(effect), (error) =>
    isSqlError(error)
      ? storageError(error)
      : isParseError(error)
        ? corruptRow(error)
        : // The guards above removed exactly SqlError and ParseError.
          (error as Exclude<E, SqlError | ParseError>)
  )

/** A unique-key violation becomes the Conflict the caller expects; other failures StorageError. */
export const onUnique = <A>(
  effect: Effect.Effect<A, SqlError | ParseError>,
  conflict: (error: SqlError) => Errors.Conflict
): Effect.Effect<A, Errors.Conflict | Errors.StorageError> =>
  orStorage(
    Effect.catchIf(
      effect,
      (error): error is SqlError => isSqlError(error) && isUniqueViolation(error),
      (error) => Effect.fail(conflict(error))
    )
  )

/**
 * A write refused by a unique index other than the primary key (a template's or rule's stable
 * key) becomes `Conflict` (`unique`, field `key`); one refused by the primary key becomes
 * `onTakenId()` when given. Other failures stay as they are.
 */
export const onKeyTaken = <A, E>(
  effect: Effect.Effect<A, E>,
  entity: Errors.EntityName,
  key: string | null,
  onTakenId?: () => Errors.Conflict
): Effect.Effect<A, E | Errors.Conflict> =>
  Effect.catchIf(
    effect,
    (error): error is E & Errors.StorageError =>
      error instanceof Errors.StorageError && isSqlError(error.cause) && isUniqueViolation(error.cause) &&
      (violatesPrimaryKey(error.cause) ? onTakenId !== undefined : key !== null),
    (error) => Effect.fail(violatesPrimaryKey(error.cause as SqlError) ? onTakenId!() : Errors.Conflict.unique(entity, "key"))
  )

/** `UPDATE … WHERE version = expected RETURNING id`, then a Conflict naming both versions when no row matched. */
export const versionedUpdate = (
  entity: Errors.EntityName,
  id: string,
  expectedVersion: number,
  update: Effect.Effect<ReadonlyArray<unknown>, SqlError>,
  currentVersion: Effect.Effect<ReadonlyArray<unknown>, SqlError>
) =>
  Effect.gen(function* () {
    const updated = yield* update
    if (updated.length > 0) return
    const rows = yield* currentVersion
    const actual = rows.length === 0 ? undefined : (yield* Schema.decodeUnknown(VersionRow)(rows[0])).version
    return yield* Errors.Conflict.version(entity, id, expectedVersion, actual)
  })
