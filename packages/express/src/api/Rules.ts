/**
 * Rules over HTTP: create, read, change, enable, disable, delete, list, their results per
 * variant, and a simulation of what they would do with an event (nothing is stored).
 *
 * @since 0.6.0
 */
import { Ids, Rule, Rules } from "@rapport/core"
import type { RuleCreate, RuleUpdate, SimulateInput } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, NotFoundResponse, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const RulePath = Schema.Struct({ ruleId: Ids.RuleId })

const toggle = <const Name extends "enable" | "disable">(name: Name) =>
  HttpApiEndpoint.post(name, `/rules/:ruleId/${name}`)
    .setPath(RulePath)
    .addSuccess(Rule.Rule)
    .addError(NotFoundResponse)
    .addError(ConflictResponse)
    .annotateContext(route(`rules.${name}`))

/**
 * The rules routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("rules")
  .add(
    HttpApiEndpoint.post("create", "/rules")
      .setPayload(Rule.RuleCreate)
      .addSuccess(Rule.Rule, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("rules.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/rules").setUrlParams(queryOf(Rules.RuleListOptions)).addSuccess(Schema.Array(Rule.Rule)).annotateContext(route("rules.list")))
  .add(
    HttpApiEndpoint.post("simulate", "/rules/simulate")
      .setPayload(Rules.SimulateInput)
      .addSuccess(Rules.Simulation)
      .addError(NotFoundResponse)
      .annotateContext(route("rules.simulate", { readOnly: true }))
  )
  .add(HttpApiEndpoint.get("get", "/rules/:ruleId").setPath(RulePath).addSuccess(Rule.Rule).addError(NotFoundResponse).annotateContext(route("rules.get")))
  .add(
    HttpApiEndpoint.patch("update", "/rules/:ruleId")
      .setPath(RulePath)
      .setPayload(Rule.RuleUpdate)
      .addSuccess(Rule.Rule)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("rules.update", { versioned: true }))
  )
  .add(toggle("enable"))
  .add(toggle("disable"))
  .add(
    HttpApiEndpoint.del("remove", "/rules/:ruleId")
      .setPath(RulePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("rules.remove"))
  )
  .add(
    HttpApiEndpoint.get("stats", "/rules/:ruleId/stats")
      .setPath(RulePath)
      .addSuccess(Rules.RuleStats)
      .addError(NotFoundResponse)
      .annotateContext(route("rules.stats"))
  )
  .middleware(Authorized)

/**
 * The rules routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "rules", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const rule = yield* (yield* Rules.Rules).create(yield* input<RuleCreate>())
          return yield* created(rule, `/rules/${encodeURIComponent(rule.id)}`)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) => Effect.map(Effect.flatMap(Rules.Rules, (service) => service.list(urlParams)), (rules) => json(rules)))
    .handleRaw("simulate", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Rules.Rules).simulate(yield* input<SimulateInput>()))
      })
    )
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Rules.Rules, (service) => service.get(path.ruleId)), (rule) => json(rule)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Rules.Rules).update(path.ruleId, yield* versionedInput<RuleUpdate>()))
      })
    )
    .handleRaw("enable", ({ path }) => Effect.map(Effect.flatMap(Rules.Rules, (service) => service.enable(path.ruleId)), (rule) => json(rule)))
    .handleRaw("disable", ({ path }) => Effect.map(Effect.flatMap(Rules.Rules, (service) => service.disable(path.ruleId)), (rule) => json(rule)))
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Rules.Rules).remove(path.ruleId)
        return yield* noContent
      })
    )
    .handleRaw("stats", ({ path }) => Effect.map(Effect.flatMap(Rules.Rules, (service) => service.stats(path.ruleId)), (stats) => json(stats)))
)
