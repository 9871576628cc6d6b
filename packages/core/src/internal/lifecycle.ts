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
import type { HistoryAnswer, HistoryQuestion, StorageService } from "../ports/Storage.js"
import { claimUniqueValues, compiledFields } from "./records.js"
import { clampInstant } from "../domain/Time.js"
import { recordStageChange, recordStageChanges } from "./stageChanged.js"

/**
 * The outcome of an automatic progression check.
 */
export interface Progression {
  readonly contact: Contact
  /** The move made, if any. */
  readonly change: StageChange | null
  /** A further stage whose criterion held but whose required fields are missing. */
  readonly blocked: { readonly stage: string; readonly missingFields: ReadonlyArray<string> } | null
  /** The move queued jobs due now (rules on `contact.stage_changed`, webhooks): wake the dispatcher. */
  readonly queued?: boolean | undefined
}

export const SYSTEM_AUTHOR = "system:lifecycle"

const labelOf = (workspace: Workspace, key: string) => workspace.lifecycle.stages.find((s) => s.key === key)?.label ?? key

const missingIn = (compiled: CompiledFields, workspace: Workspace, contact: Contact, stage: string) =>
  compiled.requiredAt(indexOf(workspace.lifecycle, stage), contact, contact.fields).filter((key) => !Object.hasOwn(contact.fields, key))

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
 * previous move: events reported out of order still leave a history that reads in sequence. The
 * move is recorded as a `contact.stage_changed` event (see stageChanged.ts; `chain` is its place
 * in a run of moves made by rules reacting to moves).
 */
export const applyMove = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  to: StageKey,
  cause: StageChangeCause,
  author: string | null,
  requestedAt: DateTime.Utc,
  chain = 0
) =>
  Effect.gen(function* () {
    const [previous] = yield* storage.timeline.list(workspace.id, { contactId: contact.id, kinds: ["stageChange"], limit: 1 })
    const { moved, entry, change } = yield* planMove(workspace, contact, to, cause, author, requestedAt, previous?.occurredAt)
    yield* storage.contacts.update(moved, contact.version, { only: ["stage"] })
    yield* storage.timeline.append(entry)
    const queued = yield* recordStageChange(storage, workspace, moved, change, entry.id, chain)
    return { contact: moved, change, queued }
  })

/**
 * A stage change not written yet (see {@link applyMove}): the contact after it, its timeline
 * entry and the change, dated `requestedAt` but never before `previousAt`, the contact's
 * previous move.
 */
