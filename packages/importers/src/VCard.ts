/**
 * The vCard reader: contacts from `.vcf` files (vCard 2.1, 3.0 and 4.0) as phones, address
 * books, mail clients and business-card scanners export them. The file is read card by card in
 * constant memory: one {@link SourceRecord} per card, keyed by the names listed in {@link keys},
 * whatever the size of the file or of the photos it holds.
 *
 * Why the line and property parser is written here rather than taken from npm (checked with
 * `npm view`/`npm pack` for this module): every vCard library found parses a whole file or card
 * held as one string and throws at the first bad line, and none reads what Android, Outlook
 * and the business-card scanners write in vCard 2.1.
 * - `vcf` 2.1.2 (the most used parser): `vCard.parse` takes the whole file as one string and
 *   splits it at each `BEGIN:VCARD`; it unfolds CRLF lines only (LF files stay folded), leaves
 *   `ENCODING=QUOTED-PRINTABLE` and `CHARSET=` values undecoded, and throws for the whole
 *   card when one line is wrong, so nothing of a malformed card can be reported.
 * - `ical.js` 2.2.1: vCard 3.0 and 4.0 only: on 2.1 input it throws "Invalid parameters" for
 *   `TEL;CELL;VOICE:` and "invalid line" for a quoted-printable soft line break; no `CHARSET=`;
 *   a whole card per call, and the first bad line loses the card.
 * - `vcard4`, `vcard4-ts`: vCard 4.0 only. `vcard-parser` 1.0.0: splits lines at the first
 *   colon with no quoted-printable, charset, or quoted parameter handling.
 * What this module does itself is only the text format (lines, folding, parameters, escapes,
 * quoted-printable); charsets are decoded by `iconv-lite`.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import iconv from "iconv-lite"
import * as Encoding from "./Encoding.js"
import type { Cell, Opened, SourceRecord } from "./Records.js"
import { ImportError } from "./Records.js"
import type * as Source from "./Source.js"

/**
 * The keys of every record the reader produces, in this order (the `headers` of an opened vCard
 * file, for the mapping step); a card that lacks one has it `null`:
 *
 * | key | from |
 * | --- | --- |
 * | `N.family`, `N.given`, `N.additional`, `N.prefix`, `N.suffix` | the five components of `N` |
 * | `FN` | the formatted name |
 * | `ORG` | the first component of `ORG` (the company) |
 * | `ORG.unit` | its next components (the department), joined with `, ` |
 * | `TITLE` | the job title |
 * | `EMAIL`, `EMAIL 2`, `EMAIL 3` | the addresses, the preferred one first (`PREF`, `TYPE=pref`, `PREF=1`), then in file order; a card with more has `EMAIL 4`… too |
 * | `EMAIL.work`, `EMAIL.home` | the first work and home addresses (they label the addresses above when imported) |
 * | `TEL`, `TEL 2`, `TEL 3` | the numbers, the preferred one first, then in file order, fax and pager numbers last; a card with more has `TEL 4`… too |
 * | `TEL.cell`, `TEL.work`, `TEL.home`, `TEL.fax` | the first mobile number; the first work, home (not mobile, not fax) and fax numbers |
 * | `ADR.street`, `ADR.city`, `ADR.region`, `ADR.postcode`, `ADR.country` | the preferred (else first) address; `ADR.street` holds the street (its lines as written), then the extended address and the post-office box, on lines of their own |
 * | `URL` | the preferred (else first) web address |
 * | `NOTE` | the notes, joined with a line break |
 * | `BDAY` | the birthday as `YYYY-MM-DD`, or `--MM-DD` without a year; as written when it is neither |
 * | `NICKNAME` | the nicknames, joined with `, ` |
 * | `CATEGORIES` | the categories of every `CATEGORIES` property, joined with `, ` (they become tags) |
 *
 * Types come from `TYPE=` parameters in either style (`TYPE=CELL,VOICE`, 2.1's `;CELL;VOICE`)
 * and from Apple's `itemN.X-ABLabel` labels. Repeated values are kept once; values are trimmed
 * and blank ones are `null`. Lists inside a component (3.0/4.0 commas) are joined with `, `.
 *
 * @since 0.3.0
 * @category models
 */
export const keys: ReadonlyArray<string> = [
  "N.family",
  "N.given",
  "N.additional",
  "N.prefix",
  "N.suffix",
  "FN",
  "ORG",
  "ORG.unit",
  "TITLE",
  "EMAIL",
  "EMAIL 2",
  "EMAIL 3",
  "EMAIL.work",
  "EMAIL.home",
  "TEL",
  "TEL 2",
  "TEL 3",
  "TEL.cell",
  "TEL.work",
  "TEL.home",
  "TEL.fax",
  "ADR.street",
  "ADR.city",
  "ADR.region",
  "ADR.postcode",
  "ADR.country",
  "URL",
  "NOTE",
  "BDAY",
  "NICKNAME",
  "CATEGORIES"
]

