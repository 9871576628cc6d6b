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
import { Companies, Consent, Contact, Contacts, Email, Errors, FieldDefinition, type Ids, LifecycleDefinition, Storage, Webhooks, Workspaces } from "@rapport/core"
import * as DateTime from "effect/DateTime"
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
 * What to do with an identity conflict: a row that matches a stored contact (or an earlier row)
 * by a unique custom field or by phone, but carries a different email (or the match has none).
 * Two colleagues share a company phone; the row is most likely another person.
 * - `skip` (the default): write nothing for the row; the report lists it under `conflicts`.
 * - `create`: create the row as a new contact (refused when the match was on a unique field,
 *   which a second contact cannot hold).
 * - `update`: apply the row to the matched contact under `policy`, but never replace its identity:
 *   its email, first and last names are only filled when it has none.
 *
 * @since 0.4.0
 * @category models
 */
export type IdentityConflictPolicy = "skip" | "create" | "update"

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
  readonly conflicted: number
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
  /**
   * Day first (`dmy`) or month first (`mdy`) in dates such as 03/04/2025, for every column.
   * Default: detected per column from its values, else the source's convention (Outlook: `mdy`),
   * else `dmy` with a warning (see the report's `dateOrders`).
   */
  readonly dateOrder?: "dmy" | "mdy" | undefined
  /** What to do with duplicates (default `skip`). */
  readonly policy?: Policy | undefined
  /** What to do with a row matched by phone or a unique field whose email differs (default `skip`). */
  readonly onIdentityConflict?: IdentityConflictPolicy | undefined
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
 * A row that matched a contact (stored, or created by an earlier row of the file) by phone or a
 * unique custom field while carrying another email: both sides are named.
 *
 * @since 0.4.0
 * @category models
 */
export interface IdentityConflict {
  readonly line: number
  readonly reason: string
  /** The row's email. */
  readonly email: string
  /** What matched, e.g. `phone +33612345678` or `siret 53210987600014`. */
  readonly matchedOn: string
  /** The stored contact matched, when the match is stored (or was created by this import). */
  readonly contactId?: string | undefined
  /** The earlier line of the file matched, when the match is in the file. */
  readonly otherLine?: number | undefined
  /** The matched contact's (or earlier row's) email, if any. */
  readonly otherEmail: string | null
  /** What was done (`onIdentityConflict`): the row was skipped (counted in `conflicted`), created, or applied without changing the identity. */
  readonly resolution: "skipped" | "created" | "updated"
}

/**
 * How the dates of a column were read: `order` (day or month first) and why: `detected` from its
 * values (a part above 12 settles it), `option` (`dateOrder`), `source` (the tool's convention:
 * Outlook and Mailchimp write month first), or `default` (day first; the values could be read both
 * ways, and the report warns at `ambiguousAt`).
 *
 * @since 0.4.0
 * @category models
 */
