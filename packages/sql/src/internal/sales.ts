// The pipeline's repositories: pipelines, deals (with their aggregates computed in SQL),
// tasks and templates. Written once for both dialects, like the rest of SqlStorage.
import type { Deal, Storage, Weighting } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CountRow, DealRow, PipelineRow, StatusSumsRow, TaskRow, TemplateRow } from "./rows.js"
import { onKeyTaken, orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso

// The columns a dimension groups by. Fixed SQL chosen by a validated literal, never by caller text.
const dimensionColumns: Record<"pipeline_id" | "stage" | "owner_id" | "month", { readonly expr: string; readonly by: ReadonlyArray<Weighting.Dimension> }> = {
  pipeline_id: { expr: "pipeline_id", by: ["pipeline", "stage"] },
  stage: { expr: "stage", by: ["stage"] },
  owner_id: { expr: "owner_id", by: ["owner"] },
  month: { expr: "substr(expected_close_date, 1, 7)", by: ["month"] }
}

export const makeSales = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment) => {
  const { all, first, among, optionalEq, records } = makeTables(sql)

  // --- pipelines

  const pipelines: Storage.PipelineRepository = {
    ...records("rapport_pipelines", "pipeline", PipelineRow),
    list: (ws) => all(PipelineRow)(sql`SELECT * FROM rapport_pipelines WHERE workspace_id = ${ws} ORDER BY position, id`)
  }

  // --- deals

  const dealWhere = (ws: string, f: Deal.DealFilter) =>
    sql.and([
      sql`workspace_id = ${ws}`,
      ...(f.pipelineId === undefined ? [] : [sql`pipeline_id = ${f.pipelineId}`]),
      ...among("stage", f.stages),
      ...among("status", f.statuses),
      ...optionalEq("owner_id", f.ownerId),
      ...optionalEq("contact_id", f.contactId),
      ...optionalEq("company_id", f.companyId),
      ...optionalEq("currency", f.currency),
      ...(f.closeFrom === undefined ? [] : [sql`expected_close_date >= ${f.closeFrom}`]),
      ...(f.closeTo === undefined ? [] : [sql`expected_close_date < ${f.closeTo}`])
    ])

  const sums = (ws: string, q: Storage.DealSumQuery) => {
    const grouped = Object.entries(dimensionColumns).map(([column, d]) => ({ column, expr: d.expr, on: d.by.some((b) => q.groupBy.includes(b)) }))
    const select = grouped.map((d) => sql.literal(`${d.on ? d.expr : "NULL"} AS ${d.column}`))
    const groupBy = [...grouped.filter((d) => d.on).map((d) => sql.literal(d.expr)), sql.literal("currency"), sql.literal("status")]
    return all(StatusSumsRow)(
      sql`SELECT ${sql.csv(select)}, currency, status, COUNT(*) AS n, CAST(SUM(amount_minor) AS TEXT) AS amount,
                 CAST(SUM(amount_minor * COALESCE(override_probability, stage_probability)) AS TEXT) AS probability_weighted
          FROM rapport_deals WHERE ${dealWhere(ws, q.filter)} GROUP BY ${sql.csv(groupBy)}`
    )
  }

  const deals: Storage.DealRepository = {
    ...records("rapport_deals", "deal", DealRow),
    list: (ws, q) =>
      all(DealRow)(
        sql`SELECT * FROM rapport_deals WHERE ${dealWhere(ws, q)} ${q.after === undefined ? sql`` : sql`AND id > ${q.after}`}
            ORDER BY id LIMIT ${q.limit}`
      ),
    count: (ws, filter) =>
      Effect.map(first(CountRow)(sql`SELECT COUNT(*) AS n FROM rapport_deals WHERE ${dealWhere(ws, filter)}`), (row) =>
        Option.match(row, { onNone: () => 0, onSome: (r) => r.n })
      ),
    restage: (ws, pipelineId, stage, probability, at) =>
      orStorage(
        Effect.map(
          sql`UPDATE rapport_deals SET stage_probability = ${probability}, version = version + 1, updated_at = ${iso(at)}
              WHERE workspace_id = ${ws} AND pipeline_id = ${pipelineId} AND stage = ${stage} AND stage_probability <> ${probability}
              RETURNING id`,
          (rows) => rows.length
        )
      ),
    sums,
    stale: (ws, q) =>
      q.thresholds.length === 0
        ? Effect.succeed([])
        : all(DealRow)(
            sql`SELECT * FROM rapport_deals WHERE ${sql.and([
              sql`workspace_id = ${ws}`,
              sql`status = 'open'`,
              sql.or(q.thresholds.map((t) => sql`(pipeline_id = ${t.pipelineId} AND stage = ${t.stage} AND last_activity_at < ${instant(t.before)})`)),
              ...(q.after === undefined ? [] : [sql`(last_activity_at, id) > (${instant(q.after.lastActivityAt)}, ${q.after.id})`])
            ])} ORDER BY last_activity_at, id LIMIT ${q.limit}`
          )
  }

  // --- tasks

  const tasks: Storage.TaskRepository = {
    ...records("rapport_tasks", "task", TaskRow),
    list: (ws, q) =>
      all(TaskRow)(
        sql`SELECT * FROM rapport_tasks WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          ...optionalEq("status", q.status),
          ...optionalEq("owner_id", q.ownerId),
          ...optionalEq("contact_id", q.contactId),
          ...optionalEq("deal_id", q.dealId),
          ...(q.dueFrom === undefined ? [] : [sql`due_at >= ${instant(q.dueFrom)}`]),
          ...(q.dueBefore === undefined ? [] : [sql`due_at < ${instant(q.dueBefore)}`]),
          ...(q.after === undefined ? [] : [sql`(due_at, id) > (${instant(q.after.dueAt)}, ${q.after.id})`])
        ])} ORDER BY due_at, id LIMIT ${q.limit}`
      ),
    removeForContact: (ws, contactId) => orStorage(Effect.asVoid(sql`DELETE FROM rapport_tasks WHERE workspace_id = ${ws} AND contact_id = ${contactId}`))
  }

  // --- templates

  const templateRecords = records("rapport_templates", "template", TemplateRow)
  const templates: Storage.TemplateRepository = {
    ...templateRecords,
    insert: (template) => onKeyTaken(templateRecords.insert(template), "template", template.key),
    update: (template, expectedVersion) => onKeyTaken(templateRecords.update(template, expectedVersion), "template", template.key),
    list: (ws) => all(TemplateRow)(sql`SELECT * FROM rapport_templates WHERE workspace_id = ${ws} ORDER BY name, id`),
    getByKey: (ws, key) => first(TemplateRow)(sql`SELECT * FROM rapport_templates WHERE workspace_id = ${ws} AND setup_key = ${key}`),
  }

  return { pipelines, deals, tasks, templates }
}
