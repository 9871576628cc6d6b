/**
 * Contacts: create, read, update (with optimistic concurrency), delete, list and find by email.
 * Every write validates custom fields against the workspace's definitions for the contact's
 * stage, and keeps emails and unique fields unique in the workspace.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Contact, ContactCreate, ContactListOptions, ContactUpdate, unknownSource } from "../domain/Contact.js"
import { StoredEvent } from "../domain/CrmEvent.js"
import { EmailFromString, emailKey } from "../domain/Email.js"
import { Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import { applyPatch, type FieldValues } from "../domain/FieldDefinition.js"
import { type CompanyId, ContactId, EventId, type WorkspaceId } from "../domain/Ids.js"
import { indexOf, initialStage } from "../domain/LifecycleDefinition.js"
import * as Page from "../domain/Page.js"
import type { Workspace } from "../domain/Workspace.js"
import { checkFields, claimUniqueValues, keep } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { EventRecorder } from "./EventRecorder.js"
import { Fields } from "./Fields.js"
import { Lifecycle } from "./Lifecycle.js"
import { Workspaces } from "./Workspaces.js"

/**
 * Options of `contacts.remove`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoveContactOptions {
  /** Refuse the deletion if the contact changed since this version. */
  readonly expectedVersion?: number | undefined
}

/**
 * The event that creates a contact, when an emitted event does (its id, time and payload are
 * used for the `contact.created` record).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreationEvent {
  readonly id: EventId
  readonly occurredAt: DateTime.Utc
  readonly payload: Readonly<Record<string, unknown>>
}

const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeEmail = decodeInput(EmailFromString, ["email"])


const withoutNulls = (values: Readonly<Record<string, unknown>>): FieldValues => applyPatch({}, values)

/**
 * @since 0.1.0
 * @category services
 */
