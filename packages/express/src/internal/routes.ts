// What the route groups are declared with: the action each endpoint names, the problem responses
// they document, pages and query strings derived from the core's Schemas, and the middleware that
// authenticates and authorizes every route of a group before it runs.
import { type Crm, Errors, Mailer, type Storage, Workspaces } from "@rapport/core"
import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { Problem, ProblemDocument } from "../Problem.js"
import type { HttpSettings, RouteInfo } from "./context.js"
import { documentOf } from "./problems.js"

/**
 * Everything a route may fail with: the core's errors, HTTP problems, and decode errors of the
 * path and query. All of them become problem documents (internal/problems.ts).
 */
export type ApiFailure = Problem | Errors.RapportFailure | Mailer.MailerError | HttpApiDecodeError

const isApiFailure = (u: unknown): u is ApiFailure =>
  u instanceof Problem || Errors.isRapportFailure(u) || u instanceof Mailer.MailerError || u instanceof HttpApiDecodeError

const ApiFailureSchema = Schema.declare(isApiFailure, { identifier: "ApiFailure" })

/**
 * For a service method whose error channel is typed `unknown`: its known failures stay failures
 * (mapped to their status), anything else is a defect (500, logged).
 */
export const knownFailures = <A, R>(effect: Effect.Effect<A, unknown, R>): Effect.Effect<A, ApiFailure, R> =>
  Effect.catchAll(effect, (error) => (isApiFailure(error) ? Effect.fail(error) : Effect.die(error)))

/**
 * A problem response as the OpenAPI document shows it (`application/problem+json`, this status).
 * Its type is every {@link ApiFailure}: which status a failure gets is decided in one place,
 * internal/problems.ts, at run time.
 */
export const problemResponse = (status: number, description: string) =>
  Schema.transformOrFail(ProblemDocument, ApiFailureSchema, {
    strict: true,
    decode: (document, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, document, "problem documents are only encoded")),
    encode: (failure) => ParseResult.succeed(documentOf(failure))
  }).pipe(
    Schema.annotations(HttpApiSchema.annotations({ status, description })),
    HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" })
  )

// The responses routes document besides those of every route (Api.ts).
export const NotFoundResponse = problemResponse(404, "No such record in the caller's workspace (NOT_FOUND)")
export const ConflictResponse = problemResponse(409, "The write conflicts with stored data: a stale expectedVersion, a value already used, a record in use")
export const PreconditionResponse = problemResponse(412, "If-Match names a version that is not the stored one (VERSION_CONFLICT)")
export const UnprocessableResponse = problemResponse(422, "Refused as it stands: a lifecycle move that is not allowed, or an Idempotency-Key reused with another request")

/** The API's id: every group's handlers are built against an API of this id holding the group. */
export const apiId = "rapport"

/**
 * An API of the one group, to build the group's handlers against (HttpApiBuilder.group needs an
 * API; Api.ts holds them all, and imports each group, so groups cannot import it).
 */
export const apiOf = <G extends HttpApiGroup.HttpApiGroup.Any>(group: G) => HttpApi.make(apiId).add(group)

/** What a group's handlers may use: the core's services and storage, the settings, the middleware. */
export type RouteServices = Crm.Services | Storage.Storage | HttpSettings | Authorized

/**
 * The type of a group's handlers layer. Written out on each group's `handlers` (the inferred one
 * names the core's internal modules, which a declaration file cannot import).
 */
export type GroupHandlers<Name extends string> = Layer.Layer<HttpApiGroup.ApiGroup<typeof apiId, Name>, never, RouteServices>

/** The annotation every endpoint carries: its action and what it honours. */
export class RouteAnnotation extends Context.Tag("@rapport/express/Route")<
  RouteAnnotation,
  { readonly action: string; readonly versioned: boolean; readonly idempotent: boolean; readonly readOnly: boolean }
>() {}

const ifMatchParameter = {
  name: "If-Match",
  in: "header",
  required: false,
  description: 'The version you read, as its ETag ("3"): a stale one answers 412 and nothing is written.',
  schema: { type: "string" }
}

const idempotencyKeyParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Any unique string (a UUID): the same request sent again with it gets the first answer, and acts once.",
  schema: { type: "string", minLength: 1, maxLength: 255 }
}

/**
 * The annotations of an endpoint: the action `authorize` is asked about (`contacts.update`),
 * whether its write takes `If-Match` (`versioned`) and `Idempotency-Key` (`idempotent`), and
 * whether a POST only reads (`readOnly`: a report or a simulation whose options do not fit a
 * query string), as the OpenAPI document shows (`x-rapport-action`, `x-rapport-access` and the
 * header parameters).
 */
export const route = (
  action: string,
  options: { readonly versioned?: boolean; readonly idempotent?: boolean; readonly readOnly?: boolean } = {}
) => {
  const versioned = options.versioned === true
  const idempotent = options.idempotent === true
  const readOnly = options.readOnly === true
  return Context.make(RouteAnnotation, { action, versioned, idempotent, readOnly }).pipe(
    Context.add(OpenApi.Transform, (operation: Record<string, unknown>) => ({
      ...operation,
      "x-rapport-action": action,
      ...(readOnly ? { "x-rapport-access": "read" } : {}),
      parameters: [
        ...(Array.isArray(operation.parameters) ? operation.parameters : []),
        ...(versioned ? [ifMatchParameter] : []),
        ...(idempotent ? [idempotencyKeyParameter] : [])
      ]
    }))
  )
}

