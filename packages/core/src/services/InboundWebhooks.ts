/**
 * Webhooks in: the sources a workspace receives shop webhooks from, and `receive`, which verifies
 * a delivery over its raw bytes, refuses one already received (the delivery ids are stored, not
 * kept in memory), maps its payload to events and records them through `events.emitMany` (rules
 * then queue their work in the outbox, in the same transaction). Answering the sender takes one
 * transaction; nothing slow (mail, outbound calls) happens before the answer.
 *
 * @since 0.6.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import type { EmitInput } from "../domain/CrmEvent.js"
import { Conflict, NotFound, ValidationError, type ValidationIssue, WebhookRejected } from "../domain/Errors.js"
import {
  checkSecrets,
  defaultTolerance,
  describe,
  InboundWebhookConfig,
  InboundWebhookCreate,
  InboundWebhookUpdate,
  RECEIPT_RETENTION_DAYS,
  type ReceiveOptions,
  type WebhookDelivery,
  WebhookReceipt,
  WebhookSource
} from "../domain/InboundWebhook.js"
import * as ShopWebhooks from "../domain/ShopWebhooks.js"
import * as MailWebhooks from "../domain/MailWebhooks.js"
import { feedbackEventType } from "../domain/Consent.js"
import { ContactId, EventId } from "../domain/Ids.js"
import { Consents } from "./Consents.js"
import * as WebhookSignature from "../domain/WebhookSignature.js"
import { workspaceLock } from "../internal/locks.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace, withWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"
import { Events, maxEmitBatch } from "./Events.js"

const decodeSource = decodeInput(WebhookSource, ["source"])

const LOWER = "0123456789abcdefghijklmnopqrstuvwxyz"
/** `length` lower-case letters and digits drawn uniformly (bytes of 252 and more dropped: 252 = 7 × 36). */
const randomSuffix = (length: number): string => {
  let out = ""
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) if (byte < 252 && out.length < length) out += LOWER[byte % 36]
  }
  return out
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The id of an event a delivery maps to without naming one: from the source and the delivery's id. */
const derivedEventId = (source: string, webhookId: string, index: number | undefined): string => {
  const base = `${source}:${webhookId}`
  const id = base.length + 12 <= 200 ? base : `${source}:${createHash("sha256").update(webhookId).digest("hex").slice(0, 40)}`
  return index === undefined ? id : `${id}:${index}`
}

/** Mapping issues: body paths are prefixed with `body`, header ones (`headers.…`) kept. */
const mappingError = (issues: ReadonlyArray<ValidationIssue>) =>
  ValidationError.fromIssues(
    issues.map((issue) => (issue.path[0] === "headers" ? issue : { ...issue, path: ["body", ...issue.path] })),
    "The webhook's payload cannot be recorded"
  )

const receiptOf = (source: string, webhookId: string | null, fields: Partial<Pick<WebhookReceipt, "duplicate" | "ignored" | "events">>) =>
  new WebhookReceipt({ source: WebhookSource.make(source), webhookId, duplicate: false, ignored: false, events: [], ...fields }, true)

/**
 * What `inboundWebhooks.verify` accepts: a delivery and the secrets it may be signed with.
 *
 * @since 0.6.0
 * @category models
 */
export interface VerifyInput {
  readonly provider: WebhookSignature.WebhookProvider
  readonly secrets: ReadonlyArray<string>
  readonly headers: WebhookSignature.HeadersInput
  readonly body: Uint8Array
  /** Standard Webhooks: how far the timestamp may be from now (default 300 seconds). */
  readonly toleranceSeconds?: number | undefined
  /**
   * Brevo and Mailjet: the `token` of the URL's query, when the secret is not sent as the
   * password of Basic authentication.
   *
   * @since 0.7.0
   */
  readonly token?: string | undefined
}

const VerifyFields = Schema.Struct({
  provider: WebhookSignature.WebhookProvider,
  secrets: Schema.Array(Schema.String),
  headers: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String), Schema.Undefined) }),
  body: Schema.Uint8ArrayFromSelf,
  toleranceSeconds: Schema.optional(Schema.Int.pipe(Schema.positive())),
  token: Schema.optional(Schema.String)
})

