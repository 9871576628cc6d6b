#!/usr/bin/env node
// `rapport import <file> --db <sqlite file or postgres URL>`: imports a contact file into a SQLite or PostgreSQL database with a
// progress bar, then prints a summary of what was created, updated, skipped and rejected (and
// why). Exit code 0 when the whole file was read (rows it rejected are listed in the summary), 1
// when the import stopped (it says the line to resume from), 2 when it could not run: the file,
// the options or the database cannot be used (the reason is on stderr).
import { accessSync, constants, readFileSync, statSync } from "node:fs"
import { parseArgs } from "node:util"
import type { ImportReport, Progress } from "./Import.js"

const usage = `Usage: rapport import <file> --db <sqlite file or postgres:// URL> [options]

Imports contacts from a CSV, TSV, TXT, XLSX or vCard file.

Options:
  --db <file|url>         the SQLite database (created if missing), or a PostgreSQL URL
                          (postgres://user@host:5432/crm; needs @rapport/postgres)
  --workspace <id>        the workspace (default: default)
  --mapping <m.json>      columns to targets, e.g. {"Courriel": "email", "Notes": "ignore"}
  --source <channel>      where the contacts come from (e.g. trade-show)
  --campaign <name>       the campaign (with --source)
  --tag <tag>             a tag for every imported contact (repeatable)
  --policy <p>            duplicates: skip (default), update or fill-empty
  --on-identity-conflict <c>  a row matched by phone or a unique field with another email:
                          skip (default), create or update (never changes the email or names)
  --country <CC>          country of national phone numbers (e.g. FR)
  --sheet <name|n>        the XLSX sheet
  --encoding <e>          the CSV encoding (default: detected)
  --delimiter <d>         the CSV delimiter (default: detected; "tab" for tabs)
  --date-order <o>        dmy (default) or mdy
  --start-at-line <n>     resume a stopped import
  --dry-run               report only, write nothing
  -h, --help              this help

Exit code: 0 when the whole file was read (rejected rows are listed), 1 when the import
stopped (run again with the --start-at-line it gives), 2 when it could not run.
`

/** The command cannot run as asked: its message is all the user needs (no stack trace). */
class Refused extends Error {
  override readonly name = "Refused"
}

const count = (n: number) => n.toLocaleString("en-US")
// A contact file is often a few KB: "0.0 MB of 0.0 MB" would read as if nothing were read.
const size = (n: number) => (n < 1_048_576 ? `${count(Math.ceil(n / 1024))} KB` : `${(n / 1_048_576).toFixed(1)} MB`)

// Progress goes to stderr, so stdout holds only the summary (a script can keep it). On a terminal
// the bar redraws in place; elsewhere (CI logs, a pipe, a file) "\r" and block glyphs would be
// garbage, so a plain line is written every 5 s, and nothing at all for an import quicker than that.
const progressBar = (stream: NodeJS.WriteStream = process.stderr) => {
  const tty = stream.isTTY === true
  let drawn = false
  let last = Date.now()
  return {
    update: (p: Progress) => {
      const share = p.bytesTotal === undefined || p.bytesTotal === 0 ? undefined : Math.min(1, p.bytesRead / p.bytesTotal)
      const text = `${count(p.rowsRead)} rows · ${count(Math.round(p.rowsPerSecond))} rows/s · ${size(p.bytesRead)}${p.bytesTotal === undefined ? "" : ` of ${size(p.bytesTotal)}`}`
      if (tty) {
        const bar = share === undefined ? "" : `${"█".repeat(Math.round(share * 24)).padEnd(24, "░")} ${String(Math.round(share * 100)).padStart(3)}% `
        // Erase to the end of the line: a shorter line (fewer rows/s) would leave the old tail.
        stream.write(`\r${bar}${text}\x1b[K`)
        drawn = true
      } else if (Date.now() - last >= 5_000) {
        last = Date.now()
        stream.write(`${share === undefined ? "" : `${Math.round(share * 100)}% · `}${text}\n`)
      }
    },
    done: () => {
      if (drawn) stream.write("\n")
      drawn = false
    }
  }
}