const planMove = (
  workspace: Workspace,
  contact: Contact,
  to: StageKey,
  cause: StageChangeCause,
  author: string | null,
  requestedAt: DateTime.Utc,
  previousAt: DateTime.Utc | undefined
) =>
  Effect.gen(function* () {
    const at = previousAt === undefined ? requestedAt : DateTime.max(requestedAt, previousAt)
    // The stored contact with a stage of the lifecycle: the constructor need not check it again.
    const moved = new Contact({ ...contact, stage: to, version: contact.version + 1, updatedAt: yield* DateTime.now }, true)
    const why = cause.kind === "manual" ? cause.reason : `automatic: ${cause.criterion}`
    const entry = yield* timelineEntry(workspace, contact, {
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
    const change = new StageChange({ contactId: contact.id, from: contact.stage, to, at, author, cause }, true)
    return { moved, entry, change }
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
  author: string | null,
  chain = 0
): Effect.Effect<
  { readonly contact: Contact; readonly change: StageChange | null; readonly queued?: boolean | undefined },
  ValidationError | InvalidTransition | StorageError | Conflict
> =>
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
    return yield* applyMove(storage, workspace, contact, to, cause, author, yield* DateTime.now, chain)
  })

/** The window a windowed criterion is measured in around the triggering event. */
const around = (trigger: StoredEvent, withinDays: number) => ({
  since: clampInstant(DateTime.subtract(trigger.occurredAt, { days: withinDays })),
  until: clampInstant(DateTime.add(trigger.occurredAt, { days: withinDays }))
})

/**
 * How far a contact's history goes towards its pending criteria, as history questions and how
 * each criterion reads its value from their answers. Without a window a criterion counts every
 * order or event ever; with one, the busiest window around the triggering event (or anywhere,
 * when no event triggered the check), so late or out-of-order events count where they belong.
 * Criteria on the same history share a question: one count, or one list of times read over the
 * widest window (each criterion then keeps the times in its own).
 */
const measuresOf = (contact: Contact, trigger: StoredEvent | undefined, pending: ReadonlyArray<Criterion>) => {
  const sourceOf = (c: Criterion) => (c.kind === "orders" ? "orders" : `events:${[...c.types].sort().join(",")}`)
  const keyOf = (c: Criterion) => `${sourceOf(c)}|${c.withinDays === undefined ? "count" : "times"}`
  // Per shared question: its index and the widest window it must cover.
  const shared = new Map<string, { index: number; days: number | undefined }>()
  const questions: Array<HistoryQuestion> = []
  for (const criterion of pending) {
    const key = keyOf(criterion)
    const days = trigger === undefined ? undefined : criterion.withinDays
    const known = shared.get(key)
    if (known === undefined) shared.set(key, { index: shared.size, days })
    else if (days !== undefined && known.days !== undefined) shared.set(key, { ...known, days: Math.max(known.days, days) })
  }
  for (const [key, { days }] of shared) {
    const criterion = pending.find((c) => keyOf(c) === key)!
    const window = days === undefined || trigger === undefined ? {} : around(trigger, days)
    const form = criterion.withinDays === undefined ? "Count" : "Times"
    questions.push(
      criterion.kind === "orders"
        ? { ask: `order${form}`, contactId: contact.id, ...window }
        : { ask: `event${form}`, contactId: contact.id, types: criterion.types, ...window }
    )
  }
  const values = (answers: ReadonlyArray<HistoryAnswer>) => {
    const counts = new Map<Criterion, number>()
    for (const criterion of pending) {
      const answer = answers[shared.get(keyOf(criterion))!.index]!
      if (criterion.withinDays === undefined) {
        counts.set(criterion, answer.count)
        continue
      }
      let times = answer.times.map(DateTime.toEpochMillis)
      if (trigger !== undefined) {
        const own = around(trigger, criterion.withinDays)
        const since = DateTime.toEpochMillis(own.since)
        const until = DateTime.toEpochMillis(own.until)
        times = times.filter((t) => t > since && t <= until)
      }
      counts.set(criterion, busiestWindow(times, criterion.withinDays))
    }
    return counts
  }
  return { questions, values }
}

const blockedNote = (workspace: Workspace, contact: Contact, blocked: NonNullable<Progression["blocked"]>, at: DateTime.Utc, trigger: StoredEvent | undefined) =>
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
  })

/**
 * Moves the contact forward as far as its history allows: to the furthest stage whose criterion
 * holds and whose required fields are filled. A further stage blocked by missing fields is noted
 * on the timeline. `trigger` is the event just recorded (only criteria it can change are
 * measured), or `undefined` after the contact's fields changed (every pending criterion is).
 * `chain` is passed on to the move (see {@link applyMove}).
 */
export const progress = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  trigger: StoredEvent | undefined,
  chain = 0
): Effect.Effect<Progression, StorageError | Conflict> => Effect.map(progressMany(storage, workspace, [{ contact, trigger }], chain), (done) => done[0]!)

/**
 * {@link progress} for several distinct contacts at once, with one history read for all of them
 * and one timeline write (which also stores `along`, the entries the caller has to write): the
 * same moves, notes and stage-change events as progressing each in turn.
 */
export const progressMany = (
  storage: StorageService,
  workspace: Workspace,
  items: ReadonlyArray<{ readonly contact: Contact; readonly trigger: StoredEvent | undefined }>,
  chain = 0,
  along: ReadonlyArray<TimelineEntry> = []
): Effect.Effect<ReadonlyArray<Progression>, StorageError | Conflict> => {
  const asked = progressQuestions(workspace, items)
  return Effect.flatMap(asked.questions.length === 0 ? Effect.succeed([]) : storage.history(workspace.id, asked.questions), (answers) =>
    asked.progress(storage, answers, chain, along)
  )
}

/**
 * What progressing these contacts asks storage (their pending criteria's history, and when each
 * last moved, in case it moves now), and the progression once `answers` to those questions
 * are in: {@link progressMany} in two steps, so that a caller can ask them with its own questions.
 */
