/**
 * Contact exports that are safe to open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so
 * Excel shows accents right; CRLF; RFC 4180 quoting by csv-stringify) and XLSX (exceljs's
 * streaming writer: a bold header, real dates). Both are streams of bytes written as contacts
 * are read, so 100,000 contacts take no more memory than a few hundred; write them to a file
 * with {@link toFile}, collect them with {@link toBuffer}, or send them as a web stream with
 * `Stream.toReadableStream`.
 *
 * Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return) is neutralised with a leading `'`, as OWASP recommends ({@link neutralize}).
 *
 * @since 0.3.0
 */
import { Contact, type ContactJson, type FieldDefinition, Money } from "@rapport/core"
import { stringify } from "csv-stringify/sync"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type ExcelJS from "exceljs"
import { promises as fs } from "node:fs"
import { PassThrough } from "node:stream"
import { loadExcel } from "./internal/excel.js"
import * as formula from "./internal/formula.js"

/**
 * Why an export failed: `source` (reading the contacts failed), `options` (a column the export
 * does not know, a column whose `value` threw, a sheet name Excel refuses), `write` (writing the
 * file or the workbook failed).
 *
 * @since 0.3.0
 * @category schemas
 */
export const ExportFailure = Schema.Literal("source", "options", "write")

/**
 * An export could not be completed.
 *
 * @since 0.3.0
 * @category errors
 */
export class ExportError extends Schema.TaggedError<ExportError>("@rapport/importers/ExportError")("ExportError", {
  message: Schema.String,
  reason: ExportFailure,
  cause: Schema.optional(Schema.Defect)
}) {
  /** A stable code: `EXPORT_SOURCE`, `EXPORT_OPTIONS` or `EXPORT_WRITE`. */
  get code(): "EXPORT_SOURCE" | "EXPORT_OPTIONS" | "EXPORT_WRITE" {
    return `EXPORT_${this.reason.toUpperCase() as Uppercase<typeof ExportFailure.Type>}`
  }
}

