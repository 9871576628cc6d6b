/**
 * The weighting engine: what a pipeline is worth. A deal weighs its amount times its
 * probability: an open deal its override or its stage's, a won deal 100%, a lost deal 0%, a cold
 * deal the workspace's cold probability (0% unless configured).
 *
 * Arithmetic is exact. Storage only aggregates (per group, currency and status: Σ amountMinor, and
 * Σ amountMinor × the deal's own probability, as integers); {@link weigh} applies the weights per
 * status, in hundredths of a minor unit, and the engine divides by 100 — and converts with the
 * caller's decimal rates — as exact decimals. There is one rounding step, at the very end: each reported
 * amount is its exact value rounded half up to a whole minor unit, and the exact value is
 * reported beside it (`weightedExact`). So a total is the exact sum rounded once; exact group
 * values add up to the exact overall value; rounding is monotone, so raising a probability never
 * lowers a total. Two currencies are never added without a rate.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { DealStatus } from "./Deal.js"
import { ValidationError } from "./Errors.js"
import { Currency, minorDigits, Money } from "./Money.js"

/**
 * What totals can be grouped by: `pipeline`, `stage` (within its pipeline), `owner`, and the
 * expected-close `month` (`YYYY-MM`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Dimension = Schema.Literal("pipeline", "stage", "owner", "month")

/**
 * @since 0.2.0
 * @category models
 */
export type Dimension = typeof Dimension.Type

/**
 * The percentage a deal counts with.
 *
 * @since 0.2.0
 * @category utils
 */
export const weightPercent = (
  deal: { readonly status: DealStatus; readonly stageProbability: number; readonly override: { readonly probability: number } | null },
  coldProbability: number
): number => {
  switch (deal.status) {
    case "open":
      return deal.override?.probability ?? deal.stageProbability
    case "won":
      return 100
    case "lost":
      return 0
    case "cold":
      return coldProbability
  }
}

/**
 * Weighted sums of one group and currency, as {@link weigh} computes them from storage's
 * aggregates. `weighted` is Σ amountMinor × percent: hundredths of a minor unit, exact.
 * Dimensions not grouped by are `null`.
 *
 * @since 0.2.0
 * @category models
 */
export interface SumRow {
  readonly pipelineId: string | null
  readonly stage: string | null
  readonly ownerId: string | null
  readonly month: string | null
  readonly currency: string
  readonly count: number
  readonly amountMinor: bigint
  readonly weighted: bigint
}

/**
 * What storage aggregates for one group, currency and status, knowing nothing of weights:
 * how many deals, Σ amountMinor, and Σ amountMinor × the deal's own probability (its override's,
 * else its stage's), exact integers. Dimensions not grouped by are `null`.
 *
 * @since 0.5.0
 * @category models
 */
export interface StatusSums {
  readonly pipelineId: string | null
  readonly stage: string | null
  readonly ownerId: string | null
  readonly month: string | null
  readonly currency: string
  readonly status: DealStatus
  readonly count: number
  readonly amountMinor: bigint
  readonly probabilityWeighted: bigint
}

/**
 * Applies the weights to storage's aggregates: an open deal counts with its own probability, a
 * won one 100%, a lost one 0%, a cold one `coldProbability` percent. Rows of one group and
 * currency are added up across statuses. Equals {@link sumDeals} over the same deals.
 *
 * @since 0.5.0
 * @category utils
 */
export const weigh = (rows: Iterable<StatusSums>, coldProbability: number): ReadonlyArray<SumRow> => {
  const groups = new Map<string, { -readonly [K in keyof SumRow]: SumRow[K] }>()
  for (const row of rows) {
    const key = { pipelineId: row.pipelineId, stage: row.stage, ownerId: row.ownerId, month: row.month, currency: row.currency }
    const id = JSON.stringify(key)
    const sum = groups.get(id) ?? { ...key, count: 0, amountMinor: 0n, weighted: 0n }
    sum.count += row.count
    sum.amountMinor += row.amountMinor
    // An open deal's percent is its own probability, which storage already multiplied in; the
    // other statuses' percent does not depend on the deal.
    sum.weighted +=
      row.status === "open"
        ? row.probabilityWeighted
        : row.amountMinor * BigInt(weightPercent({ status: row.status, stageProbability: 0, override: null }, coldProbability))
    groups.set(id, sum)
  }
  return [...groups.values()]
}

