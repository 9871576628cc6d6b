// Statement helpers the table-per-entity repositories share: decoding rows, optional filters, and
// insert / get / versioned update / remove of a table keyed by workspace and id.
import type { Errors } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { encoderOf, isRowCodec } from "./rows.js"
import { onUnique, orStorage, versionedUpdate } from "./statements.js"

// The decoder of a list of rows, built once per row Schema: building `Schema.Array(row)` on every
// call cost more than decoding a row (a new AST each time, so its parser was compiled again).
const listDecoders = new WeakMap<Schema.Schema.Any, (rows: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<unknown>, ParseError>>()
const listOf = <A, I>(schema: Schema.Schema<A, I>) => {
  let decode = listDecoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknown(Schema.Array(schema))
    listDecoders.set(schema, decode)
  }
  return decode as (rows: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<A>, ParseError>
}

export const makeTables = (sql: SqlClient.SqlClient) => {
  const all = <A, I>(schema: Schema.Schema<A, I>) => (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
    orStorage(Effect.flatMap(statement, listOf(schema)))
  const first = <A, I>(schema: Schema.Schema<A, I>) => (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
    Effect.map(all(schema)(statement), (rows): Option.Option<A> => Option.fromNullable(rows[0]))
  const removed = (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) => orStorage(Effect.map(statement, (rows) => rows.length > 0))
  const affected = (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) => orStorage(Effect.map(statement, (rows) => rows.length))
  const among = (column: string, values: ReadonlyArray<string> | undefined) =>
    values === undefined ? [] : values.length === 0 ? [sql`1 = 0`] : [sql.in(column, values)]
  const optionalEq = (column: string, value: string | null | undefined) =>
    value === undefined ? [] : value === null ? [sql`${sql(column)} IS NULL`] : [sql`${sql(column)} = ${value}`]

  /** Insert, get, versioned update and remove of one table's records, keyed by workspace and id. */
  const records = <A extends { readonly workspaceId: string; readonly id: string }, I extends Record<string, unknown>>(
    table: string,
    entity: Errors.EntityName,
    row: Schema.Schema<A, I>,
    /** The Conflict an insert of a taken id fails with; a StorageError without it. */
    onTakenId?: (record: A) => Errors.Conflict
  ) => {
    // Row codecs made by rowOf are written without re-checking the entity (see writeRow).
    const encode = isRowCodec(row) ? encoderOf(row) : Schema.encode(row)
    const insertRow = (record: A) => Effect.flatMap(encode(record), (r) => Effect.asVoid(sql`INSERT INTO ${sql(table)} ${sql.insert(r)}`))
    return {
      insert: (record: A): Effect.Effect<void, Errors.StorageError | Errors.Conflict> =>
        onTakenId === undefined ? orStorage(insertRow(record)) : onUnique(insertRow(record), () => onTakenId(record)),
      get: (ws: string, id: string) => first(row)(sql`SELECT * FROM ${sql(table)} WHERE workspace_id = ${ws} AND id = ${id}`),
      update: (record: A, expectedVersion: number) =>
        orStorage(
          Effect.flatMap(encode(record), (r) =>
            versionedUpdate(
              entity,
              record.id,
              expectedVersion,
              sql`UPDATE ${sql(table)} SET ${sql.update(r, ["workspace_id", "id"])}
                  WHERE workspace_id = ${record.workspaceId} AND id = ${record.id} AND version = ${expectedVersion} RETURNING id`,
              sql`SELECT version FROM ${sql(table)} WHERE workspace_id = ${record.workspaceId} AND id = ${record.id}`
            )
          )
        ),
      remove: (ws: string, id: string) => removed(sql`DELETE FROM ${sql(table)} WHERE workspace_id = ${ws} AND id = ${id} RETURNING id`)
    }
  }

  return { all, first, removed, affected, among, optionalEq, records }
}
