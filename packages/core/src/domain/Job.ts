/**
 * The outbox: what rules decided to do, stored in the same transaction as the event that caused
 * it, and run by the Dispatcher. A `check` job is a delayed firing waiting to re-check its rule;
 * an `action` job is one action to run: a rule's, a mail queued already rendered (a deal's
 * follow-up), or an outbound webhook message. Each job has an idempotency key, the one its mail
 * (or its webhook, as `webhook-id`) carries,
 * so a job run again after a crash is never delivered twice by a provider that honours it.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import { nullByDefault } from "./Json.js"
import { ContactId, EventId, JobId, RuleId, WebhookSubscriptionId, WorkspaceId } from "./Ids.js"
import { WebhookEventType } from "./OutboundWebhook.js"
import { Instant } from "./Time.js"
import { Action } from "./Rule.js"

/**
 * - `pending`: waiting for its due time (or for a retry);
 * - `running`: claimed by a dispatcher until `leaseUntil` (a dispatcher that dies leaves it to be
 *   claimed again once the lease ends);
 * - `done`: ran; `skipped`: not run, and `outcome.reason` says why (the condition no longer held,
 *   no consent, the frequency cap…); `dead`: failed `attempts` times or for good (`lastError`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const JobStatus = Schema.Literal("pending", "running", "done", "skipped", "dead")

/**
 * @since 0.3.0
 * @category models
 */
export type JobStatus = typeof JobStatus.Type

/**
 * @since 0.3.0
 * @category schemas
 */
export const JobKind = Schema.Literal("check", "action")

/**
 * Whether a mail needed consent (`marketing`) or not (`transactional`); set when a mail job runs.
 *
 * @since 0.3.0
 * @category schemas
 */
export const MailCategory = Schema.Literal("transactional", "marketing")

/**
 * A mail queued already rendered (a deal's follow-up): the dispatcher sends it as is, with the
 * job's idempotency key, and records it on the contact's timeline.
 *
 * @since 0.4.0
 * @category schemas
 */
export const QueuedMail = Schema.Struct({
  type: Schema.Literal("mail"),
  to: Schema.String,
  subject: Schema.String,
  html: Schema.NullOr(Schema.String),
  text: Schema.NullOr(Schema.String),
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  /** The timeline entry the mail belongs to (the follow-up's), if any. */
  entryId: Schema.NullOr(Schema.String),
  /** Who the mail is from on the timeline. */
  author: Schema.NullOr(Schema.String),
  /** Files sent with the mail, their bytes in base64 (absent on mails queued before 0.7.0). */
  attachments: Schema.optional(Schema.Array(Schema.Struct({ filename: Schema.String, contentType: Schema.String, content: Schema.String })))
})

/**
 * @since 0.4.0
 * @category models
 */
export type QueuedMail = typeof QueuedMail.Type

/**
 * An outbound webhook message waiting for delivery: the subscription it goes to, its event type,
 * and its body exactly as it will be sent and signed on every attempt. Its `webhook-id` is the
 * job's idempotency key. Jobs of events without a contact (an import finished, a deal of a company
 * only) carry {@link NO_CONTACT} as their contact.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookMessage = Schema.Struct({
  type: Schema.Literal("webhook"),
  subscriptionId: WebhookSubscriptionId,
  eventType: WebhookEventType,
  body: Schema.String
})

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookMessage = typeof WebhookMessage.Type

/**
 * The contact id of jobs that concern no contact (the nil UUID): outbound webhook messages of an
 * import, or of a deal that only has a company.
 *
 * @since 0.6.0
 * @category constructors
 */
export const NO_CONTACT = ContactId.make("00000000-0000-0000-0000-000000000000")

