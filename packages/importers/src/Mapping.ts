/**
 * From a file's columns to a contact: which column is what (recognised in English and French, and
 * as Google Contacts, Outlook, HubSpot, Mailchimp and vCard name them, or as you say), and each
 * value turned into what the contact needs (French numbers "1 234,50", dates "12/03/2025",
 * "oui"/"non", phones in E.164).
 *
 * @since 0.3.0
 */
import { type FieldDefinition, Money } from "@rapport/core"
import { parsePhoneNumberFromString, type CountryCode, isSupportedCountry } from "libphonenumber-js"
import { restore } from "./internal/formula.js"
import type { Cell, SourceRecord } from "./Records.js"

/**
 * What a column can be imported as: a contact attribute, a custom field (`fields.<key>`), or
 * nothing (`ignore`). `fullName` is split into first and last names when those are not given;
 * `company` links the contact to the company of that name (created when missing).
 *
 * @since 0.3.0
 * @category models
 */
export type Target =
  | "email"
  | "firstName"
  | "lastName"
  | "fullName"
  | "phone"
  | "company"
  | "tags"
  | "ownerId"
  | "score"
  | "timezone"
  | "stage"
  | "source.channel"
  | "source.campaign"
  | "firstSeenAt"
  | `fields.${string}`
  | "ignore"

const ATTRIBUTES: ReadonlyArray<Target> = [
  "email",
  "firstName",
  "lastName",
  "fullName",
  "phone",
  "company",
  "tags",
  "ownerId",
  "score",
  "timezone",
  "stage",
  "source.channel",
  "source.campaign",
  "firstSeenAt",
  "ignore"
]

/**
 * A header as compared: lower case, without accents, punctuation as single spaces.
 *
 * @since 0.3.0
 * @category utils
 */
export const normalizeHeader = (header: string): string =>
  header
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim()

// Known headers per target, best first: when several columns of a file mean the same thing
// (Google's "E-mail 1 - Value" and "E-mail 2 - Value"), a row takes the first one it has filled.
const KNOWN: ReadonlyArray<readonly [Target, ReadonlyArray<string>]> = [
  [
    "email",
    [
      "email", "e mail", "email address", "e mail address", "adresse e mail", "adresse email", "adresse mail", "courriel", "mail",
      "e mail 1 value", "email 1 value", "work email", "personal email", "e mail 2 address", "e mail 2 value", "e mail 3 address", "e mail 3 value",
      "email 2", "email 3"
    ]
  ],
  ["firstName", ["first name", "firstname", "given name", "prenom", "n given"]],
  ["lastName", ["last name", "lastname", "family name", "surname", "nom", "nom de famille", "n family"]],
  ["fullName", ["name", "full name", "display name", "nom complet", "contact", "fn"]],
  [
    "phone",
    [
      "mobile", "mobile phone", "portable", "telephone portable", "tel portable", "cell", "cell phone", "tel cell",
      "phone", "telephone", "tel", "phone number", "numero de telephone", "phone 1 value", "business phone", "work phone", "tel work",
      "telephone professionnel", "home phone", "telephone domicile", "phone 2 value", "tel 2", "tel 3"
    ]
  ],
  ["company", ["company", "company name", "organization", "organisation", "organization 1 name", "societe", "entreprise", "raison sociale", "org"]],
  ["tags", ["tags", "labels", "etiquettes", "tag"]],
  ["ownerId", ["owner", "owner id", "ownerid", "contact owner", "responsable", "commercial"]],
  ["score", ["score", "lead score"]],
  ["timezone", ["timezone", "time zone", "fuseau horaire"]],
  // Not HubSpot's "Lifecycle Stage": its values (lead, subscriber…) are not this workspace's stages.
  ["stage", ["stage", "etape"]],
  ["source.channel", ["source", "source channel", "lead source", "original source", "canal", "origine", "canal d acquisition"]],
  ["source.campaign", ["campaign", "source campaign", "campagne", "utm campaign"]],
  ["firstSeenAt", ["first seen", "first seen at", "firstseenat", "create date", "created", "created at", "date de creation", "optin time", "date d inscription"]]
]

