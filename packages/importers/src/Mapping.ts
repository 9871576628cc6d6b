/**
 * From a file's columns to a contact: which column is what (recognised in English and French, and
 * as Google Contacts, Outlook, HubSpot, Mailchimp and vCard name them, or as you say), and each
 * value turned into what the contact needs (French numbers "1 234,50", dates "12/03/2025",
 * "oui"/"non", phones in E.164).
 *
 * @since 0.3.0
 */
import { Contact, Email, type FieldDefinition, Money } from "@rapport/core"
import { parsePhoneNumberFromString, type CountryCode, isSupportedCountry } from "libphonenumber-js"
import { restore } from "./internal/formula.js"
import { collect, labelOfColumn } from "./internal/identities.js"
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
  | "consent.status"
  | "consent.at"
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
  "consent.status",
  "consent.at",
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
      "email 2", "email 3",
      // More of them: Google's further values, vCard's EMAIL 4…, HubSpot's extra addresses, French "e-mail 2".
      "e mail 4 value", "e mail 5 value", "email 4", "email 5", "email 6", "additional email addresses", "adresse e mail 2", "email secondaire",
      "email work", "email home"
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
      "telephone professionnel", "home phone", "telephone domicile", "phone 2 value", "tel 2", "tel 3", "mobile phone number",
      // More of them (after the ones above, which give the primary phone): Outlook's other phones,
      // Google's further values, vCard's TEL 4… and labelled TEL columns, French "téléphone 2".
      "business phone 2", "home phone 2", "other phone", "primary phone", "company main phone", "car phone", "phone 3 value", "phone 4 value",
      "tel 4", "tel 5", "tel 6", "tel home", "tel fax", "phone 2", "phone 3", "telephone 2", "telephone fixe"
    ]
  ],
  ["company", ["company", "company name", "organization", "organisation", "organization name", "organization 1 name", "societe", "entreprise", "raison sociale", "org"]],
  ["tags", ["tags", "labels", "etiquettes", "tag", "categories", "group membership"]],
  ["ownerId", ["owner", "owner id", "ownerid", "contact owner", "responsable", "commercial"]],
  ["score", ["score", "lead score"]],
  ["timezone", ["timezone", "time zone", "fuseau horaire"]],
  // HubSpot's "Lifecycle Stage" only when the workspace uses the hubspot lifecycle (see `recognize`).
  ["stage", ["stage", "etape", "lifecycle stage"]],
  ["source.channel", ["source", "source channel", "lead source", "original source", "canal", "origine", "canal d acquisition"]],
  ["source.campaign", ["campaign", "source campaign", "campagne", "utm campaign"]],
  [
    "firstSeenAt",
    [
      "first seen", "first seen at", "firstseenat", "create date", "created", "created at", "date de creation", "optin time", "date d inscription",
      "date de premier contact", "premier contact", "date d entree", "date du premier contact"
    ]
  ],
  // Marketing consent: a status (subscribed, unsubscribed, yes/no…) and when it was given.
  ["consent.status", ["consent", "marketing consent", "email marketing consent", "consentement", "consentement marketing", "opt in", "optin", "subscription status", "member status", "email marketing status", "email subscription status"]],
  ["consent.at", ["consent at", "consent time", "consent date", "date du consentement", "confirm time"]]
]

