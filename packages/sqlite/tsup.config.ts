import { defineConfig } from "tsup"

// JavaScript only: declarations come from tsc (see scripts/cjs-types.mjs for why).
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20"
})
