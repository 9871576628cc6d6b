// The computed results the OpenAPI document describes with a core Schema (a simulation, a rule's
// stats, a template's review and preview) are what the routes really answer: each answer decodes
// with its Schema (no property missing, none extra) and encodes back to itself, so the document
// and the answers cannot drift apart.
import { Rules, Templates } from "@rapport/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

const as = "admin-a"
const client = () => api.crm.workspace("ws-a")
const ok = async (method: string, path: string, json?: unknown) => {
  const answer = await api.request(method, path, { as, ...(json === undefined ? {} : { json }) })
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`)
  return answer.body
}

/** The answer decodes strictly with the schema, and encodes back to the same JSON. */
const conforms = <A, I>(schema: Schema.Schema<A, I>, body: unknown) => {
  const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(body)
  if (Either.isLeft(decoded)) throw new Error(ParseResult.TreeFormatter.formatErrorSync(decoded.left))
  expect(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(decoded.right)))).toEqual(body)
}

describe("computed results match their schemas", () => {
  it("rules.simulate, rules.stats, templates.check and templates.preview answer what their schemas describe", async () => {
    const template = await ok("POST", "/templates", { name: "Promo", purpose: "marketing", subject: "Hello {{contact.firstName}}", text: "Hi. Unsubscribe: {{ unsubscribeUrl }}" })
    await ok("POST", "/rules", {
      id: "nested",
      name: "Nested",
      on: "page.viewed",
      when: { all: [{ path: "event.payload.url", op: "eq", value: "/x" }, { any: [{ path: "contact.tags", op: "exists" }, { path: "contact.score", op: "gte", value: 0 }] }] },
      delay: "1 day",
      unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
      actions: [{ type: "addTag", tag: "seen" }]
    })
    await ok("POST", "/rules", {
      id: "ab",
      name: "A/B",
      on: "page.viewed",
      goal: { event: "order.placed", within: "7 days" },
      variants: [
        { key: "A", actions: [{ type: "sendEmail", template: template.id }] },
        { key: "B", actions: [{ type: "setStage", stage: "customer" }, { type: "adjustScore", by: 5 }] }
      ]
    })
    await ok("POST", "/rules", { id: "off", name: "Off", on: "page.viewed", enabled: false, when: { path: "event.payload.url", op: "eq", value: "/nope" }, actions: [{ type: "removeTag", tag: "x" }] })

    // A contact the event would create, then a stored one with a history.
    const unstored = await ok("POST", "/rules/simulate", { event: { type: "page.viewed", email: "sim@example.com", payload: { url: "/x" } } })
    expect(unstored.storedContact).toBe(false)
    expect(unstored.rules.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(["ab", "nested", "off"])
    expect(unstored.rules.find((r: { ruleId: string }) => r.ruleId === "nested").when.parts[1].parts).toHaveLength(2)
    expect(unstored.rules.find((r: { ruleId: string }) => r.ruleId === "nested").dueAt).toEqual(expect.any(String))
    conforms(Rules.Simulation, unstored)
    const stored = await client().contacts.create({ email: "ada@example.com", firstName: "Ada", tags: ["vip"] })
    for (const url of ["/x", "/y"]) await ok("POST", "/events", { type: "page.viewed", contactId: stored.id, payload: { url } })
    const simulation = await ok("POST", "/rules/simulate", { event: { type: "page.viewed", contactId: stored.id, payload: { url: "/x" } } })
    expect(simulation.storedContact).toBe(true)
    conforms(Rules.Simulation, simulation)

    for (const id of ["ab", "nested", "off"]) {
      const stats = await ok("GET", `/rules/${id}/stats`)
      expect(stats).toEqual(await client().rules.stats(id))
      conforms(Rules.RuleStats, stats)
    }
    expect((await ok("GET", "/rules/ab/stats")).variants.map((v: { variant: string }) => v.variant)).toEqual(["A", "B"])

    const review = await ok("POST", "/templates/check", { name: "x", purpose: "marketing", subject: "FREE MONEY {{contact.nope}}", text: "Act now! Click here" })
    expect([review.valid, review.issues.length > 0, review.warnings.length > 0]).toEqual([false, true, true])
    conforms(Templates.TemplateReview, review)
    conforms(Templates.TemplateReview, await ok("POST", "/templates/check?eventType=page.viewed", { name: "x", subject: "Hi", text: "Hi" }))

    const receipt = await ok("POST", "/templates", { name: "Receipt", subject: "Order {{ order.id }}", html: "<p>{{ order.total | money }}</p>" })
    const withEvent = await ok("POST", `/templates/${receipt.id}/preview`, { contactId: stored.id, event: "order.placed" })
    expect(withEvent.event).toEqual({ type: "order.placed", sample: true })
    conforms(Templates.TemplatePreview, withEvent)
    const withoutEvent = await ok("POST", `/templates/${template.id}/preview`, { contactId: stored.id })
    expect([withoutEvent.event, withoutEvent.html]).toEqual([null, null])
    conforms(Templates.TemplatePreview, withoutEvent)
  })
})
