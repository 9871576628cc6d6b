/**
 * Email templates: a subject and an HTML and/or plain-text body with placeholders such as
 * `{{ contact.firstName }}` or `{{ contact.firstName | "there" }}`. Templates are checked when
 * saved (`check`), compiled once (`compile`) and rendered for each recipient without ever failing:
 * values are HTML-escaped in the HTML body (and, in an attribute holding a URL, kept only as an
 * http, https, mailto or relative URL), and the subject is kept on one line so that no value can
 * inject a mail header.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ValidationIssue } from "./Errors.js"
import { TemplateId, WorkspaceId } from "./Ids.js"
import { SafeString, Text } from "./Json.js"
import { Instant } from "./Time.js"

/**
 * What a template is for: `transactional` mails (a receipt, a follow-up the contact asked for) or
 * `marketing` mails, which need the contact's consent.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TemplatePurpose = Schema.Literal("transactional", "marketing")

/**
 * @since 0.2.0
 * @category models
 */
export type TemplatePurpose = typeof TemplatePurpose.Type

/**
 * A stored email template.
 *
 * @since 0.2.0
 * @category models
 */
export class Template extends Schema.Class<Template>("Template")({
  id: TemplateId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  purpose: TemplatePurpose,
  subject: Schema.String,
  html: Schema.NullOr(Schema.String),
  text: Schema.NullOr(Schema.String),
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

const MAX_BODY = 500_000

const Body = Schema.NullOr(
  SafeString.pipe(Schema.maxLength(MAX_BODY, { message: () => `must be at most ${MAX_BODY} characters` }))
)

const hasBody = (body: string | null | undefined): boolean => typeof body === "string" && body.trim() !== ""

const NO_BODY = 'a template needs a body: at least one of "html" or "text" must be a non-empty string'

/**
 * What `templates.create` accepts. `purpose` defaults to `transactional`. Placeholders are checked
 * against the workspace's fields by the service (see {@link check}), not here.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TemplateCreate = Schema.Struct({
  name: Text(200),
  purpose: Schema.optional(TemplatePurpose),
  subject: Text(998),
  html: Schema.optional(Body),
  text: Schema.optional(Body)
}).pipe(Schema.filter((input) => hasBody(input.html) || hasBody(input.text) || NO_BODY))

/**
 * @since 0.2.0
 * @category models
 */
export type TemplateCreate = typeof TemplateCreate.Encoded

/**
 * What `templates.update` accepts. An update that sets both bodies must leave one non-empty; when
 * it sets only one, the service checks the result against the stored other one.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TemplateUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  name: Schema.optional(Text(200)),
  purpose: Schema.optional(TemplatePurpose),
  subject: Schema.optional(Text(998)),
  html: Schema.optional(Body),
  text: Schema.optional(Body)
}).pipe(
  Schema.filter(
    (input) => input.html === undefined || input.text === undefined || hasBody(input.html) || hasBody(input.text) || NO_BODY
  )
)

/**
 * @since 0.2.0
 * @category models
 */
export type TemplateUpdate = typeof TemplateUpdate.Encoded

/**
 * A syntax error in a template, with its 1-based line.
 *
 * @since 0.2.0
 * @category models
 */
export interface TemplateIssue {
  readonly message: string
  readonly line: number
}

/**
 * Text copied to the output as it is.
 *
 * @since 0.2.0
 * @category models
 */
export interface Literal {
  readonly _tag: "Literal"
  readonly text: string
}

/**
 * A `{{ path }}` or `{{ path | "fallback" }}`, on its 1-based line.
 *
 * @since 0.2.0
 * @category models
 */
export interface Placeholder {
  readonly _tag: "Placeholder"
  readonly path: ReadonlyArray<string>
  readonly fallback: string | undefined
  readonly line: number
}

/**
 * @since 0.2.0
 * @category models
 */
export type Part = Literal | Placeholder

/**
 * A parsed template: its parts in order.
 *
 * @since 0.2.0
 * @category models
 */
export type Parsed = ReadonlyArray<Part>

const SEGMENT = "[A-Za-z_][A-Za-z0-9_]*"
// Sticky, so it only matches a placeholder that starts exactly at the "{{" being looked at.
const PLACEHOLDER = new RegExp(`\\{\\{\\s*(${SEGMENT}(?:\\.${SEGMENT})*)\\s*(?:\\|\\s*"((?:[^"\\\\]|\\\\["\\\\])*)"\\s*)?\\}\\}`, "y")
const HINT = 'write {{ contact.firstName }} or {{ contact.firstName | "there" }}'

const shown = (raw: string): string => {
  const oneLine = raw.replace(/\s+/g, " ")
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}…` : oneLine
}

// Reads every part and every syntax error, recovering after each error so that all are reported.
const scan = (source: string): { readonly parts: Array<Part>; readonly issues: Array<TemplateIssue> } => {
  const parts: Array<Part> = []
  const issues: Array<TemplateIssue> = []
  let line = 1
  let counted = 0
  const lineOf = (offset: number): number => {
    for (; counted < offset; counted++) if (source.charCodeAt(counted) === 10) line++
    return line
  }
  let cursor = 0
  let open = source.indexOf("{{")
  while (open !== -1) {
    const at = lineOf(open)
    PLACEHOLDER.lastIndex = open
    const match = PLACEHOLDER.exec(source)
    if (match !== null) {
      if (open > cursor) parts.push({ _tag: "Literal", text: source.slice(cursor, open) })
      const fallback = match[2]?.replace(/\\(["\\])/g, "$1")
      parts.push({ _tag: "Placeholder", path: (match[1] ?? "").split("."), fallback, line: at })
      cursor = PLACEHOLDER.lastIndex
    } else {
      const close = source.indexOf("}}", open + 2)
      const next = source.indexOf("{{", open + 2)
      if (close === -1 || (next !== -1 && next < close)) {
        issues.push({ message: `unclosed "{{" on line ${at}`, line: at })
        if (next === -1) break
        cursor = next
      } else {
        issues.push({ message: `"${shown(source.slice(open, close + 2))}" on line ${at} is not a placeholder: ${HINT}`, line: at })
        cursor = close + 2
      }
    }
    open = source.indexOf("{{", cursor)
  }
  if (cursor < source.length) parts.push({ _tag: "Literal", text: source.slice(cursor) })
  return { parts, issues }
}

/**
 * Parses a template source, or lists every syntax error in it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parse = (source: string): Either.Either<Parsed, ReadonlyArray<TemplateIssue>> => {
  const { issues, parts } = scan(source)
  return issues.length === 0 ? Either.right(parts) : Either.left(issues)
}

/**
 * The distinct placeholder paths a source uses (`"contact.firstName"`), in order of first use.
 * Syntax errors are skipped.
 *
 * @since 0.2.0
 * @category utils
 */
export const placeholders = (source: string): ReadonlyArray<string> => {
  const paths = new Set<string>()
  for (const part of scan(source).parts) if (part._tag === "Placeholder") paths.add(part.path.join("."))
  return [...paths]
}

/**
 * The three parts of a mail a template fills in; a {@link Template} is one.
 *
 * @since 0.2.0
 * @category models
 */
export interface Content {
  readonly subject: string
  readonly html: string | null
  readonly text: string | null
}

const FIELDS = ["subject", "html", "text"] as const

/**
 * Every syntax error and every placeholder `isKnown` refuses, at path `["subject"]`, `["html"]` or
 * `["text"]`. Empty when the template can be saved.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (content: Content, isKnown: (path: ReadonlyArray<string>) => boolean): ReadonlyArray<ValidationIssue> =>
  FIELDS.flatMap((field) => {
    const source = content[field]
    if (source === null) return []
    const { issues, parts } = scan(source)
    const messages = new Set(issues.map((issue) => issue.message))
    for (const part of parts) {
      if (part._tag === "Placeholder" && !isKnown(part.path)) {
        messages.add(`unknown placeholder {{${part.path.join(".")}}} on line ${part.line}`)
      }
    }
    return [...messages].map((message) => ({ path: [field], message }))
  })

/**
 * The values placeholders read, as a plain nested object:
 * `{ contact: { firstName: "Ada", fields: { siret: "…" } }, deal: { amount: 1200 } }`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RenderContext {
  readonly [key: string]: unknown
}

/**
 * A template whose syntax is known to be valid; `render` never fails.
 *
 * @since 0.2.0
 * @category models
 */
export interface Compiled {
  /** Renders the template with these values; never fails. */
  readonly render: (context: RenderContext) => Content
}

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/**
 * Escapes `& < > " '` so that a value is text in HTML, in content and in quoted attributes alike.
 *
 * @since 0.2.0
 * @category utils
 */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c)

// Own data properties of plain objects only: a path must not reach `constructor`, a prototype,
// an array's `length` or a getter.
const lookup = (context: RenderContext, path: ReadonlyArray<string>): string | undefined => {
  let value: unknown = context
  for (const key of path) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
    value = Object.getOwnPropertyDescriptor(value, key)?.value
  }
  return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))
    ? String(value)
    : undefined
}

