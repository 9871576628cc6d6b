// Contact import throughput, on SQLite: a generated CSV of French contacts (email, first and last
// names, a national phone number, one of 1,000 companies, a few tags) imported through Rapport
// (importFile with createCrm and sqliteStorage, country FR: phones to E.164, companies created and
// linked by name, duplicates looked up by email and phone, each contact's contact.created event
// and timeline entry) against the limit: the same file read with csv-parse (streaming,
// `columns: true`) and the rows Rapport stores (the contact, its contact.created event and its
// timeline entry, each company once) inserted with better-sqlite3 into tables of the same keys
// and indexes, one prepared statement per table, in transactions of 500 rows. The limit reads
// nothing back: no duplicate lookups, no validation.
//
// Each side runs in a process of its own (import-side.ts), on a fresh database file, so that the
// peak RSS each reports (process.resourceUsage().maxRSS at its end) is its own: the generator and
// the other side stay out of it. The file is written once, by a streaming writer, and read by
// every run. With several rounds (BENCH_ROUNDS), sides alternate which runs first and figures are
// medians. After each round both databases must hold the same contacts (emails, names, E.164
// phones, company names, tags) with one event and one timeline entry each.
import Database from "better-sqlite3"
import { fork } from "node:child_process"
import { createHash, randomUUID } from "node:crypto"
import { once } from "node:events"
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { finished } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { median, random } from "./stats.js"

export type SideName = "rapport" | "limit"

/** What a side's process reports to the section when it is done. */
export interface SideReport {
  /** The import itself: from the file's first byte to the last commit. */
  readonly seconds: number
  /** The process's peak resident set size, in kilobytes (`process.resourceUsage().maxRSS`). */
  readonly maxRssKb: number
  /** Contacts created, by the side's own count. */
  readonly created: number
}

export interface Options {
  readonly rows: number
  readonly rounds: number
  /** A folder for each side's .cpuprofile (`node --cpu-prof`), when given. */
  readonly profileDir?: string | undefined
}

export interface Round {
  readonly rapport: SideReport
  readonly limit: SideReport
}

export interface Result {
  readonly rows: number
  readonly bytes: number
  readonly rounds: ReadonlyArray<Round>
  /** Medians over rounds. */
  readonly rapportPerSecond: number
  readonly limitPerSecond: number
  /** Median of Rapport's time over the limit's, per round. */
  readonly ratio: number
  /** The highest over rounds, in kilobytes. */
  readonly rapportMaxRssKb: number
  readonly limitMaxRssKb: number
}

export const COMPANIES = 1_000
export const HEADER = ["Email", "First name", "Last name", "Phone", "Company", "Tags"] as const
export const TAGS = ["client", "prospect", "newsletter", "vip", "salon-2025", "partenaire"] as const
/** Targets of the output. */
export const TARGET_RATIO = 2
export const TARGET_RSS_MB = 300

// --- the file

const FIRST_NAMES = [
  "Camille", "Léa", "Manon", "Chloé", "Inès", "Zoé", "Anaïs", "Maëlle", "Hélène", "Céline", "Élodie", "Sophie", "Julie", "Claire", "Émilie",
  "Nathalie", "Isabelle", "Amélie", "Margaux", "Agnès", "Lucas", "Hugo", "Louis", "Gabriel", "Raphaël", "Noé", "Jérôme", "François",
  "Stéphane", "Sébastien", "Thomas", "Nicolas", "Julien", "Antoine", "Mathieu", "Benoît", "Loïc", "Yannick", "Gaël", "Théo"
]
const LAST_NAMES = [
  "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre",
  "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont",
  "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel",
  "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin"
]
const TRADES = [
  "Boulangerie", "Garage", "Cabinet", "Atelier", "Pharmacie", "Transports", "Menuiserie", "Agence", "Librairie", "Fromagerie",
  "Imprimerie", "Plomberie", "Jardins", "Optique", "Brasserie", "Électricité", "Domaine", "Conseil", "Studio", "Maison"
]
const FORMS = ["SARL", "SAS", "& Fils", "", "et Associés"]
const MAIL_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "wanadoo.fr", "laposte.net", "hotmail.fr", "yahoo.fr", "sfr.fr", "outlook.fr", "icloud.com"]
// Two digits after the leading 0: mobiles (06, 07) mostly, some landlines; all valid French numbers.
const PREFIXES = ["60", "61", "62", "63", "64", "65", "66", "67", "68", "69", "73", "74", "75", "76", "77", "78", "79", "14", "23", "38", "45", "53", "55"]

/** Company `k` of the file: 20 trades by 50 names, 1,000 distinct. */
const companyName = (k: number) => `${TRADES[k % TRADES.length]} ${LAST_NAMES[Math.floor(k / TRADES.length) % LAST_NAMES.length]}${FORMS[k % FORMS.length] === "" ? "" : ` ${FORMS[k % FORMS.length]}`}`
const slug = (s: string) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")
const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)

/** The file's distinct phone numbers: row i's last 7 digits are a permutation of i (up to 10,000,000 rows). */
const MAX_ROWS = 10_000_000