const DeliveryFields = Schema.Struct({
  source: Schema.String,
  token: Schema.optional(Schema.String),
  headers: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String), Schema.Undefined) }),
  body: Schema.Uint8ArrayFromSelf.annotations({ message: () => ({ message: "must be the raw request body as bytes (a Uint8Array or Buffer), exactly as received", override: true }) })
})

const rejected = (rejection: WebhookSignature.Rejection, source: string | undefined) =>
  new WebhookRejected({ reason: rejection.reason, header: rejection.header, message: rejection.message, ...(source === undefined ? {} : { source }) })

/**
 * @since 0.6.0
 * @category services
 */
export class InboundWebhooks extends Effect.Service<InboundWebhooks>()("@rapport/core/InboundWebhooks", {
  dependencies: [Events.Default, Consents.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const events = yield* Events
    const consents = yield* Consents

    const getConfig = (source: string) =>
      Effect.gen(function* () {
        const name = yield* decodeSource(source)
        const workspace = yield* readWorkspace(storage)
        const found = yield* storage.inboundWebhooks.get(workspace.id, name)
        return Option.isSome(found) ? found.value : yield* NotFound.of("inboundWebhook", name)
      })

    /**
     * Adds a source the current workspace receives webhooks from, with its provider and secrets
     * (stored as given: verifying needs them). Its name is the `:source` of the URL senders post
     * to, unique across workspaces (`Conflict` when taken).
     */
    const create = Effect.fn("InboundWebhooks.create")(function* (input: InboundWebhookCreate) {
      const data = yield* decodeInput(InboundWebhookCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const now = yield* DateTime.now
          const config = new InboundWebhookConfig(
            {
              workspaceId: workspace.id,
              source: data.source ?? WebhookSource.make(`${data.provider}-${randomSuffix(16)}`),
              provider: data.provider,
              secrets: data.secrets,
              toleranceSeconds: data.toleranceSeconds ?? defaultTolerance,
              version: 1,
              createdAt: now,
              updatedAt: now
            },
            true
          )
          yield* storage.inboundWebhooks.insert(config)
          return describe(config)
        })
      )
    })

    /** The current workspace's sources (never their secrets). */
    const list = Effect.fn("InboundWebhooks.list")(function* () {
      const workspace = yield* readWorkspace(storage)
      return (yield* storage.inboundWebhooks.list(workspace.id)).map(describe)
    })

    /** One source of the current workspace (never its secrets). */
    const get = Effect.fn("InboundWebhooks.get")(function* (source: string) {
      return describe(yield* getConfig(source))
    })

    /**
     * Replaces a source's secrets or tolerance. To rotate a secret, put the new one first and keep
     * the old one until the sender signs with the new one, then update again without it.
     */
    const update = Effect.fn("InboundWebhooks.update")(function* (source: string, changes: InboundWebhookUpdate) {
      const data = yield* decodeInput(InboundWebhookUpdate)(changes)
      return yield* storage.transaction(
        Effect.gen(function* () {
          const current = yield* getConfig(source)
          if (data.expectedVersion !== undefined && data.expectedVersion !== current.version) {
            return yield* Conflict.version("inboundWebhook", current.source, data.expectedVersion, current.version)
          }
          const fits = checkSecrets(current.provider, data.secrets)
          if (fits !== true) return yield* ValidationError.at(fits.path, fits.message)
          const next = new InboundWebhookConfig(
            {
              ...current,
              secrets: data.secrets ?? current.secrets,
              toleranceSeconds: data.toleranceSeconds ?? current.toleranceSeconds,
              version: current.version + 1,
              updatedAt: yield* DateTime.now
            },
            true
          )
          yield* storage.inboundWebhooks.update(next, current.version)
          return describe(next)
        })
      )
    })

    /** Removes a source and forgets its deliveries; its URL then answers as unknown. */
    const remove = Effect.fn("InboundWebhooks.remove")(function* (source: string) {
      const name = yield* decodeSource(source)
      const workspace = yield* readWorkspace(storage)
      const removed = yield* storage.transaction(
        Effect.zipLeft(storage.inboundWebhooks.remove(workspace.id, name), storage.webhookReceipts.prune(workspace.id, name))
      )
      if (!removed) return yield* NotFound.of("inboundWebhook", name)
    })

    /**
     * Verifies a delivery against secrets, without any stored source: what `receive` does first,
     * for hosts that route webhooks themselves. Fails with `WebhookRejected` (`missingHeader`,
     * `signature` or `timestamp`); returns the delivery's id and, for Standard Webhooks, its
     * signed timestamp.
     */
    const verify = Effect.fn("InboundWebhooks.verify")(function* (input: VerifyInput) {
      const data = yield* decodeInput(VerifyFields)(input)
      const now = yield* DateTime.now
      const result = WebhookSignature.verify(data.provider, {
        secrets: data.secrets,
        headers: data.headers,
        body: data.body,
        nowSeconds: Math.floor(DateTime.toEpochMillis(now) / 1000),
        toleranceSeconds: data.toleranceSeconds,
        token: data.token
      })
      return yield* Either.match(result, {
        onLeft: (rejection) => Effect.fail(rejected(rejection, undefined)),
        onRight: (verified) => Effect.succeed({ webhookId: verified.webhookId, timestamp: verified.timestamp ?? null })
      })
    })

    /**
     * Receives a delivery posted to a source: finds the source (in whichever workspace has it),
     * verifies the signature over the raw body (and, for Standard Webhooks, the timestamp), then,
     * in one transaction, records the delivery id (a delivery received before is acknowledged as
     * a `duplicate` and not processed again) and emits the events its payload maps to (the
     * mapper given for the source in `options.mappers`, else the provider's built-in one). A
     * delivery with nothing to record (a topic no mapper handles, a WooCommerce ping) is
     * acknowledged as `ignored`. Refusals are `WebhookRejected` (nothing recorded, so the sender's
     * retry can succeed) or `ValidationError` for a payload whose events do not fit.
     */
    const receive = Effect.fn("InboundWebhooks.receive")(function* (delivery: WebhookDelivery, options?: ReceiveOptions) {
      const input = yield* decodeInput(DeliveryFields)(delivery)
      const found = Schema.is(WebhookSource)(input.source) ? yield* storage.inboundWebhooks.find(input.source) : Option.none()
      if (Option.isNone(found)) {
        return yield* new WebhookRejected({
          reason: "unknownSource",
          source: input.source,
          message: `No inbound webhook source is named ${JSON.stringify(input.source.slice(0, 64))}`
        })
      }
      const config = found.value
      const headers = WebhookSignature.normalizeHeaders(input.headers)
      const now = yield* DateTime.now

      // WooCommerce pings a new webhook's URL, unsigned, with `webhook_id=<n>`: acknowledged so
      // that the shop saves the webhook, and nothing else happens.
      if (config.provider === "woocommerce" && headers["x-wc-webhook-signature"] === undefined && /^webhook_id=\d{1,20}$/.test(Buffer.from(input.body).toString("latin1"))) {
        return receiptOf(config.source, null, { ignored: true })
      }

      const verified = WebhookSignature.verify(config.provider, {
        secrets: config.secrets,
        headers,
        body: input.body,
        nowSeconds: Math.floor(DateTime.toEpochMillis(now) / 1000),
        toleranceSeconds: config.toleranceSeconds,
        token: input.token
      })
      if (Either.isLeft(verified)) return yield* rejected(verified.left, config.source)
      const webhookId = verified.right.webhookId

      // Parsed only now that the bytes are known to come from the sender.
      const payload = yield* Effect.try({
        try: (): unknown => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(input.body)),
        catch: (error) =>
          new WebhookRejected({ reason: "body", source: config.source, message: `The body is not JSON in UTF-8: ${error instanceof Error ? error.message : String(error)}` })
      })

      const mapper = options?.mappers?.[config.source]
      // A mail provider's bounces, complaints, unsubscriptions and opens: recorded with what they change.
      if (mapper === undefined && WebhookSignature.isTokenProvider(config.provider)) {
        const feedback = yield* Either.match(config.provider === "brevo" ? MailWebhooks.brevo(payload) : MailWebhooks.mailjet(payload), {
          onLeft: (issues) => Effect.fail(mappingError(issues)),
          onRight: Effect.succeed
        })
        if (feedback.length === 0) return receiptOf(config.source, webhookId, { ignored: true })
        return yield* storage
          .transaction(
            Effect.gen(function* () {
              yield* workspaceLock(storage, "shared")
              const fresh = yield* storage.webhookReceipts.insert({ workspaceId: config.workspaceId, source: config.source, webhookId, receivedAt: now })
              if (!fresh) return receiptOf(config.source, webhookId, { duplicate: true })
              yield* storage.webhookReceipts.prune(config.workspaceId, config.source, DateTime.subtract(now, { days: RECEIPT_RETENTION_DAYS }))
              const results = yield* consents.recordMailFeedback(feedback)
              const events = results.flatMap((r) =>
                r.eventId === null ? [] : [{ id: EventId.make(r.eventId), type: feedbackEventType(r.type), contactId: r.contactId === null ? null : ContactId.make(r.contactId), duplicate: r.duplicate }]
              )
              return receiptOf(config.source, webhookId, { events, ignored: events.length === 0 })
            })
          )
          .pipe(withWorkspace(config.workspaceId))
      }
      const mapped: ReadonlyArray<unknown> = mapper !== undefined
        ? yield* Effect.sync(() => {
            const result = mapper(payload, headers)
            return result === null || result === undefined ? [] : Array.isArray(result) ? result : [result]
          })
        : yield* Either.match(
            config.provider === "shopify"
              ? ShopWebhooks.shopify(payload, { source: config.source, headers })
              : config.provider === "woocommerce"
                ? ShopWebhooks.wooCommerce(payload, { source: config.source, headers })
                : ShopWebhooks.standard(payload),
            { onLeft: (issues) => Effect.fail(mappingError(issues)), onRight: Effect.succeed }
          )
      if (mapped.length === 0) return receiptOf(config.source, webhookId, { ignored: true })
      if (mapped.length > maxEmitBatch) {
        return yield* ValidationError.at(["body"], `maps to ${mapped.length} events; at most ${maxEmitBatch} per delivery`)
      }
      // Events without an id get one from the delivery: recorded once however often it arrives.
      const inputs = mapped.map((item, index) =>
        isObject(item) && item["id"] === undefined ? { ...item, id: derivedEventId(config.source, webhookId, mapped.length > 1 ? index : undefined) } : item
      ) as ReadonlyArray<EmitInput>

      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            const fresh = yield* storage.webhookReceipts.insert({ workspaceId: config.workspaceId, source: config.source, webhookId, receivedAt: now })
            if (!fresh) return receiptOf(config.source, webhookId, { duplicate: true })
            // The source's expired receipts go as new ones arrive: one indexed delete, usually of nothing.
            yield* storage.webhookReceipts.prune(config.workspaceId, config.source, DateTime.subtract(now, { days: RECEIPT_RETENTION_DAYS }))
            const results = yield* events.emitMany(inputs)
            return receiptOf(config.source, webhookId, {
              events: results.map((r) => ({ id: r.event.id, type: r.event.type, contactId: r.contact?.id ?? null, duplicate: r.duplicate }))
            })
          })
        )
        .pipe(withWorkspace(config.workspaceId))
    })

    return {
      /** Adds a source (provider and secrets); its name is the URL's `:source`. */
      create,
      /** The workspace's sources, without secrets. */
      list,
      /** One source, without secrets. */
      get,
      /** Replaces a source's secrets (rotation) or tolerance. */
      update,
      /** Removes a source and forgets its deliveries. */
      remove,
      /** Verifies a delivery against secrets (no stored source needed). */
      verify,
      /** Verifies, de-duplicates and records a delivery posted to a source. */
      receive
    } as const
  })
}) {}
