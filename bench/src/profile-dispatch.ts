// Profiling aid, not part of `pnpm bench`: the mail section's dispatcher alone (its jobs handed to
// a Mailer that answers at once), so that a statement count or a profile shows the dispatcher's work.
//
//   cd bench && npx tsx --conditions=@rapport/source src/profile-dispatch.ts [mails] [concurrency]
//
// With STMT=1 it prints, per SQL text, how often better-sqlite3 ran it and for how long; with
// PROF=<folder> it writes a V8 CPU profile of the timed part.
import Database from "better-sqlite3"
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { join } from "node:path"
import { prepare } from "./mail.js"

const mails = Number(process.argv[2] ?? 2_000)
const concurrency = Number(process.argv[3] ?? 1)

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

const { crm } = await prepare("none", { mails, rounds: 1, maxConnections: 5, maxMessages: 100, concurrency })
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
const report = await crm.dispatcher.runDue({ concurrency, batchSize: 200 })
const ms = performance.now() - start
const cpu = process.cpuUsage(cpuStart)
if (session !== undefined && folder !== undefined) {
  const { profile } = await session.post("Profiler.stop")
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, "dispatch.cpuprofile"), JSON.stringify(profile))
}
console.log(`dispatcher: ${report.done} of ${mails} mails in ${ms.toFixed(0)} ms = ${Math.round((report.done * 1_000) / ms)} mails/s; CPU ${((cpu.user + cpu.system) / report.done).toFixed(0)} µs per mail`)
if (timings.size > 0) {
  const rows = [...timings].sort((a, b) => b[1].ms - a[1].ms)
  console.log(`statements: ${rows.reduce((n, [, t]) => n + t.runs, 0)} in ${rows.reduce((n, [, t]) => n + t.ms, 0).toFixed(0)} ms`)
  for (const [text, t] of rows.slice(0, 25)) console.log(`${t.ms.toFixed(0).padStart(6)} ms ${String(t.runs).padStart(6)}x  ${text}`)
}
await crm.close()
