// The platform's HttpServerRequest over a Node IncomingMessage, read where it is: no web Request in
// between. The shape follows @effect/platform-node's ServerRequestImpl (NodeHttpServer.makeHandler
// and platform-node-shared's HttpIncomingMessageImpl), which Rapport does not depend on (its peers
// bring @effect/cluster and @effect/rpc); only what this API needs is here, plus what an Express
// mount adds: the URL Express left after its mount path, the mount path for links, and a body that
// a parser of the host app read first.
//
// The body is read once, whatever asks for it (text, json, arrayBuffer, urlParamsBody), with its
// size counted chunk by chunk against the limit (`MaxBodySize`, which the handler sets to its
// `bodyLimit`): the chunk that goes past it fails the read at once, with `BodyTooLarge` as the
// RequestError's cause, and the rest is left unread.
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Socket from "@effect/platform/Socket"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { BodyConsumed, BodyTooLarge } from "./body.js"

/**
 * A Node request as Express (and Connect) pass it to a mounted handler: `baseUrl` and
 * `originalUrl` give the mount path for links, `body` is what a body parser that ran first left.
 *
 * @since 0.6.0
 * @category models
 */
export interface MountedRequest extends IncomingMessage {
  readonly baseUrl?: string
  readonly originalUrl?: string
  readonly body?: unknown
}

// Where the handler is mounted: Express says it (baseUrl); Connect only keeps the original URL,
// of which req.url is the end.
export const mountPath = (req: MountedRequest): string => {
  if (typeof req.baseUrl === "string") return req.baseUrl
  const original = req.originalUrl
  const url = req.url ?? "/"
  return typeof original === "string" && original !== url && original.endsWith(url) ? original.slice(0, original.length - url.length) : ""
}

const jsonType = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i

const asBytes = (chunk: Buffer): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)

const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")

const noBody = new Uint8Array(0)

// Whether the request says it has a body (RFC 9112: a length or a transfer coding).
const declaresBody = (req: IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}

// Something of the host app read the body before the handler ran (body parsers leave the request
// complete and no longer readable).
const consumed = (req: IncomingMessage): boolean => req.complete && !req.readable

type Read = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: unknown }

/**
 * The one read of a request's body, shared by every copy of the request (`modify` makes copies):
 * the bytes once they are all in, or why they could not be read.
 */
class Body {
  private result: Read | undefined
  private waiting: Array<(read: Read) => void> | undefined
  private textValue: string | undefined
  /** The JSON value a body parser of the host app left (express.json()), when there is one. */
  readonly parsed: { readonly value: unknown } | undefined

  constructor(readonly req: MountedRequest) {
    if (!declaresBody(req)) {
      this.result = { ok: true, bytes: noBody }
    } else if (consumed(req)) {
      // JSON that express.json() parsed is kept as it was parsed (json gives it as it is, text its
      // JSON), raw (express.raw()) or text bodies as they are; anything else fails when a route
      // reads it, saying to mount Rapport first.
      const value = req.body
      if (value instanceof Uint8Array) this.result = { ok: true, bytes: value }
      else if (typeof value === "string") this.result = { ok: true, bytes: Buffer.from(value, "utf8") }
      else if (value !== undefined && jsonType.test(req.headers["content-type"] ?? "")) this.parsed = { value }
      else this.result = { ok: false, error: new BodyConsumed() }
    }
  }

  private settle(read: Read) {
    this.result = read
    const waiting = this.waiting
    this.waiting = undefined
    if (waiting !== undefined) for (const resume of waiting) resume(read)
  }

