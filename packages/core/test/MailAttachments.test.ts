// Mail plumbing for real providers: files attached to a deal's follow-up (checked, bounded, carried
// through the outbox to the Mailer), the one List-Unsubscribe header with its mailto, and the
// console mailer printing whole mails.
import { createCrm, type CrmClient, Mailer, Mailers, RapportValidationError } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { afterEach, describe, expect, it, vi } from "vitest"

const open: Array<CrmClient> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((crm) => crm.close()))
  vi.restoreAllMocks()
})

const capturing = async (mail?: Mailer.MailSettingsService) => {
  const sent: Array<Mailer.OutgoingMail> = []
  const crm = await createCrm({
    storage: memoryStorage(),
    mailer: { layer: Layer.succeed(Mailer.Mailer, Mailer.Mailer.of({ send: (m) => Effect.sync(() => (sent.push(m), { messageId: `m-${sent.length}` })) })) },
    ...(mail === undefined ? {} : { mail })
  })
  open.push(crm)
  return { crm, sent }
}

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(RapportValidationError)
  return (error as RapportValidationError).issues.map((i) => [i.path.join("."), i.message])
}

const pdf = Uint8Array.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x0d, 0x0a, 0x80])
const base = { to: "ada@example.com", subject: "Devis", text: "Bonjour", idempotencyKey: "k" }

describe("safeMail and attachments", () => {
  it("keeps attachments that fit, bytes untouched", () => {
    const mail = { ...base, attachments: [{ filename: "devis n°42.pdf", contentType: "application/pdf", content: pdf }] }
    const checked = Mailer.safeMail(mail)
    expect(Either.isRight(checked) && checked.right.attachments).toEqual(mail.attachments)
  })

  it("refuses a file name that is not one line, a content type that is not a media type, and more than 10 MB in all", () => {
    const checked = Mailer.safeMail({
      ...base,
      attachments: [
        { filename: "devis.pdf\r\nBcc: everyone@example.com", contentType: "application/pdf", content: pdf },
        { filename: "ok.pdf", contentType: "application/pdf\r\nX-Evil: 1", content: pdf },
        { filename: "big.bin", contentType: "application/octet-stream", content: new Uint8Array(Mailer.maxAttachmentBytes) }
      ]
    })
    expect(Either.isLeft(checked) && checked.left.issues.map((i) => i.path.join("."))).toEqual(["attachments.0.filename", "attachments.1.contentType", "attachments"])
  })

  it("accepts exactly 10 MB in all", () => {
    const half = new Uint8Array(Mailer.maxAttachmentBytes / 2)
    const checked = Mailer.safeMail({ ...base, attachments: [{ filename: "a", contentType: "application/pdf", content: half }, { filename: "b", contentType: "application/pdf", content: half }] })
    expect(Either.isRight(checked)).toBe(true)
  })
})

describe("deals.followUp with attachments", () => {
  const setUp = async () => {
    const { crm, sent } = await capturing()
    const buyer = await crm.contacts.create({ email: "achats@client.example" })
    const deal = await crm.deals.create({ title: "Flotte", amount: { amountMinor: 100, currency: "EUR" }, contactId: buyer.id })
    const template = await crm.templates.create({ name: "Relance", subject: "Votre devis", text: "Bonjour" })
    return { crm, sent, deal, template }
  }

  it("carries a Uint8Array and a base64 string through the outbox to the Mailer, as bytes", async () => {
    const { crm, sent, deal, template } = await setUp()
    const text = new TextEncoder().encode("Conditions générales")
    await crm.deals.followUp(deal.id, {
      channel: "email",
      templateId: template.id,
      attachments: [
        { filename: "devis.pdf", contentType: "application/pdf", content: pdf },
        { filename: "cgv.txt", contentType: "text/plain; charset=utf-8", content: Buffer.from(text).toString("base64") }
      ]
    })
    const [job] = (await crm.dispatcher.jobs()).items
    expect(job?.action).toMatchObject({ type: "mail", attachments: [{ filename: "devis.pdf", content: Buffer.from(pdf).toString("base64") }, { filename: "cgv.txt" }] })
    expect(await crm.dispatcher.runDue()).toMatchObject({ done: 1 })
    expect(sent.map((m) => m.attachments?.map((a) => [a.filename, a.contentType, [...a.content]]))).toEqual([
      [
        ["devis.pdf", "application/pdf", [...pdf]],
        ["cgv.txt", "text/plain; charset=utf-8", [...text]]
      ]
    ])
  })

  it("refuses files over 10 MB in all, a file name with a line break, bad base64, and files without a template; nothing is queued", async () => {
    const { crm, deal, template } = await setUp()
    const email = { channel: "email" as const, templateId: template.id }
    const half = new Uint8Array(Mailer.maxAttachmentBytes / 2 + 1)
    expect(
      await refusal(
        crm.deals.followUp(deal.id, {
          ...email,
          attachments: [
            { filename: "a.pdf", contentType: "application/pdf", content: half },
            { filename: "b.pdf", contentType: "application/pdf", content: half }
          ]
        })
      )
    ).toEqual([["attachments", expect.stringContaining("at most 10485760 (10 MB)")]])
    expect((await refusal(crm.deals.followUp(deal.id, { ...email, attachments: [{ filename: "a.pdf\nBcc: x@example.com", contentType: "application/pdf", content: pdf }] })))[0]![0]).toBe(
      "attachments.0.filename"
    )
    expect((await refusal(crm.deals.followUp(deal.id, { ...email, attachments: [{ filename: "a.pdf", contentType: "application/pdf", content: "not base64!" }] })))[0]![0]).toBe(
      "attachments.0.content"
    )
    expect((await refusal(crm.deals.followUp(deal.id, { channel: "call", attachments: [{ filename: "a.pdf", contentType: "application/pdf", content: pdf }] })))[0]![0]).toBe("attachments")
    expect((await crm.dispatcher.jobs()).items).toEqual([])
  })
})

