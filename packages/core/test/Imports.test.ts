// Imports as stored resources (issue 14, "imports … with a progress resource to poll"): the runner
// records create → start → progress → finish (or fail); readers in any process see the same
// import; an import whose runner stopped beating is reported failed (IMPORT_INTERRUPTED) on read;
// a finished import never changes again; nothing crosses workspaces.
import { Crm, ImportRun, Storage } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { WorkspaceId } from "../src/domain/Ids.js"
import { failure, inWorkspace, withCrm } from "./helpers.js"

const acme = WorkspaceId.make("acme")
const globex = WorkspaceId.make("globex")

describe("imports", () => {
  it.effect("create → start → progress → finish: the stored import says each step; the report's lists are capped, its counts are not", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const created = yield* crm.imports.create({ fileName: "salon.csv", options: { policy: "update" }, createdBy: "alice" })
        expect(created).toMatchObject({ status: "queued", fileName: "salon.csv", options: { policy: "update" }, createdBy: "alice", report: null, error: null, version: 1 })
        yield* TestClock.adjust("1 second")
        const running = yield* crm.imports.start(created.id)
        expect(running.status).toBe("running")
        expect(DateTime.formatIso(running.startedAt!)).toBe("1970-01-01T00:00:01.000Z")
        yield* TestClock.adjust("1 second")
        const halfway = yield* crm.imports.progress(created.id, { rowsRead: 500, created: 450, updated: 30, skipped: 15, rejected: 5, bytesRead: 4096, bytesTotal: 8192 })
        expect(halfway.progress).toEqual({ rowsRead: 500, imported: 480, created: 450, updated: 30, skipped: 15, rejected: 5, conflicted: 0, bytesRead: 4096, bytesTotal: 8192 })
        expect(DateTime.formatIso(halfway.heartbeatAt)).toBe("1970-01-01T00:00:02.000Z")

        const rejections = Array.from({ length: ImportRun.reportListLimit + 7 }, (_, i) => ({ line: i + 2, reason: "no email" }))
        const done = yield* crm.imports.finish(created.id, { rowsRead: 2000, created: 900, updated: 60, skipped: 33, rejected: rejections.length, rejections, truncated: false })
        expect(done.status).toBe("done")
        expect(done.progress).toMatchObject({ rowsRead: 2000, created: 900, updated: 60, imported: 960, skipped: 33, rejected: 1007, bytesRead: 4096 })
        expect((done.report!["rejections"] as ReadonlyArray<unknown>).length).toBe(ImportRun.reportListLimit)
        expect(done.report).toMatchObject({ rejected: 1007, truncated: true })
        // What any reader gets is what was stored.
        expect(yield* crm.imports.get(created.id)).toEqual(done)
      }).pipe(inWorkspace(acme))
    ))

  it.effect("an active import whose heartbeat is older than 10 minutes is read as failed (IMPORT_INTERRUPTED), and stays so", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = yield* crm.imports.create({ fileName: "big.csv" })
        yield* crm.imports.start(run.id)
        yield* TestClock.adjust("9 minutes")
        yield* crm.imports.heartbeat(run.id)
        yield* TestClock.adjust("10 minutes")
        // Exactly 10 minutes since the last beat: still running.
        expect((yield* crm.imports.get(run.id)).status).toBe("running")
        yield* TestClock.adjust("1 second")
        const read = yield* crm.imports.get(run.id)
        expect(read.status).toBe("failed")
        expect(read.error?.code).toBe("IMPORT_INTERRUPTED")
        expect(read.error?.message).toContain("1970-01-01T00:09:00.000Z")
        // Stored so: the storage itself says failed, and the listing agrees.
        const stored = (yield* (yield* Storage.Storage).imports.get(acme, run.id)).pipe(Option.getOrThrow)
        expect(stored.status).toBe("failed")
        expect((yield* crm.imports.list()).items.map((i) => [i.id, i.status])).toEqual([[run.id, "failed"]])
        // The runner, only frozen, comes back: its writes change nothing.
        const late = yield* crm.imports.finish(run.id, { rowsRead: 10, created: 10 })
        expect(late.status).toBe("failed")
        expect(late.report).toBeNull()
        expect((yield* crm.imports.progress(run.id, { rowsRead: 1, created: 1, updated: 0, skipped: 0, rejected: 0 })).status).toBe("failed")
      }).pipe(inWorkspace(acme))
    ))

  it.effect("a queued import that never started is interrupted the same way; list marks it too", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = yield* crm.imports.create()
        yield* TestClock.adjust("11 minutes")
        const page = yield* crm.imports.list({ status: "queued" })
        expect(page.items.map((i) => [i.id, i.status, i.error?.code])).toEqual([[run.id, "failed", "IMPORT_INTERRUPTED"]])
        expect((yield* crm.imports.list({ status: "queued" })).items).toEqual([])
      }).pipe(inWorkspace(acme))
    ))

  it.effect("fail records the reason; a failed import does not start again", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = yield* crm.imports.create()
        const failed = yield* crm.imports.fail(run.id, { code: "IMPORT_EMPTY", message: "The file has no rows" })
        expect(failed).toMatchObject({ status: "failed", error: { code: "IMPORT_EMPTY", message: "The file has no rows" } })
        expect((yield* crm.imports.start(run.id)).status).toBe("failed")
      }).pipe(inWorkspace(acme))
    ))

  it.effect("another workspace neither reads, lists nor writes an import; a bad id or option names its path", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = yield* crm.imports.create({ fileName: "acme.csv" }).pipe(inWorkspace(acme))
        expect(yield* failure(crm.imports.get(run.id).pipe(inWorkspace(globex)))).toMatchObject({ _tag: "NotFound", entity: "import", id: run.id })
        expect(yield* failure(crm.imports.finish(run.id, { created: 1 }).pipe(inWorkspace(globex)))).toMatchObject({ _tag: "NotFound" })
        expect((yield* crm.imports.list().pipe(inWorkspace(globex))).items).toEqual([])
        expect((yield* crm.imports.get(run.id).pipe(inWorkspace(acme))).status).toBe("queued")

        expect(yield* failure(crm.imports.get("nope").pipe(inWorkspace(acme)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["importId"] }] })
        expect(yield* failure(crm.imports.list({ limit: 0 }).pipe(inWorkspace(acme)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["limit"] }] })
        expect(yield* failure(crm.imports.list({ cursor: "garbage" }).pipe(inWorkspace(acme)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["cursor"] }] })
      })
    ))

  it.effect("list pages newest first with its cursor", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ids: Array<string> = []
        for (let i = 0; i < 5; i++) {
          ids.push((yield* crm.imports.create({ fileName: `${i}.csv` })).id)
          yield* TestClock.adjust("1 second")
        }
        const first = yield* crm.imports.list({ limit: 2 })
        const second = yield* crm.imports.list({ limit: 2, cursor: first.nextCursor! })
        const third = yield* crm.imports.list({ limit: 2, cursor: second.nextCursor! })
        expect([...first.items, ...second.items, ...third.items].map((i) => i.id)).toEqual([...ids].reverse())
        expect(third.nextCursor).toBeNull()
      }).pipe(inWorkspace(acme))
    ))
})