/**
 * A campaign's fan-out: each run queues the mails of one page of its audience and records where
 * it got to, then runs again until the whole audience is queued (see `Campaigns`).
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignFanOut = Schema.Struct({
  type: Schema.Literal("campaign"),
  campaignId: Schema.String
})

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignFanOut = typeof CampaignFanOut.Type

/**
 * What a job runs: one of a rule's actions, a {@link QueuedMail}, a {@link WebhookMessage}, or a
 * campaign's {@link CampaignFanOut}.
 *
 * @since 0.4.0
 * @category schemas
 */
export const JobAction = Schema.Union(Action, QueuedMail, WebhookMessage, CampaignFanOut)

/**
 * @since 0.4.0
 * @category models
 */
export type JobAction = typeof JobAction.Type

/**
 * A job in the outbox.
 *
 * @since 0.3.0
 * @category models
 */
export class Job extends Schema.Class<Job>("Job")({
  id: JobId,
  workspaceId: WorkspaceId,
  /** Stable for the job's whole life; mails carry it (prefixed with the workspace). */
  idempotencyKey: Schema.String,
  kind: JobKind,
  ruleId: RuleId,
  eventId: EventId,
  contactId: ContactId,
  variant: Schema.NullOr(Schema.String),
  /** The action to run (`null` for a check). */
  action: Schema.NullOr(JobAction),
  /** The action's place in its firing (`null` for a check). */
  actionIndex: Schema.NullOr(Schema.Int),
  category: Schema.NullOr(MailCategory),
  dueAt: Instant,
  status: JobStatus,
  attempts: Schema.Int,
  leaseUntil: Schema.NullOr(Instant),
  claimToken: Schema.NullOr(Schema.String),
  lastError: Schema.NullOr(Schema.String),
  /** What running the job did (the mail's message id, the task created…) or why it was skipped. */
  outcome: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** When a marketing mail (or a rule's task with a purpose) took its place under the caps. */
  reservedAt: Schema.NullOr(Instant),
  /**
   * The purpose the job took its place under (`reservedAt`), which the pressure cap of that
   * purpose counts: a marketing mail's consent purpose, a rule task's `purpose`. `null` otherwise
   * (and on jobs reserved before 0.7.0).
   */
  purpose: nullByDefault(Schema.String),
  createdAt: Instant,
  updatedAt: Instant,
  completedAt: Schema.NullOr(Instant)
}) {}

/**
 * A rule acting for a contact: what limits (`oncePerContact`, `cooldown`, `oncePer`) and A/B
 * statistics count. A firing is recorded when its actions are queued (for a delayed rule, once its
 * conditions held again when due).
 *
 * @since 0.3.0
 * @category models
 */
export class Firing extends Schema.Class<Firing>("Firing")({
  id: Schema.String,
  workspaceId: WorkspaceId,
  ruleId: RuleId,
  contactId: ContactId,
  eventId: EventId,
  variant: Schema.NullOr(Schema.String),
  /** The rule's `oncePer` value for the triggering event. */
  dedupeKey: Schema.NullOr(Schema.String),
  firedAt: Instant,
  /** The goal event that converts this firing, and until when. */
  goalEvent: Schema.NullOr(Schema.String),
  goalUntil: Schema.NullOr(Instant),
  convertedAt: Schema.NullOr(Instant)
}) {}

/**
 * A rule's results per variant (`variant: null` without A/B): how often it fired, how many mails
 * it sent, how many of those the host reported opened (each mail once: see `docs/rules.md`), how
 * many firings converted.
 *
 * @since 0.7.0
 * @category schemas
 */
export const VariantStats = Schema.Struct({
  variant: Schema.NullOr(Schema.String),
  fired: Schema.Number,
  sent: Schema.Number,
  opened: Schema.Number.annotations({
    description: "Sent mails with at least one email.opened event of their contact naming them (payload jobId, or the messageId your Mailer returned)"
  }),
  converted: Schema.Number
}).annotations({ identifier: "VariantStats" })

/**
 * @since 0.3.0
 * @category models
 */
export interface VariantStats extends Schema.Schema.Type<typeof VariantStats> {}
