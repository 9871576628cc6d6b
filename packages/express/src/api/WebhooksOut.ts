/**
 * Outbound webhook subscriptions over HTTP: create (the secret is in the answer, once), list, read,
 * change, remove, rotate the secret, the delivery log, and redelivery of a logged message. Admin
 * only, reads included (a subscription's URL and its receiver's answers are not for every role).
 *
 * `allowPrivateNetwork` is refused here: letting deliveries reach private and loopback addresses
 * is the host app's decision (its code, or the CRM's settings), never a tenant's over HTTP.
 *
 * @since 0.6.0
 */
import { Ids, Job, OutboundWebhook, Webhooks } from "@rapport/core"
import type { RotateSecretOptions, WebhookSubscriptionCreate, WebhookSubscriptionUpdate } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { problem } from "../Problem.js"
import { basePath } from "../internal/context.js"
import { input, json, noContent, page, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, pageOf, PreconditionResponse, queryOf, route } from "../internal/routes.js"

const SubscriptionPath = Schema.Struct({ subscriptionId: Ids.WebhookSubscriptionId })
const DeliveryPath = Schema.Struct({ deliveryId: Ids.WebhookDeliveryId })

// What HTTP callers may send: the core's inputs without allowPrivateNetwork.
const CreateBody = OutboundWebhook.SubscriptionCreate.pipe(Schema.omit("allowPrivateNetwork"))
const UpdateBody = OutboundWebhook.SubscriptionUpdate.pipe(Schema.omit("allowPrivateNetwork"))

/**
 * The outbound webhook routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("webhooks")
  .add(
    // Not idempotent by Idempotency-Key: a replayed answer would have to store the secret it shows.
    HttpApiEndpoint.post("create", "/webhooks/subscriptions")
      .setPayload(CreateBody)
      .addSuccess(OutboundWebhook.SubscriptionWithSecret, { status: 201 })
      .annotateContext(route("webhooks.create"))
  )
  .add(
    HttpApiEndpoint.get("list", "/webhooks/subscriptions")
      .setUrlParams(queryOf(Webhooks.WebhookListOptions))
      .addSuccess(pageOf(OutboundWebhook.Subscription))
      .annotateContext(route("webhooks.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/webhooks/subscriptions/:subscriptionId")
      .setPath(SubscriptionPath)
      .addSuccess(OutboundWebhook.Subscription)
      .addError(NotFoundResponse)
      .annotateContext(route("webhooks.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/webhooks/subscriptions/:subscriptionId")
      .setPath(SubscriptionPath)
      .setPayload(UpdateBody)
      .addSuccess(OutboundWebhook.Subscription)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("webhooks.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/webhooks/subscriptions/:subscriptionId")
      .setPath(SubscriptionPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("webhooks.remove"))
  )
  .add(
    HttpApiEndpoint.post("rotateSecret", "/webhooks/subscriptions/:subscriptionId/rotate-secret")
      .setPath(SubscriptionPath)
      .setPayload(Webhooks.RotateSecretOptions)
      .addSuccess(OutboundWebhook.SubscriptionWithSecret)
      .addError(NotFoundResponse)
      .annotateContext(route("webhooks.rotateSecret"))
  )
  .add(
    HttpApiEndpoint.get("deliveries", "/webhooks/subscriptions/:subscriptionId/deliveries")
      .setPath(SubscriptionPath)
      .setUrlParams(queryOf(Webhooks.WebhookListOptions))
      .addSuccess(pageOf(OutboundWebhook.Delivery))
      .addError(NotFoundResponse)
      .annotateContext(route("webhooks.deliveries"))
  )
  .add(
    HttpApiEndpoint.post("redeliver", "/webhooks/deliveries/:deliveryId/redeliver")
      .setPath(DeliveryPath)
      .addSuccess(Job.Job, { status: 202 })
      .addError(NotFoundResponse)
      .annotateContext(route("webhooks.redeliver"))
  )
  .middleware(Authorized)

// The secret is shown once: no cache along the way may keep the answer.
const noStore = { "cache-control": "no-store" }

/** The body, refused when it sets allowPrivateNetwork (see the module's header). */
const withoutPrivateNetwork = <I, E, R>(body: Effect.Effect<I, E, R>) =>
  Effect.flatMap(body, (value) =>
    typeof value === "object" && value !== null && Object.hasOwn(value, "allowPrivateNetwork")
      ? Effect.fail(problem(400, "VALIDATION_FAILED", "allowPrivateNetwork can only be set by the host app's code, not over HTTP", {
          errors: [{ pointer: "/allowPrivateNetwork", in: "body", detail: "can only be set by the host app's code, not over HTTP" }]
        }))
      : Effect.succeed(value)
  )

/**
 * The outbound webhook routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "webhooks", (routes) =>
  routes
    .handleRaw("create", () =>
      Effect.gen(function* () {
        const created = yield* (yield* Webhooks.Webhooks).create(yield* withoutPrivateNetwork(input<WebhookSubscriptionCreate>()))
        const location = `${yield* basePath}/webhooks/subscriptions/${created.subscription.id}`
        return json(created, 201, { ...noStore, location })
      })
    )
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Effect.flatMap(Webhooks.Webhooks, (service) => service.list(urlParams)), page))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Webhooks.Webhooks, (service) => service.get(path.subscriptionId)), (subscription) => json(subscription)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Webhooks.Webhooks).update(path.subscriptionId, yield* withoutPrivateNetwork(versionedInput<WebhookSubscriptionUpdate>())))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Webhooks.Webhooks).remove(path.subscriptionId)
        return yield* noContent
      })
    )
    .handleRaw("rotateSecret", ({ path }) =>
      Effect.gen(function* () {
        const options = (yield* input<RotateSecretOptions | undefined>()) ?? {}
        return json(yield* (yield* Webhooks.Webhooks).rotateSecret(path.subscriptionId, options), 200, noStore)
      })
    )
    .handleRaw("deliveries", ({ path, urlParams }) =>
      Effect.flatMap(Effect.flatMap(Webhooks.Webhooks, (service) => service.deliveries(path.subscriptionId, urlParams)), page)
    )
    .handleRaw("redeliver", ({ path }) => Effect.map(Effect.flatMap(Webhooks.Webhooks, (service) => service.redeliver(path.deliveryId)), (job) => json(job, 202)))
)
