/**
 * Orders, kept as records (not only as events) so analytics can count customers, revenue and
 * margin per product.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ContactId, EventId, OrderId, WorkspaceId } from "./Ids.js"
import { Currency, Money } from "./Money.js"
import { Instant } from "./Time.js"
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
  lines: Schema.Array(OrderLine)
}) {}
