/**
 * Contacts: create, read, update (with optimistic concurrency), delete, list, find by email, and
 * merge duplicates. Every write validates custom fields against the workspace's definitions for
 * the contact's stage, and keeps emails and unique fields unique in the workspace.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Contact, ContactCreate, ContactListOptions, ContactMergeOptions, ContactUpdate, maxIdentities } from "../domain/Contact.js"
import { EmailFromString, emailKey } from "../domain/Email.js"
import { Conflict, ValidationError } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { ContactId, TimelineEntryId } from "../domain/Ids.js"
import { indexOf } from "../domain/LifecycleDefinition.js"
import * as Page from "../domain/Page.js"
import { MergePayload, StageChange, TimelineEntry } from "../domain/TimelineEntry.js"
import { toJson } from "../internal/json.js"
import { progress, saveContact } from "../internal/lifecycle.js"
import { recordStageChange } from "../internal/stageChanged.js"
import { contactLock, emailLock, workspaceLock } from "../internal/locks.js"
import { mergeContacts } from "../internal/merge.js"
import { checkCompany, checkEmailsFree, identitiesOf, insertContact, insertContacts, type Recorder } from "../internal/recording.js"
import { checkFields, claimUniqueValues, compiledFields, getContact, keep } from "../internal/records.js"
import { decodeEach, decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { JobSignal } from "../internal/signal.js"

/**
 * Options of `contacts.remove`.
 *
 * @since 0.4.0
 * @category schemas
 */
