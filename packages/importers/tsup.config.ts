// The shared build, plus the `rapport` command-line tool (ESM only: it is run, not imported).
import { defineConfig } from "tsup"

export default defineConfig([
  { entry: ["src/index.ts"], format: ["esm", "cjs"], dts: false, sourcemap: true, clean: true, target: "node20" },
  { entry: ["src/cli.ts"], format: ["esm"], dts: false, sourcemap: true, clean: false, target: "node20" }
])
