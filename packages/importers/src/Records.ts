/**
 * What every reader produces and the import pipeline consumes: records keyed by the file's own
 * column names (or a vCard's properties), each with the line it came from, and the error a file
 * that cannot be read at all fails with. A record a reader could read only in part (a ragged CSV
 * row, a malformed vCard) carries a `problem` and is reported as rejected, never dropped.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"

/**
 * One cell's value as the file holds it: text, a number or a boolean (XLSX), a date (XLSX date
 * cells), or empty.
 *
 * @since 0.3.0
 * @category models
 */
export type Cell = string | number | boolean | Date | null

/**
 * One record of a file.
 *
 * @since 0.3.0
 * @category models
 */
export interface SourceRecord {
  /** Where it starts in the file: the 1-based line (CSV, vCard) or row number (XLSX). */
  readonly line: number
  /** Its values by column name (or vCard property, e.g. `EMAIL`, `N.given`). */
  readonly values: Readonly<Record<string, Cell>>
  /** Why the reader could not read it whole (e.g. "has 7 fields, the header has 5"). */
  readonly problem?: string | undefined
}

/**
 * The file formats Rapport reads.
 *
 * @since 0.3.0
 * @category models
 */
export type Format = "csv" | "xlsx" | "vcard"

/**
 * A file opened by a reader: what it found (format, encoding, delimiter, sheet, header row) and
 * its records, read as they are consumed (constant memory whatever the file's size).
 *
 * @since 0.3.0
 * @category models
 */
export interface Opened {
  readonly format: Format
  /** The column names in file order (vCard: the properties the reader produces). */
  readonly headers: ReadonlyArray<string>
  readonly details: {
    readonly encoding?: string | undefined
    readonly delimiter?: string | undefined
    readonly sheet?: string | undefined
    /** The line (CSV) or row (XLSX) of the header; lines before it (a title) are skipped. */
    readonly headerLine?: number | undefined
  }
  readonly records: Stream.Stream<SourceRecord, ImportError>
}

/**
 * Why a file cannot be imported at all:
 * - `unreadable`: it could not be opened or read (no such file, not a file of this format, binary
 *   data where text was expected, corrupt archive);
 * - `empty`: it holds no records (or only a header);
 * - `unsupported`: a format or option Rapport does not handle;
 * - `storage`: the database failed while importing (complete batches are kept: see the report's
 *   `resumeFrom`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const ImportFailure = Schema.Literal("unreadable", "empty", "unsupported", "storage")

/**
 * The file cannot be imported; rows a file holds that cannot be imported are not errors but
 * rejections in the report.
 *
 * @since 0.3.0
 * @category errors
 */
export class ImportError extends Schema.TaggedError<ImportError>("@rapport/importers/ImportError")("ImportError", {
  message: Schema.String,
  reason: ImportFailure,
  cause: Schema.optional(Schema.Defect)
}) {
  /** A stable code: `IMPORT_UNREADABLE`, `IMPORT_EMPTY`, `IMPORT_UNSUPPORTED` or `IMPORT_STORAGE`. */
  get code(): "IMPORT_UNREADABLE" | "IMPORT_EMPTY" | "IMPORT_UNSUPPORTED" | "IMPORT_STORAGE" {
    return `IMPORT_${this.reason.toUpperCase() as Uppercase<typeof ImportFailure.Type>}`
  }
}
