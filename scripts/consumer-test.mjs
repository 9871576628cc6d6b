// The consumer test: what a stranger gets from `npm install`. Packs every publishable package
// (as `pnpm publish` would: `workspace:` and `catalog:` replaced), installs the tarballs with
// plain npm into empty projects outside the workspace, and uses them there: an ESM app on a
// SQLite file with its own Promise-style mailer, the HTTP API mounted in an Express 5 app, a CommonJS `require`, a `node --test` file with
// createTestCrm and the arbitraries (no vitest installed), the importers without @rapport/sqlite,
// and a project on effect 4, which must be refused with the effect version to install.
//
// Run after `pnpm build`: `node scripts/consumer-test.mjs` (CI: .ci/run). It exits non-zero on the
// first failure and prints every check it made. RAPPORT_CONSUMER_KEEP=1 keeps the temporary
// directory for a look.
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["core", "sql", "sqlite", "postgres", "importers", "testing", "express", "mailer-smtp"]
// The effect line the packages are built for, as a user would type it (README "Install in your app").
const effectPeers = ["effect@^3.22.4", "@effect/sql@^0.52.1", "@effect/platform@^0.97.2", "@effect/experimental@^0.61.1"]
const npmInstall = ["install", "--no-audit", "--no-fund", "--prefer-offline"]

const started = Date.now()
const seconds = (since = started) => `${((Date.now() - since) / 1000).toFixed(1)}s`
const checks = []
const check = (what) => {
  checks.push(what)
  console.log(`  ok  ${what}`)
}
class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message)
}
const expect = (condition, message) => {
  if (!condition) fail(message)
}

/** Runs a command; resolves with its exit code and output (stdout and stderr interleaved). */
const run = (command, args, options = {}) =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 10 * 60_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code: code ?? (signal === null ? 1 : 128), output })
    })
  })

/** Runs a command that must succeed; its output is printed when it does not. */
const runOk = async (what, command, args, options) => {
  const { code, output } = await run(command, args, options)
  if (code !== 0) fail(`${what} failed (exit ${code}):\n${output}`)
  return output
}

const tmp = mkdtempSync(join(tmpdir(), "rapport-consumer-"))
const tarballs = join(tmp, "tarballs")
mkdirSync(tarballs)

const project = (name, files) => {
  const dir = join(tmp, name)
  mkdirSync(dir)
  // Declared ahead so npm's allowScripts (npm 11) lets better-sqlite3 compile its addon.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `consumer-${name}`, private: true, type: "module", allowScripts: { "better-sqlite3": true } }, null, 2))
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return dir
}

const tarball = (pkg) => {
  const file = readdirSync(tarballs).find((f) => f.startsWith(`rapport-${pkg}-`) && f.endsWith(".tgz"))
  return file === undefined ? undefined : join(tarballs, file)
}

// ---------------------------------------------------------------------------------------------
// What the consumers run

const appMjs = `
import { createCrm, RapportValidationError } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import assert from "node:assert/strict"

// The app's own mail provider, Promise-style: what it returns is the provider's receipt.
const sent = []
const mailer = {
  send: async (mail) => {
    sent.push(mail)
    return { messageId: "provider-" + sent.length }
  }
}

const filename = new URL("./crm.db", import.meta.url).pathname
const crm = await createCrm({ storage: sqliteStorage({ filename }), mailer, mail: { from: "Shop <shop@example.com>" } })
const welcome = await crm.templates.create({ name: "Welcome", purpose: "transactional", subject: "Welcome, {{ contact.firstName }}", text: "Thanks for signing up." })
await crm.rules.create({ id: "welcome", name: "Welcome mail", on: "account.created", actions: [{ type: "sendEmail", template: welcome.id, transactional: true }] })
const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", source: { channel: "website" } })
await crm.events.emit({ id: "signup-1", type: "account.created", contactId: ada.id, payload: {} })
await assert.rejects(crm.contacts.create({ email: "not an email" }), RapportValidationError)

const report = await crm.dispatcher.runDue()
assert.equal(report.done, 1, "one job done: " + JSON.stringify(report))
assert.deepEqual(sent.map((m) => [m.to, m.subject]), [["ada@example.com", "Welcome, Ada"]])
const [job] = (await crm.dispatcher.jobs({ status: "done" })).items
assert.equal(job.outcome.messageId, "provider-1", "the job keeps the mailer's receipt")
await crm.close()

// The data is in the file: a second client on it finds Ada and her welcome on the timeline.
const again = await createCrm({ storage: sqliteStorage({ filename }), mailer })
const found = await again.contacts.get(ada.id)
assert.equal(found.email, "ada@example.com")
const timeline = (await again.timeline.list(ada.id)).items
assert.deepEqual(timeline.filter((entry) => entry.kind === "email").map((entry) => entry.summary), ["Email sent: Welcome, Ada"])
await again.close()
console.log("app.mjs: contact, rule, mail through the app's mailer, data kept in " + filename)
`

