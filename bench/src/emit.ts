// End-to-end emit throughput, on SQLite and on PostgreSQL: events emitted one at a time through
// the Promise client (crm.events.emit, as a web shop's webhook handler does), each storing in one
// transaction the event, its timeline entry, the order and its lines (order.placed), the
// lifecycle move it causes, and the firings and jobs of the rules it matches (the outbox) —
// against the same rows written with the raw driver (better-sqlite3, postgres.js), one
// transaction per event.
//
// The workload is seeded: 2,000 contacts (created beforehand with contacts.createMany), 15 rules
// (an order confirmation on order.placed, a cart reminder at D+1 on cart.abandoned with an
// `unless` count, a score rule on page.viewed whose `when` reads a payload value and a contact
// field, and twelve rules on event types the stream never has), and a stream of page views,
// abandoned carts and orders over 60 days of 2025.
//
// The raw side's rows are Rapport's own: the workload runs once through Rapport, untimed, on a
// scratch database (it is also Rapport's warm-up); every row it wrote is read back per event and
// replayed in the timed runs (the stage moves as UPDATEs of the contact), in another workspace of
// a database Rapport migrated, so tables and indexes are the same. Each round uses fresh
// databases, alternates which side goes first, and checks that both sides wrote the same rows per
// table. Figures are medians. The dispatcher line times crm.dispatcher.runDue draining the jobs
// the round's emits queued (their checks are due: the events happened in the past), with a Mailer
// that does nothing.
//
// The batch lines run a larger stream of the same mix through crm.events.emitMany, BATCH events per
// call (each call one transaction, as a queue consumer or an import does), against the raw driver
// writing the same rows with one transaction per batch: better-sqlite3's prepared statements row
// by row (its fastest way), postgres.js with one multi-row INSERT per table and one UPDATE of the
// contacts that moved (their final stage and version). The rows replayed are those the batches
// wrote in the scratch run; each round also checks that the batches wrote the same rows as the
// raw side, and the first small workload is also sent in batches once to check that emitMany
// writes what the one-by-one emits wrote.
import { createCrm, type ContactCreate, type CrmClient, type EmitInput, type EmitResultJson, Mailer, type MailerProvider, type StorageProvider } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import postgres from "postgres"
import { randomUUID } from "node:crypto"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freshDatabase } from "./postgres.js"
import { median, random } from "./stats.js"

export type Dialect = "SQLite" | "PostgreSQL"

export interface Options {
  readonly pgUrl: string
  /** Events per run on each database; defaults per database when not given. */
  readonly emits?: number | undefined
  /** Events per run of the emitMany lines on each database; defaults per database when not given. */
  readonly batchEmits?: number | undefined
  readonly rounds: number
}

export interface Round {
  readonly rapportSeconds: number
  readonly rawSeconds: number
  readonly dispatchSeconds: number
}

export interface Measurement {
  readonly dialect: Dialect
  readonly events: number
  readonly rounds: ReadonlyArray<Round>
  /** Medians over rounds. */
  readonly rapportPerSecond: number
  readonly rawPerSecond: number
  /** Median of Rapport's time over the raw driver's, per round. */
  readonly ratio: number
  /** What one run writes in the workspace (the same on both sides), by table and kind. */
  readonly rows: Readonly<Record<string, number>>
  /** Rules that acted on events (firings and delayed checks), in one run. */
  readonly triggered: number
  readonly dispatch: {
    /** Jobs one runDue claimed (the emits' jobs, and the actions of the checks that fired). */
    readonly jobs: number
    readonly jobsPerSecond: number
  }
}

/** The emitMany lines: events sent BATCH per call, against the raw driver with one transaction per batch. */
export interface BatchMeasurement {
  readonly dialect: Dialect
  readonly events: number
  readonly batch: number
  readonly rounds: ReadonlyArray<Omit<Round, "dispatchSeconds">>
  readonly rapportPerSecond: number
  readonly rawPerSecond: number
  readonly ratio: number
}

export interface Result {
  readonly measurements: ReadonlyArray<Measurement>
  readonly batches: ReadonlyArray<BatchMeasurement>
}

// Events per run when BENCH_EMITS is not set. One emit takes a few milliseconds on SQLite and
// around ten on PostgreSQL (where each of its statements is a round trip), and every round also
// drains the dispatcher: these keep the section near a minute (10,000 and 5,000 take minutes).
export const DEFAULT_EMITS: Readonly<Record<Dialect, number>> = { SQLite: 1_000, PostgreSQL: 500 }
// Events per run of the emitMany lines when BENCH_BATCH_EMITS is not set: about a second per run
// at the targets (10,000 events/s on SQLite, 5,000 on PostgreSQL).
export const DEFAULT_BATCH_EMITS: Readonly<Record<Dialect, number>> = { SQLite: 10_000, PostgreSQL: 5_000 }
/** Events per emitMany call (its maximum). */
export const BATCH = 1_000
export const CONTACTS = 2_000
export const RULES = 15

const WORKSPACE = "bench"
const RAW_WORKSPACE = "raw"

// --- the workload

type EventType = "page.viewed" | "cart.abandoned" | "order.placed"

interface BenchEvent {
  readonly id: string
  readonly type: EventType
  /** Index of the contact in the workload's contacts. */
  readonly contact: number
  readonly occurredAt: string
  readonly payload: NonNullable<EmitInput["payload"]>
}

interface Workload {
  readonly contacts: ReadonlyArray<ContactCreate>
  readonly events: ReadonlyArray<BenchEvent>
}

