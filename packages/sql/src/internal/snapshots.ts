// The weighted pipeline's daily history and contacts' RFM scores (issue 16), written once for both
// dialects. A day is recorded with its marker row in one transaction: the marker's primary key is
// what makes a day recorded once, by however many dispatchers. RFM is one statement that ranks
// every contact's placed orders with window functions and writes the quintiles.
import type { Errors, Ids, Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Instant, Int } from "./columns.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const renamed = <S extends Schema.Schema.All>(schema: S, column: string) => Schema.propertySignature(schema).pipe(Schema.fromKey(column))

const SnapshotRow = Schema.Struct({
  day: Schema.String,
  pipelineId: renamed(Schema.String, "pipeline_id"),
  stage: Schema.String,
  currency: Schema.String,
  count: renamed(Int, "deal_count"),
  amountMinor: renamed(Schema.BigInt, "amount"),
  weighted: renamed(Schema.BigInt, "weighted")
})

const DayRow = Schema.Struct({ day: Schema.String })

const RfmRow = Schema.Struct({
  contactId: renamed(Schema.String, "contact_id"),
  recency: Int,
  frequency: Int,
  monetary: Int,
  lastOrderAt: renamed(Schema.compose(Instant, Schema.DateTimeUtc), "last_order_at"),
  orderCount: renamed(Int, "order_count"),
  computedAt: renamed(Schema.compose(Instant, Schema.DateTimeUtc), "computed_at")
})

const BucketRow = Schema.Struct({ dimension: Schema.Literal("recency", "frequency", "monetary"), score: Int, contacts: renamed(Int, "n") })

const WorkspaceRow = Schema.Struct({ id: Schema.String })

const CountRow = Schema.Struct({ n: Int })

