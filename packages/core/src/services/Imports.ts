/**
 * Imports as resources any instance can read: the process that runs an import (the HTTP API's
 * upload route, or your own code around `@rapport/importers`) records it here — `create` when the
 * file is accepted, `start`, `progress` after each batch and `heartbeat` in between, then `finish`
 * with the report or `fail` — and anyone polls it with `get` and `list`.
 *
 * A process that dies mid-import cannot say so. Its heartbeat then stops: an import still `queued`
 * or `running` whose heartbeat is older than `staleAfter` (10 minutes by default; the runner beats
 * every 30 seconds) is marked `failed` with code `IMPORT_INTERRUPTED` when it is read. The batches
 * written before the process died stay written; importing the same file again changes nothing that
 * was already imported. Once `done` or `failed`, an import never changes again: a runner that was
 * only slow (frozen longer than `staleAfter`) finds its later writes ignored.
 *
 * @since 0.6.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { NotFound } from "../domain/Errors.js"
import {
  ImportCreate,
  ImportFailure,
  ImportId,
  ImportListOptions,
  ImportRun,
  isActive,
  noProgress,
  ProgressInput,
  reportListLimit
} from "../domain/ImportRun.js"
import { JsonObject } from "../domain/Json.js"
import * as Page from "../domain/Page.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { CurrentWorkspace } from "./Workspaces.js"

/**
 * How imports are watched: after `staleAfter` without a heartbeat an active import is taken for
 * interrupted; a runner beats every `heartbeatInterval` (it must be well below `staleAfter`).
 *
 * @since 0.6.0
 * @category models
 */
export interface ImportSettingsService {
  readonly staleAfter: Duration.Duration
  readonly heartbeatInterval: Duration.Duration
}

/**
 * The import settings; optional to provide (10 minutes and 30 seconds by default).
 *
 * @since 0.6.0
 * @category services
 */
export class ImportSettings extends Context.Reference<ImportSettings>()("@rapport/core/ImportSettings", {
  defaultValue: (): ImportSettingsService => ({ staleAfter: Duration.minutes(10), heartbeatInterval: Duration.seconds(30) })
}) {}

const decodeImportId = decodeInput(ImportId, ["importId"])
const Position = Schema.Tuple(Schema.DateTimeUtc, ImportId)
const decodeReport = decodeInput(JsonObject, ["report"])

// Writes of one import by its runner and reads that mark it interrupted may meet: each write is a
// versioned update, retried on a fresh read this many times.
const ATTEMPTS = 5

/** The report's lists cut to `reportListLimit` entries each (`truncated` set when one was); counts stay. */
const capped = (report: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  let truncated = report["truncated"] === true
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(report)) {
    if (Array.isArray(value) && value.length > reportListLimit) {
      out[key] = value.slice(0, reportListLimit)
      truncated = true
    } else out[key] = value
  }
  if (truncated) out["truncated"] = true
  return out
}

const count = (report: Readonly<Record<string, unknown>>, key: string, otherwise: number): number => {
  const value = report[key]
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : otherwise
}

/**
 * @since 0.6.0
 * @category services
 */
