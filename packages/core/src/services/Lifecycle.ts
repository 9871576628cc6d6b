/**
 * Moving contacts through the workspace's lifecycle: by hand (with a reason), or automatically
 * when events meet a stage's criterion. A move into a stage whose required fields are missing is
 * refused; every move is recorded on the timeline with its date and cause.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import { Conflict, InvalidTransition, NotFound, type StorageError, ValidationError } from "../domain/Errors.js"
import type { FieldEntity } from "../domain/FieldDefinition.js"
import { ContactId, EventId, TimelineEntryId } from "../domain/Ids.js"
import {
  type Criterion,
  describeCriterion,
  indexOf,
  isAffectedBy,
  LifecycleDefinition,
  pendingCriteria,
  PresetName,
  presets,
  satisfiedStages,
  type Stage,
  StageKey
} from "../domain/LifecycleDefinition.js"
import { StageChange, type StageChangeCause, StageChangePayload, TimelineEntry } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { Fields } from "./Fields.js"
import { Workspaces } from "./Workspaces.js"

/**
 * What `lifecycle.configure` accepts: a preset by name, or a whole definition.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LifecycleConfiguration = Schema.Union(
  Schema.Struct({ preset: PresetName, expectedVersion: Schema.optional(Schema.Int) }),
  Schema.Struct({ definition: LifecycleDefinition, expectedVersion: Schema.optional(Schema.Int) })
)

/**
 * @since 0.1.0
 * @category models
 */
export type LifecycleConfiguration = typeof LifecycleConfiguration.Encoded

/**
 * What `lifecycle.move` accepts besides the contact and the target stage.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MoveOptions = Schema.Struct({
  /** Why: kept on the timeline. */
  reason: Schema.Trim.pipe(Schema.minLength(1, { message: () => "say why the contact moves" }), Schema.maxLength(500)),
  /** Who moved it (a user id of the host app). */
  author: Schema.optional(Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(200))),
  /** Refuse the move if the contact changed since this version. */
  expectedVersion: Schema.optional(Schema.Int)
})

/**
 * @since 0.1.0
 * @category models
 */
export type MoveOptions = typeof MoveOptions.Encoded

/**
 * The outcome of an automatic progression check.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progression {
  readonly contact: Contact
  /** The move made, if any. */
  readonly change: StageChange | null
  /** A further stage whose criterion held but whose required fields are missing. */
  readonly blocked: { readonly stage: string; readonly missingFields: ReadonlyArray<string> } | null
}

const SYSTEM_AUTHOR = "system:lifecycle"
const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeStageChangePayload = Schema.decodeUnknownEither(StageChangePayload)

/**
 * @since 0.1.0
 * @category services
 */
