/**
 * Rapport importers: contacts from the files people really have (CSV, TSV, TXT, XLSX, vCard),
 * mapped, de-duplicated and reported row by row; exports that are safe to open in a spreadsheet.
 *
 * @since 0.3.0
 */

/** @since 0.3.0 */
export * as CrmExport from "./CrmExport.js"
/** @since 0.3.0 */
export * as Csv from "./Csv.js"
/** @since 0.3.0 */
export * as Encoding from "./Encoding.js"
/** @since 0.3.0 */
export * as Export from "./Export.js"
/** @since 0.3.0 */
export * as Formats from "./Formats.js"
/** @since 0.3.0 */
export * as Headers from "./Headers.js"
/** @since 0.3.0 */
export * as Import from "./Import.js"
/** @since 0.3.0 */
export * as Mapping from "./Mapping.js"
/** @since 0.7.0 */
export * as Recorded from "./Recorded.js"

/** @since 0.3.0 */
export * as Records from "./Records.js"
/** @since 0.3.0 */
export * as Source from "./Source.js"
/** @since 0.3.0 */
export * as VCard from "./VCard.js"
/** @since 0.3.0 */
export * as Xlsx from "./Xlsx.js"

export {
  /**
   * Writes the contacts of a selection to a CSV or XLSX file (Promise client).
   *
   * @since 0.3.0
   * @category constructors
   */
  exportFile,
  /**
   * The contacts of a selection as a web stream of CSV or XLSX bytes (Promise client).
   *
   * @since 0.3.0
   * @category constructors
   */
  exportStream,
  /**
   * Imports contacts from a file into a Promise client's workspace.
   *
   * @since 0.3.0
   * @category constructors
   */
  importFile,
  /**
   * What `importFile` rejects with when a file cannot be imported (code `IMPORT_…`).
   *
   * @since 0.4.0
   * @category errors
   */
  RapportImportError,
  /**
   * What `exportFile` and `exportStream`'s stream fail with when an export cannot be completed (code `EXPORT_…`).
   *
   * @since 0.4.0
   * @category errors
   */
  RapportExportError,
  /**
   * The RapportError subclass a Promise user sees for an importer failure.
   *
   * @since 0.4.0
   * @category errors
   */
  toPromiseError
} from "./Client.js"
export {
  /**
   * The contacts of a selection as CSV or XLSX bytes (the Effect API).
   *
   * @since 0.3.0
   * @category constructors
   */
  exportContacts
} from "./CrmExport.js"
export {
  /**
   * Imports contacts from a file (the Effect API).
   *
   * @since 0.3.0
   * @category constructors
   */
  importContacts,
  /**
   * Checks import options before a file is read (`importContacts` does it first).
   *
   * @since 0.4.0
   * @category utils
   */
  validateOptions,
  /**
   * @since 0.4.0
   * @category models
   */
  type IdentityConflict,
  /**
   * @since 0.4.0
   * @category models
   */
  type IdentityConflictPolicy,
  /**
   * @since 0.3.0
   * @category models
   */
  type ImportOptions,
  /**
   * @since 0.3.0
   * @category models
   */
  type ImportReport
} from "./Import.js"
export {
  /**
   * @since 0.3.0
   * @category errors
   */
  ImportError
} from "./Records.js"
export {
  /**
   * Imports a file as a stored import (listed, its progress readable while it runs) and waits for its end (the Effect API).
   *
   * @since 0.7.0
   * @category constructors
   */
  importRecorded,
  /**
   * Runs an import created with the core's `imports.create` to its end, recording it as it goes (the Effect API).
   *
   * @since 0.7.0
   * @category constructors
   */
  runRecorded,
  /**
   * @since 0.7.0
   * @category models
   */
  type RecordedImport
} from "./Recorded.js"
