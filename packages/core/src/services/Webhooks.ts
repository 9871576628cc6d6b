/**
 * Outbound webhooks: a workspace's subscriptions tell other systems what happened — a contact
 * created, a stage changed, a deal won or lost, an order placed, consent withdrawn, an import
 * finished. Each message is written to the outbox in the transaction that records the change, and
 * the Dispatcher delivers it with Standard Webhooks signatures (`webhook-id` is the job's
 * idempotency key: the same on every attempt), retries failures with backoff and jitter, honours
 * `Retry-After`, disables a subscription whose receiver answers `410 Gone`, and refuses private,
 * loopback, link-local and unique-local addresses unless allowed. Every attempt is in the
 * subscription's delivery log, from which a message can be delivered again.
 *
 * @example
 * ```ts
 * const { subscription, secret } = await crm.webhooks.create({
 *   url: "https://erp.example.com/hooks/rapport",
 *   eventTypes: ["contact.created", "deal.won"]
 * })
 * // Give `secret` to the receiver: it verifies each message's webhook-signature with it.
 * ```
 *
 * @since 0.6.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import { JobId, WebhookDeliveryId, WebhookSubscriptionId } from "../domain/Ids.js"
import { SafeString } from "../domain/Json.js"
import {
  generateSecret,
  isLocalhostName,
  publicView,
  refusal,
  StoredSubscription,
  SubscriptionCreate,
  SubscriptionUpdate,
  SubscriptionWithSecret,
  WebhookSecret
} from "../domain/OutboundWebhook.js"
import * as Page from "../domain/Page.js"
import { clampInstant } from "../domain/Time.js"
import { workspaceLock } from "../internal/locks.js"
import { orNotFound } from "../internal/records.js"
import { rulesChanged } from "../internal/rules.js"
import { JobSignal } from "../internal/signal.js"
import { decodeInput } from "../internal/validation.js"
import { WebhookSettings, type WebhookSettingsService } from "../internal/webhookDelivery.js"
import { planWebhooks } from "../internal/webhooks.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"

export {
  /**
   * Outbound webhook settings (private networks, timeout, User-Agent); the defaults when not
   * provided. The Promise client takes them as `createCrm({ webhooks })`.
   *
   * @since 0.6.0
   * @category services
   */
  WebhookSettings,
  /**
   * @since 0.6.0
   * @category models
   */
  type WebhookSettingsService
} from "../internal/webhookDelivery.js"

/**
 * Sets the outbound webhook settings.
 *
 * @since 0.6.0
 * @category layers
 */
export const settingsLayer = (settings: WebhookSettingsService): Layer.Layer<WebhookSettings> => Layer.succeed(WebhookSettings, settings)

/**
 * The most subscriptions a workspace may have (every event is queued once per subscription
 * listening to it).
 *
 * @since 0.6.0
 * @category constructors
 */
export const MAX_SUBSCRIPTIONS = 100

/**
 * Paging of `webhooks.list` and `webhooks.deliveries`.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookListOptions = Schema.Struct({
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookListOptions = typeof WebhookListOptions.Encoded

const KeepPrevious = Schema.Union(Schema.NonNegative, Schema.String).annotations({
  message: () => ({ message: 'must be a duration such as "24 hours", or a number of milliseconds', override: true })
})

/**
 * What `webhooks.rotateSecret` takes: the new secret (generated when not given), and how long
 * messages are also signed with the previous one (default 24 hours, at most 7 days; `0` to stop
 * at once), so that receivers can switch without refusing a message.
 *
 * @since 0.6.0
 * @category schemas
 */
export const RotateSecretOptions = Schema.Struct({
  secret: Schema.optional(WebhookSecret),
  keepPreviousFor: Schema.optional(KeepPrevious)
})

/**
 * @since 0.6.0
 * @category models
 */
export type RotateSecretOptions = typeof RotateSecretOptions.Encoded

const Count = Schema.Int.pipe(Schema.nonNegative())

