/**
 * What the CRM tells its owner, each report one query computed by the database: the best
 * customers and products over a period (revenue, orders or quantity, margin), which acquisition
 * channel pays (contacts acquired, share that became customers, revenue, cost per customer from
 * the spend the app records), where prospects stall (the lifecycle funnel by cohort, with the
 * median time in each stage), what profile buys (the avatar report: values over-represented among
 * customers) and which rule variant converts.
 *
 * Money is exact: integer minor units, one row per currency, never converted. Revenue is net of
 * refunds and counts only orders still placed (a cancelled order counts for nothing).
 *
 * @since 0.8.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ValidationError } from "../domain/Errors.js"
import { FieldKey, type FieldType } from "../domain/FieldDefinition.js"
import { Text } from "../domain/Json.js"
import { StageKey } from "../domain/LifecycleDefinition.js"
import { Currency, Money } from "../domain/Money.js"
import { InstantInput } from "../domain/Time.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"

// --- inputs

/**
 * A calendar month, `YYYY-MM` (UTC).
 *
 * @since 0.8.0
 * @category schemas
 */
export const Month = Schema.String.pipe(
  Schema.filter((s) => /^\d{4}-(0[1-9]|1[0-2])$/.test(s), { message: () => 'must be a month written "YYYY-MM", e.g. "2026-03"' }),
  Schema.annotations({ identifier: "Month", description: "A calendar month, YYYY-MM (UTC)" })
)

const Limit = Schema.Int.pipe(
  Schema.between(1, 1000, { message: () => "must be a whole number from 1 to 1000" }),
  Schema.annotations({ description: "How many rows per currency (1 to 1000, default 10)" })
)

const beforeTo = <A extends { readonly from: DateTime.Utc; readonly to: DateTime.Utc }>(o: A) =>
  DateTime.lessThan(o.from, o.to) || { path: ["from"], message: "must be before `to` (the period is from `from`, included, to `to`, excluded)" }

/**
 * The fields of what `analytics.topCustomers` and `analytics.topProducts` accept (the query
 * string of their routes).
 *
 * @since 0.8.0
 * @category schemas
 */
export const RevenueReportFields = Schema.Struct({
  /** Orders placed at or after this instant. */
  from: InstantInput,
  /** Orders placed before this instant. */
  to: InstantInput,
  limit: Schema.optional(Limit),
  /** Only orders in this currency. */
  currency: Schema.optional(Currency)
})

/**
 * What `analytics.topCustomers` and `analytics.topProducts` accept: a period (`from` before `to`),
 * how many rows per currency (default 10) and optionally one currency.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RevenueReportOptions = RevenueReportFields.pipe(Schema.filter(beforeTo))

/**
 * @since 0.8.0
 * @category models
 */
export type RevenueReportOptions = typeof RevenueReportOptions.Encoded

/**
 * The fields of what `analytics.channels` accepts.
 *
 * @since 0.8.0
 * @category schemas
 */
export const ChannelReportFields = Schema.Struct({
  /** Contacts first seen at or after this instant. */
  from: InstantInput,
  /** Contacts first seen before this instant. */
  to: InstantInput,
  /** The stage from which (in lifecycle order) a contact is a customer; default `customer`. */
  customerStage: Schema.optional(StageKey)
})

/**
 * What `analytics.channels` accepts: the period contacts were first seen in (`from` before `to`;
 * the spend of the months that begin in it counts) and the first customer stage.
 *
 * @since 0.8.0
 * @category schemas
 */
export const ChannelReportOptions = ChannelReportFields.pipe(Schema.filter(beforeTo))

/**
 * @since 0.8.0
 * @category models
 */
export type ChannelReportOptions = typeof ChannelReportOptions.Encoded

/**
 * The fields of what `analytics.funnel` accepts.
 *
 * @since 0.8.0
 * @category schemas
 */
export const FunnelFields = Schema.Struct({
  /** The first cohort (first-seen month, UTC) reported. */
  cohortFrom: Schema.optional(Month),
  /** The last cohort reported (included). */
  cohortTo: Schema.optional(Month)
})

/**
 * What `analytics.funnel` accepts: optionally the first and last cohort (`cohortFrom` not after
 * `cohortTo`).
 *
 * @since 0.8.0
 * @category schemas
 */
export const FunnelOptions = FunnelFields.pipe(
  Schema.filter(
    (o) => o.cohortFrom === undefined || o.cohortTo === undefined || o.cohortFrom <= o.cohortTo || { path: ["cohortFrom"], message: "must not be after `cohortTo`" }
  )
)

