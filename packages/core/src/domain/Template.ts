/**
 * Email templates, written in Liquid (the language Shopify merchants write): a subject and an HTML
 * and/or plain-text body with variables (`{{ contact.firstName }}`), conditions, loops over order
 * lines and the `money` and `date` filters, in the recipient's locale and timezone. Templates are
 * checked when saved (`check`), compiled once (`compile`) and rendered for each recipient: values are
 * HTML-escaped in the HTML body (and, in an attribute holding a URL, kept only as an http, https,
 * mailto or relative URL), and the subject is kept on one line so that no value can inject a mail
 * header. Placeholders of earlier versions (`{{ contact.firstName | "there" }}`) keep working.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ValidationIssue } from "./Errors.js"
import { SetupKey, TemplateId, WorkspaceId } from "./Ids.js"
import { nullByDefault, SafeString, Text } from "./Json.js"
import { Instant } from "./Time.js"
import * as Liquid from "../internal/liquid.js"

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
  /** The app's stable key for it (see `crm.setup`), unique in the workspace; `null` when it has none. */
  key: nullByDefault(SetupKey),
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
  /** A stable key chosen by the app (see `crm.setup`), unique in the workspace. */
  key: Schema.optional(SetupKey),
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
  /** Gives the template a stable key (`null` removes it). */
  key: Schema.optional(Schema.NullOr(SetupKey)),
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
 * A locale a template variant is written for: a language (`fr`, `en`) or a language and region
 * (`fr-CA`, `en-GB`), as BCP 47 writes them.
 *
 * @since 0.7.0
 * @category schemas
 */
export const TemplateLocale = Schema.String.pipe(
  Schema.filter((tag) => {
    if (!/^[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|\d{3}))?$/.test(tag)) return `must be a locale such as "fr", "en" or "fr-CA" (got ${JSON.stringify(tag).slice(0, 40)})`
    try {
      Intl.getCanonicalLocales(tag)
      return true
    } catch {
      return `must be a locale such as "fr", "en" or "fr-CA" (got ${JSON.stringify(tag).slice(0, 40)})`
    }
  }),
  Schema.annotations({ identifier: "TemplateLocale" })
)

/**
 * A template's subject and bodies for one locale: a contact whose locale is `fr-FR` receives the
 * `fr-FR` variant, else the `fr` one, else the template itself.
 *
 * @since 0.7.0
 * @category models
 */
export class TemplateVariant extends Schema.Class<TemplateVariant>("TemplateVariant")({
  workspaceId: WorkspaceId,
  templateId: TemplateId,
  locale: TemplateLocale,
  subject: Schema.String,
  html: Schema.NullOr(Schema.String),
  text: Schema.NullOr(Schema.String),
  updatedAt: Instant
}) {}

/**
 * What `templates.setLocale` accepts: the variant's subject and at least one body.
 *
 * @since 0.7.0
 * @category schemas
 */
export const TemplateVariantInput = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  subject: Text(998),
  html: Schema.optional(Body),
  text: Schema.optional(Body)
}).pipe(Schema.filter((input) => hasBody(input.html) || hasBody(input.text) || NO_BODY))

/**
 * @since 0.7.0
 * @category models
 */
export type TemplateVariantInput = typeof TemplateVariantInput.Encoded

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

const kindOf = (field: (typeof FIELDS)[number]): Liquid.Kind => (field === "html" ? "html" : "text")

/**
 * A variable a template reads: the part it is in, its path (`["order", "lines", "*", "name"]` for
 * `{{ line.name }}` inside `{% for line in order.lines %}`) and its line.
 *
 * @since 0.7.0
 * @category models
 */
export interface VariableUse {
  readonly field: "subject" | "html" | "text"
  readonly path: ReadonlyArray<string>
  readonly line: number
}

const readAll = (content: Content) =>
  FIELDS.flatMap((field) => {
    const source = content[field]
    if (source === null) return []
    return [{ field, result: Liquid.parse(source, kindOf(field)) }]
  })

/**
 * Every variable a template reads (see {@link VariableUse}); parts with a syntax error are skipped.
 *
 * @since 0.7.0
 * @category utils
 */
export const variables = (content: Content): ReadonlyArray<VariableUse> =>
  readAll(content).flatMap(({ field, result }) => ("issue" in result ? [] : Liquid.variables(result.parsed).map((use) => ({ field, ...use }))))

/**
 * The distinct variables a source reads (`"contact.firstName"`, `"order.lines.*.name"`), in order
 * of first use. A source with a syntax error reads none.
 *
 * @since 0.2.0
 * @category utils
 */
export const placeholders = (source: string): ReadonlyArray<string> => {
  const result = Liquid.parse(source, "text")
  if ("issue" in result) return []
  return [...new Set(Liquid.variables(result.parsed).map((use) => use.path.join(".")))]
}