export interface DateOrderReport {
  readonly column: string
  readonly order: "dmy" | "mdy"
  readonly how: "detected" | "option" | "source" | "default"
  /** The first line whose date could be read both ways, if any. */
  readonly ambiguousAt?: number | undefined
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
  /** The tool the file comes from, told by its headers (`google`, `outlook`, `hubspot`, `mailchimp`, `vcard`, `generic`). */
  readonly dialect: Mapping.Dialect
  /** How the dates of each date column were read (day or month first, and why). */
  readonly dateOrders: ReadonlyArray<DateOrderReport>
  /** Marketing consent records written (from a consent column, or a Mailchimp export's status and times). */
  readonly consents: number
  /** Rows not written because of an identity conflict (`onIdentityConflict: "skip"`). */
  readonly conflicted: number
  /** Every identity conflict, skipped or resolved as `onIdentityConflict` says. */
  readonly conflicts: ReadonlyArray<IdentityConflict>
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

// What options share with a contact's input, checked by the contact's own schemas.
const OptionValues = Schema.Struct({
  source: ContactInput.from.fields.source,
  firstSeenAt: ContactInput.from.fields.firstSeenAt,
  tags: ContactInput.from.fields.tags
})
const decodeOptionValues = Schema.decodeUnknownEither(OptionValues, { errors: "all" })

const FORMATS: ReadonlyArray<string> = ["csv", "xlsx", "vcard"]
const POLICIES: ReadonlyArray<string> = ["skip", "update", "fillEmpty"]
const CONFLICT_POLICIES: ReadonlyArray<string> = ["skip", "create", "update"]
const DATE_ORDERS: ReadonlyArray<string> = ["dmy", "mdy"]

const show = (value: unknown) => {
  if (typeof value === "string") return JSON.stringify(value)
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid Date" : value.toISOString()
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  return typeof value === "object" ? "an object" : typeof value === "bigint" ? `${value}n` : String(value)
}

/**
 * Checks an import's options before the file is read: every wrong option is named, with why, in
 * one `ValidationError` (a wrong option would otherwise fail every row the same way).
 *
 * @since 0.4.0
 * @category utils
 */
export const validateOptions = (options: unknown): Either.Either<ImportOptions, Errors.ValidationError> => {
  if (options === undefined) return Either.right({})
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return Either.left(Errors.ValidationError.at([], `import options must be an object (got ${show(options)})`))
  }
  const o = options as Record<string, unknown>
  const issues: Array<{ path: ReadonlyArray<string | number>; message: string }> = []
  const problem = (key: string, message: string) => issues.push({ path: [key], message: `${message} (got ${show(o[key])})` })
  const given = (key: string) => o[key] !== undefined
  const oneOf = (key: string, values: ReadonlyArray<string>) => {
    if (given(key) && !values.includes(o[key] as string)) problem(key, `must be one of ${values.map((v) => `"${v}"`).join(", ")}`)
  }
  const known = new Set([
    "format", "encoding", "delimiter", "sheet", "mapping", "source", "firstSeenAt", "tags", "country", "currency",
    "dateOrder", "policy", "onIdentityConflict", "dryRun", "batchSize", "startAtLine", "onProgress"
  ])
  for (const key of Object.keys(o)) if (!known.has(key)) issues.push({ path: [key], message: `is not an import option (options: ${[...known].join(", ")})` })
  oneOf("format", FORMATS)
  oneOf("policy", POLICIES)
  oneOf("onIdentityConflict", CONFLICT_POLICIES)
  oneOf("dateOrder", DATE_ORDERS)
  if (given("encoding") && (typeof o["encoding"] !== "string" || o["encoding"] === "")) problem("encoding", "must be an encoding name such as utf-8 or windows-1252")
  if (given("delimiter") && (typeof o["delimiter"] !== "string" || o["delimiter"].length !== 1 || /[\r\n"]/.test(o["delimiter"]))) {
    problem("delimiter", "must be one character other than a quote or a line break")
  }
  if (given("sheet") && !(typeof o["sheet"] === "string" || (Number.isSafeInteger(o["sheet"]) && (o["sheet"] as number) >= 1))) {
    problem("sheet", "must be a sheet name or a position from 1")
  }
  if (given("mapping")) {
    const m = o["mapping"]
    if (m === null || typeof m !== "object" || Array.isArray(m)) problem("mapping", "must be an object of column names to targets")
    else for (const [column, target] of Object.entries(m)) if (typeof target !== "string") issues.push({ path: ["mapping", column], message: `must be a target name (got ${show(target)})` })
  }
  if (given("firstSeenAt") && o["firstSeenAt"] instanceof Date && Number.isNaN(o["firstSeenAt"].getTime())) problem("firstSeenAt", "must be a valid date")
  const values = decodeOptionValues({
    ...(given("source") ? { source: o["source"] } : {}),
    ...(given("firstSeenAt") ? { firstSeenAt: o["firstSeenAt"] instanceof Date ? (Number.isNaN(o["firstSeenAt"].getTime()) ? undefined : o["firstSeenAt"].toISOString()) : o["firstSeenAt"] } : {}),
    ...(given("tags") ? { tags: o["tags"] } : {})
  })
  if (Either.isLeft(values)) {
    for (const issue of ParseResult.ArrayFormatter.formatErrorSync(values.left)) {
      const key = String(issue.path[0])
      const message = key === "firstSeenAt" ? "must be an instant such as 2025-03-12T09:00:00Z or a Date" : issue.message
      issues.push({ path: issue.path.map((p) => (typeof p === "number" ? p : String(p))), message: `${message} (got ${show(o[key])})` })
    }
  }
  if (given("country") && (typeof o["country"] !== "string" || !Mapping.isCountry(o["country"]))) problem("country", "must be a country code such as FR, BE or US")
  if (given("currency") && (typeof o["currency"] !== "string" || !/^[A-Z]{3}$/.test(o["currency"]))) problem("currency", "must be an ISO currency code such as EUR or USD")
  if (given("dryRun") && typeof o["dryRun"] !== "boolean") problem("dryRun", "must be true or false")
  if (given("batchSize") && !(Number.isSafeInteger(o["batchSize"]) && (o["batchSize"] as number) >= 1 && (o["batchSize"] as number) <= 5_000)) {
    problem("batchSize", "must be a whole number from 1 to 5,000")
  }
  if (given("startAtLine") && !(Number.isSafeInteger(o["startAtLine"]) && (o["startAtLine"] as number) >= 0)) problem("startAtLine", "must be a line number (a whole number from 0)")
  if (given("onProgress") && typeof o["onProgress"] !== "function") problem("onProgress", "must be a function")
  // Keep the first issue per path: one clear reason per option.
  const unique = issues.filter((issue, i) => issues.findIndex((other) => other.path.join(".") === issue.path.join(".")) === i)
  return unique.length === 0 ? Either.right(o as ImportOptions) : Either.left(Errors.ValidationError.fromIssues(unique, "Invalid import options"))
}

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
  // Every other email and phone too: a row matches a contact (or row) through any of them.
  for (const e of candidate.emails ?? []) keys.push(`email:${Email.emailKey(e.value.trim())}`)
  for (const def of uniqueFields) {
    const value = candidate.fields?.[def.key]
    if (value !== undefined && value !== null) keys.push(`field:${def.key}:${FieldDefinition.uniqueValueKey(def, value)}`)
  }
  if (candidate.phone !== undefined) keys.push(`phone:${candidate.phone}`)
  for (const p of candidate.phones ?? []) keys.push(`phone:${p.value}`)
  return [...new Set(keys)]
}

const describeKey = (key: string) => {
  const [kind, a, b] = key.split(":")
  return kind === "email" ? `email ${a}` : kind === "phone" ? `phone ${key.slice(6)}` : `${a} ${b}`
}

const emailKeyOf = (email: string | null | undefined) => (email === null || email === undefined ? undefined : Email.emailKey(email.trim()))

// The attributes that say who a contact is: an identity conflict never replaces them.
const IDENTITY: ReadonlyArray<keyof Mapping.Candidate> = ["email", "firstName", "lastName"]

/**
 * A later row of the file merged into an earlier one's: its filled values fill (`fill`) or
 * overwrite (`overwrite`) the earlier ones, tags add up; with `keepIdentity`, the email and names
 * are only filled.
 */
const mergeCandidates = (first: Mapping.Candidate, later: Mapping.Candidate, mode: "fill" | "overwrite", keepIdentity: boolean): Mapping.Candidate => {
  const out: Record<string, unknown> = { ...first }
  for (const [key, value] of Object.entries(later)) {
    if (value === undefined || key === "fields" || key === "tags" || key === "emails" || key === "phones") continue
    const fillOnly = mode === "fill" || (keepIdentity && IDENTITY.includes(key as keyof Mapping.Candidate))
    if (out[key] === undefined || !fillOnly) out[key] = value
  }
  const tags = [...(first.tags ?? []), ...(later.tags ?? []).filter((t) => !(first.tags ?? []).includes(t))]
  if (tags.length > 0) out["tags"] = tags
  // Every email and phone of both rows, the first row's first (the contact's input puts the primary one first).
  const union = (a: Mapping.Candidate, b: Mapping.Candidate, kind: "email" | "phone", key: (v: string) => string) => {
    const listOf = (c: Mapping.Candidate) => (kind === "email" ? c.emails : c.phones) ?? (c[kind] === undefined ? [] : [{ value: c[kind]!, label: null }])
    const all = [...listOf(a), ...listOf(b)]
    return all.filter((e, i) => all.findIndex((o) => key(o.value) === key(e.value)) === i).slice(0, Contact.maxIdentities)
  }
  const emails = union(first, later, "email", (v) => Email.emailKey(v.trim()))
  if (emails.length > 1 || emails.some((e) => e.label !== null)) out["emails"] = emails
  const phones = union(first, later, "phone", (v) => v)
  if (phones.length > 1 || phones.some((p) => p.label !== null)) out["phones"] = phones
  if (later.fields !== undefined) {
    const fields: Record<string, unknown> = { ...first.fields }
    for (const [key, value] of Object.entries(later.fields)) if (fields[key] === undefined || mode === "overwrite") fields[key] = value
    out["fields"] = fields
  }
  return out as Mapping.Candidate
}

/**
 * Imports contacts from a file. Fails only when the file cannot be read at all (`ImportError`)
 * or the mapping or options are wrong (`ValidationError`, before any row is read); every row that
 * cannot be imported is in the report. A database failure mid-file stops the import: the report's
 * `stopped` says the line to resume from, the batches before it are stored.
 *
 * A row that matches a contact by phone or a unique custom field but carries another email is an
 * identity conflict: it never changes the matched contact's email or names (see
 * {@link IdentityConflictPolicy}). A later row of the file with the same email as an earlier one
 * is merged into the earlier one's contact under `fillEmpty` and `update` (skipped under `skip`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const importContacts = (
  input: Source.Input,
  givenOptions: ImportOptions = {}
): Effect.Effect<ImportReport, ImportError | Errors.ValidationError | Errors.StorageError, Storage.Storage | Contacts.Contacts | Companies.Companies | Workspaces.Workspaces> =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = Date.now()
      const options = yield* validateOptions(givenOptions)
      const storage = yield* Storage.Storage
      const contacts = yield* Contacts.Contacts
      const companies = yield* Companies.Companies
      const workspace = yield* (yield* Workspaces.Workspaces).get
      const batchSize = options.batchSize ?? 500
      const bytes = yield* Source.open(input)
      const opened = yield* Formats.open(bytes, options)
      const fields = yield* storage.fieldDefinitions.list(workspace.id, "contact")
      const recognized = Mapping.recognize(opened.headers, fields, options.mapping ?? {}, { lifecycle: workspace.lifecycle.preset })
      if (!("columns" in recognized)) {
        return yield* Errors.ValidationError.fromIssues(recognized.map((p) => ({ path: ["mapping", p.column], message: p.message })), "Invalid mapping")
      }
      const mapping = recognized
      const uniqueFields = fields.filter((f) => f.unique)
      // The order of day and month, per date column: the option when given, else what the values
      // settle (a first part above 12 is a day), else the source's convention (Outlook: month
      // first), else day first, reported when the column's values could be read both ways.
      const dialect = mapping.dialect ?? "generic"
      const fallbackOrder = options.dateOrder ?? Mapping.dialectDateOrder(dialect) ?? "dmy"
      const dateColumns = mapping.columns.filter(
        (c) =>
          c.target === "firstSeenAt" ||
          c.target === "consent.at" ||
          fields.some((f) => `fields.${f.key}` === c.target && (f.type === "date" || f.type === "datetime"))
      )
      const dateOrders = new Map<string, DateOrderReport>()
      const columnDateOrders: Record<string, "dmy" | "mdy"> = {}
      const settleDateOrders = (records: ReadonlyArray<SourceRecord>) => {
        if (options.dateOrder !== undefined) return
        for (const { column } of dateColumns) {
          const known = dateOrders.get(column)
          if (known?.how === "detected") continue
          // The whole batch is looked at before its rows are read: one value settling the order
          // makes the column's ambiguous values of the batch plain.
          let ambiguous: SourceRecord | undefined
          let settled: { readonly order: "dmy" | "mdy"; readonly record: SourceRecord } | undefined
          for (const record of records) {
            const evidence = Mapping.dateEvidence(record.values[column] ?? null)
            if (evidence === "ambiguous") ambiguous ??= record
            else if (evidence !== undefined) {
              settled = { order: evidence, record }
              break
            }
          }
          if (settled !== undefined) {
            dateOrders.set(column, { column, order: settled.order, how: "detected", ambiguousAt: known?.ambiguousAt ?? ambiguous?.line })
            columnDateOrders[column] = settled.order
            if (known !== undefined && known.order !== settled.order) {
              const word = (o: "dmy" | "mdy") => (o === "dmy" ? "day" : "month")
              list(report.warnings, {
                line: settled.record.line,
                reason: `${column}: ${JSON.stringify(settled.record.values[column])} shows its dates are ${word(settled.order)} first; the ambiguous dates of earlier batches (from line ${known.ambiguousAt}) were read ${word(known.order)} first`
              })
            }
          } else if (ambiguous !== undefined && known === undefined) {
            const how = Mapping.dialectDateOrder(dialect) === undefined ? "default" : "source"
            dateOrders.set(column, { column, order: fallbackOrder, how, ambiguousAt: ambiguous.line })
            if (how === "default") {
              list(report.warnings, {
                line: ambiguous.line,
                reason: `${column}: ${JSON.stringify(ambiguous.values[column])} could be day or month first, and no date of the column so far says which; read day first (pass dateOrder to choose)`
              })
            }
          }
        }
      }
      const valueOptions: Mapping.ValueOptions = {
        country: options.country ?? workspace.country ?? undefined,
        currency: options.currency,
        dateOrder: fallbackOrder,
        timezone: workspace.timezone,
        columnDateOrders,
        stages: workspace.lifecycle.stages
      }
      const policy = options.policy ?? "skip"
      const onConflict = options.onIdentityConflict ?? "skip"
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
        conflicted: 0,
        consents: 0,
        conflicts: [] as Array<IdentityConflict>,
        rejections: [] as Array<RowReport>,
        skips: [] as Array<RowReport>,
        updates: [] as Array<RowReport>,
        warnings: [] as Array<RowReport>,
        truncated: false
      }
      const list = <R>(into: Array<R>, row: R) => {
        if (into.length < maxListed) into.push(row)
        else report.truncated = true
      }
      const reject = (line: number, reason: string) => {
        report.rejected++
        list(report.rejections, { line, reason })
      }
      // A dry run stores nothing, so duplicates across batches are found in memory (with the
      // email of the row that holds the key, to tell a duplicate from an identity conflict).
      const seenInRun = new Map<string, { readonly line: number; readonly email: string | undefined }>()
      // With a policy that writes to stored contacts, the contacts this import created or matched,
      // by the line that did: a later row matching one is merged into it.
      const touched = new Map<string, number>()

      // Problems named by the file's column (a required field without a column says so), the
      // schema's "Expected null / undefined" alternatives left out when a real reason is given.
      const columnOf = (path: ReadonlyArray<PropertyKey>) => {
        const target = (
          path[0] === "fields" ? `fields.${String(path[1])}` : path[0] === "source" ? `source.${String(path[1])}` : path[0] === "emails" ? "email" : path[0] === "phones" ? "phone" : String(path[0])
        ) as Mapping.Target
        const column = mapping.columns.find((c) => c.target === target)?.column
        return column ?? (path[0] === "fields" ? `${String(path[1])} (no column)` : path.map(String).join(".") || "row")
      }
      const readable = (issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>) => {
        const byColumn = new Map<string, Array<string>>()
        for (const issue of issues) {
          const column = columnOf(issue.path)
          byColumn.set(column, [...(byColumn.get(column) ?? []), issue.message])
        }
        return [...byColumn].map(([column, messages]) => {
          const real = messages.filter((m) => !/^Expected (null|undefined), actual/.test(m))
          return `${column}: ${[...new Set(real.length > 0 ? real : messages)].join("; ")}`
        })
      }

      /** A candidate as the contact's input, or every reason it cannot be one. */
      const inputOf = (c: Mapping.Candidate): Either.Either<Contact.ContactCreate, ReadonlyArray<string>> => {
        const tags = [...(c.tags ?? []), ...(options.tags ?? []).filter((t) => !(c.tags ?? []).includes(t))]
        const source = c.source ?? options.source
        const firstSeenAt = c.firstSeenAt ?? defaultFirstSeen
        const raw = {
          ...(c.email === undefined ? {} : { email: c.email }),
          ...(c.firstName === undefined ? {} : { firstName: c.firstName }),
          ...(c.lastName === undefined ? {} : { lastName: c.lastName }),
          ...(c.phone === undefined ? {} : { phone: c.phone }),
          ...(c.emails === undefined ? {} : { emails: c.emails }),
          ...(c.phones === undefined ? {} : { phones: c.phones }),
          ...(tags.length === 0 ? {} : { tags }),
          ...(c.ownerId === undefined ? {} : { ownerId: c.ownerId }),
          ...(c.score === undefined ? {} : { score: c.score }),
          ...(c.timezone === undefined ? {} : { timezone: c.timezone }),
          ...(c.stage === undefined ? {} : { stage: c.stage }),
          ...(source === undefined ? {} : { source }),
          ...(firstSeenAt === undefined ? {} : { firstSeenAt }),
          ...(c.fields === undefined ? {} : { fields: c.fields })
        }
        // Every problem of the row, not only the first: the contact's schema, then its fields.
        const decoded = decodeContact(raw)
        const problems = Either.isLeft(decoded) ? readable(ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) : []
        const stage = Either.isRight(decoded) ? decoded.right.stage : typeof raw.stage === "string" ? raw.stage : undefined
        const stageIndex = LifecycleDefinition.indexOf(workspace.lifecycle, stage ?? LifecycleDefinition.initialStage(workspace.lifecycle))
        const fieldValues = Either.isRight(decoded) ? (decoded.right.fields ?? {}) : (c.fields ?? {})
        if (!(Either.isLeft(decoded) && problems.some((p) => p.startsWith("fields")))) {
          // Conditional requirements read the contact as the row describes it.
          const subject = Either.isRight(decoded)
            ? {
                email: decoded.right.email ?? decoded.right.emails?.[0]?.value ?? null,
                firstName: decoded.right.firstName ?? null,
                lastName: decoded.right.lastName ?? null,
                phone: decoded.right.phone ?? decoded.right.phones?.[0]?.value ?? null,
                tags: decoded.right.tags ?? [],
                ownerId: decoded.right.ownerId ?? null,
                score: decoded.right.score ?? 0,
                timezone: decoded.right.timezone ?? null,
                ...(decoded.right.source === undefined ? {} : { source: decoded.right.source })
              }
            : undefined
          const checked = FieldDefinition.validate(compiled, fieldValues, Math.max(stageIndex, 0), subject)
          if (Either.isLeft(checked)) problems.push(...readable(checked.left))
        }
        return problems.length === 0 ? Either.right(raw as Contact.ContactCreate) : Either.left(problems)
      }

