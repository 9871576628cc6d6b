// The one recording path: an event (once per id) with its timeline entry, its order record (or the
// cancellation or refund of one), the lifecycle progression it causes, the rules it triggers and the outbound webhooks it sends (their
// jobs written in the same transaction, the dispatcher woken once it commits); and the creation of contacts, each recorded
// as a `contact.created` event through the same path. Everything runs inside the caller's
// transaction and returns what it did.
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Contact, type ContactCreate, type ContactEmail, type ContactPhone, maxIdentities, resolveIdentities, unknownSource } from "../domain/Contact.js"
import { OrderPlacedPayload, StoredEvent, summarize } from "../domain/CrmEvent.js"
import { Conflict, formatPath, type StorageError, ValidationError, type ValidationIssue } from "../domain/Errors.js"
import { applyPatch, type FieldValues, uniqueValueKey, validate } from "../domain/FieldDefinition.js"
import { type CompanyId, ContactId, EventId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import { indexOf, initialStage } from "../domain/LifecycleDefinition.js"
import { Order } from "../domain/Order.js"
import type { Triggered } from "../domain/Rule.js"
import { TimelineEntry, type TimelineKind } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { StorageService } from "../ports/Storage.js"
import { type Email, emailKey } from "../domain/Email.js"
import { type Progression, progressQuestions } from "./lifecycle.js"
import { emailLock } from "./locks.js"
import { adjustOrder, adjustsOrder } from "./orders.js"
import { compiledFields } from "./records.js"
import { planQuestions, rulesFor } from "./rules.js"
import { STAGE_CHANGED } from "./stageChanged.js"
import { noticesOf, planWebhooks } from "./webhooks.js"
import type { JobSignal } from "./signal.js"

/** The event id is already stored: the caller's transaction rolls back and reports a duplicate. */
export class DuplicateEvent extends Data.TaggedError("DuplicateEvent")<{ readonly eventId: string }> {}

/** What recording needs: the store, and the signal that wakes this process's dispatcher. */
export interface Recorder {
  readonly storage: StorageService
  readonly signal: JobSignal
}

/** What recording one event did: the contact after it, the lifecycle move, and the rules that acted. */
export interface Recorded extends Progression {
  readonly triggered: ReadonlyArray<Triggered>
}

/** The event that creates a contact, when an emitted event does. */
export interface CreationEvent {
  readonly id: EventId
  readonly occurredAt: DateTime.Utc
  readonly payload: Readonly<Record<string, unknown>>
}

const orderKinds: ReadonlySet<string> = new Set(["order.placed", "order.cancelled", "order.refunded"])
const kindOf = (type: string): TimelineKind => (type === "quote.sent" ? "quoteSent" : orderKinds.has(type) ? "order" : "event")
const directionOf = (type: string) => (type === "quote.sent" ? ("outbound" as const) : type === "contact.created" ? null : ("inbound" as const))
const decodeOrder = Schema.decodeUnknownEither(OrderPlacedPayload)

/** The timeline entry that records an event on its contact's timeline. */
export const entryOf = (id: TimelineEntryId, event: StoredEvent, recordedAt: DateTime.Utc) =>
  new TimelineEntry(
    {
      id,
      workspaceId: event.workspaceId,
      contactId: event.contactId,
      kind: kindOf(event.type),
      occurredAt: event.occurredAt,
      recordedAt,
      author: null,
      channel: null,
      direction: directionOf(event.type),
      summary: summarize(event.type, event.payload),
      reaction: null,
      payload: event.payload,
      eventId: event.id
    },
    true
  )

// Order payloads the emit that checked them already decoded, by payload: recording does not
// decode them again (decoding an order's lines is most of its recording's work).
const decodedOrders = new WeakMap<object, typeof OrderPlacedPayload.Type>()

/** Notes that `payload` (an event's, as it will be stored) decodes to `order`. */
export const rememberOrder = (payload: object, order: typeof OrderPlacedPayload.Type) => void decodedOrders.set(payload, order)

/** The order an `order.placed` event records, if its payload is one. */
export const orderOf = (event: StoredEvent): Order | undefined => {
  if (event.type !== "order.placed") return undefined
  const known = decodedOrders.get(event.payload)
  const order = known === undefined ? decodeOrder(event.payload) : Either.right(known)
  if (Either.isLeft(order)) return undefined
  const { orderId, lines } = order.right
  const totalMinor = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice.amountMinor, 0)
  // Built from a decoded payload and a stored event: only the total is new, and the constructor
  // checks the order again only when the total is not a safe integer (then it refuses it).
  return new Order(
    {
      id: orderId,
      workspaceId: event.workspaceId,
      contactId: event.contactId,
      eventId: event.id,
      placedAt: event.occurredAt,
      currency: lines[0]!.unitPrice.currency,
      totalMinor,
      lines
    },
    Number.isSafeInteger(totalMinor)
  )
}

