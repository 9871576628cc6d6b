/**
 * Custom field definitions over HTTP: define, read, change, remove, list (per entity).
 *
 * @since 0.6.0
 */
import { FieldDefinition, Fields } from "@rapport/core"
import type { FieldDefinitionChanges, FieldDefinitionInput } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const FieldPath = Schema.Struct({ entity: FieldDefinition.FieldEntity, key: FieldDefinition.FieldKey })

/**
 * The custom fields routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("fields")
  .add(
    HttpApiEndpoint.post("define", "/fields")
      .setPayload(FieldDefinition.FieldDefinitionInput)
      .addSuccess(FieldDefinition.FieldDefinition, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("fields.define", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("list", "/fields")
      .setUrlParams(queryOf(Schema.Struct({ entity: Schema.optional(FieldDefinition.FieldEntity) })))
      .addSuccess(Schema.Array(FieldDefinition.FieldDefinition))
      .annotateContext(route("fields.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/fields/:entity/:key")
      .setPath(FieldPath)
      .addSuccess(FieldDefinition.FieldDefinition)
      .addError(NotFoundResponse)
      .annotateContext(route("fields.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/fields/:entity/:key")
      .setPath(FieldPath)
      .setPayload(FieldDefinition.FieldDefinitionChanges)
      .addSuccess(FieldDefinition.FieldDefinition)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("fields.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/fields/:entity/:key")
      .setPath(FieldPath)
      .setUrlParams(queryOf(Schema.Struct({ purgeValues: Schema.optional(Schema.Boolean) })))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .annotateContext(route("fields.remove"))
  )
  .middleware(Authorized)

/**
 * The custom fields routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "fields", (routes) =>
  routes
    .handleRaw("define", () =>
      idempotent(
        Effect.gen(function* () {
          const field = yield* (yield* Fields.Fields).define(yield* input<FieldDefinitionInput>())
          return yield* created(field, `/fields/${field.entity}/${field.key}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.map(Effect.flatMap(Fields.Fields, (service) => service.list(urlParams.entity)), (fields) => json(fields)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Fields.Fields, (service) => service.get(path.entity, path.key)), (field) => json(field)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Fields.Fields).update(path.entity, path.key, yield* versionedInput<FieldDefinitionChanges>()))
      })
    )
    .handleRaw("remove", ({ path, urlParams }) =>
      Effect.gen(function* () {
        yield* (yield* Fields.Fields).remove(path.entity, path.key, urlParams)
        return yield* noContent
      })
    )
)