/** Bytes kept of one physical line: the rest of a longer line (an unfolded photo) is dropped. */
const physicalLimit = 256 * 1024
/** Bytes kept of one unfolded property value Rapport uses; a longer value is cut and reported. */
const valueLimit = 1024 * 1024
/** At open, the file is read until its first card and at least this much, for the encoding. */
const sampleMin = 64 * 1024
/** A file whose first this-many bytes hold no `BEGIN:VCARD` is not a vCard file. */
const sampleMax = 1024 * 1024

const CR = 13
const LF = 10
const SPACE = 32
const TAB = 9
const EQUALS = 61

/** The properties whose values are kept; every other value (PHOTO, KEY, X-…) is skipped unread. */
const used = new Set(["BEGIN", "END", "VERSION", "N", "FN", "ORG", "TITLE", "TEL", "EMAIL", "ADR", "URL", "NOTE", "BDAY", "NICKNAME", "CATEGORIES", "X-ABLABEL"])
const versions = new Set(["2.1", "3.0", "4.0"])
const encodings = new Set(["quoted-printable", "base64", "b", "8bit", "7bit"])

// ---------------------------------------------------------------------------------------------
// Text decoding
// ---------------------------------------------------------------------------------------------

/**
 * Text with one character per byte (latin1): lines are split, unfolded and parsed in this form
 * (every delimiter of the format is ASCII), and each value is decoded from it with its charset
 * once the property is complete. Native string operations make this much faster than bytes.
 */
type Octets = string

const octets = (bytes: Uint8Array): Octets => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

const ascii = /^[\x00-\x7f]*$/

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** UTF-16 or UTF-32: such a file is transcoded to UTF-8 before its lines are read. */
const isWide = (encoding: string): boolean => /^utf-?(16|32)/i.test(encoding)

/**
 * A value's bytes as text: with its `CHARSET=` when iconv-lite knows it; else (and when a UTF-8
 * label is wrong) as UTF-8 when the bytes are valid UTF-8, else in `fallback`, the file's 8-bit
 * encoding (windows-1252 when the file looked like UTF-8).
 */
const decodeText = (value: Octets, charset: string | undefined, fallback: string): string => {
  if (ascii.test(value)) return value
  const bytes = Buffer.from(value, "latin1")
  const label = charset?.trim().toLowerCase()
  if (label !== undefined && label !== "" && label !== "utf-8" && label !== "utf8" && iconv.encodingExists(label)) {
    return iconv.decode(bytes, label)
  }
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return iconv.decode(bytes, fallback)
  }
}

/** Quoted-printable decoded; sequences that are not `=XX` are kept as written and returned. */
const decodeQuotedPrintable = (input: Octets): { readonly value: Octets; readonly broken: ReadonlyArray<string> } => {
  const broken: Array<string> = []
  if (input.indexOf("=") === -1) return { value: input, broken }
  const value = input.replace(/=([0-9A-Fa-f]{2})?/g, (all, hex: string | undefined, offset: number) => {
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex, 16))
    broken.push(input.slice(offset, offset + 3))
    return all
  })
  return { value, broken }
}

// ---------------------------------------------------------------------------------------------
// Property lines
// ---------------------------------------------------------------------------------------------

interface Header {
  readonly group: string | undefined
  /** Upper case. */
  readonly name: string
  /** Lower case: `cell`, `work`, `pref`, `internet`… */
  readonly types: ReadonlyArray<string>
  /** `PREF=n` (4.0), 1 for `TYPE=pref` or 2.1's `;PREF`, 101 when not preferred. */
  readonly pref: number
  /** Lower case. */
  readonly encoding: string | undefined
  readonly charset: string | undefined
  readonly omitYear: string | undefined
  /** The offset of the colon that ends the header. */
  readonly colon: number
}

type ParsedHeader = Header | "no colon" | "no name"

const notPreferred = 101

/** The index of the colon that ends the header (quoted parameter values may hold colons). */
const findColon = (line: Octets): number => {
  const colon = line.indexOf(":")
  const quote = line.indexOf('"')
  if (quote === -1 || colon === -1 || colon < quote) return colon
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"') quoted = !quoted
    else if (c === ":" && !quoted) return i
  }
  return colon // an unbalanced quote: the first colon, then
}

