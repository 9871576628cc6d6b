// The outbox on PostgreSQL with several app instances: two dispatchers in two OS processes share
// 10,000 due mail jobs and run each exactly once; a dispatcher killed with SIGKILL mid-run leaves
// its claimed jobs to the survivor, which takes them over once their lease ends.
//
// Each worker (fixtures/dispatch-worker.ts) records every mail it sends (idempotency key, pid,
// time) and every claim it makes (job, token, pid, claim time, lease end) in two tables made for
// this run, so the assertions below are plain queries.
//
// Each test runs in a database of its own (besides a fresh workspace), dropped at the end: a
// dispatcher elsewhere on the shared test database that serves every workspace (the default)
// would otherwise take some of these 10,000 jobs, or be handed them if a run is cut short.
import { Contacts, Crm, IdGenerator, Ids, Job, Rules, Storage, Templates, Workspaces } from "@rapport/core"
import { PostgresStorage } from "@rapport/postgres"
import { Fixtures } from "@rapport/testing"
import * as SqlClient from "@effect/sql/SqlClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import pg from "pg"
import { available, emptyDatabase, skipReason } from "./database.js"

const JOBS = 10_000
const BATCH_SIZE = 10
const CONCURRENCY = 4
/** Short, so the survivor of the kill takes over soon; far longer than a batch of 10 takes. */
const KILL_TEST_LEASE_MS = 3_000
/** Without a crash no lease should ever end: the default minute. */
const NO_CRASH_LEASE_MS = 60_000
const MAIL_DELAY_MS = 2
/**
 * The victim stands still right after this many sends (the last one's job not marked done, the
 * rest of its batch in flight) and is killed then: mid-run, always mid-batch.
 */
const KILL_AFTER_SENDS = 2_500
/**
 * Generous: a dispatcher spends several ms of CPU per mail job, so on 2 busy cores 10,000 jobs
 * can take a minute or more.
 */
const RUN_TIMEOUT_MS = 240_000
const TEST_TIMEOUT_MS = 300_000

const script = fileURLToPath(new URL("./fixtures/dispatch-worker.ts", import.meta.url))
const cwd = fileURLToPath(new URL("..", import.meta.url))

// --- setup: a workspace with a template, a rule that mails it on contact.created, 10,000 contacts,
// and for each contact the job that rule queues (inserted in bulk: emitting would take minutes).

interface Scenario {
  readonly url: string
  readonly pool: pg.Pool
  readonly drop: () => Promise<unknown>
  readonly workspace: Ids.WorkspaceId
  readonly sends: string
  readonly claims: string
}

const EventRow = Schema.Struct({ contact_id: Schema.String, id: Schema.String })

const seed = (workspace: Ids.WorkspaceId) =>
  Effect.gen(function* () {
    const contacts = yield* Contacts.Contacts
    const created = []
    for (let from = 0; from < JOBS; from += 5000) {
      const inputs = Array.from({ length: Math.min(5000, JOBS - from) }, (_, i) => ({ email: `c${from + i}@dispatch.example`, firstName: `C${from + i}` }))
      created.push(...(yield* contacts.createMany(inputs)))
    }
    const template = yield* (yield* Templates.Templates).create({ name: "Welcome", subject: "Welcome, {{ contact.firstName }}", text: "Hello {{ contact.firstName }}, welcome aboard." })
    // Saved after the contacts, so that it does not fire while they are created: its jobs come next.
    const rule = yield* (yield* Rules.Rules).create({ name: "Welcome mail", on: "contact.created", actions: [{ type: "sendEmail", template: template.id }] })
    const action = rule.actions[0]!
    const sql = yield* SqlClient.SqlClient
    const events = yield* Effect.flatMap(
      sql`SELECT contact_id, id FROM rapport_events WHERE workspace_id = ${workspace} AND type = 'contact.created'`,
      Schema.decodeUnknown(Schema.Array(EventRow))
    )
    const eventOf = new Map(events.map((e) => [e.contact_id, Ids.EventId.make(e.id)]))
    if (eventOf.size !== JOBS) return yield* Effect.dieMessage(`expected ${JOBS} contact.created events, found ${eventOf.size}`)
    const ids = yield* IdGenerator.IdGenerator
    const now = yield* DateTime.now
    const jobs = yield* Effect.forEach(created, (contact, i) =>
      Effect.map(ids.next, (id) => {
        const eventId = eventOf.get(contact.id)!
        // What the rule queues for this event (see fire in core's internal/rules.ts). Due in the
        // past, one millisecond apart. Only the first job is validated by its Schema: the rest are
        // built from the same checked parts, and validating 10,000 Actions takes seconds.
        return new Job.Job(
          {
            id: Ids.JobId.make(id),
            workspaceId: workspace,
            idempotencyKey: `${workspace}/${rule.id}/${eventId}/0`,
            kind: "action",
            ruleId: rule.id,
            eventId,
            contactId: contact.id,
            variant: null,
            action,
            actionIndex: 0,
            category: null,
            dueAt: DateTime.subtract(now, { millis: 60_000 - i }),
            status: "pending",
            attempts: 0,
            leaseUntil: null,
            claimToken: null,
            lastError: null,
            outcome: null,
            reservedAt: null,
            createdAt: now,
            updatedAt: now,
            completedAt: null
          },
          i > 0
        )
      })
    )
    yield* (yield* Storage.Storage).jobs.insertMany(jobs)
  }).pipe(Workspaces.withWorkspace(workspace))

