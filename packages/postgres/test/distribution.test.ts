// Ready for a PostgreSQL distributed by workspace (Citus, `workspace_id` as distribution column),
// proved by rules on a plain PostgreSQL: the migrated schema's keys, the DDL docs/scaling.md
// shows, and the statements that lock rows (see distribution.ts). The statements of the whole
// storage contract are checked in contract.test.ts; here, the dispatcher's claim over every
// workspace, on a database of its own (no other test's jobs to take).
import { Storage } from "@rapport/core"
import { PostgresStorage } from "@rapport/postgres"
import { Fixtures } from "@rapport/testing"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import pg from "pg"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { available, emptyDatabase, skipReason } from "./database.js"
import { distributionDdl, locksRows, pinProblems, readCatalog, schemaProblems } from "./distribution.js"
import { recordingPool } from "./statements.js"

const suite = available ? describe : describe.skip

const withClient = async <A>(url: string, f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

suite(`distribution by workspace${available ? "" : ` (${skipReason})`}`, () => {
  let database: Awaited<ReturnType<typeof emptyDatabase>> | undefined
  let recording: ReturnType<typeof recordingPool> | undefined
  const url = () => database!.url

  beforeAll(async () => {
    database = await emptyDatabase()
    recording = recordingPool(database.url)
    // Starting the storage migrates the new database.
    await Effect.runPromise(Effect.scoped(Layer.build(PostgresStorage.layerFromPool(recording.pool))))
  })
  afterAll(async () => {
    await recording?.pool.end()
    await database?.drop()
  })

  it("every primary key and unique index of a distributed table holds its distribution column; the tables without workspace_id are listed", async () => {
    const catalog = await withClient(url(), readCatalog)
    expect(schemaProblems(catalog)).toEqual([])
    // The check looked at Rapport's schema, not at an empty one.
    expect(catalog.tables).toEqual(expect.arrayContaining(["rapport_workspaces", "rapport_contacts", "rapport_jobs", "rapport_contact_identities", "rapport_migrations"]))
    expect(catalog.keys.filter((k) => k.kind === "primary key").length).toBe(catalog.tables.length)
    expect(catalog.keys.map((k) => k.name)).toEqual(expect.arrayContaining(["rapport_contacts_email", "rapport_jobs_key", "rapport_contact_identities_email"]))
  })

  it("a table, unique index or foreign key added without the distribution column is reported", async () => {
    const problems = await withClient(url(), async (client) => {
      await client.query("BEGIN")
      try {
        await client.query("CREATE TABLE rapport_notes (id text PRIMARY KEY, body text NOT NULL)")
        await client.query(`CREATE TABLE rapport_labels (workspace_id text COLLATE "C" NOT NULL, id text NOT NULL, contact_id text NOT NULL, name text NOT NULL, PRIMARY KEY (workspace_id, id))`)
        await client.query("CREATE UNIQUE INDEX rapport_labels_name ON rapport_labels (lower(name))")
        await client.query("CREATE UNIQUE INDEX rapport_contacts_id ON rapport_contacts (id)")
        await client.query("ALTER TABLE rapport_labels ADD CONSTRAINT rapport_labels_contact FOREIGN KEY (contact_id) REFERENCES rapport_contacts (id)")
        await client.query("ALTER TABLE rapport_tasks ADD CONSTRAINT rapport_tasks_note FOREIGN KEY (note) REFERENCES rapport_notes (id)")
        await client.query("CREATE TABLE rapport_loose (workspace_id integer, id text PRIMARY KEY)")
        return schemaProblems(await readCatalog(client))
      } finally {
        await client.query("ROLLBACK")
      }
    })
    expect(problems).toEqual([
      "rapport_loose.workspace_id may be NULL: a row without a workspace has no shard",
      "rapport_notes has no workspace_id column: give it one, or list it as a reference or local table (with a reason)",
      `distribution columns differ in type or collation (text COLLATE "C", integer COLLATE none): the tables could not be colocated`,
      "unique index rapport_contacts_id of rapport_contacts (id) does not include workspace_id",
      "unique index rapport_labels_name of rapport_labels (<expression>) does not include workspace_id",
      "primary key rapport_loose_pkey of rapport_loose (id) does not include workspace_id",
      "primary key rapport_notes_pkey of rapport_notes (id) does not include workspace_id",
      "foreign key rapport_labels_contact of rapport_labels → rapport_contacts does not pair workspace_id with rapport_contacts.workspace_id",
      "foreign key rapport_tasks_note of rapport_tasks → rapport_notes does not pair workspace_id with rapport_notes.workspace_id"
    ])
    // Rolled back: the schema is Rapport's again.
    expect(schemaProblems(await withClient(url(), readCatalog))).toEqual([])
  })

  it("docs/scaling.md distributes every migrated table, colocated, and no other", async () => {
    const catalog = await withClient(url(), readCatalog)
    const doc = await readFile(fileURLToPath(new URL("../../../docs/scaling.md", import.meta.url)), "utf8")
    const shown = doc.split("\n").filter((line) => /^SELECT create_(distributed|reference)_table\(/.test(line.trim())).map((line) => line.trim())
    expect(shown).toEqual(distributionDdl(catalog))
    expect(shown.length).toBe(catalog.tables.length - 1)
  })

  it("the row-lock check refuses a lock that is not pinned to one workspace and accepts the pinned forms", () => {
    // The claim as it was before: one statement over every workspace's due jobs.
    const unpinned = `UPDATE rapport_jobs AS j SET status = 'running' FROM (SELECT workspace_id, id FROM rapport_jobs WHERE ((status = 'pending' AND due_at <= $1) OR (status = 'running' AND lease_until <= $2))
      ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) AS c WHERE j.workspace_id = c.workspace_id AND j.id = c.id RETURNING j.*`
    expect(pinProblems(unpinned)).toHaveLength(1)
    expect(pinProblems(`SELECT id FROM rapport_companies WHERE "workspace_id" IN ($1, $2) FOR KEY SHARE`)).toHaveLength(1)
    expect(pinProblems(`SELECT id FROM rapport_companies WHERE workspace_id = $1 OR id = $2 FOR UPDATE`)).toHaveLength(1)
    expect(pinProblems(`SELECT c.id FROM rapport_companies c JOIN rapport_contacts k ON k.company_id = c.id WHERE c.workspace_id = $1 FOR SHARE`)).toHaveLength(1)
    expect(pinProblems(`SELECT id FROM rapport_workspaces WHERE workspace_id = $1 FOR NO KEY UPDATE`)).toHaveLength(1)
    expect(pinProblems(`SELECT id FROM rapport_companies WHERE workspace_id = 'w1' FOR UPDATE`)).toHaveLength(1)
    expect(locksRows(`SELECT 'FOR UPDATE' AS text FROM rapport_contacts WHERE workspace_id = $1`)).toBe(false)

    expect(pinProblems(`SELECT id FROM rapport_companies WHERE workspace_id = $1 AND "id" IN ($2,$3) FOR KEY SHARE`)).toEqual([])
    expect(pinProblems(`SELECT id FROM rapport_workspaces AS w WHERE w.id = $1 FOR UPDATE`)).toEqual([])
    expect(
      pinProblems(`WITH c AS MATERIALIZED (SELECT id FROM rapport_jobs WHERE workspace_id = $1 AND ((status = 'pending' AND due_at <= $2) OR (status = 'running' AND lease_until <= $3))
        ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) UPDATE rapport_jobs AS j SET status = 'running' FROM c WHERE j.workspace_id = $5 AND j.id = c.id RETURNING j.*`)
    ).toEqual([])
  })

  it("a claim over every workspace claims each workspace's jobs in statements pinned to it, the soonest due first", async () => {
    const workspaces = [Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId()]
    const start = DateTime.unsafeMake("2025-06-01T08:00:00.000Z")
    const now = DateTime.unsafeMake("2025-06-01T09:00:00.000Z")
    const program = Effect.gen(function* () {
      const storage = yield* Storage.Storage
      // Interleaved due times: jobs i, i+3, i+6 … belong to workspace i.
      const jobs = yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) =>
        Fixtures.job(workspaces[i % 3]!, { dueAt: DateTime.add(start, { minutes: i }) })
      )
      yield* storage.jobs.insertMany(jobs)
      const before = recording!.statements.length
      const batches = []
      for (let round = 0; round < 4; round++) {
        batches.push(yield* storage.jobs.claim({ now, leaseUntil: DateTime.add(now, { minutes: 1 }), token: `t${round}`, limit: 5 }))
      }
      return { jobs, batches, sent: recording!.statements.slice(before) }
    })
    const { jobs, batches, sent } = await Effect.runPromise(Effect.provide(program, PostgresStorage.layerFromPool(recording!.pool)))
    expect(batches.map((b) => b.map((j) => j.id))).toEqual([jobs.slice(0, 5).map((j) => j.id), jobs.slice(5, 10).map((j) => j.id), jobs.slice(10).map((j) => j.id), []])
    const locking = sent.filter(locksRows)
    // Three batches over three workspaces each (the last one over two): one claim per workspace.
    expect(locking.length).toBe(8)
    expect(locking.flatMap(pinProblems)).toEqual([])
  })
})
