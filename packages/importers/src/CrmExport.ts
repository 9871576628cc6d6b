/**
 * Exports from the CRM: the contacts of a selection (a list of ids, a segment written as a
 * condition, or everyone) as CSV or XLSX, with a typed column per custom field headed by its
 * label and the company's name, so that the file reads well and imports back as it was.
 *
 * A segment is the JSON condition rules use, on `contact.*` paths (`{ "path": "contact.tags",
 * "op": "contains", "value": "vip" }`), counts of the contact's past events included. The
 * database selects a segment's contacts (the storage compiles the condition to SQL), a page at a
 * time; with `ids`, the condition is evaluated on those contacts in memory.
 *
 * @since 0.3.0
 */
import { Condition, type Contact, type ContactJson, Errors, Ids, Storage, type Workspace, Workspaces } from "@rapport/core"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Export from "./Export.js"

/**
 * The contacts to export: `ids` (in that order, each once), `where` (a segment: a condition on
 * `contact.*` paths), both (the ids that match), or neither (every contact, in id order).
 *
 * @since 0.3.0
 * @category models
 */
export interface Selection {
  /** The contacts, by id; an id that is not a stored contact fails the export. */
  readonly ids?: ReadonlyArray<string> | undefined
  /** A condition the contacts must meet. */
  readonly where?: Condition.Condition | undefined
}

/**
 * An export from the CRM: the format, the selection, and the file's options (columns, delimiter,
 * sheet name). Without `columns`, the columns are {@link Export.defaultColumns} with the
 * workspace's custom fields and a `company` column holding the company's name.
 *
 * @since 0.3.0
 * @category models
 */
export interface ExportOptions extends Selection, Export.CsvOptions, Export.XlsxOptions {
  readonly format: "csv" | "xlsx"
}

/**
 * How an export fails: a selection or option that cannot be used, or the database.
 *
 * @since 0.3.0
 * @category errors
 */
export type Failure = Errors.ValidationError | Errors.StorageError

/**
 * What an export reads: the storage, in the current workspace.
 *
 * @since 0.3.0
 * @category models
 */
export type Needs = Storage.Storage | Workspaces.Workspaces

const PAGE = 500

/**
 * The selected contacts, read a page at a time. Fails with `ValidationError` before reading any
 * contact when `where` is not a valid condition for this workspace (an unknown path or field, an
 * `event.*` path: there is no event here) or `ids` is not a list of contact ids, and once reading
 * when an id is not a stored contact (naming its position).
 *
 * @since 0.3.0
 * @category constructors
 */
export const select = (selection: Selection = {}): Effect.Effect<Stream.Stream<Contact.Contact, Failure>, Failure, Needs> =>
  Effect.gen(function* () {
    const storage = yield* Storage.Storage
    const workspace = yield* (yield* Workspaces.Workspaces).get
    const where = selection.where === undefined ? undefined : yield* compile(storage, workspace, selection.where)
    const ids = selection.ids
    if (ids !== undefined && !Array.isArray(ids)) return yield* Errors.ValidationError.at(["ids"], "must be a list of contact ids")
    const wrong = (ids ?? []).findIndex((id) => !isContactId(id))
    if (wrong >= 0) return yield* Errors.ValidationError.at(["ids", wrong], `must be a contact id (a UUID), got ${JSON.stringify(ids![wrong])}`)
    if (ids === undefined) {
      // A segment alone: the database selects its contacts (the same contacts as the predicate).
      return where === undefined ? everyone(storage, workspace.id) : yield* matching(storage, workspace.id, where)
    }
    const contacts = byIds(storage, workspace.id, [...new Set(ids as ReadonlyArray<Ids.ContactId>)])
    return where === undefined ? contacts : Stream.filterEffect(contacts, where.test)
  })

/**
 * The selected contacts as the bytes of a CSV or XLSX file (see {@link Export.toCsv} and
 * {@link Export.toXlsx}), checked before the first byte: a wrong selection or option fails the
 * outer Effect, a failure while reading fails the stream.
 *
 * @since 0.3.0
 * @category constructors
 */
export const prepare = (options: ExportOptions): Effect.Effect<Stream.Stream<Uint8Array, Failure | Export.ExportError>, Failure | Export.ExportError, Needs> =>
  Effect.gen(function* () {
    if (options.format !== "csv" && options.format !== "xlsx") {
      return yield* Errors.ValidationError.at(["format"], `must be "csv" or "xlsx" (got ${JSON.stringify(options.format)})`)
    }
    const contacts = yield* select(options)
    const columns = options.columns ?? (yield* crmColumns)
    const file = { ...options, columns }
    return options.format === "csv" ? Export.toCsv(contacts, file) : Export.toXlsx(contacts, file)
  })