const prepare = async (): Promise<Scenario> => {
  const started = Date.now()
  const database = await emptyDatabase()
  const workspace = Fixtures.freshWorkspaceId()
  const suffix = randomUUID().replace(/-/g, "").slice(0, 12)
  const scenario: Scenario = {
    url: database.url,
    pool: new pg.Pool({ connectionString: database.url, max: 4 }),
    drop: database.drop,
    workspace,
    sends: `dispatch_test_sends_${suffix}`,
    claims: `dispatch_test_claims_${suffix}`
  }
  try {
    // The test's own tables, not Rapport's. No unique constraint: duplicates are what we count.
    await query(scenario, `CREATE TABLE ${scenario.sends} (idempotency_key text NOT NULL, pid int NOT NULL, at timestamptz NOT NULL)`)
    await query(
      scenario,
      `CREATE TABLE ${scenario.claims} (job_id text NOT NULL, token text NOT NULL, pid int NOT NULL, claimed_at timestamptz NOT NULL, lease_until timestamptz NOT NULL)`
    )
    await Effect.runPromise(seed(workspace).pipe(Effect.provide(Crm.layer.pipe(Layer.provideMerge(PostgresStorage.layer({ url: scenario.url }))))))
    const due = await query<{ n: number }>(scenario, `SELECT COUNT(*)::int AS n FROM rapport_jobs WHERE workspace_id = $1 AND status = 'pending' AND due_at <= now()`, [workspace])
    expect(due[0]!.n, "due jobs after setup").toBe(JOBS)
  } catch (error) {
    await cleanUp(scenario)
    throw error
  }
  console.log(`[dispatch.test] setup of ${JOBS} due jobs in workspace ${workspace}: ${Date.now() - started} ms`)
  return scenario
}

/** Stops any worker left (a failed test), then drops the test's database. */
const cleanUp = async (scenario: Scenario) => {
  await Promise.all([...running].map((worker) => (worker.child.kill("SIGKILL"), worker.exited)))
  await scenario.pool.end()
  await scenario.drop()
}

const query = async <Row>(scenario: Scenario, text: string, values: ReadonlyArray<unknown> = []): Promise<Array<Row>> =>
  (await scenario.pool.query(text, values as Array<unknown>)).rows as Array<Row>

// --- the worker processes

interface Worker {
  readonly child: ChildProcess
  readonly pid: number
  /** Everything it printed, for failure messages. */
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly result: () => WorkerResult | undefined
}

interface WorkerResult {
  readonly pid: number
  readonly ok: boolean
  readonly ms: number
  readonly sends: number
  readonly claimed: number
  readonly done: number
  readonly retried: number
  readonly dead: number
  readonly lost: number
  readonly failedRuns: number
}

const running = new Set<Worker>()
afterEach(() => {
  // A timed-out test leaves no worker behind.
  for (const worker of running) worker.child.kill("SIGKILL")
})

const startWorker = (scenario: Scenario, leaseMs: number, freezeAfter = 0): Worker => {
  const args = [scenario.workspace, scenario.sends, scenario.claims, BATCH_SIZE, CONCURRENCY, leaseMs, MAIL_DELAY_MS, freezeAfter].map(String)
  const child = spawn(process.execPath, ["--conditions=@rapport/source", "--import", "tsx", script, scenario.url, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      running.delete(worker)
      resolve({ code, signal })
    })
  )
  const worker: Worker = {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    result: () => {
      const line = output.split("\n").find((l) => l.startsWith("RESULT "))
      return line === undefined ? undefined : (JSON.parse(line.slice("RESULT ".length)) as WorkerResult)
    }
  }
  running.add(worker)
  return worker
}

