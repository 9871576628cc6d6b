// What route handlers are made of: the JSON body (content type, size, syntax), the expected
// version from If-Match, answers (JSON as the Promise client encodes it, ETag, Location, Link),
// and Idempotency-Key for creating POSTs. Routes decode nothing themselves: the core's services
// validate their input with their own Schemas, the same for HTTP and the Promise client.
import { createHash } from "node:crypto"
import { Errors, Storage, toJson, Workspaces } from "@rapport/core"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { problem, type Problem } from "../Problem.js"
import { BodyConsumed, BodyTooLarge, findCause } from "./body.js"
import { basePath, currentCaller, HttpSettings } from "./context.js"
import { NodeServerRequest } from "./request.js"

type Request = HttpServerRequest.HttpServerRequest

const jsonType = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i

const isBodyTooLarge = (u: unknown): u is BodyTooLarge => u instanceof BodyTooLarge
const isBodyConsumed = (u: unknown): u is BodyConsumed => u instanceof BodyConsumed

const tooLarge = (limit: number) =>
  problem(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes; send less (a batch in several calls)`)

// What the headers say of the body before it is read: none, or refused (415, or a declared
// length over the limit: 413), or to be read.
const checkBody = (request: Request, bodyLimit: number): Effect.Effect<boolean, Problem> => {
  const headers = request.headers
  const length = headers["content-length"]
  if (headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) return Effect.succeed(false)
  const type = headers["content-type"]
  if (type !== undefined && !jsonType.test(type)) {
    return problem(415, "UNSUPPORTED_MEDIA_TYPE", `Send the body as application/json (it was ${type.slice(0, 100)})`, {
      headers: { "accept-post": "application/json" }
    })
  }
  if (length !== undefined && Number(length) > bodyLimit) return tooLarge(bodyLimit)
  return Effect.succeed(true)
}

/**
 * The request body as text, `undefined` when there is none. Refuses a content type other than JSON
 * (415), a declared length over the limit before reading it, and a streamed body as soon as it
 * goes past the limit (413).
 */
export const bodyText: Effect.Effect<string | undefined, Problem, Request | HttpSettings> = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { bodyLimit } = yield* HttpSettings
  if (!(yield* checkBody(request, bodyLimit))) return undefined
  const text = yield* Effect.mapError(request.text, (error) => {
    if (findCause(error, isBodyTooLarge) !== undefined) return tooLarge(bodyLimit)
    if (findCause(error, isBodyConsumed) !== undefined) {
      return problem(
        500,
        "BODY_CONSUMED",
        "The request body was read before Rapport's handler (a body parser of the app): mount Rapport's router before express.json() and other body parsers"
      )
    }
    return problem(400, "BODY_UNREADABLE", "The request body could not be read")
  })
  return text.trim() === "" ? undefined : text
})

const parseJson = (text: string | undefined): Effect.Effect<unknown, Problem> =>
  text === undefined
    ? Effect.succeed(undefined)
    : Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (error) => problem(400, "MALFORMED_JSON", `The body is not JSON: ${error instanceof Error ? error.message : String(error)}`)
      })

/**
 * The JSON body, `undefined` when there is none; malformed JSON is a 400 saying where. A body
 * express.json() parsed before the handler is taken as it was parsed (not written out and read
 * again).
 */
export const body: Effect.Effect<unknown, Problem, Request | HttpSettings> = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
  const parsed = request instanceof NodeServerRequest ? request.parsedJson : undefined
  if (parsed === undefined) return Effect.flatMap(bodyText, parseJson)
  return Effect.flatMap(HttpSettings, ({ bodyLimit }) => Effect.map(checkBody(request, bodyLimit), (declared) => (declared ? parsed.value : undefined)))
})

/**
 * The body as the input of a service method. Nothing is checked here: every service method
 * decodes its input with its Schema (unknown properties, every failing path), for the Promise
 * client and this API alike, and fails with `ValidationError`.
 */
export const input = <I>(): Effect.Effect<I, Problem, Request | HttpSettings> => body as Effect.Effect<I, Problem, Request | HttpSettings>

/**
 * The version `If-Match` names: none without the header or with `*`. A weak or unknown tag
 * cannot match a version (RFC 9110 compares If-Match strongly): 412.
 */
export const ifMatch: Effect.Effect<Option.Option<number>, Problem, Request> = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const header = request.headers["if-match"]?.trim()
  if (header === undefined || header === "*") return Option.none()
  if (header.includes(",")) {
    return yield* problem(400, "PRECONDITION_UNSUPPORTED", "If-Match must name one version (the ETag you read), not several")
  }
  const version = /^"(\d{1,15})"$/.exec(header)
  if (version === null) {
    return yield* problem(412, "VERSION_CONFLICT", `If-Match ${header.slice(0, 40)} is not the current version's ETag (send it as it was given, quotes included)`)
  }
  return Option.some(Number(version[1]))
})

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The body of a versioned write, with `expectedVersion` taken from `If-Match` when it is sent (a
 * body's own `expectedVersion` must then say the same).
 */
export const versionedInput = <I>(): Effect.Effect<I, Problem, Request | HttpSettings> =>
  Effect.gen(function* () {
    const value = yield* body
    const expected = yield* ifMatch
    if (Option.isNone(expected)) return value as I
    if (value === undefined) return { expectedVersion: expected.value } as I
    if (!isObject(value)) return value as I
    if (value.expectedVersion !== undefined && value.expectedVersion !== expected.value) {
      return yield* problem(400, "VALIDATION_FAILED", "expectedVersion and If-Match name different versions; send one of them", {
        errors: [{ pointer: "/expectedVersion", in: "body", detail: `is ${JSON.stringify(value.expectedVersion)} but If-Match says ${expected.value}` }]
      })
    }
    return { ...value, expectedVersion: expected.value } as I
  })

/** An entity tag for a record version. Strong: a version has one representation. */
export const etag = (version: number): string => `"${version}"`

const versionOf = (value: unknown): number | undefined =>
  isObject(value) && typeof value.version === "number" && Number.isInteger(value.version) ? value.version : undefined

/**
 * A service result as JSON (the Promise client's encoding), with the record's version as ETag
 * when it has one.
 */
export const json = (value: unknown, status = 200, headers: Readonly<Record<string, string>> = {}): HttpServerResponse.HttpServerResponse => {
  const version = versionOf(value)
  return HttpServerResponse.unsafeJson(toJson(value), { status, headers: version === undefined ? headers : { etag: etag(version), ...headers } })
}

/** A new record: 201, its version as ETag, `Location` its URL under the mount path. */
export const created = (value: unknown, location: string): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.map(basePath, (base) => json(value, 201, { location: base + location }))

/** 204 No Content. */
export const noContent: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.sync(() => HttpServerResponse.empty({ status: 204 }))

/**
 * A page of a listing, with a `Link: <…?cursor=…>; rel="next"` header when there is a next page
 * (the request's own query, with the cursor, under the mount path).
 */
export const page = (value: { readonly nextCursor: string | null }): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Request> =>
  Effect.gen(function* () {
    if (value.nextCursor === null) return json(value)
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://localhost")
    url.searchParams.set("cursor", value.nextCursor)
    return json(value, 200, { link: `<${(yield* basePath) + url.pathname + url.search}>; rel="next"` })
  })

const decoder = new TextDecoder()

// The headers a replayed answer needs besides its body.
const kept = ["location", "etag", "link"] as const

const responseBody = (response: HttpServerResponse.HttpServerResponse): { readonly text: string; readonly contentType: string } | undefined => {
  switch (response.body._tag) {
    case "Empty":
      return { text: "", contentType: "" }
    case "Uint8Array":
      return { text: decoder.decode(response.body.body), contentType: response.body.contentType }
    default:
      return undefined
  }
}

/**
 * Runs a creating POST at most once per `Idempotency-Key`, per workspace, principal and route: the
 * key is claimed, the work done and its answer stored in one transaction; the same key again gets
 * that answer (`Idempotent-Replayed: true`); with another request (method, path, query or body)
 * it is refused with 422; while the first is still running, 409. A request that fails stores
 * nothing: the key can be used again. Without the header, the work just runs.
 */
export const idempotent = <E, R>(
  work: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E | Problem | Errors.StorageError, R | Request | HttpSettings | Storage.Storage> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const key = request.headers["idempotency-key"]
    if (key === undefined) return yield* work
    if (!/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(key)) {
      return yield* problem(400, "VALIDATION_FAILED", "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID, say)", {
        errors: [{ pointer: "/Idempotency-Key", in: "header", detail: "must be 1 to 255 printable ASCII characters" }]
      })
    }
    const caller = yield* currentCaller
    const workspaceId = yield* Workspaces.CurrentWorkspace
    const storage = yield* Storage.Storage
    const { idempotencyTtl } = yield* HttpSettings
    const text = (yield* bodyText) ?? ""
    const path = request.url.split("?")[0] ?? "/"
    const scope = JSON.stringify([caller.principal, request.method, path])
    const fingerprint = createHash("sha256").update(`${request.method} ${request.url}\n${text}`).digest("base64url")
    const now = yield* DateTime.now
    const claim = { workspaceId, scope, key, fingerprint, createdAt: now, expiresAt: DateTime.add(now, { millis: idempotencyTtl }) }
    const outcome = yield* storage.transaction(
      Effect.gen(function* () {
        const stored = yield* storage.httpIdempotency.claim(claim)
        if (Option.isSome(stored)) return { _tag: "Stored", record: stored.value } as const
        const response = yield* work
        const answer = responseBody(response)
        if (answer !== undefined) {
          const headers: Record<string, string> = answer.contentType === "" ? {} : { "content-type": answer.contentType }
          for (const name of kept) {
            const value = response.headers[name]
            if (value !== undefined) headers[name] = value
          }
          yield* storage.httpIdempotency.complete(workspaceId, scope, key, { status: response.status, headers, body: answer.text })
        }
        return { _tag: "Done", response } as const
      })
    )
    if (outcome._tag === "Done") {
      // Expired keys of the workspace go now and then; failing to purge them changes no answer.
      yield* Effect.ignoreLogged(storage.httpIdempotency.purge(workspaceId, now))
      return outcome.response
    }
    const { record } = outcome
    if (record.fingerprint !== fingerprint) {
      return yield* problem(422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with another request; use a new key for a new request")
    }
    if (record.response === null) {
      return yield* problem(409, "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed; retry shortly", {
        headers: { "retry-after": "1" }
      })
    }
    const { "content-type": contentType, ...headers } = record.response.headers
    return record.response.body === "" && contentType === undefined
      ? HttpServerResponse.empty({ status: record.response.status, headers: { ...headers, "idempotent-replayed": "true" } })
      : HttpServerResponse.text(record.response.body, {
          status: record.response.status,
          contentType: contentType ?? "application/json",
          headers: { ...headers, "idempotent-replayed": "true" }
        })
  })
