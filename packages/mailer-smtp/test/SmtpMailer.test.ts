// The SMTP mailer against a real SMTP server on loopback (smtp-server, parsed with mailparser):
// what arrives (headers, both parts, UTF-8, attachments, DKIM), Message-IDs derived from the
// idempotency key, and how the dispatcher treats 4xx, 5xx and connection failures.
import { Mailer, type MailerProvider, RapportValidationError } from "@rapport/core"
import { SmtpMailer, smtpMailer } from "@rapport/mailer-smtp"
import { createTestCrm, type TestCrm } from "@rapport/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { generateKeyPairSync } from "node:crypto"
import { afterEach, describe, expect, it } from "vitest"
import { dkimTags, verifyDkim } from "./dkim.js"
import { startServer, type TestServer } from "./server.js"

const servers: Array<TestServer> = []
const crms: Array<TestCrm> = []
afterEach(async () => {
  await Promise.all(crms.splice(0).map((crm) => crm.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

const server = async () => {
  const s = await startServer()
  servers.push(s)
  return s
}

const options = (port: number, extra: Partial<SmtpMailer.SmtpMailerOptions> = {}): SmtpMailer.SmtpMailerOptions => ({
  host: "127.0.0.1",
  port,
  from: '"Boutique Élise" <bonjour@boutique.example>',
  timeouts: { connection: 10_000, greeting: 10_000, socket: 20_000 },
  ...extra
})

/** Sends mails through the Effect layer, then closes it (and its pool). */
const sendAll = (layer: Layer.Layer<Mailer.Mailer, unknown>, mails: ReadonlyArray<Mailer.OutgoingMail>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const mailer = yield* Mailer.Mailer
      return yield* Effect.forEach(mails, (mail) => Effect.either(mailer.send(mail)))
    }).pipe(Effect.provide(layer), Effect.scoped)
  )

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString()

const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a, 0x00, 0xff, 0x80, 0x0d, 0x0a, 0x25, 0x25, 0x45, 0x4f, 0x46])

