/**
 * Inbound webhooks: the sources a workspace receives webhooks from (a Shopify shop, a WooCommerce
 * store, any Standard Webhooks sender), with the secrets that verify them, and what a delivery
 * turns into. A source's name is unique across workspaces: the URL a sender posts to names only
 * the source (`POST /webhooks/in/:source`), so the source says which workspace receives it.
 *
 * Secrets are stored as given: verifying a signature needs the secret itself (an HMAC cannot be
 * checked against a hash of its key). Protect the database accordingly; results and lists never
 * show them.
 *
 * @since 0.6.0
 */
import * as Schema from "effect/Schema"
import type { EmitInput } from "./CrmEvent.js"
import { ContactId, EventId, WorkspaceId } from "./Ids.js"
import { EventType } from "./LifecycleDefinition.js"
import { Instant } from "./Time.js"
import { DEFAULT_TOLERANCE_SECONDS, isTokenProvider, MIN_TOKEN_LENGTH, standardSecretKey, WebhookProvider } from "./WebhookSignature.js"

export {
  /**
   * @since 0.6.0
   * @category schemas
   */
  WebhookProvider
} from "./WebhookSignature.js"

/**
 * A source's name, as it appears in the URL: 1 to 64 lower-case letters, digits, `-` and `_`,
 * starting with a letter or digit.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookSource = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: () => "must be 1-64 lower-case letters, digits, - or _, starting with a letter or digit (it is part of a URL)"
  }),
  Schema.brand("WebhookSource"),
  Schema.annotations({ identifier: "WebhookSource" })
)

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookSource = typeof WebhookSource.Type

/**
 * The most secrets a source keeps at once (the current one and those being rotated out).
 *
 * @since 0.6.0
 * @category constructors
 */
export const MAX_SECRETS = 5

/**
 * How long a delivery's id is remembered (replay protection): 7 days, longer than Shopify's and
 * WooCommerce's retries last; a Standard Webhooks delivery older than its tolerance is refused by
 * its signed timestamp anyway.
 *
 * @since 0.6.0
 * @category constructors
 */
export const RECEIPT_RETENTION_DAYS = 7

/**
 * An inbound source as stored, with its secrets.
 *
 * @since 0.6.0
 * @category models
 */
