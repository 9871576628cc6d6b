// Settings every package's vitest config merges. Tests run on TypeScript sources: the
// "@rapport/source" export condition points each workspace package at its src/index.ts.
import { defineConfig } from "vitest/config"

const conditions = ["@rapport/source", "module", "node", "development|production"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A run that executes no test is a failure (CI must never pass on an empty selection).
    passWithNoTests: false
  }
})