const failure = (reason: typeof ExportFailure.Type, what: string) => (cause: unknown) =>
  new ExportError({ reason, message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

/**
 * Makes text safe from formula injection: text starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return (or their full-width forms, which some spreadsheets also read as formulas) is
 * prefixed with a single quote, so a spreadsheet shows it instead of running it. Other text is
 * returned as is. Phone numbers in international form (`+33…`) get the quote too: that is the
 * price of never running a cell. Text already starting with quotes and then such a character gets
 * one more, so that imports, which remove that one quote, read back exactly what was exported.
 *
 * @since 0.3.0
 * @category utils
 */
export const neutralize: (text: string) => string = formula.neutralize

/**
 * One column of an export: its header and how to get its value from a contact. A value may be
 * text, a number, a boolean, a `Date` (or an effect `DateTime`), money (`{ amountMinor, currency }`),
 * a list (written as `a, b`), or empty (`null`/`undefined`); other objects are written as JSON.
 *
 * @since 0.3.0
 * @category models
 */
export interface Column {
  /** The header row's text for this column. */
  readonly header: string
  /** The column's value for a contact. */
  readonly value: (contact: ContactJson) => unknown
  /**
   * `date`: a date without time (`YYYY-MM-DD` text is read as one); `datetime`: an instant (ISO
   * text is read as one), written in UTC. Dates are real dates in XLSX, ISO-8601 text in CSV.
   */
  readonly kind?: "date" | "datetime" | undefined
}

/**
 * What {@link column} knows: a contact's attributes, and `fields.<key>` for a custom field.
 *
 * @since 0.3.0
 * @category models
 */
export type ColumnKey =
  | "id"
  | "email"
  | "firstName"
  | "lastName"
  | "phone"
  | "companyId"
  | "stage"
  | "tags"
  | "ownerId"
  | "score"
  | "source.channel"
  | "source.campaign"
  | "firstSeenAt"
  | "createdAt"
  | "updatedAt"
  | "timezone"
  | "version"
  | `fields.${string}`

/**
 * What an export needs to know of a custom field: its key and, to write it well, its label (the
 * column's header), its type (dates as dates, money as money) and its options (select and
 * multi-select values written as their labels). A `FieldDefinition` and the Promise client's
 * `FieldDefinitionJson` both fit.
 *
 * @since 0.3.0
 * @category models
 */
export interface FieldInfo {
  /** The field's key in a contact's `fields`. */
  readonly key: string
  /** The column's header; `fields.<key>` without one. */
  readonly label?: string | undefined
  /** The field's type: `date` and `datetime` make real dates, `money` amounts in their currency. */
  readonly type?: FieldDefinition.FieldType | undefined
  /** Option labels, for `select` and `multiSelect` values. */
  readonly options?: ReadonlyArray<{ readonly value: string; readonly label: string }> | undefined
}

type Builtin = Exclude<ColumnKey, `fields.${string}`>

const builtins: { readonly [K in Builtin]: Omit<Column, "header"> } = {
  id: { value: (c) => c.id },
  email: { value: (c) => c.email },
  firstName: { value: (c) => c.firstName },
  lastName: { value: (c) => c.lastName },
  phone: { value: (c) => c.phone },
  companyId: { value: (c) => c.companyId },
  stage: { value: (c) => c.stage },
  tags: { value: (c) => c.tags },
  ownerId: { value: (c) => c.ownerId },
  score: { value: (c) => c.score },
  "source.channel": { value: (c) => c.source.channel },
  "source.campaign": { value: (c) => c.source.campaign },
  firstSeenAt: { value: (c) => c.firstSeenAt, kind: "datetime" },
  createdAt: { value: (c) => c.createdAt, kind: "datetime" },
  updatedAt: { value: (c) => c.updatedAt, kind: "datetime" },
  timezone: { value: (c) => c.timezone },
  version: { value: (c) => c.version }
}

const isBuiltin = (key: string): key is Builtin => Object.hasOwn(builtins, key)

/**
 * A column for a custom field: headed by its label (else `fields.<key>`), written as its type
 * says (dates as dates, select and multi-select values as their option labels).
 *
 * @since 0.3.0
 * @category constructors
 */
export const fieldColumn = (field: FieldInfo, header?: string): Column => {
  const labels = new Map((field.options ?? []).map((o) => [o.value, o.label] as const))
  const label = (v: unknown) => (typeof v === "string" ? (labels.get(v) ?? v) : v)
  const read = (c: ContactJson): unknown => (Object.hasOwn(c.fields, field.key) ? c.fields[field.key] : undefined)
  return {
    header: header ?? field.label ?? `fields.${field.key}`,
    value:
      labels.size === 0
        ? read
        : (c) => {
            const v = read(c)
            return Array.isArray(v) ? v.map(label) : label(v)
          },
    kind: field.type === "date" ? "date" : field.type === "datetime" ? "datetime" : undefined
  }
}

/**
 * The column for a key, headed by the key unless a header is given:
 * `column("email")`, `column("source.channel", "Canal")`, `column("fields.siret", "SIRET")`.
 * Throws a `TypeError` for a key outside {@link ColumnKey}.
 *
 * @since 0.3.0
 * @category constructors
 */
export const column = (key: ColumnKey, header?: string): Column => {
  if (key.startsWith("fields.") && key.length > "fields.".length) {
    return fieldColumn({ key: key.slice("fields.".length) }, header ?? key)
  }
  if (!isBuiltin(key)) {
    throw new TypeError(`Unknown export column ${JSON.stringify(key)}: use a contact attribute (${Object.keys(builtins).join(", ")}) or fields.<key>`)
  }
  return { header: header ?? key, ...builtins[key] }
}

/**
 * The columns exported by default: email, firstName, lastName, phone, companyId, stage, tags,
 * ownerId, score, timezone, source.channel, source.campaign, firstSeenAt, createdAt, then one per custom
 * field (a field key, or a definition for a typed column headed by its label).
 *
 * @since 0.3.0
 * @category constructors
 */
export const defaultColumns = (fields: ReadonlyArray<string | FieldInfo> = []): ReadonlyArray<Column> => [
  ...(
    [
      "email",
      "firstName",
      "lastName",
      "phone",
      "companyId",
      "stage",
      "tags",
      "ownerId",
      "score",
      "timezone",
      "source.channel",
      "source.campaign",
      "firstSeenAt",
      "createdAt"
    ] as const
  ).map((key) => column(key)),
  ...fields.map((field) => (typeof field === "string" ? column(`fields.${field}`) : fieldColumn(field)))
]

/**
 * The contacts to export: the Promise client's JSON form or `Contact` entities, from an array, an
 * iterable, an async iterable (pages fetched as the export goes) or an Effect `Stream`.
 *
 * @since 0.3.0
 * @category models
 */
export type Contacts<E = never, R = never> =
  | Iterable<ContactJson | Contact.Contact>
  | AsyncIterable<ContactJson | Contact.Contact>
  | Stream.Stream<ContactJson | Contact.Contact, E, R>

/**
 * Which columns to export:
 * - `columns`: the columns, in order: keys (`"email"`, `"fields.siret"`) or {@link Column}s with
 *   the caller's headers and values;
 * - otherwise {@link defaultColumns}, with one column per custom field: the `fields` given (field
 *   definitions, e.g. `crm.fields.list("contact")`, for typed columns headed by their labels), or
 *   else the keys found in the contacts: all of them for an array, the first `discover` (1,000 by
 *   default) for an iterable or a stream (only those are held in memory, until written); a key
 *   first seen after them is not exported, so give `fields` for a large stream.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The columns, in order; {@link defaultColumns} otherwise. */
  readonly columns?: ReadonlyArray<Column | ColumnKey> | undefined
  /** The custom fields to export (with the default columns), as field definitions. */
  readonly fields?: ReadonlyArray<FieldInfo> | undefined
  /** How many contacts of a stream are looked at for custom fields (1,000 by default). */
  readonly discover?: number | undefined
  /**
   * Which text is neutralised against formula injection: `all` (the default) quotes every text
   * starting with `=` `+` `-` `@`, a tab or a CR; `exceptNumbers` writes as they are the values
   * made only of a leading sign, digits, spaces, dots, dashes and parentheses (`+33 6 12 34 56 78`,
   * `-12.5`, `+1 (617) 555-0101`), for a file meant for another tool (a mailing service's
   * import) rather than a spreadsheet. Such values cannot call a function, but a spreadsheet may
   * compute them (`-1-2` shows `-3`).
   *
   * @since 0.4.0
   */
  readonly neutralize?: "all" | "exceptNumbers" | undefined
}

// Only a sign, digits, spaces, dots, dashes and parentheses, with a digit: a phone or a signed number.
const NUMBER_LIKE = /^[+-]?[0-9 .()-]*[0-9][0-9 .()-]*$/

/** The neutraliser the options ask for. */
const neutralizerOf = (options: Options): ((text: string) => string) =>
  options.neutralize === "exceptNumbers" ? (text) => (NUMBER_LIKE.test(text) ? text : neutralize(text)) : neutralize

/**
 * CSV options: the delimiter, `,` by default (`;` is what Excel expects where the decimal
 * separator is a comma, as in France: with `;`, numbers and amounts are written with a decimal
 * comma, `12,5` and `1234,50 EUR`).
 *
 * @since 0.3.0
 * @category models
 */
export interface CsvOptions extends Options {
  /** The field delimiter, `,` by default. */
  readonly delimiter?: "," | ";" | "\t" | undefined
}

/**
 * XLSX options: the sheet's name, `Contacts` by default.
 *
 * @since 0.3.0
 * @category models
 */
export interface XlsxOptions extends Options {
  /** The sheet's name (at most 31 characters, none of `[ ] : * ? / \`), `Contacts` by default. */
  readonly sheetName?: string | undefined
}

// ---------------------------------------------------------------------------------------------
// Contacts in, columns resolved

const batch = 500
const encodeContact = Schema.encodeSync(Contact.Contact)
const toJson = (c: ContactJson | Contact.Contact): ContactJson => (c instanceof Contact.Contact ? encodeContact(c) : c)

const isStream = <E, R>(u: Contacts<E, R>): u is Stream.Stream<ContactJson | Contact.Contact, E, R> =>
  typeof u === "object" && u !== null && Stream.StreamTypeId in u

const sourceError = failure("source", "Cannot read the contacts to export")

// An iterable read in batches; a throwing iterator (a generator) fails the stream, never the fiber.
const fromIterable = (iterable: Iterable<ContactJson | Contact.Contact>): Stream.Stream<ContactJson | Contact.Contact, ExportError> =>
  Array.isArray(iterable)
    ? Stream.fromIterable(iterable)
    : Stream.suspend(() => {
        const iterator = iterable[Symbol.iterator]()
        return Stream.repeatEffectOption(
          Effect.try({
            try: () => {
              const items: Array<ContactJson | Contact.Contact> = []
              for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
                items.push(next.value)
                if (items.length === batch) break
              }
              return items
            },
            catch: (cause) => Option.some(sourceError(cause))
          }).pipe(Effect.flatMap((items) => (items.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(items))))
        ).pipe(Stream.flattenIterables)
      })

