// Stage moves and automatic progression, shared by the services that cause them (manual moves,
// events, field updates). They run inside the caller's transaction.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import { type Conflict, InvalidTransition, type StorageError, ValidationError } from "../domain/Errors.js"
import { EventId, TimelineEntryId } from "../domain/Ids.js"
import {
  busiestWindow,
  type Criterion,
  describeCriterion,
  indexOf,
  isAffectedBy,
  pendingCriteria,
  satisfiedStages,
  type StageKey
} from "../domain/LifecycleDefinition.js"
import { StageChange, type StageChangeCause, TimelineEntry } from "../domain/TimelineEntry.js"
import type { CompiledFields } from "../domain/FieldDefinition.js"
import type { Workspace } from "../domain/Workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { StorageService } from "../ports/Storage.js"
import { claimUniqueValues, compiledFields } from "./records.js"
import { clampInstant } from "../domain/Time.js"

/**
 * The outcome of an automatic progression check.
 */
export interface Progression {
  readonly contact: Contact
  /** The move made, if any. */
  readonly change: StageChange | null
  /** A further stage whose criterion held but whose required fields are missing. */
  readonly blocked: { readonly stage: string; readonly missingFields: ReadonlyArray<string> } | null
}

export const SYSTEM_AUTHOR = "system:lifecycle"

const labelOf = (workspace: Workspace, key: string) => workspace.lifecycle.stages.find((s) => s.key === key)?.label ?? key

const missingIn = (compiled: CompiledFields, workspace: Workspace, contact: Contact, stage: string) =>
  compiled.requiredAt(indexOf(workspace.lifecycle, stage)).filter((key) => !Object.hasOwn(contact.fields, key))

/** The fields a contact must fill before entering a stage. */
export const missingFieldsFor = (storage: StorageService, workspace: Workspace, contact: Contact, stage: string) =>
  Effect.map(compiledFields(storage, workspace, "contact"), (compiled) => missingIn(compiled, workspace, contact, stage))

const timelineEntry = (workspace: Workspace, contact: Contact, fields: Omit<ConstructorParameters<typeof TimelineEntry>[0], "id" | "workspaceId" | "contactId" | "recordedAt">) =>
  Effect.gen(function* () {
    return new TimelineEntry(
      {
        id: TimelineEntryId.make(yield* (yield* IdGenerator).next),
        workspaceId: workspace.id,
        contactId: contact.id,
        recordedAt: yield* DateTime.now,
        ...fields
      },
      true
    )
  })

/**
 * Stores a stage change and its timeline entry; the contact's version moves on by one. The move
 * is dated `requestedAt` (the triggering event's time, or now), but never before the contact's
 * previous move: events reported out of order still leave a history that reads in sequence.
 */
export const applyMove = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  to: StageKey,
  cause: StageChangeCause,
  author: string | null,
  requestedAt: DateTime.Utc
) =>
  Effect.gen(function* () {
    const [previous] = yield* storage.timeline.list(workspace.id, { contactId: contact.id, kinds: ["stageChange"], limit: 1 })
    const at = previous === undefined ? requestedAt : DateTime.max(requestedAt, previous.occurredAt)
    const moved = new Contact({ ...contact, stage: to, version: contact.version + 1, updatedAt: yield* DateTime.now })
    yield* storage.contacts.update(moved, contact.version, { keepIdentities: true })
    const why = cause.kind === "manual" ? cause.reason : `automatic: ${cause.criterion}`
    yield* storage.timeline.append(
      yield* timelineEntry(workspace, contact, {
        kind: "stageChange",
        occurredAt: at,
        author,
        channel: null,
        direction: null,
        summary: `Moved from ${labelOf(workspace, contact.stage)} to ${labelOf(workspace, to)} (${why})`,
        reaction: null,
        payload: { from: contact.stage, to, cause },
        eventId: cause.kind === "automatic" && cause.eventId !== null ? EventId.make(cause.eventId) : null
      })
    )
    return { contact: moved, change: new StageChange({ contactId: contact.id, from: contact.stage, to, at, author, cause }) }
  })

/**
 * Moves a contact to a stage by hand or by a rule's action: the one guard every such move passes.
 * Moving to the current stage changes nothing (`change` is null); an unknown stage is a
 * ValidationError on `stage`; an earlier stage when the lifecycle only moves forward, or a stage
 * whose required fields the contact lacks, is an InvalidTransition saying why.
 */
export const moveTo = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  to: StageKey,
  cause: Extract<StageChangeCause, { readonly kind: "manual" }>,
  author: string | null
): Effect.Effect<{ readonly contact: Contact; readonly change: StageChange | null }, ValidationError | InvalidTransition | StorageError | Conflict> =>
  Effect.gen(function* () {
    const lifecycle = workspace.lifecycle
    const target = indexOf(lifecycle, to)
    if (target < 0) return yield* ValidationError.at(["stage"], `unknown stage "${to}"; stages are ${lifecycle.stages.map((s) => s.key).join(", ")}`)
    if (contact.stage === to) return { contact, change: null }
    const refuse = (reason: "missingFields" | "backward", missingFields: ReadonlyArray<string>, message: string) =>
      new InvalidTransition({ reason, contactId: contact.id, from: contact.stage, to, missingFields, message })
    if (target < indexOf(lifecycle, contact.stage) && !lifecycle.allowBackward) {
      return yield* refuse("backward", [], `Cannot move contact ${contact.id} back from "${contact.stage}" to "${to}": this lifecycle only moves forward`)
    }
    const missing = yield* missingFieldsFor(storage, workspace, contact, to)
    if (missing.length > 0) return yield* refuse("missingFields", missing, `Cannot move contact ${contact.id} to "${to}": fill ${missing.map((k) => `"${k}"`).join(", ")} first`)
    return yield* applyMove(storage, workspace, contact, to, cause, author, yield* DateTime.now)
  })

