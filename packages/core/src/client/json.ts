/**
 * The JSON shapes the Promise client returns.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import type * as DateTime from "effect/DateTime"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { Company } from "../domain/Company.js"
import type { Contact } from "../domain/Contact.js"
import type { Condition, Explanation } from "../domain/Condition.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import type { Deal } from "../domain/Deal.js"
import type { JsonValue } from "../domain/Json.js"
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

/**
 * A service's result as the Promise client returns it: instants (`DateTime`) become ISO-8601 UTC
 * strings, an `Option` becomes its value or `null`, branded ids become plain strings, lists stay
 * lists (read-only), and records become plain objects with the same keys. For an entity this is its Schema's encoded form (so
 * `ClientJson<Contact>` is {@link ContactJson}, `ClientJson<Deal>` is {@link DealJson}).
 *
 * @since 0.5.0
 * @category models
 */
export type ClientJson<A> = unknown extends A ? A
  : A extends DateTime.DateTime ? string
  : A extends Option.Option<infer B> ? ClientJson<B> | null
  // Entities become their named JSON shape (a contact's displayName is a getter, not data).
  : A extends Contact ? ContactJson
  : A extends Company ? CompanyJson
  : A extends FieldDefinition ? FieldDefinitionJson
  : A extends TimelineEntry ? TimelineEntryJson
  : A extends StageChange ? StageChangeJson
  : A extends StoredEvent ? EventJson
  : A extends EmitResult ? EmitResultJson
  : A extends Workspace ? WorkspaceJson
  : A extends LifecycleDefinition ? LifecycleDefinitionJson
  : A extends Pipeline ? PipelineJson
  : A extends Deal ? DealJson
  : A extends Task ? TaskJson
  : A extends Template ? TemplateJson
  : A extends Rule ? RuleJson
  : A extends Job ? JobJson
  : A extends MergeResult ? MergeResultJson
  : A extends Brand.Brand<any> ? A extends string ? string : A extends number ? number : A
  : A extends string | number | boolean | bigint | symbol | null | undefined | void ? A
  // Conditions, and lists and records of any JSON value, are JSON already; keeping them whole also
  // stops the recursion at their nesting.
  : A extends Condition ? A
  : ReadonlyArray<JsonValue> extends A ? A
  : { readonly [key: string]: JsonValue } extends A ? A
  : { readonly [K in keyof A]: ClientJson<A[K]> }

/** @since 0.1.0 @category models */
export interface ContactJson extends Schema.Schema.Encoded<typeof Contact> {}
/** @since 0.1.0 @category models */
export interface CompanyJson extends Schema.Schema.Encoded<typeof Company> {}
/** @since 0.1.0 @category models */
export interface FieldDefinitionJson extends Schema.Schema.Encoded<typeof FieldDefinition> {}
/** @since 0.1.0 @category models */
export interface TimelineEntryJson extends Schema.Schema.Encoded<typeof TimelineEntry> {}
/** @since 0.1.0 @category models */
export interface StageChangeJson extends Schema.Schema.Encoded<typeof StageChange> {}
/** @since 0.1.0 @category models */
export interface EventJson extends Schema.Schema.Encoded<typeof StoredEvent> {}
/** @since 0.1.0 @category models */
export interface EmitResultJson extends Schema.Schema.Encoded<typeof EmitResult> {}
/** @since 0.1.0 @category models */
export interface WorkspaceJson extends Schema.Schema.Encoded<typeof Workspace> {}
/** @since 0.1.0 @category models */
export interface LifecycleDefinitionJson extends Schema.Schema.Encoded<typeof LifecycleDefinition> {}
/** @since 0.2.0 @category models */
export interface PipelineJson extends Schema.Schema.Encoded<typeof Pipeline> {}
/** @since 0.2.0 @category models */
export interface DealJson extends Schema.Schema.Encoded<typeof Deal> {}
/** @since 0.2.0 @category models */
export interface TaskJson extends Schema.Schema.Encoded<typeof Task> {}
/** @since 0.2.0 @category models */
export interface TemplateJson extends Schema.Schema.Encoded<typeof Template> {}

/** @since 0.3.0 @category models */
export interface RuleJson extends Schema.Schema.Encoded<typeof Rule> {}
/** @since 0.3.0 @category models */
export interface JobJson extends Schema.Schema.Encoded<typeof Job> {}
/** @since 0.3.0 @category models */
export interface MergeResultJson extends Schema.Schema.Encoded<typeof MergeResult> {}

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