const fill = (parts: Parsed, context: RenderContext, escape: (s: string) => string): string =>
  parts
    .map((part) => (part._tag === "Literal" ? part.text : escape(lookup(context, part.path) ?? part.fallback ?? "")))
    .join("")

// --- HTML contexts: where in the HTML each placeholder of the `html` body stands.

/** Attributes whose value is a URL, or (`srcset`, `ping`, `archive`) a list of URLs. */
const URL_ATTRIBUTES = new Set([
  "href", "src", "srcset", "action", "formaction", "cite", "background", "poster", "longdesc", "usemap",
  "codebase", "data", "icon", "manifest", "xlink:href", "lowsrc", "dynsrc", "ping", "archive", "classid", "profile"
])
const URL_LISTS = new Set(["srcset", "ping", "archive"])
// An attribute whose name a placeholder writes may be any attribute: its value is checked as a URL.
const DYNAMIC_NAME = "*"
/** Elements whose content is not HTML: the parser looks only for their end tag. */
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"])

const SAFE_SCHEMES = new Set(["http", "https", "mailto"])

/**
 * What a URL attribute holds when a placeholder would have given it another scheme than `http`,
 * `https` or `mailto`: a URL that goes nowhere.
 *
 * @since 0.4.0
 * @category constructors
 */
