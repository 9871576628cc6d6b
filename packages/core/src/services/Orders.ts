/**
 * Orders read back as records. Orders are written by events only — `order.placed` creates one,
 * `order.cancelled` and `order.refunded` change it, each through the one recording path and once
 * per event id — and this service reads them: one order, a page of them filtered by contact,
 * period and status, and a contact's figures per currency (revenue net of refunds, order count,
 * first and last order, average basket).
 *
 * Cancelled orders count in neither revenue nor lifecycle progression; the contact's stage does
 * not move back when one is cancelled (a move back is a decision for `lifecycle.move`).
 *
 * @since 0.8.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { NotFound } from "../domain/Errors.js"
import { ContactId, OrderId } from "../domain/Ids.js"
import { Currency } from "../domain/Money.js"
import { CurrencyFigures, type Order, OrderListOptions, OrderSummary } from "../domain/Order.js"
import * as Page from "../domain/Page.js"
import { decodeInput } from "../internal/validation.js"
import { Storage } from "../ports/Storage.js"
import { CurrentWorkspace } from "./Workspaces.js"

const decodeOrderId = decodeInput(OrderId, ["orderId"])
const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeOptions = decodeInput(OrderListOptions)
const Position = Schema.Tuple(Schema.DateTimeUtc, OrderId)

/**
 * @since 0.8.0
 * @category services
 */
export class Orders extends Effect.Service<Orders>()("@rapport/core/Orders", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /** The order with its lines, status and refunds; NotFound when the workspace has none of this id. */
    const get = Effect.fn("Orders.get")(function* (orderId: string) {
      const id = yield* decodeOrderId(orderId)
      const found = yield* storage.orders.get(yield* CurrentWorkspace, id)
      return yield* Option.match(found, { onNone: () => Effect.fail(NotFound.of("order", id)), onSome: Effect.succeed })
    })

    /**
     * The workspace's orders, newest first (by `placedAt`, then id), a page at a time: of one
     * contact (`contactId`), placed in `[from, to)`, of one `status`.
     */
    const list = Effect.fn("Orders.list")(function* (options: OrderListOptions = {}) {
      const query = yield* decodeOptions(options)
      const limit = query.limit ?? Page.defaultLimit
      const before = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(Position, query.cursor, "orders.list")
      const rows = yield* storage.orders.list(yield* CurrentWorkspace, {
        contactId: query.contactId,
        from: query.from,
        to: query.to,
        status: query.status,
        before: before === undefined ? undefined : { placedAt: before[0], id: before[1] },
        limit: limit + 1
      })
      return Page.fromRows<Order>(rows, limit, (order) => [DateTime.formatIso(order.placedAt), order.id])
    })

    /**
     * A contact's figures per currency, computed by the database in one query: revenue (Σ total −
     * refunds over the orders not cancelled), order count, first and last order, and the average
     * basket (revenue ÷ count, rounded half up to a whole minor unit). NotFound when the contact
     * neither exists nor has orders.
     */
    const summary = Effect.fn("Orders.summary")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = yield* CurrentWorkspace
      const figures = yield* storage.orders.figures(workspaceId, id)
      // Only an empty answer needs the contact looked up (an unknown id is NotFound, not zero).
      if (figures.length === 0 && Option.isNone(yield* storage.contacts.get(workspaceId, id))) return yield* NotFound.of("contact", id)
      return new OrderSummary(
        { contactId: id, currencies: figures.map((f) => new CurrencyFigures({ ...f, currency: Currency.make(f.currency) }, true)) },
        true
      )
    })

    return {
      /** One order. */
      get,
      /** A page of orders, newest first, by contact, period and status. */
      list,
      /** A contact's revenue, order count, first and last order and average basket, per currency. */
      summary
    } as const
  })
}) {}