// The HTTP API in an Express 5 app, as a shop mounts it: an admin API key made in code, then used
// over loopback to create a contact, read it back with its ETag, and be refused on a stale one.
const httpMjs = `
import { createCrm } from "@rapport/core"
import { apiKeyAuth, rapportRouter } from "@rapport/express"
import { memoryStorage } from "@rapport/sqlite"
import express from "express"
import assert from "node:assert/strict"
import { once } from "node:events"

const crm = await createCrm({ storage: memoryStorage() })
const key = await crm.apiKeys.create({ name: "shop backend", role: "admin" })
const app = express()
app.use("/crm", rapportRouter(crm, { authenticate: apiKeyAuth(crm) }))
const server = app.listen(0, "127.0.0.1")
await once(server, "listening")
const base = "http://127.0.0.1:" + server.address().port + "/crm"
const auth = { authorization: "Bearer " + key.secret, "content-type": "application/json" }

const created = await fetch(base + "/contacts", { method: "POST", headers: auth, body: JSON.stringify({ email: "ada@example.com", firstName: "Ada" }) })
assert.equal(created.status, 201, await created.clone().text())
const ada = await created.json()
const read = await fetch(base + "/contacts/" + ada.id, { headers: auth })
assert.equal(read.status, 200)
const etag = read.headers.get("etag")
assert.ok(etag, "no ETag on GET")
const updated = await fetch(base + "/contacts/" + ada.id, { method: "PATCH", headers: { ...auth, "if-match": etag }, body: JSON.stringify({ lastName: "Lovelace" }) })
assert.equal(updated.status, 200, await updated.clone().text())
const stale = await fetch(base + "/contacts/" + ada.id, { method: "PATCH", headers: { ...auth, "if-match": etag }, body: JSON.stringify({ lastName: "Byron" }) })
assert.equal(stale.status, 412)
assert.equal(stale.headers.get("content-type"), "application/problem+json")
const anonymous = await fetch(base + "/contacts")
assert.equal(anonymous.status, 401)
const spec = await (await fetch(base + "/openapi.json")).json()
assert.equal(spec.openapi, "3.1.0")
server.close()
await crm.close()
console.log("http.mjs: Express 5 with rapportRouter at /crm: API key, create, ETag, If-Match 412, 401, OpenAPI " + spec.openapi)
`

const appCjs = `
const assert = require("node:assert/strict")
const { createCrm } = require("@rapport/core")
const { memoryStorage } = require("@rapport/sqlite")
const { createTestCrm, Arbitraries } = require("@rapport/testing")
const importers = require("@rapport/importers")
const postgres = require("@rapport/postgres")
const sql = require("@rapport/sql")
const http = require("@rapport/express")
const smtp = require("@rapport/mailer-smtp")

assert.equal(typeof createTestCrm, "function")
assert.equal(typeof Arbitraries.contact, "function")
assert.equal(typeof importers.importFile, "function")
assert.equal(typeof postgres.postgresStorage, "function")
assert.equal(typeof sql.SqlStorage, "object")
assert.equal(typeof http.toNodeHandler, "function")
assert.equal(typeof smtp.smtpMailer, "function")
assert.equal(typeof smtp.SmtpMailer.layer, "function")
// The contract suite is vitest code, on its own entry: without vitest it does not load, and
// nothing above needed it.
assert.throws(() => require("@rapport/testing/contract"), /vitest/)

;(async () => {
  const crm = await createCrm({ storage: memoryStorage() })
  const ada = await crm.contacts.create({ email: "ada@example.com" })
  assert.equal((await crm.contacts.get(ada.id)).email, "ada@example.com")
  await crm.close()
  console.log("app.cjs: every package loads with require; a CRM in memory works")
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
`

