/**
 * The character encoding of a text file (CSV, TSV, TXT) and its bytes decoded to text: a byte
 * order mark wins, then valid UTF-8 is UTF-8, then `chardet` guesses from the first 64 KiB, with
 * windows-1252 (what a French Excel saves) for 8-bit text it cannot place. `iconv-lite` decodes,
 * chunk by chunk, so a character split across two chunks comes out whole and the file is read in
 * constant memory. Binary data (a PDF, an XLSX or ZIP archive, an image) is refused with a message
 * that says what it looks like.
 *
 * @since 0.3.0
 */
import * as chardet from "chardet"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import iconv from "iconv-lite"
import { ImportError } from "./Records.js"
import type { Bytes } from "./Source.js"

/**
 * How many leading bytes the encoding is detected from (64 KiB). At least this much of the input
 * is read before decoding starts (less only when the input is shorter).
 *
 * @since 0.3.0
 * @category utils
 */
export const sampleSize = 64 * 1024

type IconvEncoding = Parameters<typeof iconv.getDecoder>[0]

const supported = (name: string): IconvEncoding | undefined => (iconv.encodingExists(name) ? name : undefined)

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>) => prefix.every((byte, i) => bytes[i] === byte)

/** UTF-32 before UTF-16: the UTF-32 LE mark begins with the UTF-16 LE one. */
const byteOrderMarks: ReadonlyArray<readonly [string, ReadonlyArray<number>]> = [
  ["utf-8", [0xef, 0xbb, 0xbf]],
  ["utf-32le", [0xff, 0xfe, 0x00, 0x00]],
  ["utf-32be", [0x00, 0x00, 0xfe, 0xff]],
  ["utf-16le", [0xff, 0xfe]],
  ["utf-16be", [0xfe, 0xff]]
]

/**
 * UTF-16 without a byte order mark: text in a Latin script has a zero byte in every other
 * position (the high byte of each code unit), while binary data has zeros on both sides.
 */
const utf16WithoutMark = (head: Uint8Array): string | undefined => {
  const pairs = Math.floor(Math.min(head.byteLength, 4096) / 2)
  if (pairs < 2) return undefined
  let evenZeros = 0
  let oddZeros = 0
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) evenZeros++
    if (head[2 * i + 1] === 0) oddZeros++
  }
  if (oddZeros >= pairs * 0.5 && evenZeros <= pairs * 0.05) return "utf-16le"
  if (evenZeros >= pairs * 0.5 && oddZeros <= pairs * 0.05) return "utf-16be"
  return undefined
}

/** Whether the bytes are valid UTF-8; a sequence cut by the end of the sample is not an error. */
const isUtf8 = (head: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true })
    return true
  } catch {
    return false
  }
}

/** chardet's name for an encoding, as iconv-lite knows it; ISO-8859-1 is read as its superset windows-1252. */
const fromChardet = (name: string | null): string | undefined => {
  if (name === null) return undefined
  if (name === "ISO-8859-1" || name === "ASCII") return "windows-1252"
  const lower = name.toLowerCase()
  return supported(lower) === undefined ? undefined : lower
}

/**
 * The encoding of a text file from its first bytes (up to {@link sampleSize} are looked at): its
 * byte order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); else UTF-16 recognised by its zero bytes;
 * else UTF-8 if the bytes are valid UTF-8 (plain ASCII included); else windows-1252 when `chardet`
 * rates it (or ISO-8859-1) at least half as likely as its first guess; else that guess, as a
 * name iconv-lite supports; else windows-1252. The name is lower case, e.g. `"utf-8"`,
 * `"utf-16le"`, `"windows-1252"`.
 *
 * @since 0.3.0
 * @category utils
 */
export const detect = (head: Uint8Array): string => {
  const sample = head.subarray(0, sampleSize)
  for (const [name, mark] of byteOrderMarks) if (startsWith(sample, mark)) return name
  if (sample.includes(0)) {
    const utf16 = utf16WithoutMark(sample)
    if (utf16 !== undefined) return utf16
  }
  if (isUtf8(sample)) return "utf-8"
  // chardet's statistics are weak on a few accented letters: a French Excel file with one "é"
  // comes out as ISO-8859-2. Windows-1252 (what Western European Excel and Outlook save) is
  // taken whenever chardet rates it at least half as likely as its first guess.
  const candidates = chardet.analyse(sample)
  const western = candidates.find((c) => c.name === "ISO-8859-1" || c.name === "windows-1252")
  const first = candidates[0]
  if (western !== undefined && first !== undefined && western.confidence * 2 >= first.confidence) return "windows-1252"
  return fromChardet(first?.name ?? null) ?? "windows-1252"
}