// The group a deal falls in: its values of the dimensions grouped by (a stage belongs to its
// pipeline), null for the others, and its currency.
const groupOf = (deal: Weighable, by: ReadonlySet<Dimension>) => ({
  pipelineId: by.has("pipeline") || by.has("stage") ? deal.pipelineId : null,
  stage: by.has("stage") ? deal.stage : null,
  ownerId: by.has("owner") ? deal.ownerId : null,
  month: by.has("month") ? (deal.expectedCloseDate?.slice(0, 7) ?? null) : null,
  currency: deal.amount.currency
})

/**
 * What storage must answer for these deals: {@link StatusSums} per group, currency and status
 * (the reference the contract suite holds storage's aggregates to).
 *
 * @since 0.5.0
 * @category utils
 */
export const aggregateDeals = (deals: Iterable<Weighable>, groupBy: ReadonlyArray<Dimension>): ReadonlyArray<StatusSums> => {
  const by = new Set(groupBy)
  const groups = new Map<string, { -readonly [K in keyof StatusSums]: StatusSums[K] }>()
  for (const deal of deals) {
    const key = { ...groupOf(deal, by), status: deal.status }
    const id = JSON.stringify(key)
    const row = groups.get(id) ?? { ...key, count: 0, amountMinor: 0n, probabilityWeighted: 0n }
    row.count += 1
    row.amountMinor += BigInt(deal.amount.amountMinor)
    row.probabilityWeighted += BigInt(deal.amount.amountMinor) * BigInt(deal.override?.probability ?? deal.stageProbability)
    groups.set(id, row)
  }
  return [...groups.values()]
}

/**
 * The deal fields the sums read.
 *
 * @since 0.2.0
 * @category models
 */
export interface Weighable {
  readonly pipelineId: string
  readonly stage: string
  readonly ownerId: string | null
  readonly expectedCloseDate: string | null
  readonly amount: Money
  readonly status: DealStatus
  readonly stageProbability: number
  readonly override: { readonly probability: number } | null
}

/**
 * The weighted sums of deals, grouped, computed deal by deal: the reference that
 * {@link weigh} over storage's aggregates must equal.
 *
 * @since 0.2.0
 * @category utils
 */
export const sumDeals = (deals: Iterable<Weighable>, groupBy: ReadonlyArray<Dimension>, coldProbability: number): ReadonlyArray<SumRow> => {
  const by = new Set(groupBy)
  const groups = new Map<string, { -readonly [K in keyof SumRow]: SumRow[K] }>()
  for (const deal of deals) {
    const key = groupOf(deal, by)
    const id = JSON.stringify(key)
    const row = groups.get(id) ?? { ...key, count: 0, amountMinor: 0n, weighted: 0n }
    row.count += 1
    row.amountMinor += BigInt(deal.amount.amountMinor)
    row.weighted += BigInt(deal.amount.amountMinor) * BigInt(weightPercent(deal, coldProbability))
    groups.set(id, row)
  }
  return [...groups.values()]
}

// --- exact decimals: n / 10^scale

interface Decimal {
  readonly n: bigint
  readonly scale: number
}

const pow10 = (k: number) => 10n ** BigInt(k)
const align = (a: Decimal, scale: number): bigint => a.n * pow10(scale - a.scale)
const add = (a: Decimal, b: Decimal): Decimal => {
  const scale = Math.max(a.scale, b.scale)
  return { n: align(a, scale) + align(b, scale), scale }
}
const zero: Decimal = { n: 0n, scale: 0 }

/** Half up: the single rounding step. Values are never negative (amounts and rates are not). */
const round = (d: Decimal): bigint => {
  if (d.scale === 0) return d.n
  const unit = pow10(d.scale)
  const whole = d.n / unit
  return (d.n % unit) * 2n >= unit ? whole + 1n : whole
}

const decimalString = (d: Decimal): string => {
  if (d.scale === 0) return d.n.toString()
  const digits = d.n.toString().padStart(d.scale + 1, "0")
  const fraction = digits.slice(-d.scale).replace(/0+$/, "")
  const whole = digits.slice(0, -d.scale)
  return fraction === "" ? whole : `${whole}.${fraction}`
}

