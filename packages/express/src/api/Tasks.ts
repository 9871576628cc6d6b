/**
 * Follow-up tasks over HTTP: create, read, change, complete, reopen, list (overdue, due today…).
 *
 * @since 0.6.0
 */
import { Ids, Task, Tasks } from "@rapport/core"
import type { TaskCreate, TaskTransition, TaskUpdate } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, page, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, pageOf, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const TaskPath = Schema.Struct({ taskId: Ids.TaskId })

const transition = <const Name extends "complete" | "reopen">(name: Name) =>
  HttpApiEndpoint.post(name, `/tasks/:taskId/${name}`)
    .setPath(TaskPath)
    .setPayload(Tasks.TaskTransition)
    .addSuccess(Task.Task)
    .addError(NotFoundResponse)
    .addError(ConflictResponse)
    .addError(PreconditionResponse)
    .annotateContext(route(`tasks.${name}`, { versioned: true }))

/**
 * The tasks routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.post("create", "/tasks")
      .setPayload(Task.TaskCreate)
      .addSuccess(Task.Task, { status: 201 })
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("tasks.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/tasks").setUrlParams(queryOf(Task.TaskListOptions)).addSuccess(pageOf(Task.Task)).annotateContext(route("tasks.list")))
  .add(
    HttpApiEndpoint.get("get", "/tasks/:taskId").setPath(TaskPath).addSuccess(Task.Task).addError(NotFoundResponse).annotateContext(route("tasks.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/tasks/:taskId")
      .setPath(TaskPath)
      .setPayload(Task.TaskUpdate)
      .addSuccess(Task.Task)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("tasks.update", { versioned: true }))
  )
  .add(transition("complete"))
  .add(transition("reopen"))
  .middleware(Authorized)

/**
 * The tasks routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "tasks", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const task = yield* (yield* Tasks.Tasks).create(yield* input<TaskCreate>())
          return yield* created(task, `/tasks/${task.id}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Tasks.Tasks, (service) => service.list(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Tasks.Tasks, (service) => service.get(path.taskId)), (task) => json(task)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Tasks.Tasks).update(path.taskId, yield* versionedInput<TaskUpdate>()))
      })
    )
    .handleRaw("complete", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Tasks.Tasks).complete(path.taskId, yield* versionedInput<TaskTransition | undefined>()))
      })
    )
    .handleRaw("reopen", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Tasks.Tasks).reopen(path.taskId, yield* versionedInput<TaskTransition | undefined>()))
      })
    )
)
