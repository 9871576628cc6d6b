// API keys, inbound webhook sources and the receipts of inbound deliveries (migration 0009).
// Keys and sources are found by their id or name alone (`find`): the caller does not know the
// workspace; the unique index on that column alone makes it one indexed read. Receipts are claimed
// with INSERT … ON CONFLICT DO NOTHING: a concurrent delivery of the same id waits on the unique
// key until the first transaction ends, then finds it taken.
import { ApiKey, Errors, InboundWebhook, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Instant, Int, Json } from "./columns.js"
import { onUnique, orStorage, versionedUpdate } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso

/** A row codec: the entity is rebuilt from the row's values and checked by its own Schema. */
const rowCodec = <Row extends Schema.Struct.Fields, A, I>(
  row: Row,
  entity: Schema.Schema<A, I>,
  // Every field of the entity's encoded form, with values its Schema then checks.
  toEntity: (r: Schema.Struct.Type<Row>) => { readonly [K in keyof I]-?: unknown },
  toRow: (e: A) => Schema.Struct.Type<Row>
) => {
  const decodeEntity = ParseResult.decodeUnknown(entity)
  return Schema.transformOrFail(Schema.Struct(row), Schema.typeSchema(entity), {
    strict: false,
    decode: (r) => decodeEntity(toEntity(r as Schema.Struct.Type<Row>)),
    encode: (e) => ParseResult.succeed(toRow(e))
  })
}

const ApiKeyRow = rowCodec(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    name: Schema.String,
    role: Schema.String,
    secret_hash: Schema.String,
    created_at: Instant,
    revoked_at: Schema.NullOr(Instant)
  },
  ApiKey.StoredApiKey,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    role: r.role,
    secretHash: r.secret_hash,
    createdAt: r.created_at,
    revokedAt: r.revoked_at
  }),
  (k) => ({
    workspace_id: k.workspaceId,
    id: k.id,
    name: k.name,
    role: k.role,
    secret_hash: k.secretHash,
    created_at: iso(k.createdAt),
    revoked_at: k.revokedAt === null ? null : iso(k.revokedAt)
  })
)

const InboundWebhookRow = rowCodec(
  {
    workspace_id: Schema.String,
    source: Schema.String,
    provider: Schema.String,
    secrets: Json,
    tolerance_seconds: Int,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  InboundWebhook.InboundWebhookConfig,
  (r) => ({
    workspaceId: r.workspace_id,
    source: r.source,
    provider: r.provider,
    secrets: r.secrets,
    toleranceSeconds: r.tolerance_seconds,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (c) => ({
    workspace_id: c.workspaceId,
    source: c.source,
    provider: c.provider,
    secrets: c.secrets,
    tolerance_seconds: c.toleranceSeconds,
    version: c.version,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt)
  })
)

export const makeAccess = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment) => {
  const { all, first, removed, affected } = makeTables(sql)
  const encodeKey = Schema.encode(ApiKeyRow)
  const encodeSource = Schema.encode(InboundWebhookRow)

  const apiKeys: Storage.ApiKeyRepository = {
    insert: (key) =>
      onUnique(
        Effect.flatMap(encodeKey(key), (row) => sql`INSERT INTO rapport_api_keys ${sql.insert(row)}`),
        () => Errors.Conflict.unique("apiKey", "id", key.id)
      ),
    list: (workspaceId) => all(ApiKeyRow)(sql`SELECT * FROM rapport_api_keys WHERE workspace_id = ${workspaceId} ORDER BY created_at, id`),
    // The first revocation's time stays: revoking again changes nothing.
    revoke: (workspaceId, id, at) =>
      first(ApiKeyRow)(
        sql`UPDATE rapport_api_keys SET revoked_at = COALESCE(revoked_at, ${instant(at)})
            WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING *`
      ),
    find: (id) => first(ApiKeyRow)(sql`SELECT * FROM rapport_api_keys WHERE id = ${id}`)
  }

  const inboundWebhooks: Storage.InboundWebhookRepository = {
    insert: (config) =>
      onUnique(
        Effect.flatMap(encodeSource(config), (row) => sql`INSERT INTO rapport_inbound_webhooks ${sql.insert(row)}`),
        () => Errors.Conflict.unique("inboundWebhook", "source")
      ),
    get: (workspaceId, source) =>
      first(InboundWebhookRow)(sql`SELECT * FROM rapport_inbound_webhooks WHERE workspace_id = ${workspaceId} AND source = ${source}`),
    find: (source) => first(InboundWebhookRow)(sql`SELECT * FROM rapport_inbound_webhooks WHERE source = ${source}`),
    list: (workspaceId) => all(InboundWebhookRow)(sql`SELECT * FROM rapport_inbound_webhooks WHERE workspace_id = ${workspaceId} ORDER BY source`),
    update: (config, expectedVersion) =>
      orStorage(
        Effect.flatMap(encodeSource(config), (row) =>
          versionedUpdate(
            "inboundWebhook",
            config.source,
            expectedVersion,
            sql`UPDATE rapport_inbound_webhooks SET ${sql.update(row, ["workspace_id", "source"])}
                WHERE workspace_id = ${config.workspaceId} AND source = ${config.source} AND version = ${expectedVersion} RETURNING source`,
            sql`SELECT version FROM rapport_inbound_webhooks WHERE workspace_id = ${config.workspaceId} AND source = ${config.source}`
          )
        )
      ),
    remove: (workspaceId, source) =>
      removed(sql`DELETE FROM rapport_inbound_webhooks WHERE workspace_id = ${workspaceId} AND source = ${source} RETURNING source`)
  }

  const webhookReceipts: Storage.WebhookReceiptRepository = {
    insert: (receipt) =>
      Effect.map(
        affected(
          sql`INSERT INTO rapport_webhook_receipts (workspace_id, source, webhook_id, received_at)
              VALUES (${receipt.workspaceId}, ${receipt.source}, ${receipt.webhookId}, ${iso(receipt.receivedAt)})
              ON CONFLICT DO NOTHING RETURNING webhook_id`
        ),
        (n) => n > 0
      ),
    prune: (workspaceId, source, before) =>
      affected(
        sql`DELETE FROM rapport_webhook_receipts WHERE ${sql.and([
          sql`workspace_id = ${workspaceId}`,
          sql`source = ${source}`,
          ...(before === undefined ? [] : [sql`received_at < ${instant(before)}`])
        ])} RETURNING webhook_id`
      )
  }

  return { apiKeys, inboundWebhooks, webhookReceipts }
}
