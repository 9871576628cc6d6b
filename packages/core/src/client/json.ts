/**
 * The JSON shapes the Promise client returns.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import type { Company } from "../domain/Company.js"
import type { Contact } from "../domain/Contact.js"
import type { Explanation } from "../domain/Condition.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import type { Deal } from "../domain/Deal.js"
import type { FieldDefinition } from "../domain/FieldDefinition.js"
import type { Job } from "../domain/Job.js"
import type { LifecycleDefinition } from "../domain/LifecycleDefinition.js"
import type { Pipeline } from "../domain/Pipeline.js"
import type { Rule } from "../domain/Rule.js"
import type { Task } from "../domain/Task.js"
import type { Template } from "../domain/Template.js"
import type { StageChange, TimelineEntry } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import type { MergeResult } from "../services/Contacts.js"
import type { EmitResult } from "../services/Events.js"

/** @since 0.1.0 @category models */
export type ContactJson = Schema.Schema.Encoded<typeof Contact>
/** @since 0.1.0 @category models */
export type CompanyJson = Schema.Schema.Encoded<typeof Company>
/** @since 0.1.0 @category models */
export type FieldDefinitionJson = Schema.Schema.Encoded<typeof FieldDefinition>
/** @since 0.1.0 @category models */
export type TimelineEntryJson = Schema.Schema.Encoded<typeof TimelineEntry>
/** @since 0.1.0 @category models */
export type StageChangeJson = Schema.Schema.Encoded<typeof StageChange>
/** @since 0.1.0 @category models */
export type EventJson = Schema.Schema.Encoded<typeof StoredEvent>
/** @since 0.1.0 @category models */
export type EmitResultJson = Schema.Schema.Encoded<typeof EmitResult>
/** @since 0.1.0 @category models */
export type WorkspaceJson = Schema.Schema.Encoded<typeof Workspace>
/** @since 0.1.0 @category models */
export type LifecycleDefinitionJson = Schema.Schema.Encoded<typeof LifecycleDefinition>
/** @since 0.2.0 @category models */
export type PipelineJson = Schema.Schema.Encoded<typeof Pipeline>
/** @since 0.2.0 @category models */
export type DealJson = Schema.Schema.Encoded<typeof Deal>
/** @since 0.2.0 @category models */
export type TaskJson = Schema.Schema.Encoded<typeof Task>
/** @since 0.2.0 @category models */
export type TemplateJson = Schema.Schema.Encoded<typeof Template>

/** @since 0.3.0 @category models */
export type RuleJson = Schema.Schema.Encoded<typeof Rule>
/** @since 0.3.0 @category models */
export type JobJson = Schema.Schema.Encoded<typeof Job>
/** @since 0.3.0 @category models */
export type MergeResultJson = Schema.Schema.Encoded<typeof MergeResult>

/**
 * What `rules.simulate` returns, as JSON.
 *
 * @since 0.3.0
 * @category models
 */
export interface SimulationJson {
  readonly contact: ContactJson
  readonly storedContact: boolean
  readonly rules: ReadonlyArray<{
    readonly ruleId: string
    readonly name: string
    readonly fires: boolean
    readonly reason: string
    readonly when: Explanation | null
    readonly unless: Explanation | null
    readonly variant: string | null
    readonly delayed: boolean
    readonly dueAt: string | null
    readonly actions: RuleJson["actions"]
  }>
}

/**
 * What `deals.followUp` returns, as JSON.
 *
 * @since 0.2.0
 * @category models
 */
export interface FollowUpResultJson {
  readonly entry: TimelineEntryJson
  readonly deal: DealJson
  /** The mail queued in the outbox (the dispatcher sends it, with retries). */
  readonly mail: { readonly to: string; readonly subject: string; readonly status: "queued"; readonly jobId: string; readonly idempotencyKey: string } | null
  readonly task: TaskJson | null
  /** The call repeated an earlier one's idempotency key: nothing was done. */
  readonly duplicate: boolean
}

/**
 * Contacts per stage, in lifecycle order.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageCount {
  readonly stage: string
  readonly label: string
  readonly count: number
}
