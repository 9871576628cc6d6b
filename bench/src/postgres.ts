// PostgreSQL: bulk contact creation through Rapport (contacts.createMany) against the same rows
// inserted with the raw `postgres` driver in batched transactions, each into a fresh database
// with Rapport's schema. Rapport writes, per contact, the contact row, its contact.created event
// and its timeline entry: the raw side inserts exactly those rows.
import { createCrm } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import postgres from "postgres"
import { randomUUID } from "node:crypto"
import { median } from "./stats.js"

export interface Round {
  readonly rapportSeconds: number
  readonly rawSeconds: number
}

export interface Result {
  readonly contacts: number
  readonly rounds: ReadonlyArray<Round>
  /** Median over rounds. */
  readonly rapportPerSecond: number
  readonly rawPerSecond: number
  readonly ratio: number
}

const BATCH = 1000

export const freshDatabase = async (adminUrl: string, copyOf?: string) => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  const name = `rapport_bench_${randomUUID().replace(/-/g, "").slice(0, 12)}`
  try {
    // A copy (`TEMPLATE`) needs nobody connected to the database it copies.
    await admin.unsafe(`CREATE DATABASE ${name}${copyOf === undefined ? "" : ` TEMPLATE ${new URL(copyOf).pathname.slice(1)}`}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(adminUrl, { max: 1, onnotice: () => undefined })
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await again.end()
    }
  }
}

const inputs = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({
    email: `lead${offset + i}@bench.example`,
    firstName: `First${offset + i}`,
    lastName: `Last${offset + i}`,
    source: { channel: "import", campaign: "bench" },
    tags: ["bench"],
    fields: { segment: i % 2 === 0 ? "retail" : "wholesale" }
  }))

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9

const viaRapport = async (url: string, contacts: number) => {
  const crm = await createCrm({ storage: postgresStorage({ url, maxConnections: 4 }), workspace: "bench" })
  try {
    await crm.fields.define({ key: "segment", type: "select", options: ["retail", "wholesale"] })
    await crm.workspace("warmup").fields.define({ key: "segment", type: "select", options: ["retail", "wholesale"] })
    for (let b = 0; b < 3; b++) await crm.workspace("warmup").contacts.createMany(inputs(BATCH, b * BATCH))
    const start = process.hrtime.bigint()
    for (let done = 0; done < contacts; done += BATCH) await crm.contacts.createMany(inputs(Math.min(BATCH, contacts - done), done))
    return seconds(start)
  } finally {
    await crm.close()
  }
}

const viaRawDriver = async (url: string, contacts: number) => {
  // The schema (tables, keys, indexes) comes from Rapport's migrations.
  await (await createCrm({ storage: postgresStorage({ url }) })).close()
  const sql = postgres(url, { max: 4, onnotice: () => undefined })
  const rows = (n: number, offset: number) => {
    const now = new Date().toISOString()
    return inputs(n, offset).map((input) => {
      const id = randomUUID()
      const eventId = `contact.created:${id}`
      const payload = { source: input.source }
      return {
        contact: {
          workspace_id: "bench", id, email: input.email, email_key: input.email.toLowerCase(), first_name: input.firstName,
          last_name: input.lastName, phone: null, company_id: null, source_channel: input.source.channel, source_campaign: input.source.campaign,
          first_seen_at: now, stage: "suspect", tags: sql.json(input.tags), owner_id: null, score: 0, timezone: null,
          fields: sql.json(input.fields), version: 1, created_at: now, updated_at: now
        },
        event: { workspace_id: "bench", id: eventId, type: "contact.created", contact_id: id, occurred_at: now, received_at: now, payload: sql.json(payload) },
        entry: {
          workspace_id: "bench", id: randomUUID(), contact_id: id, kind: "event", occurred_at: now, recorded_at: now, author: null, channel: null,
          direction: null, summary: "Contact created", reaction: null, payload: sql.json(payload), event_id: eventId
        }
      }
    })
  }
  const write = (workspace: string, n: number, offset: number) => {
    const batch = rows(n, offset).map((r) => ({
      contact: { ...r.contact, workspace_id: workspace },
      event: { ...r.event, workspace_id: workspace },
      entry: { ...r.entry, workspace_id: workspace }
    }))
    return sql.begin(async (tx) => {
      await tx`INSERT INTO rapport_contacts ${tx(batch.map((r) => r.contact))}`
      await tx`INSERT INTO rapport_events ${tx(batch.map((r) => r.event))}`
      await tx`INSERT INTO rapport_timeline ${tx(batch.map((r) => r.entry))}`
    })
  }
  try {
    // The same warm-up as Rapport's: three batches into another workspace, all three tables.
    for (let b = 0; b < 3; b++) await write("warmup", BATCH, b * BATCH)
    const start = process.hrtime.bigint()
    for (let done = 0; done < contacts; done += BATCH) await write("bench", Math.min(BATCH, contacts - done), done)
    return seconds(start)
  } finally {
    await sql.end()
  }
}

/** Rows each side wrote in the benchmark workspace: they must be the same. */
const rowCounts = async (url: string) => {
  const sql = postgres(url, { max: 1, onnotice: () => undefined })
  try {
    const [counts] = await sql`SELECT
      (SELECT COUNT(*)::int FROM rapport_contacts WHERE workspace_id = 'bench') AS contacts,
      (SELECT COUNT(*)::int FROM rapport_events WHERE workspace_id = 'bench') AS events,
      (SELECT COUNT(*)::int FROM rapport_timeline WHERE workspace_id = 'bench') AS entries`
    return counts
  } finally {
    await sql.end()
  }
}

const oneRound = async (adminUrl: string, contacts: number, rawFirst: boolean): Promise<Round> => {
  const [a, b] = [await freshDatabase(adminUrl), await freshDatabase(adminUrl)]
  try {
    let rapportSeconds = 0
    let rawSeconds = 0
    if (rawFirst) rawSeconds = await viaRawDriver(b.url, contacts)
    rapportSeconds = await viaRapport(a.url, contacts)
    if (!rawFirst) rawSeconds = await viaRawDriver(b.url, contacts)
    const [mine, theirs] = [await rowCounts(a.url), await rowCounts(b.url)]
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      throw new Error(`the two sides wrote different rows: Rapport ${JSON.stringify(mine)}, raw ${JSON.stringify(theirs)}`)
    }
    return { rapportSeconds, rawSeconds }
  } finally {
    await a.drop()
    await b.drop()
  }
}

/** Several rounds, alternating which side runs first; the figures are medians. */
export const run = async (adminUrl: string, contacts: number, roundCount: number): Promise<Result> => {
  const rounds: Array<Round> = []
  for (let i = 0; i < roundCount; i++) rounds.push(await oneRound(adminUrl, contacts, i % 2 === 1))
  return {
    contacts,
    rounds,
    rapportPerSecond: contacts / median(rounds.map((r) => r.rapportSeconds)),
    rawPerSecond: contacts / median(rounds.map((r) => r.rawSeconds)),
    ratio: median(rounds.map((r) => r.rapportSeconds / r.rawSeconds))
  }
}
