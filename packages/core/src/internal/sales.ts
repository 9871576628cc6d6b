// Helpers the pipeline services share: finding pipelines and deals, the default pipeline, and the
// deal entries of the contact's timeline.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Deal } from "../domain/Deal.js"
import { ValidationError } from "../domain/Errors.js"
import { type DealId, PipelineId, type TemplateId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import { defaultStages, findStage, Pipeline, type PipelineStage } from "../domain/Pipeline.js"
import { TimelineEntry } from "../domain/TimelineEntry.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { StorageService } from "../ports/Storage.js"
import { orNotFound } from "./records.js"

export const getPipeline = (storage: StorageService, workspaceId: WorkspaceId, id: PipelineId) =>
  orNotFound(storage.pipelines.get(workspaceId, id), "pipeline", id)

export const getDeal = (storage: StorageService, workspaceId: WorkspaceId, id: DealId) =>
  orNotFound(storage.deals.get(workspaceId, id), "deal", id)

export const getTemplate = (storage: StorageService, workspaceId: WorkspaceId, id: TemplateId) =>
  orNotFound(storage.templates.get(workspaceId, id), "template", id)

/** The name of the pipeline a workspace gets when it creates a deal before any pipeline. */
export const DEFAULT_PIPELINE_NAME = "Sales"

/** The workspace's first pipeline; one with the default stages is created if it has none. */
export const defaultPipeline = (storage: StorageService, workspaceId: WorkspaceId) =>
  Effect.gen(function* () {
    const existing = yield* storage.pipelines.list(workspaceId)
    if (existing[0] !== undefined) return existing[0]
    // Two first deals at once must not create two default pipelines.
    yield* storage.lock(workspaceId, "pipeline:default", "exclusive")
    const again = yield* storage.pipelines.list(workspaceId)
    if (again[0] !== undefined) return again[0]
    const now = yield* DateTime.now
    const pipeline = new Pipeline({
      id: PipelineId.make(yield* (yield* IdGenerator).next),
      workspaceId,
      name: DEFAULT_PIPELINE_NAME,
      stages: defaultStages,
      floor: null,
      position: 0,
      version: 1,
      createdAt: now,
      updatedAt: now
    })
    yield* storage.pipelines.insert(pipeline)
    return pipeline
  })

/** The stage of the pipeline with this key, or a ValidationError naming the pipeline's stages. */
export const stageOf = (pipeline: Pipeline, key: string, path: ReadonlyArray<string | number> = ["stage"]) => {
  const stage = findStage(pipeline, key)
  return stage !== undefined
    ? Effect.succeed<PipelineStage>(stage)
    : Effect.fail(
        ValidationError.at(
          path,
          `"${key}" is not a stage of pipeline "${pipeline.name}"; its stages are ${pipeline.stages.map((s) => s.key).join(", ")}`
        )
      )
}

/** Records something that happened to a deal on its contact's timeline (deals of a company alone have none). */
export const logDeal = (
  storage: StorageService,
  deal: Deal,
  entry: {
    readonly id?: TimelineEntryId
    readonly kind?: "deal" | "followUp"
    readonly summary: string
    readonly at: DateTime.Utc
    readonly author: string | null
    readonly payload: Readonly<Record<string, unknown>>
    readonly channel?: string | null
    readonly reaction?: TimelineEntry["reaction"]
  }
) =>
  Effect.gen(function* () {
    if (deal.contactId === null) return Option.none<TimelineEntry>()
    const logged = new TimelineEntry({
      id: entry.id ?? TimelineEntryId.make(yield* (yield* IdGenerator).next),
      workspaceId: deal.workspaceId,
      contactId: deal.contactId,
      kind: entry.kind ?? "deal",
      occurredAt: entry.at,
      recordedAt: yield* DateTime.now,
      author: entry.author,
      channel: entry.channel ?? null,
      direction: entry.kind === "followUp" ? "outbound" : null,
      summary: entry.summary,
      reaction: entry.reaction ?? null,
      payload: { dealId: deal.id, ...entry.payload },
      eventId: null
    })
    yield* storage.timeline.append(logged)
    return Option.some(logged)
  })

/** The lock that orders deal writes (shared) against changes of their pipeline (exclusive). */
export const pipelineLock = (storage: StorageService, workspaceId: WorkspaceId, id: PipelineId, mode: "shared" | "exclusive") =>
  storage.lock(workspaceId, `pipeline:${id}`, mode)