// Concepts that are custom fields in Rapport (a contact has no job title of its own): a header
// naming one maps to the custom field whose key or label names it too, when the workspace has one.
const FIELD_CONCEPTS: ReadonlyArray<ReadonlyArray<string>> = [
  ["birthday", "bday", "anniversaire", "date de naissance", "date of birth", "birth date", "birthdate", "birthday 1 value"],
  ["job title", "jobtitle", "fonction", "poste", "organization 1 title", "titre", "title"],
  ["department", "service", "departement", "org unit", "organization 1 department"],
  ["website", "url", "site web", "site internet", "web page", "website 1 value"],
  ["notes", "note", "remarques", "commentaire", "commentaires"],
  ["street", "address", "adresse", "rue", "adr street", "address 1 street", "business street"],
  ["city", "ville", "adr city", "address 1 city", "business city"],
  ["region", "state", "region", "province", "adr region", "address 1 region", "business state"],
  ["postcode", "postal code", "zip", "zip code", "code postal", "cp", "adr postcode", "address 1 postal code", "business postal code"],
  ["country", "pays", "adr country", "address 1 country", "business country region"]
]

/**
 * How one column is imported.
 *
 * @since 0.3.0
 * @category models
 */
export interface ColumnMapping {
  readonly column: string
  readonly target: Target
  /** Whether it was recognised (`auto`) or given (`explicit`). */
  readonly how: "auto" | "explicit"
}

/**
 * A file's mapping: the columns imported, and those that are not (reported, so nothing is
 * dropped without the caller knowing).
 *
 * @since 0.3.0
 * @category models
 */
export interface Mapping {
  readonly columns: ReadonlyArray<ColumnMapping>
  readonly unmapped: ReadonlyArray<string>
}

/**
 * Why an explicit mapping cannot be used.
 *
 * @since 0.3.0
 * @category models
 */
export interface MappingProblem {
  readonly column: string
  readonly message: string
}

/**
 * Maps a file's columns: the explicit mapping first (`{ "Courriel pro": "email", "N° SIRET":
 * "fields.siret", "Notes": "ignore" }`), then recognition: a known header, or a custom field's key
 * or label. Fails with the problems of the explicit mapping (a column the file lacks, a target
 * that does not exist).
 *
 * @since 0.3.0
 * @category constructors
 */
export const recognize = (
  headers: ReadonlyArray<string>,
  fields: ReadonlyArray<FieldDefinition.FieldDefinition>,
  explicit: Readonly<Record<string, string>> = {}
): Mapping | ReadonlyArray<MappingProblem> => {
  const contactFields = fields.filter((f) => f.entity === "contact")
  const problems: Array<MappingProblem> = []
  for (const [column, target] of Object.entries(explicit)) {
    if (!headers.includes(column)) problems.push({ column, message: `the file has no column "${column}" (its columns: ${headers.join(", ")})` })
    const known = ATTRIBUTES.includes(target as Target) || (target.startsWith("fields.") && contactFields.some((f) => `fields.${f.key}` === target))
    if (!known) {
      problems.push({
        column,
        message: target.startsWith("fields.")
          ? `no contact field "${target.slice(7)}" is defined${contactFields.length === 0 ? "" : ` (fields: ${contactFields.map((f) => f.key).join(", ")})`}`
          : `"${target}" is not a target; use one of ${ATTRIBUTES.join(", ")} or fields.<key>`
      })
    }
  }
  if (problems.length > 0) return problems
  // A field's own key and label first, then the other names of what it holds, best first
  // (Outlook's "Job Title" beats its "Title", which is "Mr." or "Ms.").
  const byField = new Map<string, { readonly target: Target; readonly rank: number }>()
  for (const f of contactFields) {
    byField.set(normalizeHeader(f.key), { target: `fields.${f.key}`, rank: -1 })
    byField.set(normalizeHeader(f.label), { target: `fields.${f.key}`, rank: -1 })
  }
  for (const f of contactFields) {
    const names = [normalizeHeader(f.key.replace(/([a-z])([A-Z])/g, "$1 $2")), normalizeHeader(f.label)]
    const concept = FIELD_CONCEPTS.find((synonyms) => names.some((n) => synonyms.includes(n)))
    concept?.forEach((synonym, rank) => {
      if (!byField.has(synonym)) byField.set(synonym, { target: `fields.${f.key}`, rank })
    })
  }
  const rank = (target: Target, normalized: string) => {
    const entry = KNOWN.find(([t]) => t === target)
    return entry === undefined ? 0 : entry[1].indexOf(normalized)
  }
  const columns: Array<ColumnMapping & { readonly rank: number }> = []
  const unmapped: Array<string> = []
  headers.forEach((column, index) => {
    const given = explicit[column]
    if (given !== undefined) return columns.push({ column, target: given as Target, how: "explicit", rank: -1 + index / 10_000 })
    const normalized = normalizeHeader(column)
    const field = byField.get(normalized)
    if (field !== undefined) return columns.push({ column, target: field.target, how: "auto", rank: field.rank + index / 10_000 })
    const known = KNOWN.find(([, names]) => names.includes(normalized))
    if (known === undefined) return unmapped.push(column)
    columns.push({ column, target: known[0], how: "auto", rank: rank(known[0], normalized) + index / 10_000 })
  })
  // By target (in the order above), then best column first.
  const targetOrder = (t: Target) => {
    const i = KNOWN.findIndex(([known]) => known === t)
    return i < 0 ? KNOWN.length : i
  }
  return {
    columns: columns
      .sort((a, b) => targetOrder(a.target) - targetOrder(b.target) || a.rank - b.rank)
      .map(({ column, target, how }) => ({ column, target, how })),
    unmapped
  }
}

