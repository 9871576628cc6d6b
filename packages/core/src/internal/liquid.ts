// The template engine: LiquidJS, configured so that a template written by a shop can neither
// reach the file system nor run for ever, and so that no value it prints can add HTML or a mail
// header. `domain/Template.ts` is its public face; this module holds the machinery.
//
// - Two Liquid instances share the filters: one escapes every printed value for HTML (`html`
//   bodies), the other prints values as text (`text` bodies, subjects, task titles and notes).
// - No file system: `include`, `render`, `layout`, `block` are not registered, and the instance's
//   file system answers nothing; `echo`, `liquid`, `cycle`, `tablerow`, `increment`, `decrement` are
//   not offered either (the first two print without the HTML context seen below).
// - Bounded: the source length (`parseLimit`), the time one render may take (`renderLimit`) and
//   what string and range filters may allocate (`memoryLimit`) are capped; so is the output.
// - Before parsing, an `html` body is read as a browser would (Liquid tags count for nothing),
//   far enough to know where each `{{ … }}` prints: in text, in a quoted attribute, in an unquoted
//   one or inside a tag (where spaces and `=` are escaped too), or in an attribute holding a URL,
//   whose whole value is then captured and kept only if it is an http, https, mailto or relative
//   URL. The rewriting adds no line, so Liquid's line numbers stay the author's.
// - The placeholders of earlier versions (`{{ contact.firstName | "there" }}`) are read as the
//   `rapport_fallback` filter, with their old meaning: the fallback replaces a value that is
//   missing, null, not a finite number, an object or a list.
import { analyzeSync, Liquid, type Template as LiquidTemplate, type TagToken, type Token, Tokenizer, TokenKind } from "liquidjs"

/** A problem in a template source, with its 1-based line when known. */
export interface SourceIssue {
  readonly message: string
  readonly line: number | undefined
}

const PARSE_LIMIT = 2_000_000
/** Milliseconds one render of one part may take. */
export const RENDER_LIMIT_MS = 1_000
const MEMORY_LIMIT = 10_000_000
/** Characters one rendered part may hold. */
export const OUTPUT_LIMIT = 2_000_000

// --- values as text

/** What a printed value shows: strings, finite numbers and booleans; nothing for the rest. */
export const toText = (value: unknown): string =>
  typeof value === "string" ? value : (typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean" ? String(value) : ""

const hasText = (value: unknown): boolean =>
  typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Escapes `& < > " '` so that a value is text in HTML, in content and in quoted attributes alike. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c)