const FIRST_EVENT = Date.parse("2025-03-01T08:00:00.000Z")
const SPAN = 60 * 86_400_000
const LOYALTY = ["none", "none", "silver", "gold"] as const
const PAGES = ["/", "/sale", "/sale/shoes", "/sale/bags", "/products/p-101", "/products/p-202", "/products/p-303", "/blog/care-guide", "/account", "/checkout"]
const PRODUCTS = Array.from({ length: 40 }, (_, k) => ({ sku: `SKU-${1000 + k}`, name: `Product ${k + 1}`, price: 500 + ((k * 7_919) % 19_500) }))
const OTHER_TYPES = [
  "quote.sent", "email.opened", "email.clicked", "form.submitted", "referral.made", "review.posted",
  "ticket.opened", "newsletter.subscribed", "webinar.attended", "trial.started", "invoice.paid", "subscription.cancelled"
]

export const makeWorkload = (eventCount: number): Workload => {
  const next = random(20250301)
  const pick = <A>(values: ReadonlyArray<A>) => values[Math.floor(next() * values.length)]!
  const lines = (max: number) =>
    Array.from({ length: 1 + Math.floor(next() * max) }, () => {
      const product = pick(PRODUCTS)
      return { sku: product.sku, name: product.name, quantity: 1 + Math.floor(next() * 3), unitPrice: { amountMinor: product.price, currency: "EUR" } }
    })
  const contacts: Array<ContactCreate> = Array.from({ length: CONTACTS }, (_, i) => ({
    email: `shopper${i}@bench.example`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    source: { channel: "shop", campaign: "bench" },
    fields: { loyalty: pick(LOYALTY) }
  }))
  const events: Array<BenchEvent> = []
  for (let i = 0; i < eventCount; i++) {
    const roll = next()
    const type: EventType = roll < 0.55 ? "page.viewed" : roll < 0.75 ? "cart.abandoned" : "order.placed"
    // Some shoppers come back far more often than others.
    const contact = Math.floor(next() ** 2 * CONTACTS)
    const occurredAt = new Date(FIRST_EVENT + Math.floor((i * SPAN) / eventCount)).toISOString()
    const payload =
      type === "page.viewed"
        ? { url: pick(PAGES) }
        : type === "cart.abandoned"
          ? { cartId: `cart-${i}`, lines: lines(2) }
          : { orderId: `order-${i}`, lines: lines(3) }
    events.push({ id: `evt-${i}`, type, contact, occurredAt, payload })
  }
  return { contacts, events }
}

/** Fields, templates, rules and contacts: what the workspace holds before the events. */
export const setUp = async (crm: CrmClient, workload: Workload) => {
  await crm.fields.define({ key: "loyalty", type: "select", options: ["none", "silver", "gold"] })
  const confirmation = await crm.templates.create({
    name: "Order confirmation",
    purpose: "transactional",
    subject: "Your order",
    text: 'Hello {{ contact.firstName | "there" }}, thank you for your order.'
  })
  const reminder = await crm.templates.create({
    name: "Cart reminder",
    purpose: "transactional",
    subject: "You left something in your cart",
    text: 'Hello {{ contact.firstName | "there" }}, your cart is waiting for you.'
  })
  await crm.rules.create({
    id: "order-confirmation",
    name: "Order confirmation",
    on: "order.placed",
    actions: [{ type: "sendEmail", template: confirmation.id, transactional: true }]
  })
  await crm.rules.create({
    id: "abandoned-cart",
    name: "Cart reminder at D+1",
    on: "cart.abandoned",
    delay: "1 day",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
    limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", template: reminder.id, transactional: true }]
  })
  await crm.rules.create({
    id: "sale-interest",
    name: "Loyal shoppers looking at the sale",
    on: "page.viewed",
    when: {
      all: [
        { path: "event.payload.url", op: "startsWith", value: "/sale" },
        { path: "contact.fields.loyalty", op: "in", value: ["silver", "gold"] }
      ]
    },
    actions: [{ type: "adjustScore", by: 5 }]
  })
  for (const [i, on] of OTHER_TYPES.entries()) {
    await crm.rules.create({
      id: `other-${i + 1}`,
      name: `Rule on ${on}`,
      on,
      when: { path: "contact.fields.loyalty", op: "ne", value: "none" },
      actions: [{ type: "addTag", tag: `other-${i + 1}` }]
    })
  }
  const ids = new Map<string, string>()
  for (let done = 0; done < workload.contacts.length; done += 1_000) {
    for (const contact of await crm.contacts.createMany(workload.contacts.slice(done, done + 1_000))) ids.set(contact.email!, contact.id)
  }
  return workload.contacts.map((c) => ids.get(c.email!)!)
}

// --- the databases, through the raw drivers

type Row = Record<string, unknown>

/** One event's rows, as Rapport wrote them (in the raw workspace). */
interface Replay {
  readonly event: Row
  /** The event's own timeline entry (and any other written before the lifecycle move). */
  readonly entries: ReadonlyArray<Row>
  readonly order: Row | undefined
  readonly lines: ReadonlyArray<Row>
  /**
   * The lifecycle move: the contact's new stage and version, its timeline entry, and the
   * `contact.stage_changed` event that records it.
   */
  readonly move:
    | {
        readonly contactId: string
        readonly stage: string
        readonly version: number
        readonly updatedAt: string
        readonly entries: ReadonlyArray<Row>
        readonly events: ReadonlyArray<Row>
      }
    | undefined
  readonly firings: ReadonlyArray<Row>
  readonly jobs: ReadonlyArray<Row>
}

