/**
 * The few errors Rapport's public API fails with. Each is tagged for Effect code (`_tag`), carries a
 * stable `code` for HTTP and Promise users, a readable `message`, and the structured facts behind it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Stable error codes exposed by the Promise client and the HTTP integration. They never change
 * meaning; new codes may be added.
 *
 * | code | error | when |
 * | --- | --- | --- |
 * | `VALIDATION_FAILED` | {@link ValidationError} | input does not fit its schema |
 * | `NOT_FOUND` | {@link NotFound} | the record does not exist in this workspace |
 * | `VERSION_CONFLICT` | {@link Conflict} (`version`) | the record changed since it was read |
 * | `ALREADY_EXISTS` | {@link Conflict} (`unique`) | another record holds this unique value |
 * | `IN_USE` | {@link Conflict} (`inUse`) | the record is still referenced |
 * | `DEFINITION_CONFLICT` | {@link Conflict} (`existingValues`) | stored records do not fit a new definition |
 * | `INVALID_TRANSITION` | {@link InvalidTransition} | a lifecycle move is not allowed |
 * | `STORAGE_UNAVAILABLE` | {@link StorageError} (`unavailable`) | the database cannot be reached |
 * | `STORAGE_FAILED` | {@link StorageError} (`failed`) | the database refused or failed a statement |
 * | `MAIL_REJECTED` | `MailerError` (`rejected`) | the mail provider refused the mail; retrying will not help |
 * | `MAIL_UNAVAILABLE` | `MailerError` (`unavailable`) | the mail provider could not be reached; retry later |
 * | `CLIENT_CLOSED` | `RapportClientClosedError` | the Promise client was closed; create a new one |
 * | `INTERNAL_ERROR` | `RapportInternalError` | a bug in Rapport or in a custom action: `cause` holds the defect |
 * | `UNAUTHENTICATED` | {@link AuthenticationFailed} | an API key is malformed, unknown, wrong or revoked |
 * | `WEBHOOK_REJECTED` | {@link WebhookRejected} | an inbound webhook's source, headers, signature, timestamp or body was refused |
 * | `IMPORT_UNREADABLE`, `IMPORT_EMPTY`, `IMPORT_UNSUPPORTED`, `IMPORT_STORAGE` | `ImportError` (`@rapport/importers`) | a file could not be imported |
 * | `EXPORT_SOURCE`, `EXPORT_OPTIONS`, `EXPORT_WRITE` | `ExportError` (`@rapport/importers`) | an export could not be written |
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorCode =
  | "VALIDATION_FAILED"
  | "NOT_FOUND"
  | "VERSION_CONFLICT"
  | "ALREADY_EXISTS"
  | "IN_USE"
  | "DEFINITION_CONFLICT"
  | "INVALID_TRANSITION"
  | "STORAGE_UNAVAILABLE"
  | "STORAGE_FAILED"
  | "MAIL_REJECTED"
  | "MAIL_UNAVAILABLE"
  | "CLIENT_CLOSED"
  | "UNSUPPORTED_EFFECT"
  | "INTERNAL_ERROR"
  | "UNAUTHENTICATED"
  | "WEBHOOK_REJECTED"
  | "IMPORT_UNREADABLE"
  | "IMPORT_EMPTY"
  | "IMPORT_UNSUPPORTED"
  | "IMPORT_STORAGE"
  | "EXPORT_SOURCE"
  | "EXPORT_OPTIONS"
  | "EXPORT_WRITE"

/**
 * One reason an input was rejected: where (`path`, e.g. `["fields", "siret"]`) and why.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ValidationIssue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ValidationIssue extends Schema.Schema.Type<typeof ValidationIssue> {}

/**
 * Renders a path as developers write it: `fields.siret`, `lines[0].quantity`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.reduce<string>(
    (acc, segment) =>
      typeof segment === "number" ? `${acc}[${segment}]` : acc === "" ? segment : `${acc}.${segment}`,
    ""
  )

/**
 * The input does not fit: every failing path is listed with its reason.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationError extends Schema.TaggedError<ValidationError>("@rapport/core/ValidationError")(
  "ValidationError",
  {
    message: Schema.String,
    issues: Schema.Array(ValidationIssue)
  }
) {
  /** @since 0.1.0 */
  get code(): ErrorCode {
    return "VALIDATION_FAILED"
  }

  /**
   * Builds the error from its issues; the message lists each one on its own line.
   *
   * @since 0.1.0
   */
  static fromIssues(issues: ReadonlyArray<ValidationIssue>, context = "Invalid input"): ValidationError {
    const lines = issues.map((issue) => {
      const where = formatPath(issue.path)
      return where === "" ? `  - ${issue.message}` : `  - ${where}: ${issue.message}`
    })
    return new ValidationError({ message: `${context}:\n${lines.join("\n")}`, issues })
  }

  /**
   * A single issue at one path.
   *
   * @since 0.1.0
   */
  static at(path: ReadonlyArray<string | number>, message: string): ValidationError {
    return ValidationError.fromIssues([{ path, message }])
  }
}

