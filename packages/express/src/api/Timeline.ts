/**
 * The timeline over HTTP: log an interaction (email, call, letter, meeting, note…) on a contact's
 * timeline, and the workspace's feed of every contact's entries. A contact's own timeline is
 * `GET /contacts/{contactId}/timeline`.
 *
 * @since 0.6.0
 */
import { Timeline, TimelineEntry } from "@rapport/core"
import type { TimelineLog } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import { idempotent, input, json, page } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, pageOf, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

/**
 * The timeline routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("timeline")
  .add(
    HttpApiEndpoint.post("log", "/timeline")
      .setPayload(TimelineEntry.TimelineLog)
      .addSuccess(TimelineEntry.TimelineEntry, { status: 201 })
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("timeline.log", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("feed", "/timeline")
      .setUrlParams(queryOf(TimelineEntry.TimelineListOptions))
      .addSuccess(pageOf(TimelineEntry.TimelineEntry))
      .annotateContext(route("timeline.feed"))
  )
  .middleware(Authorized)

/**
 * The timeline routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "timeline", (routes) =>
  routes
    .handleRaw("log", () =>
      idempotent(
        Effect.gen(function* () {
          return json(yield* (yield* Timeline.Timeline).log(yield* input<TimelineLog>()), 201)
        })
      )
    )
    .handleRaw("feed", ({ urlParams }) => Effect.flatMap(Timeline.Timeline, (service) => service.feed(urlParams)).pipe(Effect.flatMap(page)))
)
