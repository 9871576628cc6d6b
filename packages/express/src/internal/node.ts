// The Node adapter: the API's HttpApp run on a Node request and response directly. The request is
// an HttpServerRequest over the IncomingMessage (request.ts); the answer, an HttpServerResponse,
// is written to the ServerResponse (bytes at once, streams chunk by chunk with back-pressure). A
// client that goes away interrupts the work it started.
//
// The design is @effect/platform-node's NodeHttpServer.makeHandler (HttpApp.toHandled with a
// response writer, one fiber per request on a runtime built once), without depending on it: its
// peers bring @effect/cluster and @effect/rpc. Only what this API answers with is written here.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as Cookies from "@effect/platform/Cookies"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { constTrue } from "effect/Function"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { NodeRequest } from "./context.js"
import { type MountedRequest, NodeServerRequest } from "./request.js"

export type { MountedRequest } from "./request.js"

/** A `(req, res, next?)` handler. */
export type NodeHandler = (req: MountedRequest, res: ServerResponse, next?: (error?: unknown) => void) => void

const responseError = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse, cause: unknown) =>
  new HttpServerError.ResponseError({ request, response, reason: "Decode", cause })

// A body that fails once its headers are sent cannot become an error answer: the connection is
// cut, so that the client sees an incomplete download rather than a complete-looking one.
const abort = (res: ServerResponse) => <E>(cause: Cause.Cause<E>) =>
  Effect.zipRight(
    Effect.sync(() => void res.destroy()),
    Effect.failCause(cause)
  )

const isNodeReadable = (u: unknown): u is NodeJS.ReadableStream => typeof u === "object" && u !== null && typeof (u as { pipe?: unknown }).pipe === "function"

const isWebReadable = (u: unknown): u is ReadableStream<Uint8Array> => typeof u === "object" && u !== null && typeof (u as { getReader?: unknown }).getReader === "function"

