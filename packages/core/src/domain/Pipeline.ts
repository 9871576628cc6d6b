/**
 * Pipelines (the PIPE): each an ordered list of deal stages with a default win probability, one
 * stage that means won and one that means lost. Pipelines are data: created, renamed, reordered
 * and re-weighted at run time, and validated whenever they change.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { PipelineId, WorkspaceId } from "./Ids.js"
import { Text } from "./Json.js"
import { StageKey } from "./LifecycleDefinition.js"
import { Money } from "./Money.js"
import { Instant } from "./Time.js"
import { showValue } from "../internal/show.js"

/**
 * A win probability in whole percent, 0 to 100.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Probability = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 0 && n <= 100, {
    message: (issue) => `must be a whole percentage from 0 to 100, got ${showValue(issue.actual)}`,
    arbitrary: () => (fc) => fc.integer({ min: 0, max: 100 })
  }),
  Schema.annotations({ identifier: "Probability" })
)

/**
 * What reaching a stage means for its deals: still `open`, `won` or `lost`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const StageOutcome = Schema.Literal("open", "won", "lost")

/**
 * @since 0.2.0
 * @category models
 */
export type StageOutcome = typeof StageOutcome.Type

/**
 * Days without activity after which an open deal counts as stale: 1 to 3650.
 *
 * @since 0.2.0
 * @category schemas
 */
export const StaleAfterDays = Schema.Int.pipe(
  Schema.between(1, 3650, { message: (issue) => `must be a whole number of days from 1 to 3650, got ${showValue(issue.actual)}` })
)

/**
 * A stage of a pipeline. `staleAfterDays` overrides the workspace's default for this stage.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PipelineStage = Schema.transform(
  Schema.Struct({
    key: StageKey,
    label: Text(100),
    probability: Probability,
    outcome: Schema.optional(StageOutcome),
    staleAfterDays: Schema.optional(Schema.NullOr(StaleAfterDays))
  }),
  Schema.typeSchema(
    Schema.Struct({
      key: StageKey,
      label: Schema.String,
      probability: Probability,
      outcome: StageOutcome,
      staleAfterDays: Schema.NullOr(StaleAfterDays)
    })
  ),
  {
    strict: true,
    // Omitted, a stage is open and follows the workspace's stale threshold.
    decode: (stage) => ({ ...stage, outcome: stage.outcome ?? "open", staleAfterDays: stage.staleAfterDays ?? null }),
    encode: (stage) => stage
  }
)

/**
 * @since 0.2.0
 * @category models
 */
export interface PipelineStage extends Schema.Schema.Type<typeof PipelineStage> {}

const stagesIssue = (stages: ReadonlyArray<PipelineStage>): string | undefined => {
  const seen = new Set<string>()
  for (const stage of stages) {
    if (seen.has(stage.key)) return `has the stage key "${stage.key}" twice`
    seen.add(stage.key)
  }
  const won = stages.filter((s) => s.outcome === "won")
  const lost = stages.filter((s) => s.outcome === "lost")
  if (won.length !== 1) return `must have exactly one stage with outcome "won", found ${won.length}`
  if (lost.length !== 1) return `must have exactly one stage with outcome "lost", found ${lost.length}`
  if (won[0]!.probability !== 100) return `the won stage "${won[0]!.key}" must have probability 100, got ${won[0]!.probability}`
  if (lost[0]!.probability !== 0) return `the lost stage "${lost[0]!.key}" must have probability 0, got ${lost[0]!.probability}`
  if (!stages.some((s) => s.outcome === "open")) return "must have at least one open stage before the deal is won or lost"
  return undefined
}

/**
 * A pipeline's stages, in order: unique keys, exactly one won stage (probability 100), exactly
 * one lost stage (probability 0), and at least one open stage.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PipelineStages = Schema.Array(PipelineStage).pipe(
  Schema.maxItems(50, { message: () => "must have at most 50 stages" }),
  Schema.filter((stages) => stagesIssue(stages), { identifier: "PipelineStages" })
)

const stage = (key: string, label: string, probability: number, outcome: StageOutcome = "open"): PipelineStage => ({
  key: StageKey.make(key),
  label,
  probability,
  outcome,
  staleAfterDays: null
})

/**
 * Common practice: prospecting 10%, first contact 20%, demo 40%, proposal review 60%, won 100%,
 * lost 0%.
 *
 * @since 0.2.0
 * @category constructors
 */