const parseDecimal = (s: string): Decimal => {
  const [whole, fraction = ""] = s.split(".")
  return { n: BigInt(`${whole}${fraction}`), scale: fraction.length }
}

const DecimalText = /^\d{1,15}(\.\d{1,12})?$/

/**
 * An exchange rate: how many units of the target currency one unit of a currency is worth, as a
 * decimal string (`"0.92"`) or a number (read as its shortest decimal: `0.92`). Positive.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Rate = Schema.Union(
  Schema.String,
  Schema.Number.pipe(Schema.filter(Number.isFinite), Schema.annotations({ identifier: "FiniteNumber" }))
).pipe(
  Schema.transform(Schema.String, { strict: true, decode: (u) => (typeof u === "number" ? u.toString() : u.trim()), encode: (s) => s }),
  Schema.filter((s) => (DecimalText.test(s) && /[1-9]/.test(s)) || `must be a positive decimal such as "0.92", got ${JSON.stringify(s)}`)
)

/**
 * Rates to express every total in one currency: `{ currency: "EUR", rates: { USD: "0.92" } }`
 * reads 1 USD = 0.92 EUR. Totals in a currency without a rate are refused, never guessed.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Rates = Schema.Struct({
  currency: Currency,
  rates: Schema.Record({ key: Schema.String, value: Rate })
})

/**
 * @since 0.2.0
 * @category models
 */
export interface Rates extends Schema.Schema.Type<typeof Rates> {}

/**
 * A total in one currency. `amount` is the unweighted sum; `weighted` the weighted sum rounded
 * once (half up) to a minor unit; `weightedExact` the exact weighted sum in minor units, as a
 * decimal string (`"1234.5"`).
 *
 * @since 0.7.0
 * @category schemas
 */
export const Total = Schema.Struct({
  currency: Currency,
  count: Schema.Int,
  amount: Money,
  weighted: Money.annotations({ description: "The weighted amount, rounded to the currency's minor unit" }),
  weightedExact: Schema.String.annotations({ description: 'The weighted amount exactly, in minor units, as a decimal string ("1234.5")' })
}).annotations({ identifier: "Total" })

/**
 * A total in one currency. `amount` is the unweighted sum; `weighted` the weighted sum rounded
 * once (half up) to a minor unit; `weightedExact` the exact weighted sum in minor units, as a
 * decimal string (`"1234.5"`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Total extends Schema.Schema.Type<typeof Total> {}

interface Exact {
  readonly count: number
  readonly amount: Decimal
  readonly weighted: Decimal
}

/** Σ of rows per currency, exact; converted to the target currency when rates are given. */
const exactByCurrency = (rows: Iterable<SumRow>, rates: Rates | undefined): Either.Either<Map<string, Exact>, string> => {
  const out = new Map<string, Exact>()
  for (const row of rows) {
    let amount: Decimal = { n: row.amountMinor, scale: 0 }
    let weighted: Decimal = { n: row.weighted, scale: 2 }
    let currency = row.currency
    if (rates !== undefined && row.currency !== rates.currency) {
      const text = rates.rates[row.currency]
      if (text === undefined) {
        return Either.left(`there are deals in ${row.currency} and no rate from ${row.currency} to ${rates.currency}`)
      }
      const rate = parseDecimal(text)
      // minor(target) = minor(source) × rate × 10^(digits(target) − digits(source)), kept exact.
      const shift = minorDigits(Currency.make(rates.currency)) - minorDigits(Currency.make(row.currency))
      const convert = (d: Decimal): Decimal => {
        const scaled: Decimal = { n: d.n * rate.n, scale: d.scale + rate.scale }
        return shift >= 0 ? { n: scaled.n * pow10(shift), scale: scaled.scale } : { n: scaled.n, scale: scaled.scale - shift }
      }
      amount = convert(amount)
      weighted = convert(weighted)
      currency = rates.currency
    }
    const sum = out.get(currency) ?? { count: 0, amount: zero, weighted: zero }
    out.set(currency, { count: sum.count + row.count, amount: add(sum.amount, amount), weighted: add(sum.weighted, weighted) })
  }
  return Either.right(out)
}

