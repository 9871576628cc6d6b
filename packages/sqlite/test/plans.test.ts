// Query plans of statements whose speed rests on an index: the statement storage actually sends
// (captured as it is compiled) is explained by SQLite, and the plan must name the index. A plan
// that falls back to reading the table and sorting its rows is what made the weighted pipeline take
// seconds over a million deals (issue 16), while the answer stays the same — only this test sees it.
import { Condition, Segment, Storage } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { Fixtures } from "@rapport/testing"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

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

/** SQLite's plan of a statement, one line per step. */
const planOf = ([text, params]: readonly [string, ReadonlyArray<unknown>]) =>
  Effect.map(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)), (rows) =>
    rows.map((r) => r.detail)
  )

describe("query plans on SQLite", () => {
  it.effect("the weighted pipeline by pipeline reads the covering index rapport_deals_weighted_pipeline in group order: no table, no sort", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const sent = yield* sentBy(storage.deals.sums(Fixtures.freshWorkspaceId(), { groupBy: ["pipeline"], filter: {} }))
      expect(sent).toHaveLength(1)
      expect(yield* planOf(sent[0]!)).toEqual(["SEARCH rapport_deals USING COVERING INDEX rapport_deals_weighted_pipeline (workspace_id=?)"])
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))

  it.effect("the weighted pipeline by expected-close month reads the expression index rapport_deals_weighted_month in group order: no sort", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const sent = yield* sentBy(storage.deals.sums(Fixtures.freshWorkspaceId(), { groupBy: ["month"], filter: {} }))
      expect(sent).toHaveLength(1)
      // SQLite says INDEX, not COVERING INDEX, for an index on an expression, yet reads the grouped
      // value from the index (its indexed-expression optimisation); what matters is no TEMP B-TREE.
      expect(yield* planOf(sent[0]!)).toEqual(["SEARCH rapport_deals USING INDEX rapport_deals_weighted_month (workspace_id=?)"])
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))

  it.effect("an indexed segment (a select field equal to a value, a number field in a range) is counted from its index alone: one range, no table", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const ws = Fixtures.freshWorkspaceId()
      const colour = Fixtures.fieldDefinition(ws, "colour", { type: "select", options: [{ value: "red", label: "red" }, { value: "blue", label: "blue" }] })
      const visits = Fixtures.fieldDefinition(ws, "visits", { type: "number" })
      const registry = Condition.contactRegistry([colour, visits], ["suspect"])
      const condition: Condition.Condition = {
        all: [
          { path: "contact.fields.visits", op: "gte", value: 90 },
          { path: "contact.tags", op: "contains", value: "vip" },
          { path: "contact.fields.colour", op: "eq", value: "red" }
        ]
      }
      // Equalities first, then the range, whatever the condition's order; the tag test is not indexed.
      const columns = Either.getOrThrow(Segment.indexColumns(condition, registry))
      expect(columns).toEqual([{ key: "colour", kind: "string" }, { key: "visits", kind: "number" }])
      yield* storage.segments.ensureIndex(columns)
      const count = { condition: { all: [condition.all[0]!, condition.all[2]!] }, registry, now: DateTime.unsafeMake(0) }
      const sent = yield* sentBy(storage.segments.count(ws, count))
      expect(sent).toHaveLength(1)
      expect(yield* planOf(sent[0]!)).toEqual([expect.stringMatching(/^SEARCH c USING COVERING INDEX rapport_cx_colour_visits_[0-9a-f]{10} \(workspace_id=\? AND <expr>=\? AND <expr>>\?\)$/)])
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))
})
