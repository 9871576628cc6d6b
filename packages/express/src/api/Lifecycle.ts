/**
 * The lifecycle over HTTP: its definition (read and replace), moving a contact by hand, and a
 * contact's stage history.
 *
 * @since 0.6.0
 */
import { Contact, Errors, Ids, Lifecycle, LifecycleDefinition, TimelineEntry, Workspaces } from "@rapport/core"
import type { LifecycleConfiguration, MoveOptions } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { etag, json, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, route, UnprocessableResponse } from "../internal/routes.js"

/**
 * What `POST /contacts/{contactId}/stage` takes: the target stage, and the move's options.
 *
 * @since 0.6.0
 * @category schemas
 */
export const MoveRequest = Schema.Struct({ stage: LifecycleDefinition.StageKey, ...Lifecycle.MoveOptions.fields }).annotations({ identifier: "MoveRequest" })

const ContactPath = Schema.Struct({ contactId: Ids.ContactId })

/**
 * The lifecycle routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("lifecycle")
  .add(
    HttpApiEndpoint.get("definition", "/lifecycle")
      .addSuccess(LifecycleDefinition.LifecycleDefinition)
      .annotateContext(route("lifecycle.definition"))
  )
  .add(
    HttpApiEndpoint.put("configure", "/lifecycle")
      .setPayload(Lifecycle.LifecycleConfiguration)
      .addSuccess(LifecycleDefinition.LifecycleDefinition)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("lifecycle.configure", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.post("move", "/contacts/:contactId/stage")
      .setPath(ContactPath)
      .setPayload(MoveRequest)
      .addSuccess(Contact.Contact)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("lifecycle.move", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.get("history", "/contacts/:contactId/stage-changes")
      .setPath(ContactPath)
      .addSuccess(Schema.Array(TimelineEntry.StageChange))
      .addError(NotFoundResponse)
      .annotateContext(route("lifecycle.history"))
  )
  .middleware(Authorized)

/**
 * The lifecycle routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "lifecycle", (routes) =>
  routes
    // The lifecycle is part of the workspace's settings: the workspace's version is its ETag (the
    // version `configure` compares with).
    .handleRaw("definition", () =>
      Effect.map(Effect.flatMap(Workspaces.Workspaces, (service) => service.get), (workspace) => json(workspace.lifecycle, 200, { etag: etag(workspace.version) }))
    )
    .handleRaw("configure", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Lifecycle.Lifecycle).configure(yield* versionedInput<LifecycleConfiguration>()))
      })
    )
    .handleRaw("move", ({ path }) =>
      Effect.gen(function* () {
        const request = yield* versionedInput<(MoveOptions & { readonly stage?: string }) | undefined>()
        if (request?.stage === undefined) return yield* Errors.ValidationError.at(["stage"], "is required: the stage to move the contact to")
        const { stage, ...options } = request
        return json(yield* (yield* Lifecycle.Lifecycle).move(path.contactId, stage, options))
      })
    )
    .handleRaw("history", ({ path }) => Effect.map(Effect.flatMap(Lifecycle.Lifecycle, (service) => service.history(path.contactId)), (changes) => json(changes)))
)
