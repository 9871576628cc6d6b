// Task helpers shared by the Tasks and Deals services (a follow-up schedules the next task).
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { ValidationError } from "../domain/Errors.js"
import { type ContactId, type DealId, TaskId, type WorkspaceId } from "../domain/Ids.js"
import { Task, type TaskCreate } from "../domain/Task.js"
import { clampInstant, type Timezone } from "../domain/Time.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import type { StorageService } from "../ports/Storage.js"
import { getContact } from "./records.js"
import { getDeal } from "./sales.js"

/** Midnight to midnight of the day `now` falls in, in the timezone. */
export const dayAround = (now: DateTime.Utc, timezone: Timezone) => {
  const start = DateTime.startOf(DateTime.unsafeMakeZoned(now, { timeZone: timezone }), "day")
  return { start: clampInstant(start), end: clampInstant(DateTime.add(start, { days: 1 })) }
}

/** Stores a new open task; the contact and deal must exist (a deal's contact is linked too). */
export const insertTask = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  data: typeof TaskCreate.Type,
  path: ReadonlyArray<string | number> = []
) =>
  Effect.gen(function* () {
    const refused = (field: string, message: string) => ValidationError.at([...path, field], message)
    let contactId: ContactId | null = data.contactId ?? null
    const dealId: DealId | null = data.dealId ?? null
    if (dealId !== null) {
      const deal = yield* Effect.catchTag(getDeal(storage, workspaceId, dealId), "NotFound", () =>
        Effect.fail(refused("dealId", `no deal with id "${dealId}" in this workspace`))
      )
      contactId ??= deal.contactId
    }
    if (contactId !== null) {
      const id = contactId
      yield* Effect.catchTag(getContact(storage, workspaceId, id), "NotFound", () =>
        Effect.fail(refused("contactId", `no contact with id "${id}" in this workspace`))
      )
    }
    const now = yield* DateTime.now
    const task = new Task({
      id: TaskId.make(yield* (yield* IdGenerator).next),
      workspaceId,
      title: data.title,
      dueAt: data.dueAt,
      channel: data.channel,
      ownerId: data.ownerId ?? null,
      contactId,
      dealId,
      note: data.note ?? null,
      status: "open",
      completedAt: null,
      version: 1,
      createdAt: now,
      updatedAt: now
    })
    yield* storage.tasks.insert(task)
    return task
  })

