/**
 * Pipelines and the workspace's pipeline settings: create, rename, reorder and re-weight stages
 * at run time. Changing a stage's probability re-weights its deals at once; a stage or pipeline
 * that still holds deals cannot be dropped.
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { Conflict } from "../domain/Errors.js"
import { PipelineId } from "../domain/Ids.js"
import { defaultStages, Pipeline, PipelineCreate, PipelineUpdate, SalesSettingsChanges } from "../domain/Pipeline.js"
import { workspaceLock } from "../internal/locks.js"
import { getPipeline, pipelineLock } from "../internal/sales.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace, replaceWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"

const decodePipelineId = decodeInput(PipelineId, ["pipelineId"])

/**
 * @since 0.2.0
 * @category services
 */
export class Pipelines extends Effect.Service<Pipelines>()("@rapport/core/Pipelines", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /** Creates a pipeline (with the default stages unless `stages` is given). */
    const create = Effect.fn("Pipelines.create")(function* (input: PipelineCreate) {
      const data = yield* decodeInput(PipelineCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const existing = yield* storage.pipelines.list(workspace.id)
          const now = yield* DateTime.now
          const pipeline = new Pipeline({
            id: PipelineId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            name: data.name,
            stages: data.stages ?? defaultStages,
            floor: data.floor ?? null,
            position: data.position ?? existing.reduce((max, p) => Math.max(max, p.position + 1), 0),
            version: 1,
            createdAt: now,
            updatedAt: now
          })
          yield* storage.pipelines.insert(pipeline)
          return pipeline
        })
      )
    })

    /** The pipeline, or `NotFound`. */
    const get = Effect.fn("Pipelines.get")(function* (pipelineId: string) {
      const id = yield* decodePipelineId(pipelineId)
      return yield* getPipeline(storage, (yield* readWorkspace(storage)).id, id)
    })

    /** The workspace's pipelines, in position order (the first is the default). */
    const list = Effect.fn("Pipelines.list")(function* () {
      return yield* storage.pipelines.list((yield* readWorkspace(storage)).id)
    })

    /**
     * Renames, re-weights, reorders or extends a pipeline. Dropping a stage that still holds deals
     * fails with `Conflict` (`inUse`) and changes nothing; a new probability applies to the deals
     * of the stage that have no override.
     */
    const update = Effect.fn("Pipelines.update")(function* (pipelineId: string, input: PipelineUpdate) {
      const id = yield* decodePipelineId(pipelineId)
      const data = yield* decodeInput(PipelineUpdate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* pipelineLock(storage, workspaceId, id, "exclusive")
          const current = yield* getPipeline(storage, workspaceId, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("pipeline", id, data.expectedVersion, current.version)
          }
          const stages = data.stages ?? current.stages
          const dropped = current.stages.filter((s) => !stages.some((n) => n.key === s.key)).map((s) => s.key)
          if (dropped.length > 0) {
            const held = yield* storage.deals.count(workspaceId, { pipelineId: id, stages: dropped })
            if (held > 0) {
              const stages = dropped.map((k) => `"${k}"`).join(", ")
              return yield* Conflict.inUse("pipeline", id, held, `Pipeline "${current.name}" still has ${held} deal${held === 1 ? "" : "s"} in ${stages}; move them first`)
            }
          }
          const now = yield* DateTime.now
          const next = new Pipeline({
            ...current,
            name: data.name ?? current.name,
            stages,
            floor: data.floor === undefined ? current.floor : data.floor,
            position: data.position ?? current.position,
            version: current.version + 1,
            updatedAt: now
          })
          yield* storage.pipelines.update(next, current.version)
          for (const stage of stages) {
            const before = current.stages.find((s) => s.key === stage.key)
            if (before !== undefined && before.probability !== stage.probability) {
              yield* storage.deals.restage(workspaceId, id, stage.key, stage.probability, now)
            }
          }
          return next
        })
      )
    })

    /** Deletes a pipeline; refused with `Conflict` (`inUse`) while deals are in it. */
    const remove = Effect.fn("Pipelines.remove")(function* (pipelineId: string) {
      const id = yield* decodePipelineId(pipelineId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* pipelineLock(storage, workspaceId, id, "exclusive")
          const current = yield* getPipeline(storage, workspaceId, id)
          const held = yield* storage.deals.count(workspaceId, { pipelineId: id })
          if (held > 0) {
            return yield* Conflict.inUse("pipeline", id, held, `Pipeline "${current.name}" still holds ${held} deal${held === 1 ? "" : "s"}; move or delete them first`)
          }
          yield* storage.pipelines.remove(workspaceId, id)
        })
      )
    })

    /** The workspace's pipeline settings: floor, cold probability, stale threshold. */
    const settings = Effect.map(readWorkspace(storage), (w) => w.sales).pipe(Effect.withSpan("Pipelines.settings"))

    /** Changes the workspace's pipeline settings. */
    const configure = Effect.fn("Pipelines.configure")(function* (input: SalesSettingsChanges) {
      const changes = yield* decodeInput(SalesSettingsChanges)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* readWorkspace(storage)
          const sales = {
            floor: changes.floor === undefined ? workspace.sales.floor : changes.floor,
            coldProbability: changes.coldProbability ?? workspace.sales.coldProbability,
            staleAfterDays: changes.staleAfterDays ?? workspace.sales.staleAfterDays
          }
          return (yield* replaceWorkspace(storage, { sales }, undefined)).sales
        })
      )
    })

    return {
      /** Creates a pipeline (the default stages unless `stages` is given). */
      create,
      /** The pipeline, or a `RapportNotFoundError`. */
      get,
      /** The workspace's pipelines in order; the first is the default. */
      list,
      /** Renames, re-weights, reorders or extends a pipeline; its deals follow new probabilities. */
      update,
      /** Deletes a pipeline that holds no deal. */
      remove,
      /** The workspace's floor, cold probability and stale threshold. */
      settings,
      /** Changes the workspace's floor, cold probability or stale threshold. */
      configure
    } as const
  })
}) {}
