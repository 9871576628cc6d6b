/**
 * The XLSX reader: one sheet of an Excel workbook as records, read with exceljs's streaming
 * reader so that a sheet of any length is read in bounded memory (exceljs keeps only the
 * workbook's shared-strings table). A title row above the header is skipped, cells come back as
 * the values people see (dates as `Date`, formulas as their cached result, rich text and links as
 * text, `#N/A` as empty), and numbers that are really text (phone numbers, postcodes, SIRET)
 * come back as text with their leading zeros.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type ExcelJS from "exceljs"
import { Readable } from "node:stream"
import * as Headers from "./Headers.js"
import { loadExcel } from "./internal/excel.js"
import { type WorkbookReader, workbookReader } from "./internal/workbookReader.js"
import { type Cell, ImportError, type Opened, type SourceRecord } from "./Records.js"
import type * as Source from "./Source.js"

/**
 * Which sheet to read and where its header is.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The sheet's name (case-insensitive) or 1-based position in the workbook; the first visible sheet by default. */
  readonly sheet?: string | number | undefined
  /** The header's row number in Excel (1-based); found among the first rows by default. */
  readonly headerLine?: number | undefined
}

/**
 * Whether a column with this header holds digits that are text, not quantities: phone, fax and
 * mobile numbers, postcodes (zip, "code postal", CP, PLZ), company and tax numbers (SIRET, SIREN,
 * VAT/TVA). Spreadsheets store such values as numbers, dropping their leading zeros.
 *
 * @since 0.3.0
 * @category utils
 */
export const isTextColumn = (header: string): boolean => {
  const words = header
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim()
  return (
    /\b(phone|phones|telephone|tel|tels|mobile|portable|cell|cellphone|gsm|fax|telecopie|postcode|postal|zip|zipcode|cp|plz|siret|siren|vat|tva)\b/.test(words) ||
    /\bcode postal\b/.test(words)
  )
}

/**
 * Whether an Excel number format shows dates or times (`dd/mm/yyyy`, `m/d/yy h:mm`, `[$-409]d-mmm-yy`…).
 *
 * @since 0.3.0
 * @category utils
 */
export const isDateFormat = (format: string | undefined): boolean => {
  if (format === undefined || format === "") return false
  const section = stripLiterals(format.split(";")[0] ?? "")
  return /[ymdhsb]/i.test(section.replace(/general/gi, "").replace(/e[+-]/gi, ""))
}

// A format without its literal parts: "quoted text", [colours and locales], \x escapes, _x spaces, *x fills.
const stripLiterals = (format: string): string => format.replace(/"[^"]*"|\[[^\]]*\]|\\.|_.|\*./g, "")

/**
 * The width an Excel number format pads integers to with leading zeros (`00000` → 5,
 * `00 00 00 00 00` → 10, `0000000000` → 10), or `undefined` for other formats.
 *
 * @since 0.3.0
 * @category utils
 */
export const zeroPadWidth = (format: string | undefined): number | undefined => {
  if (format === undefined) return undefined
  let body = stripLiterals(format.split(";")[0] ?? "").replace(/[\s\-()/]/g, "")
  // "00.00.00.00.00" is a digit pattern; "0.00" or "0.00000" is a decimal number.
  if ((body.match(/\./g) ?? []).length >= 2) body = body.replace(/\./g, "")
  return /^0{2,}$/.test(body) ? body.length : undefined
}

/** An integer's digits, never in scientific notation (639981234 → "639981234"). */
const digits = (n: number): string =>
  Number.isInteger(n) ? (Math.abs(n) < 1e21 ? n.toFixed(0) : BigInt(n).toString()) : String(n)

const SCIENTIFIC = /^[+-]?\d+(?:[.,]\d+)?e\+?\d+$/i

/** A number in a text column as its digits; a string in scientific notation expanded when it is an integer. */
const asText = (cell: Cell): Cell => {
  if (typeof cell === "number") return digits(cell)
  if (typeof cell === "string" && SCIENTIFIC.test(cell.trim())) {
    const n = Number(cell.trim().replace(",", "."))
    return Number.isSafeInteger(n) ? digits(n) : cell
  }
  return cell
}

