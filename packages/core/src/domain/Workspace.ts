/**
 * A workspace is a tenant: every record belongs to one, and nothing crosses workspaces. It holds
 * the settings the rest of the domain reads: its timezone and its lifecycle.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { WorkspaceId } from "./Ids.js"
import { LifecycleDefinition } from "./LifecycleDefinition.js"
import { SalesSettings } from "./Pipeline.js"
import { Instant, Timezone } from "./Time.js"
import { Text } from "./Json.js"

/**
 * @since 0.1.0
 * @category models
 */
export class Workspace extends Schema.Class<Workspace>("Workspace")({
  id: WorkspaceId,
  name: Schema.String,
  /** Default IANA timezone for what is local (delays, reports, date-only values). */
  timezone: Timezone,
  lifecycle: LifecycleDefinition,
  /** Pipeline settings: the floor, how cold deals count, when open deals become stale. */
  sales: SalesSettings,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * What `settings.update` accepts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkspaceChanges = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  name: Schema.optional(Text(200)),
  timezone: Schema.optional(Timezone)
})

/**
 * @since 0.1.0
 * @category models
 */
export type WorkspaceChanges = typeof WorkspaceChanges.Encoded