/** Splits at `separator` outside double quotes. */
const splitOutsideQuotes = (text: string, separator: string): Array<string> => {
  if (text.indexOf('"') === -1) return text.split(separator)
  const parts: Array<string> = []
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (c === separator && !quoted) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}

const propertyName = /^[A-Za-z0-9_-]+$/

/** Headers read, by their text: a file repeats the same few (`TEL;TYPE=CELL`, `EMAIL;TYPE=INTERNET`). */
const headerCache = new Map<string, ParsedHeader>()

/** `group.NAME;param;param=value:` → its parts; why it is not a property line otherwise. */
const parseHeader = (line: Octets): ParsedHeader => {
  const colon = findColon(line)
  if (colon === -1) return "no colon"
  const text = line.slice(0, colon)
  const cached = headerCache.get(text)
  if (cached !== undefined) return cached
  const header = readHeader(text)
  if (headerCache.size >= 2048) headerCache.clear()
  headerCache.set(text, header)
  return header
}

const readHeader = (text: string): ParsedHeader => {
  const colon = text.length
  const [qualified = "", ...params] = splitOutsideQuotes(text, ";")
  const dot = qualified.lastIndexOf(".")
  const name = qualified.slice(dot + 1).trim()
  const group = dot === -1 ? undefined : qualified.slice(0, dot).trim()
  if (!propertyName.test(name)) return "no name"
  const types: Array<string> = []
  let pref = notPreferred
  let encoding: string | undefined
  let charset: string | undefined
  let omitYear: string | undefined
  for (const param of params) {
    const eq = param.indexOf("=")
    const key = eq === -1 ? "" : param.slice(0, eq).trim().toLowerCase()
    const value = (eq === -1 ? param : param.slice(eq + 1)).trim().replace(/"/g, "")
    if (value === "") continue
    if (key === "") {
      // 2.1: a value without its parameter name, a type or an encoding.
      const lower = value.toLowerCase()
      if (encodings.has(lower)) encoding = lower
      else types.push(lower)
    } else if (key === "type") {
      for (const t of value.split(",")) if (t.trim() !== "") types.push(t.trim().toLowerCase())
    } else if (key === "encoding") encoding = value.toLowerCase()
    else if (key === "charset") charset = value
    else if (key === "pref") pref = Math.min(pref, Number.parseInt(value, 10) || 1)
    else if (key === "x-apple-omit-year") omitYear = value
  }
  if (types.includes("pref")) pref = Math.min(pref, 1)
  return { group: group === "" ? undefined : group, name: name.toUpperCase(), types, pref, encoding, charset, omitYear, colon }
}

const isBase64 = (header: ParsedHeader): boolean =>
  typeof header !== "string" && (header.encoding === "base64" || header.encoding === "b")

/** One property kept from a card: its decoded text, still with its vCard escapes. */
interface Property {
  readonly group: string | undefined
  readonly name: string
  readonly types: ReadonlyArray<string>
  readonly pref: number
  readonly omitYear: string | undefined
  readonly text: string
}

/** A property being unfolded, from its first physical line. */
interface Logical {
  readonly line: number
  /** Its kept text, line by line (joined when it is complete). */
  parts: Array<Octets>
  size: number
  header: ParsedHeader
  /** Whether its value is kept (a property Rapport uses, or one whose header is not read yet). */
  keep: boolean
  cut: boolean
  /** Quoted-printable whose last physical line ended with `=`: the next line continues it. */
  softBreak: boolean
}

interface Card {
  readonly line: number
  version: string | undefined
  readonly properties: Array<Property>
  /** Apple's `itemN.X-ABLabel` by group (lower case). */
  readonly labels: Map<string, string>
  readonly problems: Array<string>
}

const preview = (line: Octets): string => {
  const text = decodeText(line.slice(0, 60), undefined, "windows-1252").trim()
  return line.length > 60 ? `${text}…` : text
}

const blank = /^[ \t\r]*$/

/** `BEGIN:VCARD` or `END:VCARD`: never swallowed by a quoted-printable soft line break. */
const delimiter = /^[ \t]*(BEGIN|END):VCARD[ \t\r]*$/i

const base64Line = /^[A-Za-z0-9+/=\s]+$/

// ---------------------------------------------------------------------------------------------
// Values of a card
// ---------------------------------------------------------------------------------------------

/** The character an escape stands for: `\n` `\,` `\;` `\:` `\\` in 3.0/4.0; `\;` `\,` in 2.1. */
const escaped = (c: string, v21: boolean): string =>
  c === ";" || c === "," ? c : v21 ? `\\${c}` : c === "n" || c === "N" ? "\n" : c === "\\" || c === ":" ? c : `\\${c}`

/** A text value without its escapes (no splitting). */
const unescape = (text: string, v21: boolean): string =>
  text.indexOf("\\") === -1 ? text : text.replace(/\\([\s\S])/g, (_, c: string) => escaped(c, v21))

/**
 * Splits a value into components at unescaped `;`, each into a list at unescaped `,` (3.0 and
 * 4.0 only: 2.1 has no lists), and removes the escapes.
 */
const structured = (text: string, v21: boolean): Array<Array<string>> => {
  const components: Array<Array<string>> = []
  let items: Array<string> = []
  let current = ""
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "\\" && i + 1 < text.length) {
      current += text.slice(start, i) + escaped(text[i + 1]!, v21)
      start = ++i + 1
    } else if (c === ";" || (c === "," && !v21)) {
      items.push(current + text.slice(start, i))
      current = ""
      start = i + 1
      if (c === ";") {
        components.push(items)
        items = []
      }
    }
  }
  items.push(current + text.slice(start))
  components.push(items)
  return components
}

