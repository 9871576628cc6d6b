// Query plans of segment conditions on indexed contact fields: PostgreSQL must answer each
// comparison from the field's expression index, the whole condition an index condition (no
// `Filter` left to test on each row). The answers would be the same without the index; only this
// test sees a compiler whose expression no longer matches the index it made (a count over a
// million contacts then reads all of them).
import { Condition, Segment, Storage } from "@rapport/core"
import { PostgresStorage } from "@rapport/postgres"
import { Fixtures } from "@rapport/testing"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { available, emptyDatabase, skipReason } from "./database.js"

const suite = available ? describe : describe.skip

/** The statements `effect` sends, as SQL text and parameters. */
const sentBy = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const sent: Array<readonly [string, ReadonlyArray<unknown>]> = []
    yield* effect.pipe(
      Statement.withTransformer((statement) =>
        Effect.sync(() => {
          sent.push(statement.compile())
          return statement
        })
      )
    )
    return sent
  })

/**
 * PostgreSQL's plan of a statement as a database of many contacts would get it: an empty table
 * is cheaper to read whole, so reading whole tables is priced out.
 */
const planOf = ([text, params]: readonly [string, ReadonlyArray<unknown>]) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.zipRight(
        sql`SET LOCAL enable_seqscan = off`,
        Effect.map(sql.unsafe<{ readonly "QUERY PLAN": string }>(`EXPLAIN ${text}`, params), (rows) => rows.map((r) => r["QUERY PLAN"].trim()))
      )
    )
  )

