/**
 * The importers for the Promise client: `importFile(crm, file, options)` runs an import with the
 * client's services, in its workspace, recorded as a stored import (`crm.imports.list()` shows
 * it, with its progress while it runs), and resolves with the report; `exportFile` and
 * `exportStream` write the contacts of a selection as CSV or XLSX.
 *
 * @example
 * ```ts
 * import { createCrm } from "@rapport/core"
 * import { exportFile, importFile } from "@rapport/importers"
 * import { sqliteStorage } from "@rapport/sqlite"
 *
 * const crm = await createCrm({ storage: sqliteStorage({ filename: "crm.db" }) })
 * const report = await importFile(crm, "salon-2025.xlsx", { source: { channel: "trade-show", campaign: "Salon 2025" } })
 * console.log(report.created, report.rejections)
 * await exportFile(crm, "vip.csv", { where: { path: "contact.tags", op: "contains", value: "vip" } })
 * ```
 *
 * @since 0.3.0
 */
import { type CrmClient, Errors, RapportError, toRapportError } from "@rapport/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type ExportOptions, prepare } from "./CrmExport.js"
import { ExportError, toFile } from "./Export.js"
import { basename } from "node:path"
import { fileURLToPath } from "node:url"
import type { ImportOptions, ImportReport } from "./Import.js"
import { importRecorded } from "./Recorded.js"
import { ImportError } from "./Records.js"
import type { Input } from "./Source.js"

/**
 * What `importFile` rejects with when the file cannot be imported at all; `reason` and `code`
 * (`IMPORT_UNREADABLE`, `IMPORT_EMPTY`, `IMPORT_UNSUPPORTED`, `IMPORT_STORAGE`) say why, and
 * `cause` is the Effect `ImportError`.
 *
 * @since 0.4.0
 * @category errors
 */
export class RapportImportError extends RapportError {
  readonly reason: ImportError["reason"]
  constructor(failure: ImportError) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * What `exportFile` rejects with, and what a stream from `exportStream` errors with, when the
 * export cannot be completed; `reason` and `code` (`EXPORT_SOURCE`, `EXPORT_OPTIONS`,
 * `EXPORT_WRITE`) say why, and `cause` is the Effect `ExportError`.
 *
 * @since 0.4.0
 * @category errors
 */
export class RapportExportError extends RapportError {
  readonly reason: ExportError["reason"]
  constructor(failure: ExportError) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * The error a Promise user sees for a failure of the importers: a `RapportError` subclass with a
 * `code`, whatever the failure (Rapport's own errors as the client converts them).
 *
 * @since 0.4.0
 * @category errors
 */
export const toPromiseError = (failure: ImportError | ExportError | Errors.ValidationError | Errors.StorageError | Errors.NotFound | Errors.Conflict): RapportError =>
  failure instanceof ImportError ? new RapportImportError(failure) : failure instanceof ExportError ? new RapportExportError(failure) : toRapportError(failure)

// A failure the client does not know becomes the RapportError subclass here, passed through as a
// defect (the client throws a RapportError defect as it is).
const promised = <A, E extends ImportError | ExportError | Errors.ValidationError | Errors.StorageError | Errors.NotFound | Errors.Conflict, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchAll(effect, (failure) => Effect.die(toPromiseError(failure)))

/**
 * Imports contacts from a file (a path, bytes, or a stream) into the client's workspace, as a
 * stored import named after the file (`crm.imports.get(id)` follows it while it runs). Rejects
 * with a {@link RapportImportError} (`code` `IMPORT_UNREADABLE`, `IMPORT_EMPTY`, `IMPORT_UNSUPPORTED`) when
 * the file cannot be read at all, a `RapportValidationError` for a wrong mapping or option;
 * rows that cannot be imported are in the report.
 *
 * @since 0.3.0
 * @category constructors
 */
export const importFile = (crm: CrmClient, input: Input, options: ImportOptions = {}): Promise<ImportReport> =>
  crm.run(promised(Effect.map(importRecorded(input, options, { fileName: fileNameOf(input) }), ({ report }) => report)))

// The name an import of a path is listed under: the file's own name.
const fileNameOf = (input: Input): string | null => {
  const path = typeof input === "string" ? input : input instanceof URL && input.protocol === "file:" ? fileURLToPath(input) : undefined
  return path === undefined ? null : basename(path)
}

/**
 * Writes the contacts of a selection (ids, a segment, or everyone) to a CSV or XLSX file, in the
 * format its extension names unless `format` is given. The file appears once complete: a failed
 * export leaves none. Rejects with a `RapportValidationError` for a wrong selection and a
 * {@link RapportExportError} (`code` `EXPORT_…`) when the file cannot be written.
 *
 * @since 0.3.0
 * @category constructors
 */
export const exportFile = (crm: CrmClient, path: string, options: Omit<ExportOptions, "format"> & { readonly format?: ExportOptions["format"] } = {}): Promise<void> =>
  crm.run(
    promised(Effect.flatMap(prepare({ ...options, format: options.format ?? (/\.xlsx$/i.test(path) ? "xlsx" : "csv") }), (bytes) => toFile(bytes, path)))
  )

/**
 * The contacts of a selection as a web `ReadableStream` of CSV or XLSX bytes, for an HTTP
 * response (`Readable.fromWeb(stream).pipe(res)` in Express). The selection is checked before it
 * resolves; contacts are then read as the stream is consumed, and a failure then errors the
 * stream with a `RapportError` (a {@link RapportExportError}, a `RapportStorageError`…).
 *
 * @since 0.3.0
 * @category constructors
 */
export const exportStream = (crm: CrmClient, options: ExportOptions): Promise<ReadableStream<Uint8Array>> =>
  crm.run(promised(Effect.flatMap(prepare(options), (bytes) => Stream.toReadableStreamEffect(Stream.mapError(bytes, toPromiseError)))))