/**
 * Writes the CSV, a chunk at a time, waiting whenever the file stream is full: the generator holds
 * one chunk, whatever the row count. The same rows on every run (seeded).
 */
export const writeCsv = async (path: string, rows: number): Promise<number> => {
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > MAX_ROWS) throw new Error(`the import section needs 1 to ${MAX_ROWS.toLocaleString("en-US")} rows, got ${rows}`)
  const next = random(20250601)
  const pick = <A>(values: ReadonlyArray<A>) => values[Math.floor(next() * values.length)]!
  const out = createWriteStream(path)
  let chunk = `${HEADER.join(",")}\n`
  for (let i = 0; i < rows; i++) {
    const first = pick(FIRST_NAMES)
    const last = pick(LAST_NAMES)
    const k = Math.floor(next() * COMPANIES)
    const employed = next() < 0.85
    const company = employed ? companyName(k) : ""
    const domain = employed && next() < 0.4 ? `${slug(companyName(k))}.fr` : pick(MAIL_DOMAINS)
    const email = `${slug(first)}.${slug(last)}${i}@${domain}`
    const digits = String((i * 3_141_593 + 1_234_567) % MAX_ROWS).padStart(7, "0")
    const national = `0${pick(PREFIXES)}${digits}`
    const style = next()
    const phone =
      style < 0.8
        ? national.replace(/(\d\d)(?=\d)/g, "$1 ")
        : style < 0.9
          ? national
          : style < 0.95
            ? national.replace(/(\d\d)(?=\d)/g, "$1.")
            : `+33 ${national.slice(1, 2)} ${national.slice(2).replace(/(\d\d)(?=\d)/g, "$1 ")}`
    const roll = next()
    const tags = roll < 0.3 ? "" : roll < 0.8 ? pick(TAGS) : [...new Set([pick(TAGS), pick(TAGS)])].join(", ")
    chunk += `${field(email)},${field(first)},${field(last)},${field(phone)},${field(company)},${field(tags)}\n`
    if (chunk.length >= 64 * 1024) {
      if (!out.write(chunk)) await once(out, "drain")
      chunk = ""
    }
  }
  out.end(chunk)
  await finished(out)
  return statSync(path).size
}

// --- the two sides, each in its own process

// Each side runs under plain node: tsx's loader (a thread of its own) would add about 75 MB to
// either side's peak RSS, none of it the import's. The side script is transpiled once, into
// bench/node_modules/.cache so that its imports resolve as they do from bench/src.
const sideScript = (() => {
  let path: string | undefined
  return () => {
    if (path !== undefined) return path
    const source = fileURLToPath(new URL("./import-side.ts", import.meta.url))
    const js = ts.transpileModule(readFileSync(source, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source
    }).outputText
    const folder = fileURLToPath(new URL("../node_modules/.cache/rapport-bench/", import.meta.url))
    mkdirSync(folder, { recursive: true })
    path = join(folder, "import-side.mjs")
    writeFileSync(path, js)
    return path
  }
})()

/** Runs one side in a child process of plain node, and waits for its report. */
const runSide = (side: SideName, csv: string, database: string, profileDir: string | undefined) =>
  new Promise<SideReport>((resolve, reject) => {
    const profile = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${side}-${Date.now()}.cpuprofile`]
    const child = fork(sideScript(), [side, csv, database], { execArgv: profile, stdio: "inherit" })
    let report: SideReport | undefined
    child.on("message", (message) => {
      report = message as SideReport
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      if (code === 0 && report !== undefined) resolve(report)
      else reject(new Error(`the ${side} side's process ended with ${signal ?? `code ${code}`}${report === undefined ? " before reporting" : ""}`))
    })
  })

/** What a database holds, per contact and without ids or instants, as one digest (both sides must agree). */
const digest = (database: string) => {
  const db = new Database(database, { readonly: true })
  try {
    const hash = createHash("sha256")
    let contacts = 0
    const rows = db
      .prepare<[], Record<string, unknown>>(
        `SELECT c.email, c.email_key, c.first_name, c.last_name, c.phone, co.name AS company, c.tags, c.stage, c.score, c.version
         FROM rapport_contacts c LEFT JOIN rapport_companies co ON co.workspace_id = c.workspace_id AND co.id = c.company_id
         ORDER BY c.email_key`
      )
      .raw()
      .iterate() as IterableIterator<Array<unknown>>
    for (const row of rows) {
      hash.update(JSON.stringify(row))
      hash.update("\n")
      contacts++
    }
    const countOf = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n)
    return {
      contacts,
      companies: countOf("SELECT COUNT(*) AS n FROM rapport_companies"),
      // Emails and phones kept as identities, each the same as its contact's primary one.
      identities: countOf(
        `SELECT COUNT(*) AS n FROM rapport_contact_identities i JOIN rapport_contacts c ON c.workspace_id = i.workspace_id AND c.id = i.contact_id
         WHERE (i.kind = 'email' AND i.value = c.email) OR (i.kind = 'phone' AND i.value = c.phone)`
      ),
      // Contacts with exactly their contact.created event and its timeline entry.
      recorded: countOf(
        `SELECT COUNT(*) AS n FROM rapport_contacts c
         WHERE (SELECT COUNT(*) FROM rapport_events e WHERE e.workspace_id = c.workspace_id AND e.contact_id = c.id AND e.type = 'contact.created') = 1
           AND (SELECT COUNT(*) FROM rapport_timeline t WHERE t.workspace_id = c.workspace_id AND t.contact_id = c.id AND t.event_id = 'contact.created:' || c.id) = 1`
      ),
      digest: hash.digest("hex")
    }
  } finally {
    db.close()
  }
}

