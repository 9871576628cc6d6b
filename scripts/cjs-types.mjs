// Declarations for CommonJS consumers. tsc emits ESM declarations (dist/types/**/*.d.ts) for
// this "type": "module" package; TypeScript reads a .d.ts there as ESM, so `require` users need
// .d.cts twins whose relative imports point at .cjs. Bundling declarations instead (tsup's dts,
// rollup-plugin-dts) drops the value side of `export * as Ns` members that are both a value and
// a type — the Effect Schema idiom this codebase uses everywhere.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const root = join(process.cwd(), "dist", "types")

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

let count = 0
for (const file of walk(root)) {
  if (!file.endsWith(".d.ts")) continue
  const source = readFileSync(file, "utf8")
  const cjs = source
    .replace(/(from\s+["']|import\(["'])(\.{1,2}\/[^"']+)\.js(["'])/g, "$1$2.cjs$3")
    .replace(/^\/\/# sourceMappingURL=.*$/m, "")
  writeFileSync(file.replace(/\.d\.ts$/, ".d.cts"), cjs)
  count++
}
console.log(`cjs-types: wrote ${count} .d.cts declarations`)