const toMoney = (value: bigint, currency: string): Either.Either<Money, string> =>
  value > BigInt(Number.MAX_SAFE_INTEGER)
    ? Either.left(`a total of ${value} ${currency} minor units exceeds what a JavaScript number holds exactly; narrow the filter`)
    : Either.right({ amountMinor: Number(value), currency: Currency.make(currency) })

const totalsOf = (rows: Iterable<SumRow>, rates: Rates | undefined): Either.Either<ReadonlyArray<Total>, string> =>
  Either.flatMap(exactByCurrency(rows, rates), (byCurrency) =>
    Either.all(
      [...byCurrency.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([currency, exact]) =>
          Either.map(
            Either.all([toMoney(round(exact.amount), currency), toMoney(round(exact.weighted), currency)]),
            ([amount, weighted]): Total => ({
              currency: Currency.make(currency),
              count: exact.count,
              amount,
              weighted,
              weightedExact: decimalString(exact.weighted)
            })
          )
        )
    )
  )

/**
 * Which group a total belongs to: only the dimensions grouped by are present.
 *
 * @since 0.7.0
 * @category schemas
 */
export const GroupKey = Schema.Struct({
  pipelineId: Schema.optionalWith(Schema.String, { exact: true }),
  stage: Schema.optionalWith(Schema.String, { exact: true }),
  ownerId: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  month: Schema.optionalWith(Schema.NullOr(Schema.String).annotations({ description: "YYYY-MM of the expected close; null when undated" }), { exact: true })
}).annotations({ identifier: "GroupKey" })

/**
 * Which group a total belongs to: only the dimensions grouped by are present.
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupKey extends Schema.Schema.Type<typeof GroupKey> {}

/**
 * A group's totals, one per currency (one in all when rates are given).
 *
 * @since 0.7.0
 * @category schemas
 */
export const GroupTotals = Schema.Struct({ key: GroupKey, totals: Schema.Array(Total) }).annotations({ identifier: "GroupTotals" })

/**
 * A group's totals, one per currency (one in all when rates are given).
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupTotals extends Schema.Schema.Type<typeof GroupTotals> {}

/**
 * The weighted pipeline: totals per group and overall.
 *
 * @since 0.7.0
 * @category schemas
 */
export const WeightedPipeline = Schema.Struct({
  groupBy: Schema.Array(Dimension),
  groups: Schema.Array(GroupTotals),
  totals: Schema.Array(Total)
}).annotations({ identifier: "WeightedPipeline" })

/**
 * The weighted pipeline: totals per group and overall.
 *
 * @since 0.2.0
 * @category models
 */
export interface WeightedPipeline extends Schema.Schema.Type<typeof WeightedPipeline> {}

const keyOf = (row: SumRow, by: ReadonlySet<Dimension>): GroupKey => ({
  ...(by.has("pipeline") || by.has("stage") ? { pipelineId: row.pipelineId ?? "" } : {}),
  ...(by.has("stage") ? { stage: row.stage ?? "" } : {}),
  ...(by.has("owner") ? { ownerId: row.ownerId } : {}),
  ...(by.has("month") ? { month: row.month } : {})
})

/**
 * Turns sums into totals per group and overall. Fails with a `ValidationError` (path `rates`)
 * when currencies would have to be added without a rate, or a total does not fit a number.
 * `order` sorts the groups (by default by their key).
 *
 * @since 0.2.0
 * @category utils
 */
