// The analytics reports over many contacts and orders, on SQLite and on PostgreSQL: Rapport's
// Promise client (segments.count with a condition on custom fields, analytics.topProducts,
// analytics.channels, analytics.funnel) against the limit: the SQL a database expert would write
// by hand for the very same question, over the indexes they would make for it, run on the raw
// driver (better-sqlite3, postgres.js), on the same data, in one run.
//
// The data: N contacts (five channels, campaigns or none, first seen over 18 months, a lifecycle
// stage reached through `contact.stage_changed` events, two custom fields: a select colour and a
// visit count, both marked `indexed` as an app filtering on them would), 2N orders over two years
// (EUR and USD, 5% cancelled, 3% partly refunded) with 1 to 3 lines of 500 products (10% of lines
// without a cost), and the spend of every channel and campaign for each month of 2025. Each
// database is created fresh; Rapport's migrations make the schema and the fields are defined
// through Rapport (which creates its expression indexes), then every row is bulk-inserted once
// with the raw driver. Then the database is copied (the file on SQLite, `CREATE DATABASE … TEMPLATE`
// on PostgreSQL) and only the copy gets the limit's own indexes (printed: which ones, and why):
// Rapport runs on the original, with nothing but the indexes its migrations and its `indexed`
// fields and segments make, so it cannot borrow the limit's indexes.
//
// Per report: one untimed warm-up per side that checks both answers are the same (the bench
// stops otherwise), then rounds alternating which side goes first, each a run of calls of one
// side lasting at least 200 ms (one call for the reports that take longer; the same number of
// calls for both sides, from the slower side's time per call in those 5 s); a report that fast is
// first run for 5 s on each side, untimed, and each of its runs follows one untimed call of the
// same side. Figures are medians of the per-call time, with the range over rounds. The limit's
// plans are printed.
import { createCrm, type CrmClient } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import postgres from "postgres"
import { randomUUID } from "node:crypto"
import { copyFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freshDatabase } from "./postgres.js"
import { median, random } from "./stats.js"

export type Dialect = "SQLite" | "PostgreSQL"
export type Report = "segment" | "topProducts" | "channels" | "funnel"
export const REPORTS: ReadonlyArray<Report> = ["segment", "topProducts", "channels", "funnel"]

export interface Measurement {
  readonly dialect: Dialect
  readonly report: Report
  readonly rapportMs: ReadonlyArray<number>
  readonly rawMs: ReadonlyArray<number>
  readonly rapportMedianMs: number
  readonly rawMedianMs: number
  /** Rapport's median over the limit's. */
  readonly ratio: number
  /** Rows (or the count) of the answer, the same on both sides (checked). */
  readonly size: string
  readonly plan: string
  /** Rapport's plan, where the bench has a copy of its statement (the segment). */
  readonly rapportPlan?: string
  /** Calls per round and side: figures are per call. */
  readonly calls: number
}

const WORKSPACE = "bench"
const STAGES = ["suspect", "prospect", "customer", "loyal", "fan", "addict"] as const // the classic lifecycle
const STAGE_WEIGHTS = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03]
const CUSTOMER_STAGES = STAGES.slice(2)
const CHANNELS = ["ads", "organic", "referral", "newsletter", "social"]
const CAMPAIGNS = [null, "spring", "autumn"]
const COLOURS = ["red", "green", "blue", "yellow", "black"]
const PRODUCTS = 500
const DAY = 86_400_000
const FIRST_SEEN = Date.parse("2025-01-01T00:00:00.000Z")
const SEEN_SPAN = 540 * DAY
const FIRST_ORDER = Date.parse("2024-07-01T00:00:00.000Z")
const ORDER_SPAN = 730 * DAY
const YEAR = { from: "2025-01-01T00:00:00.000Z", to: "2026-01-01T00:00:00.000Z" }
const SEGMENT = { colour: "red", visits: 90 }
const condition = {
  all: [
    { path: "contact.fields.favouriteColour", op: "eq", value: SEGMENT.colour },
    { path: "contact.fields.visits", op: "gte", value: SEGMENT.visits }
  ]
} as const

// --- the data, drawn alike for both databases

