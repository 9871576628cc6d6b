/**
 * The HTTP API: every route group, in one `HttpApi` definition from which the routes, their
 * validation, their problem responses and the OpenAPI 3.1 document are derived. A group lives in
 * its own file under `api/` (its endpoints from the core's Schemas, and its handlers); adding one
 * is one `.add(Group.group)` line in `Api` and one line in `handlers` below. A group's `group` and
 * `handlers` are `@internal` (their inferred types name the core's internal modules, which a
 * declaration file cannot import; stripInternal leaves them out): the OpenAPI document is the
 * API's public description.
 *
 * @since 0.6.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Layer from "effect/Layer"
import * as Analytics from "./api/Analytics.js"
import * as ApiKeys from "./api/ApiKeys.js"
import * as Contacts from "./api/Contacts.js"
import * as Companies from "./api/Companies.js"
import * as Consent from "./api/Consent.js"
import * as Deals from "./api/Deals.js"
import * as Events from "./api/Events.js"
import * as Fields from "./api/Fields.js"
import * as Jobs from "./api/Jobs.js"
import * as Lifecycle from "./api/Lifecycle.js"
import * as Pipelines from "./api/Pipelines.js"
import * as Rules from "./api/Rules.js"
import * as Settings from "./api/Settings.js"
import * as Setup from "./api/Setup.js"
import * as Tasks from "./api/Tasks.js"
import * as Templates from "./api/Templates.js"
import * as Segments from "./api/Segments.js"
import * as Snapshots from "./api/Snapshots.js"
import * as Timeline from "./api/Timeline.js"
import * as InboundWebhooks from "./api/InboundWebhooks.js"
import * as WebhooksIn from "./api/WebhooksIn.js"
import * as WebhooksOut from "./api/WebhooksOut.js"
import * as Imports from "./api/Imports.js"
import * as Campaigns from "./api/Campaigns.js"
import * as Orders from "./api/Orders.js"
import * as Exports from "./api/Exports.js"
import * as Unsubscribe from "./api/Unsubscribe.js"
import * as ConsentConfirm from "./api/ConsentConfirm.js"
import { apiId, problemResponse } from "./internal/routes.js"

// Every error response is a problem document: the platform's own decode error (400) is answered as
// one too (internal/problems.ts), so the document says so instead of showing the platform's shape.
type JsonObject = { [key: string]: unknown }
const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)
const problemsOnly = (spec: JsonObject): JsonObject => {
  const content = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }
  for (const operations of Object.values(isObject(spec.paths) ? spec.paths : {})) {
    for (const operation of Object.values(isObject(operations) ? operations : {})) {
      if (!isObject(operation) || !isObject(operation.responses)) continue
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) >= 400 && isObject(response)) response.content = content
      }
    }
  }
  if (isObject(spec.components) && isObject(spec.components.schemas)) {
    delete spec.components.schemas.HttpApiDecodeError
    delete spec.components.schemas.Issue
  }
  return withoutIds(spec) as JsonObject
}

// Effect writes `$id: "/schemas/unknown"` into the JSON Schema of every `Schema.Unknown` (a few
// inputs carry one): one `$id` in several places makes the document invalid, and OpenAPI needs none.
const withoutIds = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutIds)
    : isObject(value)
      ? Object.fromEntries(Object.entries(value).filter(([key, v]) => !(key === "$id" && typeof v === "string")).map(([key, v]) => [key, withoutIds(v)]))
      : value

/**
 * The whole API: one `.add` per route group. Internal (its type names the core's internal
 * modules); {@link openApiDocument} is its public description.
 *
 * @internal
 */
export const Api = HttpApi.make(apiId)
  .add(Contacts.group)
  .add(Companies.group)
  .add(Consent.group)
  .add(Deals.group)
  .add(Events.group)
  .add(Fields.group)
  .add(Jobs.group)
  .add(Lifecycle.group)
  .add(Pipelines.group)
  .add(Rules.group)
  .add(Settings.group)
  .add(Setup.group)
  .add(Tasks.group)
  .add(Templates.group)
  .add(Timeline.group)
  .add(ApiKeys.group)
  .add(InboundWebhooks.group)
  .add(WebhooksIn.group)
  .add(WebhooksOut.group)
  .add(Imports.group)
  .add(Campaigns.group)
  .add(Orders.group)
  .add(Exports.group)
  .add(Unsubscribe.group)
  .add(ConsentConfirm.group)
  .add(Analytics.group)
  .add(Segments.group)
  .add(Snapshots.group)
  .addError(problemResponse(400, "The request is not valid: every failing input is in `errors`, as a JSON pointer (VALIDATION_FAILED, MALFORMED_JSON…)"))
  .addError(problemResponse(413, "The body is larger than the limit (PAYLOAD_TOO_LARGE)"))
  .addError(problemResponse(415, "The body is not application/json (UNSUPPORTED_MEDIA_TYPE)"))
  .addError(problemResponse(500, "An unexpected failure; it was logged (INTERNAL_ERROR, STORAGE_FAILED)"))
  .addError(problemResponse(503, "The database cannot be reached; retry later (STORAGE_UNAVAILABLE)"))
  .annotate(OpenApi.Title, "Rapport CRM")
  .annotate(OpenApi.Version, "0.6.0")
  .annotate(
    OpenApi.Description,
    "The whole CRM over HTTP. Failures are RFC 9457 problem details; versions are ETags, honoured in If-Match; creating POSTs take an Idempotency-Key."
  )
  .annotate(OpenApi.Transform, problemsOnly)

/**
 * The handlers of every group of {@link Api}: one line per route group. Internal, like `Api`.
 *
 * @internal
 */
export const handlers = Layer.mergeAll(
  Contacts.handlers,
  Companies.handlers,
  Consent.handlers,
  Deals.handlers,
  Events.handlers,
  Fields.handlers,
  Jobs.handlers,
  Lifecycle.handlers,
  Pipelines.handlers,
  Rules.handlers,
  Settings.handlers,
  Setup.handlers,
  Tasks.handlers,
  Templates.handlers,
  Timeline.handlers,
  ApiKeys.handlers,
  InboundWebhooks.handlers,
  WebhooksIn.handlers,
  WebhooksOut.handlers,
  Imports.handlers,
  Campaigns.handlers,
  Orders.handlers,
  Exports.handlers,
  Unsubscribe.handlers,
  ConsentConfirm.handlers,
  Analytics.handlers,
  Segments.handlers,
  Snapshots.handlers
)

/**
 * The OpenAPI 3.1 document of the API (without `servers`: the handler's `/openapi.json` adds its
 * mount path).
 *
 * @since 0.6.0
 * @category constructors
 */
export const openApiDocument = (): OpenApi.OpenAPISpec => OpenApi.fromApi(Api)
