// Campaigns on the virtual clock, through the Promise client (issue 16): a newsletter sent to a
// saved segment at a time, throttled: each consenting member gets it once, the unsubscribed, the
// never-consenting and the capped do not, the sends are spread by the rate, stats count the
// conversions within the goal's window; a cancelled campaign queues nothing; sending twice or
// running the fan-out again queues nobody twice.
import { createTestCrm, type TestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"

const ORDER = (orderId: string) => ({ orderId, lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: { amountMinor: 1000, currency: "EUR" } }] })

/** A workspace with a marketing template, a segment of VIPs and contacts in every situation. */
const world = async (crm: TestCrm) => {
  await crm.settings.update({ pressure: { marketing: { max: 1, per: "7 days" } } })
  const template = await crm.templates.create({
    name: "Promo",
    purpose: "marketing",
    subject: "Hello {{ contact.firstName }}",
    html: '<p>-20%</p><a href="{{ unsubscribeUrl }}">stop</a>'
  })
  const vip = await crm.segments.create({ name: "VIP", condition: { path: "contact.tags", op: "contains", value: "vip" } })
  const make = async (firstName: string, tags: ReadonlyArray<string>, consent: boolean) => {
    const contact = await crm.contacts.create({ email: `${firstName.toLowerCase()}@example.com`, firstName, tags: [...tags] })
    if (consent) await crm.consent.grant(contact.id)
    return contact
  }
  // Created in this order, so the segment (in id order) lists them in this order.
  const ada = await make("Ada", ["vip"], true)
  const bob = await make("Bob", ["vip"], true)
  const unsubscribed = await make("Uma", ["vip"], true)
  const cyd = await make("Cyd", ["vip"], true)
  const never = await make("Ned", ["vip"], false)
  const capped = await make("Cap", ["vip"], true)
  const dan = await make("Dan", ["vip"], true)
  const outsider = await make("Out", [], true)
  const url = new URL(await crm.consent.unsubscribeUrl(unsubscribed.id))
  await crm.consent.unsubscribe(url.searchParams.get("token")!)
  return { template, vip, ada, bob, unsubscribed, cyd, never, capped, dan, outsider }
}