const uuidV7 = (epochMillis: number) => {
  const time = epochMillis.toString(16).padStart(12, "0")
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`
}
const iso = (ms: number) => new Date(ms).toISOString()

const CONTACT_COLUMNS = [
  "workspace_id", "id", "email", "email_key", "first_name", "last_name", "phone", "company_id", "source_channel", "source_campaign",
  "first_seen_at", "stage", "tags", "owner_id", "score", "timezone", "fields", "version", "created_at", "updated_at"
] as const
const EVENT_COLUMNS = ["workspace_id", "id", "type", "contact_id", "occurred_at", "received_at", "payload"] as const
const ORDER_COLUMNS = ["workspace_id", "id", "contact_id", "event_id", "placed_at", "currency", "total_minor", "status", "cancelled_at", "refunded_minor"] as const
const LINE_COLUMNS = ["workspace_id", "order_id", "line_no", "sku", "name", "quantity", "unit_price_minor", "unit_cost_minor", "currency"] as const
const SPEND_COLUMNS = ["workspace_id", "channel", "campaign", "month", "currency", "amount_minor", "recorded_at"] as const

type Row = Record<string, string | number | null>
interface Batch {
  readonly contacts: Array<Row>
  readonly events: Array<Row>
  readonly orders: Array<Row>
  readonly lines: Array<Row>
}

/** Contacts (with their stage moves) in batches, then their orders (with lines) in batches. */
const batches = function* (contacts: number, batch: number): Generator<Batch> {
  const next = random(16)
  const pick = <A>(values: ReadonlyArray<A>) => values[Math.floor(next() * values.length)]!
  const ids: Array<string> = new Array(contacts)
  for (let done = 0; done < contacts; done += batch) {
    const b: Batch = { contacts: [], events: [], orders: [], lines: [] }
    for (let i = done; i < Math.min(contacts, done + batch); i++) {
      const seen = FIRST_SEEN + Math.floor((i * SEEN_SPAN) / contacts)
      const id = uuidV7(seen)
      ids[i] = id
      let u = next()
      let position = 0
      while (position < STAGES.length - 1 && u >= STAGE_WEIGHTS[position]!) u -= STAGE_WEIGHTS[position++]!
      let at = seen
      for (let p = 1; p <= position; p++) {
        at += 1 + Math.floor(next() * 30 * DAY)
        b.events.push({
          workspace_id: WORKSPACE, id: uuidV7(at), type: "contact.stage_changed", contact_id: id, occurred_at: iso(at), received_at: iso(at),
          payload: JSON.stringify({ from: STAGES[p - 1], to: STAGES[p] })
        })
      }
      const email = `lead${i}@bench.example`
      const campaign = pick(CAMPAIGNS)
      b.contacts.push({
        workspace_id: WORKSPACE, id, email, email_key: email, first_name: `First${i}`, last_name: `Last${i}`, phone: null, company_id: null,
        source_channel: pick(CHANNELS), source_campaign: campaign, first_seen_at: iso(seen), stage: STAGES[position]!, tags: "[]", owner_id: null,
        score: 0, timezone: null, fields: JSON.stringify({ favouriteColour: pick(COLOURS), visits: Math.floor(next() * 100) }), version: 1,
        created_at: iso(seen), updated_at: iso(at)
      })
    }
    yield b
  }
  const orders = 2 * contacts
  for (let done = 0; done < orders; done += batch) {
    const b: Batch = { contacts: [], events: [], orders: [], lines: [] }
    for (let i = done; i < Math.min(orders, done + batch); i++) {
      const placed = FIRST_ORDER + Math.floor(next() * ORDER_SPAN)
      const id = uuidV7(placed)
      const currency = next() < 0.1 ? "USD" : "EUR"
      const lineCount = 1 + Math.floor(next() * 3)
      let total = 0
      for (let n = 1; n <= lineCount; n++) {
        const product = Math.floor(next() * PRODUCTS)
        const price = 500 + ((product * 7919) % 20_000)
        const quantity = 1 + Math.floor(next() * 5)
        total += quantity * price
        b.lines.push({
          workspace_id: WORKSPACE, order_id: id, line_no: n, sku: `SKU-${String(product).padStart(4, "0")}`, name: `Product ${product}`,
          quantity, unit_price_minor: price, unit_cost_minor: next() < 0.1 ? null : Math.floor(price * 0.6), currency
        })
      }
      const cancelled = next() < 0.05
      b.orders.push({
        workspace_id: WORKSPACE, id, contact_id: ids[Math.floor(next() * contacts)]!, event_id: `order.placed:${id}`, placed_at: iso(placed),
        currency, total_minor: total, status: cancelled ? "cancelled" : "placed", cancelled_at: cancelled ? iso(placed + DAY) : null,
        refunded_minor: !cancelled && next() < 0.03 ? Math.floor(total / 4) : 0
      })
    }
    yield b
  }
}

const spendRows = (): Array<Row> =>
  CHANNELS.flatMap((channel, c) =>
    CAMPAIGNS.flatMap((campaign, k) =>
      Array.from({ length: 12 }, (_, m) => ({
        workspace_id: WORKSPACE, channel, campaign: campaign ?? "", month: `2025-${String(m + 1).padStart(2, "0")}`, currency: "EUR",
        amount_minor: 100_000 * (c + 1) + 10_000 * k + m, recorded_at: "2026-01-01T00:00:00.000Z"
      }))
    )
  )

// --- the answers, as both sides give them (Rapport's shapes; the raw side builds the same)

type Answer = unknown

const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
/** Deep equality, numbers equal within 1e-9 relative (a ratio may be divided in another order). */
const same = (a: unknown, b: unknown): boolean => {
  if (typeof a === "number" && typeof b === "number") return close(a, b)
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return same(ka, kb) && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return a === b
}
const money = (amountMinor: number, currency: string) => ({ amountMinor, currency })
const byKey = <A>(rows: ReadonlyArray<A>, key: (a: A) => string) => [...rows].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0))

interface ProductRowRaw { sku: string; name: string; currency: string; quantity: number | string; revenue: number | string; margin: number | string; uncosted: number | string; pos_rank: number | string }
const products = (rows: ReadonlyArray<ProductRowRaw>) =>
  rows.map((r) => ({
    rank: Number(r.pos_rank), sku: r.sku, name: r.name, revenue: money(Number(r.revenue), r.currency), quantity: Number(r.quantity),
    margin: money(Number(r.margin), r.currency), marginComplete: Number(r.uncosted) === 0, uncostedQuantity: Number(r.uncosted)
  }))

interface AcquiredRaw { channel: string; campaign: string; n: number | string; customers: number | string }
interface MoneyRaw { channel: string; campaign: string; currency: string; amount: number | string }
/** The channel report from its three parts, assembled as Rapport's statement does. */
const channelReport = (acquired: ReadonlyArray<AcquiredRaw>, revenue: ReadonlyArray<MoneyRaw>, spend: ReadonlyArray<MoneyRaw>) => {
  const key = (r: { channel: string; campaign: string }) => `${r.channel}\u0000${r.campaign}`
  const keys = new Map<string, { channel: string; campaign: string }>()
  for (const r of [...acquired, ...spend]) keys.set(key(r), { channel: r.channel, campaign: r.campaign })
  const a = new Map(acquired.map((r) => [key(r), r]))
  const rev = new Map(revenue.map((r) => [`${key(r)}\u0000${r.currency}`, Number(r.amount)]))
  const sp = new Map(spend.map((r) => [`${key(r)}\u0000${r.currency}`, Number(r.amount)]))
  const out: Array<unknown> = []
  for (const [k, { channel, campaign }] of keys) {
    const g = a.get(k)
    const n = g === undefined ? 0 : Number(g.n)
    const customers = g === undefined ? 0 : Number(g.customers)
    const currencies = [...new Set([...revenue, ...spend].filter((r) => key(r) === k).map((r) => r.currency))]
    const base = { channel, campaign: campaign === "" ? null : campaign, acquired: n, customers, customerShare: n === 0 ? null : customers / n }
    if (currencies.length === 0) out.push({ ...base, currency: null, revenue: null, spend: null, costPerCustomer: null })
    for (const currency of currencies) {
      const s = sp.get(`${k}\u0000${currency}`) ?? 0
      out.push({
        ...base, currency, revenue: money(rev.get(`${k}\u0000${currency}`) ?? 0, currency), spend: money(s, currency),
        costPerCustomer: customers === 0 ? null : money(Math.floor((2 * s + customers) / (2 * customers)), currency)
      })
    }
  }
  return out
}
const channelKey = (r: unknown) => {
  const c = r as { channel: string; campaign: string | null; currency: string | null }
  return `${c.channel}\u0000${c.campaign ?? ""}\u0000${c.currency ?? ""}`
}

interface FunnelCountRaw { cohort: string; stage: string; top: number | string; n: number | string }
interface FunnelStayRaw { cohort: string; stage: string; n: number | string; median_ms: number | string | null }
/** The funnel from per-contact counts (cohort, current stage, furthest stage) and the stays' medians. */
const funnelReport = (counts: ReadonlyArray<FunnelCountRaw>, stays: ReadonlyArray<FunnelStayRaw>) => {
  const cohorts = [...new Set(counts.map((r) => r.cohort))].sort()
  const out: Array<unknown> = []
  for (const cohort of cohorts) {
    const current = new Map<string, number>()
    const furthest = new Array<number>(STAGES.length).fill(0)
    for (const r of counts) {
      if (r.cohort !== cohort) continue
      current.set(r.stage, (current.get(r.stage) ?? 0) + Number(r.n))
      if (Number(r.top) >= 0) furthest[Number(r.top)]! += Number(r.n)
    }
    const reached = STAGES.map((_, p) => furthest.slice(p).reduce((s, x) => s + x, 0))
    STAGES.forEach((stage, p) => {
      const s = stays.find((r) => r.cohort === cohort && r.stage === stage)
      out.push({
        cohort, stage, position: p, current: current.get(stage) ?? 0, reached: reached[p]!,
        conversion: p === STAGES.length - 1 || reached[p] === 0 ? null : reached[p + 1]! / reached[p]!,
        stays: s === undefined ? 0 : Number(s.n), medianSeconds: s === undefined || s.median_ms === null ? null : Number(s.median_ms) / 1000
      })
    })
  }
  return out
}

// --- the limit: statements and indexes, per dialect

const customerList = CUSTOMER_STAGES.map((s) => `'${s}'`).join(", ")
const positions = `(VALUES ${STAGES.map((s, i) => `('${s}', ${i})`).join(", ")})`

interface Limit {
  /** The limit's own indexes (beside Rapport's), each with why. */
  readonly indexes: ReadonlyArray<{ readonly ddl: string; readonly why: string }>
  readonly segment: string
  /** A copy of the statement Rapport's segment compiler writes for the condition (conditionSql.ts), only to print its plan on Rapport's database. */
  readonly rapportSegment: string
  readonly topProducts: string
  readonly acquired: string
  readonly revenue: string
  readonly spend: string
  readonly funnelCounts: string
  readonly funnelStays: string
}

// Placeholders: `?n` on SQLite, `$n` on PostgreSQL; the parameters are listed per statement below.
const sqliteLimit: Limit = {
  indexes: [
    {
      ddl: `CREATE INDEX bench_limit_segment ON rapport_contacts (workspace_id, json_extract(fields, '$.favouriteColour'), json_extract(fields, '$.visits'))`,
      why: "segment: both fields in one expression index, the count is one range of it"
    },
    {
      ddl: `CREATE INDEX bench_limit_orders ON rapport_orders (workspace_id, status, placed_at, id)`,
      why: "top products: the placed orders of the period, one range, no table read"
    },
    {
      ddl: `CREATE INDEX bench_limit_lines ON rapport_order_lines (workspace_id, order_id, sku, currency, quantity, unit_price_minor, unit_cost_minor, name)`,
      why: "top products: an order's lines with all they add, no table read"
    },
    {
      ddl: `CREATE INDEX bench_limit_contacts ON rapport_contacts (workspace_id, first_seen_at, source_channel, source_campaign, stage, id)`,
      why: "channels and funnel: contacts by first-seen instant with channel, campaign and stage"
    },
    {
      ddl: `CREATE INDEX bench_limit_orders_contact ON rapport_orders (workspace_id, contact_id, status, currency, total_minor, refunded_minor)`,
      why: "channels: a contact's placed orders and their net, no table read"
    },
    {
      ddl: `CREATE INDEX bench_limit_moves ON rapport_events (workspace_id, type, contact_id, occurred_at, id)`,
      why: "funnel: stage moves in contact and time order (the window needs no sort)"
    }
  ],
  // ?1 workspace, ?2 colour, ?3 visits
  segment: `SELECT COUNT(*) AS n FROM rapport_contacts WHERE workspace_id = ?1 AND json_extract(fields, '$.favouriteColour') = ?2 AND json_extract(fields, '$.visits') >= ?3`,
  rapportSegment:
    `SELECT COUNT(*) AS n FROM rapport_contacts AS c WHERE c.workspace_id = ?1 AND ((CASE WHEN json_type(c.fields, '$."favouriteColour"') = 'text' THEN json_extract(c.fields, '$."favouriteColour"') END) = ?2 ` +
    `AND (CASE WHEN json_type(c.fields, '$."visits"') IN ('integer', 'real') THEN json_extract(c.fields, '$."visits"') END) >= ?3)`,
  // ?1 workspace, ?2 from, ?3 to, ?4 limit
  topProducts:
    `SELECT * FROM (SELECT l.sku, MAX(l.name) AS name, l.currency, SUM(l.quantity) AS quantity, SUM(l.quantity * l.unit_price_minor) AS revenue, ` +
    `COALESCE(SUM(l.quantity * (l.unit_price_minor - l.unit_cost_minor)), 0) AS margin, ` +
    `SUM(CASE WHEN l.unit_cost_minor IS NULL THEN l.quantity ELSE 0 END) AS uncosted, ` +
    `ROW_NUMBER() OVER (PARTITION BY l.currency ORDER BY SUM(l.quantity * l.unit_price_minor) DESC, l.sku) AS pos_rank ` +
    `FROM rapport_orders o JOIN rapport_order_lines l ON l.workspace_id = o.workspace_id AND l.order_id = o.id ` +
    `WHERE o.workspace_id = ?1 AND o.status = 'placed' AND o.placed_at >= ?2 AND o.placed_at < ?3 GROUP BY l.currency, l.sku) WHERE pos_rank <= ?4 ORDER BY currency, pos_rank`,
  // ?1 workspace, ?2 from, ?3 to
  acquired:
    `SELECT source_channel AS channel, COALESCE(source_campaign, '') AS campaign, COUNT(*) AS n, SUM(stage IN (${customerList})) AS customers ` +
    `FROM rapport_contacts WHERE workspace_id = ?1 AND first_seen_at >= ?2 AND first_seen_at < ?3 GROUP BY 1, 2`,
  revenue:
    `SELECT c.source_channel AS channel, COALESCE(c.source_campaign, '') AS campaign, o.currency, SUM(o.total_minor - o.refunded_minor) AS amount ` +
    `FROM rapport_contacts c JOIN rapport_orders o ON o.workspace_id = c.workspace_id AND o.contact_id = c.id AND o.status = 'placed' ` +
    `WHERE c.workspace_id = ?1 AND c.first_seen_at >= ?2 AND c.first_seen_at < ?3 GROUP BY 1, 2, 3`,
  // ?1 workspace, ?2 first month, ?3 last month
  spend: `SELECT channel, campaign, currency, SUM(amount_minor) AS amount FROM rapport_channel_spend WHERE workspace_id = ?1 AND month >= ?2 AND month <= ?3 GROUP BY 1, 2, 3`,
  // ?1 workspace
  funnelCounts:
    `WITH pos (stage, p) AS ${positions}, ` +
    `moved AS (SELECT e.contact_id, MAX(p.p) AS top FROM rapport_events e JOIN pos p ON p.stage IN (json_extract(e.payload, '$.from'), json_extract(e.payload, '$.to')) ` +
    `WHERE e.workspace_id = ?1 AND e.type = 'contact.stage_changed' GROUP BY e.contact_id) ` +
    `SELECT substr(c.first_seen_at, 1, 7) AS cohort, c.stage, MAX(COALESCE(pc.p, -1), COALESCE(m.top, -1)) AS top, COUNT(*) AS n ` +
    `FROM rapport_contacts c LEFT JOIN pos pc ON pc.stage = c.stage LEFT JOIN moved m ON m.contact_id = c.id WHERE c.workspace_id = ?1 GROUP BY 1, 2, 3`,
  funnelStays:
    `WITH s AS (SELECT substr(c.first_seen_at, 1, 7) AS cohort, json_extract(e.payload, '$.from') AS stage, ` +
    `CAST(ROUND((julianday(e.occurred_at) - julianday(COALESCE(LAG(e.occurred_at) OVER (PARTITION BY e.contact_id ORDER BY e.occurred_at, e.id), c.first_seen_at))) * 86400000) AS INTEGER) AS ms ` +
    `FROM rapport_events e JOIN rapport_contacts c ON c.workspace_id = e.workspace_id AND c.id = e.contact_id WHERE e.workspace_id = ?1 AND e.type = 'contact.stage_changed'), ` +
    `r AS (SELECT cohort, stage, ms, ROW_NUMBER() OVER (PARTITION BY cohort, stage ORDER BY ms) AS rn, COUNT(*) OVER (PARTITION BY cohort, stage) AS n FROM s) ` +
    `SELECT cohort, stage, MAX(n) AS n, AVG(ms) AS median_ms FROM r WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY cohort, stage`
}

const pgMonth = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM')`
const pgLimit: Limit = {
  indexes: [
    {
      ddl: `CREATE INDEX bench_limit_segment ON rapport_contacts (workspace_id, (fields ->> 'favouriteColour'), ((fields ->> 'visits')::integer))`,
      why: "segment: both fields in one expression index, the count is one range of it"
    },
    {
      ddl: `CREATE INDEX bench_limit_orders ON rapport_orders (workspace_id, status, placed_at) INCLUDE (id)`,
      why: "top products: the placed orders of the period, one range"
    },
    {
      ddl: `CREATE INDEX bench_limit_contacts ON rapport_contacts (workspace_id, first_seen_at) INCLUDE (source_channel, source_campaign, stage, id)`,
      why: "channels and funnel: contacts by first-seen instant with channel, campaign and stage"
    },
    {
      ddl: `CREATE INDEX bench_limit_orders_contact ON rapport_orders (workspace_id, contact_id, status) INCLUDE (currency, total_minor, refunded_minor)`,
      why: "channels: a contact's placed orders and their net"
    },
    {
      ddl: `CREATE INDEX bench_limit_moves ON rapport_events (workspace_id, type, contact_id, occurred_at, id)`,
      why: "funnel: stage moves in contact and time order"
    }
  ],
  segment: `SELECT COUNT(*) AS n FROM rapport_contacts WHERE workspace_id = $1 AND fields ->> 'favouriteColour' = $2 AND (fields ->> 'visits')::integer >= $3`,
  rapportSegment:
    `SELECT COUNT(*) AS n FROM rapport_contacts AS c WHERE c.workspace_id = $1 AND ` +
    `(((CASE WHEN jsonb_typeof((c.fields -> 'favouriteColour')) = 'string' THEN (c.fields -> 'favouriteColour') #>> '{}' END) COLLATE "C") = $2 ` +
    `AND (CASE WHEN jsonb_typeof((c.fields -> 'visits')) = 'number' THEN CAST((c.fields -> 'visits') AS numeric) END) >= CAST($3 AS numeric))`,
  topProducts:
    `SELECT * FROM (SELECT l.sku, MAX(l.name) AS name, l.currency, SUM(l.quantity)::text AS quantity, SUM(l.quantity * l.unit_price_minor)::text AS revenue, ` +
    `COALESCE(SUM(l.quantity * (l.unit_price_minor - l.unit_cost_minor)), 0)::text AS margin, ` +
    `SUM(CASE WHEN l.unit_cost_minor IS NULL THEN l.quantity ELSE 0 END)::text AS uncosted, ` +
    `ROW_NUMBER() OVER (PARTITION BY l.currency ORDER BY SUM(l.quantity * l.unit_price_minor) DESC, l.sku) AS pos_rank ` +
    `FROM rapport_orders o JOIN rapport_order_lines l ON l.workspace_id = o.workspace_id AND l.order_id = o.id ` +
    `WHERE o.workspace_id = $1 AND o.status = 'placed' AND o.placed_at >= $2 AND o.placed_at < $3 GROUP BY l.currency, l.sku) t WHERE pos_rank <= $4 ORDER BY currency, pos_rank`,
  acquired:
    `SELECT source_channel AS channel, COALESCE(source_campaign, '') AS campaign, COUNT(*)::int AS n, COUNT(*) FILTER (WHERE stage IN (${customerList}))::int AS customers ` +
    `FROM rapport_contacts WHERE workspace_id = $1 AND first_seen_at >= $2 AND first_seen_at < $3 GROUP BY 1, 2`,
  revenue:
    `SELECT c.source_channel AS channel, COALESCE(c.source_campaign, '') AS campaign, o.currency, SUM(o.total_minor - o.refunded_minor)::text AS amount ` +
    `FROM rapport_contacts c JOIN rapport_orders o ON o.workspace_id = c.workspace_id AND o.contact_id = c.id AND o.status = 'placed' ` +
    `WHERE c.workspace_id = $1 AND c.first_seen_at >= $2 AND c.first_seen_at < $3 GROUP BY 1, 2, 3`,
  spend: `SELECT channel, campaign, currency, SUM(amount_minor)::text AS amount FROM rapport_channel_spend WHERE workspace_id = $1 AND month >= $2 AND month <= $3 GROUP BY 1, 2, 3`,
  funnelCounts:
    `WITH pos (stage, p) AS ${positions}, ` +
    `moved AS (SELECT e.contact_id, MAX(p.p) AS top FROM rapport_events e JOIN pos p ON p.stage IN (e.payload ->> 'from', e.payload ->> 'to') ` +
    `WHERE e.workspace_id = $1 AND e.type = 'contact.stage_changed' GROUP BY e.contact_id) ` +
    `SELECT ${pgMonth("c.first_seen_at")} AS cohort, c.stage, GREATEST(COALESCE(pc.p, -1), COALESCE(m.top, -1)) AS top, COUNT(*)::int AS n ` +
    `FROM rapport_contacts c LEFT JOIN pos pc ON pc.stage = c.stage LEFT JOIN moved m ON m.contact_id = c.id WHERE c.workspace_id = $1 GROUP BY 1, 2, 3`,
  funnelStays:
    `WITH s AS (SELECT ${pgMonth("c.first_seen_at")} AS cohort, e.payload ->> 'from' AS stage, ` +
    `CAST(ROUND(EXTRACT(EPOCH FROM (e.occurred_at - COALESCE(LAG(e.occurred_at) OVER (PARTITION BY e.contact_id ORDER BY e.occurred_at, e.id), c.first_seen_at))) * 1000) AS BIGINT) AS ms ` +
    `FROM rapport_events e JOIN rapport_contacts c ON c.workspace_id = e.workspace_id AND c.id = e.contact_id WHERE e.workspace_id = $1 AND e.type = 'contact.stage_changed') ` +
    `SELECT cohort, stage, COUNT(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms FROM s GROUP BY cohort, stage`
}

// --- the comparison

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

// A round times at least this long a run of calls of one side: a report that answers in about a
// millisecond (the segment's count over its index) is then the mean of many calls, GC pauses
// included, as an app counting it for every page view sees it.
const ROUND_MS = 200
// Such a report runs this long on each side before it is timed: Rapport's side (the Effect runtime,
// its statements) keeps getting faster for thousands of calls as V8 optimises it (at a million
// contacts on SQLite, a count per call over runs of 1,000 calls: 0.93, 0.83, 0.78, 0.75 ms after
// 1 s of calls), the driver's call from the first.
const WARM_MS = 5_000

const measure = async (
  dialect: Dialect,
  report: Report,
  rounds: number,
  rapport: () => Promise<Answer>,
  raw: () => Promise<Answer>,
  normalise: (answer: Answer) => Answer,
  plan: string
): Promise<Measurement> => {
  // The warm-up, which also checks the answers: a limit that answers something else is no limit.
  const mine = normalise(await rapport())
  const theirs = normalise(await raw())
  if (!same(mine, theirs)) {
    throw new Error(`${dialect}, ${report}: Rapport's answer differs from the hand-written one:\n  Rapport ${JSON.stringify(mine).slice(0, 2000)}\n  limit   ${JSON.stringify(theirs).slice(0, 2000)}`)
  }
  // Whether a report is fast enough for runs of calls: from the slower side's second call.
  const once = async (side: () => Promise<Answer>) => {
    const start = process.hrtime.bigint()
    await side()
    return ms(start)
  }
  const callsFor = (slowerMs: number) => Math.min(1_000, Math.max(1, Math.ceil(ROUND_MS / slowerMs)))
  let calls = callsFor(Math.max(await once(rapport), await once(raw)))
  // A report answered in milliseconds runs all day in an app, JIT-compiled: both sides warm up
  // first (a few calls would time the compiler at work on Rapport's side, not the driver's). The
  // calls per round then follow from the warm calls: a second call that read its pages from disk
  // (PostgreSQL at a million contacts: ~100 ms against ~25 ms warm) would leave 2 calls a round.
  if (calls > 1) {
    const perCall: Array<number> = []
    for (const side of [rapport, raw]) {
      const start = performance.now()
      let n = 0
      do {
        await side()
        n++
      } while (performance.now() < start + WARM_MS)
      perCall.push((performance.now() - start) / n)
    }
    calls = callsFor(Math.max(...perCall))
  }
  const rapportMs: Array<number> = []
  const rawMs: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    for (const side of i % 2 === 0 ? (["rapport", "raw"] as const) : (["raw", "rapport"] as const)) {
      const call = side === "rapport" ? rapport : raw
      // Each side's run starts from its own pages in the database's cache, as a report counted
      // often has them: on PostgreSQL both databases' pages do not fit its buffers together, and
      // whichever side ran last would otherwise find its pages there and the other side not.
      if (calls > 1) await call()
      const start = process.hrtime.bigint()
      for (let c = 0; c < calls; c++) await call()
      ;(side === "rapport" ? rapportMs : rawMs).push(ms(start) / calls)
    }
  }
  const [rapportMedianMs, rawMedianMs] = [median(rapportMs), median(rawMs)]
  const size = Array.isArray(mine) ? `${mine.length} rows` : `count ${String(mine)}`
  return { dialect, report, rapportMs, rawMs, rapportMedianMs, rawMedianMs, ratio: rapportMedianMs / rawMedianMs, size, plan, calls }
}

