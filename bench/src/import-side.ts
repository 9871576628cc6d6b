// One side of the import section (see import.ts), run in a process of its own:
// `import-side.ts <rapport|limit> <file.csv> <database>`. It imports the file into a fresh
// database and reports, over IPC (or as a JSON line on stdout when run by hand), the import's
// time, the contacts it created and the process's peak RSS. Each side loads only what it uses:
// the limit never loads Effect or Rapport.
import type { SideName, SideReport } from "./import.js"

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9

/** Rapport: createCrm on sqliteStorage (migrated before the clock starts), then importFile. */
const viaRapport = async (csv: string, filename: string) => {
  const { createCrm } = await import("@rapport/core")
  const { importFile } = await import("@rapport/importers")
  const { sqliteStorage } = await import("@rapport/sqlite")
  const crm = await createCrm({ storage: sqliteStorage({ filename }) })
  try {
    const start = process.hrtime.bigint()
    const report = await importFile(crm, csv, { country: "FR" })
    const elapsed = seconds(start)
    if (report.rejected + report.skipped + report.updated + report.warnings.length > 0 || report.stopped !== null) {
      const sample = [...report.rejections, ...report.skips, ...report.warnings].slice(0, 3)
      throw new Error(`Rapport did not create every row: ${JSON.stringify({ ...report, rejections: undefined, skips: undefined, updates: undefined, warnings: undefined, sample })}`)
    }
    return { seconds: elapsed, created: report.created }
  } finally {
    await crm.close()
  }
}

/** A UUID version 7, as Rapport's ids: the milliseconds first, then random bits (16 KiB of them drawn at a time). */
const uuidV7 = await (async () => {
  const { randomFillSync } = await import("node:crypto")
  const pool = Buffer.alloc(16 * 1024)
  let offset = pool.length
  return (ms: number) => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    const b = pool.subarray(offset, (offset += 16))
    b.writeUIntBE(ms, 0, 6)
    b[6] = 0x70 | (b[6]! & 0x0f)
    b[8] = 0x80 | (b[8]! & 0x3f)
    const h = b.toString("hex")
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
})()

// The tables an import writes, with their keys and indexes as Rapport's migrations create them
// (packages/sql/src/Migrations.ts, SQLite types): contacts, companies, and each contact's
// contact.created event and timeline entry, in the workspace createCrm uses by default.
const SCHEMA = `
  CREATE TABLE rapport_companies (
    workspace_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, domain TEXT, phone TEXT, tags TEXT NOT NULL, owner_id TEXT,
    fields TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
  );
  CREATE TABLE rapport_contacts (
    workspace_id TEXT NOT NULL, id TEXT NOT NULL, email TEXT, email_key TEXT, first_name TEXT, last_name TEXT, phone TEXT,
    company_id TEXT, source_channel TEXT NOT NULL, source_campaign TEXT, first_seen_at TEXT NOT NULL, stage TEXT NOT NULL,
    tags TEXT NOT NULL, owner_id TEXT, score INTEGER NOT NULL, timezone TEXT, fields TEXT NOT NULL, version INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
  );
  CREATE UNIQUE INDEX rapport_contacts_email ON rapport_contacts (workspace_id, email_key);
  CREATE INDEX rapport_contacts_stage ON rapport_contacts (workspace_id, stage, id);
  CREATE INDEX rapport_contacts_company ON rapport_contacts (workspace_id, company_id, id);
  CREATE INDEX rapport_contacts_owner ON rapport_contacts (workspace_id, owner_id, id);
  CREATE INDEX rapport_contacts_phone ON rapport_contacts (workspace_id, phone);
  CREATE TABLE rapport_contact_identities (
    workspace_id TEXT NOT NULL, contact_id TEXT NOT NULL, kind TEXT NOT NULL, position INTEGER NOT NULL, value TEXT NOT NULL,
    value_key TEXT NOT NULL, label TEXT,
    PRIMARY KEY (workspace_id, contact_id, kind, position)
  );
  CREATE UNIQUE INDEX rapport_contact_identities_email ON rapport_contact_identities (workspace_id, value_key) WHERE kind = 'email';
  CREATE INDEX rapport_contact_identities_phone ON rapport_contact_identities (workspace_id, value_key) WHERE kind = 'phone';
  CREATE TABLE rapport_timeline (
    workspace_id TEXT NOT NULL, id TEXT NOT NULL, contact_id TEXT NOT NULL, kind TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL,
    author TEXT, channel TEXT, direction TEXT, summary TEXT NOT NULL, reaction TEXT, payload TEXT NOT NULL, event_id TEXT,
    PRIMARY KEY (workspace_id, id)
  );
  CREATE INDEX rapport_timeline_contact ON rapport_timeline (workspace_id, contact_id, occurred_at, id);
  CREATE INDEX rapport_timeline_feed ON rapport_timeline (workspace_id, occurred_at, id);
  CREATE TABLE rapport_events (
    workspace_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, contact_id TEXT NOT NULL, occurred_at TEXT NOT NULL, received_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
  );
  CREATE INDEX rapport_events_contact ON rapport_events (workspace_id, contact_id, type, occurred_at);
  CREATE INDEX rapport_events_contact_id ON rapport_events (workspace_id, contact_id, id);
`
const WORKSPACE = "default"
const BATCH = 500

