/**
 * The variables a template may read, in one place: those every mail has (`contact`, `company`,
 * `workspace`, `event`, `unsubscribeUrl`), those a deal's follow-up adds (`deal`), and those each
 * built-in event type adds (`order` for `order.placed`, `cart` for `cart.abandoned`, `quote` for
 * `quote.sent`, `page` for `page.viewed`). Templates are checked against them when saved
 * ({@link isKnown}); the values a mail is rendered with are built here too ({@link contextFor}), and
 * a sample event of each type serves previews ({@link sampleEvent}). docs/templates.md lists them.
 *
 * @since 0.7.0
 */
import type { RenderContext } from "./Template.js"

/**
 * The shape of a variable: a value, an amount of money, a list of shapes, an object with named
 * fields, or an object whose keys are free (an event's payload).
 *
 * @since 0.7.0
 * @category models
 */
export type Shape =
  | { readonly _tag: "Value"; readonly doc: string }
  | { readonly _tag: "Money"; readonly doc: string }
  | { readonly _tag: "List"; readonly of: Shape; readonly doc: string }
  | { readonly _tag: "Object"; readonly fields: Readonly<Record<string, Shape>>; readonly doc: string }
  | { readonly _tag: "Open"; readonly doc: string }

const value = (doc: string): Shape => ({ _tag: "Value", doc })
const money = (doc: string): Shape => ({ _tag: "Money", doc })
const list = (of: Shape, doc: string): Shape => ({ _tag: "List", of, doc })
const object = (fields: Readonly<Record<string, Shape>>, doc: string): Shape => ({ _tag: "Object", fields, doc })
const open = (doc: string): Shape => ({ _tag: "Open", doc })

const line = object(
  {
    sku: value("the product's reference"),
    name: value("the product's name"),
    quantity: value("how many"),
    unitPrice: money("the price of one"),
    unitCost: money("the cost of one, when the shop sends it"),
    total: money("quantity × unit price")
  },
  "a line"
)

/**
 * The variables every mail may read. `contact.fields`, `company.fields` and `deal.fields` hold the
 * workspace's custom fields and are checked against their definitions.
 *
 * @since 0.7.0
 * @category constructors
 */
export const common: Readonly<Record<string, Shape>> = {
  contact: object(
    {
      id: value("the contact's id"),
      email: value("primary email"),
      firstName: value("first name"),
      lastName: value("last name"),
      phone: value("primary phone"),
      stage: value("lifecycle stage key"),
      ownerId: value("owner"),
      tags: list(value("a tag"), "tags"),
      score: value("score"),
      locale: value("the locale the mail is written for (the contact's `locale` field, else the workspace's country, else en)"),
      timezone: value("the contact's timezone, else the workspace's"),
      fields: object({}, "custom fields")
    },
    "the recipient"
  ),
  company: object(
    { id: value("id"), name: value("name"), domain: value("web domain"), phone: value("phone"), tags: list(value("a tag"), "tags"), fields: object({}, "custom fields") },
    "the contact's company (empty when none)"
  ),
  workspace: object({ name: value("the workspace's name"), timezone: value("its timezone") }, "the shop"),
  event: object(
    { id: value("the event's id"), type: value("its type"), occurredAt: value("when it happened (ISO instant: use `| date`)"), payload: open("its payload, as emitted") },
    "the event the rule reacted to (empty in a follow-up)"
  ),
  unsubscribeUrl: value("the one-click unsubscribe link (marketing mail)")
}

/**
 * What a deal's follow-up mail adds.
 *
 * @since 0.7.0
 * @category constructors
 */
export const followUp: Readonly<Record<string, Shape>> = {
  deal: object(
    {
      id: value("id"),
      title: value("title"),
      amount: value("the amount, formatted in the contact's locale (the call's `locale` when given)"),
      amountMinor: value("the amount in minor units (use `| money: deal.currency`)"),
      currency: value("currency"),
      stage: value("stage key"),
      stageLabel: value("stage label"),
      quoteRef: value("quote reference"),
      expectedCloseDate: value("expected close date (use `| date`)"),
      ownerId: value("owner"),
      fields: object({}, "custom fields")
    },
    "the deal followed up (in follow-ups only)"
  )
}

/**
 * What a double opt-in confirmation mail adds (the template named by the mail settings'
 * `confirmation.template`).
 *
 * @since 0.7.0
 * @category constructors
 */
export const confirmation: Readonly<Record<string, Shape>> = {
  confirmationUrl: value("the signed link that confirms the consent (the mail must show it)"),
  purpose: value("what the contact is asked to consent to (marketing, newsletter…)"),
  expiresAt: value("when the link stops working (ISO instant: use `| date`)")
}

/**
 * What each built-in event type adds, by type.
 *
 * @since 0.7.0
 * @category constructors
 */
