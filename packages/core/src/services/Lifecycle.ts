/**
 * The workspace's lifecycle: its definition, manual moves with a reason, and each contact's
 * history of moves. Automatic progression happens as events are emitted and fields are filled;
 * a move into a stage whose required fields are missing is refused.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Conflict } from "../domain/Errors.js"
import { ContactId, type TimelineEntryId } from "../domain/Ids.js"
import { Text } from "../domain/Json.js"
import { indexOf, LifecycleDefinition, PresetName, presets, StageKey } from "../domain/LifecycleDefinition.js"
import { referencesOf } from "../domain/Rule.js"
import { StageChange, StageChangePayload } from "../domain/TimelineEntry.js"
import { moveTo } from "../internal/lifecycle.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { getContact } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { readWorkspace, replaceWorkspace } from "../internal/workspace.js"
import { refuseIfRulesUse } from "../internal/ruleRefs.js"
import { rulesChanged } from "../internal/rules.js"
import { JobSignal } from "../internal/signal.js"
import { Storage } from "../ports/Storage.js"

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
  reason: Text(500),
  /** Who moved it (a user id of the host app). */
  author: Schema.optional(Text(200)),
  /** Refuse the move if the contact changed since this version. */
  expectedVersion: Schema.optional(Schema.Int)
})

/**
 * @since 0.1.0
 * @category models
 */
export type MoveOptions = typeof MoveOptions.Encoded

const decodeContactId = decodeInput(ContactId, ["contactId"])
const decodeStageChangePayload = Schema.decodeUnknownEither(StageChangePayload)
const HISTORY_PAGE = 500

/**
 * @since 0.1.0
 * @category services
 */
export class Lifecycle extends Effect.Service<Lifecycle>()("@rapport/core/Lifecycle", {
  dependencies: [JobSignal.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const signal = yield* JobSignal


    /** The current workspace's lifecycle definition. */
    const definition = Effect.map(readWorkspace(storage), (w) => w.lifecycle).pipe(Effect.withSpan("Lifecycle.definition"))

    /**
     * Replaces the lifecycle. Refused while contacts sit in a stage the new definition drops, or
     * while a field is required from such a stage.
     */
    const configure = Effect.fn("Lifecycle.configure")(function* (input: LifecycleConfiguration) {
      const config = yield* decodeInput(LifecycleConfiguration)(input)
      const next = "preset" in config ? presets[config.preset] : config.definition
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* readWorkspace(storage)
          const dropped = new Set<string>(workspace.lifecycle.stages.map((s) => s.key).filter((k) => indexOf(next, k) < 0))
          const stranded = (yield* storage.contacts.countByStage(workspace.id)).filter((c) => dropped.has(c.stage))
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
          // A conditional requirement that compares the stage with one the new lifecycle drops.
          const reading = defs.find(
            (d) =>
              typeof d.required === "object" &&
              d.required.when !== undefined &&
              [...referencesOf({ when: d.required.when, unless: null, actions: [], variants: null }).stages].some((stage) => dropped.has(stage))
          )
          if (reading !== undefined) {
            return yield* new Conflict({
              reason: "inUse",
              entity: "fieldDefinition",
              id: `contact.${reading.key}`,
              field: reading.key,
              message: `The requirement of field "${reading.key}" reads a stage the new lifecycle drops (required: { when }); change the field first`
            })
          }
          yield* refuseIfRulesUse(storage, workspace.id, "stages", [...dropped], "workspace", workspace.id)
          yield* rulesChanged(storage, workspace.id)
          return (yield* replaceWorkspace(storage, { lifecycle: next }, config.expectedVersion)).lifecycle
        })
      )
    })

    /**
     * Moves a contact by hand. Fails with `InvalidTransition` when the target stage requires
     * fields the contact lacks, or when it is earlier and the lifecycle forbids going back.
     * Moving to the current stage changes nothing. Like every move, it records a
     * `contact.stage_changed` event: rules on it run, webhook subscribers hear of it.
     */
    const move = Effect.fn("Lifecycle.move")(function* (contactId: string, to: string, options: MoveOptions) {
      const id = yield* decodeContactId(contactId)
      const target = yield* decodeInput(StageKey, ["stage"])(to)
      const opts = yield* decodeInput(MoveOptions)(options)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          yield* contactLock(storage, workspace.id, id)
          const contact = yield* getContact(storage, workspace.id, id)
          if (opts.expectedVersion !== undefined && opts.expectedVersion !== contact.version) {
            return yield* Conflict.version("contact", id, opts.expectedVersion, contact.version)
          }
          const moved = yield* moveTo(storage, workspace, contact, target, { kind: "manual", reason: opts.reason }, opts.author ?? null)
          // The move is a `contact.stage_changed` event: rules on it and webhooks may be due now.
          if (moved.queued === true) yield* storage.afterCommit(signal.notify)
          return moved.contact
        })
      )
    })

    /** A contact's stage changes, oldest first. */
    const history = Effect.fn("Lifecycle.history")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getContact(storage, workspaceId, id)
      const changes: Array<StageChange> = []
      let before: { occurredAt: DateTime.Utc; id: TimelineEntryId } | undefined
      while (true) {
        const page = yield* storage.timeline.list(workspaceId, { contactId: id, kinds: ["stageChange"], before, limit: HISTORY_PAGE })
        for (const entry of page) {
          const payload = decodeStageChangePayload(entry.payload)
          if (payload._tag === "Right") {
            changes.push(new StageChange({ contactId: id, ...payload.right, at: entry.occurredAt, author: entry.author }))
          }
        }
        if (page.length < HISTORY_PAGE) break
        const last = page[page.length - 1]!
        before = { occurredAt: last.occurredAt, id: last.id }
      }
      return changes.reverse()
    })

    return {
      /** The workspace's lifecycle. */
      definition,
      /** Replaces the lifecycle (a preset by name, or a definition). */
      configure,
      /** Moves a contact by hand, with a reason. */
      move,
      /** A contact's stage changes, oldest first. */
      history
    } as const
  })
}) {}