const contactsStream = <E, R>(contacts: Contacts<E, R>): Stream.Stream<ContactJson, E | ExportError, R> => {
  const stream: Stream.Stream<ContactJson | Contact.Contact, E | ExportError, R> = isStream(contacts)
    ? contacts
    : Symbol.asyncIterator in contacts
      ? Stream.fromAsyncIterable(contacts, sourceError)
      : fromIterable(contacts)
  return Stream.map(stream, toJson)
}

const fieldKeys = (contacts: Iterable<ContactJson>, keys: Set<string> = new Set()): Set<string> => {
  for (const c of contacts) for (const key of Object.keys(c.fields)) keys.add(key)
  return keys
}

/** The columns, and the contacts (the first ones looked at to find the custom fields, then the rest). */
const prepare = <E, R>(
  contacts: Contacts<E, R>,
  options: Options
): Effect.Effect<{ readonly columns: ReadonlyArray<Column>; readonly contacts: Stream.Stream<ContactJson, E | ExportError, R> }, E | ExportError, R | Scope.Scope> =>
  Effect.gen(function* () {
    if (options.neutralize !== undefined && options.neutralize !== "all" && options.neutralize !== "exceptNumbers") {
      return yield* new ExportError({ reason: "options", message: `neutralize must be "all" or "exceptNumbers" (got ${JSON.stringify(options.neutralize)})` })
    }
    const chosen = options.columns
    if (chosen !== undefined) {
      const columns = yield* Effect.try({
        try: () => chosen.map((c) => (typeof c === "string" ? column(c) : c)),
        catch: (cause) => new ExportError({ reason: "options", message: cause instanceof Error ? cause.message : String(cause), cause })
      })
      if (columns.length === 0) return yield* new ExportError({ reason: "options", message: "An export needs at least one column" })
      return { columns, contacts: contactsStream(contacts) }
    }
    if (options.fields !== undefined) return { columns: defaultColumns(options.fields), contacts: contactsStream(contacts) }
    if (Array.isArray(contacts)) {
      const all = (contacts as ReadonlyArray<ContactJson | Contact.Contact>).map(toJson)
      return { columns: defaultColumns([...fieldKeys(all)]), contacts: Stream.fromIterable(all) }
    }
    const [head, rest] = yield* Stream.peel(contactsStream(contacts), Sink.take<ContactJson>(Math.max(0, options.discover ?? 1000)))
    return {
      columns: defaultColumns([...fieldKeys(head)]),
      contacts: Stream.concat(Stream.fromChunk(head), rest)
    }
  })