export class Lifecycle extends Effect.Service<Lifecycle>()("@rapport/core/Lifecycle", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const workspaces = yield* Workspaces
    const fields = yield* Fields

    const getContact = (workspace: Workspace, id: ContactId) =>
      Effect.flatMap(storage.contacts.get(workspace.id, id), Option.match({
        onNone: () => Effect.fail(NotFound.of("contact", id)),
        onSome: Effect.succeed
      }))

    const missingFieldsFor = (workspace: Workspace, contact: Contact, stage: string) =>
      Effect.map(fields.compiled(workspace, "contact" satisfies FieldEntity), (compiled) =>
        compiled.requiredAt(indexOf(workspace.lifecycle, stage)).filter((key) => contact.fields[key] === undefined)
      )

    /** Stores the stage change and its timeline entry; the contact's version moves by one. */
    const applyMove = (workspace: Workspace, contact: Contact, to: Stage["key"], cause: StageChangeCause, author: string | null, at: DateTime.Utc) =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        const moved = new Contact({ ...contact, stage: to, version: contact.version + 1, updatedAt: now })
        yield* storage.contacts.update(moved, contact.version)
        const label = (key: string) => workspace.lifecycle.stages.find((s) => s.key === key)?.label ?? key
        const why = cause.kind === "manual" ? cause.reason : `automatic: ${cause.criterion}`
        yield* storage.timeline.append(
          new TimelineEntry({
            id: TimelineEntryId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            contactId: contact.id,
            kind: "stageChange",
            occurredAt: at,
            recordedAt: now,
            author,
            channel: null,
            direction: null,
            summary: `Moved from ${label(contact.stage)} to ${label(to)} (${why})`,
            reaction: null,
            payload: { from: contact.stage, to, cause },
            eventId: cause.kind === "automatic" && cause.eventId !== null ? EventId.make(cause.eventId) : null
          })
        )
        return { contact: moved, change: new StageChange({ contactId: contact.id, from: contact.stage, to, at, author, cause }) }
      })

    /** The current workspace's lifecycle definition. */
    const definition = Effect.map(workspaces.current, (w) => w.lifecycle).pipe(Effect.withSpan("Lifecycle.definition"))

    /**
     * Replaces the lifecycle. Refused while contacts sit in a stage the new definition drops, or
     * while a field is required from such a stage.
     */
    const configure = Effect.fn("Lifecycle.configure")(function* (input: LifecycleConfiguration) {
      const config = yield* decodeInput(LifecycleConfiguration)(input)
      const next = "preset" in config ? presets[config.preset] : config.definition
      const workspace = yield* workspaces.current
      return yield* storage.transaction(
        Effect.gen(function* () {
          const dropped = new Set(workspace.lifecycle.stages.map((s) => s.key).filter((k) => indexOf(next, k) < 0))
          const stranded = (yield* storage.contacts.countByStage(workspace.id)).filter((c) => dropped.has(StageKey.make(c.stage)))
          const affected = stranded.reduce((n, c) => n + c.count, 0)
          if (affected > 0) {
            return yield* new Conflict({
              reason: "inUse",
              entity: "workspace",
              id: workspace.id,
              affected,
              message: `${affected} contact${affected === 1 ? " is" : "s are"} in stage${stranded.length === 1 ? "" : "s"} ${stranded.map((s) => `"${s.stage}"`).join(", ")}, which the new lifecycle drops; move them first`
            })
          }
          const defs = yield* storage.fieldDefinitions.list(workspace.id, "contact")
          const orphan = defs.find((d) => typeof d.required === "object" && indexOf(next, d.required.fromStage) < 0)
          if (orphan !== undefined && typeof orphan.required === "object") {
            return yield* new Conflict({
              reason: "inUse",
              entity: "fieldDefinition",
              id: `contact.${orphan.key}`,
              field: orphan.key,
              message: `Field "${orphan.key}" is required from stage "${orphan.required.fromStage}", which the new lifecycle drops; change the field first`
            })
          }
          const updated = yield* workspaces.setLifecycle(workspace, next, config.expectedVersion)
          return updated.lifecycle
        })
      )
    })

    /**
     * Moves a contact by hand. Fails with `InvalidTransition` when the target stage requires
     * fields the contact lacks, or when it is earlier and the lifecycle forbids going back.
     * Moving to the current stage changes nothing.
     */
    const move = Effect.fn("Lifecycle.move")(function* (contactId: string, to: string, options: MoveOptions) {
      const id = yield* decodeContactId(contactId)
      const target = yield* decodeInput(StageKey, ["stage"])(to)
      const opts = yield* decodeInput(MoveOptions)(options)
      const workspace = yield* workspaces.current
      const lifecycle = workspace.lifecycle
      if (indexOf(lifecycle, target) < 0) {
        return yield* ValidationError.at(["stage"], `unknown stage "${target}"; stages are ${lifecycle.stages.map((s) => s.key).join(", ")}`)
      }
      return yield* storage.transaction(
        Effect.gen(function* () {
          const contact = yield* getContact(workspace, id)
          if (opts.expectedVersion !== undefined && opts.expectedVersion !== contact.version) {
            return yield* Conflict.version("contact", id, opts.expectedVersion, contact.version)
          }
          if (contact.stage === target) return contact
          const refuse = (reason: "missingFields" | "backward", missingFields: ReadonlyArray<string>, message: string) =>
            new InvalidTransition({ reason, contactId: id, from: contact.stage, to: target, missingFields, message })
          if (indexOf(lifecycle, target) < indexOf(lifecycle, contact.stage) && !lifecycle.allowBackward) {
            return yield* refuse("backward", [], `Cannot move contact ${id} back from "${contact.stage}" to "${target}": this lifecycle only moves forward`)
          }
          const missing = yield* missingFieldsFor(workspace, contact, target)
          if (missing.length > 0) {
            return yield* refuse("missingFields", missing, `Cannot move contact ${id} to "${target}": fill ${missing.map((k) => `"${k}"`).join(", ")} first`)
          }
          const { contact: moved } = yield* applyMove(workspace, contact, target, { kind: "manual", reason: opts.reason }, opts.author ?? null, yield* DateTime.now)
          return moved
        })
      )
    })

    /** A contact's stage changes, oldest first. */
    const history = Effect.fn("Lifecycle.history")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspace = yield* workspaces.current
      yield* getContact(workspace, id)
      const changes: Array<StageChange> = []
      let before: { occurredAt: DateTime.Utc; id: TimelineEntryId } | undefined
      while (true) {
        const page = yield* storage.timeline.list(workspace.id, { contactId: id, kinds: ["stageChange"], before, limit: 500 })
        for (const entry of page) {
          const payload = decodeStageChangePayload(entry.payload)
          if (payload._tag === "Right") {
            changes.push(new StageChange({ contactId: id, ...payload.right, at: entry.occurredAt, author: entry.author }))
          }
        }
        if (page.length < 500) break
        const last = page[page.length - 1]!
        before = { occurredAt: last.occurredAt, id: last.id }
      }
      return changes.reverse()
    })

    const countFor = (workspace: Workspace, contact: Contact, until: DateTime.Utc) => (criterion: Criterion) => {
      const since = criterion.withinDays === undefined ? undefined : DateTime.subtract(until, { days: criterion.withinDays })
      return criterion.kind === "orders"
        ? storage.orders.count(workspace.id, { contactId: contact.id, since, until })
        : storage.events.count(workspace.id, { contactId: contact.id, types: criterion.types, since, until })
    }

    /**
     * Moves the contact forward as far as its history allows: to the furthest stage whose
     * criterion holds and whose required fields are filled. A further stage blocked by missing
     * fields is noted on the timeline. Runs inside the caller's transaction.
     *
     * `trigger` is the event just recorded (only criteria it can affect are counted), or
     * `undefined` after the contact's fields changed (every pending criterion is counted).
     */
    const progress = (contact: Contact, trigger: StoredEvent | undefined): Effect.Effect<Progression, StorageError | Conflict> =>
      Effect.gen(function* () {
        const workspace = yield* workspaces.current
        const lifecycle = workspace.lifecycle
        const pending = pendingCriteria(lifecycle, contact.stage).filter((c) => trigger === undefined || isAffectedBy(c, trigger.type))
        if (pending.length === 0) return { contact, change: null, blocked: null }
        const until = trigger?.occurredAt ?? (yield* DateTime.now)
        const count = countFor(workspace, contact, until)
        const counts = new Map<Criterion, number>()
        for (const criterion of pending) counts.set(criterion, yield* count(criterion))
        const candidates = satisfiedStages(lifecycle, contact.stage, (c) => counts.get(c) ?? 0)
        let blocked: Progression["blocked"] = null
        for (const stage of candidates) {
          const missing = yield* missingFieldsFor(workspace, contact, stage.key)
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
          const moved = yield* applyMove(workspace, contact, stage.key, cause, SYSTEM_AUTHOR, until)
          return { ...moved, blocked }
        }
        if (blocked !== null) {
          yield* noteBlocked(workspace, contact, blocked, until, trigger)
        }
        return { contact, change: null, blocked }
      })

    const noteBlocked = (
      workspace: Workspace,
      contact: Contact,
      blocked: NonNullable<Progression["blocked"]>,
      at: DateTime.Utc,
      trigger: StoredEvent | undefined
    ) =>
      Effect.gen(function* () {
        yield* storage.timeline.append(
          new TimelineEntry({
            id: TimelineEntryId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            contactId: contact.id,
            kind: "note",
            occurredAt: at,
            recordedAt: yield* DateTime.now,
            author: SYSTEM_AUTHOR,
            channel: null,
            direction: null,
            summary: `Could not move to ${workspace.lifecycle.stages.find((s) => s.key === blocked.stage)?.label ?? blocked.stage}: missing ${blocked.missingFields.join(", ")}`,
            reaction: null,
            payload: { blockedStage: blocked.stage, missingFields: blocked.missingFields },
            eventId: trigger?.id ?? null
          })
        )
      })

    return { definition, configure, move, history, progress } as const
  }),
  dependencies: [Workspaces.Default, Fields.Default]
}) {}
