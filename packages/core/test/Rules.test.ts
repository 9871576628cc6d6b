import { Crm, Mailer, Mailers } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { failure } from "./helpers.js"

const RulesCrm = Crm.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(SqliteStorage.memoryLayer, Mailers.capturingLayer, Mailer.settingsLayer({ from: "shop@example.com", unsubscribe: { url: "https://shop.example/unsubscribe?t={token}", secret: "s3cret" } })))
)
const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Mailers.CapturingMailer>) => Effect.provide(program, RulesCrm)

const at = (iso: string) => DateTime.toEpochMillis(DateTime.unsafeMake(iso))
const setNow = (iso: string) => TestClock.setTime(at(iso))
const sent = Effect.flatMap(Mailers.CapturingMailer, (m) => m.sent)

const cartRule = (template: string) => ({
  id: "abandoned-cart",
  name: "Cart reminder at D+1",
  on: "cart.abandoned",
  delay: "1 day",
  unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte" as const, value: 1 },
  limits: { oncePer: "event.payload.cartId" },
  actions: [{ type: "sendEmail" as const, template }]
})

const reminderTemplate = {
  name: "Cart reminder",
  purpose: "marketing" as const,
  subject: "{{ contact.firstName | \"Hello\" }}, your cart is waiting",
  html: "<p>You left {{ event.payload.cartId }} in your cart.</p><a href=\"{{ unsubscribeUrl }}\">Unsubscribe</a>",
  text: "You left {{ event.payload.cartId }} in your cart. Unsubscribe: {{ unsubscribeUrl }}"
}

const line = { sku: "RED-42", name: "Red shoe", quantity: 1, unitPrice: { amountMinor: 4990, currency: "EUR" } }