describe("List-Unsubscribe", () => {
  const marketing = async (mailto: string | undefined) => {
    const { crm, sent } = await capturing({
      from: "news@shop.example",
      unsubscribe: { url: "https://shop.example/unsubscribe?token={token}", secret: "s", ...(mailto === undefined ? {} : { mailto }) }
    })
    const template = await crm.templates.create({ name: "News", purpose: "marketing", subject: "News", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
    await crm.rules.create({ id: "news", name: "News", on: "news.out", actions: [{ type: "sendEmail", template: template.id }] })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.grant(ada.id)
    await crm.events.emit({ type: "news.out", contactId: ada.id })
    const report = await crm.dispatcher.runDue()
    return { crm, sent, report }
  }

  it("is one header with the HTTPS link and a mailto carrying the same token, beside List-Unsubscribe-Post", async () => {
    const { sent } = await marketing("unsubscribe@shop.example")
    const headers = sent[0]!.headers!
    expect(Object.keys(headers).filter((h) => h.toLowerCase() === "list-unsubscribe")).toEqual(["List-Unsubscribe"])
    const match = /^<https:\/\/shop\.example\/unsubscribe\?token=([^>]+)>, <mailto:unsubscribe@shop\.example\?subject=unsubscribe%20([^>]+)>$/.exec(headers["List-Unsubscribe"]!)
    expect(match).not.toBeNull()
    expect(decodeURIComponent(match![2]!)).toBe(decodeURIComponent(match![1]!))
    expect(headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click")
  })

  it("is the HTTPS link alone without a mailto", async () => {
    const { sent } = await marketing(undefined)
    expect(sent[0]!.headers!["List-Unsubscribe"]).toMatch(/^<https:\/\/shop\.example\/unsubscribe\?token=[^>]+>$/)
  })

  it("a mailto that is not a plain address dead-letters the mail, naming the setting", async () => {
    const { crm, sent, report } = await marketing("Shop <unsubscribe@shop.example>")
    expect(report).toMatchObject({ dead: 1 })
    expect(sent).toEqual([])
    expect((await crm.dispatcher.jobs({ status: "dead" })).items[0]?.lastError).toContain("unsubscribe.mailto")
  })
})

describe("the console mailer", () => {
  it("prints the whole mail: headers, the text part, the HTML part and the attachments", async () => {
    const lines: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void lines.push(args.map(String).join(" ")))
    const receipt = await Effect.runPromise(
      Effect.flatMap(Mailer.Mailer, (mailer) =>
        mailer.send({
          ...base,
          from: "shop@example.com",
          replyTo: "sales@example.com",
          html: "<p>Bonjour</p>",
          headers: { "List-Unsubscribe": "<https://shop.example/u>" },
          attachments: [{ filename: "devis.pdf", contentType: "application/pdf", content: pdf }]
        })
      ).pipe(Effect.provide(Mailers.consoleLayer))
    )
    expect(receipt).toEqual({ messageId: "console-k" })
    const printed = lines.join("\n")
    for (const part of [
      "From:        shop@example.com",
      "Reply-To:    sales@example.com",
      "To:          ada@example.com",
      "Subject:     Devis",
      "List-Unsubscribe: <https://shop.example/u>",
      "Attachment:  devis.pdf (application/pdf, 9 bytes)",
      "── text ──\nBonjour",
      "── html ──\n<p>Bonjour</p>"
    ]) {
      expect(printed).toContain(part)
    }
  })
})