/**
 * The kinds of records Rapport stores, as named in errors.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EntityName = Schema.Literal(
  "workspace",
  "contact",
  "company",
  "deal",
  "pipeline",
  "task",
  "template",
  "fieldDefinition",
  "event",
  "order",
  "timelineEntry",
  "rule",
  "job",
  "apiKey",
  "inboundWebhook",
  "webhookSubscription",
  "webhookDelivery",
  "campaign",
  "import",
  "segment"
)

/**
 * @since 0.1.0
 * @category models
 */
export type EntityName = typeof EntityName.Type

/**
 * The record does not exist in the current workspace (records of other workspaces are never seen).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("@rapport/core/NotFound")("NotFound", {
  message: Schema.String,
  entity: EntityName,
  id: Schema.String
}) {
  /** @since 0.1.0 */
  get code(): ErrorCode {
    return "NOT_FOUND"
  }

  /** @since 0.1.0 */
  static of(entity: EntityName, id: string): NotFound {
    return new NotFound({ entity, id, message: `No ${entity} with id "${id}" in this workspace` })
  }
}

/**
 * Why a write conflicts with what is stored:
 * - `version`: the record changed since the caller read it (optimistic concurrency);
 * - `unique`: another record already holds a unique value (email, a unique custom field, a key);
 * - `inUse`: the record is still referenced (a company with contacts);
 * - `existingValues`: stored records would violate a changed definition (`affected` says how many).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConflictReason = Schema.Literal("version", "unique", "inUse", "existingValues")

/**
 * The write would overwrite or contradict stored data; nothing was changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedError<Conflict>("@rapport/core/Conflict")("Conflict", {
  message: Schema.String,
  reason: ConflictReason,
  entity: EntityName,
  id: Schema.optional(Schema.String),
  field: Schema.optional(Schema.String),
  expectedVersion: Schema.optional(Schema.Number),
  actualVersion: Schema.optional(Schema.Number),
  affected: Schema.optional(Schema.Number),
  /** The record that already holds the unique value, when known. */
  existingId: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  get code(): ErrorCode {
    switch (this.reason) {
      case "version":
        return "VERSION_CONFLICT"
      case "unique":
        return "ALREADY_EXISTS"
      case "inUse":
        return "IN_USE"
      case "existingValues":
        return "DEFINITION_CONFLICT"
    }
  }

  /**
   * A stale write: the caller's `expectedVersion` is not the stored one.
   *
   * @since 0.1.0
   */
  static version(entity: EntityName, id: string, expectedVersion: number, actualVersion?: number): Conflict {
    const actual = actualVersion === undefined ? "" : ` (stored version is ${actualVersion})`
    return new Conflict({
      reason: "version",
      entity,
      id,
      expectedVersion,
      ...(actualVersion === undefined ? {} : { actualVersion }),
      message: `The ${entity} "${id}" changed since version ${expectedVersion}${actual}; read it again and retry`
    })
  }

  /**
   * The record is still referenced by `affected` others; `message` says what to do first.
   *
   * @since 0.2.0
   */
  static inUse(entity: EntityName, id: string, affected: number, message: string): Conflict {
    return new Conflict({ reason: "inUse", entity, id, affected, message })
  }

  /**
   * A unique value already taken by another record.
   *
   * @since 0.1.0
   */
  static unique(entity: EntityName, field: string, existingId?: string): Conflict {
    const holder = existingId === undefined ? "another record" : `${entity} "${existingId}"`
    return new Conflict({
      reason: "unique",
      entity,
      field,
      ...(existingId === undefined ? {} : { existingId }),
      message: `The value of "${field}" is already used by ${holder} in this workspace`
    })
  }
}