export const defaultStages: ReadonlyArray<PipelineStage> = [
  stage("prospecting", "Prospecting", 10),
  stage("firstContact", "First contact", 20),
  stage("demo", "Demo", 40),
  stage("proposalReview", "Proposal review", 60),
  stage("won", "Won", 100, "won"),
  stage("lost", "Lost", 0, "lost")
]

/**
 * A pipeline. `floor` is the weighted total below which the business is at risk.
 *
 * @since 0.2.0
 * @category models
 */
export class Pipeline extends Schema.Class<Pipeline>("Pipeline")({
  id: PipelineId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  stages: PipelineStages,
  floor: Schema.NullOr(Money),
  /** Orders the pipelines of a workspace; the first is the default for new deals. */
  position: Schema.Int,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * The stage with this key, if the pipeline has it.
 *
 * @since 0.2.0
 * @category utils
 */
export const findStage = (pipeline: { readonly stages: ReadonlyArray<PipelineStage> }, key: string): PipelineStage | undefined =>
  pipeline.stages.find((s) => s.key === key)

/**
 * The stage a deal reaches when it is won (or lost).
 *
 * @since 0.2.0
 * @category utils
 */
export const outcomeStage = (pipeline: { readonly stages: ReadonlyArray<PipelineStage> }, outcome: "won" | "lost"): PipelineStage =>
  pipeline.stages.find((s) => s.outcome === outcome)!

/**
 * What `pipelines.create` accepts; without `stages`, the {@link defaultStages}.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PipelineCreate = Schema.Struct({
  name: Text(200),
  stages: Schema.optional(PipelineStages),
  floor: Schema.optional(Schema.NullOr(Money)),
  position: Schema.optional(Schema.Int)
})

/**
 * @since 0.2.0
 * @category models
 */
export type PipelineCreate = typeof PipelineCreate.Encoded

/**
 * What `pipelines.update` accepts. `stages` replaces the list: rename labels, reorder, change
 * probabilities, add stages; a stage that still holds deals cannot be dropped.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PipelineUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  name: Schema.optional(Text(200)),
  stages: Schema.optional(PipelineStages),
  floor: Schema.optional(Schema.NullOr(Money)),
  position: Schema.optional(Schema.Int)
})

/**
 * @since 0.2.0
 * @category models
 */
export type PipelineUpdate = typeof PipelineUpdate.Encoded

/**
 * Workspace-wide settings of the pipeline: the floor of the whole weighted pipeline, the
 * probability cold deals count with (0 unless set), and after how many days without activity an
 * open deal is stale (unless its stage says otherwise).
 *
 * @since 0.2.0
 * @category schemas
 */
export const SalesSettings = Schema.Struct({
  floor: Schema.NullOr(Money),
  coldProbability: Probability,
  staleAfterDays: StaleAfterDays
})

/**
 * @since 0.2.0
 * @category models
 */
export interface SalesSettings extends Schema.Schema.Type<typeof SalesSettings> {}

/**
 * The settings of a workspace that never changed them.
 *
 * @since 0.2.0
 * @category constructors
 */
export const defaultSalesSettings: SalesSettings = { floor: null, coldProbability: 0, staleAfterDays: 30 }

/**
 * What `pipelines.configure` accepts.
 *
 * @since 0.2.0
 * @category schemas
 */
export const SalesSettingsChanges = Schema.Struct({
  floor: Schema.optional(Schema.NullOr(Money)),
  coldProbability: Schema.optional(Probability),
  staleAfterDays: Schema.optional(StaleAfterDays)
})

/**
 * @since 0.2.0
 * @category models
 */
export type SalesSettingsChanges = typeof SalesSettingsChanges.Encoded
