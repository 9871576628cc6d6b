// Figures for people, in the page's language. Money is formatted from its integer minor units
// without going through a float: the whole part as a bigint, the fraction digits as they are.
import type { DashboardLocale } from "./i18n.js"

const tags: Readonly<Record<DashboardLocale, string>> = { en: "en-GB", fr: "fr-FR" }

export const localeTag = (locale: DashboardLocale): string => tags[locale]

/** The number of decimals of a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD). */
export const minorDigits = (currency: string): number => {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2
  } catch {
    return 2
  }
}

/** Minor units as a number of major units, for a chart's axis (the tables show the exact text). */
export const toMajor = (amountMinor: number, currency: string): number => amountMinor / 10 ** minorDigits(currency)

export interface MoneyLike {
  readonly amountMinor: number
  readonly currency: string
}

/** `{ amountMinor: 123450, currency: "EUR" }` → `1 234,50 €` in French, `€1,234.50` in English; exact for every safe integer. */
export const formatMoney = (money: MoneyLike, locale: DashboardLocale): string => {
  const tag = localeTag(locale)
  const digits = minorDigits(money.currency)
  const minor = BigInt(money.amountMinor)
  const negative = minor < 0n
  const abs = negative ? -minor : minor
  const scale = 10n ** BigInt(digits)
  const whole = abs / scale
  const fraction = (abs % scale).toString().padStart(digits, "0")
  let formatter: Intl.NumberFormat
  try {
    formatter = new Intl.NumberFormat(tag, { style: "currency", currency: money.currency, minimumFractionDigits: 0, maximumFractionDigits: 0 })
  } catch {
    return `${negative ? "-" : ""}${whole}${digits > 0 ? `.${fraction}` : ""} ${money.currency}`
  }
  // A zero whole part has no sign as a bigint: format 1 and write 0 in its place.
  const parts = formatter.formatToParts(whole === 0n ? (negative ? -1n : 1n) : negative ? -whole : whole)
  const decimal = new Intl.NumberFormat(tag).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? "."
  const lastInteger = parts.map((p) => p.type).lastIndexOf("integer")
  let out = ""
  parts.forEach((p, i) => {
    out += p.type === "integer" && whole === 0n ? "0" : p.value
    if (i === lastInteger && digits > 0) out += decimal + fraction
  })
  return out
}

export const formatNumber = (n: number, locale: DashboardLocale): string => new Intl.NumberFormat(localeTag(locale)).format(n)

export const formatPercent = (ratio: number | null, locale: DashboardLocale): string =>
  ratio === null ? "—" : new Intl.NumberFormat(localeTag(locale), { style: "percent", maximumFractionDigits: 1 }).format(ratio)

export const formatDate = (iso: string, locale: DashboardLocale): string => {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return new Intl.DateTimeFormat(localeTag(locale), { dateStyle: "medium", timeZone: "UTC" }).format(date)
}

export const formatDateTime = (iso: string, locale: DashboardLocale): string => {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return new Intl.DateTimeFormat(localeTag(locale), { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(date) + " UTC"
}

/** `2026-03` → `March 2026` / `mars 2026`. */
export const formatMonth = (month: string, locale: DashboardLocale): string => {
  const date = new Date(`${month}-01T00:00:00Z`)
  if (Number.isNaN(date.getTime())) return month
  return new Intl.DateTimeFormat(localeTag(locale), { month: "long", year: "numeric", timeZone: "UTC" }).format(date)
}
