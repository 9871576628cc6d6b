// Questions about contacts' histories answered together (Storage.history): an emit asks how many
// orders or events a contact has in a window, when they happened, when it last moved stage, and
// what a rule's limits need; a batch of emits asks that for many contacts. One statement answers
// them all: each kind of question is a branch of a UNION ALL reading its questions from one JSON
// parameter (json_each on SQLite, jsonb_to_recordset on PostgreSQL), so the statement's text is
// the same whatever is asked (prepared once) and every branch follows the index a single question
// would, pinned to the workspace. Windows are `(since, until]` like the single-question reads.
import type { Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Instant, Int } from "./columns.js"
import { orStorage } from "./statements.js"

const AnswerRow = Schema.Struct({ q: Int, n: Schema.NullOr(Int), at: Schema.NullOr(Schema.compose(Instant, Schema.DateTimeUtc)) })
const decodeAnswers = Schema.decodeUnknown(Schema.Array(AnswerRow))

const KINDS = ["orderCount", "orderTimes", "eventCount", "eventTimes", "lastStageChange", "firingKey", "lastFiring"] as const
type Kind = (typeof KINDS)[number]

// Questions per statement: the JSON parameters stay small enough to parse quickly.
const CHUNK = 1_000

const iso = (value: DateTime.Utc | undefined) => (value === undefined ? null : DateTime.formatIso(value))

/** A question as its branch reads it: q its position, c the contact, s/u the window, t types, r rule, k key. */
const encode = (question: Storage.HistoryQuestion, q: number) => {
  switch (question.ask) {
    case "orderCount":
    case "orderTimes":
      return { q, c: question.contactId, s: iso(question.since), u: iso(question.until) }
    case "eventCount":
    case "eventTimes":
      return { q, c: question.contactId, t: question.types, s: iso(question.since), u: iso(question.until) }
    case "lastStageChange":
      return { q, c: question.contactId }
    case "firingKey":
      return { q, c: question.contactId, r: question.ruleId, k: question.key }
    case "lastFiring":
      return { q, c: question.contactId, r: question.ruleId }
  }
}