export class InboundWebhookConfig extends Schema.Class<InboundWebhookConfig>("InboundWebhookConfig")({
  workspaceId: WorkspaceId,
  source: WebhookSource,
  provider: WebhookProvider,
  /** Every secret a delivery may be signed with; the first is the current one. */
  secrets: Schema.Array(Schema.String),
  /** Standard Webhooks only: how far the signed timestamp may be from now, either way. */
  toleranceSeconds: Schema.Int,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * An inbound source as shown: how many secrets it has, never the secrets.
 *
 * @since 0.6.0
 * @category models
 */
export class InboundWebhook extends Schema.Class<InboundWebhook>("InboundWebhook")({
  workspaceId: WorkspaceId,
  source: WebhookSource,
  provider: WebhookProvider,
  secretCount: Schema.Int,
  toleranceSeconds: Schema.Int,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * The source as shown (without its secrets).
 *
 * @since 0.6.0
 * @category constructors
 */
export const describe = (config: InboundWebhookConfig): InboundWebhook =>
  new InboundWebhook(
    {
      workspaceId: config.workspaceId,
      source: config.source,
      provider: config.provider,
      secretCount: config.secrets.length,
      toleranceSeconds: config.toleranceSeconds,
      version: config.version,
      createdAt: config.createdAt,
      updatedAt: config.updatedAt
    },
    true
  )

const Secret = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(500, { message: () => "must be at most 500 characters" })
)

const Secrets = Schema.Array(Secret).pipe(
  Schema.minItems(1, { message: () => "give at least one secret" }),
  Schema.maxItems(MAX_SECRETS, { message: () => `at most ${MAX_SECRETS} secrets (the current one and those being rotated out)` })
)

const Tolerance = Schema.Int.pipe(
  Schema.between(1, 86_400, { message: () => "must be a whole number of seconds from 1 to 86400 (one day)" })
)

/**
 * Standard Webhooks secrets must decode; a mail provider's (sent as is, the only proof) must be
 * long; the others are any non-empty text.
 */
const secretsFit = (provider: WebhookProvider, secrets: ReadonlyArray<string> | undefined) => {
  if (secrets !== undefined && isTokenProvider(provider)) {
    const weak = secrets.findIndex((s) => s.length < MIN_TOKEN_LENGTH || !/^[A-Za-z0-9._~-]+$/.test(s))
    return (
      weak < 0 || {
        path: ["secrets", weak],
        message: `must be at least ${MIN_TOKEN_LENGTH} letters, digits, ".", "_", "~" or "-" (it travels in the webhook URL as a password or token, and is the only proof)`
      }
    )
  }
  if (provider !== "standard" || secrets === undefined) return true
  const index = secrets.findIndex((s) => standardSecretKey(s) === undefined)
  return index < 0 || { path: ["secrets", index], message: "must be a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes" }
}

/**
 * What `inboundWebhooks.create` accepts. Without `source`, one is made from the provider and a
 * random suffix (e.g. `shopify-k3x9…`). `toleranceSeconds` (Standard Webhooks) defaults to 300.
 *
 * @since 0.6.0
 * @category schemas
 */
export const InboundWebhookCreate = Schema.Struct({
  source: Schema.optional(WebhookSource),
  provider: WebhookProvider,
  secrets: Secrets,
  toleranceSeconds: Schema.optional(Tolerance)
}).pipe(Schema.filter((input) => secretsFit(input.provider, input.secrets)))

/**
 * @since 0.6.0
 * @category models
 */
export type InboundWebhookCreate = typeof InboundWebhookCreate.Encoded

/**
 * What `inboundWebhooks.update` accepts: new secrets (to rotate, put the new one first and keep
 * the old one until senders use the new one), a new tolerance, and the version read.
 *
 * @since 0.6.0
 * @category schemas
 */
export const InboundWebhookUpdate = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  secrets: Schema.optional(Secrets),
  toleranceSeconds: Schema.optional(Tolerance)
})

/**
 * @since 0.6.0
 * @category models
 */
export type InboundWebhookUpdate = typeof InboundWebhookUpdate.Encoded

/**
 * The tolerance a source gets when none is given.
 *
 * @since 0.6.0
 * @category constructors
 */
export const defaultTolerance = DEFAULT_TOLERANCE_SECONDS

/**
 * Checks a source's secrets for its provider; the path names the bad one.
 *
 * @since 0.6.0
 * @category utils
 */
export const checkSecrets = secretsFit

/**
 * Turns a verified delivery's parsed JSON body into the events to record: one, several, or none
 * (`null`: nothing to record, the delivery is acknowledged). `headers` are the request's headers,
 * names in lower case. An event without `id` gets one derived from the source and the delivery's
 * id. What it throws is a bug of the mapper: the delivery fails (the sender will retry it).
 *
 * @since 0.6.0
 * @category models
 */
export type WebhookMapper = (payload: unknown, headers: Readonly<Record<string, string>>) => EmitInput | ReadonlyArray<EmitInput> | null

/**
 * One event a delivery recorded (or found already recorded).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ReceivedEvent = Schema.Struct({
  id: EventId,
  type: EventType,
  contactId: Schema.NullOr(ContactId),
  /** The event id was already recorded (by an earlier delivery of the same order, say). */
  duplicate: Schema.Boolean
})

/**
 * What `inboundWebhooks.receive` returns: answer the sender 2xx with it.
 *
 * @since 0.6.0
 * @category models
 */
export class WebhookReceipt extends Schema.Class<WebhookReceipt>("WebhookReceipt")({
  source: WebhookSource,
  /** The sender's id for the delivery; `null` for a WooCommerce ping. */
  webhookId: Schema.NullOr(Schema.String),
  /** This delivery id was received before: nothing was processed again. */
  duplicate: Schema.Boolean,
  /** The delivery is valid but has nothing to record (a topic no mapper handles, a ping). */
  ignored: Schema.Boolean,
  events: Schema.Array(ReceivedEvent)
}) {}

/**
 * What `inboundWebhooks.receive` accepts: the source (from the URL), the request's headers and its
 * raw body, exactly as received (the signature covers these bytes).
 *
 * @since 0.6.0
 * @category models
 */
export interface WebhookDelivery {
  readonly source: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: Uint8Array
  /**
   * The `token` of the URL's query, for the mail providers (`brevo`, `mailjet`) whose deliveries
   * carry the source's secret there instead of Basic authentication.
   *
   * @since 0.7.0
   */
  readonly token?: string | undefined
}

/**
 * Options of `inboundWebhooks.receive`: mappers by source name, used instead of the built-in one
 * of the source's provider.
 *
 * @since 0.6.0
 * @category models
 */
export interface ReceiveOptions {
  readonly mappers?: Readonly<Record<string, WebhookMapper>> | undefined
}