/**
 * @since 0.8.0
 * @category models
 */
export type FunnelOptions = typeof FunnelOptions.Encoded

/**
 * What `analytics.avatar` accepts: the first customer stage (default `customer`), how many
 * distinct values a field may have to be reported (1 to 100, default 20), and optionally which
 * contact fields to look at (select, boolean or text fields; default all of them).
 *
 * @since 0.8.0
 * @category schemas
 */
export const AvatarOptions = Schema.Struct({
  customerStage: Schema.optional(StageKey),
  maxValues: Schema.optional(Schema.Int.pipe(Schema.between(1, 100, { message: () => "must be a whole number from 1 to 100" }))),
  fields: Schema.optional(Schema.Array(FieldKey))
})

/**
 * @since 0.8.0
 * @category models
 */
export type AvatarOptions = typeof AvatarOptions.Encoded

/**
 * What `analytics.recordSpend` accepts: what was spent on a channel (and campaign) in a month.
 * Recording the same channel, campaign, month and currency again replaces the amount.
 *
 * @since 0.8.0
 * @category schemas
 */
export const SpendInput = Schema.Struct({
  channel: Text(100),
  campaign: Schema.optional(Schema.NullOr(Text(200))),
  month: Month,
  amount: Schema.Struct({
    amountMinor: Money.fields.amountMinor.pipe(Schema.filter((n) => n >= 0 || "must not be negative")),
    currency: Currency
  })
}).annotations({ identifier: "SpendInput" })

/**
 * @since 0.8.0
 * @category models
 */
export type SpendInput = typeof SpendInput.Encoded

// --- results

const Ratio = (description: string) => Schema.NullOr(Schema.Number).annotations({ description })

/**
 * One of the best customers in one currency.
 *
 * @since 0.8.0
 * @category schemas
 */
export const CustomerFigures = Schema.Struct({
  /** 1 for the best customer of the currency. */
  rank: Schema.Int,
  contactId: Schema.String,
  /** Σ (total − refunds) over the contact's orders placed in the period and not cancelled. */
  revenue: Money,
  orders: Schema.Int,
  /** Σ quantity × (unit price − unit cost) over the lines that have a cost, minus refunds. */
  margin: Money,
  /** Every line had a cost: the margin is whole. */
  marginComplete: Schema.Boolean,
  /** Lines without a cost, left out of the margin. */
  uncostedLines: Schema.Int
}).annotations({ identifier: "CustomerFigures" })

/**
 * @since 0.8.0
 * @category models
 */
export interface CustomerFigures extends Schema.Schema.Type<typeof CustomerFigures> {}

/**
 * One of the best products (by SKU) in one currency.
 *
 * @since 0.8.0
 * @category schemas
 */
export const ProductFigures = Schema.Struct({
  rank: Schema.Int,
  sku: Schema.String,
  name: Schema.String,
  /** Σ quantity × unit price over the lines of orders placed in the period and not cancelled. */
  revenue: Money,
  quantity: Schema.Int,
  /** Σ quantity × (unit price − unit cost) over the lines that have a cost. */
  margin: Money,
  marginComplete: Schema.Boolean,
  /** Units sold on lines without a cost, left out of the margin. */
  uncostedQuantity: Schema.Int
}).annotations({ identifier: "ProductFigures" })

/**
 * @since 0.8.0
 * @category models
 */
export interface ProductFigures extends Schema.Schema.Type<typeof ProductFigures> {}

/**
 * One channel and campaign, in one currency (`currency` null when it has neither revenue nor
 * spend; then `revenue`, `spend` and `costPerCustomer` are null too).
 *
 * @since 0.8.0
 * @category schemas
 */
export const ChannelFigures = Schema.Struct({
  channel: Schema.String,
  /** `null`: contacts without a campaign, and spend recorded for the channel as a whole. */
  campaign: Schema.NullOr(Schema.String),
  /** Contacts first seen in the period. */
  acquired: Schema.Int,
  /** Of those, contacts now at or beyond the customer stage. */
  customers: Schema.Int,
  customerShare: Ratio("customers / acquired; null when none was acquired"),
  currency: Schema.NullOr(Schema.String),
  /** Σ (total − refunds) over every placed order of the contacts acquired. */
  revenue: Schema.NullOr(Money),
  /** The spend recorded for the months that begin in the period. */
  spend: Schema.NullOr(Money),
  /** spend / customers, rounded half up to a minor unit; null without customers. */
  costPerCustomer: Schema.NullOr(Money)
}).annotations({ identifier: "ChannelFigures" })

