// The weighted pipeline over many deals, on SQLite and on PostgreSQL: deals.weightedPipeline
// through the Promise client against the limit: the best SQL and index a database expert would
// write by hand for the same question, run on the raw driver (better-sqlite3, postgres.js),
// grouped by pipeline and by expected-close month, on the same data, in one run.
//
// The limit: one statement that weighs in SQL (CASE on the status) and groups by the dimension and
// the currency only, over a covering index in group order made for it (on PostgreSQL a B-tree on
// the group columns INCLUDE-ing what the sums read; on SQLite all of them as keys, the month as an
// index on the same `substr` expression), so the database reads one index in order, with no table
// lookup and no sort. Rapport's own statement (internal/sales.ts `sums`, grouped by status as well,
// weights applied in JavaScript) runs on the indexes its migrations make (0020). Each side's query
// plan is printed, so which index each one used is on the record.
//
// Each database is created fresh; Rapport's migrations make the schema and three pipelines are
// created through Rapport, then the deals are bulk-inserted with the raw driver (creating them one
// by one through Rapport would take far too long, and is not what is measured); then the limit's
// indexes are created. Loading is timed but not compared. Per measurement: one untimed warm-up per
// side, which checks that both answers agree (the bench stops if they do not), then rounds
// alternating which side goes first; figures are medians, with the range over rounds. The raw side
// does what a hand-written application would: the query, then the sums read as BigInt.
import { createCrm, type CrmClient } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import postgres from "postgres"
import { randomUUID } from "node:crypto"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freshDatabase } from "./postgres.js"
import { median, random } from "./stats.js"

export type Dialect = "SQLite" | "PostgreSQL"
export type Grouping = "pipeline" | "month"

export interface Measurement {
  readonly dialect: Dialect
  readonly grouping: Grouping
  readonly rapportMs: ReadonlyArray<number>
  readonly rawMs: ReadonlyArray<number>
  /** Medians over rounds. */
  readonly rapportMedianMs: number
  readonly rawMedianMs: number
  /** Rapport's median over raw's median. */
  readonly ratio: number
  /** Groups, and totals per currency, the same on both sides (checked: the bench stops otherwise). */
  readonly equal: boolean
  readonly groups: number
  /** Each side's query plan, as the database explains it. */
  readonly plans: { readonly rapport: string; readonly raw: string }
}

export interface Load {
  readonly dialect: Dialect
  readonly seconds: number
}

const WORKSPACE = "bench"
const COLD_PROBABILITY = 0 // the workspace default
const OWNERS = Array.from({ length: 20 }, (_, i) => `owner-${String(i + 1).padStart(2, "0")}`)
const STAGES = [
  { key: "prospecting", probability: 10, status: "open" },
  { key: "firstContact", probability: 20, status: "open" },
  { key: "demo", probability: 40, status: "open" },
  { key: "proposalReview", probability: 60, status: "open" },
  { key: "won", probability: 100, status: "won" },
  { key: "lost", probability: 0, status: "lost" }
] as const

// --- the limit: the statement and indexes an expert writes for each grouping

const dimensions: Record<Grouping, { readonly select: string; readonly groupBy: string }> = {
  pipeline: { select: "pipeline_id AS pipeline_id, NULL AS month", groupBy: "pipeline_id, currency" },
  month: { select: "NULL AS pipeline_id, substr(expected_close_date, 1, 7) AS month", groupBy: "substr(expected_close_date, 1, 7), currency" }
}

/** `$1` is the cold probability, `$2` the workspace (`?` on SQLite, in the same order). */
const statement = (grouping: Grouping, placeholder: (n: number) => string) =>
  `SELECT ${dimensions[grouping].select}, currency, COUNT(*) AS n, ` +
  `CAST(SUM(amount_minor) AS TEXT) AS amount, ` +
  `CAST(SUM(amount_minor * CASE status WHEN 'open' THEN COALESCE(override_probability, stage_probability) WHEN 'won' THEN 100 ` +
  `WHEN 'cold' THEN CAST(${placeholder(1)} AS INTEGER) ELSE 0 END) AS TEXT) AS weighted ` +
  `FROM rapport_deals WHERE workspace_id = ${placeholder(2)} GROUP BY ${dimensions[grouping].groupBy}`

