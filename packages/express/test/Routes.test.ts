// Every route's success, over loopback: what the HTTP API answers is what the Promise client
// answers, with ETags where records have versions and Location on creation.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

const as = "admin-a"
const client = () => api.crm.workspace("ws-a")
const ok = async (method: string, path: string, json?: unknown, headers?: Record<string, string>) => {
  const answer = await api.request(method, path, { as, ...(json === undefined ? {} : { json }), ...(headers === undefined ? {} : { headers }) })
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`)
  return answer
}

describe("contacts routes", () => {
  it("create, batch, get, find by email, update, list with filters and cursor, counts, merge, timeline, delete", async () => {
    const ada = await ok("POST", "/contacts", { email: "ada@example.com", firstName: "Ada", tags: ["vip"] })
    expect(ada.status).toBe(201)
    const batch = await ok("POST", "/contacts/batch", [{ email: "b1@example.com", tags: ["vip"] }, { email: "b2@example.com" }, { email: "ada2@example.com", firstName: "Ada" }])
    expect(batch.status).toBe(201)
    expect(batch.body.map((c: { email: string }) => c.email)).toEqual(["b1@example.com", "b2@example.com", "ada2@example.com"])

    const got = await ok("GET", `/contacts/${ada.body.id}`)
    expect([got.body, got.headers.get("etag")]).toEqual([await client().contacts.get(ada.body.id), '"1"'])
    const byEmail = await ok("GET", "/contacts/by-email?email=ADA@example.com")
    expect(byEmail.body.id).toBe(ada.body.id)
    expect((await api.request("GET", "/contacts/by-email?email=nobody@example.com", { as })).status).toBe(404)

    const updated = await ok("PATCH", `/contacts/${ada.body.id}`, { lastName: "Lovelace" }, { "if-match": '"1"' })
    expect([updated.body.lastName, updated.body.version, updated.headers.get("etag")]).toEqual(["Lovelace", 2, '"2"'])

    const vips = await ok("GET", "/contacts?tag=vip&limit=1")
    expect(vips.body.items).toHaveLength(1)
    expect(vips.headers.get("link")).toBe(`</contacts?tag=vip&limit=1&cursor=${vips.body.nextCursor}>; rel="next"`)
    const next = await ok("GET", `/contacts?tag=vip&limit=1&cursor=${vips.body.nextCursor}`)
    expect(next.body).toEqual({ items: [await client().contacts.get(batch.body[0].id)], nextCursor: null })
    expect(next.headers.get("link")).toBeNull()

    const counts = await ok("GET", "/contacts/stages")
    expect(counts.body).toEqual(await client().contacts.countByStage())

    const merged = await ok("POST", `/contacts/${ada.body.id}/merge`, { mergeId: batch.body[2].id }, { "if-match": '"2"' })
    expect(merged.body.contact.emails.map((e: { value: string }) => e.value)).toEqual(["ada@example.com", "ada2@example.com"])
    await expect(client().contacts.get(batch.body[2].id)).rejects.toMatchObject({ code: "NOT_FOUND" })

    const timeline = await ok("GET", `/contacts/${ada.body.id}/timeline?kinds=merge`)
    expect(timeline.body.items.map((e: { kind: string }) => e.kind)).toEqual(["merge"])

    const removed = await api.request("DELETE", `/contacts/${batch.body[1].id}`, { as })
    expect([removed.status, removed.text]).toEqual([204, ""])
    await expect(client().contacts.get(batch.body[1].id)).rejects.toMatchObject({ code: "NOT_FOUND" })
  })
})

describe("the other routes", () => {
  it("companies: create, get, update, list, delete", async () => {
    const acme = await ok("POST", "/companies", { name: "Acme", domain: "acme.example" })
    expect(acme.headers.get("location")).toBe(`/companies/${acme.body.id}`)
    expect((await ok("GET", `/companies/${acme.body.id}`)).body).toEqual(await client().companies.get(acme.body.id))
    expect((await ok("PATCH", `/companies/${acme.body.id}`, { name: "Acme SA", expectedVersion: 1 })).body.name).toBe("Acme SA")
    expect((await ok("GET", "/companies")).body.items.map((c: { id: string }) => c.id)).toContain(acme.body.id)
    expect((await api.request("DELETE", `/companies/${acme.body.id}`, { as })).status).toBe(204)
  })

  it("fields: define, list, get, update, remove", async () => {
    const siret = await ok("POST", "/fields", { key: "siret", type: "text", label: "SIRET" })
    expect(siret.headers.get("location")).toBe("/fields/contact/siret")
    expect((await ok("GET", "/fields?entity=contact")).body.map((f: { key: string }) => f.key)).toEqual(["siret"])
    expect((await ok("GET", "/fields/contact/siret")).body).toEqual(await client().fields.get("contact", "siret"))
    expect((await ok("PATCH", "/fields/contact/siret", { label: "N° SIRET" }, { "if-match": `"${siret.body.version}"` })).body.label).toBe("N° SIRET")
    expect((await api.request("DELETE", "/fields/contact/siret?purgeValues=true", { as })).status).toBe(204)
    expect(await client().fields.list()).toEqual([])
  })

  it("lifecycle: definition with the workspace's version as ETag, configure, move, history", async () => {
    const definition = await ok("GET", "/lifecycle")
    expect(definition.body).toEqual(await client().lifecycle.definition())
    const settings = await client().settings.get()
    expect(definition.headers.get("etag")).toBe(`"${settings.version}"`)
    const contact = await ok("POST", "/contacts", { email: "move@example.com" })
    const moved = await ok("POST", `/contacts/${contact.body.id}/stage`, { stage: "prospect", reason: "sent an offer" }, { "if-match": '"1"' })
    expect(moved.body.stage).toBe("prospect")
    const history = await ok("GET", `/contacts/${contact.body.id}/stage-changes`)
    expect(history.body).toEqual(await client().lifecycle.history(contact.body.id))
    expect(history.body.at(-1)).toMatchObject({ from: "suspect", to: "prospect" })
    const configured = await ok("PUT", "/lifecycle", { preset: "classic" }, { "if-match": definition.headers.get("etag")! })
    expect(configured.body).toEqual(await client().lifecycle.definition())
  })

  it("pipelines and sales settings", async () => {
    const pipeline = await ok("POST", "/pipelines", { name: "B2B" })
    expect((await ok("GET", `/pipelines/${pipeline.body.id}`)).body).toEqual(await client().pipelines.get(pipeline.body.id))
    expect((await ok("GET", "/pipelines")).body.map((p: { id: string }) => p.id)).toContain(pipeline.body.id)
    expect((await ok("PATCH", `/pipelines/${pipeline.body.id}`, { name: "B2B sales" }, { "if-match": '"1"' })).body.name).toBe("B2B sales")
    expect((await ok("PATCH", "/sales-settings", { coldProbability: 5 })).body.coldProbability).toBe(5)
    expect((await ok("GET", "/sales-settings")).body).toEqual(await client().pipelines.settings())
    const other = await ok("POST", "/pipelines", { name: "Empty" })
    expect((await api.request("DELETE", `/pipelines/${other.body.id}`, { as })).status).toBe(204)
  })

  it("deals: create, get, update, move, win, lose, cold, quote sent, follow-up, list, stale, reports, delete", async () => {
    const contact = await ok("POST", "/contacts", { email: "buyer@example.com" })
    const deal = (title: string) => ok("POST", "/deals", { title, amount: { amountMinor: 100_000, currency: "EUR" }, contactId: contact.body.id })
    const a = await deal("Quote A")
    expect([a.status, a.headers.get("location")]).toEqual([201, `/deals/${a.body.id}`])
    expect((await ok("GET", `/deals/${a.body.id}`)).body).toEqual(await client().deals.get(a.body.id))
    expect((await ok("PATCH", `/deals/${a.body.id}`, { title: "Quote A1" }, { "if-match": '"1"' })).body.title).toBe("Quote A1")
    const stages = (await client().pipelines.get(a.body.pipelineId)).stages
    const open = stages.find((s) => s.outcome === "open" && s.key !== a.body.stage)!
    expect((await ok("POST", `/deals/${a.body.id}/move`, { stage: open.key }, { "if-match": '"2"' })).body.stage).toBe(open.key)
    const quote = await ok("POST", `/deals/${a.body.id}/quote-sent`, { quoteRef: "Q-1" })
    expect(quote.body.event.event.type).toBe("quote.sent")
    const followUp = await ok("POST", `/deals/${a.body.id}/follow-ups`, { channel: "call", note: "Called back", reaction: "positive" })
    expect([followUp.status, followUp.body.entry.kind]).toEqual([201, "followUp"])
    expect((await ok("POST", `/deals/${a.body.id}/win`, {})).body.status).toBe("won")
    const b = await deal("Quote B")
    expect((await ok("POST", `/deals/${b.body.id}/lose`, { reason: "price" })).body.status).toBe("lost")
    const c = await deal("Quote C")
    expect((await ok("POST", `/deals/${c.body.id}/cold`)).body.status).toBe("cold")
    expect((await ok("GET", `/deals?contactId=${contact.body.id}&statuses=won&statuses=lost`)).body.items.map((d: { id: string }) => d.id).sort()).toEqual(
      [a.body.id, b.body.id].sort()
    )
    expect((await ok("GET", "/deals/stale")).body).toEqual(await client().deals.stale())
    expect((await ok("POST", "/deals/reports/weighted", { groupBy: "stage" })).body).toEqual(await client().deals.weightedPipeline({ groupBy: "stage" }))
    expect((await ok("POST", "/deals/reports/forecast", { months: 3 })).body).toEqual(await client().deals.forecast({ months: 3 }))
    expect((await ok("POST", "/deals/reports/floor-check")).body).toMatchObject({ floor: null, below: false, shortfall: null })
    await ok("PATCH", "/sales-settings", { floor: { amountMinor: 500_000, currency: "EUR" } })
    expect((await ok("POST", "/deals/reports/floor-check")).body).toEqual(await client().deals.floorCheck())
    expect((await api.request("DELETE", `/deals/${c.body.id}`, { as })).status).toBe(204)
  })

  it("tasks: create, get, update, complete, reopen, list", async () => {
    const task = await ok("POST", "/tasks", { title: "Call back", dueAt: "2025-01-07T09:00:00Z", channel: "call" })
    expect((await ok("GET", `/tasks/${task.body.id}`)).body).toEqual(await client().tasks.get(task.body.id))
    expect((await ok("PATCH", `/tasks/${task.body.id}`, { title: "Call back Ada" }, { "if-match": '"1"' })).body.title).toBe("Call back Ada")
    expect((await ok("POST", `/tasks/${task.body.id}/complete`)).body.status).toBe("done")
    expect((await ok("POST", `/tasks/${task.body.id}/reopen`, {}, { "if-match": '"3"' })).body.status).toBe("open")
    expect((await ok("GET", "/tasks?status=open")).body.items.map((t: { id: string }) => t.id)).toContain(task.body.id)
  })

  it("templates and rules, events, the dispatcher's jobs, consent, timeline and settings", async () => {
    const template = await ok("POST", "/templates", { name: "Promo", purpose: "marketing", subject: "Hello {{contact.firstName}}", text: "Hi. Unsubscribe: {{ unsubscribeUrl }}" })
    expect((await ok("POST", "/templates/check", { name: "x", subject: "Hi {{contact.nope}}", text: "Hi" })).body).toEqual(
      await client().templates.check({ name: "x", subject: "Hi {{contact.nope}}", text: "Hi" })
    )
    expect((await ok("GET", `/templates/${template.body.id}`)).body).toEqual(await client().templates.get(template.body.id))
    expect((await ok("PATCH", `/templates/${template.body.id}`, { subject: "Hello!" }, { "if-match": '"1"' })).body.subject).toBe("Hello!")
    expect((await ok("GET", "/templates")).body.map((t: { id: string }) => t.id)).toContain(template.body.id)

    const rule = await ok("POST", "/rules", { id: "promo-on-visit", name: "Promo", on: "page.viewed", actions: [{ type: "sendEmail", template: template.body.id }] })
    expect(rule.headers.get("location")).toBe("/rules/promo-on-visit")
    expect((await ok("GET", "/rules/promo-on-visit")).body).toEqual(await client().rules.get("promo-on-visit"))
    expect((await ok("GET", "/rules?on=page.viewed&enabled=true")).body.map((r: { id: string }) => r.id)).toEqual(["promo-on-visit"])
    expect((await ok("POST", "/rules/promo-on-visit/disable")).body.enabled).toBe(false)
    expect((await ok("POST", "/rules/promo-on-visit/enable")).body.enabled).toBe(true)
    expect((await ok("PATCH", "/rules/promo-on-visit", { name: "Promo visit" }, { "if-match": '"3"' })).body.name).toBe("Promo visit")
    const simulation = await ok("POST", "/rules/simulate", { event: { type: "page.viewed", email: "sim@example.com", payload: { url: "/x" } } })
    expect(simulation.body.rules.map((r: { ruleId: string }) => r.ruleId)).toEqual(["promo-on-visit"])

    const emitted = await ok("POST", "/events", { id: "visit-1", type: "page.viewed", email: "visitor@example.com", payload: { url: "/shoes" } })
    expect([emitted.status, emitted.headers.get("location"), emitted.body.contactCreated]).toEqual([201, "/events/visit-1", true])
    const again = await ok("POST", "/events", { id: "visit-1", type: "page.viewed", email: "visitor@example.com", payload: { url: "/shoes" } })
    expect([again.status, again.body.duplicate]).toEqual([200, true])
    const batch = await ok("POST", "/events/batch", [
      { id: "visit-1", type: "page.viewed", email: "visitor@example.com", payload: { url: "/shoes" } },
      { id: "visit-2", type: "page.viewed", email: "visitor@example.com", payload: { url: "/hats" } }
    ])
    expect(batch.body.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([true, false])
    expect((await ok("GET", "/events/visit-2")).body).toEqual(await client().events.get("visit-2"))
    expect((await ok("GET", "/rules/promo-on-visit/stats")).body).toEqual(await client().rules.stats("promo-on-visit"))

    // The marketing mail is skipped (no consent): a skipped job can be queued again.
    await api.crm.clock.advance("1 minute")
    const jobs = await ok("GET", `/jobs?status=skipped&contactId=${emitted.body.contact.id}`)
    expect(jobs.body.items.length).toBeGreaterThan(0)
    const retried = await ok("POST", `/jobs/${jobs.body.items[0].id}/retry`)
    expect(retried.body.status).toBe("pending")
    // Running the due jobs over HTTP (an app without a dispatcher of its own): the retried job runs.
    const pending = (await client().dispatcher.jobs({ status: "pending" })).items.length
    expect(pending).toBeGreaterThan(0)
    const ran = await ok("POST", "/jobs/run-due", { batchSize: 5 })
    expect(ran.body).toMatchObject({ claimed: pending, dead: 0, lost: 0 })
    expect((await client().dispatcher.jobs({ status: "pending" })).items).toEqual([])
    const allWorkspaces = await api.request("POST", "/jobs/run-due", { as, json: { workspaces: "all" } })
    expect([allWorkspaces.status, allWorkspaces.body.errors?.map((e: { pointer: string }) => e.pointer)]).toEqual([400, ["/workspaces"]])
    expect((await api.request("POST", "/jobs/run-due", { as, json: { batchSize: 0 } })).status).toBe(400)

    const contactId = emitted.body.contact.id
    expect((await ok("POST", `/contacts/${contactId}/consent/grant`, { source: "signup-form" })).body.purposes.marketing.granted).toBe(true)
    expect((await ok("POST", `/contacts/${contactId}/consent/withdraw`)).body.purposes.marketing.granted).toBe(false)
    expect((await ok("GET", `/contacts/${contactId}/consent`)).body).toEqual(await client().consent.status(contactId))
    // An unsubscribe link made over HTTP works like the one in a marketing mail.
    const link = await ok("POST", `/contacts/${contactId}/consent/unsubscribe-url`)
    const token = new URL(link.body.url).searchParams.get("token") ?? decodeURIComponent(link.body.url.split("/").at(-1))
    expect((await client().consent.unsubscribe(token)).contactId).toBe(contactId)
    expect((await api.request("POST", `/contacts/${contactId}/consent/unsubscribe-url`, { as: "reader-a" })).status).toBe(403)
    // No body is a 400 naming the email, not a crash.
    const noEmail = await api.request("POST", "/consent/clear-bounce", { as })
    expect([noEmail.status, noEmail.body.errors?.map((e: { pointer: string }) => e.pointer)]).toEqual([400, ["/email"]])

    const logged = await ok("POST", "/timeline", { contactId, kind: "note", summary: "Asked for sizes" })
    expect([logged.status, logged.body.summary]).toEqual([201, "Asked for sizes"])
    expect((await ok("GET", "/timeline?kinds=note")).body.items.map((e: { id: string }) => e.id)).toContain(logged.body.id)

    const exported = await ok("GET", `/contacts/${contactId}/personal-data`)
    expect(exported.body.contact.id).toBe(contactId)
    expect(exported.headers.get("cache-control")).toBe("no-store")
    const erased = await ok("POST", `/contacts/${contactId}/erase`)
    expect(erased.body.contactId).toBe(contactId)
    await expect(client().contacts.get(contactId)).rejects.toMatchObject({ code: "NOT_FOUND" })

    expect((await api.request("DELETE", "/rules/promo-on-visit", { as })).status).toBe(204)
    expect((await api.request("DELETE", `/templates/${template.body.id}`, { as })).status).toBe(204)

    const settings = await ok("GET", "/settings")
    expect(settings.body).toEqual(await client().settings.get())
    const renamed = await ok("PATCH", "/settings", { name: "Shop A" }, { "if-match": settings.headers.get("etag")! })
    expect([renamed.body.name, renamed.headers.get("etag")]).toEqual(["Shop A", `"${settings.body.version + 1}"`])
  })
})