// ---------------------------------------------------------------------------------------------
// Values

interface MoneyValue {
  readonly amountMinor: number
  readonly currency: Money.Currency
}
const isMoney = Schema.is(Money.Money)

type Plain = string | number | boolean | Date | MoneyValue | null

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i

const validDate = (d: Date): Date | null => (Number.isNaN(d.getTime()) ? null : d)

/** An integer's digits, never in scientific notation; other numbers with the decimal separator given. */
const numberText = (n: number, decimal: "." | "," = "."): string =>
  Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(0) : decimal === "." ? String(n) : String(n).replace(".", ",")

/** Money as text people read and spreadsheets parse: `1234.50 EUR`, `-5 JPY`. Exact: no floats. */
const moneyText = (m: MoneyValue, decimal: "." | "," = "."): string => {
  const digits = Money.minorDigits(m.currency)
  const units = Math.abs(m.amountMinor).toFixed(0).padStart(digits + 1, "0")
  const amount = digits === 0 ? units : `${units.slice(0, -digits)}${decimal}${units.slice(-digits)}`
  return `${m.amountMinor < 0 ? "-" : ""}${amount} ${m.currency}`
}

const item = (v: unknown): string => {
  const p = plain(v, undefined)
  return p === null ? "" : typeof p === "string" ? p : p instanceof Date ? p.toISOString() : typeof p === "object" ? moneyText(p) : typeof p === "number" ? numberText(p) : String(p)
}

