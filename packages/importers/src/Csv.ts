/**
 * The CSV reader (TSV and TXT files too: they are CSV with another delimiter). `csv-parse` does the
 * parsing (RFC 4180: quoted fields with delimiters, doubled quotes and line breaks, CRLF or LF, a
 * byte order mark); this module finds what a file does not say — its encoding (see `Encoding`), its
 * delimiter, the line of its header — and turns rows into records that know the line they start
 * on. The file is read as the records are consumed, in constant memory: a row a reader could read
 * only in part is a record with a `problem`, a file that cannot be read is an `ImportError` that
 * names the line.
 *
 * @since 0.3.0
 */
import { CsvError, type Options as ParserOptions, Parser } from "csv-parse"
import { parse as parseSample } from "csv-parse/sync"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Encoding from "./Encoding.js"
import * as Headers from "./Headers.js"
import { ImportError, type Opened } from "./Records.js"
import type { Bytes } from "./Source.js"

/**
 * How to read a CSV file; what is not given is detected.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The encoding (any name iconv-lite knows); detected when not given (see `Encoding.detect`). */
  readonly encoding?: string | undefined
  /** The field delimiter; sniffed among {@link delimiters} when not given. */
  readonly delimiter?: string | undefined
  /** The quote character (`"` by default, doubled inside a quoted field); `false` when fields are never quoted. */
  readonly quote?: string | false | undefined
  /**
   * The 1-based line of the header: rows starting before it are skipped (the first non-blank row
   * from that line on is the header). Detected when not given (see `Headers.detect`).
   */
  readonly headerLine?: number | undefined
}

/**
 * The delimiters {@link sniff} chooses from: comma, semicolon (what Excel writes where the decimal
 * separator is a comma, as in France), tab (TSV, Excel's "Unicode text") and pipe.
 *
 * @since 0.3.0
 * @category utils
 */
export const delimiters: ReadonlyArray<string> = [",", ";", "\t", "|"]

/**
 * The largest record read, in bytes of UTF-8 (1 MiB): a larger one is almost always a quote that
 * is never closed, and stops the reading with an `ImportError` naming its line rather than filling
 * the memory.
 *
 * @since 0.3.0
 * @category utils
 */
export const maxRecordSize = 1024 * 1024

/** Any line ending: Windows, Unix, old Mac; a file mixing them (rows appended by another tool) reads right. */
const lineBreaks = ["\r\n", "\n", "\r"]

const quoting = (quote: string | false): Pick<ParserOptions, "quote" | "escape"> =>
  quote === false ? { quote: false, escape: false } : { quote, escape: quote }

/** How many leading records {@link sniff} looks at. */
const sniffedRecords = 50

/**
 * The delimiter of a CSV text, from its first records: each of {@link delimiters} splits them (by
 * `csv-parse`, so delimiters inside quotes do not count); the one that splits the most of them into
 * the same number of fields, more than one, wins — on a tie, the one giving more fields, then the
 * first in the list. A title line above the header does not mislead it: it is one field whatever
 * the delimiter. `","` when none splits anything (a single column).
 *
 * `complete` says whether `sample` is the whole text; when it is not, its last record may be cut
 * and is not counted.
 *
 * @since 0.3.0
 * @category utils
 */
export const sniff = (
  sample: string,
  options: { readonly quote?: string | false | undefined; readonly complete?: boolean | undefined } = {}
): string => {
  let best = { delimiter: ",", consistency: 0, fields: 0 }
  for (const delimiter of delimiters) {
    let errors = 0
    let records: Array<Array<string>>
    try {
      records = parseSample(sample, {
        delimiter,
        ...quoting(options.quote ?? '"'),
        record_delimiter: lineBreaks,
        bom: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        on_skip: () => {
          errors++
        },
        to: sniffedRecords
      })
    } catch {
      continue
    }
    if (options.complete === false && records.length < sniffedRecords) records = records.slice(0, -1)
    const counts = records.filter((record) => !Headers.isBlank(record)).map((record) => record.length)
    const frequencies = new Map<number, number>()
    for (const count of counts) if (count > 1) frequencies.set(count, (frequencies.get(count) ?? 0) + 1)
    let fields = 0
    let frequency = 0
    for (const [count, n] of frequencies) {
      if (n > frequency || (n === frequency && count > fields)) {
        fields = count
        frequency = n
      }
    }
    const consistency = frequency / (counts.length + errors || 1)
    if (fields > 1 && (consistency > best.consistency || (consistency === best.consistency && fields > best.fields))) {
      best = { delimiter, consistency, fields }
    }
  }
  return best.delimiter
}

