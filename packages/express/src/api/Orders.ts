/**
 * Orders over HTTP, read-only (orders are written by events: `order.placed`, `order.cancelled`,
 * `order.refunded` through `POST /events`): `GET /orders` lists them newest first by contact,
 * period (`from` inclusive, `to` exclusive, on `placedAt`) and status; `GET /orders/{orderId}` is
 * one order with its lines, status and refunded sum; `GET /contacts/{contactId}/orders/summary`
 * is a contact's revenue, order count, first and last order and average basket per currency.
 * Every role may read them.
 *
 * @since 0.8.0
 */
import { Ids, Order, Orders } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { json, page } from "../internal/http.js"
import { apiOf, Authorized, type GroupHandlers, NotFoundResponse, pageOf, queryOf, route } from "../internal/routes.js"

const OrderPath = Schema.Struct({ orderId: Ids.OrderId })
const ContactPath = Schema.Struct({ contactId: Ids.ContactId })

/**
 * The orders routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("orders")
  .add(
    HttpApiEndpoint.get("list", "/orders")
      .setUrlParams(queryOf(Order.OrderListOptions))
      .addSuccess(pageOf(Order.Order))
      .annotateContext(route("orders.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/orders/:orderId")
      .setPath(OrderPath)
      .addSuccess(Order.Order)
      .addError(NotFoundResponse)
      .annotateContext(route("orders.get"))
  )
  .add(
    HttpApiEndpoint.get("summary", "/contacts/:contactId/orders/summary")
      .setPath(ContactPath)
      .addSuccess(Order.OrderSummary)
      .addError(NotFoundResponse)
      .annotateContext(route("orders.summary"))
  )
  .middleware(Authorized)

/**
 * The orders routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"orders"> = HttpApiBuilder.group(apiOf(group), "orders", (routes) =>
  routes
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Orders.Orders, (service) => service.list(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Orders.Orders, (service) => service.get(path.orderId)), (order) => json(order)))
    .handleRaw("summary", ({ path }) => Effect.map(Effect.flatMap(Orders.Orders, (service) => service.summary(path.contactId)), (summary) => json(summary)))
)