/** Waits for the worker to exit; fails with everything it printed unless it exited 0. */
const finished = async (worker: Worker, name: string) => {
  const { code, signal } = await worker.exited
  expect({ code, signal }, `${name} (pid ${worker.pid}) exited abnormally; its output:\n${worker.output()}`).toEqual({ code: 0, signal: null })
  return worker.result()!
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: () => string): Promise<A> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms).unref())])

// --- what the tables say

interface Send {
  readonly key: string
  readonly pids: Array<number>
  readonly ats: Array<Date>
}
interface Claim {
  readonly job_id: string
  readonly tokens: Array<string>
  readonly pids: Array<number>
  readonly claimed: Array<Date>
  readonly leases: Array<Date>
}

const state = async (scenario: Scenario) => {
  const [jobs, sends, perPid, duplicates, unknownKeys, unsent, reclaimed, timeline] = await Promise.all([
    query<{ status: string; attempts: number; n: number }>(
      scenario,
      `SELECT status, attempts, COUNT(*)::int AS n FROM rapport_jobs WHERE workspace_id = $1 GROUP BY status, attempts ORDER BY status, attempts`,
      [scenario.workspace]
    ),
    query<{ total: number; distinct: number }>(scenario, `SELECT COUNT(*)::int AS total, COUNT(DISTINCT idempotency_key)::int AS distinct FROM ${scenario.sends}`),
    query<{ pid: number; n: number }>(scenario, `SELECT pid, COUNT(*)::int AS n FROM ${scenario.sends} GROUP BY pid`),
    query<Send>(
      scenario,
      `SELECT idempotency_key AS key, array_agg(pid ORDER BY at) AS pids, array_agg(at ORDER BY at) AS ats
       FROM ${scenario.sends} GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key`
    ),
    query<{ n: number }>(
      scenario,
      `SELECT COUNT(*)::int AS n FROM ${scenario.sends} s
       WHERE NOT EXISTS (SELECT 1 FROM rapport_jobs j WHERE j.workspace_id = $1 AND j.idempotency_key = s.idempotency_key)`,
      [scenario.workspace]
    ),
    query<{ n: number }>(
      scenario,
      `SELECT COUNT(*)::int AS n FROM rapport_jobs j
       WHERE j.workspace_id = $1 AND NOT EXISTS (SELECT 1 FROM ${scenario.sends} s WHERE s.idempotency_key = j.idempotency_key)`,
      [scenario.workspace]
    ),
    query<Claim & { key: string; attempts: number }>(
      scenario,
      `SELECT c.job_id, j.idempotency_key AS key, j.attempts, array_agg(c.token ORDER BY c.claimed_at) AS tokens, array_agg(c.pid ORDER BY c.claimed_at) AS pids,
              array_agg(c.claimed_at ORDER BY c.claimed_at) AS claimed, array_agg(c.lease_until ORDER BY c.claimed_at) AS leases
       FROM ${scenario.claims} c JOIN rapport_jobs j ON j.workspace_id = $1 AND j.id = c.job_id
       GROUP BY c.job_id, j.idempotency_key, j.attempts HAVING COUNT(*) > 1 ORDER BY c.job_id`,
      [scenario.workspace]
    ),
    query<{ n: number }>(scenario, `SELECT COUNT(*)::int AS n FROM rapport_timeline WHERE workspace_id = $1 AND kind = 'email'`, [scenario.workspace])
  ])
  const claimRows = await query<{ n: number; jobs: number }>(scenario, `SELECT COUNT(*)::int AS n, COUNT(DISTINCT job_id)::int AS jobs FROM ${scenario.claims}`)
  return {
    jobs,
    sends: sends[0]!,
    perPid: Object.fromEntries(perPid.map((r) => [r.pid, r.n])) as Record<number, number>,
    duplicates,
    unknownKeys: unknownKeys[0]!.n,
    unsent: unsent[0]!.n,
    reclaimed,
    claims: claimRows[0]!,
    emailTimelineEntries: timeline[0]!.n
  }
}

const suite = available ? describe : describe.skip

