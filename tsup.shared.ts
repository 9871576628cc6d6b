// The build every package shares: JavaScript only, as ESM and CJS; declarations come from tsc
// (see scripts/cjs-types.mjs for why they are not bundled).
import { defineConfig } from "tsup"

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  // `import.meta.url` in the CJS build (the dashboard finds Chart.js beside its own module).
  shims: true
})
