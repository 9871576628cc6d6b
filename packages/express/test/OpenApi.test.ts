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
