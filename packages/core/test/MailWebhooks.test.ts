// The Brevo and Mailjet mappers (issue 15) and the secret check of providers that sign nothing:
// real payload shapes map to the reports `consent.recordMailFeedback` records, with ids derived
// from the provider's message and event (the same event maps to the same id); events that say
// nothing about the address are left out; any JSON maps without throwing, to reports that decode.
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { Consent, MailWebhooks, WebhookSignature } from "@rapport/core"

const fc = FastCheck
const right = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}

describe("MailWebhooks.brevo", () => {
  it("transactional hard_bounce, soft_bounce, blocked, spam, unsubscribed and opened; delivered and proxy opens are left out", () => {
    const base = { id: 26224, date: "2020-10-09 00:00:00", ts: 1604937111, subject: "My first Transactional", template_id: 22, tags: ["transac_messages"] }
    const mapped = right(
      MailWebhooks.brevo([
        { ...base, event: "hard_bounce", email: "Example@Domain.com", "message-id": "<201798300811.5787683@relay.domain.com>", ts_event: 1604937111, ts_epoch: 1604937111000, reason: "server relay error", "X-Mailin-custom": "ws/rule/event/0" },
        { ...base, event: "soft_bounce", email: "soft@domain.com", "message-id": "<2@relay>", ts_event: 1604937112 },
        { ...base, event: "blocked", email: "blocked@domain.com", "message-id": "<3@relay>", ts_event: 1604937113 },
        { ...base, event: "spam", email: "spam@domain.com", "message-id": "<4@relay>", ts_event: 1604937114 },
        { ...base, event: "unsubscribed", email: "unsub@domain.com", "message-id": "<5@relay>", ts_event: 1604937115 },
        { ...base, event: "delivered", email: "ok@domain.com", "message-id": "<6@relay>" },
        { ...base, event: "opened", email: "ok@domain.com", "message-id": "<6@relay>" },
        { ...base, event: "proxy_open", email: "ok@domain.com", "message-id": "<6@relay>" },
        { ...base, event: "unique_proxy_open", email: "ok@domain.com", "message-id": "<6@relay>" }
      ])
    )
    expect(mapped.map((m) => [m.type, m.kind, m.email])).toEqual([
      ["bounced", "hard", "Example@domain.com"],
      ["bounced", "soft", "soft@domain.com"],
      ["bounced", "hard", "blocked@domain.com"],
      ["complained", undefined, "spam@domain.com"],
      ["unsubscribed", undefined, "unsub@domain.com"],
      ["opened", undefined, "ok@domain.com"]
    ])
    expect(mapped[0]).toMatchObject({
      reason: "server relay error",
      provider: "brevo",
      messageId: "<201798300811.5787683@relay.domain.com>",
      idempotencyKey: "ws/rule/event/0",
      occurredAt: "2020-11-09T15:51:51.000Z"
    })
    expect(mapped[0]!.id).toMatch(/^brevo:hard_bounce:[0-9a-f]{32}$/)
    expect(mapped[2]!.reason).toBe("blocked by Brevo")
  })

  it("opened and unique_opened (transactional, as Brevo documents them) are opens of the mail named by message-id, each with its own id", () => {
    // Brevo's documented "opened" and "First opening" (unique_opened) transactional payloads.
    const opened = {
      event: "opened",
      email: "example@domain.com",
      id: 26224,
      date: "2020-10-09 00:00:00",
      "message-id": "<201798300811.5787683@relay.domain.com>",
      subject: "My first Transactional",
      tag: '["transactionalTag"]',
      sending_ip: "185.41.28.109",
      ts_epoch: 1604933619000,
      template_id: 22,
      "X-Mailin-custom": "ws/rule/event/0"
    }
    const unique = { ...opened, event: "unique_opened", ts_event: 1604933619, ts: 1604933619 }
    const [first, second] = right(MailWebhooks.brevo([opened, unique]))
    expect(first).toEqual({
      id: expect.stringMatching(/^brevo:opened:[0-9a-f]{32}$/),
      type: "opened",
      email: "example@domain.com",
      provider: "brevo",
      messageId: "<201798300811.5787683@relay.domain.com>",
      idempotencyKey: "ws/rule/event/0",
      occurredAt: "2020-11-09T14:53:39.000Z"
    })
    expect(second).toMatchObject({ type: "opened", messageId: "<201798300811.5787683@relay.domain.com>", occurredAt: "2020-11-09T14:53:39.000Z" })
    expect(second!.id).toMatch(/^brevo:unique_opened:/)
    // The same open delivered again maps to the same id; a later open of the same mail to another.
    expect(right(MailWebhooks.brevo({ ...opened }))[0]!.id).toBe(first!.id)
    expect(right(MailWebhooks.brevo({ ...opened, ts_epoch: 1604933620000 }))[0]!.id).not.toBe(first!.id)
    // A marketing campaign's open (Brevo's marketing webhook shape) is an open too.
    const marketing = { id: 1, camp_id: 12, email: "Ada@example.com", "campaign name": "January", date_sent: "2020-10-09 00:00:00", date_event: "2020-10-09 00:00:00", event: "opened", tag: "", ts_sent: 1604933619, ts_event: 1604933654, ts: 1604937111 }
    expect(right(MailWebhooks.brevo(marketing))).toEqual([expect.objectContaining({ type: "opened", email: "Ada@example.com", occurredAt: "2020-11-09T14:54:14.000Z" })])
  })

  it("a marketing (campaign) event and a single object; the same event maps to the same id, another event to another", () => {
    const campaign = { id: 1, camp_id: 12, email: "Ada@example.com", "campaign name": "January", date_sent: "2020-10-09 00:00:00", date_event: "2020-10-09 00:00:00", event: "hard_bounce", tag: "", ts_sent: 1604933619, ts_event: 1604933654, ts: 1604937111 }
    const [one] = right(MailWebhooks.brevo(campaign))
    expect(one).toMatchObject({ type: "bounced", kind: "hard", email: "Ada@example.com", occurredAt: "2020-11-09T14:54:14.000Z" })
    expect(right(MailWebhooks.brevo({ ...campaign }))[0]!.id).toBe(one!.id)
    expect(right(MailWebhooks.brevo({ ...campaign, ts_event: 1604933655 }))[0]!.id).not.toBe(one!.id)
    expect(right(MailWebhooks.brevo({ ...campaign, camp_id: 13 }))[0]!.id).not.toBe(one!.id)
  })

  it("refuses what is not an event, and a handled event without an address, naming the path", () => {
    expect(MailWebhooks.brevo("nope")).toEqual(Either.left([{ path: [], message: "must be an event object or an array of events" }]))
    expect(MailWebhooks.brevo([{ event: "spam", email: "a@b.co" }, 3])).toEqual(Either.left([{ path: [1], message: "must be an event object" }]))
    expect(MailWebhooks.brevo([{ event: "delivered" }, { event: "hard_bounce", email: "nobody" }])).toEqual(
      Either.left([{ path: [1, "email"], message: "a Brevo hard_bounce event needs the recipient's email address" }])
    )
  })
})