/** A row as `csv-parse` reads it, with the line it starts on. */
interface Row {
  readonly cells: ReadonlyArray<string>
  readonly line: number
}

/** How many lines a record's fields add: line breaks inside quoted fields. */
const breaksIn = (cells: ReadonlyArray<string>): number => {
  let breaks = 0
  for (const cell of cells) if (cell.includes("\n") || cell.includes("\r")) breaks += cell.match(/\r\n|\r|\n/g)?.length ?? 0
  return breaks
}

const failure = (error: unknown, what: string, line: number): ImportError => {
  const code = error instanceof CsvError ? error.code : undefined
  const message =
    code === "CSV_MAX_RECORD_SIZE"
      ? `the record starting there is larger than ${maxRecordSize / 1024 / 1024} MiB: a quote is probably never closed, or a cell holds far too much (a whole file?)`
      : code === "CSV_QUOTE_NOT_CLOSED"
        ? "a quoted field starting there is never closed before the end of the file: a quote character is probably missing"
        : error instanceof Error
          ? error.message
          : String(error)
  return new ImportError({ reason: "unreadable", message: `${what}, line ${line}: ${message}`, cause: error })
}

/**
 * The rows of a CSV text, each with the line it starts on (blank rows included). `csv-parse`'s
 * Node parser is fed one chunk at a time, and waited for: the rows it finds are collected as it
 * finds them (`on_record`), so the rows before an error all come out before the error does.
 */
const parseRows = (text: Stream.Stream<string, ImportError>, options: ParserOptions, what: string): Stream.Stream<Row, ImportError> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const found: Array<Row> = []
      let line = 1
      const parser = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const parser = new Parser({
            ...options,
            on_record: (cells: Array<string>) => {
              found.push({ cells, line })
              line += 1 + breaksIn(cells)
              return null
            }
          })
          // Errors reach the write callbacks below; without a listener, the event would be thrown.
          parser.on("error", () => {})
          return parser
        }),
        (parser) => Effect.sync(() => parser.destroy())
      )
      const feed = (chunk: string | null) =>
        Effect.async<Stream.Stream<Row, ImportError>>((resume) => {
          const done = (error: Error | null | undefined) => {
            const rows = Stream.fromIterable(found.splice(0))
            resume(Effect.succeed(error ? Stream.concat(rows, Stream.fail(failure(error, what, line))) : rows))
          }
          if (chunk === null) parser.end(done)
          else parser.write(chunk, done)
        })
      return Stream.concat(text, Stream.make(null)).pipe(Stream.flatMap((chunk) => Stream.unwrap(feed(chunk))))
    })
  )

const nextChunk = <A>(pull: Effect.Effect<A, Option.Option<ImportError>>): Effect.Effect<Option.Option<A>, ImportError> =>
  Effect.catchAll(Effect.asSome(pull), (end) => (Option.isNone(end) ? Effect.succeedNone : Effect.fail(end.value)))

const checked = (options: Options): string | undefined => {
  const { delimiter, headerLine, quote } = options
  if (quote !== undefined && quote !== false && [...quote].length !== 1) return `quote must be one character or false (got ${JSON.stringify(quote)})`
  if (delimiter !== undefined && (delimiter === "" || /[\r\n]/.test(delimiter))) return `delimiter must be a character such as "," ";" or "\\t" (got ${JSON.stringify(delimiter)})`
  if (delimiter !== undefined && quote !== false && delimiter === (quote ?? '"')) return `delimiter and quote must differ (both are ${JSON.stringify(delimiter)})`
  if (headerLine !== undefined && (!Number.isSafeInteger(headerLine) || headerLine < 1)) return `headerLine must be a line number from 1 (got ${String(headerLine)})`
  return undefined
}

