// Campaigns over HTTP (issue 16): marketing and admin create, send and cancel them, every role
// reads them and their stats; bad input is a problem naming the field; sending goes through the
// outbox, so the mail leaves when the dispatcher runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callers, type Served, serve } from "./helpers.js"

const roles = { ...callers, "Bearer market-a": { workspace: "ws-a", principal: "mia", role: "marketing" as const } }

describe("campaigns over HTTP", () => {
  let api: Served
  beforeAll(async () => {
    api = await serve({ authenticate: (req) => roles[(req.headers.authorization ?? "") as keyof typeof roles] ?? null })
  })
  afterAll(() => api.close())

  it("create (201, Location), list and get for every role; send, stats and cancel for marketing; sales and read-only refused", async () => {
    const ws = api.crm.workspace("ws-a")
    const template = await ws.templates.create({ name: "News", purpose: "marketing", subject: "News for {{ contact.firstName }}", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    const ada = await ws.contacts.create({ email: "ada@example.com", firstName: "Ada", tags: ["vip"] })
    await ws.contacts.create({ email: "bob@example.com", firstName: "Bob", tags: ["vip"] })
    await ws.consent.grant(ada.id)
    const input = { name: "January news", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } }, ratePerMinute: 10, goal: { event: "order.placed", within: "7 days" } }

    expect((await api.request("POST", "/campaigns", { as: "sales-a", json: input })).status).toBe(403)
    expect((await api.request("POST", "/campaigns", { as: "reader-a", json: input })).status).toBe(403)
    const created = await api.request("POST", "/campaigns", { as: "market-a", json: input })
    expect(created.status).toBe(201)
    expect(created.headers.get("location")).toBe(`/campaigns/${created.body.id}`)
    expect(created.body).toMatchObject({ name: "January news", status: "draft", ratePerMinute: 10, queued: 0 })
    const id = created.body.id as string

    const listed = await api.request("GET", "/campaigns", { as: "reader-a" })
    expect([listed.status, listed.body.items.map((c: { id: string }) => c.id)]).toEqual([200, [id]])
    expect((await api.request("GET", `/campaigns/${id}`, { as: "sales-a" })).body.status).toBe("draft")
    // Another workspace does not see it.
    expect((await api.request("GET", `/campaigns/${id}`, { as: "admin-b" })).status).toBe(404)

    expect((await api.request("POST", `/campaigns/${id}/send`, { as: "reader-a" })).status).toBe(403)
    const sent = await api.request("POST", `/campaigns/${id}/send`, { as: "market-a" })
    expect([sent.status, sent.body.status]).toEqual([200, "scheduled"])
    await api.crm.clock.advance("1 minute")
    expect(api.crm.mails.sent().map((m) => [m.to, m.subject])).toEqual([["ada@example.com", "News for Ada"]])
    const stats = await api.request("GET", `/campaigns/${id}/stats`, { as: "reader-a" })
    expect([stats.status, stats.body]).toEqual([200, { campaignId: id, status: "sent", queued: 2, pending: 0, sent: 1, skipped: 1, failed: 0, opened: 0, converted: 0 }])

    expect((await api.request("POST", `/campaigns/${id}/cancel`, { as: "sales-a" })).status).toBe(403)
    const cancelled = await api.request("POST", `/campaigns/${id}/cancel`, { as: "admin-a" })
    expect([cancelled.status, cancelled.body.status]).toEqual([200, "cancelled"])
    // A scheduled send at a time, in the body.
    const later = await api.request("POST", "/campaigns", { as: "market-a", json: { ...input, name: "Later" } })
    const scheduled = await api.request("POST", `/campaigns/${later.body.id}/send`, { as: "market-a", json: { at: "2030-01-01T08:00:00.000Z" } })
    expect([scheduled.status, scheduled.body.sendAt]).toEqual([200, "2030-01-01T08:00:00.000Z"])
  })

  it("opens the host reports with the messageId of the mail's job (read from GET /jobs) count once in the stats", async () => {
    const ws = api.crm.workspace("ws-a")
    const template = await ws.templates.create({ name: "Opens", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    const [cy, dee] = [await ws.contacts.create({ email: "cy@example.com", tags: ["opens"] }), await ws.contacts.create({ email: "dee@example.com", tags: ["opens"] })]
    for (const c of [cy, dee]) await ws.consent.grant(c.id)
    const created = await api.request("POST", "/campaigns", { as: "market-a", json: { name: "Opens", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "opens" } } } })
    const id = created.body.id as string
    expect((await api.request("POST", `/campaigns/${id}/send`, { as: "market-a" })).status).toBe(200)
    await api.crm.clock.advance("1 minute")
    const jobs = await api.request("GET", `/jobs?ruleId=${encodeURIComponent(`campaign:${id}`)}&status=done`, { as: "admin-a" })
    const job = (jobs.body.items as Array<{ contactId: string; outcome: { messageId: string } }>).find((j) => j.contactId === cy.id)!
    expect(job.outcome.messageId).toEqual(expect.any(String))
    for (const contactId of [cy.id, cy.id, dee.id]) {
      const emitted = await api.request("POST", "/events", { as: "admin-a", json: { type: "email.opened", contactId, payload: { messageId: job.outcome.messageId } } })
      expect(emitted.status).toBe(201)
    }
    const stats = await api.request("GET", `/campaigns/${id}/stats`, { as: "reader-a" })
    expect([stats.status, stats.body]).toEqual([200, { campaignId: id, status: "sent", queued: 2, pending: 0, sent: 2, skipped: 0, failed: 0, opened: 1, converted: 0 }])
  })

  it("bad input is a problem naming the field; an unknown campaign is 404", async () => {
    const ws = api.crm.workspace("ws-a")
    const template = await ws.templates.create({ name: "Promo2", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    const bad = await api.request("POST", "/campaigns", { as: "market-a", json: { name: "X", templateId: template.id, audience: { segmentId: "nope" }, ratePerMinute: 0 } })
    expect(bad.status).toBe(400)
    const pointers: Array<string> = bad.body.errors.map((e: { pointer: string }) => e.pointer)
    expect(pointers).toContain("/ratePerMinute")
    expect(pointers.filter((p) => p.startsWith("/audience")).length).toBeGreaterThan(0)
    expect(pointers.every((p) => p === "/ratePerMinute" || p.startsWith("/audience"))).toBe(true)
    expect((await api.request("GET", "/campaigns/00000000-0000-7000-8000-000000000099", { as: "admin-a" })).status).toBe(404)
    expect((await api.request("GET", "/campaigns/not-a-uuid", { as: "admin-a" })).status).toBe(400)
  })
})
