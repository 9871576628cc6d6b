/**
 * Segments: named, saved conditions over contacts, in the rules' condition language
 * (`Condition`), evaluated by the database (the storage compiles them to parameterised SQL that
 * selects exactly the contacts the condition's predicate holds for). A segment has no triggering
 * event: its paths are `contact.*` ones, and `event.*` appears only inside a count's `where`
 * (the counted events). Members are read a page at a time, counted, exported, and used as an
 * audience.
 *
 * @since 0.8.0
 */
import * as Schema from "effect/Schema"
import { Condition } from "./Condition.js"
import { WorkspaceId } from "./Ids.js"
import { nullByDefault, Text } from "./Json.js"
import { Instant } from "./Time.js"

/**
 * A segment's id (a UUID).
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentId = Schema.compose(Schema.Lowercase, Schema.UUID, { strict: false }).pipe(
  Schema.brand("SegmentId"),
  Schema.annotations({ identifier: "SegmentId", message: () => ({ message: "must be a UUID", override: true }) })
)

/**
 * @since 0.8.0
 * @category models
 */
export type SegmentId = typeof SegmentId.Type

/**
 * A saved segment. `name` is unique in the workspace.
 *
 * @since 0.8.0
 * @category models
 */
export class Segment extends Schema.Class<Segment>("Segment")({
  id: SegmentId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  condition: Condition,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * What `segments.create` accepts. The condition's paths and values are checked against the
 * workspace's fields and stages by the service.
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentCreate = Schema.Struct({
  name: Text(200),
  description: nullByDefault(Text(2_000)),
  condition: Condition
})

/**
 * @since 0.8.0
 * @category models
 */
export type SegmentCreate = typeof SegmentCreate.Encoded

/**
 * What `segments.update` accepts: the parts to change, and optionally the version the caller read
 * (a stale one fails with `Conflict`).
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentUpdate = Schema.Struct({
  name: Schema.optional(Text(200)),
  description: Schema.optional(Schema.NullOr(Text(2_000))),
  condition: Schema.optional(Condition),
  expectedVersion: Schema.optional(Schema.Int)
})

/**
 * @since 0.8.0
 * @category models
 */
export type SegmentUpdate = typeof SegmentUpdate.Encoded

/**
 * Which contacts: a saved segment (`{ segmentId }`) or a condition given now (`{ condition }`).
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentRef = Schema.Union(Schema.Struct({ segmentId: SegmentId }), Schema.Struct({ condition: Condition }))

/**
 * @since 0.8.0
 * @category models
 */
export type SegmentRef = { readonly segmentId: string } | { readonly condition: unknown }

/**
 * A page of members: `cursor` from the previous page's `nextCursor`, `limit` 1 to 1,000 (50 by
 * default).
 *
 * @since 0.8.0
 * @category schemas
 */
export const MembersOptions = Schema.Struct({
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1_000, { message: () => "must be 1 to 1,000" })))
})

/**
 * @since 0.8.0
 * @category models
 */
export type MembersOptions = typeof MembersOptions.Encoded
