/**
 * Sales pipelines over HTTP: create, read, change, delete, list, and the workspace's sales
 * settings (the floor, the cold probability, the stale threshold).
 *
 * @since 0.6.0
 */
import { Ids, Pipeline, Pipelines, Workspaces } from "@rapport/core"
import type { PipelineCreate, PipelineUpdate, SalesSettingsChanges } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, etag, idempotent, input, json, noContent, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, route, UnprocessableResponse } from "../internal/routes.js"

const PipelinePath = Schema.Struct({ pipelineId: Ids.PipelineId })

/**
 * The pipelines routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("pipelines")
  .add(
    HttpApiEndpoint.post("create", "/pipelines")
      .setPayload(Pipeline.PipelineCreate)
      .addSuccess(Pipeline.Pipeline, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("pipelines.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/pipelines").addSuccess(Schema.Array(Pipeline.Pipeline)).annotateContext(route("pipelines.list")))
  .add(
    HttpApiEndpoint.get("get", "/pipelines/:pipelineId")
      .setPath(PipelinePath)
      .addSuccess(Pipeline.Pipeline)
      .addError(NotFoundResponse)
      .annotateContext(route("pipelines.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/pipelines/:pipelineId")
      .setPath(PipelinePath)
      .setPayload(Pipeline.PipelineUpdate)
      .addSuccess(Pipeline.Pipeline)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("pipelines.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/pipelines/:pipelineId")
      .setPath(PipelinePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .annotateContext(route("pipelines.remove"))
  )
  .add(HttpApiEndpoint.get("settings", "/sales-settings").addSuccess(Pipeline.SalesSettings).annotateContext(route("pipelines.settings")))
  .add(
    HttpApiEndpoint.patch("configure", "/sales-settings")
      .setPayload(Pipeline.SalesSettingsChanges)
      .addSuccess(Pipeline.SalesSettings)
      .annotateContext(route("pipelines.configure"))
  )
  .middleware(Authorized)

/**
 * The pipelines routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "pipelines", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const pipeline = yield* (yield* Pipelines.Pipelines).create(yield* input<PipelineCreate>())
          return yield* created(pipeline, `/pipelines/${pipeline.id}`)
        })
      )
    )
    .handleRaw("list", () => Effect.map(Effect.flatMap(Pipelines.Pipelines, (service) => service.list()), (pipelines) => json(pipelines)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Pipelines.Pipelines, (service) => service.get(path.pipelineId)), (pipeline) => json(pipeline)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Pipelines.Pipelines).update(path.pipelineId, yield* versionedInput<PipelineUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Pipelines.Pipelines).remove(path.pipelineId)
        return yield* noContent
      })
    )
    // Part of the workspace's settings: the workspace's version is the ETag.
    .handleRaw("settings", () =>
      Effect.map(Effect.flatMap(Workspaces.Workspaces, (service) => service.get), (workspace) => json(workspace.sales, 200, { etag: etag(workspace.version) }))
    )
    .handleRaw("configure", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Pipelines.Pipelines).configure(yield* input<SalesSettingsChanges>()))
      })
    )
)
