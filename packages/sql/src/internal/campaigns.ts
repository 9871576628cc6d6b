// Campaigns (rapport_campaigns, migration 0019): one row per campaign, replaced by versioned
// updates as it is sent and as its fan-out advances; its mails are rows of rapport_jobs under the
// rule id `campaign:<id>`, so their results are read from the outbox in one statement.
import { Campaign, Errors, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Instant, Int, Json, Text } from "./columns.js"
import { openedFragment } from "./opens.js"
import { rowOf } from "./rows.js"
import { onKeyTaken } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso
const isoOrNull = (at: DateTime.Utc | null) => (at === null ? null : iso(at))

const CampaignRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    setup_key: Text,
    name: Schema.String,
    template_id: Schema.String,
    audience: Json,
    purpose: Schema.String,
    send_at: Schema.NullOr(Instant),
    rate_per_minute: Schema.NullOr(Int),
    goal: Schema.NullOr(Json),
    status: Schema.String,
    fanout_cursor: Text,
    queued: Int,
    version: Int,
    created_at: Instant,
    updated_at: Instant,
    started_at: Schema.NullOr(Instant),
    finished_at: Schema.NullOr(Instant),
    cancelled_at: Schema.NullOr(Instant)
  },
  Campaign.Campaign,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.setup_key,
    name: r.name,
    templateId: r.template_id,
    audience: r.audience,
    purpose: r.purpose,
    sendAt: r.send_at,
    ratePerMinute: r.rate_per_minute,
    goal: r.goal,
    status: r.status,
    cursor: r.fanout_cursor,
    queued: r.queued,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    cancelledAt: r.cancelled_at
  }),
  (c) => ({
    workspace_id: c.workspaceId,
    id: c.id,
    setup_key: c.key,
    name: c.name,
    template_id: c.templateId,
    audience: c.audience,
    purpose: c.purpose,
    send_at: isoOrNull(c.sendAt),
    rate_per_minute: c.ratePerMinute,
    goal: c.goal,
    status: c.status,
    fanout_cursor: c.cursor,
    queued: c.queued,
    version: c.version,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    started_at: isoOrNull(c.startedAt),
    finished_at: isoOrNull(c.finishedAt),
    cancelled_at: isoOrNull(c.cancelledAt)
  })
)

const ResultRow = Schema.Struct({ status: Schema.String, n: Int, converted: Schema.NullOr(Int), opened: Schema.NullOr(Int) })
const JobStatus = Schema.Literal("pending", "running", "done", "skipped", "dead")

export const makeCampaigns = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment): Storage.CampaignRepository => {
  const { all, first, affected, records } = makeTables(sql)
  const table = records("rapport_campaigns", "campaign", CampaignRow, (c) => Errors.Conflict.unique("campaign", "id", c.id))

  // The end of a recipient's goal window: its job's completion plus the window, computed by the
  // database per row (instants are ISO-8601 text on SQLite, whose strftime keeps milliseconds).
  const goalEnd = (withinMillis: number) =>
    sql.onDialectOrElse({
      pg: () => sql`j.completed_at + (${withinMillis} * interval '1 millisecond')`,
      orElse: () => sql`strftime('%Y-%m-%dT%H:%M:%fZ', j.completed_at, ${`+${withinMillis / 1000} seconds`})`
    })

  return {
    insert: (campaign) => onKeyTaken(table.insert(campaign), "campaign", campaign.key),
    get: (ws, id) => table.get(ws, id),
    getByKey: (ws, key) => first(CampaignRow)(sql`SELECT * FROM rapport_campaigns WHERE workspace_id = ${ws} AND setup_key = ${key}`),
    list: (ws, q) =>
      all(CampaignRow)(
        sql`SELECT * FROM rapport_campaigns WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          ...(q.status === undefined ? [] : [sql`status = ${q.status}`]),
          ...(q.before === undefined ? [] : [sql`(created_at, id) < (${instant(q.before.createdAt)}, ${q.before.id})`])
        ])} ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`
      ),
    update: (campaign, expectedVersion) => table.update(campaign, expectedVersion),
    skipPending: (ws, ruleId, reason, now) =>
      affected(
        sql`UPDATE rapport_jobs SET status = 'skipped', outcome = ${JSON.stringify({ reason })}, completed_at = ${iso(now)}, updated_at = ${iso(now)}
            WHERE workspace_id = ${ws} AND rule_id = ${ruleId} AND status = 'pending' RETURNING id`
      ),
    results: (ws, q) =>
      Effect.map(
        all(ResultRow)(
          // Through rapport_jobs_rule (workspace_id, rule_id, status); each done job's goal event and
          // opens are looked up on rapport_events_contact (workspace_id, contact_id, type, occurred_at).
          sql`SELECT j.status AS status, COUNT(*) AS n, ${
            q.goal === undefined
              ? sql`0`
              : sql`SUM(CASE WHEN j.status = 'done' AND EXISTS (
                  SELECT 1 FROM rapport_events e
                  WHERE e.workspace_id = j.workspace_id AND e.contact_id = j.contact_id AND e.type = ${q.goal.event}
                    AND e.occurred_at >= j.completed_at AND e.occurred_at <= ${goalEnd(q.goal.withinMillis)}
                ) THEN 1 ELSE 0 END)`
          } AS converted,
          SUM(CASE WHEN j.status = 'done' AND ${openedFragment(sql)} THEN 1 ELSE 0 END) AS opened
              FROM rapport_jobs j
              WHERE j.workspace_id = ${ws} AND j.rule_id = ${q.ruleId} AND j.action_type = ${q.actionType}
              GROUP BY j.status`
        ),
        (rows) => ({
          byStatus: rows.flatMap((r) => (Schema.is(JobStatus)(r.status) ? [{ status: r.status, count: r.n }] : [])),
          converted: rows.reduce((n, r) => n + (r.converted ?? 0), 0),
          opened: rows.reduce((n, r) => n + (r.opened ?? 0), 0)
        })
      )
  }
}
