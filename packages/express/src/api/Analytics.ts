/**
 * Analytics over HTTP: the reports the core's `Analytics` computes in the database (top customers
 * and products, channels, the funnel, the avatar report, rule variants) as `GET` routes every role
 * may read, and `POST /analytics/spend`, which records what a channel cost in a month (admin and
 * marketing).
 *
 * @since 0.8.0
 */
import { Analytics } from "@rapport/core"
import type { SpendInput } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Description as OpenApiDescription } from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { input, json } from "../internal/http.js"
import { apiOf, Authorized, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

/**
 * The analytics routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("analytics")
  .add(
    HttpApiEndpoint.get("topCustomers", "/analytics/top-customers")
      .setUrlParams(queryOf(Analytics.RevenueReportFields))
      .addSuccess(Schema.Array(Analytics.CustomerFigures))
      .annotateContext(route("analytics.topCustomers"))
      .annotate(OpenApiDescription, "The best customers over [from, to) in each currency: revenue net of refunds, orders and margin (cancelled orders left out).")
  )
  .add(
    HttpApiEndpoint.get("topProducts", "/analytics/top-products")
      .setUrlParams(queryOf(Analytics.RevenueReportFields))
      .addSuccess(Schema.Array(Analytics.ProductFigures))
      .annotateContext(route("analytics.topProducts"))
      .annotate(OpenApiDescription, "The best products (SKUs) over [from, to) in each currency: revenue, quantity and margin from order lines.")
  )
  .add(
    HttpApiEndpoint.get("channels", "/analytics/channels")
      .setUrlParams(queryOf(Analytics.ChannelReportFields))
      .addSuccess(Schema.Array(Analytics.ChannelFigures))
      .annotateContext(route("analytics.channels"))
      .annotate(OpenApiDescription, "Per source channel and campaign: contacts first seen in [from, to), share now customers, revenue, spend and cost per customer.")
  )
  .add(
    HttpApiEndpoint.post("recordSpend", "/analytics/spend")
      .setPayload(Analytics.SpendInput)
      .addSuccess(Analytics.RecordedSpend)
      .addError(UnprocessableResponse)
      .annotateContext(route("analytics.recordSpend"))
      .annotate(OpenApiDescription, "Records what a channel (and campaign) cost in a month; recording the same month and currency again replaces it.")
  )
  .add(
    HttpApiEndpoint.get("funnel", "/analytics/funnel")
      .setUrlParams(queryOf(Analytics.FunnelFields))
      .addSuccess(Schema.Array(Analytics.FunnelStage))
      .annotateContext(route("analytics.funnel"))
      .annotate(OpenApiDescription, "The lifecycle funnel by first-seen month: contacts per stage, stage-to-stage conversion, median time in each stage.")
  )
  .add(
    HttpApiEndpoint.get("avatar", "/analytics/avatar")
      .setUrlParams(queryOf(Analytics.AvatarOptions))
      .addSuccess(Analytics.AvatarReport)
      .annotateContext(route("analytics.avatar"))
      .annotate(OpenApiDescription, "Channels and custom-field values over-represented among customers compared with all contacts: counts and lift.")
  )
  .add(
    HttpApiEndpoint.get("rules", "/analytics/rules")
      .addSuccess(Schema.Array(Analytics.RuleVariantFigures))
      .annotateContext(route("analytics.rules"))
      .annotate(OpenApiDescription, "Every rule's firings, mails sent and conversions per A/B variant.")
  )
  .middleware(Authorized)

/**
 * The analytics routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "analytics", (routes) =>
  routes
    .handleRaw("topCustomers", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.topCustomers(urlParams)), (rows) => json(rows))
    )
    .handleRaw("topProducts", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.topProducts(urlParams)), (rows) => json(rows))
    )
    .handleRaw("channels", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.channels(urlParams)), (rows) => json(rows))
    )
    .handleRaw("recordSpend", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Analytics.Analytics).recordSpend(yield* input<SpendInput>()))
      })
    )
    .handleRaw("funnel", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.funnel(urlParams)), (rows) => json(rows))
    )
    .handleRaw("avatar", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.avatar(urlParams)), (report) => json(report))
    )
    .handleRaw("rules", () => Effect.map(Effect.flatMap(Analytics.Analytics, (service) => service.rules()), (rows) => json(rows)))
)