const summary = (file: string, report: ImportReport) => {
  const d = report.details
  const about = [report.format, d.encoding, d.delimiter === undefined ? undefined : JSON.stringify(d.delimiter), d.sheet === undefined ? undefined : `sheet "${d.sheet}"`, d.headerLine === undefined ? undefined : `header on line ${d.headerLine}`]
  const out: Array<string> = []
  out.push(`${report.dryRun ? "Dry run of" : "Imported"} ${file} (${about.filter((a) => a !== undefined).join(", ")}) in ${(report.durationMs / 1000).toFixed(1)} s`)
  const rows: ReadonlyArray<readonly [string, number, string]> = [
    ["rows read", report.rowsRead, ""],
    [report.dryRun ? "would create" : "created", report.created, ""],
    [report.dryRun ? "would update" : "updated", report.updated, ""],
    ["unchanged", report.unchanged, "duplicates with nothing new"],
    // Not "(policy: skip)": with update or fill-empty, rows repeating an earlier row are skipped too.
    ["skipped", report.skipped, "duplicates, see below"],
    ["rejected", report.rejected, "see below"],
    ["conflicts", report.conflicted, "another person's phone or unique field, see below"]
  ]
  for (const [label, n, note] of rows) out.push(`  ${label.padEnd(13)} ${count(n).padStart(10)}  ${n > 0 ? note : ""}`.trimEnd())
  const shown = 20
  const listed = (title: string, items: ReadonlyArray<{ readonly line: number; readonly reason: string }>, total: number) => {
    if (items.length === 0) return
    // The title says how many are left out whenever fewer are printed than there are.
    out.push("", `${title} (${total > shown || items.length > shown ? `first ${Math.min(shown, items.length)} of ${count(total)}` : count(total)}):`)
    for (const item of items.slice(0, shown)) out.push(`  line ${String(item.line).padStart(7)}  ${item.reason}`)
  }
  listed("Rejected rows", report.rejections, report.rejected)
  listed("Skipped rows", report.skips, report.skipped)
  listed("Identity conflicts", report.conflicts, report.conflicts.length)
  listed("Warnings", report.warnings, report.warnings.length)
  if (report.unmapped.length > 0) out.push("", `Columns not imported: ${report.unmapped.join(", ")} (map them with --mapping)`)
  out.push("", report.mapping.length === 0 ? "Columns: none recognised (map them with --mapping)" : `Columns: ${report.mapping.map((m) => `${m.column} → ${m.target}`).join(", ")}`)
  if (report.stopped !== null) out.push("", `STOPPED at line ${report.stopped.line}: ${report.stopped.message}`, `Rows before it are imported; run again with --start-at-line ${report.stopped.line}.`)
  return out.join("\n")
}

// Option names as the user typed them, for the importer's validation issues (`country` → `--country`).
const optionOf = (path: ReadonlyArray<string | number>) => {
  const [head, ...rest] = path.map(String)
  if (head === "mapping" && rest.length > 0) return `--mapping "${rest.join(".")}"`
  const option = head?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
  return option === undefined ? "" : [`--${option}`, ...rest].join(".")
}