/**
 * Every syntax error (the first of each part: Liquid stops at it) and every variable `isKnown`
 * refuses, at path `["subject"]`, `["html"]` or `["text"]`. Empty when the template can be saved.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (content: Content, isKnown: (path: ReadonlyArray<string>) => boolean): ReadonlyArray<ValidationIssue> =>
  readAll(content).flatMap(({ field, result }) => {
    if ("issue" in result) return [{ path: [field], message: result.issue.message }]
    const messages = new Set<string>()
    for (const use of Liquid.variables(result.parsed)) {
      if (!isKnown(use.path)) messages.add(`unknown variable ${use.path.join(".")} on line ${use.line}`)
    }
    return [...messages].map((message) => ({ path: [field], message }))
  })

/**
 * The values a template reads, as a plain nested object:
 * `{ contact: { firstName: "Ada", locale: "fr-FR", fields: { siret: "…" } }, order: { lines: [...] } }`.
 * The recipient's locale is `contact.locale` (English when absent), their timezone
 * `contact.timezone`, else `workspace.timezone`, else UTC.
 *
 * @since 0.2.0
 * @category models
 */
export interface RenderContext {
  readonly [key: string]: unknown
}

/**
 * A template whose syntax is known to be valid.
 *
 * @since 0.2.0
 * @category models
 */
export interface Compiled {
  /**
   * Renders the template (the variant for the recipient's locale, if any) with these values; never
   * fails. A part that runs past its limits (time, memory, output size) renders empty: use
   * `renderEither` to know.
   */
  readonly render: (context: RenderContext) => Content
  /**
   * Renders like `render`, or says which part ran past its limits.
   *
   * @since 0.7.0
   */
  readonly renderEither: (context: RenderContext) => Either.Either<Content, ReadonlyArray<ValidationIssue>>
  /** The variant's locale a render with this context uses, `null` for the template's own text. */
  readonly localeFor: (context: RenderContext) => string | null
}

// A line break in a subject would start a new mail header; other controls (C0, DEL, C1) and the
// Unicode line separators are treated alike, as some mail software also breaks lines on them.
const oneLine = (s: string): string => s.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim()

const record = (value: unknown): Readonly<Record<string, unknown>> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Readonly<Record<string, unknown>>) : undefined

const canonicalLocale = (value: unknown): string | undefined => {
  if (typeof value !== "string" || value.length === 0 || value.length > 35) return undefined
  try {
    return Intl.getCanonicalLocales(value.replace(/_/g, "-"))[0]
  } catch {
    return undefined
  }
}

/**
 * The recipient's locale a context gives (`contact.locale`), canonical, or `undefined`.
 *
 * @since 0.7.0
 * @category utils
 */
export const localeOf = (context: RenderContext): string | undefined => canonicalLocale(record(context["contact"])?.["locale"])

const timezoneOf = (context: RenderContext): string => {
  const zone = record(context["contact"])?.["timezone"] ?? record(context["workspace"])?.["timezone"]
  return typeof zone === "string" && zone !== "" ? zone : "UTC"
}

/**
 * The variant for a locale among those available: the exact locale (`fr-CA`), else its language
 * (`fr`), else another region of that language; `undefined` when none fits.
 *
 * @since 0.7.0
 * @category utils
 */
export const chooseLocale = (available: ReadonlyArray<string>, wanted: string | undefined): string | undefined => {
  if (wanted === undefined) return undefined
  const lower = wanted.toLowerCase()
  const language = lower.split("-")[0]!
  return (
    available.find((l) => l.toLowerCase() === lower) ??
    available.find((l) => l.toLowerCase() === language) ??
    available.find((l) => l.toLowerCase().split("-")[0] === language)
  )
}

interface Part {
  readonly subject: Liquid.Parsed
  readonly html: Liquid.Parsed | null
  readonly text: Liquid.Parsed | null
}

const parsePart = (content: Content, at: ReadonlyArray<string | number>): Either.Either<Part, ReadonlyArray<ValidationIssue>> => {
  const issues: Array<ValidationIssue> = []
  const parsed: Partial<Record<(typeof FIELDS)[number], Liquid.Parsed | null>> = {}
  for (const field of FIELDS) {
    const source = content[field]
    if (source === null) {
      parsed[field] = null
      continue
    }
    const result = Liquid.parse(source, kindOf(field), true)
    if ("issue" in result) issues.push({ path: [...at, field], message: result.issue.message })
    else parsed[field] = result.parsed
  }
  return issues.length > 0 ? Either.left(issues) : Either.right({ subject: parsed.subject!, html: parsed.html ?? null, text: parsed.text ?? null })
}