export const RemoveContactOptions = Schema.Struct({
  /** Refuse the deletion if the contact changed since this version. */
  expectedVersion: Schema.optional(Schema.Int)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RemoveContactOptions = typeof RemoveContactOptions.Encoded

/**
 * What `contacts.merge` returns: the kept contact after the merge, how many records of each kind
 * it gained, which custom fields it took from the merged contact, which it kept its own different
 * value of (the merged contact's values of those are on the merge's timeline entry), and that
 * entry.
 *
 * @since 0.3.0
 * @category models
 */
export class MergeResult extends Schema.Class<MergeResult>("MergeResult")({
  contact: Contact,
  moved: MergePayload.fields.moved,
  /** Fields the kept contact had no value for and took from the merged one. */
  fieldsTaken: Schema.Array(Schema.String),
  /** Fields both had with different values: the kept contact's value stayed. */
  fieldsKept: Schema.Array(Schema.String),
  /** The `merge` entry on the kept contact's timeline (its payload is a {@link MergePayload}). */
  entry: TimelineEntry
}) {}

/**
 * Who merge entries and the stage moves a merge causes are by, on the timeline.
 *
 * @since 0.3.0
 * @category constructors
 */
export const mergeAuthor = "system:merge"

/**
 * What `contacts.upsert` takes: what `contacts.create` takes, with a required `email` that finds
 * the contact (compared like every email: case-insensitively, normalised).
 *
 * @since 0.7.0
 * @category schemas
 */
export const ContactUpsert = Schema.Struct({ ...ContactCreate.from.fields, email: EmailFromString })

/**
 * The attributes of an upsert, the email optional: what `PUT /contacts/by-email?email=…` takes as
 * its body (the email is the query's).
 *
 * @since 0.7.0
 * @category schemas
 */
export const ContactUpsertAttributes = Schema.Struct({ ...ContactCreate.from.fields }).annotations({ identifier: "ContactUpsertAttributes" })

/**
 * @since 0.7.0
 * @category models
 */
export type ContactUpsert = typeof ContactUpsert.Encoded

/**
 * What `contacts.upsert` returns: the contact as stored, and whether it was created.
 *
 * @since 0.7.0
 * @category models
 */
export class UpsertResult extends Schema.Class<UpsertResult>("UpsertResult")({
  contact: Contact,
  /** `true` when no contact had the email and this one was created. */
  created: Schema.Boolean
}) {}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

/** Whether an upsert's values are already the contact's (then nothing is written). */
const holdsAlready = (current: Contact, data: typeof ContactUpsert.Type): boolean =>
  data.emails === undefined &&
  data.phones === undefined &&
  (data.firstName === undefined || data.firstName === current.firstName) &&
  (data.lastName === undefined || data.lastName === current.lastName) &&
  (data.phone === undefined || data.phone === current.phone) &&
  (data.companyId === undefined || data.companyId === current.companyId) &&
  (data.tags === undefined || sameJson(data.tags, current.tags)) &&
  (data.ownerId === undefined || data.ownerId === current.ownerId) &&
  (data.score === undefined || data.score === current.score) &&
  (data.timezone === undefined || data.timezone === current.timezone) &&
  Object.entries(data.fields ?? {}).every(([key, value]) => sameJson(value, current.fields[key]))

/**
 * The most contacts `createMany` takes in one call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const maxBatch = 5000

const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeContactCreates = decodeEach(ContactCreate)
const decodeKeepId = decodeInput(ContactId, ["keepId"])
const decodeMergeId = decodeInput(ContactId, ["mergeId"])
const decodeMergeOptions = decodeInput(ContactMergeOptions)
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
    const recorder: Recorder = { storage, signal: yield* JobSignal }

    /**
     * Creates a contact. Fails with `ValidationError` for bad input (naming every field), and
     * `Conflict` when the email or a unique field is already used in the workspace.
     */
    const create = Effect.fn("Contacts.create")(function* (input: ContactCreate) {
      const data = yield* decodeInput(ContactCreate)(input)
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return (yield* insertContact(recorder, yield* ensureWorkspace(storage), data)).contact
          })
        )
        .pipe(
          // The creation record's id derives from the new contact's UUID: it cannot already exist.
          Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`))
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
      // Inputs that decode are checked against the workspace too, so every issue comes back at once.
      const { values, issues } = decodeContactCreates(inputs)
      const items = values.map(({ value, index }) => ({ data: value, path: [index] }))
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return (yield* insertContacts(recorder, yield* ensureWorkspace(storage), items, issues)).contacts
          })
        )
        .pipe(Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`)))
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
          // The emails given, in key order, before the contact (the order locks are taken in).
          const given = [...(data.email == null ? [] : [data.email]), ...(data.emails ?? []).map((e) => e.value)]
          for (const key of [...new Set(given.map(emailKey))].sort()) yield* emailLock(storage, workspace.id, key)
          yield* contactLock(storage, workspace.id, id)
          const current = yield* getContact(storage, workspace.id, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("contact", id, data.expectedVersion, current.version)
          }
          const compiled = yield* compiledFields(storage, workspace, "contact")
          const merged = data.fields === undefined ? current.fields : applyPatch(current.fields, data.fields)
          // Conditional requirements read the contact as it will be saved.
          const subject = {
            ...current,
            email: data.email === undefined ? current.email : data.email,
            firstName: keep(data.firstName, current.firstName),
            lastName: keep(data.lastName, current.lastName),
            phone: data.phone === undefined ? current.phone : data.phone,
            companyId: keep(data.companyId, current.companyId),
            source: keep(data.source, current.source),
            tags: keep(data.tags, current.tags),
            ownerId: keep(data.ownerId, current.ownerId),
            score: keep(data.score, current.score),
            timezone: keep(data.timezone, current.timezone)
          }
          const values = yield* checkFields(compiled, merged, indexOf(workspace.lifecycle, current.stage), subject)
          if (data.companyId !== undefined && data.companyId !== current.companyId) yield* checkCompany(storage, workspace.id, data.companyId)
          const identities = identitiesOf(data, current, [])
          if (identities.issues.length > 0) return yield* ValidationError.fromIssues(identities.issues)
          // Only addresses the contact does not hold yet can clash with another contact's.
          const held = new Set(current.emails.map((e) => emailKey(e.value)))
          const added = identities.emails.filter((e) => !held.has(emailKey(e.value)))
          if (added.length > 0) yield* checkEmailsFree(storage, workspace.id, identities.emails, id)
          const next = new Contact({
            ...current,
            email: identities.email,
            firstName: keep(data.firstName, current.firstName),
            lastName: keep(data.lastName, current.lastName),
            phone: identities.phone,
            emails: identities.emails,
            phones: identities.phones,
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
          const saved = yield* saveContact(storage, workspace, compiled, current, next, data.fields !== undefined)
          // Filling a stage's required fields can move the contact: rules on the move may be due now.
          if (saved.queued === true) yield* storage.afterCommit(recorder.signal.notify)
          return saved.contact
        })
      )
    })

    /**
     * Creates the contact with this email, or updates the one that has it: one contact per email
     * however many callers upsert it at once. An update changes only what is given (`fields` are
     * merged into the contact's); `source`, `firstSeenAt` and `stage` are used only when creating
     * (stages move through `lifecycle.move` and progression). Values the contact already holds
     * write nothing (its version stays).
     */
    const upsert = Effect.fn("Contacts.upsert")(function* (input: ContactUpsert) {
      const data = yield* decodeInput(ContactUpsert)(input)
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            const workspace = yield* ensureWorkspace(storage)
            // The emails an update would lock, in the same order, before looking the email up.
            const given = [data.email, ...(data.emails ?? []).map((e) => e.value)]
            for (const key of [...new Set(given.map(emailKey))].sort()) yield* emailLock(storage, workspace.id, key)
            const found = yield* storage.contacts.findByEmail(workspace.id, emailKey(data.email))
            if (Option.isNone(found)) {
              return new UpsertResult({ contact: (yield* insertContact(recorder, workspace, data)).contact, created: true })
            }
            const current = found.value
            if (holdsAlready(current, data)) return new UpsertResult({ contact: current, created: false })
            const { email: _email, source: _source, firstSeenAt: _firstSeenAt, stage: _stage, ...changes } = input
            return new UpsertResult({ contact: yield* update(current.id, { ...changes, expectedVersion: current.version }), created: false })
          })
        )
        .pipe(Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`contact.created record ${e.eventId} already stored`)))
    })

    /**
     * Deletes a contact and its timeline. Its events and orders stay (they are the shop's
     * history, and keep re-sent events from being processed again).
     */
    const remove = Effect.fn("Contacts.remove")(function* (contactId: string, options: RemoveContactOptions = {}) {
      const id = yield* decodeContactId(contactId)
      const { expectedVersion: expected } = yield* decodeInput(RemoveContactOptions)(options)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* contactLock(storage, workspaceId, id)
          const current = yield* getContact(storage, workspaceId, id)
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
          yield* storage.snapshots.removeForContact(workspaceId, id)
          yield* storage.uniqueValues.releaseRecord(workspaceId, "contact", id)
          yield* storage.contacts.remove(workspaceId, id)
        })
      )
    })

    /**
     * Merges a duplicate found later (`mergeId`) into the contact to keep (`keepId`), in one
     * transaction, losing nothing:
     * - every record of the merged contact becomes the kept one's: timeline entries, events,
     *   orders, deals, tasks, rule jobs and firings, consent records (for a purpose both have, the
     *   more recent decision stays);
     * - the kept contact takes the merged one's tags (after its own), the custom fields it has no
     *   value for (with their unique values), and its email, phone, names, company, owner and
     *   timezone where it has none; its own values always win, and the merged contact's values that
     *   were not taken stay on the merge's timeline entry, with the whole merged contact as it was;
     * - first seen: the earlier of the two, with that contact's source (unless unknown); score: the
     *   higher of the two (a sum would count an imported or rule-given score twice); stage: the
     *   later of the two (never backwards), recorded as a stage change. The merged fields must fit
     *   that stage (its required fields filled), else the merge fails with `ValidationError`;
     * - the kept contact's version moves on by one; the combined history may then move it on
     *   automatically, like any update (a further version);
     * - the merged contact is removed: its unique values are free again (its emails and phones are
     *   the kept contact's now).
     *
     * Fails with `ValidationError` when both ids are the same, `NotFound` when either contact is
     * not in the current workspace, `Conflict` when `expectedVersion` (of the kept contact) or
     * `mergedExpectedVersion` is stale; nothing is changed then.
     */
    const merge = Effect.fn("Contacts.merge")(function* (keepId: string, mergeId: string, options: ContactMergeOptions = {}) {
      const keptId = yield* decodeKeepId(keepId)
      const mergedId = yield* decodeMergeId(mergeId)
      const versions = yield* decodeMergeOptions(options)
      if (keptId === mergedId) return yield* ValidationError.at(["mergeId"], "is the contact to keep: a contact cannot be merged into itself")
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          // Both contacts, in id order: concurrent merges of the same two never wait on each other crosswise.
          for (const id of [keptId, mergedId].sort()) yield* contactLock(storage, workspace.id, id)
          const kept = yield* getContact(storage, workspace.id, keptId)
          const merged = yield* getContact(storage, workspace.id, mergedId)
          if (versions.expectedVersion !== undefined && versions.expectedVersion !== kept.version) {
            return yield* Conflict.version("contact", keptId, versions.expectedVersion, kept.version)
          }
          if (versions.mergedExpectedVersion !== undefined && versions.mergedExpectedVersion !== merged.version) {
            return yield* Conflict.version("contact", mergedId, versions.mergedExpectedVersion, merged.version)
          }
          const outcome = mergeContacts(kept, merged, workspace.lifecycle)
          for (const [field, n] of [["emails", outcome.contact.emails.length], ["phones", outcome.contact.phones.length]] as const) {
            if (n > maxIdentities) {
              return yield* ValidationError.at([field], `the merged contact would have ${n} ${field} (at most ${maxIdentities}); remove some from either contact first`)
            }
          }
          const stage = outcome.contact.stage
          const compiled = yield* compiledFields(storage, workspace, "contact")
          const values = yield* Effect.mapError(checkFields(compiled, outcome.contact.fields, indexOf(workspace.lifecycle, stage), outcome.contact), (error) =>
            ValidationError.fromIssues(error.issues, `Cannot merge contact ${mergedId} into ${keptId}: the merged fields do not fit stage "${stage}"`)
          )
          const now = yield* DateTime.now
          const moved = yield* storage.contacts.reassign(workspace.id, mergedId, keptId, now)
          // The merged contact goes first: its email and unique values are then free for the kept one.
          yield* storage.uniqueValues.releaseRecord(workspace.id, "contact", mergedId)
          yield* storage.contacts.remove(workspace.id, mergedId)
          if (outcome.attributesTaken.includes("companyId")) yield* checkCompany(storage, workspace.id, outcome.contact.companyId)
          const next = new Contact({ ...outcome.contact, fields: values, version: kept.version + 1, updatedAt: now }, true)
          yield* storage.contacts.update(next, kept.version)
          yield* claimUniqueValues(storage, workspace.id, "contact", compiled, keptId, kept.fields, values)

          const ids = yield* IdGenerator
          const payload: MergePayload = {
            merged: toJson(merged) as Readonly<Record<string, unknown>>,
            attributesTaken: outcome.attributesTaken,
            fieldsTaken: outcome.fieldsTaken,
            fieldsNotTaken: outcome.fieldsNotTaken,
            moved,
            stage: outcome.stage
          }
          const entry = new TimelineEntry(
            {
              id: TimelineEntryId.make(yield* ids.next),
              workspaceId: workspace.id,
              contactId: keptId,
              kind: "merge",
              occurredAt: now,
              recordedAt: now,
              author: mergeAuthor,
              channel: null,
              direction: null,
              summary: `Merged the duplicate ${merged.displayName} (${merged.id}) into this contact`,
              reaction: null,
              payload,
              eventId: null
            },
            true
          )
          yield* storage.timeline.append(entry)
          if (outcome.stage !== null) {
            // Dated now, but never before the latest move of either contact: the history reads in sequence.
            const [previous] = yield* storage.timeline.list(workspace.id, { contactId: keptId, kinds: ["stageChange"], limit: 1 })
            const label = (key: string) => workspace.lifecycle.stages.find((s) => s.key === key)?.label ?? key
            const reason = `merged with ${merged.displayName} (${merged.id})`
            const cause = { kind: "manual", reason } as const
            const moveEntry = new TimelineEntry(
              {
                id: TimelineEntryId.make(yield* ids.next),
                workspaceId: workspace.id,
                contactId: keptId,
                kind: "stageChange",
                occurredAt: previous === undefined ? now : DateTime.max(now, previous.occurredAt),
                recordedAt: now,
                author: mergeAuthor,
                channel: null,
                direction: null,
                summary: `Moved from ${label(outcome.stage.from)} to ${label(outcome.stage.to)} (${reason})`,
                reaction: null,
                payload: { from: outcome.stage.from, to: outcome.stage.to, cause },
                eventId: null
              },
              true
            )
            yield* storage.timeline.append(moveEntry)
            // Like every other move, a merge's is a `contact.stage_changed` event rules and webhooks hear of.
            const change = new StageChange(
              { contactId: keptId, from: outcome.stage.from, to: outcome.stage.to, at: moveEntry.occurredAt, author: mergeAuthor, cause },
              true
            )
            if (yield* recordStageChange(storage, workspace, next, change, moveEntry.id, 0)) yield* storage.afterCommit(recorder.signal.notify)
          }
          const progressed = yield* progress(storage, workspace, next, undefined)
          if (progressed.queued === true) yield* storage.afterCommit(recorder.signal.notify)
          return new MergeResult(
            { contact: progressed.contact, moved, fieldsTaken: outcome.fieldsTaken, fieldsKept: Object.keys(outcome.fieldsNotTaken), entry },
            true
          )
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

    return {
      /** Creates the contact with this email, or updates the one that has it. */
      upsert,
      /**
       * Creates a contact. It may have several labelled emails and phones (`emails`, `phones`, since
       * 0.4.0; `email` and `phone` are the primary ones, first of their lists); no email, primary or
       * not, may be another contact's in the workspace (`ALREADY_EXISTS`).
       */
      create,
      /** Creates up to 5,000 contacts at once, all or none; issue paths start with the item's index. */
      createMany,
      /** The contact, or a `RapportNotFoundError`. */
      get,
      /** `null` when no contact has this email, primary or not (compared case-insensitively). */
      findByEmail,
      /**
       * Changes a contact; `expectedVersion` is the version you read. `email` alone replaces the
       * primary address (the others stay), `emails` replaces the list; the same for `phone`, `phones`.
       */
      update,
      /** Deletes a contact and its timeline (its events and orders stay). */
      remove,
      /**
       * Merges a duplicate (`mergeId`) into the contact kept (`keepId`): the kept contact gains the
       * other's timeline, deals, tasks, orders, events, rule jobs, consents, tags, emails and phones, and the attributes
       * and custom fields it has none of (its own values win); the merge is on its timeline with
       * everything not taken; the duplicate is removed. `expectedVersion` is the kept contact's
       * version you read.
       *
       * @since 0.3.0
       */
      merge,
      /** Contacts in creation order, a page at a time, optionally filtered. */
      list,
      /** How many contacts are in each stage, in lifecycle order. */
      countByStage
    } as const
  })
}) {}