export class Contacts extends Effect.Service<Contacts>()("@rapport/core/Contacts", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const workspaces = yield* Workspaces
    const fields = yield* Fields
    const lifecycle = yield* Lifecycle
    const recorder = yield* EventRecorder

    const getIn = (workspaceId: WorkspaceId, id: ContactId) =>
      Effect.flatMap(storage.contacts.get(workspaceId, id), Option.match({
        onNone: () => Effect.fail(NotFound.of("contact", id)),
        onSome: Effect.succeed
      }))


    const checkCompany = (workspaceId: WorkspaceId, companyId: CompanyId | null | undefined) =>
      companyId === null || companyId === undefined
        ? Effect.void
        : Effect.flatMap(storage.companies.get(workspaceId, companyId), (company) =>
            Option.isSome(company)
              ? Effect.void
              : Effect.fail(ValidationError.at(["companyId"], `no company with id "${companyId}" in this workspace`))
          )

    const checkEmailFree = (workspaceId: WorkspaceId, email: string | null | undefined, self?: ContactId) =>
      email === null || email === undefined
        ? Effect.void
        : Effect.flatMap(storage.contacts.findByEmail(workspaceId, email), (holder) =>
            Option.isSome(holder) && holder.value.id !== self
              ? Effect.fail(Conflict.unique("contact", "email", holder.value.id))
              : Effect.void
          )


    /** Creates a contact in the current transaction and records its `contact.created` event. */
    const insert = (workspace: Workspace, data: typeof ContactCreate.Type, creation?: CreationEvent) =>
      Effect.gen(function* () {
        const stage = data.stage ?? initialStage(workspace.lifecycle)
        const stageIndex = indexOf(workspace.lifecycle, stage)
        if (stageIndex < 0) {
          return yield* ValidationError.at(
            ["stage"],
            `unknown stage "${stage}"; stages are ${workspace.lifecycle.stages.map((s) => s.key).join(", ")}`
          )
        }
        const compiled = yield* fields.compiled(workspace, "contact")
        const values = yield* checkFields(compiled, withoutNulls(data.fields ?? {}), stageIndex)
        yield* checkCompany(workspace.id, data.companyId)
        yield* checkEmailFree(workspace.id, data.email)
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
        const { contact: progressed } = yield* recorder.record(event, contact)
        return progressed
      })

    /**
     * Creates a contact. Fails with `ValidationError` for bad input (naming every field), and
     * `Conflict` when the email or a unique field is already used in the workspace.
     */
    const create = Effect.fn("Contacts.create")(function* (input: ContactCreate) {
      const data = yield* decodeInput(ContactCreate)(input)
      const workspace = yield* workspaces.current
      return yield* storage.transaction(insert(workspace, data)).pipe(
        // The creation record's id derives from the new contact's UUID: it cannot already exist.
        Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`))
      )
    })

    /** The contact with this id, or `NotFound`. */
    const get = Effect.fn("Contacts.get")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      return yield* getIn((yield* workspaces.current).id, id)
    })

    /** The contact with this email (case-insensitive), if any. */
    const findByEmail = Effect.fn("Contacts.findByEmail")(function* (email: string) {
      const valid = yield* decodeEmail(email)
      return yield* storage.contacts.findByEmail((yield* workspaces.current).id, emailKey(valid))
    })

    /**
     * Changes a contact. `expectedVersion` must be the version the caller read: if someone else
     * changed the contact meanwhile, the update fails with `Conflict` and nothing is written.
     * Filling fields a stage requires may let automatic progression move the contact on.
     */
    const update = Effect.fn("Contacts.update")(function* (contactId: string, input: ContactUpdate) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ContactUpdate)(input)
      const workspace = yield* workspaces.current
      return yield* storage.transaction(
        Effect.gen(function* () {
          const current = yield* getIn(workspace.id, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("contact", id, data.expectedVersion, current.version)
          }
          const compiled = yield* fields.compiled(workspace, "contact")
          const merged = data.fields === undefined ? current.fields : applyPatch(current.fields, data.fields)
          const values = yield* checkFields(compiled, merged, indexOf(workspace.lifecycle, current.stage))
          if (data.companyId !== undefined && data.companyId !== current.companyId) yield* checkCompany(workspace.id, data.companyId)
          if (data.email !== undefined) yield* checkEmailFree(workspace.id, data.email, id)
          const next = new Contact({
            ...current,
            email: keep(data.email, current.email),
            firstName: keep(data.firstName, current.firstName),
            lastName: keep(data.lastName, current.lastName),
            phone: keep(data.phone, current.phone),
            companyId: keep(data.companyId, current.companyId),
            source: keep(data.source, current.source),
            firstSeenAt: keep(data.firstSeenAt, current.firstSeenAt),
            tags: keep(data.tags, current.tags),
            ownerId: keep(data.ownerId, current.ownerId),
            score: keep(data.score, current.score),
            timezone: keep(data.timezone, current.timezone),
            fields: values,
            version: current.version + 1,
            updatedAt: yield* DateTime.now
          })
          yield* storage.contacts.update(next, current.version)
          yield* claimUniqueValues(storage, workspace.id, "contact", compiled, id, current.fields, values)
          if (data.fields === undefined) return next
          const { contact } = yield* lifecycle.progress(next, undefined)
          return contact
        })
      )
    })

    /**
     * Deletes a contact and its timeline. Its events and orders stay (they are the shop's
     * history, and keep re-sent events from being processed again).
     */
    const remove = Effect.fn("Contacts.remove")(function* (contactId: string, options?: RemoveContactOptions) {
      const id = yield* decodeContactId(contactId)
      const workspace = yield* workspaces.current
      yield* storage.transaction(
        Effect.gen(function* () {
          const current = yield* getIn(workspace.id, id)
          const expected = options?.expectedVersion
          if (expected !== undefined && expected !== current.version) {
            return yield* Conflict.version("contact", id, expected, current.version)
          }
          yield* storage.timeline.removeForContact(workspace.id, id)
          yield* storage.uniqueValues.releaseRecord(workspace.id, "contact", id)
          yield* storage.contacts.remove(workspace.id, id)
        })
      )
    })

    /** Contacts in creation order, a page at a time, optionally filtered. */
    const list = Effect.fn("Contacts.list")(function* (options: ContactListOptions = {}) {
      const query = yield* decodeInput(ContactListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : Page.decodeCursor(query.cursor, 1)?.[0]
      if (query.cursor !== undefined && after === undefined) {
        return yield* ValidationError.at(["cursor"], "is not a cursor returned by contacts.list")
      }
      const rows = yield* storage.contacts.list((yield* workspaces.current).id, {
        stage: query.stage,
        tag: query.tag,
        companyId: query.companyId,
        ownerId: query.ownerId,
        after,
        limit: limit + 1
      })
      return Page.fromRows(rows, limit, (c) => [c.id])
    })

    /** Counts contacts per lifecycle stage, in the lifecycle's order (stages without contacts count 0). */
    const countByStage = Effect.fn("Contacts.countByStage")(function* () {
      const workspace = yield* workspaces.current
      const counts = new Map((yield* storage.contacts.countByStage(workspace.id)).map((c) => [c.stage, c.count]))
      return workspace.lifecycle.stages.map((s) => ({ stage: s.key, label: s.label, count: counts.get(s.key) ?? 0 }))
    })

    return { create, get, findByEmail, update, remove, list, countByStage, insert } as const
  }),
  dependencies: [Workspaces.Default, Fields.Default, Lifecycle.Default, EventRecorder.Default]
}) {}