suite(`query plans on PostgreSQL${available ? "" : ` (${skipReason})`}`, () => {
  let database: Awaited<ReturnType<typeof emptyDatabase>>
  beforeAll(async () => {
    database = await emptyDatabase()
  })
  afterAll(() => database.drop())
  const run = <A, E>(effect: Effect.Effect<A, E, Storage.Storage | SqlClient.SqlClient>) =>
    Effect.runPromise(Effect.scoped(Effect.provide(effect, PostgresStorage.layer({ url: database.url }))))

  const ws = Fixtures.freshWorkspaceId()
  const plan = Fixtures.fieldDefinition(ws, "plan", { type: "select", options: [{ value: "free", label: "free" }, { value: "pro", label: "pro" }], indexed: true })
  const visits = Fixtures.fieldDefinition(ws, "visits", { type: "number", indexed: true })
  const vip = Fixtures.fieldDefinition(ws, "vip", { type: "boolean", indexed: true })
  const renewal = Fixtures.fieldDefinition(ws, "renewal", { type: "date", indexed: true })
  const seen = Fixtures.fieldDefinition(ws, "seen", { type: "datetime", indexed: true })
  const registry = Condition.contactRegistry([plan, visits, vip, renewal, seen], ["suspect"])
  const countOf = (condition: Condition.Condition) => ({ condition, registry, now: DateTime.unsafeMake(0) })

  it("each comparison on an indexed field is a range of that field's index, with nothing left to test on the row", () =>
    run(
      Effect.gen(function* () {
        const storage = yield* Storage.Storage
        const sql = yield* SqlClient.SqlClient
        for (const def of [plan, visits, vip, renewal, seen]) yield* storage.fieldDefinitions.insert(def)
        // Enough contacts, their values spread, for the planner to prefer the selective index.
        yield* sql`INSERT INTO rapport_contacts (workspace_id, id, source_channel, first_seen_at, stage, tags, score, fields, version, created_at, updated_at)
                   SELECT ${ws}, 'c' || g, 'web', now(), 'suspect', '[]'::jsonb, 0,
                          jsonb_build_object('plan', CASE WHEN g % 50 = 0 THEN 'pro' ELSE 'p' || g END, 'visits', g % 1000, 'vip', g % 100 = 0,
                                             'renewal', to_char(DATE '2020-01-01' + g, 'YYYY-MM-DD'),
                                             'seen', to_char(TIMESTAMP '2020-01-01' + g * INTERVAL '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                          1, now(), now()
                   FROM generate_series(1, 5000) AS g`
        yield* sql`ANALYZE rapport_contacts`
        const cases: ReadonlyArray<readonly [Condition.Condition, string]> = [
          [{ path: "contact.fields.plan", op: "eq", value: "pro" }, "plan"],
          [{ path: "contact.fields.plan", op: "in", value: ["free", "pro"] }, "plan"],
          [{ path: "contact.fields.plan", op: "lt", value: "p" }, "plan"],
          [{ path: "contact.fields.visits", op: "gte", value: 990 }, "visits"],
          [{ path: "contact.fields.visits", op: "lt", value: 10 }, "visits"],
          [{ path: "contact.fields.visits", op: "eq", value: 3.5 }, "visits"],
          [{ path: "contact.fields.visits", op: "in", value: [1, 2] }, "visits"],
          [{ path: "contact.fields.vip", op: "eq", value: true }, "vip"],
          [{ path: "contact.fields.renewal", op: "gte", value: "2033-01-01" }, "renewal"],
          [{ path: "contact.fields.seen", op: "gte", value: "2020-07-01T00:00:00.000Z" }, "seen"]
        ]
        const indexes = new Map(
          (yield* sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE tablename = 'rapport_contacts' AND indexname LIKE 'rapport_cf_%'`).map((r) => [
            r.indexname.replace(/^rapport_cf_(.*)_[0-9a-f]{10}$/, "$1"),
            r.indexname
          ])
        )
        expect([...indexes.keys()].sort()).toEqual(["plan", "renewal", "seen", "vip", "visits"])
        for (const [condition, key] of cases) {
          const sent = yield* sentBy(storage.segments.count(ws, countOf(condition)))
          expect(sent).toHaveLength(1)
          const steps = yield* planOf(sent[0]!)
          expect({ condition, steps, index: steps.some((s) => s.includes(`Index Scan using ${indexes.get(key)} `) || s.includes(`Bitmap Index Scan on ${indexes.get(key)}`)) }).toMatchObject({ condition, index: true })
          expect({ condition, filters: steps.filter((s) => s.startsWith("Filter:")) }).toEqual({ condition, filters: [] })
        }
      })
    ))

  it("an indexed segment (a select field equal to a value, a number in a range) is one range of its index", () =>
    run(
      Effect.gen(function* () {
        const storage = yield* Storage.Storage
        const condition: Condition.Condition = {
          all: [
            { path: "contact.fields.visits", op: "gte", value: 90 },
            { path: "contact.fields.plan", op: "eq", value: "pro" }
          ]
        }
        yield* storage.segments.ensureIndex(Either.getOrThrow(Segment.indexColumns(condition, registry)))
        const sent = yield* sentBy(storage.segments.count(ws, countOf(condition)))
        const steps = yield* planOf(sent[0]!)
        expect(steps.find((s) => /Index Scan using rapport_cx_plan_visits_[0-9a-f]{10} on rapport_contacts/.test(s))).toBeDefined()
        expect(steps.filter((s) => s.startsWith("Filter:"))).toEqual([])
      })
    ))

  it("migration 0023 makes the indexes stored definitions ask for: indexes gone before it runs are there after", async () => {
    const names = Effect.map(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE indexname ~ '^rapport_c[fx]_' ORDER BY 1`), (rows) => rows.map((r) => r.indexname))
    const before = await run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const storage = yield* Storage.Storage
        // The segment's index comes back only from a stored segment marked indexed.
        yield* storage.segments.insert(
          new Segment.Segment({
            id: Segment.SegmentId.make(crypto.randomUUID()),
            workspaceId: ws,
            name: "keen",
            description: null,
            condition: { all: [{ path: "contact.fields.plan", op: "eq", value: "pro" }, { path: "contact.fields.visits", op: "gte", value: 90 }] },
            indexed: true,
            version: 1,
            createdAt: DateTime.unsafeMake(0),
            updatedAt: DateTime.unsafeMake(0)
          })
        )
        const before = yield* names
        // As a database the earlier version migrated is: no index for the typed reading yet.
        for (const name of before) yield* sql.unsafe(`DROP INDEX "${name}"`)
        yield* sql`DELETE FROM rapport_migrations WHERE name = 'typed_field_indexes'`
        return before
      })
    )
    expect(before).toHaveLength(6)
    // A new storage layer on the same database runs the migrations not recorded as applied.
    expect(await run(names)).toEqual(before)
  })
})
