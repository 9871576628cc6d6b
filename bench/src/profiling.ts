// What the profiling aids (profile-emit.ts, profile-dispatch.ts) share: statement timings and a
// CPU profile of the timed part. Not part of `pnpm bench`.
import Database from "better-sqlite3"
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { join } from "node:path"

/**
 * With STMT set, times every statement better-sqlite3 runs, by its SQL text (SQLite only). Call
 * `clear()` before the timed part and `print()` after it.
 */
export const statementTimings = () => {
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
  return {
    clear: () => timings.clear(),
    print: (rows = 20) => {
      if (timings.size === 0) return
      const sorted = [...timings].sort((a, b) => b[1].ms - a[1].ms)
      console.log(`statements: ${sorted.reduce((n, [, e]) => n + e.runs, 0)} in ${sorted.reduce((n, [, e]) => n + e.ms, 0).toFixed(0)} ms`)
      for (const [sql, e] of sorted.slice(0, rows)) console.log(`${e.ms.toFixed(0).padStart(6)} ms ${String(e.runs).padStart(6)}x  ${sql}`)
    }
  }
}

/** With PROF=<folder>, a V8 CPU profile from `start()` to `stop()`, written as <folder>/<name>.cpuprofile. */
export const cpuProfile = (name: string) => {
  const folder = process.env["PROF"]
  const session = folder === undefined ? undefined : new Session()
  return {
    start: async () => {
      if (session === undefined) return
      session.connect()
      await session.post("Profiler.enable")
      await session.post("Profiler.start")
    },
    stop: async () => {
      if (session === undefined || folder === undefined) return
      const { profile } = await session.post("Profiler.stop")
      mkdirSync(folder, { recursive: true })
      writeFileSync(join(folder, `${name}.cpuprofile`), JSON.stringify(profile))
    }
  }
}

/** CPU time (user + system) since `start`, in milliseconds: steadier than wall time on a busy machine. */
export const cpuMillisSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1_000
}
