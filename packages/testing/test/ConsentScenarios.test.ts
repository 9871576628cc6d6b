// Double opt-in, bounces and complaints on the test CRM's virtual clock (issue 15): a pending
// consent sends a confirmation mail with a signed, expiring link; confirming records the proof; a
// hard bounce stops marketing mail to the address (transactional mail still goes); soft bounces
// are counted; a complaint withdraws consent. Each is seen by rules and on the timeline.
import { createTestCrm, type TestCrm } from "@rapport/testing"
import { afterEach, describe, expect, it } from "vitest"

let crm: TestCrm
afterEach(async () => {
  await crm?.close()
})

const tokenOf = (text: string | undefined) => {
  const match = /https:\/\/test\.example\/consent\/confirm\?token=([^\s"<]+)/.exec(text ?? "")
  if (match === null) throw new Error(`no confirmation link in ${text}`)
  return decodeURIComponent(match[1]!)
}

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise
  } catch (error) {
    return error as { readonly _tag: string; readonly code: string; readonly message: string; readonly issues?: ReadonlyArray<{ path: ReadonlyArray<unknown>; message: string }> }
  }
  throw new Error("expected a failure")
}

describe("double opt-in", () => {
  it("the confirmation mail can be the app's own transactional template, which may read confirmationUrl, purpose and expiresAt", async () => {
    const confirmation = {
      name: "Confirm",
      purpose: "transactional",
      subject: "{{ contact.firstName }}, confirm your {{ purpose }} subscription",
      text: "Click {{ confirmationUrl }} before {{ expiresAt | date }}."
    } as const
    // Ids are sequential: the template is the first record of a fresh test CRM, whose settings must name it.
    const probe = await createTestCrm()
    const templateId = (await probe.templates.create(confirmation)).id
    await probe.close()
    crm = await createTestCrm({
      mail: {
        unsubscribe: { url: "https://test.example/unsubscribe?token={token}", secret: "test-secret-0123456789abcdef" },
        confirmation: { url: "https://test.example/consent/confirm?token={token}", template: templateId }
      }
    })
    expect((await crm.templates.create(confirmation)).id).toBe(templateId)
    const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
    await crm.consent.request(ada.id, { purpose: "newsletter" })
    await crm.clock.advance("1 minute")
    const [mail] = crm.mails.sent()
    expect(mail!.subject).toBe("Ada, confirm your newsletter subscription")
    expect(mail!.text).toMatch(/^Click https:\/\/test\.example\/consent\/confirm\?token=\S+ before January 13, 2025\.$/)
    expect(await crm.consent.confirm(tokenOf(mail!.text))).toMatchObject({ purpose: "newsletter", confirmed: true, status: { purposes: { newsletter: { granted: true } } } })
  })

  it("pending → a transactional mail with the link → confirmed before expiry → granted with its proof", async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
    const requested = await crm.consent.request(ada.id, { source: "newsletter-box", evidence: "Newsletter box, footer v3" })
    expect(requested.mail).toMatchObject({ to: "ada@example.com", expiresAt: "2025-01-13T09:00:00.000Z" })
    expect(requested.status.purposes["marketing"]).toMatchObject({ granted: false, pending: true, source: "newsletter-box" })

    // Nothing is sent before the dispatcher runs; then the mail leaves through the outbox.
    expect(crm.mails.sent()).toEqual([])
    await crm.clock.advance("1 minute")
    const [mail] = crm.mails.sent()
    expect(mail).toMatchObject({ to: "ada@example.com", sentAt: "2025-01-06T09:00:00.000Z" })
    expect(mail!.subject).toContain("confirm")
    expect(mail!.html).toContain("https://test.example/consent/confirm?token=")
    const token = tokenOf(mail!.text)

    // A pending consent lets no marketing mail through.
    const promo = await crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Sale", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    await crm.rules.create({ id: "promo", name: "Promo", on: "promo.started", actions: [{ type: "sendEmail", template: promo.id }] })
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent().map((m) => m.subject)).not.toContain("Sale")

    await crm.clock.advance("3 days")
    const confirmed = await crm.consent.confirm(token, { ip: "203.0.113.7", userAgent: "Mozilla/5.0 (test)" })
    expect(confirmed).toMatchObject({ contactId: ada.id, purpose: "marketing", confirmed: true })
    expect(confirmed.status.purposes["marketing"]).toEqual({
      granted: true,
      pending: false,
      at: "2025-01-09T09:02:00.000Z",
      source: "newsletter-box",
      proof: {
        at: "2025-01-09T09:02:00.000Z",
        method: "double-opt-in",
        ip: "203.0.113.7",
        userAgent: "Mozilla/5.0 (test)",
        evidence: "Newsletter box, footer v3",
        requestedAt: "2025-01-06T09:00:00.000Z"
      }
    })
    // The same link again changes nothing.
    expect(await crm.consent.confirm(token)).toMatchObject({ confirmed: false })

    // Marketing mail now goes.
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent().map((m) => m.subject)).toContain("Sale")

    const timeline = (await crm.timeline.list(ada.id)).items.map((e) => e.summary)
    expect(timeline).toContain("Consent requested for marketing mail (confirmation sent)")
    expect(timeline).toContain("Consent given for marketing mail")
  })

  it("a link older than the lifetime is refused with a clear error, and the consent stays pending", async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.request(ada.id)
    await crm.clock.advance("1 minute")
    const token = tokenOf(crm.mails.sent()[0]!.text)
    await crm.clock.advance("7 days")
    const error = await failureOf(crm.consent.confirm(token))
    expect(error).toMatchObject({ _tag: "ValidationError", code: "VALIDATION_FAILED" })
    expect(error.issues![0]).toMatchObject({ path: ["token"] })
    expect(error.issues![0]!.message).toMatch(/^has expired: the confirmation was requested on 2025-01-06T09:00:00.000Z and confirmation links work for 7d/)
    expect((await crm.consent.status(ada.id)).purposes["marketing"]).toMatchObject({ granted: false, pending: true })
  })

  it("a forged or altered token is refused, and so is one signed with another secret", async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.request(ada.id)
    await crm.clock.advance("1 minute")
    const token = tokenOf(crm.mails.sent()[0]!.text)
    const [payload, signature] = token.split(".")
    // Names another contact under the same signature.
    const forged = `${Buffer.from(JSON.stringify(["confirm", "default", "0000", "marketing", Date.parse("2025-01-06T09:00:00Z")])).toString("base64url")}.${signature}`
    const flipped = `${payload}.${signature!.slice(0, -1)}${signature!.endsWith("A") ? "B" : "A"}`
    // An unsubscribe token of the same secret is not a confirmation token.
    const unsubscribe = new URL(await crm.consent.unsubscribeUrl(ada.id)).searchParams.get("token")!
    for (const bad of [forged, flipped, unsubscribe, "nonsense"]) {
      const error = await failureOf(crm.consent.confirm(bad))
      expect(error.issues![0]).toEqual({ path: ["token"], message: "is not a valid confirmation token (it was altered, or signed with another secret)" })
    }
    const other = await createTestCrm({
      mail: { unsubscribe: { url: "https://x.example/u", secret: "another-secret" }, confirmation: { url: "https://x.example/c" } }
    })
    try {
      expect((await failureOf(other.consent.confirm(token))).issues![0]!.path).toEqual(["token"])
    } finally {
      await other.close()
    }
    expect((await crm.consent.status(ada.id)).purposes["marketing"]).toMatchObject({ granted: false, pending: true })
  })

  it("a request withdrawn before the click cannot be confirmed; a granted consent is not asked again", async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.request(ada.id)
    await crm.clock.advance("1 minute")
    const token = tokenOf(crm.mails.sent()[0]!.text)
    await crm.consent.withdraw(ada.id)
    const error = await failureOf(crm.consent.confirm(token))
    expect(error.issues![0]!.message).toMatch(/^no confirmation is pending/)
    await crm.consent.grant(ada.id, { source: "checkout", proof: { ip: "2001:db8::1", evidence: "Checkbox at checkout" } })
    expect(await crm.consent.request(ada.id)).toMatchObject({ mail: null })
  })

  it("consent.grant records the proof the host passes, and refuses a proof dated in the future", async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const status = await crm.consent.grant(ada.id, { source: "import-2024", proof: { at: "2024-05-01T10:00:00Z", method: "import", evidence: "Salon 2024 sign-up sheet" } })
    expect(status.purposes["marketing"]!.proof).toEqual({ at: "2024-05-01T10:00:00.000Z", method: "import", ip: null, userAgent: null, evidence: "Salon 2024 sign-up sheet", requestedAt: null })
    const error = await failureOf(crm.consent.grant(ada.id, { proof: { at: "2026-01-01T00:00:00Z" } }))
    expect(error.issues![0]!.path).toEqual(["proof", "at"])
    const badIp = await failureOf(crm.consent.grant(ada.id, { proof: { ip: "not an ip" } }))
    expect(badIp.issues![0]!.path).toEqual(["proof", "ip"])
    expect((await failureOf(crm.consent.withdraw(ada.id, { proof: {} }))).issues![0]!.path).toEqual(["proof"])
  })

  it("without confirmation settings, a request fails naming them", async () => {
    crm = await createTestCrm({ mail: { unsubscribe: { url: "https://x.example/u", secret: "s" } } })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const error = await failureOf(crm.consent.request(ada.id))
    expect(error.issues![0]!.path).toEqual(["confirmation"])
  })
})

