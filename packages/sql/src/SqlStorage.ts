/**
 * The Storage port written once over `@effect/sql`'s `SqlClient`. The same statements run on
 * SQLite and PostgreSQL; `sql.onDialectOrElse` marks the few places where they differ. Values
 * from callers are always bound parameters, never spliced into SQL text.
 *
 * @since 0.1.0
 */
import { Contact, Email, Errors, Storage, Workspace } from "@rapport/core"
import type { FieldDefinition } from "@rapport/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isUnavailable, storageError, violatesPrimaryKey } from "./internal/errors.js"
import { makeOutbox } from "./internal/outbox.js"
import { makeAddressHealth } from "./internal/addressHealth.js"
import { makeTemplateLocales } from "./internal/templateLocales.js"
import { makeAccess } from "./internal/access.js"
import { makeWebhookSubscriptions } from "./internal/webhooks.js"
import { makeIdempotency } from "./internal/idempotency.js"
import { makeImports } from "./internal/imports.js"
import { makeAnalytics } from "./internal/analytics.js"
import { makeCampaigns } from "./internal/campaigns.js"
import { makeSnapshots } from "./internal/snapshots.js"
import { makeSegments } from "./internal/segments.js"
import { ensureFieldIndex } from "./internal/fieldIndexes.js"
import { makeSales } from "./internal/sales.js"
import { makeHistory } from "./internal/history.js"
import { insertChunks, isSqlError, onUnique, orStorage, retryLostConnection, versionedUpdate } from "./internal/statements.js"
import { leanClient } from "./internal/lean.js"
import {
  CompanyRow,
  ContactRow,
  encoderOf,
  AtRow,
  CountRow,
  EventRow,
  FieldDefinitionRow,
  FieldRecordRow,
  OrderFromRows,
  RecordIdRow,
  StageCountRow,
  TimelineRow,
  WorkspaceRow,
  writeOrder
} from "./internal/rows.js"
import * as Migrations from "./Migrations.js"
import { makeOrderReads } from "./internal/orders.js"

const iso = DateTime.formatIso

// Rows per multi-row statement: 500 rows of the widest table stay far below SQLite's 32,766 and
// PostgreSQL's 65,535 bound parameters.
const CHUNK = 500
const compareKeys = (a: string | undefined, b: string | undefined) =>
  a === b ? 0 : a === undefined ? 1 : b === undefined ? -1 : a < b ? -1 : 1

// The columns a contact row is written with: `identities` is only read (see ContactRow).
const stripIdentities = <R extends { readonly identities?: unknown }>(row: R): Omit<R, "identities"> => {
  const { identities: _, ...columns } = row
  return columns
}

const chunks = <A>(items: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK))

// Decoders of row lists, built once: a Schema built inside a call is a new AST each time, whose
// parser is compiled again on every call (more work than decoding the rows).
const decodeIdRows = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String })))
const decodeStageCounts = Schema.decodeUnknown(Schema.Array(StageCountRow))
const decodeFieldRecords = Schema.decodeUnknown(Schema.Array(FieldRecordRow))
const decodeClaims = Schema.decodeUnknown(Schema.Array(Schema.Struct({ field_key: Schema.String, record_id: Schema.String })))
const decodeTimelineRow = Schema.decodeUnknown(TimelineRow)
const decodeTimelineRows = Schema.decodeUnknown(Schema.Array(TimelineRow))
const decodeAtRows = Schema.decodeUnknown(Schema.Array(AtRow))
const decodeEventRows = Schema.decodeUnknown(Schema.Array(EventRow))
const decodeOrderHeaders = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))))