const groupColumn: Record<Grouping, string> = { pipeline: "pipeline_id", month: "(substr(expected_close_date, 1, 7))" }

/** The limit's covering indexes, created after loading (not Rapport's: those come from its migrations). */
const limitIndexes = (dialect: Dialect) =>
  GROUPINGS.map((grouping) =>
    dialect === "SQLite"
      ? `CREATE INDEX bench_limit_by_${grouping} ON rapport_deals (workspace_id, ${groupColumn[grouping]}, currency, status, amount_minor, override_probability, stage_probability)`
      : `CREATE INDEX bench_limit_by_${grouping} ON rapport_deals (workspace_id, ${groupColumn[grouping]}, currency) INCLUDE (status, amount_minor, override_probability, stage_probability)`
  )

/** An index definition's column list, whitespace left out, to compare two definitions. */
const columnsOf = (ddl: string) => ddl.slice(ddl.indexOf("ON rapport_deals") + "ON rapport_deals".length).replace(/\s+/g, "")

/** A copy of the statement Rapport runs (internal/sales.ts `sums`), only to print its query plan. */
const rapportStatement = (grouping: Grouping, placeholder: (n: number) => string) => {
  const expr = grouping === "pipeline" ? "pipeline_id" : "substr(expected_close_date, 1, 7)"
  return (
    `SELECT ${grouping === "pipeline" ? expr : "NULL"} AS pipeline_id, NULL AS stage, NULL AS owner_id, ${grouping === "month" ? expr : "NULL"} AS month, ` +
    `currency, status, COUNT(*) AS n, CAST(SUM(amount_minor) AS TEXT) AS amount, ` +
    `CAST(SUM(amount_minor * COALESCE(override_probability, stage_probability)) AS TEXT) AS probability_weighted ` +
    `FROM rapport_deals WHERE workspace_id = ${placeholder(1)} GROUP BY ${expr}, currency, status`
  )
}

interface SumRowText {
  readonly pipeline_id: string | null
  readonly month: string | null
  readonly currency: string
  readonly n: number | string
  readonly amount: string
  readonly weighted: string
}

/** What the raw side hands back: the rows, sums as BigInt. */
interface Sum {
  readonly pipelineId: string | null
  readonly month: string | null
  readonly currency: string
  readonly count: number
  readonly amount: bigint
  readonly weighted: bigint
}

const toSums = (rows: ReadonlyArray<SumRowText>): Array<Sum> =>
  rows.map((r) => ({
    pipelineId: r.pipeline_id,
    month: r.month,
    currency: r.currency,
    count: Number(r.n),
    amount: BigInt(r.amount),
    weighted: BigInt(r.weighted)
  }))

// --- the deals

interface DealRow {
  workspace_id: string
  id: string
  pipeline_id: string
  stage: string
  title: string
  amount_minor: number
  currency: string
  contact_id: null
  company_id: string
  status: string
  stage_probability: number
  override_probability: number | null
  override_reason: string | null
  expected_close_date: string | null
  owner_id: string
  quote_ref: null
  close_reason: null
  fields: string
  last_activity_at: string
  closed_at: null
  version: number
  created_at: string
  updated_at: string
}

const COLUMNS = [
  "workspace_id", "id", "pipeline_id", "stage", "title", "amount_minor", "currency", "contact_id", "company_id", "status",
  "stage_probability", "override_probability", "override_reason", "expected_close_date", "owner_id", "quote_ref", "close_reason",
  "fields", "last_activity_at", "closed_at", "version", "created_at", "updated_at"
] as const satisfies ReadonlyArray<keyof DealRow>

const two = (n: number) => String(n).padStart(2, "0")