// Besides escapeHtml's five: what ends or splits an unquoted attribute value, or an attribute name.
const UNQUOTED: Readonly<Record<string, string>> = { " ": "&#32;", "\t": "&#9;", "\n": "&#10;", "\f": "&#12;", "\r": "&#13;", "=": "&#61;", "`": "&#96;" }
const escapeUnquoted = (s: string): string => escapeHtml(s).replace(/[ \t\n\f\r=`]/g, (c) => UNQUOTED[c] ?? c)

// --- URLs

/** What a URL attribute holds when data would have given it another scheme than http, https or mailto. */
export const blockedUrl = "about:invalid#unsafe-url"

const SAFE_SCHEMES = new Set(["http", "https", "mailto"])

// Named character references that can change how a URL's scheme is read (every ASCII letter has
// none), and the ones a template commonly writes. Others stay as written, which reads them as
// characters no scheme may contain: the URL is then refused or relative, never unsafe.
const NAMED: Readonly<Record<string, string>> = {
  amp: "&", AMP: "&", lt: "<", LT: "<", gt: ">", GT: ">", quot: '"', QUOT: '"', apos: "'",
  colon: ":", sol: "/", quest: "?", num: "#", Tab: "\t", NewLine: "\n", nbsp: "\u00a0", period: ".", plus: "+", hyphen: "\u2010"
}

const codePoint = (n: number): string => (n === 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? "\ufffd" : String.fromCodePoint(n))

/** The text an HTML attribute value holds once the browser has read its character references. */
const decodeEntities = (s: string): string =>
  s.replace(/&(?:#[xX]([0-9a-fA-F]{1,8});?|#([0-9]{1,10});?|([A-Za-z][A-Za-z0-9]*);)/g, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
    hex !== undefined ? codePoint(parseInt(hex, 16)) : dec !== undefined ? codePoint(parseInt(dec, 10)) : (NAMED[name ?? ""] ?? whole)
  )

// As a browser reads a URL: leading and trailing C0 controls and spaces are dropped, tabs and line
// breaks anywhere are ignored. The scheme is what comes before a ":" that precedes any "/?#".
const schemeOf = (url: string): string | undefined => {
  const read = url.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "")
  const match = /^([^:/?#]*):/.exec(read)
  return match === null ? undefined : match[1]!.toLowerCase()
}

/** Whether a URL may stand in a link built from data: http, https, mailto, or relative. */
export const isSafeUrl = (url: string): boolean => {
  const scheme = schemeOf(url)
  return scheme === undefined || SAFE_SCHEMES.has(scheme)
}

// Once the template's own text in a URL attribute reaches one of these, the scheme is written by
// the template's author (`https://…`, `tel:`, `/path`, `#anchor`): values after it cannot change it.
const settlesScheme = (authored: string): boolean => /[:/?#]/.test(authored.replace(/[\u0000-\u0020\u007f-\u009f]/g, ""))

// --- money and dates, in the recipient's locale and timezone

/** Where a render finds the recipient's locale and timezone: symbol keys no template can name. */
export const LOCALE = Symbol.for("@rapport/core/Template/locale")
export const TIMEZONE = Symbol.for("@rapport/core/Template/timezone")

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null && !Array.isArray(value)

const digitsCache = new Map<string, number>()
const minorDigits = (currency: string): number | undefined => {
  const cached = digitsCache.get(currency)
  if (cached !== undefined) return cached
  try {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2
    if (digitsCache.size < 1_000) digitsCache.set(currency, digits)
    return digits
  } catch {
    return undefined
  }
}

// Exact: the amount goes to Intl as a decimal string, never through a float division.
const decimal = (minor: number, digits: number): string => {
  const sign = minor < 0 ? "-" : ""
  const units = String(Math.abs(minor)).padStart(digits + 1, "0")
  return digits === 0 ? `${sign}${units}` : `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}`
}

const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()
const cachedFormat = <F extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => F): F | undefined => {
  const found = formatters.get(key)
  if (found !== undefined) return found as F
  try {
    const made = make()
    if (formatters.size >= 2_000) formatters.clear()
    formatters.set(key, made)
    return made
  } catch {
    return undefined
  }
}

/**
 * `{{ money | money }}`: Money (`{ amountMinor, currency }`) in the recipient's locale; a whole
 * number of minor units with a currency argument (`{{ deal.amountMinor | money: deal.currency }}`)
 * too. Anything else prints nothing.
 */
export const formatMoney = (value: unknown, currencyArg: unknown, locale: string): string => {
  const amount = isRecord(value) ? value["amountMinor"] : value
  const currency = isRecord(value) ? value["currency"] : currencyArg
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) return ""
  const digits = minorDigits(currency)
  if (digits === undefined) return ""
  const format = cachedFormat(`n\u0000${locale}\u0000${currency}`, () => new Intl.NumberFormat(locale, { style: "currency", currency }))
  // Intl reads a decimal string exactly (it is typed as a number only in older lib files).
  return format === undefined ? "" : format.format(decimal(amount, digits) as unknown as number)
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/
const STYLES = new Set(["short", "medium", "long", "full"])

/**
 * `{{ instant | date }}`: an ISO instant in the recipient's timezone and locale (`long` date by
 * default; `short`, `medium`, `long`, `full`, `time` or `datetime`), or a date-only value
 * (`2026-12-31`) as that calendar date. Anything else prints nothing.
 */
export const formatDate = (value: unknown, style: unknown, locale: string, timezone: string): string => {
  const text = typeof value === "string" ? value.trim() : typeof value === "number" && Number.isFinite(value) ? value : undefined
  if (text === undefined || text === "") return ""
  const dateOnly = typeof text === "string" ? DATE_ONLY.exec(text) : null
  const ms = dateOnly !== null ? Date.UTC(Number(dateOnly[1]), Number(dateOnly[2]) - 1, Number(dateOnly[3])) : typeof text === "number" ? text : Date.parse(text)
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return ""
  const kind = typeof style === "string" ? style : "long"
  const zone = dateOnly !== null ? "UTC" : timezone
  const options: Intl.DateTimeFormatOptions =
    kind === "time"
      ? { timeStyle: "short", timeZone: zone }
      : kind === "datetime"
        ? { dateStyle: "long", timeStyle: "short", timeZone: zone }
        : { dateStyle: STYLES.has(kind) ? (kind as "short") : "long", timeZone: zone }
  const format = cachedFormat(`d\u0000${locale}\u0000${zone}\u0000${kind}`, () => new Intl.DateTimeFormat(locale, options))
  return format === undefined ? "" : format.format(ms)
}

// --- the Liquid instances

const TAGS_OFFERED = new Set(["assign", "capture", "case", "comment", "if", "unless", "for", "break", "continue", "raw", "#"])
const TAGS_CLOSING = new Set(["else", "elsif", "when", "endif", "endunless", "endfor", "endcase", "endcapture", "endcomment", "endraw"])
const FILTERS_WITHHELD = ["raw", "date"] // `raw` would print a value unescaped; `date` is ours (below)

const noFiles = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => Promise.reject(new Error("templates cannot read files")),
  readFileSync: () => {
    throw new Error("templates cannot read files")
  },
  resolve: (_root: string, file: string) => file,
  contains: async () => false,
  containsSync: () => false,
  dirname: () => "",
  sep: "/"
}

interface FilterThis {
  readonly context: { readonly environments: unknown }
}

const localeOf = (self: FilterThis): string => {
  const env = self.context.environments as { [LOCALE]?: unknown }
  return typeof env[LOCALE] === "string" ? env[LOCALE] : "en"
}
const timezoneOf = (self: FilterThis): string => {
  const env = self.context.environments as { [TIMEZONE]?: unknown }
  return typeof env[TIMEZONE] === "string" ? env[TIMEZONE] : "UTC"
}

const makeLiquid = (outputEscape: (value: unknown) => string): Liquid => {
  const liquid = new Liquid({
    fs: noFiles,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    dynamicPartials: false,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    jsTruthy: false,
    outputEscape,
    parseLimit: PARSE_LIMIT,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT,
    locale: "en",
    cache: false
  })
  for (const name of Object.keys(liquid.tags)) if (!TAGS_OFFERED.has(name)) delete liquid.tags[name]
  for (const name of FILTERS_WITHHELD) delete liquid.filters[name]
  liquid.registerFilter("rapport_fallback", (value: unknown, fallback: unknown) => (hasText(value) ? value : toText(fallback)))
  liquid.registerFilter("rapport_attr", { handler: (value: unknown) => escapeUnquoted(toText(value)), raw: true })
  // The captured value of a URL attribute, already escaped: kept whole if it is a safe URL.
  liquid.registerFilter("rapport_url", {
    handler: (captured: unknown, list: unknown) => {
      const escaped = toText(captured)
      const url = decodeEntities(escaped)
      const safe = list === true ? url.split(/[\s,]+/).every(isSafeUrl) : isSafeUrl(url)
      return safe ? escaped : blockedUrl
    },
    raw: true
  })
  liquid.registerFilter("money", function (this: FilterThis, value: unknown, currency: unknown) {
    return formatMoney(value, currency, localeOf(this))
  })
  liquid.registerFilter("date", function (this: FilterThis, value: unknown, style: unknown) {
    return formatDate(value, style, localeOf(this), timezoneOf(this))
  })
  return liquid
}

const htmlLiquid = makeLiquid((value) => escapeHtml(toText(value)))
const textLiquid = makeLiquid(toText)

/** The filters a template may use: Liquid's own (but `raw`) and Rapport's `money` and `date`. */
export const filterNames: ReadonlyArray<string> = Object.keys(textLiquid.filters).filter((name) => !name.startsWith("rapport_")).sort()

/** The tags a template may use. */
export const tagNames: ReadonlyArray<string> = [...TAGS_OFFERED].sort()

// --- reading a source

type Piece =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Output"; readonly token: Token & { readonly content: string; readonly trimLeft: boolean; readonly trimRight: boolean } }
  | { readonly _tag: "Tag"; readonly token: TagToken }

const lineAt = (input: string, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset && i < input.length; i++) if (input.charCodeAt(i) === 10) line++
  return line
}

