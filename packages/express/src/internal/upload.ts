// A multipart/form-data upload read straight from the Node request, its `file` part streamed to a
// file on disk as it arrives (never held in memory), with its size counted chunk by chunk.
//
// Why not the request's `multipartStream` (@effect/platform): the Node adapter caps every body at
// `bodyLimit` (1 MiB, for JSON), far below a file's; and in 0.97 a body that ends inside a file part
// (no closing boundary) leaves that part's content stream waiting for ever instead of failing.
// multipasta, the parser @effect/platform itself uses, reports that end as an error here.
import { createWriteStream, type WriteStream } from "node:fs"
import type { IncomingMessage } from "node:http"
import * as Multipasta from "multipasta"
import * as Effect from "effect/Effect"
import { type InputError, jsonPointer, Problem, problem } from "../Problem.js"

/** A multipart/form-data content type (the boundary follows). */
export const multipartType = /^multipart\/form-data\s*;/i

/** The largest text field of an upload form (the API's only one is `options`, a JSON object far below it). */
export const MAX_FIELD_SIZE = 64 * 1024

/** The client's file extension, when it is a plain one (the importer tells the format from it), or "". */
export const extensionOf = (name: string | undefined): string => {
  const match = name === undefined ? null : /\.([A-Za-z0-9]{1,10})$/.exec(name)
  return match === null ? "" : `.${match[1]!.toLowerCase()}`
}

/** What was received: the file (where it was written, the name the client gave it, its size) and the text fields. */
export interface Upload {
  readonly file: { readonly path: string; readonly name: string | undefined; readonly size: number } | undefined
  readonly fields: Readonly<Record<string, string>>
}

export interface UploadOptions {
  /** The file part and where it is written (a new file, given the name the client gave it); none: every part is a text field. */
  readonly file?: { readonly field: string; readonly path: (fileName: string | undefined) => string; readonly maxSize: number } | undefined
  /** The text fields allowed; another name fails with 400, unless `otherFields` is `ignore`. */
  readonly fields: ReadonlyArray<string>
  readonly otherFields?: "refuse" | "ignore" | undefined
  /** The largest text field, in bytes. */
  readonly maxFieldSize: number
  /** Checks a text field as soon as it is received (before the file, when sent first). */
  readonly onField?: ((name: string, value: string) => Problem | undefined) | undefined
}

const invalid = (errors: ReadonlyArray<InputError>, detail: string) => problem(400, "VALIDATION_FAILED", detail, { errors })

export const tooLarge = (limit: number) =>
  problem(413, "PAYLOAD_TOO_LARGE", `The uploaded file is larger than ${limit} bytes; split it, or ask for a larger limit (imports.maxFileSize)`)

const unreadable = (why: string) => problem(400, "BODY_UNREADABLE", `The multipart body could not be read: ${why}`)

const multipartProblem = (error: Multipasta.MultipartError): Problem => {
  switch (error._tag) {
    case "InvalidBoundary":
      return unreadable("the content type names no boundary")
    case "BadHeaders":
      return unreadable("a part's headers are malformed")
    case "InvalidDisposition":
      return unreadable("a part has no name (Content-Disposition: form-data; name=…)")
    case "EndNotReached":
      return unreadable("it ended before its closing boundary (an interrupted upload?)")
    case "ReachedLimit":
      return error.limit === "MaxFieldSize"
        ? problem(413, "PAYLOAD_TOO_LARGE", "A form field is larger than allowed")
        : error.limit === "MaxParts"
          ? unreadable("it has too many parts")
          : problem(413, "PAYLOAD_TOO_LARGE", "The request body is larger than allowed")
  }
}

/**
 * Reads the request's multipart body. Resolves once the closing boundary was read and the file is
 * on disk; rejects with a Problem (400, 413) as soon as something is wrong, leaving the rest of the
 * body unread. The file may be left behind half-written: the caller removes its directory.
 */