const readMapping = (path: string): Record<string, string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"))
  } catch (error) {
    throw new Refused(`cannot read the mapping ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const example = `e.g. {"Courriel": "email", "Notes": "ignore"}`
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Refused(`the mapping ${path} must be a JSON object of column names to targets, ${example}`)
  const notText = Object.entries(parsed).filter(([, target]) => typeof target !== "string")
  if (notText.length > 0) {
    throw new Refused(`the mapping ${path} maps ${notText.map(([column, target]) => `"${column}" to ${JSON.stringify(target)}`).join(", ")}; a target is a name in quotes, ${example}`)
  }
  return parsed as Record<string, string>
}

const main = async (): Promise<number> => {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        allowPositionals: true,
        options: {
          db: { type: "string" },
          workspace: { type: "string" },
          mapping: { type: "string" },
          source: { type: "string" },
          campaign: { type: "string" },
          tag: { type: "string", multiple: true },
          policy: { type: "string" },
          "on-identity-conflict": { type: "string" },
          country: { type: "string" },
          sheet: { type: "string" },
          encoding: { type: "string" },
          delimiter: { type: "string" },
          "date-order": { type: "string" },
          "start-at-line": { type: "string" },
          "dry-run": { type: "boolean" },
          help: { type: "boolean", short: "h" }
        }
      })
    } catch (error) {
      throw new Refused(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    }
  })()
  if (values.help === true) {
    process.stdout.write(usage)
    return 0
  }
  const [command, file, ...extra] = positionals
  if (command !== "import" || file === undefined || extra.length > 0) throw new Refused(`expected "import <file>"\n\n${usage}`)
  if (values.db === undefined) throw new Refused(`--db <sqlite file or postgres:// URL> is required\n\n${usage}`)
  const db = values.db
  const postgres = /^postgres(ql)?:\/\//i.test(db)
  const policy = values.policy === undefined ? undefined : values.policy === "fill-empty" ? "fillEmpty" : values.policy
  if (policy !== undefined && policy !== "skip" && policy !== "update" && policy !== "fillEmpty") throw new Refused(`--policy must be skip, update or fill-empty (got "${values.policy}")`)
  const onIdentityConflict = values["on-identity-conflict"]
  if (onIdentityConflict !== undefined && onIdentityConflict !== "skip" && onIdentityConflict !== "create" && onIdentityConflict !== "update") {
    throw new Refused(`--on-identity-conflict must be skip, create or update (got "${onIdentityConflict}")`)
  }
  const dateOrder = values["date-order"]
  if (dateOrder !== undefined && dateOrder !== "dmy" && dateOrder !== "mdy") throw new Refused(`--date-order must be dmy or mdy (got "${dateOrder}")`)
  // The importer takes a campaign only with its channel: without --source it would be dropped silently.
  if (values.campaign !== undefined && values.source === undefined) throw new Refused(`--campaign needs --source <channel> (where the contacts come from, e.g. --source trade-show)`)
  const startAtLine = values["start-at-line"]
  if (startAtLine !== undefined && !/^\d+$/.test(startAtLine)) throw new Refused(`--start-at-line must be a line number (got "${startAtLine}")`)
  // A shell passes '\t' as two characters; a tab is hard to type at all.
  const delimiter = values.delimiter === "tab" || values.delimiter === "\\t" ? "\t" : values.delimiter
  const mapping = values.mapping === undefined ? undefined : readMapping(values.mapping)
  // Checked before the database is opened: a mistyped file name must not leave a new database behind.
  try {
    if (!statSync(file).isFile()) throw new Refused(`cannot read ${file}: it is not a file`)
    accessSync(file, constants.R_OK)
  } catch (error) {
    if (error instanceof Refused) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new Refused(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : error instanceof Error ? error.message : String(error)}`)
  }

  // Loaded only now, so that usage errors and --help answer at once.
  const { createCrm } = await import("@rapport/core")
  const { importFile } = await import("./Client.js")
  const dryRun = values["dry-run"] === true
  const exists = (() => {
    try {
      statSync(db)
      return true
    } catch {
      return false
    }
  })()
  // A PostgreSQL URL loads @rapport/postgres, only then (an optional peer, like @rapport/sqlite). A
  // dry run against a SQLite file that does not exist yet compares with nothing stored, as an
  // empty database would, without creating one.
  const storage = postgres
    ? (
        await import("@rapport/postgres").catch(() => {
          throw new Refused("a PostgreSQL --db needs @rapport/postgres: npm install @rapport/postgres")
        })
      ).postgresStorage({ url: db })
    : (
        await import("@rapport/sqlite").catch(() => {
          throw new Refused("the CLI needs @rapport/sqlite: npm install @rapport/sqlite")
        })
      ).sqliteStorage({ filename: dryRun && !exists ? ":memory:" : db })
  const crm = await createCrm({ storage, workspace: values.workspace })
  const bar = progressBar()
  try {
    const report = await importFile(crm, file, {
      mapping,
      source: values.source === undefined ? undefined : { channel: values.source, campaign: values.campaign },
      tags: values.tag,
      policy,
      onIdentityConflict,
      country: values.country,
      sheet: values.sheet === undefined ? undefined : /^\d+$/.test(values.sheet) ? Number(values.sheet) : values.sheet,
      encoding: values.encoding,
      delimiter,
      dateOrder,
      startAtLine: startAtLine === undefined ? undefined : Number(startAtLine),
      dryRun,
      onProgress: bar.update
    })
    bar.done()
    process.stdout.write(`${summary(file, report)}\n`)
    return report.stopped === null ? 0 : 1
  } finally {
    bar.done()
    await crm.close()
  }
}

// Errors Rapport knows (a RapportError, an ImportError: both carry a stable `code`) are the
// user's to fix and their message says how: no stack trace. Anything else is a bug, whose stack
// is what a report needs. Either way the exit code is 2 (never 1, which means "resume from a line").
const explain = (error: unknown): string => {
  if (error instanceof Refused) return error.message
  if (error instanceof Error && typeof (error as { code?: unknown }).code === "string") {
    const issues = (error as { issues?: ReadonlyArray<{ readonly path: ReadonlyArray<string | number>; readonly message: string }> }).issues
    if (issues === undefined || issues.length === 0) return error.message
    const context = error.message.split(":")[0] ?? "Invalid input"
    return `${context}:\n${issues.map((i) => `  - ${optionOf(i.path) === "" ? "" : `${optionOf(i.path)}: `}${i.message}`).join("\n")}`
  }
  return `unexpected error (please report it with what follows): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`
}

process.exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`rapport: ${explain(error)}\n`)
  return 2
})
