// Imports as resources (rapport_imports, migration 0011): one row per import, replaced by
// versioned updates as its runner reports progress; listed newest first per workspace.
import { ImportRun, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Instant, Int, Json, Text } from "./columns.js"
import { rowOf } from "./rows.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso
const isoOrNull = (at: DateTime.Utc | null) => (at === null ? null : iso(at))

const ImportRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    status: Schema.String,
    file_name: Text,
    options: Json,
    progress: Json,
    report: Schema.NullOr(Json),
    error: Schema.NullOr(Json),
    created_by: Text,
    version: Int,
    created_at: Instant,
    started_at: Schema.NullOr(Instant),
    heartbeat_at: Instant,
    finished_at: Schema.NullOr(Instant)
  },
  ImportRun.ImportRun,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    status: r.status,
    fileName: r.file_name,
    options: r.options,
    progress: r.progress,
    report: r.report,
    error: r.error,
    createdBy: r.created_by,
    version: r.version,
    createdAt: r.created_at,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at
  }),
  (run) => ({
    workspace_id: run.workspaceId,
    id: run.id,
    status: run.status,
    file_name: run.fileName,
    options: run.options,
    progress: run.progress,
    report: run.report,
    error: run.error,
    created_by: run.createdBy,
    version: run.version,
    created_at: iso(run.createdAt),
    started_at: isoOrNull(run.startedAt),
    heartbeat_at: iso(run.heartbeatAt),
    finished_at: isoOrNull(run.finishedAt)
  })
)

export const makeImports = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment): Storage.ImportRepository => {
  const { all, records } = makeTables(sql)
  const table = records("rapport_imports", "import", ImportRow)
  const encode = Schema.encode(ImportRow)
  return {
    insert: (run) => orStorage(Effect.flatMap(encode(run), (row) => Effect.asVoid(sql`INSERT INTO rapport_imports ${sql.insert(row)}`))),
    get: (ws, id) => table.get(ws, id),
    list: (ws, q) =>
      all(ImportRow)(
        sql`SELECT * FROM rapport_imports WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          ...(q.status === undefined ? [] : [sql`status = ${q.status}`]),
          ...(q.before === undefined ? [] : [sql`(created_at, id) < (${instant(q.before.createdAt)}, ${q.before.id})`])
        ])} ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`
      ),
    update: (run, expectedVersion) => table.update(run, expectedVersion)
  }
}
