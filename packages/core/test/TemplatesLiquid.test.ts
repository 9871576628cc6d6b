// Templates in Liquid through the services: the save checks per event type, previews, per-locale
// variants chosen by the contact's locale, and rule mails rendered with an order's lines.
import { Crm, Errors, Mailer, Mailers } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as DateTime from "effect/DateTime"
import { failure } from "./helpers.js"

const MailCrm = Crm.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      SqliteStorage.memoryLayer,
      Mailers.capturingLayer,
      Mailer.settingsLayer({ from: "shop@example.com", unsubscribe: { url: "https://shop.example/unsubscribe?t={token}", secret: "s3cret" } })
    )
  )
)
const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Mailers.CapturingMailer>) => Effect.provide(program, MailCrm)
const sent = Effect.flatMap(Mailers.CapturingMailer, (m) => m.sent)
const issuesOf = (error: unknown) => (error as Errors.ValidationError).issues.map((i) => [i.path.join("."), i.message])

const receipt = {
  name: "Order receipt",
  subject: "Order {{ order.id }} confirmed",
  html: "<ul>{% for line in order.lines %}<li>{{ line.quantity }} × {{ line.name }}: {{ line.total | money }}</li>{% endfor %}</ul><p>Total: {{ order.total | money }}</p>",
  text: "{% for line in order.lines %}{{ line.quantity }} × {{ line.name }}: {{ line.total | money }}\n{% endfor %}Total: {{ order.total | money }}, {{ event.occurredAt | date: 'datetime' }}"
}
const lines = [
  { sku: "S-1", name: "Red <shoes>", quantity: 1, unitPrice: { amountMinor: 8900, currency: "EUR" } },
  { sku: "K-3", name: "Socks", quantity: 2, unitPrice: { amountMinor: 1250, currency: "EUR" } }
]

