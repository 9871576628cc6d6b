/**
 * A campaign: one marketing template sent to an audience (a saved segment or a condition), now or
 * at a time, through the outbox. Sending it queues one dispatcher job that pages through the
 * audience, recording where it is (`cursor`, `queued`), and queues one mail job per contact whose
 * idempotency key is the campaign and the contact: a crash or a re-run never queues a contact
 * twice. Mails are spread by `ratePerMinute`, and each goes through the same checks as a rule's
 * marketing mail (consent, bounces, the frequency and pressure caps, an unsubscribe link).
 *
 * @since 0.8.0
 */
import * as Schema from "effect/Schema"
import { Purpose } from "./Consent.js"
import { SetupKey, TemplateId, WorkspaceId } from "./Ids.js"
import { SafeString, Text } from "./Json.js"
import { Goal } from "./Rule.js"
import { SegmentRef } from "./Segment.js"
import { Instant } from "./Time.js"

/**
 * A campaign's id: a UUID.
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignId = Schema.compose(Schema.Lowercase, Schema.UUID, { strict: false }).pipe(
  Schema.brand("CampaignId"),
  Schema.annotations({ identifier: "CampaignId", message: () => ({ message: "must be a UUID", override: true }) })
)

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignId = typeof CampaignId.Type

/**
 * Who receives a campaign: the members of a saved segment, or the contacts a condition (the
 * rules' condition language, on `contact.*`) selects. Read page by page when the campaign starts.
 *
 * @since 0.8.0
 * @category schemas
 */
export const Audience = SegmentRef

/**
 * @since 0.8.0
 * @category models
 */
export type Audience = typeof Audience.Type

/**
 * Where a campaign stands:
 * - `draft`: created, not sent;
 * - `scheduled`: `send` was called; its fan-out job waits for `sendAt`;
 * - `sending`: the fan-out is queueing the audience's mails (`queued` so far);
 * - `sent`: every member was queued (the mails go out as they fall due, see `stats`);
 * - `cancelled`: stopped; mails not sent yet are skipped.
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignStatus = Schema.Literal("draft", "scheduled", "sending", "sent", "cancelled").annotations({ identifier: "CampaignStatus" })

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignStatus = typeof CampaignStatus.Type

/**
 * The most mails per minute a campaign may be throttled to.
 *
 * @since 0.8.0
 * @category constructors
 */
export const maxRatePerMinute = 1_000_000

const Rate = Schema.Int.pipe(Schema.between(1, maxRatePerMinute))

/**
 * A campaign.
 *
 * @since 0.8.0
 * @category models
 */
export class Campaign extends Schema.Class<Campaign>("Campaign")({
  id: CampaignId,
  workspaceId: WorkspaceId,
  /** The app's stable key for it (`null` when none was given); unique in the workspace. */
  key: Schema.NullOr(SetupKey),
  name: Schema.String,
  /** The marketing template sent. */
  templateId: TemplateId,
  audience: Audience,
  /** The consent purpose the mails need, and whose pressure cap they count under (default `marketing`). */
  purpose: Schema.String,
  /** When the campaign starts once sent (`null`: as soon as `send` is called). */
  sendAt: Schema.NullOr(Instant),
  /** Mails per minute at most (`null`: all due when the campaign starts). */
  ratePerMinute: Schema.NullOr(Rate),
  /** The event that converts a recipient, within a window after their mail was sent. */
  goal: Schema.NullOr(Goal),
  status: CampaignStatus,
  /** The fan-out's position in the audience (opaque; `null` before the first page). */
  cursor: Schema.NullOr(Schema.String),
  /** Recipients queued so far. */
  queued: Schema.NonNegativeInt,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant,
  /** When the fan-out started: the first mail is due then, the next ones as the rate allows. */
  startedAt: Schema.NullOr(Instant),
  /** When the whole audience was queued. */
  finishedAt: Schema.NullOr(Instant),
  cancelledAt: Schema.NullOr(Instant)
}) {}

/**
 * What `campaigns.create` takes.
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignCreate = Schema.Struct({
  key: Schema.optional(SetupKey),
  name: Text(200),
  templateId: TemplateId,
  audience: Audience,
  purpose: Schema.optional(Purpose),
  /** An ISO-8601 instant; the campaign starts then once `send` is called. */
  sendAt: Schema.optional(Schema.DateTimeUtc),
  ratePerMinute: Schema.optional(Rate),
  goal: Schema.optional(Goal)
}).annotations({ identifier: "CampaignCreate" })

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignCreate = typeof CampaignCreate.Encoded

/**
 * What `campaigns.send` takes: `at` moves the start (default the campaign's `sendAt`, else now).
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignSend = Schema.Struct({ at: Schema.optional(Schema.DateTimeUtc) }).annotations({ identifier: "CampaignSend" })

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignSend = typeof CampaignSend.Encoded

/**
 * Filters and paging of `campaigns.list` (newest first).
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignListOptions = Schema.Struct({
  status: Schema.optional(CampaignStatus),
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.8.0
 * @category models
 */
export type CampaignListOptions = typeof CampaignListOptions.Encoded

/**
 * A campaign's results, like a rule's: recipients queued, mails `sent`, mails `pending` (not due
 * yet or being retried), `skipped` (no consent, unsubscribed, bounced, over a cap, cancelled),
 * `failed` (dead-lettered), mails `opened` (sent mails the host reported opened, each counted
 * once: see `docs/campaigns.md`), and recipients `converted`: who emitted the goal event within
 * the goal's window after their mail was sent (0 without a goal).
 *
 * @since 0.8.0
 * @category schemas
 */
export const CampaignStats = Schema.Struct({
  campaignId: CampaignId,
  status: CampaignStatus,
  queued: Schema.Number,
  pending: Schema.Number,
  sent: Schema.Number,
  skipped: Schema.Number,
  failed: Schema.Number,
  opened: Schema.Number.annotations({
    description: "Sent mails with at least one email.opened event of their contact naming them (payload jobId, or the messageId your Mailer returned)"
  }),
  converted: Schema.Number
}).annotations({ identifier: "CampaignStats" })

/**
 * @since 0.8.0
 * @category models
 */
export interface CampaignStats extends Schema.Schema.Type<typeof CampaignStats> {}

/**
 * The rule id a campaign's jobs carry (the outbox keys jobs by rule): `campaign:<id>`.
 *
 * @since 0.8.0
 * @category utils
 */
export const jobRuleOf = (id: CampaignId): string => `campaign:${id}`
