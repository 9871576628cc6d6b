/**
 * Companies over HTTP: create, read, change, delete, list.
 *
 * @since 0.6.0
 */
import { Companies, Company, Ids } from "@rapport/core"
import type { CompanyCreate, CompanyUpdate } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, page, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, pageOf, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const CompanyPath = Schema.Struct({ companyId: Ids.CompanyId })

/**
 * The companies routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("companies")
  .add(
    HttpApiEndpoint.post("create", "/companies")
      .setPayload(Company.CompanyCreate)
      .addSuccess(Company.Company, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("companies.create", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("list", "/companies")
      .setUrlParams(queryOf(Company.CompanyListOptions))
      .addSuccess(pageOf(Company.Company))
      .annotateContext(route("companies.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/companies/:companyId")
      .setPath(CompanyPath)
      .addSuccess(Company.Company)
      .addError(NotFoundResponse)
      .annotateContext(route("companies.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/companies/:companyId")
      .setPath(CompanyPath)
      .setPayload(Company.CompanyUpdate)
      .addSuccess(Company.Company)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("companies.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/companies/:companyId")
      .setPath(CompanyPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .annotateContext(route("companies.remove"))
  )
  .middleware(Authorized)

/**
 * The companies routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "companies", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const company = yield* (yield* Companies.Companies).create(yield* input<CompanyCreate>())
          return yield* created(company, `/companies/${company.id}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.flatMap(Companies.Companies, (service) => service.list(urlParams)).pipe(Effect.flatMap(page)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Companies.Companies, (service) => service.get(path.companyId)), (company) => json(company)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Companies.Companies).update(path.companyId, yield* versionedInput<CompanyUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Companies.Companies).remove(path.companyId)
        return yield* noContent
      })
    )
)