export const byEventType: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  "order.placed": {
    order: object(
      { id: value("the shop's order id"), currency: value("the order's currency"), total: money("Σ quantity × unit price"), lines: list(line, "the order's lines") },
      "the order placed"
    )
  },
  "cart.abandoned": {
    cart: object({ id: value("the cart's id"), currency: value("its currency, when it has lines"), total: money("Σ quantity × unit price"), lines: list(line, "the cart's lines") }, "the cart left")
  },
  "quote.sent": {
    quote: object({ ref: value("the quote's reference"), amount: money("its amount"), dealId: value("its deal") }, "the quote sent")
  },
  "page.viewed": {
    page: object({ url: value("the page's URL") }, "the page viewed")
  }
}

/**
 * The variables a template may read for an event type (or, without one, for any: a template is
 * then accepted if each variable exists for some event type).
 *
 * @since 0.7.0
 * @category utils
 */
export const forEvent = (eventType?: string): Readonly<Record<string, Shape>> =>
  eventType === undefined
    ? Object.assign({}, common, followUp, confirmation, ...Object.values(byEventType))
    : { ...common, ...followUp, ...(byEventType[eventType] ?? {}) }

const MONEY_FIELDS = new Set(["amountMinor", "currency"])

const walk = (shape: Shape, path: ReadonlyArray<string>): boolean => {
  if (path.length === 0) return true
  const [head, ...rest] = path
  switch (shape._tag) {
    case "Open":
      return true
    case "Value":
      return head === "size" && rest.length === 0
    case "Money":
      return MONEY_FIELDS.has(head!) && rest.length === 0
    case "List":
      if (head === "size") return rest.length === 0
      return (head === "*" || head === "first" || head === "last" || /^\d+$/.test(head!)) && walk(shape.of, rest)
    case "Object": {
      const field = Object.prototype.hasOwnProperty.call(shape.fields, head!) ? shape.fields[head!] : undefined
      if (field !== undefined) return walk(field, rest)
      return head === "size" && rest.length === 0
    }
  }
}

/**
 * Whether a template may read this path (`["order", "lines", "*", "name"]`) for an event type (any
 * when absent), given the workspace's custom field definitions (their `entity` and `key`).
 *
 * @since 0.7.0
 * @category utils
 */
export const isKnown = (
  path: ReadonlyArray<string>,
  options: { readonly eventType?: string | undefined; readonly fields: ReadonlyArray<{ readonly entity: string; readonly key: string }> }
): boolean => {
  const [root, first, second, ...rest] = path
  if (root === undefined) return false
  if ((root === "contact" || root === "company" || root === "deal") && first === "fields") {
    if (second === undefined) return true
    // A field's value is a value or a list (multi-select): any path below it reads it.
    return second === "*" || options.fields.some((d) => d.entity === root && d.key === second) || (rest.length === 0 && second === "size")
  }
  const roots = forEvent(options.eventType)
  const shape = Object.prototype.hasOwnProperty.call(roots, root) ? roots[root] : undefined
  return shape !== undefined && walk(shape, path.slice(1))
}

/**
 * Every documented path for an event type (any when absent), as `"order.lines[].name"`, with what
 * it holds: what docs/templates.md lists.
 *
 * @since 0.7.0
 * @category utils
 */
export const documented = (eventType?: string): ReadonlyArray<{ readonly path: string; readonly doc: string }> => {
  const out: Array<{ path: string; doc: string }> = []
  const visit = (prefix: string, shape: Shape) => {
    out.push({ path: prefix, doc: shape.doc })
    if (shape._tag === "Object") for (const [key, child] of Object.entries(shape.fields)) visit(`${prefix}.${key}`, child)
    if (shape._tag === "List") visit(`${prefix}[]`, shape.of)
  }
  for (const [root, shape] of Object.entries(forEvent(eventType))) visit(root, shape)
  return out
}

// --- the values

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v)

const moneyOf = (v: unknown): { amountMinor: number; currency: string } | undefined =>
  isRecord(v) && typeof v["amountMinor"] === "number" && Number.isSafeInteger(v["amountMinor"]) && typeof v["currency"] === "string"
    ? { amountMinor: v["amountMinor"], currency: v["currency"] }
    : undefined

// Lines with their totals, exact in minor units (a total past the safe integers is left out).
const linesOf = (raw: unknown) => {
  const lines = Array.isArray(raw) ? raw.filter(isRecord) : []
  let sum = 0
  let currency: string | undefined
  const out = lines.map((l) => {
    const unit = moneyOf(l["unitPrice"])
    const quantity = typeof l["quantity"] === "number" && Number.isSafeInteger(l["quantity"]) ? l["quantity"] : undefined
    currency ??= unit?.currency
    const amount = unit !== undefined && quantity !== undefined ? unit.amountMinor * quantity : undefined
    const total = amount !== undefined && Number.isSafeInteger(amount) && unit !== undefined ? { amountMinor: amount, currency: unit.currency } : null
    sum = total === null || !Number.isSafeInteger(sum + total.amountMinor) ? Number.NaN : sum + total.amountMinor
    return { ...l, total }
  })
  return { lines: out, currency: currency ?? null, total: currency !== undefined && Number.isSafeInteger(sum) ? { amountMinor: sum, currency } : null }
}