// ---------------------------------------------------------------------------------------------
// Values

// Text as the contact gets it: trimmed, and without the quote an export puts before text a
// spreadsheet would run as a formula ("'+33 6…", "'=x").
const text = (cell: Cell): string | undefined => {
  if (cell === null) return undefined
  if (cell instanceof Date) return cell.toISOString()
  const s = restore(String(cell).trim()).trim()
  return s === "" ? undefined : s
}

/**
 * A number as people write it: `1234.5`, `1,234.50`, `1 234,50` (French, with spaces or
 * no-break spaces), `1.234,50` (German), `1.5e-7`, with an optional currency sign, ISO currency
 * code or percent; `undefined` when it is not a number.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseNumber = (cell: Cell): number | undefined => {
  if (typeof cell === "number") return Number.isFinite(cell) ? cell : undefined
  const raw = text(cell)
  if (raw === undefined) return undefined
  let s = raw.replace(/[\s\u00a0\u202f']/g, "").replace(/^[€$£]|[€$£%]$|[A-Z]{3}$/g, "")
  if (/^[+-]?\d+(?:\.\d+)?e[+-]?\d+$/i.test(s)) return Number(s)
  if (!/^[+-]?[\d.,]+$/.test(s)) return undefined
  const lastComma = s.lastIndexOf(",")
  const lastDot = s.lastIndexOf(".")
  if (lastComma >= 0 && lastDot >= 0) {
    // The later separator is the decimal one.
    s = lastComma > lastDot ? s.replace(/\./g, "").replace(",", ".") : s.replace(/,/g, "")
  } else if (lastComma >= 0) {
    // A single comma is a decimal comma ("12,5", French); several separate thousands ("1,234,567").
    s = (s.match(/,/g) ?? []).length > 1 ? s.replace(/,/g, "") : s.replace(",", ".")
  } else if ((s.match(/\./g) ?? []).length > 1) {
    s = s.replace(/\./g, "")
  }
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

/**
 * A yes/no value: `oui`/`non`, `yes`/`no`, `vrai`/`faux`, `true`/`false`, `1`/`0`, `x` (ticked).
 *
 * @since 0.3.0
 * @category utils
 */