const SEGMENT = "[A-Za-z_][A-Za-z0-9_]*"
const LEGACY_FALLBACK = new RegExp(`^(${SEGMENT}(?:\\.${SEGMENT})*)\\s*\\|\\s*("(?:[^"\\\\]|\\\\["\\\\])*")$`, "s")
const RESERVED = /(?<![A-Za-z0-9_-])rapport_/

const tokenize = (source: string): { readonly pieces: ReadonlyArray<Piece> } | { readonly issue: SourceIssue } => {
  let tokens: Array<Token>
  try {
    tokens = new Tokenizer(source, textLiquid.options.operators).readTopLevelTokens(textLiquid.options)
  } catch (error) {
    return { issue: issueOf(error) }
  }
  const pieces: Array<Piece> = []
  for (const token of tokens) {
    if (token.kind === TokenKind.HTML) pieces.push({ _tag: "Text", text: source.slice(token.begin, token.end) })
    else if (token.kind === TokenKind.Output) {
      const output = token as Extract<Piece, { _tag: "Output" }>["token"]
      if (RESERVED.test(output.content)) return { issue: { message: `names starting with "rapport_" are reserved (line ${lineAt(source, token.begin)})`, line: lineAt(source, token.begin) } }
      pieces.push({ _tag: "Output", token: output })
    } else {
      const tag = token as TagToken
      const line = lineAt(source, token.begin)
      if (!TAGS_OFFERED.has(tag.name) && !TAGS_CLOSING.has(tag.name)) {
        const why = ["include", "render", "layout", "block"].includes(tag.name) ? "templates cannot read other files" : `the tags offered are ${tagNames.join(", ")}`
        return { issue: { message: `the tag {% ${tag.name} %} on line ${line} is not available: ${why}`, line } }
      }
      if (RESERVED.test(tag.content) && tag.name !== "raw" && tag.name !== "comment" && tag.name !== "#") {
        return { issue: { message: `names starting with "rapport_" are reserved (line ${line})`, line } }
      }
      pieces.push({ _tag: "Tag", token: tag })
    }
  }
  return { pieces }
}

