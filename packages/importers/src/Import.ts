/**
 * Importing contacts from a file: read (streaming, any size), map each row, de-duplicate (by
 * email, then unique custom fields, then phone; within the file and against stored contacts),
 * and write in batches, each in one transaction. The report lists every row that was not created:
 * rejected (with its line and why), skipped as a duplicate (of which contact), updated or
 * unchanged. A `dryRun` gives the same report without writing. Re-importing the same file changes
 * nothing.
 *
 * @since 0.3.0
 */
import { Companies, Contact, Contacts, Email, Errors, FieldDefinition, type Ids, LifecycleDefinition, Storage, Workspaces } from "@rapport/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Formats from "./Formats.js"
import * as Mapping from "./Mapping.js"
import type { Format, SourceRecord } from "./Records.js"
import { ImportError } from "./Records.js"
import * as Source from "./Source.js"

/**
 * What to do with a row whose contact is already stored (or earlier in the file): leave the
 * contact as it is (`skip`, the default), overwrite its attributes with the row's filled values
 * (`update`), or only fill what it lacks (`fillEmpty`).
 *
 * @since 0.3.0
 * @category models
 */
export type Policy = "skip" | "update" | "fillEmpty"

/**
 * Progress, reported after each batch.
 *
 * @since 0.3.0
 * @category models
 */
export interface Progress {
  readonly rowsRead: number
  readonly bytesRead: number
  /** The file's size, when known. */
  readonly bytesTotal: number | undefined
  readonly rowsPerSecond: number
  readonly created: number
  readonly updated: number
  readonly skipped: number
  readonly rejected: number
}

/**
 * How to import.
 *
 * @since 0.3.0
 * @category models
 */