export const blockedUrl = "about:invalid#unsafe-url"

// Named character references that can change how a URL's scheme is read (every ASCII letter has
// none), and the ones a template commonly writes. Others stay as written, which reads them as
// characters no scheme may contain: the URL is then refused or relative, never unsafe.
const NAMED: Readonly<Record<string, string>> = {
  amp: "&", AMP: "&", lt: "<", LT: "<", gt: ">", GT: ">", quot: '"', QUOT: '"', apos: "'",
  colon: ":", sol: "/", quest: "?", num: "#", Tab: "\t", NewLine: "\n", nbsp: "\u00a0", period: ".", plus: "+", hyphen: "\u2010"
}

const codePoint = (n: number): string =>
  n === 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? "\ufffd" : String.fromCodePoint(n)

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

/**
 * Whether a URL may stand in a link built from data: `http`, `https`, `mailto`, or no scheme (a
 * relative URL, which cannot run anything). `javascript:`, `data:`, `vbscript:` and every other
 * scheme are refused, however written (mixed case, spaces, tabs, line breaks or controls in or
 * around the scheme).
 *
 * @since 0.4.0
 * @category utils
 */
export const isSafeUrl = (url: string): boolean => {
  const scheme = schemeOf(url)
  return scheme === undefined || SAFE_SCHEMES.has(scheme)
}