/** The source of an output, its legacy fallback read as `rapport_fallback`, with a filter appended. */
const outputSource = (piece: Extract<Piece, { _tag: "Output" }>, filter: string | undefined): string => {
  const { token } = piece
  const legacy = LEGACY_FALLBACK.exec(token.content)
  const expression = legacy === null ? token.content : `${legacy[1]} | rapport_fallback: ${legacy[2]}`
  if (legacy === null && filter === undefined) return token.input.slice(token.begin, token.end)
  if (expression.trim() === "") return token.input.slice(token.begin, token.end)
  return `{{${token.trimLeft ? "-" : ""} ${expression}${filter === undefined ? "" : ` | ${filter}`} ${token.trimRight ? "-" : ""}}}`
}

const tagSource = (piece: Extract<Piece, { _tag: "Tag" }>): string => piece.token.input.slice(piece.token.begin, piece.token.end)

/** A text source: only the legacy fallbacks are rewritten. */
const rewriteText = (pieces: ReadonlyArray<Piece>): string =>
  pieces.map((p) => (p._tag === "Text" ? p.text : p._tag === "Tag" ? tagSource(p) : outputSource(p, undefined))).join("")

// --- HTML contexts

/** Attributes whose value is a URL, or (`srcset`, `ping`, `archive`) a list of URLs. */
const URL_ATTRIBUTES = new Set([
  "href", "src", "srcset", "action", "formaction", "cite", "background", "poster", "longdesc", "usemap",
  "codebase", "data", "icon", "manifest", "xlink:href", "lowsrc", "dynsrc", "ping", "archive", "classid", "profile"
])
const URL_LISTS = new Set(["srcset", "ping", "archive"])
// An attribute whose name an output writes may be any attribute: its value is checked as a URL.
const DYNAMIC_NAME = "*"
/** Elements whose content is not HTML: the parser looks only for their end tag. */
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"])

/**
 * Rewrites an `html` body so that each output is escaped for where it prints (see the module
 * header). Liquid tags are transparent: the HTML is read as if every branch were taken in turn.
 */
