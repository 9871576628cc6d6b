/**
 * The errors the Promise client throws: {@link RapportError} and one subclass per Effect error.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  type AuthenticationFailed,
  type Conflict,
  type ErrorCode,
  type InvalidTransition,
  isRapportFailure,
  type NotFound,
  type RapportFailure,
  type StorageError,
  type ValidationError,
  type ValidationIssue,
  type WebhookRejected
} from "../domain/Errors.js"
import { MailerError } from "../ports/Mailer.js"

/**
 * What the Promise client throws when an operation fails for a reason Rapport knows. Subclasses
 * carry the details; `_tag` matches the Effect error and `code` is stable across versions.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportError extends Error {
  /** The Effect error's tag, e.g. `ValidationError`. */
  readonly _tag: string
  /** A stable code, e.g. `VALIDATION_FAILED`. */
  readonly code: ErrorCode

  /** `failure` is the tagged error behind it; it is kept as `cause`. */
  constructor(failure: { readonly _tag: string; readonly code: ErrorCode; readonly message: string }, options?: { readonly cause?: unknown }) {
    super(failure.message, { cause: options !== undefined && "cause" in options ? options.cause : failure })
    this._tag = failure._tag
    this.code = failure.code
    this.name = new.target.name
  }
}

/**
 * A call on a client whose `close()` was called (or on a `workspace(id)` client of it).
 *
 * @since 0.4.0
 * @category errors
 */
export class RapportClientClosedError extends RapportError {
  constructor() {
    super({ _tag: "ClientClosed", code: "CLIENT_CLOSED", message: "This Rapport client was closed: create a new one with createCrm()" })
  }
}

/**
 * The `effect` package installed beside Rapport is not one Rapport runs on (Rapport needs effect 3,
 * from {@link requiredEffect}; effect 4 is a different API). `installed` is the version found, or
 * `undefined` when none could be read (effect 4 and later expose no version the same way).
 *
 * @since 0.5.0
 * @category errors
 */
export class RapportEffectVersionError extends RapportError {
  readonly installed: string | undefined
  constructor(installed: string | undefined) {
    const found = installed === undefined ? "another major version of effect (not 3.x) is installed" : `effect ${installed} is installed`
    super({
      _tag: "UnsupportedEffect",
      code: "UNSUPPORTED_EFFECT",
      message: `Rapport needs effect ${requiredEffect}; ${found}: npm install effect@${requiredEffect}`
    })
    this.installed = installed
  }
}

/**
 * The effect versions Rapport runs on (the range of its peer dependency).
 *
 * @since 0.5.0
 * @category constants
 */
export const requiredEffect = "^3.22.4"

/**
 * The error to throw when `installed` (an effect version, or `undefined` when none could be read)
 * is not in {@link requiredEffect}; `undefined` when it is.
 *
 * @since 0.5.0
 * @category utils
 */
export const checkEffectVersion = (installed: string | undefined): RapportEffectVersionError | undefined => {
  const match = installed === undefined ? null : /^(\d+)\.(\d+)\.(\d+)/.exec(installed)
  if (match === null) return new RapportEffectVersionError(installed)
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])]
  return major === 3 && (minor > 22 || (minor === 22 && patch >= 4)) ? undefined : new RapportEffectVersionError(installed)
}

// Every effect 3 Effect value carries the version of the effect module that made it (`_V`); effect 4
// changed its type id, so an install of 4 reads as undefined here.
const variance = (value: unknown, key: unknown): unknown =>
  typeof value === "object" && value !== null && (typeof key === "symbol" || typeof key === "string") ? (value as Record<PropertyKey, unknown>)[key] : undefined

/**
 * The version of the `effect` module Rapport imports, read from an Effect value it makes, or
 * `undefined` when it cannot be read (not effect 3).
 *
 * @since 0.5.0
 * @category utils
 */
export const installedEffectVersion = (): string | undefined => {
  const v = variance(variance(Effect.void, (Effect as { readonly EffectTypeId?: unknown }).EffectTypeId), "_V")
  return typeof v === "string" ? v : undefined
}

/**
 * Throws a {@link RapportEffectVersionError} unless the installed effect is one Rapport runs on.
 * `createCrm` calls it first; Effect users may call it at start-up.
 *
 * @since 0.5.0
 * @category utils
 */
export const assertEffectVersion = (): void => {
  const error = checkEffectVersion(installedEffectVersion())
  if (error !== undefined) throw error
}