/** The workspace's rows before any event: contacts, and their contact.created events and entries. */
interface Initial {
  readonly contacts: ReadonlyArray<Row>
  readonly events: ReadonlyArray<Row>
  readonly entries: ReadonlyArray<Row>
}

interface Driver {
  /** Rows of a query whose only parameter, if any, is the workspace, written `:ws`. */
  readonly query: (text: string, workspace?: string) => Promise<ReadonlyArray<Row>>
  readonly tables: () => Promise<ReadonlyArray<string>>
  /** Bulk insert (untimed set-up). */
  readonly load: (table: string, rows: ReadonlyArray<Row>) => Promise<void>
  /**
   * Prepares the replay (untimed); the function it returns writes it, one transaction per event,
   * or with `batch`, one transaction per `batch` events.
   */
  readonly replayer: (items: ReadonlyArray<Replay>, batch?: number) => Promise<() => Promise<void>>
  readonly close: () => Promise<void>
}

interface Store {
  readonly storage: () => StorageProvider
  readonly driver: () => Promise<Driver>
  readonly drop: () => Promise<void>
}

interface Backend {
  readonly dialect: Dialect
  readonly fresh: () => Promise<Store>
}

const sqliteBackend: Backend = {
  dialect: "SQLite",
  fresh: async () => {
    const filename = join(tmpdir(), `rapport-bench-emit-${randomUUID().slice(0, 8)}.db`)
    return {
      // synchronous FULL is Rapport's default: every commit is flushed to disk.
      storage: () => sqliteStorage({ filename }),
      driver: async () => sqliteDriver(filename),
      drop: async () => {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
      }
    }
  }
}