export const progressQuestions = (workspace: Workspace, items: ReadonlyArray<{ readonly contact: Contact; readonly trigger: StoredEvent | undefined }>) => {
  const lifecycle = workspace.lifecycle
  const questions: Array<HistoryQuestion> = []
  const asked = items.map(({ contact, trigger }) => {
    const pending = pendingCriteria(lifecycle, contact.stage).filter((c) => trigger === undefined || isAffectedBy(c, trigger.type))
    if (pending.length === 0) return undefined
    const measures = measuresOf(contact, trigger, pending)
    const offset = questions.length
    questions.push(...measures.questions, { ask: "lastStageChange", contactId: contact.id })
    return { offset, measures }
  })
  const progress = (
    storage: StorageService,
    answers: ReadonlyArray<HistoryAnswer>,
    chain: number,
    along: ReadonlyArray<TimelineEntry>
  ): Effect.Effect<ReadonlyArray<Progression>, StorageError | Conflict> =>
    Effect.gen(function* () {
      let compiled: CompiledFields | undefined
      const entries: Array<TimelineEntry> = [...along]
      const moves: Array<{ readonly index: number; readonly before: Contact; readonly moved: Contact; readonly change: StageChange; readonly entry: TimelineEntry }> = []
      const done: Array<Progression> = []
      for (const [index, { contact, trigger }] of items.entries()) {
        const mine = asked[index]
        if (mine === undefined) {
          done.push({ contact, change: null, blocked: null })
          continue
        }
        const mineAnswers = answers.slice(mine.offset, mine.offset + mine.measures.questions.length + 1)
        const counts = mine.measures.values(mineAnswers)
        const previousAt = mineAnswers[mineAnswers.length - 1]!.times[0]
        const at = trigger?.occurredAt ?? (yield* DateTime.now)
        let blocked: Progression["blocked"] = null
        let progression: Progression | undefined
        const candidates = satisfiedStages(lifecycle, contact.stage, (c) => counts.get(c) ?? 0)
        if (candidates.length > 0) compiled ??= yield* compiledFields(storage, workspace, "contact")
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
          const { moved, entry, change } = yield* planMove(workspace, contact, stage.key, cause, SYSTEM_AUTHOR, at, previousAt)
          moves.push({ index, before: contact, moved, change, entry })
          entries.push(entry)
          progression = { contact: moved, change, blocked }
          break
        }
        if (progression === undefined && blocked !== null) entries.push(yield* blockedNote(workspace, contact, blocked, at, trigger))
        done.push(progression ?? { contact, change: null, blocked })
      }
      // Distinct contacts: their moves are written together.
      yield* storage.contacts.updateMany(moves.map(({ before, moved }) => ({ contact: moved, expectedVersion: before.version })), { only: ["stage"] })
      if (entries.length > 0) yield* storage.timeline.appendMany(entries)
      if (moves.length === 0) return done
      const queued = yield* recordStageChanges(storage, workspace, moves.map(({ moved, change, entry }) => ({ contact: moved, change, entryId: entry.id })), chain)
      moves.forEach(({ index }, i) => (done[index] = { ...done[index]!, queued: queued[i]! }))
      return done
    })
  return { questions, progress }
}


/**
 * Stores a contact's next version over `current` (Conflict when it changed meanwhile) and moves
 * its unique-value claims; when its fields changed, automatic progression may move it on (filling
 * a stage's required fields can). Contacts.update and the rules' setField action both write so
 * (`chain`: see {@link applyMove}). Returns the progression: the caller wakes the dispatcher when
 * the move queued work due now.
 */
export const saveContact = (
  storage: StorageService,
  workspace: Workspace,
  compiled: CompiledFields,
  current: Contact,
  next: Contact,
  fieldsChanged: boolean,
  chain = 0
): Effect.Effect<Progression, StorageError | Conflict> =>
  Effect.gen(function* () {
    yield* storage.contacts.update(next, current.version)
    yield* claimUniqueValues(storage, workspace.id, "contact", compiled, current.id, current.fields, next.fields)
    return fieldsChanged ? yield* progress(storage, workspace, next, undefined, chain) : { contact: next, change: null, blocked: null }
  })