/**
 * @since 0.8.0
 * @category models
 */
export interface ChannelFigures extends Schema.Schema.Type<typeof ChannelFigures> {}

/**
 * One stage of one cohort in the funnel.
 *
 * @since 0.8.0
 * @category schemas
 */
export const FunnelStage = Schema.Struct({
  /** The month (UTC) the cohort's contacts were first seen, YYYY-MM. */
  cohort: Schema.String,
  stage: Schema.String,
  /** The stage's position in the lifecycle (0 for the first). */
  position: Schema.Int,
  /** Contacts of the cohort in this stage now. */
  current: Schema.Int,
  /** Contacts of the cohort that were ever in this stage or a later one. */
  reached: Schema.Int,
  conversion: Ratio("reached of the next stage / reached of this one; null for the last stage or when none reached this one"),
  /** Stays in this stage that ended (the contact moved on). */
  stays: Schema.Int,
  medianSeconds: Ratio("the median length of those stays, in seconds; null without any")
}).annotations({ identifier: "FunnelStage" })

/**
 * @since 0.8.0
 * @category models
 */
export interface FunnelStage extends Schema.Schema.Type<typeof FunnelStage> {}

/**
 * One value of the avatar report.
 *
 * @since 0.8.0
 * @category schemas
 */
export const AvatarValue = Schema.Struct({
  dimension: Schema.Literal("channel", "field"),
  /** The custom field's key; null for the channel. */
  field: Schema.NullOr(Schema.String),
  /** The value as text (booleans `true` / `false`). */
  value: Schema.String,
  /** Contacts with this value. */
  contacts: Schema.Int,
  /** Customers with this value. */
  customers: Schema.Int,
  lift: Ratio("(customers / all customers) / (contacts / all contacts): above 1, over-represented among customers; null without customers")
}).annotations({ identifier: "AvatarValue" })

/**
 * What `analytics.avatar` returns: the totals, the stages counted as customers, and the values by
 * lift (highest first), then customers, dimension, field and value.
 *
 * @since 0.8.0
 * @category schemas
 */
export const AvatarReport = Schema.Struct({
  totalContacts: Schema.Int,
  totalCustomers: Schema.Int,
  customerStages: Schema.Array(Schema.String),
  values: Schema.Array(AvatarValue)
}).annotations({ identifier: "AvatarReport" })

/**
 * @since 0.8.0
 * @category models
 */
export interface AvatarReport extends Schema.Schema.Type<typeof AvatarReport> {}

/**
 * One rule's variant (`null` without A/B) in `analytics.rules`: variants appear once they fired
 * or sent; a rule that did neither has one row of zeros.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RuleVariantFigures = Schema.Struct({
  ruleId: Schema.String,
  name: Schema.String,
  enabled: Schema.Boolean,
  variant: Schema.NullOr(Schema.String),
  fired: Schema.Int,
  /** Mails of the variant sent (sendEmail jobs done). */
  sent: Schema.Int,
  /** Sent mails the host reported opened, each once (an `email.opened` event of the mail's contact naming its `jobId` or `messageId`). */
  opened: Schema.Int.annotations({ description: "Sent mails with at least one email.opened event of their contact naming them (payload jobId, or the messageId your Mailer returned)" }),
  converted: Schema.Int,
  conversionRate: Ratio("converted / fired; null before the variant fired")
}).annotations({ identifier: "RuleVariantFigures" })

/**
 * @since 0.8.0
 * @category models
 */
export interface RuleVariantFigures extends Schema.Schema.Type<typeof RuleVariantFigures> {}

/**
 * What `analytics.recordSpend` returns: the spend as stored.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RecordedSpend = Schema.Struct({
  channel: Schema.String,
  campaign: Schema.NullOr(Schema.String),
  month: Schema.String,
  amount: Money
}).annotations({ identifier: "RecordedSpend" })

/**
 * @since 0.8.0
 * @category models
 */
export interface RecordedSpend extends Schema.Schema.Type<typeof RecordedSpend> {}

// --- helpers

const money = (amountMinor: number, currency: string): Money => ({ amountMinor, currency: Currency.make(currency) })

/** The fields the avatar report can look at: few distinct values by nature. */
const avatarTypes: ReadonlyArray<FieldType> = ["select", "boolean", "text"]