suite(`Dispatcher on PostgreSQL, two OS processes${available ? "" : ` (${skipReason})`}`, () => {
  it(`two dispatchers over ${JOBS.toLocaleString("en")} due jobs run each job exactly once and share the work`, async () => {
    const scenario = await prepare()
    try {
      const started = Date.now()
      const a = startWorker(scenario, NO_CRASH_LEASE_MS)
      const b = startWorker(scenario, NO_CRASH_LEASE_MS)
      const outputs = () => `\n--- worker A:\n${a.output()}\n--- worker B:\n${b.output()}`
      const [ra, rb] = await withTimeout(Promise.all([finished(a, "worker A"), finished(b, "worker B")]), RUN_TIMEOUT_MS, outputs)
      const elapsed = Date.now() - started
      const s = await state(scenario)
      console.log(
        `[dispatch.test] no crash: ${elapsed} ms; A (pid ${a.pid}) sent ${s.perPid[a.pid] ?? 0} in ${ra.ms} ms, B (pid ${b.pid}) sent ${s.perPid[b.pid] ?? 0} in ${rb.ms} ms; ` +
          `${s.sends.total} sends, ${s.sends.distinct} keys, ${s.duplicates.length} duplicated`
      )
      const context = `state: ${JSON.stringify({ ...s, duplicates: s.duplicates.slice(0, 20), reclaimed: s.reclaimed.slice(0, 20) })}${outputs()}`
      // Every job ran, once: one claim, one attempt, one send, one timeline entry.
      expect(s.jobs, context).toEqual([{ status: "done", attempts: 1, n: JOBS }])
      expect(s.duplicates, context).toEqual([])
      expect(s.sends, context).toEqual({ total: JOBS, distinct: JOBS })
      expect({ unknownKeys: s.unknownKeys, unsent: s.unsent }, context).toEqual({ unknownKeys: 0, unsent: 0 })
      expect(s.claims, context).toEqual({ n: JOBS, jobs: JOBS })
      expect(s.emailTimelineEntries, context).toBe(JOBS)
      for (const r of [ra, rb]) expect({ lost: r.lost, retried: r.retried, dead: r.dead, failedRuns: r.failedRuns }, context).toEqual({ lost: 0, retried: 0, dead: 0, failedRuns: 0 })
      // Both did a share of the work.
      expect(s.perPid[a.pid] ?? 0, context).toBeGreaterThan(0)
      expect(s.perPid[b.pid] ?? 0, context).toBeGreaterThan(0)
      expect((s.perPid[a.pid] ?? 0) + (s.perPid[b.pid] ?? 0), context).toBe(JOBS)
    } finally {
      await cleanUp(scenario)
    }
  }, TEST_TIMEOUT_MS)

  it("a dispatcher killed with SIGKILL mid-run: the survivor takes over its claimed jobs once their lease ends and finishes every job", async () => {
    const scenario = await prepare()
    try {
      const started = Date.now()
      const victim = startWorker(scenario, KILL_TEST_LEASE_MS, KILL_AFTER_SENDS)
      const survivor = startWorker(scenario, KILL_TEST_LEASE_MS)
      const outputs = () => `\n--- victim:\n${victim.output()}\n--- survivor:\n${survivor.output()}`

      // Kill the victim once it stands still: right after a send whose job it has not marked done,
      // with the rest of its batch in flight.
      let killedAt: Date | undefined
      let victimSentBeforeKill = 0
      await withTimeout(
        (async () => {
          while (!victim.output().includes("FROZEN")) {
            if (victim.child.exitCode !== null || victim.child.signalCode !== null) throw new Error("the victim exited before it could be killed")
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          victim.child.kill("SIGKILL")
          killedAt = new Date()
          const [row] = await query<{ sent: number }>(scenario, `SELECT COUNT(*)::int AS sent FROM ${scenario.sends} WHERE pid = $1`, [victim.pid])
          victimSentBeforeKill = row!.sent
        })(),
        RUN_TIMEOUT_MS,
        () => `the victim never stood still after ${KILL_AFTER_SENDS} sends${outputs()}`
      )
      const victimExit = await victim.exited
      expect(victimExit, outputs()).toEqual({ code: null, signal: "SIGKILL" })
      const rs = await withTimeout(finished(survivor, "survivor"), RUN_TIMEOUT_MS, outputs)
      const elapsed = Date.now() - started
      const s = await state(scenario)
      const context = `killed at ${killedAt!.toISOString()}; state: ${JSON.stringify({ ...s, duplicates: s.duplicates.slice(0, 20), reclaimed: s.reclaimed.slice(0, 20) })}${outputs()}`
      const victimSent = s.perPid[victim.pid] ?? 0
      console.log(
        `[dispatch.test] SIGKILL: ${elapsed} ms; victim (pid ${victim.pid}) sent ${victimSent} (${victimSentBeforeKill} seen before the kill), ` +
          `survivor (pid ${survivor.pid}) sent ${s.perPid[survivor.pid] ?? 0} in ${rs.ms} ms; ${s.reclaimed.length} job(s) taken over after the lease, ` +
          `${s.duplicates.length} key(s) sent twice`
      )

      // The survivor finished everything: every job done, every key sent at least once.
      expect(s.jobs.filter((j) => j.status !== "done"), context).toEqual([])
      expect(s.jobs.reduce((n, j) => n + j.n, 0), context).toBe(JOBS)
      expect({ distinct: s.sends.distinct, unknownKeys: s.unknownKeys, unsent: s.unsent }, context).toEqual({ distinct: JOBS, unknownKeys: 0, unsent: 0 })
      // A job's writes and its completion are one transaction: one timeline entry per mail, even retried.
      expect(s.emailTimelineEntries, context).toBe(JOBS)
      expect(s.perPid[survivor.pid] ?? 0, context).toBeGreaterThan(0)
      expect(victimSent, context).toBe(KILL_AFTER_SENDS)
      // Nothing was sent by the victim after it was killed (the clocks are the same machine's).
      const [late] = await query<{ n: number }>(scenario, `SELECT COUNT(*)::int AS n FROM ${scenario.sends} WHERE pid = $1 AND at > $2`, [victim.pid, killedAt])
      expect(late!.n, context).toBe(0)

      // Taken over: exactly the jobs of the victim's last claim that it had not completed, each
      // claimed twice (victim, then survivor after the victim's lease ended), each at attempt 2.
      expect(s.reclaimed.length, context).toBeGreaterThan(0)
      expect(s.reclaimed.length, context).toBeLessThanOrEqual(BATCH_SIZE)
      const victimToken = s.reclaimed[0]!.tokens[0]
      for (const job of s.reclaimed) {
        expect({ job: job.job_id, pids: job.pids, attempts: job.attempts, victimToken: job.tokens[0] }, context).toEqual({
          job: job.job_id,
          pids: [victim.pid, survivor.pid],
          attempts: 2,
          victimToken
        })
        expect(job.claimed[1]!.getTime(), `${job.job_id} was claimed by the survivor before the victim's lease ended; ${context}`).toBeGreaterThanOrEqual(job.leases[0]!.getTime())
      }
      const attemptsTwo = s.jobs.filter((j) => j.attempts === 2).reduce((n, j) => n + j.n, 0)
      expect({ attemptsTwo, others: s.jobs.filter((j) => j.attempts !== 1 && j.attempts !== 2) }, context).toEqual({ attemptsTwo: s.reclaimed.length, others: [] })
      expect(s.claims, context).toEqual({ n: JOBS + s.reclaimed.length, jobs: JOBS })

      // Sent twice: only jobs the victim had sent and not yet completed (at most one per fiber
      // running a batch: CONCURRENCY ≤ BATCH_SIZE × CONCURRENCY), the second send by the survivor
      // after the lease.
      const leaseOf = new Map(s.reclaimed.map((j) => [j.key, j.leases[0]!]))
      // The victim stood still right after a send: that mail goes again, under the same key.
      expect(s.duplicates.length, context).toBeGreaterThanOrEqual(1)
      expect(s.duplicates.length, context).toBeLessThanOrEqual(CONCURRENCY)
      expect(s.sends.total, context).toBe(JOBS + s.duplicates.length)
      for (const dup of s.duplicates) {
        expect({ key: dup.key, taken_over: leaseOf.has(dup.key), pids: dup.pids }, context).toEqual({ key: dup.key, taken_over: true, pids: [victim.pid, survivor.pid] })
        expect(dup.ats[1]!.getTime(), `${dup.key} was sent again before the victim's lease ended; ${context}`).toBeGreaterThanOrEqual(leaseOf.get(dup.key)!.getTime())
      }
      expect({ lost: rs.lost, retried: rs.retried, dead: rs.dead, failedRuns: rs.failedRuns }, context).toEqual({ lost: 0, retried: 0, dead: 0, failedRuns: 0 })
    } finally {
      await cleanUp(scenario)
    }
  }, TEST_TIMEOUT_MS)
})
