// Orders read back as records (issue 16): one order or a page of them (newest first, with their
// lines), cancelling and refunding (each one conditional UPDATE, so that concurrent writers can
// neither cancel twice nor refund past the total), and a contact's figures per currency in one
// aggregate. Net revenue is `total_minor - refunded_minor` over the orders still `placed`.
import type { Order, Storage } from "@rapport/core"
import type { SqlError } from "@effect/sql/SqlError"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Instant, Int } from "./columns.js"
import { OrderFromRows } from "./rows.js"
import { orStorage } from "./statements.js"

type OrderReads = Pick<Storage.OrderRepository, "get" | "list" | "cancel" | "refund" | "figures"> & {
  /** The orders of these header rows, with their lines (one statement for all the lines). */
  readonly withLines: (workspaceId: string, headers: ReadonlyArray<{ readonly id: string }>) => Effect.Effect<ReadonlyArray<Order.Order>, SqlError | ParseError>
}

const decodeHeaders = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))))
const decodeOrder = Schema.decodeUnknown(OrderFromRows)
const decodeIds = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String })))
const At = Schema.compose(Instant, Schema.DateTimeUtc)
const FiguresRow = Schema.Struct({ currency: Schema.String, revenue: Int, n: Int, first_at: At, last_at: At, average: Int })
const decodeFigures = Schema.decodeUnknown(Schema.Array(FiguresRow))

// What a status filter and the lifecycle's order counts compare with: a constant, bound like any value.
const PLACED = "placed"

export const makeOrderReads = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment): OrderReads => {
  // In arithmetic PostgreSQL needs to be told a parameter's type.
  const minor = (value: number): Statement.Fragment => sql.onDialectOrElse({ pg: () => sql`${value}::bigint`, orElse: () => sql`${value}` })

  const withLines: OrderReads["withLines"] = (workspaceId, headers) =>
    Effect.gen(function* () {
      if (headers.length === 0) return []
      const lines = yield* sql`SELECT * FROM rapport_order_lines WHERE workspace_id = ${workspaceId} AND ${sql.in("order_id", headers.map((h) => h.id))} ORDER BY order_id, line_no`
      const linesOf = new Map<string, Array<unknown>>()
      for (const line of lines as ReadonlyArray<{ readonly order_id: string }>) {
        const list = linesOf.get(line.order_id)
        if (list === undefined) linesOf.set(line.order_id, [line])
        else list.push(line)
      }
      return yield* Effect.forEach(headers, (header) => decodeOrder({ header, lines: linesOf.get(header.id) ?? [] }))
    })

  return {
    withLines,
    get: (workspaceId, id) =>
      orStorage(
        Effect.gen(function* () {
          const headers = yield* Effect.flatMap(sql`SELECT * FROM rapport_orders WHERE workspace_id = ${workspaceId} AND id = ${id}`, decodeHeaders)
          return Option.fromNullable((yield* withLines(workspaceId, headers))[0])
        })
      ),
    list: (workspaceId, q) =>
      orStorage(
        Effect.gen(function* () {
          const headers = yield* Effect.flatMap(
            sql`SELECT * FROM rapport_orders WHERE ${sql.and([
              sql`workspace_id = ${workspaceId}`,
              ...(q.contactId === undefined ? [] : [sql`contact_id = ${q.contactId}`]),
              ...(q.from === undefined ? [] : [sql`placed_at >= ${instant(q.from)}`]),
              ...(q.to === undefined ? [] : [sql`placed_at < ${instant(q.to)}`]),
              ...(q.status === undefined ? [] : [sql`status = ${q.status}`]),
              ...(q.before === undefined ? [] : [sql`(placed_at, id) < (${instant(q.before.placedAt)}, ${q.before.id})`])
            ])} ORDER BY placed_at DESC, id DESC LIMIT ${q.limit}`,
            decodeHeaders
          )
          return yield* withLines(workspaceId, headers)
        })
      ),
    cancel: (workspaceId, orderId, cancelledAt) =>
      orStorage(
        Effect.map(
          Effect.flatMap(
            sql`UPDATE rapport_orders SET status = ${"cancelled"}, cancelled_at = ${instant(cancelledAt)}
                 WHERE workspace_id = ${workspaceId} AND id = ${orderId} AND status = ${PLACED} RETURNING id`,
            decodeIds
          ),
          (rows) => rows.length > 0
        )
      ),
    // The bound is checked by the UPDATE itself: on PostgreSQL a concurrent refund of the same
    // order waits for the row and then re-checks the bound against the committed sum.
    refund: (workspaceId, refund) =>
      orStorage(
        Effect.gen(function* () {
          const updated = yield* Effect.flatMap(
            sql`UPDATE rapport_orders SET refunded_minor = refunded_minor + ${minor(refund.amountMinor)}
                 WHERE workspace_id = ${workspaceId} AND id = ${refund.orderId} AND refunded_minor + ${minor(refund.amountMinor)} <= total_minor
                 RETURNING id`,
            decodeIds
          )
          if (updated.length === 0) return false
          yield* sql`INSERT INTO rapport_order_refunds ${sql.insert({
            workspace_id: workspaceId,
            order_id: refund.orderId,
            event_id: refund.eventId,
            amount_minor: refund.amountMinor,
            reason: refund.reason,
            refunded_at: DateTime.formatIso(refund.refundedAt)
          })}`
          return true
        })
      ),
    // The average is computed in integers by the database: (2·sum + n) div (2·n) is sum ÷ n rounded
    // half up (sums are never negative: refunds never exceed the totals). PostgreSQL's SUM of a
    // BIGINT is NUMERIC, whose `/` would keep decimals: div() truncates as SQLite's `/` does.
    figures: (workspaceId, contactId) =>
      orStorage(
        Effect.flatMap(
          sql`SELECT currency, SUM(total_minor - refunded_minor) AS revenue, COUNT(*) AS n,
                     MIN(placed_at) AS first_at, MAX(placed_at) AS last_at,
                     ${sql.onDialectOrElse({
                       pg: () => sql`div(2 * SUM(total_minor - refunded_minor) + COUNT(*), 2 * COUNT(*))`,
                       orElse: () => sql`(2 * SUM(total_minor - refunded_minor) + COUNT(*)) / (2 * COUNT(*))`
                     })} AS average
                FROM rapport_orders
               WHERE workspace_id = ${workspaceId} AND contact_id = ${contactId} AND status = ${PLACED}
               GROUP BY currency ORDER BY currency`,
          (rows) =>
            Effect.map(decodeFigures(rows), (figures) =>
              figures.map((f) => ({
                currency: f.currency,
                revenueMinor: f.revenue,
                orders: f.n,
                firstOrderAt: f.first_at,
                lastOrderAt: f.last_at,
                averageBasketMinor: f.average
              }))
            )
        )
      )
  }
}
