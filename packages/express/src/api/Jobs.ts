/**
 * The dispatcher's jobs over HTTP: the workspace's jobs by due time (pending, running, done,
 * skipped, dead), and a dead or skipped job queued again.
 *
 * @since 0.6.0
 */
import { Dispatcher, Ids, Job } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { json, page } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, pageOf, queryOf, route } from "../internal/routes.js"

/**
 * The jobs routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("jobs")
  .add(HttpApiEndpoint.get("list", "/jobs").setUrlParams(queryOf(Dispatcher.JobListOptions)).addSuccess(pageOf(Job.Job)).annotateContext(route("jobs.list")))
  .add(
    HttpApiEndpoint.post("retry", "/jobs/:jobId/retry")
      .setPath(Schema.Struct({ jobId: Ids.JobId }))
      .addSuccess(Job.Job)
      .addError(NotFoundResponse)
      .annotateContext(route("jobs.retry"))
  )
  .middleware(Authorized)

/**
 * The jobs routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "jobs", (routes) =>
  routes
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Dispatcher.Dispatcher, (service) => service.jobs(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("retry", ({ path }) => Effect.map(Effect.flatMap(Dispatcher.Dispatcher, (service) => service.retry(path.jobId)), (job) => json(job)))
)