/**
 * Builds the Storage over the `SqlClient` in context (its name transforms are bypassed: the
 * statements name their columns exactly). Does not migrate; {@link layer} does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Storage.StorageService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = leanClient((yield* SqlClient.SqlClient).withoutTransforms())
  const insertChunk = insertChunks(sql, CHUNK)

  // PostgreSQL infers a bound parameter's type from the column it meets, except inside row
  // comparisons and arithmetic: there instants need an explicit cast.
  const instant = (value: DateTime.Utc): Statement.Fragment =>
    sql.onDialectOrElse({ pg: () => sql`${iso(value)}::timestamptz`, orElse: () => sql`${iso(value)}` })

  const encodeWorkspace = encoderOf(WorkspaceRow)
  const encodeDefinition = encoderOf(FieldDefinitionRow)
  const encodeContact = encoderOf(ContactRow)
  const encodeCompany = encoderOf(CompanyRow)
  const encodeEntry = encoderOf(TimelineRow)
  const encodeEvent = encoderOf(EventRow)
  const encodeOrder = Schema.encode(OrderFromRows)

  // --- workspaces

  const decodeWorkspaceRow = Schema.decodeUnknown(WorkspaceRow)

  // The last workspace decoded per id, with the row it came from: emits read their workspace every
  // time, and decoding it (lifecycle, settings) cost more than reading it. It is reused only when
  // every column is the same, so it is never stale; each read still gets an instance of its own.
  const decodedWorkspaces = new Map<string, { readonly row: Readonly<Record<string, unknown>>; readonly workspace: Workspace.Workspace }>()
  const sameValue = (a: unknown, b: unknown) =>
    a === b ||
    (a instanceof Date && b instanceof Date && a.getTime() === b.getTime()) ||
    (typeof a === "object" && a !== null && typeof b === "object" && b !== null && !(a instanceof Date) && JSON.stringify(a) === JSON.stringify(b))
  const decodeWorkspaceOnce = (row: Readonly<Record<string, unknown>>) => {
    const known = decodedWorkspaces.get(String(row["id"]))
    if (known !== undefined && Object.keys(known.row).every((column) => sameValue(known.row[column], row[column]))) {
      return Effect.succeed(new Workspace.Workspace({ ...known.workspace }, true))
    }
    return Effect.tap(decodeWorkspaceRow(row), (workspace) => {
      const { counter_value: _, ...columns } = row
      if (decodedWorkspaces.size >= 1_000) decodedWorkspaces.clear()
      decodedWorkspaces.set(workspace.id, { row: columns, workspace })
    })
  }
  const decodeCount = Schema.decodeUnknown(CountRow.fields.n)
  // Every service call reads its workspace: through the same memo as emits.
  const findWorkspace = (id: string) =>
    Effect.flatMap(sql<Readonly<Record<string, unknown>>>`SELECT * FROM rapport_workspaces WHERE id = ${id}`, (rows) =>
      rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeWorkspaceOnce(rows[0]!))
    )

  const workspaces: Storage.WorkspaceRepository = {
    get: (id) => orStorage(findWorkspace(id)),
    getWithCounter: (id, counterKey) =>
      orStorage(
        Effect.gen(function* () {
          const rows = yield* sql<{ readonly counter_value: unknown }>`SELECT w.*, COALESCE((SELECT c.value FROM rapport_counters AS c
              WHERE c.workspace_id = w.id AND c.counter_key = ${counterKey}), 0) AS counter_value FROM rapport_workspaces AS w WHERE w.id = ${id}`
          if (rows.length === 0) return Option.none()
          return Option.some({ workspace: yield* decodeWorkspaceOnce(rows[0]!), counter: yield* decodeCount(rows[0]!.counter_value) })
        })
      ),
    insertIfAbsent: (workspace) =>
      orStorage(
        Effect.gen(function* () {
          const row = yield* encodeWorkspace(workspace)
          yield* sql`INSERT INTO rapport_workspaces ${sql.insert(row)} ON CONFLICT DO NOTHING`
          return Option.getOrThrow(yield* findWorkspace(workspace.id))
        })
      ),
    update: (workspace, expectedVersion) =>
      orStorage(
        Effect.flatMap(encodeWorkspace(workspace), (row) =>
          versionedUpdate(
            "workspace",
            workspace.id,
            expectedVersion,
            sql`UPDATE rapport_workspaces SET ${sql.update(row, ["id"])} WHERE id = ${workspace.id} AND version = ${expectedVersion} RETURNING id`,
            sql`SELECT version FROM rapport_workspaces WHERE id = ${workspace.id}`
          )
        )
      )
  }

  // --- field definitions

  const listDefinitions = SqlSchema.findAll({
    Request: Schema.Struct({ workspaceId: Schema.String, entity: Schema.optional(Schema.String) }),
    Result: FieldDefinitionRow,
    execute: ({ workspaceId, entity }) =>
      sql`SELECT * FROM rapport_field_definitions WHERE ${sql.and([
        sql`workspace_id = ${workspaceId}`,
        ...(entity === undefined ? [] : [sql`entity = ${entity}`])
      ])} ORDER BY position, field_key, entity`
  })

  const fieldDefinitions: Storage.FieldDefinitionRepository = {
    list: (workspaceId, entity) => orStorage(listDefinitions({ workspaceId, entity })),
    insert: (def) =>
      onUnique(
        Effect.flatMap(encodeDefinition(def), (row) => sql`INSERT INTO rapport_field_definitions ${sql.insert(row)}`).pipe(Effect.zipRight(ensureFieldIndex(sql, def))),
        () => Errors.Conflict.unique("fieldDefinition", "key", `${def.entity}.${def.key}`)
      ),
    update: (def, expectedVersion) =>
      orStorage(
        Effect.flatMap(encodeDefinition(def), (row) =>
          versionedUpdate(
            "fieldDefinition",
            `${def.entity}.${def.key}`,
            expectedVersion,
            sql`UPDATE rapport_field_definitions SET ${sql.update(row, ["workspace_id", "entity", "field_key"])}
                WHERE workspace_id = ${def.workspaceId} AND entity = ${def.entity} AND field_key = ${def.key} AND version = ${expectedVersion}
                RETURNING field_key AS id`,
            sql`SELECT version FROM rapport_field_definitions WHERE workspace_id = ${def.workspaceId} AND entity = ${def.entity} AND field_key = ${def.key}`
          ).pipe(Effect.zipRight(ensureFieldIndex(sql, def)))
        )
      ),
    remove: (workspaceId, entity, key) =>
      orStorage(sql`DELETE FROM rapport_field_definitions WHERE workspace_id = ${workspaceId} AND entity = ${entity} AND field_key = ${key}`.pipe(Effect.asVoid))
  }

  // --- contacts

  // A contact is read with its emails and phones: one correlated subquery (within the contact's
  // workspace, along the identities' primary key) aggregates them into a JSON array of
  // [kind, position, value, label] items; ContactRow puts them in order.
  const identities = sql.onDialectOrElse({
    pg: () => sql`(SELECT COALESCE(jsonb_agg(jsonb_build_array(i.kind, i.position, i.value, i.label)), '[]'::jsonb)
                   FROM rapport_contact_identities AS i WHERE i.workspace_id = c.workspace_id AND i.contact_id = c.id)`,
    orElse: () => sql`(SELECT json_group_array(json_array(i.kind, i.position, i.value, i.label))
                       FROM rapport_contact_identities AS i WHERE i.workspace_id = c.workspace_id AND i.contact_id = c.id)`
  })
  const selectContacts = sql`SELECT c.*, ${identities} AS identities FROM rapport_contacts AS c`

  // The last contacts decoded, with the rows they came from: an emit reads its contact every time,
  // and decoding one (its emails, fields, every attribute checked) cost more than reading it. A
  // contact is reused only when every column of its row is the same, so it is never stale; each
  // read still gets an instance of its own.
  const decodeContactRow = Schema.decodeUnknown(ContactRow)
  const decodedContacts = new Map<string, { readonly row: Readonly<Record<string, unknown>>; readonly contact: Contact.Contact }>()
  const decodeContact = (row: Readonly<Record<string, unknown>>): Effect.Effect<Contact.Contact, ParseError> => {
    const key = `${String(row["workspace_id"])}|${String(row["id"])}`
    const known = decodedContacts.get(key)
    if (known !== undefined && Object.keys(known.row).length === Object.keys(row).length && Object.keys(row).every((column) => sameValue(known.row[column], row[column]))) {
      return Effect.succeed(new Contact.Contact({ ...known.contact }, true))
    }
    return Effect.tap(decodeContactRow(row), (contact) => {
      if (decodedContacts.size >= 5_000) decodedContacts.clear()
      decodedContacts.set(key, { row, contact })
    })
  }
  const decodeContacts = (rows: ReadonlyArray<unknown>) => Effect.forEach(rows as ReadonlyArray<Readonly<Record<string, unknown>>>, decodeContact)

  // The contacts holding one of these values (email keys or phones), through the identities'
  // partial indexes (the kind is SQL text, not a parameter, so the planner can use them).
  const heldBy = (workspaceId: string, kind: "email" | "phone", keys: ReadonlyArray<string>) =>
    sql`${selectContacts} WHERE c.workspace_id = ${workspaceId} AND c.id IN (
          SELECT contact_id FROM rapport_contact_identities
          WHERE workspace_id = ${workspaceId} AND kind = ${sql.literal(`'${kind}'`)} AND ${sql.in("value_key", keys)})`

  const findContact = ({ workspaceId, id }: { readonly workspaceId: string; readonly id: string }) =>
    Effect.flatMap(sql`${selectContacts} WHERE c.workspace_id = ${workspaceId} AND c.id = ${id}`, (rows) =>
      rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeContact(rows[0]!))
    )

  const findContactByEmail = SqlSchema.findOne({
    Request: Schema.Struct({ workspaceId: Schema.String, key: Schema.String }),
    Result: ContactRow,
    execute: ({ workspaceId, key }) => heldBy(workspaceId, "email", [key])
  })

  const hasTag = (tag: string) =>
    sql.onDialectOrElse({
      pg: () => sql`tags @> ${JSON.stringify([tag])}::jsonb`,
      orElse: () => sql`EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = ${tag})`
    })

  const listContacts = SqlSchema.findAll({
    Request: Schema.Struct({
      workspaceId: Schema.String,
      stage: Schema.optional(Schema.String),
      tag: Schema.optional(Schema.String),
      companyId: Schema.optional(Schema.String),
      ownerId: Schema.optional(Schema.String),
      after: Schema.optional(Schema.String),
      limit: Schema.Number
    }),
    Result: ContactRow,
    execute: (q) =>
      sql`${selectContacts} WHERE ${sql.and([
        sql`workspace_id = ${q.workspaceId}`,
        ...(q.stage === undefined ? [] : [sql`stage = ${q.stage}`]),
        ...(q.companyId === undefined ? [] : [sql`company_id = ${q.companyId}`]),
        ...(q.ownerId === undefined ? [] : [sql`owner_id = ${q.ownerId}`]),
        ...(q.tag === undefined ? [] : [hasTag(q.tag)]),
        ...(q.after === undefined ? [] : [sql`id > ${q.after}`])
      ])} ORDER BY id LIMIT ${q.limit}`
  })

  // The primary key and the email index can both refuse a contact: say which.
  const contactConflict = (contact: { readonly id: string }) => (error: SqlError) =>
    violatesPrimaryKey(error) ? Errors.Conflict.unique("contact", "id", contact.id) : Errors.Conflict.unique("contact", "email")

  // The rows of rapport_contact_identities for these contacts: the primary email and phone first.
  const identityRows = (contacts: ReadonlyArray<Contact.Contact>) =>
    contacts.flatMap((c) => {
      const lists = Contact.identityLists(c)
      const row = (kind: "email" | "phone", key: (value: string) => string) => (e: Contact.ContactEmail | Contact.ContactPhone, position: number) => ({
        workspace_id: c.workspaceId,
        contact_id: c.id,
        kind,
        position,
        value: e.value,
        value_key: key(e.value),
        label: e.label
      })
      return [...lists.emails.map(row("email", Email.emailKey)), ...lists.phones.map(row("phone", (p) => p))]
    })

  // A unique violation here is an email (primary or not) another contact holds. Rows go in key
  // order: two writers sharing emails then meet them in the same order, so one waits and gets a
  // Conflict instead of both deadlocking.
  const insertIdentities = (contacts: ReadonlyArray<Contact.Contact>) => {
    const rows = identityRows(contacts).sort((a, b) => compareKeys(`${a.kind}|${a.value_key}`, `${b.kind}|${b.value_key}`))
    return Effect.forEach(
      chunks(rows),
      (chunk) => onUnique(sql`INSERT INTO rapport_contact_identities ${sql.insert(chunk)}`, () => Errors.Conflict.unique("contact", "emails")),
      { discard: true }
    )
  }
  const removeIdentities = (workspaceId: string, id: string) =>
    orStorage(sql`DELETE FROM rapport_contact_identities WHERE workspace_id = ${workspaceId} AND contact_id = ${id}`)

  // A contact and its emails and phones are written together or not at all (a savepoint inside
  // the caller's transaction; outside one, a transaction that runs once more when its connection
  // was closed while idle, like any statement outside a transaction).
  const together = <A, E>(effect: Effect.Effect<A, E>) => orStorage(sql.withTransaction(effect))

  // The columns of the attributes an update may write alone (see ContactUpdateOptions.only), with
  // their PostgreSQL types as updateMany reads them from its JSON parameter (JSON columns come as
  // the text that rows carry).
  const changeableColumns = { stage: "stage", score: "score", tags: "tags", ownerId: "owner_id" } as const
  const pgTypes: Record<string, readonly [declared: string, cast: string]> = {
    stage: ["text", ""],
    score: ["integer", ""],
    tags: ["text", "::jsonb"],
    owner_id: ["text", ""]
  }

  // One statement for the lot: the new values and expected versions as a JSON parameter, the
  // contacts written those whose version matched. Any other is a Conflict, and the caller's
  // transaction then writes none.
  const updateMany: Storage.ContactRepository["updateMany"] = (updates, { only }) => {
    if (updates.length === 0) return Effect.void
    if (updates.length === 1) return contacts.update(updates[0]!.contact, updates[0]!.expectedVersion, { only })
    const workspaceId = updates[0]!.contact.workspaceId
    const columns = [...new Set(only.map((key) => changeableColumns[key]))]
    return orStorage(
      Effect.gen(function* () {
        const values = yield* Effect.forEach(updates, ({ contact, expectedVersion }) =>
          Effect.map(encodeContact(contact), (row) =>
            Object.fromEntries([["id", contact.id], ["expected", expectedVersion], ["version", row.version], ["updated_at", row.updated_at], ...columns.map((c) => [c, row[c]])])
          )
        )
        const json = JSON.stringify(values)
        const updated = yield* sql.onDialectOrElse({
          pg: () => {
            const declared = ["id text", "expected integer", "version integer", "updated_at timestamptz", ...columns.map((c) => `${c} ${pgTypes[c]![0]}`)].join(", ")
            const set = ["version = v.version", "updated_at = v.updated_at", ...columns.map((c) => `${c} = v.${c}${pgTypes[c]![1]}`)].join(", ")
            return sql`UPDATE rapport_contacts AS c SET ${sql.literal(set)} FROM jsonb_to_recordset(${json}::jsonb) AS v(${sql.literal(declared)})
                       WHERE c.workspace_id = ${workspaceId} AND c.id = v.id AND c.version = v.expected RETURNING c.id`
          },
          // The new values as a materialised table: SQLite then looks each contact up by its key,
          // instead of scanning the workspace's contacts for each value (seconds for a batch).
          orElse: () => {
            const fields = ["id", "expected", "version", "updated_at", ...columns].map((c) => `json_extract(value, '$.${c}') AS ${c}`).join(", ")
            const set = ["version", "updated_at", ...columns].map((c) => `${c} = v.${c}`).join(", ")
            return sql`WITH v AS MATERIALIZED (SELECT ${sql.literal(fields)} FROM json_each(${json}))
                       UPDATE rapport_contacts SET ${sql.literal(set)} FROM v
                       WHERE rapport_contacts.workspace_id = ${workspaceId} AND rapport_contacts.id = v.id AND rapport_contacts.version = v.expected
                       RETURNING rapport_contacts.id`
          }
        })
        if (updated.length === updates.length) return
        const written = new Set((updated as ReadonlyArray<{ readonly id: string }>).map((r) => r.id))
        const stale = updates.find(({ contact }) => !written.has(contact.id))!
        return yield* versionedUpdate(
          "contact",
          stale.contact.id,
          stale.expectedVersion,
          Effect.succeed([]),
          sql`SELECT version FROM rapport_contacts WHERE workspace_id = ${workspaceId} AND id = ${stale.contact.id}`
        )
      })
    )
  }

  const contacts: Storage.ContactRepository = {
    // In email order: two batches sharing emails then meet them in the same order, so one waits
    // and gets a Conflict instead of both deadlocking.
    insertMany: (contacts) =>
      together(
        Effect.forEach(
          chunks([...contacts].sort((a, b) => compareKeys(a.email?.toLowerCase(), b.email?.toLowerCase()))),
          (chunk) =>
            Effect.zipRight(
              onUnique(
                Effect.flatMap(Effect.forEach(chunk, (c) => encodeContact(c)), (rows) => sql`INSERT INTO rapport_contacts ${sql.insert(rows.map(stripIdentities))}`),
                (error) =>
                  violatesPrimaryKey(error) ? Errors.Conflict.unique("contact", "id") : Errors.Conflict.unique("contact", "email")
              ),
              insertIdentities(chunk)
            ),
          { discard: true }
        )
      ),
    get: (workspaceId, id) => orStorage(findContact({ workspaceId, id })),
    getMany: (workspaceId, ids) =>
      Effect.map(
        Effect.forEach(chunks([...new Set(ids)]), (chunk) =>
          orStorage(Effect.flatMap(sql`${selectContacts} WHERE c.workspace_id = ${workspaceId} AND ${sql.in("id", chunk)}`, decodeContacts))
        ),
        (pages) => pages.flat()
      ),
    findByEmail: (workspaceId, email) => orStorage(findContactByEmail({ workspaceId, key: email.toLowerCase() })),
    // A contact holding several of the keys comes once (a chunk's IN selects it once; chunks
    // could each select it).
    findByEmails: (workspaceId, keys) =>
      Effect.map(
        Effect.forEach(chunks([...new Set(keys.map((k) => k.toLowerCase()))]), (chunk) =>
          orStorage(Effect.flatMap(heldBy(workspaceId, "email", chunk), decodeContacts))
        ),
        (pages) => [...new Map(pages.flat().map((c) => [c.id, c])).values()]
      ),
    findByPhones: (workspaceId, phones) =>
      Effect.map(
        Effect.forEach(chunks([...new Set(phones)]), (chunk) =>
          // Sorted here, not by ORDER BY id: with it SQLite walks the primary key of every
          // contact of the workspace instead of the phone index (43 ms a lookup at 200,000 contacts).
          orStorage(Effect.flatMap(heldBy(workspaceId, "phone", chunk), decodeContacts))
        ),
        (pages) => [...new Map(pages.flat().map((c) => [c.id, c])).values()].sort((a, b) => compareKeys(a.id, b.id))
      ),
    // The contact's emails and phones are written again (removed, then inserted) with the row,
    // unless the caller kept them: then the row's one statement needs no savepoint around it
    // (a stage move sends one statement instead of four).
    updateMany: (updates, options) => updateMany(updates, options),
    update: (contact, expectedVersion, options) => {
      const only = options?.only
      const updateRow = onUnique(
        Effect.flatMap(encodeContact(contact), (row) => {
          const columns =
            only === undefined
              ? stripIdentities(row)
              : Object.fromEntries(["version", "updated_at", ...only.map((key) => changeableColumns[key])].map((column) => [column, row[column as keyof typeof row]]))
          return sql`UPDATE rapport_contacts SET ${sql.update(columns, ["workspace_id", "id"])}
              WHERE workspace_id = ${contact.workspaceId} AND id = ${contact.id} AND version = ${expectedVersion} RETURNING id`
        }),
        contactConflict(contact)
      )
      return Effect.flatMap(
        options?.keepIdentities === true || only !== undefined
          ? updateRow
          : together(
              Effect.flatMap(updateRow, (updated) =>
                updated.length === 0
                  ? Effect.succeed(updated)
                  : Effect.as(Effect.zipRight(removeIdentities(contact.workspaceId, contact.id), insertIdentities([contact])), updated)
              )
            ),
        (updated) =>
          updated.length > 0
            ? Effect.void
            : orStorage(
                versionedUpdate(
                  "contact",
                  contact.id,
                  expectedVersion,
                  Effect.succeed([]),
                  sql`SELECT version FROM rapport_contacts WHERE workspace_id = ${contact.workspaceId} AND id = ${contact.id}`
                )
              )
      )
    },
    remove: (workspaceId, id) =>
      together(
        Effect.zipRight(
          removeIdentities(workspaceId, id),
          orStorage(
            Effect.map(sql`DELETE FROM rapport_contacts WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING id`, (rows) => rows.length > 0)
          )
        )
      ),
    list: (workspaceId, query) => orStorage(listContacts({ workspaceId, ...query })),
    reassign: (workspaceId, fromId, toId, at) => orStorage(reassign(workspaceId, fromId, toId, at)),
    countByStage: (workspaceId) =>
      orStorage(
        Effect.flatMap(
          sql`SELECT stage, COUNT(*) AS n FROM rapport_contacts WHERE workspace_id = ${workspaceId} GROUP BY stage`,
          (rows) => Effect.map(decodeStageCounts(rows), (counts) => counts.map((c) => ({ stage: c.stage, count: c.n })))
        )
      ),
    countByCompany: (workspaceId, companyId) =>
      orStorage(count(sql`SELECT COUNT(*) AS n FROM rapport_contacts WHERE workspace_id = ${workspaceId} AND company_id = ${companyId}`))
  }

  const count = (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
    Effect.flatMap(statement, (rows) => Effect.map(Schema.decodeUnknown(CountRow)(rows[0]), (r) => r.n))

  // How many rows a write changed, without returning them: PostgreSQL counts the rows of a
  // data-modifying CTE; SQLite's changes() reads the last statement of this connection (a
  // transaction keeps one connection).
  const changed = (write: Statement.Statement<unknown>) =>
    sql.onDialectOrElse({
      pg: () => count(sql`WITH changed AS (${write} RETURNING 1) SELECT COUNT(*) AS n FROM changed`),
      orElse: () => Effect.zipRight(write, count(sql`SELECT changes() AS n`))
    })

  // A merge: one UPDATE per table moves the rows of one contact to another. Consent records are
  // keyed by contact and purpose: for a purpose both have, the older decision is deleted first.
  const reassign = (workspaceId: string, fromId: string, toId: string, at: DateTime.Utc) =>
    Effect.gen(function* () {
      const move = (table: string, set: Statement.Fragment = sql``) =>
        changed(sql`UPDATE ${sql(table)} SET contact_id = ${toId}${set} WHERE workspace_id = ${workspaceId} AND contact_id = ${fromId}`)
      const versioned = sql`, version = version + 1, updated_at = ${iso(at)}`
      const timeline = yield* move("rapport_timeline")
      const events = yield* move("rapport_events")
      const orders = yield* move("rapport_orders")
      const deals = yield* move("rapport_deals", versioned)
      const tasks = yield* move("rapport_tasks", versioned)
      const jobs = yield* move("rapport_jobs")
      const firings = yield* move("rapport_rule_firings")
      // Purposes both have: the kept contact's record goes when the other's is later, the other's
      // when it is not; what is left of the other's then moves without a key collision.
      yield* sql`DELETE FROM rapport_consents WHERE workspace_id = ${workspaceId} AND contact_id = ${toId} AND EXISTS (
                   SELECT 1 FROM rapport_consents AS later WHERE later.workspace_id = ${workspaceId} AND later.contact_id = ${fromId}
                     AND later.purpose = rapport_consents.purpose AND later.at > rapport_consents.at)`
      yield* sql`DELETE FROM rapport_consents WHERE workspace_id = ${workspaceId} AND contact_id = ${fromId} AND EXISTS (
                   SELECT 1 FROM rapport_consents AS kept WHERE kept.workspace_id = ${workspaceId} AND kept.contact_id = ${toId}
                     AND kept.purpose = rapport_consents.purpose)`
      const consents = yield* move("rapport_consents")
      return { timeline, events, orders, deals, tasks, jobs, firings, consents }
    })

  // --- companies

  const findCompany = SqlSchema.findOne({
    Request: Schema.Struct({ workspaceId: Schema.String, id: Schema.String }),
    Result: CompanyRow,
    execute: ({ workspaceId, id }) => sql`SELECT * FROM rapport_companies WHERE workspace_id = ${workspaceId} AND id = ${id}`
  })

  const listCompanies = SqlSchema.findAll({
    Request: Schema.Struct({ workspaceId: Schema.String, after: Schema.optional(Schema.String), limit: Schema.Number }),
    Result: CompanyRow,
    execute: (q) =>
      sql`SELECT * FROM rapport_companies WHERE ${sql.and([
        sql`workspace_id = ${q.workspaceId}`,
        ...(q.after === undefined ? [] : [sql`id > ${q.after}`])
      ])} ORDER BY id LIMIT ${q.limit}`
  })

  const companies: Storage.CompanyRepository = {
    insert: (company) =>
      onUnique(
        Effect.flatMap(encodeCompany(company), (row) => sql`INSERT INTO rapport_companies ${sql.insert(row)}`),
        () => Errors.Conflict.unique("company", "id", company.id)
      ),
    get: (workspaceId, id) => orStorage(findCompany({ workspaceId, id })),
    // Row locks, not advisory ones: a batch may touch thousands of companies, and row locks do
    // not fill PostgreSQL's shared lock table. KEY SHARE lets joiners run together and blocks a
    // removal (FOR UPDATE) until they commit.
    lockExisting: (workspaceId, ids, mode) =>
      Effect.map(
        Effect.forEach(chunks(ids), (chunk) =>
          orStorage(
            Effect.flatMap(
              sql`SELECT id FROM rapport_companies WHERE workspace_id = ${workspaceId} AND ${sql.in("id", chunk)} ${sql.onDialectOrElse({
                pg: () => (mode === "share" ? sql.literal("FOR KEY SHARE") : sql.literal("FOR UPDATE")),
                orElse: () => sql.literal("")
              })}`,
              decodeIdRows
            )
          )
        ),
        (pages) => {
          const found = new Set(pages.flat().map((r) => r.id))
          return ids.filter((id) => found.has(id))
        }
      ),
    update: (company, expectedVersion) =>
      orStorage(
        Effect.flatMap(encodeCompany(company), (row) =>
          versionedUpdate(
            "company",
            company.id,
            expectedVersion,
            sql`UPDATE rapport_companies SET ${sql.update(row, ["workspace_id", "id"])}
                WHERE workspace_id = ${company.workspaceId} AND id = ${company.id} AND version = ${expectedVersion} RETURNING id`,
            sql`SELECT version FROM rapport_companies WHERE workspace_id = ${company.workspaceId} AND id = ${company.id}`
          )
        )
      ),
    remove: (workspaceId, id) =>
      orStorage(
        Effect.map(sql`DELETE FROM rapport_companies WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING id`, (rows) => rows.length > 0)
      ),
    list: (workspaceId, query) => orStorage(listCompanies({ workspaceId, ...query }))
  }

  // --- custom field values across records

  const fieldTables = {
    contact: { table: "rapport_contacts", stage: "stage" },
    company: { table: "rapport_companies", stage: "NULL" },
    deal: { table: "rapport_deals", stage: "NULL" }
  } as const

  const customFields: Storage.CustomFieldRepository = {
    scan: (workspaceId, entity, after, limit) => {
      const target = fieldTables[entity]
      return orStorage(
        Effect.flatMap(
          sql`SELECT id, ${sql.literal(target.stage)} AS stage, fields FROM ${sql(target.table)} WHERE ${sql.and([
            sql`workspace_id = ${workspaceId}`,
            ...(after === undefined ? [] : [sql`id > ${after}`])
          ])} ORDER BY id LIMIT ${limit}`,
          decodeFieldRecords
        ).pipe(Effect.map((rows) => rows.map((r) => ({ id: r.id, stage: r.stage, fields: r.fields as FieldDefinition.FieldValues }))))
      )
    },
    purge: (workspaceId, entity, key, at) => {
      const target = fieldTables[entity]
      // `key` is a validated field key (letters, digits, _), passed as a bound parameter.
      const removeKey = sql.onDialectOrElse({
        pg: () => sql`fields = fields - ${key}::text, version = version + 1, updated_at = ${iso(at)}
                      WHERE workspace_id = ${workspaceId} AND jsonb_exists(fields, ${key})`,
        orElse: () => sql`fields = json_remove(fields, ${`$.${key}`}), version = version + 1, updated_at = ${iso(at)}
                          WHERE workspace_id = ${workspaceId} AND json_type(fields, ${`$.${key}`}) IS NOT NULL`
      })
      return orStorage(Effect.map(sql`UPDATE ${sql(target.table)} SET ${removeKey} RETURNING id`, (rows) => rows.length))
    }
  }

  // --- unique values

  const findHolder = SqlSchema.findOne({
    Request: Schema.Struct({ workspaceId: Schema.String, entity: Schema.String, fieldKey: Schema.String, valueKey: Schema.String }),
    Result: RecordIdRow,
    execute: (q) =>
      sql`SELECT record_id FROM rapport_unique_values
          WHERE workspace_id = ${q.workspaceId} AND entity = ${q.entity} AND field_key = ${q.fieldKey} AND value_key = ${q.valueKey}`
  })

  const uniqueValues: Storage.UniqueValueRepository = {
    set: (workspaceId, entity, recordId, fieldKey, valueKey) =>
      Effect.gen(function* () {
        if (valueKey !== null) {
          const holder = yield* orStorage(findHolder({ workspaceId, entity, fieldKey, valueKey }))
          if (Option.isSome(holder) && holder.value.record_id !== recordId) {
            return yield* Errors.Conflict.unique(entity, `fields.${fieldKey}`, holder.value.record_id)
          }
          if (Option.isSome(holder)) return
        }
        yield* orStorage(
          sql`DELETE FROM rapport_unique_values
              WHERE workspace_id = ${workspaceId} AND entity = ${entity} AND record_id = ${recordId} AND field_key = ${fieldKey}`
        )
        if (valueKey !== null) {
          yield* onUnique(
            sql`INSERT INTO rapport_unique_values ${sql.insert({ workspace_id: workspaceId, entity, field_key: fieldKey, value_key: valueKey, record_id: recordId })}`,
            () => Errors.Conflict.unique(entity, `fields.${fieldKey}`)
          )
        }
      }),
    claimMany: (workspaceId, entity, claims) =>
      Effect.forEach(
        chunks([...claims].sort((a, b) => compareKeys(a.fieldKey, b.fieldKey) || compareKeys(a.valueKey, b.valueKey))),
        (chunk) =>
          Effect.gen(function* () {
            const held = yield* orStorage(
              Effect.flatMap(
                sql`SELECT field_key, record_id FROM rapport_unique_values
                    WHERE workspace_id = ${workspaceId} AND entity = ${entity} AND ${sql.or(
                      chunk.map((c) => sql`(field_key = ${c.fieldKey} AND value_key = ${c.valueKey})`)
                    )}`,
                decodeClaims
              )
            )
            if (held.length > 0) return yield* Errors.Conflict.unique(entity, `fields.${held[0]!.field_key}`, held[0]!.record_id)
            yield* onUnique(
              sql`INSERT INTO rapport_unique_values ${sql.insert(
                chunk.map((c) => ({ workspace_id: workspaceId, entity, field_key: c.fieldKey, value_key: c.valueKey, record_id: c.recordId }))
              )}`,
              () => Errors.Conflict.unique(entity, "fields")
            )
          }),
        { discard: true }
      ),
    find: (workspaceId, entity, fieldKey, valueKey) =>
      orStorage(Effect.map(findHolder({ workspaceId, entity, fieldKey, valueKey }), Option.map((r) => r.record_id))),
    releaseRecord: (workspaceId, entity, recordId) =>
      orStorage(
        Effect.asVoid(sql`DELETE FROM rapport_unique_values WHERE workspace_id = ${workspaceId} AND entity = ${entity} AND record_id = ${recordId}`)
      ),
    releaseField: (workspaceId, entity, fieldKey) =>
      orStorage(
        Effect.asVoid(sql`DELETE FROM rapport_unique_values WHERE workspace_id = ${workspaceId} AND entity = ${entity} AND field_key = ${fieldKey}`)
      )
  }

  // --- timeline

  const timeline: Storage.TimelineRepository = {
    append: (entry) => orStorage(Effect.flatMap(encodeEntry(entry), (row) => Effect.asVoid(sql`INSERT INTO rapport_timeline ${sql.insert(row)}`))),
    appendMany: (entries) =>
      Effect.forEach(
        insertChunk(entries),
        (chunk) => orStorage(Effect.flatMap(Effect.forEach(chunk, (e) => encodeEntry(e)), (rows) => sql`INSERT INTO rapport_timeline ${sql.insert(rows)}`)),
        { discard: true }
      ),
    get: (workspaceId, id) =>
      orStorage(
        Effect.flatMap(
          sql`SELECT * FROM rapport_timeline WHERE workspace_id = ${workspaceId} AND id = ${id}`,
          (rows) => (rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeTimelineRow(rows[0])))
        )
      ),
    list: (workspaceId, q) => {
      if (q.kinds !== undefined && q.kinds.length === 0) return Effect.succeed([])
      return orStorage(
        Effect.flatMap(
          sql`SELECT * FROM rapport_timeline WHERE ${sql.and([
            sql`workspace_id = ${workspaceId}`,
            ...(q.contactId === undefined ? [] : [sql`contact_id = ${q.contactId}`]),
            ...(q.kinds === undefined ? [] : [sql.in("kind", q.kinds)]),
            ...(q.from === undefined ? [] : [sql`occurred_at >= ${instant(q.from)}`]),
            ...(q.to === undefined ? [] : [sql`occurred_at < ${instant(q.to)}`]),
            ...(q.before === undefined ? [] : [sql`(occurred_at, id) < (${instant(q.before.occurredAt)}, ${q.before.id})`])
          ])} ORDER BY occurred_at DESC, id DESC LIMIT ${q.limit}`,
          decodeTimelineRows
        )
      )
    },
    removeForContact: (workspaceId, contactId) =>
      orStorage(Effect.asVoid(sql`DELETE FROM rapport_timeline WHERE workspace_id = ${workspaceId} AND contact_id = ${contactId}`))
  }

  // --- events

  const findEvent = SqlSchema.findOne({
    Request: Schema.Struct({ workspaceId: Schema.String, id: Schema.String }),
    Result: EventRow,
    execute: ({ workspaceId, id }) => sql`SELECT * FROM rapport_events WHERE workspace_id = ${workspaceId} AND id = ${id}`
  })

  const window = (column: string, q: Storage.HistoryWindow) => [
    ...(q.until === undefined ? [] : [sql`${sql(column)} <= ${instant(q.until)}`]),
    ...(q.since === undefined ? [] : [sql`${sql(column)} > ${instant(q.since)}`])
  ]
  const times = (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
    orStorage(Effect.flatMap(statement, decodeAtRows).pipe(Effect.map((rows) => rows.map((r) => r.at))))

  const eventsOf = (workspaceId: string, q: Storage.HistoryWindow & { readonly types: ReadonlyArray<string> }) =>
    sql.and([sql`workspace_id = ${workspaceId}`, sql`contact_id = ${q.contactId}`, sql.in("type", q.types), ...window("occurred_at", q)])

  const events: Storage.EventRepository = {
    insert: (event) =>
      orStorage(
        Effect.flatMap(encodeEvent(event), (row) =>
          Effect.map(sql`INSERT INTO rapport_events ${sql.insert(row)} ON CONFLICT DO NOTHING RETURNING id`, (rows) => rows.length > 0)
        )
      ),
    insertMany: (events) =>
      Effect.map(
        Effect.forEach(insertChunk(events), (chunk) =>
          orStorage(
            Effect.gen(function* () {
              const rows = yield* Effect.forEach(chunk, (e) => encodeEvent(e))
              const inserted = yield* Effect.flatMap(
                sql`INSERT INTO rapport_events ${sql.insert(rows)} ON CONFLICT DO NOTHING RETURNING id`,
                decodeIdRows
              )
              const fresh = new Set(inserted.map((r) => r.id))
              return chunk.filter((e) => !fresh.has(e.id)).map((e) => e.id)
            })
          )
        ),
        (pages) => pages.flat()
      ),
    get: (workspaceId, id) => orStorage(findEvent({ workspaceId, id })),
    getMany: (workspaceId, ids) =>
      Effect.map(
        Effect.forEach(chunks([...new Set(ids)]), (chunk) =>
          orStorage(Effect.flatMap(sql`SELECT * FROM rapport_events WHERE workspace_id = ${workspaceId} AND ${sql.in("id", chunk)}`, decodeEventRows))
        ),
        (pages) => pages.flat()
      ),
    count: (workspaceId, q) =>
      q.types.length === 0 ? Effect.succeed(0) : orStorage(count(sql`SELECT COUNT(*) AS n FROM rapport_events WHERE ${eventsOf(workspaceId, q)}`)),
    times: (workspaceId, q) =>
      q.types.length === 0
        ? Effect.succeed([])
        : times(sql`SELECT occurred_at AS at FROM rapport_events WHERE ${eventsOf(workspaceId, q)} ORDER BY occurred_at`),
    list: (workspaceId, q) =>
      q.types.length === 0
        ? Effect.succeed([])
        : orStorage(
            Effect.flatMap(
              sql`SELECT * FROM rapport_events WHERE ${sql.and([
                eventsOf(workspaceId, q),
                ...(q.before === undefined ? [] : [sql`(occurred_at, id) < (${instant(q.before.occurredAt)}, ${q.before.id})`])
              ])} ORDER BY occurred_at DESC, id DESC LIMIT ${q.limit}`,
              decodeEventRows
            )
          ),
    forContact: (workspaceId, contactId, page) =>
      orStorage(
        Effect.flatMap(
          sql`SELECT * FROM rapport_events WHERE ${sql.and([
            sql`workspace_id = ${workspaceId}`,
            sql`contact_id = ${contactId}`,
            ...(page.after === undefined ? [] : [sql`id > ${page.after}`])
          ])} ORDER BY id LIMIT ${page.limit}`,
          decodeEventRows
        )
      ),
    eraseForContact: (workspaceId, contactId) =>
      orStorage(
        Effect.map(
          sql`UPDATE rapport_events SET payload = ${"{}"} WHERE workspace_id = ${workspaceId} AND contact_id = ${contactId} RETURNING id`,
          (rows) => rows.length
        )
      )
  }

  // --- orders

  // Cancelled orders do not count in a contact's history (lifecycle progression, rules' counts).
  const ordersOf = (workspaceId: string, q: Storage.HistoryWindow) =>
    sql.and([sql`workspace_id = ${workspaceId}`, sql`contact_id = ${q.contactId}`, sql`status = ${"placed"}`, ...window("placed_at", q)])
  const orderReads = makeOrderReads(sql, instant)

  const orders: Storage.OrderRepository = {
    insert: (order) =>
      orStorage(
        Effect.gen(function* () {
          const { header, lines } = yield* encodeOrder(order)
          const inserted = yield* sql`INSERT INTO rapport_orders ${sql.insert(header)} ON CONFLICT DO NOTHING RETURNING id`
          if (inserted.length === 0) return false
          if (lines.length > 0) yield* sql`INSERT INTO rapport_order_lines ${sql.insert(lines)}`
          return true
        })
      ),
    // Headers first (those already stored are left alone), then the lines of the new ones.
    insertMany: (orders) =>
      orStorage(
        Effect.gen(function* () {
          const encoded = orders.map(writeOrder)
          const fresh = new Set<string>()
          for (const chunk of insertChunk(encoded)) {
            const inserted = yield* Effect.flatMap(
              sql`INSERT INTO rapport_orders ${sql.insert(chunk.map((o) => o.header))} ON CONFLICT DO NOTHING RETURNING id`,
              decodeIdRows
            )
            for (const row of inserted) fresh.add(row.id)
          }
          const lines = encoded.flatMap((o) => (fresh.has(o.header.id) ? o.lines : []))
          for (const chunk of insertChunk(lines)) yield* sql`INSERT INTO rapport_order_lines ${sql.insert(chunk)}`
          return orders.filter((o) => !fresh.has(o.id)).map((o) => o.id)
        })
      ),
    count: (workspaceId, q) => orStorage(count(sql`SELECT COUNT(*) AS n FROM rapport_orders WHERE ${ordersOf(workspaceId, q)}`)),
    times: (workspaceId, q) => times(sql`SELECT placed_at AS at FROM rapport_orders WHERE ${ordersOf(workspaceId, q)} ORDER BY placed_at`),
    forContact: (workspaceId, contactId, page) =>
      orStorage(
        Effect.gen(function* () {
          const headers: ReadonlyArray<{ readonly id: string }> = yield* Effect.flatMap(
            sql`SELECT * FROM rapport_orders WHERE ${sql.and([
              sql`workspace_id = ${workspaceId}`,
              sql`contact_id = ${contactId}`,
              ...(page.after === undefined ? [] : [sql`id > ${page.after}`])
            ])} ORDER BY id LIMIT ${page.limit}`,
            decodeOrderHeaders
          )
          return yield* orderReads.withLines(workspaceId, headers)
        })
      ),
    get: orderReads.get,
    list: orderReads.list,
    cancel: orderReads.cancel,
    refund: orderReads.refund,
    figures: orderReads.figures
  }

  // On SQLite the transaction takes the write lock first, so concurrent writers wait for each
  // other instead of failing (see Migrations.sqliteWriteLock).
  const writeLock = sql.onDialectOrElse({ sqlite: () => Effect.asVoid(Migrations.sqliteWriteLock(sql)), orElse: () => Effect.void })

  // Begin failures are the transaction's own; the effect's errors pass through unchanged. A failed
  // COMMIT or ROLLBACK (the connection died) reaches us as a defect from @effect/sql: it is a
  // StorageError like any other lost connection, and the database keeps all or nothing. After the
  // work succeeded, a lost COMMIT leaves the outcome unknown: the error says so.
  //
  // A connection the server closed while it sat idle in the pool (a restart, pg_terminate_backend)
  // fails the transaction before its work completed, so nothing was committed; the pool drops it.
  // The transaction then runs again (see retryLostConnection): that is what makes the next call after
  // a cut succeed instead of failing with it. Transaction bodies only touch the database, so running
  // one again has no other effect.
  const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Errors.StorageError, R> => {
    const attempt = Effect.suspend(() => {
      let workDone = false
      return sql.withTransaction(Effect.zipRight(writeLock, Effect.tap(effect, () => Effect.sync(() => (workDone = true))))).pipe(
        Effect.catchAllDefect((defect): Effect.Effect<never, Errors.StorageError | SqlError> =>
          !isSqlError(defect)
            ? Effect.die(defect)
            : workDone
              ? Effect.fail(
                  new Errors.StorageError({
                    reason: "unavailable",
                    message: `The connection was lost while committing: the write may or may not have been applied (${storageError(defect).message}). Retrying is safe where ids make writes idempotent (events); read before retrying other writes.`,
                    cause: defect
                  })
                )
              : Effect.fail(defect)
        )
      )
    })
    return retryLostConnection(attempt).pipe(Effect.mapError((error) => (isSqlError(error) ? storageError(error) : error)))
  }

  // What runs once the outermost transaction commits. Each transaction of this store has its own
  // list (a FiberRef set by the outermost one); a savepoint that rolls back drops what it added,
  // and a transaction run again after a lost connection starts from an empty list.
  const pending = FiberRef.unsafeMake<Array<Effect.Effect<void>> | undefined>(undefined)

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Errors.StorageError, R> =>
    Effect.flatMap(FiberRef.get(pending), (outer) => {
      if (outer !== undefined) {
        return Effect.suspend(() => {
          const mark = outer.length
          return Effect.onError(run(effect), () => Effect.sync(() => void outer.splice(mark)))
        })
      }
      const hooks: Array<Effect.Effect<void>> = []
      const body = Effect.zipRight(
        Effect.sync(() => void hooks.splice(0)),
        effect
      )
      return run(body).pipe(
        Effect.locally(pending, hooks),
        Effect.tap(() => Effect.forEach(hooks.splice(0), (hook) => Effect.catchAllCause(hook, (cause) => Effect.logWarning("Rapport: an after-commit step failed", cause)), { discard: true }))
      )
    })

  const afterCommit = (effect: Effect.Effect<void>) =>
    Effect.flatMap(FiberRef.get(pending), (hooks) => (hooks === undefined ? Effect.catchAllCause(effect, (cause) => Effect.logWarning("Rapport: an after-commit step failed", cause)) : Effect.sync(() => void hooks.push(effect))))

  // SQLite transactions already run one at a time (they take the write lock first). PostgreSQL
  // takes a transaction-scoped advisory lock (no row written) on a 64-bit hash of workspace and
  // key. 64 bits matter: with 32-bit keys an email could be chosen to collide with the workspace
  // lock and deadlock every writer of the workspace.
  const lock = (workspaceId: string, key: string, mode: "shared" | "exclusive") =>
    sql.onDialectOrElse({
      pg: () =>
        orStorage(
          mode === "shared"
            ? sql`SELECT pg_advisory_xact_lock_shared(hashtextextended(${workspaceId}::text || chr(31) || ${key}::text, 0))`
            : sql`SELECT pg_advisory_xact_lock(hashtextextended(${workspaceId}::text || chr(31) || ${key}::text, 0))`
        ).pipe(Effect.asVoid),
      orElse: () => Effect.void
    })

  // Keys in order, one statement: the advisory locks are taken in the order of the list.
  const lockMany = (workspaceId: string, keys: ReadonlyArray<string>, mode: "shared" | "exclusive") => {
    const sorted = [...new Set(keys)].sort()
    if (sorted.length === 0) return Effect.void
    if (sorted.length === 1) return lock(workspaceId, sorted[0]!, mode)
    return sql.onDialectOrElse({
      pg: () =>
        orStorage(
          mode === "shared"
            ? sql`SELECT pg_advisory_xact_lock_shared(hashtextextended(${workspaceId}::text || chr(31) || k.key, 0))
                  FROM jsonb_array_elements_text(${JSON.stringify(sorted)}::jsonb) WITH ORDINALITY AS k(key, n)`
            : sql`SELECT pg_advisory_xact_lock(hashtextextended(${workspaceId}::text || chr(31) || k.key, 0))
                  FROM jsonb_array_elements_text(${JSON.stringify(sorted)}::jsonb) WITH ORDINALITY AS k(key, n)`
        ).pipe(Effect.asVoid),
      orElse: () => Effect.void
    })
  }

  return Storage.Storage.of({
    transaction,
    afterCommit,
    lock,
    lockMany,
    ...makeHistory(sql),
    workspaces,
    fieldDefinitions,
    contacts,
    companies,
    customFields,
    uniqueValues,
    timeline,
    events,
    orders,
    ...makeSales(sql, instant),
    ...makeOutbox(sql, instant),
    addressHealth: makeAddressHealth(sql),
    templateLocales: makeTemplateLocales(sql),
    ...makeIdempotency(sql, instant),
    ...makeAccess(sql, instant),
    webhookSubscriptions: makeWebhookSubscriptions(sql, instant),
    imports: makeImports(sql, instant),
    campaigns: makeCampaigns(sql, instant),
    segments: makeSegments(sql, selectContacts, decodeContacts),
    analytics: makeAnalytics(sql, instant),
    snapshots: makeSnapshots(sql, instant, transaction)
  })
})

/**
 * What a storage layer fails with when it cannot start: a StorageError as is; a driver error
 * classified like any other (`unavailable` when the database cannot be reached); anything else
 * `failed`, with `what` and the cause. An interruption stays an interruption.
 *
 * @since 0.1.0
 * @category utils
 */
export const startFailure =
  (what: string) =>
  (cause: Cause.Cause<unknown>): Layer.Layer<unknown, Errors.StorageError> => {
    const toStorageError = (failure: unknown): Errors.StorageError => {
      if (failure instanceof Errors.StorageError) return failure
      if (isSqlError(failure)) return storageError(failure)
      const withCode = new SqlError({ cause: failure })
      const detail = failure instanceof Error ? failure.message : String(failure)
      return isUnavailable(withCode)
        ? new Errors.StorageError({ reason: "unavailable", message: `${what}: ${detail}`, cause: failure })
        : new Errors.StorageError({ reason: "failed", message: `${what}: ${detail}`, cause: failure })
    }
    return Cause.isInterruptedOnly(cause) ? Layer.failCause(Cause.map(cause, toStorageError)) : Layer.fail(toStorageError(Cause.squash(cause)))
  }

/**
 * Storage over the `SqlClient` in context, after applying Rapport's migrations.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Storage.Storage, Errors.StorageError, SqlClient.SqlClient> = Layer.effect(
  Storage.Storage,
  Effect.zipRight(Migrations.run, make)
)
