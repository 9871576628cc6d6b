/**
 * The analytics part of the Storage port: each report is one query the store answers, over the
 * workspace's orders, contacts, stage history, rule firings and recorded spend. What counts as a
 * customer, which stages the funnel walks, which fields the avatar report looks at and which jobs
 * count as sent are the caller's (parameters), never the store's.
 *
 * Money comes back as integer minor units per currency; ratios (shares, lifts, conversion rates)
 * are the database's own floating-point division.
 *
 * @since 0.8.0
 */
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type { StorageError } from "../domain/Errors.js"
import type { WorkspaceId } from "../domain/Ids.js"

/**
 * The orders a revenue report reads: those still `placed` (cancelled orders count for nothing),
 * placed at or after `from` and before `to`, of one currency when given. `limit` is per currency.
 *
 * @since 0.8.0
 * @category models
 */
export interface RevenueQuery {
  readonly from: DateTime.Utc
  readonly to: DateTime.Utc
  readonly limit: number
  readonly currency?: string | undefined
}

/**
 * One contact's figures in one currency over a period (see {@link AnalyticsRepository.topCustomers}).
 *
 * @since 0.8.0
 * @category models
 */
export interface CustomerRevenueRow {
  readonly rank: number
  readonly contactId: string
  readonly currency: string
  /** Σ (total − refunded) over the contact's placed orders. */
  readonly revenueMinor: number
  readonly orders: number
  /** Σ quantity × (unit price − unit cost) over lines that have a cost, minus Σ refunded. */
  readonly marginMinor: number
  /** Lines without a unit cost (left out of the margin). */
  readonly uncostedLines: number
}

/**
 * One product's (SKU's) figures in one currency over a period.
 *
 * @since 0.8.0
 * @category models
 */
export interface ProductRevenueRow {
  readonly rank: number
  readonly sku: string
  readonly name: string
  readonly currency: string
  /** Σ quantity × unit price. */
  readonly revenueMinor: number
  readonly quantity: number
  /** Σ quantity × (unit price − unit cost) over lines that have a cost. */
  readonly marginMinor: number
  /** Σ quantity of lines without a unit cost (left out of the margin). */
  readonly uncostedQuantity: number
}

/**
 * What the channel report reads: contacts first seen in [`from`, `to`), the spend recorded for
 * months `spendFrom` to `spendTo` (both included, `YYYY-MM`), and the stages that make a customer.
 *
 * @since 0.8.0
 * @category models
 */
export interface ChannelQuery {
  readonly from: DateTime.Utc
  readonly to: DateTime.Utc
  readonly spendFrom: string
  readonly spendTo: string
  readonly customerStages: ReadonlyArray<string>
}

/**
 * One channel and campaign in one currency (`currency` null when there is neither revenue nor
 * spend): how many contacts it brought, how many are customers now, their revenue and its spend.
 *
 * @since 0.8.0
 * @category models
 */
export interface ChannelRow {
  readonly channel: string
  /** `null`: contacts without a campaign, and spend recorded for the channel as a whole. */
  readonly campaign: string | null
  readonly acquired: number
  readonly customers: number
  /** customers ÷ acquired; `null` when none was acquired. */
  readonly customerShare: number | null
  readonly currency: string | null
  /** Σ (total − refunded) over every placed order of the contacts acquired (whenever placed). */
  readonly revenueMinor: number
  readonly spendMinor: number
  /** spend ÷ customers, rounded half up to a minor unit; `null` without customers. */
  readonly costPerCustomerMinor: number | null
}

/**
 * What the funnel reads: the stages in lifecycle order, and optionally bounds on the contacts'
 * first-seen instant (`cohortFrom` included, `cohortTo` excluded).
 *
 * @since 0.8.0
 * @category models
 */
export interface FunnelQuery {
  readonly stages: ReadonlyArray<string>
  readonly cohortFrom?: DateTime.Utc | undefined
  readonly cohortTo?: DateTime.Utc | undefined
}

/**
 * One stage of one cohort (the month, UTC, its contacts were first seen).
 *
 * @since 0.8.0
 * @category models
 */
export interface FunnelRow {
  readonly cohort: string
  readonly stage: string
  readonly position: number
  /** Contacts of the cohort in this stage now. */
  readonly current: number
  /** Contacts of the cohort that were ever in this stage or a later one. */
  readonly reached: number
  /** reached of the next stage ÷ reached of this one; `null` for the last stage or when none reached this one. */
  readonly conversion: number | null
  /** Completed stays in this stage (the contact moved on, forwards or backwards). */
  readonly stays: number
  /** The median length of those stays, in milliseconds; `null` without any. */
  readonly medianMs: number | null
}