/**
 * Why a lifecycle move was refused:
 * - `missingFields`: the target stage requires fields the contact has not filled;
 * - `backward`: the workspace's lifecycle does not allow moving to an earlier stage.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransitionRefusal = Schema.Literal("missingFields", "backward")

/**
 * A lifecycle move that is not allowed; the contact stays where it was.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>("@rapport/core/InvalidTransition")(
  "InvalidTransition",
  {
    message: Schema.String,
    reason: TransitionRefusal,
    contactId: Schema.String,
    from: Schema.String,
    to: Schema.String,
    missingFields: Schema.Array(Schema.String)
  }
) {
  /** @since 0.1.0 */
  get code(): ErrorCode {
    return "INVALID_TRANSITION"
  }
}

/**
 * Why storage failed: `unavailable` (cannot connect, connection lost: retrying later may work) or
 * `failed` (the database refused the statement, or stored data could not be read back).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StorageFailure = Schema.Literal("unavailable", "failed")

/**
 * The storage adapter could not do its work; the underlying driver error is kept in `cause`.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>("@rapport/core/StorageError")("StorageError", {
  message: Schema.String,
  reason: StorageFailure,
  cause: Schema.optional(Schema.Defect)
}) {
  /** @since 0.1.0 */
  get code(): ErrorCode {
    return this.reason === "unavailable" ? "STORAGE_UNAVAILABLE" : "STORAGE_FAILED"
  }
}

/**
 * Why an API key was refused: `malformed` (not shaped like a Rapport key), `invalid` (no such
 * key, or the secret does not match: the two are not told apart), `revoked`.
 *
 * @since 0.6.0
 * @category schemas
 */
export const AuthenticationFailure = Schema.Literal("malformed", "invalid", "revoked")

/**
 * A credential (an API key) was refused. The message never repeats the key.
 *
 * @since 0.6.0
 * @category errors
 */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>("@rapport/core/AuthenticationFailed")("AuthenticationFailed", {
  message: Schema.String,
  reason: AuthenticationFailure
}) {
  /** @since 0.6.0 */
  get code(): ErrorCode {
    return "UNAUTHENTICATED"
  }
}

/**
 * Why an inbound webhook was refused before anything was recorded:
 * - `unknownSource`: no inbound webhook is configured under this source;
 * - `missingHeader`: a header the provider always sends is missing or malformed (`header` names it);
 * - `signature`: no configured secret produces the signature sent;
 * - `timestamp`: the signed timestamp is outside the tolerance (too old, or in the future);
 * - `body`: the verified body is not JSON the source's mapper can read.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookRejection = Schema.Literal("unknownSource", "missingHeader", "signature", "timestamp", "body")

/**
 * An inbound webhook was refused; nothing was recorded, so the sender may deliver it again.
 *
 * @since 0.6.0
 * @category errors
 */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>("@rapport/core/WebhookRejected")("WebhookRejected", {
  message: Schema.String,
  reason: WebhookRejection,
  /** The source the delivery was addressed to (none when verifying outside a source). */
  source: Schema.optional(Schema.String),
  /** The header at fault, for `missingHeader`, `signature` and `timestamp`. */
  header: Schema.optional(Schema.String)
}) {
  /** @since 0.6.0 */
  get code(): ErrorCode {
    return "WEBHOOK_REJECTED"
  }
}

/**
 * Every error the public API can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type RapportFailure = ValidationError | NotFound | Conflict | InvalidTransition | StorageError | AuthenticationFailed | WebhookRejected

/**
 * Tells whether a value is one of Rapport's tagged errors.
 *
 * @since 0.1.0
 * @category utils
 */
export const isRapportFailure = (u: unknown): u is RapportFailure =>
  u instanceof ValidationError ||
  u instanceof NotFound ||
  u instanceof Conflict ||
  u instanceof InvalidTransition ||
  u instanceof StorageError ||
  u instanceof AuthenticationFailed ||
  u instanceof WebhookRejected