const rulesTest = `
import { Arbitraries, createTestCrm } from "@rapport/testing"
import * as FastCheck from "effect/FastCheck"
import assert from "node:assert/strict"
import { test } from "node:test"

const installShopRules = async (crm) => {
  const reminder = await crm.templates.create({ name: "Cart reminder", purpose: "marketing", subject: "Your cart {{ event.payload.cartId }} is waiting", html: '<p>Come back!</p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>' })
  await crm.rules.create({
    id: "abandoned-cart",
    name: "Cart reminder at D+1",
    on: "cart.abandoned",
    delay: "1 day",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
    limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", template: reminder.id }]
  })
}

// The example of packages/testing/README.md and docs/testing-rules.md, as written there.
test("a welcome mail for every new account", async () => {
  const crm = await createTestCrm()
  try {
    const welcome = await crm.templates.create({ name: "Welcome", purpose: "transactional", subject: "Welcome!", text: "Hello" })
    await crm.rules.create({ name: "Welcome", on: "account.created", actions: [{ type: "sendEmail", template: welcome.id, transactional: true }] })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.events.emit({ type: "account.created", contactId: ada.id, payload: {} })
    await crm.clock.advance("1 minute")
    assert.deepEqual(crm.mails.sent().map((m) => [m.to, m.subject]), [["ada@example.com", "Welcome!"]])
  } finally {
    await crm.close()
  }
})

test("a cart reminder the day after, not before", async () => {
  const crm = await createTestCrm()
  try {
    await installShopRules(crm)
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.grant(ada.id)
    await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
    await crm.clock.advance("23 hours")
    assert.deepEqual(crm.mails.sent(), [])
    await crm.clock.advance("1 hour")
    assert.deepEqual(crm.mails.sent().map((m) => [m.to, m.subject, m.sentAt]), [["ada@example.com", "Your cart c-1 is waiting", "2025-01-07T09:00:00.000Z"]])
  } finally {
    await crm.close()
  }
})

test("on generated journeys, never two reminders for one cart", async () => {
  let reminders = 0
  await FastCheck.assert(
    FastCheck.asyncProperty(Arbitraries.cartJourney({ contacts: 2, carts: 2, maxLength: 10 }), async (journey) => {
      const crm = await createTestCrm()
      try {
        await installShopRules(crm)
        for (const n of [1, 2]) await crm.consent.grant((await crm.contacts.create({ email: "customer" + n + "@example.com" })).id)
        for (const step of journey) {
          await crm.clock.advance(step.after)
          await crm.events.emit(step.event)
        }
        await crm.clock.advance("3 days")
        const keys = crm.mails.sent().map((m) => m.to + " " + m.subject)
        assert.equal(new Set(keys).size, keys.length, "a cart reminded twice: " + keys.join(", "))
        reminders += keys.length
      } finally {
        await crm.close()
      }
    }),
    { numRuns: 8, seed: 42 }
  )
  // Not vacuous: the journeys did make the rule send reminders.
  assert.ok(reminders > 0, "no journey led to a reminder")
})
`

const pgMjs = `
import { createCrm } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import assert from "node:assert/strict"
import { randomUUID } from "node:crypto"

// A workspace of its own: the database may be shared with other runs.
const crm = await createCrm({ storage: postgresStorage({ url: process.env.RAPPORT_PG_URL }), workspace: "consumer-" + randomUUID() })
const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
assert.equal((await crm.contacts.get(ada.id)).firstName, "Ada")
await crm.close()
console.log("pg.mjs: a contact stored in PostgreSQL and read back")
`

const importersMjs = `
import * as importers from "@rapport/importers"
import assert from "node:assert/strict"
import { createRequire } from "node:module"

assert.equal(typeof importers.importFile, "function")
assert.equal(typeof importers.exportFile, "function")
assert.throws(() => createRequire(import.meta.url).resolve("@rapport/sqlite"), /Cannot find module/)
console.log("importers.mjs: @rapport/importers loads without @rapport/sqlite installed")
`

const effect4Mjs = `
import assert from "node:assert/strict"
import { existsSync } from "node:fs"

const filename = new URL("./crm.db", import.meta.url).pathname
const started = Date.now()
let error
try {
  const { createCrm } = await import("@rapport/core")
  const { sqliteStorage } = await import("@rapport/sqlite")
  await createCrm({ storage: sqliteStorage({ filename }) })
} catch (e) {
  error = e
}
assert.ok(error !== undefined, "createCrm started on effect 4")
const message = String(error?.message ?? error)
console.log("effect 4: " + message.split("\\n")[0])
assert.match(message, /effect/, "the error does not name effect")
assert.match(message, /3\\.22/, "the error does not say which effect version to install: " + message)
assert.ok(!existsSync(filename), "the database was opened before the version was checked")
console.log("effect4.mjs: refused at once (" + (Date.now() - started) + " ms)")
`

