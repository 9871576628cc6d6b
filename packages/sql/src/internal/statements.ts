// What every repository's statements share: mapping driver failures to Rapport's errors, and
// optimistic-version updates.
import { Errors } from "@rapport/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isParseError, type ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { corruptRow, isUnavailable, isUniqueViolation, storageError } from "./errors.js"
import { VersionRow } from "./rows.js"

export const isSqlError = (u: unknown): u is SqlError => u instanceof SqlError

// A statement outside a transaction takes any connection from the pool; one the server closed while
// it sat idle (a restart, pg_terminate_backend) fails and is dropped by the pool, so the statement is
// tried once more on another. Inside a transaction the connection is the transaction's: no retry
// there (the transaction itself retries a failed BEGIN).
const retryOnFreshConnection = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.catchIf(effect, (error) => isSqlError(error) && isUnavailable(error), (error) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) => (Option.isSome(inTransaction) ? Effect.fail(error) : effect))
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
