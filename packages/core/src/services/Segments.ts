/**
 * Segments: saved, named conditions over contacts (the rules' condition language), evaluated by
 * the database. `count` and `members` take a saved segment (`{ segmentId }`) or a condition given
 * now (`{ condition }`); both select exactly the contacts `Condition.compile`'s predicate holds
 * for at the current instant (the storage compiles the condition to parameterised SQL).
 *
 * A segment has no triggering event: its paths are `contact.*` ones (`event.*` only inside a
 * count's `where`, where they read the counted events), and `sinceTrigger` is refused.
 *
 * @example
 * ```ts
 * const vip = yield* crm.segments.create({ name: "VIP", condition: { path: "contact.tags", op: "contains", value: "vip" } })
 * const n = yield* crm.segments.count({ segmentId: vip.id })
 * // counted often over many contacts: an index made for its condition (fields by equality, then a range)
 * const keen = yield* crm.segments.create({
 *   name: "Keen red fans",
 *   condition: { all: [{ path: "contact.fields.colour", op: "eq", value: "red" }, { path: "contact.fields.visits", op: "gte", value: 90 }] },
 *   indexed: true
 * })
 * const first = yield* crm.segments.members({ segmentId: vip.id }, { limit: 100 })
 * ```
 *
 * @since 0.8.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Condition from "../domain/Condition.js"
import type { Contact } from "../domain/Contact.js"
import { NotFound, ValidationError } from "../domain/Errors.js"
import * as Page from "../domain/Page.js"
import { indexColumns, MembersOptions, Segment, SegmentCreate, SegmentId, type SegmentRef, SegmentUpdate } from "../domain/Segment.js"
import { decodeInput } from "../internal/validation.js"
import { rulesChanged } from "../internal/rules.js"
import { CurrentWorkspace, readWorkspace, readWorkspaceWithCounter, RULES_COUNTER } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { type SegmentQuery, Storage, type StorageService } from "../ports/Storage.js"
import type { Workspace } from "../domain/Workspace.js"

const decodeSegmentId = decodeInput(SegmentId, ["segmentId"])
const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/** What a segment's condition is checked against: the workspace's contact fields and stages, no event. */
const registryOf = (storage: StorageService, workspace: Workspace) =>
  Effect.map(
    storage.fieldDefinitions.list(workspace.id, "contact"),
    (fields) => Condition.contactRegistry(fields, workspace.lifecycle.stages.map((s) => s.key))
  )

// Saved segments as count and members read them (the condition and the registry it was checked
// against), per store (tests run several stores with the same workspace ids), workspace and
// segment. An entry holds while the workspace's rules counter, which segment writes bump (as rule,
// field and lifecycle changes do), and the workspace's version are those it was read under; it is
// kept only once the reading transaction commits, like the compiled rules (internal/rules.ts). A
// segment counted again and again is then one statement, its count read with the versions that
// say whether the entry still holds, and the storage's compiled condition (kept per condition and
// registry object) is reused; its members, one statement after the workspace's.
const SAVED_SEGMENTS_KEPT = 10_000
const savedSegments = new WeakMap<StorageService, Map<string, { readonly counter: number; readonly workspaceVersion: number; readonly query: Pick<SegmentQuery, "condition" | "registry"> }>>()
const savedKey = (workspaceId: string, segmentId: string) => `${workspaceId}|${segmentId}`
const savedIn = (storage: StorageService) => {
  let perStore = savedSegments.get(storage)
  if (perStore === undefined) {
    perStore = new Map()
    savedSegments.set(storage, perStore)
  }
  return perStore
}

/** The condition, checked as a segment's: every failing path named (under `condition`). */
const checked = (condition: Condition.Condition, registry: Condition.Registry) => {
  const issues = Condition.check(condition, registry, ["condition"])
  return issues.length === 0 ? Effect.succeed(condition) : Effect.fail(ValidationError.fromIssues(issues, "Invalid segment condition"))
}

/** The index an `indexed` segment's (checked) condition is served by; `ValidationError` at `indexed` when none can serve it. */
const indexFor = (condition: Condition.Condition, registry: Condition.Registry) =>
  Either.match(indexColumns(condition, registry), {
    onLeft: (why) => ValidationError.at(["indexed"], `the condition has ${why}`),
    onRight: Effect.succeed
  })