describe("MailWebhooks.mailjet", () => {
  it("bounce hard and soft, blocked for a recipient (hard) or content (left out), spam, unsub; the GUID names the message", () => {
    const base = { time: 1430812195, MessageID: 13792286917004336, mj_campaign_id: 0, mj_contact_id: 0, customcampaign: "", Payload: "" }
    const mapped = right(
      MailWebhooks.mailjet([
        { ...base, event: "bounce", Message_GUID: "g-1", email: "bounce@mailjet.com", CustomID: "ws/rule/e/0", blocked: false, hard_bounce: true, error_related_to: "recipient", error: "user unknown", comment: "Host or domain name not found" },
        { ...base, event: "bounce", Message_GUID: "g-2", email: "soft@mailjet.com", CustomID: "", blocked: false, hard_bounce: false, error_related_to: "mailbox", error: "mailbox full" },
        { ...base, event: "blocked", Message_GUID: "g-3", email: "blocked@mailjet.com", CustomID: "", error_related_to: "recipient", error: "user unknown" },
        { ...base, event: "blocked", Message_GUID: "g-4", email: "content@mailjet.com", CustomID: "", error_related_to: "content", error: "spam preblocked" },
        { ...base, event: "spam", Message_GUID: "g-5", email: "spam@mailjet.com", CustomID: "", source: "JMRPP" },
        { ...base, event: "unsub", Message_GUID: "g-6", email: "unsub@mailjet.com", CustomID: "", mj_list_id: 1, ip: "127.0.0.1", geo: "FR", agent: "Mozilla" },
        { ...base, event: "click", Message_GUID: "g-7", email: "click@mailjet.com", CustomID: "", url: "https://mailjet.com" },
        { ...base, event: "sent", Message_GUID: "g-8", email: "sent@mailjet.com", CustomID: "", smtp_reply: "sent (250 2.0.0 OK)" }
      ])
    )
    expect(mapped.map((m) => [m.type, m.kind, m.email])).toEqual([
      ["bounced", "hard", "bounce@mailjet.com"],
      ["bounced", "soft", "soft@mailjet.com"],
      ["bounced", "hard", "blocked@mailjet.com"],
      ["complained", undefined, "spam@mailjet.com"],
      ["unsubscribed", undefined, "unsub@mailjet.com"]
    ])
    expect(mapped[0]).toMatchObject({
      reason: "user unknown: Host or domain name not found",
      provider: "mailjet",
      messageId: "g-1",
      idempotencyKey: "ws/rule/e/0",
      occurredAt: "2015-05-05T07:49:55.000Z"
    })
    expect(mapped[1]!.idempotencyKey).toBeUndefined()
  })

  it("open (as Mailjet documents it) is an open of the mail named by Message_GUID, with the CustomID Rapport's key", () => {
    // Mailjet's documented "open" event.
    const open = {
      event: "open",
      time: 1433103519,
      MessageID: 19421777396190490,
      Message_GUID: "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
      email: "api@mailjet.com",
      mj_campaign_id: 7173,
      mj_contact_id: 320,
      customcampaign: "",
      CustomID: "ws/campaign:c1/ada",
      Payload: "",
      ip: "127.0.0.1",
      geo: "US",
      agent: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0"
    }
    const [mapped] = right(MailWebhooks.mailjet(open))
    expect(mapped).toEqual({
      id: expect.stringMatching(/^mailjet:open:[0-9a-f]{32}$/),
      type: "opened",
      email: "api@mailjet.com",
      provider: "mailjet",
      messageId: "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
      idempotencyKey: "ws/campaign:c1/ada",
      occurredAt: "2015-05-31T20:18:39.000Z"
    })
    const [same, later] = right(MailWebhooks.mailjet([open, { ...open, time: 1433103600 }]))
    expect(same!.id).toBe(mapped!.id)
    expect(later!.id).toMatch(/^mailjet:open:/)
    expect(later!.id).not.toBe(mapped!.id)
    expect(MailWebhooks.mailjet({ ...open, email: "" })).toEqual(Either.left([{ path: ["email"], message: "a Mailjet open event needs the recipient's email address" }]))
  })

  it("maps any JSON without throwing, to reports that decode as MailFeedback", () => {
    const decode = Schema.decodeUnknownEither(Consent.MailFeedback)
    const event = fc.record(
      {
        event: fc.constantFrom("bounce", "blocked", "spam", "unsub", "open", "hard_bounce", "soft_bounce", "complaint", "unsubscribed", "invalid_email"),
        email: fc.oneof(fc.emailAddress(), fc.string()),
        hard_bounce: fc.oneof(fc.boolean(), fc.string()),
        error_related_to: fc.constantFrom("recipient", "content", "domain"),
        time: fc.oneof(fc.integer(), fc.string(), fc.double()),
        ts_event: fc.oneof(fc.integer(), fc.string()),
        "message-id": fc.string(),
        Message_GUID: fc.string(),
        CustomID: fc.string(),
        reason: fc.string({ maxLength: 2000 })
      },
      { requiredKeys: ["event"] }
    )
    fc.assert(
      fc.property(fc.oneof(fc.array(event, { maxLength: 5 }), event, fc.jsonValue()), (payload) => {
        for (const mapper of [MailWebhooks.brevo, MailWebhooks.mailjet]) {
          const mapped = mapper(payload)
          if (Either.isRight(mapped)) for (const report of mapped.right) expect(Either.isRight(decode(report))).toBe(true)
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe("WebhookSignature.verifyToken (Brevo, Mailjet)", () => {
  const secrets = ["first-secret-0123456789abcdef", "second-secret-0123456789abcd"]
  const body = new TextEncoder().encode('{"event":"spam"}')
  const basic = (password: string, user = "rapport") => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` })

  it("accepts any secret as the Basic password or as the URL token; the body's hash stands for the delivery id", () => {
    const viaBasic = WebhookSignature.verifyToken({ secrets, headers: basic(secrets[1]!), body })
    expect(viaBasic).toEqual(Either.right({ webhookId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), timestamp: undefined }))
    const viaToken = WebhookSignature.verifyToken({ secrets, headers: {}, body, token: secrets[0] })
    expect(Either.getOrThrow(viaToken).webhookId).toBe(Either.getOrThrow(viaBasic).webhookId)
  })

  it("refuses a wrong secret, a prefix of one, a missing one; Basic takes precedence over the token", () => {
    expect(WebhookSignature.verifyToken({ secrets, headers: basic("first-secret-0123456789abcde"), body })).toMatchObject(Either.left({ reason: "signature", header: "authorization" }))
    expect(WebhookSignature.verifyToken({ secrets, headers: {}, body, token: "nope" })).toMatchObject(Either.left({ reason: "signature", header: "token" }))
    expect(WebhookSignature.verifyToken({ secrets, headers: {}, body })).toMatchObject(Either.left({ reason: "missingHeader", header: "authorization" }))
    expect(WebhookSignature.verifyToken({ secrets, headers: basic("wrong"), body, token: secrets[0] })).toMatchObject(Either.left({ reason: "signature" }))
  })
})