export interface ImportOptions {
  /** The format (default: from the file's extension, else from its first bytes). */
  readonly format?: Format | undefined
  /** The text encoding of a CSV (default: detected). */
  readonly encoding?: string | undefined
  /** The CSV delimiter (default: sniffed among , ; tab |). */
  readonly delimiter?: string | undefined
  /** The XLSX sheet, by name or 1-based position (default: the first). */
  readonly sheet?: string | number | undefined
  /** Columns to targets, overriding recognition: `{ "Courriel": "email", "Notes": "ignore" }`. */
  readonly mapping?: Readonly<Record<string, string>> | undefined
  /** Where the contacts come from, unless a column says (a trade show, a campaign). */
  readonly source?: { readonly channel: string; readonly campaign?: string | null | undefined } | undefined
  /** When they were first known, unless a column says (default: now). */
  readonly firstSeenAt?: string | Date | undefined
  /** Tags every imported contact gets. */
  readonly tags?: ReadonlyArray<string> | undefined
  /** Country of national phone numbers (default: the workspace's, else none). */
  readonly country?: string | undefined
  /** Currency of amounts written without one (default `EUR`). */
  readonly currency?: string | undefined
  /** Day first (`dmy`, default) or month first (`mdy`) in dates such as 03/04/2025. */
  readonly dateOrder?: "dmy" | "mdy" | undefined
  /** What to do with duplicates (default `skip`). */
  readonly policy?: Policy | undefined
  /** Report what would happen, write nothing. */
  readonly dryRun?: boolean | undefined
  /** Rows per transaction (default 500, at most 5,000). */
  readonly batchSize?: number | undefined
  /** Skip the records before this line (to resume a stopped import). */
  readonly startAtLine?: number | undefined
  /** Called after each batch. */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * One row in the report.
 *
 * @since 0.3.0
 * @category models
 */
export interface RowReport {
  readonly line: number
  readonly reason: string
  /** The contact it duplicates, was updated into, or left unchanged. */
  readonly contactId?: string | undefined
}

/**
 * What an import did, row by row.
 *
 * @since 0.3.0
 * @category models
 */
export interface ImportReport {
  readonly dryRun: boolean
  readonly format: Format
  readonly details: { readonly encoding?: string | undefined; readonly delimiter?: string | undefined; readonly sheet?: string | undefined; readonly headerLine?: number | undefined }
  readonly mapping: ReadonlyArray<Mapping.ColumnMapping>
  /** Columns not imported (map them with `mapping`, to a custom field for instance). */
  readonly unmapped: ReadonlyArray<string>
  readonly rowsRead: number
  readonly created: number
  readonly updated: number
  readonly unchanged: number
  readonly skipped: number
  readonly rejected: number
  readonly rejections: ReadonlyArray<RowReport>
  readonly skips: ReadonlyArray<RowReport>
  readonly updates: ReadonlyArray<RowReport>
  readonly warnings: ReadonlyArray<RowReport>
  /** Whether the lists above stop at {@link maxListed} rows (the counts never do). */
  readonly truncated: boolean
  /** Set when the import stopped (the database failed): batches before `line` are stored; resume with `startAtLine: line`. */
  readonly stopped: { readonly line: number; readonly message: string } | null
  readonly durationMs: number
}

/**
 * How many rows each list of the report holds at most.
 *
 * @since 0.3.0
 * @category constructors
 */
export const maxListed = 100_000

const ContactInput = Contact.ContactCreate
const decodeContact = Schema.decodeUnknownEither(ContactInput, { errors: "all", onExcessProperty: "error" })

interface Accepted {
  readonly line: number
  readonly input: Contact.ContactCreate
  readonly candidate: Mapping.Candidate
  readonly keys: ReadonlyArray<string>
}

/** The values of a candidate other rows and contacts are compared on, strongest first. */
const keysOf = (candidate: Mapping.Candidate, uniqueFields: ReadonlyArray<FieldDefinition.FieldDefinition>): ReadonlyArray<string> => {
  const keys: Array<string> = []
  if (candidate.email !== undefined) keys.push(`email:${Email.emailKey(candidate.email.trim())}`)
  for (const def of uniqueFields) {
    const value = candidate.fields?.[def.key]
    if (value !== undefined && value !== null) keys.push(`field:${def.key}:${FieldDefinition.uniqueValueKey(def, value)}`)
  }
  if (candidate.phone !== undefined) keys.push(`phone:${candidate.phone}`)
  return keys
}

const describeKey = (key: string) => {
  const [kind, a, b] = key.split(":")
  return kind === "email" ? `email ${a}` : kind === "phone" ? `phone ${key.slice(6)}` : `${a} ${b}`
}

/**
 * Imports contacts from a file. Fails only when the file cannot be read at all (`ImportError`)
 * or the mapping or options are wrong (`ValidationError`); every row that cannot be imported is in
 * the report. A database failure mid-file stops the import: the report's `stopped` says the line
 * to resume from, the batches before it are stored.
 *
 * @since 0.3.0
 * @category constructors
 */
export const importContacts = (
  input: Source.Input,
  options: ImportOptions = {}
): Effect.Effect<ImportReport, ImportError | Errors.ValidationError | Errors.StorageError, Storage.Storage | Contacts.Contacts | Companies.Companies | Workspaces.Workspaces> =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = Date.now()
      const storage = yield* Storage.Storage
      const contacts = yield* Contacts.Contacts
      const companies = yield* Companies.Companies
      const workspace = yield* (yield* Workspaces.Workspaces).current
      const batchSize = options.batchSize ?? 500
      if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 5_000) {
        return yield* Errors.ValidationError.at(["batchSize"], `must be a whole number from 1 to 5,000 (got ${String(options.batchSize)})`)
      }
      if (options.country !== undefined && !Mapping.isCountry(options.country)) {
        return yield* Errors.ValidationError.at(["country"], `must be a country code such as FR, BE or US (got ${JSON.stringify(options.country)})`)
      }
      const bytes = yield* Source.open(input)
      const opened = yield* Formats.open(bytes, options)
      const fields = yield* storage.fieldDefinitions.list(workspace.id, "contact")
      const recognized = Mapping.recognize(opened.headers, fields, options.mapping ?? {})
      if (!("columns" in recognized)) {
        return yield* Errors.ValidationError.fromIssues(recognized.map((p) => ({ path: ["mapping", p.column], message: p.message })), "Invalid mapping")
      }
      const mapping = recognized
      const uniqueFields = fields.filter((f) => f.unique)
      const valueOptions: Mapping.ValueOptions = {
        country: options.country ?? workspace.country ?? undefined,
        currency: options.currency,
        dateOrder: options.dateOrder,
        timezone: workspace.timezone
      }
      const policy = options.policy ?? "skip"
      const dryRun = options.dryRun === true
      const defaultFirstSeen = options.firstSeenAt === undefined ? undefined : options.firstSeenAt instanceof Date ? options.firstSeenAt.toISOString() : options.firstSeenAt
      const compiled = FieldDefinition.compile("contact", fields, workspace.lifecycle)

      // Companies by name, loaded once: rows name companies, Rapport links contacts by id.
      const companyIds = new Map<string, string>()
      for (let after: string | undefined; ; ) {
        const page = yield* storage.companies.list(workspace.id, { after, limit: 1_000 })
        for (const c of page) companyIds.set(c.name.trim().toLowerCase(), c.id)
        if (page.length < 1_000) break
        after = page[page.length - 1]!.id
      }

      const report = {
        rowsRead: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        rejected: 0,
        rejections: [] as Array<RowReport>,
        skips: [] as Array<RowReport>,
        updates: [] as Array<RowReport>,
        warnings: [] as Array<RowReport>,
        truncated: false
      }
      const list = (into: Array<RowReport>, row: RowReport) => {
        if (into.length < maxListed) into.push(row)
        else report.truncated = true
      }
      const reject = (line: number, reason: string) => {
        report.rejected++
        list(report.rejections, { line, reason })
      }
      // A dry run stores nothing, so duplicates across batches are found in memory.
      const seenInRun = new Map<string, number>()
      // With a policy that writes to stored contacts, the contacts this import created or matched,
      // by the line that did: a later row matching one repeats that line and is skipped.
      const touched = new Map<string, number>()

      const prepare = (record: SourceRecord): Accepted | undefined => {
        if (record.problem !== undefined) return void reject(record.line, record.problem)
        const mapped = Mapping.map(record, mapping, fields, valueOptions)
        for (const warning of mapped.warnings) list(report.warnings, { line: record.line, reason: warning })
        if (mapped.issues.length > 0) return void reject(record.line, mapped.issues.map((i) => `${i.column}: ${i.message}`).join("; "))
        const c = mapped.candidate
        const tags = [...(c.tags ?? []), ...(options.tags ?? [])]
        const source = c.source ?? options.source
        const firstSeenAt = c.firstSeenAt ?? defaultFirstSeen
        const raw = {
          ...(c.email === undefined ? {} : { email: c.email }),
          ...(c.firstName === undefined ? {} : { firstName: c.firstName }),
          ...(c.lastName === undefined ? {} : { lastName: c.lastName }),
          ...(c.phone === undefined ? {} : { phone: c.phone }),
          ...(tags.length === 0 ? {} : { tags }),
          ...(c.ownerId === undefined ? {} : { ownerId: c.ownerId }),
          ...(c.score === undefined ? {} : { score: c.score }),
          ...(c.timezone === undefined ? {} : { timezone: c.timezone }),
          ...(c.stage === undefined ? {} : { stage: c.stage }),
          ...(source === undefined ? {} : { source }),
          ...(firstSeenAt === undefined ? {} : { firstSeenAt }),
          ...(c.fields === undefined ? {} : { fields: c.fields })
        }
        const decoded = decodeContact(raw)
        if (Either.isLeft(decoded)) return void reject(record.line, readable(ParseResult.ArrayFormatter.formatErrorSync(decoded.left)))
        const stageIndex = LifecycleDefinition.indexOf(workspace.lifecycle, decoded.right.stage ?? LifecycleDefinition.initialStage(workspace.lifecycle))
        const checked = FieldDefinition.validate(compiled, decoded.right.fields ?? {}, Math.max(stageIndex, 0))
        if (Either.isLeft(checked)) return void reject(record.line, readable(checked.left))
        return { line: record.line, input: raw as Contact.ContactCreate, candidate: c, keys: keysOf(c, uniqueFields) }
      }

      // Problems named by the file's column (a required field without a column says so), the
      // schema's "Expected null / undefined" alternatives left out when a real reason is given.
      const columnOf = (path: ReadonlyArray<PropertyKey>) => {
        const target = (path[0] === "fields" ? `fields.${String(path[1])}` : path[0] === "source" ? `source.${String(path[1])}` : String(path[0])) as Mapping.Target
        const column = mapping.columns.find((c) => c.target === target)?.column
        return column ?? (path[0] === "fields" ? `${String(path[1])} (no column)` : path.map(String).join(".") || "row")
      }
      const readable = (issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>) => {
        const byColumn = new Map<string, Array<string>>()
        for (const issue of issues) {
          const column = columnOf(issue.path)
          byColumn.set(column, [...(byColumn.get(column) ?? []), issue.message])
        }
        return [...byColumn]
          .map(([column, messages]) => {
            const real = messages.filter((m) => !/^Expected (null|undefined), actual/.test(m))
            return `${column}: ${[...new Set(real.length > 0 ? real : messages)].join("; ")}`
          })
          .join("; ")
      }

      /** The stored contacts a batch's rows duplicate, by key. */
      const storedMatches = (rows: ReadonlyArray<Accepted>) =>
        Effect.gen(function* () {
          const byKey = new Map<string, Contact.Contact>()
          const emails = [...new Set(rows.flatMap((r) => r.keys.filter((k) => k.startsWith("email:")).map((k) => k.slice(6))))]
          if (emails.length > 0) for (const c of yield* storage.contacts.findByEmails(workspace.id, emails)) byKey.set(`email:${Email.emailKey(c.email!)}`, c)
          for (const def of uniqueFields) {
            for (const key of new Set(rows.flatMap((r) => r.keys.filter((k) => k.startsWith(`field:${def.key}:`))))) {
              const holder = yield* storage.uniqueValues.find(workspace.id, "contact", def.key, key.slice(`field:${def.key}:`.length))
              if (Option.isSome(holder)) {
                const contact = yield* storage.contacts.get(workspace.id, holder.value as Ids.ContactId)
                if (Option.isSome(contact)) byKey.set(key, contact.value)
              }
            }
          }
          const phones = [...new Set(rows.flatMap((r) => r.keys.filter((k) => k.startsWith("phone:")).map((k) => k.slice(6))))]
          if (phones.length > 0) for (const c of yield* storage.contacts.findByPhones(workspace.id, phones)) if (c.phone !== null) byKey.set(`phone:${c.phone}`, c)
          return byKey
        })

      /** The changes a row brings to a stored contact under the policy; none when it brings nothing new. */
      const changesFor = (stored: Contact.Contact, row: Accepted): Contact.ContactUpdate | undefined => {
        const c = row.candidate
        const fill = policy === "fillEmpty"
        const changes: Record<string, unknown> = {}
        const set = <K extends keyof Contact.Contact>(key: K, value: unknown) => {
          if (value === undefined) return
          const current = stored[key]
          if (fill ? current === null || current === "" : JSON.stringify(current) !== JSON.stringify(value)) changes[key] = value
        }
        set("email", c.email === undefined || Email.emailKey(c.email) === (stored.email === null ? null : Email.emailKey(stored.email)) ? undefined : c.email)
        set("firstName", c.firstName)
        set("lastName", c.lastName)
        set("phone", c.phone)
        set("ownerId", c.ownerId)
        set("timezone", c.timezone)
        const tags = [...(c.tags ?? []), ...(options.tags ?? [])].filter((t) => !stored.tags.includes(t))
        if (tags.length > 0) changes["tags"] = [...stored.tags, ...tags]
        if (!fill && c.score !== undefined && c.score !== stored.score) changes["score"] = c.score
        const fieldChanges: Record<string, unknown> = {}
        for (const [key, value] of Object.entries(c.fields ?? {})) {
          const current = stored.fields[key]
          if (fill ? current === undefined : JSON.stringify(current) !== JSON.stringify(value)) fieldChanges[key] = value
        }
        if (Object.keys(fieldChanges).length > 0) changes["fields"] = fieldChanges
        return Object.keys(changes).length === 0 ? undefined : ({ expectedVersion: stored.version, ...changes } as Contact.ContactUpdate)
      }

      const companyFor = (name: string | undefined) =>
        Effect.gen(function* () {
          if (name === undefined) return undefined
          const known = companyIds.get(name.trim().toLowerCase())
          if (known !== undefined) return known
          if (dryRun) return undefined
          const company = yield* companies.create({ name })
          companyIds.set(name.trim().toLowerCase(), company.id)
          return company.id as string
        })

      /** One batch: decisions, then (unless a dry run) its writes in one transaction. */
      const runBatch = (records: ReadonlyArray<SourceRecord>) =>
        Effect.gen(function* () {
          const rows = records.flatMap((r) => {
            const accepted = prepare(r)
            return accepted === undefined ? [] : [accepted]
          })
          // A dry run reads stored contacts like a real run, so it predicts a re-import truly.
          const stored = yield* storedMatches(rows)
          const creations: Array<Accepted> = []
          const updates: Array<{ row: Accepted; contact: Contact.Contact; changes: Contact.ContactUpdate }> = []
          const inBatch = new Map<string, Accepted>()
          for (const row of rows) {
            // A row repeating an earlier row of the file: the first one wins, whatever the policy
            // (else two rows would overwrite each other at every import).
            const fileKey = row.keys.find((k) => inBatch.has(k) || seenInRun.has(k))
            if (fileKey !== undefined) {
              const first = inBatch.get(fileKey)?.line ?? seenInRun.get(fileKey)!
              report.skipped++
              list(report.skips, { line: row.line, reason: `duplicate of line ${first} (same ${describeKey(fileKey)})` })
              continue
            }
            for (const key of row.keys) {
              inBatch.set(key, row)
              if (dryRun) seenInRun.set(key, row.line)
            }
            const storedMatch = row.keys.map((k) => stored.get(k)).find((c) => c !== undefined)
            if (storedMatch === undefined) {
              creations.push(row)
              continue
            }
            const matchedOn = row.keys.find((k) => stored.get(k) === storedMatch)!
            const earlier = touched.get(storedMatch.id)
            if (earlier !== undefined) {
              report.skipped++
              list(report.skips, { line: row.line, reason: `duplicate of line ${earlier} (same ${describeKey(matchedOn)})`, contactId: storedMatch.id })
              continue
            }
            if (policy === "skip") {
              report.skipped++
              list(report.skips, { line: row.line, reason: `already stored (same ${describeKey(matchedOn)})`, contactId: storedMatch.id })
              continue
            }
            touched.set(storedMatch.id, row.line)
            const changes = changesFor(storedMatch, row)
            if (changes === undefined) report.unchanged++
            else updates.push({ row, contact: storedMatch, changes })
          }
          if (dryRun) {
            report.created += creations.length
            report.updated += updates.length
            for (const u of updates) list(report.updates, { line: u.row.line, reason: `would update: ${Object.keys(u.changes).filter((k) => k !== "expectedVersion").join(", ")}`, contactId: u.contact.id })
            return
          }
          yield* storage.transaction(
            Effect.gen(function* () {
              const inputs = yield* Effect.forEach(creations, (row) =>
                Effect.map(companyFor(row.candidate.company), (companyId) => (companyId === undefined ? row.input : { ...row.input, companyId }))
              )
              yield* createAll(creations, inputs)
              for (const u of updates) {
                const companyId = u.row.candidate.company === undefined || u.contact.companyId !== null ? undefined : yield* companyFor(u.row.candidate.company)
                const updated = yield* contacts.update(u.contact.id, companyId === undefined ? u.changes : { ...u.changes, companyId }).pipe(
                  Effect.as(true),
                  Effect.catchTag("NotFound", () => Effect.succeed(false))
                )
                if (!updated) {
                  report.skipped++
                  list(report.skips, { line: u.row.line, reason: "the contact it duplicates was deleted during the import", contactId: u.contact.id })
                  continue
                }
                report.updated++
                list(report.updates, { line: u.row.line, reason: `updated: ${Object.keys(u.changes).filter((k) => k !== "expectedVersion").join(", ")}`, contactId: u.contact.id })
              }
            })
          )
        })

      /** Creates the batch's new contacts; rows the store refuses are rejected and the rest created. */
      const createAll = (rows: ReadonlyArray<Accepted>, inputs: ReadonlyArray<Contact.ContactCreate>): Effect.Effect<void, Errors.StorageError | Errors.Conflict | Errors.ValidationError> =>
        rows.length === 0
          ? Effect.void
          : Effect.catchTag(
              Effect.map(contacts.createMany(inputs), (created) => {
                report.created += created.length
                if (policy !== "skip") created.forEach((contact, i) => touched.set(contact.id, rows[i]!.line))
              }),
              "ValidationError",
              (error) => {
                const bad = new Map<number, Array<string>>()
                for (const issue of error.issues) {
                  const index = issue.path[0]
                  if (typeof index !== "number") return Effect.fail(error)
                  bad.set(index, [...(bad.get(index) ?? []), `${issue.path.slice(1).join(".") || "row"}: ${issue.message}`])
                }
                for (const [index, reasons] of bad) reject(rows[index]!.line, reasons.join("; "))
                const keep = rows.flatMap((_, i) => (bad.has(i) ? [] : [i]))
                return createAll(keep.map((i) => rows[i]!), keep.map((i) => inputs[i]!))
              }
            )

      const startAt = options.startAtLine ?? 0
      const stopped = yield* opened.records.pipe(
        Stream.filter((r) => r.line >= startAt),
        Stream.grouped(batchSize),
        // Once stopped, the rest of the file is not read.
        Stream.runFoldWhileEffect(null as { line: number; message: string } | null, (stop) => stop === null, (_, chunk) => {
          const records = [...chunk]
          report.rowsRead += records.length
          return runBatch(records).pipe(
            Effect.as(null),
            Effect.catchTags({
              StorageError: (e) => Effect.succeed({ line: records[0]!.line, message: e.message }),
              Conflict: (e) => Effect.succeed({ line: records[0]!.line, message: e.message })
            }),
            Effect.tap(() => {
              const elapsed = (Date.now() - started) / 1000
              options.onProgress?.({
                rowsRead: report.rowsRead,
                bytesRead: bytes.read(),
                bytesTotal: bytes.size,
                rowsPerSecond: elapsed === 0 ? report.rowsRead : report.rowsRead / elapsed,
                created: report.created,
                updated: report.updated,
                skipped: report.skipped,
                rejected: report.rejected
              })
            })
          )
        })
      )
      return {
        dryRun,
        format: opened.format,
        details: opened.details,
        mapping: mapping.columns,
        unmapped: mapping.unmapped,
        ...report,
        stopped,
        durationMs: Date.now() - started
      } satisfies ImportReport
    })
  )

