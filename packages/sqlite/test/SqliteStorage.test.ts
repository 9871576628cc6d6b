import { createCrm, RapportStorageError, Storage } from "@rapport/core"
import { SqliteStorage, sqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Migrations } from "@rapport/sql"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const tempFile = (name = "crm.db") => join(mkdtempSync(join(tmpdir(), "rapport-sqlite-")), name)

/** The tables (with their columns) and indexes a database holds with the migrations up to `last`, and none after. */
const schemaUpTo = (last: number) =>
  Effect.gen(function* () {
    const applied = Object.fromEntries(Object.entries(Migrations.migrations).filter(([name]) => Number(name.slice(0, 4)) <= last))
    yield* Migrator.make({})({ loader: Migrator.fromRecord(applied), table: Migrations.table })
    return yield* schemaOf
  }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.runPromise)

const schemaOf = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const tables = new Map<string, ReadonlyArray<string>>()
  for (const { name } of yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rapport%'`) {
    tables.set(name, (yield* sql<{ name: string }>`SELECT name FROM pragma_table_info(${name})`).map((c) => c.name))
  }
  // By name, with its definition: a later migration may replace an index under the same name.
  const indexes = new Map((yield* sql<{ name: string; sql: string }>`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'rapport%'`).map((r) => [r.name, r.sql]))
  return { tables, indexes }
})