describe("templates in Liquid", () => {
  it.effect("save checks: unknown variables (per event type with check), the unsubscribe link, spam words as warnings", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "siret", type: "text" })
        const bad = yield* failure(crm.templates.create({ name: "x", subject: "Hi {{ contact.fristName }}", text: "{% for l in order.lines %}{{ l.nmae }}{% endfor %}{{ contact.fields.siret }}{{ contact.fields.vat }}" }))
        expect(issuesOf(bad)).toEqual([
          ["subject", "unknown variable contact.fristName on line 1"],
          ["text", "unknown variable order.lines.*.nmae on line 1"],
          ["text", "unknown variable contact.fields.vat on line 1"]
        ])
        // Without an event type a variable of any event type is accepted; with one, only that type's.
        const content = { ...receipt, name: "Receipt" }
        expect((yield* crm.templates.check(content)).valid).toBe(true)
        expect((yield* crm.templates.check(content, { eventType: "order.placed" })).valid).toBe(true)
        const forCart = yield* crm.templates.check(content, { eventType: "cart.abandoned" })
        expect(forCart.issues.map((i) => i.message)).toContain("unknown variable order.id on line 1")
        const promo = yield* crm.templates.check({ name: "Promo", purpose: "marketing", subject: "FREE SHOES", text: "{% if contact.firstName %}Hi{% endif %} 100% free" })
        expect(promo.issues).toEqual([{ path: ["text"], message: expect.stringContaining("a marketing mail needs an unsubscribe link") }])
        expect(promo.warnings.map((w) => w.message)).toEqual(expect.arrayContaining(['contains "free", which spam filters watch for', 'contains "100%", which spam filters watch for']))
      })
    ))

  it.effect("preview: a sample order or the given one, in the contact's locale and timezone", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "locale", type: "select", options: ["fr-FR", "en-GB"] })
        const template = yield* crm.templates.create(receipt)
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada", timezone: "Europe/Paris", fields: { locale: "fr-FR" } })
        const sample = yield* crm.templates.preview(template.id, { contactId: ada.id, event: "order.placed" })
        expect(sample).toMatchObject({ subject: "Order SAMPLE-1001 confirmed", locale: null, event: { type: "order.placed", sample: true } })
        expect(sample.html).toBe("<ul><li>1 × Red shoes: 89,00\u00a0€</li><li>2 × Socks (3 pairs): 25,00\u00a0€</li></ul><p>Total: 114,00\u00a0€</p>")
        const given = yield* crm.templates.preview(template.id, {
          contactId: ada.id,
          event: { type: "order.placed", payload: { orderId: "A-7", lines }, occurredAt: "2026-12-07T23:30:00Z" }
        })
        expect(given.text).toBe("1 × Red <shoes>: 89,00\u00a0€\n2 × Socks: 25,00\u00a0€\nTotal: 114,00\u00a0€, 8 décembre 2026 à 00:30")
        expect(given.html).toContain("Red &lt;shoes&gt;")
        expect(given.event).toEqual({ type: "order.placed", sample: false })
        // A given payload is checked like an emitted one.
        const wrong = yield* failure(crm.templates.preview(template.id, { contactId: ada.id, event: { type: "order.placed", payload: { orderId: "A-8", lines: [] } } }))
        expect(issuesOf(wrong)).toEqual([["event.payload.lines", expect.stringContaining("at least one line")]])
        expect(yield* failure(crm.templates.preview(template.id, { contactId: "0190a6e2-7c3b-7def-8abc-0123456789ab" }))).toMatchObject({ _tag: "NotFound", entity: "contact" })
      })
    ))

  it.effect("locale variants: chosen by the contact's locale field, else the workspace's country, else the template; checked like it; versions go up", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "locale", type: "text" })
        const template = yield* crm.templates.create({ name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello!" })
        const fr = yield* crm.templates.setLocale(template.id, "fr", { subject: "Bienvenue {{ contact.firstName }}", text: "Bonjour !" })
        expect(fr).toMatchObject({ locale: "fr", subject: "Bienvenue {{ contact.firstName }}" })
        expect((yield* crm.templates.get(template.id)).version).toBe(2)
        const bad = yield* failure(crm.templates.setLocale(template.id, "en-GB", { subject: "{{ contact.nope }}", text: "x" }))
        expect(issuesOf(bad)).toEqual([["locales.en-GB.subject", "unknown variable contact.nope on line 1"]])
        expect(issuesOf(yield* failure(crm.templates.setLocale(template.id, "french", { subject: "x", text: "y" })))[0]![0]).toBe("locale")
        expect(yield* failure(crm.templates.setLocale(template.id, "de", { expectedVersion: 1, subject: "x", text: "y" }))).toMatchObject({ _tag: "Conflict", reason: "version" })

        const zoe = yield* crm.contacts.create({ email: "zoe@example.com", firstName: "Zoé", fields: { locale: "fr-CA" } })
        const bob = yield* crm.contacts.create({ email: "bob@example.com", firstName: "Bob", fields: { locale: "en-US" } })
        const nobody = yield* crm.contacts.create({ email: "anon@example.com", firstName: "Anon" })
        expect(yield* crm.templates.preview(template.id, { contactId: zoe.id })).toMatchObject({ subject: "Bienvenue Zoé", text: "Bonjour !", locale: "fr" })
        expect(yield* crm.templates.preview(template.id, { contactId: bob.id })).toMatchObject({ subject: "Welcome Bob", locale: null })
        expect(yield* crm.templates.preview(template.id, { contactId: bob.id, locale: "fr" })).toMatchObject({ subject: "Bienvenue Bob", locale: "fr" })
        expect(yield* crm.templates.preview(template.id, { contactId: nobody.id })).toMatchObject({ subject: "Welcome Anon", locale: null })
        // A French shop: contacts without a locale of their own read French.
        yield* crm.settings.update({ country: "FR" })
        expect(yield* crm.templates.preview(template.id, { contactId: nobody.id })).toMatchObject({ subject: "Bienvenue Anon", locale: "fr" })

        expect((yield* crm.templates.locales(template.id)).map((v) => v.locale)).toEqual(["fr"])
        yield* crm.templates.removeLocale(template.id, "fr")
        expect(yield* failure(crm.templates.removeLocale(template.id, "fr"))).toMatchObject({ _tag: "NotFound" })
        expect(yield* crm.templates.preview(template.id, { contactId: zoe.id })).toMatchObject({ subject: "Welcome Zoé", locale: null })
        expect((yield* crm.templates.get(template.id)).version).toBe(3)
      })
    ))

  it.effect("a marketing template's variants need the unsubscribe link too", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const template = yield* crm.templates.create({ name: "News", purpose: "marketing", subject: "News", text: "News {{ unsubscribeUrl }}" })
        const bad = yield* failure(crm.templates.setLocale(template.id, "fr", { subject: "Nouvelles", text: "Nouvelles" }))
        expect(issuesOf(bad)).toEqual([["locales.fr.text", expect.stringContaining("needs an unsubscribe link")]])
        const plain = yield* crm.templates.create({ name: "Plain", subject: "Hi", text: "Hi" })
        yield* crm.templates.setLocale(plain.id, "fr", { subject: "Salut", text: "Salut" })
        const toMarketing = yield* failure(crm.templates.update(plain.id, { expectedVersion: 2, purpose: "marketing", text: "Hi {{ unsubscribeUrl }}" }))
        expect(issuesOf(toMarketing)).toEqual([["locales.fr.text", expect.stringContaining("needs an unsubscribe link")]])
      })
    ))

  it.effect("a rule mail on order.placed lists the order's lines, in the contact's locale variant and timezone", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake("2026-12-07T23:30:00Z")))
        yield* crm.fields.define({ key: "locale", type: "text" })
        const template = yield* crm.templates.create(receipt)
        yield* crm.templates.setLocale(template.id, "fr", {
          subject: "Commande {{ order.id }} confirmée",
          text: "{% for line in order.lines %}{{ line.quantity }} × {{ line.name }} : {{ line.total | money }}\n{% endfor %}Total : {{ order.total | money }}, le {{ event.occurredAt | date }}"
        })
        yield* crm.rules.create({ name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: template.id }] })
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada", timezone: "Europe/Paris", fields: { locale: "fr-FR" } })
        const bob = yield* crm.contacts.create({ email: "bob@example.com", firstName: "Bob", timezone: "America/New_York" })
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "A-1", lines } })
        yield* crm.events.emit({ type: "order.placed", contactId: bob.id, payload: { orderId: "B-1", lines: [lines[1]!] } })
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ done: 2, dead: 0 })
        const mails = yield* sent
        const ofAda = mails.find((m) => m.to === "ada@example.com")!
        const ofBob = mails.find((m) => m.to === "bob@example.com")!
        expect([ofAda.subject, ofAda.text, ofAda.html]).toEqual([
          "Commande A-1 confirmée",
          "1 × Red <shoes> : 89,00\u00a0€\n2 × Socks : 25,00\u00a0€\nTotal : 114,00\u00a0€, le 8 décembre 2026",
          undefined
        ])
        expect([ofBob.subject, ofBob.text]).toEqual(["Order B-1 confirmed", "2 × Socks: €25.00\nTotal: €25.00, December 7, 2026 at 6:30 PM"])
        expect(ofBob.html).toBe("<ul><li>2 × Socks: €25.00</li></ul><p>Total: €25.00</p>")
      })
    ))

  it.effect("a deal's follow-up is written in the contact's locale variant, with money and dates in its locale and timezone", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake("2026-12-07T23:30:00Z")))
        yield* crm.fields.define({ key: "locale", type: "text" })
        const template = yield* crm.templates.create({ name: "Quote", subject: "Your quote {{ deal.quoteRef }}", text: "{{ deal.amountMinor | money: deal.currency }} until {{ deal.expectedCloseDate | date }}" })
        yield* crm.templates.setLocale(template.id, "fr", { subject: "Votre devis {{ deal.quoteRef }}", text: "{{ deal.amountMinor | money: deal.currency }} ({{ deal.amount }}) jusqu'au {{ deal.expectedCloseDate | date }}" })
        const zoe = yield* crm.contacts.create({ email: "zoe@example.com", firstName: "Zoé", fields: { locale: "fr-FR" } })
        const bob = yield* crm.contacts.create({ email: "bob@example.com", firstName: "Bob" })
        for (const contact of [zoe, bob]) {
          const deal = yield* crm.deals.create({ title: "Engine", amount: { amountMinor: 1_234_550, currency: "EUR" }, contactId: contact.id, quoteRef: "Q-7", expectedCloseDate: "2026-12-31" })
          yield* crm.deals.followUp(deal.id, { channel: "email", templateId: template.id })
        }
        yield* crm.dispatcher.runDue()
        const mails = yield* sent
        expect(mails.map((m) => [m.to, m.subject, m.text])).toEqual([
          ["zoe@example.com", "Votre devis Q-7", "12\u202f345,50\u00a0€ (12\u202f345,50\u00a0€) jusqu'au 31 décembre 2026"],
          ["bob@example.com", "Your quote Q-7", "€12,345.50 until December 31, 2026"]
        ])
      })
    ))

  it.effect("a template whose render runs past its limits dead-letters its job instead of hanging the dispatcher", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const template = yield* crm.templates.create({ name: "Loop", subject: "Hi", text: "{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}" })
        yield* crm.rules.create({ name: "Loop", on: "page.viewed", actions: [{ type: "sendEmail", template: template.id }] })
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "https://shop.example/" } })
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ done: 0, dead: 1 })
        expect(yield* sent).toEqual([])
      })
    ))
})
