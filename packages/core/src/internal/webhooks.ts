// Outbound webhooks inside the caller's transaction: the workspace's enabled subscriptions, cached
// under the rules counter (an emission in a workspace without subscriptions sends no statement for
// them), and planning: for each event, one job per subscription that listens to its type, written
// in the transaction that records the event (the outbox), with the message body as it will be sent.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import type { Deal } from "../domain/Deal.js"
import type { StorageError } from "../domain/Errors.js"
import { type ContactId, EventId, RuleId, type WebhookSubscriptionId, type WorkspaceId } from "../domain/Ids.js"
import { type Job, NO_CONTACT } from "../domain/Job.js"
import { listensTo, type MessageBody, messageIdFor, type StoredSubscription, type WebhookEventType } from "../domain/OutboundWebhook.js"
import type { Workspace } from "../domain/Workspace.js"
import type { StorageService } from "../ports/Storage.js"
import { toJson } from "./json.js"
import { newJob } from "./rules.js"
import { RULES_COUNTER, rulesVersionOf } from "./workspace.js"

/** Something a subscription may hear of: its type, the event's id and time, whom it concerns, and what to send. */
export interface Notice {
  readonly type: WebhookEventType
  /** Unique per event of this type in the workspace: the message's `webhook-id` is derived from it. */
  readonly eventId: string
  readonly occurredAt: DateTime.Utc
  readonly contactId: ContactId | null
  /** The message's `data`, as JSON. */
  readonly data: unknown
}

/** The rule id webhook jobs carry: `dispatcher.jobs({ ruleId })` lists a subscription's messages. */
export const webhookRuleId = (subscriptionId: WebhookSubscriptionId) => RuleId.make(`webhook:${subscriptionId}`)

// Per store (tests run several stores with the same workspace ids), per workspace.
const cache = new WeakMap<StorageService, Map<WorkspaceId, { readonly version: number; readonly subscriptions: ReadonlyArray<StoredSubscription> }>>()

/**
 * The workspace's enabled subscriptions, read again only after a change: subscription writes bump
 * the rules counter (see `rulesChanged`), which an emission reads with its workspace anyway.
 */
export const subscriptionsFor = (storage: StorageService, workspace: Workspace | WorkspaceId): Effect.Effect<ReadonlyArray<StoredSubscription>, StorageError> =>
  Effect.gen(function* () {
    const workspaceId = typeof workspace === "string" ? workspace : workspace.id
    const version = (typeof workspace === "string" ? undefined : rulesVersionOf(storage, workspace)) ?? (yield* storage.counters.get(workspaceId, RULES_COUNTER))
    let perStore = cache.get(storage)
    if (perStore === undefined) {
      perStore = new Map()
      cache.set(storage, perStore)
    }
    const shared = perStore
    const hit = shared.get(workspaceId)
    if (hit !== undefined && hit.version === version) return hit.subscriptions
    const subscriptions = yield* storage.webhookSubscriptions.enabled(workspaceId)
    // Kept only once the transaction commits, as the rules are (internal/rules.ts): one that rolls
    // back may have read a subscription it wrote itself, under a counter value given again later.
    yield* storage.afterCommit(Effect.sync(() => void shared.set(workspaceId, { version, subscriptions })))
    return subscriptions
  })

/** The message body: the event type, when it happened, and its data (Standard Webhooks' shape). */
export const bodyOf = (notice: Notice): string =>
  JSON.stringify({ type: notice.type, timestamp: DateTime.formatIso(notice.occurredAt), data: notice.data } satisfies MessageBody)

/** The jobs that carry a notice to each subscription listening to its type (not written). */
export const jobsFor = (workspaceId: WorkspaceId, subscriptions: ReadonlyArray<StoredSubscription>, notices: ReadonlyArray<Notice>) =>
  Effect.gen(function* () {
    const now = yield* DateTime.now
    const jobs: Array<Job> = []
    for (const notice of notices) {
      const listening = subscriptions.filter((s) => listensTo(s.eventTypes, notice.type))
      if (listening.length === 0) continue
      const body = bodyOf(notice)
      for (const subscription of listening) {
        jobs.push(
          yield* newJob(workspaceId, {
            idempotencyKey: messageIdFor(workspaceId, subscription.id, notice.type, notice.eventId),
            kind: "action",
            ruleId: webhookRuleId(subscription.id),
            eventId: EventId.make(notice.eventId),
            contactId: notice.contactId ?? NO_CONTACT,
            variant: null,
            action: { type: "webhook", subscriptionId: subscription.id, eventType: notice.type, body },
            actionIndex: 0,
            dueAt: now
          })
        )
      }
    }
    return jobs
  })

/**
 * Queues, in the caller's transaction, one message per subscription of the workspace listening to
 * each notice's type; a message already queued for the same event and subscription is not queued
 * again. Notices are only built when the workspace has subscriptions (most emissions then cost
 * nothing). Returns how many were queued (due now: the caller wakes the dispatcher after commit).
 */
export const planWebhooks = (
  storage: StorageService,
  workspace: Workspace | WorkspaceId,
  notices: () => ReadonlyArray<Notice>
): Effect.Effect<number, StorageError> =>
  Effect.gen(function* () {
    const subscriptions = yield* subscriptionsFor(storage, workspace)
    if (subscriptions.length === 0) return 0
    const jobs = yield* jobsFor(typeof workspace === "string" ? workspace : workspace.id, subscriptions, notices())
    if (jobs.length > 0) yield* storage.jobs.insertMany(jobs)
    return jobs.length
  })

/** The webhook event type of a recorded event, if subscribers hear of it. */
export const webhookTypeOf = (eventType: string): WebhookEventType | undefined => {
  switch (eventType) {
    case "contact.created":
    case "contact.stage_changed":
    case "order.placed":
    case "consent.withdrawn":
      return eventType
    // Unsubscribing through a link withdraws consent too (for every purpose), and so does a spam
    // complaint.
    case "consent.unsubscribed":
    case "mail.complained":
      return "consent.withdrawn"
    default:
      return undefined
  }
}

/** What subscribers hear of recorded events: the event, and the contact as it is after it. */
export const noticesOf = (items: ReadonlyArray<{ readonly event: StoredEvent; readonly contact: Contact }>): ReadonlyArray<Notice> =>
  items.flatMap(({ event, contact }) => {
    const type = webhookTypeOf(event.type)
    if (type === undefined) return []
    return [
      {
        type,
        eventId: event.id,
        occurredAt: event.occurredAt,
        contactId: event.contactId,
        data: { event: toJson({ id: event.id, type: event.type, occurredAt: event.occurredAt, payload: event.payload }), contact: toJson(contact) }
      }
    ]
  })

/** What subscribers hear of a deal marked won or lost: the deal as it is now. */
export const dealNotice = (deal: Deal, outcome: "won" | "lost", at: DateTime.Utc): Notice => ({
  type: outcome === "won" ? "deal.won" : "deal.lost",
  eventId: `deal.${outcome}:${deal.id}:${deal.version}`,
  occurredAt: at,
  contactId: deal.contactId,
  data: { deal: toJson(deal) }
})
