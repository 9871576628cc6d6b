import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import { leanClient } from "../src/internal/lean.js"

// Counts the `sql.execute` spans @effect/sql opens: one per statement it runs itself.
const counting = () => {
  const names: Array<string> = []
  const layer = Layer.unwrapEffect(
    Effect.map(Effect.tracer, (base) =>
      Layer.setTracer(
        Tracer.make({
          span: (name, ...rest) => {
            names.push(name)
            return base.span(name, ...rest)
          },
          context: base.context
        })
      )
    )
  )
  return { names, layer }
}

const withClient = <A, E>(body: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => body(leanClient(sql))).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })))

describe("statements of the lean client", () => {
  it.effect("run on the transaction's connection inside a transaction, and as @effect/sql runs them outside", () => {
    const { names, layer } = counting()
    return withClient((sql) =>
      Effect.gen(function* () {
        const executed = () => names.filter((n) => n === "sql.execute").length
        const before = executed()
        yield* sql`CREATE TABLE t (a INTEGER, b TEXT)`
        const outside = executed()
        expect(outside - before).toBe(1)
        yield* sql.withTransaction(
          Effect.gen(function* () {
            for (let i = 0; i < 3; i++) yield* sql`INSERT INTO ${sql("t")} ${sql.insert({ a: i, b: `row ${i}` })}`
          })
        )
        expect(executed()).toBe(outside)
        expect(names).toContain("sql.transaction")
        // Fragments and helpers still compose into statements, inside a transaction and outside.
        const where = sql`a >= ${1}`
        const inside = yield* sql.withTransaction(sql`SELECT a, b FROM t WHERE ${where} AND ${sql.in("a", [1, 2])} ORDER BY a`)
        expect(inside).toEqual([{ a: 1, b: "row 1" }, { a: 2, b: "row 2" }])
        expect(yield* sql`SELECT COUNT(*) AS n FROM t WHERE ${where}`).toEqual([{ n: 2 }])
        expect(yield* sql.unsafe("SELECT b FROM t WHERE a = ?", [0])).toEqual([{ b: "row 0" }])
      })
    ).pipe(Effect.provide(layer))
  })

  it.effect("fail inside a transaction as @effect/sql's would, and the transaction rolls back", () =>
    withClient((sql) =>
      Effect.gen(function* () {
        yield* sql`CREATE TABLE u (a INTEGER PRIMARY KEY)`
        const failed = yield* Effect.flip(
          sql.withTransaction(Effect.zipRight(sql`INSERT INTO u (a) VALUES (${1})`, sql`INSERT INTO u (a) VALUES (${1})`))
        )
        expect(failed._tag).toBe("SqlError")
        expect(yield* sql`SELECT COUNT(*) AS n FROM u`).toEqual([{ n: 0 }])
      })
    )
  )
})