/**
 * Records events of distinct contacts, each with everything it causes: the events are stored
 * (DuplicateEvent if an id is), their timeline entries and orders written, each contact moved
 * through the lifecycle as far as its history allows, and the rules planned (firings and jobs in
 * the outbox). When a rule queued an action due now, the dispatcher is woken once the caller's
 * transaction commits. Returns, per event, what it did.
 */
export const recordMany = (
  recorder: Recorder,
  workspace: Workspace,
  // `path`: where the event sits in the caller's input (emitMany's index), prefixed to the paths
  // of the errors it causes.
  items: ReadonlyArray<{ readonly event: StoredEvent; readonly contact: Contact; readonly path?: ReadonlyArray<string | number> | undefined }>
): Effect.Effect<ReadonlyArray<Recorded>, DuplicateEvent | StorageError | Conflict | ValidationError> =>
  Effect.gen(function* () {
    const { storage, signal } = recorder
    const stored = yield* storage.events.insertMany(items.map((i) => i.event))
    if (stored.length > 0) return yield* new DuplicateEvent({ eventId: stored[0]! })
    const now = yield* DateTime.now
    const ids = yield* IdGenerator
    const entries: Array<TimelineEntry> = []
    for (const { event } of items) entries.push(entryOf(TimelineEntryId.make(yield* ids.next), event, now))
    const orders = items.flatMap(({ event }) => orderOf(event) ?? [])
    if (orders.length > 0) yield* storage.orders.insertMany(orders)
    // Cancellations and refunds change the orders they name, in order (a batch's round holds one
    // event per contact, and an order is its contact's).
    for (const { event, path } of items) if (adjustsOrder(event)) yield* adjustOrder(storage, event, path)
    // What the lifecycle and the rules need to know of the contacts' histories, asked in one
    // statement. The rules' questions hold after the moves too (they read events, orders and
    // firings, which moves do not write), unless a condition counts stage changes: those are
    // then asked once the moves are recorded.
    const progression = progressQuestions(workspace, items.map(({ event, contact }) => ({ contact, trigger: event })))
    const planning = planQuestions(workspace, yield* rulesFor(storage, workspace), items, now)
    const together = !planning.questions.some((q) => q.ask === "eventCount" && q.types.includes(STAGE_CHANGED))
    const questions = together ? [...progression.questions, ...planning.questions] : progression.questions
    const answers = questions.length === 0 ? [] : yield* storage.history(workspace.id, questions)
    // The events' timeline entries are written with those of the moves, in one statement.
    const progressed = yield* progression.progress(storage, answers.slice(0, progression.questions.length), 0, entries)
    const after = items.map(({ event }, i) => ({ event, contact: progressed[i]!.contact }))
    const planAnswers = together
      ? answers.slice(progression.questions.length)
      : planning.questions.length === 0
        ? []
        : yield* storage.history(workspace.id, planning.questions)
    const triggered = yield* planning.plan(storage, planAnswers, after.map((i) => i.contact))
    const messages = yield* planWebhooks(storage, workspace, () => noticesOf(after))
    if (messages > 0 || progressed.some((p) => p.queued === true) || triggered.some((ts) => ts.some((t) => !t.delayed))) yield* storage.afterCommit(signal.notify)
    return progressed.map((p, i) => ({ ...p, triggered: triggered[i]! }))
  })

