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
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as ConditionModule from "./Condition.js"
import { Condition } from "./Condition.js"
import { WorkspaceId } from "./Ids.js"
import { falseByDefault, nullByDefault, Text } from "./Json.js"
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
  /**
   * The storage keeps an index made for this segment's condition (see {@link indexColumns}), so
   * counting and listing its members reads a range of that index. Since 0.8.0.
   */
  indexed: falseByDefault,
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
  condition: Condition,
  /**
   * Keep an index made for the condition (a segment counted or listed often, over many contacts):
   * refused when the condition has no comparison an index can serve (see {@link indexColumns}).
   */
  indexed: Schema.optional(Schema.Boolean)
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
  indexed: Schema.optional(Schema.Boolean),
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

/**
 * How a column of a segment's index reads its contact field: by the kind of the field's values
 * (a date field's values compare as text).
 *
 * @since 0.8.0
 * @category models
 */
export interface IndexColumn {
  readonly key: string
  readonly kind: "string" | "number" | "boolean"
}

const INDEXED_KINDS: Readonly<Partial<Record<ConditionModule.ValueKind, IndexColumn["kind"]>>> = { string: "string", date: "string", number: "number", boolean: "boolean" }
const RANGES: ReadonlySet<string> = new Set(["gt", "gte", "lt", "lte"])
/** Columns after `workspace_id` in a segment's index: more would slow every contact write for little. */
export const MAX_INDEX_COLUMNS = 4

/**
 * The columns of the index a segment's condition is served by, as a database engineer orders a
 * composite index: the custom fields the condition tests for equality (`eq`, or `in` without
 * `null`), then one number field it tests for a range (`gt`, `gte`, `lt`, `lte`), so the contacts
 * selected are one range of the index per equality value. Only comparisons every selected contact
 * must pass count: the condition itself or the members of its top-level `all` (nested `all`s
 * flattened); one under `any` or `not` selects nothing by itself. Fails with why, naming what an
 * index can serve, when no comparison of the condition can be. The condition must have passed
 * `Condition.check` against the same registry.
 *
 * @since 0.8.0
 * @category constructors
 */
export const indexColumns = (condition: ConditionModule.Condition, registry: ConditionModule.Registry): Either.Either<ReadonlyArray<IndexColumn>, string> => {
  const conjuncts = (c: ConditionModule.Condition): ReadonlyArray<ConditionModule.Condition> => ("all" in c ? c.all.flatMap(conjuncts) : [c])
  const equalities: Array<IndexColumn> = []
  let range: IndexColumn | undefined
  for (const c of conjuncts(condition)) {
    if (!("op" in c) || !("path" in c)) continue
    const info = ConditionModule.resolvePath(c.path, registry)
    if (typeof info === "string" || info.field === undefined || info.segments.length !== 2) continue
    const kind = INDEXED_KINDS[info.kind]
    if (kind === undefined) continue
    const column = { key: info.field.key, kind }
    const equality = (c.op === "eq" && c.value !== null) || (c.op === "in" && Array.isArray(c.value) && c.value.length > 0 && !c.value.includes(null))
    if (equality && !equalities.some((e) => e.key === column.key)) equalities.push(column)
    else if (RANGES.has(c.op) && kind === "number" && range === undefined) range = column
  }
  const columns = [...equalities, ...(range === undefined || equalities.some((e) => e.key === range!.key) ? [] : [range])].slice(0, MAX_INDEX_COLUMNS)
  return columns.length > 0
    ? Either.right(columns)
    : Either.left(
        "no comparison an index can serve: it needs, in the condition or its top-level `all`, a custom field compared with eq or in (text, select, number, boolean or date fields) or a number field compared with gt, gte, lt or lte"
      )
}
