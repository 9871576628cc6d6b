// Bounces, complaints and double opt-in over HTTP on loopback (issue 15). Brevo and Mailjet post
// their webhook events to /webhooks/in/:source without a signature: the source's secret comes as
// the password of Basic authentication or as ?token=; a wrong or missing one is 401 and records
// nothing. Payloads are shaped as the providers send them (one object, or an array when batched).
// The double opt-in link's page changes nothing; its POST confirms with the click's IP and agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

const BREVO_SECRET = "brevo-7f3c9a1e5b2d4c6a8e0f1a2b"
const MAILJET_SECRET = "mailjet-0a1b2c3d4e5f6a7b8c9d0e1f"

let served: Served
const ids: Record<string, string> = {}

beforeAll(async () => {
  served = await serve()
  for (const source of [
    { source: "brevo-bounces", provider: "brevo", secrets: [BREVO_SECRET] },
    { source: "mailjet-events", provider: "mailjet", secrets: [MAILJET_SECRET] }
  ]) {
    const created = await served.request("POST", "/webhooks/sources", { as: "admin-a", json: source })
    expect(created.status).toBe(201)
  }
  const crm = served.crm.workspace("ws-a")
  for (const email of ["hard@example.com", "soft@example.com", "spam@example.com", "unsub@example.com", "mj-hard@example.com", "mj-soft@example.com", "mj-spam@example.com", "mj-blocked@example.com"]) {
    const contact = await crm.contacts.create({ email })
    await crm.consent.grant(contact.id)
    ids[email] = contact.id
  }
})
afterAll(() => served.close())