const rewriteHtml = (pieces: ReadonlyArray<Piece>): string => {
  type State = "text" | "tagName" | "tag" | "attrName" | "afterName" | "beforeValue" | "value" | "comment" | "raw"
  let out = ""
  let state = "text" as State
  const now = (): State => state
  let tagName = ""
  let closing = false
  let attrName = ""
  let quote = ""
  let rawEnd = ""
  let urls = 0
  let commentDepth = 0
  let url: { pieces: Array<Piece>; list: boolean } | undefined
  const put = (text: string) => {
    if (url === undefined) out += text
    else url.pieces.push({ _tag: "Text", text })
  }
  const endTag = () => {
    if (!closing && RAW_TEXT.has(tagName)) {
      state = "raw"
      rawEnd = `</${tagName}`
    } else state = "text"
  }
  const startValue = (q: string) => {
    state = "value"
    quote = q
    if (URL_ATTRIBUTES.has(attrName) || attrName.includes(DYNAMIC_NAME)) url = { pieces: [], list: URL_LISTS.has(attrName) || attrName.includes(DYNAMIC_NAME) }
  }
  const valueFilter = () => (quote === "" ? "rapport_attr" : undefined)
  const endValue = () => {
    if (url === undefined) return
    const region = url.pieces
    const filter = valueFilter()
    const written = region.map((p) => (p._tag === "Text" ? p.text : p._tag === "Tag" ? tagSource(p) : outputSource(p, filter))).join("")
    const firstMarkup = region.findIndex((p) => p._tag !== "Text")
    const authored = region.slice(0, firstMarkup === -1 ? region.length : firstMarkup).map((p) => (p._tag === "Text" ? p.text : "")).join("")
    if (!region.some((p) => p._tag === "Output") || (!url.list && settlesScheme(decodeEntities(authored)))) out += written
    else {
      const name = `rapport_url_${urls++}`
      out += `{% capture ${name} %}${written}{% endcapture %}{{ ${name} | rapport_url: ${url.list} }}`
    }
    url = undefined
  }
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\f" || c === "\r"
  for (const piece of pieces) {
    if (piece._tag === "Tag") {
      const name = piece.token.name
      if (name === "comment") commentDepth++
      else if (name === "endcomment" && commentDepth > 0) commentDepth--
      if (url !== undefined) url.pieces.push(piece)
      else out += tagSource(piece)
      continue
    }
    if (commentDepth > 0) {
      if (url !== undefined) url.pieces.push(piece)
      else out += piece._tag === "Text" ? piece.text : outputSource(piece, undefined)
      continue
    }
    if (piece._tag === "Output") {
      // An output right after `=` starts an unquoted value.
      if (now() === "beforeValue") startValue("")
      switch (now()) {
        case "value":
          if (url !== undefined) url.pieces.push(piece)
          else out += outputSource(piece, valueFilter())
          break
        case "text":
        case "comment":
        case "raw":
          out += outputSource(piece, undefined)
          break
        default:
          // Inside a tag, outside a value: a name written by data. Nothing it holds may end the tag
          // or add an attribute, and the value of an attribute it names is checked as a URL.
          out += outputSource(piece, "rapport_attr")
          if (state === "tagName") tagName += DYNAMIC_NAME
          else if (state === "attrName") attrName += DYNAMIC_NAME
          else {
            state = "attrName"
            attrName = DYNAMIC_NAME
          }
      }
      continue
    }
    const text = piece.text
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      switch (now()) {
        case "text":
          if (text.startsWith("<!--", i)) {
            put("<!--")
            i += 3
            state = "comment"
            continue
          }
          if (c === "<" && /^\/?[A-Za-z]/.test(text.slice(i + 1, i + 3))) {
            state = "tagName"
            tagName = ""
            closing = false
          }
          put(c)
          continue
        case "comment":
          if (text.startsWith("-->", i)) {
            put("-->")
            i += 2
            state = "text"
            continue
          }
          put(c)
          continue
        case "raw":
          if (text.slice(i, i + rawEnd.length).toLowerCase() === rawEnd) {
            put(text.slice(i, i + rawEnd.length))
            i += rawEnd.length - 1
            closing = true
            state = "tag"
            continue
          }
          put(c)
          continue
        case "tagName":
          put(c)
          if (isSpace(c)) state = "tag"
          else if (c === ">") endTag()
          else if (c === "/") {
            if (tagName === "") closing = true
            else state = "tag"
          } else tagName += c.toLowerCase()
          continue
        case "tag":
        case "afterName":
          put(c)
          if (c === ">") endTag()
          else if (c === "=" && now() === "afterName") state = "beforeValue"
          else if (c === "/") state = "tag"
          else if (!isSpace(c)) {
            state = "attrName"
            attrName = c.toLowerCase()
          }
          continue
        case "attrName":
          put(c)
          if (isSpace(c)) state = "afterName"
          else if (c === "=") state = "beforeValue"
          else if (c === ">") endTag()
          else if (c === "/") state = "tag"
          else attrName += c.toLowerCase()
          continue
        case "beforeValue":
          if (isSpace(c)) put(c)
          else if (c === ">") {
            put(c)
            endTag()
          } else if (c === '"' || c === "'") {
            put(c)
            startValue(c)
          } else {
            startValue("")
            put(c)
          }
          continue
        case "value":
          if (quote !== "" ? c === quote : isSpace(c) || c === ">") {
            endValue()
            put(c)
            if (c === ">") endTag()
            else state = "tag"
          } else put(c)
          continue
      }
    }
  }
  if (now() === "value") endValue()
  return out
}

