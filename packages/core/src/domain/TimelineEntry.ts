/**
 * The interaction history: an append-only timeline per contact. Every exchange (email, call,
 * letter, meeting, note, quote, follow-up and the contact's reaction), every stage change with its
 * cause, every order and every other event lands here, so one can always tell who said what and
 * which proposal was made.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ContactId, EventId, TimelineEntryId, WorkspaceId } from "./Ids.js"
import { Instant, InstantInput } from "./Time.js"
import { JsonObject, SafeString, Text } from "./Json.js"

/**
 * Entries people log (`timeline.log`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LoggableKind = Schema.Literal("email", "call", "letter", "meeting", "note", "quoteSent", "followUp")

/**
 * Every kind of entry: the loggable ones, plus those Rapport records itself (`stageChange`,
 * `order`, `deal` for a deal's creation, moves, win and loss, `event` for other events, since
 * 0.3.0 `merge` for a duplicate contact merged into this one, see {@link MergePayload}, and since
 * 0.7.0 `ruleChange` for a rule's tag, score, field or owner change, see {@link RuleChangePayload}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimelineKind = Schema.Literal(...LoggableKind.literals, "stageChange", "order", "deal", "event", "merge", "ruleChange")

/**
 * @since 0.1.0
 * @category models
 */
export type TimelineKind = typeof TimelineKind.Type

/**
 * Who spoke: `outbound` (we wrote or called) or `inbound` (the contact did).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Direction = Schema.Literal("inbound", "outbound")

/**
 * The contact's reaction to a follow-up.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Reaction = Schema.Literal("positive", "neutral", "negative", "noAnswer")

/**
 * @since 0.1.0
 * @category models
 */
export class TimelineEntry extends Schema.Class<TimelineEntry>("TimelineEntry")({
  id: TimelineEntryId,
  workspaceId: WorkspaceId,
  contactId: ContactId,
  kind: TimelineKind,
  /** When it happened. */
  occurredAt: Instant,
  /** When Rapport recorded it. */
  recordedAt: Instant,
  /** Who wrote or did it: a user id of the host app, or `system:<part>` for Rapport itself. */
  author: Schema.NullOr(Schema.String),
  channel: Schema.NullOr(Schema.String),
  direction: Schema.NullOr(Direction),
  summary: Schema.String,
  reaction: Schema.NullOr(Reaction),
  payload: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** The event this entry records, when it records one. */
  eventId: Schema.NullOr(EventId)
}) {}


/**
 * What `timeline.log` accepts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimelineLog = Schema.Struct({
  contactId: ContactId,
  kind: LoggableKind,
  summary: Text(2000),
  occurredAt: Schema.optional(InstantInput),
  author: Schema.optional(Schema.NullOr(Text(200))),
  channel: Schema.optional(Schema.NullOr(Text(100))),
  direction: Schema.optional(Schema.NullOr(Direction)),
  reaction: Schema.optional(Schema.NullOr(Reaction)),
  payload: Schema.optional(JsonObject)
})

/**
 * @since 0.1.0
 * @category models
 */
export type TimelineLog = typeof TimelineLog.Encoded

/**
 * Filters and paging of timeline listings (newest first). `from` is inclusive, `to` exclusive.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimelineListOptions = Schema.Struct({
  kinds: Schema.optional(Schema.Array(TimelineKind)),
  from: Schema.optional(InstantInput),
  to: Schema.optional(InstantInput),
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.1.0
 * @category models
 */
export type TimelineListOptions = typeof TimelineListOptions.Encoded

/**
 * Why a contact changed stage: moved by someone (with their reason), or automatically when an
 * event met a stage's criterion.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageChangeCause = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("manual"), reason: Schema.String }),
  Schema.Struct({
    kind: Schema.Literal("automatic"),
    /** The criterion that held, e.g. `2 orders`. */
    criterion: Schema.String,
    /** The event that triggered the check; `null` when filling required fields unblocked the move. */
    eventId: Schema.NullOr(Schema.String),
    eventType: Schema.NullOr(Schema.String)
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type StageChangeCause = typeof StageChangeCause.Type

/**
 * The payload of `stageChange` entries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageChangePayload = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  cause: StageChangeCause
})

/**
 * A stage move, as `lifecycle.history` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export class StageChange extends Schema.Class<StageChange>("StageChange")({
  contactId: ContactId,
  from: Schema.String,
  to: Schema.String,
  at: Instant,
  author: Schema.NullOr(Schema.String),
  cause: StageChangeCause
}) {}

/**
 * The payload of `merge` entries: what `contacts.merge` did, with everything of the merged
 * contact that the kept one did not take, so that nothing is lost.
 *
 * @since 0.3.0
 * @category schemas
 */
export const MergePayload = Schema.Struct({
  /** The merged (now removed) contact as it was just before the merge, as JSON. */
  merged: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** Attributes the kept contact had none of and took from the merged one (`email`, `phone`…). */
  attributesTaken: Schema.Array(Schema.String),
  /** Custom fields the kept contact had no value for and took from the merged one. */
  fieldsTaken: Schema.Array(Schema.String),
  /** The merged contact's values of fields the kept contact kept its own different value of. */
  fieldsNotTaken: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** How many records of each kind moved to the kept contact. */
  moved: Schema.Struct({
    timeline: Schema.Int,
    events: Schema.Int,
    orders: Schema.Int,
    deals: Schema.Int,
    tasks: Schema.Int,
    jobs: Schema.Int,
    firings: Schema.Int,
    consents: Schema.Int
  }),
  /** The kept contact's stage move, when the merged contact was further in the lifecycle. */
  stage: Schema.NullOr(Schema.Struct({ from: Schema.String, to: Schema.String }))
})

/**
 * @since 0.3.0
 * @category models
 */
export type MergePayload = typeof MergePayload.Type

/**
 * The payload of a `ruleChange` entry: the rule that acted (its id and its name when it ran),
 * the action's type, and what changed (`tag`; `from`/`to` for a score or an owner; `key` and
 * `from`/`to` for a custom field). Its author is `rule:<ruleId>`.
 *
 * @since 0.7.0
 * @category schemas
 */
export const RuleChangePayload = Schema.Struct({
  ruleId: Schema.String,
  ruleName: Schema.NullOr(Schema.String),
  action: Schema.Literal("addTag", "removeTag", "adjustScore", "setField", "assignOwner"),
  jobId: Schema.String,
  tag: Schema.optional(Schema.String),
  key: Schema.optional(Schema.String),
  from: Schema.optional(Schema.Unknown),
  to: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.7.0
 * @category models
 */
export type RuleChangePayload = typeof RuleChangePayload.Type
