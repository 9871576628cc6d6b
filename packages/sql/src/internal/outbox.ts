// The rule engine's repositories: rules, the outbox of jobs (claimed with a lease; on PostgreSQL
// with FOR UPDATE SKIP LOCKED, so several app instances share the work), firings, consents and
// counters. Written once for both dialects, like the rest of SqlStorage.
import { Errors, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ConsentRow, CountRow, FiringRow, JobRow, MaybeAtRow, RuleRow, VariantCountRow } from "./rows.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso

// Rows per multi-row INSERT: 500 jobs of 23 columns stay under SQLite's 32,766 bound parameters.
const CHUNK = 500
const chunks = <A>(items: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK))

const byDue = (a: { dueAt: DateTime.Utc; id: string }, b: { dueAt: DateTime.Utc; id: string }) =>
  DateTime.toEpochMillis(a.dueAt) - DateTime.toEpochMillis(b.dueAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export const makeOutbox = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment) => {
  const { all, first, affected, among, optionalEq, records } = makeTables(sql)
  const encodeJob = Schema.encode(JobRow)
  const encodeFiring = Schema.encode(FiringRow)
  const encodeConsent = Schema.encode(ConsentRow)
  const count = (statement: Parameters<ReturnType<typeof first>>[0]) =>
    Effect.map(first(CountRow)(statement), Option.match({ onNone: () => 0, onSome: (r) => r.n }))

  // --- rules

  const rules: Storage.RuleRepository = {
    ...records("rapport_rules", "rule", RuleRow, (rule) => Errors.Conflict.unique("rule", "id", rule.id)),
    list: (ws) => all(RuleRow)(sql`SELECT * FROM rapport_rules WHERE workspace_id = ${ws} ORDER BY id`)
  }

  // --- jobs

  const inWorkspaces = (workspaces: ReadonlyArray<string> | undefined) => (workspaces === undefined ? [] : among("workspace_id", workspaces))

  const due = (request: Storage.ClaimRequest) =>
    sql.and([
      sql`((status = 'pending' AND due_at <= ${instant(request.now)}) OR (status = 'running' AND lease_until <= ${instant(request.now)}))`,
      ...inWorkspaces(request.workspaces)
    ])

  const claimed = (request: Storage.ClaimRequest) =>
    sql`status = 'running', attempts = attempts + 1, lease_until = ${iso(request.leaseUntil)}, claim_token = ${request.token}, updated_at = ${iso(request.now)}`

  const claim = (request: Storage.ClaimRequest) =>
    request.limit <= 0 || (request.workspaces !== undefined && request.workspaces.length === 0)
      ? Effect.succeed([])
      : Effect.map(
          all(JobRow)(
            sql.onDialectOrElse({
              // Rows another transaction holds are skipped, not waited for: instances claim
              // disjoint batches without blocking each other.
              pg: () => sql`UPDATE rapport_jobs AS j SET ${claimed(request)}
                FROM (SELECT workspace_id, id FROM rapport_jobs WHERE ${due(request)}
                      ORDER BY due_at, id LIMIT ${request.limit} FOR UPDATE SKIP LOCKED) AS c
                WHERE j.workspace_id = c.workspace_id AND j.id = c.id RETURNING j.*`,
              // A SQLite write holds the database's one write lock: claims never overlap.
              orElse: () => sql`UPDATE rapport_jobs SET ${claimed(request)}
                WHERE (workspace_id, id) IN (SELECT workspace_id, id FROM rapport_jobs WHERE ${due(request)} ORDER BY due_at, id LIMIT ${request.limit})
                RETURNING *`
            })
          ),
          (jobs) => [...jobs].sort(byDue)
        )

  const jobs: Storage.JobRepository = {
    insertMany: (items) =>
      Effect.forEach(
        chunks(items),
        (chunk) =>
          orStorage(
            Effect.flatMap(Effect.forEach(chunk, (j) => encodeJob(j)), (rows) =>
              Effect.asVoid(sql`INSERT INTO rapport_jobs ${sql.insert(rows)} ON CONFLICT DO NOTHING`)
            )
          ),
        { discard: true }
      ),
    get: (ws, id) => first(JobRow)(sql`SELECT * FROM rapport_jobs WHERE workspace_id = ${ws} AND id = ${id}`),
    claim,
    settle: (job, token) =>
      orStorage(
        Effect.flatMap(encodeJob(job), (row) =>
          Effect.map(
            // The contact is left as stored: a merge may have moved the job while it ran.
            sql`UPDATE rapport_jobs SET ${sql.update(row, ["workspace_id", "id", "contact_id"])}
                WHERE workspace_id = ${job.workspaceId} AND id = ${job.id} AND status = 'running' AND claim_token = ${token} RETURNING id`,
            (rows) => rows.length > 0
          )
        )
      ),
    requeue: (ws, id, at) =>
      first(JobRow)(
        sql`UPDATE rapport_jobs SET status = 'pending', attempts = 0, due_at = ${iso(at)}, completed_at = NULL, updated_at = ${iso(at)}
            WHERE workspace_id = ${ws} AND id = ${id} AND status IN ('dead', 'skipped') RETURNING *`
      ),
    list: (ws, q) =>
      all(JobRow)(
        sql`SELECT * FROM rapport_jobs WHERE ${sql.and([
          sql`workspace_id = ${ws}`,
          ...among("status", q.statuses),
          ...optionalEq("rule_id", q.ruleId),
          ...optionalEq("contact_id", q.contactId),
          ...(q.after === undefined ? [] : [sql`(due_at, id) > (${instant(q.after.dueAt)}, ${q.after.id})`])
        ])} ORDER BY due_at, id LIMIT ${q.limit}`
      ),
    nextDue: (workspaces) =>
      workspaces !== undefined && workspaces.length === 0
        ? Effect.succeed(Option.none())
        : Effect.map(
            Effect.all([
              first(MaybeAtRow)(sql`SELECT MIN(due_at) AS at FROM rapport_jobs WHERE ${sql.and([sql`status = 'pending'`, ...inWorkspaces(workspaces)])}`),
              first(MaybeAtRow)(sql`SELECT MIN(lease_until) AS at FROM rapport_jobs WHERE ${sql.and([sql`status = 'running'`, ...inWorkspaces(workspaces)])}`)
            ]),
            (rows) => {
              const times = rows.flatMap((row) => (Option.isSome(row) && row.value.at !== null ? [row.value.at] : []))
    getByKey: (ws, key) => first(JobRow)(sql`SELECT * FROM rapport_jobs WHERE workspace_id = ${ws} AND idempotency_key = ${key}`),
              return times.length === 0 ? Option.none() : Option.some(times.reduce((a, b) => DateTime.min(a, b)))
            }
          ),
    marketingSince: (ws, contactId, since) =>
      count(
        sql`SELECT COUNT(*) AS n FROM rapport_jobs
            WHERE workspace_id = ${ws} AND contact_id = ${contactId} AND category = 'marketing' AND reserved_at > ${instant(since)}`
      ),
    sentByVariant: (ws, ruleId) =>
      Effect.map(
        all(VariantCountRow)(
          sql`SELECT variant, COUNT(*) AS n FROM rapport_jobs
              WHERE workspace_id = ${ws} AND rule_id = ${ruleId} AND status = 'done' AND action_type = 'sendEmail' GROUP BY variant`
        ),
        (rows) => rows.map((r) => ({ variant: r.variant, sent: r.n }))
      ),
    removeForContact: (ws, contactId) => affected(sql`DELETE FROM rapport_jobs WHERE workspace_id = ${ws} AND contact_id = ${contactId} RETURNING id`)
  }

  // --- firings

  const firings: Storage.FiringRepository = {
    insert: (firing) => orStorage(Effect.flatMap(encodeFiring(firing), (row) => Effect.asVoid(sql`INSERT INTO rapport_rule_firings ${sql.insert(row)}`))),
    insertMany: (items) =>
      Effect.forEach(
        chunks(items),
        (chunk) =>
          orStorage(
            Effect.flatMap(Effect.forEach(chunk, (f) => encodeFiring(f)), (rows) => Effect.asVoid(sql`INSERT INTO rapport_rule_firings ${sql.insert(rows)}`))
          ),
        { discard: true }
      ),
    latest: (ws, ruleId, contactId) =>
      first(FiringRow)(
        sql`SELECT * FROM rapport_rule_firings WHERE workspace_id = ${ws} AND rule_id = ${ruleId} AND contact_id = ${contactId}
            ORDER BY fired_at DESC, id DESC LIMIT 1`
      ),
    hasKey: (ws, ruleId, contactId, key) =>
      Effect.map(
        count(
          sql`SELECT COUNT(*) AS n FROM rapport_rule_firings
              WHERE workspace_id = ${ws} AND rule_id = ${ruleId} AND contact_id = ${contactId} AND dedupe_key = ${key}`
        ),
        (n) => n > 0
      ),
    convert: (ws, contactId, eventType, at) =>
      affected(
        sql`UPDATE rapport_rule_firings SET converted_at = ${iso(at)}
            WHERE workspace_id = ${ws} AND contact_id = ${contactId} AND goal_event = ${eventType} AND converted_at IS NULL
              AND fired_at <= ${instant(at)} AND goal_until >= ${instant(at)} RETURNING id`
      ),
    stats: (ws, ruleId) =>
      Effect.map(
        all(VariantCountRow)(
          sql`SELECT variant, COUNT(*) AS n, COUNT(converted_at) AS converted FROM rapport_rule_firings
              WHERE workspace_id = ${ws} AND rule_id = ${ruleId} GROUP BY variant`
        ),
        (rows) => rows.map((r) => ({ variant: r.variant, fired: r.n, converted: r.converted ?? 0 }))
      ),
    forContact: (ws, contactId) =>
      all(FiringRow)(sql`SELECT * FROM rapport_rule_firings WHERE workspace_id = ${ws} AND contact_id = ${contactId} ORDER BY fired_at, id`),
    removeForContact: (ws, contactId) =>
      affected(sql`DELETE FROM rapport_rule_firings WHERE workspace_id = ${ws} AND contact_id = ${contactId} RETURNING id`)
  }

  // --- consents

  const consents: Storage.ConsentRepository = {
    list: (ws, contactId) => all(ConsentRow)(sql`SELECT * FROM rapport_consents WHERE workspace_id = ${ws} AND contact_id = ${contactId} ORDER BY purpose`),
    put: (record) =>
      orStorage(
        Effect.flatMap(encodeConsent(record), (row) =>
          Effect.asVoid(
            sql`INSERT INTO rapport_consents ${sql.insert(row)}
                ON CONFLICT (workspace_id, contact_id, purpose) DO UPDATE SET granted = excluded.granted, source = excluded.source, at = excluded.at`
          )
        )
      ),
    removeForContact: (ws, contactId) =>
      affected(sql`DELETE FROM rapport_consents WHERE workspace_id = ${ws} AND contact_id = ${contactId} RETURNING purpose`)
  }

  // --- counters

  const counters: Storage.CounterRepository = {
    increment: (ws, key) =>
      Effect.map(
        first(Schema.Struct({ value: CountRow.fields.n }))(
          sql`INSERT INTO rapport_counters (workspace_id, counter_key, value) VALUES (${ws}, ${key}, 1)
              ON CONFLICT (workspace_id, counter_key) DO UPDATE SET value = rapport_counters.value + 1 RETURNING value`
        ),
        Option.match({ onNone: () => 1, onSome: (r) => r.value })
      ),
    get: (ws, key) =>
      Effect.map(
        first(Schema.Struct({ value: CountRow.fields.n }))(sql`SELECT value FROM rapport_counters WHERE workspace_id = ${ws} AND counter_key = ${key}`),
        Option.match({ onNone: () => 0, onSome: (r) => r.value })
      )
  }

  return { rules, jobs, firings, consents, counters }
}