const sqliteDriver = (filename: string): Driver => {
  const db = new Database(filename)
  // As Rapport opens its connection: WAL (the SQLite client's default), synchronous FULL and a
  // busy timeout (@rapport/sqlite's pragmas).
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = FULL")
  db.pragma("busy_timeout = 5000")
  const inserts = new Map<string, Database.Statement>()
  const insert = (table: string, row: Row) => {
    let statement = inserts.get(table)
    if (statement === undefined) {
      const columns = Object.keys(row)
      statement = db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`)
      inserts.set(table, statement)
    }
    statement.run(row)
  }
  return {
    query: async (text, workspace) =>
      workspace === undefined ? db.prepare<[], Row>(text).all() : db.prepare<[Row], Row>(text.replaceAll(":ws", "@ws")).all({ ws: workspace }),
    tables: async () =>
      db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rapport%' ORDER BY name").all().map((r) => r.name),
    load: async (table, rows) => db.transaction(() => rows.forEach((row) => insert(table, row)))(),
    replayer: async (items, batch) => {
      const move = db.prepare("UPDATE rapport_contacts SET stage = ?, version = ?, updated_at = ? WHERE workspace_id = ? AND id = ? AND version = ?")
      const writeOne = (r: Replay) => {
        insert("rapport_events", r.event)
        for (const entry of r.entries) insert("rapport_timeline", entry)
        if (r.order !== undefined) {
          insert("rapport_orders", r.order)
          for (const line of r.lines) insert("rapport_order_lines", line)
        }
        if (r.move !== undefined) {
          const m = r.move
          if (move.run(m.stage, m.version, m.updatedAt, RAW_WORKSPACE, m.contactId, m.version - 1).changes !== 1) throw new Error(`contact ${m.contactId} was not at version ${m.version - 1}`)
          for (const entry of m.entries) insert("rapport_timeline", entry)
          for (const event of m.events) insert("rapport_events", event)
        }
        for (const firing of r.firings) insert("rapport_rule_firings", firing)
        for (const job of r.jobs) insert("rapport_jobs", job)
      }
      // BEGIN IMMEDIATE, as Rapport's transactions take the write lock first.
      const write = db.transaction(writeOne)
      const writeMany = db.transaction((rs: ReadonlyArray<Replay>) => rs.forEach(writeOne))
      return async () => {
        if (batch === undefined) for (const r of items) write.immediate(r)
        else for (const rs of slices(items, batch)) writeMany.immediate(rs)
      }
    },
    close: async () => void db.close()
  }
}

const postgresBackend = (adminUrl: string): Backend => ({
  dialect: "PostgreSQL",
  fresh: async () => {
    const database = await freshDatabase(adminUrl)
    return {
      storage: () => postgresStorage({ url: database.url }),
      driver: async () => postgresDriver(database.url),
      drop: database.drop
    }
  }
})

// The JSONB columns of the tables written here: values read back are parsed, and go back as JSON.
const JSON_COLUMNS = new Set(["payload", "action", "outcome", "tags", "fields"])

const postgresDriver = (url: string): Driver => {
  const sql = postgres(url, { max: 2, onnotice: () => undefined })
  const asParameters = (row: Row): Row =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, JSON_COLUMNS.has(k) && v !== null ? sql.json(v as postgres.JSONValue) : v]))
  return {
    query: async (text, workspace) => [
      ...(await sql.unsafe<Array<Row>>(text.replaceAll(":ws", "$1"), workspace === undefined ? [] : [workspace], { prepare: true }))
    ],
    tables: async () =>
      (await sql<Array<{ name: string }>>`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'rapport%' ORDER BY tablename`).map(
        (r) => r.name
      ),
    load: async (table, rows) => {
      for (let i = 0; i < rows.length; i += 500) await sql`INSERT INTO ${sql(table)} ${sql(rows.slice(i, i + 500).map(asParameters))}`
    },
    replayer: async (items, batch) => {
      const prepared: ReadonlyArray<Prepared> = items.map((r) => ({
        event: asParameters(r.event),
        entries: r.entries.map(asParameters),
        order: r.order === undefined ? undefined : asParameters(r.order),
        lines: r.lines.map(asParameters),
        move: r.move === undefined ? undefined : { ...r.move, entries: r.move.entries.map(asParameters), events: r.move.events.map(asParameters) },
        firings: r.firings.map(asParameters),
        jobs: r.jobs.map(asParameters)
      }))
      if (batch !== undefined) return batchWriter(sql, prepared, batch)
      return async () => {
        for (const r of prepared) {
          await sql.begin(async (tx) => {
            await tx`INSERT INTO rapport_events ${tx(r.event)}`
            for (const entry of r.entries) await tx`INSERT INTO rapport_timeline ${tx(entry)}`
            if (r.order !== undefined) {
              await tx`INSERT INTO rapport_orders ${tx(r.order)}`
              await tx`INSERT INTO rapport_order_lines ${tx(r.lines)}`
            }
            if (r.move !== undefined) {
              const m = r.move
              const updated = await tx`UPDATE rapport_contacts SET stage = ${m.stage}, version = ${m.version}, updated_at = ${m.updatedAt}
                WHERE workspace_id = ${RAW_WORKSPACE} AND id = ${m.contactId} AND version = ${m.version - 1}`
              if (updated.count !== 1) throw new Error(`contact ${m.contactId} was not at version ${m.version - 1}`)
              for (const entry of m.entries) await tx`INSERT INTO rapport_timeline ${tx(entry)}`
              if (m.events.length > 0) await tx`INSERT INTO rapport_events ${tx(m.events as Array<Row>)}`
            }
            // Several rows in one statement, as Rapport writes a batch's firings and jobs.
            if (r.firings.length > 0) await tx`INSERT INTO rapport_rule_firings ${tx(r.firings)}`
            if (r.jobs.length > 0) await tx`INSERT INTO rapport_jobs ${tx(r.jobs)}`
          })
        }
      }
    },
    close: () => sql.end()
  }
}

type Prepared = {
  readonly event: Row
  readonly entries: ReadonlyArray<Row>
  readonly order: Row | undefined
  readonly lines: ReadonlyArray<Row>
  readonly move: NonNullable<Replay["move"]> | undefined
  readonly firings: ReadonlyArray<Row>
  readonly jobs: ReadonlyArray<Row>
}

// Rows per multi-row INSERT: the widest table (jobs, 23 columns) stays below PostgreSQL's 65,535
// bound parameters.
const PG_ROWS = 2_000

/**
 * The raw side of the emitMany lines on PostgreSQL, as a database expert writes a batch: one
 * transaction per batch, one multi-row INSERT per table, and one UPDATE setting each contact that
 * moved to its last stage and version (checked against its version before the batch).
 */
const batchWriter = (sql: postgres.Sql, prepared: ReadonlyArray<Prepared>, batch: number) => async () => {
  for (const rs of slices(prepared, batch)) {
    await sql.begin(async (tx) => {
      const insertAll = async (table: string, rows: ReadonlyArray<Row>) => {
        for (const chunk of slices(rows, PG_ROWS)) await tx`INSERT INTO ${tx(table)} ${tx(chunk as Array<Row>)}`
      }
      await insertAll("rapport_events", rs.flatMap((r) => [r.event, ...(r.move?.events ?? [])]))
      await insertAll("rapport_timeline", rs.flatMap((r) => [...r.entries, ...(r.move?.entries ?? [])]))
      await insertAll("rapport_orders", rs.flatMap((r) => (r.order === undefined ? [] : [r.order])))
      await insertAll("rapport_order_lines", rs.flatMap((r) => r.lines))
      await insertAll("rapport_rule_firings", rs.flatMap((r) => r.firings))
      await insertAll("rapport_jobs", rs.flatMap((r) => r.jobs))
      const moves = new Map<string, { stage: string; version: number; expected: number; updatedAt: string }>()
      for (const r of rs) {
        const m = r.move
        if (m === undefined) continue
        moves.set(m.contactId, { stage: m.stage, version: m.version, expected: moves.get(m.contactId)?.expected ?? m.version - 1, updatedAt: m.updatedAt })
      }
      if (moves.size === 0) return
      const values = [...moves].map(([id, m]) => [id, m.stage, m.version, m.expected, m.updatedAt])
      const updated = await tx`UPDATE rapport_contacts AS c SET stage = v.stage, version = v.version::integer, updated_at = v.updated_at::timestamptz
        FROM (VALUES ${tx(values)}) AS v (id, stage, version, expected, updated_at)
        WHERE c.workspace_id = ${RAW_WORKSPACE} AND c.id = v.id AND c.version = v.expected::integer`
      if (updated.count !== moves.size) throw new Error(`${moves.size - updated.count} contacts were not at their expected version`)
    })
  }
}

const slices = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

// --- rows

/** What a workspace holds, by table (and kind): both sides must have the same. */
const COUNTS = `
  SELECT 'contacts' AS k, CAST(COUNT(*) AS INTEGER) AS n FROM rapport_contacts WHERE workspace_id = :ws
  UNION ALL SELECT 'contact versions', CAST(COALESCE(SUM(version), 0) AS INTEGER) FROM rapport_contacts WHERE workspace_id = :ws
  UNION ALL SELECT 'stage ' || stage, CAST(COUNT(*) AS INTEGER) FROM rapport_contacts WHERE workspace_id = :ws GROUP BY stage
  UNION ALL SELECT CASE WHEN type = 'contact.stage_changed' THEN 'stage change events' ELSE 'events' END, CAST(COUNT(*) AS INTEGER)
    FROM rapport_events WHERE workspace_id = :ws GROUP BY CASE WHEN type = 'contact.stage_changed' THEN 'stage change events' ELSE 'events' END
  UNION ALL SELECT 'timeline ' || kind, CAST(COUNT(*) AS INTEGER) FROM rapport_timeline WHERE workspace_id = :ws GROUP BY kind
  UNION ALL SELECT 'orders', CAST(COUNT(*) AS INTEGER) FROM rapport_orders WHERE workspace_id = :ws
  UNION ALL SELECT 'order lines', CAST(COUNT(*) AS INTEGER) FROM rapport_order_lines WHERE workspace_id = :ws
  UNION ALL SELECT 'firings', CAST(COUNT(*) AS INTEGER) FROM rapport_rule_firings WHERE workspace_id = :ws
  UNION ALL SELECT 'jobs ' || kind || ' ' || COALESCE(action_type, '-'), CAST(COUNT(*) AS INTEGER) FROM rapport_jobs WHERE workspace_id = :ws GROUP BY kind, action_type`

type Counts = Readonly<Record<string, number>>

const countRows = async (driver: Driver, workspace: string): Promise<Counts> => {
  const rows = await driver.query(COUNTS, workspace)
  return Object.fromEntries(rows.map((r) => [String(r["k"]), Number(r["n"])] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Rows of every table, every workspace. */
const tableSizes = async (driver: Driver) => {
  const sizes: Record<string, number> = {}
  for (const table of await driver.tables()) sizes[table] = Number((await driver.query(`SELECT COUNT(*) AS n FROM ${table}`))[0]!["n"])
  return sizes
}

const diff = (a: Counts, b: Counts) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k] ?? 0} vs ${b[k] ?? 0}`)
    .join(", ")

/** A row moved to the raw side's workspace (the job keys start with the workspace id). */
const toRaw = (row: Row): Row => {
  const moved: Row = { ...row, workspace_id: RAW_WORKSPACE }
  if (typeof row["idempotency_key"] === "string") moved["idempotency_key"] = `${RAW_WORKSPACE}/${row["idempotency_key"].slice(WORKSPACE.length + 1)}`
  return moved
}

const byWorkspace = (table: string, order: string) => `SELECT * FROM ${table} WHERE workspace_id = :ws ORDER BY ${order}`

// A stage move is also recorded as an event whose id names the move's timeline entry; rules acting
// on it name that event.
const STAGE_EVENT = "contact.stage_changed:"

/** Groups what the emits wrote by event, in the order of the events. */
const replayOf = async (driver: Driver, initial: Initial, workload: Workload, results: ReadonlyArray<EmitResultJson>): Promise<ReadonlyArray<Replay>> => {
  const known = { events: new Set(initial.events.map((r) => r["id"])), entries: new Set(initial.entries.map((r) => r["id"])) }
  const grouped = new Map<string, { event?: Row; entries: Array<Row>; order?: Row; lines: Array<Row>; firings: Array<Row>; jobs: Array<Row> }>(
    workload.events.map((e) => [e.id, { entries: [], lines: [], firings: [], jobs: [] }])
  )
  const of = (eventId: unknown, table: string) => {
    const group = grouped.get(String(eventId))
    if (group === undefined) throw new Error(`a row of ${table} written by the emits names no emitted event: ${String(eventId)}`)
    return group
  }
  const entryEvents = new Map<string, string>()
  for (const row of await driver.query(byWorkspace("rapport_timeline", "recorded_at, id"), WORKSPACE)) {
    if (known.entries.has(row["id"])) continue
    of(row["event_id"], "rapport_timeline").entries.push(row)
    entryEvents.set(String(row["id"]), String(row["event_id"]))
  }
  // The event a row belongs to: a stage change's is the one whose move it records.
  const owner = (eventId: unknown) => {
    const id = String(eventId)
    return id.startsWith(STAGE_EVENT) ? entryEvents.get(id.slice(STAGE_EVENT.length)) : id
  }
  const stageEvents = new Map<string, Array<Row>>()
  for (const row of await driver.query(byWorkspace("rapport_events", "id"), WORKSPACE)) {
    if (known.events.has(row["id"])) continue
    if (String(row["id"]).startsWith(STAGE_EVENT)) {
      const emitted = owner(row["id"])
      of(emitted, "rapport_events")
      stageEvents.set(emitted!, [...(stageEvents.get(emitted!) ?? []), row])
    } else of(row["id"], "rapport_events").event = row
  }
  const orderEvents = new Map<unknown, string>()
  for (const row of await driver.query(byWorkspace("rapport_orders", "id"), WORKSPACE)) {
    of(row["event_id"], "rapport_orders").order = row
    orderEvents.set(row["id"], String(row["event_id"]))
  }
  for (const row of await driver.query(byWorkspace("rapport_order_lines", "order_id, line_no"), WORKSPACE)) of(orderEvents.get(row["order_id"]), "rapport_order_lines").lines.push(row)
  for (const row of await driver.query(byWorkspace("rapport_rule_firings", "id"), WORKSPACE)) of(owner(row["event_id"]), "rapport_rule_firings").firings.push(row)
  for (const row of await driver.query(byWorkspace("rapport_jobs", "id"), WORKSPACE)) of(owner(row["event_id"]), "rapport_jobs").jobs.push(row)

  return workload.events.map((e, i) => {
    const group = grouped.get(e.id)!
    const result = results[i]!
    if (group.event === undefined) throw new Error(`event ${e.id} was not stored`)
    const isMove = (row: Row) => row["kind"] === "stageChange"
    const moveEntries = group.entries.filter(isMove)
    const change = result.stageChange
    const moveEvents = stageEvents.get(e.id) ?? []
    if ((change === null) !== (moveEntries.length === 0) || moveEvents.length !== moveEntries.length) {
      throw new Error(`event ${e.id}: the stage change, its timeline entries and its events disagree`)
    }
    return {
      event: toRaw(group.event),
      entries: group.entries.filter((row) => !isMove(row)).map(toRaw),
      order: group.order === undefined ? undefined : toRaw(group.order),
      lines: group.lines.map(toRaw),
      move:
        change === null
          ? undefined
          : {
              contactId: result.contact!.id,
              stage: result.contact!.stage,
              version: result.contact!.version,
              updatedAt: result.contact!.updatedAt,
              entries: moveEntries.map(toRaw),
              events: moveEvents.map(toRaw)
            },
      firings: group.firings.map(toRaw),
      jobs: group.jobs.map(toRaw)
    }
  })
}

// --- the two sides

/** A Mailer that accepts every mail and does nothing. */
export const quietMailer: MailerProvider = {
  layer: Layer.succeed(Mailer.Mailer, Mailer.Mailer.of({ send: (mail) => Effect.succeed({ messageId: `bench-${mail.idempotencyKey}` }) }))
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9

interface RapportRun {
  readonly seconds: number
  readonly counts: Counts
  readonly triggered: number
  /** Not in the scratch run. */
  readonly dispatch: { readonly seconds: number; readonly jobs: number } | undefined
  /** Only in the scratch run: the rows to replay. */
  readonly replay?: { readonly initial: Initial; readonly items: ReadonlyArray<Replay> } | undefined
}

/**
 * One run of the workload through Rapport: one emit per event, or with `batch`, emitMany calls of
 * `batch` events (then without the dispatcher).
 */
const viaRapport = async (store: Store, workload: Workload, capture: boolean, batch?: number): Promise<RapportRun> => {
  const crm = await createCrm({ storage: store.storage(), workspace: WORKSPACE, mailer: quietMailer })
  const driver = await store.driver()
  try {
    const contactIds = await setUp(crm, workload)
    const initial: Initial | undefined = capture
      ? {
          contacts: await driver.query(byWorkspace("rapport_contacts", "id"), WORKSPACE),
          events: await driver.query(byWorkspace("rapport_events", "id"), WORKSPACE),
          entries: await driver.query(byWorkspace("rapport_timeline", "id"), WORKSPACE)
        }
      : undefined
    const sizesBefore = capture ? await tableSizes(driver) : undefined
    const results: Array<EmitResultJson> = []
    let triggered = 0
    const inputOf = (e: BenchEvent): EmitInput => ({ id: e.id, type: e.type, contactId: contactIds[e.contact]!, occurredAt: e.occurredAt, payload: e.payload })
    const batches = batch === undefined ? [] : slices(workload.events.map(inputOf), batch)
    const start = process.hrtime.bigint()
    if (batch === undefined) {
      for (const e of workload.events) {
        const result = await crm.events.emit(inputOf(e))
        triggered += result.triggered.length
        if (capture) results.push(result)
      }
    } else {
      for (const inputs of batches) {
        for (const result of await crm.events.emitMany(inputs)) {
          triggered += result.triggered.length
          if (capture) results.push(result)
        }
      }
    }
    const elapsed = seconds(start)
    const counts = await countRows(driver, WORKSPACE)
    let replay: RapportRun["replay"]
    if (initial !== undefined && sizesBefore !== undefined) {
      if (results.some((r) => r.duplicate || r.contactCreated || r.progressionBlocked !== null)) throw new Error("an emit was a duplicate, created a contact or was blocked: the workload is wrong")
      // Emits must write only to the tables the raw side writes to (and update contacts).
      const sizesAfter = await tableSizes(driver)
      const written = new Set(["rapport_events", "rapport_timeline", "rapport_orders", "rapport_order_lines", "rapport_rule_firings", "rapport_jobs"])
      const elsewhere = Object.keys(sizesAfter).filter((t) => !written.has(t) && sizesAfter[t] !== sizesBefore[t])
      if (elsewhere.length > 0) throw new Error(`the emits also wrote to ${elsewhere.join(", ")}: the raw side must write those rows too`)
      replay = {
        initial: { contacts: initial.contacts.map(toRaw), events: initial.events.map(toRaw), entries: initial.entries.map(toRaw) },
        items: await replayOf(driver, initial, workload, results)
      }
    }
    if (capture || batch !== undefined) return { seconds: elapsed, counts, triggered, dispatch: undefined, replay }
    const dispatchStart = process.hrtime.bigint()
    const report = await crm.dispatcher.runDue()
    const dispatchSeconds = seconds(dispatchStart)
    if (report.dead + report.retried + report.lost > 0) throw new Error(`the dispatcher did not run every job: ${JSON.stringify(report)}`)
    return { seconds: elapsed, counts, triggered, dispatch: { seconds: dispatchSeconds, jobs: report.claimed }, replay }
  } finally {
    await driver.close()
    await crm.close()
  }
}

const viaRawDriver = async (store: Store, replay: NonNullable<RapportRun["replay"]>, batch?: number) => {
  // The schema (tables, keys, indexes) comes from Rapport's migrations.
  await (await createCrm({ storage: store.storage(), mailer: quietMailer })).close()
  const driver = await store.driver()
  try {
    await driver.load("rapport_contacts", replay.initial.contacts)
    await driver.load("rapport_events", replay.initial.events)
    await driver.load("rapport_timeline", replay.initial.entries)
    const write = await driver.replayer(replay.items, batch)
    const start = process.hrtime.bigint()
    await write()
    const elapsed = seconds(start)
    return { seconds: elapsed, counts: await countRows(driver, RAW_WORKSPACE) }
  } finally {
    await driver.close()
  }
}

const count = (n: number) => n.toLocaleString("en-US")
const format = (n: number) => Math.round(n).toLocaleString("en-US")

const storeOf = (backend: Backend) => async <A>(f: (store: Store) => Promise<A>) => {
  const store = await backend.fresh()
  try {
    return await f(store)
  } finally {
    await store.drop()
  }
}

const rowWrites = (items: ReadonlyArray<Replay>) =>
  items.reduce((n, r) => n + 1 + r.entries.length + (r.order === undefined ? 0 : 1) + r.lines.length + (r.move === undefined ? 0 : 1 + r.move.entries.length + r.move.events.length) + r.firings.length + r.jobs.length, 0)

const measure = async (backend: Backend, events: number, roundCount: number, report: (line: string) => void): Promise<Measurement> => {
  const workload = makeWorkload(events)
  const withStore = storeOf(backend)
  // The scratch run: Rapport's warm-up, and the rows the raw side replays.
  const scratchStart = process.hrtime.bigint()
  const scratch = await withStore((store) => viaRapport(store, workload, true))
  const replay = scratch.replay!
  // The raw side's warm-up, which also checks that the replay writes what Rapport wrote.
  const rawWarmUp = await withStore((store) => viaRawDriver(store, replay))
  if (diff(scratch.counts, rawWarmUp.counts) !== "") throw new Error(`${backend.dialect}: the replay wrote other rows than Rapport: ${diff(scratch.counts, rawWarmUp.counts)}`)
  report(
    `  warm-up      ${seconds(scratchStart).toFixed(1)} s   (one untimed run of each side; Rapport's rows read back for the replay: ` +
      `${count(replay.items.length)} events, ${count(rowWrites(replay.items))} row writes)`
  )

  const rounds: Array<Round> = []
  let drained: number | undefined
  for (let i = 0; i < roundCount; i++) {
    const rawFirst = i % 2 === 1
    let raw: { seconds: number; counts: Counts } | undefined
    if (rawFirst) raw = await withStore((store) => viaRawDriver(store, replay))
    const rapport = await withStore((store) => viaRapport(store, workload, false))
    if (!rawFirst) raw = await withStore((store) => viaRawDriver(store, replay))
    if (diff(rapport.counts, raw!.counts) !== "") throw new Error(`${backend.dialect}, round ${i + 1}: the two sides wrote different rows: ${diff(rapport.counts, raw!.counts)}`)
    if (diff(rapport.counts, scratch.counts) !== "") throw new Error(`${backend.dialect}, round ${i + 1}: Rapport wrote other rows than in its scratch run: ${diff(rapport.counts, scratch.counts)}`)
    const dispatch = rapport.dispatch!
    drained ??= dispatch.jobs
    if (dispatch.jobs !== drained) throw new Error(`${backend.dialect}, round ${i + 1}: the dispatcher ran ${dispatch.jobs} jobs, ${drained} in round 1`)
    rounds.push({ rapportSeconds: rapport.seconds, rawSeconds: raw!.seconds, dispatchSeconds: dispatch.seconds })
  }

  const rows = scratch.counts
  const ratioOf = (r: Round) => r.rapportSeconds / r.rawSeconds
  const measurement: Measurement = {
    dialect: backend.dialect,
    events,
    rounds,
    rapportPerSecond: events / median(rounds.map((r) => r.rapportSeconds)),
    rawPerSecond: events / median(rounds.map((r) => r.rawSeconds)),
    ratio: median(rounds.map(ratioOf)),
    rows,
    triggered: scratch.triggered,
    dispatch: { jobs: drained ?? 0, jobsPerSecond: (drained ?? 0) / median(rounds.map((r) => r.dispatchSeconds)) }
  }
  const sum = (prefix: string) => Object.entries(rows).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0)
  const moves = rows["timeline stageChange"] ?? 0
  const before = CONTACTS // each contact's contact.created event and entry
  const driverName = backend.dialect === "SQLite" ? "better-sqlite3" : "postgres.js"
  report(`  Rapport      ${format(measurement.rapportPerSecond).padStart(8)} events/s   (crm.events.emit, one at a time: ${count(measurement.triggered)} rule firings and delayed checks)`)
  report(`  raw driver   ${format(measurement.rawPerSecond).padStart(8)} events/s   (${driverName}, the same rows, one transaction per event)`)
  report(
    `  ratio        ${measurement.ratio.toFixed(2)}x the raw driver's time   (target: within 3x; the outbox writes are part of the same transaction; rounds: ${rounds.map((r) => ratioOf(r).toFixed(2)).join(", ")})`
  )
  report(
    `  rows         per run, on both sides: ${count((rows["events"] ?? 0) - before)} events, ${count(sum("timeline ") - before)} timeline entries ` +
      `(${count(moves)} stage moves, each also an UPDATE of the contact and ${count(rows["stage change events"] ?? 0)} contact.stage_changed events), ` +
      `${count(rows["orders"] ?? 0)} orders + ${count(rows["order lines"] ?? 0)} lines, ` +
      `${count(rows["firings"] ?? 0)} firings, ${count(sum("jobs "))} jobs (${count(sum("jobs check"))} delayed checks)`
  )
  report(
    `  dispatcher   ${format(measurement.dispatch.jobsPerSecond).padStart(8)} jobs/s     (crm.dispatcher.runDue with a Mailer that does nothing: ${count(measurement.dispatch.jobs)} jobs, ` +
      `the emits' and those the due checks queued; default batch and concurrency; median of ${roundCount} rounds)`
  )
  return measurement
}

/**
 * The emitMany lines: `events` events sent BATCH per call against the raw driver with one
 * transaction per batch. `oneByOne` is the one-by-one measurement of this database: its workload,
 * sent in batches once, must write the same rows.
 */
const measureBatch = async (
  backend: Backend,
  events: number,
  roundCount: number,
  oneByOne: Measurement,
  report: (line: string) => void
): Promise<BatchMeasurement> => {
  const withStore = storeOf(backend)
  const same = await withStore((store) => viaRapport(store, makeWorkload(oneByOne.events), false, BATCH))
  if (diff(same.counts, oneByOne.rows) !== "") throw new Error(`${backend.dialect}: emitMany wrote other rows than one emit at a time: ${diff(same.counts, oneByOne.rows)}`)
  const workload = makeWorkload(events)
  const scratchStart = process.hrtime.bigint()
  const scratch = await withStore((store) => viaRapport(store, workload, true, BATCH))
  const replay = scratch.replay!
  const rawWarmUp = await withStore((store) => viaRawDriver(store, replay, BATCH))
  if (diff(scratch.counts, rawWarmUp.counts) !== "") throw new Error(`${backend.dialect}: the batch replay wrote other rows than Rapport: ${diff(scratch.counts, rawWarmUp.counts)}`)
  report(
    `  warm-up      ${seconds(scratchStart).toFixed(1)} s   (one untimed run of each side in batches: ${count(replay.items.length)} events, ` +
      `${count(rowWrites(replay.items))} row writes; the ${count(oneByOne.events)} events above, sent in batches, wrote the same rows as one at a time)`
  )
  const rounds: Array<Omit<Round, "dispatchSeconds">> = []
  for (let i = 0; i < roundCount; i++) {
    const rawFirst = i % 2 === 1
    let raw: { seconds: number; counts: Counts } | undefined
    if (rawFirst) raw = await withStore((store) => viaRawDriver(store, replay, BATCH))
    const rapport = await withStore((store) => viaRapport(store, workload, false, BATCH))
    if (!rawFirst) raw = await withStore((store) => viaRawDriver(store, replay, BATCH))
    if (diff(rapport.counts, raw!.counts) !== "") throw new Error(`${backend.dialect}, batch round ${i + 1}: the two sides wrote different rows: ${diff(rapport.counts, raw!.counts)}`)
    if (diff(rapport.counts, scratch.counts) !== "") throw new Error(`${backend.dialect}, batch round ${i + 1}: Rapport wrote other rows than in its scratch run: ${diff(rapport.counts, scratch.counts)}`)
    rounds.push({ rapportSeconds: rapport.seconds, rawSeconds: raw!.seconds })
  }
  const ratioOf = (r: Omit<Round, "dispatchSeconds">) => r.rapportSeconds / r.rawSeconds
  const measurement: BatchMeasurement = {
    dialect: backend.dialect,
    events,
    batch: BATCH,
    rounds,
    rapportPerSecond: events / median(rounds.map((r) => r.rapportSeconds)),
    rawPerSecond: events / median(rounds.map((r) => r.rawSeconds)),
    ratio: median(rounds.map(ratioOf))
  }
  const target = backend.dialect === "SQLite" ? "10,000" : "5,000"
  const driverName = backend.dialect === "SQLite" ? "better-sqlite3, row by row" : "postgres.js, one INSERT per table and one UPDATE of the moved contacts"
  report(
    `  emitMany     ${format(measurement.rapportPerSecond).padStart(8)} events/s   (crm.events.emitMany, ${count(BATCH)} events per call: ` +
      `${count(scratch.triggered)} rule firings and delayed checks; target: at least ${target} events/s)`
  )
  report(`  raw driver   ${format(measurement.rawPerSecond).padStart(8)} events/s   (${driverName}, the same rows, one transaction per ${count(BATCH)} events)`)
  report(`  ratio        ${measurement.ratio.toFixed(2)}x the raw driver's time   (target: within 2x; rounds: ${rounds.map((r) => ratioOf(r).toFixed(2)).join(", ")})`)
  return measurement
}

/** SQLite, then PostgreSQL; lines are reported as they come. */
export const run = async (options: Options, report: (line: string) => void): Promise<Result> => {
  const measurements: Array<Measurement> = []
  const batches: Array<BatchMeasurement> = []
  for (const backend of [sqliteBackend, postgresBackend(options.pgUrl)]) {
    const events = options.emits ?? DEFAULT_EMITS[backend.dialect]
    report(
      backend.dialect === "SQLite"
        ? `  SQLite (temporary file; WAL, synchronous FULL on both sides) — ${count(events)} events`
        : `  PostgreSQL (fresh databases) — ${count(events)} events`
    )
    const measurement = await measure(backend, events, options.rounds, report)
    measurements.push(measurement)
    const batchEvents = options.batchEmits ?? DEFAULT_BATCH_EMITS[backend.dialect]
    report(`  ${backend.dialect}, in batches — ${count(batchEvents)} events, ${count(BATCH)} per emitMany call`)
    batches.push(await measureBatch(backend, batchEvents, options.rounds, measurement, report))
  }
  return { measurements, batches }
}