// Once the template's own text in a URL attribute reaches one of these, the scheme is written by
// the template's author (`https://…`, `tel:`, `/path`, `#anchor`): values after it cannot change it.
const settlesScheme = (authored: string): boolean => /[:/?#]/.test(authored.replace(/[\u0000-\u0020\u007f-\u009f]/g, ""))

// Besides escapeHtml's five: what ends or splits an unquoted attribute value, or an attribute name.
const UNQUOTED: Readonly<Record<string, string>> = { " ": "&#32;", "\t": "&#9;", "\n": "&#10;", "\f": "&#12;", "\r": "&#13;", "=": "&#61;", "`": "&#96;" }
const escapeUnquoted = (s: string): string => escapeHtml(s).replace(/[ \t\n\f\r=`]/g, (c) => UNQUOTED[c] ?? c)

/** A piece of the rendered HTML body. */
type Segment =
  | Literal
  | { readonly _tag: "Value"; readonly placeholder: Placeholder; readonly escape: (s: string) => string }
  | { readonly _tag: "Url"; readonly parts: ReadonlyArray<Part>; readonly list: boolean; readonly escape: (s: string) => string }

/**
 * Reads the HTML body as a browser would, far enough to know each placeholder's context: text (or a
 * comment, or the content of `<script>`, `<style>`…), inside a tag, or an attribute's value, quoted
 * or not. A URL attribute's value that a placeholder helps write becomes one `Url` segment, checked
 * whole when rendered (`{{ a }}{{ b }}` could spell `javascript:` only together).
 */
const htmlSegments = (parts: Parsed): ReadonlyArray<Segment> => {
  type State = "text" | "tagName" | "tag" | "attrName" | "afterName" | "beforeValue" | "value" | "comment" | "raw"
  const out: Array<Segment> = []
  let pending = ""
  let state = "text" as State
  // Read through a call: the helpers below change the state, which TypeScript's narrowing ignores.
  const now = (): State => state
  let tagName = ""
  let closing = false
  let attrName = ""
  let quote = ""
  let rawEnd = ""
  let url: { parts: Array<Part>; list: boolean } | undefined
  const flush = () => {
    if (pending !== "") out.push({ _tag: "Literal", text: pending })
    pending = ""
  }
  const put = (text: string) => {
    if (url === undefined) {
      pending += text
      return
    }
    const last = url.parts[url.parts.length - 1]
    if (last?._tag === "Literal") url.parts[url.parts.length - 1] = { _tag: "Literal", text: last.text + text }
    else url.parts.push({ _tag: "Literal", text })
  }
  const endTag = () => {
    if (!closing && RAW_TEXT.has(tagName)) {
      state = "raw"
      rawEnd = `</${tagName}`
    } else {
      state = "text"
    }
  }
  const startValue = (q: string) => {
    state = "value"
    quote = q
    if (URL_ATTRIBUTES.has(attrName) || attrName.includes(DYNAMIC_NAME)) {
      flush()
      url = { parts: [], list: URL_LISTS.has(attrName) || attrName.includes(DYNAMIC_NAME) }
    }
  }
  const endValue = () => {
    if (url === undefined) return
    const escape = quote === "" ? escapeUnquoted : escapeHtml
    const first = url.parts.findIndex((p) => p._tag === "Placeholder")
    const authored = url.parts.slice(0, first === -1 ? url.parts.length : first).map((p) => (p._tag === "Literal" ? p.text : "")).join("")
    if (first === -1) out.push(...url.parts.filter((p): p is Literal => p._tag === "Literal"))
    else if (!url.list && settlesScheme(decodeEntities(authored))) {
      for (const part of url.parts) out.push(part._tag === "Literal" ? part : { _tag: "Value", placeholder: part, escape })
    } else out.push({ _tag: "Url", parts: url.parts, list: url.list, escape })
    url = undefined
  }
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\f" || c === "\r"
  for (const part of parts) {
    if (part._tag === "Placeholder") {
      // A placeholder right after `=` starts an unquoted value.
      if (now() === "beforeValue") startValue("")
      switch (now()) {
        case "value":
          if (url !== undefined) url.parts.push(part)
          else {
            flush()
            out.push({ _tag: "Value", placeholder: part, escape: quote === "" ? escapeUnquoted : escapeHtml })
          }
          break
        case "text":
        case "comment":
        case "raw":
          flush()
          out.push({ _tag: "Value", placeholder: part, escape: escapeHtml })
          break
        default:
          // Inside a tag, outside a value: a name written by data. Nothing it holds may end the tag
          // or add an attribute, and the value of an attribute it names is checked as a URL.
          flush()
          out.push({ _tag: "Value", placeholder: part, escape: escapeUnquoted })
          if (state === "tagName") tagName += DYNAMIC_NAME
          else if (state === "attrName") attrName += DYNAMIC_NAME
          else {
            state = "attrName"
            attrName = DYNAMIC_NAME
          }
      }
      continue
    }
    const text = part.text
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
  flush()
  return out
}

const renderHtml = (segments: ReadonlyArray<Segment>, context: RenderContext): string => {
  const valueOf = (p: Placeholder) => lookup(context, p.path) ?? p.fallback ?? ""
  let html = ""
  for (const segment of segments) {
    if (segment._tag === "Literal") html += segment.text
    else if (segment._tag === "Value") html += segment.escape(valueOf(segment.placeholder))
    else {
      const values = segment.parts.map((p) => (p._tag === "Literal" ? p.text : valueOf(p)))
      const url = segment.parts.map((p, i) => (p._tag === "Literal" ? decodeEntities(p.text) : values[i])).join("")
      const safe = segment.list ? url.split(/[\s,]+/).every(isSafeUrl) : isSafeUrl(url)
      html += safe ? segment.parts.map((p, i) => (p._tag === "Literal" ? p.text : segment.escape(values[i]!))).join("") : blockedUrl
    }
  }
  return html
}

// A line break in a subject would start a new mail header; other controls (C0, DEL, C1) and the
// Unicode line separators are treated alike, as some mail software also breaks lines on them.
const oneLine = (s: string): string => s.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim()

const identity = (s: string): string => s

/**
 * Parses a template's subject and bodies once, or lists every syntax error (at path `["subject"]`,
 * `["html"]` or `["text"]`). The result renders for any context without failing: a missing,
 * `null`, object or array value renders the placeholder's fallback (or nothing); strings, finite
 * numbers and booleans render as text. Values are HTML-escaped in `html` (the template's own HTML
 * is kept), left as they are in `text`, and the rendered subject is put on one line.
 *
 * In `html`, the escaping fits where the placeholder stands: in an unquoted attribute value or
 * inside a tag, spaces, `=` and backticks are escaped too, so no value adds an attribute. In an
 * attribute that holds a URL (`href`, `src`, `srcset`, `action`, `formaction`, `cite`,
 * `background`, `poster`…) whose scheme a placeholder writes (`href="{{ contact.fields.website }}"`),
 * the value must be an `http`, `https` or `mailto` URL or a relative one (see {@link isSafeUrl}):
 * anything else (`javascript:`, `data:`, `vbscript:`, however disguised) makes the whole attribute
 * {@link blockedUrl}. After a scheme the template writes (`href="https://shop.example/{{ path }}"`,
 * `href="tel:{{ contact.phone }}"`), values are only escaped.
 *
 * @since 0.2.0
 * @category constructors
 */
export const compile = (content: Content): Either.Either<Compiled, ReadonlyArray<ValidationIssue>> => {
  const issues = check(content, () => true)
  if (issues.length > 0) return Either.left(issues)
  const subject = scan(content.subject).parts
  const html = content.html === null ? null : htmlSegments(scan(content.html).parts)
  const text = content.text === null ? null : scan(content.text).parts
  return Either.right({
    render: (context) => ({
      subject: oneLine(fill(subject, context, identity)),
      html: html === null ? null : renderHtml(html, context),
      text: text === null ? null : fill(text, context, identity)
    })
  })
}

// Words and signs spam filters weigh (French and English); finding one is a warning, not an error.
const SPAM_TRIGGERS: ReadonlyArray<string> = [
  "gratuit",
  "gratuite",
  "gratuitement",
  "promotion",
  "promo",
  "cliquez ici",
  "offre exclusive",
  "offre limitée",
  "gagnant",
  "félicitations",
  "sans frais",
  "urgent",
  "free",
  "click here",
  "act now",
  "limited time",
  "winner",
  "congratulations",
  "risk-free",
  "no cost",
  "100%",
  "$$$",
  "€€€",
  "!!!"
]

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const TRIGGERS = SPAM_TRIGGERS.map((word) => ({
  word,
  pattern: new RegExp(/^\w/.test(word) ? `(?<![\\p{L}\\p{N}])${escapeRegExp(word)}(?![\\p{L}\\p{N}])` : escapeRegExp(word), "iu")
}))

/**
 * Words spam filters watch for ("gratuit", "promotion", "free", "100%"…) and a subject in capital
 * letters, at path `["subject"]`, `["html"]` or `["text"]`: warnings, not errors (a mail may have
 * good reasons to say "free"), but each one makes the mail likelier to land in a spam folder.
 *
 * @since 0.3.0
 * @category utils
 */
export const spamWarnings = (content: Content): ReadonlyArray<ValidationIssue> =>
  FIELDS.flatMap((field) => {
    const source = content[field]
    if (source === null) return []
    const text = field === "html" ? source.replace(/<[^>]*>/g, " ") : source
    const warnings = TRIGGERS.filter((t) => t.pattern.test(text)).map((t) => ({
      path: [field],
      message: `contains "${t.word}", which spam filters watch for`
    }))
    const letters = source.replace(/\{\{[^}]*\}\}/g, "").replace(/[^\p{L}]/gu, "")
    if (field === "subject" && letters.length >= 8 && letters === letters.toUpperCase()) {
      warnings.push({ path: [field], message: "is in capital letters, which spam filters watch for" })
    }
    return warnings
  })

/**
 * Whether a source has the unsubscribe placeholder a marketing mail needs.
 *
 * @since 0.3.0
 * @category utils
 */
export const hasUnsubscribeLink = (source: string): boolean => placeholders(source).includes("unsubscribeUrl")