      const prepare = (record: SourceRecord): Accepted | undefined => {
        if (record.problem !== undefined) return void reject(record.line, record.problem)
        const mapped = Mapping.map(record, mapping, fields, valueOptions)
        for (const warning of mapped.warnings) list(report.warnings, { line: record.line, reason: warning })
        const c = mapped.candidate
        const checked = inputOf(c)
        const problems = [...mapped.issues.map((i) => `${i.column}: ${i.message}`), ...(Either.isLeft(checked) ? checked.left : [])]
        if (problems.length > 0 || Either.isLeft(checked)) return void reject(record.line, [...new Set(problems)].join("; "))
        return { line: record.line, input: checked.right, candidate: c, keys: keysOf(c, uniqueFields) }
      }

      /** The stored contacts a batch's rows duplicate, by key. */
      const storedMatches = (rows: ReadonlyArray<Accepted>) =>
        Effect.gen(function* () {
          const byKey = new Map<string, Contact.Contact>()
          const emails = [...new Set(rows.flatMap((r) => r.keys.filter((k) => k.startsWith("email:")).map((k) => k.slice(6))))]
          // A contact is found by any of its emails and phones, primary or not.
          if (emails.length > 0) for (const c of yield* storage.contacts.findByEmails(workspace.id, emails)) for (const e of c.emails) byKey.set(`email:${Email.emailKey(e.value)}`, c)
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
          if (phones.length > 0) for (const c of yield* storage.contacts.findByPhones(workspace.id, phones)) for (const p of c.phones) byKey.set(`phone:${p.value}`, c)
          return byKey
        })

