/**
 * Deals (quotes): an amount of money in a pipeline stage, for a contact and/or a company, with a
 * win probability that comes from its stage unless someone weighted it up or down (the reason is
 * kept). A deal ends won, lost or cold.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { FieldValues } from "./FieldDefinition.js"
import { CompanyId, ContactId, DealId, PipelineId, WorkspaceId } from "./Ids.js"
import { JsonObject, JsonPatch, Text } from "./Json.js"
import { StageKey } from "./LifecycleDefinition.js"
import { Currency, MinorUnits, Money } from "./Money.js"
import { Probability } from "./Pipeline.js"
import { Instant, InstantInput, LocalDate } from "./Time.js"
import { showValue } from "../internal/show.js"

/**
 * `open` until the deal is `won` or `lost`; `cold` when it stalls without being lost (it counts
 * with the workspace's cold probability, 0% unless configured).
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealStatus = Schema.Literal("open", "won", "lost", "cold")

/**
 * @since 0.2.0
 * @category models
 */
export type DealStatus = typeof DealStatus.Type

/**
 * A probability set by hand instead of the stage's, with why.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ProbabilityOverride = Schema.Struct({
  probability: Probability,
  reason: Text(500)
})

/**
 * @since 0.2.0
 * @category models
 */
export interface ProbabilityOverride extends Schema.Schema.Type<typeof ProbabilityOverride> {}

/**
 * The largest deal amount: 10^15 minor units (ten thousand billion euros). Weighted sums are
 * exact integers of amount × percent, and this bound keeps each product within 64 bits.
 *
 * @since 0.2.0
 * @category constructors
 */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000_000

/**
 * A deal's amount: a non-negative whole number of minor units and an ISO currency.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealAmount = Schema.Struct({
  amountMinor: MinorUnits.pipe(
    Schema.filter((n) => n >= 0 && n <= MAX_AMOUNT_MINOR, {
      message: (issue) =>
        `must be an amount from 0 to ${MAX_AMOUNT_MINOR} minor units, got ${showValue(issue.actual)}; a deal is never negative`
    })
  ),
  currency: Currency
}).annotations({ identifier: "DealAmount" })

/**
 * @since 0.2.0
 * @category models
 */
