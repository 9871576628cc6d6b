// Driver failures become Rapport's own errors at this boundary: a unique-key violation becomes a
// Conflict where the caller expects one, a lost or refused connection becomes
// StorageError("unavailable"), anything else StorageError("failed"). The cause is always kept.
import { Errors } from "@rapport/core"
import type { SqlError } from "@effect/sql/SqlError"
import type { ParseError } from "effect/ParseResult"

const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

// SQLite result codes and PostgreSQL SQLSTATEs (class 08 connection, 57P admin/crash shutdown,
// 53300 too many connections, 40P01 deadlock and 40001 serialization failure: the transaction was
// rolled back and can be retried) and Node socket errors that mean "try again later".
const UNAVAILABLE = /^(SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL)|08|57P0[1-3]|53300|40P01|40001|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)/
const UNAVAILABLE_MESSAGE = /Connection terminated|connection closed|Client has encountered a connection error|timeout exceeded when trying to connect/i

/** The driver's error behind an SqlError (the SqlError itself when it wraps nothing). */
const driverCause = (error: SqlError): unknown => error.cause ?? error

export const isUniqueViolation = (error: SqlError): boolean => {
  const code = codeOf(driverCause(error))
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"
}

/**
 * Whether a unique violation is the table's primary key (and not another unique index). SQLite
 * says so in its code; PostgreSQL names the constraint, `<table>_pkey` by default.
 */
export const violatesPrimaryKey = (error: SqlError): boolean => {
  const cause = driverCause(error)
  const code = codeOf(cause)
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY") return true
  const constraint = typeof cause === "object" && cause !== null && "constraint" in cause ? cause.constraint : undefined
  return code === "23505" && typeof constraint === "string" && constraint.endsWith("_pkey")
}

export const isUnavailable = (error: SqlError): boolean => {
  const cause = driverCause(error)
  const code = codeOf(cause)
  if (code !== undefined && UNAVAILABLE.test(code)) return true
  const message = cause instanceof Error ? cause.message : String(cause)
  return UNAVAILABLE_MESSAGE.test(message)
}

// An established connection that the server or the network closed (not a connection that could
// not be opened: retrying those would only wait for the connect timeout again).
const LOST = /^(57P0[1-3]|08003|08006|ECONNRESET|EPIPE)$/
const LOST_MESSAGE = /Connection terminated|connection closed|Client has encountered a connection error/i

/** The statement failed because its pooled connection was already closed, or closed under it. */
export const isLostConnection = (error: SqlError): boolean => {
  const cause = driverCause(error)
  const code = codeOf(cause)
  if (code !== undefined && LOST.test(code)) return true
  return LOST_MESSAGE.test(cause instanceof Error ? cause.message : String(cause))
}

export const storageError = (error: SqlError): Errors.StorageError => {
  const cause = driverCause(error)
  const detail = cause instanceof Error ? cause.message : String(cause)
  return isUnavailable(error)
    ? new Errors.StorageError({ reason: "unavailable", message: `The database is unavailable: ${detail}`, cause: error })
    : new Errors.StorageError({ reason: "failed", message: `The database refused the operation: ${detail}`, cause: error })
}

export const corruptRow = (error: ParseError): Errors.StorageError =>
  new Errors.StorageError({ reason: "failed", message: `Stored data could not be read back: ${error.message}`, cause: error })
