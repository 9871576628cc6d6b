// `rapport import --db postgres://…`: the CLI loads @rapport/postgres for a PostgreSQL URL and
// imports into that database (the local test database, RAPPORT_PG_URL, in a workspace of its own).
import { createCrm } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const packageDir = fileURLToPath(new URL("..", import.meta.url))
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/cli/${name}`, import.meta.url))

const rapport = (...args: ReadonlyArray<string>): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, ["--conditions=@rapport/source", "--import", "tsx", cli, ...args], { cwd: packageDir, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, stdout, stderr })
      if (typeof error.code !== "number") return reject(new Error(`rapport ${args.join(" ")} did not finish: ${error.message}\nstderr: ${stderr}`))
      resolve({ code: error.code, stdout, stderr })
    })
  })

describe("rapport import --db <PostgreSQL URL>", () => {
  it("imports into PostgreSQL (postgres:// and postgresql://), in the workspace given", async () => {
    const workspace = `cli-${randomUUID()}`
    const run = await rapport("import", fixture("salon-2025.csv"), "--db", pgUrl, "--workspace", workspace, "--country", "FR")
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/created\s+3\n/)
    const crm = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace })
    try {
      const page = await crm.contacts.list({ limit: 500 })
      expect(page.items.map((c) => c.email).sort()).toEqual(["elodie.lefevre@exemple.fr", "jerome.gael@exemple.fr", "zoe.ndiaye@exemple.fr"])
    } finally {
      await crm.close()
    }
    const other = await rapport("import", fixture("salon-2025.csv"), "--db", pgUrl.replace(/^postgres:/, "postgresql:"), "--workspace", `cli-${randomUUID()}`)
    expect(other.code, other.stderr).toBe(0)
    expect(other.stdout).toMatch(/created\s+3\n/)
  }, 120_000)

  it("a database that cannot be reached exits 2 with the storage error, no stack trace", async () => {
    const run = await rapport("import", fixture("salon-2025.csv"), "--db", "postgres://nobody@127.0.0.1:1/none")
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^rapport: /)
    expect(run.stderr).not.toMatch(/\n\s+at /)
  }, 120_000)
})
