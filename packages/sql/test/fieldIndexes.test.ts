// Indexed contact fields (issue 16): marking a field `indexed` creates an expression index whose
// expression is the one the segment compiler reads the field by, so SQLite's planner uses it for
// a segment filtering on that field, and counts from the index alone (checked with EXPLAIN QUERY
// PLAN on the compiled condition).
import { Condition, Storage } from "@rapport/core"
import { Fixtures } from "@rapport/testing"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { SqlStorage } from "../src/index.js"
import { conditionSql } from "../src/internal/conditionSql.js"

const client = SqliteClient.layer({ filename: ":memory:" })
const storage = SqlStorage.layer.pipe(Layer.provideMerge(client))

describe("indexed contact fields", () => {
  it.layer(storage)((it) => {
    it.effect("an indexed field gets an expression index, and the compiled segment condition uses it", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const sql = yield* SqlClient.SqlClient
        const ws = Fixtures.freshWorkspaceId()
        const plan = Fixtures.fieldDefinition(ws, "plan", { indexed: true })
        const other = Fixtures.fieldDefinition(ws, "note")
        yield* s.fieldDefinitions.insert(plan)
        yield* s.fieldDefinitions.insert(other)
        const fieldIndexes = () => Effect.map(sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'rapport_cf_%' ORDER BY name`, (rows) => rows.map((r) => r.name))
        const indexes = yield* fieldIndexes()
        expect(indexes).toEqual([expect.stringMatching(/^rapport_cf_plan_[0-9a-f]{10}$/)])
        const planIndex = indexes[0]!
        // Marking another field indexed later (an update) creates its index too.
        yield* s.fieldDefinitions.update(Fixtures.fieldDefinition(ws, "note", { indexed: true, version: 2 }), 1)
        const after = yield* fieldIndexes()
        expect(after).toEqual([expect.stringMatching(/^rapport_cf_note_[0-9a-f]{10}$/), planIndex])
        const registry: Condition.Registry = { fields: [plan, other], stages: ["suspect"], event: false }
        const where = Either.getOrThrow(conditionSql(sql, { path: "contact.fields.plan", op: "eq", value: "pro" }, registry, DateTime.unsafeMake(0)))
        const plan_ = yield* sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM rapport_contacts AS c WHERE c.workspace_id = ${ws} AND ${where}`
        expect(plan_.map((r) => r.detail).join("\n")).toContain(`USING COVERING INDEX ${planIndex} (workspace_id=? AND <expr>=?)`)
        // Ranges too: the index holds the value read through its JSON type, which is what the
        // comparison reads, so the index gives the range (`<expr>>?`) instead of every row.
        const visits = Fixtures.fieldDefinition(ws, "visits", { type: "number", indexed: true })
        yield* s.fieldDefinitions.insert(visits)
        const visitsIndex = (yield* fieldIndexes()).find((name) => name.startsWith("rapport_cf_visits_"))!
        const ranges = { fields: [plan, other, visits], stages: ["suspect"], event: false } satisfies Condition.Registry
        for (const [condition, index] of [
          [{ path: "contact.fields.visits", op: "gte", value: 90 }, `${visitsIndex} (workspace_id=? AND <expr>>?)`],
          [{ path: "contact.fields.plan", op: "lt", value: "m" }, `${planIndex} (workspace_id=? AND <expr><?)`]
        ] as const) {
          const range = Either.getOrThrow(conditionSql(sql, condition, ranges, DateTime.unsafeMake(0)))
          const detail = (yield* sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM rapport_contacts AS c WHERE c.workspace_id = ${ws} AND ${range}`)
            .map((r) => r.detail)
            .join("\n")
          expect(detail).toContain(`USING COVERING INDEX ${index}`)
        }
        // Names are distinct per key, case included, and fit PostgreSQL's 63 bytes.
        yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "tierA", { indexed: true }))
        yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "tiera", { indexed: true }))
        yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "a".repeat(64), { indexed: true }))
        const names = yield* fieldIndexes()
        expect(names.filter((name) => name.startsWith("rapport_cf_tiera_"))).toHaveLength(2)
        expect(Math.max(...names.map((name) => name.length))).toBeLessThanOrEqual(63)
      })
    )
  })
})