// Concepts that are custom fields in Rapport (a contact has no job title of its own): a header
// naming one maps to the custom field whose key or label names it too, when the workspace has one.
const FIELD_CONCEPTS: ReadonlyArray<ReadonlyArray<string>> = [
  ["birthday", "bday", "anniversaire", "date de naissance", "date of birth", "birth date", "birthdate", "birthday 1 value"],
  ["job title", "jobtitle", "fonction", "poste", "organization title", "organization 1 title", "titre", "title"],
  ["department", "service", "departement", "org unit", "organization department", "organization 1 department"],
  ["honorific", "prefix", "civilite", "salutation", "n prefix", "name prefix", "title"],
  ["middle name", "middlename", "additional name", "second prenom", "n additional"],
  ["suffix", "name suffix", "n suffix"],
  ["nickname", "surnom", "nick name"],
  ["website", "url", "site web", "site internet", "web page", "website 1 value"],
  ["notes", "note", "remarques", "commentaire", "commentaires"],
  ["street", "address", "adresse", "rue", "adr street", "address 1 street", "business street", "home street", "other street"],
  ["city", "ville", "adr city", "address 1 city", "business city", "home city", "other city"],
  ["region", "state", "region", "province", "adr region", "address 1 region", "business state", "home state", "other state"],
  ["postcode", "postal code", "zip", "zip code", "code postal", "cp", "adr postcode", "address 1 postal code", "business postal code", "home postal code", "other postal code"],
  ["country", "pays", "adr country", "address 1 country", "business country region", "home country region", "other country region"]
]

/**
 * The tool a file comes from, told by its headers: it sets what the tool's columns mean (Outlook's
 * "Title" is the honorific, its dates are month first, its "Unspecified" is no value).
 *
 * @since 0.4.0
 * @category models
 */
export type Dialect = "google" | "outlook" | "hubspot" | "mailchimp" | "vcard" | "generic"

/**
 * The dialect of a file's headers.
 *
 * @since 0.4.0
 * @category utils
 */
export const dialectOf = (headers: ReadonlyArray<string>): Dialect => {
  const h = new Set(headers.map(normalizeHeader))
  const has = (...names: ReadonlyArray<string>) => names.some((n) => h.has(n))
  if (has("fn", "n given", "n family", "email pref")) return "vcard"
  if (has("e mail display name", "business street", "home street", "job title") && has("first name") && has("e mail address", "e mail 2 address", "business phone", "mobile phone")) return "outlook"
  if (has("e mail 1 value", "phone 1 value", "organization name", "organization 1 name", "given name") && has("e mail 1 value", "phone 1 value", "labels", "group membership")) return "google"
  if (has("record id", "lifecycle stage", "contact owner", "mobile phone number")) return "hubspot"
  if (has("optin time", "member rating", "leid", "euid", "confirm time")) return "mailchimp"
  return "generic"
}

/**
 * The order of the day and the month in a dialect's dates, when the tool has one (Outlook's US
 * exports: month first; Mailchimp's birthdays: MM/DD).
 *
 * @since 0.4.0
 * @category utils
 */
export const dialectDateOrder = (dialect: Dialect): "dmy" | "mdy" | undefined => (dialect === "outlook" || dialect === "mailchimp" ? "mdy" : undefined)

// Outlook writes these where a value is absent: an empty birthday, "Unspecified" gender, "Normal"
// priority and sensitivity, "False" for a box never ticked.
const OUTLOOK_FILLERS = new Set(["0/0/00", "0/0/0000", "00/00/0000", "unspecified", "normal", "false"])

/**
 * Whether a cell holds one of a dialect's filler values (Outlook's `0/0/00`, "Unspecified",
 * "Normal", "False"), which mean "no value".
 *
 * @since 0.4.0
 * @category utils
 */
