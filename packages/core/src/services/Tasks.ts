/**
 * Tasks: create, complete, reopen, and the lists a salesperson starts the day with — overdue, due
 * today (in the workspace's timezone), by owner.
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Conflict } from "../domain/Errors.js"
import { TaskId, type WorkspaceId } from "../domain/Ids.js"
import * as Page from "../domain/Page.js"
import { Task, TaskCreate, TaskListOptions, TaskUpdate } from "../domain/Task.js"
import { InstantInput } from "../domain/Time.js"
import { workspaceLock } from "../internal/locks.js"
import { orNotFound } from "../internal/records.js"
import { dayAround, insertTask } from "../internal/tasks.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"

const decodeTaskId = decodeInput(TaskId, ["taskId"])

/**
 * Options of `tasks.complete` and `tasks.reopen`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TaskTransition = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  at: Schema.optional(InstantInput)
})

/**
 * @since 0.2.0
 * @category models
 */
export type TaskTransition = typeof TaskTransition.Encoded

const TaskPosition = Schema.Tuple(Schema.DateTimeUtc, TaskId)

/**
 * @since 0.2.0
 * @category services
 */
export class Tasks extends Effect.Service<Tasks>()("@rapport/core/Tasks", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const getIn = (workspaceId: WorkspaceId, id: TaskId) => orNotFound(storage.tasks.get(workspaceId, id), "task", id)

    /** Creates an open task, tied to a contact, a deal, both or neither. */
    const create = Effect.fn("Tasks.create")(function* (input: TaskCreate) {
      const data = yield* decodeInput(TaskCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          return yield* insertTask(storage, (yield* ensureWorkspace(storage)).id, data)
        })
      )
    })

    /** The task, or `NotFound`. */
    const get = Effect.fn("Tasks.get")(function* (taskId: string) {
      const id = yield* decodeTaskId(taskId)
      return yield* getIn((yield* readWorkspace(storage)).id, id)
    })

    const change = (id: TaskId, expectedVersion: number | undefined, next: (current: Task, now: DateTime.Utc) => Partial<Task>) =>
      storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const current = yield* getIn((yield* readWorkspace(storage)).id, id)
          if (expectedVersion !== undefined && expectedVersion !== current.version) {
            return yield* Conflict.version("task", id, expectedVersion, current.version)
          }
          const now = yield* DateTime.now
          const task = new Task({ ...current, ...next(current, now), version: current.version + 1, updatedAt: now })
          yield* storage.tasks.update(task, current.version)
          return task
        })
      )

    /** Changes a task's title, due time, channel, owner or note. */
    const update = Effect.fn("Tasks.update")(function* (taskId: string, input: TaskUpdate) {
      const id = yield* decodeTaskId(taskId)
      const data = yield* decodeInput(TaskUpdate)(input)
      return yield* change(id, data.expectedVersion, (current) => ({
        title: data.title ?? current.title,
        dueAt: data.dueAt ?? current.dueAt,
        channel: data.channel ?? current.channel,
        ownerId: data.ownerId === undefined ? current.ownerId : data.ownerId,
        note: data.note === undefined ? current.note : data.note
      }))
    })

    /** Marks a task done (now, or `at`). Completing a done task changes nothing but its version. */
    const complete = Effect.fn("Tasks.complete")(function* (taskId: string, options: TaskTransition = {}) {
      const id = yield* decodeTaskId(taskId)
      const data = yield* decodeInput(TaskTransition)(options)
      return yield* change(id, data.expectedVersion, (current, now) => ({
        status: "done",
        completedAt: current.completedAt ?? data.at ?? now
      }))
    })

    /** Opens a done task again. */
    const reopen = Effect.fn("Tasks.reopen")(function* (taskId: string, options: TaskTransition = {}) {
      const id = yield* decodeTaskId(taskId)
      const data = yield* decodeInput(TaskTransition)(options)
      return yield* change(id, data.expectedVersion, () => ({ status: "open", completedAt: null }))
    })

    /**
     * Tasks soonest due first. `due: "overdue"` lists open tasks due before now, `due: "today"`
     * tasks due today in the workspace's timezone; `ownerId` narrows to one owner (`null`: nobody's).
     */
    const list = Effect.fn("Tasks.list")(function* (options: TaskListOptions = {}) {
      const query = yield* decodeInput(TaskListOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const limit = query.limit ?? Page.defaultLimit
      const after =
        query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(TaskPosition, query.cursor, "tasks.list")
      const now = yield* DateTime.now
      const today = dayAround(now, workspace.timezone)
      const window =
        query.due === "overdue"
          ? { dueBefore: now, status: "open" as const }
          : query.due === "today"
            ? { dueFrom: today.start, dueBefore: today.end }
            : {}
      const rows = yield* storage.tasks.list(workspace.id, {
        status: query.status,
        ownerId: query.ownerId,
        contactId: query.contactId,
        dealId: query.dealId,
        ...window,
        after: after === undefined ? undefined : { dueAt: after[0], id: after[1] },
        limit: limit + 1
      })
      return Page.fromRows(rows, limit, (t) => [DateTime.formatIso(t.dueAt), t.id])
    })

    return {
      /** Creates a task. */
      create,
      /** The task, or a `RapportNotFoundError`. */
      get,
      /** Changes a task. */
      update,
      /** Marks a task done. */
      complete,
      /** Opens a done task again. */
      reopen,
      /** Tasks soonest due first: overdue, due today, by owner, of a contact or deal. */
      list
    } as const
  })
}) {}
