// Profiling aid, not part of `pnpm bench`: the mail section's dispatcher alone (its jobs handed to
// a Mailer that answers at once), so that a statement count or a profile shows the dispatcher's work.
//
//   cd bench && npx tsx --conditions=@rapport/source src/profile-dispatch.ts [mails] [concurrency]
//
// With STMT=1 it prints, per SQL text, how often better-sqlite3 ran it and for how long; with
// PROF=<folder> it writes a V8 CPU profile of the timed part.
import { prepare } from "./mail.js"
import { cpuMillisSince, cpuProfile, statementTimings } from "./profiling.js"

const mails = Number(process.argv[2] ?? 2_000)
const concurrency = Number(process.argv[3] ?? 1)

const timings = statementTimings()
const profiler = cpuProfile("dispatch")

const { crm } = await prepare("none", { mails, rounds: 1, maxConnections: 5, maxMessages: 100, concurrency })
timings.clear()
await profiler.start()
const cpuStart = process.cpuUsage()
const start = performance.now()
const report = await crm.dispatcher.runDue({ concurrency, batchSize: 200 })
const ms = performance.now() - start
const cpuMs = cpuMillisSince(cpuStart)
await profiler.stop()
console.log(`dispatcher: ${report.done} of ${mails} mails in ${ms.toFixed(0)} ms = ${Math.round((report.done * 1_000) / ms)} mails/s; CPU ${((cpuMs * 1_000) / report.done).toFixed(0)} µs per mail`)
timings.print(25)
await crm.close()
