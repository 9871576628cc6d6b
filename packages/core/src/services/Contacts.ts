/**
 * Contacts: create, read, update (with optimistic concurrency), delete, list and find by email.
 * Every write validates custom fields against the workspace's definitions for the contact's
 * stage, and keeps emails and unique fields unique in the workspace.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Contact, ContactCreate, ContactListOptions, ContactUpdate } from "../domain/Contact.js"
import { EmailFromString, emailKey } from "../domain/Email.js"
import { Conflict, ValidationError } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { ContactId } from "../domain/Ids.js"
import { indexOf } from "../domain/LifecycleDefinition.js"
import * as Page from "../domain/Page.js"
import { progress } from "../internal/lifecycle.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { checkCompany, checkEmailFree, insertContact, insertContacts } from "../internal/recording.js"
import { checkFields, claimUniqueValues, compiledFields, getContact, keep } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"
import type { Triggered } from "../domain/Rule.js"
import { JobSignal } from "../internal/signal.js"

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
 * The most contacts `createMany` takes in one call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const maxBatch = 5000

const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeEmail = decodeInput(EmailFromString, ["email"])
const decodeListOptions = decodeInput(ContactListOptions)

/**
 * @since 0.1.0
 * @category services
 */
export class Contacts extends Effect.Service<Contacts>()("@rapport/core/Contacts", {
  dependencies: [JobSignal.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const signal = yield* JobSignal
    // Rules on contact.created queued actions due now: wake a running dispatcher.
    const wake = (triggered: ReadonlyArray<Triggered>) => (triggered.some((t) => !t.delayed) ? signal.notify : Effect.void)

    /**
     * Creates a contact. Fails with `ValidationError` for bad input (naming every field), and
     * `Conflict` when the email or a unique field is already used in the workspace.
     */
    const create = Effect.fn("Contacts.create")(function* (input: ContactCreate) {
      const data = yield* decodeInput(ContactCreate)(input)
      const triggered: Array<Triggered> = []
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return yield* insertContact(storage, yield* ensureWorkspace(storage), data, undefined, triggered)
          })
        )
        .pipe(
          // The creation record's id derives from the new contact's UUID: it cannot already exist.
          Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`)),
          Effect.tap(() => wake(triggered))
        )
    })

    /**
     * Creates up to {@link maxBatch} contacts at once, all or none: every input is checked first
     * and every issue reported (paths start with the item's index), then the contacts are written
     * with a few statements. An email or unique value already used fails with `Conflict`.
     */
    const createMany = Effect.fn("Contacts.createMany")(function* (inputs: ReadonlyArray<ContactCreate>) {
      if (!Array.isArray(inputs)) return yield* ValidationError.at([], "expected a list of contacts")
      if (inputs.length > maxBatch) return yield* ValidationError.at([], `at most ${maxBatch} contacts per call (got ${inputs.length}); split the list`)
      if (inputs.length === 0) return []
      const decoded = yield* Effect.forEach(inputs, (input, i) => Effect.either(decodeInput(ContactCreate, [i])(input)))
      // Inputs that decode are checked against the workspace too, so every issue comes back at once.
      const issues = decoded.flatMap((d) => (Either.isLeft(d) ? d.left.issues : []))
      const items = decoded.flatMap((d, i) => (Either.isRight(d) ? [{ data: d.right, path: [i] }] : []))
      const triggered: Array<Triggered> = []
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return yield* insertContacts(storage, yield* ensureWorkspace(storage), items, issues, triggered)
          })
        )
        .pipe(
          Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`)),
          Effect.tap(() => wake(triggered))
        )
    })

    /** The contact with this id, or `NotFound`. */
    const get = Effect.fn("Contacts.get")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      return yield* getContact(storage, (yield* readWorkspace(storage)).id, id)
    })

    /** The contact with this email (case-insensitive), if any. */
    const findByEmail = Effect.fn("Contacts.findByEmail")(function* (email: string) {
      const valid = yield* decodeEmail(email)
      return yield* storage.contacts.findByEmail((yield* readWorkspace(storage)).id, emailKey(valid))
    })

    /**
     * Changes a contact. `expectedVersion` must be the version the caller read: if someone else
     * changed the contact meanwhile, the update fails with `Conflict` and nothing is written.
     * Filling fields a stage requires may let automatic progression move the contact on.
     */
    const update = Effect.fn("Contacts.update")(function* (contactId: string, input: ContactUpdate) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ContactUpdate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          yield* contactLock(storage, workspace.id, id)
          const current = yield* getContact(storage, workspace.id, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("contact", id, data.expectedVersion, current.version)
          }
          const compiled = yield* compiledFields(storage, workspace, "contact")
          const merged = data.fields === undefined ? current.fields : applyPatch(current.fields, data.fields)
          const values = yield* checkFields(compiled, merged, indexOf(workspace.lifecycle, current.stage))
          if (data.companyId !== undefined && data.companyId !== current.companyId) yield* checkCompany(storage, workspace.id, data.companyId)
          if (data.email !== undefined) yield* checkEmailFree(storage, workspace.id, data.email, id)
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
          return (yield* progress(storage, workspace, next, undefined)).contact
        })
      )
    })

    /**
     * Deletes a contact and its timeline. Its events and orders stay (they are the shop's
     * history, and keep re-sent events from being processed again).
     */
    const remove = Effect.fn("Contacts.remove")(function* (contactId: string, options?: RemoveContactOptions) {
      const id = yield* decodeContactId(contactId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* contactLock(storage, workspaceId, id)
          const current = yield* getContact(storage, workspaceId, id)
          const expected = options?.expectedVersion
          if (expected !== undefined && expected !== current.version) {
            return yield* Conflict.version("contact", id, expected, current.version)
          }
          const deals = yield* storage.deals.count(workspaceId, { contactId: id })
          if (deals > 0) {
            return yield* Conflict.inUse(
              "contact",
              id,
              deals,
              `Contact "${id}" still has ${deals} deal${deals === 1 ? "" : "s"}; move them to another contact or delete them first`
            )
          }
          yield* storage.timeline.removeForContact(workspaceId, id)
          yield* storage.tasks.removeForContact(workspaceId, id)
          yield* storage.uniqueValues.releaseRecord(workspaceId, "contact", id)
          yield* storage.contacts.remove(workspaceId, id)
        })
      )
    })

    /** Contacts in creation order, a page at a time, optionally filtered. */
    const list = Effect.fn("Contacts.list")(function* (options: ContactListOptions = {}) {
      const query = yield* decodeListOptions(options)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : yield* Page.decodeIdCursor(query.cursor, "contacts.list")
      const rows = yield* storage.contacts.list((yield* readWorkspace(storage)).id, {
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
      const workspace = yield* readWorkspace(storage)
      const counts = new Map((yield* storage.contacts.countByStage(workspace.id)).map((c) => [c.stage, c.count]))
      return workspace.lifecycle.stages.map((s) => ({ stage: s.key, label: s.label, count: counts.get(s.key) ?? 0 }))
    })

    return { create, createMany, get, findByEmail, update, remove, list, countByStage } as const
  })
}) {}

