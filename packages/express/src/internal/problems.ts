// The one place where failures become HTTP answers: every error a route, the router or the body
// reader can fail with maps to a status and an RFC 9457 problem document. What is not expected
// (a defect, a storage failure) is logged with its cause and answered without internals.
import { Errors, Mailer } from "@rapport/core"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type HttpErrorCode, type InputError, jsonPointer, Problem, type ProblemDocument, titles } from "../Problem.js"
import { basePath, type RequestState, requestState, type RouteInfo, type Settings } from "./context.js"

/** The default prefix of problem types: the section of docs/http.md that describes each code. */
export const defaultProblemTypeBase = "https://github.com/rapport-crm/rapport/blob/main/docs/http.md#"

interface Mapped {
  readonly status: number
  readonly code: HttpErrorCode
  readonly detail: string
  readonly errors?: ReadonlyArray<InputError> | undefined
  readonly extensions?: Partial<ProblemDocument> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Worth the server's log: the client sees no internals, the operator needs them. */
  readonly log?: boolean | undefined
}

interface MapContext {
  readonly method: string
  /** The request carried If-Match: a version conflict is then a failed precondition (412). */
  readonly ifMatch: boolean
  readonly route: RouteInfo | undefined
}

// A failing path's first segment names a path parameter of the route, else it is in the body
// (writes) or the query string (reads).
const inputError = (context: MapContext) => (path: ReadonlyArray<PropertyKey>, detail: string): InputError => {
  const first = path[0]
  const location =
    typeof first === "string" && context.route !== undefined && context.route.params.includes(first)
      ? "path"
      : HttpMethod.hasBody(context.method as HttpMethod.HttpMethod)
        ? "body"
        : "query"
  return { pointer: jsonPointer(path), in: location, detail }
}

const describe = (errors: ReadonlyArray<InputError>): string =>
  `Invalid input:\n${errors.map((e) => (e.pointer === "" ? `  - ${e.detail}` : `  - ${e.pointer} (${e.in}): ${e.detail}`)).join("\n")}`

const map = (failure: unknown, context: MapContext): Mapped | undefined => {
  if (failure instanceof Problem) {
    return { status: failure.status, code: failure.code, detail: failure.detail, errors: failure.errors, headers: failure.headers, log: failure.status >= 500 }
  }
  if (failure instanceof Errors.ValidationError) {
    const errors = failure.issues.map((issue) => inputError(context)(issue.path, issue.message))
    return { status: 400, code: "VALIDATION_FAILED", detail: failure.message, errors }
  }
  if (failure instanceof HttpApiDecodeError) {
    const errors = failure.issues.map((issue) => inputError(context)(issue.path, issue.message))
    return { status: 400, code: "VALIDATION_FAILED", detail: describe(errors), errors }
  }
  if (failure instanceof Errors.NotFound) {
    return { status: 404, code: "NOT_FOUND", detail: failure.message, extensions: { entity: failure.entity, id: failure.id } }
  }
  if (failure instanceof Errors.Conflict) {
    return {
      status: failure.reason === "version" && context.ifMatch ? 412 : 409,
      code: failure.code,
      detail: failure.message,
      extensions: {
        entity: failure.entity,
        reason: failure.reason,
        ...(failure.id === undefined ? {} : { id: failure.id }),
        ...(failure.field === undefined ? {} : { field: failure.field }),
        ...(failure.existingId === undefined ? {} : { existingId: failure.existingId }),
        ...(failure.expectedVersion === undefined ? {} : { expectedVersion: failure.expectedVersion }),
        ...(failure.actualVersion === undefined ? {} : { actualVersion: failure.actualVersion })
      }
    }
  }
  if (failure instanceof Errors.InvalidTransition) {
    return {
      status: 422,
      code: "INVALID_TRANSITION",
      detail: failure.message,
      extensions: { reason: failure.reason, id: failure.contactId, from: failure.from, to: failure.to, missingFields: failure.missingFields }
    }
  }
  // An API key presented to a core method (apiKeys.verify); authenticate's own refusal is a Problem.
  if (failure instanceof Errors.AuthenticationFailed) {
    return { status: 401, code: "UNAUTHENTICATED", detail: failure.message, extensions: { reason: failure.reason } }
  }
  // A refused inbound webhook: nothing was recorded, so the sender may retry. Who is unknown is a
  // 404; a signature or timestamp that does not verify, 401; a missing header or unreadable body, 400.
  if (failure instanceof Errors.WebhookRejected) {
    const status = failure.reason === "unknownSource" ? 404 : failure.reason === "signature" || failure.reason === "timestamp" ? 401 : 400
    return {
      status,
      code: "WEBHOOK_REJECTED",
      detail: failure.message,
      extensions: { reason: failure.reason, ...(failure.header === undefined ? {} : { field: failure.header }) }
    }
  }
  // The storage's and the mailer's messages may quote statements or a provider's answer: logged,
  // not sent.
  if (failure instanceof Errors.StorageError) {
    return failure.reason === "unavailable"
      ? { status: 503, code: failure.code, detail: "The database cannot be reached; retry later", headers: { "retry-after": "1" }, log: true }
      : { status: 500, code: failure.code, detail: "The database failed; the error was logged", log: true }
  }
  if (failure instanceof Mailer.MailerError) {
    return failure.reason === "unavailable"
      ? { status: 503, code: failure.code, detail: "The mail provider cannot be reached; retry later", headers: { "retry-after": "5" }, log: true }
      : { status: 502, code: failure.code, detail: "The mail provider refused the mail; the error was logged", log: true }
  }
  if (failure instanceof HttpServerError.RouteNotFound) {
    return { status: 404, code: "ROUTE_NOT_FOUND", detail: `No route answers ${failure.request.method} ${failure.request.url.split("?")[0]}` }
  }
  if (failure instanceof HttpServerError.RequestError) {
    return { status: 400, code: "BODY_UNREADABLE", detail: "The request could not be read" }
  }
  return undefined
}