/**
 * The values an event type adds (`order` for `order.placed`…), from the event's payload.
 *
 * @since 0.7.0
 * @category utils
 */
export const eventValues = (type: string, payload: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => {
  switch (type) {
    case "order.placed": {
      const { currency, lines, total } = linesOf(payload["lines"])
      return { order: { id: payload["orderId"] ?? null, currency, total, lines } }
    }
    case "cart.abandoned": {
      const { currency, lines, total } = linesOf(payload["lines"])
      return { cart: { id: payload["cartId"] ?? null, currency, total, lines } }
    }
    case "quote.sent":
      return { quote: { ref: payload["quoteRef"] ?? null, amount: moneyOf(payload["amount"]) ?? null, dealId: payload["dealId"] ?? null } }
    case "page.viewed":
      return { page: { url: payload["url"] ?? null } }
    default:
      return {}
  }
}

/**
 * The locale a contact's mail is written in: its `locale` custom field when it holds one (`fr`,
 * `fr-FR`, `en-GB`), else the language of the workspace's country (`FR` gives `fr-FR`), else `en`.
 *
 * @since 0.7.0
 * @category utils
 */
export const contactLocale = (contactFields: Readonly<Record<string, unknown>>, country: string | null): string => {
  const own = contactFields["locale"]
  if (typeof own === "string" && own.length <= 35) {
    try {
      const [canonical] = Intl.getCanonicalLocales(own.trim().replace(/_/g, "-"))
      if (canonical !== undefined) return canonical
    } catch {
      // not a locale: the workspace's applies
    }
  }
  if (country !== null && /^[A-Z]{2}$/.test(country)) {
    try {
      const guessed = new Intl.Locale(`und-${country}`).maximize()
      if (guessed.language !== "und") return `${guessed.language}-${country}`
    } catch {
      // an unknown region: English
    }
  }
  return "en"
}

/**
 * What {@link contextFor} needs, as plain JSON values (instants as ISO strings).
 *
 * @since 0.7.0
 * @category models
 */
export interface ContextInput {
  readonly workspace: { readonly name: string; readonly timezone: string; readonly country: string | null }
  readonly contact: Readonly<Record<string, unknown>>
  readonly company?: Readonly<Record<string, unknown>> | null
  readonly event?: { readonly id: string; readonly type: string; readonly occurredAt: string; readonly payload: Readonly<Record<string, unknown>> } | null
  readonly extra?: Readonly<Record<string, unknown>>
}

/**
 * The values a mail is rendered with: the contact (with its `locale` and its `timezone`, else the
 * workspace's), the company, the workspace, the event and what its type adds, and `extra`
 * (`unsubscribeUrl`, a follow-up's `deal`).
 *
 * @since 0.7.0
 * @category constructors
 */
export const contextFor = (input: ContextInput): RenderContext => {
  const fields = isRecord(input.contact["fields"]) ? input.contact["fields"] : {}
  const event = input.event ?? null
  return {
    contact: {
      ...input.contact,
      locale: contactLocale(fields, input.workspace.country),
      timezone: typeof input.contact["timezone"] === "string" ? input.contact["timezone"] : input.workspace.timezone
    },
    company: input.company ?? null,
    workspace: { name: input.workspace.name, timezone: input.workspace.timezone },
    event,
    ...(event === null ? {} : eventValues(event.type, event.payload)),
    ...input.extra
  }
}

/**
 * A sample event of a built-in type, for previews: an order of two lines, a cart, a quote, a page.
 * Other types get an empty payload.
 *
 * @since 0.7.0
 * @category constructors
 */
export const sampleEvent = (type: string, currency = "EUR"): { readonly type: string; readonly payload: Readonly<Record<string, unknown>> } => {
  const lines = [
    { sku: "SHOE-RED-38", name: "Red shoes", quantity: 1, unitPrice: { amountMinor: 8900, currency } },
    { sku: "SOCK-3P", name: "Socks (3 pairs)", quantity: 2, unitPrice: { amountMinor: 1250, currency } }
  ]
  switch (type) {
    case "order.placed":
      return { type, payload: { orderId: "SAMPLE-1001", lines } }
    case "cart.abandoned":
      return { type, payload: { cartId: "SAMPLE-CART", lines } }
    case "quote.sent":
      return { type, payload: { quoteRef: "Q-SAMPLE", amount: { amountMinor: 125000, currency } } }
    case "page.viewed":
      return { type, payload: { url: "https://shop.example/red-shoes" } }
    default:
      return { type, payload: {} }
  }
}