/** Each report on one database: Rapport's call, the limit's statements (run by `query`), and how both answers compare. */
const reports = (
  crm: CrmClient,
  segmentId: string,
  query: (statement: string, params: ReadonlyArray<string | number>) => Promise<ReadonlyArray<Record<string, unknown>>>,
  limit: Limit
) => {
  const spendParams = [WORKSPACE, "2025-01", "2025-12"]
  return {
    segment: {
      rapport: () => crm.segments.count({ segmentId }),
      raw: async () => Number((await query(limit.segment, [WORKSPACE, SEGMENT.colour, SEGMENT.visits]))[0]!["n"]),
      normalise: (a: Answer) => a,
      statements: [[limit.segment, [WORKSPACE, SEGMENT.colour, SEGMENT.visits]]] as const
    },
    topProducts: {
      rapport: () => crm.analytics.topProducts({ from: YEAR.from, to: YEAR.to, limit: 10 }),
      raw: async () => products((await query(limit.topProducts, [WORKSPACE, YEAR.from, YEAR.to, 10])) as unknown as Array<ProductRowRaw>),
      normalise: (a: Answer) => a,
      statements: [[limit.topProducts, [WORKSPACE, YEAR.from, YEAR.to, 10]]] as const
    },
    channels: {
      rapport: () => crm.analytics.channels({ from: YEAR.from, to: YEAR.to }),
      raw: async () =>
        channelReport(
          (await query(limit.acquired, [WORKSPACE, YEAR.from, YEAR.to])) as unknown as Array<AcquiredRaw>,
          (await query(limit.revenue, [WORKSPACE, YEAR.from, YEAR.to])) as unknown as Array<MoneyRaw>,
          (await query(limit.spend, spendParams)) as unknown as Array<MoneyRaw>
        ),
      // Rows of the same channel, campaign and currency; the order of NULL currencies is the dialect's.
      normalise: (a: Answer) => byKey(a as ReadonlyArray<unknown>, channelKey),
      statements: [[limit.acquired, [WORKSPACE, YEAR.from, YEAR.to]], [limit.revenue, [WORKSPACE, YEAR.from, YEAR.to]]] as const
    },
    funnel: {
      rapport: () => crm.analytics.funnel(),
      raw: async () =>
        funnelReport(
          (await query(limit.funnelCounts, [WORKSPACE])) as unknown as Array<FunnelCountRaw>,
          (await query(limit.funnelStays, [WORKSPACE])) as unknown as Array<FunnelStayRaw>
        ),
      normalise: (a: Answer) => a,
      statements: [[limit.funnelCounts, [WORKSPACE]], [limit.funnelStays, [WORKSPACE]]] as const
    }
  }
}