/**
 * What the avatar report reads: the stages that make a customer, the contact fields to look at
 * (keys the caller checked against the field registry) and how many distinct values a field may
 * have to be reported (fields with more are left out; channels are always reported).
 *
 * @since 0.8.0
 * @category models
 */
export interface AvatarQuery {
  readonly customerStages: ReadonlyArray<string>
  readonly fields: ReadonlyArray<string>
  readonly maxValues: number
}

/**
 * One value of one dimension (`channel`, or a custom field by key).
 *
 * @since 0.8.0
 * @category models
 */
export interface AvatarRow {
  readonly dimension: "channel" | "field"
  /** The field's key; `null` for the channel. */
  readonly field: string | null
  /** The value as text (booleans as `true` / `false`). */
  readonly value: string
  readonly contacts: number
  readonly customers: number
  readonly totalContacts: number
  readonly totalCustomers: number
  /** (customers ÷ totalCustomers) ÷ (contacts ÷ totalContacts); `null` without customers. */
  readonly lift: number | null
}

/**
 * What the rule report counts as sent: jobs in one of `sentStatuses` whose action is of one of
 * `sentActionTypes`.
 *
 * @since 0.8.0
 * @category models
 */
export interface RuleReportQuery {
  readonly sentStatuses: ReadonlyArray<string>
  readonly sentActionTypes: ReadonlyArray<string>
}

/**
 * One rule's variant (`null` without A/B); a rule that never fired nor sent has one row of zeros.
 *
 * @since 0.8.0
 * @category models
 */
export interface RuleVariantRow {
  readonly ruleId: string
  readonly name: string
  readonly enabled: boolean
  readonly variant: string | null
  readonly fired: number
  readonly sent: number
  /** Of the done ones among the sent, those reported opened (as `jobs.countByVariant` counts them). */
  readonly opened: number
  readonly converted: number
  /** converted ÷ fired; `null` before the variant fired. */
  readonly conversionRate: number | null
}

/**
 * Spend recorded for a channel (and campaign, `null` for the channel as a whole) in a month.
 *
 * @since 0.8.0
 * @category models
 */
export interface ChannelSpend {
  readonly workspaceId: WorkspaceId
  readonly channel: string
  readonly campaign: string | null
  /** `YYYY-MM`. */
  readonly month: string
  readonly currency: string
  readonly amountMinor: number
  readonly recordedAt: DateTime.Utc
}

/**
 * The reports, one query each.
 *
 * @since 0.8.0
 * @category models
 */
export interface AnalyticsRepository {
  /** The `limit` contacts with the highest revenue in each currency, by revenue then contact id. */
  readonly topCustomers: (workspaceId: WorkspaceId, query: RevenueQuery) => Effect.Effect<ReadonlyArray<CustomerRevenueRow>, StorageError>
  /** The `limit` SKUs with the highest revenue in each currency, by revenue then SKU. */
  readonly topProducts: (workspaceId: WorkspaceId, query: RevenueQuery) => Effect.Effect<ReadonlyArray<ProductRevenueRow>, StorageError>
  /** Per channel, campaign and currency, by channel, campaign (none first) and currency. */
  readonly channels: (workspaceId: WorkspaceId, query: ChannelQuery) => Effect.Effect<ReadonlyArray<ChannelRow>, StorageError>
  /** Per cohort and stage, by cohort then stage position. */
  readonly funnel: (workspaceId: WorkspaceId, query: FunnelQuery) => Effect.Effect<ReadonlyArray<FunnelRow>, StorageError>
  /** Per dimension and value (in no particular order). */
  readonly avatar: (workspaceId: WorkspaceId, query: AvatarQuery) => Effect.Effect<ReadonlyArray<AvatarRow>, StorageError>
  /** Per rule and variant, by rule id then variant (none first). */
  readonly rules: (workspaceId: WorkspaceId, query: RuleReportQuery) => Effect.Effect<ReadonlyArray<RuleVariantRow>, StorageError>
  /** Stores the spend, replacing the one of the same channel, campaign, month and currency. */
  readonly recordSpend: (spend: ChannelSpend) => Effect.Effect<void, StorageError>
}
