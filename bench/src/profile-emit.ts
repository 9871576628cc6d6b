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
import { randomUUID } from "node:crypto"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeWorkload, quietMailer, setUp } from "./emit.js"
import { freshDatabase } from "./postgres.js"
import { cpuMillisSince, cpuProfile, statementTimings } from "./profiling.js"

const mode = process.argv[2] ?? "many"
const dialect = process.argv[3] ?? "sqlite"
const count = Number(process.argv[4] ?? (mode === "many" ? 10_000 : 1_000))
if (!["one", "many"].includes(mode) || !["sqlite", "memory", "postgres"].includes(dialect) || !(count > 0)) {
  throw new Error("usage: profile-emit.ts <one|many> <sqlite|memory|postgres> [events]")
}

const timings = statementTimings()
const profiler = cpuProfile(`emit-${mode}-${dialect}`)

const filename = join(tmpdir(), `rapport-profile-${randomUUID().slice(0, 8)}.db`)
const database = dialect === "postgres" ? await freshDatabase(process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test") : undefined
const storage = database !== undefined ? postgresStorage({ url: database.url }) : sqliteStorage({ filename: dialect === "memory" ? ":memory:" : filename })
const crm = await createCrm({ storage, workspace: "bench", mailer: quietMailer })
try {
  const workload = makeWorkload(count)
  const ids = await setUp(crm, workload)
  const inputs: Array<EmitInput> = workload.events.map((e) => ({ id: e.id, type: e.type, contactId: ids[e.contact]!, occurredAt: e.occurredAt, payload: e.payload }))
  timings.clear()
  await profiler.start()
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  if (mode === "many") {
    for (let i = 0; i < inputs.length; i += 1_000) await crm.events.emitMany(inputs.slice(i, i + 1_000))
  } else {
    for (const input of inputs) await crm.events.emit(input)
  }
  const ms = performance.now() - start
  const cpuMs = cpuMillisSince(cpuStart)
  await profiler.stop()
  console.log(`${mode} ${dialect}: ${count} events in ${ms.toFixed(0)} ms = ${Math.round((count * 1_000) / ms)} events/s; CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1_000) / count).toFixed(0)} µs per event`)
  timings.print()
} finally {
  await crm.close()
  await database?.drop()
  for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
}