/** A UUID version 7 (as Rapport's ids are): the instant's milliseconds, then random bits. */
const uuidV7 = (epochMillis: number) => {
  const time = epochMillis.toString(16).padStart(12, "0")
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`
}

const FIRST_DEAL = Date.parse("2025-01-01T00:00:00.000Z")
const DEAL_EVERY = 30_000 // ms between two deals' creation: a million deals span about a year

const dealRows = function* (count: number, pipelineIds: ReadonlyArray<string>, batch: number): Generator<Array<DealRow>> {
  const next = random(42) // both databases hold deals drawn alike
  const pick = <A>(values: ReadonlyArray<A>) => values[Math.floor(next() * values.length)]!
  const companies = Array.from({ length: 20_000 }, (_, i) => uuidV7(FIRST_DEAL - (i + 1) * 600_000))
  for (let done = 0; done < count; done += batch) {
    const rows: Array<DealRow> = []
    for (let i = done; i < Math.min(count, done + batch); i++) {
      const stage = pick(STAGES)
      const status = stage.status === "open" && next() < 0.05 ? "cold" : stage.status
      const override = next() < 0.1 ? Math.floor(next() * 101) : null
      const month = Math.floor(next() * 24)
      const close = next() < 0.05 ? null : `${2026 + Math.floor(month / 12)}-${two((month % 12) + 1)}-${two(1 + Math.floor(next() * 28))}`
      const created = FIRST_DEAL + i * DEAL_EVERY
      const createdAt = new Date(created).toISOString()
      const activityAt = new Date(created + Math.floor(next() * 60) * 86_400_000).toISOString()
      rows.push({
        workspace_id: WORKSPACE,
        id: uuidV7(created),
        pipeline_id: pick(pipelineIds),
        stage: stage.key,
        title: `Deal ${i}`,
        amount_minor: Math.floor(next() * 10_000_001),
        currency: next() < 0.1 ? "USD" : "EUR",
        contact_id: null,
        company_id: pick(companies),
        status,
        stage_probability: stage.probability,
        override_probability: override,
        override_reason: override === null ? null : "bench",
        expected_close_date: close,
        owner_id: pick(OWNERS),
        quote_ref: null,
        close_reason: null,
        fields: "{}",
        last_activity_at: activityAt,
        closed_at: null,
        version: 1,
        created_at: createdAt,
        updated_at: activityAt
      })
    }
    yield rows
  }
}

/** The three pipelines, created through Rapport (which also records the workspace). */
const pipelines = async (crm: CrmClient) => {
  const ids: Array<string> = []
  for (const name of ["New business", "Renewals", "Partners"]) ids.push((await crm.pipelines.create({ name })).id)
  return ids
}

// --- the comparison

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

/** Σ weighted / 100, half up: how Rapport rounds a weighted total to a minor unit. */
const rounded = (weighted: bigint) => weighted / 100n + (weighted % 100n >= 50n ? 1n : 0n)

type Answer = Awaited<ReturnType<CrmClient["deals"]["weightedPipeline"]>>

/** Whether Rapport's groups and totals are what the raw rows add up to. */
const same = (grouping: Grouping, answer: Answer, rows: ReadonlyArray<Sum>) => {
  const keyOf = (pipelineId: string | null | undefined, month: string | null | undefined) =>
    grouping === "pipeline" ? `p:${pipelineId}` : `m:${month ?? "null"}`
  const expected = new Map<string, { count: number; amount: bigint; weighted: bigint }>()
  const add = (key: string, r: Sum) => {
    const sum = expected.get(key) ?? { count: 0, amount: 0n, weighted: 0n }
    expected.set(key, { count: sum.count + r.count, amount: sum.amount + r.amount, weighted: sum.weighted + r.weighted })
  }
  for (const r of rows) {
    add(`${keyOf(r.pipelineId, r.month)}|${r.currency}`, r)
    add(`total|${r.currency}`, r)
  }
  const actual = [
    ...answer.groups.flatMap((g) => g.totals.map((t) => ({ key: `${keyOf(g.key.pipelineId, g.key.month)}|${t.currency}`, t }))),
    ...answer.totals.map((t) => ({ key: `total|${t.currency}`, t }))
  ]
  return (
    actual.length === expected.size &&
    actual.every(({ key, t }) => {
      const e = expected.get(key)
      return (
        e !== undefined &&
        t.count === e.count &&
        BigInt(t.amount.amountMinor) === e.amount &&
        BigInt(t.weighted.amountMinor) === rounded(e.weighted)
      )
    })
  )
}

const measure = async (
  dialect: Dialect,
  grouping: Grouping,
  deals: number,
  rounds: number,
  rapport: () => Promise<Answer>,
  raw: () => Promise<Array<Sum>>,
  plans: Measurement["plans"]
): Promise<Measurement> => {
  // The warm-up, which also checks the answers: a limit that answers something else is no limit.
  const answer = await rapport()
  const equal = same(grouping, answer, await raw())
  if (!equal) throw new Error(`${dialect}, by ${grouping}: Rapport's groups or totals differ from the hand-written statement's`)
  const counted = answer.totals.reduce((n, t) => n + t.count, 0)
  if (counted !== deals) throw new Error(`${dialect}: ${counted} deals counted, ${deals} loaded`)
  const rapportMs: Array<number> = []
  const rawMs: Array<number> = []
  const time = async (side: "rapport" | "raw") => {
    const start = process.hrtime.bigint()
    if (side === "rapport") await rapport()
    else await raw()
    ;(side === "rapport" ? rapportMs : rawMs).push(ms(start))
  }
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? (["rapport", "raw"] as const) : (["raw", "rapport"] as const)
    for (const side of order) await time(side)
  }
  const [rapportMedianMs, rawMedianMs] = [median(rapportMs), median(rawMs)]
  return { dialect, grouping, rapportMs, rawMs, rapportMedianMs, rawMedianMs, ratio: rapportMedianMs / rawMedianMs, equal, groups: answer.groups.length, plans }
}

const GROUPINGS: ReadonlyArray<Grouping> = ["pipeline", "month"]

const onSqlite = async (deals: number, rounds: number, report: (line: string) => void) => {
  const filename = join(tmpdir(), `rapport-bench-${randomUUID().slice(0, 8)}.db`)
  const crm = await createCrm({ storage: sqliteStorage({ filename }), workspace: WORKSPACE })
  let db: Database.Database | undefined
  try {
    const ids = await pipelines(crm)
    // Loading goes through its own connection, with a large page cache; the raw side is measured
    // on a connection opened as Rapport opens its own (WAL, default cache).
    const start = process.hrtime.bigint()
    const loader = new Database(filename)
    try {
      loader.pragma("journal_mode = WAL")
      loader.pragma("synchronous = NORMAL")
      loader.pragma("cache_size = -1048576")
      const insert = loader.prepare(`INSERT INTO rapport_deals (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`)
      const insertAll = loader.transaction((rows: ReadonlyArray<DealRow>) => {
        for (const row of rows) insert.run(row)
      })
      for (const rows of dealRows(deals, ids, 50_000)) insertAll(rows)
      // An index with the very same columns is not made twice: SQLite would then pick either one for
      // either side. When Rapport's migrations already made the limit's index, both sides read it.
      const existing = loader.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rapport_deals' AND sql IS NOT NULL").all()
      for (const ddl of limitIndexes("SQLite")) {
        const same = existing.find((index) => columnsOf(index.sql) === columnsOf(ddl))
        if (same === undefined) loader.exec(ddl)
        else report(`  the limit's index ${ddl.split(" ")[2]} has the columns of Rapport's own ${same.name}: not made twice, both sides read it`)
      }
      loader.pragma("wal_checkpoint(TRUNCATE)")
    } finally {
      loader.close()
    }
    const load: Load = { dialect: "SQLite", seconds: ms(start) / 1000 }
    report(`  load         ${load.seconds.toFixed(1)} s   (better-sqlite3, one prepared INSERT, 50,000 rows per transaction, then the limit's indexes; not compared)`)
    db = new Database(filename)
    db.pragma("journal_mode = WAL")
    const measurements: Array<Measurement> = []
    for (const grouping of GROUPINGS) {
      const query = db.prepare<[number, string], SumRowText>(statement(grouping, () => "?"))
      const plan = (text: string, ...params: Array<string | number>) =>
        db!.prepare<Array<string | number>, { detail: string }>(`EXPLAIN QUERY PLAN ${text}`).all(...params).map((r) => r.detail).join("; ")
      const plans = { rapport: plan(rapportStatement(grouping, () => "?"), WORKSPACE), raw: plan(statement(grouping, () => "?"), COLD_PROBABILITY, WORKSPACE) }
      measurements.push(
        await measure("SQLite", grouping, deals, rounds, () => crm.deals.weightedPipeline({ groupBy: grouping }), async () =>
          toSums(query.all(COLD_PROBABILITY, WORKSPACE)), plans
        )
      )
    }
    return { load, measurements }
  } finally {
    db?.close()
    await crm.close()
    for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
  }
}

const onPostgres = async (adminUrl: string, deals: number, rounds: number, report: (line: string) => void) => {
  const database = await freshDatabase(adminUrl)
  try {
    const crm = await createCrm({ storage: postgresStorage({ url: database.url }), workspace: WORKSPACE })
    const sql = postgres(database.url, { max: 2, onnotice: () => undefined })
    try {
      const ids = await pipelines(crm)
      const start = process.hrtime.bigint()
      // 23 columns: 2,500 rows per INSERT stays under PostgreSQL's 65,535 parameters per statement.
      // Two batches in flight at a time, each its own transaction.
      const inFlight = new Set<Promise<unknown>>()
      for (const rows of dealRows(deals, ids, 2_500)) {
        const done: Promise<unknown> = sql`INSERT INTO rapport_deals ${sql(rows, ...COLUMNS)}`.then(() => inFlight.delete(done))
        inFlight.add(done)
        if (inFlight.size >= 2) await Promise.race(inFlight)
      }
      await Promise.all(inFlight)
      const inserted = ms(start) / 1000
      for (const ddl of limitIndexes("PostgreSQL")) await sql.unsafe(ddl)
      // What autovacuum would do soon after such a load, done now so it does not run mid-measurement.
      await sql`VACUUM ANALYZE rapport_deals`
      const load: Load = { dialect: "PostgreSQL", seconds: ms(start) / 1000 }
      report(
        `  load         ${load.seconds.toFixed(1)} s   (postgres.js, 2,500-row INSERTs, 2 in flight: ${inserted.toFixed(1)} s; ` +
          `then the limit's indexes and VACUUM ANALYZE: ${(load.seconds - inserted).toFixed(1)} s; not compared)`
      )
      const measurements: Array<Measurement> = []
      for (const grouping of GROUPINGS) {
        const text = statement(grouping, (n) => `$${n}`)
        const plan = async (query: string, params: Array<string | number>) =>
          (await sql.unsafe<Array<{ "QUERY PLAN": string }>>(`EXPLAIN ${query}`, params)).map((r) => r["QUERY PLAN"].trim()).join("; ")
        const plans = { rapport: await plan(rapportStatement(grouping, (n) => `$${n}`), [WORKSPACE]), raw: await plan(text, [COLD_PROBABILITY, WORKSPACE]) }
        measurements.push(
          await measure("PostgreSQL", grouping, deals, rounds, () => crm.deals.weightedPipeline({ groupBy: grouping }), async () =>
            toSums(await sql.unsafe<Array<SumRowText>>(text, [COLD_PROBABILITY, WORKSPACE], { prepare: true })), plans
          )
        )
      }
      return { load, measurements }
    } finally {
      await sql.end()
      await crm.close()
    }
  } finally {
    await database.drop()
  }
}

const range = (values: ReadonlyArray<number>) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`

export const line = (m: Measurement) =>
  `  ${`by ${m.grouping}`.padEnd(12)} Rapport ${m.rapportMedianMs.toFixed(1).padStart(8)} ms (${range(m.rapportMs)})   ` +
  `limit ${m.rawMedianMs.toFixed(1).padStart(8)} ms (${range(m.rawMs)})   ratio ${m.ratio.toFixed(2)}x   equal: ${m.equal ? "yes" : "no"}   ` +
  `(${m.groups} groups; rounds ${m.rapportMs.map((r, i) => (r / m.rawMs[i]!).toFixed(2)).join(", ")})\n` +
  `               plan, Rapport: ${m.plans.rapport}\n               plan, limit:   ${m.plans.raw}`

/** SQLite, then PostgreSQL; each section's lines are reported as they come. */
export const run = async (adminUrl: string, deals: number, rounds: number, report: (line: string) => void) => {
  report("SQLite (better-sqlite3)")
  const sqlite = await onSqlite(deals, rounds, report)
  sqlite.measurements.forEach((m) => report(line(m)))
  report("PostgreSQL (raw side: postgres.js; Rapport: @effect/sql-pg, i.e. node-postgres)")
  const pg = await onPostgres(adminUrl, deals, rounds, report)
  pg.measurements.forEach((m) => report(line(m)))
  return { loads: [sqlite.load, pg.load], measurements: [...sqlite.measurements, ...pg.measurements] }
}