/**
 * How far a contact's history goes towards a criterion. Without a window: every order or event
 * ever. With one: the busiest window around the triggering event (or anywhere, when no event
 * triggered the check), so late or out-of-order events count where they belong.
 */
const measure = (storage: StorageService, workspace: Workspace, contact: Contact, trigger: StoredEvent | undefined) => (criterion: Criterion) => {
  const around =
    criterion.withinDays === undefined || trigger === undefined
      ? {}
      : {
          since: clampInstant(DateTime.subtract(trigger.occurredAt, { days: criterion.withinDays })),
          until: clampInstant(DateTime.add(trigger.occurredAt, { days: criterion.withinDays }))
        }
  const query = { contactId: contact.id, ...around }
  if (criterion.withinDays === undefined) {
    return criterion.kind === "orders"
      ? storage.orders.count(workspace.id, query)
      : storage.events.count(workspace.id, { ...query, types: criterion.types })
  }
  const withinDays = criterion.withinDays
  const times = criterion.kind === "orders" ? storage.orders.times(workspace.id, query) : storage.events.times(workspace.id, { ...query, types: criterion.types })
  return Effect.map(times, (ts) => busiestWindow(ts.map(DateTime.toEpochMillis), withinDays))
}

const noteBlocked = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  blocked: NonNullable<Progression["blocked"]>,
  at: DateTime.Utc,
  trigger: StoredEvent | undefined
) =>
  Effect.flatMap(
    timelineEntry(workspace, contact, {
      kind: "note",
      occurredAt: at,
      author: SYSTEM_AUTHOR,
      channel: null,
      direction: null,
      summary: `Could not move to ${labelOf(workspace, blocked.stage)}: missing ${blocked.missingFields.join(", ")}`,
      reaction: null,
      payload: { blockedStage: blocked.stage, missingFields: blocked.missingFields },
      eventId: trigger?.id ?? null
    }),
    storage.timeline.append
  )

/**
 * Moves the contact forward as far as its history allows: to the furthest stage whose criterion
 * holds and whose required fields are filled. A further stage blocked by missing fields is noted
 * on the timeline. `trigger` is the event just recorded (only criteria it can change are
 * measured), or `undefined` after the contact's fields changed (every pending criterion is).
 */
export const progress = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  trigger: StoredEvent | undefined
): Effect.Effect<Progression, StorageError | Conflict> =>
  Effect.gen(function* () {
    const lifecycle = workspace.lifecycle
    const pending = pendingCriteria(lifecycle, contact.stage).filter((c) => trigger === undefined || isAffectedBy(c, trigger.type))
    if (pending.length === 0) return { contact, change: null, blocked: null }
    const counts = new Map<Criterion, number>()
    for (const criterion of pending) counts.set(criterion, yield* measure(storage, workspace, contact, trigger)(criterion))
    const at = trigger?.occurredAt ?? (yield* DateTime.now)
    let blocked: Progression["blocked"] = null
    const candidates = satisfiedStages(lifecycle, contact.stage, (c) => counts.get(c) ?? 0)
    const compiled = candidates.length === 0 ? undefined : yield* compiledFields(storage, workspace, "contact")
    for (const stage of candidates) {
      const missing = missingIn(compiled!, workspace, contact, stage.key)
      if (missing.length > 0) {
        blocked ??= { stage: stage.key, missingFields: missing }
        continue
      }
      const cause: StageChangeCause = {
        kind: "automatic",
        criterion: describeCriterion(stage.enterWhen!),
        eventId: trigger?.id ?? null,
        eventType: trigger?.type ?? null
      }
      return { ...(yield* applyMove(storage, workspace, contact, stage.key, cause, SYSTEM_AUTHOR, at)), blocked }
    }
    if (blocked !== null) yield* noteBlocked(storage, workspace, contact, blocked, at, trigger)
    return { contact, change: null, blocked }
  })


/**
 * Stores a contact's next version over `current` (Conflict when it changed meanwhile) and moves
 * its unique-value claims; when its fields changed, automatic progression may move it on (filling
 * a stage's required fields can). Contacts.update and the rules' setField action both write so.
 */
export const saveContact = (storage: StorageService, workspace: Workspace, compiled: CompiledFields, current: Contact, next: Contact, fieldsChanged: boolean) =>
  Effect.gen(function* () {
    yield* storage.contacts.update(next, current.version)
    yield* claimUniqueValues(storage, workspace.id, "contact", compiled, current.id, current.fields, next.fields)
    return fieldsChanged ? (yield* progress(storage, workspace, next, undefined)).contact : next
  })
