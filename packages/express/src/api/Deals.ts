/**
 * Deals over HTTP: create, read, change, delete, list, move through their pipeline (won, lost,
 * cold), the quote sent, follow-ups, stale deals, and the weighted pipeline, forecast and floor
 * check.
 *
 * @since 0.6.0
 */
import { Deal, Deals, Errors, Events, Ids, LifecycleDefinition, Task, TimelineEntry, Weighting } from "@rapport/core"
import type { DealCreate, DealTransition, DealUpdate, FloorCheckOptions, FollowUpInput, ForecastOptions, SendQuoteOptions, WeightedPipelineOptions } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Description as OpenApiDescription } from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, page, versionedInput } from "../internal/http.js"
import {
  apiOf,
  Authorized,
  ConflictResponse,
  NotFoundResponse,
  pageOf,
  PreconditionResponse,
  queryOf,
  route,
  UnprocessableResponse
} from "../internal/routes.js"

const DealPath = Schema.Struct({ dealId: Ids.DealId })

/**
 * What `POST /deals/{dealId}/move` takes: the target stage, optionally of another pipeline, and
 * the transition's options.
 *
 * @since 0.6.0
 * @category schemas
 */
export const DealMoveRequest = Schema.Struct({
  stage: LifecycleDefinition.StageKey,
  pipelineId: Schema.optional(Ids.PipelineId),
  ...Deal.DealTransition.fields
}).annotations({ identifier: "DealMoveRequest" })

/**
 * A stale deal, as `GET /deals/stale` lists them.
 *
 * @since 0.6.0
 * @category schemas
 */
export const StaleDeal = Schema.Struct({ deal: Deal.Deal, idleDays: Schema.Number })

/**
 * What `POST /deals/{dealId}/follow-ups` answers.
 *
 * @since 0.6.0
 * @category schemas
 */
export const FollowUpResult = Schema.Struct({
  entry: TimelineEntry.TimelineEntry,
  deal: Deal.Deal,
  mail: Schema.NullOr(
    Schema.Struct({ to: Schema.String, subject: Schema.String, status: Schema.Literal("queued"), jobId: Schema.String, idempotencyKey: Schema.String })
  ),
  task: Schema.NullOr(Task.Task),
  duplicate: Schema.Boolean
}).annotations({ identifier: "FollowUpResult" })

/**
 * What `POST /deals/{dealId}/quote-sent` answers: the deal, and the `quote.sent` event's outcome.
 *
 * @since 0.6.0
 * @category schemas
 */
export const QuoteSentResult = Schema.Struct({ deal: Deal.Deal, event: Events.EmitResult }).annotations({ identifier: "QuoteSentResult" })

const transition = <const Name extends "win" | "lose" | "markCold">(name: Name, path: `/${string}`, description: string) =>
  HttpApiEndpoint.post(name, path)
    .setPath(DealPath)
    .setPayload(Deal.DealTransition)
    .addSuccess(Deal.Deal)
    .addError(NotFoundResponse)
    .addError(ConflictResponse)
    .addError(PreconditionResponse)
    .annotateContext(route(`deals.${name}`, { versioned: true }))
    .annotate(OpenApiDescription, description)


