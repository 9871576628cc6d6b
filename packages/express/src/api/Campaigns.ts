/**
 * Campaigns over HTTP: create a draft, read and list them, send one now or at a time
 * (`POST /campaigns/{id}/send`), cancel it (`POST /campaigns/{id}/cancel`), and read its results
 * (`GET /campaigns/{id}/stats`). Sending queues the campaign in the outbox; the dispatcher does the
 * rest (see the core's `Campaigns`).
 *
 * @since 0.8.0
 */
import { Campaign, Campaigns } from "@rapport/core"
import type { CampaignCreate, CampaignSend } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, page } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, pageOf, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const CampaignPath = Schema.Struct({ campaignId: Campaign.CampaignId })

/**
 * The campaigns routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("campaigns")
  .add(
    HttpApiEndpoint.post("create", "/campaigns")
      .setPayload(Campaign.CampaignCreate)
      .addSuccess(Campaign.Campaign, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("campaigns.create", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("list", "/campaigns")
      .setUrlParams(queryOf(Campaign.CampaignListOptions))
      .addSuccess(pageOf(Campaign.Campaign))
      .annotateContext(route("campaigns.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/campaigns/:campaignId")
      .setPath(CampaignPath)
      .addSuccess(Campaign.Campaign)
      .addError(NotFoundResponse)
      .annotateContext(route("campaigns.get"))
  )
  .add(
    HttpApiEndpoint.post("send", "/campaigns/:campaignId/send")
      .setPath(CampaignPath)
      .setPayload(Campaign.CampaignSend)
      .addSuccess(Campaign.Campaign)
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("campaigns.send"))
  )
  .add(
    HttpApiEndpoint.post("cancel", "/campaigns/:campaignId/cancel")
      .setPath(CampaignPath)
      .addSuccess(Campaign.Campaign)
      .addError(NotFoundResponse)
      .annotateContext(route("campaigns.cancel"))
  )
  .add(
    HttpApiEndpoint.get("stats", "/campaigns/:campaignId/stats")
      .setPath(CampaignPath)
      .addSuccess(Campaign.CampaignStats)
      .addError(NotFoundResponse)
      .annotateContext(route("campaigns.stats"))
  )
  .middleware(Authorized)

/**
 * The campaigns routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "campaigns", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const campaign = yield* (yield* Campaigns.Campaigns).create(yield* input<CampaignCreate>())
          return yield* created(campaign, `/campaigns/${campaign.id}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Campaigns.Campaigns, (service) => service.list(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Campaigns.Campaigns, (service) => service.get(path.campaignId)), (campaign) => json(campaign)))
    .handleRaw("send", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Campaigns.Campaigns).send(path.campaignId, (yield* input<CampaignSend | undefined>()) ?? {}))
      })
    )
    .handleRaw("cancel", ({ path }) => Effect.map(Effect.flatMap(Campaigns.Campaigns, (service) => service.cancel(path.campaignId)), (campaign) => json(campaign)))
    .handleRaw("stats", ({ path }) => Effect.map(Effect.flatMap(Campaigns.Campaigns, (service) => service.stats(path.campaignId)), (stats) => json(stats)))
)