const excelEpochDays = 25569 // 1970-01-01 in the 1900 date system
const excelDate = (serial: number, date1904: boolean): Date =>
  new Date(Math.round((serial - excelEpochDays + (date1904 ? 1462 : 0)) * 86_400_000))

// Excel escapes characters XML cannot hold as _xHHHH_ (a carriage return is _x000D_).
const unescape = (s: string): string =>
  s.includes("_x") ? s.replace(/_x([0-9a-fA-F]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : s

const missingStrings = () =>
  new ImportError({ reason: "unreadable", message: "The workbook is damaged: a cell refers to the shared-strings table, which the file does not have" })

// A currency code in a format's literal text (`#,##0.00 "EUR"`, as Rapport's exports write money).
const currencyOf = (format: string | undefined): string | undefined => /"\s*([A-Z]{3})\s*"/.exec(format?.split(";")[0] ?? "")?.[1]

const numberCell = (n: number, format: string | undefined, date1904: boolean): Cell => {
  if (!Number.isFinite(n)) return null
  if (isDateFormat(format)) return excelDate(n, date1904)
  // An amount keeps its currency ("1234.5 EUR"): a money field needs it, a number field ignores it.
  const currency = currencyOf(format)
  if (currency !== undefined) return `${String(n)} ${currency}`
  if (format === "@") return digits(n)
  const width = zeroPadWidth(format)
  if (width !== undefined && Number.isInteger(n) && n >= 0) return digits(n).padStart(width, "0")
  return n
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/** An exceljs cell value as a `Cell`. */
const cellValue = (value: unknown, format: string | undefined, date1904: boolean): Cell => {
  if (value === null || value === undefined) return null
  if (typeof value === "string") return unescape(value)
  if (typeof value === "number") return numberCell(value, format, date1904)
  if (typeof value === "boolean") return value
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value
  if (!isRecord(value)) return null
  if ("error" in value) return null
  if (Array.isArray(value["richText"])) {
    return unescape(value["richText"].map((run: unknown) => (isRecord(run) && typeof run["text"] === "string" ? run["text"] : "")).join(""))
  }
  if ("formula" in value || "sharedFormula" in value) return cellValue(value["result"], format, date1904)
  if ("text" in value) return cellValue(value["text"], format, date1904)
  if ("sharedString" in value) throw missingStrings()
  return null
}

interface Row {
  readonly line: number
  readonly cells: ReadonlyArray<Cell>
}

const rowOf = (row: ExcelJS.Row, date1904: boolean): Row => {
  const sparse: Array<Cell> = []
  row.eachCell({ includeEmpty: false }, (cell, column) => {
    const format: unknown = cell.numFmt
    sparse[column - 1] = cellValue(cell.value, typeof format === "string" ? format : undefined, date1904)
  })
  let width = sparse.length
  while (width > 0 && (sparse[width - 1] ?? null) === null) width--
  return { line: row.number, cells: Array.from({ length: width }, (_, i) => sparse[i] ?? null) }
}

// exceljs's types leave out what its streaming reader knows of the workbook (sheet names, the
// 1904 date system): read it defensively.
interface SheetInfo {
  readonly name: string
  readonly hidden: boolean
}
const sheetsOf = (reader: object): ReadonlyArray<SheetInfo> | undefined => {
  const model: unknown = Reflect.get(reader, "model")
  if (!isRecord(model)) return undefined
  const sheets: unknown = model["sheets"]
  if (!Array.isArray(sheets)) return []
  // Chart sheets are listed too: keep the worksheets, when the relationships say which they are.
  const rels: unknown = Reflect.get(reader, "workbookRels")
  const target = (id: unknown): string | undefined => {
    if (!Array.isArray(rels)) return undefined
    const rel: unknown = rels.find((r: unknown) => isRecord(r) && r["Id"] === id)
    return isRecord(rel) && typeof rel["Target"] === "string" ? rel["Target"] : undefined
  }
  return sheets.flatMap((s: unknown) => {
    if (!isRecord(s) || typeof s["name"] !== "string") return []
    const path = target(s["rId"])
    if (path !== undefined && !/worksheets\/[^/]+\.xml$/i.test(path)) return []
    return [{ name: s["name"], hidden: s["state"] === "hidden" || s["state"] === "veryHidden" }]
  })
}
const date1904Of = (reader: object): boolean => {
  const properties: unknown = Reflect.get(reader, "properties")
  const model = isRecord(properties) ? properties["model"] : undefined
  return isRecord(model) && model["date1904"] === true
}
const nameOf = (worksheet: object): string | undefined => {
  const name: unknown = Reflect.get(worksheet, "name")
  return typeof name === "string" ? name : undefined
}

const batchSize = 512

const quoted = (names: ReadonlyArray<string>) => names.map((n) => JSON.stringify(n)).join(", ")

/** What the first bytes say the file is, when it is not a ZIP archive. */
const notXlsx = (head: Uint8Array): ImportError | undefined => {
  const ascii = Buffer.from(head.subarray(0, 512)).toString("latin1")
  if (ascii.startsWith("PK\u0003\u0004")) {
    if (ascii.slice(30, 38) === "mimetype" && ascii.includes("opendocument")) {
      return new ImportError({
        reason: "unsupported",
        message: "This is an OpenDocument spreadsheet (.ods), not an XLSX workbook: save it as .xlsx or CSV and import that"
      })
    }
    return undefined
  }
  if (ascii.startsWith("\u00d0\u00cf\u0011\u00e0\u00a1\u00b1\u001a\u00e1")) {
    return new ImportError({
      reason: "unsupported",
      message:
        "This is an Excel 97-2003 workbook (.xls) or a password-protected file, which Rapport does not read: save it as .xlsx (without a password) or CSV"
    })
  }
  const what = ascii.startsWith("PK\u0005\u0006")
    ? "an empty ZIP archive"
    : ascii.startsWith("%PDF")
      ? "a PDF document"
      : /^[\x09\x0a\x0d\x20-\x7e\u00a0-\u00ff]*$/.test(ascii.replace(/^\u00ef\u00bb\u00bf/, ""))
        ? "text (a CSV file? import it as CSV)"
        : "not a ZIP archive"
  return new ImportError({ reason: "unreadable", message: `This is not an XLSX workbook: the file is ${what}` })
}

/** exceljs's and unzipper's errors, in words. */
const describe = (cause: unknown): ImportError => {
  if (cause instanceof ImportError) return cause
  const message = cause instanceof Error ? cause.message : String(cause)
  const code: unknown = isRecord(cause) ? cause["code"] : undefined
  const text =
    message === "FILE_ENDED"
      ? "The XLSX file is truncated: it ends in the middle of its ZIP archive (an interrupted download or upload?)"
      : /invalid signature/i.test(message)
        ? "The XLSX file is corrupt: its ZIP archive is damaged"
        : typeof code === "string" && code.startsWith("Z_")
          ? `The XLSX file is corrupt: a compressed part cannot be read (${message})`
          : /unexpected|unclosed|invalid|xml|sax/i.test(message)
            ? `The XLSX file is corrupt: a part of it is not valid XML (${message})`
            : `Cannot read the XLSX workbook: ${message}`
  return new ImportError({ reason: "unreadable", message: text, cause })
}

/**
 * The plumbing between the byte stream and exceljs: a Node stream fed from the Effect stream, the
 * streaming reader on it, and the chosen sheet's rows. Every wait on exceljs also ends when the
 * bytes fail or the archive cannot be unzipped: exceljs lets both errors go unheard in places
 * (Node's `pipe` does not pass a source's error on, and a sheet being parked in a temporary file
 * waits forever for a damaged entry to finish), so they are caught here. A failure of the byte
 * stream is reported as itself, not as a broken archive.
 */
class Reader {
  private failure: ImportError | undefined
  private waiting: ((error: ImportError) => void) | undefined
  private readable: Readable | undefined
  private workbook: WorkbookReader | undefined
  private sheets: AsyncIterator<ExcelJS.stream.xlsx.WorksheetReader> | undefined
  private rows: AsyncIterator<ExcelJS.Row> | undefined
  private date1904 = false
  private closed = false

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private fail(error: ImportError): void {
    this.failure ??= error
    this.waiting?.(this.failure)
  }

  /** Waits for exceljs, or for a failure it would not hear of. One wait at a time. */
  private guard<A>(promise: Promise<A>): Promise<A> {
    if (this.failure !== undefined) {
      promise.catch(() => undefined)
      return Promise.reject(this.failure)
    }
    return new Promise<A>((resolve, reject) => {
      this.waiting = reject
      promise.then(
        (value) => {
          this.waiting = undefined
          resolve(value)
        },
        (cause: unknown) => {
          this.waiting = undefined
          reject(this.failure ?? describe(cause))
        }
      )
    })
  }

  /** Reads the first bytes, refuses what is not a ZIP archive, and starts exceljs on the rest. */
  async start(): Promise<void> {
    const head: Array<Uint8Array> = []
    let size = 0
    let done = false
    while (size < 64) {
      const next = await this.source.next()
      if (next.done === true) {
        done = true
        break
      }
      head.push(next.value)
      size += next.value.byteLength
    }
    if (size === 0) throw new ImportError({ reason: "empty", message: "The file is empty (0 bytes)" })
    const refused = notXlsx(Buffer.concat(head))
    if (refused !== undefined) throw refused
    const source = this.source
    const self = this
    async function* bytes(): AsyncGenerator<Buffer> {
      try {
        for (const chunk of head) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        if (done) return
        for (;;) {
          const next = await source.next()
          if (next.done === true) return
          yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength)
        }
      } catch (cause) {
        // Ended, not errored: exceljs must not see a stream error it cannot pass on (see above).
        self.fail(cause instanceof ImportError ? cause : describe(cause))
      } finally {
        void source.return?.()
      }
    }
    const readable = Readable.from(bytes(), { objectMode: false })
    // exceljs pipes this stream into its unzipper: hear the unzipper's errors.
    const pipe = readable.pipe.bind(readable)
    readable.pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean | undefined }): T => {
      destination.on("error", (cause: unknown) => this.fail(describe(cause)))
      return pipe(destination, options)
    }
    this.readable = readable
    const excel = await loadExcel()
    const reader = new (workbookReader(excel))(this.readable, {
      worksheets: "emit",
      sharedStrings: "cache",
      hyperlinks: "ignore",
      styles: "cache",
      entries: "ignore"
    })
    this.sheets = reader[Symbol.asyncIterator]()
    this.workbook = reader
  }

  /** Finds the sheet: by name, by position, or the first visible one. Returns its name. */
  async choose(wanted: string | number | undefined): Promise<string> {
    const { sheets, workbook } = this
    if (sheets === undefined || workbook === undefined) throw new Error("Reader.start must come first")
    const emitted: Array<string> = []
    const matches = (name: string, target: string) => name === target || name.trim().toLowerCase() === target.trim().toLowerCase()
    for (;;) {
      const next = await this.guard(sheets.next())
      if (next.done === true) break
      const worksheet = next.value
      const name = nameOf(worksheet) ?? `Sheet${emitted.length + 1}`
      emitted.push(name)
      // The workbook's own list (tab order, hidden sheets) when exceljs has read it by now.
      const all = sheetsOf(workbook)
      let target: string | undefined
      if (all !== undefined && all.length > 0) {
        target =
          wanted === undefined
            ? (all.find((s) => !s.hidden) ?? all[0])?.name
            : typeof wanted === "number"
              ? all[wanted - 1]?.name
              : (all.find((s) => s.name === wanted) ?? all.find((s) => matches(s.name, wanted)))?.name
        if (target === undefined) throw this.noSuchSheet(wanted, all.map((s) => s.name))
      }
      const chosen =
        target !== undefined
          ? name === target
          : wanted === undefined || (typeof wanted === "number" ? emitted.length === wanted : matches(name, wanted))
      if (chosen) {
        this.date1904 = date1904Of(workbook)
        this.rows = worksheet[Symbol.asyncIterator]()
        return name
      }
      // Not this one: exceljs skips its bytes when asked for the next sheet; a sheet it had put
      // aside in a temporary file (shared strings came after it) is closed here.
      const parked: unknown = Reflect.get(worksheet, "iterator")
      if (parked instanceof Readable) parked.destroy()
    }
    if (emitted.length === 0) {
      const listed = sheetsOf(workbook)
      throw listed === undefined
        ? new ImportError({ reason: "unreadable", message: "This is a ZIP archive, but not an XLSX workbook (it has no worksheet)" })
        : listed.length === 0
          ? new ImportError({ reason: "empty", message: "The workbook has no sheet" })
          : new ImportError({
              reason: "unreadable",
              message: `The workbook lists ${quoted(listed.map((s) => s.name))} but its sheets cannot be found in the file: open it in Excel and save it again`
            })
    }
    const listed = sheetsOf(workbook) ?? []
    throw this.noSuchSheet(wanted, listed.length > 0 ? listed.map((s) => s.name) : emitted)
  }

  private noSuchSheet(wanted: string | number | undefined, names: ReadonlyArray<string>): ImportError {
    const has = `the workbook has ${names.length} sheet${names.length === 1 ? "" : "s"}: ${quoted(names)}`
    return new ImportError({
      reason: "unsupported",
      message: typeof wanted === "number" ? `There is no sheet number ${wanted}: ${has}` : `There is no sheet ${JSON.stringify(wanted)}: ${has}`
    })
  }

  /** The next row of the chosen sheet (blank rows included), or `undefined` at its end. */
  async next(): Promise<Row | undefined> {
    if (this.closed || this.rows === undefined) return undefined
    const next = await this.guard(this.rows.next())
    if (next.done === true) return undefined
    try {
      return rowOf(next.value, this.date1904)
    } catch (cause) {
      throw describe(cause)
    }
  }

  /** Up to `size` rows of the chosen sheet (blank rows included); an empty batch at its end. */
  async batch(size: number): Promise<ReadonlyArray<Row>> {
    const rows: Array<Row> = []
    while (rows.length < size) {
      const row = await this.next()
      if (row === undefined) break
      rows.push(row)
    }
    return rows
  }

  /** Stops reading and lets go of the input. Safe to call more than once, and while a read waits. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.readable?.destroy()
    void this.rows?.return?.(undefined).catch(() => undefined)
    void this.sheets?.return?.(undefined).catch(() => undefined)
    this.workbook?.release()
    void this.source.return?.()?.catch(() => undefined)
  }
}

/**
 * Opens one sheet of an XLSX workbook (see {@link Options}). The header is the row given by
 * `headerLine`, or found among the first rows (`Headers.detect`: a title row, merged or not, is
 * skipped); each following row that is not blank is a record whose `line` is its Excel row
 * number. Cell values:
 * - date-formatted cells (and formula results in them) are `Date`s (Excel's wall time, read as UTC);
 * - formulas give their cached result, rich text and links their text, errors (`#N/A`) `null`;
 * - a number is text when its format is text (`@`) or zero-padded (`00000`: padded back), or when
 *   its column looks like a phone, postcode or company number ({@link isTextColumn}): its digits,
 *   never in scientific notation;
 * - an amount whose format names its currency (`#,##0.00 "EUR"`) is text with the code: `1234.5 EUR`.
 *
 * Fails with `ImportError`: `unreadable` for a file that is not an XLSX workbook (CSV, PDF, a
 * corrupt or truncated archive), `unsupported` for a sheet the workbook does not have (its sheets
 * are named) or an `.xls`/`.ods` file, `empty` for an empty sheet or one with only a header.
 * The records are read as they are consumed, once.
 *
 * @since 0.3.0
 * @category constructors
 */
export const open = (bytes: Source.Bytes, options: Options = {}): Effect.Effect<Opened, ImportError> =>
  Effect.gen(function* () {
    const { headerLine, sheet } = options
    if (headerLine !== undefined && !(Number.isInteger(headerLine) && headerLine >= 1)) {
      return yield* new ImportError({ reason: "unsupported", message: `headerLine must be a row number (1 or more), got ${headerLine}` })
    }
    if (typeof sheet === "number" && !(Number.isInteger(sheet) && sheet >= 1)) {
      return yield* new ImportError({ reason: "unsupported", message: `sheet must be a name or a position (1 or more), got ${sheet}` })
    }
    const source = yield* Stream.toAsyncIterableEffect(bytes.stream)
    const reader = new Reader(source[Symbol.asyncIterator]())
    const attempt = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: describe })

    const opened = Effect.gen(function* () {
      yield* attempt(() => reader.start())
      const name = yield* attempt(() => reader.choose(sheet))
      const where = `Sheet ${JSON.stringify(name)}`

      // The first rows: the header and enough rows below it to tell a title from a header.
      const first: Array<Row> = []
      let ended = false
      const limit = headerLine === undefined ? 2 * Headers.searchDepth : 1
      while (first.length < limit) {
        const row = yield* attempt(() => reader.next())
        if (row === undefined) {
          ended = true
          break
        }
        if (Headers.isBlank(row.cells) || (headerLine !== undefined && row.line < headerLine)) continue
        first.push(row)
      }
      if (first.length === 0) {
        return yield* new ImportError({
          reason: "empty",
          message: headerLine === undefined ? `${where} is empty` : `${where} has nothing on row ${headerLine} or below`
        })
      }
      const index = headerLine === undefined ? Headers.detect(first.map((row) => row.cells)) : 0
      const header = first[index]!
      if (headerLine !== undefined && header.line !== headerLine) {
        return yield* new ImportError({ reason: "empty", message: `${where}: row ${headerLine}, given as the header, is empty` })
      }
      const headers = Headers.names(header.cells)
      const text = headers.map(isTextColumn)
      const toRecord = (row: Row): SourceRecord =>
        Headers.record(headers, text.some(Boolean) ? row.cells.map((cell, i) => (text[i] === true ? asText(cell) : cell)) : row.cells, row.line)

      const below = first.slice(index + 1)
      if (below.length === 0 && ended) {
        return yield* new ImportError({ reason: "empty", message: `${where} has a header (row ${header.line}) but no rows below it` })
      }
      if (below.length === 0) {
        // Only a header among the rows read so far (headerLine given): make sure something follows.
        let row: Row | undefined
        do row = yield* attempt(() => reader.next())
        while (row !== undefined && Headers.isBlank(row.cells))
        if (row === undefined) {
          return yield* new ImportError({ reason: "empty", message: `${where} has a header (row ${header.line}) but no rows below it` })
        }
        below.push(row)
      }

      // The rest, read in batches: one wait per batch, not per row.
      const rest = Stream.repeatEffectOption(
        Effect.flatMap(
          Effect.mapError(attempt(() => reader.batch(batchSize)), Option.some),
          (rows) => (rows.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(rows))
        )
      ).pipe(Stream.flattenIterables)
      const records = Stream.fromIterable(below).pipe(
        Stream.concat(ended ? Stream.empty : rest),
        Stream.filter((row) => !Headers.isBlank(row.cells)),
        Stream.map(toRecord),
        Stream.ensuring(Effect.sync(() => reader.close()))
      )
      const result: Opened = { format: "xlsx", headers, details: { sheet: name, headerLine: header.line }, records }
      return result
    })
    return yield* Effect.onError(opened, () => Effect.sync(() => reader.close()))
  })