export const parseBoolean = (cell: Cell): boolean | undefined => {
  if (typeof cell === "boolean") return cell
  if (typeof cell === "number") return cell === 1 ? true : cell === 0 ? false : undefined
  const s = text(cell)?.toLowerCase()
  if (s === undefined) return undefined
  if (["oui", "yes", "y", "o", "vrai", "true", "1", "x"].includes(s)) return true
  if (["non", "no", "n", "faux", "false", "0"].includes(s)) return false
  return undefined
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")
const validDate = (y: number, m: number, d: number) => {
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/**
 * A calendar date `YYYY-MM-DD` from `2025-03-12`, `12/03/2025` (day first unless `order` is
 * `mdy`), `12.03.2025`, `12-03-25` (two-digit years are 19xx above 50), or a spreadsheet date.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseDate = (cell: Cell, order: "dmy" | "mdy" = "dmy"): string | undefined => {
  // Spreadsheet dates carry no zone: their UTC parts are the date the sheet shows.
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? undefined : `${cell.getUTCFullYear()}-${pad(cell.getUTCMonth() + 1)}-${pad(cell.getUTCDate())}`
  const s = text(cell)
  if (s === undefined) return undefined
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(s)
  if (m !== null) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
    return validDate(y, mo, d) ? `${y}-${pad(mo)}-${pad(d)}` : undefined
  }
  m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$/.exec(s)
  if (m === null) return undefined
  const [a, b] = [Number(m[1]), Number(m[2])]
  const y = m[3]!.length === 2 ? (Number(m[3]) > 50 ? 1900 : 2000) + Number(m[3]) : Number(m[3])
  const [d, mo] = order === "dmy" ? [a, b] : [b, a]
  return validDate(y, mo, d) ? `${y}-${pad(mo)}-${pad(d)}` : undefined
}

/**
 * An instant (ISO-8601 with offset) from an ISO text, a spreadsheet date, or a date (and time)
 * written `12/03/2025 14:30`, read in `timezone`.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseInstant = (cell: Cell, timezone: string, order: "dmy" | "mdy" = "dmy"): string | undefined => {
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? undefined : cell.toISOString()
  const s = text(cell)
  if (s === undefined) return undefined
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) return Number.isNaN(Date.parse(s)) ? undefined : new Date(s).toISOString()
  const m = /^(.+?)(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s)
  const date = m === null ? undefined : parseDate(m[1]!, order)
  if (date === undefined) return undefined
  const [h, mi, se] = [Number(m![2] ?? 0), Number(m![3] ?? 0), Number(m![4] ?? 0)]
  if (h > 23 || mi > 59 || se > 59) return undefined
  return localToIso(date, h, mi, se, timezone)
}

// The UTC instant at which the wall clock of `timezone` shows this date and time.
const localToIso = (date: string, h: number, mi: number, se: number, timezone: string): string => {
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number]
  const guess = Date.UTC(y, mo - 1, d, h, mi, se)
  const offsetAt = (at: number) => {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(at))
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - at
  }
  const first = guess - offsetAt(guess)
  return new Date(guess - offsetAt(first)).toISOString()
}

const CURRENCY_SIGNS: Readonly<Record<string, string>> = { "€": "EUR", $: "USD", "£": "GBP" }

// Yen have no cents and dinars have three decimals; a code Intl does not know is left for the
// contact's validation to refuse.
const digitsOf = (currency: string): number => {
  try {
    return Money.minorDigits(currency as Money.Currency)
  } catch {
    return 2
  }
}

/**
 * An amount of money in minor units of its currency: `1 234,50 €`, `EUR 12.50`, `$9.99`,
 * `1500 JPY`, or a plain number in `currency`.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseMoney = (cell: Cell, currency: string): { readonly amountMinor: number; readonly currency: string } | undefined => {
  const s = typeof cell === "number" ? String(cell) : text(cell)
  if (s === undefined) return undefined
  const sign = /[€$£]/.exec(s)?.[0]
  const code = /\b([A-Z]{3})\b/.exec(s)?.[1]
  const amount = parseNumber(typeof cell === "number" ? cell : s.replace(/\b[A-Z]{3}\b/, ""))
  if (amount === undefined) return undefined
  const unit = code ?? (sign === undefined ? currency : CURRENCY_SIGNS[sign]!)
  const minor = Math.round(amount * 10 ** digitsOf(unit))
  return Number.isSafeInteger(minor) ? { amountMinor: minor, currency: unit } : undefined
}

/**
 * A phone number in E.164 (`+33639981234`) when it can be read as one (national numbers in
 * `country`), else as written: a number that cannot be parsed is kept, never dropped. `valid`
 * says which.
 *
 * @since 0.3.0
 * @category utils
 */
export const normalizePhone = (cell: Cell, country: string | undefined): { readonly phone: string; readonly valid: boolean } | undefined => {
  const raw = typeof cell === "number" ? String(cell) : text(cell)
  if (raw === undefined) return undefined
  const region = country !== undefined && isSupportedCountry(country.toUpperCase()) ? (country.toUpperCase() as CountryCode) : undefined
  const parsed = parsePhoneNumberFromString(raw, region)
  return parsed !== undefined && parsed.isValid() ? { phone: parsed.number, valid: true } : { phone: raw, valid: false }
}

/**
 * Whether a country code is one phone numbers can be read in.
 *
 * @since 0.3.0
 * @category utils
 */
export const isCountry = (country: string): boolean => isSupportedCountry(country.toUpperCase())

// ---------------------------------------------------------------------------------------------
// Records to contacts

/**
 * What a mapped record holds for the contact, before validation: the Promise client's input to
 * `contacts.create`, plus the company name to link (if any).
 *
 * @since 0.3.0
 * @category models
 */
export interface Candidate {
  readonly email?: string
  readonly firstName?: string
  readonly lastName?: string
  readonly phone?: string
  readonly company?: string
  readonly tags?: ReadonlyArray<string>
  readonly ownerId?: string
  readonly score?: number
  readonly timezone?: string
  readonly stage?: string
  readonly source?: { readonly channel: string; readonly campaign?: string | null }
  readonly firstSeenAt?: string
  readonly fields?: Readonly<Record<string, unknown>>
}

/**
 * A record mapped: the candidate, the values that could not be read (each one a rejection
 * reason, naming the column), and warnings (a phone kept as written).
 *
 * @since 0.3.0
 * @category models
 */
export interface Mapped {
  readonly candidate: Candidate
  readonly issues: ReadonlyArray<{ readonly column: string; readonly message: string }>
  readonly warnings: ReadonlyArray<string>
}

/**
 * How values are read.
 *
 * @since 0.3.0
 * @category models
 */
export interface ValueOptions {
  /** Country of national phone numbers (`FR`: 06 39 98 12 34 is +33639981234). */
  readonly country?: string | undefined
  /** Currency of money values written without one (default `EUR`). */
  readonly currency?: string | undefined
  /** Day first (`dmy`, the default) or month first (`mdy`) in dates such as 03/04/2025. */
  readonly dateOrder?: "dmy" | "mdy" | undefined
  /** Timezone of local date-times (the workspace's). */
  readonly timezone: string
}

const splitList = (cell: Cell): ReadonlyArray<string> =>
  (text(cell) ?? "")
    .split(/\s*(?:,|;|\||:::)\s*/)
    .map((s) => s.replace(/^"+|"+$/g, "").trim())
    .filter((s) => s !== "")

const fieldValue = (def: FieldDefinition.FieldDefinition, cell: Cell, options: ValueOptions): { readonly value: unknown } | { readonly problem: string } => {
  const raw = text(cell)
  const fail = (what: string) => ({ problem: `${JSON.stringify(raw ?? cell)} is not ${what}` })
  switch (def.type) {
    case "number":
    case "integer": {
      const n = parseNumber(cell)
      if (n === undefined) return fail("a number")
      return def.type === "integer" && !Number.isSafeInteger(n) ? fail("a whole number") : { value: n }
    }
    case "money": {
      const money = parseMoney(cell, options.currency ?? "EUR")
      return money === undefined ? fail("an amount") : { value: money }
    }
    case "boolean": {
      const b = parseBoolean(cell)
      return b === undefined ? fail("yes or no (oui/non, yes/no, true/false, 1/0)") : { value: b }
    }
    case "date": {
      const d = parseDate(cell, options.dateOrder)
      return d === undefined ? fail(`a date (${options.dateOrder === "mdy" ? "MM/DD/YYYY" : "DD/MM/YYYY"} or YYYY-MM-DD)`) : { value: d }
    }
    case "datetime": {
      const at = parseInstant(cell, options.timezone, options.dateOrder)
      return at === undefined ? fail("a date and time") : { value: at }
    }
    case "select": {
      const option = def.options.find((o) => o.value.toLowerCase() === raw?.toLowerCase() || o.label.toLowerCase() === raw?.toLowerCase())
      return option === undefined ? fail(`one of ${def.options.map((o) => o.value).join(", ")}`) : { value: option.value }
    }
    case "multiSelect": {
      const values: Array<string> = []
      for (const part of splitList(cell)) {
        const option = def.options.find((o) => o.value.toLowerCase() === part.toLowerCase() || o.label.toLowerCase() === part.toLowerCase())
        if (option === undefined) return { problem: `${JSON.stringify(part)} is not one of ${def.options.map((o) => o.value).join(", ")}` }
        if (!values.includes(option.value)) values.push(option.value)
      }
      return { value: values }
    }
    case "phone": {
      const phone = normalizePhone(cell, options.country)
      return phone === undefined ? fail("a phone number") : { value: phone.phone }
    }
    default:
      return raw === undefined ? fail("text") : { value: raw }
  }
}

/**
 * Turns one record into a contact candidate with a mapping. A target several columns map to takes
 * the first filled one (in the mapping's order); `fullName` fills the names that are missing; an
 * empty cell leaves the attribute out.
 *
 * @since 0.3.0
 * @category constructors
 */
export const map = (record: SourceRecord, mapping: Mapping, fields: ReadonlyArray<FieldDefinition.FieldDefinition>, options: ValueOptions): Mapped => {
  const issues: Array<{ column: string; message: string }> = []
  const warnings: Array<string> = []
  const taken = new Map<Target, string>()
  const out: { -readonly [K in keyof Candidate]: Candidate[K] } = {}
  const customFields: Record<string, unknown> = {}
  let fullName: string | undefined
  let channel: string | undefined
  let campaign: string | undefined
  for (const { column, target } of mapping.columns) {
    if (target === "ignore" || taken.has(target)) continue
    let cell = record.values[column] ?? null
    // Google Contacts writes several values in one cell ("a@x ::: b@y"): the first is the main one.
    if (typeof cell === "string" && cell.includes(" ::: ") && (target === "email" || target === "phone")) cell = cell.split(" ::: ")[0]!
    const raw = text(cell)
    if (raw === undefined) continue
    taken.set(target, column)
    switch (target) {
      case "email":
        out.email = raw
        break
      case "firstName":
        out.firstName = raw
        break
      case "lastName":
        out.lastName = raw
        break
      case "fullName":
        fullName = raw
        break
      case "phone": {
        const phone = normalizePhone(cell, options.country)!
        if (!phone.valid) warnings.push(`${column}: ${JSON.stringify(raw)} is not a phone number of ${options.country ?? "a known country"}; kept as written`)
        out.phone = phone.phone
        break
      }
      case "company":
        out.company = raw
        break
      case "tags":
        out.tags = splitList(cell)
        break
      case "ownerId":
        out.ownerId = raw
        break
      case "score": {
        const n = parseNumber(cell)
        if (n === undefined || !Number.isSafeInteger(n)) issues.push({ column, message: `${JSON.stringify(raw)} is not a whole number` })
        else out.score = n
        break
      }
      case "timezone":
        out.timezone = raw
        break
      case "stage":
        out.stage = raw
        break
      case "source.channel":
        channel = raw
        break
      case "source.campaign":
        campaign = raw
        break
      case "firstSeenAt": {
        const at = parseInstant(cell, options.timezone, options.dateOrder)
        if (at === undefined) issues.push({ column, message: `${JSON.stringify(raw)} is not a date` })
        else out.firstSeenAt = at
        break
      }
      default: {
        const key = target.slice("fields.".length)
        const def = fields.find((f) => f.entity === "contact" && f.key === key)
        if (def === undefined) break
        const value = fieldValue(def, cell, options)
        if ("problem" in value) issues.push({ column, message: value.problem })
        else customFields[key] = value.value
      }
    }
  }
  if (fullName !== undefined && out.firstName === undefined && out.lastName === undefined) {
    const space = fullName.lastIndexOf(" ")
    if (space < 0) out.firstName = fullName
    else {
      out.firstName = fullName.slice(0, space).trim()
      out.lastName = fullName.slice(space + 1).trim()
    }
  }
  if (channel !== undefined) out.source = { channel, ...(campaign === undefined ? {} : { campaign }) }
  else if (campaign !== undefined) out.source = { channel: "import", campaign }
  if (Object.keys(customFields).length > 0) out.fields = customFields
  return { candidate: out, issues, warnings }
}
