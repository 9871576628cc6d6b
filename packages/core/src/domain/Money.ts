/**
 * Money is an integer amount of minor units (cents for EUR, yen for JPY) and an ISO 4217
 * currency. Never a float: sums are exact.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { showValue } from "../internal/show.js"

const knownCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf("currency"))

/**
 * An ISO 4217 currency code known to the runtime's `Intl` (e.g. `EUR`, `USD`, `JPY`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Currency = Schema.String.pipe(
  Schema.filter((s) => /^[A-Z]{3}$/.test(s) && knownCurrencies.has(s), {
    message: (issue) => `must be an ISO 4217 currency code such as "EUR" (got ${showValue(issue.actual)})`,
    arbitrary: () => (fc) => fc.constantFrom("EUR", "USD", "GBP", "JPY", "CHF", "KWD")
  }),
  Schema.brand("Currency"),
  Schema.annotations({ identifier: "Currency" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Currency = typeof Currency.Type

/**
 * A safe integer amount of minor units (may be negative: refunds, credits).
 *
 * @since 0.1.0
 * @category schemas
 */
export const MinorUnits = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n), {
    message: (issue) =>
      `must be a whole number of minor units (cents), got ${showValue(issue.actual)}; amounts are never floats`
  }),
  Schema.annotations({ identifier: "MinorUnits" })
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const Money = Schema.Struct({
  amountMinor: MinorUnits,
  currency: Currency
}).annotations({ identifier: "Money" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Money extends Schema.Schema.Type<typeof Money> {}

/**
 * Number of decimals of a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD).
 *
 * @since 0.1.0
 * @category utils
 */
export const minorDigits = (currency: Currency): number =>
  new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2

/**
 * Formats an amount for people, e.g. `format({ amountMinor: 123450, currency: "EUR" }, "fr-FR")`
 * gives `1 234,50 €`.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (money: Money, locale = "en"): string => {
  const digits = minorDigits(money.currency)
  return new Intl.NumberFormat(locale, { style: "currency", currency: money.currency }).format(
    money.amountMinor / 10 ** digits
  )
}