const monthOf = (at: DateTime.Utc): string => DateTime.formatIso(at).slice(0, 7)
const monthStart = (month: string): DateTime.Utc => DateTime.unsafeMake(`${month}-01T00:00:00.000Z`)
const nextMonth = (month: string): string => monthOf(DateTime.add(monthStart(month), { months: 1 }))

/** The months that begin in [from, to), as the first and last (the first may be after the last: none). */
const monthsBeginningIn = (from: DateTime.Utc, to: DateTime.Utc) => {
  const first = monthOf(from)
  return {
    spendFrom: DateTime.Equivalence(monthStart(first), from) ? first : nextMonth(first),
    spendTo: monthOf(DateTime.subtract(to, { millis: 1 }))
  }
}

// Code-point order, the same on every store and runtime.
const compareText = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1)

/**
 * @since 0.8.0
 * @category services
 */
export class Analytics extends Effect.Service<Analytics>()("@rapport/core/Analytics", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /** The stages from `customerStage` on, in lifecycle order, or a ValidationError naming the option. */
    const customerStagesOf = (stages: ReadonlyArray<{ readonly key: string }>, customerStage: string | undefined) => {
      const key = customerStage ?? "customer"
      const at = stages.findIndex((s) => s.key === key)
      return at < 0
        ? Effect.fail(
            ValidationError.at(
              ["customerStage"],
              `"${key}" is not a stage of the workspace's lifecycle (${stages.map((s) => s.key).join(", ")}): name the stage from which a contact is a customer`
            )
          )
        : Effect.succeed(stages.slice(at).map((s) => s.key))
    }

    /**
     * The best customers over a period in each currency: revenue net of refunds, orders and margin,
     * over the orders placed in [`from`, `to`) that were not cancelled.
     */
    const topCustomers = Effect.fn("Analytics.topCustomers")(function* (options: RevenueReportOptions) {
      const q = yield* decodeInput(RevenueReportOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const rows = yield* storage.analytics.topCustomers(workspace.id, { from: q.from, to: q.to, limit: q.limit ?? 10, currency: q.currency })
      return rows.map(
        (r): CustomerFigures => ({
          rank: r.rank,
          contactId: r.contactId,
          revenue: money(r.revenueMinor, r.currency),
          orders: r.orders,
          margin: money(r.marginMinor, r.currency),
          marginComplete: r.uncostedLines === 0,
          uncostedLines: r.uncostedLines
        })
      )
    })

    /**
     * The best products (by SKU) over a period in each currency: revenue, quantity and margin from
     * the lines of orders placed in [`from`, `to`) that were not cancelled. Refunds are of orders,
     * not of lines: they lower the customers' figures, not the products'.
     */
    const topProducts = Effect.fn("Analytics.topProducts")(function* (options: RevenueReportOptions) {
      const q = yield* decodeInput(RevenueReportOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const rows = yield* storage.analytics.topProducts(workspace.id, { from: q.from, to: q.to, limit: q.limit ?? 10, currency: q.currency })
      return rows.map(
        (r): ProductFigures => ({
          rank: r.rank,
          sku: r.sku,
          name: r.name,
          revenue: money(r.revenueMinor, r.currency),
          quantity: r.quantity,
          margin: money(r.marginMinor, r.currency),
          marginComplete: r.uncostedQuantity === 0,
          uncostedQuantity: r.uncostedQuantity
        })
      )
    })

    /**
     * Per source channel and campaign: the contacts first seen in [`from`, `to`), how many are now
     * customers, the revenue of their placed orders (net of refunds, whenever placed), the spend
     * recorded for the months that begin in the period, and the cost per customer.
     */
    const channels = Effect.fn("Analytics.channels")(function* (options: ChannelReportOptions) {
      const q = yield* decodeInput(ChannelReportOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const customerStages = yield* customerStagesOf(workspace.lifecycle.stages, q.customerStage)
      const rows = yield* storage.analytics.channels(workspace.id, { from: q.from, to: q.to, customerStages, ...monthsBeginningIn(q.from, q.to) })
      return rows.map(
        (r): ChannelFigures => ({
          channel: r.channel,
          campaign: r.campaign,
          acquired: r.acquired,
          customers: r.customers,
          customerShare: r.customerShare,
          currency: r.currency,
          revenue: r.currency === null ? null : money(r.revenueMinor, r.currency),
          spend: r.currency === null ? null : money(r.spendMinor, r.currency),
          costPerCustomer: r.currency === null || r.costPerCustomerMinor === null ? null : money(r.costPerCustomerMinor, r.currency)
        })
      )
    })

    /**
     * The lifecycle funnel by cohort (the month, UTC, contacts were first seen): per stage, how
     * many are in it now, how many ever reached it or a later one, the conversion to the next
     * stage, and the median length of the stays in it that ended (from the move into it, or from
     * when the contact was first seen, to the move out of it).
     */
    const funnel = Effect.fn("Analytics.funnel")(function* (options?: FunnelOptions) {
      const q = yield* decodeInput(FunnelOptions)(options ?? {})
      const workspace = yield* readWorkspace(storage)
      const rows = yield* storage.analytics.funnel(workspace.id, {
        stages: workspace.lifecycle.stages.map((s) => s.key),
        cohortFrom: q.cohortFrom === undefined ? undefined : monthStart(q.cohortFrom),
        cohortTo: q.cohortTo === undefined ? undefined : monthStart(nextMonth(q.cohortTo))
      })
      return rows.map(
        (r): FunnelStage => ({
          cohort: r.cohort,
          stage: r.stage,
          position: r.position,
          current: r.current,
          reached: r.reached,
          conversion: r.conversion,
          stays: r.stays,
          medianSeconds: r.medianMs === null ? null : r.medianMs / 1000
        })
      )
    })

    /**
     * Which channels and custom-field values (select, boolean and text fields with at most
     * `maxValues` distinct values) are over-represented among customers (contacts at or beyond
     * `customerStage`) compared with all contacts: counts and lift.
     */
    const avatar = Effect.fn("Analytics.avatar")(function* (options?: AvatarOptions) {
      const q = yield* decodeInput(AvatarOptions)(options ?? {})
      const workspace = yield* readWorkspace(storage)
      const customerStages = yield* customerStagesOf(workspace.lifecycle.stages, q.customerStage)
      const definitions = (yield* storage.fieldDefinitions.list(workspace.id, "contact")).filter((d) => avatarTypes.includes(d.type))
      if (q.fields !== undefined) {
        const index = q.fields.findIndex((key) => !definitions.some((d) => d.key === key))
        if (index >= 0) {
          return yield* ValidationError.at(["fields", index], `"${q.fields[index]}" is not a contact field of type select, boolean or text`)
        }
      }
      const fields = q.fields ?? definitions.map((d) => d.key)
      const rows = yield* storage.analytics.avatar(workspace.id, { customerStages, fields, maxValues: q.maxValues ?? 20 })
      const values = rows
        .map((r) => ({ dimension: r.dimension, field: r.field, value: r.value, contacts: r.contacts, customers: r.customers, lift: r.lift }))
        .sort(
          (a, b) =>
            (b.lift ?? -1) - (a.lift ?? -1) ||
            b.customers - a.customers ||
            compareText(a.dimension, b.dimension) ||
            compareText(a.field, b.field) ||
            compareText(a.value, b.value)
        )
      return {
        totalContacts: rows[0]?.totalContacts ?? 0,
        totalCustomers: rows[0]?.totalCustomers ?? 0,
        customerStages,
        values
      } satisfies AvatarReport
    })

    /** Every rule's firings, mails sent and opened, and conversions per variant, in one query. */
    const rules = Effect.fn("Analytics.rules")(function* () {
      const workspace = yield* readWorkspace(storage)
      // A rule's mail counts as sent once its sendEmail job is done (as `rules.stats` counts it).
      const rows = yield* storage.analytics.rules(workspace.id, { sentStatuses: ["done"], sentActionTypes: ["sendEmail"] })
      return rows.map((r): RuleVariantFigures => ({ ...r }))
    })

    /** Records what was spent on a channel (and campaign) in a month, replacing what was recorded for it. */
    const recordSpend = Effect.fn("Analytics.recordSpend")(function* (input: SpendInput) {
      const data = yield* decodeInput(SpendInput)(input)
      const workspace = yield* ensureWorkspace(storage)
      const campaign = data.campaign ?? null
      yield* storage.analytics.recordSpend({
        workspaceId: workspace.id,
        channel: data.channel,
        campaign,
        month: data.month,
        currency: data.amount.currency,
        amountMinor: data.amount.amountMinor,
        recordedAt: yield* DateTime.now
      })
      return { channel: data.channel, campaign, month: data.month, amount: data.amount } satisfies RecordedSpend
    })

    return { topCustomers, topProducts, channels, funnel, avatar, rules, recordSpend }
  })
}) {}