// ---------------------------------------------------------------------------------------------

const main = async () => {
  console.log(`consumer test in ${tmp}`)

  console.log(`\n--- pack (${seconds()})`)
  for (const pkg of packages) expect(existsSync(join(root, "packages", pkg, "dist", "index.js")), `packages/${pkg}/dist is missing: run \`pnpm build\` first`)
  await runOk("pnpm pack", "npx", ["--yes", "pnpm@10", "-r", "--filter", "./packages/*", "pack", "--pack-destination", tarballs], { cwd: root })
  for (const pkg of packages) expect(tarball(pkg) !== undefined, `pnpm pack made no tarball for @rapport/${pkg}`)
  check(`pnpm pack: ${readdirSync(tarballs).join(", ")}`)

  console.log(`\n--- packed manifests (${seconds()})`)
  for (const pkg of packages) {
    const { code, output } = await run("tar", ["-xzOf", tarball(pkg), "package/package.json"])
    expect(code === 0, `cannot read package.json in ${tarball(pkg)}: ${output}`)
    const manifest = JSON.parse(output)
    const name = manifest.name
    const sections = ["dependencies", "peerDependencies", "optionalDependencies"]
    for (const section of sections) {
      for (const [dep, range] of Object.entries(manifest[section] ?? {})) {
        expect(!/^(workspace|catalog):/.test(range), `${name} ${section}.${dep} is ${range} in the tarball`)
        expect(!/^\d/.test(range), `${name} ${section}.${dep} is pinned to exactly ${range}: a range lets npm share one copy with the app`)
      }
    }
    for (const dep of Object.keys(manifest.dependencies ?? {})) expect(!dep.startsWith("@types/"), `${name} installs ${dep} at run time`)
    const optional = (dep) => manifest.peerDependenciesMeta?.[dep]?.optional === true
    if (manifest.peerDependencies?.effect !== undefined) expect(manifest.peerDependencies.effect.startsWith("^3."), `${name} peer effect is ${manifest.peerDependencies.effect}`)
    if (name === "@rapport/importers") for (const dep of ["@rapport/sqlite", "@rapport/postgres"]) expect(optional(dep), `${name}: ${dep} must be an optional peer (only the CLI needs it)`)
    if (name === "@rapport/testing") {
      for (const dep of ["vitest", "@effect/vitest"]) expect(optional(dep), `${name}: ${dep} must be an optional peer (only the contract entry needs it)`)
      expect(manifest.exports?.["./contract"] !== undefined, `${name} has no ./contract entry`)
    }
  }
  check("manifests: no workspace:/catalog: left, peers are ranges (effect ^3.x), no @types/* at run time, optional peers where only a CLI or the contract suite needs them")

  const app = project("app", { "app.mjs": appMjs, "http.mjs": httpMjs, "app.cjs": appCjs, "pg.mjs": pgMjs, "rules.test.mjs": rulesTest })
  const importersOnly = project("importers-only", { "importers.mjs": importersMjs, "import.csv": "email,first name\nada@example.com,Ada\n" })
  const effect4 = project("effect4", { "effect4.mjs": effect4Mjs })

  // The app compiles better-sqlite3 (minutes); the two small projects install meanwhile.
  const appInstall = (async () => {
    const since = Date.now()
    await runOk("npm install (app)", "npm", [...npmInstall, ...packages.map(tarball), ...effectPeers, "express@^5"], { cwd: app })
    return seconds(since)
  })()
  const smallProjects = (async () => {
    let since = Date.now()
    await runOk("npm install (importers only)", "npm", [...npmInstall, tarball("core"), tarball("importers"), "effect@^3.22.4"], { cwd: importersOnly })
    const importersTime = seconds(since)

    // effect 4 (npm's latest) against packages built for effect 3: npm refuses, naming the range.
    since = Date.now()
    const refused = await run("npm", [...npmInstall, tarball("core"), "effect@latest"], { cwd: effect4 })
    const refusedTime = seconds(since)
    // Forced past the refusal (as --legacy-peer-deps or another package manager would allow), the
    // app must still be stopped at once with the version to install. No addon build: createCrm
    // must refuse before opening a database.
    since = Date.now()
    const storage = [tarball("core"), tarball("sql"), tarball("sqlite")]
    await runOk("npm install --legacy-peer-deps (effect 4)", "npm", [...npmInstall, "--legacy-peer-deps", "--ignore-scripts", ...storage, "effect@latest", ...effectPeers.slice(1)], { cwd: effect4 })
    return { importersTime, refused, refusedTime, forcedTime: seconds(since) }
  })()

  const small = await smallProjects
  console.log(`\n--- @rapport/importers without @rapport/sqlite (installed in ${small.importersTime})`)
  await runOk("importers.mjs", "node", ["importers.mjs"], { cwd: importersOnly })
  check("(d) @rapport/importers loads with only @rapport/core and effect installed")
  const cli = await run(join(importersOnly, "node_modules", ".bin", "rapport"), ["import", "import.csv", "--db", "crm.db"], { cwd: importersOnly })
  expect(cli.code !== 0 && cli.output.includes("npm install @rapport/sqlite"), `the rapport CLI without @rapport/sqlite should ask for it (exit ${cli.code}):\n${cli.output}`)
  check("(d) its CLI, used without @rapport/sqlite, says: npm install @rapport/sqlite")

  console.log(`\n--- effect 4 (${small.refusedTime} to refuse, ${small.forcedTime} forced)`)
  const effect4Version = JSON.parse(readFileSync(join(effect4, "node_modules", "effect", "package.json"), "utf8")).version
  expect(effect4Version.startsWith("4."), `npm's effect@latest is ${effect4Version}, not 4.x`)
  expect(small.refused.code !== 0 && small.refused.output.includes('effect@"^3.22.4"'), `npm install with effect@latest should be refused, naming effect@"^3.22.4" (exit ${small.refused.code}):\n${small.refused.output}`)
  check(`(e) npm install with effect@latest (${effect4Version}) is refused: ${small.refused.output.match(/peer effect@"[^"]+" from @rapport\/\w+/)?.[0]}`)

  const appTime = await appInstall
  console.log(`\n--- the app (installed in ${appTime})`)
  expect(!existsSync(join(app, "node_modules", "vitest")), "vitest got installed into the app")
  process.stdout.write(await runOk("app.mjs", "node", ["app.mjs"], { cwd: app }))
  check("(a) ESM app: createCrm on a SQLite file, a Promise-style mailer ({ send: async (mail) => ({ messageId }) }), a rule's mail sent by the dispatcher with the mailer's receipt kept, data kept in the file")
  process.stdout.write(await runOk("http.mjs", "node", ["http.mjs"], { cwd: app }))
  check("(f) the HTTP API in an Express 5 app: rapportRouter at /crm with an API key; create, ETag and a stale If-Match (412 problem), 401 without a key, /openapi.json")
  process.stdout.write(await runOk("app.cjs", "node", ["app.cjs"], { cwd: app }))
  check("(b) CommonJS: every package loads with require; @rapport/testing/contract alone needs vitest")
  if (process.env.RAPPORT_PG_URL) {
    process.stdout.write(await runOk("pg.mjs", "node", ["pg.mjs"], { cwd: app }))
    check("(a) the same install on PostgreSQL (RAPPORT_PG_URL): createCrm with postgresStorage")
  } else console.log("  --  PostgreSQL not tried: RAPPORT_PG_URL is not set")
  const since = Date.now()
  const tests = await runOk("node --test", "node", ["--test", "rules.test.mjs"], { cwd: app })
  expect(/# pass 3\b/.test(tests) && /# fail 0\b/.test(tests), `node --test did not pass its 3 tests:\n${tests}`)
  check(`(c) node --test (no vitest installed): createTestCrm on a virtual clock and Arbitraries.cartJourney, 3 tests passed in ${seconds(since)}`)

  console.log(`\n--- forced onto effect 4`)
  process.stdout.write(await runOk("effect4.mjs", "node", ["effect4.mjs"], { cwd: effect4 }))
  check("(e) forced onto effect 4, createCrm fails at once naming the effect version to install")
}

try {
  await main()
  console.log(`\nconsumer test passed: ${checks.length} checks in ${seconds()}`)
  if (process.env.RAPPORT_CONSUMER_KEEP !== "1") rmSync(tmp, { recursive: true, force: true })
} catch (error) {
  console.error(`\nconsumer test FAILED after ${seconds()} (${checks.length} checks passed; files kept in ${tmp}):`)
  console.error(error instanceof Failure ? error.message : error)
  // Installs still running in the background would keep the process alive.
  process.exit(1)
}