describe("rules with delays", () => {
  it.effect("abandoned cart: the reminder goes at D+1, exactly once", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
        yield* crm.consent.grant(ada.id, { source: "signup-form" })
        const template = yield* crm.templates.create(reminderTemplate)
        yield* crm.rules.create(cartRule(template.id))
        const emitted = yield* crm.events.emit({ id: "cart-1", type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
        expect(emitted.triggered.map((t) => [t.ruleId, t.delayed, DateTime.formatIso(t.dueAt)])).toEqual([["abandoned-cart", true, "2025-06-03T18:00:00.000Z"]])

        expect((yield* crm.dispatcher.runDue()).claimed).toBe(0)
        yield* TestClock.adjust(Duration.hours(23))
        yield* crm.dispatcher.runDue()
        expect(yield* sent).toEqual([])

        yield* TestClock.adjust(Duration.hours(1))
        const report = yield* crm.dispatcher.runDue()
        expect(report).toMatchObject({ claimed: 2, done: 2, dead: 0 })
        const mails = yield* sent
        expect(mails.map((m) => [m.to, m.subject])).toEqual([["ada@example.com", "Ada, your cart is waiting"]])
        expect(mails[0]!.text).toContain("You left c-1 in your cart")
        expect(mails[0]!.headers?.["List-Unsubscribe"]).toMatch(/^<https:\/\/shop\.example\/unsubscribe\?t=/)

        // The same event again, and later runs, send nothing more.
        expect((yield* crm.events.emit({ id: "cart-1", type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })).duplicate).toBe(true)
        yield* TestClock.adjust(Duration.days(3))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).length).toBe(1)
        const timeline = yield* crm.timeline.list(ada.id, { kinds: ["email"] })
        expect(timeline.items.map((e) => e.summary)).toEqual(["Email sent: Ada, your cart is waiting"])
      })
    ))

  it.effect("abandoned cart: no reminder when an order came in between", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const template = yield* crm.templates.create(reminderTemplate)
        yield* crm.rules.create(cartRule(template.id))
        yield* crm.events.emit({ id: "cart-1", type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
        yield* TestClock.adjust(Duration.hours(2))
        yield* crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        yield* TestClock.adjust(Duration.days(1))
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ claimed: 1, skipped: 1 })
        expect(yield* sent).toEqual([])
        const [check] = (yield* crm.dispatcher.jobs({ ruleId: "abandoned-cart" })).items
        expect(check?.status).toBe("skipped")
        expect(String(check?.outcome?.["reason"])).toContain('"unless" holds: count of order.placed since the trigger gte 1 (found 1)')
      })
    ))

  // Regression: sinceTrigger counted only events strictly after the trigger's instant, so an order
  // stamped in the same millisecond as the cart (one clock tick, one emitMany batch, one shop
  // timestamp) still let the D+1 reminder go.
  it.effect("abandoned cart: an order in the same millisecond as the cart counts as bought since; one a millisecond before does not", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const template = yield* crm.templates.create(reminderTemplate)
        yield* crm.rules.create(cartRule(template.id))
        const customer = (email: string) => Effect.tap(crm.contacts.create({ email }), (c) => crm.consent.grant(c.id))
        const [ada, bruno, claire] = [yield* customer("ada@example.com"), yield* customer("bruno@example.com"), yield* customer("claire@example.com")]
        const order = (contactId: string, orderId: string, occurredAt?: string) =>
          ({ type: "order.placed", contactId, payload: { orderId, lines: [line] }, ...(occurredAt === undefined ? {} : { occurredAt }) })
        const cart = (contactId: string, cartId: string, occurredAt?: string) =>
          ({ type: "cart.abandoned", contactId, payload: { cartId }, ...(occurredAt === undefined ? {} : { occurredAt }) })
        // Ada: two emits on one clock tick, the order after the cart.
        yield* crm.events.emit(cart(ada.id, "c-ada"))
        yield* crm.events.emit(order(ada.id, "o-ada"))
        // Bruno: one batch whose events the shop stamped alike, the order listed first.
        yield* crm.events.emitMany([order(bruno.id, "o-bruno", "2025-06-02T17:59:59.123Z"), cart(bruno.id, "c-bruno", "2025-06-02T17:59:59.123Z")])
        // Claire: the order a millisecond before the cart is not "since" it: she is reminded.
        yield* crm.events.emitMany([order(claire.id, "o-claire", "2025-06-02T17:59:59.122Z"), cart(claire.id, "c-claire", "2025-06-02T17:59:59.123Z")])
        yield* TestClock.adjust(Duration.days(1))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.to)).toEqual(["claire@example.com"])
        const checks = (yield* crm.dispatcher.jobs({ ruleId: "abandoned-cart" })).items.filter((j) => j.kind === "check")
        expect(checks.map((j) => [j.contactId, j.status, j.status === "skipped" ? String(j.outcome?.["reason"]) : null]).sort()).toEqual(
          [
            [ada.id, "skipped", '"unless" holds: count of order.placed since the trigger gte 1 (found 1)'],
            [bruno.id, "skipped", '"unless" holds: count of order.placed since the trigger gte 1 (found 1)'],
            [claire.id, "done", null]
          ].sort()
        )
      })
    ))

  it.effect("sinceTrigger never counts the triggering event itself: a single order fires rules that wait for no second order", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        const mail = (subject: string) => Effect.map(crm.templates.create({ name: subject, purpose: "transactional", subject, text: "Hello" }), (t) => [{ type: "sendEmail" as const, template: t.id }])
        const noOtherOrder = { count: { event: "order.placed", sinceTrigger: true }, op: "eq" as const, value: 0 }
        const anotherOrder = { count: { event: "order.placed", sinceTrigger: true }, op: "gte" as const, value: 1 }
        const anotherPaidOrder = { count: { event: "order.placed", sinceTrigger: true, where: { path: "event.payload.orderId", op: "exists" as const } }, op: "gte" as const, value: 1 }
        // Read three ways: by the emit's batched questions (when), by a count at the check (unless), page by page (where).
        yield* crm.rules.create({ name: "Thanks at once", on: "order.placed", when: noOtherOrder, actions: yield* mail("Thanks") })
        yield* crm.rules.create({ name: "Win-back", on: "order.placed", delay: "1 day", unless: anotherOrder, actions: yield* mail("We miss you") })
        yield* crm.rules.create({ name: "Win-back (where)", on: "order.placed", delay: "1 day", unless: anotherPaidOrder, actions: yield* mail("Still there?") })
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        yield* TestClock.adjust(Duration.days(1))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject).sort()).toEqual(["Still there?", "Thanks", "We miss you"])
      })
    ))

  it.effect("sinceTrigger: of two events of the rule's own type in one millisecond neither stops the other's rule; one a millisecond later does, as does another type's in the same one", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const template = yield* crm.templates.create(reminderTemplate)
        // The shop's rule: not if the customer ordered since, nor if a newer cart state was reported (that one is reminded).
        const nothingSince = { count: { event: ["order.placed", "cart.abandoned"], sinceTrigger: true }, op: "eq" as const, value: 0 }
        yield* crm.rules.create({ ...cartRule(template.id), unless: { not: nothingSince }, limits: {} })
        // The same count read when the event is recorded (by the emit's batched questions, not at a check).
        yield* crm.rules.create({ id: "cart-noticed", name: "Cart noticed", on: "cart.abandoned", when: nothingSince, actions: [{ type: "addTag", tag: "cart" }] })
        const customer = (email: string) => Effect.tap(crm.contacts.create({ email }), (c) => crm.consent.grant(c.id))
        const [ada, bruno, claire, dora] = [
          yield* customer("ada@example.com"),
          yield* customer("bruno@example.com"),
          yield* customer("claire@example.com"),
          yield* customer("dora@example.com")
        ]
        const cart = (contactId: string, cartId: string, occurredAt: string) => ({ type: "cart.abandoned", contactId, occurredAt, payload: { cartId } })
        const noticed = (events: Parameters<typeof crm.events.emitMany>[0]) =>
          Effect.map(crm.events.emitMany(events), (results) => results.map((r) => r.triggered.some((t) => t.ruleId === "cart-noticed")))
        // Which of Ada's two carts came first is unknown: each is reminded (the rule's limits are the place to keep one).
        expect(yield* noticed([cart(ada.id, "c-a1", "2025-06-02T17:00:00.000Z"), cart(ada.id, "c-a2", "2025-06-02T17:00:00.000Z")])).toEqual([true, true])
        // Bruno's second cart is a millisecond later: only it is reminded (when the first was recorded, the second was not yet).
        expect(yield* noticed([cart(bruno.id, "c-b1", "2025-06-02T17:00:00.000Z"), cart(bruno.id, "c-b2", "2025-06-02T17:00:00.001Z")])).toEqual([true, true])
        // Dora's later cart is recorded first: the earlier one, recorded next, sees it already.
        expect(yield* noticed([cart(dora.id, "c-d2", "2025-06-02T17:00:00.001Z"), cart(dora.id, "c-d1", "2025-06-02T17:00:00.000Z")])).toEqual([true, false])
        // Claire's order in her cart's millisecond counts in the same count, recorded before or after it.
        const order = { type: "order.placed", contactId: claire.id, occurredAt: "2025-06-02T17:00:00.000Z", payload: { orderId: "o-c", lines: [line] } }
        expect(yield* noticed([order, cart(claire.id, "c-c1", "2025-06-02T17:00:00.000Z")])).toEqual([false, false])
        yield* TestClock.adjust(Duration.days(1))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => `${m.to} ${m.text?.match(/c-\w+/)?.[0]}`).sort()).toEqual([
          "ada@example.com c-a1",
          "ada@example.com c-a2",
          "bruno@example.com c-b2",
          "dora@example.com c-d2"
        ])
      })
    ))

  it.effect("rules.simulate: a stored order in the simulated cart's millisecond makes its unless hold", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const template = yield* crm.templates.create(reminderTemplate)
        yield* crm.rules.create(cartRule(template.id))
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        const simulate = (occurredAt: string) =>
          Effect.map(crm.rules.simulate({ event: { type: "cart.abandoned", contactId: ada.id, occurredAt, payload: { cartId: "c-1" } } }), (s) => s.rules.map((r) => r.unless?.holds))
        expect(yield* simulate("2025-06-02T18:00:00.000Z")).toEqual([true])
        expect(yield* simulate("2025-06-02T18:00:00.001Z")).toEqual([false])
      })
    ))

  it.effect("one reminder per cart, however often the cart is reported abandoned", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T18:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const template = yield* crm.templates.create(reminderTemplate)
        yield* crm.rules.create(cartRule(template.id))
        for (const [id, hours] of [["cart-1a", 0], ["cart-1b", 3], ["cart-1c", 30]] as const) {
          yield* TestClock.adjust(Duration.hours(hours))
          yield* crm.events.emit({ id, type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
          yield* crm.dispatcher.runDue()
        }
        yield* TestClock.adjust(Duration.days(3))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).length).toBe(1)
        yield* crm.events.emit({ id: "cart-2", type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-2" } })
        yield* TestClock.adjust(Duration.days(1))
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.text?.match(/c-\d/)?.[0])).toEqual(["c-1", "c-2"])
      })
    ))

  for (const [side, eventAt, dueAt] of [
    ["before the spring change (clocks go forward on 30 March)", "2025-03-29T20:00:00Z", "2025-03-30T08:00:00.000Z"],
    ["after the spring change", "2025-03-30T09:00:00Z", "2025-03-31T08:00:00.000Z"],
    ["before the autumn change (clocks go back on 26 October)", "2025-10-25T20:00:00Z", "2025-10-26T09:00:00.000Z"],
    ["after the autumn change", "2025-10-26T09:30:00Z", "2025-10-27T09:00:00.000Z"]
  ] as const) {
    it.effect(`a "next 10:00" delay lands at 10:00 in Paris ${side}`, () =>
      run(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          yield* crm.settings.update({ timezone: "Europe/Paris" })
          yield* setNow(eventAt)
          const ada = yield* crm.contacts.create({ email: "ada@example.com" })
          const template = yield* crm.templates.create({ name: "Morning", subject: "Good morning", text: "Hello" })
          yield* crm.rules.create({ name: "Next morning", on: "page.viewed", delay: "next 10:00", actions: [{ type: "sendEmail", template: template.id }] })
          const { triggered } = yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
          expect(triggered.map((t) => DateTime.formatIso(t.dueAt))).toEqual([dueAt])
          yield* TestClock.setTime(at(dueAt) - 60_000)
          yield* crm.dispatcher.runDue()
          expect((yield* sent).length).toBe(0)
          yield* TestClock.setTime(at(dueAt))
          yield* crm.dispatcher.runDue()
          expect((yield* sent).length).toBe(1)
          const local = DateTime.unsafeMakeZoned(at(dueAt), { timeZone: "Europe/Paris" })
          expect([DateTime.getPart(local, "hours"), DateTime.getPart(local, "minutes")]).toEqual([10, 0])
        })
      ))
  }

  it.effect("a contact's own timezone wins over the workspace's", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.settings.update({ timezone: "Europe/Paris" })
        yield* setNow("2025-06-02T12:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com", timezone: "America/New_York" })
        const template = yield* crm.templates.create({ name: "Morning", subject: "Good morning", text: "Hello" })
        yield* crm.rules.create({ name: "Next morning", on: "page.viewed", delay: { after: "1 day", at: "10:00" }, actions: [{ type: "sendEmail", template: template.id }] })
        const { triggered } = yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
        // 08:00 in New York on 2 June, plus a day, then the next 10:00 there (14:00 UTC).
        expect(triggered.map((t) => DateTime.formatIso(t.dueAt))).toEqual(["2025-06-03T14:00:00.000Z"])
      })
    ))

  it.effect("a quote with no answer for 7 days becomes a follow-up call", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T09:00:00Z")
        const bruno = yield* crm.contacts.create({ email: "bruno@example.com", firstName: "Bruno", ownerId: "sales:lea" })
        const answered = yield* crm.contacts.create({ email: "claire@example.com", firstName: "Claire" })
        yield* crm.rules.create({
          id: "quote-follow-up",
          name: "Call back after a week of silence",
          on: "quote.sent",
          delay: "7 days",
          unless: { count: { event: ["quote.accepted", "quote.declined", "email.replied"], sinceTrigger: true }, op: "gte", value: 1 },
          actions: [{ type: "createTask", title: "Call {{ contact.firstName }} about {{ event.payload.quoteRef }}", channel: "call", due: "1 day" }]
        })
        yield* crm.events.emit({ type: "quote.sent", contactId: bruno.id, payload: { quoteRef: "Q-7" } })
        yield* crm.events.emit({ type: "quote.sent", contactId: answered.id, payload: { quoteRef: "Q-8" } })
        yield* TestClock.adjust(Duration.days(2))
        yield* crm.events.emit({ type: "email.replied", contactId: answered.id })
        yield* TestClock.adjust(Duration.days(4))
        yield* crm.dispatcher.runDue()
        expect((yield* crm.tasks.list()).items).toEqual([])
        yield* TestClock.adjust(Duration.days(1))
        yield* crm.dispatcher.runDue()
        const tasks = (yield* crm.tasks.list()).items
        expect(tasks.map((t) => [t.title, t.channel, t.ownerId, t.contactId, DateTime.formatIso(t.dueAt)])).toEqual([
          ["Call Bruno about Q-7", "call", "sales:lea", bruno.id, "2025-06-10T09:00:00.000Z"]
        ])
      })
    ))
})