      /**
       * The changes a candidate brings to a stored contact under the policy; none when it brings
       * nothing new. With `keepIdentity` (an identity conflict applied), the email and names are
       * only filled. The email is otherwise only ever written when the stored one has none: a
       * match on email keeps it, and any other match with another email is a conflict.
       */
      const changesFor = (
        stored: Contact.Contact,
        c: Mapping.Candidate,
        keepIdentity: boolean,
        /** Whether another contact (or row) holds this email key: the contact does not take it. */
        heldElsewhere: (emailKey: string) => boolean = () => false
      ): Contact.ContactUpdate | undefined => {
        const fill = policy === "fillEmpty"
        const changes: Record<string, unknown> = {}
        const set = <K extends keyof Contact.Contact>(key: K, value: unknown, fillOnly = fill) => {
          if (value === undefined) return
          const current = stored[key]
          if (fillOnly ? current === null || current === "" : JSON.stringify(current) !== JSON.stringify(value)) changes[key] = value
        }
        if (c.email !== undefined && stored.email === null) changes["email"] = c.email
        set("firstName", c.firstName, fill || keepIdentity)
        set("lastName", c.lastName, fill || keepIdentity)
        set("phone", c.phone)
        set("ownerId", c.ownerId)
        set("timezone", c.timezone)
        // The row's other emails and phones are added after the contact's own (never replacing them).
        const heldEmails = new Set(stored.emails.map((e) => Email.emailKey(e.value)))
        // Not under an identity conflict applied to the contact: the row's addresses are another person's.
        const addEmails = (keepIdentity ? [] : (c.emails ?? [])).filter((e) => {
          const key = Email.emailKey(e.value.trim())
          return !heldEmails.has(key) && !heldElsewhere(key) && key !== emailKeyOf(changes["email"] as string | undefined)
        })
        if (addEmails.length > 0) changes["emails"] = [...stored.emails, ...addEmails].slice(0, Contact.maxIdentities)
        const heldPhones = new Set(stored.phones.map((p) => p.value))
        const addPhones = (c.phones ?? []).filter((p) => !heldPhones.has(p.value) && p.value !== changes["phone"])
        if (addPhones.length > 0) changes["phones"] = [...stored.phones, ...addPhones].slice(0, Contact.maxIdentities)
        const tags = [...(c.tags ?? []), ...(options.tags ?? [])].filter((t, i, all) => !stored.tags.includes(t) && all.indexOf(t) === i)
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

      /**
       * What a batch does to one contact: create it or update a stored one, from a row and the
       * later rows of the file merged into it.
       */
      interface Plan {
        row: Accepted
        readonly stored: Contact.Contact | undefined
        /** The earlier batch's line that created or updated the stored contact, if any. */
        readonly after: number | undefined
        readonly keepIdentity: boolean
        readonly merged: Array<{ readonly line: number; readonly on: string; readonly brought: boolean }>
      }

      /**
       * Records the marketing consent a row states, with its proof (the time and source the file
       * gives), unless the contact's stored decision is as recent or more.
       */
      const writeConsent = (contactId: string, consent: Mapping.Consent | undefined, stored: boolean) =>
        Effect.gen(function* () {
          if (consent === undefined) return
          const at = consent.at === undefined ? yield* DateTime.now : DateTime.unsafeMake(consent.at)
          const id = contactId as Ids.ContactId
          if (stored) {
            const current = (yield* storage.consents.list(workspace.id, id)).find((r) => r.purpose === Consent.defaultPurpose)
            if (current !== undefined && current.at.epochMillis >= at.epochMillis) return
          }
          // A granted consent keeps its proof: given by import, when the file says.
          const proof = consent.granted
            ? new Consent.ConsentProof({ at, method: "import", ip: null, userAgent: null, evidence: null, requestedAt: null })
            : null
          yield* storage.consents.put(
            new Consent.ConsentRecord({ workspaceId: workspace.id, contactId: id, purpose: Consent.defaultPurpose, granted: consent.granted, source: consent.source, at, proof })
          )
          report.consents++
        })

      /** The rows merged into a plan's contact, once it is written (or would be, in a dry run). */
      const accountMerged = (plan: Plan, contactId: string | undefined, wrote = true) => {
        for (const m of plan.merged) {
          if (!m.brought || !wrote) report.unchanged++
          else {
            report.updated++
            list(report.updates, { line: m.line, reason: `${dryRun ? "would be merged" : "merged"} into line ${plan.row.line}'s contact (same ${describeKey(m.on)})`, contactId })
          }
        }
      }

      /** One batch: decisions, then (unless a dry run) its writes in one transaction. */
      const runBatch = (records: ReadonlyArray<SourceRecord>) =>
        Effect.gen(function* () {
          settleDateOrders(records)
          const rows = records.flatMap((r) => {
            const accepted = prepare(r)
            return accepted === undefined ? [] : [accepted]
          })
          // A dry run reads stored contacts like a real run, so it predicts a re-import truly.
          const stored = yield* storedMatches(rows)
          const plans: Array<Plan> = []
          const inBatch = new Map<string, Plan>()
          const byContact = new Map<string, Plan>()
          const register = (plan: Plan, row: Accepted) => {
            for (const key of row.keys) {
              if (!inBatch.has(key)) inBatch.set(key, plan)
              if (dryRun && !seenInRun.has(key)) seenInRun.set(key, { line: plan.row.line, email: emailKeyOf(plan.row.candidate.email) ?? emailKeyOf(plan.stored?.email) })
            }
          }
          /** Why a row cannot be written to a contact: a unique value it carries belongs to another contact (or row). */
          const heldElsewhere = (row: Accepted, contact: Contact.Contact | undefined, plan: Plan | undefined) => {
            for (const key of row.keys) {
              if (!key.startsWith("field:")) continue
              const holder = stored.get(key)
              if (holder !== undefined && holder.id !== contact?.id) return `${describeKey(key)} already belongs to contact ${holder.id} (${holder.email ?? holder.displayName})`
              const other = inBatch.get(key)
              if (other !== undefined && other !== plan) return `${describeKey(key)} already belongs to line ${other.row.line}'s contact`
            }
            return undefined
          }
          const newPlan = (row: Accepted, contact: Contact.Contact | undefined, keepIdentity: boolean, after?: number) => {
            const held = heldElsewhere(row, contact, undefined)
            if (held !== undefined) return reject(row.line, held)
            const plan: Plan = { row, stored: contact, after, keepIdentity, merged: [] }
            plans.push(plan)
            if (contact !== undefined) byContact.set(contact.id, plan)
            register(plan, row)
          }
          /** Merges a later row into a plan; the row is rejected when the merged contact would be invalid. */
          const mergeInto = (plan: Plan, row: Accepted, on: string, keepIdentity: boolean) => {
            const held = heldElsewhere(row, plan.stored, plan)
            if (held !== undefined) return reject(row.line, held)
            const candidate = mergeCandidates(plan.row.candidate, row.candidate, policy === "fillEmpty" ? "fill" : "overwrite", keepIdentity)
            const checked = inputOf(candidate)
            if (Either.isLeft(checked)) return reject(row.line, `merging it into line ${plan.row.line}: ${checked.left.join("; ")}`)
            const brought = JSON.stringify(candidate) !== JSON.stringify(plan.row.candidate)
            plan.row = { ...plan.row, candidate, input: checked.right }
            plan.merged.push({ line: row.line, on, brought })
            register(plan, row)
          }
          /** An identity conflict, handled as `onIdentityConflict` says. */
          const conflict = (row: Accepted, on: string, other: { readonly line?: number | undefined; readonly contact?: Contact.Contact; readonly email: string | undefined; readonly plan?: Plan }) => {
            const otherEmail = other.contact !== undefined ? other.contact.email : (other.plan?.row.candidate.email ?? null)
            const who = other.contact !== undefined ? `stored contact ${other.contact.id}` : `line ${other.line}`
            const entry = {
              line: row.line,
              email: row.candidate.email!,
              matchedOn: describeKey(on),
              contactId: other.contact?.id,
              otherLine: other.contact === undefined ? other.line : undefined,
              otherEmail: otherEmail ?? null
            }
            const reason = `same ${describeKey(on)} as ${who} (${otherEmail === null || otherEmail === undefined ? "no email" : otherEmail}), but email ${row.candidate.email}`
            if (onConflict === "create" && on.startsWith("field:")) {
              list(report.conflicts, { ...entry, reason: `${reason}; not created: ${describeKey(on)} is unique`, resolution: "skipped" })
              report.conflicted++
              return
            }
            const resolution = onConflict === "skip" ? "skipped" : onConflict === "create" ? "created" : "updated"
            list(report.conflicts, { ...entry, reason, resolution })
            if (onConflict === "skip") report.conflicted++
            else if (onConflict === "create") newPlan(row, undefined, false)
            else if (other.plan !== undefined) mergeInto(other.plan, row, on, true)
            else if (other.contact !== undefined) newPlan(row, other.contact, true)
            else report.updated++ // a dry run's earlier batch: the row would be applied to that line's contact
          }
          // Whether a match on `key` with a contact (or row) of email `otherEmail` is another person.
          const conflicting = (row: Accepted, key: string, otherEmail: string | undefined) =>
            !key.startsWith("email:") && row.candidate.email !== undefined && emailKeyOf(row.candidate.email) !== otherEmail

          for (const row of rows) {
            // The strongest key the row shares with an earlier row of the batch, an earlier batch
            // (a dry run, which stores nothing) or a stored contact, in that order for one key.
            const matchedOn = row.keys.find((k) => inBatch.has(k) || (dryRun && seenInRun.has(k)) || stored.has(k))
            if (matchedOn === undefined) {
              newPlan(row, undefined, false)
              continue
            }
            const plan = inBatch.get(matchedOn)
            if (plan !== undefined) {
              const planEmail = emailKeyOf(plan.row.candidate.email) ?? emailKeyOf(plan.stored?.email)
              if (conflicting(row, matchedOn, planEmail)) conflict(row, matchedOn, { line: plan.row.line, email: planEmail, plan, ...(plan.stored === undefined ? {} : { contact: plan.stored }) })
              else if (policy === "skip") {
                report.skipped++
                list(report.skips, { line: row.line, reason: `duplicate of line ${plan.row.line} (same ${describeKey(matchedOn)})`, contactId: plan.stored?.id })
              } else mergeInto(plan, row, matchedOn, false)
              continue
            }
            const first = dryRun ? seenInRun.get(matchedOn) : undefined
            if (first !== undefined) {
              if (conflicting(row, matchedOn, first.email)) conflict(row, matchedOn, { line: first.line, email: first.email })
              else if (policy === "skip") {
                report.skipped++
                list(report.skips, { line: row.line, reason: `duplicate of line ${first.line} (same ${describeKey(matchedOn)})` })
              } else {
                report.updated++
                list(report.updates, { line: row.line, reason: `would be merged into line ${first.line}'s contact (same ${describeKey(matchedOn)})` })
              }
              continue
            }
            const match = stored.get(matchedOn)!
            const earlierPlan = byContact.get(match.id)
            // A row whose email is one of the contact's (primary or not) is that contact.
            const rowEmail = emailKeyOf(row.candidate.email)
            const ownEmail = match.emails.some((e) => Email.emailKey(e.value) === rowEmail) ? rowEmail : emailKeyOf(match.email)
            if (conflicting(row, matchedOn, ownEmail)) {
              conflict(row, matchedOn, { line: touched.get(match.id), contact: match, email: emailKeyOf(match.email), ...(earlierPlan === undefined ? {} : { plan: earlierPlan }) })
              continue
            }
            if (earlierPlan !== undefined) {
              // The same stored contact as an earlier row of the batch, through another key.
              if (policy === "skip") {
                report.skipped++
                list(report.skips, { line: row.line, reason: `duplicate of line ${earlierPlan.row.line} (same ${describeKey(matchedOn)})`, contactId: match.id })
              } else mergeInto(earlierPlan, row, matchedOn, false)
              continue
            }
            const earlier = touched.get(match.id)
            if (policy === "skip") {
              report.skipped++
              const reason = earlier === undefined ? `already stored (same ${describeKey(matchedOn)})` : `duplicate of line ${earlier} (same ${describeKey(matchedOn)})`
              list(report.skips, { line: row.line, reason, contactId: match.id })
              continue
            }
            newPlan(row, match, false, earlier)
          }

          const creations = plans.filter((p) => p.stored === undefined)
          const updates = plans.flatMap((plan) => {
            if (plan.stored === undefined) return []
            const holder = (key: string) => {
              const other = stored.get(`email:${key}`)
              const row = inBatch.get(`email:${key}`)
              return (other !== undefined && other.id !== plan.stored!.id) || (row !== undefined && row !== plan)
            }
            const changes = changesFor(plan.stored, plan.row.candidate, plan.keepIdentity, holder)
            return [{ plan, contact: plan.stored, changes }]
          })
          const updatedLine = (plan: Plan) => (plan.after === undefined ? "" : ` (merged into line ${plan.after}'s contact)`)
          if (dryRun) {
            report.created += creations.length
            for (const p of creations) accountMerged(p, undefined)
            for (const u of updates) {
              if (u.changes === undefined) report.unchanged++
              else {
                report.updated++
                list(report.updates, { line: u.plan.row.line, reason: `would update: ${Object.keys(u.changes).filter((k) => k !== "expectedVersion").join(", ")}${updatedLine(u.plan)}`, contactId: u.contact.id })
              }
              accountMerged(u.plan, u.contact.id, u.changes !== undefined)
            }
            return
          }
          yield* storage.transaction(
            Effect.gen(function* () {
              const inputs = yield* Effect.forEach(creations, (plan) =>
                Effect.map(companyFor(plan.row.candidate.company), (companyId) => (companyId === undefined ? plan.row.input : { ...plan.row.input, companyId }))
              )
              yield* createAll(creations, inputs)
              for (const u of updates) {
                if (policy !== "skip") touched.set(u.contact.id, u.plan.after ?? u.plan.row.line)
                yield* writeConsent(u.contact.id, u.plan.row.candidate.consent, true)
                const companyId = u.plan.row.candidate.company === undefined || u.contact.companyId !== null ? undefined : yield* companyFor(u.plan.row.candidate.company)
                const changes = companyId === undefined ? u.changes : { expectedVersion: u.contact.version, ...u.changes, companyId }
                if (changes === undefined) {
                  report.unchanged++
                  accountMerged(u.plan, u.contact.id, false)
                  continue
                }
                const updated = yield* contacts.update(u.contact.id, changes).pipe(
                  Effect.as(true),
                  Effect.catchTag("NotFound", () => Effect.succeed(false))
                )
                if (!updated) {
                  for (const line of [u.plan.row.line, ...u.plan.merged.map((m) => m.line)]) {
                    report.skipped++
                    list(report.skips, { line, reason: "the contact it duplicates was deleted during the import", contactId: u.contact.id })
                  }
                  continue
                }
                report.updated++
                list(report.updates, { line: u.plan.row.line, reason: `updated: ${Object.keys(changes).filter((k) => k !== "expectedVersion").join(", ")}${updatedLine(u.plan)}`, contactId: u.contact.id })
                accountMerged(u.plan, u.contact.id)
              }
            })
          )
        })

      /** Creates the batch's new contacts; rows the store refuses are rejected (with the rows merged into them) and the rest created. */
      const createAll = (plans: ReadonlyArray<Plan>, inputs: ReadonlyArray<Contact.ContactCreate>): Effect.Effect<void, Errors.StorageError | Errors.Conflict | Errors.ValidationError> =>
        plans.length === 0
          ? Effect.void
          : Effect.catchTag(
              Effect.flatMap(contacts.createMany(inputs), (created) => {
                report.created += created.length
                created.forEach((contact, i) => {
                  if (policy !== "skip") touched.set(contact.id, plans[i]!.row.line)
                  accountMerged(plans[i]!, contact.id)
                })
                return Effect.forEach(created, (contact, i) => writeConsent(contact.id, plans[i]!.row.candidate.consent, false), { discard: true })
              }),
              "ValidationError",
              (error) => {
                const bad = new Map<number, Array<string>>()
                for (const issue of error.issues) {
                  const index = issue.path[0]
                  if (typeof index !== "number") return Effect.fail(error)
                  bad.set(index, [...(bad.get(index) ?? []), `${issue.path.slice(1).join(".") || "row"}: ${issue.message}`])
                }
                for (const [index, reasons] of bad) {
                  const plan = plans[index]!
                  reject(plan.row.line, reasons.join("; "))
                  for (const m of plan.merged) reject(m.line, `merged into line ${plan.row.line}, which was rejected: ${reasons.join("; ")}`)
                }
                const keep = plans.flatMap((_, i) => (bad.has(i) ? [] : [i]))
                return createAll(keep.map((i) => plans[i]!), keep.map((i) => inputs[i]!))
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
                rejected: report.rejected,
                conflicted: report.conflicted
              })
            })
          )
        })
      )
      const finished = {
        dryRun,
        format: opened.format,
        details: opened.details,
        mapping: mapping.columns,
        unmapped: mapping.unmapped,
        dialect,
        dateOrders: dateColumns.map(({ column }) => dateOrders.get(column) ?? { column, order: fallbackOrder, how: options.dateOrder !== undefined ? "option" : Mapping.dialectDateOrder(dialect) !== undefined ? "source" : "default" }),
        ...report,
        stopped,
        durationMs: Date.now() - started
      } satisfies ImportReport
      // Subscribers of the `import.finished` webhook hear of an import that wrote (not of a dry
      // run). The Webhooks service is part of Crm.layer; without it there is no one to tell.
      const webhooks = yield* Effect.serviceOption(Webhooks.Webhooks)
      if (!dryRun && Option.isSome(webhooks)) {
        yield* webhooks.value.importFinished({
          format: finished.format,
          rowsRead: finished.rowsRead,
          created: finished.created,
          updated: finished.updated,
          skipped: finished.skipped,
          rejected: finished.rejected,
          conflicted: finished.conflicted,
          stopped: finished.stopped,
          durationMs: finished.durationMs
        }).pipe(
          // The import is done and stored whatever happens here: a failure to queue is logged.
          Effect.catchAll((error) => Effect.logWarning("Rapport import: could not queue the import.finished webhooks", error))
        )
      }
      return finished
    })
  )