const signatures: ReadonlyArray<readonly [string, ReadonlyArray<number>]> = [
  ["a ZIP archive (an XLSX workbook or a Word document?): open it as XLSX, or save it as CSV first", [0x50, 0x4b, 0x03, 0x04]],
  ["a PDF document", [0x25, 0x50, 0x44, 0x46, 0x2d]],
  ["an old Office document (.xls or .doc): save it as .xlsx or .csv first", [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]],
  ["a gzip archive: decompress it first", [0x1f, 0x8b]],
  ["a PNG image", [0x89, 0x50, 0x4e, 0x47]],
  ["a JPEG image", [0xff, 0xd8, 0xff]]
]

/** Why bytes are not text in `encoding`, or `undefined` when they are. */
const binary = (head: Uint8Array, encoding: string): string | undefined => {
  if (/^utf-?(16|32)/i.test(encoding)) return undefined
  for (const [what, signature] of signatures) if (startsWith(head, signature)) return `is ${what}, not a text file`
  const nul = head.indexOf(0)
  if (nul >= 0) return `holds binary data, not text (a NUL byte at offset ${nul}): it is not a CSV or text file`
  return undefined
}

/**
 * Options for {@link decode}.
 *
 * @since 0.3.0
 * @category models
 */
export interface DecodeOptions {
  /**
   * The encoding to use instead of detecting it: any name iconv-lite knows (`"utf-8"`,
   * `"windows-1252"`, `"latin1"`, `"utf-16le"`, `"macintosh"`…).
   */
  readonly encoding?: string | undefined
}

/**
 * Bytes decoded to text.
 *
 * @since 0.3.0
 * @category models
 */
export interface Decoded {
  /** The encoding used: detected, or the one asked for. */
  readonly encoding: string
  /** The start of the text: at least the first {@link sampleSize} bytes, decoded (the whole text if shorter). */
  readonly head: string
  /** Whether `head` is the whole text. */
  readonly complete: boolean
  /**
   * The whole text from its start (`head` included), chunk by chunk, without the byte order mark;
   * read once: it goes on reading the input.
   */
  readonly text: Stream.Stream<string, ImportError>
}

const nextChunk = <A>(pull: Effect.Effect<A, Option.Option<ImportError>>): Effect.Effect<Option.Option<A>, ImportError> =>
  Effect.catchAll(Effect.asSome(pull), (end) => (Option.isNone(end) ? Effect.succeedNone : Effect.fail(end.value)))

const toBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))

/**
 * Decodes an opened input to text: reads its first {@link sampleSize} bytes, detects the encoding
 * (unless `options.encoding` names one), refuses binary data, and returns the encoding, the decoded
 * start of the text and the whole text as a stream. The input is read within the scope: closing it
 * stops the reading (and closes the file).
 *
 * Fails with `ImportError`: `unsupported` for an encoding iconv-lite does not know, `unreadable`
 * for binary data or an input that cannot be read.
 *
 * @since 0.3.0
 * @category constructors
 */
export const decode = (bytes: Bytes, options: DecodeOptions = {}): Effect.Effect<Decoded, ImportError, Scope.Scope> =>
  Effect.gen(function* () {
    const what = bytes.name === undefined ? "The file" : `"${bytes.name}"`
    const forced = options.encoding?.trim().toLowerCase()
    if (forced !== undefined && supported(forced) === undefined) {
      return yield* new ImportError({ reason: "unsupported", message: `The encoding "${options.encoding}" is not supported (try "utf-8", "windows-1252", "latin1" or "utf-16le")` })
    }
    const pull = yield* Stream.toPull(bytes.stream)
    const chunks: Array<Uint8Array> = []
    let size = 0
    let complete = false
    while (size < sampleSize) {
      const next = yield* nextChunk(pull)
      if (Option.isNone(next)) {
        complete = true
        break
      }
      for (const chunk of next.value) {
        chunks.push(chunk)
        size += chunk.byteLength
      }
    }
    const head = Buffer.concat(chunks)
    const encoding = forced ?? detect(head)
    const refused = binary(head.subarray(0, sampleSize), encoding)
    if (refused !== undefined) return yield* new ImportError({ reason: "unreadable", message: `${what} ${refused}` })

    const decoder = iconv.getDecoder(supported(encoding) ?? "windows-1252", { stripBOM: true })
    const headText = decoder.write(head) + (complete ? (decoder.end() ?? "") : "")
    const rest: Stream.Stream<string, ImportError> = complete
      ? Stream.empty
      : Stream.concat(
          Stream.map(Stream.repeatEffectChunkOption(pull), (chunk) => decoder.write(toBuffer(chunk))),
          Stream.suspend(() => Stream.make(decoder.end() ?? ""))
        )
    let started = false
    const text = Stream.suspend(() => {
      if (started) return Stream.fail(new ImportError({ reason: "unreadable", message: `${what} was already read: its text can be read only once` }))
      started = true
      return Stream.filter(Stream.concat(Stream.make(headText), rest), (s) => s.length > 0)
    })
    return { encoding, head: headText, complete, text }
  })
