/**
 * What the CRM remembers day by day: the weighted pipeline's daily history, and each contact's RFM
 * scores (recency, frequency, monetary quintiles over its placed orders).
 *
 * The dispatcher takes the snapshot once per local day of each workspace it serves (the first time
 * it looks for due jobs that day; see `dispatcher.runDue` and `dispatcher.start`), weighing the
 * pipeline as `deals.weightedPipeline` does at that moment, and refreshes the RFM scores with it.
 * `takeSnapshot` and `refreshRfm` do the same on demand. A day is recorded once, whoever takes it.
 *
 * RFM scores are usable in conditions as `contact.rfm.recency`, `contact.rfm.frequency` and
 * `contact.rfm.monetary` (missing for a contact without placed orders).
 *
 * @since 0.8.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { NotFound, ValidationError } from "../domain/Errors.js"
import { ContactId, PipelineId } from "../domain/Ids.js"
import { LocalDate, localDateOf } from "../domain/Time.js"
import * as Weighting from "../domain/Weighting.js"
import { recordPipelineDay } from "../internal/snapshots.js"
import { decodeInput } from "../internal/validation.js"
import { readWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"

/** The longest history one call reads, in days (about ten years). */
const MAX_DAYS = 3660

/**
 * What `snapshots.pipelineHistory` accepts: the days `[from, to]` (inclusive, `YYYY-MM-DD`, local
 * days of the workspace's timezone), one pipeline, and the grouping of each day: by `pipeline`
 * (default) or by `stage`.
 *
 * @since 0.8.0
 * @category schemas
 */
export const PipelineHistoryOptions = Schema.Struct({
  from: LocalDate,
  to: LocalDate,
  pipelineId: Schema.optional(PipelineId),
  groupBy: Schema.optional(Schema.Literal("pipeline", "stage"))
}).annotations({ identifier: "PipelineHistoryOptions" })

/**
 * @since 0.8.0
 * @category models
 */
export type PipelineHistoryOptions = typeof PipelineHistoryOptions.Encoded

/**
 * The weighted pipeline as it stood on a day (the day's snapshot), in the shape of
 * `deals.weightedPipeline`.
 *
 * @since 0.8.0
 * @category schemas
 */
export const PipelineDay = Schema.Struct({
  day: Schema.String,
  groupBy: Schema.Array(Weighting.Dimension),
  groups: Schema.Array(Weighting.GroupTotals),
  totals: Schema.Array(Weighting.Total)
}).annotations({ identifier: "PipelineDay" })

/**
 * @since 0.8.0
 * @category models
 */
export interface PipelineDay extends Schema.Schema.Type<typeof PipelineDay> {}

/**
 * A score from 1 to 5: the quintile of the contact's rank among the workspace's contacts with
 * placed orders (5: the most recent last order, the most orders, the most net revenue).
 *
 * @since 0.8.0
 * @category schemas
 */
export const RfmScore = Schema.Int.pipe(Schema.between(1, 5)).annotations({ identifier: "RfmScore" })

/**
 * A contact's RFM scores, the figures they rank, and when they were computed.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RfmScores = Schema.Struct({
  contactId: Schema.String,
  recency: RfmScore,
  frequency: RfmScore,
  monetary: RfmScore,
  lastOrderAt: Schema.DateTimeUtc,
  orderCount: Schema.Int,
  computedAt: Schema.DateTimeUtc
}).annotations({ identifier: "RfmScores" })

/**
 * @since 0.8.0
 * @category models
 */
export interface RfmScores extends Schema.Schema.Type<typeof RfmScores> {}

const Buckets = Schema.Array(Schema.Struct({ score: RfmScore, contacts: Schema.Int }))

/**
 * How many contacts hold each score (1 to 5, zeros included) of each dimension.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RfmDistribution = Schema.Struct({
  contacts: Schema.Int.annotations({ description: "Contacts with scores" }),
  recency: Buckets,
  frequency: Buckets,
  monetary: Buckets
}).annotations({ identifier: "RfmDistribution" })

/**
 * @since 0.8.0
 * @category models
 */
export interface RfmDistribution extends Schema.Schema.Type<typeof RfmDistribution> {}

/**
 * What a refresh did: how many contacts were scored, and when.
 *
 * @since 0.8.0
 * @category schemas
 */
export const RfmRefresh = Schema.Struct({ contacts: Schema.Int, computedAt: Schema.DateTimeUtc }).annotations({ identifier: "RfmRefresh" })

/**
 * @since 0.8.0
 * @category models
 */
export interface RfmRefresh extends Schema.Schema.Type<typeof RfmRefresh> {}

/**
 * What `takeSnapshot` did: the local day, and whether this call recorded it (`false`: it was
 * recorded already, today's figures are kept).
 *
 * @since 0.8.0
 * @category schemas
 */
export const SnapshotTaken = Schema.Struct({ day: Schema.String, taken: Schema.Boolean }).annotations({ identifier: "SnapshotTaken" })

