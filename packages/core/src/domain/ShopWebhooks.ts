/**
 * The built-in mappers from shop platforms' webhook payloads to Rapport events: Shopify orders
 * (`orders/create`) and checkouts (`checkouts/create`, `checkouts/update`), WooCommerce orders
 * (`order.created`, `order.updated` once paid or on hold). Money is read from the platforms'
 * decimal strings into exact minor units; event ids are derived from the source and the order or
 * checkout in the signed payload, so a delivery sent again (even under a new delivery id) records
 * nothing twice.
 *
 * @since 0.6.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Phone } from "./Contact.js"
import type { EmitInput } from "./CrmEvent.js"
import { EmailFromString } from "./Email.js"
import type { ValidationIssue } from "./Errors.js"
import { Currency, parseDecimal } from "./Money.js"

/**
 * What a built-in mapper knows besides the payload.
 *
 * @since 0.6.0
 * @category models
 */
export interface MappingContext {
  /** The source's name (event and order ids start with it). */
  readonly source: string
  /** The request's headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The events a payload maps to (none: nothing to record), or every issue found in it (paths from
 * the body's root; `headers.<name>` for a header).
 *
 * @since 0.6.0
 * @category models
 */
export type Mapped = Either.Either<ReadonlyArray<EmitInput>, ReadonlyArray<ValidationIssue>>

type Json = Readonly<Record<string, unknown>>
type Path = ReadonlyArray<string | number>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A non-empty trimmed string, or a number written as text. */
const text = (u: unknown): string | undefined =>
  typeof u === "string" ? (u.trim() === "" ? undefined : u.trim()) : typeof u === "number" && Number.isFinite(u) ? String(u) : undefined

const clip = (s: string, max: number) => (s.length <= max ? s : s.slice(0, max))

const validEmail = (u: unknown): string | undefined => {
  const candidate = text(u)
  return candidate === undefined ? undefined : Option.getOrUndefined(Option.map(Schema.decodeUnknownOption(EmailFromString)(candidate), String))
}

/** What is known of the person, for a contact the event creates; names clipped, a phone only if valid. */
const contactHints = (channel: string, person: { readonly firstName?: unknown; readonly lastName?: unknown; readonly phone?: unknown }) => {
  const firstName = text(person.firstName)
  const lastName = text(person.lastName)
  const phone = Option.getOrUndefined(Schema.decodeUnknownOption(Phone)(text(person.phone)))
  return {
    ...(firstName === undefined ? {} : { firstName: clip(firstName, 200) }),
    ...(lastName === undefined ? {} : { lastName: clip(lastName, 200) }),
    ...(phone === undefined ? {} : { phone }),
    source: { channel }
  }
}

/** Reads fields of a payload, collecting every issue with its path. */
const reader = () => {
  const issues: Array<ValidationIssue> = []
  const fail = (path: Path, message: string): undefined => {
    issues.push({ path, message })
    return undefined
  }
  const currency = (u: unknown, path: Path): Currency | undefined => {
    const decoded = Schema.decodeUnknownOption(Currency)(u)
    return Option.isSome(decoded) ? decoded.value : fail(path, `must be an ISO 4217 currency code such as "EUR", got ${JSON.stringify(u) ?? "nothing"}`)
  }
  const money = (u: unknown, cur: Currency | undefined, path: Path): number | undefined => {
    if (cur === undefined) return undefined
    const raw = typeof u === "number" ? numberText(u) : u
    if (typeof raw !== "string") return fail(path, `must be a decimal amount such as "19.99", got ${JSON.stringify(u) ?? "nothing"}`)
    return Either.match(parseDecimal(raw, cur), { onLeft: (message) => fail(path, message), onRight: (n) => n })
  }
  const quantity = (u: unknown, path: Path): number | undefined =>
    typeof u === "number" && Number.isSafeInteger(u) && u >= 0 ? u : fail(path, `must be a whole number of items, got ${JSON.stringify(u) ?? "nothing"}`)
  return { issues, fail, currency, money, quantity }
}

/** A JSON number as the decimal it was written as (WooCommerce sends some prices as numbers). */
const numberText = (n: number): string | undefined => Option.getOrUndefined(Option.map(BigDecimal.safeFromNumber(n), BigDecimal.format))

/** An id from a Shopify object: its GraphQL id's number when given (exact beyond 2^53), else `id`. */
const shopifyId = (o: Json): string | undefined => {
  const gid = typeof o["admin_graphql_api_id"] === "string" ? /\/(\d+)$/.exec(o["admin_graphql_api_id"]) : null
  return gid !== null ? gid[1] : text(o["id"])
}

const lineItemsOf = (payload: Json, r: ReturnType<typeof reader>): ReadonlyArray<{ readonly item: Json; readonly index: number }> => {
  const items = payload["line_items"]
  if (!Array.isArray(items)) {
    r.fail(["line_items"], "must be a list of line items")
    return []
  }
  return items.flatMap((item, index) => {
    if (!isObject(item)) {
      r.fail(["line_items", index], "must be an object")
      return []
    }
    return [{ item, index }]
  })
}

const done = (r: ReturnType<typeof reader>, events: ReadonlyArray<EmitInput>): Mapped =>
  r.issues.length > 0 ? Either.left(r.issues) : Either.right(events)

const ignored: Mapped = Either.right([])

const instantOf = (u: unknown): string | undefined => text(u)

/** The `order.placed` event of a shop's order, its id derived from the signed payload's order id. */
const orderPlaced = (
  context: MappingContext,
  platform: "shopify" | "woocommerce",
  order: {
    readonly id: string | undefined
    readonly email: string | undefined
    readonly occurredAt: string | undefined
    readonly lines: NonNullable<EmitInput["payload"]>[string]
    readonly orderNumber: string | undefined
    readonly total: number | undefined
    readonly currency: string | undefined
    readonly contact: ReturnType<typeof contactHints>
  }
): EmitInput => ({
  id: `${context.source}:order:${order.id}`,
  type: "order.placed",
  email: order.email,
  ...(order.occurredAt === undefined ? {} : { occurredAt: order.occurredAt }),
  payload: {
    orderId: `${context.source}:${order.id}`,
    lines: order.lines,
    platform,
    platformOrderId: order.id ?? null,
    orderNumber: order.orderNumber ?? null,
    ...(order.total === undefined || order.currency === undefined ? {} : { total: { amountMinor: order.total, currency: order.currency } })
  },
  contact: order.contact
})

/** Shopify `orders/create` → `order.placed`. */
const shopifyOrder = (payload: Json, context: MappingContext): Mapped => {
  const r = reader()
  const email = validEmail(payload["email"]) ?? validEmail(payload["contact_email"]) ?? (isObject(payload["customer"]) ? validEmail(payload["customer"]["email"]) : undefined)
  // An order without a usable email (a point-of-sale sale to nobody known) names no contact.
  if (email === undefined) return ignored
  const id = shopifyId(payload) ?? r.fail(["id"], "must be the order's id")
  const cur = r.currency(payload["currency"], ["currency"])
  const lines = lineItemsOf(payload, r).flatMap(({ item, index }) => {
    const at = (key: string): Path => ["line_items", index, key]
    const quantity = r.quantity(item["quantity"], at("quantity"))
    const unit = r.money(item["price"], cur, at("price"))
    if (quantity === undefined || unit === undefined || cur === undefined || quantity === 0) return []
    const variant = text(item["variant_id"])
    const sku = text(item["sku"]) ?? (variant !== undefined ? `variant-${variant}` : `line-${shopifyId(item) ?? index}`)
    const name = text(item["name"]) ?? text(item["title"]) ?? sku
    return [{ sku: clip(sku, 100), name: clip(name, 300), quantity, unitPrice: { amountMinor: unit, currency: cur } }]
  })
  const total = payload["total_price"] === undefined ? undefined : r.money(payload["total_price"], cur, ["total_price"])
  const customer = isObject(payload["customer"]) ? payload["customer"] : {}
  const billing = isObject(payload["billing_address"]) ? payload["billing_address"] : {}
  const occurredAt = instantOf(payload["processed_at"]) ?? instantOf(payload["created_at"])
  return done(r, [
    orderPlaced(context, "shopify", {
      id,
      email,
      occurredAt,
      lines,
      orderNumber: text(payload["name"]),
      total,
      currency: cur,
      contact: contactHints("shopify", {
        firstName: customer["first_name"] ?? billing["first_name"],
        lastName: customer["last_name"] ?? billing["last_name"],
        phone: customer["phone"] ?? billing["phone"]
      })
    })
  ])
}

/** Shopify `checkouts/create` and `checkouts/update` → `cart.updated`. */
const shopifyCheckout = (payload: Json, context: MappingContext): Mapped => {
  const r = reader()
  const customer = isObject(payload["customer"]) ? payload["customer"] : {}
  // A checkout before the shopper typed an email belongs to nobody yet.
  const email = validEmail(payload["email"]) ?? validEmail(customer["email"])
  if (email === undefined) return ignored
  const token = text(payload["token"]) ?? r.fail(["token"], "must be the checkout's token")
  const cur = r.currency(payload["currency"], ["currency"])
  const lines = lineItemsOf(payload, r).flatMap(({ item, index }) => {
    const at = (key: string): Path => ["line_items", index, key]
    const quantity = r.quantity(item["quantity"], at("quantity"))
    const unit = r.money(item["price"], cur, at("price"))
    if (quantity === undefined || unit === undefined || cur === undefined || quantity === 0) return []
    const variant = text(item["variant_id"])
    const sku = text(item["sku"]) ?? (variant !== undefined ? `variant-${variant}` : `line-${index}`)
    const title = text(item["title"]) ?? sku
    const variantTitle = text(item["variant_title"])
    const name = variantTitle === undefined ? title : `${title} - ${variantTitle}`
    return [{ sku: clip(sku, 100), name: clip(name, 300), quantity, unitPrice: { amountMinor: unit, currency: cur } }]
  })
  const total = payload["total_price"] === undefined ? undefined : r.money(payload["total_price"], cur, ["total_price"])
  const updatedAt = instantOf(payload["updated_at"]) ?? instantOf(payload["created_at"])
  const billing = isObject(payload["billing_address"]) ? payload["billing_address"] : {}
  return done(r, [
    {
      // One event per state of the checkout: its token and when it last changed (both signed).
      id: `${context.source}:cart:${token}:${updatedAt ?? "created"}`,
      type: "cart.updated",
      email,
      ...(updatedAt === undefined ? {} : { occurredAt: updatedAt }),
      payload: {
        cartId: `${context.source}:${token}`,
        lines,
        platform: "shopify",
        ...(total === undefined || cur === undefined ? {} : { total: { amountMinor: total, currency: cur } }),
        checkoutUrl: text(payload["abandoned_checkout_url"]) ?? null,
        completed: text(payload["completed_at"]) !== undefined
      },
      contact: contactHints("shopify", {
        firstName: customer["first_name"] ?? billing["first_name"],
        lastName: customer["last_name"] ?? billing["last_name"],
        phone: customer["phone"] ?? billing["phone"]
      })
    }
  ])
}

/**
 * Maps a Shopify delivery by its `X-Shopify-Topic`: `orders/create` → `order.placed`,
 * `checkouts/create` and `checkouts/update` → `cart.updated`; other topics record nothing. Orders
 * and checkouts without a valid email record nothing either (no contact to attach them to).
 *
 * @since 0.6.0
 * @category constructors
 */
export const shopify = (payload: unknown, context: MappingContext): Mapped => {
  const topic = context.headers["x-shopify-topic"]
  if (topic === undefined) return Either.left([{ path: ["headers", "x-shopify-topic"], message: "is required: Shopify names the topic of every delivery" }])
  if (topic !== "orders/create" && topic !== "checkouts/create" && topic !== "checkouts/update") return ignored
  if (!isObject(payload)) return Either.left([{ path: [], message: `a ${topic} payload must be a JSON object` }])
  return topic === "orders/create" ? shopifyOrder(payload, context) : shopifyCheckout(payload, context)
}

// Orders that are paid, or awaiting a payment the shop accepted (bank transfer): placed.
// `pending` (awaiting payment), `checkout-draft`, `failed`, `cancelled` are not (yet).
const PLACED_STATUSES = new Set(["processing", "completed", "on-hold"])

/** `minor / quantity` rounded half away from zero, exactly (BigInt). */
const divideRounded = (minor: number, quantity: number): number => {
  const n = BigInt(minor)
  const d = BigInt(quantity)
  const sign = n < 0n ? -1n : 1n
  const abs = n * sign
  return Number(((abs * 2n + d) / (2n * d)) * sign) + 0
}

/** WooCommerce `order.created` / `order.updated` → `order.placed`, once the order is placed. */
const wooOrder = (payload: Json, context: MappingContext): Mapped => {
  const r = reader()
  const billing = isObject(payload["billing"]) ? payload["billing"] : {}
  const email = validEmail(billing["email"])
  const status = text(payload["status"])
  if (email === undefined || status === undefined || !PLACED_STATUSES.has(status)) return ignored
  const id = text(payload["id"]) ?? r.fail(["id"], "must be the order's id")
  const cur = r.currency(payload["currency"], ["currency"])
  const lines = lineItemsOf(payload, r).flatMap(({ item, index }) => {
    const at = (key: string): Path => ["line_items", index, key]
    const quantity = r.quantity(item["quantity"], at("quantity"))
    // The line's subtotal (before coupons, without tax) over its quantity: WooCommerce's `price`
    // is the same figure as a float.
    const subtotal = r.money(item["subtotal"], cur, at("subtotal"))
    if (quantity === undefined || subtotal === undefined || cur === undefined || quantity === 0) return []
    const product = text(item["product_id"])
    const variation = text(item["variation_id"])
    const sku = text(item["sku"]) ?? `product-${product ?? index}${variation === undefined || variation === "0" ? "" : `-${variation}`}`
    const name = text(item["name"]) ?? sku
    return [{ sku: clip(sku, 100), name: clip(name, 300), quantity, unitPrice: { amountMinor: divideRounded(subtotal, quantity), currency: cur } }]
  })
  const total = payload["total"] === undefined ? undefined : r.money(payload["total"], cur, ["total"])
  // WooCommerce writes GMT instants without an offset.
  const created = text(payload["date_created_gmt"])
  const occurredAt = created === undefined ? undefined : /(?:Z|[+-]\d{2}:?\d{2})$/i.test(created) ? created : `${created}Z`
  return done(r, [
    orderPlaced(context, "woocommerce", {
      id,
      email,
      occurredAt,
      lines,
      orderNumber: text(payload["number"]),
      total,
      currency: cur,
      contact: contactHints("woocommerce", { firstName: billing["first_name"], lastName: billing["last_name"], phone: billing["phone"] })
    })
  ])
}

/**
 * Maps a WooCommerce delivery by its `X-WC-Webhook-Topic`: `order.created` and `order.updated` →
 * `order.placed` once the order is `processing`, `completed` or `on-hold` (the event id comes from
 * the order, so the order is placed once however many updates follow). Other topics record
 * nothing; WooCommerce has no cart webhooks.
 *
 * @since 0.6.0
 * @category constructors
 */
export const wooCommerce = (payload: unknown, context: MappingContext): Mapped => {
  const topic = context.headers["x-wc-webhook-topic"]
  if (topic === undefined) return Either.left([{ path: ["headers", "x-wc-webhook-topic"], message: "is required: WooCommerce names the topic of every delivery" }])
  if (topic !== "order.created" && topic !== "order.updated") return ignored
  if (!isObject(payload)) return Either.left([{ path: [], message: `a ${topic} payload must be a JSON object` }])
  return wooOrder(payload, context)
}

/**
 * Maps a Standard Webhooks delivery whose body is a Rapport event (what `events.emit` accepts) or
 * a list of them.
 *
 * @since 0.6.0
 * @category constructors
 */
export const standard = (payload: unknown): Mapped =>
  // Unchecked here: events.emitMany decodes every item and names each issue by its index.
  Array.isArray(payload)
    ? Either.right(payload as ReadonlyArray<EmitInput>)
    : isObject(payload)
      ? Either.right([payload as EmitInput])
      : Either.left([{ path: [], message: "must be an event (a JSON object, as events.emit accepts) or a list of events; register a mapper for other payloads" }])
