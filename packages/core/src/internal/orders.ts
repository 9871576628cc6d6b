// Cancellations and refunds, as recording applies them (issue 16): an `order.cancelled` or
// `order.refunded` event names an order the same contact placed earlier, and changes that order
// record in the transaction that stores the event. The event id makes it idempotent (a replayed
// event is a duplicate before it gets here). What cannot apply (no such order, another contact's,
// already cancelled, another currency, refunds past the total) is a ValidationError naming the
// payload's field, and the event is not stored. A cancellation does not move the contact back a
// stage: it only stops the order from counting in later progression and in revenue.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { StoredEvent } from "../domain/CrmEvent.js"
import { type StorageError, ValidationError } from "../domain/Errors.js"
import { type Order, OrderCancelledPayload, OrderRefundedPayload } from "../domain/Order.js"
import type { StorageService } from "../ports/Storage.js"
import { decodePart } from "./validation.js"

const decodeCancelled = decodePart(OrderCancelledPayload)
const decodeRefunded = decodePart(OrderRefundedPayload)

/** Whether recording this event changes an order record. */
export const adjustsOrder = (event: StoredEvent): boolean => event.type === "order.cancelled" || event.type === "order.refunded"

const orderPath = ["payload", "orderId"] as const

/** The order the event names, which must be its contact's. */
const orderFor = (storage: StorageService, event: StoredEvent, orderId: string) =>
  Effect.flatMap(storage.orders.get(event.workspaceId, orderId), (found): Effect.Effect<Order, ValidationError> => {
    if (Option.isNone(found)) {
      return Effect.fail(ValidationError.at(orderPath, `no order "${orderId}" in this workspace (emit its order.placed event first)`))
    }
    if (found.value.contactId !== event.contactId) {
      return Effect.fail(ValidationError.at(orderPath, `order "${orderId}" was placed by another contact (${found.value.contactId})`))
    }
    return Effect.succeed(found.value)
  })

const alreadyCancelled = (order: Order) =>
  ValidationError.at(orderPath, `order "${order.id}" is already cancelled${order.cancelledAt === null ? "" : ` (at ${DateTime.formatIso(order.cancelledAt)})`}`)

const tooMuch = (order: Order, amountMinor: number) =>
  ValidationError.at(
    ["payload", "amount", "amountMinor"],
    `refunds of order "${order.id}" cannot exceed its total of ${order.totalMinor} minor units: ${order.refundedMinor} already refunded, ${order.totalMinor - order.refundedMinor} left, ${amountMinor} asked`
  )

/**
 * Applies a cancellation or a refund to its order (in the caller's transaction); error paths start
 * with `at` (the event's place in a batch).
 */
export const adjustOrder = (storage: StorageService, event: StoredEvent, at: ReadonlyArray<string | number> = []): Effect.Effect<void, ValidationError | StorageError> =>
  at.length === 0
    ? apply(storage, event)
    : Effect.mapError(apply(storage, event), (error) =>
        error._tag === "ValidationError" ? ValidationError.fromIssues(error.issues.map((i) => ({ path: [...at, ...i.path], message: i.message }))) : error
      )

const apply = (storage: StorageService, event: StoredEvent): Effect.Effect<void, ValidationError | StorageError> =>
  Effect.gen(function* () {
    const ws = event.workspaceId
    if (event.type === "order.cancelled") {
      const payload = decodeCancelled(event.payload, ["payload"])
      if (Either.isLeft(payload)) return yield* payload.left
      const order = yield* orderFor(storage, event, payload.right.orderId)
      if (order.status === "cancelled") return yield* alreadyCancelled(order)
      // Another writer may have cancelled it since the read: the UPDATE only changes a placed order.
      if (!(yield* storage.orders.cancel(ws, order.id, event.occurredAt))) {
        return yield* alreadyCancelled(Option.getOrElse(yield* storage.orders.get(ws, order.id), () => order))
      }
      return
    }
    const payload = decodeRefunded(event.payload, ["payload"])
    if (Either.isLeft(payload)) return yield* payload.left
    const { amount, orderId, reason } = payload.right
    const order = yield* orderFor(storage, event, orderId)
    if (amount.currency !== order.currency) {
      return yield* ValidationError.at(["payload", "amount", "currency"], `must be the currency of order "${order.id}" (${order.currency}), got ${amount.currency}`)
    }
    if (amount.amountMinor > order.totalMinor - order.refundedMinor) return yield* tooMuch(order, amount.amountMinor)
    const refunded = yield* storage.orders.refund(ws, { orderId: order.id, eventId: event.id, amountMinor: amount.amountMinor, reason: reason ?? null, refundedAt: event.occurredAt })
    // A concurrent refund took what was left since the read: report against the order as it is now.
    if (!refunded) return yield* tooMuch(Option.getOrElse(yield* storage.orders.get(ws, order.id), () => order), amount.amountMinor)
  })