/** Records one event of this contact (see {@link recordMany}); DuplicateEvent if its id is stored. */
export const record = (recorder: Recorder, workspace: Workspace, event: StoredEvent, contact: Contact) =>
  Effect.map(recordMany(recorder, workspace, [{ event, contact }]), (done) => done[0]!)

/** Fails with ValidationError when the company is not one of the workspace's. */
export const checkCompany = (storage: StorageService, workspaceId: WorkspaceId, companyId: CompanyId | null | undefined) =>
  companyId === null || companyId === undefined
    ? Effect.void
    : Effect.flatMap(storage.companies.lockExisting(workspaceId, [companyId], "share"), (found) =>
        found.length > 0 ? Effect.void : Effect.fail(ValidationError.at(["companyId"], `no company with id "${companyId}" in this workspace`))
      )

/**
 * The contact's emails and phones after a write of `data` (see `resolveIdentities`): the primary
 * ones first, then the others; issues (under `path`) when a list would exceed the bound.
 */
export const identitiesOf = (
  data: {
    readonly email?: Email | null | undefined
    readonly emails?: ReadonlyArray<ContactEmail> | undefined
    readonly phone?: string | null | undefined
    readonly phones?: ReadonlyArray<ContactPhone> | undefined
  },
  current: { readonly emails: ReadonlyArray<ContactEmail>; readonly phones: ReadonlyArray<ContactPhone> } | undefined,
  path: ReadonlyArray<string | number>
) => {
  const emails = resolveIdentities(current?.emails ?? [], data.email, data.emails, emailKey)
  const phones = resolveIdentities(current?.phones ?? [], data.phone, data.phones, (p) => p)
  const issues: Array<ValidationIssue> = []
  if (emails.length > maxIdentities) issues.push({ path: [...path, "emails"], message: `at most ${maxIdentities} email addresses per contact (the primary email makes ${emails.length})` })
  if (phones.length > maxIdentities) issues.push({ path: [...path, "phones"], message: `at most ${maxIdentities} phone numbers per contact (the primary phone makes ${phones.length})` })
  return { emails, phones, email: emails[0]?.value ?? null, phone: phones[0]?.value ?? null, issues }
}

/** The field a clash on this email is reported on: the primary `email`, or `emails`. */
const emailField = (emails: ReadonlyArray<ContactEmail>, key: string) => (emails.length > 0 && emailKey(emails[0]!.value) === key ? "email" : "emails")

/**
 * Fails with Conflict (`unique`, on `email` or `emails`, naming the holder) when another contact
 * of the workspace has one of these emails, primary or not.
 */
export const checkEmailsFree = (storage: StorageService, workspaceId: WorkspaceId, emails: ReadonlyArray<ContactEmail>, self?: ContactId) =>
  emails.length === 0
    ? Effect.void
    : Effect.flatMap(storage.contacts.findByEmails(workspaceId, emails.map((e) => emailKey(e.value))), (holders) => {
        const holder = holders.find((h) => h.id !== self)
        if (holder === undefined) return Effect.void
        const held = new Set(holder.emails.map((e) => emailKey(e.value)))
        const clash = emails.find((e) => held.has(emailKey(e.value)))
        return Effect.fail(Conflict.unique("contact", emailField(emails, clash === undefined ? "" : emailKey(clash.value)), holder.id))
      })

/** A contact to create: its input, where it sits in the caller's input (for error paths), and
 * the emitted event that creates it, if one does. */
