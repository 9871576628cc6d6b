// One vitest run covers every package and example; each project keeps its own vitest.config.ts.
import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
    // vitest's default is one worker per core but one: on a 2-core CI machine, one file at a time,
    // while most files spend most of their time waiting on a database, a server or a timer. Two
    // workers there took the suite from 637 s to 463 s.
    maxWorkers: Math.max(2, availableParallelism() - 1)
  }
})
