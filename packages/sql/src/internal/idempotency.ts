// Idempotency keys of the HTTP integration (rapport_http_idempotency, migration 0008). A claim is
// an INSERT … ON CONFLICT DO NOTHING: inside the caller's transaction, a concurrent claim of the
// same key waits on the unique key until the first transaction ends (PostgreSQL), or on the write
// lock (SQLite), and then reads the stored record instead of running the request a second time.
import type { Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Instant, Int, Json } from "./columns.js"
import { makeTables } from "./tables.js"

const Response = Schema.Struct({
  status: Schema.Number,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

const IdempotencyRow = Schema.Struct({
  workspace_id: Schema.String,
  scope: Schema.String,
  idem_key: Schema.String,
  fingerprint: Schema.String,
  status: Schema.NullOr(Int),
  headers: Schema.NullOr(Json),
  body: Schema.NullOr(Schema.String),
  created_at: Instant,
  expires_at: Instant
})

const decodeResponse = Schema.decodeUnknown(Response)

export const makeIdempotency = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment) => {
  const { first, affected } = makeTables(sql)
  const find = (workspaceId: string, scope: string, key: string) =>
    first(IdempotencyRow)(sql`SELECT * FROM rapport_http_idempotency WHERE workspace_id = ${workspaceId} AND scope = ${scope} AND idem_key = ${key}`)

  const httpIdempotency: Storage.IdempotencyRepository = {
    claim: (claim) =>
      Effect.gen(function* () {
        yield* affected(
          sql`DELETE FROM rapport_http_idempotency WHERE workspace_id = ${claim.workspaceId} AND scope = ${claim.scope}
              AND idem_key = ${claim.key} AND expires_at <= ${instant(claim.createdAt)} RETURNING idem_key`
        )
        const inserted = yield* affected(
          sql`INSERT INTO rapport_http_idempotency (workspace_id, scope, idem_key, fingerprint, status, headers, body, created_at, expires_at)
              VALUES (${claim.workspaceId}, ${claim.scope}, ${claim.key}, ${claim.fingerprint}, NULL, NULL, NULL,
                      ${DateTime.formatIso(claim.createdAt)}, ${DateTime.formatIso(claim.expiresAt)})
              ON CONFLICT DO NOTHING RETURNING idem_key`
        )
        if (inserted > 0) return Option.none()
        const row = yield* find(claim.workspaceId, claim.scope, claim.key)
        if (Option.isNone(row)) return Option.none()
        const r = row.value
        const response =
          r.status === null || r.body === null
            ? null
            : yield* Effect.orElseSucceed(decodeResponse({ status: r.status, headers: r.headers ?? {}, body: r.body }), () => null)
        return Option.some<Storage.IdempotencyRecord>({
          workspaceId: claim.workspaceId,
          scope: r.scope,
          key: r.idem_key,
          fingerprint: r.fingerprint,
          response,
          createdAt: DateTime.unsafeMake(r.created_at),
          expiresAt: DateTime.unsafeMake(r.expires_at)
        })
      }),
    complete: (workspaceId, scope, key, response) =>
      Effect.asVoid(
        affected(
          sql`UPDATE rapport_http_idempotency SET status = ${response.status}, headers = ${JSON.stringify(response.headers)}, body = ${response.body}
              WHERE workspace_id = ${workspaceId} AND scope = ${scope} AND idem_key = ${key} RETURNING idem_key`
        )
      ),
    purge: (workspaceId, now) =>
      affected(sql`DELETE FROM rapport_http_idempotency WHERE workspace_id = ${workspaceId} AND expires_at <= ${instant(now)} RETURNING idem_key`)
  }
  return { httpIdempotency }
}