/**
 * Something failed that Rapport does not expect: a bug, or a custom action or mailer that threw
 * outside its contract. `cause` holds what was thrown; the message says where to look.
 *
 * @since 0.4.0
 * @category errors
 */
export class RapportInternalError extends RapportError {
  constructor(cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    super({ _tag: "Defect", code: "INTERNAL_ERROR", message: `Unexpected failure inside Rapport (${detail}); the cause is attached` }, { cause })
  }
}

/**
 * Input did not fit; `issues` lists each failing path and why.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportValidationError extends RapportError {
  readonly issues: ReadonlyArray<ValidationIssue>
  constructor(failure: ValidationError) {
    super(failure)
    this.issues = failure.issues
  }
}

/**
 * The record does not exist in this workspace.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportNotFoundError extends RapportError {
  readonly entity: string
  readonly id: string
  constructor(failure: NotFound) {
    super(failure)
    this.entity = failure.entity
    this.id = failure.id
  }
}

/**
 * The write conflicts with stored data (stale version, value already used, record in use,
 * stored values that a new definition would reject); nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportConflictError extends RapportError {
  readonly reason: Conflict["reason"]
  readonly entity: string
  readonly field: string | undefined
  readonly existingId: string | undefined
  readonly affected: number | undefined
  constructor(failure: Conflict) {
    super(failure)
    this.reason = failure.reason
    this.entity = failure.entity
    this.field = failure.field
    this.existingId = failure.existingId
    this.affected = failure.affected
  }
}

/**
 * A lifecycle move was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportInvalidTransitionError extends RapportError {
  readonly reason: InvalidTransition["reason"]
  readonly from: string
  readonly to: string
  readonly missingFields: ReadonlyArray<string>
  constructor(failure: InvalidTransition) {
    super(failure)
    this.reason = failure.reason
    this.from = failure.from
    this.to = failure.to
    this.missingFields = failure.missingFields
  }
}

/**
 * The storage failed or could not be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportStorageError extends RapportError {
  readonly reason: StorageError["reason"]
  constructor(failure: StorageError) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * An API key was refused (`malformed`, `invalid` or `revoked`).
 *
 * @since 0.6.0
 * @category errors
 */
export class RapportAuthenticationError extends RapportError {
  readonly reason: AuthenticationFailed["reason"]
  constructor(failure: AuthenticationFailed) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * An inbound webhook was refused before anything was recorded; `reason` says why, `header` which
 * header was at fault.
 *
 * @since 0.6.0
 * @category errors
 */
export class RapportWebhookError extends RapportError {
  readonly reason: WebhookRejected["reason"]
  readonly source: string | undefined
  readonly header: string | undefined
  constructor(failure: WebhookRejected) {
    super(failure)
    this.reason = failure.reason
    this.source = failure.source
    this.header = failure.header
  }
}

/**
 * The mail provider refused a mail (`rejected`) or could not be reached (`unavailable`).
 *
 * @since 0.2.0
 * @category errors
 */
export class RapportMailerError extends RapportError {
  readonly reason: MailerError["reason"]
  constructor(failure: MailerError) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * Converts an Effect failure to the error the Promise client throws.
 *
 * @since 0.1.0
 * @category errors
 */
export const toRapportError = (failure: RapportFailure): RapportError => {
  switch (failure._tag) {
    case "ValidationError":
      return new RapportValidationError(failure)
    case "NotFound":
      return new RapportNotFoundError(failure)
    case "Conflict":
      return new RapportConflictError(failure)
    case "InvalidTransition":
      return new RapportInvalidTransitionError(failure)
    case "StorageError":
      return new RapportStorageError(failure)
    case "AuthenticationFailed":
      return new RapportAuthenticationError(failure)
    case "WebhookRejected":
      return new RapportWebhookError(failure)
  }
}

/** Throws the Promise client's error for an Effect failure (internal: not exported by the package). */
export const rethrow = (cause: Cause.Cause<unknown>): never => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && isRapportFailure(failure.value)) throw toRapportError(failure.value)
  if (Option.isSome(failure) && failure.value instanceof MailerError) throw new RapportMailerError(failure.value)
  // Only close() interrupts a Promise client's calls: a call still running then fails as closed.
  if (Cause.isInterruptedOnly(cause)) throw new RapportClientClosedError()
  const squashed = Cause.squash(cause)
  throw squashed instanceof RapportError ? squashed : new RapportInternalError(squashed)
}

