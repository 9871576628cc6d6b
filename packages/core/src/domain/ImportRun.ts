/**
 * An import as a stored resource: what was uploaded, where it stands (`queued`, `running`, `done`,
 * `failed`), its progress, and once done its report. It lives in the database, not in the memory
 * of the process that runs it, so that any instance of the app can answer "how far is my import?"
 * and a process that died is noticed (its heartbeat stops: see `Imports`).
 *
 * The rows themselves are imported by `@rapport/importers`; this records what it reports.
 *
 * @since 0.6.0
 */
import * as Schema from "effect/Schema"
import { WorkspaceId } from "./Ids.js"
import { JsonObject } from "./Json.js"
import { Instant } from "./Time.js"

/**
 * An import's id: a UUID.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportId = Schema.compose(Schema.Lowercase, Schema.UUID, { strict: false }).pipe(
  Schema.brand("ImportId"),
  Schema.annotations({ identifier: "ImportId", message: () => ({ message: "must be a UUID", override: true }) })
)

/**
 * @since 0.6.0
 * @category models
 */
export type ImportId = typeof ImportId.Type

/**
 * Where an import stands: `queued` (accepted, not started), `running`, `done` (the report is
 * there) or `failed` (`error` says why; `IMPORT_INTERRUPTED` when its process stopped reporting).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportStatus = Schema.Literal("queued", "running", "done", "failed").annotations({ identifier: "ImportStatus" })

/**
 * @since 0.6.0
 * @category models
 */
export type ImportStatus = typeof ImportStatus.Type

const Count = Schema.NonNegativeInt

/**
 * How far an import got: rows read, imported (created plus updated), and the detail; the bytes
 * read of the file and its size.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportProgress = Schema.Struct({
  rowsRead: Count,
  /** Rows written: `created + updated`. */
  imported: Count,
  created: Count,
  updated: Count,
  skipped: Count,
  rejected: Count,
  conflicted: Count,
  bytesRead: Count,
  bytesTotal: Schema.NullOr(Count)
}).annotations({ identifier: "ImportProgress" })

/**
 * @since 0.6.0
 * @category models
 */
export interface ImportProgress extends Schema.Schema.Type<typeof ImportProgress> {}

/**
 * What `imports.progress` takes: the importer's counts (`imported` is computed).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ProgressInput = Schema.Struct({
  rowsRead: Count,
  created: Count,
  updated: Count,
  skipped: Count,
  rejected: Count,
  /** 0 when not given. */
  conflicted: Schema.optional(Count),
  /** 0 when not given. */
  bytesRead: Schema.optional(Count),
  /** `null` (unknown) when not given. */
  bytesTotal: Schema.optional(Schema.NullOr(Count))
})

/**
 * @since 0.6.0
 * @category models
 */
export type ProgressInput = typeof ProgressInput.Encoded

/**
 * Nothing read yet.
 *
 * @since 0.6.0
 * @category constructors
 */
export const noProgress: ImportProgress = {
  rowsRead: 0,
  imported: 0,
  created: 0,
  updated: 0,
  skipped: 0,
  rejected: 0,
  conflicted: 0,
  bytesRead: 0,
  bytesTotal: null
}

/**
 * Why an import failed: a stable `code` (`IMPORT_UNREADABLE`, `IMPORT_EMPTY`,
 * `IMPORT_UNSUPPORTED`, `VALIDATION_FAILED`, `STORAGE_FAILED`, `IMPORT_INTERRUPTED`…) and a
 * message for people.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportFailure = Schema.Struct({
  code: Schema.String,
  message: Schema.String
}).annotations({ identifier: "ImportFailure" })

/**
 * @since 0.6.0
 * @category models
 */
export interface ImportFailure extends Schema.Schema.Type<typeof ImportFailure> {}

/**
 * An import, as stored and as `imports.get` returns it.
 *
 * @since 0.6.0
 * @category models
 */
export class ImportRun extends Schema.Class<ImportRun>("ImportRun")({
  id: ImportId,
  workspaceId: WorkspaceId,
  status: ImportStatus,
  /** The uploaded file's name as the client gave it (display only), if any. */
  fileName: Schema.NullOr(Schema.String),
  /** The import options, as given (JSON). */
  options: JsonObject,
  progress: ImportProgress,
  /** The importer's report once `done`: counts, and per-row lists capped at {@link reportListLimit} each (`truncated` then). */
  report: Schema.NullOr(JsonObject),
  /** Why it failed, once `failed`. */
  error: Schema.NullOr(ImportFailure),
  /** Who started it (the HTTP principal), if known. */
  createdBy: Schema.NullOr(Schema.String),
  version: Schema.Int,
  createdAt: Instant,
  startedAt: Schema.NullOr(Instant),
  /** The last sign of life of the process running it; see `Imports` for what an old one means. */
  heartbeatAt: Instant,
  finishedAt: Schema.NullOr(Instant)
}) {}

/**
 * What `imports.create` takes.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportCreate = Schema.Struct({
  fileName: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(255, { message: () => "must be at most 255 characters" })))),
  options: Schema.optional(JsonObject),
  createdBy: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(255, { message: () => "must be at most 255 characters" }))))
})

/**
 * @since 0.6.0
 * @category models
 */
export type ImportCreate = typeof ImportCreate.Encoded

/**
 * Paging of `imports.list`, newest first; `status` keeps one status.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportListOptions = Schema.Struct({
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 200))),
  status: Schema.optional(ImportStatus)
})

/**
 * @since 0.6.0
 * @category models
 */
export type ImportListOptions = typeof ImportListOptions.Encoded

/**
 * How many entries each list of a stored report keeps (rejections, skips, updates, warnings,
 * conflicts); the counts are never cut.
 *
 * @since 0.6.0
 * @category constructors
 */
export const reportListLimit = 1_000

/**
 * Whether an import can still change: `queued` or `running`.
 *
 * @since 0.6.0
 * @category utils
 */
export const isActive = (run: ImportRun): boolean => run.status === "queued" || run.status === "running"
