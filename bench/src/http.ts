// What the HTTP API costs, measured over loopback with a load generator in another process
// (http-load.mjs): `POST /events` through @rapport/express's router against a bare Express
// handler doing the same `crm.events.emit` (express.json(), then res.json of the result: the
// least an app writing the endpoint by hand would do), and `POST /events/batch` against
// in-process `crm.events.emitMany` of the same batches.
//
// Each run starts a fresh CRM on a temporary SQLite file (WAL, synchronous FULL: every emit is a
// flushed commit) with the same contacts and one rule on page views; the sides alternate which
// goes first per round. Both sides' answers are checked: every request must answer 2xx with
// `duplicate: false` for each of its events, and the database must hold one stored event per
// event sent. Figures are medians over rounds.
import { createCrm, type CrmClient } from "@rapport/core"
import { rapportRouter } from "@rapport/express"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import express from "express"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { once } from "node:events"
import { rmSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { median } from "./stats.js"

export interface Options {
  /** Requests per run of the single-event comparison. */
  readonly requests: number
  /** Batches per run of the batch comparison. */
  readonly batches: number
  readonly batchSize: number
  readonly connections: number
  readonly rounds: number
}

interface Load {
  readonly p50: number
  readonly p99: number
  readonly perSecond: number
  readonly failed: number
  readonly failures: ReadonlyArray<string>
}

const CONTACTS = 500
const loadScript = fileURLToPath(new URL("./http-load.mjs", import.meta.url))
const caller = { workspace: "default", principal: "bench", role: "admin" } as const

interface Fresh {
  readonly crm: CrmClient
  readonly contactIds: ReadonlyArray<string>
  /** Events stored in the database, read with the raw driver. */
  readonly storedEvents: () => number
}

const withCrm = async <A>(f: (fresh: Fresh) => Promise<A>): Promise<A> => {
  const filename = join(tmpdir(), `rapport-bench-http-${randomUUID().slice(0, 8)}.db`)
  const crm = await createCrm({ storage: sqliteStorage({ filename }), mailer: { send: async () => ({ messageId: "bench" }) } })
  try {
    await crm.rules.create({
      id: "sale-interest",
      name: "Looking at the sale",
      on: "page.viewed",
      when: { path: "event.payload.url", op: "startsWith", value: "/sale" },
      actions: [{ type: "adjustScore", by: 5 }]
    })
    const contacts = await crm.contacts.createMany(Array.from({ length: CONTACTS }, (_, i) => ({ email: `visitor${i}@bench.example`, source: { channel: "shop" } })))
    const storedEvents = () => {
      const db = new Database(filename, { readonly: true })
      try {
        // Each contact's contact.created is not part of the load.
        return db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM rapport_events WHERE type = 'page.viewed'").get()!.n
      } finally {
        db.close()
      }
    }
    return await f({ crm, contactIds: contacts.map((c) => c.id), storedEvents })
  } finally {
    await crm.close()
    for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
  }
}

const serve = async <A>(app: express.Express, f: (url: string) => Promise<A>): Promise<A> => {
  const server = app.listen(0, "127.0.0.1")
  await once(server, "listening")
  try {
    return await f(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

const load = (config: Record<string, unknown>): Promise<Load> =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, [loadScript, JSON.stringify(config)], { maxBuffer: 1 << 20 }, (error, stdout) => (error === null ? resolve(JSON.parse(stdout) as Load) : reject(error)))
  )

const check = (fresh: Fresh, sent: number, result: Load, what: string) => {
  if (result.failed > 0) throw new Error(`${what}: ${result.failed} requests did not store fresh events: ${result.failures.join(" | ")}`)
  const stored = fresh.storedEvents()
  if (stored !== sent) throw new Error(`${what}: ${stored} events stored, ${sent} sent`)
}

type Side = "Rapport" | "bare"

/** One run of `POST /events` on a fresh CRM, through the router or the bare handler. */
const singleRun = (side: Side, options: Options, round: number): Promise<Load> =>
  withCrm((fresh) => {
    const app = express()
    if (side === "bare") {
      app.post("/events", express.json({ limit: "1mb" }), async (req, res, next) => {
        try {
          res.status(201).json(await fresh.crm.events.emit(req.body))
        } catch (error) {
          next(error)
        }
      })
    } else {
      app.use("/crm", rapportRouter(fresh.crm, { authenticate: () => caller }))
    }
    return serve(app, async (url) => {
      const result = await load({ url: `${url}${side === "bare" ? "" : "/crm"}/events`, connections: options.connections, requests: options.requests, contactIds: fresh.contactIds, prefix: `r${round}` })
      check(fresh, options.requests, result, `POST /events (${side}), round ${round}`)
      return result
    })
  })

/** One run of `POST /events/batch` on a fresh CRM. */
const batchRun = (options: Options, round: number): Promise<Load> =>
  withCrm((fresh) => {
    const app = express()
    app.use("/crm", rapportRouter(fresh.crm, { authenticate: () => caller, bodyLimit: 4 * 1024 * 1024 }))
    return serve(app, async (url) => {
      const result = await load({ url: `${url}/crm/events/batch`, connections: 1, requests: options.batches, batch: options.batchSize, contactIds: fresh.contactIds, prefix: `b${round}` })
      check(fresh, options.batches * options.batchSize, result, `POST /events/batch, round ${round}`)
      return result
    })
  })

/** The same batches through in-process emitMany, one after the other; seconds taken. */
const inProcessRun = (options: Options, round: number): Promise<number> =>
  withCrm(async (fresh) => {
    const PAGES = ["/", "/sale", "/sale/shoes", "/products/p-101", "/blog/care-guide"]
    const ids = fresh.contactIds
    const batches = Array.from({ length: options.batches }, (_, n) =>
      Array.from({ length: options.batchSize }, (_, k) => {
        const i = n * options.batchSize + k
        return { id: `p${round}-${i}`, type: "page.viewed", contactId: ids[(i * 7919) % ids.length]!, payload: { url: PAGES[i % PAGES.length]! } }
      })
    )
    const start = process.hrtime.bigint()
    for (const batch of batches) {
      const results = await fresh.crm.events.emitMany(batch)
      if (results.some((r) => r.duplicate)) throw new Error("emitMany: a duplicate in a fresh run")
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const stored = fresh.storedEvents()
    if (stored !== options.batches * options.batchSize) throw new Error(`emitMany, round ${round}: ${stored} events stored`)
    return seconds
  })

const ms = (n: number) => `${n.toFixed(2)} ms`
const format = (n: number) => Math.round(n).toLocaleString("en-US")

/** Single events (router vs bare Express), then batches (endpoint vs in process); lines are reported as they come. */
export const run = async (options: Options, report: (line: string) => void) => {
  // Warm-up of both sides (JIT, the driver's statement cache), untimed.
  await singleRun("Rapport", { ...options, requests: Math.min(200, options.requests) }, 0)
  await singleRun("bare", { ...options, requests: Math.min(200, options.requests) }, 0)
  const rapport: Array<Load> = []
  const bare: Array<Load> = []
  for (let round = 1; round <= options.rounds; round++) {
    const order: ReadonlyArray<Side> = round % 2 === 1 ? ["Rapport", "bare"] : ["bare", "Rapport"]
    for (const side of order) (side === "Rapport" ? rapport : bare).push(await singleRun(side, options, round))
  }
  const p50 = { rapport: median(rapport.map((r) => r.p50)), bare: median(bare.map((r) => r.p50)) }
  const perSecond = { rapport: median(rapport.map((r) => r.perSecond)), bare: median(bare.map((r) => r.perSecond)) }
  const line = (name: string, runs: ReadonlyArray<Load>) =>
    `  ${name.padEnd(11)}p50 ${ms(median(runs.map((r) => r.p50)))}  p99 ${ms(median(runs.map((r) => r.p99)))}  ${format(median(runs.map((r) => r.perSecond))).padStart(6)} requests/s   (rounds p50: ${runs.map((r) => r.p50.toFixed(2)).join(", ")})`
  report(line("Rapport", rapport) + "   (rapportRouter, mounted at /crm)")
  report(line("bare", bare) + "   (app.post + express.json + crm.events.emit)")
  const added = p50.rapport - p50.bare
  const ratio = perSecond.rapport / perSecond.bare
  report(
    `  the API adds ${ms(added)} at the median (target: at most 0.30 ms: ${added <= 0.3 ? "met" : "NOT met"}) and keeps ${ratio.toFixed(2)}x the requests/s ` +
      `(target: at least 0.80x: ${ratio >= 0.8 ? "met" : "NOT met"})`
  )

  const endpoint: Array<Load> = []
  const inProcess: Array<number> = []
  await batchRun({ ...options, batches: Math.min(5, options.batches) }, 0)
  for (let round = 1; round <= options.rounds; round++) {
    if (round % 2 === 1) endpoint.push(await batchRun(options, round))
    inProcess.push(await inProcessRun(options, round))
    if (round % 2 === 0) endpoint.push(await batchRun(options, round))
  }
  const events = options.batches * options.batchSize
  const endpointRate = median(endpoint.map((r) => r.perSecond)) * options.batchSize
  const inProcessRate = events / median(inProcess)
  report(
    `  batch      p50 ${ms(median(endpoint.map((r) => r.p50)))}  p99 ${ms(median(endpoint.map((r) => r.p99)))}  ${format(median(endpoint.map((r) => r.perSecond))).padStart(6)} requests/s = ` +
      `${format(endpointRate)} events/s   (POST /events/batch, ${options.batchSize} events each, one connection)`
  )
  report(`  emitMany   ${format(inProcessRate)} events/s in process (the same batches)   ratio ${(endpointRate / inProcessRate).toFixed(2)}x of in-process throughput`)
}
