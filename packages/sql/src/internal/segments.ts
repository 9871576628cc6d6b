// Saved segments (rows of rapport_segments) and the contacts a condition selects: the condition is
// compiled to one SQL expression (conditionSql.ts) over `rapport_contacts AS c`, counted or read a
// page at a time in id order along the primary key (workspace_id, id).
import { type Contact, Errors, Segment, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import type { SqlError } from "@effect/sql/SqlError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Bool, Instant, Int, Json, Text } from "./columns.js"
import { cachingConditionSql } from "./conditionSql.js"
import { ensureContactIndex } from "./fieldIndexes.js"
import { CountRow, rowOf } from "./rows.js"
import { isUniqueViolation } from "./errors.js"
import { isSqlError, orStorage, versionedUpdate } from "./statements.js"
import { makeTables } from "./tables.js"

export const SegmentRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    name: Schema.String,
    description: Text,
    condition_json: Json,
    indexed: Bool,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Segment.Segment,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    description: r.description,
    condition: r.condition_json,
    indexed: r.indexed,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (s) => ({
    workspace_id: s.workspaceId,
    id: s.id,
    name: s.name,
    description: s.description,
    condition_json: s.condition,
    indexed: s.indexed,
    version: s.version,
    created_at: DateTime.formatIso(s.createdAt),
    updated_at: DateTime.formatIso(s.updatedAt)
  })
)

const decodeCount = Schema.decodeUnknown(Schema.Array(CountRow))
const decodeVersionedCount = Schema.decodeUnknown(
  Schema.Tuple(Schema.Struct({ ...CountRow.fields, workspace_version: Schema.NullOr(Int), counter_value: Int }))
)

export const makeSegments = (
  sql: SqlClient.SqlClient,
  selectContacts: Statement.Fragment,
  decodeContacts: (rows: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Contact.Contact>, ParseError>
): Storage.SegmentRepository => {
  const { all, first, removed, records } = makeTables(sql)
  const table = records("rapport_segments", "segment", SegmentRow, () => Errors.Conflict.unique("segment", "name"))
  const encode = Schema.encode(SegmentRow)
  const conditionSql = cachingConditionSql(sql)
  const where = (query: Storage.SegmentQuery) =>
    Either.match(conditionSql(query.condition, query.registry, query.now), {
      onLeft: (error) => Effect.fail(error),
      onRight: (fragment) => Effect.succeed(fragment)
    })
  const run = <A>(effect: Effect.Effect<A, SqlError | ParseError>) => orStorage(effect)

  return {
    insert: (segment) => table.insert(segment),
    get: (ws, id) => first(SegmentRow)(sql`SELECT * FROM rapport_segments WHERE workspace_id = ${ws} AND id = ${id}`),
    list: (ws) => all(SegmentRow)(sql`SELECT * FROM rapport_segments WHERE workspace_id = ${ws} ORDER BY name, id`),
    // A rename to a taken name is a Conflict, like an insert's.
    update: (segment, expectedVersion) =>
      orStorage(
        Effect.catchIf(
          Effect.flatMap(encode(segment), (row) =>
            versionedUpdate(
              "segment",
              segment.id,
              expectedVersion,
              sql`UPDATE rapport_segments SET ${sql.update(row, ["workspace_id", "id"])}
                  WHERE workspace_id = ${segment.workspaceId} AND id = ${segment.id} AND version = ${expectedVersion} RETURNING id`,
              sql`SELECT version FROM rapport_segments WHERE workspace_id = ${segment.workspaceId} AND id = ${segment.id}`
            )
          ),
          (error): error is SqlError => isSqlError(error) && isUniqueViolation(error),
          () => Effect.fail(Errors.Conflict.unique("segment", "name"))
        )
      ),
    remove: (ws, id) => removed(sql`DELETE FROM rapport_segments WHERE workspace_id = ${ws} AND id = ${id} RETURNING id`),
    ensureIndex: (columns) => orStorage(ensureContactIndex(sql, columns)),
    count: (ws, query) =>
      Effect.flatMap(where(query), (condition) =>
        run(
          Effect.map(
            Effect.flatMap(sql`SELECT COUNT(*) AS n FROM rapport_contacts AS c WHERE c.workspace_id = ${ws} AND ${condition}`, decodeCount),
            (rows) => rows[0]?.n ?? 0
          )
        )
      ),
    countWithVersions: (ws, query, counterKey) =>
      Effect.flatMap(where(query), (condition) =>
        run(
          Effect.map(
            Effect.flatMap(
              sql`SELECT (SELECT COUNT(*) FROM rapport_contacts AS c WHERE c.workspace_id = ${ws} AND ${condition}) AS n,
                         (SELECT version FROM rapport_workspaces WHERE id = ${ws}) AS workspace_version,
                         COALESCE((SELECT value FROM rapport_counters WHERE workspace_id = ${ws} AND counter_key = ${counterKey}), 0) AS counter_value`,
              decodeVersionedCount
            ),
            ([row]) => ({ count: row!.n, workspaceVersion: row!.workspace_version ?? undefined, counter: row!.counter_value })
          )
        )
      ),
    members: (ws, query) =>
      Effect.flatMap(where(query), (condition) =>
        run(
          Effect.flatMap(
            sql`${selectContacts} WHERE c.workspace_id = ${ws} AND ${condition}${query.after === undefined ? sql`` : sql` AND c.id > ${query.after}`}
                ORDER BY c.id LIMIT ${query.limit}`,
            decodeContacts
          )
        )
      )
  }
}
