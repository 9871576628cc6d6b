// A contact's stage change as an event: every move (automatic progression, a move by hand, a
// rule's setStage) records `contact.stage_changed` in the transaction that made it, so that rules
// can react to stage changes (`on: "contact.stage_changed"`) and webhook subscribers hear of them.
// The move's timeline entry is its record on the timeline: the event gets none of its own, and it
// does not run the lifecycle's progression (a stage change is not progress towards a stage).
//
// A rule reacting to a stage change may change the stage again, and another rule react to that:
// each such event carries `chain`, how many stage changes in a row led to it through rules reacting
// to stage changes. Past MAX_STAGE_CHAIN rules no longer react (webhooks still go out): two rules
// moving a contact back and forth stop instead of running for ever.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { Contact } from "../domain/Contact.js"
import { StoredEvent } from "../domain/CrmEvent.js"
import type { StorageError } from "../domain/Errors.js"
import { EventId, type TimelineEntryId } from "../domain/Ids.js"
import type { StageChange } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import type { StorageService } from "../ports/Storage.js"
import { toJson } from "./json.js"
import { planForEvents } from "./rules.js"
import { noticesOf, planWebhooks } from "./webhooks.js"

/** The event type of a stage change. */
export const STAGE_CHANGED = "contact.stage_changed"

/** The longest run of moves made by rules reacting to stage changes: the move after it reaches no rule. */
export const MAX_STAGE_CHAIN = 10

const chainOf = (event: StoredEvent): number => {
  const chain = event.payload["chain"]
  return typeof chain === "number" && Number.isSafeInteger(chain) && chain >= 0 ? chain : 0
}

/**
 * The `chain` of a stage change made by a job run for `trigger` (the job's event): one more than
 * the trigger's when the trigger is itself a stage change, else 0.
 */
export const chainAfter = (trigger: StoredEvent | undefined): number => (trigger !== undefined && trigger.type === STAGE_CHANGED ? chainOf(trigger) + 1 : 0)

/**
 * Records the move as a `contact.stage_changed` event (its id derived from the move's timeline
 * entry), plans the rules on it (unless the chain is too long) and queues its webhooks, all in the
 * caller's transaction. `contact` is the contact after the move. Returns whether something was
 * queued due now (the caller wakes the dispatcher after commit).
 */
export const recordStageChange = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  change: StageChange,
  entryId: TimelineEntryId,
  chain: number
): Effect.Effect<boolean, StorageError> =>
  Effect.map(recordStageChanges(storage, workspace, [{ contact, change, entryId }], chain), (queued) => queued[0]!)

/**
 * {@link recordStageChange} for the moves of distinct contacts (a batch of events moved them):
 * their events stored, their rules planned and their webhooks queued together. Returns, per
 * move, whether something was queued due now.
 */
export const recordStageChanges = (
  storage: StorageService,
  workspace: Workspace,
  moves: ReadonlyArray<{ readonly contact: Contact; readonly change: StageChange; readonly entryId: TimelineEntryId }>,
  chain: number
): Effect.Effect<ReadonlyArray<boolean>, StorageError> =>
  Effect.gen(function* () {
    if (moves.length === 0) return []
    const receivedAt = yield* DateTime.now
    const items = moves.map(({ contact, change, entryId }) => ({
      contact,
      event: new StoredEvent(
        {
          id: EventId.make(`${STAGE_CHANGED}:${entryId}`),
          workspaceId: workspace.id,
          type: STAGE_CHANGED,
          contactId: contact.id,
          occurredAt: change.at,
          receivedAt,
          payload: toJson({ from: change.from, to: change.to, cause: change.cause, author: change.author, chain }) as Record<string, unknown>
        },
        true
      )
    }))
    yield* storage.events.insertMany(items.map((i) => i.event))
    let queued = moves.map(() => false)
    if (chain <= MAX_STAGE_CHAIN) {
      const triggered = yield* planForEvents(storage, workspace, items)
      queued = triggered.map((ts) => ts.some((t) => !t.delayed))
    } else {
      for (const { contact, change } of moves) {
        yield* Effect.logWarning(
          `Rapport: rules did not react to contact ${contact.id} moving to "${change.to}": it is move ${chain} in a row made by a rule reacting to a stage change, and rules stop reacting after ${MAX_STAGE_CHAIN}`
        )
      }
    }
    const messages = yield* planWebhooks(storage, workspace, () => noticesOf(items))
    return messages > 0 ? moves.map(() => true) : queued
  })