/** A column's value in one of the shapes a cell can hold. */
const plain = (v: unknown, kind: Column["kind"]): Plain => {
  if (v === null || v === undefined) return null
  if (typeof v === "string") {
    if (kind === "date" && DATE_ONLY.test(v)) return validDate(new Date(`${v}T00:00:00.000Z`)) ?? v
    if (kind !== undefined && ISO_INSTANT.test(v)) return validDate(new Date(v)) ?? v
    return v
  }
  if (typeof v === "number") return Number.isFinite(v) ? v : null
  if (typeof v === "boolean") return v
  if (typeof v === "bigint") return v.toString()
  if (v instanceof Date) return validDate(v)
  if (DateTime.isDateTime(v)) return DateTime.toDateUtc(v)
  if (Array.isArray(v)) return v.map(item).join(", ")
  if (isMoney(v)) return { amountMinor: v.amountMinor, currency: v.currency }
  return JSON.stringify(v) ?? null
}

const values = (columns: ReadonlyArray<Column>, contact: ContactJson): ReadonlyArray<Plain> =>
  columns.map((c) => {
    try {
      return plain(c.value(contact), c.kind)
    } catch (cause) {
      throw new ExportError({
        reason: "options",
        message: `Column ${JSON.stringify(c.header)} failed on contact ${contact.id}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
    }
  })

const rowsOf = (columns: ReadonlyArray<Column>) => (contacts: Chunk.Chunk<ContactJson>) =>
  Effect.try({
    try: () => Chunk.toReadonlyArray(contacts).map((c) => values(columns, c)),
    catch: (cause) => (cause instanceof ExportError ? cause : failure("options", "A column failed")(cause))
  })

// ---------------------------------------------------------------------------------------------
// CSV

const csvText = (p: Plain, kind: Column["kind"], safe: (text: string) => string, decimal: "." | ","): string =>
  p === null
    ? ""
    : typeof p === "string"
      ? safe(p)
      : typeof p === "number"
        ? numberText(p, decimal)
        : typeof p === "boolean"
          ? String(p)
          : p instanceof Date
            ? kind === "date"
              ? p.toISOString().slice(0, 10)
              : p.toISOString()
            : moneyText(p, decimal)

/**
 * Contacts as CSV: UTF-8 with a byte-order mark, CRLF line ends, fields quoted as RFC 4180 says
 * (by csv-stringify), a header row, text neutralised against formula injection (see the
 * `neutralize` option). Dates are ISO-8601 (`2025-03-30T08:00:00.000Z`, or `2025-03-30` for date
 * fields), lists `a, b`, money `1234.50 EUR` (`1234,50 EUR` and `12,5` with `delimiter: ";"`).
 * Contacts are read as the bytes are consumed, a few hundred at a time.
 *
 * @since 0.3.0
 * @category constructors
 */
export const toCsv = <E = never, R = never>(contacts: Contacts<E, R>, options: CsvOptions = {}): Stream.Stream<Uint8Array, E | ExportError, R> =>
  Stream.unwrapScoped(
    Effect.map(prepare(contacts, options), ({ columns, contacts }) => {
      const encoder = new TextEncoder()
      const settings = {
        delimiter: options.delimiter ?? ",",
        record_delimiter: "windows",
        // Set explicitly: with a record delimiter given, csv-stringify would not quote a lone \n or \r.
        quote_record_delimiter: true
      } as const
      const csv = (records: ReadonlyArray<ReadonlyArray<string>>, bom: boolean) =>
        Effect.try({ try: () => encoder.encode(stringify(records.map((r) => [...r]), { ...settings, bom })), catch: failure("write", "Cannot write the CSV") })
      const safe = neutralizerOf(options)
      const decimal = settings.delimiter === ";" ? "," : "."
      const header = Stream.fromEffect(csv([columns.map((c) => neutralize(c.header))], true))
      const body = contacts.pipe(
        Stream.rechunk(batch),
        Stream.mapChunksEffect((chunk) =>
          Effect.flatMap(rowsOf(columns)(chunk), (rows) =>
            Effect.map(csv(rows.map((row) => row.map((p, i) => csvText(p, columns[i]!.kind, safe, decimal))), false), Chunk.of)
          )
        )
      )
      return Stream.concat(header, body)
    })
  )

// ---------------------------------------------------------------------------------------------
// XLSX

/** The most characters an Excel cell holds. */
const EXCEL_CELL_LIMIT = 32_767

// Line breaks are LF in a cell, as Excel writes them (XML would turn a lone CR into LF anyway);
// made so before neutralising, which must judge the text as it will be read back.
const xlsxText = (s: string, neutralizer: (text: string) => string = neutralize): string => {
  const safe = neutralizer(s.replace(/\r\n?/g, "\n"))
  return safe.length <= EXCEL_CELL_LIMIT ? safe : `${safe.slice(0, EXCEL_CELL_LIMIT - 1)}…`
}

const moneyFormat = (currency: Money.Currency): string => {
  const digits = Money.minorDigits(currency)
  return `#,##0${digits === 0 ? "" : `.${"0".repeat(digits)}`} "${currency}"`
}

/**
 * exceljs writes a sheet into its ZIP writer (archiver) without waiting for it to keep up: fed by
 * a fast source, the whole sheet would pile up in memory before being compressed. The export
 * waits instead until the ZIP writer's input is drained. That input is the sheet stream's pipe
 * (a `readable-stream` PassThrough, not a Node `Writable`): this reads exceljs 4.4 and archiver 5
 * internals, defensively; without them it only yields to the event loop.
 */
interface Backlog {
  readonly buffered: () => number
  readonly stream: NodeJS.EventEmitter
}

const backlogs = (sheet: ExcelJS.Worksheet): ReadonlyArray<Backlog> => {
  const stream: unknown = Reflect.get(sheet, "stream")
  const pipes: unknown = typeof stream === "object" && stream !== null ? Reflect.get(stream, "pipes") : undefined
  if (!Array.isArray(pipes)) return []
  return pipes.flatMap((pipe: unknown): ReadonlyArray<Backlog> => {
    if (typeof pipe !== "object" || pipe === null || typeof Reflect.get(pipe, "once") !== "function") return []
    const state: unknown = Reflect.get(pipe, "_writableState")
    if (typeof state !== "object" || state === null || typeof Reflect.get(state, "length") !== "number") return []
    return [{ buffered: () => Number(Reflect.get(state, "length")), stream: pipe as NodeJS.EventEmitter }]
  })
}

const once = (emitter: NodeJS.EventEmitter, events: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const off = () => {
      for (const event of events) emitter.off(event, done)
    }
    const done = () => {
      off()
      resume(Effect.void)
    }
    for (const event of events) emitter.on(event, done)
    return Effect.sync(off)
  })

/** Waits until the ZIP writer has caught up and the reader has room: memory stays bounded whatever their pace. */
const room = (sheet: ExcelJS.Worksheet, out: PassThrough): Effect.Effect<void> =>
  Effect.gen(function* () {
    yield* Effect.yieldNow()
    for (const backlog of backlogs(sheet)) {
      // "drain" comes once the buffer is empty (the writes that filled it were told to wait).
      if (backlog.buffered() > 1024 * 1024) yield* once(backlog.stream, ["drain", "close", "error"])
    }
    if (out.writableNeedDrain && !out.destroyed) yield* once(out, ["drain", "close"])
  })

/**
 * Contacts as an XLSX workbook of one sheet, written by exceljs's streaming writer: a bold,
 * frozen header row, dates as real dates (`yyyy-mm-dd hh:mm:ss` in UTC, `yyyy-mm-dd` for date
 * fields), numbers and booleans as such, money as a number in its currency's format, lists as
 * `a, b`. Every value is written as a plain value, never as a formula, and text is neutralised
 * against formula injection all the same (it stays safe once saved as CSV). Line breaks in text
 * are written as LF, as Excel does; text longer than an Excel cell holds (32,767 characters) is
 * cut, ending with `…`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const toXlsx = <E = never, R = never>(contacts: Contacts<E, R>, options: XlsxOptions = {}): Stream.Stream<Uint8Array, E | ExportError, R> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const sheetName = options.sheetName ?? "Contacts"
      // exceljs's streaming writer takes any name, and Excel then refuses the file.
      if (!/^[^[\]:*?/\\]{1,31}$/.test(sheetName) || sheetName.startsWith("'") || sheetName.endsWith("'")) {
        return yield* new ExportError({
          reason: "options",
          message: `${JSON.stringify(sheetName)} cannot name a sheet: 1 to 31 characters, none of [ ] : * ? / \\, not starting or ending with '`
        })
      }
      const out = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const out = new PassThrough({ highWaterMark: 256 * 1024 })
          // Its errors reach the reader through the stream below; once the reader has stopped
          // early, a late write into it must not become an uncaught exception.
          out.on("error", () => undefined)
          return out
        }),
        (out) => Effect.sync(() => out.destroy())
      )
      const prepared = yield* prepare(contacts, options)
      const columns = prepared.columns
      const writeError = failure("write", "Cannot write the XLSX workbook")
      const excel = yield* Effect.promise(loadExcel)
      const { workbook, sheet } = yield* Effect.try({
        try: () => {
          const workbook = new excel.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false })
          const sheet = workbook.addWorksheet(sheetName, { views: [{ state: "frozen", ySplit: 1 }] })
          sheet.columns = columns.map((c) => ({ width: c.kind !== undefined ? 20 : Math.min(40, Math.max(12, c.header.length + 2)) }))
          const header = sheet.addRow(columns.map((c) => xlsxText(c.header)))
          header.font = { bold: true }
          header.commit()
          return { workbook, sheet }
        },
        catch: writeError
      })
      const addRows = (rows: ReadonlyArray<ReadonlyArray<Plain>>) =>
        Effect.try({
          try: () => {
            for (const values of rows) {
              const row = sheet.addRow(
                values.map((p) =>
                  p === null || p instanceof Date || typeof p !== "object" ? (typeof p === "string" ? xlsxText(p, neutralizerOf(options)) : p) : p.amountMinor / 10 ** Money.minorDigits(p.currency)
                )
              )
              values.forEach((p, i) => {
                if (p instanceof Date) row.getCell(i + 1).numFmt = columns[i]!.kind === "date" ? "yyyy-mm-dd" : "yyyy-mm-dd hh:mm:ss"
                else if (p !== null && typeof p === "object") row.getCell(i + 1).numFmt = moneyFormat(p.currency)
              })
              row.commit()
            }
          },
          catch: writeError
        })
      const write = prepared.contacts.pipe(
        Stream.rechunk(batch),
        Stream.runForEachChunk((chunk) => Effect.flatMap(rowsOf(columns)(chunk), addRows).pipe(Effect.zipRight(room(sheet, out)))),
        Effect.zipRight(Effect.try({ try: () => sheet.commit(), catch: writeError })),
        Effect.zipRight(Effect.tryPromise({ try: () => workbook.commit(), catch: writeError }))
      )
      const bytes = Stream.fromAsyncIterable<Uint8Array, ExportError>(out, writeError)
      return Stream.merge(bytes, Stream.drain(Stream.fromEffect(write)), { haltStrategy: "left" })
    })
  )

// ---------------------------------------------------------------------------------------------
// Where the bytes go

/**
 * Writes an export to a file, in bounded memory. The bytes go to `<path>.part` first, renamed to
 * `path` once complete: a failed export never leaves a file that looks whole.
 *
 * @since 0.3.0
 * @category utils
 */
export const toFile: {
  (path: string): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Effect.Effect<void, E | ExportError, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, path: string): Effect.Effect<void, E | ExportError, R>
} = dual(2, <E, R>(self: Stream.Stream<Uint8Array, E, R>, path: string): Effect.Effect<void, E | ExportError, R> => {
  const part = `${path}.part`
  const cannot = failure("write", `Cannot write "${path}"`)
  return Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => fs.open(part, "w"), catch: cannot }),
    (file) =>
      Stream.runForEach(self, (chunk) => Effect.tryPromise({ try: () => file.write(chunk), catch: cannot })).pipe(
        Effect.zipRight(Effect.tryPromise({ try: () => file.close(), catch: cannot })),
        Effect.zipRight(Effect.tryPromise({ try: () => fs.rename(part, path), catch: cannot }))
      ),
    (file, exit) =>
      Effect.promise(() => file.close().catch(() => undefined)).pipe(
        Effect.zipRight(exit._tag === "Failure" ? Effect.promise(() => fs.rm(part, { force: true }).catch(() => undefined)) : Effect.void)
      )
  )
})

/**
 * Collects an export into one `Buffer` (for small exports and tests; a large one belongs in a
 * file or a response stream).
 *
 * @since 0.3.0
 * @category utils
 */
export const toBuffer = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Buffer, E, R> =>
  Effect.map(
    Stream.runFold(self, [] as Array<Uint8Array>, (chunks, chunk) => {
      chunks.push(chunk)
      return chunks
    }),
    (chunks) => Buffer.concat(chunks)
  )