/**
 * The route table of an API: what each endpoint's annotation says, by `METHOD path` (as the
 * router's RouteContext names the route). An endpoint without annotation is a bug: it fails loudly
 * when the table is built, instead of serving a route nobody authorizes.
 */
export const routeTable = (api: HttpApi.HttpApi.Any): ReadonlyMap<string, RouteInfo> => {
  const table = new Map<string, RouteInfo>()
  const { groups } = api as unknown as HttpApi.HttpApi.AnyWithProps
  for (const group of Object.values(groups)) {
    for (const endpoint of Object.values(group.endpoints)) {
      const annotation = Context.getOption(endpoint.annotations, RouteAnnotation)
      if (Option.isNone(annotation)) throw new Error(`Rapport: endpoint ${group.identifier}.${endpoint.name} names no action (annotate it with route(...))`)
      const { readOnly, ...flags } = annotation.value
      table.set(`${endpoint.method} ${endpoint.path}`, {
        ...flags,
        access: readOnly || endpoint.method === "GET" || endpoint.method === "HEAD" ? "read" : "write",
        group: group.identifier,
        method: endpoint.method,
        path: endpoint.path,
        params: [...endpoint.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)
      })
    }
  }
  return table
}

/**
 * Authenticates the caller, authorizes the route's action and applies the rate limit, then runs
 * the route in the caller's workspace (it provides `CurrentWorkspace`). Every group of the API but
 * those authenticated otherwise (signed webhooks) is behind it: `.middleware(Authorized)`.
 */
export class Authorized extends HttpApiMiddleware.Tag<Authorized>()("@rapport/express/Authorized", {
  provides: Workspaces.CurrentWorkspace,
  failure: Schema.Union(
    problemResponse(401, "No caller was recognised (UNAUTHENTICATED)"),
    problemResponse(403, "The caller may not do this (FORBIDDEN)"),
    problemResponse(429, "Too many requests (RATE_LIMITED); Retry-After says when to try again")
  )
}) {}

/**
 * A computed result the core describes by a TypeScript type rather than a Schema (a report, a
 * simulation): the OpenAPI document shows its description, the answer is its JSON.
 */
export const computed = (identifier: string, description: string) =>
  Schema.Unknown.annotations({ identifier, description, jsonSchema: { type: "object", description } })

/** A page of a listing: the items, and the cursor of the next page (`null` at the end). */
export const pageOf = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.Struct({
    items: Schema.Array(item),
    nextCursor: Schema.NullOr(Schema.String).annotations({ description: "Pass as `cursor` to get the next page; null on the last one" })
  })

type Kind = "number" | "boolean" | "array" | "string"

const kindOf = (ast: AST.AST): Kind => {
  switch (ast._tag) {
    case "NumberKeyword":
      return "number"
    case "BooleanKeyword":
      return "boolean"
    case "TupleType":
      return "array"
    case "Refinement":
      return kindOf(ast.from)
    case "Transformation":
      return kindOf(ast.from)
    case "Suspend":
      return kindOf(ast.f())
    case "Union": {
      const kinds = ast.types.filter((t) => !AST.isUndefinedKeyword(t) && !(AST.isLiteral(t) && t.literal === null)).map(kindOf)
      if (kinds.includes("array")) return "array"
      if (kinds.length > 0 && kinds.every((k) => k === "number")) return "number"
      if (kinds.length > 0 && kinds.every((k) => k === "boolean")) return "boolean"
      return "string"
    }
    default:
      return "string"
  }
}

const parameterOf: Record<Kind, Schema.Schema.Any> = {
  number: Schema.NumberFromString,
  boolean: Schema.BooleanFromString,
  array: Schema.Array(Schema.String),
  string: Schema.String
}

/**
 * The query string of a listing, derived from the core's options Schema: numbers, booleans and
 * lists (a repeated parameter) are read from their text; everything else stays text. The service
 * then validates the options with its own Schema, as it does for the Promise client, so that the
 * rules (ranges, formats) and their messages are the core's. An unknown parameter is refused (a
 * misspelt filter must not silently list everything).
 */
export const queryOf = <S extends Schema.Schema.Any>(options: S): Schema.Schema<Schema.Schema.Encoded<S>, Readonly<Record<string, string | ReadonlyArray<string>>>> => {
  const literal = AST.encodedAST(options.ast)
  if (!AST.isTypeLiteral(literal)) throw new Error("Rapport: queryOf takes a Schema.Struct")
  // Exact optional parameters: a present one that does not decode is one issue, not also
  // "expected undefined".
  const fields: Record<string, Schema.optionalWith<Schema.Schema.Any, { exact: true }>> = {}
  for (const property of literal.propertySignatures) {
    fields[String(property.name)] = Schema.optionalWith(parameterOf[kindOf(property.type)], { exact: true })
  }
  // Each parameter decodes to the encoded type of its option (a number, a boolean, a list of text
  // or text), which is what the service's input type describes; the service checks the rest.
  return Schema.Struct(fields).annotations({ parseOptions: { onExcessProperty: "error", errors: "all" } }) as unknown as Schema.Schema<
    Schema.Schema.Encoded<S>,
    Readonly<Record<string, string | ReadonlyArray<string>>>
  >
}