const piped = (source: NodeJS.ReadableStream, res: ServerResponse, request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  Effect.tryPromise({
    try: (signal) => pipeline(source, res, { signal }),
    catch: (cause) => responseError(request, response, cause)
  }).pipe(Effect.interruptible, Effect.tapErrorCause(abort(res)))

// A stream's chunks, written as they come; the stream waits while the socket is behind.
const streamed = (
  body: HttpServerResponse.HttpServerResponse["body"] & { readonly _tag: "Stream" },
  res: ServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void, HttpServerError.ResponseError> => {
  // Closed while the socket's buffer is full, opened by its "drain" (a latch, so that a drain that
  // comes before the stream waits is not missed).
  const drained = Effect.unsafeMakeLatch(true)
  const onDrain = () => drained.unsafeOpen()
  res.on("drain", onDrain)
  return body.stream.pipe(
    Stream.mapError((cause) => responseError(request, response, cause)),
    Stream.runForEachChunk((chunk) => {
      let full = false
      for (const bytes of Chunk.toReadonlyArray(chunk)) full = !res.write(bytes)
      if (!full) return Effect.void
      drained.unsafeClose()
      return drained.await
    }),
    Effect.interruptible,
    Effect.ensuring(Effect.sync(() => res.off("drain", onDrain))),
    Effect.matchCauseEffect({
      onSuccess: () => Effect.sync(() => void res.end()),
      onFailure: abort(res)
    })
  )
}

/**
 * Writes an answer to the Node response. Bytes (the JSON and problem answers) are written at once;
 * `HEAD` gets the headers only. A 413 sent while the body is still arriving closes the connection
 * rather than receive the rest.
 */
const writeResponse = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse): Effect.Effect<void, HttpServerError.ResponseError> => {
  const { req, response: res } = request as NodeServerRequest
  if (res.writableEnded || res.destroyed) return Effect.void
  let headers: OutgoingHttpHeaders = response.headers
  if (!Cookies.isEmpty(response.cookies)) {
    const set = response.headers["set-cookie"]
    headers = { ...headers, "set-cookie": [...(set === undefined ? [] : [set]), ...Cookies.toSetCookieHeaders(response.cookies)] }
  }
  if (response.status === 413 && !req.readableEnded) headers = { ...headers, connection: "close" }
  const body = response.body
  if (request.method === "HEAD" || body._tag === "Empty") {
    res.writeHead(response.status, headers)
    res.end()
    return Effect.void
  }
  switch (body._tag) {
    case "Uint8Array": {
      res.writeHead(response.status, headers)
      res.end(body.body)
      return Effect.void
    }
    case "Stream": {
      res.writeHead(response.status, headers)
      return streamed(body, res, request, response)
    }
    case "Raw": {
      const raw = body.body
      if (typeof raw === "string" || raw instanceof Uint8Array) {
        res.writeHead(response.status, headers)
        res.end(raw)
        return Effect.void
      }
      if (isNodeReadable(raw)) {
        res.writeHead(response.status, headers)
        return piped(raw, res, request, response)
      }
      if (isWebReadable(raw)) {
        res.writeHead(response.status, headers)
        return piped(Readable.fromWeb(raw as import("node:stream/web").ReadableStream<Uint8Array>), res, request, response)
      }
      // Anything else a web Response takes (a Blob, a Response, URLSearchParams…): read through one.
      return webBody(raw instanceof Response ? raw : new Response(raw as ConstructorParameters<typeof Response>[0]), response.status, headers, res, request, response)
    }
    case "FormData":
      // The web Response writes the multipart body and says its boundary in its content type.
      return webBody(new Response(body.formData), response.status, headers, res, request, response)
  }
}

const webBody = (
  web: Response,
  status: number,
  headers: OutgoingHttpHeaders,
  res: ServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void, HttpServerError.ResponseError> => {
  const type = web.headers.get("content-type")
  res.writeHead(status, type === null || headers["content-type"] !== undefined ? headers : { ...headers, "content-type": type })
  if (web.body === null) {
    res.end()
    return Effect.void
  }
  return piped(Readable.fromWeb(web.body as import("node:stream/web").ReadableStream<Uint8Array>), res, request, response)
}

/**
 * What the handler does with a failure of its own (never a route's: those are answers): `next`
 * gets it when there is one and nothing was sent; an answer under way is cut; otherwise a bare 500.
 */
export const failed = (error: unknown, res: ServerResponse, next: ((error?: unknown) => void) | undefined): void => {
  if (res.destroyed || res.writableEnded) return
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (next !== undefined) return next(error)
  res.writeHead(500, { "content-type": "application/problem+json" })
  res.end(JSON.stringify({ type: "about:blank", title: "Internal Server Error", status: 500, detail: "An unexpected error occurred", code: "INTERNAL_ERROR" }))
}

/**
 * The API's HttpApp as a `(req, res, next?)` handler, each request a fiber on `runtime` (built
 * once; the request and its Node objects are added to its context).
 *
 * The platform opens a server span per request (attributes for the URL and every header), about a
 * tenth of a request's time through the adapter (measured in process). Spans go nowhere unless the
 * runtime has a tracer of its own (Effect's built-in one keeps none): it is opened only then.
 */
export const makeNodeHandler = <R>(runtime: Runtime.Runtime<R>, app: HttpApp.Default<never, R | Scope.Scope>): NodeHandler => {
  const handled = HttpApp.toHandled(app, writeResponse)
  const traced = Runtime.runSync(runtime)(Effect.tracer) !== Effect.runSync(Effect.tracer)
  const runFork = Runtime.runFork(traced ? runtime : Runtime.setFiberRef(runtime, HttpMiddleware.currentTracerDisabledWhen, constTrue))
  return (req, res, next) => {
    const request = NodeServerRequest.make(req, res)
    const fiber = runFork(Effect.provide(handled, Context.make(HttpServerRequest.HttpServerRequest, request).pipe(Context.add(NodeRequest, request))))
    const abandoned = () => {
      if (!res.writableEnded) fiber.unsafeInterruptAsFork(HttpServerError.clientAbortFiberId)
    }
    if (res.destroyed) abandoned()
    else res.once("close", abandoned)
    fiber.addObserver((exit) => {
      if (exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)) failed(Cause.squash(exit.cause), res, next)
    })
  }
}
