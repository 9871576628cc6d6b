// The shared build with a second entry: the contract suite, which needs vitest, stays out of the
// main entry so `createTestCrm` loads under any test runner.
import { defineConfig } from "tsup"

export default defineConfig({
  entry: ["src/index.ts", "src/contract.ts"],
  format: ["esm", "cjs"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20"
})