// Renders every part; one that runs past its limits renders empty and is named in `issues`.
const renderPart = (part: Part, context: RenderContext): { readonly content: Content; readonly issues: ReadonlyArray<ValidationIssue> } => {
  const scope = { values: context, locale: localeOf(context) ?? "en", timezone: timezoneOf(context) }
  const issues: Array<ValidationIssue> = []
  const one = (field: (typeof FIELDS)[number], parsed: Liquid.Parsed | null): string | null => {
    if (parsed === null) return null
    const result = Liquid.render(parsed, scope)
    if ("issue" in result) {
      issues.push({ path: [field], message: result.issue.message })
      return ""
    }
    return result.text
  }
  const subject = one("subject", part.subject)
  return { content: { subject: oneLine(subject ?? ""), html: one("html", part.html), text: one("text", part.text) }, issues }
}

/**
 * Parses a template's subject and bodies once (and its locale variants, at path
 * `["locales", <locale>, <part>]`), or lists the syntax errors. Templates are written in Liquid
 * (see docs/templates.md); the placeholders of earlier versions (`{{ contact.firstName | "there" }}`)
 * still read as before.
 *
 * A template saved by the first engine whose text holds a `{%` (plain text then) still compiles,
 * that `{%` read as text; saving a template checks it strictly ({@link check}).
 *
 * A render prints strings, finite numbers and booleans as text, and nothing for a missing, `null`,
 * object or list value. Values are HTML-escaped in `html` (the template's own HTML is kept), left as
 * they are in `text`, and the rendered subject is put on one line. In `html` the escaping fits where
 * the value prints: in an unquoted attribute value or inside a tag, spaces, `=` and backticks are
 * escaped too, so no value adds an attribute. In an attribute that holds a URL (`href`, `src`,
 * `srcset`, `action`, `formaction`…) whose scheme a value writes, the whole value must be an `http`,
 * `https` or `mailto` URL or a relative one (see {@link isSafeUrl}), else the attribute becomes
 * {@link blockedUrl}. No template reads a file, and a render stops past a second.
 *
 * @since 0.2.0
 * @category constructors
 */
export const compile = (
  content: Content,
  variants: ReadonlyArray<{ readonly locale: string; readonly content: Content }> = []
): Either.Either<Compiled, ReadonlyArray<ValidationIssue>> => {
  const main = parsePart(content, [])
  const issues: Array<ValidationIssue> = Either.isLeft(main) ? [...main.left] : []
  const parts = new Map<string, Part>()
  for (const variant of variants) {
    const part = parsePart(variant.content, ["locales", variant.locale])
    if (Either.isLeft(part)) issues.push(...part.left)
    else parts.set(variant.locale, part.right)
  }
  if (Either.isLeft(main) || issues.length > 0) return Either.left(issues)
  const locales = [...parts.keys()]
  const localeFor = (context: RenderContext): string | null => (locales.length === 0 ? null : (chooseLocale(locales, localeOf(context)) ?? null))
  const renderAll = (context: RenderContext) => {
    const locale = localeFor(context)
    return renderPart(locale === null ? main.right : parts.get(locale)!, context)
  }
  return Either.right({
    localeFor,
    render: (context) => renderAll(context).content,
    renderEither: (context) => {
      const { content, issues } = renderAll(context)
      return issues.length > 0 ? Either.left(issues) : Either.right(content)
    }
  })
}

/**
 * Escapes `& < > " '` so that a value is text in HTML, in content and in quoted attributes alike.
 *
 * @since 0.2.0
 * @category utils
 */
export const escapeHtml: (s: string) => string = Liquid.escapeHtml

/**
 * What a URL attribute holds when a value would have given it another scheme than `http`,
 * `https` or `mailto`: a URL that goes nowhere.
 *
 * @since 0.4.0
 * @category constructors
 */
export const blockedUrl: string = Liquid.blockedUrl

/**
 * Whether a URL may stand in a link built from data: `http`, `https`, `mailto`, or no scheme (a
 * relative URL, which cannot run anything). `javascript:`, `data:`, `vbscript:` and every other
 * scheme are refused, however written (mixed case, spaces, tabs, line breaks or controls in or
 * around the scheme).
 *
 * @since 0.4.0
 * @category utils
 */
export const isSafeUrl: (url: string) => boolean = Liquid.isSafeUrl

/**
 * The filters a template may use: Liquid's own (`upcase`, `default`, `join`, `times`…, but not
 * `raw`) and Rapport's `money` and `date`.
 *
 * @since 0.7.0
 * @category utils
 */
export const filters: ReadonlyArray<string> = Liquid.filterNames

/**
 * The tags a template may use (`if`, `unless`, `case`, `for`, `assign`, `capture`, `comment`,
 * `raw`…); none reads a file.
 *
 * @since 0.7.0
 * @category utils
 */
export const tags: ReadonlyArray<string> = Liquid.tagNames

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
    const letters = source.replace(/\{\{[^}]*\}\}|\{%[^%]*%\}/g, "").replace(/[^\p{L}]/gu, "")
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
