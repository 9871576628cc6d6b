/**
 * The snapshot part of the Storage port: the weighted pipeline's daily history and each contact's
 * RFM scores. The store records and reads what the services computed or asked for; which day it
 * is, what a deal weighs and when to refresh are the caller's.
 *
 * @since 0.8.0
 */
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { StorageError } from "../domain/Errors.js"
import type { ContactId, WorkspaceId } from "../domain/Ids.js"

/**
 * One stage's weighted figures in one currency, as the pipeline stood on a day. `weighted` is
 * Σ amountMinor × percent: hundredths of a minor unit, exact (as `Weighting.SumRow`).
 *
 * @since 0.8.0
 * @category models
 */
export interface PipelineSnapshotRow {
  readonly day: string
  readonly pipelineId: string
  readonly stage: string
  readonly currency: string
  readonly count: number
  readonly amountMinor: bigint
  readonly weighted: bigint
}

/**
 * A contact's RFM quintiles (1 to 5; 5 is the most recent, most frequent, highest spending) and
 * the figures they rank.
 *
 * @since 0.8.0
 * @category models
 */
export interface RfmRow {
  readonly contactId: ContactId
  readonly recency: number
  readonly frequency: number
  readonly monetary: number
  readonly lastOrderAt: DateTime.Utc
  readonly orderCount: number
  readonly computedAt: DateTime.Utc
}

/**
 * How many contacts hold each score of one dimension.
 *
 * @since 0.8.0
 * @category models
 */
export interface RfmBucket {
  readonly dimension: "recency" | "frequency" | "monetary"
  readonly score: number
  readonly contacts: number
}

/**
 * @since 0.8.0
 * @category models
 */
export interface SnapshotRepository {
  /** Whether the workspace's pipeline was recorded for `day` (`YYYY-MM-DD`). */
  readonly hasDay: (workspaceId: WorkspaceId, day: string) => Effect.Effect<boolean, StorageError>
  /**
   * Records the day's rows with the day's marker, in one transaction: `false` (and nothing
   * changes) when the day was recorded already, by this process or another.
   */
  readonly recordDay: (
    workspaceId: WorkspaceId,
    day: string,
    takenAt: DateTime.Utc,
    rows: ReadonlyArray<Omit<PipelineSnapshotRow, "day">>
  ) => Effect.Effect<boolean, StorageError>
  /** The days recorded in `[from, to]` (inclusive) with their rows (of one pipeline when given), by day. */
  readonly history: (
    workspaceId: WorkspaceId,
    query: { readonly from: string; readonly to: string; readonly pipelineId?: string | undefined }
  ) => Effect.Effect<{ readonly days: ReadonlyArray<string>; readonly rows: ReadonlyArray<PipelineSnapshotRow> }, StorageError>
  /**
   * Scores every contact with at least one order whose status is `placed`, in one statement,
   * replacing the previous scores (a contact with none left loses its row): recency ranks the last
   * order's `placedAt`, frequency the count of orders, monetary Σ (total − refunded) within each
   * currency (a contact's best score over its currencies). Each is a quintile of the rank, so
   * equal values share a score. Returns how many contacts were scored.
   */
  readonly refreshRfm: (workspaceId: WorkspaceId, computedAt: DateTime.Utc) => Effect.Effect<number, StorageError>
  /** Removes the contact's scores (the contact is being deleted or erased). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<void, StorageError>
  /** The contact's scores, if it has any. */
  readonly rfm: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<Option.Option<RfmRow>, StorageError>
  /** Contacts per score, for each dimension (only scores some contact holds). */
  readonly rfmDistribution: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<RfmBucket>, StorageError>
  /** Every stored workspace's id, in id order (the dispatcher serving all workspaces takes each one's snapshot). */
  readonly workspaceIds: () => Effect.Effect<ReadonlyArray<WorkspaceId>, StorageError>
}
