// Puts an effect version check in front of a package's built entry (dist/index.js and .cjs).
//
// Why: on effect 4 (npm's `latest`), modules Rapport imports do not exist (effect/Either,
// effect/ParseResult; @effect/sql needs effect/Mailbox), so a static import of the real code dies
// while Node links the module graph — "Cannot find module …/effect/dist/Either.js" — before any
// of our code can run. The entry therefore imports only the check (which reads effect's
// package.json), runs it, and only then loads the real code: ESM with a top-level `await import`
// and named re-exports listed here at build time, CJS with `module.exports = require(…)` (a form
// Node's CJS export detection follows). Every Rapport package gets it, so whichever is imported
// first names the effect version to install.
import { readFileSync, renameSync, writeFileSync, existsSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const dist = join(process.cwd(), "dist")
const peer = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")).peerDependencies?.effect
if (typeof peer !== "string" || !/^\^3\.\d+\.\d+$/.test(peer)) throw new Error(`effect-guard: expected an effect peer range like ^3.22.4, got ${peer}`)
const [minor, patch] = peer.slice(3).split(".").map(Number)

for (const ext of ["js", "cjs"]) {
  const entry = join(dist, `index.${ext}`)
  const impl = join(dist, `rapport.${ext}`)
  if (!existsSync(entry)) throw new Error(`effect-guard: ${entry} is missing (run tsup first)`)
  // The map keeps pointing at the sources; only its file name follows the renamed code.
  writeFileSync(impl, readFileSync(entry, "utf8").replace(`//# sourceMappingURL=index.${ext}.map`, `//# sourceMappingURL=rapport.${ext}.map`))
  if (existsSync(`${entry}.map`)) renameSync(`${entry}.map`, `${impl}.map`)
}

const check = (importMetaOrRequire) => `
const required = ${JSON.stringify(peer)}
// Reads the effect that this package resolves (the one it would import), never a global one.
export function checkEffect() {
  let version
  try {
    version = ${importMetaOrRequire}("effect/package.json").version
  } catch {
    return // No readable effect: the import that follows says what is missing.
  }
  const m = /^(\\d+)\\.(\\d+)\\.(\\d+)/.exec(String(version))
  if (m !== null && Number(m[1]) === 3 && (Number(m[2]) > ${minor} || (Number(m[2]) === ${minor} && Number(m[3]) >= ${patch}))) return
  const error = new Error("Rapport needs effect " + required + "; effect " + version + " is installed: npm install effect@" + required)
  error.name = "RapportEffectVersionError"
  error._tag = "UnsupportedEffect"
  error.code = "UNSUPPORTED_EFFECT"
  error.installed = String(version)
  throw error
}
`

writeFileSync(join(dist, "effect-guard.js"), `import { createRequire } from "node:module"\n${check("createRequire(import.meta.url)")}`)
writeFileSync(join(dist, "effect-guard.cjs"), `"use strict"\n${check("require").replace("export function checkEffect", "function checkEffect")}\nexports.checkEffect = checkEffect\n`)

const names = Object.keys(await import(pathToFileURL(join(dist, "rapport.js")).href)).filter((n) => n !== "default")
for (const n of names) if (!/^[A-Za-z_$][\w$]*$/.test(n)) throw new Error(`effect-guard: export ${n} is not an identifier`)
writeFileSync(
  join(dist, "index.js"),
  `// Checks the installed effect before the real code is linked (see rapport.js).\nimport { checkEffect } from "./effect-guard.js"\ncheckEffect()\nconst rapport = await import("./rapport.js")\nexport const { ${names.join(", ")} } = rapport\n`
)
writeFileSync(
  join(dist, "index.cjs"),
  `"use strict"\n// Checks the installed effect before the real code is loaded (see rapport.cjs).\nrequire("./effect-guard.cjs").checkEffect()\nmodule.exports = require("./rapport.cjs")\n`
)
console.log(`effect-guard: dist/index.{js,cjs} check effect ${peer} first, then load dist/rapport.{js,cjs} (${names.length} exports)`)
