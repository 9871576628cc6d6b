// The analytics reports (issue 16): each one statement, computed by the database, written once for
// both dialects with `onDialectOrElse` where they differ (months of an instant, durations, JSON
// values, code-point ordering of plain TEXT columns). Everything the caller passes is bound; the
// only literal text is positions this module numbers itself.
import type { Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Bool, Int, Text } from "./columns.js"
import { openedFragment } from "./opens.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

/** A number the driver may give as text (PostgreSQL's NUMERIC, from AVG or SUM), or null. */
const Num = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const n = Number(u)
    return Number.isFinite(n) ? ParseResult.succeed(n) : ParseResult.fail(new ParseResult.Type(ast, u, "not a finite number"))
  },
  encode: ParseResult.succeed
})
const NullableNum = Schema.NullOr(Num)
const NullableInt = Schema.NullOr(Int)

const renamed = <S extends Schema.Schema.All>(schema: S, column: string) => Schema.propertySignature(schema).pipe(Schema.fromKey(column))

const CustomerRow = Schema.Struct({
  rank: renamed(Int, "pos_rank"),
  contactId: renamed(Schema.String, "contact_id"),
  currency: Schema.String,
  revenueMinor: renamed(Int, "revenue"),
  orders: renamed(Int, "orders_n"),
  marginMinor: renamed(Int, "margin"),
  uncostedLines: renamed(Int, "uncosted")
})

const ProductRow = Schema.Struct({
  rank: renamed(Int, "pos_rank"),
  sku: Schema.String,
  name: Schema.String,
  currency: Schema.String,
  revenueMinor: renamed(Int, "revenue"),
  quantity: renamed(Int, "quantity"),
  marginMinor: renamed(Int, "margin"),
  uncostedQuantity: renamed(Int, "uncosted")
})

const ChannelRow = Schema.Struct({
  channel: Schema.String,
  campaign: Schema.String,
  acquired: Int,
  customers: Int,
  customerShare: renamed(NullableNum, "customer_share"),
  currency: Text,
  revenueMinor: renamed(Int, "revenue"),
  spendMinor: renamed(Int, "spend"),
  costPerCustomerMinor: renamed(NullableInt, "cost_per_customer")
})

const FunnelRow = Schema.Struct({
  cohort: Schema.String,
  stage: Schema.String,
  position: renamed(Int, "pos"),
  current: renamed(Int, "current_n"),
  reached: renamed(Int, "reached_n"),
  stays: renamed(Int, "stays_n"),
  medianMs: renamed(NullableNum, "median_ms"),
  conversion: NullableNum
})

const AvatarRow = Schema.Struct({
  dimension: Schema.Literal("channel", "field"),
  field: Text,
  value: renamed(Schema.String, "val"),
  contacts: renamed(Int, "contacts_n"),
  customers: renamed(Int, "customers_n"),
  totalContacts: renamed(Int, "total_contacts"),
  totalCustomers: renamed(Int, "total_customers"),
  lift: NullableNum
})

const RuleRow = Schema.Struct({
  ruleId: renamed(Schema.String, "rule_id"),
  name: Schema.String,
  enabled: Bool,
  variant: Text,
  fired: Int,
  sent: Int,
  opened: Int,
  converted: Int,
  conversionRate: renamed(NullableNum, "conversion_rate")
})

