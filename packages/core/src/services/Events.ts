/**
 * Emitting events. An event is stored once per id: emitting it again (a retried webhook, a
 * replayed queue) has no further effect. An event naming an unknown email creates the contact.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { Contact } from "../domain/Contact.js"
import { builtInPayloads, EmitInput, OrderPlacedPayload, StoredEvent } from "../domain/CrmEvent.js"
import { JsonObject } from "../domain/Json.js"
import { type Email, emailKey } from "../domain/Email.js"
import { type Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import { type ContactId, EventId, type WorkspaceId } from "../domain/Ids.js"
import { StageChange } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { contactLock, contactLocks, emailLock, emailLocks, workspaceLock } from "../internal/locks.js"
import { JobSignal } from "../internal/signal.js"
import { Triggered } from "../domain/Rule.js"
import { type CreationEvent, insertContact, record, type Recorder, recordMany, rememberOrder } from "../internal/recording.js"
import { decodeEach, decodeInput, decodePart, quickJsonObject } from "../internal/validation.js"
import { ensureWorkspaceForRecording, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"

/**
 * What `events.emit` returns.
 *
 * @since 0.1.0
 * @category models
 */
export class EmitResult extends Schema.Class<EmitResult>("EmitResult")({
  event: StoredEvent,
  /** The contact after the event; `null` only for a duplicate whose contact was deleted since. */
  contact: Schema.NullOr(Contact),
  /** The id was already stored: nothing was done this time. */
  duplicate: Schema.Boolean,
  /** The event's email was unknown and the contact was created. */
  contactCreated: Schema.Boolean,
  /** The automatic lifecycle move the event caused, if any. */
  stageChange: Schema.NullOr(StageChange),
  /** A stage the contact qualified for but could not enter, and the fields it lacks. */
  progressionBlocked: Schema.NullOr(Schema.Struct({ stage: Schema.String, missingFields: Schema.Array(Schema.String) })),
  /** The rules that acted on the event (and, when it created the contact, on its creation). */
  triggered: Schema.Array(Triggered)
}) {}

const none: ReadonlyArray<Triggered> = []

// Payloads of the built-in types are decoded once, synchronously (a batch checks a thousand); an
// order's decoded lines give the total to check, and recording reuses them (rememberOrder).
const decodeOrderPayload = decodePart(OrderPlacedPayload)
const payloadDecoders = new Map(Object.entries(builtInPayloads).map(([type, schema]) => [type, decodePart(schema)] as const))
const checkPayload = (type: string, payload: Readonly<Record<string, unknown>>, at: ReadonlyArray<string | number> = []): Either.Either<void, ValidationError> => {
  if (type === "order.placed") {
    return Either.flatMap(decodeOrderPayload(payload, [...at, "payload"]), (order) => {
      rememberOrder(payload, order)
      const total = order.lines.reduce((sum, line) => sum + line.quantity * line.unitPrice.amountMinor, 0)
      return Number.isSafeInteger(total) ? Either.void : Either.left(ValidationError.at([...at, "payload", "lines"], "the order total is too large to be counted exactly"))
    })
  }
  const decode = payloadDecoders.get(type)
  return decode === undefined ? Either.void : Either.map(decode(payload, [...at, "payload"]), () => undefined)
}

/**
 * The most events `emitMany` takes in one call.
 *
 * @since 0.5.0
 * @category constructors
 */
export const maxEmitBatch = 1000

// EmitInput as emit and emitMany decode it: the same Schema (its fields and its check that a
// contact is named), with the payload decoded on the quick path (see quickJsonObject): checking a
// payload through the JSON Schema union was most of an event's decoding.
const EmitInputChecked: Schema.Schema<typeof EmitInput.Type, typeof EmitInput.Encoded> = Schema.make(
  new AST.Refinement(Schema.Struct({ ...EmitInput.from.fields, payload: Schema.optional(quickJsonObject(JsonObject)) }).ast, EmitInput.filter, EmitInput.ast.annotations)
)
const decodeEmitInput = decodeInput(EmitInputChecked)
const decodeEmitInputs = decodeEach(EmitInputChecked)