const clean = (text: string | undefined): string | null => {
  if (text === undefined) return null
  const trimmed = (text.indexOf("\r") === -1 ? text : text.replace(/\r\n?/g, "\n")).trim()
  return trimmed === "" ? null : trimmed
}

const component = (components: Array<Array<string>>, i: number): string | null => {
  const items = components[i]
  if (items === undefined) return null
  return clean(items.length === 1 ? items[0] : items.map((s) => s.trim()).filter((s) => s !== "").join(", "))
}

/** Apple's `X-ABLabel` names of the standard labels, as types. */
const appleLabels: Record<string, ReadonlyArray<string>> = {
  "_$!<mobile>!$_": ["cell"],
  "iphone": ["cell"],
  "_$!<home>!$_": ["home"],
  "_$!<work>!$_": ["work"],
  "_$!<main>!$_": ["main"],
  "_$!<homefax>!$_": ["home", "fax"],
  "_$!<workfax>!$_": ["work", "fax"],
  "_$!<otherfax>!$_": ["fax"],
  "_$!<pager>!$_": ["pager"],
  "_$!<other>!$_": ["other"]
}

const typesOf = (property: Property, card: Card): ReadonlyArray<string> => {
  const label = property.group === undefined ? undefined : card.labels.get(property.group.toLowerCase())
  const extra = label === undefined ? [] : appleLabels[label.trim().toLowerCase()] ?? []
  return [...property.types, ...extra].map((t) => (t === "mobile" || t === "iphone" ? "cell" : t))
}

/** `19850412`, `1985-04-12`, `1985-04-12T…` → `1985-04-12`; `--0412`, `--04-12` → `--04-12`. */
const birthday = (text: string, omitYear: string | undefined): string | null => {
  const value = clean(text)
  if (value === null) return null
  const full = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?$/.exec(value)
  const partial = /^--(\d{2})-?(\d{2})$/.exec(value)
  const [year, month, day] = full !== null ? [full[1]!, full[2]!, full[3]!] : partial !== null ? [undefined, partial[1]!, partial[2]!] : []
  if (month === undefined || day === undefined) return value
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > 31) return value
  // Apple writes a birthday without a year as 1604-MM-DD with X-APPLE-OMIT-YEAR=1604.
  return year === undefined || year === "0000" || year === omitYear ? `--${month}-${day}` : `${year}-${month}-${day}`
}

/** Stable: by `rank`, then preference, then file order. */
const byPreference = <A extends { readonly pref: number }>(items: ReadonlyArray<A>, rank: (a: A) => number = () => 0): Array<A> =>
  items.length < 2
    ? [...items]
    : items
      .map((item, order) => ({ item, order }))
      .sort((a, b) => rank(a.item) - rank(b.item) || a.item.pref - b.item.pref || a.order - b.order)
      .map(({ item }) => item)

const distinct = (values: ReadonlyArray<string | null>): Array<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const value of values) {
    if (value === null || seen.has(value.toLowerCase())) continue
    seen.add(value.toLowerCase())
    out.push(value)
  }
  return out
}

const phone = (text: string): string | null => clean(text.replace(/^tel:/i, "").replace(/;ext=/i, " ext. "))

const faxLike = (t: { readonly types: ReadonlyArray<string> }) => (t.types.includes("fax") || t.types.includes("pager") ? 1 : 0)

const none: ReadonlyArray<Property> = []