describe("campaigns, on the virtual clock", () => {
  it("each consenting member once, at the throttled times; unsubscribed, never-consenting and capped members skipped; conversions counted", async () => {
    const crm = await createTestCrm()
    try {
      const w = await world(crm)
      // Cap fills Cap's marketing window with a rule's newsletter first.
      await crm.rules.create({ id: "news", name: "News", on: "news.due", actions: [{ type: "sendEmail", template: w.template.id }] })
      await crm.events.emit({ type: "news.due", contactId: w.capped.id })
      await crm.clock.advance("1 minute")
      expect(crm.mails.sent().map((m) => m.to)).toEqual(["cap@example.com"])
      crm.mails.clear()

      const campaign = await crm.campaigns.create({
        key: "spring-promo",
        name: "Spring promo",
        templateId: w.template.id,
        audience: { segmentId: w.vip.id },
        sendAt: "2025-01-06T10:00:00.000Z",
        ratePerMinute: 2,
        goal: { event: "order.placed", within: "3 days" }
      })
      expect(campaign.status).toBe("draft")
      const scheduled = await crm.campaigns.send(campaign.id)
      expect([scheduled.status, scheduled.sendAt]).toEqual(["scheduled", "2025-01-06T10:00:00.000Z"])
      // Sending again changes nothing (no second fan-out).
      expect((await crm.campaigns.send(campaign.id)).version).toBe(scheduled.version)

      // Nothing before sendAt.
      await crm.clock.advanceTo("2025-01-06T09:59:59.000Z")
      expect(crm.mails.sent()).toEqual([])
      expect((await crm.campaigns.get(campaign.id)).status).toBe("scheduled")

      await crm.clock.advanceTo("2025-01-06T10:10:00.000Z")
      // Seven members queued in id order, two per minute; the mails of the consenting ones only.
      // (Mails due at the same minute go out concurrently: sorted by time, then address.)
      const byTime = (rows: Array<[string, string, string]>) => rows.sort((x, y) => x[1].localeCompare(y[1]) || x[0].localeCompare(y[0]))
      expect(byTime(crm.mails.sent().map((m) => [m.to, m.sentAt, m.subject]))).toEqual([
        ["ada@example.com", "2025-01-06T10:00:00.000Z", "Hello Ada"],
        ["bob@example.com", "2025-01-06T10:00:00.000Z", "Hello Bob"],
        // Uma (ordinal 2) unsubscribed
        ["cyd@example.com", "2025-01-06T10:01:00.000Z", "Hello Cyd"],
        // Ned (4) never consented, Cap (5) is over the pressure cap
        ["dan@example.com", "2025-01-06T10:03:00.000Z", "Hello Dan"]
      ])
      expect(crm.mails.attempts().length).toBe(4)
      for (const mail of crm.mails.sent()) {
        expect(mail.headers?.["List-Unsubscribe"]).toBeDefined()
        expect(mail.idempotencyKey).toMatch(new RegExp(`/campaign:${campaign.id}/`))
      }
      const sent = await crm.campaigns.get(campaign.id)
      expect([sent.status, sent.queued, sent.startedAt]).toEqual(["sent", 7, "2025-01-06T10:00:00.000Z"])
      const skipped = (await crm.dispatcher.jobs({ ruleId: `campaign:${campaign.id}`, status: "skipped" })).items
      expect(skipped.map((j) => [j.contactId, String(j.outcome?.["reason"]).split(" (")[0]])).toEqual([
        [w.unsubscribed.id, "no consent for marketing mail"],
        [w.never.id, "no consent for marketing mail"],
        [w.capped.id, "pressure cap: 1 marketing contact"]
      ])

      // Conversions: Ada orders within 3 days of her mail, Bob after, Cap (not sent) and the outsider within.
      await crm.clock.advanceTo("2025-01-07T10:00:00.000Z")
      await crm.events.emit({ type: "order.placed", contactId: w.ada.id, payload: ORDER("o-ada") })
      await crm.events.emit({ type: "order.placed", contactId: w.capped.id, payload: ORDER("o-cap") })
      await crm.events.emit({ type: "order.placed", contactId: w.outsider.id, payload: ORDER("o-out") })
      await crm.clock.advanceTo("2025-01-09T10:00:01.000Z")
      await crm.events.emit({ type: "order.placed", contactId: w.bob.id, payload: ORDER("o-bob") })
      expect(await crm.campaigns.stats(campaign.id)).toEqual({
        campaignId: campaign.id,
        status: "sent",
        queued: 7,
        pending: 0,
        sent: 4,
        skipped: 3,
        failed: 0,
        opened: 0,
        converted: 1
      })
      // A second campaign to the same segment is a new campaign: its own keys.
      expect((await crm.campaigns.getByKey("spring-promo")).id).toBe(campaign.id)
      expect((await crm.campaigns.list()).items.map((c) => c.id)).toEqual([campaign.id])
    } finally {
      await crm.close()
    }
  })

  it("a campaign cancelled before its time queues nothing; one cancelled while sending skips what has not gone", async () => {
    const crm = await createTestCrm()
    try {
      const w = await world(crm)
      const early = await crm.campaigns.create({ name: "Cancelled", templateId: w.template.id, audience: { segmentId: w.vip.id }, sendAt: "2025-01-06T12:00:00.000Z" })
      await crm.campaigns.send(early.id)
      const cancelled = await crm.campaigns.cancel(early.id)
      expect(cancelled.status).toBe("cancelled")
      await crm.clock.advanceTo("2025-01-06T13:00:00.000Z")
      expect(crm.mails.sent()).toEqual([])
      expect((await crm.campaigns.stats(early.id)).queued).toBe(0)
      expect((await crm.dispatcher.jobs({ ruleId: `campaign:${early.id}` })).items.map((j) => [j.action?.type, j.status])).toEqual([["campaign", "skipped"]])
      // A cancelled campaign cannot be sent again.
      await expect(crm.campaigns.send(early.id)).rejects.toMatchObject({ _tag: "ValidationError" })

      // One per minute: the first mail goes, then the campaign is cancelled.
      const slow = await crm.campaigns.create({ name: "Slow", templateId: w.template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } }, ratePerMinute: 1 })
      await crm.campaigns.send(slow.id)
      await crm.clock.advance("30 seconds")
      expect(crm.mails.sent().map((m) => m.to)).toEqual(["ada@example.com"])
      await crm.campaigns.cancel(slow.id)
      await crm.clock.advance("1 hour")
      expect(crm.mails.sent().map((m) => m.to)).toEqual(["ada@example.com"])
      expect(await crm.campaigns.stats(slow.id)).toMatchObject({ status: "cancelled", queued: 7, sent: 1, pending: 0, skipped: 6 })
    } finally {
      await crm.close()
    }
  })

  it("a contact merged into another member receives the campaign once", async () => {
    const crm = await createTestCrm()
    try {
      const w = await world(crm)
      // No pressure cap here: it would hold a second mail back by itself.
      await crm.settings.update({ pressure: null })
      // One a minute: Ada's mail goes at once; Bob's (and the others') wait.
      const campaign = await crm.campaigns.create({ name: "Merge", templateId: w.template.id, audience: { segmentId: w.vip.id }, ratePerMinute: 1 })
      await crm.campaigns.send(campaign.id)
      await crm.clock.advance("10 seconds")
      expect(crm.mails.sent().map((m) => m.to)).toEqual(["ada@example.com"])
      // Dan is merged into Bob: Dan's queued mail moves to Bob, who has his own.
      await crm.contacts.merge(w.bob.id, w.dan.id)
      await crm.clock.advance("1 hour")
      expect(crm.mails.sent().map((m) => m.to).sort()).toEqual(["ada@example.com", "bob@example.com", "cap@example.com", "cyd@example.com"])
      const moved = (await crm.dispatcher.jobs({ ruleId: `campaign:${campaign.id}`, contactId: w.bob.id, status: "skipped" })).items
      expect(moved.map((j) => j.outcome?.["reason"])).toEqual(["the contact was merged into one that receives this campaign already"])
    } finally {
      await crm.close()
    }
  })

  it("bad input names the field: a transactional template, a rate of 0, an invalid condition; an unknown segment is NotFound", async () => {
    const crm = await createTestCrm()
    try {
      const receipt = await crm.templates.create({ name: "Receipt", subject: "Thanks", text: "Thanks" })
      const promo = await crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Promo", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
      const audience = { condition: { path: "contact.tags", op: "contains", value: "vip" } } as const
      await expect(crm.campaigns.create({ name: "R", templateId: receipt.id, audience })).rejects.toMatchObject({ _tag: "ValidationError", issues: [{ path: ["templateId"] }] })
      await expect(crm.campaigns.create({ name: "R", templateId: promo.id, audience, ratePerMinute: 0 })).rejects.toMatchObject({ _tag: "ValidationError", issues: [{ path: ["ratePerMinute"] }] })
      await expect(crm.campaigns.create({ name: "Ghost", templateId: promo.id, audience: { segmentId: "00000000-0000-7000-8000-000000000001" } })).rejects.toMatchObject({
        _tag: "NotFound",
        entity: "segment"
      })
      await expect(crm.campaigns.create({ name: "Bad", templateId: promo.id, audience: { condition: { path: "contact.fields.nope", op: "eq", value: 1 } } })).rejects.toMatchObject({
        _tag: "ValidationError",
        issues: [{ path: ["condition", "path"] }]
      })
      // A segment removed after the campaign was created: send fails, the campaign stays a draft.
      const gone = await crm.segments.create({ name: "Gone", condition: audience.condition })
      const orphan = await crm.campaigns.create({ name: "Orphan", templateId: promo.id, audience: { segmentId: gone.id } })
      await crm.segments.remove(gone.id)
      await expect(crm.campaigns.send(orphan.id)).rejects.toMatchObject({ _tag: "NotFound", entity: "segment" })
      expect((await crm.campaigns.get(orphan.id)).status).toBe("draft")
      await expect(crm.campaigns.create({ key: "k", name: "A", templateId: promo.id, audience })).resolves.toMatchObject({ key: "k" })
      await expect(crm.campaigns.create({ key: "k", name: "B", templateId: promo.id, audience })).rejects.toMatchObject({ _tag: "Conflict" })
    } finally {
      await crm.close()
    }
  })
})
