// Outbound webhook subscriptions and their delivery log (migration 0010). The messages themselves
// are rows of rapport_jobs (action_type 'webhook', rule_id 'webhook:<subscription id>'); only
// redelivery touches them here, pinned to one workspace like every statement.
import { Errors, OutboundWebhook, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Bool, Instant, Int, Json, Text } from "./columns.js"
import { JobRow, rowOf } from "./rows.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso
const isoOrNull = (at: DateTime.Utc | null) => (at === null ? null : iso(at))

export const SubscriptionRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    url: Schema.String,
    event_types: Json,
    description: Text,
    enabled: Bool,
    disabled_reason: Text,
    allow_private_network: Bool,
    secret: Schema.String,
    previous_secret: Text,
    previous_secret_until: Schema.NullOr(Instant),
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  OutboundWebhook.StoredSubscription,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    url: r.url,
    eventTypes: r.event_types,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    allowPrivateNetwork: r.allow_private_network,
    previousSecretExpiresAt: r.previous_secret_until,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    secret: r.secret,
    previousSecret: r.previous_secret
  }),
  (s) => ({
    workspace_id: s.workspaceId,
    id: s.id,
    url: s.url,
    event_types: s.eventTypes,
    description: s.description,
    enabled: s.enabled,
    disabled_reason: s.disabledReason,
    allow_private_network: s.allowPrivateNetwork,
    secret: s.secret,
    previous_secret: s.previousSecret,
    previous_secret_until: isoOrNull(s.previousSecretExpiresAt),
    version: s.version,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt)
  })
)

export const DeliveryRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    subscription_id: Schema.String,
    job_id: Schema.String,
    message_id: Schema.String,
    event_type: Schema.String,
    attempt: Int,
    attempted_at: Instant,
    duration_ms: Int,
    status_code: Schema.NullOr(Int),
    result: Schema.String,
    error: Text,
    response_body: Text,
    next_attempt_at: Schema.NullOr(Instant)
  },
  OutboundWebhook.Delivery,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    subscriptionId: r.subscription_id,
    jobId: r.job_id,
    messageId: r.message_id,
    eventType: r.event_type,
    attempt: r.attempt,
    attemptedAt: r.attempted_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    result: r.result,
    error: r.error,
    responseBody: r.response_body,
    nextAttemptAt: r.next_attempt_at
  }),
  (d) => ({
    workspace_id: d.workspaceId,
    id: d.id,
    subscription_id: d.subscriptionId,
    job_id: d.jobId,
    message_id: d.messageId,
    event_type: d.eventType,
    attempt: d.attempt,
    attempted_at: iso(d.attemptedAt),
    duration_ms: d.durationMs,
    status_code: d.statusCode,
    result: d.result,
    error: d.error,
    response_body: d.responseBody,
    next_attempt_at: isoOrNull(d.nextAttemptAt)
  })
)

export const makeWebhookSubscriptions = (
  sql: SqlClient.SqlClient,
  instant: (value: DateTime.Utc) => Statement.Fragment
): Storage.WebhookSubscriptionRepository => {
  const { all, first, removed, records } = makeTables(sql)
  const table = records("rapport_webhook_subscriptions", "webhookSubscription", SubscriptionRow, (s) =>
    Errors.Conflict.unique("webhookSubscription", "id", s.id)
  )
  const encodeDelivery = Schema.encode(DeliveryRow)
  return {
    insert: (subscription) => table.insert(subscription),
    get: (ws, id) => table.get(ws, id),
    list: (ws, q) =>
      all(SubscriptionRow)(
        sql`SELECT * FROM rapport_webhook_subscriptions WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          ...(q.after === undefined ? [] : [sql`id > ${q.after}`])
        ])} ORDER BY id LIMIT ${q.limit}`
      ),
    enabled: (ws) =>
      all(SubscriptionRow)(sql`SELECT * FROM rapport_webhook_subscriptions WHERE workspace_id = ${ws} AND enabled = ${1} ORDER BY id`),
    update: (subscription, expectedVersion) => table.update(subscription, expectedVersion),
    disable: (ws, id, reason, at) =>
      removed(
        sql`UPDATE rapport_webhook_subscriptions SET enabled = ${0}, disabled_reason = ${reason}, version = version + 1, updated_at = ${iso(at)}
            WHERE workspace_id = ${ws} AND id = ${id} AND enabled = ${1} RETURNING id`
      ),
    remove: (ws, id) =>
      Effect.zipRight(
        orStorage(sql`DELETE FROM rapport_webhook_deliveries WHERE workspace_id = ${ws} AND subscription_id = ${id}`),
        removed(sql`DELETE FROM rapport_webhook_subscriptions WHERE workspace_id = ${ws} AND id = ${id} RETURNING id`)
      ),
    logDelivery: (delivery) =>
      orStorage(Effect.flatMap(encodeDelivery(delivery), (row) => Effect.asVoid(sql`INSERT INTO rapport_webhook_deliveries ${sql.insert(row)}`))),
    pruneDeliveries: (ws, id, before) =>
      Effect.map(
        orStorage(
          sql`DELETE FROM rapport_webhook_deliveries WHERE workspace_id = ${ws} AND subscription_id = ${id} AND attempted_at < ${instant(before)} RETURNING id`
        ),
        (rows) => rows.length
      ),
    getDelivery: (ws, id) => first(DeliveryRow)(sql`SELECT * FROM rapport_webhook_deliveries WHERE workspace_id = ${ws} AND id = ${id}`),
    deliveries: (ws, q) =>
      all(DeliveryRow)(
        sql`SELECT * FROM rapport_webhook_deliveries WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          sql`subscription_id = ${q.subscriptionId}`,
          ...(q.before === undefined ? [] : [sql`(attempted_at, id) < (${instant(q.before.attemptedAt)}, ${q.before.id})`])
        ])} ORDER BY attempted_at DESC, id DESC LIMIT ${q.limit}`
      ),
    redeliver: (ws, jobId, at) =>
      first(JobRow)(
        sql`UPDATE rapport_jobs SET status = 'pending', attempts = 0, due_at = ${iso(at)}, completed_at = NULL, lease_until = NULL, claim_token = NULL, updated_at = ${iso(at)}
            WHERE workspace_id = ${ws} AND id = ${jobId} AND action_type = 'webhook' AND status IN ('done', 'dead', 'skipped') RETURNING *`
      )
  }
}