/**
 * @since 0.8.0
 * @category services
 */
export class Segments extends Effect.Service<Segments>()("@rapport/core/Segments", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const find = (workspace: Workspace, id: SegmentId) =>
      Effect.flatMap(storage.segments.get(workspace.id, id), (found) => (Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(NotFound.of("segment", id))))

    /** The condition a reference names, checked against the workspace. */
    const resolve = (workspace: Workspace, counter: number | undefined, ref: SegmentRef) =>
      Effect.gen(function* () {
        if (isObject(ref) && "segmentId" in ref) {
          const id = yield* decodeSegmentId(ref.segmentId)
          const known = counter === undefined ? undefined : savedIn(storage).get(savedKey(workspace.id, id))
          if (known !== undefined && known.counter === counter && known.workspaceVersion === workspace.version) return known.query
          const query = { condition: (yield* find(workspace, id)).condition, registry: yield* registryOf(storage, workspace) }
          if (counter !== undefined) {
            const entry = { counter, workspaceVersion: workspace.version, query }
            yield* storage.afterCommit(
              Effect.sync(() => {
                const saved = savedIn(storage)
                // Bounded: an app with many workspaces and segments keeps those counted lately.
                const key = savedKey(workspace.id, id)
                if (saved.size >= SAVED_SEGMENTS_KEPT && !saved.has(key)) saved.clear()
                saved.set(key, entry)
              })
            )
          }
          return query
        }
        if (isObject(ref) && "condition" in ref) {
          const registry = yield* registryOf(storage, workspace)
          const condition = yield* decodeInput(Condition.Condition, ["condition"])(ref.condition)
          return { condition: yield* checked(condition, registry), registry }
        }
        return yield* ValidationError.at([], "must be { segmentId } (a saved segment) or { condition } (a condition given now)")
      })

    /** A segment write, and the bump of the counter the saved segments' cache is kept under, in one transaction. */
    const changing = <A, E, R>(workspace: Workspace, write: Effect.Effect<A, E, R>) =>
      storage.transaction(Effect.tap(write, () => rulesChanged(storage, workspace.id)))

    /**
     * Saves a named segment of the current workspace; its condition is checked against the
     * workspace's fields and stages. With `indexed: true` the index made for its condition exists
     * when this returns (building it over many contacts takes what a `CREATE INDEX` takes, and
     * SQLite's writers wait meanwhile: do it at set-up, not per request).
     */
    const create = Effect.fn("Segments.create")(function* (input: SegmentCreate) {
      const data = yield* decodeInput(SegmentCreate)(input)
      const workspace = yield* readWorkspace(storage)
      const registry = yield* registryOf(storage, workspace)
      yield* checked(data.condition, registry)
      const indexed = data.indexed ?? false
      const index = indexed ? yield* indexFor(data.condition, registry) : undefined
      const now = yield* DateTime.now
      const segment = new Segment({
        id: SegmentId.make(yield* (yield* IdGenerator).next),
        workspaceId: workspace.id,
        name: data.name,
        description: data.description,
        condition: data.condition,
        indexed,
        version: 1,
        createdAt: now,
        updatedAt: now
      })
      // The index first: a segment stored as indexed always has its index (one left by a failed
      // insert is harmless: indexes are shared and kept).
      if (index !== undefined) yield* storage.segments.ensureIndex(index)
      yield* changing(workspace, storage.segments.insert(segment))
      return segment
    })

    /** Changes a segment's name, description, condition (checked again) or `indexed`; `expectedVersion` guards against a concurrent change. */
    const update = Effect.fn("Segments.update")(function* (segmentId: string, input: SegmentUpdate) {
      const id = yield* decodeSegmentId(segmentId)
      const data = yield* decodeInput(SegmentUpdate)(input)
      const workspace = yield* readWorkspace(storage)
      const current = yield* find(workspace, id)
      const condition = data.condition ?? current.condition
      const indexed = data.indexed ?? current.indexed
      const registry = data.condition !== undefined || indexed ? yield* registryOf(storage, workspace) : undefined
      if (data.condition !== undefined) yield* checked(data.condition, registry!)
      const index = indexed ? yield* indexFor(condition, registry!) : undefined
      const expected = data.expectedVersion ?? current.version
      const next = new Segment({
        ...current,
        name: data.name ?? current.name,
        description: data.description === undefined ? current.description : data.description,
        condition,
        indexed,
        version: expected + 1,
        updatedAt: yield* DateTime.now
      })
      if (index !== undefined) yield* storage.segments.ensureIndex(index)
      yield* changing(workspace, storage.segments.update(next, expected))
      return next
    })

    /** The segment. */
    const get = Effect.fn("Segments.get")(function* (segmentId: string) {
      const id = yield* decodeSegmentId(segmentId)
      return yield* find(yield* readWorkspace(storage), id)
    })

    /** The current workspace's segments, by name. */
    const list = Effect.fn("Segments.list")(function* () {
      return yield* storage.segments.list((yield* readWorkspace(storage)).id)
    })

    /** Removes the segment; `NotFound` when there is none. */
    const remove = Effect.fn("Segments.remove")(function* (segmentId: string) {
      const id = yield* decodeSegmentId(segmentId)
      const workspace = yield* readWorkspace(storage)
      const removed = yield* changing(workspace, storage.segments.remove(workspace.id, id))
      if (!removed) return yield* NotFound.of("segment", id)
    })

    // A saved segment counted again: its cached query counted, and the versions the cache holds it
    // under read in the same statement; `undefined` when there is no entry or it is no longer current
    // (the count is then made again after the entry is read anew).
    const countKnown = (ref: SegmentRef) =>
      Effect.gen(function* () {
        const segmentId: unknown = isObject(ref) && "segmentId" in ref ? ref.segmentId : undefined
        if (typeof segmentId !== "string") return undefined
        const workspaceId = yield* CurrentWorkspace
        const known = savedIn(storage).get(savedKey(workspaceId, segmentId))
        if (known === undefined) return undefined
        const answer = yield* storage.segments.countWithVersions(workspaceId, { ...known.query, now: yield* DateTime.now }, RULES_COUNTER)
        return answer.counter === known.counter && answer.workspaceVersion === known.workspaceVersion ? answer.count : undefined
      })

    /** How many contacts the segment (or condition) selects now. */
    const count = Effect.fn("Segments.count")(function* (ref: SegmentRef) {
      const known = yield* countKnown(ref)
      if (known !== undefined) return known
      const { workspace, counter } = yield* readWorkspaceWithCounter(storage)
      const query = yield* resolve(workspace, counter, ref)
      return yield* storage.segments.count(workspace.id, { ...query, now: yield* DateTime.now })
    })

    /**
     * A page of the contacts the segment (or condition) selects now, in id order: `cursor` from
     * the previous page's `nextCursor`, `limit` 1 to 1,000 (50 by default). Cursors are stable
     * under inserts (a page never repeats a contact); a contact that stops or starts matching
     * between two pages is read as it is when its page is read.
     */
    const members = Effect.fn("Segments.members")(function* (ref: SegmentRef, options: MembersOptions = {}) {
      const page = yield* decodeInput(MembersOptions)(options)
      const { workspace, counter } = yield* readWorkspaceWithCounter(storage)
      const query = yield* resolve(workspace, counter, ref)
      const limit = page.limit ?? Page.defaultLimit
      const after = page.cursor === undefined ? undefined : yield* Page.decodeIdCursor(page.cursor, "segments.members")
      const rows = yield* storage.segments.members(workspace.id, { ...query, now: yield* DateTime.now, after, limit: limit + 1 })
      return Page.fromRows<Contact>(rows, limit, (c) => [c.id])
    })

    return {
      /** Saves a named segment; its condition is checked against the workspace. */
      create,
      /** Changes a segment's name, description or condition. */
      update,
      /** The segment. */
      get,
      /** The workspace's segments, by name. */
      list,
      /** Removes the segment. */
      remove,
      /** How many contacts a segment or condition selects now. */
      count,
      /** A page of the contacts a segment or condition selects now, in id order. */
      members
    } as const
  })
}) {}