const removeDatabase = (filename: string) => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
}

const count = (n: number) => n.toLocaleString("en-US")
const format = (n: number) => Math.round(n).toLocaleString("en-US")
const mb = (kb: number) => `${format(kb / 1024)} MB`

/** Writes the file, runs the rounds, reports lines as they come. */
export const run = async (options: Options, report: (line: string) => void): Promise<Result> => {
  const started = process.hrtime.bigint()
  const folder = mkdtempSync(join(tmpdir(), "rapport-bench-import-"))
  try {
    const csv = join(folder, "contacts.csv")
    const writeStart = process.hrtime.bigint()
    const bytes = await writeCsv(csv, options.rows)
    report(`  file         ${count(options.rows)} rows, ${(bytes / 1024 / 1024).toFixed(1)} MB, written in ${(Number(process.hrtime.bigint() - writeStart) / 1e9).toFixed(1)} s (${csv})`)

    const rounds: Array<Round> = []
    for (let i = 0; i < options.rounds; i++) {
      const databases = { rapport: join(folder, `rapport-${randomUUID().slice(0, 8)}.db`), limit: join(folder, `limit-${randomUUID().slice(0, 8)}.db`) }
      try {
        const order: ReadonlyArray<SideName> = i % 2 === 1 ? ["limit", "rapport"] : ["rapport", "limit"]
        const reports: Partial<Record<SideName, SideReport>> = {}
        for (const side of order) reports[side] = await runSide(side, csv, databases[side], options.profileDir)
        const [rapport, limit] = [reports.rapport!, reports.limit!]
        if (rapport.created !== options.rows || limit.created !== options.rows) {
          throw new Error(`round ${i + 1}: ${options.rows} rows, but Rapport created ${rapport.created} contacts and the limit ${limit.created}`)
        }
        const [mine, theirs] = [digest(databases.rapport), digest(databases.limit)]
        if (mine.contacts !== theirs.contacts || mine.companies !== theirs.companies || mine.identities !== theirs.identities || mine.digest !== theirs.digest) {
          throw new Error(`round ${i + 1}: the two sides stored different contacts: Rapport ${JSON.stringify(mine)}, limit ${JSON.stringify(theirs)}`)
        }
        rounds.push({ rapport, limit })
      } finally {
        removeDatabase(databases.rapport)
        removeDatabase(databases.limit)
      }
    }

    const ratioOf = (r: Round) => r.rapport.seconds / r.limit.seconds
    const result: Result = {
      rows: options.rows,
      bytes,
      rounds,
      rapportPerSecond: options.rows / median(rounds.map((r) => r.rapport.seconds)),
      limitPerSecond: options.rows / median(rounds.map((r) => r.limit.seconds)),
      ratio: median(rounds.map(ratioOf)),
      rapportMaxRssKb: Math.max(...rounds.map((r) => r.rapport.maxRssKb)),
      limitMaxRssKb: Math.max(...rounds.map((r) => r.limit.maxRssKb))
    }
    const rapportSeconds = median(rounds.map((r) => r.rapport.seconds))
    const limitSeconds = median(rounds.map((r) => r.limit.seconds))
    const ratioMet = result.ratio <= TARGET_RATIO
    const rssMet = result.rapportMaxRssKb / 1024 < TARGET_RSS_MB
    report(
      `  Rapport      ${format(result.rapportPerSecond).padStart(8)} rows/s   (importFile, country FR: ${rapportSeconds.toFixed(1)} s; ` +
        `each contact also gets its contact.created event and timeline entry; ${count(COMPANIES)} companies created)`
    )
    report(`  limit        ${format(result.limitPerSecond).padStart(8)} rows/s   (csv-parse + better-sqlite3, the same rows, transactions of 500 rows: ${limitSeconds.toFixed(1)} s)`)
    report(
      `  ratio        ${result.ratio.toFixed(2)}x the limit's time   (target: within ${TARGET_RATIO}x — ${ratioMet ? "met" : "NOT met"}` +
        `${rounds.length > 1 ? `; rounds: ${rounds.map((r) => ratioOf(r).toFixed(2)).join(", ")}` : ""})`
    )
    report(
      `  peak RSS     Rapport ${mb(result.rapportMaxRssKb)}, limit ${mb(result.limitMaxRssKb)}   ` +
        `(each side in its own process; target: Rapport under ${TARGET_RSS_MB} MB — ${rssMet ? "met" : "NOT met"})`
    )
    report(`  wall time    ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s   (the file, ${rounds.length * 2} processes, the checks)`)
    return result
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