const unexpected: Mapped = { status: 500, code: "INTERNAL_ERROR", detail: "An unexpected error occurred; it was logged", log: true }

const document = (mapped: Mapped, typeBase: string, instance: string | undefined): ProblemDocument => ({
  type: typeBase + mapped.code.toLowerCase(),
  title: titles[mapped.status] ?? "Error",
  status: mapped.status,
  detail: mapped.detail,
  ...(instance === undefined ? {} : { instance }),
  code: mapped.code,
  ...(mapped.errors === undefined ? {} : { errors: mapped.errors }),
  ...mapped.extensions
})

/** A failure's problem document, without a request to tell where it happened. */
export const documentOf = (failure: unknown): ProblemDocument =>
  document(map(failure, { method: "GET", ifMatch: false, route: undefined }) ?? unexpected, defaultProblemTypeBase, undefined)

/** The problem response of a failure (or a defect) of the current request. */
export const problemResponse = (
  cause: Cause.Cause<unknown>,
  state: RequestState,
  settings: Settings
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const failure = Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
    const mapped = map(failure, { method: request.method, ifMatch: request.headers["if-match"] !== undefined, route: state.route }) ?? unexpected
    const path = request.url.split("?")[0] ?? "/"
    if (mapped.log === true) {
      yield* Effect.logError(`Rapport HTTP: ${request.method} ${path} answered ${mapped.status} ${mapped.code}`, cause)
    }
    const body = document(mapped, settings.problemTypeBase, (yield* basePath) + path)
    return HttpServerResponse.unsafeJson(body, {
      status: mapped.status,
      contentType: "application/problem+json",
      headers: { "cache-control": "no-store", ...mapped.headers }
    })
  })

/**
 * The API's outermost middleware: a fresh request state for the route's middleware to fill, and
 * every failure answered as a problem. A request the client abandoned stays interrupted.
 */
export const problems =
  (settings: Settings) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.suspend(() => {
      const state: RequestState = { caller: undefined, route: undefined, resource: undefined }
      return app.pipe(
        Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.interrupt : problemResponse(cause, state, settings))),
        Effect.locally(requestState, state)
      )
    })