/**
 * The selected contacts as the bytes of a CSV or XLSX file, e.g.
 * `exportContacts({ format: "csv", where: { path: "contact.stage", op: "eq", value: "customer" } }).pipe(Export.toFile("customers.csv"))`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const exportContacts = (options: ExportOptions): Stream.Stream<Uint8Array, Failure | Export.ExportError, Needs> => Stream.unwrap(prepare(options))

/** The default columns, with the workspace's fields and the company's name instead of its id. */
const crmColumns = Effect.gen(function* () {
  const storage = yield* Storage.Storage
  const workspace = yield* (yield* Workspaces.Workspaces).get
  const fields = yield* storage.fieldDefinitions.list(workspace.id, "contact")
  const names = new Map<string, string>()
  for (let after: string | undefined; ; ) {
    const page = yield* storage.companies.list(workspace.id, { after, limit: 1_000 })
    for (const c of page) names.set(c.id, c.name)
    if (page.length < 1_000) break
    after = page[page.length - 1]!.id
  }
  const company: Export.Column = { header: "company", value: (c: ContactJson) => (c.companyId === null ? null : (names.get(c.companyId) ?? null)) }
  return Export.defaultColumns(fields).map((column) => (column.header === "companyId" ? company : column))
})

const everyone = (storage: Storage.StorageService, workspaceId: Ids.WorkspaceId) =>
  Stream.paginateChunkEffect(undefined as string | undefined, (after) =>
    Effect.map(storage.contacts.list(workspaceId, { after, limit: PAGE }), (page) =>
      [Chunk.unsafeFromArray(page), page.length < PAGE ? Option.none() : Option.some<string | undefined>(page[page.length - 1]!.id)] as const
    )
  )

/** The contacts a condition selects, evaluated by the database as of now, a page at a time in id order. */
const matching = (storage: Storage.StorageService, workspaceId: Ids.WorkspaceId, where: { readonly condition: Condition.Condition; readonly registry: Condition.Registry }) =>
  Effect.gen(function* () {
    const query: Storage.SegmentQuery = { condition: where.condition, registry: where.registry, now: yield* DateTime.now }
    return Stream.paginateChunkEffect(undefined as string | undefined, (after) =>
      Effect.map(storage.segments.members(workspaceId, { ...query, after, limit: PAGE }), (page) =>
        [Chunk.unsafeFromArray(page), page.length < PAGE ? Option.none() : Option.some<string | undefined>(page[page.length - 1]!.id)] as const
      )
    )
  })

const isContactId = Schema.is(Ids.ContactId)

const byIds = (storage: Storage.StorageService, workspaceId: Ids.WorkspaceId, ids: ReadonlyArray<Ids.ContactId>) =>
  Stream.fromIterable(ids.map((id, index) => [id, index] as const)).pipe(
    Stream.mapEffect(([id, index]) =>
      Effect.flatMap(storage.contacts.get(workspaceId, id), (found) =>
        Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(Errors.ValidationError.at(["ids", index], `no contact ${JSON.stringify(id)} in this workspace`))
      )
    )
  )

/**
 * The condition, checked against the workspace, with the registry it was checked against and a
 * test that computes the counts it reads.
 */
const compile = (storage: Storage.StorageService, workspace: Workspace.Workspace, where: unknown) =>
  Effect.gen(function* () {
    const shape = Condition.shapeIssues(where, ["where"])
    if (shape.length > 0) return yield* Errors.ValidationError.fromIssues(shape, "Invalid selection")
    const condition = where as Condition.Condition
    const registry = Condition.contactRegistry(yield* storage.fieldDefinitions.list(workspace.id, "contact"), workspace.lifecycle.stages.map((s) => s.key))
    const issues = Condition.check(condition, registry, ["where"])
    if (issues.length > 0) return yield* Errors.ValidationError.fromIssues(issues, "Invalid selection")
    const compiled = Condition.compile(condition, registry)
    const test = (contact: Contact.Contact) =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        const nowMillis = DateTime.toEpochMillis(now)
        const counts = yield* Effect.forEach(compiled.counts, (q) => {
          const window = {
            contactId: contact.id,
            since: q.withinMillis === undefined ? undefined : DateTime.unsafeMake(nowMillis - q.withinMillis),
            until: now,
            types: q.types
          }
          const where = q.where
          return Storage.countEvents(storage, workspace.id, {
            ...window,
            matches: where === undefined ? undefined : (event) => where({ contact, event, now: nowMillis, counts: [] })
          })
        })
        return compiled.test({ contact, event: undefined, now: nowMillis, counts })
      })
    return { condition, registry, test }
  })
