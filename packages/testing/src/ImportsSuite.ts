// Imports as stored resources, as part of the storage contract: an import is stored exactly (its
// options, progress and report as JSON, its instants), read only in its own workspace, listed
// newest first with a cursor and a status filter, and replaced only at the version the caller
// read. Registered by `storageSuite`; not a public entry point of its own.
import { type Crm, ImportRun, Storage } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const encode = Schema.encodeSync(ImportRun.ImportRun)

const run = (workspaceId: ReturnType<typeof Fixtures.freshWorkspaceId>, overrides: Partial<ImportRun.ImportRun> = {}) =>
  new ImportRun.ImportRun({
    id: ImportRun.ImportId.make(randomUUID()),
    workspaceId,
    status: "queued",
    fileName: "salon 2025 — été.csv",
    options: { policy: "update", mapping: { Courriel: "email" }, tags: ["salon"], dryRun: false },
    progress: ImportRun.noProgress,
    report: null,
    error: null,
    createdBy: "alice",
    version: 1,
    createdAt: at("2025-06-01T09:00:00.000Z"),
    startedAt: null,
    heartbeatAt: at("2025-06-01T09:00:00.000Z"),
    finishedAt: null,
    ...overrides
  })

export const importsSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("imports (storage)", () => {
    test("an import is stored exactly, and read only in its own workspace", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const done = run(ws, {
          status: "done",
          progress: { ...ImportRun.noProgress, rowsRead: 3, created: 2, imported: 2, rejected: 1, bytesRead: 120, bytesTotal: 120 },
          report: { rowsRead: 3, created: 2, rejections: [{ line: 4, reason: "Courriel: must be an email" }], stopped: null, truncated: false },
          startedAt: at("2025-06-01T09:00:01.000Z"),
          heartbeatAt: at("2025-06-01T09:00:02.500Z"),
          finishedAt: at("2025-06-01T09:00:02.500Z")
        })
        const failed = run(ws, { status: "failed", error: { code: "IMPORT_EMPTY", message: "The file has no rows" }, fileName: null, createdBy: null })
        yield* s.imports.insert(done)
        yield* s.imports.insert(failed)
        expect(Option.map(yield* s.imports.get(ws, done.id), encode)).toEqual(Option.some(encode(done)))
        expect(Option.map(yield* s.imports.get(ws, failed.id), encode)).toEqual(Option.some(encode(failed)))
        expect(Option.isNone(yield* s.imports.get(Fixtures.freshWorkspaceId(), done.id))).toBe(true)
        expect((yield* s.imports.list(Fixtures.freshWorkspaceId(), { limit: 10 })).length).toBe(0)
      }))

    test("list is newest first (then by id), pages with before, and keeps one status", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const old = run(ws, { createdAt: at("2025-06-01T08:00:00.000Z"), status: "done" })
        const a = run(ws, { id: ImportRun.ImportId.make("00000000-0000-7000-8000-00000000000a"), createdAt: at("2025-06-01T09:00:00.000Z") })
        const b = run(ws, { id: ImportRun.ImportId.make("00000000-0000-7000-8000-00000000000b"), createdAt: at("2025-06-01T09:00:00.000Z"), status: "running" })
        const recent = run(ws, { createdAt: at("2025-06-02T09:00:00.000Z") })
        for (const r of [a, old, recent, b]) yield* s.imports.insert(r)
        yield* s.imports.insert(run(Fixtures.freshWorkspaceId()))
        const ids = (rows: ReadonlyArray<ImportRun.ImportRun>) => rows.map((r) => r.id)
        expect(ids(yield* s.imports.list(ws, { limit: 10 }))).toEqual([recent.id, b.id, a.id, old.id])
        const first = yield* s.imports.list(ws, { limit: 2 })
        expect(ids(first)).toEqual([recent.id, b.id])
        const next = yield* s.imports.list(ws, { limit: 2, before: { createdAt: first[1]!.createdAt, id: first[1]!.id } })
        expect(ids(next)).toEqual([a.id, old.id])
        expect(ids(yield* s.imports.list(ws, { limit: 10, status: "queued" }))).toEqual([recent.id, a.id])
        expect(ids(yield* s.imports.list(ws, { limit: 10, status: "done" }))).toEqual([old.id])
      }))

    test("update replaces the import at the expected version; a stale one is a Conflict and changes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const queued = run(ws)
        yield* s.imports.insert(queued)
        const running = new ImportRun.ImportRun({
          ...queued,
          status: "running",
          version: 2,
          startedAt: at("2025-06-01T09:00:05.000Z"),
          heartbeatAt: at("2025-06-01T09:00:05.000Z"),
          progress: { ...ImportRun.noProgress, rowsRead: 500, created: 480, imported: 480, skipped: 20, bytesRead: 65_536, bytesTotal: null }
        })
        yield* s.imports.update(running, 1)
        const stale = yield* failure(s.imports.update(new ImportRun.ImportRun({ ...queued, status: "failed", version: 2 }), 1))
        expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", entity: "import", expectedVersion: 1, actualVersion: 2 })
        expect(Option.map(yield* s.imports.get(ws, queued.id), encode)).toEqual(Option.some(encode(running)))
        // Another workspace's update of the same id reaches nothing.
        const elsewhere = yield* Effect.either(s.imports.update(new ImportRun.ImportRun({ ...running, workspaceId: Fixtures.freshWorkspaceId(), version: 3 }), 2))
        expect(elsewhere._tag).toBe("Left")
        expect(DateTime.formatIso((yield* s.imports.get(ws, queued.id)).pipe(Option.getOrThrow).heartbeatAt)).toBe("2025-06-01T09:00:05.000Z")
      }))
  })
}
