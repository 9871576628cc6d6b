/**
 * What an import reads from: a file path, the bytes themselves, a Node stream or a web
 * `ReadableStream` (an upload). Readers consume it as a stream of byte chunks, so a file of any
 * size is read in constant memory; the bytes read so far and the total (when known) feed the
 * progress callback.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createReadStream, promises as fs } from "node:fs"
import { basename } from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { ImportError } from "./Records.js"

/**
 * A file path (or `file:` URL), bytes, a Node readable stream, or a web `ReadableStream`.
 *
 * @since 0.3.0
 * @category models
 */
export type Input = string | URL | Uint8Array | NodeJS.ReadableStream | ReadableStream<Uint8Array>

/**
 * An input opened for reading.
 *
 * @since 0.3.0
 * @category models
 */
export interface Bytes {
  /** The bytes, chunk by chunk; read once. */
  readonly stream: Stream.Stream<Uint8Array, ImportError>
  /** The total size in bytes, when known (a file or a buffer). */
  readonly size: number | undefined
  /** How many bytes the stream has delivered so far. */
  readonly read: () => number
  /** The file's name, when there is one (the format can be told from its extension). */
  readonly name: string | undefined
}

// Bytes are read 64 KiB at a time: a chunk's rows are parsed at once and live until their batches
// are written, and with 256 KiB chunks (about 2,900 CSV rows) they outlived young-generation
// collections, which raised an import's peak RSS by about 30 MB.
const CHUNK = 64 * 1024

const unreadable = (what: string) => (cause: unknown) =>
  new ImportError({ reason: "unreadable", message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

const toUint8 = (chunk: unknown): Uint8Array =>
  chunk instanceof Uint8Array ? chunk : typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk as ArrayBuffer)

/**
 * Opens an input: a path is checked (it must be a readable file), a stream is wrapped.
 *
 * @since 0.3.0
 * @category constructors
 */
export const open = (input: Input): Effect.Effect<Bytes, ImportError> =>
  Effect.gen(function* () {
    let count = 0
    const counted = (stream: Stream.Stream<Uint8Array, ImportError>) =>
      Stream.tap(stream, (chunk) => Effect.sync(() => void (count += chunk.byteLength)))
    const read = () => count
    if (typeof input === "string" || input instanceof URL) {
      const path = input instanceof URL ? fileURLToPath(input) : input
      const stat = yield* Effect.tryPromise({ try: () => fs.stat(path), catch: unreadable(`Cannot read "${path}"`) })
      if (!stat.isFile()) return yield* new ImportError({ reason: "unreadable", message: `"${path}" is not a file` })
      const stream = Stream.fromAsyncIterable(createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>, unreadable(`Cannot read "${path}"`))
      return { stream: counted(stream), size: stat.size, read, name: basename(path) }
    }
    if (input instanceof Uint8Array) {
      const chunks = Array.from({ length: Math.ceil(input.byteLength / CHUNK) }, (_, i) => input.subarray(i * CHUNK, (i + 1) * CHUNK))
      return { stream: counted(Stream.fromIterable(chunks)), size: input.byteLength, read, name: undefined }
    }
    const readable: AsyncIterable<unknown> =
      typeof (input as ReadableStream<Uint8Array>).getReader === "function"
        ? Readable.fromWeb(input as import("node:stream/web").ReadableStream<Uint8Array>)
        : (input as NodeJS.ReadableStream as AsyncIterable<unknown>)
    const stream = Stream.map(Stream.fromAsyncIterable(readable, unreadable("Cannot read the input stream")), toUint8)
    return { stream: counted(stream), size: undefined, read, name: undefined }
  })