describe("SmtpMailer.layer over a real SMTP server", () => {
  it("delivers headers, the text and HTML parts, accents in subject and body, an attachment, and a DKIM signature that verifies", async () => {
    const smtp = await server()
    const layer = SmtpMailer.layer(
      options(smtp.port, { replyTo: "ventes@boutique.example", dkim: { domainName: "boutique.example", keySelector: "rapport2026", privateKey: pem } })
    )
    const [result] = await sendAll(layer, [
      {
        to: "zoe@example.com",
        subject: "Votre devis n°42 — réponse attendue ✓",
        text: "Bonjour Zoé,\nvoici le devis à signer : 1 234,50 €.",
        html: "<p>Bonjour <b>Zoé</b>, voici le devis à signer : 1&nbsp;234,50&nbsp;€.</p>",
        headers: { "X-Rapport-Rule": "rule-1", "X-Rapport-Quote-Ref": "Q-42" },
        attachments: [{ filename: "devis-n°42.pdf", contentType: "application/pdf", content: pdf }],
        idempotencyKey: "ws/deals.followUp/d-1/k-1"
      }
    ])
    expect(result?._tag).toBe("Right")
    expect(smtp.received).toHaveLength(1)
    const [mail] = smtp.received
    const parsed = mail!.parsed
    expect(parsed.subject).toBe("Votre devis n°42 — réponse attendue ✓")
    expect(parsed.text?.trim()).toBe("Bonjour Zoé,\nvoici le devis à signer : 1 234,50 €.")
    expect(parsed.html).toContain("<b>Zoé</b>, voici le devis à signer : 1&nbsp;234,50&nbsp;€.")
    expect(parsed.from?.value).toEqual([{ address: "bonjour@boutique.example", name: "Boutique Élise" }])
    expect(parsed.replyTo?.value.map((a) => a.address)).toEqual(["ventes@boutique.example"])
    expect([mail!.envelopeFrom, mail!.envelopeTo]).toEqual(["bonjour@boutique.example", ["zoe@example.com"]])
    expect(parsed.headers.get("x-rapport-rule")).toBe("rule-1")
    expect(parsed.headers.get("x-rapport-quote-ref")).toBe("Q-42")
    expect(parsed.messageId).toBe(SmtpMailer.messageIdFor("ws/deals.followUp/d-1/k-1", "boutique.example"))
    expect(result?._tag === "Right" && result.right.messageId).toBe(parsed.messageId)
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, [...a.content]])).toEqual([["devis-n°42.pdf", "application/pdf", [...pdf]]])
    const tags = dkimTags(mail!.raw)
    expect([tags?.["d"], tags?.["s"], tags?.["a"]]).toEqual(["boutique.example", "rapport2026", "rsa-sha256"])
    expect(tags?.["h"]?.toLowerCase().split(":")).toEqual(expect.arrayContaining(["from", "subject", "to", "message-id"]))
    expect(verifyDkim(mail!.raw, publicKey)).toBe(true)
    // The verifier is not a rubber stamp: the same mail with one changed word fails it.
    expect(verifyDkim(mail!.raw.replace("=C3=A0 signer", "=C3=A0 payer"), publicKey)).not.toBe(true)
  })

  it("gives one idempotency key one Message-ID on every hand-over, and two keys two", async () => {
    const smtp = await server()
    const mail = { to: "ada@example.com", subject: "Hi", text: "Hello", idempotencyKey: "ws/rule/event/0" }
    const results = await sendAll(SmtpMailer.layer(options(smtp.port, { messageIdDomain: "mail.boutique.example" })), [
      mail,
      mail,
      { ...mail, idempotencyKey: "ws/rule/event/1" }
    ])
    const ids = smtp.received.map((r) => r.parsed.messageId)
    expect(ids[0]).toMatch(/^<[0-9a-f]{40}@mail\.boutique\.example>$/)
    expect(ids[1]).toBe(ids[0])
    expect(ids[2]).not.toBe(ids[0])
    expect(results.map((r) => (r._tag === "Right" ? r.right.messageId : r.left.message))).toEqual(ids)
  })

  it("maps a 451 reply to unavailable, a 550 to rejected with the server's answer, and a refused connection to unavailable", async () => {
    const smtp = await server()
    const mail = { to: "ada@example.com", subject: "Hi", text: "Hello", idempotencyKey: "k" }
    const layer = SmtpMailer.layer(options(smtp.port, { pool: false }))
    smtp.answer = { code: 451, message: "4.7.1 Greylisted, try again later" }
    const [greylisted] = await sendAll(layer, [mail])
    smtp.answer = { code: 550, message: "5.1.1 <ada@example.com>: mailbox unavailable" }
    const [refused] = await sendAll(layer, [mail])
    await smtp.close()
    const [unreachable] = await sendAll(layer, [mail])
    servers.splice(0)
    const errors = [greylisted, refused, unreachable].map((r) => (r?._tag === "Left" ? [r.left.reason, r.left.message] : ["sent", ""]))
    expect(errors[0]).toEqual(["unavailable", expect.stringContaining("451 4.7.1 Greylisted, try again later")])
    expect(errors[1]).toEqual(["rejected", expect.stringContaining("550 5.1.1 <ada@example.com>: mailbox unavailable")])
    expect(errors[2]![0]).toBe("unavailable")
    expect(errors[2]![1]).toMatch(/ECONNECTION|ESOCKET|ECONNREFUSED/)
  })

  it("keeps at most pool.maxConnections connections open while sending many mails at once", async () => {
    const smtp = await server()
    const mails = Array.from({ length: 12 }, (_, i) => ({ to: `c${i}@example.com`, subject: `Mail ${i}`, text: "Hello", idempotencyKey: `k-${i}` }))
    await Effect.runPromise(
      Effect.gen(function* () {
        const mailer = yield* Mailer.Mailer
        yield* Effect.forEach(mails, (mail) => mailer.send(mail), { concurrency: "unbounded" })
      }).pipe(Effect.provide(SmtpMailer.layer(options(smtp.port, { pool: { maxConnections: 2, maxMessages: 100 } }))), Effect.scoped)
    )
    expect(smtp.received.map((r) => r.parsed.subject).sort()).toEqual(mails.map((m) => m.subject).sort())
    expect(smtp.peakConnections()).toBeLessThanOrEqual(2)
    expect(smtp.connections()).toBeLessThanOrEqual(2)
  })

  it("refuses bad options at once, naming each", () => {
    let thrown: unknown
    try {
      smtpMailer({ host: "", port: 70_000, secure: true, requireTLS: true, pool: { maxConnections: 0 }, dkim: { domainName: "x y", keySelector: "s", privateKey: "not a key" } })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RapportValidationError)
    expect((thrown as RapportValidationError).issues.map((i) => i.path.join("."))).toEqual([
      "host",
      "port",
      "requireTLS",
      "pool.maxConnections",
      "dkim.domainName",
      "dkim.privateKey",
      "messageIdDomain"
    ])
  })
})

