// Recording what happens to a contact: an event (once per id) with its timeline entry, its order
// record and the lifecycle progression it causes; and the creation of a contact, which is itself
// recorded as a `contact.created` event. Both run inside the caller's transaction.
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Contact, type ContactCreate, unknownSource } from "../domain/Contact.js"
import { OrderPlacedPayload, StoredEvent, summarize } from "../domain/CrmEvent.js"
import { Conflict, ValidationError } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { type CompanyId, ContactId, EventId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import { indexOf, initialStage } from "../domain/LifecycleDefinition.js"
import { Order } from "../domain/Order.js"
import { TimelineEntry, type TimelineKind } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { StorageService } from "../ports/Storage.js"
import { emailKey } from "../domain/Email.js"
import { progress } from "./lifecycle.js"
import { companyLock, emailLock } from "./locks.js"
import { checkFields, claimUniqueValues, compiledFields } from "./records.js"

/** The event id is already stored: the caller's transaction rolls back and reports a duplicate. */
export class DuplicateEvent extends Data.TaggedError("DuplicateEvent")<{ readonly eventId: string }> {}

/** The event that creates a contact, when an emitted event does. */
export interface CreationEvent {
  readonly id: EventId
  readonly occurredAt: DateTime.Utc
  readonly payload: Readonly<Record<string, unknown>>
}

const kindOf = (type: string): TimelineKind => (type === "quote.sent" ? "quoteSent" : type === "order.placed" ? "order" : "event")
const directionOf = (type: string) => (type === "quote.sent" ? ("outbound" as const) : type === "contact.created" ? null : ("inbound" as const))
const decodeOrder = Schema.decodeUnknownEither(OrderPlacedPayload)

/** Stores an event of this contact with everything it causes; DuplicateEvent if its id is stored. */
export const recordEvent = (storage: StorageService, workspace: Workspace, event: StoredEvent, contact: Contact) =>
  Effect.gen(function* () {
    if (!(yield* storage.events.insert(event))) return yield* new DuplicateEvent({ eventId: event.id })
    yield* storage.timeline.append(
      new TimelineEntry({
        id: TimelineEntryId.make(yield* (yield* IdGenerator).next),
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
    const order = event.type === "order.placed" ? decodeOrder(event.payload) : undefined
    if (order !== undefined && Either.isRight(order)) {
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
    return yield* progress(storage, workspace, contact, event)
  })

/** Fails with ValidationError when the company is not one of the workspace's. */
export const checkCompany = (storage: StorageService, workspaceId: WorkspaceId, companyId: CompanyId | null | undefined) =>
  companyId === null || companyId === undefined
    ? Effect.void
    : Effect.zipRight(
        companyLock(storage, workspaceId, companyId, "shared"),
        Effect.flatMap(storage.companies.get(workspaceId, companyId), (company) =>
          Option.isSome(company) ? Effect.void : Effect.fail(ValidationError.at(["companyId"], `no company with id "${companyId}" in this workspace`))
        )
      )

/** Fails with Conflict when another contact of the workspace has this email. */
export const checkEmailFree = (storage: StorageService, workspaceId: WorkspaceId, email: string | null | undefined, self?: ContactId) =>
  email === null || email === undefined
    ? Effect.void
    : Effect.flatMap(storage.contacts.findByEmail(workspaceId, email), (holder) =>
        Option.isSome(holder) && holder.value.id !== self ? Effect.fail(Conflict.unique("contact", "email", holder.value.id)) : Effect.void
      )

/** Creates a contact and records its `contact.created` event (the emitted one, when given). */
export const insertContact = (storage: StorageService, workspace: Workspace, data: typeof ContactCreate.Type, creation?: CreationEvent) =>
  Effect.gen(function* () {
    const stage = data.stage ?? initialStage(workspace.lifecycle)
    const stageIndex = indexOf(workspace.lifecycle, stage)
    if (stageIndex < 0) {
      return yield* ValidationError.at(["stage"], `unknown stage "${stage}"; stages are ${workspace.lifecycle.stages.map((s) => s.key).join(", ")}`)
    }
    const compiled = yield* compiledFields(storage, workspace, "contact")
    const values = yield* checkFields(compiled, applyPatch({}, data.fields ?? {}), stageIndex)
    if (data.email !== null && data.email !== undefined) yield* emailLock(storage, workspace.id, emailKey(data.email))
    yield* checkEmailFree(storage, workspace.id, data.email)
    yield* checkCompany(storage, workspace.id, data.companyId)
    const now = yield* DateTime.now
    const id = ContactId.make(yield* (yield* IdGenerator).next)
    const contact = new Contact({
      id,
      workspaceId: workspace.id,
      email: data.email ?? null,
      firstName: data.firstName ?? null,
      lastName: data.lastName ?? null,
      phone: data.phone ?? null,
      companyId: data.companyId ?? null,
      source: data.source ?? unknownSource,
      firstSeenAt: data.firstSeenAt ?? creation?.occurredAt ?? now,
      stage,
      tags: data.tags ?? [],
      ownerId: data.ownerId ?? null,
      score: data.score ?? 0,
      timezone: data.timezone ?? null,
      fields: values,
      version: 1,
      createdAt: now,
      updatedAt: now
    })
    yield* storage.contacts.insert(contact)
    yield* claimUniqueValues(storage, workspace.id, "contact", compiled, id, {}, values)
    const event = new StoredEvent({
      id: creation?.id ?? EventId.make(`contact.created:${id}`),
      workspaceId: workspace.id,
      type: "contact.created",
      contactId: id,
      // The creation record sits where the contact's history starts (an import can date it back).
      occurredAt: creation?.occurredAt ?? contact.firstSeenAt,
      receivedAt: now,
      payload: creation?.payload ?? { source: { channel: contact.source.channel, campaign: contact.source.campaign } }
    })
    const { contact: progressed } = yield* recordEvent(storage, workspace, event, contact)
    return progressed
  })
