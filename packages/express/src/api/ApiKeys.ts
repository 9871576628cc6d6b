/**
 * API keys over HTTP: create (the key is in the answer, once), list (never a secret) and revoke.
 * Admin only: the role presets refuse every other role, reads included (see `adminOnly` in Auth.ts).
 *
 * @since 0.6.0
 */
import { ApiKey, ApiKeys } from "@rapport/core"
import type { ApiKeyCreate } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { input, json } from "../internal/http.js"
import { apiOf, Authorized, NotFoundResponse, route, type GroupHandlers } from "../internal/routes.js"

/**
 * The API keys routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("apiKeys")
  .add(
    // Not idempotent by Idempotency-Key on purpose: a replayed answer would have to be stored, and
    // the answer holds the key itself, which Rapport keeps only hashed.
    HttpApiEndpoint.post("create", "/api-keys")
      .setPayload(ApiKey.ApiKeyCreate)
      .addSuccess(ApiKey.CreatedApiKey, { status: 201 })
      .annotateContext(route("apiKeys.create"))
  )
  .add(HttpApiEndpoint.get("list", "/api-keys").addSuccess(Schema.Array(ApiKey.ApiKey)).annotateContext(route("apiKeys.list")))
  .add(
    HttpApiEndpoint.del("revoke", "/api-keys/:keyId")
      .setPath(Schema.Struct({ keyId: Schema.String }))
      .addSuccess(ApiKey.ApiKey)
      .addError(NotFoundResponse)
      .annotateContext(route("apiKeys.revoke"))
  )
  .middleware(Authorized)

// The key is shown once: no cache along the way may keep the answer.
const noStore = { "cache-control": "no-store" }

/**
 * The API keys routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"apiKeys"> = HttpApiBuilder.group(apiOf(group), "apiKeys", (routes) =>
  routes
    .handleRaw("create", () =>
      Effect.gen(function* () {
        const created = yield* (yield* ApiKeys.ApiKeys).create(yield* input<ApiKeyCreate>())
        return json(created, 201, noStore)
      })
    )
    .handleRaw("list", () => Effect.map(Effect.flatMap(ApiKeys.ApiKeys, (service) => service.list()), (keys) => json(keys)))
    .handleRaw("revoke", ({ path }) => Effect.map(Effect.flatMap(ApiKeys.ApiKeys, (service) => service.revoke(path.keyId)), (key) => json(key)))
)