describe("the dispatcher with the SMTP mailer (createTestCrm, virtual clock)", () => {
  const welcome = async (crm: TestCrm) => {
    const template = await crm.templates.create({ name: "Bienvenue", subject: "Bienvenue {{ contact.firstName }} !", text: "Merci, {{ contact.firstName }}.", html: "<p>Merci, {{ contact.firstName }}.</p>" })
    await crm.rules.create({ id: "welcome", name: "Welcome", on: "signed.up", actions: [{ type: "sendEmail", template: template.id }] })
    const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Adèle" })
    await crm.events.emit({ type: "signed.up", contactId: ada.id })
    const mailJob = async () => (await crm.dispatcher.jobs()).items.find((j) => j.kind === "action" && j.action?.type === "sendEmail")!
    return { mailJob }
  }

  const testCrm = async (mailer: MailerProvider, mail?: Mailer.MailSettingsService) => {
    const crm = await createTestCrm({ mailer, ...(mail === undefined ? {} : { mail }) })
    crms.push(crm)
    return crm
  }

  it("a 451 leaves the job pending with the reply recorded; the retry after backoff delivers it, with the key's Message-ID", async () => {
    const smtp = await server()
    const crm = await testCrm(smtpMailer(options(smtp.port)))
    const { mailJob } = await welcome(crm)
    smtp.answer = { code: 451, message: "4.3.0 Mailbox busy, try later" }
    expect(await crm.dispatcher.runDue()).toMatchObject({ retried: 1, dead: 0 })
    expect(await mailJob()).toMatchObject({ status: "pending", attempts: 1, lastError: expect.stringContaining("451 4.3.0 Mailbox busy, try later") })
    expect(smtp.received).toHaveLength(0)
    smtp.answer = null
    expect(await crm.clock.advance("10 minutes")).toMatchObject({ done: 1 })
    const job = await mailJob()
    expect(job.status).toBe("done")
    expect(smtp.attempts()).toBe(2)
    expect(smtp.received.map((r) => [r.parsed.subject, r.parsed.text?.trim(), r.parsed.html])).toEqual([["Bienvenue Adèle !", "Merci, Adèle.", "<p>Merci, Adèle.</p>"]])
    expect(job.outcome?.["messageId"]).toBe(smtp.received[0]!.parsed.messageId)
    expect(smtp.received[0]!.parsed.messageId).toBe(SmtpMailer.messageIdFor(crm.mails.attempts()[0]!.idempotencyKey, "boutique.example"))
  })

  it("a 550 dead-letters the job at once with the server's answer, and it is never tried again", async () => {
    const smtp = await server()
    const crm = await testCrm(smtpMailer(options(smtp.port)))
    const { mailJob } = await welcome(crm)
    smtp.answer = { code: 550, message: "5.1.1 <ada@example.com>: Recipient address rejected: User unknown" }
    expect(await crm.dispatcher.runDue()).toMatchObject({ dead: 1, retried: 0 })
    expect(await mailJob()).toMatchObject({
      status: "dead",
      lastError: expect.stringContaining("550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown")
    })
    smtp.answer = null
    await crm.clock.advance("2 days")
    expect(smtp.attempts()).toBe(1)
    expect(smtp.received).toHaveLength(0)
  })

  it("a server that cannot be reached leaves the job pending, to be retried", async () => {
    const smtp = await server()
    const port = smtp.port
    await smtp.close()
    servers.splice(0)
    const crm = await testCrm(smtpMailer(options(port)))
    const { mailJob } = await welcome(crm)
    expect(await crm.dispatcher.runDue()).toMatchObject({ retried: 1, dead: 0 })
    expect(await mailJob()).toMatchObject({ status: "pending", lastError: expect.stringMatching(/ECONNECTION|ESOCKET|ECONNREFUSED/) })
  })

  it("a crash between the hand-over and the record sends the mail again under the same Message-ID, the one the job records", async () => {
    const smtp = await server()
    let crashes = 1
    // The SMTP server accepts the mail, then this process "dies" before recording it.
    const crashing = Layer.effect(
      Mailer.Mailer,
      Effect.map(Mailer.Mailer, (smtpMailer) =>
        Mailer.Mailer.of({
          send: (mail) =>
            Effect.flatMap(smtpMailer.send(mail), (receipt) =>
              crashes-- > 0 ? Effect.fail(new Mailer.MailerError({ message: "process died before recording", reason: "unavailable" })) : Effect.succeed(receipt)
            )
        })
      )
    ).pipe(Layer.provide(SmtpMailer.layer(options(smtp.port))), Layer.orDie)
    const crm = await testCrm({ layer: crashing })
    const { mailJob } = await welcome(crm)
    await crm.dispatcher.runDue()
    await crm.clock.advance("1 hour")
    const job = await mailJob()
    expect(job.status).toBe("done")
    const ids = smtp.received.map((r) => r.parsed.messageId)
    expect(ids).toHaveLength(2)
    expect(new Set(ids).size).toBe(1)
    expect(job.outcome?.["messageId"]).toBe(ids[0])
  })

  it("marketing mail carries one List-Unsubscribe header with the HTTPS link and a mailto, and List-Unsubscribe-Post", async () => {
    const smtp = await server()
    const crm = await testCrm(smtpMailer(options(smtp.port)), {
      from: "news@boutique.example",
      unsubscribe: { url: "https://boutique.example/unsubscribe?token={token}", secret: "s3cret", mailto: "desabonnement@boutique.example" }
    })
    const template = await crm.templates.create({ name: "Soldes", purpose: "marketing", subject: "Les soldes", html: '<p>Soldes</p><a href="{{ unsubscribeUrl }}">Se désabonner</a>' })
    await crm.rules.create({ id: "sale", name: "Sale", on: "sale.started", actions: [{ type: "sendEmail", template: template.id }] })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.consent.grant(ada.id)
    await crm.events.emit({ type: "sale.started", contactId: ada.id })
    expect(await crm.dispatcher.runDue()).toMatchObject({ done: 1 })
    const [mail] = smtp.received
    const lines = mail!.parsed.headerLines.filter((h) => h.key === "list-unsubscribe")
    expect(lines).toHaveLength(1)
    const value = lines[0]!.line.replace(/^list-unsubscribe:\s*/i, "").replace(/\r?\n[ \t]+/g, " ")
    const [https, mailto] = value.split(/,\s*/)
    expect(https).toMatch(/^<https:\/\/boutique\.example\/unsubscribe\?token=[^>]+>$/)
    expect(mailto).toMatch(/^<mailto:desabonnement@boutique\.example\?subject=unsubscribe%20[^>]+>$/)
    // Both carry the same signed token, the one consent.unsubscribe accepts.
    const token = decodeURIComponent(https!.slice(https!.indexOf("token=") + 6, -1))
    expect(decodeURIComponent(mailto!.slice(mailto!.indexOf("subject=") + 8, -1))).toBe(`unsubscribe ${token}`)
    expect(mail!.parsed.headerLines.filter((h) => h.key === "list-unsubscribe-post").map((h) => h.line)).toEqual(["List-Unsubscribe-Post: List-Unsubscribe=One-Click"])
  })

  it("a deal's follow-up sends the quote's PDF attached, through the outbox", async () => {
    const smtp = await server()
    const crm = await testCrm(smtpMailer(options(smtp.port)))
    const buyer = await crm.contacts.create({ email: "achats@client.example", firstName: "Léa" })
    const deal = await crm.deals.create({ title: "Flotte", amount: { amountMinor: 123_450, currency: "EUR" }, contactId: buyer.id, quoteRef: "D-2026-042" })
    const template = await crm.templates.create({ name: "Relance", subject: "Votre devis", text: "Bonjour {{ contact.firstName }}, voici le devis." })
    const result = await crm.deals.followUp(deal.id, {
      channel: "email",
      templateId: template.id,
      attachments: [
        { filename: "D-2026-042.pdf", contentType: "application/pdf", content: pdf },
        { filename: "conditions.txt", contentType: "text/plain; charset=utf-8", content: Buffer.from("Conditions générales", "utf8").toString("base64") }
      ]
    })
    expect(result.mail).toMatchObject({ status: "queued" })
    expect(await crm.dispatcher.runDue()).toMatchObject({ done: 1 })
    const [mail] = smtp.received
    expect(mail!.parsed.subject).toBe("Votre devis [D-2026-042]")
    expect(mail!.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString("base64")])).toEqual([
      ["D-2026-042.pdf", "application/pdf", Buffer.from(pdf).toString("base64")],
      ["conditions.txt", "text/plain", Buffer.from("Conditions générales", "utf8").toString("base64")]
    ])
  })
})