describe("limits, consent and caps", () => {
  it.effect("a cooldown lets a rule act once per window", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T09:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.rules.create({ name: "Engaged", on: "page.viewed", limits: { cooldown: "1 day" }, actions: [{ type: "adjustScore", by: 5 }] })
        for (let i = 0; i < 5; i++) {
          yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: `/p/${i}` } })
          yield* TestClock.adjust(Duration.hours(3))
        }
        yield* crm.dispatcher.runDue()
        expect((yield* crm.contacts.get(ada.id)).score).toBe(5)
        yield* TestClock.adjust(Duration.hours(10))
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/again" } })
        yield* crm.dispatcher.runDue()
        expect((yield* crm.contacts.get(ada.id)).score).toBe(10)
      })
    ))

  it.effect("marketing mail needs consent and stops at unsubscribe; transactional mail always goes", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T09:00:00Z")
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        const offer = yield* crm.templates.create({ ...reminderTemplate, name: "Offer", subject: "Red shoes for you" })
        const receipt = yield* crm.templates.create({ name: "Receipt", subject: "Order {{ event.payload.orderId }} confirmed", text: "Thanks!" })
        yield* crm.rules.create({ name: "Offer", on: "page.viewed", actions: [{ type: "sendEmail", template: offer.id }] })
        yield* crm.rules.create({ name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: receipt.id, transactional: true }] })
        const view = (n: number) => crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: `/${n}` } })

        yield* view(1)
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Order o-1 confirmed"])

        yield* crm.consent.grant(ada.id)
        yield* view(2)
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Order o-1 confirmed", "Red shoes for you"])

        const url = yield* crm.consent.unsubscribeUrl(ada.id)
        const token = decodeURIComponent(new URL(url).searchParams.get("t")!)
        const result = yield* crm.consent.unsubscribe(token)
        expect(result.status.unsubscribedAt).not.toBeNull()
        yield* view(3)
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-2", lines: [line] } })
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Order o-1 confirmed", "Red shoes for you", "Order o-2 confirmed"])
        const skippedJobs = (yield* crm.dispatcher.jobs({ status: "skipped" })).items
        expect(skippedJobs.map((j) => j.outcome?.["reason"])).toEqual([
          "no consent for marketing mail (never given, withdrawn, or unsubscribed)",
          "no consent for marketing mail (never given, withdrawn, or unsubscribed)"
        ])
        expect((yield* failure(crm.consent.unsubscribe(`${token}x`)))._tag).toBe("ValidationError")
      })
    ))

  it.effect("the frequency cap holds back marketing mail beyond it, never transactional mail", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2025-06-02T09:00:00Z")
        yield* crm.settings.update({ frequencyCap: { max: 2, per: "7 days" } })
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.consent.grant(ada.id)
        const offer = yield* crm.templates.create({ ...reminderTemplate, name: "Offer", subject: "Offer {{ event.payload.url }}" })
        const receipt = yield* crm.templates.create({ name: "Receipt", subject: "Receipt {{ event.payload.orderId }}", text: "Thanks!" })
        yield* crm.rules.create({ name: "Offer", on: "page.viewed", actions: [{ type: "sendEmail", template: offer.id }] })
        yield* crm.rules.create({ name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: receipt.id }] })
        for (const day of [0, 1, 2, 3]) {
          yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: `/d${day}` } })
          yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: `o-${day}`, lines: [line] } })
          yield* crm.dispatcher.runDue()
          yield* TestClock.adjust(Duration.days(1))
        }
        yield* TestClock.adjust(Duration.days(4))
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/d8" } })
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Offer /d0", "Receipt o-0", "Offer /d1", "Receipt o-1", "Receipt o-2", "Receipt o-3", "Offer /d8"])
        const skipped = (yield* crm.dispatcher.jobs({ status: "skipped" })).items
        expect(skipped.map((j) => j.outcome?.["reason"])).toEqual([
          "frequency cap: 2 marketing mails in the last 7 days (at most 2)",
          "frequency cap: 2 marketing mails in the last 7 days (at most 2)"
        ])
      })
    ))

  it.effect("oncePerContact: a welcome mail goes once, even to a contact created twice over", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const welcome = yield* crm.templates.create({ name: "Welcome", subject: "Welcome {{ contact.firstName | \"friend\" }}", text: "Hi" })
        yield* crm.rules.create({ name: "Welcome", on: "contact.created", limits: { oncePerContact: true }, actions: [{ type: "sendEmail", template: welcome.id }, { type: "addTag", tag: "welcomed" }] })
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
        yield* crm.events.emit({ type: "contact.created", contactId: ada.id })
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Welcome Ada"])
        expect((yield* crm.contacts.get(ada.id)).tags).toEqual(["welcomed"])
        // Created by an event for an unknown email: the rule on contact.created acts too.
        const created = yield* crm.events.emit({ type: "page.viewed", email: "bob@example.com", payload: { url: "/" } })
        expect(created.triggered.map((t) => t.ruleId).length).toBe(1)
        yield* crm.dispatcher.runDue()
        expect((yield* sent).map((m) => m.subject)).toEqual(["Welcome Ada", "Welcome friend"])
      })
    ))
})