const receive = (req: IncomingMessage, contentType: string, options: UploadOptions, signal: AbortSignal): Promise<Upload> =>
  new Promise<Upload>((resolve, reject) => {
    const fields: Record<string, string> = {}
    let file: { name: string | undefined; size: number; path: string } | undefined
    let out: WriteStream | undefined
    let settled = false
    let done = false

    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onAborted)
      req.off("aborted", onAborted)
      req.off("close", onClose)
      signal.removeEventListener("abort", onAbort)
    }
    const fail = (error: Problem | Error) => {
      if (settled) return
      settled = true
      cleanup()
      // Nothing more is read; a refused upload's connection is closed by the adapter (413).
      req.pause()
      out?.destroy()
      reject(error)
    }
    const succeed = () => {
      if (settled) return
      settled = true
      cleanup()
      const upload = (): Upload => ({ fields, file: file === undefined ? undefined : { path: file.path, name: file.name, size: file.size } })
      if (out === undefined) return resolve(upload())
      // The file is complete once flushed; a disk failure while flushing rejects instead.
      out.once("error", reject)
      out.end(() => resolve(upload()))
    }

    const parser = Multipasta.make({
      headers: { "content-type": contentType },
      maxFieldSize: options.maxFieldSize,
      maxParts: options.fields.length + 4,
      isFile: (info) => info.name === options.file?.field,
      onField: (info, value) => {
        if (settled) return
        if (!options.fields.includes(info.name)) {
          if (options.otherFields === "ignore") return
          const known = [...(options.file === undefined ? [] : [options.file.field]), ...options.fields].join(", ")
          return fail(invalid([{ pointer: jsonPointer([info.name]), in: "body", detail: `is not a field of this form (fields: ${known})` }], "Unknown form field"))
        }
        if (Object.hasOwn(fields, info.name)) {
          return fail(invalid([{ pointer: jsonPointer([info.name]), in: "body", detail: "is sent twice" }], "A form field is sent twice"))
        }
        const text = Multipasta.decodeField(info, value)
        fields[info.name] = text
        const refused = options.onField?.(info.name, text)
        if (refused !== undefined) fail(refused)
      },
      onFile: (info) => {
        const spec = options.file
        if (settled || spec === undefined) return () => undefined
        if (file !== undefined) {
          fail(invalid([{ pointer: jsonPointer([spec.field]), in: "body", detail: "is sent twice: send one file" }], "One file per request"))
          return () => undefined
        }
        const current = { name: info.filename, size: 0, path: spec.path(info.filename) }
        file = current
        const stream = createWriteStream(current.path, { flags: "wx" })
        out = stream
        stream.on("error", (error) => fail(error))
        // Back-pressure: the request is paused while the disk is behind.
        stream.on("drain", () => {
          if (!settled) req.resume()
        })
        return (chunk) => {
          if (settled || chunk === null) return
          current.size += chunk.byteLength
          if (current.size > spec.maxSize) return fail(tooLarge(spec.maxSize))
          if (!stream.write(chunk)) req.pause()
        }
      },
      onError: (error) => fail(multipartProblem(error)),
      onDone: () => {
        done = true
      }
    })

    function onData(chunk: Buffer) {
      if (settled) return
      parser.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    }
    function onEnd() {
      if (settled) return
      parser.end()
      if (!done) return fail(unreadable("it ended before its closing boundary (an interrupted upload?)"))
      succeed()
    }
    function onAborted() {
      fail(unreadable("the client went away"))
    }
    function onClose() {
      if (!req.complete) fail(unreadable("the client went away"))
    }
    function onAbort() {
      fail(new Error("The request was abandoned"))
    }

    if (signal.aborted) return fail(new Error("The request was abandoned"))
    signal.addEventListener("abort", onAbort)
    req.on("data", onData)
    req.once("end", onEnd)
    req.once("error", onAborted)
    req.once("aborted", onAborted)
    req.once("close", onClose)
    req.resume()
  })

/**
 * The upload, read as an Effect: interrupting it (the client went away) stops reading. Failures are
 * Problems; an unexpected one (the disk) is a defect, answered 500 and logged.
 */
export const readUpload = (req: IncomingMessage, contentType: string, options: UploadOptions): Effect.Effect<Upload, Problem> =>
  Effect.tryPromise({
    try: (signal) => receive(req, contentType, options, signal),
    catch: (error) => error
  }).pipe(Effect.catchAll((error) => (error instanceof Problem ? Effect.fail(error) : Effect.die(error))))