/** An event ready to record: its decoded input, id, time and payload. */
interface Prepared {
  readonly data: typeof EmitInput.Type
  readonly id: EventId
  readonly occurredAt: DateTime.Utc
  readonly payload: Readonly<Record<string, unknown>>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Events extends Effect.Service<Events>()("@rapport/core/Events", {
  dependencies: [JobSignal.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const recorder: Recorder = { storage, signal: yield* JobSignal }

    const duplicateOf = (workspaceId: WorkspaceId, event: StoredEvent) =>
      Effect.map(
        storage.contacts.get(workspaceId, event.contactId),
        (contact) =>
          new EmitResult({ event, contact: Option.getOrNull(contact), duplicate: true, contactCreated: false, stageChange: null, progressionBlocked: null, triggered: [] }, true)
      )

    /** The contact as it is once locked; none when it was deleted meanwhile. */
    const lockedContact = (workspace: Workspace, id: ContactId) =>
      Effect.zipRight(contactLock(storage, workspace.id, id), storage.contacts.get(workspace.id, id))

    const createFor = (workspace: Workspace, data: typeof EmitInput.Type, email: Email, event: CreationEvent) => {
      const hints = data.contact ?? {}
      const create = insertContact(
        recorder,
        workspace,
        {
          email,
          firstName: hints.firstName ?? null,
          lastName: hints.lastName ?? null,
          phone: hints.phone ?? null,
          ...(hints.source === undefined ? {} : { source: hints.source }),
          ...(hints.fields === undefined ? {} : { fields: hints.fields }),
          firstSeenAt: event.occurredAt
        },
        // An emitted `contact.created` is the creation record itself, not a second one.
        data.type === "contact.created" ? event : undefined
      )
      // In a savepoint: if another writer (an update, a bulk creation) took the email meanwhile,
      // undo our attempt and record the event on their contact.
      return Effect.map(storage.transaction(create), ({ contact, triggered }) => ({ contact, created: true, triggered })).pipe(
        Effect.catchIf(
          (error): error is Conflict => error._tag === "Conflict" && error.reason === "unique" && error.field === "email",
          (conflict) =>
            Effect.gen(function* () {
              const holder = yield* storage.contacts.findByEmail(workspace.id, emailKey(email))
              const contact = Option.isSome(holder) ? yield* lockedContact(workspace, holder.value.id) : Option.none()
              return Option.isSome(contact) ? { contact: contact.value, created: false, triggered: none } : yield* Effect.fail(conflict)
            })
        )
      )
    }

    /** The event's contact, locked; created (with what rules on its creation did) when its email is unknown. */
    const resolveContact = (workspace: Workspace, data: typeof EmitInput.Type, event: CreationEvent) =>
      Effect.gen(function* () {
        if (data.contactId !== undefined) {
          const found = yield* lockedContact(workspace, data.contactId)
          if (Option.isNone(found)) return yield* NotFound.of("contact", data.contactId)
          return { contact: found.value, created: false, triggered: none }
        }
        const email = data.email!
        yield* emailLock(storage, workspace.id, emailKey(email))
        const known = yield* storage.contacts.findByEmail(workspace.id, emailKey(email))
        if (Option.isSome(known)) {
          // Read it again once locked: another event may have moved it, or a removal deleted it
          // (then this event makes a new contact).
          const fresh = yield* lockedContact(workspace, known.value.id)
          if (Option.isSome(fresh)) return { contact: fresh.value, created: false, triggered: none }
        }
        return yield* createFor(workspace, data, email, event)
      })

    /**
     * Records one event in the caller's transaction, the workspace being locked and stored. An id
     * already stored is found by the event's own insert (DuplicateEvent: the caller rolls back and
     * reports it), which saves a read on every event that is not one.
     */
    const emitIn = (workspace: Workspace, { data, id, occurredAt, payload }: Prepared, now: DateTime.Utc) =>
      Effect.gen(function* () {
        const { contact, created, triggered } = yield* resolveContact(workspace, data, { id, occurredAt, payload })
        if (created && data.type === "contact.created") {
          const stored = yield* storage.events.get(workspace.id, id)
          return new EmitResult({
            event: Option.getOrThrow(stored),
            contact,
            duplicate: false,
            contactCreated: true,
            stageChange: null,
            progressionBlocked: null,
            triggered
          }, true)
        }
        // Built from decoded input and stored records: constructors need not check them again.
        const event = new StoredEvent({ id, workspaceId: workspace.id, type: data.type, contactId: contact.id, occurredAt, receivedAt: now, payload }, true)
        const recorded = yield* record(recorder, workspace, event, contact)
        return new EmitResult({
          event,
          contact: recorded.contact,
          duplicate: false,
          contactCreated: created,
          stageChange: recorded.change,
          progressionBlocked: recorded.blocked,
          triggered: [...triggered, ...recorded.triggered]
        }, true)
      })

    /**
     * Records a batch in the caller's transaction (the workspace locked and stored), with the
     * results emitting its events one after the other would give. Events of different contacts do
     * not affect each other, so they are recorded in rounds: the first event of every contact of
     * the batch, then the second of each, and so on, each round one `recordMany` (a few statements
     * for all its events). The ids already stored, and the contacts, are read once for the batch
     * and locked together (emails, then contacts, as emit does); a contact whose email is not
     * known yet is created where its first event stands in the batch.
     */
    const emitBatch = (workspace: Workspace, prepared: ReadonlyArray<Prepared>, now: DateTime.Utc) =>
      Effect.gen(function* () {
        const ws = workspace.id
        // The ids stored before the batch; an id given again later in the batch is a duplicate of
        // its first. Any other is new (or stored concurrently: recording finds it, and the batch
        // runs again).
        const storedBefore = new Map<string, StoredEvent>((yield* storage.events.getMany(ws, prepared.map((p) => p.id))).map((e) => [e.id, e]))
        const firstSeen = new Set<string>()
        const isNew = prepared.map((p) => {
          if (storedBefore.has(p.id) || firstSeen.has(p.id)) return false
          firstSeen.add(p.id)
          return true
        })
        const emailKeys = [...new Set(prepared.flatMap((p, i) => (isNew[i] && p.data.contactId === undefined ? [emailKey(p.data.email!)] : [])))]
        const byEmail = new Map<string, ContactId>()
        if (emailKeys.length > 0) {
          yield* emailLocks(storage, ws, emailKeys)
          const wanted = new Set(emailKeys)
          for (const holder of yield* storage.contacts.findByEmails(ws, emailKeys)) {
            for (const e of holder.emails) if (wanted.has(emailKey(e.value))) byEmail.set(emailKey(e.value), holder.id)
          }
        }
        const toLock = [...new Set([...prepared.flatMap((p, i) => (isNew[i] && p.data.contactId !== undefined ? [p.data.contactId] : [])), ...byEmail.values()])]
        yield* contactLocks(storage, ws, toLock)
        const owners = [...storedBefore.values()].map((e) => e.contactId)
        // Each contact's states through the batch: [position, the contact after it], the first
        // as read (position -1) or as created (just before the creating event's position).
        const states = new Map<string, Array<readonly [number, Contact]>>()
        const note = (position: number, contact: Contact) => {
          const list = states.get(contact.id)
          if (list === undefined) states.set(contact.id, [[position, contact]])
          else list.push([position, contact])
        }
        for (const contact of yield* storage.contacts.getMany(ws, [...new Set([...toLock, ...owners])])) note(-1, contact)
        const latest = (id: string) => states.get(id)!.at(-1)![1]
        const before = (id: string, position: number): Contact | null => {
          let found: Contact | null = null
          for (const [at, contact] of states.get(id) ?? []) if (at < position) found = contact
          return found
        }

        // In order: each new event's contact (created when its email is unknown), and each
        // contact's queue of events.
        const results: Array<EmitResult | undefined> = prepared.map(() => undefined)
        const recorded = new Map<string, StoredEvent>()
        const queues = new Map<string, Array<number>>()
        const origin = new Map<number, { readonly created: boolean; readonly triggered: ReadonlyArray<Triggered> }>()
        for (const [i, item] of prepared.entries()) {
          if (!isNew[i]) continue
          const { data } = item
          let contactId: string | undefined = data.contactId ?? byEmail.get(emailKey(data.email!))
          let made: { readonly created: boolean; readonly triggered: ReadonlyArray<Triggered> } = { created: false, triggered: none }
          if (data.contactId !== undefined && !states.has(data.contactId)) return yield* NotFound.of("contact", data.contactId)
          if (contactId === undefined || !states.has(contactId)) {
            const creation = yield* createFor(workspace, data, data.email!, { id: item.id, occurredAt: item.occurredAt, payload: item.payload })
            contactId = creation.contact.id
            byEmail.set(emailKey(data.email!), creation.contact.id)
            note(i - 0.5, creation.contact)
            made = creation
            if (creation.created && data.type === "contact.created") {
              // The emitted event is the contact's creation record: nothing more to record.
              const stored = Option.getOrThrow(yield* storage.events.get(ws, item.id))
              recorded.set(item.id, stored)
              results[i] = new EmitResult(
                { event: stored, contact: creation.contact, duplicate: false, contactCreated: true, stageChange: null, progressionBlocked: null, triggered: creation.triggered },
                true
              )
              continue
            }
          }
          const queue = queues.get(contactId)
          if (queue === undefined) queues.set(contactId, [i])
          else queue.push(i)
          origin.set(i, made)
        }

        // The rounds.
        const lists = [...queues.values()]
        for (let round = 0; ; round++) {
          const positions = lists.flatMap((queue) => (round < queue.length ? [queue[round]!] : [])).sort((a, b) => a - b)
          if (positions.length === 0) break
          const items = positions.map((i) => {
            const { data, id, occurredAt, payload } = prepared[i]!
            const contact = latest(data.contactId ?? byEmail.get(emailKey(data.email!))!)
            // Built from decoded input and stored records: constructors need not check them again.
            return { event: new StoredEvent({ id, workspaceId: ws, type: data.type, contactId: contact.id, occurredAt, receivedAt: now, payload }, true), contact, path: [i] }
          })
          const done = yield* recordMany(recorder, workspace, items)
          for (const [k, i] of positions.entries()) {
            const { event } = items[k]!
            const outcome = done[k]!
            const { created, triggered } = origin.get(i)!
            note(i, outcome.contact)
            recorded.set(event.id, event)
            results[i] = new EmitResult(
              {
                event,
                contact: outcome.contact,
                duplicate: false,
                contactCreated: created,
                stageChange: outcome.change,
                progressionBlocked: outcome.blocked,
                triggered: [...triggered, ...outcome.triggered]
              },
              true
            )
          }
        }

        // Duplicates: the stored event, and its contact as it was at that point of the batch.
        for (const [i, item] of prepared.entries()) {
          if (isNew[i]) continue
          const event = storedBefore.get(item.id) ?? recorded.get(item.id)!
          results[i] = new EmitResult(
            { event, contact: before(event.contactId, i), duplicate: true, contactCreated: false, stageChange: null, progressionBlocked: null, triggered: [] },
            true
          )
        }
        return results as ReadonlyArray<EmitResult>
      })

    const preparedOf = (data: typeof EmitInput.Type, id: EventId, now: DateTime.Utc): Prepared => ({ data, id, occurredAt: data.occurredAt ?? now, payload: data.payload ?? {} })

    const prepare = (data: typeof EmitInput.Type, now: DateTime.Utc) =>
      data.id !== undefined
        ? Effect.succeed(preparedOf(data, data.id, now))
        : Effect.map(Effect.flatMap(IdGenerator, (ids) => ids.next), (id) => preparedOf(data, EventId.make(id), now))

    /**
     * Emits an event: stores it (once per id), records it on the contact's timeline, keeps
     * orders as records, and moves the contact through the lifecycle when a criterion holds.
     * All of it in one transaction.
     */
    const emit = Effect.fn("Events.emit")(function* (input: EmitInput) {
      const data = yield* decodeEmitInput(input)
      yield* checkPayload(data.type, data.payload ?? {})
      const now = yield* DateTime.now
      const prepared = yield* prepare(data, now)
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return yield* emitIn(yield* ensureWorkspaceForRecording(storage), prepared, now)
          })
        )
        .pipe(
          Effect.catchIf((error) => error._tag !== "StorageError", (error) =>
            Effect.gen(function* () {
              // The id was stored already (or by another emission meanwhile): ours rolled back.
              // Any other failure may also come from a repeat whose first delivery was recorded
              // (its contact removed since, its email taken since): that is a duplicate too.
              const workspaceId = (yield* readWorkspace(storage)).id
              const stored = yield* storage.events.get(workspaceId, prepared.id)
              if (Option.isSome(stored)) return yield* duplicateOf(workspaceId, stored.value)
              return error._tag === "DuplicateEvent" ? yield* Effect.dieMessage(`event ${prepared.id} vanished`) : yield* Effect.fail(error)
            })
          )
        )
    })

