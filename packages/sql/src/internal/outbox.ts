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
import { ConsentRow, CountRow, encoderOf, FiringRow, JobRow, MaybeAtRow, RuleRow, VariantCountRow } from "./rows.js"
import { openedFragment } from "./opens.js"
import { insertChunks, onKeyTaken, orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const iso = DateTime.formatIso

// Rows per multi-row INSERT on PostgreSQL (SQLite takes fewer, see insertChunks): 500 jobs of 23
// columns stay under its 65,535 bound parameters.
const CHUNK = 500

const WorkspaceIdRow = Schema.Struct({ workspace_id: Schema.String })
const CounterRow = Schema.Struct({ value: CountRow.fields.n })

const byDue = (a: { dueAt: DateTime.Utc; id: string }, b: { dueAt: DateTime.Utc; id: string }) =>
  DateTime.toEpochMillis(a.dueAt) - DateTime.toEpochMillis(b.dueAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

// The columns a job's run never changes (see `settle`).
const queuedColumns = ["workspace_id", "id", "contact_id", "idempotency_key", "kind", "rule_id", "event_id", "variant", "action", "action_type", "action_index", "created_at"] as const

export const makeOutbox = (sql: SqlClient.SqlClient, instant: (value: DateTime.Utc) => Statement.Fragment) => {
  const { all, first, affected, among, optionalEq, records } = makeTables(sql)
  const insertChunk = insertChunks(sql, CHUNK)
  const encodeJob = encoderOf(JobRow)
  const encodeFiring = encoderOf(FiringRow)
  const encodeConsent = encoderOf(ConsentRow)
  const count = (statement: Parameters<ReturnType<typeof first>>[0]) =>
    Effect.map(first(CountRow)(statement), Option.match({ onNone: () => 0, onSome: (r) => r.n }))

  // --- rules

  const ruleRecords = records("rapport_rules", "rule", RuleRow)
  const rules: Storage.RuleRepository = {
    ...ruleRecords,
    insert: (rule) => onKeyTaken(ruleRecords.insert(rule), "rule", rule.key, () => Errors.Conflict.unique("rule", "id", rule.id)),
    update: (rule, expectedVersion) => onKeyTaken(ruleRecords.update(rule, expectedVersion), "rule", rule.key),
    list: (ws) => all(RuleRow)(sql`SELECT * FROM rapport_rules WHERE workspace_id = ${ws} ORDER BY id`),
    getByKey: (ws, key) => first(RuleRow)(sql`SELECT * FROM rapport_rules WHERE workspace_id = ${ws} AND setup_key = ${key}`)
  }

  // --- jobs

  const inWorkspaces = (workspaces: ReadonlyArray<string> | undefined) => (workspaces === undefined ? [] : among("workspace_id", workspaces))

  const dueNow = (request: Storage.ClaimRequest) =>
    sql`((status = 'pending' AND due_at <= ${instant(request.now)}) OR (status = 'running' AND lease_until <= ${instant(request.now)}))`

  const claimed = (request: Storage.ClaimRequest) =>
    sql`status = 'running', attempts = attempts + 1, lease_until = ${iso(request.leaseUntil)}, claim_token = ${request.token}, updated_at = ${iso(request.now)}`

  // Claims lock rows, and a distributed PostgreSQL (Citus, by workspace_id) locks rows only in a
  // statement pinned to one shard: every claiming statement names its one workspace.
  const claimIn = (request: Storage.ClaimRequest, workspaceId: string, limit: number) =>
    all(JobRow)(
      sql.onDialectOrElse({
        // Rows another transaction holds are skipped, not waited for: instances claim disjoint
        // batches without blocking each other. The locking SELECT is a CTE so that it runs once: a
        // subquery in FROM may be scanned again for each row, and a second scan skips the rows the
        // first one locked and returns the next ones, claiming more than `limit`.
        pg: () => sql`WITH c AS MATERIALIZED (
            SELECT id FROM rapport_jobs WHERE workspace_id = ${workspaceId} AND ${dueNow(request)}
            ORDER BY due_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          UPDATE rapport_jobs AS j SET ${claimed(request)} FROM c
          WHERE j.workspace_id = ${workspaceId} AND j.id = c.id RETURNING j.*`,
        // A SQLite write holds the database's one write lock: claims never overlap.
        orElse: () => sql`UPDATE rapport_jobs SET ${claimed(request)}
          WHERE workspace_id = ${workspaceId} AND id IN (SELECT id FROM rapport_jobs WHERE workspace_id = ${workspaceId} AND ${dueNow(request)} ORDER BY due_at, id LIMIT ${limit})
          RETURNING *`
      })
    )

  // Which workspaces hold the `limit` soonest due jobs, and how many each: read without a lock,
  // through the partial indexes on due_at and lease_until (on a distributed database, each shard
  // reads at most `limit` entries of each). The claims that follow re-check every row.
  const dueWorkspaces = (request: Storage.ClaimRequest) => {
    const window = (condition: Statement.Fragment) =>
      sql`SELECT workspace_id, due_at, id FROM rapport_jobs WHERE ${sql.and([condition, ...inWorkspaces(request.workspaces)])}
          ORDER BY due_at, id LIMIT ${request.limit}`
    return Effect.map(
      all(WorkspaceIdRow)(
        sql`SELECT workspace_id FROM (
              SELECT * FROM (${window(sql`status = 'pending' AND due_at <= ${instant(request.now)}`)}) AS pending
              UNION ALL
              SELECT * FROM (${window(sql`status = 'running' AND lease_until <= ${instant(request.now)}`)}) AS expired
            ) AS due ORDER BY due_at, id LIMIT ${request.limit}`
      ),
      (rows) => {
        const counts = new Map<string, number>()
        for (const row of rows) counts.set(row.workspace_id, (counts.get(row.workspace_id) ?? 0) + 1)
        return counts
      }
    )
  }

  // The jobs a claim over several workspaces returns are those one statement over all of them
  // would: the soonest due first. A job another claim took meanwhile is replaced by the workspace's
  // next due one.
  const claim = (request: Storage.ClaimRequest) =>
    request.limit <= 0 || (request.workspaces !== undefined && request.workspaces.length === 0)
      ? Effect.succeed([])
      : request.workspaces !== undefined && request.workspaces.length === 1
        ? Effect.map(claimIn(request, request.workspaces[0]!, request.limit), (jobs) => [...jobs].sort(byDue))
        : Effect.flatMap(dueWorkspaces(request), (counts) =>
            Effect.map(
              Effect.forEach([...counts], ([workspaceId, n]) => claimIn(request, workspaceId, n)),
              (claims) => claims.flat().sort(byDue)
            )
          )

  const jobs: Storage.JobRepository = {
    insertMany: (items) =>
      Effect.forEach(
        insertChunk(items),
        (chunk) =>
          orStorage(
            Effect.flatMap(Effect.forEach(chunk, (j) => encodeJob(j)), (rows) =>
              Effect.asVoid(sql`INSERT INTO rapport_jobs ${sql.insert(rows)} ON CONFLICT DO NOTHING`)
            )
          ),
        { discard: true }
      ),
    get: (ws, id) => first(JobRow)(sql`SELECT * FROM rapport_jobs WHERE workspace_id = ${ws} AND id = ${id}`),
    getByKey: (ws, key) => first(JobRow)(sql`SELECT * FROM rapport_jobs WHERE workspace_id = ${ws} AND idempotency_key = ${key}`),
    claim,
    settle: (job, token) =>
      orStorage(
        Effect.flatMap(encodeJob(job), (row) =>
          Effect.map(
            // The contact is left as stored: a merge may have moved the job while it ran. What the
            // rule queued is left too: writing only the run's state spares SQLite rewriting the
            // action's JSON and the entries of indexes on columns that did not change.
            sql`UPDATE rapport_jobs SET ${sql.update(row, queuedColumns)}
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
              return times.length === 0 ? Option.none() : Option.some(times.reduce((a, b) => DateTime.min(a, b)))
            }
          ),
    reservedSince: (ws, q) =>
      q.categories.length === 0
        ? Effect.succeed(0)
        : count(
            sql`SELECT COUNT(*) AS n FROM rapport_jobs WHERE workspace_id = ${ws} AND contact_id = ${q.contactId}
                AND ${sql.in("category", q.categories)} AND reserved_at > ${instant(q.since)}`
          ),
    placesSince: (ws, q) => {
      const where = sql`workspace_id = ${ws} AND contact_id = ${q.contactId} AND purpose = ${q.purpose} AND reserved_at > ${instant(q.since)}`
      return Effect.flatMap(count(sql`SELECT COUNT(*) AS n FROM rapport_jobs WHERE ${where}`), (n) =>
        n < q.max
          ? Effect.succeed({ count: n, releasedBy: Option.none<DateTime.Utc>() })
          : Effect.map(
              first(MaybeAtRow)(sql`SELECT reserved_at AS at FROM rapport_jobs WHERE ${where} ORDER BY reserved_at, id LIMIT 1 OFFSET ${n - q.max}`),
              (row) => ({ count: n, releasedBy: Option.flatMap(row, (r) => Option.fromNullable(r.at)) })
            )
      )
    },
    countByVariant: (ws, q) =>
      q.statuses.length === 0 || q.actionTypes.length === 0
        ? Effect.succeed([])
        : Effect.map(
            all(VariantCountRow)(
              // The opens ride along in the same statement: only a done mail has a messageId to match.
              sql`SELECT j.variant AS variant, COUNT(*) AS n,
                         SUM(CASE WHEN j.status = 'done' AND ${openedFragment(sql)} THEN 1 ELSE 0 END) AS opened
                  FROM rapport_jobs j WHERE j.workspace_id = ${ws} AND j.rule_id = ${q.ruleId}
                  AND ${sql.in("j.status", q.statuses)} AND ${sql.in("j.action_type", q.actionTypes)} GROUP BY j.variant`
            ),
            (rows) => rows.map((r) => ({ variant: r.variant, count: r.n, opened: r.opened ?? 0 }))
          ),
    removeForContact: (ws, contactId) => affected(sql`DELETE FROM rapport_jobs WHERE workspace_id = ${ws} AND contact_id = ${contactId} RETURNING id`)
  }

  // --- firings

  const firings: Storage.FiringRepository = {
    insertMany: (items) =>
      Effect.forEach(
        insertChunk(items),
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
    convert: (ws, q) =>
      affected(
        sql`UPDATE rapport_rule_firings SET converted_at = ${iso(q.convertedAt)}
            WHERE workspace_id = ${ws} AND contact_id = ${q.contactId} AND goal_event = ${q.goalEvent} AND converted_at IS NULL
              AND fired_at <= ${instant(q.firedBy)} AND goal_until >= ${instant(q.openAt)} RETURNING id`
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
                ON CONFLICT (workspace_id, contact_id, purpose) DO UPDATE
                SET granted = excluded.granted, source = excluded.source, at = excluded.at, proof = excluded.proof, requested_at = excluded.requested_at`
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
        first(CounterRow)(
          sql`INSERT INTO rapport_counters (workspace_id, counter_key, value) VALUES (${ws}, ${key}, 1)
              ON CONFLICT (workspace_id, counter_key) DO UPDATE SET value = rapport_counters.value + 1 RETURNING value`
        ),
        Option.match({ onNone: () => 1, onSome: (r) => r.value })
      ),
    get: (ws, key) =>
      Effect.map(
        first(CounterRow)(sql`SELECT value FROM rapport_counters WHERE workspace_id = ${ws} AND counter_key = ${key}`),
        Option.match({ onNone: () => 0, onSome: (r) => r.value })
      )
  }

  return { rules, jobs, firings, consents, counters }
}