  // Listens to the request until it ends, goes past the limit, fails or is abandoned.
  private start(limit: number | undefined) {
    const req = this.req
    const chunks: Array<Buffer> = []
    let size = 0
    const done = (read: Read) => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
      req.off("close", onClose)
      this.settle(read)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (limit !== undefined && size > limit) {
        // Nothing more is read: the 413 closes the connection rather than receive the rest.
        req.pause()
        return done({ ok: false, error: new BodyTooLarge(limit) })
      }
      chunks.push(chunk)
    }
    const onEnd = () => done({ ok: true, bytes: chunks.length === 1 ? asBytes(chunks[0]!) : asBytes(Buffer.concat(chunks, size)) })
    const onError = (error: Error) => done({ ok: false, error })
    const onClose = () => {
      if (!req.complete) done({ ok: false, error: new Error("The client went away before the body was received") })
    }
    // A request already abandoned (while the API was being built, say): what it had sent is gone.
    if (req.destroyed) return done({ ok: false, error: new Error("The client went away before the body was received") })
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    req.on("close", onClose)
    req.resume()
  }

  /** The whole body; `limit` applies to the read this call starts (the first one). */
  bytes(limit: number | undefined): Effect.Effect<Uint8Array, unknown> {
    const result = this.result ?? (this.parsed === undefined ? undefined : (this.result = { ok: true, bytes: Buffer.from(JSON.stringify(this.parsed.value), "utf8") }))
    if (result !== undefined) return result.ok ? Effect.succeed(result.bytes) : Effect.fail(result.error)
    return Effect.async<Uint8Array, unknown>((resume) => {
      const waiter = (read: Read) => resume(read.ok ? Effect.succeed(read.bytes) : Effect.fail(read.error))
      const first = this.waiting === undefined
      ;(this.waiting ??= []).push(waiter)
      if (first) this.start(limit)
      // An interrupted reader stops waiting; the read goes on for the others (or for nobody).
      return Effect.sync(() => {
        const index = this.waiting?.indexOf(waiter) ?? -1
        if (index >= 0) this.waiting!.splice(index, 1)
      })
    })
  }

  text(limit: number | undefined): Effect.Effect<string, unknown> {
    if (this.textValue !== undefined) return Effect.succeed(this.textValue)
    return Effect.map(this.bytes(limit), (bytes) => (this.textValue = utf8(bytes)))
  }

  /** Whether a read of the whole body started (a stream can then only replay it). */
  get started(): boolean {
    return this.result !== undefined || this.waiting !== undefined || this.parsed !== undefined
  }

  /**
   * The body as it arrives, pulled chunk by chunk (the request is paused in between: back-pressure),
   * with the same limit.
   */
  stream(limit: number | undefined): Stream.Stream<Uint8Array, unknown> {
    if (this.started) return Stream.flatMap(Stream.fromEffect(this.bytes(limit)), (bytes) => (bytes.byteLength === 0 ? Stream.empty : Stream.succeed(bytes)))
    // A stream replaces the shared read: reading the whole body afterwards fails.
    this.result = { ok: false, error: new Error("The request body was read as a stream") }
    const req = this.req
    let size = 0
    const pull = Effect.async<Uint8Array, Option.Option<unknown>>((resume) => {
      const next = (): boolean => {
        const chunk = req.read() as Buffer | null
        if (chunk !== null) {
          size += chunk.length
          if (limit !== undefined && size > limit) resume(Effect.fail(Option.some(new BodyTooLarge(limit))))
          else resume(Effect.succeed(asBytes(chunk)))
          return true
        }
        if (req.readableEnded) {
          resume(Effect.fail(Option.none()))
          return true
        }
        return false
      }
      if (next()) return
      if (req.destroyed) return resume(Effect.fail(Option.some(new Error("The client went away before the body was received"))))
      const cleanup = () => {
        req.off("readable", onReadable)
        req.off("end", onEnd)
        req.off("error", onError)
        req.off("close", onClose)
      }
      const onReadable = () => {
        if (next()) cleanup()
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.fail(Option.none()))
      }
      const onError = (error: Error) => {
        cleanup()
        resume(Effect.fail(Option.some(error)))
      }
      const onClose = () => {
        if (req.complete) return
        cleanup()
        resume(Effect.fail(Option.some(new Error("The client went away before the body was received"))))
      }
      req.on("readable", onReadable)
      req.on("end", onEnd)
      req.on("error", onError)
      req.on("close", onClose)
      return Effect.sync(cleanup)
    })
    return Stream.repeatEffectOption(pull)
  }
}

const limitOf = (fiberContext: Context.Context<never>): number | undefined =>
  Option.getOrUndefined(Option.map(Context.get(fiberContext, HttpIncomingMessage.MaxBodySize), Number))

// The body limit in force for the current fiber (MaxBodySize, which routes may change).
const withLimit = <A, E>(f: (limit: number | undefined) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) => f(limitOf(fiber.currentContext)))

/**
 * An `HttpServerRequest` over a Node request. It is also what `NodeRequest` gives routes: the Node
 * request (`req`) and the path the handler is mounted at (`basePath`).
 */
export class NodeServerRequest extends Inspectable.Class implements HttpServerRequest.HttpServerRequest {
  readonly [HttpServerRequest.TypeId]: HttpServerRequest.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId
  readonly url: string
  private headersValue: Headers.Headers | undefined
  private cookiesValue: Record<string, string> | undefined
  private multipartValue: Effect.Effect<Multipart.Persisted, Multipart.MultipartError, Scope.Scope | FileSystem.FileSystem | Path.Path> | undefined

