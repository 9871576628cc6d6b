/**
 * Webhooks in over HTTP: `POST /webhooks/in/{source}` receives a shop's (or any Standard Webhooks
 * sender's) delivery. It is not behind `authenticate`: the sender proves itself by the signature,
 * which the core checks over the body's raw bytes, read here exactly as received (any content
 * type, the body limit applies). The answer is 200 with the receipt, `duplicate: true` for a
 * delivery received before (so that the sender stops retrying it), and a problem document for a
 * refused one (nothing recorded, so the sender may retry).
 *
 * Mail providers' sources (`brevo`, `mailjet`) record bounces, complaints and unsubscriptions.
 * Those providers sign nothing by default: the delivery carries the source's secret as the password
 * of Basic authentication (`https://rapport:<secret>@host/webhooks/in/<source>`), or as
 * `?token=<secret>`; the core compares it in constant time.
 *
 * @since 0.6.0
 */
import { InboundWebhook, InboundWebhooks } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { IncomingMessage } from "node:http"
import { problem } from "../Problem.js"
import { BodyConsumed, BodyTooLarge, findCause } from "../internal/body.js"
import { HttpSettings, NodeRequest } from "../internal/context.js"
import { json } from "../internal/http.js"
import { apiOf, problemResponse, route, type GroupHandlers } from "../internal/routes.js"

/**
 * The host's mappers by source name, used instead of the source provider's built-in one (see
 * `InboundWebhook.WebhookMapper`). None by default.
 *
 * @since 0.6.0
 * @category models
 */
export class WebhookMappers extends Context.Reference<WebhookMappers>()("@rapport/express/WebhookMappers", {
  defaultValue: (): Readonly<Record<string, InboundWebhook.WebhookMapper>> => ({})
}) {}

/**
 * The webhooks-in route.
 *
 * @internal
 */
export const group = HttpApiGroup.make("webhooksIn").add(
  HttpApiEndpoint.post("receive", "/webhooks/in/:source")
    .setPath(Schema.Struct({ source: Schema.String }))
    .setUrlParams(
      Schema.Struct({
        token: Schema.optional(Schema.String).annotations({
          description: "Brevo and Mailjet sources: the source's secret, when the provider cannot send it as the password of Basic authentication"
        })
      })
    )
    .setPayload(HttpApiSchema.Uint8Array({ contentType: "application/json" }).annotations({ description: "The delivery exactly as the sender signed it" }))
    .addSuccess(InboundWebhook.WebhookReceipt)
    .addError(problemResponse(401, "The signature (or, for Brevo and Mailjet, the Basic authentication password or token) does not match any secret of the source, or its timestamp is too old or in the future (WEBHOOK_REJECTED)"))
    .addError(problemResponse(404, "No inbound webhook source has this name (WEBHOOK_REJECTED)"))
    .annotateContext(route("webhooksIn.receive"))
)

const tooLarge = (limit: number) => problem(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes`)

// A body parser of the host app that ran first (express.json()) leaves a re-serialised body whose
// bytes are not the ones signed: refuse clearly instead of answering "bad signature". A raw body
// (express.raw()) is the exact bytes and is used as it is.
const consumedByParser = (req: IncomingMessage & { readonly body?: unknown }) => req.complete && !req.readable && !(req.body instanceof Uint8Array)

/** The request body's bytes, exactly as received. */
const rawBody = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { bodyLimit } = yield* HttpSettings
  const node = yield* Effect.serviceOption(NodeRequest)
  const consumed = problem(
    500,
    "BODY_CONSUMED",
    "The request body was parsed before Rapport's handler, so its signed bytes are gone: mount Rapport's router before express.json() (or give /webhooks/in express.raw())"
  )
  if (node._tag === "Some" && consumedByParser(node.value.req)) return yield* consumed
  const length = request.headers["content-length"]
  if (length !== undefined && Number(length) > bodyLimit) return yield* tooLarge(bodyLimit)
  const buffer = yield* Effect.mapError(request.arrayBuffer, (error) =>
    findCause(error, (u): u is BodyTooLarge => u instanceof BodyTooLarge) !== undefined
      ? tooLarge(bodyLimit)
      : findCause(error, (u): u is BodyConsumed => u instanceof BodyConsumed) !== undefined
        ? consumed
        : problem(400, "BODY_UNREADABLE", "The request body could not be read")
  )
  return new Uint8Array(buffer)
})

/**
 * The webhooks-in route's handler.
 *
 * @internal
 */
export const handlers: GroupHandlers<"webhooksIn"> = HttpApiBuilder.group(apiOf(group), "webhooksIn", (routes) =>
  routes.handleRaw("receive", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* rawBody
      const mappers = yield* WebhookMappers
      const receipt = yield* (yield* InboundWebhooks.InboundWebhooks).receive({ source: path.source, headers: request.headers, body, ...(urlParams.token === undefined ? {} : { token: urlParams.token }) }, { mappers })
      return json(receipt)
    })
  )
)
