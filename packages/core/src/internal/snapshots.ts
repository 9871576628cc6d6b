// The daily snapshot of the weighted pipeline, and the RFM refresh that goes with it. The
// dispatcher calls `daily` each time it looks for due jobs; what it remembers per workspace (the
// last local day recorded or found, and the timezone it was computed in) keeps that a map lookup
// for the rest of the day, so a polling dispatcher costs the database nothing more between days.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { WorkspaceId } from "../domain/Ids.js"
import { localDateOf, type Timezone } from "../domain/Time.js"
import * as Weighting from "../domain/Weighting.js"
import type { StorageService } from "../ports/Storage.js"

/**
 * Records the workspace's weighted pipeline per pipeline, stage and currency for `day`, weighed as
 * `deals.weightedPipeline` weighs it now; `false` when the day was recorded already.
 */
export const recordPipelineDay = (storage: StorageService, workspaceId: WorkspaceId, day: string, coldProbability: number) =>
  Effect.gen(function* () {
    const now = yield* DateTime.now
    const sums = yield* storage.deals.sums(workspaceId, { groupBy: ["stage"], filter: {} })
    // Grouped by stage, every row has its pipeline and stage.
    const rows = Weighting.weigh(sums, coldProbability).flatMap((r) =>
      r.pipelineId === null || r.stage === null
        ? []
        : [{ pipelineId: r.pipelineId, stage: r.stage, currency: r.currency, count: r.count, amountMinor: r.amountMinor, weighted: r.weighted }]
    )
    return yield* storage.snapshots.recordDay(workspaceId, day, now, rows)
  })

// How often a dispatcher serving every workspace lists them again (new workspaces join within this).
const LIST_EVERY_MILLIS = 60_000
// The most workspaces one call reads storage for: a dispatcher serving thousands of workspaces
// spreads the day's snapshots over its next runs instead of holding its due jobs back for them.
const PER_CALL = 50

/**
 * A dispatcher's daily work: for each workspace (every stored one when `undefined`), once per local
 * day of the workspace's timezone, the pipeline's snapshot and, when this call took it, the RFM
 * refresh. Idempotent per day across processes (the day's marker row). Failures are logged and
 * tried again on the next call; they never fail the dispatcher.
 */
export const makeDaily = (storage: StorageService) => {
  const known = new Map<WorkspaceId, { readonly timezone: Timezone; readonly day: string }>()
  let listed: { readonly at: number; readonly ids: ReadonlyArray<WorkspaceId> } | undefined

  // Where the next call starts in the list, so that workspaces failing every time cannot starve the others.
  let cursor = 0

  /** `false` when the workspace was known done for today (no storage read). */
  const one = (workspaceId: WorkspaceId, now: DateTime.Utc) =>
    Effect.gen(function* () {
      const seen = known.get(workspaceId)
      if (seen !== undefined && localDateOf(now, seen.timezone) === seen.day) return false
      const stored = yield* storage.workspaces.get(workspaceId)
      if (Option.isNone(stored)) return true
      const workspace = stored.value
      const day = localDateOf(now, workspace.timezone)
      if (!(yield* storage.snapshots.hasDay(workspaceId, day))) {
        const taken = yield* recordPipelineDay(storage, workspaceId, day, workspace.sales.coldProbability)
        if (taken) yield* storage.snapshots.refreshRfm(workspaceId, now)
      }
      known.set(workspaceId, { timezone: workspace.timezone, day })
      return true
    }).pipe(
      Effect.catchAllCause((cause) => Effect.as(Effect.logError(`Rapport: could not take the daily snapshot of workspace ${workspaceId}`, cause), true))
    )

  return (workspaces: ReadonlyArray<WorkspaceId> | undefined) =>
    Effect.gen(function* () {
      const now = yield* DateTime.now
      let ids = workspaces
      if (ids === undefined) {
        const millis = DateTime.toEpochMillis(now)
        if (listed === undefined || millis - listed.at >= LIST_EVERY_MILLIS || millis < listed.at) {
          const all = yield* storage.snapshots.workspaceIds().pipe(Effect.option)
          if (Option.isNone(all)) return
          listed = { at: millis, ids: all.value }
        }
        ids = listed.ids
      }
      let read = 0
      for (let i = 0; i < ids.length && read < PER_CALL; i++) {
        const at = (cursor + i) % ids.length
        if (yield* one(ids[at]!, now)) {
          read++
          if (read === PER_CALL) cursor = (at + 1) % ids.length
        }
      }
    })
}