/** The two custom fields, through Rapport: both `indexed`, so Rapport makes its expression indexes. */
const defineFields = async (crm: CrmClient) => {
  await crm.fields.define({ key: "favouriteColour", type: "select", options: COLOURS, indexed: true })
  await crm.fields.define({ key: "visits", type: "number", indexed: true })
}

/** The segment the bench counts, saved as an app saves a segment it counts often: `indexed`. */
const saveSegment = async (crm: CrmClient) => (await crm.segments.create({ name: "red, many visits", condition, indexed: true })).id

const counts = (contacts: number) => `${contacts.toLocaleString("en-US")} contacts, ${(2 * contacts).toLocaleString("en-US")} orders`

const onSqlite = async (contacts: number, rounds: number, report: (line: string) => void) => {
  const filename = join(tmpdir(), `rapport-bench-analytics-${randomUUID().slice(0, 8)}.db`)
  const limitFile = filename.replace(/\.db$/, "-limit.db")
  const crm = await createCrm({ storage: sqliteStorage({ filename }), workspace: WORKSPACE })
  let db: Database.Database | undefined
  let mine: Database.Database | undefined
  try {
    await defineFields(crm)
    const segmentId = await saveSegment(crm)
    const start = process.hrtime.bigint()
    const loader = new Database(filename)
    let lines = 0
    let events = 0
    try {
      loader.pragma("journal_mode = WAL")
      loader.pragma("synchronous = NORMAL")
      loader.pragma("cache_size = -1048576")
      const insert = (table: string, columns: ReadonlyArray<string>) =>
        loader.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`)
      const [c, e, o, l, s] = [
        insert("rapport_contacts", CONTACT_COLUMNS), insert("rapport_events", EVENT_COLUMNS), insert("rapport_orders", ORDER_COLUMNS),
        insert("rapport_order_lines", LINE_COLUMNS), insert("rapport_channel_spend", SPEND_COLUMNS)
      ]
      const insertAll = loader.transaction((b: Batch) => {
        for (const row of b.contacts) c.run(row)
        for (const row of b.events) e.run(row)
        for (const row of b.orders) o.run(row)
        for (const row of b.lines) l.run(row)
      })
      for (const b of batches(contacts, 50_000)) {
        insertAll(b)
        lines += b.lines.length
        events += b.events.length
      }
      loader.transaction(() => spendRows().forEach((row) => s.run(row)))()
      loader.pragma("wal_checkpoint(TRUNCATE)")
    } finally {
      loader.close()
    }
    copyFileSync(filename, limitFile)
    const limitLoader = new Database(limitFile)
    try {
      for (const index of sqliteLimit.indexes) limitLoader.exec(index.ddl)
    } finally {
      limitLoader.close()
    }
    report(
      `  load         ${(ms(start) / 1000).toFixed(1)} s   (${counts(contacts)}, ${lines.toLocaleString("en-US")} lines, ${events.toLocaleString("en-US")} stage moves; ` +
        `better-sqlite3, prepared INSERTs, 50,000 contacts or orders per transaction, then a copy of the file for the limit and its indexes; not compared)`
    )
    for (const index of sqliteLimit.indexes) report(`  limit index  ${index.ddl.split(" ")[2]}: ${index.why}`)
    db = new Database(limitFile)
    db.pragma("journal_mode = WAL")
    mine = new Database(filename, { readonly: true })
    const cache = new Map<string, Database.Statement>()
    const prepared = (text: string) => cache.get(text) ?? cache.set(text, db!.prepare(text)).get(text)!
    // Numbered parameters (?1, ?2…), bound by number.
    const query = async (text: string, params: ReadonlyArray<string | number>) =>
      prepared(text).all(Object.fromEntries(params.map((p, i) => [i + 1, p]))) as Array<Record<string, unknown>>
    const explain = (on: Database.Database, text: string, params: ReadonlyArray<string | number>) =>
      on.prepare(`EXPLAIN QUERY PLAN ${text}`).all(Object.fromEntries(params.map((p, i) => [i + 1, p]))).map((p) => (p as { detail: string }).detail).join("; ")
    const all = reports(crm, segmentId, query, sqliteLimit)
    const measurements: Array<Measurement> = []
    for (const name of REPORTS) {
      const r = all[name]
      const plan = r.statements.map(([text, params]) => explain(db!, text, params)).join(" | ")
      const rapportPlan = name === "segment" ? explain(mine, sqliteLimit.rapportSegment, [WORKSPACE, SEGMENT.colour, SEGMENT.visits]) : undefined
      measurements.push({ ...(await measure("SQLite", name, rounds, r.rapport, r.raw, r.normalise, plan)), ...(rapportPlan === undefined ? {} : { rapportPlan }) })
      report(line(measurements.at(-1)!))
    }
    return measurements
  } finally {
    db?.close()
    mine?.close()
    await crm.close()
    for (const file of [filename, limitFile]) for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true })
  }
}

const onPostgres = async (adminUrl: string, contacts: number, rounds: number, report: (line: string) => void) => {
  const database = await freshDatabase(adminUrl)
  let limitDatabase: Awaited<ReturnType<typeof freshDatabase>> | undefined
  try {
    const loading = await createCrm({ storage: postgresStorage({ url: database.url }), workspace: WORKSPACE })
    let segmentId: string
    const start = process.hrtime.bigint()
    let lines = 0
    let events = 0
    let inserted: number
    const loader = postgres(database.url, { max: 2, onnotice: () => undefined })
    try {
      await defineFields(loading)
      segmentId = await saveSegment(loading)
      // At most 65,535 parameters per statement: rows per INSERT chosen by the table's column count.
      const inFlight = new Set<Promise<unknown>>()
      // JSON columns (JSONB here) are sent as JSON values, not as text that would become a JSON string.
      const JSON_COLUMNS = ["tags", "fields", "payload"]
      const jsonValues = (row: Row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, JSON_COLUMNS.includes(k) && typeof v === "string" ? loader.json(JSON.parse(v)) : v]))
      const write = async (table: string, columns: ReadonlyArray<string>, plain: ReadonlyArray<Row>) => {
        const rows = plain.map(jsonValues)
        const per = Math.floor(60_000 / columns.length)
        for (let i = 0; i < rows.length; i += per) {
          const done: Promise<unknown> = loader`INSERT INTO ${loader(table)} ${loader(rows.slice(i, i + per), ...columns)}`.then(() => inFlight.delete(done))
          inFlight.add(done)
          if (inFlight.size >= 2) await Promise.race(inFlight)
        }
      }
      for (const b of batches(contacts, 50_000)) {
        await write("rapport_contacts", CONTACT_COLUMNS, b.contacts)
        await write("rapport_events", EVENT_COLUMNS, b.events)
        await write("rapport_orders", ORDER_COLUMNS, b.orders)
        await write("rapport_order_lines", LINE_COLUMNS, b.lines)
        lines += b.lines.length
        events += b.events.length
      }
      await write("rapport_channel_spend", SPEND_COLUMNS, spendRows())
      await Promise.all(inFlight)
      inserted = ms(start) / 1000
    } finally {
      await loader.end()
      await loading.close()
    }
    // The limit's copy: no session may be connected to the database a copy is made from.
    limitDatabase = await freshDatabase(adminUrl, database.url)
    const crm = await createCrm({ storage: postgresStorage({ url: database.url }), workspace: WORKSPACE })
    const sql = postgres(limitDatabase.url, { max: 2, onnotice: () => undefined })
    const mine = postgres(database.url, { max: 1, onnotice: () => undefined })
    try {
      for (const index of pgLimit.indexes) await sql.unsafe(index.ddl)
      // What autovacuum would do soon after such a load, done now so it does not run mid-measurement.
      await sql`VACUUM ANALYZE`
      await mine`VACUUM ANALYZE`
      report(
        `  load         ${(ms(start) / 1000).toFixed(1)} s   (${counts(contacts)}, ${lines.toLocaleString("en-US")} lines, ${events.toLocaleString("en-US")} stage moves; ` +
          `postgres.js multi-row INSERTs, 2 in flight: ${inserted.toFixed(1)} s; then a copy of the database for the limit (CREATE DATABASE … TEMPLATE) ` +
          `and its indexes, VACUUM ANALYZE on both; not compared)`
      )
      for (const index of pgLimit.indexes) report(`  limit index  ${index.ddl.split(" ")[2]}: ${index.why}`)
      const query = async (text: string, params: ReadonlyArray<string | number>) =>
        (await sql.unsafe(text, params as Array<string | number>, { prepare: true })) as unknown as Array<Record<string, unknown>>
      const explain = async (on: postgres.Sql, text: string, params: ReadonlyArray<string | number>) =>
        (await on.unsafe<Array<{ "QUERY PLAN": string }>>(`EXPLAIN ${text}`, [...params])).map((p) => p["QUERY PLAN"].trim()).join("; ")
      const all = reports(crm, segmentId, query, pgLimit)
      const measurements: Array<Measurement> = []
      for (const name of REPORTS) {
        const r = all[name]
        const plans: Array<string> = []
        for (const [text, params] of r.statements) plans.push(await explain(sql, text, params))
        const rapportPlan = name === "segment" ? await explain(mine, pgLimit.rapportSegment, [WORKSPACE, SEGMENT.colour, SEGMENT.visits]) : undefined
        measurements.push({ ...(await measure("PostgreSQL", name, rounds, r.rapport, r.raw, r.normalise, plans.join(" | "))), ...(rapportPlan === undefined ? {} : { rapportPlan }) })
        report(line(measurements.at(-1)!))
      }
      return measurements
    } finally {
      await sql.end()
      await mine.end()
      await crm.close()
    }
  } finally {
    await limitDatabase?.drop()
    await database.drop()
  }
}

const range = (values: ReadonlyArray<number>) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`

export const line = (m: Measurement) =>
  `  ${m.report.padEnd(12)} Rapport ${m.rapportMedianMs.toFixed(1).padStart(8)} ms (${range(m.rapportMs)})   ` +
  `limit ${m.rawMedianMs.toFixed(1).padStart(8)} ms (${range(m.rawMs)})   ratio ${m.ratio.toFixed(2)}x   equal: yes   ` +
  `(${m.size}; ${m.calls === 1 ? "" : `${m.calls} calls per round; `}rounds ${m.rapportMs.map((r, i) => (r / m.rawMs[i]!).toFixed(2)).join(", ")})\n` +
  (m.rapportPlan === undefined ? "" : `               plan, Rapport: ${m.rapportPlan}\n`) +
  `               plan, limit: ${m.plan}`

/** SQLite, then PostgreSQL (or only those listed); lines are reported as they come. */
export const run = async (
  adminUrl: string,
  contacts: number,
  rounds: number,
  report: (line: string) => void,
  dialects: ReadonlyArray<Dialect> = ["SQLite", "PostgreSQL"]
) => {
  const measurements: Array<Measurement> = []
  if (dialects.includes("SQLite")) {
    report("SQLite (better-sqlite3)")
    measurements.push(...(await onSqlite(contacts, rounds, report)))
  }
  if (dialects.includes("PostgreSQL")) {
    report("PostgreSQL (raw side: postgres.js; Rapport: @effect/sql-pg, i.e. node-postgres)")
    measurements.push(...(await onPostgres(adminUrl, contacts, rounds, report)))
  }
  return measurements
}