/** The record of a card: every key of {@link keys}, then `EMAIL 4`, `TEL 4`… when there are. */
const toRecord = (card: Card): SourceRecord => {
  const problems = [...card.problems]
  const version = card.version
  if (version !== undefined && !versions.has(version)) {
    problems.unshift(`unknown VERSION "${version}" (2.1, 3.0 and 4.0 are read)`)
  }
  const v21 = version === "2.1"
  const byName = new Map<string, Array<Property>>()
  for (const p of card.properties) {
    const list = byName.get(p.name)
    if (list === undefined) byName.set(p.name, [p])
    else list.push(p)
  }
  const all = (name: string) => byName.get(name) ?? none
  const first = (name: string) => byPreference(all(name))[0]
  const text = (p: Property | undefined) => (p === undefined ? null : clean(unescape(p.text, v21)))

  const n = all("N")[0]
  const name = n === undefined ? [] : structured(n.text, v21)
  const org = first("ORG")
  const company = org === undefined ? [] : structured(org.text, v21)
  const typedEmails = byPreference(all("EMAIL")).map((p) => ({ types: typesOf(p, card), value: clean(unescape(p.text, v21).replace(/^mailto:/i, "")) }))
  const emails = distinct(typedEmails.map((e) => e.value))
  const tels = all("TEL").map((p) => ({ pref: p.pref, types: typesOf(p, card), value: phone(unescape(p.text, v21)) }))
  const ranked = byPreference(tels, faxLike)
  const numbers = distinct(ranked.map((t) => t.value))
  const voice = (t: { readonly types: ReadonlyArray<string> }) => !t.types.includes("cell") && faxLike(t) === 0
  const adr = first("ADR")
  // post-office box; extended address; street; locality; region; postal code; country
  const address = adr === undefined ? [] : structured(adr.text, v21)
  const bday = all("BDAY")[0]

  // one literal, in the order of `keys`
  const values: Record<string, Cell> = {
    "N.family": component(name, 0),
    "N.given": component(name, 1),
    "N.additional": component(name, 2),
    "N.prefix": component(name, 3),
    "N.suffix": component(name, 4),
    "FN": text(all("FN")[0]),
    "ORG": component(company, 0),
    "ORG.unit": clean(company.slice(1).map((_, i) => component(company, i + 1)).filter((s) => s !== null).join(", ")),
    "TITLE": text(first("TITLE")),
    "EMAIL": emails[0] ?? null,
    "EMAIL 2": emails[1] ?? null,
    "EMAIL 3": emails[2] ?? null,
    "EMAIL.work": typedEmails.find((e) => e.value !== null && e.types.includes("work"))?.value ?? null,
    "EMAIL.home": typedEmails.find((e) => e.value !== null && e.types.includes("home"))?.value ?? null,
    "TEL": numbers[0] ?? null,
    "TEL 2": numbers[1] ?? null,
    "TEL 3": numbers[2] ?? null,
    "TEL.cell": ranked.find((t) => t.value !== null && t.types.includes("cell"))?.value ?? null,
    "TEL.work": ranked.find((t) => t.value !== null && t.types.includes("work") && voice(t))?.value ?? null,
    "TEL.home": ranked.find((t) => t.value !== null && t.types.includes("home") && voice(t))?.value ?? null,
    "TEL.fax": ranked.find((t) => t.value !== null && t.types.includes("fax"))?.value ?? null,
    "ADR.street": clean([component(address, 2), component(address, 1), component(address, 0)].filter((s) => s !== null).join("\n")),
    "ADR.city": component(address, 3),
    "ADR.region": component(address, 4),
    "ADR.postcode": component(address, 5),
    "ADR.country": component(address, 6),
    "URL": text(first("URL")),
    "NOTE": clean(all("NOTE").map(text).filter((s) => s !== null).join("\n")),
    "BDAY": bday === undefined ? null : birthday(unescape(bday.text, v21), bday.omitYear),
    "NICKNAME": clean(distinct(all("NICKNAME").flatMap((p) => structured(p.text, v21).flat().map((s) => clean(s)))).join(", ")),
    "CATEGORIES": clean(distinct(all("CATEGORIES").flatMap((p) => structured(p.text, v21).flat().map((s) => clean(s)))).join(", "))
  }
  for (let i = 3; i < emails.length; i++) values[`EMAIL ${i + 1}`] = emails[i]!
  for (let i = 3; i < numbers.length; i++) values[`TEL ${i + 1}`] = numbers[i]!

  return problems.length === 0 ? { line: card.line, values } : { line: card.line, values, problem: problems.join("; ") }
}

// ---------------------------------------------------------------------------------------------
// The incremental reader
// ---------------------------------------------------------------------------------------------

/**
 * Turns byte chunks into records: physical lines (at most {@link physicalLimit} bytes kept of
 * each), unfolded into properties (a skipped property's continuation lines are dropped as they
 * come), grouped into cards. Holds one line, one card's kept values, and the records of a chunk.
 */
