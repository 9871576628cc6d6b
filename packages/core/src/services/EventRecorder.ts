/**
 * Records an event once it is tied to a contact: the event row (once per id), its timeline entry,
 * the order record for `order.placed`, then lifecycle progression. Both `events.emit` and
 * `contacts.create` (for `contact.created`) go through here, inside their transaction.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Contact } from "../domain/Contact.js"
import { OrderPlacedPayload, type StoredEvent, summarize } from "../domain/CrmEvent.js"
import { TimelineEntryId } from "../domain/Ids.js"
import { Order } from "../domain/Order.js"
import { TimelineEntry, type TimelineKind } from "../domain/TimelineEntry.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { Lifecycle } from "./Lifecycle.js"

/**
 * The event id was already stored (by a concurrent emission): the caller's transaction must roll
 * back and report a duplicate.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateEvent extends Data.TaggedError("DuplicateEvent")<{ readonly eventId: string }> {}

const kindOf = (type: string): TimelineKind =>
  type === "quote.sent" ? "quoteSent" : type === "order.placed" ? "order" : "event"

const directionOf = (type: string) =>
  type === "quote.sent" ? ("outbound" as const) : type === "contact.created" ? null : ("inbound" as const)

const decodeOrder = Schema.decodeUnknownEither(OrderPlacedPayload)

/**
 * @since 0.1.0
 * @category services
 */
export class EventRecorder extends Effect.Service<EventRecorder>()("@rapport/core/EventRecorder", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const lifecycle = yield* Lifecycle

    /** Records an event of this contact, in the caller's transaction; fails with DuplicateEvent if its id is stored. */
    const record = (event: StoredEvent, contact: Contact) =>
      Effect.gen(function* () {
        const inserted = yield* storage.events.insert(event)
        if (!inserted) return yield* new DuplicateEvent({ eventId: event.id })
        const ids = yield* IdGenerator
        yield* storage.timeline.append(
          new TimelineEntry({
            id: TimelineEntryId.make(yield* ids.next),
            workspaceId: event.workspaceId,
            contactId: contact.id,
            kind: kindOf(event.type),
            occurredAt: event.occurredAt,
            recordedAt: yield* DateTime.now,
            author: null,
            channel: null,
            direction: directionOf(event.type),
            summary: summarize(event.type, event.payload),
            reaction: null,
            payload: event.payload,
            eventId: event.id
          })
        )
        if (event.type === "order.placed") {
          const order = decodeOrder(event.payload)
          if (Either.isRight(order)) {
            const { orderId, lines } = order.right
            yield* storage.orders.insert(
              new Order({
                id: orderId,
                workspaceId: event.workspaceId,
                contactId: contact.id,
                eventId: event.id,
                placedAt: event.occurredAt,
                currency: lines[0]!.unitPrice.currency,
                totalMinor: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice.amountMinor, 0),
                lines
              })
            )
          }
        }
        return yield* lifecycle.progress(contact, event)
      })

    return { record } as const
  }),
  dependencies: [Lifecycle.Default]
}) {}
