/**
 * Email templates over HTTP: create, read, change, delete, list, check a template's content
 * without saving it, preview it for a contact and an event, and set its per-locale variants.
 *
 * @since 0.6.0
 */
import { Ids, Template, Templates } from "@rapport/core"
import type { TemplateCreate, TemplatePreviewInput, TemplateUpdate, TemplateVariantInput } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, route, UnprocessableResponse } from "../internal/routes.js"

const TemplatePath = Schema.Struct({ templateId: Ids.TemplateId })
const LocalePath = Schema.Struct({ templateId: Ids.TemplateId, locale: Schema.String })

/**
 * The templates routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("templates")
  .add(
    HttpApiEndpoint.post("create", "/templates")
      .setPayload(Template.TemplateCreate)
      .addSuccess(Template.Template, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("templates.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/templates").addSuccess(Schema.Array(Template.Template)).annotateContext(route("templates.list")))
  .add(
    HttpApiEndpoint.post("check", "/templates/check")
      .setPayload(Template.TemplateCreate)
      .setUrlParams(Schema.Struct({ eventType: Schema.optional(Schema.String).annotations({ description: "Check the variables for this event type only" }) }))
      .addSuccess(Templates.TemplateReview)
      .annotateContext(route("templates.check", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.post("preview", "/templates/:templateId/preview")
      .setPath(TemplatePath)
      .setPayload(Templates.TemplatePreviewInput)
      .addSuccess(Templates.TemplatePreview)
      .addError(NotFoundResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("templates.preview", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.get("locales", "/templates/:templateId/locales")
      .setPath(TemplatePath)
      .addSuccess(Schema.Array(Template.TemplateVariant))
      .addError(NotFoundResponse)
      .annotateContext(route("templates.locales"))
  )
  .add(
    HttpApiEndpoint.put("setLocale", "/templates/:templateId/locales/:locale")
      .setPath(LocalePath)
      .setPayload(Template.TemplateVariantInput)
      .addSuccess(Template.TemplateVariant)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("templates.setLocale"))
  )
  .add(
    HttpApiEndpoint.del("removeLocale", "/templates/:templateId/locales/:locale")
      .setPath(LocalePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("templates.removeLocale"))
  )
  .add(
    HttpApiEndpoint.get("get", "/templates/:templateId")
      .setPath(TemplatePath)
      .addSuccess(Template.Template)
      .addError(NotFoundResponse)
      .annotateContext(route("templates.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/templates/:templateId")
      .setPath(TemplatePath)
      .setPayload(Template.TemplateUpdate)
      .addSuccess(Template.Template)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("templates.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/templates/:templateId")
      .setPath(TemplatePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .annotateContext(route("templates.remove"))
  )
  .middleware(Authorized)

/**
 * The templates routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "templates", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const template = yield* (yield* Templates.Templates).create(yield* input<TemplateCreate>())
          return yield* created(template, `/templates/${template.id}`)
        })
      )
    )
    .handleRaw("list", () => Effect.map(Effect.flatMap(Templates.Templates, (service) => service.list()), (templates) => json(templates)))
    .handleRaw("check", ({ urlParams }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Templates.Templates).check(yield* input<TemplateCreate>(), urlParams.eventType === undefined ? {} : { eventType: urlParams.eventType }))
      })
    )
    .handleRaw("preview", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Templates.Templates).preview(path.templateId, yield* input<TemplatePreviewInput>()))
      })
    )
    .handleRaw("locales", ({ path }) => Effect.map(Effect.flatMap(Templates.Templates, (service) => service.locales(path.templateId)), (variants) => json(variants)))
    .handleRaw("setLocale", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Templates.Templates).setLocale(path.templateId, path.locale, yield* input<TemplateVariantInput>()))
      })
    )
    .handleRaw("removeLocale", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Templates.Templates).removeLocale(path.templateId, path.locale)
        return yield* noContent
      })
    )
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Templates.Templates, (service) => service.get(path.templateId)), (template) => json(template)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Templates.Templates).update(path.templateId, yield* versionedInput<TemplateUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Templates.Templates).remove(path.templateId)
        return yield* noContent
      })
    )
)