// --- errors

const issueOf = (error: unknown): SourceIssue => {
  const raw = error instanceof Error ? error.message : String(error)
  const position = /, line:(\d+), col:(\d+)$/.exec(raw)
  const line = position === null ? undefined : Number(position[1])
  let message = position === null ? raw : raw.slice(0, position.index)
  if (/^undefined filter: raw$/.test(message)) message = 'the "raw" filter is not available: values are always escaped'
  else if (/^undefined filter: /.test(message)) message = `unknown filter "${message.slice("undefined filter: ".length)}" (docs/templates.md lists the filters)`
  else if (/^parse length limit exceeded/.test(message)) message = `the template is too long (at most ${PARSE_LIMIT} characters once read)`
  message = message.replace(/\s+/g, " ").trim()
  return { message: line === undefined ? message : `${message} on line ${line}`, line }
}

// --- compiling

/** How a part of a mail is read: `html` escapes for HTML, `text` prints values as they are. */
export type Kind = "html" | "text"

/** A parsed part: what Liquid renders, and the variables it reads. */
export interface Parsed {
  readonly templates: ReadonlyArray<LiquidTemplate>
  readonly kind: Kind
}

// The grammar of the first engine: `{{ path }}` and `{{ path | "fallback" }}`, nothing else
// between braces; `{%` was plain text then.
const LEGACY_PLACEHOLDER = new RegExp(`\\{\\{\\s*${SEGMENT}(?:\\.${SEGMENT})*\\s*(?:\\|\\s*"(?:[^"\\\\]|\\\\["\\\\])*"\\s*)?\\}\\}`, "g")
const isLegacySource = (source: string): boolean => !source.replace(LEGACY_PLACEHOLDER, "").includes("{{")

/**
 * Parses a source for its kind, or says what is wrong in it. With `stored` (a template saved
 * before, being rendered), a template of the first engine that Liquid refuses only because its
 * text holds a `{%` reads that `{%` as text, as it did then; a template being saved gets the error.
 */
