/**
 * Events over HTTP: emit one (stored once per id: sending it again changes nothing), emit a batch
 * in one transaction, read a stored event.
 *
 * @since 0.6.0
 */
import { CrmEvent, Events, Ids } from "@rapport/core"
import type { EmitInput } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, route, UnprocessableResponse } from "../internal/routes.js"

/**
 * The events routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.post("emit", "/events")
      .setPayload(CrmEvent.EmitInput)
      .addSuccess(Events.EmitResult.annotations(HttpApiSchema.annotations({ status: 201, description: "Recorded" })))
      .addSuccess(Events.EmitResult.annotations(HttpApiSchema.annotations({ status: 200, description: "An event with this id was recorded before: nothing was done" })))
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("events.emit", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.post("emitMany", "/events/batch")
      .setPayload(Schema.Array(CrmEvent.EmitInput))
      .addSuccess(Schema.Array(Events.EmitResult))
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("events.emitMany", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("get", "/events/:eventId")
      .setPath(Schema.Struct({ eventId: Ids.EventId }))
      .addSuccess(CrmEvent.StoredEvent)
      .addError(NotFoundResponse)
      .annotateContext(route("events.get"))
  )
  .middleware(Authorized)

/**
 * The events routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "events", (routes) =>
  routes
    .handleRaw("emit", () =>
      idempotent(
        Effect.gen(function* () {
          const result = yield* (yield* Events.Events).emit(yield* input<EmitInput>())
          return result.duplicate ? json(result) : yield* created(result, `/events/${encodeURIComponent(result.event.id)}`)
        })
      )
    )
    .handleRaw("emitMany", () =>
      idempotent(
        Effect.gen(function* () {
          return json(yield* (yield* Events.Events).emitMany(yield* input<ReadonlyArray<EmitInput>>()))
        })
      )
    )
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Events.Events, (service) => service.get(path.eventId)), (event) => json(event)))
)
