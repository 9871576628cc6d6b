/**
 * Events: what customers and the business do (`order.placed`, `quote.sent`, `cart.abandoned`…).
 * Emitting one stores it once (idempotent by id), records it on the contact's timeline, and lets
 * the lifecycle react. Built-in types have a payload Schema; custom types carry any JSON object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { EmailFromString } from "./Email.js"
import { ContactId, EventId, OrderId, WorkspaceId } from "./Ids.js"
import { EventType } from "./LifecycleDefinition.js"
import { Money } from "./Money.js"
import { OrderCancelledPayload, OrderLine, OrderRefundedPayload } from "./Order.js"
import { Instant, InstantInput } from "./Time.js"
import { PersonName, Phone, SourceInput } from "./Contact.js"
import { JsonObject } from "./Json.js"

export {
  /**
   * @since 0.1.0
   * @category schemas
   */
  EventType
} from "./LifecycleDefinition.js"

const Payload = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The payload of `order.placed`: the order id from the shop and its lines (all in one currency).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OrderPlacedPayload = Schema.Struct(
  { orderId: OrderId, lines: Schema.Array(OrderLine).pipe(Schema.minItems(1, { message: () => "an order has at least one line" })) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).pipe(
  Schema.filter((order) => {
    const currency = order.lines[0]!.unitPrice.currency
    const index = order.lines.findIndex(
      (line) => line.unitPrice.currency !== currency || (line.unitCost !== undefined && line.unitCost.currency !== currency)
    )
    return index < 0 || { path: ["lines", index], message: `all lines of an order share one currency (${currency})` }
  })
)

/**
 * The payload of `quote.sent`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const QuoteSentPayload = Schema.Struct(
  {
    quoteRef: Schema.optional(Schema.String),
    amount: Schema.optional(Money),
    dealId: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * The payload of `cart.abandoned`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CartAbandonedPayload = Schema.Struct(
  { cartId: Schema.String.pipe(Schema.minLength(1)), lines: Schema.optional(Schema.Array(OrderLine)) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * The payload of `page.viewed`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PageViewedPayload = Schema.Struct(
  { url: Schema.String.pipe(Schema.minLength(1)) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

// `contact.stage_changed` is recorded by Rapport with every move, in the transaction that makes it;
// one emitted by hand would tell rules and webhook subscribers of a move that did not happen.
const RecordedByRapport = Payload.pipe(
  Schema.filter(() => "contact.stage_changed is recorded by Rapport whenever a contact's stage changes: move the contact with lifecycle.move instead")
)

// Bounces and complaints change what may be sent to an address: they are recorded with that change
// by consent.recordMailFeedback (or a provider's webhook), never emitted alone.
const RecordedWithFeedback = (type: string) =>
  Payload.pipe(
    Schema.filter(() => `${type} is recorded by consent.recordMailFeedback (or a Brevo or Mailjet webhook source), which also flags the address or withdraws consent: call it instead`)
  )

/**
 * Payload Schemas of the built-in event types; other types accept any JSON object.
 * `contact.stage_changed` cannot be emitted: Rapport records it with every stage change.
 *
 * @since 0.1.0
 * @category schemas
 */
export const builtInPayloads: Readonly<Record<string, Schema.Schema<any, any>>> = {
  "contact.created": Payload,
  "contact.stage_changed": RecordedByRapport,
  "mail.bounced": RecordedWithFeedback("mail.bounced"),
  "mail.complained": RecordedWithFeedback("mail.complained"),
  "quote.sent": QuoteSentPayload,
  "order.placed": OrderPlacedPayload,
  "order.cancelled": OrderCancelledPayload,
  "order.refunded": OrderRefundedPayload,
  "email.opened": Payload,
  "cart.abandoned": CartAbandonedPayload,
  "page.viewed": PageViewedPayload
}

/**
 * What `events.emit` accepts. Name the contact by `contactId` or by `email`; an email not yet
 * known creates the contact (in the first lifecycle stage), using `contact` for its name,
 * phone, source and custom fields. Without `id`, one is generated and the event cannot be recognised if sent again.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmitInput = Schema.Struct({
  id: Schema.optional(EventId),
  type: EventType,
  contactId: Schema.optional(ContactId),
  email: Schema.optional(EmailFromString),
  occurredAt: Schema.optional(InstantInput),
  payload: Schema.optional(JsonObject),
  contact: Schema.optional(
    Schema.Struct({
      firstName: Schema.optional(PersonName),
      lastName: Schema.optional(PersonName),
      phone: Schema.optional(Schema.NullOr(Phone)),
      source: Schema.optional(SourceInput),
      fields: Schema.optional(JsonObject)
    })
  )
}).pipe(
  Schema.filter((e) =>
    e.contactId !== undefined || e.email !== undefined || { path: ["contactId"], message: "give the contact's contactId or email" }
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type EmitInput = typeof EmitInput.Encoded

/**
 * An event as stored.
 *
 * @since 0.1.0
 * @category models
 */
export class StoredEvent extends Schema.Class<StoredEvent>("StoredEvent")({
  id: EventId,
  workspaceId: WorkspaceId,
  type: EventType,
  contactId: ContactId,
  occurredAt: Instant,
  receivedAt: Instant,
  payload: Payload
}) {}

/**
 * A one-line description of an event for timelines.
 *
 * @since 0.1.0
 * @category utils
 */
export const summarize = (type: string, payload: Readonly<Record<string, unknown>>): string => {
  switch (type) {
    case "contact.created":
      return "Contact created"
    case "quote.sent":
      return typeof payload["quoteRef"] === "string" ? `Quote ${payload["quoteRef"]} sent` : "Quote sent"
    case "order.placed":
      return `Order ${String(payload["orderId"])} placed`
    case "order.cancelled":
      return `Order ${String(payload["orderId"])} cancelled`
    case "order.refunded": {
      const amount = payload["amount"] as { readonly amountMinor?: unknown; readonly currency?: unknown } | undefined
      return `Order ${String(payload["orderId"])} refunded (${String(amount?.amountMinor)} minor units of ${String(amount?.currency)})`
    }
    case "email.opened":
      return "Email opened"
    case "cart.abandoned":
      return "Cart abandoned"
    case "page.viewed":
      return `Viewed ${String(payload["url"])}`
    case "consent.granted":
      return `Consent given for ${String(payload["purpose"])} mail`
    case "consent.withdrawn":
      return `Consent withdrawn for ${String(payload["purpose"])} mail`
    case "consent.unsubscribed":
      return "Unsubscribed from all marketing mail"
    case "consent.requested":
      return `Consent requested for ${String(payload["purpose"])} mail (confirmation sent)`
    case "mail.bounced":
      return `${payload["kind"] === "soft" ? "Soft" : "Hard"} bounce of ${String(payload["email"])}${typeof payload["reason"] === "string" ? `: ${payload["reason"].slice(0, 200)}` : ""}`
    case "mail.complained":
      return `Spam complaint from ${String(payload["email"])}: marketing mail stopped`
    default:
      return type
  }
}
