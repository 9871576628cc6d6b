// The OpenAPI document shows what issue 15 added, derived from the core's Schemas: a field's
// conditional requirement (`required.when`), the workspace's pressure caps, and the floor check's
// answer with a nullable floor.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

describe("OpenAPI (issue 15)", () => {
  it("documents required.when, the pressure caps and a floor check without a floor", async () => {
    const spec = (await api.request("GET", "/openapi.json")).body
    const schemas = spec.components.schemas as Record<string, any>
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(["FloorCheckResult"]))
    expect(schemas["FloorCheckResult"].required).toEqual(expect.arrayContaining(["floor", "weighted", "below", "shortfall", "pipelineId"]))
    expect(JSON.stringify(schemas["FloorCheckResult"].properties.floor)).toContain('"type":"null"')
    expect(JSON.stringify(spec.paths["/deals/reports/floor-check"].post.responses["200"])).toContain("FloorCheckResult")
    // A field definition's requirement: "never", "always" or { fromStage, when? }.
    const objects: Array<any> = []
    const walk = (u: unknown): void => {
      if (Array.isArray(u)) u.forEach(walk)
      else if (typeof u === "object" && u !== null) {
        objects.push(u)
        Object.values(u).forEach(walk)
      }
    }
    walk(spec)
    const stageRequirements = objects.filter((o) => o.properties?.fromStage !== undefined)
    expect(stageRequirements.length).toBeGreaterThan(0)
    for (const r of stageRequirements) expect(Object.keys(r.properties).sort()).toEqual(["fromStage", "when"])
    // The settings' changes and answer carry the pressure caps.
    expect(objects.filter((o) => o.properties?.pressure !== undefined).length).toBeGreaterThanOrEqual(2)
    // By purpose: { [purpose]: { max, per } }.
    const byPurpose = objects.filter((o) => o.propertyNames?.$ref === "#/components/schemas/Purpose" && o.patternProperties !== undefined)
    expect(byPurpose.length).toBeGreaterThanOrEqual(1)
    for (const p of byPurpose) expect(Object.values(p.patternProperties as Record<string, any>).map((v) => v.required)).toEqual([["max", "per"]])
  })
})