/**
 * What `webhooks.importFinished` tells subscribers of `import.finished` (the counts of an import
 * report; `@rapport/importers` sends them when an import that wrote finishes).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportFinished = Schema.Struct({
  /** The import's id: messages of one id are sent once (generated when not given). */
  importId: Schema.optional(SafeString.pipe(Schema.minLength(1), Schema.maxLength(100))),
  format: Schema.optional(SafeString.pipe(Schema.maxLength(100))),
  rowsRead: Count,
  created: Count,
  updated: Count,
  skipped: Count,
  rejected: Count,
  conflicted: Schema.optional(Count),
  /** Where a database failure stopped the import, if one did. */
  stopped: Schema.optional(Schema.NullOr(Schema.Struct({ line: Count, message: SafeString }))),
  durationMs: Schema.optional(Count)
})

/**
 * @since 0.6.0
 * @category models
 */
export type ImportFinished = typeof ImportFinished.Encoded

const decodeSubscriptionId = decodeInput(WebhookSubscriptionId, ["subscriptionId"])
const decodeDeliveryId = decodeInput(WebhookDeliveryId, ["deliveryId"])
const DeliveryPosition = Schema.Tuple(Schema.DateTimeUtc, WebhookDeliveryId)
const WEEK = 7 * 86_400_000

/**
 * Why a URL's host may not be reached, when it is an address (or `localhost`) deliveries are
 * refused; names are checked when resolved, at each delivery.
 */
const hostRefusal = (url: string): string | undefined => {
  const hostname = new URL(url).hostname
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname
  return isLocalhostName(host) ? `${host} is a loopback name` : refusal(host)
}

/**
 * @since 0.6.0
 * @category services
 */
