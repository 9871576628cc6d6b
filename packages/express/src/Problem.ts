/**
 * RFC 9457 problem details: the one shape of every failure the HTTP API answers with, decode
 * errors and unknown routes included, served as `application/problem+json`. Each problem carries
 * the HTTP `status`, a stable `code` (the core's error codes, plus the HTTP-only ones below), a
 * human `detail`, and for invalid input an `errors` list with one JSON pointer per failing path.
 *
 * @since 0.6.0
 */
import type { ErrorCode } from "@rapport/core"
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

/**
 * Codes the HTTP API adds to the core's {@link ErrorCode}s; like them, they never change meaning.
 *
 * | code | status | when |
 * | --- | --- | --- |
 * | `MALFORMED_JSON` | 400 | the body is not JSON |
 * | `BODY_UNREADABLE` | 400 | the body could not be read (the client went away, a broken upload) |
 * | `UNAUTHENTICATED` | 401 | `authenticate` recognised no caller |
 * | `FORBIDDEN` | 403 | `authorize` refused the action |
 * | `ROUTE_NOT_FOUND` | 404 | no route has this method and path |
 * | `IDEMPOTENCY_KEY_IN_USE` | 409 | a request with this `Idempotency-Key` is still being processed |
 * | `PRECONDITION_UNSUPPORTED` | 400 | `If-Match` on a route that has no version, or with several tags |
 * | `PAYLOAD_TOO_LARGE` | 413 | the body is larger than the limit |
 * | `UNSUPPORTED_MEDIA_TYPE` | 415 | the body is not `application/json` |
 * | `IDEMPOTENCY_KEY_REUSED` | 422 | this `Idempotency-Key` was used with another request |
 * | `RATE_LIMITED` | 429 | the `rateLimit` hook refused the request |
 * | `BODY_CONSUMED` | 500 | a body parser of the host app read the body first (mount Rapport before it) |
 *
 * A version conflict is `VERSION_CONFLICT` with status 409 when the expected version came in the
 * body (`expectedVersion`), and 412 when it came in an `If-Match` header.
 *
 * @since 0.6.0
 * @category models
 */
export type HttpErrorCode =
  | ErrorCode
  | "MALFORMED_JSON"
  | "BODY_UNREADABLE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "ROUTE_NOT_FOUND"
  | "IDEMPOTENCY_KEY_IN_USE"
  | "PRECONDITION_UNSUPPORTED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "IDEMPOTENCY_KEY_REUSED"
  | "RATE_LIMITED"
  | "BODY_CONSUMED"

/**
 * Where a failing input was: the JSON body, the query string, the path or a header.
 *
 * @since 0.6.0
 * @category schemas
 */
export const InputLocation = Schema.Literal("body", "query", "path", "header")

/**
 * One failing input: `pointer` is an RFC 6901 JSON pointer into the input named by `in` (the body
 * for writes, the query parameters for listings, the path parameters by name); `detail` says why.
 *
 * @since 0.6.0
 * @category schemas
 */
export const InputError = Schema.Struct({
  pointer: Schema.String,
  in: InputLocation,
  detail: Schema.String
}).annotations({ identifier: "InputError" })

/**
 * @since 0.6.0
 * @category models
 */
export interface InputError extends Schema.Schema.Type<typeof InputError> {}

/**
 * The problem document (RFC 9457) every failure answers with. Besides the standard members it
 * has `code` (stable, see {@link HttpErrorCode}), `errors` for invalid input, and the facts of
 * the core's error where they help a client: `entity` and `id` (not found, conflict), `reason`,
 * `field`, `existingId`, `expectedVersion`, `actualVersion` (conflict), `from`, `to` and
 * `missingFields` (a refused lifecycle move).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ProblemDocument = Schema.Struct({
  type: Schema.String,
  title: Schema.String,
  status: Schema.Int,
  detail: Schema.String,
  instance: Schema.optional(Schema.String),
  code: Schema.String,
  errors: Schema.optional(Schema.Array(InputError)),
  entity: Schema.optional(Schema.String),
  id: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  field: Schema.optional(Schema.String),
  existingId: Schema.optional(Schema.String),
  expectedVersion: Schema.optional(Schema.Number),
  actualVersion: Schema.optional(Schema.Number),
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  missingFields: Schema.optional(Schema.Array(Schema.String))
}).annotations({
  identifier: "Problem",
  description: "RFC 9457 problem details (application/problem+json)"
})

/**
 * @since 0.6.0
 * @category models
 */
export interface ProblemDocument extends Schema.Schema.Type<typeof ProblemDocument> {}

/**
 * An HTTP failure that is not one of the core's errors (an unauthenticated caller, a body that is
 * too large…). Routes and hooks fail with it; the API turns it into its problem document.
 * `headers` are added to the response (`Retry-After`…).
 *
 * @since 0.6.0
 * @category errors
 */
export class Problem extends Data.TaggedError("Problem")<{
  readonly status: number
  readonly code: HttpErrorCode
  readonly title: string
  readonly detail: string
  readonly errors?: ReadonlyArray<InputError> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}> {}

/**
 * Short titles per status, as RFC 9457 suggests (the same for every occurrence of a type).
 *
 * @since 0.6.0
 * @category constructors
 */
export const titles: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable"
}

/**
 * Builds a {@link Problem} with the standard title of its status.
 *
 * @since 0.6.0
 * @category constructors
 */
export const problem = (
  status: number,
  code: HttpErrorCode,
  detail: string,
  extra?: { readonly errors?: ReadonlyArray<InputError>; readonly headers?: Readonly<Record<string, string>> }
): Problem => new Problem({ status, code, title: titles[status] ?? "Error", detail, errors: extra?.errors, headers: extra?.headers })

/**
 * Writes a path (`["fields", "siret"]`, `[0, "type"]`) as an RFC 6901 JSON pointer
 * (`/fields/siret`, `/0/type`), escaping `~` and `/`.
 *
 * @since 0.6.0
 * @category utils
 */
export const jsonPointer = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((segment) => "/" + String(segment).replaceAll("~", "~0").replaceAll("/", "~1")).join("")
