/**
 * The dispatcher's jobs over HTTP: the workspace's jobs by due time (pending, running, done,
 * skipped, dead), a dead or skipped job queued again, and a run of the jobs due now (for an app
 * that runs no dispatcher in its process: a cron job or a serverless schedule calls it).
 *
 * @since 0.6.0
 */
import { Dispatcher, Errors, Ids, Job } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { input, json, page } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, pageOf, queryOf, route } from "../internal/routes.js"

const Count = Schema.Int.pipe(Schema.nonNegative())
const DurationInput = Schema.Union(Schema.String, Schema.Number).annotations({ description: 'A duration: "30 seconds", "1 minute", or milliseconds' })

/** `dispatcher.runDue`'s options over HTTP: the caller's workspace only (no `workspaces`). */
const RunDueOptions = Schema.Struct({
  batchSize: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "Jobs claimed at once (default 20)" }),
  lease: Schema.optional(DurationInput).annotations({ description: "How long a claim holds a job (default 1 minute)" }),
  maxAttempts: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "Attempts before a failing job is dead-lettered (default 8)" }),
  retryDelay: Schema.optional(DurationInput).annotations({ description: "The first retry's delay, doubled at each attempt (default 30 seconds)" }),
  concurrency: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "Contacts whose jobs run at the same time (default 4)" }),
  limit: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "The most jobs claimed (default: until none is due)" })
}).annotations({ identifier: "RunDueOptions" })

const DispatchReport = Schema.Struct({
  claimed: Count,
  done: Count,
  skipped: Count,
  retried: Count.annotations({ description: "Failed and queued again with backoff" }),
  dead: Count.annotations({ description: "Failed for good (or too often): see the job's lastError" }),
  lost: Count.annotations({ description: "Taken over by another dispatcher after this one's lease ended" })
}).annotations({ identifier: "DispatchReport" })

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
  .add(
    HttpApiEndpoint.post("runDue", "/jobs/run-due")
      .setPayload(RunDueOptions)
      .addSuccess(DispatchReport)
      .annotateContext(route("jobs.runDue"))
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
    .handleRaw("runDue", () =>
      Effect.gen(function* () {
        const options = yield* input<Dispatcher.DispatchOptions | undefined>()
        // A caller runs its own workspace's jobs: a dispatcher over other workspaces is the host's.
        if (typeof options === "object" && options !== null && Object.hasOwn(options, "workspaces")) {
          return yield* Errors.ValidationError.at(["workspaces"], "is not accepted over HTTP: the run covers the caller's workspace")
        }
        return json(yield* (yield* Dispatcher.Dispatcher).runDue(options ?? {}))
      })
    )
)
