/**
 * Orders, kept as records (not only as events) so analytics can count customers, revenue and
 * margin per product.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ContactId, EventId, OrderId, WorkspaceId } from "./Ids.js"
import { Currency, MinorUnits, Money } from "./Money.js"
import { Instant, InstantInput } from "./Time.js"
import { Text } from "./Json.js"

/**
 * One line of an order: `unitPrice` and the optional `unitCost` (for margins) are Money.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OrderLine = Schema.Struct({
  sku: Text(100),
  name: Text(300),
  quantity: Schema.Int.pipe(Schema.positive({ message: () => "must be a whole number above 0" })),
  unitPrice: Money,
  unitCost: Schema.optional(Money)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface OrderLine extends Schema.Schema.Type<typeof OrderLine> {}

/**
 * Where an order stands: `placed`, or `cancelled` (it then counts in neither revenue nor
 * lifecycle progression).
 *
 * @since 0.8.0
 * @category schemas
 */
export const OrderStatus = Schema.Literal("placed", "cancelled")

/**
 * @since 0.8.0
 * @category models
 */
export type OrderStatus = typeof OrderStatus.Type

/**
 * @since 0.1.0
 * @category models
 */
export class Order extends Schema.Class<Order>("Order")({
  id: OrderId,
  workspaceId: WorkspaceId,
  contactId: ContactId,
  eventId: EventId,
  placedAt: Instant,
  currency: Currency,
  /** Σ quantity × unit price, in minor units. */
  totalMinor: Schema.Int,
  lines: Schema.Array(OrderLine),
  /**
   * `placed`, or `cancelled` once an `order.cancelled` event was recorded for it. The constructor
   * makes it `placed` when not given (so do the three fields below: code written before 0.8.0
   * keeps building orders as it did).
   *
   * @since 0.8.0
   */
  status: Schema.propertySignature(OrderStatus).pipe(Schema.withConstructorDefault(() => "placed" as const)),
  /**
   * Σ of the order's refunds (`order.refunded` events), in minor units of its currency; never
   * more than `totalMinor`.
   *
   * @since 0.8.0
   */
  refundedMinor: Schema.propertySignature(Schema.Int.pipe(Schema.nonNegative())).pipe(Schema.withConstructorDefault(() => 0)),
  /**
   * When it was cancelled (the `order.cancelled` event's `occurredAt`); `null` while placed.
   *
   * @since 0.8.0
   */
  cancelledAt: Schema.propertySignature(Schema.NullOr(Instant)).pipe(Schema.withConstructorDefault(() => null))
}) {}

/**
 * The payload of `order.cancelled`: the id of an order placed earlier by the same contact, and an
 * optional reason. A cancelled order no longer counts in revenue nor in the order counts of
 * lifecycle progression; the contact's stage does not move back.
 *
 * @since 0.8.0
 * @category schemas
 */
export const OrderCancelledPayload = Schema.Struct(
  { orderId: OrderId, reason: Schema.optional(Text(500)) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * The payload of `order.refunded`: the order, the amount given back (above 0, in the order's
 * currency) and an optional reason. An order may be refunded several times; the refunds together
 * never exceed its total.
 *
 * @since 0.8.0
 * @category schemas
 */
export const OrderRefundedPayload = Schema.Struct(
  {
    orderId: OrderId,
    amount: Schema.Struct({
      amountMinor: MinorUnits.pipe(Schema.positive({ message: () => "a refund is a whole number of minor units above 0" })),
      currency: Currency
    }),
    reason: Schema.optional(Text(500))
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * What `orders.list` takes: the contact, the period `[from, to)` on `placedAt` (ISO-8601
 * instants), the status, and paging (newest first).
 *
 * @since 0.8.0
 * @category schemas
 */
export const OrderListOptions = Schema.Struct({
  contactId: Schema.optional(ContactId),
  from: Schema.optional(InstantInput),
  to: Schema.optional(InstantInput),
  status: Schema.optional(OrderStatus),
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 200)))
})

/**
 * @since 0.8.0
 * @category models
 */
export type OrderListOptions = typeof OrderListOptions.Encoded

/**
 * A contact's figures in one currency: `revenueMinor` is Σ (total − refunds) over its orders not
 * cancelled, `orders` how many there are (fully refunded ones included), the first and last
 * `placedAt`, and `averageBasketMinor` = revenue ÷ orders rounded half up to a whole minor unit.
 *
 * @since 0.8.0
 * @category models
 */
export class CurrencyFigures extends Schema.Class<CurrencyFigures>("CurrencyFigures")({
  currency: Currency,
  revenueMinor: Schema.Int,
  orders: Schema.Int,
  firstOrderAt: Instant,
  lastOrderAt: Instant,
  averageBasketMinor: Schema.Int
}) {}

/**
 * What `orders.summary` returns: the contact's figures per currency (by currency code), none when
 * it has no order that is not cancelled.
 *
 * @since 0.8.0
 * @category models
 */
export class OrderSummary extends Schema.Class<OrderSummary>("OrderSummary")({
  contactId: ContactId,
  currencies: Schema.Array(CurrencyFigures)
}) {}
