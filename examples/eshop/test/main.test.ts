// The README's command, as a process: `src/main.ts` starts the shop from the environment on
// 127.0.0.1, prints its URLs, serves pages, and stops cleanly on SIGTERM. It runs on the packages'
// sources (the "@rapport/source" condition), as vitest does, so no build is needed here.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, expect, it } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "eshop-main-"))
let child: ChildProcess | undefined

afterAll(() => {
  if (child !== undefined && child.exitCode === null) child.kill("SIGKILL")
  rmSync(dir, { recursive: true, force: true })
})

it("main - starts on a SQLite file from the environment, prints the URLs, serves the shop, stops on SIGTERM", async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", ESHOP_DB: join(dir, "data", "eshop.db"), RAPPORT_SECRET: "main-test-secret-0123456789" }
  delete env["DATABASE_URL"]
  delete env["SMTP_HOST"]
  child = spawn(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), "--conditions", "@rapport/source", "src/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const deadline = Date.now() + 90_000
  while (!output.includes("Press Ctrl+C to stop.")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the shop did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const url = /Boutique Lumière: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1]
  expect(url).toBeDefined()
  expect(output).toContain(`Dashboard: ${url}/crm/dashboard/`)
  expect(output).toMatch(/SMTP \(development\): 127\.0\.0\.1:\d+/)
  expect(output).toMatch(/Seeded 120 contacts and \d+ orders over the last year/)
  const home = await fetch(`${url}/?colour=red`)
  expect(home.status).toBe(200)
  expect(await home.text()).toContain("Escarpins rouges Lumière")

  const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)))
  child.kill("SIGTERM")
  expect(await exited).toBe(0)
}, 120_000)
