import { Contacts, createCrm, Crm, RapportStorageError, Storage, Workspaces } from "@rapport/core"
import { Migrations } from "@rapport/sql"
import { PostgresStorage, postgresStorage } from "@rapport/postgres"
import { Fixtures } from "@rapport/testing"
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import pg from "pg"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { adminQuery, available, emptyDatabase, pgUrl, skipReason } from "./database.js"

const suite = available ? describe : describe.skip

suite(`PostgresStorage${available ? "" : ` (${skipReason})`}`, () => {
  it("migrates into JSONB, timestamptz, a GIN index on custom fields and an index on phones, recorded in rapport_migrations", async () => {
    const program = Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const columns = yield* sql`SELECT column_name, data_type FROM information_schema.columns
                                 WHERE table_name = 'rapport_contacts' AND column_name IN ('fields', 'first_seen_at') ORDER BY column_name`
      const indexes = yield* sql`SELECT indexdef FROM pg_indexes WHERE indexname = 'rapport_contacts_fields'`
      const applied = yield* sql`SELECT migration_id, name FROM rapport_migrations ORDER BY migration_id`
      const phoneIndex = yield* sql`SELECT indexdef FROM pg_indexes WHERE indexname = 'rapport_contacts_phone'`
      return { columns, indexes, applied, phoneIndex }
    })
    const { columns, indexes, applied, phoneIndex } = await Effect.runPromise(program.pipe(Effect.provide(PostgresStorage.layer({ url: pgUrl }))))
    expect(columns).toEqual([
      { column_name: "fields", data_type: "jsonb" },
      { column_name: "first_seen_at", data_type: "timestamp with time zone" }
    ])
    expect(String((indexes[0] as { indexdef: string }).indexdef)).toContain("USING gin (fields jsonb_path_ops)")
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
    expect(String((phoneIndex[0] as { indexdef: string }).indexdef)).toContain("(workspace_id, phone)")
  })

  it("a batch of writes cut by terminated backends is stored whole or not at all, run again on a new connection", async () => {
    const applicationName = `rapport-test-${randomUUID().slice(0, 8)}`
    const workspace = Fixtures.freshWorkspaceId()
    const layer = Crm.layer.pipe(Layer.provideMerge(PostgresStorage.layer({ url: pgUrl, applicationName })))
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const storage = yield* Storage.Storage
        const batch = yield* Effect.forEach(Array.from({ length: 3000 }, (_, i) => i), (i) => Fixtures.contact(workspace, { firstName: `n${i}` }))
        let attempts = 0
        const write = storage.transaction(
          Effect.zipRight(
            Effect.sync(() => attempts++),
            // 300 writes of 10 contacts: many statements for the cut to land among, few enough to
            // finish within the timeout on a busy machine.
            Effect.forEach(Array.from({ length: 300 }, (_, i) => batch.slice(i * 10, i * 10 + 10)), (ten) => storage.contacts.insertMany(ten), { discard: true })
          )
        )
        // Kill every connection of this adapter while the batch is being written.
        const kill = Effect.promise(async () => {
          await new Promise((resolve) => setTimeout(resolve, 150))
          return (await adminQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [applicationName])).rowCount
        })
        const [result, killed] = yield* Effect.all([Effect.either(write), kill], { concurrency: 2 })
        const stored = (yield* storage.contacts.countByStage(workspace)).reduce((sum, s) => sum + s.count, 0)
        const after = yield* Effect.either(
          Effect.flatMap(Contacts.Contacts, (c) => c.create({ firstName: "after the cut" })).pipe(Workspaces.withWorkspace(workspace))
        )
        return { result, stored, after, attempts, killed }
      }).pipe(Effect.provide(layer))
    )
    // The cut happened mid-batch: the first attempt was rolled back and the batch ran again.
    expect(outcome.killed).toBeGreaterThan(0)
    expect(outcome.attempts).toBe(2)
    if (Either.isLeft(outcome.result)) {
      // Only a cut during COMMIT itself can still fail the call; the database kept all or nothing.
      expect(outcome.result.left).toMatchObject({ _tag: "StorageError", reason: "unavailable" })
      expect([0, 3000]).toContain(outcome.stored)
    } else {
      expect(outcome.stored).toBe(3000)
    }
    expect(Either.isRight(outcome.after)).toBe(true)
  })

  it("a bulk creation cut by terminated backends is stored whole or not at all", async () => {
    const applicationName = `rapport-test-${randomUUID().slice(0, 8)}`
    const workspace = Fixtures.freshWorkspaceId()
    const crm = await createCrm({ storage: postgresStorage({ url: pgUrl, applicationName }), workspace })
    const inputs = Array.from({ length: 5000 }, (_, i) => ({ email: `cut${i}@example.com`, firstName: `n${i}` }))
    let settled = false
    const write = crm.contacts.createMany(inputs).then(
      () => "stored",
      (e: unknown) => e
    )
    void write.finally(() => (settled = true))
    const kill = new Promise((resolve) => setTimeout(resolve, 120)).then(async () => {
      const killed = (await adminQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [applicationName])).rowCount ?? 0
      return { killed, midway: !settled }
    })
    const [outcome, cut] = await Promise.all([write, kill])
    // The cut landed on the adapter's connections while the creation ran, or the test proves nothing.
    expect({ midway: cut.midway, killed: cut.killed > 0 }).toEqual({ midway: true, killed: true })
    // Counted by the database itself: a list would stop at 500 of the 5,000.
    const stored = (await adminQuery("SELECT COUNT(*)::int AS n FROM rapport_contacts WHERE workspace_id = $1", [workspace])).rows[0]?.n
    const result = outcome === "stored" ? outcome : outcome instanceof RapportStorageError ? outcome.code : String(outcome)
    // Whole (the call succeeded, run again on a new connection if need be) or nothing (the call failed).
    expect({ result, stored }).toEqual(result === "stored" ? { result, stored: 5000 } : { result: "STORAGE_UNAVAILABLE", stored: 0 })
    await crm.close()
  })

  it("an email whose 32-bit lock key equals the workspace's does not deadlock the workspace", async () => {
    // hashtext('email:yytd8rcw0@x.io') = hashtext('workspace'): with 32-bit keys, two events for
    // this address deadlocked. Lock keys are 64-bit now.
    const crm = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace: Fixtures.freshWorkspaceId() })
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((i) => crm.events.emit({ id: `collide-${i}`, type: "page.viewed", email: "yytd8rcw0@x.io", payload: { url: "/" } }))
    )
    expect(results.filter((r) => r.status === "rejected")).toEqual([])
    await crm.close()
  })

  // Regression: after pg_terminate_backend the pool handed out a dead connection once or twice, and
  // those calls failed although the docs promise the next call reconnects. Before the fix about one
  // round in four failed here.
  it("after the server terminates every idle connection, the next calls succeed on new ones", async () => {
    const outcomes: Array<string> = []
    for (let round = 0; round < 8; round++) {
      const applicationName = `rapport-test-${randomUUID().slice(0, 8)}`
      const crm = await createCrm({ storage: postgresStorage({ url: pgUrl, applicationName }), workspace: Fixtures.freshWorkspaceId() })
      // Several connections sit idle in the pool.
      await Promise.all([1, 2, 3, 4].map((i) => crm.contacts.create({ firstName: `before ${i}` })))
      const killed = await adminQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [applicationName])
      expect(killed.rowCount).toBeGreaterThan(0)
      for (const call of [() => crm.contacts.create({ firstName: "right after" }), () => crm.contacts.list(), () => crm.contacts.create({ firstName: "after" })]) {
        outcomes.push(await call().then(() => "ok", (e: unknown) => (e instanceof RapportStorageError ? e.code : String(e))))
      }
      expect((await crm.contacts.list()).items.length).toBe(6)
      await crm.close()
    }
    expect(outcomes).toEqual(Array.from({ length: 24 }, () => "ok"))
  })

  it("concurrent batches sharing secondary emails: each is stored whole or refused with a Conflict", async () => {
    const crm = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace: Fixtures.freshWorkspaceId() })
    // The primary emails sort one way, the shared secondary ones the other way.
    const batch = (tag: string, reversed: boolean) =>
      Array.from({ length: 200 }, (_, i) => ({ email: `${tag}-${String(i).padStart(3, "0")}@example.com`, emails: [{ value: `shared-${String(reversed ? 199 - i : i).padStart(3, "0")}@example.com` }] }))
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all(
        [batch(`a${round}`, false), batch(`b${round}`, true)].map((items) =>
          crm.contacts.createMany(items).then(
            () => "stored",
            (e: unknown) => (typeof e === "object" && e !== null && "code" in e ? String(e.code) : String(e))
          )
        )
      )
      expect(outcomes.sort()).toEqual(round === 0 ? ["ALREADY_EXISTS", "stored"] : ["ALREADY_EXISTS", "ALREADY_EXISTS"])
    }
    expect((await crm.contacts.list({ limit: 500 })).items.length).toBe(200)
    await crm.close()
  })

  it("fails to start with STORAGE_UNAVAILABLE when the server cannot be reached", async () => {
    const error = await createCrm({ storage: postgresStorage({ url: "postgres://postgres@127.0.0.1:1/test", connectTimeout: "1 second" }) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RapportStorageError)
    expect(error).toMatchObject({ code: "STORAGE_UNAVAILABLE" })
  })

  it("layerConfig reads RAPPORT_PG_URL", async () => {
    const count = await Effect.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT COUNT(*)::int AS n FROM rapport_migrations`).pipe(
        Effect.provide(PostgresStorage.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["RAPPORT_PG_URL", pgUrl]])))
      )
    )
    expect(count).toEqual([{ n: Object.keys(Migrations.migrations).length }])
  })

  it("layerFromPool works on the host app's pool and leaves it open", async () => {
    const pool = new pg.Pool({ connectionString: pgUrl, max: 2 })
    const workspace = Fixtures.freshWorkspaceId()
    const created = await Effect.runPromise(
      Effect.flatMap(Contacts.Contacts, (c) => c.create({ firstName: "via the host pool" })).pipe(
        Workspaces.withWorkspace(workspace),
        Effect.provide(Crm.layer.pipe(Layer.provideMerge(PostgresStorage.layerFromPool(pool))))
      )
    )
    const rows = await pool.query("SELECT first_name FROM rapport_contacts WHERE workspace_id = $1 AND id = $2", [workspace, created.id])
    expect(rows.rows).toEqual([{ first_name: "via the host pool" }])
    await pool.end()
  })

  it("instances starting together on an empty database all start, and migrate it once", async () => {
    const database = await emptyDatabase()
    try {
      const script = fileURLToPath(new URL("./fixtures/start-process.ts", import.meta.url))
      const cwd = fileURLToPath(new URL("..", import.meta.url))
      const start = () => promisify(execFile)(process.execPath, ["--conditions=@rapport/source", "--import", "tsx", script, database.url], { cwd })
      const results = await Promise.allSettled([start(), start(), start()])
      expect(results.flatMap((r) => (r.status === "rejected" ? [String((r.reason as { stderr?: string }).stderr ?? r.reason)] : []))).toEqual([])
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      const migrations = await client.query("SELECT migration_id FROM rapport_migrations ORDER BY migration_id")
      const contacts = await client.query("SELECT COUNT(*)::int AS n FROM rapport_contacts")
      await client.end()
      expect([migrations.rows, contacts.rows]).toEqual([Object.keys(Migrations.migrations).map((_, i) => ({ migration_id: i + 1 })), [{ n: 3 }]])
    } finally {
      await database.drop()
    }
  }, 60_000)
})
