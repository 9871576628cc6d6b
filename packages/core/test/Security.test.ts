// Hostile data at the mail boundary (issue 12, "Security"): no value from data reaches a mail header
// with a line break, URL placeholders cannot smuggle a script scheme into a link, and unsubscribe
// links expire, replay as no-ops and never withdraw a newer opt-in.
import { createCrm, Crm, Deal, Mailer, Mailers, MemoryStorage, memoryStorage, RapportValidationError, Storage } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { failure } from "./helpers.js"

const fc = FastCheck
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const unsubscribe = { url: "https://shop.example/unsubscribe?t={token}", secret: "s3cret" }

const layerWith = (mail: Mailer.MailSettingsService) =>
  Crm.layer.pipe(Layer.provideMerge(Layer.mergeAll(MemoryStorage.layer, Mailers.capturingLayer, Mailer.settingsLayer(mail))))
const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage | Mailers.CapturingMailer>, mail: Mailer.MailSettingsService = { unsubscribe }) =>
  Effect.provide(program, layerWith(mail))
const sent = Effect.flatMap(Mailers.CapturingMailer, (m) => m.sent)

// CR, LF, CRLF, NEL (C1), the Unicode line separator, a tab, another C0 control and DEL.
const BREAKS = ["\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029", "\t", "\u000b", "\u001b", "\u007f"]
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** Every header-bound string of a mail: the addresses, the subject, and each header's name and value. */
const headerStrings = (mail: Mailer.OutgoingMail): ReadonlyArray<string> => [
  mail.to,
  mail.from ?? "",
  mail.replyTo ?? "",
  mail.subject,
  ...Object.entries(mail.headers ?? {}).flat()
]

/** A Promise-client mailer that keeps what it is given. */
const keeping = () => {
  const mails: Array<Mailer.OutgoingMail> = []
  return {
    mails,
    mailer: { layer: Layer.succeed(Mailer.Mailer, { send: (mail: Mailer.OutgoingMail) => Effect.sync(() => (mails.push(mail), { messageId: `m-${mails.length}` })) }) }
  }
}