/**
 * The deals routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("deals")
  .add(
    HttpApiEndpoint.post("create", "/deals")
      .setPayload(Deal.DealCreate)
      .addSuccess(Deal.Deal, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("deals.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/deals").setUrlParams(queryOf(Deal.DealListOptions)).addSuccess(pageOf(Deal.Deal)).annotateContext(route("deals.list")))
  .add(HttpApiEndpoint.get("stale", "/deals/stale").setUrlParams(queryOf(Deals.StaleOptions)).addSuccess(pageOf(StaleDeal)).annotateContext(route("deals.stale")))
  .add(
    HttpApiEndpoint.post("weightedPipeline", "/deals/reports/weighted")
      .setPayload(Deals.WeightedPipelineOptions)
      .addSuccess(Weighting.WeightedPipeline)
      .annotateContext(route("deals.weightedPipeline", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.post("forecast", "/deals/reports/forecast")
      .setPayload(Deals.ForecastOptions)
      .addSuccess(Weighting.Forecast)
      .annotateContext(route("deals.forecast", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.post("floorCheck", "/deals/reports/floor-check")
      .setPayload(Deals.FloorCheckOptions)
      .addSuccess(Deals.FloorCheckResult)
      .addError(NotFoundResponse)
      .annotateContext(route("deals.floorCheck", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.get("get", "/deals/:dealId")
      .setPath(DealPath)
      .addSuccess(Deal.Deal)
      .addError(NotFoundResponse)
      .annotateContext(route("deals.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/deals/:dealId")
      .setPath(DealPath)
      .setPayload(Deal.DealUpdate)
      .addSuccess(Deal.Deal)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("deals.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/deals/:dealId")
      .setPath(DealPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("deals.remove"))
  )
  .add(
    HttpApiEndpoint.post("move", "/deals/:dealId/move")
      .setPath(DealPath)
      .setPayload(DealMoveRequest)
      .addSuccess(Deal.Deal)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("deals.move", { versioned: true }))
  )
  .add(transition("win", "/deals/:dealId/win", "Marks the deal won: it moves to its pipeline's won stage and counts 100%."))
  .add(transition("lose", "/deals/:dealId/lose", "Marks the deal lost (with the reason): it moves to its pipeline's lost stage and counts 0%."))
  .add(transition("markCold", "/deals/:dealId/cold", "Marks the deal cold: it stays in its stage and counts with the cold probability."))
  .add(
    HttpApiEndpoint.post("sendQuote", "/deals/:dealId/quote-sent")
      .setPath(DealPath)
      .setPayload(Deals.SendQuoteOptions)
      .addSuccess(QuoteSentResult)
      .addError(NotFoundResponse)
      .annotateContext(route("deals.sendQuote"))
  )
  .add(
    HttpApiEndpoint.post("followUp", "/deals/:dealId/follow-ups")
      .setPath(DealPath)
      .setPayload(Deals.FollowUpInput)
      .addSuccess(FollowUpResult, { status: 201 })
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("deals.followUp", { idempotent: true }))
  )
  .middleware(Authorized)

/**
 * The deals routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "deals", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const deal = yield* (yield* Deals.Deals).create(yield* input<DealCreate>())
          return yield* created(deal, `/deals/${deal.id}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Deals.Deals, (service) => service.list(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("stale", ({ urlParams }) => Effect.flatMap(Deals.Deals, (service) => service.stale(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("weightedPipeline", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).weightedPipeline(yield* input<WeightedPipelineOptions | undefined>()))
      })
    )
    .handleRaw("forecast", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).forecast(yield* input<ForecastOptions | undefined>()))
      })
    )
    .handleRaw("floorCheck", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).floorCheck(yield* input<FloorCheckOptions | undefined>()))
      })
    )
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Deals.Deals, (service) => service.get(path.dealId)), (deal) => json(deal)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).update(path.dealId, yield* versionedInput<DealUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Deals.Deals).remove(path.dealId)
        return yield* noContent
      })
    )
    .handleRaw("move", ({ path }) =>
      Effect.gen(function* () {
        const request = yield* versionedInput<(DealTransition & { readonly stage?: string; readonly pipelineId?: string }) | undefined>()
        if (request?.stage === undefined) return yield* Errors.ValidationError.at(["stage"], "is required: the stage to move the deal to")
        const { stage, ...options } = request
        return json(yield* (yield* Deals.Deals).move(path.dealId, stage, options))
      })
    )
    .handleRaw("win", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).win(path.dealId, yield* versionedInput<DealTransition | undefined>()))
      })
    )
    .handleRaw("lose", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).lose(path.dealId, yield* versionedInput<DealTransition | undefined>()))
      })
    )
    .handleRaw("markCold", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).markCold(path.dealId, yield* versionedInput<DealTransition | undefined>()))
      })
    )
    .handleRaw("sendQuote", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Deals.Deals).sendQuote(path.dealId, yield* input<SendQuoteOptions | undefined>()))
      })
    )
    .handleRaw("followUp", ({ path }) =>
      idempotent(
        Effect.gen(function* () {
          return json(yield* (yield* Deals.Deals).followUp(path.dealId, yield* input<FollowUpInput>()), 201)
        })
      )
    )
)
