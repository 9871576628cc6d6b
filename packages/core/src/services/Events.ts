/**
 * Emitting events. An event is stored once per id: emitting it again (a retried webhook, a
 * replayed queue) has no further effect. An event naming an unknown email creates the contact.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Contact } from "../domain/Contact.js"
import { builtInPayloads, EmitInput, OrderPlacedPayload, StoredEvent } from "../domain/CrmEvent.js"
import { type Email, emailKey } from "../domain/Email.js"
import { type Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import { type ContactId, EventId, type WorkspaceId } from "../domain/Ids.js"
import { StageChange } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { contactLock, emailLock, workspaceLock } from "../internal/locks.js"
import { JobSignal } from "../internal/signal.js"
import { Triggered } from "../domain/Rule.js"
import { type CreationEvent, insertContact, record, type Recorder } from "../internal/recording.js"
import { decodeEach, decodeInput } from "../internal/validation.js"
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

const checkPayload = (type: string, payload: Readonly<Record<string, unknown>>, at: ReadonlyArray<string | number> = []) =>
  Effect.gen(function* () {
    const schema = builtInPayloads[type]
    if (schema !== undefined) yield* decodeInput(schema, [...at, "payload"])(payload)
    if (type === "order.placed") {
      const order = Schema.decodeUnknownSync(OrderPlacedPayload)(payload)
      const total = order.lines.reduce((sum, line) => sum + line.quantity * line.unitPrice.amountMinor, 0)
      if (!Number.isSafeInteger(total)) {
        return yield* ValidationError.at([...at, "payload", "lines"], "the order total is too large to be counted exactly")
      }
    }
  })

/**
 * The most events `emitMany` takes in one call.
 *
 * @since 0.5.0
 * @category constructors
 */
export const maxEmitBatch = 1000

const decodeEmitInputs = decodeEach(EmitInput)

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
     * Records one event in the caller's transaction, the workspace being locked and stored. With
     * `checkFirst` an id already stored is a duplicate before anything is done; without it, the
     * event's own insert finds it (DuplicateEvent: the caller rolls back and reports it), which
     * saves a read on every event that is not one.
     */
    const emitIn = (workspace: Workspace, { data, id, occurredAt, payload }: Prepared, now: DateTime.Utc, checkFirst: boolean) =>
      Effect.gen(function* () {
        if (checkFirst) {
          const existing = yield* storage.events.get(workspace.id, id)
          if (Option.isSome(existing)) return yield* duplicateOf(workspace.id, existing.value)
        }
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

    const prepare = (data: typeof EmitInput.Type, now: DateTime.Utc) =>
      Effect.map(data.id === undefined ? Effect.map(IdGenerator, (ids) => ids.next).pipe(Effect.flatten, Effect.map(EventId.make)) : Effect.succeed(data.id), (id) => ({
        data,
        id,
        occurredAt: data.occurredAt ?? now,
        payload: data.payload ?? {}
      } satisfies Prepared))

    /**
     * Emits an event: stores it (once per id), records it on the contact's timeline, keeps
     * orders as records, and moves the contact through the lifecycle when a criterion holds.
     * All of it in one transaction.
     */
    const emit = Effect.fn("Events.emit")(function* (input: EmitInput) {
      const data = yield* decodeInput(EmitInput)(input)
      yield* checkPayload(data.type, data.payload ?? {})
      const now = yield* DateTime.now
      const prepared = yield* prepare(data, now)
      return yield* storage
        .transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            return yield* emitIn(yield* ensureWorkspaceForRecording(storage), prepared, now, false)
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
        const checked = yield* Effect.either(checkPayload(value.type, value.payload ?? {}, [index]))
        if (checked._tag === "Left") issues.push(...checked.left.issues)
      }
      if (issues.length > 0) return yield* ValidationError.fromIssues([...issues].sort((a, b) => Number(a.path[0]) - Number(b.path[0])), "Invalid events")
      const now = yield* DateTime.now
      const prepared = yield* Effect.forEach(values, ({ value }) => prepare(value, now))
      const attempt = storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspaceForRecording(storage)
          // The ids stored before the batch, read at once; an id recorded earlier in the batch
          // joins them. Any other is new (or stored concurrently: the insert finds it, and the
          // batch runs again).
          const stored = new Set<string>(yield* storage.events.storedIds(workspace.id, prepared.map((p) => p.id)))
          const results: Array<EmitResult> = []
          for (const item of prepared) {
            results.push(yield* emitIn(workspace, item, now, stored.has(item.id)))
            stored.add(item.id)
          }
          return results as ReadonlyArray<EmitResult>
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