export const makeSnapshots = (
  sql: SqlClient.SqlClient,
  instant: (value: DateTime.Utc) => Statement.Fragment,
  transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Errors.StorageError, R>
): Storage.SnapshotRepository => {
  const { all, first } = makeTables(sql)

  // The quintile of a value's rank among n: 1 + (rank − 1) × 5 ÷ n, in integer arithmetic on both
  // dialects. RANK gives equal values the same rank, so equal values share a score (NTILE would
  // split a run of equal values across two scores, by whatever order it met them in).
  const quintile = (order: string, partition = "") =>
    sql.literal(`1 + ((RANK() OVER (${partition} ORDER BY ${order}) - 1) * 5) / COUNT(*) OVER (${partition})`)

  return {
    hasDay: (ws, day) =>
      Effect.map(first(DayRow)(sql`SELECT day FROM rapport_pipeline_snapshot_days WHERE workspace_id = ${ws} AND day = ${day}`), Option.isSome),

    recordDay: (ws, day, takenAt, rows) =>
      transaction(
        Effect.gen(function* () {
          const marked = yield* all(DayRow)(
            sql`INSERT INTO rapport_pipeline_snapshot_days (workspace_id, day, taken_at) VALUES (${ws}, ${day}, ${DateTime.formatIso(takenAt)})
                ON CONFLICT (workspace_id, day) DO NOTHING RETURNING day`
          )
          if (marked.length === 0) return false
          if (rows.length > 0) {
            yield* orStorage(
              sql`INSERT INTO rapport_pipeline_snapshots ${sql.insert(
                rows.map((r) => ({
                  workspace_id: ws,
                  day,
                  pipeline_id: r.pipelineId,
                  stage: r.stage,
                  currency: r.currency,
                  deal_count: r.count,
                  // Bound as text: bigint parameters are not taken by every driver; both dialects convert.
                  amount_minor: r.amountMinor.toString(),
                  weighted_hundredths: r.weighted.toString()
                }))
              )}`
            )
          }
          return true
        })
      ),

    history: (ws, q) =>
      Effect.gen(function* () {
        const days = yield* all(DayRow)(
          sql`SELECT day FROM rapport_pipeline_snapshot_days WHERE workspace_id = ${ws} AND day >= ${q.from} AND day <= ${q.to} ORDER BY day`
        )
        const rows = yield* all(SnapshotRow)(
          sql`SELECT day, pipeline_id, stage, currency, deal_count, CAST(amount_minor AS TEXT) AS amount, CAST(weighted_hundredths AS TEXT) AS weighted
              FROM rapport_pipeline_snapshots
              WHERE workspace_id = ${ws} AND day >= ${q.from} AND day <= ${q.to} ${q.pipelineId === undefined ? sql`` : sql`AND pipeline_id = ${q.pipelineId}`}
              ORDER BY day, pipeline_id, stage, currency`
        )
        return { days: days.map((d) => d.day), rows }
      }),

    refreshRfm: (ws, computedAt) =>
      transaction(
        Effect.gen(function* () {
          yield* orStorage(sql`DELETE FROM rapport_contact_rfm WHERE workspace_id = ${ws}`)
          // Per contact and currency first (money of two currencies is never added), then per contact.
          yield* orStorage(sql`
            WITH per_currency AS (
              SELECT contact_id, currency, SUM(total_minor - refunded_minor) AS net, COUNT(*) AS n, MAX(placed_at) AS last_at
              FROM rapport_orders o WHERE workspace_id = ${ws} AND status = 'placed'
                -- Orders kept after their contact was deleted score nobody.
                AND EXISTS (SELECT 1 FROM rapport_contacts c WHERE c.workspace_id = o.workspace_id AND c.id = o.contact_id)
              GROUP BY contact_id, currency
            ),
            money AS (
              SELECT contact_id, MAX(score) AS monetary
              FROM (SELECT contact_id, ${quintile("net", "PARTITION BY currency")} AS score FROM per_currency) scored
              GROUP BY contact_id
            ),
            per_contact AS (
              SELECT contact_id, SUM(n) AS n, MAX(last_at) AS last_at FROM per_currency GROUP BY contact_id
            )
            INSERT INTO rapport_contact_rfm (workspace_id, contact_id, recency, frequency, monetary, last_order_at, order_count, computed_at)
            SELECT ${ws}, p.contact_id, ${quintile("p.last_at")}, ${quintile("p.n")}, m.monetary, p.last_at, p.n, ${instant(computedAt)}
            FROM per_contact p JOIN money m ON m.contact_id = p.contact_id`)
          const counted = yield* first(CountRow)(sql`SELECT COUNT(*) AS n FROM rapport_contact_rfm WHERE workspace_id = ${ws}`)
          return Option.match(counted, { onNone: () => 0, onSome: (r) => r.n })
        })
      ),

    removeForContact: (ws, contactId) => orStorage(Effect.asVoid(sql`DELETE FROM rapport_contact_rfm WHERE workspace_id = ${ws} AND contact_id = ${contactId}`)),

    rfm: (ws, contactId) =>
      Effect.map(
        first(RfmRow)(
          sql`SELECT contact_id, recency, frequency, monetary, last_order_at, order_count, computed_at
              FROM rapport_contact_rfm WHERE workspace_id = ${ws} AND contact_id = ${contactId}`
        ),
        Option.map((r): Storage.RfmRow => ({ ...r, contactId: r.contactId as Ids.ContactId }))
      ),

    rfmDistribution: (ws) =>
      all(BucketRow)(
        sql`SELECT 'recency' AS dimension, recency AS score, COUNT(*) AS n FROM rapport_contact_rfm WHERE workspace_id = ${ws} GROUP BY recency
            UNION ALL
            SELECT 'frequency', frequency, COUNT(*) FROM rapport_contact_rfm WHERE workspace_id = ${ws} GROUP BY frequency
            UNION ALL
            SELECT 'monetary', monetary, COUNT(*) FROM rapport_contact_rfm WHERE workspace_id = ${ws} GROUP BY monetary
            ORDER BY 1, 2`
      ),

    workspaceIds: () => Effect.map(all(WorkspaceRow)(sql`SELECT id FROM rapport_workspaces ORDER BY id`), (rows) => rows.map((r) => r.id as Ids.WorkspaceId))
  }
}