export const parse = (source: string, kind: Kind, stored = false): { readonly parsed: Parsed } | { readonly issue: SourceIssue } => {
  const result = parseLiquid(source, kind)
  if (stored && "issue" in result && source.includes("{%") && isLegacySource(source)) {
    const literal = parseLiquid(source.replace(/\{%/g, '{{ "{%" }}'), kind)
    if ("parsed" in literal) return literal
  }
  return result
}

const parseLiquid = (source: string, kind: Kind): { readonly parsed: Parsed } | { readonly issue: SourceIssue } => {
  const read = tokenize(source)
  if ("issue" in read) return read
  const rewritten = kind === "html" ? rewriteHtml(read.pieces) : rewriteText(read.pieces)
  const liquid = kind === "html" ? htmlLiquid : textLiquid
  try {
    return { parsed: { templates: liquid.parse(rewritten), kind } }
  } catch (error) {
    const issue = issueOf(error)
    if (kind === "html" && rewritten !== rewriteText(read.pieces)) {
      try {
        liquid.parse(rewriteText(read.pieces))
        return {
          issue: {
            message: `a link's URL (href, src…) that prints a value must open and close inside the same {% if %}, {% for %} or {% case %} branch${issue.line === undefined ? "" : ` (near line ${issue.line})`}`,
            line: issue.line
          }
        }
      } catch {
        // The source itself is wrong: report that.
      }
    }
    return { issue }
  }
}

/** A variable a template reads, as a path (`["order", "lines", "*", "name"]`), with its line. */
export interface VariableUse {
  readonly path: ReadonlyArray<string>
  readonly line: number
}

type Segment = string | number | { readonly segments: ReadonlyArray<unknown> }

const FOR_ALIAS = /^\s*([A-Za-z_][\w-]*)\s+in\s+([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\b/

/**
 * The variables a parsed part reads from its context, loop variables resolved to the list they
 * iterate (`{% for line in order.lines %}{{ line.name }}` reads `order.lines.*.name`); variables
 * the template assigns itself are left out. A dynamic key (`a[b]`) is `*`, an index its digits.
 */
export const variables = (parsed: Parsed): ReadonlyArray<VariableUse> => {
  const analysis = analyzeSync(parsed.templates as Array<LiquidTemplate>)
  const aliases = new Map<string, ReadonlyArray<string>>()
  const visit = (templates: ReadonlyArray<unknown>) => {
    for (const template of templates) {
      const node = template as { token?: { name?: string; args?: string }; templates?: ReadonlyArray<unknown>; elseTemplates?: ReadonlyArray<unknown>; branches?: ReadonlyArray<{ templates: ReadonlyArray<unknown> }>; impl?: unknown }
      if (node.token?.name === "for" && typeof node.token.args === "string") {
        const match = FOR_ALIAS.exec(node.token.args)
        if (match !== null) {
          const resolved = [...resolveAlias(match[2]!.split("."), aliases), "*"]
          aliases.set(match[1]!, resolved)
        }
      }
      if (Array.isArray(node.templates)) visit(node.templates)
      if (Array.isArray(node.elseTemplates)) visit(node.elseTemplates)
      if (Array.isArray(node.branches)) for (const branch of node.branches) visit(branch.templates)
    }
  }
  visit(parsed.templates)
  const globals = new Set(Object.values(analysis.globals).flat())
  const out: Array<VariableUse> = []
  // In order of use: the analysis groups variables by their root.
  const uses = Object.values(analysis.variables)
    .flat()
    .sort((a, b) => a.location.row - b.location.row || a.location.col - b.location.col)
  for (const variable of uses) {
    const path = (variable.segments as ReadonlyArray<Segment>).map((s) => (typeof s === "string" ? s : typeof s === "number" ? String(s) : "*"))
    const root = path[0]
    if (root === undefined || root.startsWith("rapport_")) continue
    const line = variable.location.row
    if (aliases.has(root) && !globals.has(variable)) out.push({ path: [...aliases.get(root)!, ...path.slice(1)], line })
    else if (globals.has(variable)) out.push({ path, line })
  }
  return out
}

const resolveAlias = (path: ReadonlyArray<string>, aliases: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<string> => {
  const head = aliases.get(path[0]!)
  return head === undefined ? path : [...head, ...path.slice(1)]
}

/** The values a render reads, with the recipient's locale and timezone for `money` and `date`. */
export interface Scope {
  readonly values: Readonly<Record<string, unknown>>
  readonly locale: string
  readonly timezone: string
}

/** Renders a parsed part; a part that runs too long or grows too large is a `SourceIssue`. */
export const render = (parsed: Parsed, scope: Scope): { readonly text: string } | { readonly issue: SourceIssue } => {
  const first = renderOnce(parsed, scope)
  // A render is pure: one that ran out of time (a cold start, a busy machine) is tried once more
  // before it counts as too slow.
  return "timedOut" in first ? renderOnce(parsed, scope) : first
}

const renderOnce = (parsed: Parsed, scope: Scope): { readonly text: string } | { readonly issue: SourceIssue; readonly timedOut?: true } => {
  const liquid = parsed.kind === "html" ? htmlLiquid : textLiquid
  const environment: Record<string | symbol, unknown> = { ...scope.values, [LOCALE]: scope.locale, [TIMEZONE]: scope.timezone }
  try {
    const text = liquid.renderSync(parsed.templates as Array<LiquidTemplate>, environment) as unknown
    const out = toText(text)
    if (out.length > OUTPUT_LIMIT) return { issue: { message: `renders more than ${OUTPUT_LIMIT} characters`, line: undefined } }
    return { text: out }
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error)
    if (/template render limit exceeded/.test(raw)) return { issue: { message: `took more than ${RENDER_LIMIT_MS} ms to render: a loop runs too long`, line: undefined }, timedOut: true }
    if (/memory alloc limit exceeded/.test(raw)) return { issue: { message: "needs too much memory to render: a loop, a range or a string filter grows too large", line: undefined } }
    return { issue: issueOf(error) }
  }
}
