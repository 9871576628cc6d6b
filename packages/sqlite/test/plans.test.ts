// Query plans of statements whose speed rests on an index: the statement storage actually sends
// (captured as it is compiled) is explained by SQLite, and the plan must name the index. A plan
// that falls back to reading the table and sorting its rows is what made the weighted pipeline take
// seconds over a million deals (issue 16), while the answer stays the same — only this test sees it.
import { Storage } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { Fixtures } from "@rapport/testing"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"

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
})