export interface NewContact {
  readonly data: typeof ContactCreate.Type
  readonly path: ReadonlyArray<string | number>
  readonly creation?: CreationEvent | undefined
}

const samePathNote = (path: ReadonlyArray<string | number>) => (path.length === 0 ? "another contact" : `item ${formatPath(path)}`)

/**
 * Creates contacts in one go and records their `contact.created` events (the emitted one, when
 * given): every input is validated first (all issues reported, paths prefixed with each item's
 * path), then contacts, unique values, events and timeline entries are written with one statement
 * per kind. Runs in the caller's transaction.
 */
export const insertContacts = (
  recorder: Recorder,
  workspace: Workspace,
  items: ReadonlyArray<NewContact>,
  /** Issues the caller already found (inputs that did not decode), reported with these. */
  earlierIssues: ReadonlyArray<ValidationIssue> = []
) =>
  Effect.gen(function* () {
    const storage = recorder.storage
    const lifecycle = workspace.lifecycle
    const compiled = yield* compiledFields(storage, workspace, "contact")
    const uniqueDefs = compiled.definitions.filter((d) => d.unique)
    const issues: Array<ValidationIssue> = [...earlierIssues]
    const emails = new Map<string, ReadonlyArray<string | number>>()
    const uniques = new Map<string, ReadonlyArray<string | number>>()

    const prepared = items.map((item) => {
      const stage = item.data.stage ?? initialStage(lifecycle)
      const stageIndex = indexOf(lifecycle, stage)
      if (stageIndex < 0) {
        issues.push({ path: [...item.path, "stage"], message: `unknown stage "${stage}"; stages are ${lifecycle.stages.map((s) => s.key).join(", ")}` })
      }
      const data = item.data
      // Conditional requirements read the contact as it will be created.
      const subject = {
        email: data.email ?? data.emails?.[0]?.value ?? null,
        firstName: data.firstName ?? null,
        lastName: data.lastName ?? null,
        phone: data.phone ?? data.phones?.[0]?.value ?? null,
        companyId: data.companyId ?? null,
        source: data.source ?? unknownSource,
        tags: data.tags ?? [],
        ownerId: data.ownerId ?? null,
        score: data.score ?? 0,
        timezone: data.timezone ?? null
      }
      const checked = validate(compiled, applyPatch({}, data.fields ?? {}), Math.max(stageIndex, 0), subject)
      const values: FieldValues = Either.getOrElse(checked, () => ({}))
      if (Either.isLeft(checked)) issues.push(...checked.left.map((i) => ({ path: [...item.path, ...i.path], message: i.message })))
      const identities = identitiesOf(item.data, undefined, item.path)
      issues.push(...identities.issues)
      for (const entry of identities.emails) {
        const key = emailKey(entry.value)
        const first = emails.get(key)
        if (first !== undefined) {
          const field = emailField(identities.emails, key)
          issues.push({ path: [...item.path, field], message: `${field === "email" ? "is" : `holds ${entry.value}, which is`} also the email of ${samePathNote(first)} in this batch` })
        } else emails.set(key, item.path)
      }
      for (const def of uniqueDefs) {
        if (!Object.hasOwn(values, def.key)) continue
        const key = `${def.key}|${uniqueValueKey(def, values[def.key])}`
        const first = uniques.get(key)
        if (first !== undefined) issues.push({ path: [...item.path, "fields", def.key], message: `is also the value of ${samePathNote(first)} in this batch` })
        else uniques.set(key, item.path)
      }
      return { item, stage, values, identities }
    })

    // Locks in order: the emails (one contact only, in key order), then the companies joined.
    if (items.length === 1) for (const key of [...emails.keys()].sort()) yield* emailLock(storage, workspace.id, key)
    const companies = [...new Set(items.flatMap((i) => (i.data.companyId ? [i.data.companyId] : [])))]
    if (companies.length > 0) {
      const found = new Set<string>(yield* storage.companies.lockExisting(workspace.id, companies, "share"))
      for (const i of items) {
        if (i.data.companyId && !found.has(i.data.companyId)) {
          issues.push({ path: [...i.path, "companyId"], message: `no company with id "${i.data.companyId}" in this workspace` })
        }
      }
    }
    if (issues.length > 0) {
      const sorted = [...issues].sort((a, b) => Number(a.path[0] ?? 0) - Number(b.path[0] ?? 0))
      return yield* ValidationError.fromIssues(sorted, items.length === 1 && earlierIssues.length === 0 ? "Invalid input" : "Invalid contacts")
    }

    const taken = yield* storage.contacts.findByEmails(workspace.id, [...emails.keys()])
    if (taken.length > 0) {
      const holder = taken[0]!
      const key = holder.emails.map((e) => emailKey(e.value)).find((k) => emails.has(k))!
      const item = prepared.find((p) => p.item.path === emails.get(key))!
      return yield* Conflict.unique("contact", formatPath([...item.item.path, emailField(item.identities.emails, key)]), holder.id)
    }

    const now = yield* DateTime.now
    const ids = yield* IdGenerator
    const contacts: Array<Contact> = []
    const events: Array<StoredEvent> = []
    const claims: Array<{ recordId: string; fieldKey: string; valueKey: string }> = []
    for (const { item, stage, values, identities } of prepared) {
      const { data, creation } = item
      const id = ContactId.make(yield* ids.next)
      const firstSeenAt = data.firstSeenAt ?? creation?.occurredAt ?? now
      // Built from decoded input: constructors need not check every field again (`true`).
      const contact = new Contact(
        {
          id,
          workspaceId: workspace.id,
          email: identities.email,
          firstName: data.firstName ?? null,
          lastName: data.lastName ?? null,
          phone: identities.phone,
          emails: identities.emails,
          phones: identities.phones,
          companyId: data.companyId ?? null,
          source: data.source ?? unknownSource,
          firstSeenAt,
          stage,
          tags: data.tags ?? [],
          ownerId: data.ownerId ?? null,
          score: data.score ?? 0,
          timezone: data.timezone ?? null,
          fields: values,
          version: 1,
          createdAt: now,
          updatedAt: now
        },
        true
      )
      contacts.push(contact)
      for (const def of uniqueDefs) {
        if (Object.hasOwn(values, def.key)) claims.push({ recordId: id, fieldKey: def.key, valueKey: uniqueValueKey(def, values[def.key]) })
      }
      const event = new StoredEvent(
        {
          id: creation?.id ?? EventId.make(`contact.created:${id}`),
          workspaceId: workspace.id,
          type: "contact.created",
          contactId: id,
          // The creation record sits where the contact's history starts (an import can date it back).
          occurredAt: creation?.occurredAt ?? firstSeenAt,
          receivedAt: now,
          payload: creation?.payload ?? { source: { channel: contact.source.channel, campaign: contact.source.campaign } }
        },
        true
      )
      events.push(event)
    }

    yield* storage.contacts.insertMany(contacts)
    if (claims.length > 0) yield* storage.uniqueValues.claimMany(workspace.id, "contact", claims)
    const recorded = yield* recordMany(recorder, workspace, contacts.map((contact, i) => ({ event: events[i]!, contact })))
    return { contacts: recorded.map((r) => r.contact), triggered: recorded.flatMap((r) => r.triggered) }
  })

/** Creates one contact (see {@link insertContacts}); error paths are the input's own. */
export const insertContact = (recorder: Recorder, workspace: Workspace, data: typeof ContactCreate.Type, creation?: CreationEvent) =>
  Effect.map(insertContacts(recorder, workspace, [{ data, path: [], creation }]), ({ contacts, triggered }) => ({ contact: contacts[0]!, triggered }))
