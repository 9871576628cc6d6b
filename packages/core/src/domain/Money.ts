/**
 * Money is an integer amount of minor units (cents for EUR, yen for JPY) and an ISO 4217
 * currency. Never a float: sums are exact.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
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

/**
 * A decimal amount as shops write it (`"199.00"`, `"-5.5"`, `"1500"`) in exact minor units of
 * `currency`, never through a float: `"19.99"` EUR is 1999, `"1500"` JPY is 1500, `"1.234"` KWD is
 * 1234. Digits beyond the currency's minor unit must be zeros (`"19.990"` is fine, `"19.999"` EUR
 * is refused: rounding is the caller's decision). The message says what is wrong.
 *
 * @since 0.6.0
 * @category utils
 */
export const parseDecimal = (text: string, currency: Currency): Either.Either<number, string> => {
  const match = typeof text === "string" ? /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim()) : null
  if (match === null) return Either.left(`must be a decimal amount such as "19.99", got ${showValue(text)}`)
  const [, sign, whole, fraction = ""] = match
  const digits = minorDigits(currency)
  if (/[^0]/.test(fraction.slice(digits))) {
    return Either.left(`has more decimals than ${currency}'s minor unit allows (${digits}), got ${showValue(text)}`)
  }
  const minor = BigInt(`${whole}${fraction.slice(0, digits).padEnd(digits, "0")}`) * (sign === "-" ? -1n : 1n)
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) {
    return Either.left(`is too large to be counted exactly in minor units, got ${showValue(text)}`)
  }
  // -0 (from "-0.00") is 0.
  return Either.right(Number(minor) + 0)
}
