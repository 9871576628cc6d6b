/**
 * Tasks: follow-ups someone has to do (call back, send the letter, meet), with a due time, a
 * channel and an owner, tied to a contact or a deal. Open until completed; reopened if need be.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { ContactId, DealId, TaskId, WorkspaceId } from "./Ids.js"
import { SafeString, Text } from "./Json.js"
import { Instant, InstantInput } from "./Time.js"

/**
 * How a follow-up is made.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Channel = Schema.Literal("email", "call", "letter", "meeting")

/**
 * @since 0.2.0
 * @category models
 */
export type Channel = typeof Channel.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const TaskStatus = Schema.Literal("open", "done")

/**
 * @since 0.2.0
 * @category models
 */
export class Task extends Schema.Class<Task>("Task")({
  id: TaskId,
  workspaceId: WorkspaceId,
  title: Schema.String,
  dueAt: Instant,
  channel: Channel,
  ownerId: Schema.NullOr(Schema.String),
  contactId: Schema.NullOr(ContactId),
  dealId: Schema.NullOr(DealId),
  note: Schema.NullOr(Schema.String),
  status: TaskStatus,
  completedAt: Schema.NullOr(Instant),
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * What `tasks.create` accepts. With a `dealId` and no `contactId`, the task is tied to the
 * deal's contact too.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TaskCreate = Schema.Struct({
  title: Text(300),
  dueAt: InstantInput,
  channel: Channel,
  ownerId: Schema.optional(Schema.NullOr(Text(200))),
  contactId: Schema.optional(Schema.NullOr(ContactId)),
  dealId: Schema.optional(Schema.NullOr(DealId)),
  note: Schema.optional(Schema.NullOr(Text(2000)))
})

/**
 * @since 0.2.0
 * @category models
 */
export type TaskCreate = typeof TaskCreate.Encoded

/**
 * What `tasks.update` accepts.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TaskUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  title: Schema.optional(Text(300)),
  dueAt: Schema.optional(InstantInput),
  channel: Schema.optional(Channel),
  ownerId: Schema.optional(Schema.NullOr(Text(200))),
  note: Schema.optional(Schema.NullOr(Text(2000)))
})

/**
 * @since 0.2.0
 * @category models
 */
export type TaskUpdate = typeof TaskUpdate.Encoded

/**
 * Filters and paging of `tasks.list`, soonest due first. `due: "overdue"` is open tasks due
 * before now; `"today"` is tasks due today in the workspace's timezone.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TaskListOptions = Schema.Struct({
  status: Schema.optional(TaskStatus),
  due: Schema.optional(Schema.Literal("overdue", "today")),
  ownerId: Schema.optional(Schema.NullOr(Text(200))),
  contactId: Schema.optional(ContactId),
  dealId: Schema.optional(DealId),
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.2.0
 * @category models
 */
export type TaskListOptions = typeof TaskListOptions.Encoded