class Reader {
  /** Records produced so far. */
  count = 0
  private out: Array<SourceRecord> = []
  private card: Card | undefined
  private current: Logical | undefined
  /** After a BASE64 value: 2.1 writers put its lines without a leading space, up to a blank line. */
  private base64Tail = false
  /** UTF-16 and UTF-32 files are read as UTF-8. */
  private readonly transcoder: iconv.DecoderStream | undefined
  /** How a value without a CHARSET that is not UTF-8 is decoded. */
  private readonly fallback: string
  // the physical line being read
  private pending: Octets = ""
  private cut = false
  private last = -1
  private lineNumber = 0

  constructor(encoding: string) {
    this.transcoder = isWide(encoding) ? iconv.getDecoder(encoding) : undefined
    this.fallback = isWide(encoding) || encoding === "utf-8" || !iconv.encodingExists(encoding) ? "windows-1252" : encoding
  }

  push(chunk: Uint8Array): Array<SourceRecord> {
    this.split(this.transcoder === undefined ? octets(chunk) : this.wide(this.transcoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))))
    return this.take()
  }

  end(): Array<SourceRecord> {
    const rest = this.transcoder?.end()
    if (rest !== undefined && rest !== "") this.split(this.wide(rest))
    if (this.pending !== "" || this.cut) this.flushLine()
    this.finish()
    if (this.card !== undefined) {
      this.card.problems.push("no END:VCARD before the end of the file")
      this.emit()
    }
    return this.take()
  }

  /** Text decoded from UTF-16/32, as the octets of its UTF-8. */
  private wide(text: string): Octets {
    return Buffer.from(text, "utf8").toString("latin1")
  }

  private take(): Array<SourceRecord> {
    const out = this.out
    this.out = []
    return out
  }

  private split(text: Octets): void {
    let start = 0
    while (start < text.length) {
      const nl = text.indexOf("\n", start)
      const end = nl === -1 ? text.length : nl
      if (end > start) this.append(text, start, end)
      if (nl === -1) return
      this.flushLine()
      start = nl + 1
    }
  }

  private append(text: Octets, start: number, end: number): void {
    for (let i = end - 1; i >= start; i--) {
      const c = text.charCodeAt(i)
      if (c !== SPACE && c !== TAB && c !== CR) {
        this.last = c
        break
      }
    }
    const room = physicalLimit - this.pending.length
    if (end - start > room) this.cut = true
    if (room > 0) this.pending += text.slice(start, Math.min(end, start + room))
  }

  private flushLine(): void {
    let line = this.pending
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1)
    const { cut, last } = this
    this.pending = ""
    this.cut = false
    this.last = -1
    this.lineNumber++
    if (this.lineNumber === 1 && line.startsWith("\xEF\xBB\xBF")) line = line.slice(3)
    this.physical(line, this.lineNumber, cut, last)
  }

  /** One physical line: continues the current property, or ends it and starts the next. */
  private physical(line: Octets, number: number, cut: boolean, last: number): void {
    const current = this.current
    if (current !== undefined && current.softBreak) {
      if (!delimiter.test(line)) return this.extend(current, line, cut, last, true)
    } else if (line.charCodeAt(0) === SPACE || line.charCodeAt(0) === TAB) {
      if (current !== undefined) this.extend(current, line.slice(1), cut, last, false)
      return
    } else if (this.base64Tail && current !== undefined && line.indexOf(":") === -1 && !blank.test(line) && base64Line.test(line)) {
      return this.extend(current, line, cut, last, false)
    }
    this.finish()
    this.base64Tail = false
    if (blank.test(line)) return
    const next: Logical = { line: number, parts: [], size: 0, header: parseHeader(line), keep: true, cut: false, softBreak: false }
    this.current = next
    this.extend(next, line, cut, last, false)
  }

  private extend(logical: Logical, text: Octets, cut: boolean, last: number, afterSoftBreak: boolean): void {
    if (logical.keep) {
      if (afterSoftBreak) {
        // drop the `=` (and any blanks after it) that ended the previous line
        const previous = logical.parts.pop() ?? ""
        const trimmed = previous.replace(/=[ \t]*$/, "")
        logical.size -= previous.length - trimmed.length
        logical.parts.push(trimmed)
      }
      const room = valueLimit - logical.size
      if (text.length > room || cut) logical.cut = true
      const kept = text.length > room ? text.slice(0, Math.max(room, 0)) : text
      logical.parts.push(kept)
      logical.size += kept.length
      if (typeof logical.header === "string" && logical.parts.length > 1) {
        // a header folded over several lines: read it again with this line
        logical.header = parseHeader(logical.parts.join(""))
      }
      if (typeof logical.header !== "string" && !used.has(logical.header.name)) {
        logical.keep = false
        logical.parts = []
        logical.size = 0
      }
    }
    const header = logical.header
    if (typeof header !== "string") logical.softBreak = header.encoding === "quoted-printable" && last === EQUALS
    if (isBase64(header)) this.base64Tail = true
  }

  /** The current property is complete: into the card (or it opens or closes one). */
  private finish(): void {
    const logical = this.current
    if (logical === undefined) return
    this.current = undefined
    const header = logical.header
    const card = this.card
    if (typeof header === "string") {
      if (card !== undefined) {
        const text = preview(logical.parts.join(""))
        card.problems.push(
          header === "no colon"
            ? `line ${logical.line} has no colon ("${text}"): a property line reads NAME:value`
            : `line ${logical.line} is not a property line ("${text}")`
        )
      }
      return
    }
    if (!logical.keep) return
    let raw = logical.parts.join("").slice(header.colon + 1)
    if (header.name === "BEGIN" && raw.trim().toUpperCase() === "VCARD") {
      if (card !== undefined) {
        card.problems.push(`no END:VCARD before the BEGIN:VCARD of line ${logical.line}`)
        this.emit()
      }
      this.card = { line: logical.line, version: undefined, properties: [], labels: new Map(), problems: [] }
      return
    }
    if (card === undefined) return
    if (header.name === "END") {
      if (raw.trim().toUpperCase() === "VCARD") this.emit()
      return
    }
    if (header.encoding === "quoted-printable") {
      if (logical.softBreak) {
        // a soft line break that nothing continues: reported once, not as a broken sequence too
        raw = raw.replace(/=[ \t]*$/, "")
        card.problems.push(`line ${logical.line}: the quoted-printable ${header.name} ends with a soft line break ("=") and nothing follows`)
      }
      const decoded = decodeQuotedPrintable(raw)
      raw = decoded.value
      if (decoded.broken.length > 0) {
        card.problems.push(`line ${logical.line}: broken quoted-printable ${decoded.broken.map((s) => `"${s}"`).join(", ")} in ${header.name}`)
      }
    } else if (isBase64(header)) {
      raw = Buffer.from(raw.replace(/\s+/g, ""), "base64").toString("latin1")
    }
    if (logical.cut) card.problems.push(`line ${logical.line}: ${header.name} is longer than ${valueLimit / 1024 / 1024} MiB and was cut`)
    // In a UTF-16 file the bytes are already UTF-8 text; a charset applies to encoded values only.
    const encoded = header.encoding === "quoted-printable" || isBase64(header)
    const text = decodeText(raw, this.transcoder !== undefined && !encoded ? "utf-8" : header.charset, this.fallback)
    if (header.name === "VERSION") card.version ??= text.trim()
    else if (header.name === "X-ABLABEL") {
      if (header.group !== undefined) card.labels.set(header.group.toLowerCase(), text)
    } else {
      card.properties.push({ group: header.group, name: header.name, types: header.types, pref: header.pref, omitYear: header.omitYear, text })
    }
  }

  private emit(): void {
    if (this.card === undefined) return
    this.out.push(toRecord(this.card))
    this.count++
    this.card = undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Opening a file
// ---------------------------------------------------------------------------------------------

const beginLine = /(?:^|\n)(?:\uFEFF|\u00EF\u00BB\u00BF)?BEGIN:VCARD[ \t]*(?:\r?\n|\r?$)/i

/** Binary data: zero bytes, or many control characters, where text was expected. */
const looksBinary = (sample: Uint8Array): boolean => {
  let control = 0
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i]!
    if (b === 0) return true
    if (b < 32 && b !== TAB && b !== LF && b !== CR && b !== 12) control++
  }
  return control > sample.length / 100
}

