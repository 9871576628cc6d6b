/**
 * Inbound webhook sources over HTTP: the shops (and other senders) a workspace receives webhooks
 * from, with their secrets (accepted, never shown back). Admin only, like API keys.
 *
 * @since 0.6.0
 */
import { InboundWebhook, InboundWebhooks } from "@rapport/core"
import type { InboundWebhookCreate, InboundWebhookUpdate } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, route, type GroupHandlers } from "../internal/routes.js"

const SourcePath = Schema.Struct({ source: Schema.String })

/**
 * The inbound webhook sources routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("inboundWebhooks")
  .add(
    HttpApiEndpoint.post("create", "/webhooks/sources")
      .setPayload(InboundWebhook.InboundWebhookCreate)
      .addSuccess(InboundWebhook.InboundWebhook, { status: 201 })
      .addError(ConflictResponse)
      .annotateContext(route("inboundWebhooks.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/webhooks/sources").addSuccess(Schema.Array(InboundWebhook.InboundWebhook)).annotateContext(route("inboundWebhooks.list")))
  .add(
    HttpApiEndpoint.get("get", "/webhooks/sources/:source")
      .setPath(SourcePath)
      .addSuccess(InboundWebhook.InboundWebhook)
      .addError(NotFoundResponse)
      .annotateContext(route("inboundWebhooks.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/webhooks/sources/:source")
      .setPath(SourcePath)
      .setPayload(InboundWebhook.InboundWebhookUpdate)
      .addSuccess(InboundWebhook.InboundWebhook)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("inboundWebhooks.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/webhooks/sources/:source")
      .setPath(SourcePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("inboundWebhooks.remove"))
  )
  .middleware(Authorized)

/**
 * The inbound webhook sources routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"inboundWebhooks"> = HttpApiBuilder.group(apiOf(group), "inboundWebhooks", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const source = yield* (yield* InboundWebhooks.InboundWebhooks).create(yield* input<InboundWebhookCreate>())
          return yield* created(source, `/webhooks/sources/${source.source}`)
        })
      )
    )
    .handleRaw("list", () => Effect.map(Effect.flatMap(InboundWebhooks.InboundWebhooks, (service) => service.list()), (sources) => json(sources)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(InboundWebhooks.InboundWebhooks, (service) => service.get(path.source)), (source) => json(source)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* InboundWebhooks.InboundWebhooks).update(path.source, yield* versionedInput<InboundWebhookUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* InboundWebhooks.InboundWebhooks).remove(path.source)
        return yield* noContent
      })
    )
)