/** A French national number as E.164 (the file's numbers are all valid: no library needed). */
const e164 = (phone: string) => {
  const digits = phone.replace(/[^\d+]/g, "")
  return digits.startsWith("+") ? digits : `+33${digits.slice(1)}`
}
const splitTags = (cell: string) => [...new Set(cell.split(/\s*(?:,|;|\||:::)\s*/).map((t) => t.trim()).filter((t) => t !== ""))]
const orNull = (cell: string | undefined) => {
  const s = cell?.trim()
  return s === undefined || s === "" ? null : s
}

/**
 * The limit: csv-parse (streaming, `columns: true`) into better-sqlite3, one prepared statement
 * per table, transactions of 500 rows, writing the rows Rapport writes: the contact, its email and
 * phone in the identities table, its contact.created event and its timeline entry (and each company
 * once).
 */
const viaLimit = async (csv: string, filename: string) => {
  const { default: Database } = await import("better-sqlite3")
  const { parse } = await import("csv-parse")
  const { createReadStream } = await import("node:fs")
  const db = new Database(filename)
  // As Rapport opens its connection: WAL, synchronous FULL, a busy timeout.
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = FULL")
  db.pragma("busy_timeout = 5000")
  db.exec(SCHEMA)
  try {
    const insertContact = db.prepare(
      `INSERT INTO rapport_contacts (workspace_id, id, email, email_key, first_name, last_name, phone, company_id, source_channel, source_campaign,
        first_seen_at, stage, tags, owner_id, score, timezone, fields, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'unknown', NULL, ?, 'suspect', ?, NULL, 0, NULL, '{}', 1, ?, ?)`
    )
    const insertEvent = db.prepare(
      `INSERT INTO rapport_events (workspace_id, id, type, contact_id, occurred_at, received_at, payload)
       VALUES (?, ?, 'contact.created', ?, ?, ?, '{"source":{"channel":"unknown","campaign":null}}')`
    )
    const insertEntry = db.prepare(
      `INSERT INTO rapport_timeline (workspace_id, id, contact_id, kind, occurred_at, recorded_at, author, channel, direction, summary, reaction, payload, event_id)
       VALUES (?, ?, ?, 'event', ?, ?, NULL, NULL, NULL, 'Contact created', NULL, '{"source":{"channel":"unknown","campaign":null}}', ?)`
    )
    // Every email and phone of a contact, the primary ones included, as Rapport keeps them (several per contact, emails unique).
    const insertIdentity = db.prepare(
      `INSERT INTO rapport_contact_identities (workspace_id, contact_id, kind, position, value, value_key, label) VALUES (?, ?, ?, 0, ?, ?, NULL)`
    )
    const insertCompany = db.prepare(
      `INSERT INTO rapport_companies (workspace_id, id, name, domain, phone, tags, owner_id, fields, version, created_at, updated_at)
       VALUES (?, ?, ?, NULL, NULL, '[]', NULL, '{}', 1, ?, ?)`
    )
    const companies = new Map<string, string>()
    const write = db.transaction((records: ReadonlyArray<Record<string, string>>) => {
      const ms = Date.now()
      const now = new Date(ms).toISOString()
      for (const r of records) {
        const email = orNull(r["Email"])
        const phone = orNull(r["Phone"])
        const company = orNull(r["Company"])
        let companyId: string | null = null
        if (company !== null) {
          const key = company.toLowerCase()
          companyId = companies.get(key) ?? null
          if (companyId === null) {
            companyId = uuidV7(ms)
            insertCompany.run(WORKSPACE, companyId, company, now, now)
            companies.set(key, companyId)
          }
        }
        const id = uuidV7(ms)
        const phoneE164 = phone === null ? null : e164(phone)
        insertContact.run(
          WORKSPACE, id, email, email?.toLowerCase() ?? null, orNull(r["First name"]), orNull(r["Last name"]),
          phoneE164, companyId, now, JSON.stringify(splitTags(r["Tags"] ?? "")), now, now
        )
        if (email !== null) insertIdentity.run(WORKSPACE, id, "email", email, email.toLowerCase())
        if (phoneE164 !== null) insertIdentity.run(WORKSPACE, id, "phone", phoneE164, phoneE164)
        const eventId = `contact.created:${id}`
        insertEvent.run(WORKSPACE, eventId, id, now, now)
        insertEntry.run(WORKSPACE, uuidV7(ms), id, now, now, eventId)
      }
    })
    const start = process.hrtime.bigint()
    let created = 0
    let batch: Array<Record<string, string>> = []
    for await (const record of createReadStream(csv).pipe(parse({ columns: true, bom: true })) as AsyncIterable<Record<string, string>>) {
      batch.push(record)
      if (batch.length === BATCH) {
        // BEGIN IMMEDIATE, as Rapport's transactions take the write lock first.
        write.immediate(batch)
        created += batch.length
        batch = []
      }
    }
    if (batch.length > 0) {
      write.immediate(batch)
      created += batch.length
    }
    return { seconds: seconds(start), created }
  } finally {
    db.close()
  }
}

const [side, csv, database] = process.argv.slice(2) as [SideName | undefined, string | undefined, string | undefined]
if ((side !== "rapport" && side !== "limit") || csv === undefined || database === undefined) {
  throw new Error(`usage: import-side.ts <rapport|limit> <file.csv> <database>, got ${process.argv.slice(2).join(" ")}`)
}
const done = side === "rapport" ? await viaRapport(csv, database) : await viaLimit(csv, database)
const report: SideReport = { ...done, maxRssKb: process.resourceUsage().maxRSS }
if (process.send === undefined) console.log(JSON.stringify(report))
else process.send(report, () => process.disconnect())
