// Hostile data at the mail boundary (issue 12, "Security"): no value from data reaches a mail header
// with a line break, URL placeholders cannot smuggle a script scheme into a link, and unsubscribe
// links expire, replay as no-ops and never withdraw a newer opt-in.
import { createCrm, Crm, Deal, Mailer, Mailers, RapportValidationError, Storage, Template } from "@rapport/core"
import { SqliteStorage, memoryStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import { createHmac } from "node:crypto"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { failure } from "./helpers.js"

const fc = FastCheck
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const unsubscribe = { url: "https://shop.example/unsubscribe?t={token}", secret: "s3cret" }

const layerWith = (mail: Mailer.MailSettingsService) =>
  Crm.layer.pipe(Layer.provideMerge(Layer.mergeAll(SqliteStorage.memoryLayer, Mailers.capturingLayer, Mailer.settingsLayer(mail))))
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
        yield* crm.dispatcher.runDue()
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

describe("URL placeholders in mails", () => {
  it.effect("a follow-up and a rule mail link a contact's website only when it is http(s) or mailto", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "website", label: "Website", type: "text" })
        const html = '<a href="{{ contact.fields.website }}">Your site</a> <a href="{{ unsubscribeUrl }}">stop</a>'
        const evil = yield* crm.contacts.create({ email: "evil@example.com", fields: { website: " JaVa\tScRiPt:alert(document.cookie)" } })
        const good = yield* crm.contacts.create({ email: "good@example.com", fields: { website: "https://good.example/?a=1&b=2" } })
        const nudge = yield* crm.templates.create({ name: "Nudge", subject: "Hi", html: '<a href="{{ contact.fields.website }}">Your site</a>' })
        const deal = yield* crm.deals.create({ title: "Site", amount: eur(1), contactId: evil.id })
        yield* crm.deals.followUp(deal.id, { channel: "email", templateId: nudge.id })
        const offer = yield* crm.templates.create({ name: "Offer", purpose: "marketing", subject: "Offer", html })
        yield* crm.rules.create({ id: "offer", name: "Offer", on: "offer.requested", actions: [{ type: "sendEmail", template: offer.id }] })
        for (const contact of [evil, good]) {
          yield* crm.consent.grant(contact.id)
          yield* crm.events.emit({ type: "offer.requested", contactId: contact.id, payload: {} })
        }
        yield* crm.dispatcher.runDue()
        const mails = yield* sent
        expect(mails.map((m) => [m.to, /^<a href="([^"]*)">Your site/.exec(m.html ?? "")?.[1]])).toEqual([
          ["evil@example.com", Template.blockedUrl],
          ["evil@example.com", Template.blockedUrl],
          ["good@example.com", "https://good.example/?a=1&amp;b=2"]
        ])
      })
    ))

  it("Promise client: a javascript: website renders as the blocked URL in a follow-up mail", async () => {
    const { mailer, mails } = keeping()
    const crm = await createCrm({ storage: memoryStorage(), mailer })
    try {
      await crm.fields.define({ key: "website", label: "Website", type: "text" })
      const buyer = await crm.contacts.create({ email: "buyer@example.com", fields: { website: "data:text/html,<script>alert(1)</script>" } })
      const deal = await crm.deals.create({ title: "Site", amount: eur(1), contactId: buyer.id })
      const template = await crm.templates.create({ name: "Nudge", subject: "Hi", html: "<a href={{ contact.fields.website }}>site</a>" })
      await crm.deals.followUp(deal.id, { channel: "email", templateId: template.id })
      await crm.dispatcher.runDue()
      expect(mails.map((m) => m.html)).toEqual([`<a href=${Template.blockedUrl}>site</a>`])
    } finally {
      await crm.close()
    }
  })
})

const tokenOf = (url: string) => decodeURIComponent(new URL(url).searchParams.get("t") ?? "")
const setNow = (iso: string) => TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake(iso)))
/** A token as Rapport made them before 0.4.0: workspace and contact, no issue time. */
const legacyToken = (secret: string, workspaceId: string, contactId: string) => {
  const payload = Buffer.from(JSON.stringify([workspaceId, contactId]), "utf8").toString("base64url")
  return `${payload}.${createHmac("sha256", secret).update(payload).digest("base64url")}`
}
const payloadOf = (token: string): ReadonlyArray<unknown> => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"))

