/**
 * Imports as stored resources (the core's `Imports`): an import is created `queued`, then runs to
 * its end with its start, heartbeats, latest progress and report (or why it failed) written as it
 * goes, so that any instance of the app — the HTTP API's `GET /imports/{id}`, a dashboard — can
 * follow it. The HTTP API runs uploads so in the background; `importFile` and
 * {@link importRecorded} run a file so and wait for its end.
 *
 * @since 0.7.0
 */
import { type Companies, type Contacts, type Errors, Imports, type Json, type Storage, type Workspaces } from "@rapport/core"
import type { ImportRun } from "@rapport/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { type ImportOptions, type ImportReport, importContacts, type Progress, validateOptions } from "./Import.js"
import type { ImportError } from "./Records.js"
import type * as Source from "./Source.js"

/**
 * What a recorded import needs: the CRM's services and storage.
 *
 * @since 0.7.0
 * @category models
 */
export type RecordedImportServices = Storage.Storage | Contacts.Contacts | Companies.Companies | Workspaces.Workspaces | Imports.Imports

/**
 * What a recorded import fails with: the importer's errors, and the stored import's.
 *
 * @since 0.7.0
 * @category errors
 */
export type RecordedImportError = ImportError | Errors.ValidationError | Errors.StorageError | Errors.NotFound | Errors.Conflict

// What the importer returns or was given, as the JSON stored with the import (undefined dropped).
const toJsonObject = (value: unknown): { readonly [key: string]: Json.JsonInput } => JSON.parse(JSON.stringify(value)) as { readonly [key: string]: Json.JsonInput }

/**
 * The import options as they are stored with the import: JSON, without `onProgress`.
 *
 * @since 0.7.0
 * @category utils
 */
export const storedOptions = (options: ImportOptions): { readonly [key: string]: Json.JsonInput } => {
  const { onProgress: _, ...rest } = options
  return toJsonObject(rest)
}

/**
 * Runs the stored import `id` (created `queued` with the core's `imports.create`) to its end:
 * marks it running, beats while it runs, writes its progress after each batch (the latest only,
 * when writes fall behind; the caller's `onProgress` still hears every batch), then its report —
 * or its failure: the importer's error (`IMPORT_UNREADABLE`…), `IMPORT_STOPPED` when the database
 * failed midway (rows before it stay imported), `INTERNAL_ERROR` for a defect (logged),
 * `IMPORT_INTERRUPTED` when the run is interrupted. Succeeds with the report (a stopped one
 * included); fails, once the failure is recorded, with what the importer failed with. `release`
 * runs as soon as the importer is done with the input, before the end is recorded.
 *
 * @since 0.7.0
 * @category constructors
 */
export const runRecorded = (
  id: ImportRun.ImportId,
  input: Source.Input,
  options: ImportOptions = {},
  release: Effect.Effect<void> = Effect.void
): Effect.Effect<ImportReport, RecordedImportError, RecordedImportServices> =>
  Effect.gen(function* () {
    const imports = yield* Imports.Imports
    const { heartbeatInterval } = yield* Imports.ImportSettings
    yield* imports.start(id)
    const report: ImportReport = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(heartbeatInterval), Effect.ignoreLogged(imports.heartbeat(id)))))
        const latest = yield* Queue.sliding<Progress>(1)
        yield* Effect.forkScoped(
          Effect.forever(
            Effect.flatMap(Queue.take(latest), (p) =>
              Effect.ignoreLogged(
                imports.progress(id, {
                  rowsRead: p.rowsRead,
                  created: p.created,
                  updated: p.updated,
                  skipped: p.skipped,
                  rejected: p.rejected,
                  conflicted: p.conflicted,
                  bytesRead: p.bytesRead,
                  bytesTotal: p.bytesTotal ?? null
                })
              )
            )
          )
        )
        const own = options.onProgress
        return yield* importContacts(input, {
          ...options,
          onProgress: (p) => {
            Queue.unsafeOffer(latest, p)
            own?.(p)
          }
        })
      })
    ).pipe(Effect.ensuring(release))
    if (report.stopped !== null) {
      const message = `The database failed at line ${report.stopped.line}: ${report.stopped.message}. Rows before it are imported; send the file again with startAtLine: ${report.stopped.line} to go on.`
      yield* imports.fail(id, { code: "IMPORT_STOPPED", message }, toJsonObject(report))
    } else {
      yield* imports.finish(id, toJsonObject(report))
    }
    return report
  }).pipe(
    Effect.tapError((error) => Effect.ignoreLogged(Effect.flatMap(Imports.Imports, (imports) => imports.fail(id, { code: error.code, message: error.message })))),
    Effect.tapDefect((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.zipRight(
            Effect.logError("Rapport: an import failed unexpectedly", cause),
            Effect.ignoreLogged(
              Effect.flatMap(Imports.Imports, (imports) => imports.fail(id, { code: "INTERNAL_ERROR", message: "The import failed unexpectedly; the error was logged" }))
            )
          )
    ),
    // The process is stopping the run (a server closing): say so now rather than wait for the heartbeat to age.
    Effect.onInterrupt(() =>
      Effect.ignoreLogged(
        Effect.flatMap(Imports.Imports, (imports) =>
          imports.fail(id, {
            code: "IMPORT_INTERRUPTED",
            message: "The import was stopped while the file was being imported. Rows imported until then stay imported; import the file again to finish."
          })
        )
      )
    )
  )

/**
 * What {@link importRecorded} gives: the stored import's id and the report.
 *
 * @since 0.7.0
 * @category models
 */
export interface RecordedImport {
  readonly importId: ImportRun.ImportId
  readonly report: ImportReport
}

/**
 * Imports a file as a stored import (listed by `imports.list`, its progress readable while it
 * runs by `imports.get`) and waits for its end: {@link runRecorded} on a new import named
 * `fileName` (default none) and made by `createdBy`. Fails like `importContacts`, the failure
 * recorded on the import first.
 *
 * @since 0.7.0
 * @category constructors
 */
export const importRecorded = (
  input: Source.Input,
  options: ImportOptions = {},
  about: { readonly fileName?: string | null | undefined; readonly createdBy?: string | null | undefined } = {}
): Effect.Effect<RecordedImport, RecordedImportError, RecordedImportServices> =>
  Effect.gen(function* () {
    // Wrong options are refused before anything is stored.
    yield* validateOptions(options)
    const run = yield* (yield* Imports.Imports).create({
      fileName: about.fileName === undefined || about.fileName === null ? null : about.fileName.slice(0, 255),
      options: storedOptions(options),
      createdBy: about.createdBy === undefined || about.createdBy === null ? null : about.createdBy.slice(0, 255)
    })
    const report = yield* runRecorded(run.id, input, options)
    return { importId: run.id, report } satisfies RecordedImport
  })