/**
 * Opens a vCard file: reads it up to its first card (and at least its first 64 KiB) to tell its
 * encoding, then reads its cards as the records are consumed. Each card gives one record, keyed
 * by {@link keys}, whose `line` is the line of its `BEGIN:VCARD`.
 *
 * - Encodings: `details.encoding` is the file's, as `Encoding.detect` tells it (a byte order
 *   mark, UTF-16 by its zero bytes, valid UTF-8, else chardet's guess or windows-1252): `utf-8`,
 *   `utf-16le`, `windows-1252`… In an 8-bit file, a value with a `CHARSET=` parameter
 *   (`ISO-8859-1`, `UTF-8`, `Windows-1252`…) is decoded with it by iconv-lite; one without is
 *   UTF-8 when its bytes are valid UTF-8, else in the file's 8-bit encoding (windows-1252 when
 *   the file looked like UTF-8), so a file that mixes both reads right.
 * - Lines end in CRLF or LF; folded lines (a line starting with a space or tab), 2.1's
 *   quoted-printable soft line breaks, property groups, parameters in both styles
 *   (`TYPE=CELL,VOICE`, `;CELL;VOICE`) and 3.0/4.0 escapes are read. The values of properties
 *   that give no key (PHOTO, LOGO, KEY, X-…) are skipped as they are read, so a huge photo costs
 *   no memory; of one physical line, at most 256 KiB is kept, and of a value, 1 MiB (a longer
 *   value is cut and reported).
 * - A malformed card (no `END:VCARD` before the next `BEGIN:VCARD` or the end of the file, a line
 *   without a colon or property name, broken quoted-printable, an unknown `VERSION`) gives a
 *   record with a `problem` and the values that could be read; the next card is read as usual.
 *   Text outside cards is ignored.
 * - Fails with `ImportError`: `empty` when the file holds no card; `unreadable` when it holds
 *   binary data, has no `BEGIN:VCARD` in its first MiB, or cannot be read.
 *
 * The records can be read once (the bytes are a stream), and should be read to their end or
 * interrupted: that is when the input is closed (at once for a file read whole at opening).
 *
 * @since 0.3.0
 * @category constructors
 */
