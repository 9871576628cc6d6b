// Regression: several processes starting on one new SQLite file at the same moment used to fail
// with "database is locked" about one run in four (a deferred transaction that reads, then
// writes, cannot wait for another process's lock). Transactions now take the write lock first.
import { createCrm } from "@rapport/core"
import { Migrations } from "@rapport/sql"
import { SqliteStorage, sqliteStorage } from "@rapport/sqlite"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const script = fileURLToPath(new URL("./fixtures/start-process.ts", import.meta.url))
const startProcess = (filename: string) =>
  run(process.execPath, ["--conditions=@rapport/source", "--import", "tsx", script, filename], { cwd: fileURLToPath(new URL("..", import.meta.url)) })

describe("several processes on one SQLite file", () => {
  it("start together on a new file, migrate it once and all write", async () => {
    for (let round = 0; round < 4; round++) {
      const filename = join(mkdtempSync(join(tmpdir(), "rapport-processes-")), "crm.db")
      const results = await Promise.allSettled([startProcess(filename), startProcess(filename), startProcess(filename)])
      // Everything a failed process said, so a failure in CI explains itself.
      const failures = results.flatMap((r) => {
        if (r.status === "fulfilled") return []
        const e = r.reason as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string; message?: string }
        return [`round ${round}: exit ${String(e.code)} ${String(e.signal ?? "")}\nstdout: ${e.stdout ?? ""}\nstderr: ${e.stderr ?? e.message ?? ""}`]
      })
      expect(failures).toEqual([])
      const crm = await createCrm({ storage: sqliteStorage({ filename }) })
      expect((await crm.contacts.list()).items.length, `contacts after round ${round}`).toBe(3)
      await crm.close()
      const applied = await Effect.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT COUNT(*) AS n FROM rapport_migrations`).pipe(
          Effect.provide(SqliteStorage.layer({ filename }))
        )
      )
      expect(applied, `migrations recorded after round ${round}`).toEqual([{ n: Object.keys(Migrations.migrations).length }])
    }
  }, 60_000)
})