describe("bounces and complaints", () => {
  const setUp = async () => {
    crm = await createTestCrm()
    const ada = await crm.contacts.create({ email: "Ada@Example.com" })
    await crm.consent.grant(ada.id)
    const promo = await crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Sale", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    const receipt = await crm.templates.create({ name: "Receipt", purpose: "transactional", subject: "Your order", text: "Thanks" })
    await crm.rules.create({ id: "promo", name: "Promo", on: "promo.started", actions: [{ type: "sendEmail", template: promo.id }] })
    await crm.rules.create({ id: "receipt", name: "Receipt", on: "order.paid", actions: [{ type: "sendEmail", template: receipt.id }] })
    await crm.rules.create({ id: "bounced", name: "On bounce", on: "mail.bounced", when: { path: "event.payload.kind", op: "eq", value: "hard" }, actions: [{ type: "addTag", tag: "bad-address" }] })
    return ada
  }

  it("a hard bounce stops marketing mail to the address, flags it, reaches rules and the timeline; transactional mail still goes", async () => {
    const ada = await setUp()
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    const sent = crm.mails.sent()[0]!
    const [result] = await crm.consent.recordMailFeedback({ id: "b-1", type: "bounced", kind: "hard", email: "ada@example.com", reason: "550 user unknown", provider: "test", idempotencyKey: sent.idempotencyKey })
    expect(result).toMatchObject({ contactId: ada.id, eventId: "b-1", duplicate: false, ignored: null })
    expect(result!.jobId).not.toBeNull()
    await crm.clock.advance("1 minute")
    expect((await crm.contacts.get(ada.id)).tags).toContain("bad-address")
    expect((await crm.consent.status(ada.id)).addresses).toEqual([
      { email: "ada@example.com", hardBouncedAt: "2025-01-06T09:01:00.000Z", hardBounceReason: "550 user unknown", softBounces: 0, lastSoftBounceAt: null, complainedAt: null }
    ])
    const entry = (await crm.timeline.list(ada.id)).items.find((e) => e.summary.startsWith("Hard bounce"))
    expect(entry?.summary).toBe("Hard bounce of ada@example.com: 550 user unknown")

    crm.mails.clear()
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.events.emit({ type: "order.paid", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent().map((m) => m.subject)).toEqual(["Your order"])
    const skipped = (await crm.dispatcher.jobs({ ruleId: "promo", status: "skipped" })).items
    expect(skipped.map((j) => j.outcome?.["reason"])).toEqual(["the address ada@example.com hard-bounced on 2025-01-06T09:01:00.000Z (550 user unknown)"])

    // The same report again changes nothing; clearing the bounce lets marketing mail go again.
    expect((await crm.consent.recordMailFeedback([{ id: "b-1", type: "bounced", email: "ada@example.com" }]))[0]).toMatchObject({ duplicate: true })
    await crm.consent.clearBounce("ada@example.com")
    crm.mails.clear()
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent().map((m) => m.subject)).toEqual(["Sale"])
  })

  it("soft bounces are counted and stop nothing", async () => {
    const ada = await setUp()
    for (const id of ["s-1", "s-2", "s-3"]) {
      await crm.consent.recordMailFeedback({ id, type: "bounced", kind: "soft", email: "ada@example.com", reason: "mailbox full" })
      await crm.clock.advance("1 hour")
    }
    const [address] = (await crm.consent.status(ada.id)).addresses
    expect(address).toMatchObject({ softBounces: 3, hardBouncedAt: null, lastSoftBounceAt: "2025-01-06T11:00:00.000Z" })
    expect((await crm.contacts.get(ada.id)).tags).not.toContain("bad-address")
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent().map((m) => m.subject)).toEqual(["Sale"])
  })

  it("a complaint withdraws consent to every marketing mail", async () => {
    const ada = await setUp()
    await crm.consent.recordMailFeedback({ id: "c-1", type: "complained", email: "ada@example.com", provider: "brevo" })
    const status = await crm.consent.status(ada.id)
    expect(status.purposes["marketing"]!.granted).toBe(false)
    expect(status.unsubscribedAt).toBe("2025-01-06T09:00:00.000Z")
    expect(status.addresses[0]).toMatchObject({ complainedAt: "2025-01-06T09:00:00.000Z" })
    await crm.events.emit({ type: "promo.started", contactId: ada.id })
    await crm.clock.advance("1 minute")
    expect(crm.mails.sent()).toEqual([])
    expect((await crm.timeline.list(ada.id)).items.map((e) => e.summary)).toContain("Spam complaint from ada@example.com: marketing mail stopped")
  })

  it("a complaint tells consent.withdrawn subscribers, with the event's own type", async () => {
    const ada = await setUp()
    await crm.webhooks.create({ url: "https://hooks.example/crm", eventTypes: ["consent.withdrawn"] })
    await crm.consent.recordMailFeedback({ id: "c-2", type: "complained", email: "ada@example.com" })
    const messages = (await crm.dispatcher.jobs({ status: "pending", contactId: ada.id })).items.flatMap((j) => (j.action?.type === "webhook" ? [j.action] : []))
    expect(messages.map((m) => [m.eventType, JSON.parse(m.body).data.event.type])).toEqual([["consent.withdrawn", "mail.complained"]])
  })

  it("a report for an address no contact has is ignored and stores nothing; mail.bounced cannot be emitted by hand", async () => {
    await setUp()
    expect(await crm.consent.recordMailFeedback({ type: "bounced", email: "nobody@example.com" })).toEqual([
      { type: "bounced", email: "nobody@example.com", kind: "hard", contactId: null, eventId: null, jobId: null, duplicate: false, ignored: "no contact has this address" }
    ])
    expect((await crm.contacts.list()).items).toHaveLength(1)
    const error = await failureOf(crm.events.emit({ type: "mail.bounced", email: "ada@example.com", payload: { kind: "hard" } }))
    expect(error.message).toMatch(/consent\.recordMailFeedback/)
  })

  it("a confirmed double opt-in lifts the hard bounce of the address", async () => {
    const ada = await setUp()
    await crm.consent.recordMailFeedback({ type: "bounced", email: "ada@example.com" })
    await crm.consent.withdraw(ada.id)
    await crm.consent.request(ada.id)
    await crm.clock.advance("1 minute")
    const token = tokenOf(crm.mails.sent().at(-1)!.text)
    await crm.consent.confirm(token)
    expect((await crm.consent.status(ada.id)).addresses).toEqual([])
  })
})
