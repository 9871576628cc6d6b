// Profiling aid, not part of `pnpm bench`: the emit section's workload through Rapport alone, so
// that a profile or a statement count shows Rapport's own work.
//
//   cd bench && npx tsx src/profile-emit.ts <one|many> <sqlite|memory|postgres> [events]
//
// `one` emits one event per call, `many` 1,000 per emitMany call. With STMT=1 it prints, per SQL
// text, how often better-sqlite3 ran it and for how long (SQLite only); with PROF=<folder> it writes
// a V8 CPU profile of the timed part (open it in Chrome's DevTools). Build the packages first
// (`pnpm build`), or add --conditions=@rapport/source to run on the sources.
import { createCrm, type EmitInput } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import { randomUUID } from "node:crypto"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeWorkload, quietMailer, setUp } from "./emit.js"
import { freshDatabase } from "./postgres.js"

const mode = process.argv[2] ?? "many"
const dialect = process.argv[3] ?? "sqlite"
const count = Number(process.argv[4] ?? (mode === "many" ? 10_000 : 1_000))
if (!["one", "many"].includes(mode) || !["sqlite", "memory", "postgres"].includes(dialect) || !(count > 0)) {
  throw new Error("usage: profile-emit.ts <one|many> <sqlite|memory|postgres> [events]")
}

// Every statement better-sqlite3 runs, timed by its SQL text.
const timings = new Map<string, { runs: number; ms: number }>()
if (process.env["STMT"] !== undefined) {
  const probe = new Database(":memory:")
  const statement = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: Array<unknown>) => unknown>
  probe.close()
  for (const name of ["run", "all", "get"]) {
    const original = statement[name]!
    statement[name] = function (this: { source: string }, ...args: Array<unknown>) {
      const start = performance.now()
      try {
        return original.apply(this, args)
      } finally {
        const key = this.source.replace(/\s+/g, " ").slice(0, 140)
        const entry = timings.get(key) ?? { runs: 0, ms: 0 }
        entry.runs++
        entry.ms += performance.now() - start
        timings.set(key, entry)
      }
    }
  }
}

const filename = join(tmpdir(), `rapport-profile-${randomUUID().slice(0, 8)}.db`)
const database = dialect === "postgres" ? await freshDatabase(process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test") : undefined
const storage = database !== undefined ? postgresStorage({ url: database.url }) : sqliteStorage({ filename: dialect === "memory" ? ":memory:" : filename })
const crm = await createCrm({ storage, workspace: "bench", mailer: quietMailer })
try {
  const workload = makeWorkload(count)
  const ids = await setUp(crm, workload)
  const inputs: Array<EmitInput> = workload.events.map((e) => ({ id: e.id, type: e.type, contactId: ids[e.contact]!, occurredAt: e.occurredAt, payload: e.payload }))
  timings.clear()
  const folder = process.env["PROF"]
  const session = folder === undefined ? undefined : new Session()
  if (session !== undefined) {
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.start")
  }
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  if (mode === "many") {
    for (let i = 0; i < inputs.length; i += 1_000) await crm.events.emitMany(inputs.slice(i, i + 1_000))
  } else {
    for (const input of inputs) await crm.events.emit(input)
  }
  const ms = performance.now() - start
  // CPU time is steadier than wall time on a busy machine (and leaves out waiting for the disk).
  const cpu = process.cpuUsage(cpuStart)
  const cpuMs = (cpu.user + cpu.system) / 1_000
  if (session !== undefined && folder !== undefined) {
    const { profile } = await session.post("Profiler.stop")
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, `emit-${mode}-${dialect}.cpuprofile`), JSON.stringify(profile))
  }
  console.log(`${mode} ${dialect}: ${count} events in ${ms.toFixed(0)} ms = ${Math.round((count * 1_000) / ms)} events/s; CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1_000) / count).toFixed(0)} µs per event`)
  if (timings.size > 0) {
    const sorted = [...timings].sort((a, b) => b[1].ms - a[1].ms)
    console.log(`statements: ${sorted.reduce((n, [, e]) => n + e.runs, 0)} in ${sorted.reduce((n, [, e]) => n + e.ms, 0).toFixed(0)} ms`)
    for (const [sql, e] of sorted.slice(0, 20)) console.log(`${e.ms.toFixed(0).padStart(6)} ms ${String(e.runs).padStart(6)}x  ${sql}`)
  }
} finally {
  await crm.close()
  await database?.drop()
  for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
}