/**
 * @since 0.8.0
 * @category models
 */
export interface SnapshotTaken extends Schema.Schema.Type<typeof SnapshotTaken> {}

const decodeHistory = decodeInput(PipelineHistoryOptions)
const decodeContactId = decodeInput(ContactId, ["contactId"])

const daysBetween = (from: string, to: string) => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000

/**
 * @since 0.8.0
 * @category services
 */
export class Snapshots extends Effect.Service<Snapshots>()("@rapport/core/Snapshots", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /**
     * The weighted pipeline day by day over `[from, to]`: one entry per recorded day, in day order
     * (days the dispatcher did not run have none), grouped by pipeline or by stage.
     */
    const pipelineHistory = Effect.fn("Snapshots.pipelineHistory")(function* (options: PipelineHistoryOptions) {
      const query = yield* decodeHistory(options)
      if (query.to < query.from) return yield* Effect.fail(ValidationError.at(["to"], `must not be before from (${query.from}), got ${query.to}`))
      if (daysBetween(query.from, query.to) > MAX_DAYS) {
        return yield* Effect.fail(ValidationError.at(["to"], `a history spans at most ${MAX_DAYS} days; ask for it in parts`))
      }
      const workspace = yield* readWorkspace(storage)
      const { days, rows } = yield* storage.snapshots.history(workspace.id, { from: query.from, to: query.to, pipelineId: query.pipelineId })
      const byDay = new Map<string, Array<Weighting.SumRow>>(days.map((d) => [d, []]))
      for (const r of rows) {
        byDay.get(r.day)?.push({ pipelineId: r.pipelineId, stage: r.stage, ownerId: null, month: null, currency: r.currency, count: r.count, amountMinor: r.amountMinor, weighted: r.weighted })
      }
      const groupBy: ReadonlyArray<Weighting.Dimension> = [query.groupBy ?? "pipeline"]
      const out: Array<PipelineDay> = []
      for (const [day, dayRows] of byDay) {
        const summary = Weighting.summarize(dayRows, groupBy)
        if (Either.isLeft(summary)) return yield* Effect.fail(summary.left)
        out.push({ day, ...summary.right })
      }
      return out as ReadonlyArray<PipelineDay>
    })

    /** Records today's snapshot (the workspace's local day) unless it was recorded already; refreshes RFM when it records it. */
    const takeSnapshot = Effect.fn("Snapshots.takeSnapshot")(function* () {
      const workspace = yield* readWorkspace(storage)
      const now = yield* DateTime.now
      const day = localDateOf(now, workspace.timezone)
      const taken = yield* recordPipelineDay(storage, workspace.id, day, workspace.sales.coldProbability)
      if (taken) yield* storage.snapshots.refreshRfm(workspace.id, now)
      return { day, taken } as SnapshotTaken
    })

    /** Scores every contact with placed orders again, now. */
    const refreshRfm = Effect.fn("Snapshots.refreshRfm")(function* () {
      const workspace = yield* readWorkspace(storage)
      const computedAt = yield* DateTime.now
      const contacts = yield* storage.snapshots.refreshRfm(workspace.id, computedAt)
      return { contacts, computedAt } as RfmRefresh
    })

    /** The contact's RFM scores as last computed; none when it had no placed order then; NotFound when there is no such contact. */
    const rfm = Effect.fn("Snapshots.rfm")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspace = yield* readWorkspace(storage)
      const row = yield* storage.snapshots.rfm(workspace.id, id)
      // Only a contact without scores costs a second read: unknown (or another workspace's) is NotFound.
      if (Option.isNone(row) && Option.isNone(yield* storage.contacts.get(workspace.id, id))) return yield* Effect.fail(NotFound.of("contact", id))
      return Option.map(row, (r): RfmScores => ({ ...r }))
    })

    /** How many contacts hold each score of each dimension. */
    const rfmDistribution = Effect.fn("Snapshots.rfmDistribution")(function* () {
      const workspace = yield* readWorkspace(storage)
      const buckets = yield* storage.snapshots.rfmDistribution(workspace.id)
      const of = (dimension: "recency" | "frequency" | "monetary") =>
        [1, 2, 3, 4, 5].map((score) => ({ score, contacts: buckets.find((b) => b.dimension === dimension && b.score === score)?.contacts ?? 0 }))
      const recency = of("recency")
      return { contacts: recency.reduce((n, b) => n + b.contacts, 0), recency, frequency: of("frequency"), monetary: of("monetary") } as RfmDistribution
    })

    return {
      /** The weighted pipeline day by day (the dispatcher's daily snapshots). */
      pipelineHistory,
      /** Records today's snapshot now (the dispatcher does it on its first run of the day). */
      takeSnapshot,
      /** Scores every contact's RFM again (the dispatcher does it with the daily snapshot). */
      refreshRfm,
      /** A contact's RFM scores, or none. */
      rfm,
      /** Contacts per RFM score. */
      rfmDistribution
    } as const
  })
}) {}