describe("mail headers: no value from data carries a line break", () => {
  it.effect("a quote reference with a line break or a control character is refused on create, update and sendQuote; nothing is stored", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const buyer = yield* crm.contacts.create({ email: "buyer@example.com" })
        const deal = yield* crm.deals.create({ title: "Fleet", amount: eur(100), contactId: buyer.id, quoteRef: "Q-1" })
        for (const brk of BREAKS) {
          const quoteRef = `Q-2${brk}Bcc: victim@example.com`
          const created = yield* failure(crm.deals.create({ title: "Other", amount: eur(1), contactId: buyer.id, quoteRef }))
          const updated = yield* failure(crm.deals.update(deal.id, { expectedVersion: deal.version, quoteRef }))
          const quoted = yield* failure(crm.deals.sendQuote(deal.id, { quoteRef }))
          for (const error of [created, updated, quoted]) {
            expect(error._tag).toBe("ValidationError")
            expect(error._tag === "ValidationError" ? error.issues.map((i) => i.path.join(".")) : []).toEqual(["quoteRef"])
          }
        }
        expect((yield* crm.deals.list()).items.map((d) => [d.title, d.quoteRef, d.version])).toEqual([["Fleet", "Q-1", 1]])
        expect((yield* crm.timeline.list(buyer.id, { kinds: ["quoteSent"] })).items).toEqual([])
      })
    ))

  it.effect("a follow-up mail puts a stored multi-line quote reference (from before the rule) on one line in its subject and header", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const storage = yield* Storage.Storage
        const buyer = yield* crm.contacts.create({ email: "buyer@example.com", firstName: "Ada" })
        const deal = yield* crm.deals.create({ title: "Fleet", amount: eur(100), contactId: buyer.id })
        // Written past the input schema, as a database from an earlier version may hold it.
        yield* storage.deals.update(new Deal.Deal({ ...deal, quoteRef: "Q-7\r\nBcc: victim@example.com\u2028X-Evil: 1", version: deal.version + 1 }), deal.version)
        const template = yield* crm.templates.create({ name: "Nudge", subject: "About {{ deal.quoteRef }}, {{ contact.firstName }}", text: "Hello" })
        const result = yield* crm.deals.followUp(deal.id, { channel: "email", templateId: template.id })
        const mails = yield* sent
        expect(mails.length).toBe(1)
        for (const value of headerStrings(mails[0]!)) expect(value).not.toMatch(CONTROL)
        expect(mails[0]!.headers?.["X-Rapport-Quote-Ref"]).toBe("Q-7 Bcc: victim@example.com X-Evil: 1")
        expect(mails[0]!.subject).toBe("About Q-7 Bcc: victim@example.com X-Evil: 1, Ada")
        expect(result.mail?.subject).toBe(mails[0]!.subject)
      })
    ))

  it.effect("a rule mail's headers stay on one line whatever the settings hold; an address with a line break is refused, not sent", () =>
    Effect.gen(function* () {
      const program = Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
        yield* crm.consent.grant(ada.id)
        const template = yield* crm.templates.create({ name: "Offer", purpose: "marketing", subject: "Offer", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
        yield* crm.rules.create({ id: "offer", name: "Offer", on: "offer.requested", actions: [{ type: "sendEmail", template: template.id }] })
        yield* crm.events.emit({ type: "offer.requested", contactId: ada.id, payload: {} })
        const report = yield* crm.dispatcher.runDue()
        const jobs = (yield* crm.dispatcher.jobs()).items
        return { report, mails: yield* sent, errors: jobs.map((j) => j.lastError) }
      })
      const injected = yield* run(program, { unsubscribe: { ...unsubscribe, url: "https://shop.example/u?t={token}\r\nBcc: victim@example.com" } })
      expect(injected.report).toMatchObject({ done: 1, dead: 0 })
      expect(injected.mails.length).toBe(1)
      for (const value of headerStrings(injected.mails[0]!)) expect(value).not.toMatch(CONTROL)
      expect(injected.mails[0]!.headers?.["List-Unsubscribe"]).toMatch(/^<https:\/\/shop\.example\/u\?t=[^ ]+ Bcc: victim@example\.com>$/)

      const badFrom = yield* run(program, { from: "shop@example.com\r\nBcc: victim@example.com", unsubscribe })
      expect(badFrom.report).toMatchObject({ done: 0, dead: 1 })
      expect(badFrom.mails).toEqual([])
      expect(badFrom.errors[0]).toMatch(/from: must be one line/)
    }))

  it.prop("safeMail: subject and header values come out on one line; a line break in an address or header name is refused", [fc.string({ unit: "binary" }), fc.constantFrom(...BREAKS), fc.string()], ([value, brk, text]) => {
    const safe = Either.getOrThrow(Mailer.safeMail({ to: "a@example.com", subject: `${value}${brk}${text}`, headers: { "X-Ref": `${text}${brk}${value}` }, idempotencyKey: "k" }))
    for (const s of headerStrings(safe)) expect(s).not.toMatch(CONTROL)
    expect(safe.subject).toBe(Mailer.headerValue(`${value}${brk}${text}`))
    const refused = Mailer.safeMail({ to: `a@example.com${brk}Bcc: b@example.com`, subject: "s", headers: { [`X-A${brk}B`]: "v" }, idempotencyKey: "k" })
    expect(Either.isLeft(refused) ? refused.left.issues.map((i) => i.path.join(".")) : []).toEqual(["to", `headers.X-A${brk}B`])
  })

  it("Promise client: a multi-line quote reference is a RapportValidationError naming quoteRef, and nothing is stored", async () => {
    const { mailer } = keeping()
    const crm = await createCrm({ storage: memoryStorage(), mailer })
    try {
      const buyer = await crm.contacts.create({ email: "buyer@example.com" })
      const error = await crm.deals.create({ title: "Fleet", amount: eur(1), contactId: buyer.id, quoteRef: "Q-1\r\nBcc: victim@example.com" }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RapportValidationError)
      expect((error as RapportValidationError).issues.map((i) => i.path.join("."))).toEqual(["quoteRef"])
      expect((await crm.deals.list()).items).toEqual([])
    } finally {
      await crm.close()
    }
  })

  it("Promise client: a rule mail hands the provider one-line headers even when the unsubscribe URL holds a line break", async () => {
    const { mailer, mails } = keeping()
    const crm = await createCrm({ storage: memoryStorage(), mailer, mail: { unsubscribe: { ...unsubscribe, url: "https://shop.example/u\nBcc: victim@example.com?t={token}" } } })
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", fields: {} })
      await crm.consent.grant(ada.id)
      const offer = await crm.templates.create({ name: "Offer", purpose: "marketing", subject: "Offer for {{ contact.firstName }}", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
      await crm.rules.create({ id: "offer", name: "Offer", on: "offer.requested", actions: [{ type: "sendEmail", template: offer.id }] })
      await crm.events.emit({ type: "offer.requested", contactId: ada.id, payload: {} })
      expect(await crm.dispatcher.runDue()).toMatchObject({ done: 1, dead: 0 })
      expect(mails.length).toBe(1)
      for (const value of headerStrings(mails[0]!)) expect(value).not.toMatch(CONTROL)
      expect(mails[0]!.headers?.["List-Unsubscribe"]).toContain("u Bcc: victim@example.com?t=")
    } finally {
      await crm.close()
    }
  })
})