describe("SqliteStorage", () => {
  it("keeps data across restarts, and a second start on the same file works", async () => {
    const filename = tempFile()
    const first = await createCrm({ storage: sqliteStorage({ filename }) })
    const ada = await first.contacts.create({ email: "ada@example.com", source: { channel: "trade-show" } })
    await first.fields.define({ key: "siret", type: "text" })
    await first.close()

    const second = await createCrm({ storage: sqliteStorage({ filename }) })
    expect((await second.contacts.get(ada.id)).source).toEqual({ channel: "trade-show", campaign: null })
    expect((await second.fields.list()).map((f) => f.key)).toEqual(["siret"])
    await second.close()
  })

  it("migration 0007 gives contacts stored before it their email and phone as their first ones", async () => {
    const filename = tempFile()
    const first = await createCrm({ storage: sqliteStorage({ filename }) })
    const ada = await first.contacts.create({ email: "Ada@Example.com", phone: "+33 6 12 34 56 78" })
    const bob = await first.contacts.create({ firstName: "Bob" })
    await first.close()
    // The database as a release before 0007 left it: none of the tables, indexes and columns 0007
    // and later migrations add (the identities table among them), those migrations not applied.
    const before = await schemaUpTo(6)
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const now = yield* schemaOf
        const later = [...now.tables.keys()].filter((t) => !before.tables.has(t))
        expect(later).toContain("rapport_contact_identities")
        const changed = [...now.indexes].filter(([name, ddl]) => before.indexes.get(name) !== ddl).map(([name]) => name)
        for (const index of changed) yield* sql`DROP INDEX IF EXISTS ${sql(index)}`
        for (const table of later) yield* sql`DROP TABLE ${sql(table)}`
        for (const [table, columns] of before.tables) {
          for (const column of now.tables.get(table)!.filter((c) => !columns.includes(c))) yield* sql`ALTER TABLE ${sql(table)} DROP COLUMN ${sql(column)}`
        }
        // An index a later migration replaced under the same name, as it was.
        for (const index of changed.filter((name) => before.indexes.has(name))) yield* sql.unsafe(before.indexes.get(index)!)
        yield* sql`DELETE FROM rapport_migrations WHERE migration_id >= 7`
      }).pipe(Effect.provide(SqliteStorage.layer({ filename })))
    )
    const second = await createCrm({ storage: sqliteStorage({ filename }) })
    const stored = await second.contacts.get(ada.id)
    expect([stored.emails, stored.phones]).toEqual([[{ value: "Ada@example.com", label: null }], [{ value: "+33 6 12 34 56 78", label: null }]])
    expect((await second.contacts.findByEmail("ADA@example.com"))?.id).toBe(ada.id)
    expect((await second.contacts.get(bob.id)).emails).toEqual([])
    await expect(second.contacts.create({ emails: [{ value: "cy@example.com" }, { value: "ada@example.com" }] })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
      existingId: ada.id
    })
    await second.close()
  })

  it("creates the database's folder when it is missing", async () => {
    const filename = join(tempFile("nested"), "deeper", "crm.db")
    const crm = await createCrm({ storage: sqliteStorage({ filename }) })
    await crm.contacts.create({ firstName: "x" })
    await crm.close()
  })

  it("fails to start with a StorageError naming the file when it cannot be opened", async () => {
    const blocker = tempFile("a-file")
    writeFileSync(blocker, "not a folder")
    const error = await createCrm({ storage: sqliteStorage({ filename: join(blocker, "crm.db") }) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RapportStorageError)
    expect((error as RapportStorageError).code).toBe("STORAGE_UNAVAILABLE")
    expect((error as Error).message).toContain(blocker)
  })

  it("refuses a file that is not a SQLite database with a StorageError", async () => {
    const filename = tempFile()
    writeFileSync(filename, "this is not a database, just text that is long enough to be noticed ".repeat(20))
    const error = await createCrm({ storage: sqliteStorage({ filename }) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RapportStorageError)
  })

  it.effect("opens the database in WAL mode with a busy timeout, and records migrations in rapport_migrations", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`PRAGMA journal_mode`).toEqual([{ journal_mode: "wal" }])
      expect(yield* sql`PRAGMA busy_timeout`).toEqual([{ timeout: 5000 }])
      // FULL (2): a commit acknowledged to a caller survives a power loss.
      expect(yield* sql`PRAGMA synchronous`).toEqual([{ synchronous: 2 }])
      const applied = yield* sql`SELECT migration_id, name FROM rapport_migrations ORDER BY migration_id`
      expect(applied).toEqual([
      { migration_id: 1, name: "initial_schema" },
      { migration_id: 2, name: "pipelines_deals_tasks" },
      { migration_id: 3, name: "rules_outbox_consent" },
      { migration_id: 4, name: "contacts_phone_index" },
      { migration_id: 5, name: "workspace_country" },
      { migration_id: 6, name: "wide_integers" },
      { migration_id: 7, name: "contact_emails_phones" },
      { migration_id: 8, name: "http_idempotency" },
      { migration_id: 9, name: "api_keys_webhook_receipts" },
      { migration_id: 10, name: "webhooks_out" },
      { migration_id: 11, name: "imports" },
      { migration_id: 12, name: "template_locales" },
      { migration_id: 13, name: "setup_keys" },
      { migration_id: 14, name: "consent_proof" },
      { migration_id: 15, name: "pressure" },
      { migration_id: 16, name: "order_status" },
      { migration_id: 17, name: "segments" },
      { migration_id: 18, name: "channel_spend" },
      { migration_id: 19, name: "campaigns" },
      { migration_id: 20, name: "pipeline_aggregates" },
      { migration_id: 21, name: "indexed_segments" },
      { migration_id: 22, name: "analytics_indexes" },
      { migration_id: 23, name: "typed_field_indexes" }
    ])
      expect(yield* sql`SELECT name FROM pragma_index_info('rapport_contacts_phone') ORDER BY seqno`).toEqual([{ name: "workspace_id" }, { name: "phone" }])
      for (const index of ["rapport_contact_identities_email", "rapport_contact_identities_phone"]) {
        expect(yield* sql`SELECT name FROM pragma_index_info(${index}) ORDER BY seqno`).toEqual([{ name: "workspace_id" }, { name: "value_key" }])
      }
    }).pipe(Effect.provide(SqliteStorage.layer({ filename: tempFile() }))))

  it.effect("synchronous: normal trades power-loss durability for speed when asked", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`PRAGMA synchronous`).toEqual([{ synchronous: 1 }])
    }).pipe(Effect.provide(SqliteStorage.layer({ filename: tempFile(), synchronous: "normal" }))))

  it.effect("layerConfig reads its settings from configuration", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const ws = yield* storage.workspaces.get("default" as never)
      expect(ws._tag).toBe("None")
    }).pipe(
      Effect.provide(
        SqliteStorage.layerConfig({ filename: Config.string("RAPPORT_SQLITE_FILE") }).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RAPPORT_SQLITE_FILE", tempFile()]]))))
        )
      )
    ))

  it.effect("layerConfig without its setting fails with a StorageError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(SqliteStorage.layerConfig({ filename: Config.string("RAPPORT_MISSING_FILE_SETTING") })))
      expect(error).toMatchObject({ _tag: "StorageError", reason: "failed" })
    }).pipe(Effect.scoped))
})