/** The contact's stored consent records and consent events (their types, sorted): what an unsubscribe may write. */
const written = (contactId: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage.Storage
    const crm = yield* Crm.Crm
    const workspaceId = (yield* crm.settings.get).id
    const contact = contactId as Parameters<typeof storage.consents.list>[1]
    const records = (yield* storage.consents.list(workspaceId, contact)).map((r) => [r.purpose, r.granted, DateTime.formatIso(r.at)])
    const events = (yield* storage.events.forContact(workspaceId, contact, { limit: 100 })).filter((e) => e.type.startsWith("consent.")).map((e) => e.type).sort()
    return { records, events }
  })

describe("unsubscribe links", () => {
  it.effect("a link expires after its lifetime (365 days by default); an expired link writes nothing", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2026-01-01T00:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const token = tokenOf(yield* crm.consent.unsubscribeUrl(ada.id))
        expect(payloadOf(token)[2]).toBe(DateTime.toEpochMillis(DateTime.unsafeMake("2026-01-01T00:00:00Z")))
        yield* TestClock.adjust(Duration.sum(Duration.days(365), Duration.millis(1)))
        const before = yield* written(ada.id)
        const error = yield* failure(crm.consent.unsubscribe(token))
        expect(error._tag === "ValidationError" ? error.issues : []).toEqual([
          { path: ["token"], message: "has expired: it was issued on 2026-01-01T00:00:00.000Z and unsubscribe links work for 365d" }
        ])
        expect(yield* written(ada.id)).toEqual(before)
        // The same link a day earlier still worked.
        yield* setNow("2026-12-31T00:00:00Z")
        expect((yield* crm.consent.unsubscribe(token)).status.unsubscribedAt).toBe("2026-12-31T00:00:00.000Z")
      })
    ))

  it.effect("the lifetime is configurable with the unsubscribe settings, and a bad one is refused", () =>
    Effect.gen(function* () {
      const program = Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        const token = tokenOf(yield* crm.consent.unsubscribeUrl(ada.id))
        yield* TestClock.adjust(Duration.days(8))
        return yield* Effect.either(crm.consent.unsubscribe(token))
      })
      const week = yield* run(program, { unsubscribe: { ...unsubscribe, lifetime: "7 days" } })
      expect(Either.isLeft(week) ? week.left.message : "").toMatch(/token: has expired: .* work for 7d/)
      const month = yield* run(program, { unsubscribe: { ...unsubscribe, lifetime: Duration.days(30) } })
      expect(Either.isRight(month)).toBe(true)
      for (const lifetime of ["-1 minute", "0 millis", Duration.infinity] satisfies ReadonlyArray<Duration.DurationInput>) {
        const bad = yield* run(program, { unsubscribe: { ...unsubscribe, lifetime } })
        expect(Either.isLeft(bad) && bad.left._tag === "ValidationError" ? bad.left.issues.map((i) => i.path.join(".")) : []).toEqual(["unsubscribe.lifetime"])
      }
    }))

  it.effect("a replayed link is a no-op: no new event, nothing written", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const token = tokenOf(yield* crm.consent.unsubscribeUrl(ada.id))
        yield* TestClock.adjust(Duration.minutes(5))
        const first = yield* crm.consent.unsubscribe(token)
        const after = yield* written(ada.id)
        expect(after.events).toEqual(["consent.granted", "consent.unsubscribed"])
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust(Duration.minutes(5))
          expect(yield* crm.consent.unsubscribe(token)).toEqual(first)
          expect(yield* written(ada.id)).toEqual(after)
        }
      })
    ))

  it.effect("an old link does not withdraw a newer opt-in: neither after a re-subscription nor for a purpose granted after the link", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2026-03-01T00:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const old = tokenOf(yield* crm.consent.unsubscribeUrl(ada.id))
        // Unsubscribed through the link, then opted in again: the old link changes nothing now.
        yield* setNow("2026-03-02T00:00:00Z")
        yield* crm.consent.unsubscribe(old)
        yield* setNow("2026-03-03T00:00:00Z")
        yield* crm.consent.grant(ada.id, { source: "signup-form" })
        const resubscribed = yield* written(ada.id)
        yield* setNow("2026-03-04T00:00:00Z")
        expect((yield* crm.consent.unsubscribe(old)).status).toEqual(yield* crm.consent.status(ada.id))
        expect((yield* crm.consent.status(ada.id)).purposes["marketing"]?.granted).toBe(true)
        expect(yield* written(ada.id)).toEqual(resubscribed)

        // A link from a mail sent before a newsletter opt-in withdraws marketing, not the newsletter.
        const bob = yield* crm.contacts.create({ email: "bob@example.com" })
        yield* crm.consent.grant(bob.id)
        const sentBefore = tokenOf(yield* crm.consent.unsubscribeUrl(bob.id))
        yield* setNow("2026-03-05T00:00:00Z")
        yield* crm.consent.grant(bob.id, { purpose: "newsletter" })
        yield* setNow("2026-03-06T00:00:00Z")
        const status = (yield* crm.consent.unsubscribe(sentBefore)).status
        expect([status.purposes["marketing"]?.granted, status.purposes["newsletter"]?.granted]).toEqual([false, true])
        expect((yield* written(bob.id)).events).toEqual(["consent.granted", "consent.granted", "consent.unsubscribed"])
      })
    ))

  it.effect("a rule mail's link carries its issue time: it unsubscribes once, and the contact's later opt-in gets mail again", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const offer = yield* crm.templates.create({ name: "Offer", purpose: "marketing", subject: "Offer", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
        yield* crm.rules.create({ id: "offer", name: "Offer", on: "offer.requested", actions: [{ type: "sendEmail", template: offer.id }] })
        const request = (id: string) => Effect.zipRight(crm.events.emit({ id, type: "offer.requested", contactId: ada.id, payload: {} }), crm.dispatcher.runDue())
        yield* request("r-1")
        const token = tokenOf(/^<(.*)>$/.exec((yield* sent)[0]!.headers?.["List-Unsubscribe"] ?? "")![1]!)
        yield* TestClock.adjust(Duration.hours(1))
        yield* crm.consent.unsubscribe(token)
        yield* request("r-2")
        yield* TestClock.adjust(Duration.hours(1))
        yield* crm.consent.grant(ada.id)
        yield* TestClock.adjust(Duration.hours(1))
        yield* crm.consent.unsubscribe(token)
        yield* request("r-3")
        expect((yield* sent).length).toBe(2)
        expect((yield* written(ada.id)).events).toEqual(["consent.granted", "consent.granted", "consent.unsubscribed"])
      })
    ))

  it.effect("a link made before 0.4.0 (no issue time) or re-dated is refused, and writes nothing", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const token = tokenOf(yield* crm.consent.unsubscribeUrl(ada.id))
        const [workspaceId, contactId, issuedAt] = payloadOf(token) as [string, string, number]
        const before = yield* written(ada.id)
        const legacy = yield* failure(crm.consent.unsubscribe(legacyToken(unsubscribe.secret, workspaceId, contactId)))
        expect(legacy.message).toMatch(/token: was made before Rapport 0\.4\.0 and carries no issue time/)
        const redated = `${Buffer.from(JSON.stringify([workspaceId, contactId, issuedAt + 86_400_000])).toString("base64url")}.${token.split(".")[1]}`
        expect((yield* failure(crm.consent.unsubscribe(redated))).message).toMatch(/token: is not a valid unsubscribe token/)
        expect(yield* written(ada.id)).toEqual(before)
      })
    ))

  it("Promise client: links expire, a replay changes nothing, and an old link leaves a newer opt-in alone", async () => {
    const crm = await createCrm({ storage: memoryStorage(), mail: { unsubscribe } })
    const shortLived = await createCrm({ storage: memoryStorage(), mail: { unsubscribe: { ...unsubscribe, lifetime: "1 millis" } } })
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      await crm.consent.grant(ada.id)
      const token = tokenOf(await crm.consent.unsubscribeUrl(ada.id))
      await new Promise((resolve) => setTimeout(resolve, 5))
      const first = await crm.consent.unsubscribe(token)
      expect(first.status.unsubscribedAt).not.toBeNull()
      await new Promise((resolve) => setTimeout(resolve, 5))
      await crm.consent.grant(ada.id, { source: "signup-form" })
      await new Promise((resolve) => setTimeout(resolve, 5))
      const replay = await crm.consent.unsubscribe(token)
      expect(replay.status.purposes["marketing"]?.granted).toBe(true)
      const unsubscribed = (await crm.timeline.list(ada.id)).items.filter((e) => e.summary === "Unsubscribed from all marketing mail")
      expect(unsubscribed.length).toBe(1)

      const bob = await shortLived.contacts.create({ email: "bob@example.com" })
      const expiring = tokenOf(await shortLived.consent.unsubscribeUrl(bob.id))
      await new Promise((resolve) => setTimeout(resolve, 5))
      const error = await shortLived.consent.unsubscribe(expiring).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RapportValidationError)
      expect((error as RapportValidationError).issues[0]?.message).toMatch(/^has expired/)
    } finally {
      await crm.close()
      await shortLived.close()
    }
  })
})
