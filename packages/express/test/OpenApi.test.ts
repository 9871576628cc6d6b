// The OpenAPI 3.1 document is valid (checked by @seriousme/openapi-schema-validator), served
// without authentication, names every route's action, and shows every failure as a problem; the
// reference at /docs works offline (its script is inline, nothing is loaded from a CDN).
import { Validator } from "@seriousme/openapi-schema-validator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

describe("OpenAPI", () => {
  it("GET /openapi.json is a valid OpenAPI 3.1 document, without authentication", async () => {
    const answer = await api.request("GET", "/openapi.json")
    expect(answer.status).toBe(200)
    expect(answer.body.openapi).toBe("3.1.0")
    const result = await new Validator().validate(answer.body)
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
  })

  it("every operation names its action; every error answer is a problem document", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const operations = Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation }))
    )
    expect(operations.length).toBeGreaterThan(60)
    for (const { path, method, operation } of operations) {
      expect([path, method, typeof operation["x-rapport-action"]]).toEqual([path, method, "string"])
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) >= 400) expect([path, method, status, Object.keys(response.content)]).toEqual([path, method, status, ["application/problem+json"]])
      }
    }
    expect(spec.paths["/contacts/{contactId}"].patch.parameters.map((p: { name: string }) => p.name)).toContain("If-Match")
    expect(spec.paths["/contacts"].post.parameters.map((p: { name: string }) => p.name)).toContain("Idempotency-Key")
  })

  it("reports answer with their own schemas: the weighted pipeline's groups and totals, the forecast's months", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const success = (path: string) => {
      const ref: string = spec.paths[path].post.responses["200"].content["application/json"].schema.$ref
      return spec.components.schemas[ref.replace("#/components/schemas/", "")]
    }
    expect(Object.keys(success("/deals/reports/weighted").properties)).toEqual(["groupBy", "groups", "totals"])
    expect(Object.keys(success("/deals/reports/forecast").properties)).toEqual(["months", "overdue", "later", "undated"])
    expect(Object.keys(spec.components.schemas["Total"].properties)).toEqual(["currency", "count", "amount", "weighted", "weightedExact"])
  })

  it("rules' simulation and stats, templates' review and preview answer with their own schemas", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const schemas = spec.components.schemas
    const success = (path: string, method: string) => {
      const ref: string = spec.paths[path][method].responses["200"].content["application/json"].schema.$ref
      return schemas[ref.replace("#/components/schemas/", "")]
    }
    const simulation = success("/rules/simulate", "post")
    expect(Object.keys(simulation.properties)).toEqual(["contact", "storedContact", "rules"])
    expect(simulation.properties.contact.$ref).toBe("#/components/schemas/Contact")
    expect(Object.keys(schemas["RuleSimulation"].properties)).toEqual(["ruleId", "name", "fires", "reason", "when", "unless", "variant", "delayed", "dueAt", "actions"])
    expect(Object.keys(schemas["Explanation"].properties)).toEqual(["holds", "description", "parts"])
    const stats = success("/rules/{ruleId}/stats", "get")
    expect(Object.keys(stats.properties)).toEqual(["ruleId", "variants", "total"])
    expect(Object.keys(stats.properties.variants.items.properties)).toEqual(["variant", "fired", "sent", "opened", "converted", "conversionRate"])
    expect(Object.keys(schemas["VariantStats"].properties)).toEqual(["variant", "fired", "sent", "opened", "converted"])
    expect(schemas["VariantStats"].required).toContain("opened")
    expect(schemas["VariantStats"].properties.opened.description).toMatch(/email\.opened/)
    const campaignStats = success("/campaigns/{campaignId}/stats", "get")
    expect(campaignStats.properties.opened).toMatchObject({ type: "number", description: expect.stringMatching(/email\.opened/) })
    expect(campaignStats.required).toContain("opened")
    expect(Object.keys(success("/templates/check", "post").properties)).toEqual(["valid", "issues", "warnings"])
    expect(Object.keys(success("/templates/{templateId}/preview", "post").properties)).toEqual(["subject", "html", "text", "locale", "event"])
  })

  it("consent answers with their own schemas: the status, a request, mail feedback, an address, an erasure report", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const component = (ref: string) => spec.components.schemas[ref.replace("#/components/schemas/", "")]
    const success = (path: string, method: "get" | "post") => component(spec.paths[path][method].responses["200"].content["application/json"].schema.$ref)
    const status = ["contactId", "purposes", "unsubscribedAt", "addresses"]
    expect(Object.keys(success("/contacts/{contactId}/consent", "get").properties)).toEqual(status)
    expect(Object.keys(success("/contacts/{contactId}/consent/grant", "post").properties)).toEqual(status)
    expect(Object.keys(success("/contacts/{contactId}/consent/withdraw", "post").properties)).toEqual(status)
    expect(Object.keys(success("/contacts/{contactId}/consent", "get").properties.purposes.additionalProperties.properties)).toEqual([
      "granted",
      "at",
      "source",
      "pending",
      "proof"
    ])
    const request = success("/contacts/{contactId}/consent/request", "post")
    expect(Object.keys(request.properties)).toEqual(["status", "mail"])
    expect(Object.keys(component(request.properties.status.$ref).properties)).toEqual(status)
    const feedback = success("/consent/mail-feedback", "post")
    expect(feedback.type).toBe("array")
    expect(Object.keys(component(feedback.items.$ref).properties)).toEqual(["type", "email", "kind", "contactId", "eventId", "jobId", "duplicate", "ignored"])
    const address = ["email", "hardBouncedAt", "hardBounceReason", "softBounces", "lastSoftBounceAt", "complainedAt"]
    expect(Object.keys(success("/consent/clear-bounce", "post").properties)).toEqual(address)
    expect(success("/consent/clear-bounce", "post").properties.hardBouncedAt.anyOf).toContainEqual(expect.objectContaining({ type: "string", format: "date-time" }))
    expect(Object.keys(success("/contacts/{contactId}/erase", "post").properties)).toEqual([
      "contactId",
      "timelineEntries",
      "events",
      "tasks",
      "jobs",
      "firings",
      "consents",
      "addresses",
      "dealsRemoved",
      "dealsUnlinked"
    ])
  })

  it("GET /docs is a reference page whose script is inline (no CDN)", async () => {
    const answer = await api.request("GET", "/docs")
    expect(answer.status).toBe(200)
    expect(answer.headers.get("content-type")).toMatch(/text\/html/)
    // No external script, style sheet or font: the reference's code is in the page.
    expect(answer.text).not.toMatch(/<(script|link)[^>]+(src|href)=/)
    expect(answer.text).toMatch(/<script>\s*\/\*\*\s*\n\s*\* Minified by jsDelivr/)
    expect(answer.text.length).toBeGreaterThan(1_000_000)
  })
})