export class Imports extends Effect.Service<Imports>()("@rapport/core/Imports", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const find = (workspaceId: ImportRun["workspaceId"], id: ImportId) =>
      Effect.flatMap(storage.imports.get(workspaceId, id), (found) => (Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(NotFound.of("import", id))))

    /**
     * Applies `next` to the stored import (none: nothing to write) as a versioned update; on a
     * concurrent write, reads again and retries. Returns the import as stored afterwards.
     */
    const change = (id: ImportId, next: (run: ImportRun, now: DateTime.Utc) => Option.Option<ImportRun>) =>
      Effect.gen(function* () {
        const workspaceId = yield* CurrentWorkspace
        for (let attempt = 1; ; attempt++) {
          const run = yield* find(workspaceId, id)
          const updated = next(run, yield* DateTime.now)
          if (Option.isNone(updated)) return run
          const written = yield* storage.imports.update(new ImportRun({ ...updated.value, version: run.version + 1 }), run.version).pipe(
            Effect.as(true),
            Effect.catchTag("Conflict", (conflict) => (attempt < ATTEMPTS ? Effect.succeed(false) : Effect.fail(conflict)))
          )
          if (written) return yield* find(workspaceId, id)
        }
      })

    /** A write of the runner: none once the import is done or failed (it never changes again). */
    const whileActive = (f: (run: ImportRun, now: DateTime.Utc) => ImportRun) => (run: ImportRun, now: DateTime.Utc) =>
      isActive(run) ? Option.some(f(run, now)) : Option.none()

    /** The import as it should be read: an active one whose heartbeat is too old is marked interrupted. */
    const checked = (run: ImportRun) =>
      Effect.gen(function* () {
        if (!isActive(run)) return run
        const { staleAfter } = yield* ImportSettings
        const now = yield* DateTime.now
        if (DateTime.toEpochMillis(now) - DateTime.toEpochMillis(run.heartbeatAt) <= Duration.toMillis(staleAfter)) return run
        return yield* change(
          run.id,
          (current, at) =>
            isActive(current) && DateTime.toEpochMillis(at) - DateTime.toEpochMillis(current.heartbeatAt) > Duration.toMillis(staleAfter)
              ? Option.some(
                  new ImportRun({
                    ...current,
                    status: "failed",
                    finishedAt: at,
                    error: {
                      code: "IMPORT_INTERRUPTED",
                      message: `The import stopped reporting progress at ${DateTime.formatIso(current.heartbeatAt)} (its process probably stopped). Rows imported until then stay imported; import the file again to finish (rows already imported change nothing).`
                    }
                  })
                )
              : Option.none()
        )
      })

    /** Records an accepted file: a `queued` import of the current workspace. */
    const create = Effect.fn("Imports.create")(function* (input: ImportCreate = {}) {
      const data = yield* decodeInput(ImportCreate)(input)
      const workspaceId = yield* CurrentWorkspace
      const now = yield* DateTime.now
      const run = new ImportRun({
        id: ImportId.make(yield* (yield* IdGenerator).next),
        workspaceId,
        status: "queued",
        fileName: data.fileName ?? null,
        options: data.options ?? {},
        progress: noProgress,
        report: null,
        error: null,
        createdBy: data.createdBy ?? null,
        version: 1,
        createdAt: now,
        startedAt: null,
        heartbeatAt: now,
        finishedAt: null
      })
      yield* storage.imports.insert(run)
      return run
    })

    /** The import, with its progress and, once done, its report; marked interrupted when its heartbeat is too old. */
    const get = Effect.fn("Imports.get")(function* (importId: string) {
      const id = yield* decodeImportId(importId)
      return yield* checked(yield* find(yield* CurrentWorkspace, id))
    })

    /** The current workspace's imports, newest first, a page at a time. */
    const list = Effect.fn("Imports.list")(function* (options: ImportListOptions = {}) {
      const query = yield* decodeInput(ImportListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const before = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(Position, query.cursor, "imports.list")
      const rows = yield* storage.imports.list(yield* CurrentWorkspace, {
        before: before === undefined ? undefined : { createdAt: before[0], id: before[1] },
        status: query.status,
        limit: limit + 1
      })
      const page = Page.fromRows(rows, limit, (run) => [DateTime.formatIso(run.createdAt), run.id])
      return { items: yield* Effect.forEach(page.items, checked), nextCursor: page.nextCursor }
    })

    /** The runner took the import up: `running`. */
    const start = Effect.fn("Imports.start")(function* (importId: string) {
      const id = yield* decodeImportId(importId)
      return yield* change(id, whileActive((run, now) => new ImportRun({ ...run, status: "running", startedAt: run.startedAt ?? now, heartbeatAt: now })))
    })

    /** How far the import got (after a batch); also a heartbeat. */
    const progress = Effect.fn("Imports.progress")(function* (importId: string, input: ProgressInput) {
      const id = yield* decodeImportId(importId)
      const p = yield* decodeInput(ProgressInput, ["progress"])(input)
      return yield* change(
        id,
        whileActive((run, now) => new ImportRun({ ...run, status: "running", heartbeatAt: now, progress: { ...p, conflicted: p.conflicted ?? 0, bytesRead: p.bytesRead ?? 0, bytesTotal: p.bytesTotal ?? null, imported: p.created + p.updated } }))
      )
    })

    /** A sign of life of the runner between progress reports. */
    const heartbeat = Effect.fn("Imports.heartbeat")(function* (importId: string) {
      const id = yield* decodeImportId(importId)
      return yield* change(id, whileActive((run, now) => new ImportRun({ ...run, heartbeatAt: now })))
    })

    /**
     * The import is done: stores its report (a JSON object such as `@rapport/importers`'
     * `ImportReport`), each list cut to {@link reportListLimit} entries; its counts become the
     * final progress.
     */
    const finish = Effect.fn("Imports.finish")(function* (importId: string, report: Readonly<Record<string, unknown>>) {
      const id = yield* decodeImportId(importId)
      const given = typeof report === "object" && report !== null && !Array.isArray(report) ? capped(report) : report
      const stored = yield* decodeReport(given)
      return yield* change(
        id,
        whileActive((run, now) => {
          const p = run.progress
          const created = count(stored, "created", p.created)
          const updated = count(stored, "updated", p.updated)
          return new ImportRun({
            ...run,
            status: "done",
            report: stored,
            finishedAt: now,
            heartbeatAt: now,
            startedAt: run.startedAt ?? now,
            progress: {
              ...p,
              rowsRead: count(stored, "rowsRead", p.rowsRead),
              created,
              updated,
              imported: created + updated,
              skipped: count(stored, "skipped", p.skipped),
              rejected: count(stored, "rejected", p.rejected),
              conflicted: count(stored, "conflicted", p.conflicted)
            }
          })
        })
      )
    })

    /**
     * The import failed as a whole (the file could not be read, the options were refused, the
     * database failed midway…); `report`, when there is one, says what was written before.
     */
    const fail = Effect.fn("Imports.fail")(function* (importId: string, failure: ImportFailure, report?: Readonly<Record<string, unknown>>) {
      const id = yield* decodeImportId(importId)
      const error = yield* decodeInput(ImportFailure, ["failure"])(failure)
      const stored = report === undefined ? null : yield* decodeReport(typeof report === "object" && report !== null && !Array.isArray(report) ? capped(report) : report)
      return yield* change(id, whileActive((run, now) => new ImportRun({ ...run, status: "failed", error, report: stored, finishedAt: now, heartbeatAt: now })))
    })

    return {
      /** Records an accepted file as a queued import. */
      create,
      /** An import, its progress and its report. */
      get,
      /** The workspace's imports, newest first. */
      list,
      /** Marks an import running. */
      start,
      /** Records an import's progress. */
      progress,
      /** Records that an import's runner is alive. */
      heartbeat,
      /** Stores an import's report: done. */
      finish,
      /** Records why an import failed. */
      fail
    } as const
  })
}) {}