export class Deal extends Schema.Class<Deal>("Deal")({
  id: DealId,
  workspaceId: WorkspaceId,
  pipelineId: PipelineId,
  stage: StageKey,
  title: Schema.String,
  amount: Money,
  contactId: Schema.NullOr(ContactId),
  companyId: Schema.NullOr(CompanyId),
  status: DealStatus,
  /** The probability of the deal's stage, kept up to date when the pipeline changes. */
  stageProbability: Probability,
  override: Schema.NullOr(ProbabilityOverride),
  expectedCloseDate: Schema.NullOr(LocalDate),
  ownerId: Schema.NullOr(Schema.String),
  quoteRef: Schema.NullOr(Schema.String),
  /** Why it was lost or went cold. */
  closeReason: Schema.NullOr(Schema.String),
  fields: FieldValues,
  /** The last move, follow-up, quote or change: what "stale" is measured from. */
  lastActivityAt: Instant,
  closedAt: Schema.NullOr(Instant),
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * The probability an open deal is weighted with: the override's, else its stage's.
 *
 * @since 0.2.0
 * @category utils
 */
export const openProbability = (deal: Pick<Deal, "stageProbability" | "override">): number =>
  deal.override?.probability ?? deal.stageProbability

const Owner = Schema.NullOr(Text(200))

/**
 * A quote reference as callers give it: trimmed, 1 to 100 characters, on a single line. It goes
 * into mail subjects and an `X-Rapport-Quote-Ref` header, so a line break, a tab or any other
 * control character (C0, DEL, C1, Unicode line and paragraph separators) is refused.
 *
 * @since 0.4.0
 * @category schemas
 */
export const QuoteRef = Text(100).pipe(
  Schema.filter((s) =>
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s)
      ? "must be a single line: no line break, tab or other control character (it goes into mail headers)"
      : true
  )
)

const NullableQuoteRef = Schema.NullOr(QuoteRef)

const hasParty = <A extends { readonly contactId?: unknown; readonly companyId?: unknown }>(input: A) =>
  (input.contactId ?? null) !== null || (input.companyId ?? null) !== null
    ? undefined
    : { path: ["contactId"], message: "a deal needs a contactId, a companyId or both" }

/**
 * What `deals.create` accepts. Without `pipelineId`, the workspace's first pipeline (created with
 * the default stages if there is none); without `stage`, the pipeline's first open stage.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealCreate = Schema.Struct({
  title: Text(300),
  amount: DealAmount,
  pipelineId: Schema.optional(PipelineId),
  stage: Schema.optional(StageKey),
  contactId: Schema.optional(Schema.NullOr(ContactId)),
  companyId: Schema.optional(Schema.NullOr(CompanyId)),
  probability: Schema.optional(Schema.NullOr(ProbabilityOverride)),
  expectedCloseDate: Schema.optional(Schema.NullOr(LocalDate)),
  ownerId: Schema.optional(Owner),
  quoteRef: Schema.optional(NullableQuoteRef),
  fields: Schema.optional(JsonObject)
}).pipe(Schema.filter(hasParty))

/**
 * @since 0.2.0
 * @category models
 */
export type DealCreate = typeof DealCreate.Encoded

/**
 * What `deals.update` accepts; `probability: null` returns to the stage's probability, `null`
 * in `fields` removes a value. Stages and outcomes change through `move`, `win`, `lose`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  title: Schema.optional(Text(300)),
  amount: Schema.optional(DealAmount),
  contactId: Schema.optional(Schema.NullOr(ContactId)),
  companyId: Schema.optional(Schema.NullOr(CompanyId)),
  probability: Schema.optional(Schema.NullOr(ProbabilityOverride)),
  expectedCloseDate: Schema.optional(Schema.NullOr(LocalDate)),
  ownerId: Schema.optional(Owner),
  quoteRef: Schema.optional(NullableQuoteRef),
  fields: Schema.optional(JsonPatch)
})

/**
 * @since 0.2.0
 * @category models
 */
export type DealUpdate = typeof DealUpdate.Encoded

/**
 * Options of a stage move, win, loss or cooling: the version you read (the move is refused if the
 * deal changed since), a note for the timeline, and when it happened (now by default).
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealTransition = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  note: Schema.optional(Text(2000)),
  reason: Schema.optional(Text(500)),
  at: Schema.optional(InstantInput),
  author: Schema.optional(Text(200))
})

/**
 * @since 0.2.0
 * @category models
 */
export type DealTransition = typeof DealTransition.Encoded

/**
 * A filter on deals, shared by listings and aggregates. `closeFrom` is inclusive and `closeTo`
 * exclusive (expected close dates).
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealFilter = Schema.Struct({
  pipelineId: Schema.optional(PipelineId),
  stages: Schema.optional(Schema.Array(StageKey)),
  statuses: Schema.optional(Schema.Array(DealStatus)),
  ownerId: Schema.optional(Schema.NullOr(Text(200))),
  contactId: Schema.optional(ContactId),
  companyId: Schema.optional(CompanyId),
  currency: Schema.optional(Currency),
  closeFrom: Schema.optional(LocalDate),
  closeTo: Schema.optional(LocalDate)
})

/**
 * @since 0.2.0
 * @category models
 */
export interface DealFilter extends Schema.Schema.Type<typeof DealFilter> {}

/**
 * Paging and filters of `deals.list`, in creation order.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealListOptions = Schema.Struct({
  ...DealFilter.fields,
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.2.0
 * @category models
 */
export type DealListOptions = typeof DealListOptions.Encoded