  constructor(
    readonly req: MountedRequest,
    readonly response: ServerResponse,
    readonly basePath: string,
    readonly body: Body,
    url?: string,
    headers?: Headers.Headers,
    private readonly remoteAddressOverride?: string
  ) {
    super()
    this[HttpServerRequest.TypeId] = HttpServerRequest.TypeId
    this[HttpIncomingMessage.TypeId] = HttpIncomingMessage.TypeId
    // Concatenated by the router, not resolved: a path such as //host/x must stay a path.
    this.url = url ?? (req.url === undefined || req.url === "" ? "/" : req.url.charCodeAt(0) === 47 ? req.url : `/${req.url}`)
    this.headersValue = headers
  }

  static make(req: MountedRequest, res: ServerResponse): NodeServerRequest {
    return new NodeServerRequest(req, res, mountPath(req), new Body(req))
  }

  get source(): IncomingMessage {
    return this.req
  }

  get method(): HttpMethod {
    return (this.req.method ?? "GET").toUpperCase() as HttpMethod
  }

  /** The URL the client asked for, mount path included. */
  get originalUrl(): string {
    return this.req.originalUrl ?? this.req.url ?? "/"
  }

  // A Headers value (not Node's object as is): its prototype makes logs redact Authorization and
  // cookies when a request is printed.
  get headers(): Headers.Headers {
    return (this.headersValue ??= Headers.fromInput(this.req.headers))
  }

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.remoteAddressOverride ?? this.req.socket?.remoteAddress)
  }

  get cookies(): Record<string, string> {
    return (this.cookiesValue ??= Cookies.parseHeader(this.headers["cookie"] ?? ""))
  }

  /** The JSON value express.json() parsed, when it ran first: routes use it as it is. */
  get parsedJson(): { readonly value: unknown } | undefined {
    return this.body.parsed
  }

  private error(cause: unknown): HttpServerError.RequestError {
    return new HttpServerError.RequestError({ request: this, reason: "Decode", cause })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError.RequestError> {
    return withLimit((limit) =>
      Effect.mapBoth(this.body.bytes(limit), {
        onFailure: (cause) => this.error(cause),
        onSuccess: (bytes) =>
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? (bytes.buffer as ArrayBuffer)
            : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
      })
    )
  }

  get text(): Effect.Effect<string, HttpServerError.RequestError> {
    return withLimit((limit) => Effect.mapError(this.body.text(limit), (cause) => this.error(cause)))
  }

  get json(): Effect.Effect<unknown, HttpServerError.RequestError> {
    const parsed = this.body.parsed
    if (parsed !== undefined) return Effect.succeed(parsed.value)
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => (text === "" ? null : (JSON.parse(text) as unknown)), catch: (cause) => this.error(cause) })
    )
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpServerError.RequestError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: (cause) => this.error(cause) })
    )
  }

  get stream(): Stream.Stream<Uint8Array, HttpServerError.RequestError> {
    return Stream.unwrap(withLimit((limit) => Effect.succeed(Stream.mapError(this.body.stream(limit), (cause) => this.error(cause)))))
  }

  // As the platform's own requests do it: multipasta over the body stream, with the Multipart
  // limits of the fiber (a route's `withLimits`); MaxBodySize bounds the whole body.
  get multipartStream(): Stream.Stream<Multipart.Part, Multipart.MultipartError> {
    return Stream.pipeThroughChannel(
      Stream.mapError(this.stream, (cause) => new Multipart.MultipartError({ reason: "InternalError", cause })),
      Multipart.makeChannel(this.headers)
    )
  }

  get multipart(): Effect.Effect<Multipart.Persisted, Multipart.MultipartError, Scope.Scope | FileSystem.FileSystem | Path.Path> {
    return (this.multipartValue ??= Effect.runSync(Effect.cached(Multipart.toPersisted(this.multipartStream))))
  }

  get upgrade(): Effect.Effect<Socket.Socket, HttpServerError.RequestError> {
    return Effect.fail(new HttpServerError.RequestError({ request: this, reason: "Decode", description: "Rapport's handler does not upgrade connections" }))
  }

  modify(options: { readonly url?: string | undefined; readonly headers?: Headers.Headers | undefined; readonly remoteAddress?: string | undefined }): NodeServerRequest {
    return new NodeServerRequest(
      this.req,
      this.response,
      this.basePath,
      this.body,
      options.url ?? this.url,
      options.headers ?? this.headersValue,
      options.remoteAddress ?? this.remoteAddressOverride
    )
  }

  override toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, { _id: "@effect/platform/HttpServerRequest", method: this.method, url: this.originalUrl })
  }

  override toString(): string {
    return `ServerRequest(${this.method} ${this.url})`
  }
}
