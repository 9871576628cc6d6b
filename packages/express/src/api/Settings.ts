/**
 * The workspace's settings over HTTP: its name, timezone, marketing frequency cap and default
 * country (the lifecycle and the sales settings have their own routes).
 *
 * @since 0.6.0
 */
import { Workspace, Workspaces } from "@rapport/core"
import type { WorkspaceChanges } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import { json, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, PreconditionResponse, route } from "../internal/routes.js"

/**
 * The settings routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("settings")
  .add(HttpApiEndpoint.get("get", "/settings").addSuccess(Workspace.Workspace).annotateContext(route("settings.get")))
  .add(
    HttpApiEndpoint.patch("update", "/settings")
      .setPayload(Workspace.WorkspaceChanges)
      .addSuccess(Workspace.Workspace)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("settings.update", { versioned: true }))
  )
  .middleware(Authorized)

/**
 * The settings routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "settings", (routes) =>
  routes
    .handleRaw("get", () => Effect.map(Effect.flatMap(Workspaces.Workspaces, (service) => service.get), (workspace) => json(workspace)))
    .handleRaw("update", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Workspaces.Workspaces).update(yield* versionedInput<WorkspaceChanges>()))
      })
    )
)
