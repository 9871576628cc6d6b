/**
 * Set-up as code over HTTP: `POST /setup` applies a declaration (fields, lifecycle, pipelines,
 * templates, rules) in one transaction and answers the plan; `"dryRun": true` in the body only
 * checks and plans. Admin only with the default `authorize` (no other preset role may change
 * fields or the lifecycle).
 *
 * @since 0.7.0
 */
import { Setup, SetupService } from "@rapport/core"
import type { SetupDeclaration } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import { input, json } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, route, UnprocessableResponse } from "../internal/routes.js"

/**
 * The setup route.
 *
 * @internal
 */
export const group = HttpApiGroup.make("setup")
  .add(
    HttpApiEndpoint.post("apply", "/setup")
      .setPayload(Setup.SetupDeclaration)
      .addSuccess(Setup.SetupResult)
      .addError(ConflictResponse)
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("setup.apply"))
  )
  .middleware(Authorized)

/**
 * The setup route's handler.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "setup", (routes) =>
  routes.handleRaw("apply", () =>
    Effect.gen(function* () {
      return json(yield* (yield* SetupService.Setup).apply(yield* input<SetupDeclaration>()))
    })
  )
)
