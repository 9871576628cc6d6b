/**
 * The weighted pipeline's history and RFM scores over HTTP (the core's `Snapshots`):
 * `GET /analytics/pipeline-history` (the dispatcher's daily snapshots, by pipeline or stage),
 * `POST /analytics/pipeline-history/snapshot` (today's, now), `GET /analytics/rfm` (contacts per
 * score), `POST /analytics/rfm/refresh` and `GET /contacts/{contactId}/rfm` (`null` when the
 * contact has no placed order; 404 when there is no such contact). Reads are open to every role; the two writes to admin and marketing.
 *
 * @since 0.8.0
 */
import { Ids, Snapshots } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Description as OpenApiDescription } from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { json } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, queryOf, route } from "../internal/routes.js"

/**
 * The snapshot routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("snapshots")
  .add(
    HttpApiEndpoint.get("pipelineHistory", "/analytics/pipeline-history")
      .setUrlParams(queryOf(Snapshots.PipelineHistoryOptions))
      .addSuccess(Schema.Array(Snapshots.PipelineDay))
      .annotateContext(route("analytics.pipelineHistory"))
      .annotate(OpenApiDescription, "The weighted pipeline day by day over [from, to] (inclusive local days), as the dispatcher's daily snapshot recorded it; days it did not run have no entry.")
  )
  .add(
    HttpApiEndpoint.post("takeSnapshot", "/analytics/pipeline-history/snapshot")
      .addSuccess(Snapshots.SnapshotTaken)
      .annotateContext(route("analytics.takeSnapshot"))
      .annotate(OpenApiDescription, "Records today's snapshot now unless it was recorded already (taken: false), and refreshes RFM scores when it records it.")
  )
  .add(
    HttpApiEndpoint.get("rfmDistribution", "/analytics/rfm")
      .addSuccess(Snapshots.RfmDistribution)
      .annotateContext(route("analytics.rfmDistribution"))
      .annotate(OpenApiDescription, "How many contacts hold each RFM score (1 to 5) of recency, frequency and monetary.")
  )
  .add(
    HttpApiEndpoint.post("refreshRfm", "/analytics/rfm/refresh")
      .addSuccess(Snapshots.RfmRefresh)
      .annotateContext(route("analytics.refreshRfm"))
      .annotate(OpenApiDescription, "Scores every contact with placed orders again, now (the dispatcher does it daily).")
  )
  .add(
    HttpApiEndpoint.get("contactRfm", "/contacts/:contactId/rfm")
      .setPath(Schema.Struct({ contactId: Ids.ContactId }))
      .addSuccess(Schema.NullOr(Snapshots.RfmScores))
      .addError(NotFoundResponse)
      .annotateContext(route("contacts.rfm"))
      .annotate(OpenApiDescription, "The contact's RFM scores as last computed; null when it had no placed order then.")
  )
  .middleware(Authorized)

/**
 * The snapshot routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "snapshots", (routes) =>
  routes
    .handleRaw("pipelineHistory", ({ urlParams }) =>
      Effect.map(Effect.flatMap(Snapshots.Snapshots, (service) => service.pipelineHistory(urlParams)), (days) => json(days))
    )
    .handleRaw("takeSnapshot", () => Effect.map(Effect.flatMap(Snapshots.Snapshots, (service) => service.takeSnapshot()), (taken) => json(taken)))
    .handleRaw("rfmDistribution", () => Effect.map(Effect.flatMap(Snapshots.Snapshots, (service) => service.rfmDistribution()), (d) => json(d)))
    .handleRaw("refreshRfm", () => Effect.map(Effect.flatMap(Snapshots.Snapshots, (service) => service.refreshRfm()), (r) => json(r)))
    .handleRaw("contactRfm", ({ path }) =>
      Effect.map(Effect.flatMap(Snapshots.Snapshots, (service) => service.rfm(path.contactId)), (scores) => json(Option.getOrNull(scores)))
    )
)