    /**
     * Emits up to {@link maxEmitBatch} events in one transaction, all or none: every input is
     * checked first (every issue reported, paths starting with the item's index), then the events
     * are recorded in order, each exactly as `emit` would record it one after the other (the same
     * results, in the same order). Each is still stored once per id: an id already stored, or given
     * earlier in the list, is a `duplicate`.
     */
    const emitMany = Effect.fn("Events.emitMany")(function* (inputs: ReadonlyArray<EmitInput>) {
      if (!Array.isArray(inputs)) return yield* ValidationError.at(["events"], "expected a list of events")
      if (inputs.length > maxEmitBatch) {
        return yield* ValidationError.at(["events"], `at most ${maxEmitBatch} events per call (got ${inputs.length}); split the list`)
      }
      if (inputs.length === 0) return []
      const { values, issues } = decodeEmitInputs(inputs)
      for (const { value, index } of values) {
        const checked = checkPayload(value.type, value.payload ?? {}, [index])
        if (Either.isLeft(checked)) issues.push(...checked.left.issues)
      }
      if (issues.length > 0) return yield* ValidationError.fromIssues([...issues].sort((a, b) => Number(a.path[0]) - Number(b.path[0])), "Invalid events")
      const now = yield* DateTime.now
      // Synchronous unless an event has no id (a batch prepares a thousand).
      const ids = yield* IdGenerator
      const prepared: Array<Prepared> = []
      for (const { value } of values) prepared.push(preparedOf(value, value.id ?? EventId.make(yield* ids.next), now))
      const attempt = storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          return yield* emitBatch(yield* ensureWorkspaceForRecording(storage), prepared, now)
        })
      )
      // Another emission stored one of the ids meanwhile: the batch rolled back; run it again, and
      // that event is a duplicate this time.
      return yield* Effect.retry(attempt, { times: 3, while: (error) => error._tag === "DuplicateEvent" }).pipe(
        Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`event ${e.eventId} was stored concurrently three times in a row`))
      )
    })

    /** A stored event by id. */
    const get = Effect.fn("Events.get")(function* (eventId: string) {
      const id = yield* decodeInput(EventId, ["eventId"])(eventId)
      const found = yield* storage.events.get((yield* readWorkspace(storage)).id, id)
      return yield* Option.match(found, { onNone: () => Effect.fail(NotFound.of("event", id)), onSome: Effect.succeed })
    })

    return {
      /** Emits an event (once per id). */
      emit,
      /** Emits up to 1,000 events in one transaction, with the same results as one by one (each once per id). */
      emitMany,
      /** A stored event. */
      get
    } as const
  })
}) {}