const basic = (secret: string, user = "rapport") => `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(served.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

const status = (email: string) => served.crm.workspace("ws-a").consent.status(ids[email]!)

// Brevo's transactional webhook, as its documentation shows it.
const brevoEvent = (event: string, email: string, extra: Record<string, unknown> = {}) => ({
  event,
  email,
  id: 26224,
  date: "2025-01-06 10:00:00",
  ts: 1736154000,
  "message-id": `<202501060900.${event}@smtp-relay.mailin.fr>`,
  ts_event: 1736154000,
  subject: "Nouveautés de janvier",
  "X-Mailin-custom": "",
  sending_ip: "185.41.28.109",
  template_id: 22,
  tags: ["newsletter"],
  ts_epoch: 1736154000123,
  ...extra
})

// Mailjet's event API, as its documentation shows it.
const mailjetEvent = (event: string, email: string, extra: Record<string, unknown> = {}) => ({
  event,
  time: 1736154000,
  MessageID: 13792286917004336,
  Message_GUID: `1ab23cd4-e567-8901-2345-${event}${email.length}`,
  email,
  mj_campaign_id: 0,
  mj_contact_id: 0,
  customcampaign: "",
  CustomID: "",
  Payload: "",
  ...extra
})

describe("Brevo webhooks", () => {
  it("hard_bounce (Basic authentication): the address is flagged and the event recorded; the same body again is a duplicate", async () => {
    const body = brevoEvent("hard_bounce", "hard@example.com", { reason: "550 5.1.1 user unknown" })
    const first = await post("/webhooks/in/brevo-bounces", body, { authorization: basic(BREVO_SECRET) })
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ source: "brevo-bounces", duplicate: false, ignored: false, events: [{ type: "mail.bounced", contactId: ids["hard@example.com"], duplicate: false }] })
    expect((await status("hard@example.com")).addresses).toEqual([
      { email: "hard@example.com", hardBouncedAt: "2025-01-06T09:00:00.123Z", hardBounceReason: "550 5.1.1 user unknown", softBounces: 0, lastSoftBounceAt: null, complainedAt: null }
    ])
    const again = await post("/webhooks/in/brevo-bounces", body, { authorization: basic(BREVO_SECRET) })
    expect(again).toMatchObject({ status: 200, body: { duplicate: true } })
  })

  it("a batch (array) with soft_bounce, spam, unsubscribed, opened and events that are left out, through ?token=", async () => {
    const batch = [
      brevoEvent("soft_bounce", "soft@example.com", { reason: "mailbox full" }),
      brevoEvent("delivered", "soft@example.com"),
      brevoEvent("spam", "spam@example.com"),
      brevoEvent("unsubscribed", "unsub@example.com"),
      brevoEvent("opened", "spam@example.com"),
      brevoEvent("hard_bounce", "stranger@example.com")
    ]
    const answer = await post(`/webhooks/in/brevo-bounces?token=${BREVO_SECRET}`, batch)
    expect(answer.status).toBe(200)
    expect(answer.body.events.map((e: { type: string; contactId: string }) => [e.type, e.contactId])).toEqual([
      ["mail.bounced", ids["soft@example.com"]],
      ["mail.complained", ids["spam@example.com"]],
      ["consent.unsubscribed", ids["unsub@example.com"]],
      ["email.opened", ids["spam@example.com"]]
    ])
    expect((await status("soft@example.com")).addresses[0]).toMatchObject({ softBounces: 1, hardBouncedAt: null })
    expect((await status("soft@example.com")).purposes["marketing"]!.granted).toBe(true)
    expect((await status("spam@example.com")).purposes["marketing"]!.granted).toBe(false)
    expect((await status("spam@example.com")).addresses[0]!.complainedAt).not.toBeNull()
    expect((await status("unsub@example.com")).purposes["marketing"]!.granted).toBe(false)
    // No contact is created for an address nobody has.
    expect((await served.request("GET", "/contacts/by-email?email=stranger@example.com", { as: "admin-a" })).status).toBe(404)
  })

  it("a wrong secret is 401, a missing one 400, and nothing is recorded; another source's secret is refused too", async () => {
    const body = brevoEvent("hard_bounce", "soft@example.com", { "message-id": "<refused@relay>" })
    const missing = await post("/webhooks/in/brevo-bounces", body)
    expect(missing.status).toBe(400)
    expect(missing.body).toMatchObject({ code: "WEBHOOK_REJECTED", reason: "missingHeader", field: "authorization" })
    expect(missing.body.detail ?? missing.body.title).toMatch(/Basic authentication|token/)
    for (const headers of [{ authorization: basic("brevo-0000000000000000000000000") }, { authorization: basic(MAILJET_SECRET) }]) {
      const answer = await post("/webhooks/in/brevo-bounces", body, headers)
      expect(answer.status).toBe(401)
      expect(answer.body).toMatchObject({ code: "WEBHOOK_REJECTED" })
    }
    expect((await post("/webhooks/in/brevo-bounces?token=wrong-token-wrong-token-xx", body)).status).toBe(401)
    expect((await status("soft@example.com")).addresses[0]!.hardBouncedAt).toBeNull()
  })

  it("a handled event without a valid address is a 400 naming it", async () => {
    const answer = await post("/webhooks/in/brevo-bounces", [brevoEvent("spam", "spam@example.com"), brevoEvent("hard_bounce", "not an address")], { authorization: basic(BREVO_SECRET) })
    expect(answer.status).toBe(400)
    expect(JSON.stringify(answer.body)).toContain("/body/1/email")
  })
})

describe("Mailjet webhooks", () => {
  it("bounce with hard_bounce true or false, spam and a recipient block, batched; a content block is left out", async () => {
    const batch = [
      mailjetEvent("bounce", "mj-hard@example.com", { blocked: false, hard_bounce: true, error_related_to: "recipient", error: "user unknown", comment: "Host or domain name not found" }),
      mailjetEvent("bounce", "mj-soft@example.com", { blocked: false, hard_bounce: false, error_related_to: "mailbox", error: "mailbox full" }),
      mailjetEvent("spam", "mj-spam@example.com", { source: "JMRPP" }),
      mailjetEvent("blocked", "mj-blocked@example.com", { error_related_to: "content", error: "spam preblocked" }),
      mailjetEvent("open", "mj-hard@example.com", { ip: "127.0.0.1", geo: "FR", agent: "Mozilla/5.0" })
    ]
    const answer = await post("/webhooks/in/mailjet-events", batch, { authorization: basic(MAILJET_SECRET, "mailjet") })
    expect(answer.status).toBe(200)
    expect(answer.body.events.map((e: { type: string }) => e.type)).toEqual(["mail.bounced", "mail.bounced", "mail.complained", "email.opened"])
    expect((await status("mj-hard@example.com")).addresses[0]).toMatchObject({ hardBounceReason: "user unknown: Host or domain name not found", hardBouncedAt: "2025-01-06T09:00:00.000Z" })
    expect((await status("mj-soft@example.com")).addresses[0]).toMatchObject({ softBounces: 1, hardBouncedAt: null })
    expect((await status("mj-spam@example.com")).purposes["marketing"]!.granted).toBe(false)
    expect((await status("mj-blocked@example.com")).addresses).toEqual([])
  })

  it("a single event object; a recipient block is a hard bounce; an open is recorded as email.opened, clicks alone are acknowledged as ignored", async () => {
    const one = await post(`/webhooks/in/mailjet-events?token=${MAILJET_SECRET}`, mailjetEvent("blocked", "mj-blocked@example.com", { error_related_to: "recipient", error: "user unknown" }))
    expect(one).toMatchObject({ status: 200, body: { events: [{ type: "mail.bounced", contactId: ids["mj-blocked@example.com"] }] } })
    expect((await status("mj-blocked@example.com")).addresses[0]!.hardBouncedAt).not.toBeNull()
    const opens = await post(`/webhooks/in/mailjet-events?token=${MAILJET_SECRET}`, [mailjetEvent("open", "mj-soft@example.com"), mailjetEvent("click", "mj-soft@example.com")])
    expect(opens).toMatchObject({ status: 200, body: { ignored: false, events: [{ type: "email.opened", contactId: ids["mj-soft@example.com"] }] } })
    // An open changes nothing of the address or its consent.
    expect((await status("mj-soft@example.com")).addresses[0]).toMatchObject({ softBounces: 1, hardBouncedAt: null, complainedAt: null })
    const clicks = await post(`/webhooks/in/mailjet-events?token=${MAILJET_SECRET}`, [mailjetEvent("click", "mj-soft@example.com", { url: "https://shop.example" })])
    expect(clicks).toMatchObject({ status: 200, body: { ignored: true, events: [] } })
  })
})

describe("mail feedback and double opt-in through the API", () => {
  it("POST /consent/mail-feedback records a report for providers without a mapper; clear-bounce forgets it", async () => {
    const contact = await served.crm.workspace("ws-a").contacts.create({ email: "api@example.com" })
    const recorded = await served.request("POST", "/consent/mail-feedback", { as: "admin-a", json: [{ id: "ses-1", type: "bounced", kind: "hard", email: "api@example.com", provider: "ses" }] })
    expect(recorded.status).toBe(200)
    expect(recorded.body).toMatchObject([{ contactId: contact.id, eventId: "ses-1", duplicate: false }])
    expect((await served.request("POST", "/consent/mail-feedback", { as: "sales-a", json: { type: "complained", email: "api@example.com" } })).status).toBe(403)
    const cleared = await served.request("POST", "/consent/clear-bounce", { as: "admin-a", json: { email: "API@example.com" } })
    expect(cleared.body).toMatchObject({ email: "api@example.com", hardBouncedAt: null })
  })

  it("grant with proof, request, then the public link: GET changes nothing, POST confirms with the click's IP and user agent", async () => {
    const contact = await served.crm.workspace("ws-a").contacts.create({ email: "optin@example.com" })
    const granted = await served.request("POST", `/contacts/${contact.id}/consent/grant`, {
      as: "sales-a",
      json: { purpose: "partners", source: "fair", proof: { ip: "198.51.100.4", method: "form", evidence: "Paper form, Salon 2025" } }
    })
    expect(granted.body.purposes.partners.proof).toMatchObject({ ip: "198.51.100.4", method: "form", evidence: "Paper form, Salon 2025" })
    const requested = await served.request("POST", `/contacts/${contact.id}/consent/request`, { as: "sales-a", json: { source: "footer", evidence: "Footer box" } })
    expect(requested.status).toBe(200)
    expect(requested.body.mail).toMatchObject({ to: "optin@example.com" })
    await served.crm.clock.advance("1 minute")
    const mail = served.crm.mails.sent().find((m) => m.to === "optin@example.com")!
    const token = decodeURIComponent(/confirm\?token=([^\s"<]+)/.exec(mail.text!)![1]!)

    const pageAnswer = await fetch(`${served.url}/consent/confirm?token=${encodeURIComponent(token)}`, { headers: { "accept-language": "fr-FR,fr;q=0.9" } })
    expect(pageAnswer.status).toBe(200)
    const html = await pageAnswer.text()
    expect(html).toContain("Confirmer votre inscription")
    expect(html).toContain('<form method="post"')
    expect((await served.crm.workspace("ws-a").consent.status(contact.id)).purposes["marketing"]).toMatchObject({ pending: true, granted: false })

    const confirmed = await fetch(`${served.url}/consent/confirm?token=${encodeURIComponent(token)}`, { method: "POST", headers: { "user-agent": "TestBrowser/1.0" } })
    expect(confirmed.status).toBe(200)
    expect(await confirmed.json()).toEqual({ confirmed: true, purpose: "marketing" })
    const proof = (await served.crm.workspace("ws-a").consent.status(contact.id)).purposes["marketing"]!.proof
    expect(proof).toMatchObject({ method: "double-opt-in", ip: "127.0.0.1", userAgent: "TestBrowser/1.0", evidence: "Footer box" })
    const again = await fetch(`${served.url}/consent/confirm?token=${encodeURIComponent(token)}`, { method: "POST", headers: { accept: "text/html" } })
    expect(again.status).toBe(200)
    expect(await again.text()).toContain("your subscription is confirmed")
  })

  it("a forged token: the page says the link does not work (400), the POST is a 400 problem naming the token", async () => {
    const pageAnswer = await fetch(`${served.url}/consent/confirm?token=forged.token`)
    expect(pageAnswer.status).toBe(400)
    expect(await pageAnswer.text()).toContain("This link does not work")
    const posted = await fetch(`${served.url}/consent/confirm?token=forged.token`, { method: "POST" })
    expect(posted.status).toBe(400)
    expect(await posted.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ pointer: "/token", in: "query" }] })
    expect((await fetch(`${served.url}/consent/confirm`, { method: "POST" })).status).toBe(400)
  })
})