export const open: (bytes: Source.Bytes) => Effect.Effect<Opened, ImportError> = Effect.fn("VCard.open")(function*(bytes: Source.Bytes) {
  const what = bytes.name === undefined ? "The file" : `"${bytes.name}"`
  // The records go on reading the input after `open` returns: its pull lives in a scope of its
  // own, closed when the records end (or fail, or are interrupted), or here when all is read.
  const scope = yield* Scope.make()
  const pull = yield* Scope.extend(Stream.toPull(bytes.stream), scope)

  const sampled = yield* Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let size = 0
    let checked = 0
    let ended = false
    let found = false
    let encoding = "utf-8"
    let sample: Buffer = Buffer.alloc(0)
    while (!ended && !(found && size >= sampleMin) && size < sampleMax) {
      const next = yield* Effect.catchAll(Effect.asSome(pull), (end) => (Option.isNone(end) ? Effect.succeedNone : Effect.fail(end.value)))
      if (Option.isNone(next)) ended = true
      else {
        for (const chunk of next.value) {
          chunks.push(chunk)
          size += chunk.byteLength
        }
      }
      // looked at again every 4 KiB: an input in tiny chunks is not concatenated at each one
      if (ended || size - checked >= 4096 || size >= sampleMax) {
        checked = size
        sample = Buffer.concat(chunks, Math.min(size, sampleMax))
        encoding = Encoding.detect(sample)
        found = beginLine.test(isWide(encoding) ? iconv.decode(sample, encoding) : octets(sample))
      }
    }
    return { chunks, ended, found, encoding, sample }
  }).pipe(Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)))

  const { chunks, ended, encoding, found, sample } = sampled
  if (ended || !found) yield* Scope.close(scope, Exit.void)
  if (!found) {
    if (!isWide(encoding) && looksBinary(sample)) {
      return yield* new ImportError({ reason: "unreadable", message: `${what} is not a vCard file: it holds binary data` })
    }
    if (!ended) {
      return yield* new ImportError({ reason: "unreadable", message: `${what} is not a vCard file: there is no BEGIN:VCARD in its first MiB` })
    }
    return yield* new ImportError({
      reason: "empty",
      message: /^\s*$/.test(octets(sample)) ? `${what} is empty` : `${what} holds no vCard (no BEGIN:VCARD line)`
    })
  }

  let consumed = false
  const records: Stream.Stream<SourceRecord, ImportError> = Stream.suspend(() => {
    if (consumed) {
      return Stream.fail(new ImportError({ reason: "unreadable", message: `${what} was already read: its cards can be read only once` }))
    }
    consumed = true
    const reader = new Reader(encoding)
    const rest: Stream.Stream<Uint8Array, ImportError> = ended ? Stream.empty : Stream.repeatEffectChunkOption(pull)
    return Stream.fromIterable(chunks).pipe(
      Stream.concat(rest),
      Stream.mapConcat((chunk) => reader.push(chunk)),
      Stream.concat(
        Stream.suspend(() => {
          const last = reader.end()
          return reader.count === 0
            ? Stream.fail(new ImportError({ reason: "empty", message: `${what} holds no vCard (no BEGIN:VCARD line)` }))
            : Stream.fromIterable(last)
        })
      ),
      Stream.ensuring(Scope.close(scope, Exit.void))
    )
  })

  return { format: "vcard", headers: keys, details: { encoding }, records } satisfies Opened
})