export const isFiller = (dialect: Dialect, cell: Cell): boolean => dialect === "outlook" && typeof cell === "string" && OUTLOOK_FILLERS.has(cell.trim().toLowerCase())

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
  /** The tool the file comes from, told by its headers (generic when unknown). */
  readonly dialect?: Dialect | undefined
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
  explicit: Readonly<Record<string, string>> = {},
  context: { readonly lifecycle?: string | undefined } = {}
): Mapping | ReadonlyArray<MappingProblem> => {
  const dialect = dialectOf(headers)
  // Outlook's "Title" (and any "Title" beside a "Job Title") is the honorific: Mr., Ms., Dr.
  const titleIsHonorific = dialect === "outlook" || headers.some((h) => normalizeHeader(h) === "job title")
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
  const honorific = FIELD_CONCEPTS.find((c) => c[0] === "honorific")!
  // A field named "title" holds a job title unless it is named as an honorific (civilité, prefix).
  const conceptOf = (names: ReadonlyArray<string>) =>
    names.some((n) => n !== "title" && honorific.includes(n)) ? honorific : FIELD_CONCEPTS.find((synonyms) => names.some((n) => synonyms.includes(n)))
  for (const f of contactFields) {
    for (const name of [normalizeHeader(f.key), normalizeHeader(f.label)]) {
      // The honorific "Title" column never goes to a job-title field, whatever its key.
      if (name === "title" && titleIsHonorific && conceptOf([normalizeHeader(f.key), normalizeHeader(f.label)]) !== honorific) continue
      byField.set(name, { target: `fields.${f.key}`, rank: -1 })
    }
  }
  for (const f of contactFields) {
    const names = [normalizeHeader(f.key.replace(/([a-z])([A-Z])/g, "$1 $2")), normalizeHeader(f.label)]
    const concept = conceptOf(names)
    concept?.forEach((synonym, rank) => {
      if (synonym === "title" && titleIsHonorific !== (concept === honorific)) return
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
    // HubSpot's lifecycle stages are this workspace's only when it uses the hubspot lifecycle.
    if (normalized === "lifecycle stage" && context.lifecycle !== "hubspot") return unmapped.push(column)
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
    unmapped,
    dialect
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
  if (/^[+-]?\d+(?:[.,]\d+)?e[+-]?\d+$/i.test(s)) return Number(s.replace(",", "."))
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
 * What a date as written says about the order of its day and month: `dmy` when its first part is
 * above 12 (`25/03/2025`), `mdy` when its second part is (`03/25/2025`), `ambiguous` when both
 * could be a month (`11/02/1965`), `undefined` when it says nothing (ISO, equal parts, not a date).
 *
 * @since 0.4.0
 * @category utils
 */
export const dateEvidence = (cell: Cell): "dmy" | "mdy" | "ambiguous" | undefined => {
  if (typeof cell !== "string") return undefined
  const m = /^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?(?:[ T]\d{1,2}:\d{2}.*)?$/.exec(cell.trim())
  if (m === null) return undefined
  const [a, b] = [Number(m[1]), Number(m[2])]
  if (a === 0 || b === 0 || a > 31 || b > 31 || a === b) return undefined
  if (a > 12 && b <= 12) return "dmy"
  if (b > 12 && a <= 12) return "mdy"
  return a <= 12 && b <= 12 ? "ambiguous" : undefined
}

/**
 * A date without a year (a birthday: `--07-22` as vCard and Google write it, `--0722`, or `07/22`
 * in the given order) as `--MM-DD`; February 29 is allowed.
 *
 * @since 0.4.0
 * @category utils
 */
export const parseYearless = (cell: Cell, order: "dmy" | "mdy" = "dmy"): string | undefined => {
  const s = text(cell)
  if (s === undefined) return undefined
  let month: number
  let day: number
  const iso = /^--(\d{2})-?(\d{2})$/.exec(s)
  const slashed = /^(\d{1,2})[/.-](\d{1,2})\.?$/.exec(s)
  if (iso !== null) [month, day] = [Number(iso[1]), Number(iso[2])]
  else if (slashed !== null) [day, month] = order === "dmy" ? [Number(slashed[1]), Number(slashed[2])] : [Number(slashed[2]), Number(slashed[1])]
  else return undefined
  return validDate(2000, month, day) ? `--${pad(month)}-${pad(day)}` : undefined
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
 * An email or phone as read from a file, with its label (`work`, `home`, `mobile`…) when the
 * file gives one.
 *
 * @since 0.4.0
 * @category models
 */
export interface Labelled {
  readonly value: string
  readonly label: string | null
}

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
  /**
   * Every email of the record, labelled, the primary one (`email`) first, when it has more than
   * one or a label (since 0.4.0).
   */
  readonly emails?: ReadonlyArray<Labelled>
  /** Every phone of the record, labelled, the primary one (`phone`) first, when it has more than one or a label (since 0.4.0). */
  readonly phones?: ReadonlyArray<Labelled>
  readonly company?: string
  readonly tags?: ReadonlyArray<string>
  readonly ownerId?: string
  readonly score?: number
  readonly timezone?: string
  readonly stage?: string
  readonly source?: { readonly channel: string; readonly campaign?: string | null }
  readonly firstSeenAt?: string
  readonly fields?: Readonly<Record<string, unknown>>
  /** Marketing consent the row states, with its proof: when and where it was given or withdrawn. */
  readonly consent?: Consent
}

/**
 * Marketing consent read from a row: given or withdrawn, when (an instant, when the file says),
 * and where (`source`: the tool or file it came from).
 *
 * @since 0.4.0
 * @category models
 */
export interface Consent {
  readonly granted: boolean
  readonly at?: string | undefined
  readonly source: string
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
  /** The order of day and month per column, where it differs from `dateOrder` (detected from the values, see `dateEvidence`). */
  readonly columnDateOrders?: Readonly<Record<string, "dmy" | "mdy">> | undefined
  /** The workspace's lifecycle stages: a stage column may name one by its label ("Marketing Qualified Lead"). */
  readonly stages?: ReadonlyArray<{ readonly key: string; readonly label: string }> | undefined
  /** Where consent read from the file comes from (default: the file's dialect, e.g. `mailchimp-import`). */
  readonly consentSource?: string | undefined
}

const splitList = (cell: Cell): ReadonlyArray<string> =>
  (text(cell) ?? "")
    .split(/\s*(?:,|;|\||:::)\s*/)
    .map((s) => s.replace(/^"+|"+$/g, "").trim())
    .filter((s) => s !== "")

const fieldValue = (
  def: FieldDefinition.FieldDefinition,
  cell: Cell,
  options: ValueOptions
): { readonly value: unknown } | { readonly problem: string } | { readonly yearless: string } => {
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
      if (d !== undefined) return { value: d }
      const yearless = parseYearless(cell, options.dateOrder)
      return yearless !== undefined ? { yearless } : fail(`a date (${options.dateOrder === "mdy" ? "MM/DD/YYYY" : "DD/MM/YYYY"} or YYYY-MM-DD)`)
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

const CONSENT_YES = new Set(["yes", "y", "oui", "o", "true", "vrai", "1", "x", "subscribed", "subscriber", "opted in", "opt in", "optin", "granted", "given", "accepted", "abonne", "inscrit", "consenti"])
const CONSENT_NO = new Set(["no", "n", "non", "false", "faux", "0", "unsubscribed", "opted out", "opt out", "optout", "withdrawn", "refused", "declined", "cleaned", "desabonne", "desinscrit", "refuse"])

/**
 * A consent status as files write it: `yes`/`no`, `oui`/`non`, `subscribed`/`unsubscribed`,
 * `opted in`/`opted out`, `granted`/`withdrawn`; `undefined` when it is none of them.
 *
 * @since 0.4.0
 * @category utils
 */
export const parseConsent = (cell: Cell): boolean | undefined => {
  if (typeof cell === "boolean") return cell
  const s = text(cell)
  if (s === undefined) return undefined
  const n = normalizeHeader(s)
  return CONSENT_YES.has(n) ? true : CONSENT_NO.has(n) ? false : undefined
}

// Columns of a second address (Outlook's "Home Street", "Other City"): used only when the row has
// nothing in its business address columns.
const isOtherAddress = (column: string) => /^(home|other) (street|city|state|postal code|country region|po box)/.test(normalizeHeader(column))
const isBusinessAddress = (column: string) => /^business (street|city|state|postal code|country region|po box)/.test(normalizeHeader(column))

// What some columns of a mapping are, worked out once per mapping rather than once per row.
const kindsCache = new WeakMap<Mapping, { readonly business: ReadonlyArray<string>; readonly other: ReadonlySet<string>; readonly lifecycle: string | undefined }>()
const kindsOf = (mapping: Mapping) => {
  let kinds = kindsCache.get(mapping)
  if (kinds === undefined) {
    const columns = mapping.columns.map((c) => c.column)
    kinds = {
      business: columns.filter(isBusinessAddress),
      other: new Set(columns.filter(isOtherAddress)),
      lifecycle: columns.find((c) => normalizeHeader(c) === "lifecycle stage")
    }
    kindsCache.set(mapping, kinds)
  }
  return kinds
}

/**
 * Turns one record into a contact candidate with a mapping. A target several columns map to takes
 * the first filled one (in the mapping's order); `fullName` fills the names that are missing; an
 * empty cell (or a dialect's filler, such as Outlook's "Unspecified") leaves the attribute out.
 * Several values in one cell (Google's `a ::: b`) give the first to a single-valued target and all
 * to tags and multi-select fields. A second address (home) is used when the business one is empty.
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
  const dialect = mapping.dialect ?? "generic"
  const kinds = kindsOf(mapping)
  const cellOf = (column: string): Cell => {
    const cell = record.values[column] ?? null
    return dialect === "outlook" && isFiller(dialect, cell) ? null : cell
  }
  const businessAddress = kinds.business.some((column) => text(cellOf(column)) !== undefined)
  let fullName: string | undefined
  let channel: string | undefined
  let campaign: string | undefined
  let consent: boolean | undefined
  let consentAt: string | undefined
  for (const { column, target } of mapping.columns) {
    if (target === "ignore" || taken.has(target)) continue
    if (businessAddress && kinds.other.has(column)) continue
    const order = options.columnDateOrders?.[column] ?? options.dateOrder
    let cell = cellOf(column)
    const def = target.startsWith("fields.") ? fields.find((f) => f.entity === "contact" && f.key === target.slice(7)) : undefined
    // Google Contacts writes several values in one cell ("a@x ::: b@y"), HubSpot several emails
    // as "a@x;b@y": the first is the main one (all of them are in `emails`, `phones`).
    const separator = target === "email" ? / ::: |;/ : / ::: /
    if (typeof cell === "string" && separator.test(cell) && target !== "tags" && def?.type !== "multiSelect") {
      cell = cell.split(separator).map((part) => part.trim()).find((part) => part !== "") ?? null
    }
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
      case "tags": {
        // Google's system group every contact is in says nothing about the contact.
        const tags = splitList(cell).filter((t) => !/^\*?\s*mycontacts$/i.test(t))
        if (tags.length > 0) out.tags = tags
        break
      }
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
      case "stage": {
        // A stage by key or by label, case and spacing aside ("Marketing Qualified Lead").
        const wanted = normalizeHeader(raw).replace(/ /g, "")
        const stage = options.stages?.find((st) => normalizeHeader(st.key).replace(/ /g, "") === wanted || normalizeHeader(st.label).replace(/ /g, "") === wanted)
        if (stage !== undefined) out.stage = stage.key
        else if (column === kinds.lifecycle) warnings.push(`${column}: ${JSON.stringify(raw)} is not a stage of this workspace's lifecycle; the stage was left as it is`)
        else out.stage = raw
        break
      }
      case "source.channel":
        channel = raw
        break
      case "source.campaign":
        campaign = raw
        break
      case "firstSeenAt": {
        const at = parseInstant(cell, options.timezone, order)
        if (at === undefined) issues.push({ column, message: `${JSON.stringify(raw)} is not a date${order === "mdy" ? " (read month first)" : ""}` })
        else out.firstSeenAt = at
        break
      }
      case "consent.status": {
        const granted = parseConsent(cell)
        if (granted === undefined) issues.push({ column, message: `${JSON.stringify(raw)} is not a consent status (yes/no, subscribed/unsubscribed, opted in/out)` })
        else consent = granted
        break
      }
      case "consent.at": {
        const at = parseInstant(cell, options.timezone, order)
        if (at === undefined) issues.push({ column, message: `${JSON.stringify(raw)} is not a date` })
        else consentAt = at
        break
      }
      default: {
        if (def === undefined) break
        const value = fieldValue(def, cell, order === options.dateOrder ? options : { ...options, dateOrder: order })
        if ("problem" in value) issues.push({ column, message: value.problem })
        else if ("yearless" in value) {
          // A date field holds a full date: a date without a year is kept in the report, the row is imported.
          warnings.push(`${column}: ${JSON.stringify(raw)} has no year (${value.yearless}); the date field "${def.key}" needs one and was left empty (define it as a text field to keep dates without a year)`)
        } else customFields[def.key] = value.value
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
  // Every email and phone of the record, in the mapping's order (the primary ones first).
  const listed = (target: Target) => {
    const columns = mapping.columns.filter((c) => c.target === target).map((c) => c.column)
    // The record's other cells too: Google labels "E-mail 1 - Value" in "E-mail 1 - Label".
    return { columns, values: { ...record.values, ...Object.fromEntries(columns.map((c) => [c, text(cellOf(c)) ?? null])) } }
  }
  // At most Contact.maxIdentities of each are kept (the first ones), with a warning.
  const bounded = (items: ReadonlyArray<Labelled>, what: string) => {
    if (items.length <= Contact.maxIdentities) return items
    warnings.push(`${items.length} ${what}: only the first ${Contact.maxIdentities} were kept (${items.slice(Contact.maxIdentities).map((i) => i.value).join(", ")} left out)`)
    return items.slice(0, Contact.maxIdentities)
  }
  // Only when there may be more than the primary value or a label (the common one-column file
  // skips this): an invalid primary email rejects the row (as before), the list is then left out.
  const more = (target: Target, first: string | undefined, separator: RegExp) => {
    if (first === undefined) return false
    const columns = mapping.columns.filter((c) => c.target === target)
    if (columns.length > 1) return true
    const column = columns[0]!.column
    const cell = record.values[column]
    return labelOfColumn(column) !== null || / - value$/i.test(column) || (typeof cell === "string" && separator.test(cell))
  }
  if (more("email", out.email, / ::: |;/) && Email.normalize(out.email!)._tag === "Right") {
    const { columns, values } = listed("email")
    const emails = collect(
      values,
      columns,
      (raw, column) => {
        if (raw === out.email) return raw
        const email = Email.normalize(raw)
        if (email._tag === "Right") return email.right
        warnings.push(`${column}: ${JSON.stringify(raw)} is not an email address (${email.left}); left out`)
        return undefined
      },
      (e) => Email.emailKey(e),
      / ::: |;/
    )
    if (emails.length > 1 || emails.some((e) => e.label !== null)) out.emails = bounded(emails, "email addresses")
  }
  if (more("phone", out.phone, / ::: /)) {
    const { columns, values } = listed("phone")
    const phones = collect(
      values,
      columns,
      (raw, column) => {
        const phone = normalizePhone(raw, options.country)!
        if (!phone.valid && phone.phone !== out.phone) warnings.push(`${column}: ${JSON.stringify(raw)} is not a phone number of ${options.country ?? "a known country"}; kept as written`)
        return phone.phone
      },
      (p) => p
    )
    if (phones.length > 1 || phones.some((p) => p.label !== null)) out.phones = bounded(phones, "phone numbers")
  }
  const consentSource = options.consentSource ?? (dialect === "generic" ? "import" : `${dialect}-import`)
  if (consent === undefined && dialect === "mailchimp") {
    // A Mailchimp audience export: an unsubscribed member has UNSUB_TIME, a cleaned one CLEAN_TIME;
    // the others subscribed, confirmed at CONFIRM_TIME (double opt-in), else at OPTIN_TIME.
    const at = (name: string) => {
      const column = Object.keys(record.values).find((c) => normalizeHeader(c) === name)
      // Mailchimp writes its times in UTC.
      return column === undefined ? undefined : parseInstant(record.values[column] ?? null, "UTC", "mdy")
    }
    const unsubscribed = at("unsub time")
    if (unsubscribed !== undefined) out.consent = { granted: false, at: unsubscribed, source: consentSource }
    else if (at("clean time") === undefined) out.consent = { granted: true, at: at("confirm time") ?? at("optin time") ?? consentAt, source: consentSource }
  } else if (consent !== undefined) out.consent = { granted: consent, at: consentAt, source: consentSource }
  return { candidate: out, issues, warnings }
}