export const summarize = (
  rows: ReadonlyArray<SumRow>,
  groupBy: ReadonlyArray<Dimension>,
  options: { readonly rates?: Rates | undefined; readonly order?: ((a: GroupKey, b: GroupKey) => number) | undefined } = {}
): Either.Either<WeightedPipeline, ValidationError> => {
  const by = new Set(groupBy)
  const grouped = new Map<string, { key: GroupKey; rows: Array<SumRow> }>()
  for (const row of rows) {
    const key = keyOf(row, by)
    const id = JSON.stringify(key)
    const group = grouped.get(id) ?? { key, rows: [] }
    group.rows.push(row)
    grouped.set(id, group)
  }
  const compare = options.order ?? ((a: GroupKey, b: GroupKey) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
  const result = Either.all({
    groups: Either.all(
      [...grouped.values()]
        .sort((a, b) => compare(a.key, b.key))
        .map((g) => Either.map(totalsOf(g.rows, options.rates), (totals): GroupTotals => ({ key: g.key, totals })))
    ),
    totals: totalsOf(rows, options.rates)
  })
  return Either.mapBoth(result, {
    onLeft: (message) => ValidationError.at(["rates"], message),
    onRight: ({ groups, totals }) => ({ groupBy: [...groupBy], groups, totals })
  })
}

/**
 * Adds months to a `YYYY-MM` month.
 *
 * @since 0.2.0
 * @category utils
 */
export const addMonths = (month: string, count: number): string => {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + count
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`
}

/**
 * A forecast: weighted totals per expected-close month from the current month on, with what is
 * overdue (expected before the current month), later (after the horizon) and undated.
 *
 * @since 0.7.0
 * @category schemas
 */
export const Forecast = Schema.Struct({
  months: Schema.Array(Schema.Struct({ month: Schema.String.annotations({ description: "YYYY-MM" }), totals: Schema.Array(Total) })),
  overdue: Schema.Array(Total),
  later: Schema.Array(Total),
  undated: Schema.Array(Total)
}).annotations({ identifier: "Forecast" })

/**
 * A forecast: weighted totals per expected-close month from the current month on, with what is
 * overdue (expected before the current month), later (after the horizon) and undated.
 *
 * @since 0.2.0
 * @category models
 */
export interface Forecast extends Schema.Schema.Type<typeof Forecast> {}

/**
 * Builds a forecast of `months` months starting at `firstMonth` from sums grouped by month.
 *
 * @since 0.2.0
 * @category utils
 */
export const forecast = (
  rows: ReadonlyArray<SumRow>,
  firstMonth: string,
  months: number,
  rates?: Rates | undefined
): Either.Either<Forecast, ValidationError> => {
  const horizon = Array.from({ length: months }, (_, i) => addMonths(firstMonth, i))
  const end = addMonths(firstMonth, months)
  const pick = (p: (month: string | null) => boolean) => totalsOf(rows.filter((r) => p(r.month)), rates)
  return Either.mapLeft(
    Either.all({
      months: Either.all(horizon.map((month) => Either.map(pick((m) => m === month), (totals) => ({ month, totals })))),
      overdue: pick((m) => m !== null && m < firstMonth),
      later: pick((m) => m !== null && m >= end),
      undated: pick((m) => m === null)
    }),
    (message) => ValidationError.at(["rates"], message)
  )
}

/**
 * The answer of a floor check: the weighted total against the floor, and by how much it falls
 * short (zero when it does not).
 *
 * @since 0.2.0
 * @category models
 */
export interface FloorCheck {
  readonly floor: Money
  readonly weighted: Money
  readonly weightedExact: string
  readonly below: boolean
  readonly shortfall: Money
}

/**
 * Compares totals with a floor. The totals must all be in the floor's currency: pass rates to the
 * floor's currency when deals are in others.
 *
 * @since 0.2.0
 * @category utils
 */
export const checkFloor = (floor: Money, totals: ReadonlyArray<Total>): Either.Either<FloorCheck, ValidationError> => {
  const other = totals.find((t) => t.currency !== floor.currency)
  if (other !== undefined) {
    return Either.left(
      ValidationError.at(
        ["rates"],
        `there are deals in ${other.currency} and the floor is in ${floor.currency}: pass rates to ${floor.currency} to compare them`
      )
    )
  }
  const total = totals[0]
  const weighted = total?.weighted ?? { amountMinor: 0, currency: floor.currency }
  // Compared exactly: 99.5 against a floor of 100 is below, even though it rounds to 100.
  const exact = parseDecimal(total?.weightedExact ?? "0")
  const below = exact.n < BigInt(floor.amountMinor) * pow10(exact.scale)
  const shortfall = below ? round({ n: BigInt(floor.amountMinor) * pow10(exact.scale) - exact.n, scale: exact.scale }) : 0n
  return Either.right({
    floor,
    weighted,
    weightedExact: total?.weightedExact ?? "0",
    below,
    shortfall: { amountMinor: Number(shortfall), currency: floor.currency }
  })
}