export const makeHistory = (sql: SqlClient.SqlClient): { readonly history: Storage.StorageService["history"] } => {
  const statement = (workspaceId: string, json: Readonly<Record<Kind, string>>) =>
    sql.onDialectOrElse({
      pg: () => {
        const rows = (kind: Kind, columns: string) => sql`jsonb_to_recordset(${json[kind]}::jsonb) AS v(${sql.literal(columns)})`
        const window = (column: string) =>
          sql`${sql.literal(column)} > COALESCE(v.s, '-infinity'::timestamptz) AND ${sql.literal(column)} <= COALESCE(v.u, 'infinity'::timestamptz)`
        return sql`
          SELECT v.q, (SELECT COUNT(*) FROM rapport_orders AS o WHERE o.workspace_id = ${workspaceId} AND o.contact_id = v.c AND o.status = 'placed' AND ${window("o.placed_at")}) AS n,
                 NULL::timestamptz AS at
            FROM ${rows("orderCount", "q integer, c text, s timestamptz, u timestamptz")}
          UNION ALL
          SELECT v.q, NULL, o.placed_at FROM ${rows("orderTimes", "q integer, c text, s timestamptz, u timestamptz")}
            JOIN rapport_orders AS o ON o.workspace_id = ${workspaceId} AND o.contact_id = v.c AND o.status = 'placed' AND ${window("o.placed_at")}
          UNION ALL
          SELECT v.q, (SELECT COUNT(*) FROM rapport_events AS e WHERE e.workspace_id = ${workspaceId} AND e.contact_id = v.c
                         AND e.type IN (SELECT jsonb_array_elements_text(v.t)) AND ${window("e.occurred_at")}), NULL
            FROM ${rows("eventCount", "q integer, c text, t jsonb, s timestamptz, u timestamptz")}
          UNION ALL
          SELECT v.q, NULL, e.occurred_at FROM ${rows("eventTimes", "q integer, c text, t jsonb, s timestamptz, u timestamptz")}
            JOIN rapport_events AS e ON e.workspace_id = ${workspaceId} AND e.contact_id = v.c
                 AND e.type IN (SELECT jsonb_array_elements_text(v.t)) AND ${window("e.occurred_at")}
          UNION ALL
          SELECT v.q, NULL, (SELECT t.occurred_at FROM rapport_timeline AS t WHERE t.workspace_id = ${workspaceId} AND t.contact_id = v.c
                               AND t.kind = 'stageChange' ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1)
            FROM ${rows("lastStageChange", "q integer, c text")}
          UNION ALL
          SELECT v.q, (SELECT COUNT(*) FROM rapport_rule_firings AS f WHERE f.workspace_id = ${workspaceId} AND f.rule_id = v.r
                         AND f.contact_id = v.c AND f.dedupe_key = v.k), NULL
            FROM ${rows("firingKey", "q integer, c text, r text, k text")}
          UNION ALL
          SELECT v.q, NULL, (SELECT f.fired_at FROM rapport_rule_firings AS f WHERE f.workspace_id = ${workspaceId} AND f.rule_id = v.r
                               AND f.contact_id = v.c ORDER BY f.fired_at DESC, f.id DESC LIMIT 1)
            FROM ${rows("lastFiring", "q integer, c text, r text")}`
      },
      // Instants are ISO-8601 text in UTC: they compare as strings; '' and '~' stand for open ends.
      // CROSS JOIN keeps the questions as the outer loop: SQLite's planner otherwise scans the
      // workspace's orders or events once and probes the questions.
      orElse: () => {
        const field = (name: string) => sql.literal(`json_extract(v.value, '$.${name}')`)
        const window = (column: string) =>
          sql`${sql.literal(column)} > COALESCE(${field("s")}, '') AND ${sql.literal(column)} <= COALESCE(${field("u")}, '~')`
        const types = sql.literal(`(SELECT value FROM json_each(v.value, '$.t'))`)
        return sql`
          SELECT ${field("q")} AS q, (SELECT COUNT(*) FROM rapport_orders AS o WHERE o.workspace_id = ${workspaceId} AND o.contact_id = ${field("c")}
                                        AND o.status = 'placed' AND ${window("o.placed_at")}) AS n, NULL AS at
            FROM json_each(${json.orderCount}) AS v
          UNION ALL
          SELECT ${field("q")}, NULL, o.placed_at FROM json_each(${json.orderTimes}) AS v
            CROSS JOIN rapport_orders AS o WHERE o.workspace_id = ${workspaceId} AND o.contact_id = ${field("c")} AND o.status = 'placed' AND ${window("o.placed_at")}
          UNION ALL
          SELECT ${field("q")}, (SELECT COUNT(*) FROM rapport_events AS e WHERE e.workspace_id = ${workspaceId} AND e.contact_id = ${field("c")}
                                   AND e.type IN ${types} AND ${window("e.occurred_at")}), NULL
            FROM json_each(${json.eventCount}) AS v
          UNION ALL
          SELECT ${field("q")}, NULL, e.occurred_at FROM json_each(${json.eventTimes}) AS v
            CROSS JOIN rapport_events AS e WHERE e.workspace_id = ${workspaceId} AND e.contact_id = ${field("c")}
                 AND e.type IN ${types} AND ${window("e.occurred_at")}
          UNION ALL
          SELECT ${field("q")}, NULL, (SELECT t.occurred_at FROM rapport_timeline AS t WHERE t.workspace_id = ${workspaceId}
                                         AND t.contact_id = ${field("c")} AND t.kind = 'stageChange' ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1)
            FROM json_each(${json.lastStageChange}) AS v
          UNION ALL
          SELECT ${field("q")}, (SELECT COUNT(*) FROM rapport_rule_firings AS f WHERE f.workspace_id = ${workspaceId} AND f.rule_id = ${field("r")}
                                   AND f.contact_id = ${field("c")} AND f.dedupe_key = ${field("k")}), NULL
            FROM json_each(${json.firingKey}) AS v
          UNION ALL
          SELECT ${field("q")}, NULL, (SELECT f.fired_at FROM rapport_rule_firings AS f WHERE f.workspace_id = ${workspaceId} AND f.rule_id = ${field("r")}
                                         AND f.contact_id = ${field("c")} ORDER BY f.fired_at DESC, f.id DESC LIMIT 1)
            FROM json_each(${json.lastFiring}) AS v`
      }
    })

  const history = (workspaceId: string, questions: ReadonlyArray<Storage.HistoryQuestion>) =>
    Effect.gen(function* () {
      const counts = questions.map(() => 0)
      const times: Array<Array<DateTime.Utc>> = questions.map(() => [])
      for (let start = 0; start < questions.length; start += CHUNK) {
        const byKind: Record<Kind, Array<unknown>> = { orderCount: [], orderTimes: [], eventCount: [], eventTimes: [], lastStageChange: [], firingKey: [], lastFiring: [] }
        for (let i = start; i < Math.min(questions.length, start + CHUNK); i++) byKind[questions[i]!.ask].push(encode(questions[i]!, i))
        const json = Object.fromEntries(KINDS.map((kind) => [kind, JSON.stringify(byKind[kind])])) as Record<Kind, string>
        for (const row of yield* Effect.flatMap(statement(workspaceId, json), decodeAnswers)) {
          if (row.n !== null) counts[row.q] = row.n
          if (row.at !== null) times[row.q]!.push(row.at)
        }
      }
      return questions.map((question, i): Storage.HistoryAnswer => {
        const at = times[i]!.sort((a, b) => a.epochMillis - b.epochMillis)
        const counted = question.ask === "orderCount" || question.ask === "eventCount" || question.ask === "firingKey"
        return { count: counted ? counts[i]! : at.length, times: at }
      })
    })

  return { history: (workspaceId: string, questions: ReadonlyArray<Storage.HistoryQuestion>) => (questions.length === 0 ? Effect.succeed([]) : orStorage(history(workspaceId, questions))) }
}