export const makeAnalytics = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment): Storage.AnalyticsRepository => {
  const { all } = makeTables(sql)

  // Plain TEXT columns (channels, campaigns, variants) sort by code point on both dialects: SQLite
  // compares bytes (BINARY), PostgreSQL would use the database's collation without `COLLATE "C"`.
  const codePoint = (expr: string) => sql.literal(sql.onDialectOrElse({ pg: () => `${expr} COLLATE "C"`, orElse: () => expr }))
  // The UTC month of an instant column (ISO text on SQLite, TIMESTAMPTZ on PostgreSQL) as a key to
  // group by, and the key's YYYY-MM label. PostgreSQL groups the truncated instant and makes the
  // text once per cohort, not once per contact.
  const monthKey = (column: string) =>
    sql.literal(sql.onDialectOrElse({ pg: () => `date_trunc('month', ${column} AT TIME ZONE 'UTC')`, orElse: () => `substr(${column}, 1, 7)` }))
  const monthLabel = (key: string) => sql.literal(sql.onDialectOrElse({ pg: () => `to_char(${key}, 'YYYY-MM')`, orElse: () => key }))
  // Whole milliseconds from one instant column to another.
  const millisBetween = (from: string, to: string) =>
    sql.literal(
      sql.onDialectOrElse({
        pg: () => `CAST(ROUND(EXTRACT(EPOCH FROM (${to} - ${from})) * 1000) AS BIGINT)`,
        orElse: () => `CAST(ROUND((julianday(${to}) - julianday(${from})) * 86400000) AS INTEGER)`
      })
    )
  // `column IN (values)`, false for no values (an empty IN list is not SQL).
  const among = (column: string, values: ReadonlyArray<string>) => (values.length === 0 ? sql`1 = 0` : sql`${sql.literal(column)} IN ${sql.in(values)}`)

  // The orders a revenue report reads: placed (not cancelled) in [from, to), of one currency when given.
  const periodOrders = (ws: string, q: Storage.RevenueQuery) =>
    sql`SELECT id, contact_id, currency, total_minor - refunded_minor AS net, refunded_minor
        FROM rapport_orders
        WHERE workspace_id = ${ws} AND status = 'placed' AND placed_at >= ${instant(q.from)} AND placed_at < ${instant(q.to)}
          ${q.currency === undefined ? sql`` : sql`AND currency = ${q.currency}`}`

  const topCustomers: Storage.AnalyticsRepository["topCustomers"] = (ws, q) =>
    all(CustomerRow)(
      sql`WITH o AS (${periodOrders(ws, q)}),
          lm AS (
            SELECT l.order_id,
                   SUM(CASE WHEN l.unit_cost_minor IS NULL THEN 0 ELSE l.quantity * (l.unit_price_minor - l.unit_cost_minor) END) AS margin,
                   SUM(CASE WHEN l.unit_cost_minor IS NULL THEN 1 ELSE 0 END) AS uncosted
            FROM rapport_order_lines l JOIN o ON l.order_id = o.id
            WHERE l.workspace_id = ${ws}
            GROUP BY l.order_id
          ),
          per AS (
            SELECT o.contact_id, o.currency, COUNT(*) AS orders_n, SUM(o.net) AS revenue,
                   SUM(lm.margin) - SUM(o.refunded_minor) AS margin, SUM(lm.uncosted) AS uncosted
            FROM o JOIN lm ON lm.order_id = o.id
            GROUP BY o.contact_id, o.currency
          ),
          ranked AS (
            SELECT per.*, ROW_NUMBER() OVER (PARTITION BY currency ORDER BY revenue DESC, contact_id) AS pos_rank FROM per
          )
          SELECT * FROM ranked WHERE pos_rank <= ${q.limit} ORDER BY currency, pos_rank`
    )

  const topProducts: Storage.AnalyticsRepository["topProducts"] = (ws, q) =>
    all(ProductRow)(
      sql`WITH o AS (${periodOrders(ws, q)}),
          per AS (
            SELECT l.sku, MAX(l.name) AS name, l.currency, SUM(l.quantity) AS quantity,
                   SUM(l.quantity * l.unit_price_minor) AS revenue,
                   SUM(CASE WHEN l.unit_cost_minor IS NULL THEN 0 ELSE l.quantity * (l.unit_price_minor - l.unit_cost_minor) END) AS margin,
                   SUM(CASE WHEN l.unit_cost_minor IS NULL THEN l.quantity ELSE 0 END) AS uncosted
            FROM rapport_order_lines l JOIN o ON l.order_id = o.id
            WHERE l.workspace_id = ${ws}
            GROUP BY l.sku, l.currency
          ),
          ranked AS (
            SELECT per.*, ROW_NUMBER() OVER (PARTITION BY currency ORDER BY revenue DESC, sku) AS pos_rank FROM per
          )
          SELECT * FROM ranked WHERE pos_rank <= ${q.limit} ORDER BY currency, pos_rank`
    )

  // The contacts first seen in the period are read by each part that needs them, as the limit's
  // two statements do: counted per channel and campaign, and joined to their orders for the
  // revenue. One common table of them, read by both parts, is materialized by PostgreSQL, and a
  // scan of it cannot run in parallel workers: one process then read the contacts, stored them and
  // joined them to two million orders alone, and the table's estimates (40,000 groups for 15) took
  // the cost past the JIT's optimising threshold (0.76 s compiling). At 1,000,000 contacts
  // (PostgreSQL 15, medians of 7): 2.1 s against the limit's 0.87 s; read by each part, the plan
  // is the limit's (parallel scans, a parallel hash join, partial aggregates): 0.96 s. SQLite
  // already read the common table in place: the same plan, 1.8 s against the limit's 1.7 s.
  const channels: Storage.AnalyticsRepository["channels"] = (ws, q) => {
    const acquiredIn = sql`c.workspace_id = ${ws} AND c.first_seen_at >= ${instant(q.from)} AND c.first_seen_at < ${instant(q.to)}`
    return all(ChannelRow)(
      sql`WITH grouped AS (
            SELECT c.source_channel AS channel, COALESCE(c.source_campaign, '') AS campaign, COUNT(*) AS acquired,
                   SUM(CASE WHEN ${among("c.stage", q.customerStages)} THEN 1 ELSE 0 END) AS customers
            FROM rapport_contacts c
            WHERE ${acquiredIn}
            GROUP BY c.source_channel, COALESCE(c.source_campaign, '')
          ),
          revenue AS (
            SELECT c.source_channel AS channel, COALESCE(c.source_campaign, '') AS campaign, o.currency, SUM(o.total_minor - o.refunded_minor) AS revenue
            FROM rapport_contacts c JOIN rapport_orders o ON o.workspace_id = c.workspace_id AND o.contact_id = c.id AND o.status = 'placed'
            WHERE ${acquiredIn}
            GROUP BY c.source_channel, COALESCE(c.source_campaign, ''), o.currency
          ),
          spend AS (
            SELECT channel, campaign, currency, SUM(amount_minor) AS spend FROM rapport_channel_spend
            WHERE workspace_id = ${ws} AND month >= ${q.spendFrom} AND month <= ${q.spendTo}
            GROUP BY channel, campaign, currency
          ),
          keyed AS (SELECT channel, campaign FROM grouped UNION SELECT channel, campaign FROM spend),
          currencies AS (SELECT channel, campaign, currency FROM revenue UNION SELECT channel, campaign, currency FROM spend)
          SELECT k.channel, k.campaign, COALESCE(g.acquired, 0) AS acquired, COALESCE(g.customers, 0) AS customers,
                 CASE WHEN COALESCE(g.acquired, 0) = 0 THEN NULL ELSE CAST(g.customers AS DOUBLE PRECISION) / g.acquired END AS customer_share,
                 m.currency,
                 COALESCE(r.revenue, 0) AS revenue, COALESCE(s.spend, 0) AS spend,
                 CASE WHEN COALESCE(g.customers, 0) = 0 THEN NULL
                      ELSE (2 * CAST(COALESCE(s.spend, 0) AS BIGINT) + CAST(g.customers AS BIGINT)) / (2 * CAST(g.customers AS BIGINT)) END AS cost_per_customer
          FROM keyed k
          LEFT JOIN grouped g ON g.channel = k.channel AND g.campaign = k.campaign
          LEFT JOIN currencies m ON m.channel = k.channel AND m.campaign = k.campaign
          LEFT JOIN revenue r ON r.channel = m.channel AND r.campaign = m.campaign AND r.currency = m.currency
          LEFT JOIN spend s ON s.channel = m.channel AND s.campaign = m.campaign AND s.currency = m.currency
          ORDER BY ${codePoint("k.channel")}, ${codePoint("k.campaign")}, m.currency`
    ).pipe(Effect.map((rows) => rows.map((r) => ({ ...r, campaign: r.campaign === "" ? null : r.campaign }))))
  }

  // The funnel's estimated cost passes PostgreSQL's JIT thresholds (110,000 at 100,000 contacts,
  // 1.3 million at a million: past those for inlining and optimising too), and compiling costs more
  // than it saves on a statement run once: 1.0 s instead of 0.5 s at 100,000 contacts (the former
  // statement spent 1.4 s of a 1.9 s run compiling at 20,000). The statement runs without JIT, in a
  // transaction that scopes the setting to it.
  const withoutJit = <A, E>(statement: Effect.Effect<A, E>) =>
    sql.onDialectOrElse({
      pg: () => sql.withTransaction(Effect.zipRight(sql`SET LOCAL jit = off`, statement)),
      orElse: () => statement
    })

  // The position of a stage (a text expression) among the lifecycle's, NULL for any other: a CASE
  // costs less per move and per contact than a join with the stages.
  const positionOf = (expr: string, stages: ReadonlyArray<string>) =>
    sql`CASE ${sql.literal(expr)} ${sql.join(" ", false)(stages.map((stage, i) => sql`WHEN ${stage} THEN ${sql.literal(String(i))}`))} END`
  // The greater of two positions, either of which may be NULL (none known): NULL or -1 when both
  // are, which no stage's position reaches either way.
  const furthestOf = (a: Statement.Fragment, b: Statement.Fragment) =>
    sql.onDialectOrElse({ pg: () => sql`GREATEST(${a}, ${b})`, orElse: () => sql`MAX(COALESCE(${a}, -1), COALESCE(${b}, -1))` })
  const movedStage = (key: "from" | "to") =>
    sql.onDialectOrElse({ pg: () => `e.payload ->> '${key}'`, orElse: () => `json_extract(e.payload, '$.${key}')` })
  // The stage moves, `e`, through their partial index. SQLite has no statistics to tell it that
  // stage moves are few among events, and would as soon walk every event of the workspace through
  // rapport_events_contact_id, reading each row to test its type: 5.0 s instead of 0.76 s with
  // 100,000 contacts and a million other events. PostgreSQL weighs both from its statistics.
  const stageMoves = sql.literal(
    sql.onDialectOrElse({ pg: () => "rapport_events e", orElse: () => "rapport_events e INDEXED BY rapport_events_stage_moves" })
  )

  // One statement, so one snapshot, reading the stage moves twice, each time in the shape that is
  // cheap for it. The furthest position per contact is one aggregate over the moves; joined to the
  // contacts, it is counted per cohort, current stage and furthest stage, a few rows per cohort that
  // `reached` and `in_stage` then sum (not a row per contact and stage reached, nor a union of every
  // stage each contact was in). The stays can read the moves in the partial index's order (contact,
  // time), which is the order of the window that finds when each stay began: only the median sorts.
  const funnel: Storage.AnalyticsRepository["funnel"] = (ws, q) => {
    if (q.stages.length === 0) return Effect.succeed([])
    const inCohorts = sql`${q.cohortFrom === undefined ? sql`` : sql`AND c.first_seen_at >= ${instant(q.cohortFrom)}`}
      ${q.cohortTo === undefined ? sql`` : sql`AND c.first_seen_at < ${instant(q.cohortTo)}`}`
    // The median: PostgreSQL's percentile_cont (the middle length, or the mean of the two middle
    // ones, exact for whole milliseconds) sorts each group on its own; elsewhere the middle rows of
    // one sort, whose two window functions share it.
    const medians = sql.onDialectOrElse({
      pg: () =>
        sql`medians AS (
              SELECT month, stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms, COUNT(*) AS stays_n
              FROM stays GROUP BY month, stage
            )`,
      orElse: () =>
        sql`ranked AS (
              SELECT month, stage, ms, ROW_NUMBER() OVER w AS rn, COUNT(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
              FROM stays
              WINDOW w AS (PARTITION BY month, stage ORDER BY ms)
            ),
            medians AS (
              SELECT month, stage, AVG(ms) AS median_ms, MAX(n) AS stays_n FROM ranked
              WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2
              GROUP BY month, stage
            )`
    })
    return all(FunnelRow)(withoutJit(
      sql`WITH stages (stage, pos) AS (VALUES ${sql.csv(q.stages.map((stage, i) => sql`(${stage}, ${sql.literal(String(i))})`))}),
          -- The furthest stage each contact that moved went through (from or to).
          moved AS (
            SELECT e.contact_id, MAX(${furthestOf(positionOf(movedStage("from"), q.stages), positionOf(movedStage("to"), q.stages))}) AS top
            FROM ${stageMoves}
            WHERE e.workspace_id = ${ws} AND e.type = 'contact.stage_changed'
            GROUP BY e.contact_id
          ),
          -- Contacts per cohort, current stage and furthest stage, now or through a move.
          tally AS (
            SELECT month, stage, top, COUNT(*) AS n
            FROM (
              SELECT ${monthKey("c.first_seen_at")} AS month, c.stage, ${furthestOf(positionOf("c.stage", q.stages), sql`m.top`)} AS top
              FROM rapport_contacts c LEFT JOIN moved m ON m.contact_id = c.id
              WHERE c.workspace_id = ${ws} ${inCohorts}
            ) k
            GROUP BY month, stage, top
          ),
          -- Every completed stay: it began at the previous move (or when the contact was first
          -- seen) and ended with this move out of it.
          stays AS (
            SELECT ${monthKey("c.first_seen_at")} AS month, ${sql.literal(movedStage("from"))} AS stage,
                   ${millisBetween("COALESCE(LAG(e.occurred_at) OVER (PARTITION BY e.contact_id ORDER BY e.occurred_at, e.id), c.first_seen_at)", "e.occurred_at")} AS ms
            FROM ${stageMoves} JOIN rapport_contacts c ON c.workspace_id = ${ws} AND c.id = e.contact_id ${inCohorts}
            WHERE e.workspace_id = ${ws} AND e.type = 'contact.stage_changed'
          ),
          ${medians},
          reached AS (
            SELECT t.month, s.pos, CAST(SUM(t.n) AS BIGINT) AS n FROM tally t JOIN stages s ON s.pos <= t.top GROUP BY t.month, s.pos
          ),
          in_stage AS (SELECT month, stage, CAST(SUM(n) AS BIGINT) AS n FROM tally GROUP BY month, stage),
          cohorts AS (SELECT DISTINCT month FROM tally),
          base AS (
            SELECT c.month, s.stage, s.pos, COALESCE(i.n, 0) AS current_n, COALESCE(r.n, 0) AS reached_n,
                   COALESCE(m.stays_n, 0) AS stays_n, m.median_ms
            FROM cohorts c CROSS JOIN stages s
            LEFT JOIN in_stage i ON i.month = c.month AND i.stage = s.stage
            LEFT JOIN reached r ON r.month = c.month AND r.pos = s.pos
            LEFT JOIN medians m ON m.month = c.month AND m.stage = s.stage
          )
          SELECT ${monthLabel("month")} AS cohort, stage, pos, current_n, reached_n, stays_n, median_ms,
                 CASE WHEN reached_n = 0 OR LEAD(reached_n) OVER w IS NULL THEN NULL
                      ELSE CAST(LEAD(reached_n) OVER w AS DOUBLE PRECISION) / reached_n END AS conversion
          FROM base
          WINDOW w AS (PARTITION BY month ORDER BY pos)
          ORDER BY cohort, pos`
    ))
  }

  const avatar: Storage.AnalyticsRepository["avatar"] = (ws, q) => {
    // A field's value as text, for values a select, boolean or text field holds (others: none).
    const fieldValues =
      q.fields.length === 0
        ? sql``
        : sql.onDialectOrElse({
            pg: () =>
              sql`UNION ALL
                  SELECT 'field', k.field_key, b.fields ->> k.field_key, b.customer
                  FROM base b CROSS JOIN (VALUES ${sql.csv(q.fields.map((key) => sql`(${key})`))}) AS k (field_key)
                  WHERE jsonb_typeof(b.fields -> k.field_key) IN ('string', 'boolean', 'number')`,
            // The path is built from the key the caller checked against the field registry
            // (letters, digits and _), and bound.
            orElse: () =>
              sql`UNION ALL
                  SELECT 'field', k.field_key,
                         CASE json_type(b.fields, k.path) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                              ELSE CAST(json_extract(b.fields, k.path) AS TEXT) END,
                         b.customer
                  FROM base b CROSS JOIN keys k
                  WHERE json_type(b.fields, k.path) IN ('text', 'true', 'false', 'integer', 'real')`
          })
    const keys = sql.onDialectOrElse({
      pg: () => sql``,
      orElse: () => (q.fields.length === 0 ? sql`` : sql`keys (field_key, path) AS (VALUES ${sql.csv(q.fields.map((key) => sql`(${key}, ${`$."${key}"`})`))}),`)
    })
    return all(AvatarRow)(
      sql`WITH ${keys}
          base AS (
            SELECT source_channel, fields, CASE WHEN ${among("stage", q.customerStages)} THEN 1 ELSE 0 END AS customer
            FROM rapport_contacts WHERE workspace_id = ${ws}
          ),
          totals AS (SELECT COUNT(*) AS total_contacts, COALESCE(SUM(customer), 0) AS total_customers FROM base),
          vals (dimension, field, val, customer) AS (
            SELECT 'channel', CAST(NULL AS TEXT), source_channel, customer FROM base
            ${fieldValues}
          ),
          counted AS (
            SELECT dimension, field, val, COUNT(*) AS contacts_n, SUM(customer) AS customers_n,
                   COUNT(*) OVER (PARTITION BY dimension, field) AS distinct_n
            FROM vals GROUP BY dimension, field, val
          )
          SELECT c.dimension, c.field, c.val, c.contacts_n, c.customers_n, t.total_contacts, t.total_customers,
                 CASE WHEN t.total_customers = 0 THEN NULL
                      ELSE CAST(c.customers_n * t.total_contacts AS DOUBLE PRECISION) / (c.contacts_n * t.total_customers) END AS lift
          FROM counted c CROSS JOIN totals t
          WHERE c.dimension = 'channel' OR c.distinct_n <= ${q.maxValues}`
    )
  }

  const rules: Storage.AnalyticsRepository["rules"] = (ws, q) =>
    all(RuleRow)(
      sql`WITH f AS (
            SELECT rule_id, variant, COUNT(*) AS fired, COUNT(converted_at) AS converted
            FROM rapport_rule_firings WHERE workspace_id = ${ws} GROUP BY rule_id, variant
          ),
          s AS (
            SELECT j.rule_id, j.variant, COUNT(*) AS sent,
                   SUM(CASE WHEN j.status = 'done' AND ${openedFragment(sql)} THEN 1 ELSE 0 END) AS opened
            FROM rapport_jobs j
            WHERE j.workspace_id = ${ws} AND ${among("j.status", q.sentStatuses)} AND ${among("j.action_type", q.sentActionTypes)}
            GROUP BY j.rule_id, j.variant
          ),
          k AS (SELECT rule_id, variant FROM f UNION SELECT rule_id, variant FROM s)
          SELECT r.id AS rule_id, r.name, r.enabled, k.variant,
                 COALESCE(f.fired, 0) AS fired, COALESCE(s.sent, 0) AS sent, COALESCE(s.opened, 0) AS opened, COALESCE(f.converted, 0) AS converted,
                 CASE WHEN COALESCE(f.fired, 0) = 0 THEN NULL ELSE CAST(f.converted AS DOUBLE PRECISION) / f.fired END AS conversion_rate
          FROM rapport_rules r
          LEFT JOIN k ON k.rule_id = r.id
          LEFT JOIN f ON f.rule_id = k.rule_id AND f.variant IS NOT DISTINCT FROM k.variant
          LEFT JOIN s ON s.rule_id = k.rule_id AND s.variant IS NOT DISTINCT FROM k.variant
          WHERE r.workspace_id = ${ws}
          ORDER BY r.id, ${codePoint("k.variant")} NULLS FIRST`
    )

  const recordSpend: Storage.AnalyticsRepository["recordSpend"] = (spend) =>
    orStorage(
      Effect.asVoid(
        sql`INSERT INTO rapport_channel_spend (workspace_id, channel, campaign, month, currency, amount_minor, recorded_at)
            VALUES (${spend.workspaceId}, ${spend.channel}, ${spend.campaign ?? ""}, ${spend.month}, ${spend.currency}, ${spend.amountMinor}, ${DateTime.formatIso(spend.recordedAt)})
            ON CONFLICT (workspace_id, channel, campaign, month, currency)
            DO UPDATE SET amount_minor = excluded.amount_minor, recorded_at = excluded.recorded_at`
      )
    )

  return { topCustomers, topProducts, channels, funnel, avatar, rules, recordSpend }
}