/**
 * Opens a CSV, TSV or TXT file: detects its encoding (unless given), sniffs its delimiter on the
 * first records (unless given, or named by an Excel `sep=;` first line), finds its header among
 * the first rows (unless `headerLine` is given; a title line above it is skipped) and reads on as
 * the records are consumed. Values are the file's text, untrimmed; empty cells are `null`; blank
 * rows are skipped. `line` is the line a
 * record starts on (a quoted field with line breaks makes a record span several lines). A row with
 * more fields than the header is a record with a `problem`, and the rows after it are read.
 *
 * Fails with `ImportError`: `empty` when the file has no records (nothing, or only a header);
 * `unreadable` for binary data, a quote never closed or a record over {@link maxRecordSize} — with
 * its line, from `open` or later from `records` —; `unsupported` for an unknown encoding or a wrong
 * option. The file is read within the scope: `records` can be read once, before the scope closes.
 *
 * @since 0.3.0
 * @category constructors
 */
export const open = (bytes: Bytes, options: Options = {}): Effect.Effect<Opened, ImportError, Scope.Scope> =>
  Effect.gen(function* () {
    const what = bytes.name === undefined ? "The file" : `"${bytes.name}"`
    const wrong = checked(options)
    if (wrong !== undefined) return yield* new ImportError({ reason: "unsupported", message: `Cannot read ${what} as CSV: ${wrong}` })
    const decoded = yield* Encoding.decode(bytes, { encoding: options.encoding })
    const quote = options.quote ?? '"'
    // Excel's own hint, a first line such as `sep=;`; that line is then skipped as a title would be.
    const hinted = /^sep=([^\r\n"])\r?\n/i.exec(decoded.head)?.[1]
    const delimiter = options.delimiter ?? hinted ?? sniff(decoded.head, { quote, complete: decoded.complete })
    const rows = parseRows(
      decoded.text,
      {
        delimiter,
        ...quoting(quote),
        record_delimiter: lineBreaks,
        bom: true,
        relax_column_count: true,
        relax_quotes: true,
        max_record_size: maxRecordSize
      },
      what
    )
    const pull = yield* Stream.toPull(Stream.filter(rows, (row) => !Headers.isBlank(row.cells)))

    // The first rows, enough to find the header and to know whether a record follows it.
    const head: Array<Row> = []
    let ended = false
    const more = Effect.map(nextChunk(pull), (next) => {
      if (Option.isNone(next)) ended = true
      else head.push(...next.value)
    })
    const { headerLine } = options
    let index: number
    if (headerLine === undefined) {
      while (!ended && head.length < 2 * Headers.searchDepth) yield* more
      index = Headers.detect(head.map((row) => row.cells))
    } else {
      while (!ended && !head.some((row) => row.line >= headerLine)) yield* more
      index = head.findIndex((row) => row.line >= headerLine)
    }
    while (!ended && head.length < index + 2) yield* more
    const header = head[index]
    if (head.length === 0) return yield* new ImportError({ reason: "empty", message: `${what} is empty` })
    if (header === undefined) {
      return yield* new ImportError({ reason: "empty", message: `${what} has nothing at line ${headerLine} or after it, where its header should be` })
    }
    if (head.length < index + 2) return yield* new ImportError({ reason: "empty", message: `${what} has a header (line ${header.line}) but no records` })

    const headers = Headers.names(header.cells)
    let started = false
    const records = Stream.suspend(() => {
      if (started) return Stream.fail(new ImportError({ reason: "unreadable", message: `${what} was already read: its records can be read only once` }))
      started = true
      return Stream.concat(Stream.fromIterable(head.slice(index + 1)), ended ? Stream.empty : Stream.repeatEffectChunkOption(pull)).pipe(
        Stream.map((row) => Headers.record(headers, row.cells, row.line))
      )
    })
    return {
      format: "csv",
      headers,
      details: { encoding: decoded.encoding, delimiter, headerLine: header.line },
      records
    } satisfies Opened
  })
