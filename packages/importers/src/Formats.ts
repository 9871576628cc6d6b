/**
 * Which reader a file needs: the `format` option, else the file's extension (`.csv`, `.tsv`,
 * `.txt`, `.xlsx`, `.vcf`, `.vcard`), else its first bytes (a ZIP archive is an XLSX workbook,
 * `BEGIN:VCARD` a vCard file, anything else is read as delimited text).
 *
 * @since 0.3.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import * as Csv from "./Csv.js"
import { type Format, ImportError, type Opened } from "./Records.js"
import type { Bytes } from "./Source.js"
import * as VCard from "./VCard.js"
import * as Xlsx from "./Xlsx.js"

/**
 * Reader options, for whichever format applies.
 *
 * @since 0.3.0
 * @category models
 */
export interface ReadOptions {
  readonly format?: Format | undefined
  readonly encoding?: string | undefined
  readonly delimiter?: string | undefined
  readonly sheet?: string | number | undefined
}

const byExtension = (name: string | undefined): Format | undefined => {
  const extension = name?.toLowerCase().match(/\.([a-z]+)$/)?.[1]
  if (extension === "csv" || extension === "tsv" || extension === "txt") return "csv"
  if (extension === "xlsx" || extension === "xlsm") return "xlsx"
  if (extension === "vcf" || extension === "vcard") return "vcard"
  if (extension === "xls") return undefined
  return undefined
}

const byContent = (head: Uint8Array): Format => {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return "xlsx"
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(0, 1024)).replace(/^\uFEFF/, "").replace(/\u0000/g, "")
  return /^\s*BEGIN:VCARD/i.test(text) ? "vcard" : "csv"
}

/**
 * Opens a file with the reader its format needs.
 *
 * @since 0.3.0
 * @category constructors
 */
export const open = (bytes: Bytes, options: ReadOptions = {}): Effect.Effect<Opened, ImportError, Scope.Scope> =>
  Effect.gen(function* () {
    if (bytes.name !== undefined && /\.xls$/i.test(bytes.name) && options.format === undefined) {
      return yield* new ImportError({ reason: "unsupported", message: `"${bytes.name}" is an old Excel (.xls) workbook: save it as .xlsx or .csv first` })
    }
    let format = options.format ?? byExtension(bytes.name)
    let input = bytes
    if (format === undefined) {
      // Look at the first chunk, then read on from the start.
      const [head, rest] = yield* Stream.peel(bytes.stream, Sink.head<Uint8Array>())
      const first = Option.getOrElse(head, () => new Uint8Array(0))
      format = byContent(first)
      input = { ...bytes, stream: Option.isSome(head) ? Stream.concat(Stream.fromChunk(Chunk.of(first)), rest) : rest }
    }
    switch (format) {
      case "csv":
        return yield* Csv.open(input, { encoding: options.encoding, delimiter: options.delimiter })
      case "xlsx":
        return yield* Xlsx.open(input, { sheet: options.sheet })
      case "vcard":
        return yield* VCard.open(input)
    }
  })
