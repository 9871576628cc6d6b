// The `rapport import` command as a user runs it: a child process on the TypeScript sources (so no
// build is needed), its exit code, what it prints on stdout and stderr, and what ends up in the
// SQLite database, read back with the Promise client. Each spawn costs one to four seconds of
// loading, so the tests run concurrently and the first import is shared by the tests about it.
import { type ContactJson, createCrm } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, it } from "vitest"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/cli/${name}`, import.meta.url))

const dir = mkdtempSync(join(tmpdir(), "rapport-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const db = (name: string) => join(dir, `${name}.db`)

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `rapport <args>` with stdout and stderr piped (not a TTY), as in CI or `rapport ... > log`. */
const rapport = (...args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=@rapport/source", "--import", "tsx", cli, ...args],
      { cwd: packageDir, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ code: 0, stdout, stderr })
        // Killed (the timeout) or not started at all: not an answer of the CLI.
        if (typeof error.code !== "number") return reject(new Error(`rapport ${args.join(" ")} did not finish: ${error.message}\nstderr: ${stderr}`))
        resolve({ code: error.code, stdout, stderr })
      }
    )
  })

/** What the run said, for an assertion message that explains a failure by itself. */
const said = (run: Run) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

const contactsIn = async (filename: string): Promise<ReadonlyArray<ContactJson>> => {
  const crm = await createCrm({ storage: sqliteStorage({ filename }) })
  try {
    const page = await crm.contacts.list({ limit: 500 })
    return [...page.items].sort((a, b) => (a.email ?? "").localeCompare(b.email ?? ""))
  } finally {
    await crm.close()
  }
}

const once = <A>(f: () => Promise<A>) => {
  let result: Promise<A> | undefined
  return () => (result ??= f())
}

const salon = fixture("salon-2025.csv")
const salonDb = db("salon")
const salonArgs = [salon, "--db", salonDb, "--source", "trade-show", "--campaign", "Salon 2025", "--tag", "salon-2025", "--country", "FR"]
const firstImport = once(() => rapport("import", ...salonArgs))
const secondImport = once(async () => {
  await firstImport()
  const before = await contactsIn(salonDb)
  return { before, run: await rapport("import", ...salonArgs), after: await contactsIn(salonDb) }
})

describe.concurrent("rapport import", { timeout: 90_000 }, () => {
  it("imports a French semicolon file into a new database: exit 0, created counted, the --source channel and E.164 phones stored", async ({ expect }) => {
    const run = await firstImport()
    expect(run.code, said(run)).toBe(0)
    // Excel's "CSV UTF-8" starts with a BOM: the first column must still be recognised.
    expect(run.stdout).toMatch(/^Imported .*salon-2025\.csv \(csv, utf-8, ";", header on line 1\)/)
    expect(run.stdout).toMatch(/^ {2}rows read +3$/m)
    expect(run.stdout).toMatch(/^ {2}created +3$/m)
    expect(run.stdout).toMatch(/^ {2}rejected +0$/m)
    expect(run.stdout).toContain("Prénom → firstName")
    expect(run.stdout).toContain("Téléphone → phone")

    const stored = await contactsIn(salonDb)
    expect(stored.map((c) => [c.email, c.firstName, c.lastName, c.phone])).toEqual([
      ["elodie.lefevre@exemple.fr", "Élodie", "Lefèvre", "+33612345678"],
      ["jerome.gael@exemple.fr", "Jérôme", "Gaël", "+33123456789"],
      // Already international: kept in its own country, not read as French.
      ["zoe.ndiaye@exemple.fr", "Zoé", "N'Diaye", "+32470123456"]
    ])
    for (const c of stored) {
      expect(c.source).toEqual({ channel: "trade-show", campaign: "Salon 2025" })
      expect(c.tags).toEqual(["salon-2025"])
    }
    // Two rows name the same company: one company, both contacts linked to it.
    const [elodie, jerome, zoe] = stored
    expect(elodie?.companyId).toEqual(expect.any(String))
    expect(zoe?.companyId).toBe(elodie?.companyId)
    expect(jerome?.companyId).toBeNull()
  })

  it("running the same import again changes nothing: 0 created, every row skipped as already stored", async ({ expect }) => {
    const { before, run, after } = await secondImport()
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^ {2}created +0$/m)
    expect(run.stdout).toMatch(/^ {2}skipped +3 /m)
    for (const line of [2, 3, 4]) expect(run.stdout).toMatch(new RegExp(`^ +line +${line} +already stored`, "m"))
    expect(before).toHaveLength(3)
    // Versions and update times included: nothing was rewritten.
    expect(after).toEqual(before)
  })

  it("progress output on a non-TTY: stdout holds only the summary, no carriage returns or terminal codes anywhere", async ({ expect }) => {
    const run = await firstImport()
    expect(run.code, said(run)).toBe(0)
    for (const output of [run.stdout, run.stderr]) {
      expect(output).not.toContain("\r")
      expect(output).not.toContain("\x1b")
      expect(output).not.toMatch(/[█░]/)
    }
    // A quick import prints no progress line at all in a log; the summary ends with a newline.
    expect(run.stderr).toBe("")
    expect(run.stdout.endsWith("\n")).toBe(true)
  })

  it("--dry-run reports what it would create and writes nothing, not even a new database file", async ({ expect }) => {
    const filename = db("dry-run")
    const run = await rapport("import", salon, "--db", filename, "--country", "FR", "--dry-run")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^Dry run of .*salon-2025\.csv/)
    expect(run.stdout).toMatch(/^ {2}would create +3$/m)
    expect(existsSync(filename)).toBe(false)
  })

  it("--dry-run on an existing database leaves its contacts as they are", async ({ expect }) => {
    const filename = db("dry-run-existing")
    const first = await rapport("import", fixture("with-rejects.csv"), "--db", filename, "--country", "FR")
    expect(first.code, said(first)).toBe(0)
    const before = await contactsIn(filename)
    const run = await rapport("import", salon, "--db", filename, "--country", "FR", "--dry-run")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^Dry run of /)
    expect(await contactsIn(filename)).toEqual(before)
  })

  it("a file with rejected rows: exit 0 (the file was read whole), each rejected line and why in the summary, the other rows imported", async ({ expect }) => {
    const filename = db("rejects")
    const run = await rapport("import", fixture("with-rejects.csv"), "--db", filename, "--country", "FR")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^ {2}created +2$/m)
    expect(run.stdout).toMatch(/^ {2}rejected +2 +see below$/m)
    expect(run.stdout).toMatch(/^Rejected rows \(2\):$/m)
    expect(run.stdout).toMatch(/^ +line +3 +Courriel: .*jean\.dupont@.*not an email/m)
    expect(run.stdout).toMatch(/^ +line +4 +.*5 fields.*header has 4/m)
    expect((await contactsIn(filename)).map((c) => c.email)).toEqual(["elodie.lefevre@exemple.fr", "louis.martin@exemple.fr"])
  })

  it("--mapping overrides a recognised column: the work email is stored, the personal one ignored", async ({ expect }) => {
    const filename = db("mapping")
    const run = await rapport("import", fixture("two-emails.csv"), "--db", filename, "--mapping", fixture("work-email.json"), "--country", "FR")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toContain("Courriel pro → email")
    expect((await contactsIn(filename)).map((c) => [c.email, c.firstName, c.lastName, c.phone])).toEqual([
      ["camille.dubois@acme.fr", "Camille", "Dubois", "+33612345678"]
    ])
  })

  it("a mapping to a target that does not exist: exit 2, the column and the target named on stderr, nothing written", async ({ expect }) => {
    const filename = db("bad-mapping")
    const run = await rapport("import", fixture("two-emails.csv"), "--db", filename, "--mapping", fixture("typo-target.json"))
    expect(run.code, said(run)).toBe(2)
    expect(run.stdout).toBe("")
    expect(run.stderr).toMatch(/^rapport: /)
    expect(run.stderr).toContain(`--mapping "Courriel pro": "emial" is not a target`)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    if (existsSync(filename)) expect(await contactsIn(filename)).toEqual([])
  })

  it("usage errors and unreadable files: exit 2, one readable message on stderr, no stack trace, no database created", async ({ expect }) => {
    const filename = db("usage")
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
      ["no arguments", [], /^rapport: expected "import <file>"/],
      ["no file", ["import", "--db", filename], /^rapport: expected "import <file>"/],
      ["no --db", ["import", salon], /^rapport: --db <sqlite file or postgres:\/\/ URL> is required/],
      ["an unknown option", ["import", salon, "--db", filename, "--frobnicate"], /^rapport: Unknown option '--frobnicate'/],
      ["a file that does not exist", ["import", join(dir, "nope.csv"), "--db", filename], /^rapport: cannot read .*nope\.csv: no such file/],
      ["a folder for a file", ["import", dir, "--db", filename], /^rapport: cannot read .*: it is not a file/],
      ["a wrong --policy", ["import", salon, "--db", filename, "--policy", "merge"], /^rapport: --policy must be skip, update or fill-empty \(got "merge"\)/],
      ["--campaign without --source", ["import", salon, "--db", filename, "--campaign", "Salon 2025"], /^rapport: --campaign needs --source/],
      ["a mapping that is not JSON", ["import", salon, "--db", filename, "--mapping", salon], /^rapport: cannot read the mapping .*salon-2025\.csv: .*JSON/]
    ]
    const runs = await Promise.all(cases.map(([, args]) => rapport(...args)))
    cases.forEach(([what, , message], i) => {
      const run = runs[i]!
      expect(run.code, `${what}: ${said(run)}`).toBe(2)
      expect(run.stderr, what).toMatch(message)
      expect(run.stderr, what).not.toMatch(/\n\s+at /)
      expect(run.stdout, what).toBe("")
    })
    expect(existsSync(filename)).toBe(false)
  })

  it("an empty file: exit 2 with the importer's reason on stderr, no stack trace", async ({ expect }) => {
    const run = await rapport("import", fixture("empty.csv"), "--db", db("empty"))
    expect(run.code, said(run)).toBe(2)
    expect(run.stderr).toMatch(/^rapport: \S/)
    expect(run.stderr).toMatch(/empty/i)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(run.stdout).toBe("")
  })

  it("--help prints the usage and the exit codes on stdout, exit 0", async ({ expect }) => {
    const run = await rapport("--help")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^Usage: rapport import <file> --db <sqlite file or postgres:\/\/ URL>/)
    expect(run.stdout).toContain("Exit code: 0")
    expect(run.stderr).toBe("")
  })

  it("--dry-run of a file already imported says it would create nothing", async ({ expect }) => {
    const { run: stored } = await secondImport()
    expect(stored.code, said(stored)).toBe(0)
    const run = await rapport("import", ...salonArgs, "--dry-run")
    expect(run.code, said(run)).toBe(0)
    expect(run.stdout).toMatch(/^ {2}would create +0$/m)
    expect(run.stdout).toMatch(/^ {2}skipped +3 /m)
  })
})