export class Webhooks extends Effect.Service<Webhooks>()("@rapport/core/Webhooks", {
  dependencies: [JobSignal.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const signal = yield* JobSignal

    const getStored = (workspaceId: StoredSubscription["workspaceId"], id: WebhookSubscriptionId) =>
      orNotFound(storage.webhookSubscriptions.get(workspaceId, id), "webhookSubscription", id)

    const checkUrl = (url: string, allowPrivate: boolean) =>
      Effect.gen(function* () {
        if (allowPrivate || (yield* WebhookSettings).allowPrivateNetworks === true) return
        const refused = hostRefusal(url)
        if (refused !== undefined) {
          return yield* ValidationError.at(
            ["url"],
            `${refused}: deliveries may not reach it (allow private networks in the CRM's webhook settings, or allowPrivateNetwork on the subscription from your app's code)`
          )
        }
      })

    /**
     * Subscribes a URL to event types. The result holds the secret (generated unless given): it
     * is shown here and by `rotateSecret` only. A URL whose host is a private, loopback,
     * link-local or unique-local address is refused unless allowed.
     */
    const create = Effect.fn("Webhooks.create")(function* (input: SubscriptionCreate) {
      const data = yield* decodeInput(SubscriptionCreate)(input)
      const allowPrivate = data.allowPrivateNetwork ?? false
      yield* checkUrl(data.url, allowPrivate)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const existing = yield* storage.webhookSubscriptions.list(workspace.id, { limit: MAX_SUBSCRIPTIONS })
          if (existing.length >= MAX_SUBSCRIPTIONS) {
            return yield* ValidationError.at([], `a workspace has at most ${MAX_SUBSCRIPTIONS} webhook subscriptions; remove one first`)
          }
          const now = yield* DateTime.now
          const secret = data.secret ?? generateSecret()
          const stored = new StoredSubscription(
            {
              id: WebhookSubscriptionId.make(yield* (yield* IdGenerator).next),
              workspaceId: workspace.id,
              url: data.url,
              eventTypes: data.eventTypes,
              description: data.description ?? null,
              enabled: data.enabled ?? true,
              disabledReason: null,
              allowPrivateNetwork: allowPrivate,
              previousSecretExpiresAt: null,
              version: 1,
              createdAt: now,
              updatedAt: now,
              secret,
              previousSecret: null
            },
            true
          )
          yield* storage.webhookSubscriptions.insert(stored)
          yield* rulesChanged(storage, workspace.id)
          return new SubscriptionWithSecret({ subscription: publicView(stored), secret }, true)
        })
      )
    })

    /** The workspace's subscriptions in id order, a page at a time (without secrets). */
    const list = Effect.fn("Webhooks.list")(function* (options: WebhookListOptions = {}) {
      const query = yield* decodeInput(WebhookListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : yield* Page.decodeIdCursor(query.cursor, "webhooks.list")
      const rows = yield* storage.webhookSubscriptions.list((yield* readWorkspace(storage)).id, { after, limit: limit + 1 })
      return Page.fromRows(rows.map(publicView), limit, (s) => [s.id])
    })

    /** A subscription (without its secret), or `NotFound`. */
    const get = Effect.fn("Webhooks.get")(function* (subscriptionId: string) {
      const id = yield* decodeSubscriptionId(subscriptionId)
      return publicView(yield* getStored((yield* readWorkspace(storage)).id, id))
    })

    /** Writes a subscription's next version in a transaction holding the workspace. */
    const changing = <E>(
      subscriptionId: string,
      expectedVersion: number | undefined,
      next: (current: StoredSubscription, now: DateTime.Utc) => Effect.Effect<StoredSubscription, E>
    ) =>
      Effect.gen(function* () {
        const id = yield* decodeSubscriptionId(subscriptionId)
        return yield* storage.transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            const workspaceId = (yield* readWorkspace(storage)).id
            const current = yield* getStored(workspaceId, id)
            if (expectedVersion !== undefined && expectedVersion !== current.version) {
              return yield* Conflict.version("webhookSubscription", id, expectedVersion, current.version)
            }
            const now = yield* DateTime.now
            const changed = yield* next(current, now)
            const stored = new StoredSubscription({ ...changed, version: current.version + 1, updatedAt: now }, true)
            yield* storage.webhookSubscriptions.update(stored, current.version)
            yield* rulesChanged(storage, workspaceId)
            return stored
          })
        )
      })

    /**
     * Changes a subscription: its URL, event types, description, whether it is enabled (enabling
     * clears why it was disabled; its messages skipped meanwhile can be redelivered) or may reach
     * private networks. With `expectedVersion`, a stale write fails with `Conflict`.
     */
    const update = Effect.fn("Webhooks.update")(function* (subscriptionId: string, input: SubscriptionUpdate) {
      const data = yield* decodeInput(SubscriptionUpdate)(input)
      const stored = yield* changing(subscriptionId, data.expectedVersion, (current) =>
        Effect.gen(function* () {
          const url = data.url ?? current.url
          const allowPrivateNetwork = data.allowPrivateNetwork ?? current.allowPrivateNetwork
          if (url !== current.url || allowPrivateNetwork !== current.allowPrivateNetwork) yield* checkUrl(url, allowPrivateNetwork)
          const enabled = data.enabled ?? current.enabled
          return new StoredSubscription(
            {
              ...current,
              url,
              allowPrivateNetwork,
              eventTypes: data.eventTypes ?? current.eventTypes,
              description: data.description === undefined ? current.description : data.description,
              enabled,
              disabledReason: enabled ? null : current.disabledReason
            },
            true
          )
        })
      )
      return publicView(stored)
    })

    /**
     * Replaces the secret (with `secret`, or a generated one) and returns it. Until
     * `keepPreviousFor` has passed (24 hours by default), messages carry a second signature made
     * with the previous secret, so a receiver still holding it keeps verifying them.
     */
    const rotateSecret = Effect.fn("Webhooks.rotateSecret")(function* (subscriptionId: string, options: RotateSecretOptions = {}) {
      const data = yield* decodeInput(RotateSecretOptions)(options)
      const keep = Duration.decodeUnknown(data.keepPreviousFor ?? "24 hours")
      const keepMillis = Option.isSome(keep) && Duration.isFinite(keep.value) ? Duration.toMillis(keep.value) : Number.NaN
      if (!(keepMillis >= 0 && keepMillis <= WEEK)) {
        return yield* ValidationError.at(["keepPreviousFor"], 'must be a duration from 0 to 7 days, such as "24 hours"')
      }
      const secret = data.secret ?? generateSecret()
      const stored = yield* changing(subscriptionId, undefined, (current, now) =>
        Effect.succeed(
          new StoredSubscription(
            {
              ...current,
              secret,
              previousSecret: keepMillis === 0 ? null : current.secret,
              previousSecretExpiresAt: keepMillis === 0 ? null : clampInstant(DateTime.toEpochMillis(now) + keepMillis)
            },
            true
          )
        )
      )
      return new SubscriptionWithSecret({ subscription: publicView(stored), secret }, true)
    })

    /**
     * Removes a subscription and its delivery log. Its messages still queued are skipped when due.
     */
    const remove = Effect.fn("Webhooks.remove")(function* (subscriptionId: string) {
      const id = yield* decodeSubscriptionId(subscriptionId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          if (!(yield* storage.webhookSubscriptions.remove(workspaceId, id))) return yield* NotFound.of("webhookSubscription", id)
          yield* rulesChanged(storage, workspaceId)
        })
      )
    })

    /** A subscription's delivery log, newest attempt first, a page at a time. */
    const deliveries = Effect.fn("Webhooks.deliveries")(function* (subscriptionId: string, options: WebhookListOptions = {}) {
      const id = yield* decodeSubscriptionId(subscriptionId)
      const query = yield* decodeInput(WebhookListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const before = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(DeliveryPosition, query.cursor, "webhooks.deliveries")
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getStored(workspaceId, id)
      const rows = yield* storage.webhookSubscriptions.deliveries(workspaceId, {
        subscriptionId: id,
        before: before === undefined ? undefined : { attemptedAt: before[0], id: before[1] },
        limit: limit + 1
      })
      return Page.fromRows(rows, limit, (d) => [DateTime.formatIso(d.attemptedAt), d.id])
    })

    /**
     * Queues the message of a delivery log entry again, due now, with its attempts reset:
     * whatever it came to (delivered, dead, or skipped while its subscription was disabled). It
     * keeps its `webhook-id`: a receiver that already processed it recognises it. Fails when the
     * message is queued already, or its subscription is disabled. Returns the message's job.
     */
    const redeliver = Effect.fn("Webhooks.redeliver")(function* (deliveryId: string) {
      const id = yield* decodeDeliveryId(deliveryId)
      const workspaceId = (yield* readWorkspace(storage)).id
      const delivery = yield* orNotFound(storage.webhookSubscriptions.getDelivery(workspaceId, id), "webhookDelivery", id)
      const subscription = yield* getStored(workspaceId, delivery.subscriptionId)
      if (!subscription.enabled) {
        return yield* ValidationError.at(["deliveryId"], `its subscription ${subscription.id} is disabled: enable it first`)
      }
      const requeued = yield* storage.webhookSubscriptions.redeliver(workspaceId, delivery.jobId, yield* DateTime.now)
      if (Option.isSome(requeued)) {
        yield* signal.notify
        return requeued.value
      }
      const job = yield* storage.jobs.get(workspaceId, JobId.make(delivery.jobId))
      return yield* Option.isNone(job)
        ? Effect.fail(NotFound.of("job", delivery.jobId))
        : Effect.fail(ValidationError.at(["deliveryId"], `its message is queued already (job ${job.value.id} is ${job.value.status})`))
    })

    /**
     * Tells the subscribers of `import.finished` that an import finished, with its counts.
     * `@rapport/importers` calls it after every import that wrote (not after dry runs); an app
     * importing by its own means may call it too. Returns how many messages were queued.
     */
    const importFinished = Effect.fn("Webhooks.importFinished")(function* (summary: ImportFinished) {
      const data = yield* decodeInput(ImportFinished)(summary)
      const importId = data.importId ?? (yield* (yield* IdGenerator).next)
      const queued = yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          const now = yield* DateTime.now
          return yield* planWebhooks(storage, workspace, () => [
            { type: "import.finished", eventId: `import.finished:${importId}`, occurredAt: now, contactId: null, data: { import: { ...data, importId } } }
          ])
        })
      )
      if (queued > 0) yield* signal.notify
      return { queued }
    })

    return {
      /** Subscribes a URL to event types; the result shows the secret once. */
      create,
      /** The workspace's subscriptions, a page at a time. */
      list,
      /** A subscription. */
      get,
      /** Changes a subscription. */
      update,
      /** Replaces a subscription's secret, signing with the previous one for a while. */
      rotateSecret,
      /** Removes a subscription and its delivery log. */
      remove,
      /** A subscription's delivery log, newest first. */
      deliveries,
      /** Queues a logged message again (same `webhook-id`). */
      redeliver,
      /** Tells subscribers that an import finished. */
      importFinished
    } as const
  })
}) {}
