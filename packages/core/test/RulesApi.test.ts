// Rules at run time through both faces: saving (and refusing) rules, A/B splits and their stats,
// simulations, custom actions, retries and dead letters, templates' checks, and GDPR export and
// erasure.
import {
  createCrm,
  Crm,
  CustomActions,
  Mailer,
  Mailers,
  RapportConflictError,
  RapportValidationError,
  Rule
} from "@rapport/core"
import { SqliteStorage, memoryStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { failure } from "./helpers.js"

const unsubscribe = { url: "https://shop.example/unsubscribe/{token}", secret: "s3cret" }
const notified: Array<{ readonly channel: string; readonly key: string }> = []
let failuresLeft = 0
const actions = CustomActions.layer({
  notifySlack: CustomActions.define({
    params: Schema.Struct({ channel: Schema.String.pipe(Schema.startsWith("#")) }),
    run: ({ channel }, context) =>
      failuresLeft-- > 0
        ? Effect.fail(new CustomActions.ActionFailure({ message: "Slack is down", retryable: true }))
        : Effect.sync(() => {
            notified.push({ channel, key: context.idempotencyKey })
            return { posted: true }
          })
  })
})
const ApiCrm = Crm.layer.pipe(Layer.provideMerge(Layer.mergeAll(SqliteStorage.memoryLayer, Mailers.capturingLayer, Mailer.settingsLayer({ unsubscribe }), actions)))
const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Mailers.CapturingMailer>) => Effect.provide(program, ApiCrm)
const sent = Effect.flatMap(Mailers.CapturingMailer, (m) => m.sent)
const line = { sku: "RED-42", name: "Red shoe", quantity: 1, unitPrice: { amountMinor: 4990, currency: "EUR" } }

describe("saving rules", () => {
  it.effect("a rule with problems is refused with every problem named, and nothing is stored", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "colour", type: "select", options: ["red", "white"] })
        const marketing = yield* crm.templates.create({ name: "Offer", purpose: "marketing", subject: "Offer", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
        const error = yield* failure(
          crm.rules.create({
            id: "bad",
            name: "Bad",
            on: "page.viewed",
            when: { all: [{ path: "contact.fields.color", op: "eq", value: "red" }, { path: "contact.fields.colour", op: "eq", value: "blue" }] },
            unless: { path: "event.payload.x", op: "exists" },
            limits: { oncePer: "contact.email" },
            actions: [
              { type: "sendEmail", template: "00000000-0000-7000-8000-00000000abcd" },
              { type: "sendEmail", template: marketing.id, transactional: true },
              { type: "setStage", stage: "vip" },
              { type: "setField", key: "colour", value: "green" },
              { type: "custom", name: "notifyTeams" },
              { type: "custom", name: "notifySlack", params: { channel: "general" } }
            ]
          })
        )
        expect(error._tag).toBe("ValidationError")
        if (error._tag !== "ValidationError") return
        expect(error.issues.map((i) => i.path.join("."))).toEqual([
          "when.all.0.path",
          "when.all.1.value",
          "actions.0.template",
          "actions.1.transactional",
          "actions.2.stage",
          "actions.3.value",
          "actions.4.name",
          "actions.5.params.channel",
          "limits.oncePer",
          "unless"
        ])
        expect(error.message).toContain('no custom action "notifyTeams" is registered (registered: notifySlack)')
        expect(yield* crm.rules.list()).toEqual([])
      })
    ))

  it.effect("shapes are checked when decoded: a bad operator, duration or action says where", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const error = yield* failure(
          crm.rules.create({ name: "Typos", on: "page.viewed", delay: "tomorrow", when: { path: "contact.score", op: ">", value: 3 } as never, actions: [{ type: "sendMail" } as never] })
        )
        expect(error._tag).toBe("ValidationError")
        const paths = error._tag === "ValidationError" ? error.issues.map((i) => i.path.join(".")) : []
        expect(paths).toEqual(expect.arrayContaining(["when.op", "delay", "actions.0.type"]))
      })
    ))

  it.effect("rules are versioned; a field, template or stage a rule uses cannot be removed", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "colour", type: "text" })
        const template = yield* crm.templates.create({ name: "Hi", subject: "Hi", text: "Hi" })
        const rule = yield* crm.rules.create({ id: "hi", name: "Hi", on: "page.viewed", when: { path: "contact.fields.colour", op: "eq", value: "red" }, actions: [{ type: "sendEmail", template: template.id }, { type: "setStage", stage: "fan" }] })
        const updated = yield* crm.rules.update("hi", { expectedVersion: 1, name: "Hello" })
        expect([updated.version, updated.name, updated.actions.length]).toEqual([2, "Hello", 2])
        expect(yield* failure(crm.rules.update("hi", { expectedVersion: 1, name: "Lost" }))).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect(yield* failure(crm.rules.create({ id: "hi", name: "Again", on: "x.y", actions: [{ type: "addTag", tag: "a" }] }))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        expect(yield* failure(crm.fields.remove("contact", "colour"))).toMatchObject({ _tag: "Conflict", reason: "inUse" })
        expect(yield* failure(crm.templates.remove(template.id))).toMatchObject({ _tag: "Conflict", reason: "inUse" })
        expect(yield* failure(crm.lifecycle.configure({ preset: "relationship" }))).toMatchObject({ _tag: "Conflict", reason: "inUse" })
        yield* crm.rules.disable(rule.id)
        expect((yield* crm.rules.list({ enabled: false })).map((r) => r.id)).toEqual(["hi"])
        yield* crm.rules.remove("hi")
        yield* crm.templates.remove(template.id)
        expect(yield* failure(crm.rules.get("hi"))).toMatchObject({ _tag: "NotFound", entity: "rule" })
      })
    ))
})

describe("A/B variants", () => {
  it.effect("contacts are split deterministically; stats count fired, sent and converted per variant", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const a = yield* crm.templates.create({ name: "A", subject: "Come back (A)", text: "A" })
        const b = yield* crm.templates.create({ name: "B", subject: "Come back (B)", text: "B" })
        const rule = yield* crm.rules.create({
          id: "winback",
          name: "Win back",
          on: "cart.abandoned",
          goal: { event: "order.placed", within: "7 days" },
          variants: [
            { key: "A", actions: [{ type: "sendEmail", template: a.id }] },
            { key: "B", actions: [{ type: "sendEmail", template: b.id }] }
          ]
        })
        const contacts = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => crm.contacts.create({ email: `c${i}@example.com` }))
        for (const c of contacts) yield* crm.events.emit({ type: "cart.abandoned", contactId: c.id, payload: { cartId: `cart-${c.id}` } })
        yield* crm.dispatcher.runDue()
        const variantOf = (id: string) => Rule.variantFor(rule, id)?.key
        // Every variant the contact got is the one the hash gives, and both are used.
        const jobs = (yield* crm.dispatcher.jobs({ ruleId: "winback", limit: 500 })).items
        for (const job of jobs) expect(job.variant).toBe(variantOf(job.contactId))
        expect(new Set(jobs.map((j) => j.variant))).toEqual(new Set(["A", "B"]))
        // Ten contacts of variant A buy within the window, one after it.
        const buyers = contacts.filter((c) => variantOf(c.id) === "A").slice(0, 10)
        for (const c of buyers) yield* crm.events.emit({ type: "order.placed", contactId: c.id, payload: { orderId: `o-${c.id}`, lines: [line] } })
        yield* TestClock.adjust(Duration.days(8))
        const late = contacts.find((c) => variantOf(c.id) === "B")!
        yield* crm.events.emit({ type: "order.placed", contactId: late.id, payload: { orderId: `late-${late.id}`, lines: [line] } })
        const stats = yield* crm.rules.stats("winback")
        const inA = contacts.filter((c) => variantOf(c.id) === "A").length
        expect(stats.variants).toEqual([
          { variant: "A", fired: inA, sent: inA, opened: 0, converted: 10, conversionRate: 10 / inA },
          { variant: "B", fired: 40 - inA, sent: 40 - inA, opened: 0, converted: 0, conversionRate: 0 }
        ])
        expect(stats.total).toEqual({ variant: null, fired: 40, sent: 40, opened: 0, converted: 10 })
      })
    ))
})

describe("simulate", () => {
  it.effect("says what each rule would do with an event and why, without doing it", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com", tags: ["vip"] })
        yield* crm.rules.create({ id: "red-shoes", name: "Red shoes", on: "page.viewed", when: { count: { event: "page.viewed", within: "30 days", where: { path: "event.payload.colour", op: "eq", value: "red" } }, op: "gte", value: 3 }, actions: [{ type: "addTag", tag: "red-shoes" }] })
        yield* crm.rules.create({ id: "vip", name: "VIP", on: "page.viewed", when: { path: "contact.tags", op: "contains", value: "vip" }, delay: "1 hour", actions: [{ type: "adjustScore", by: 1 }] })
        yield* crm.rules.create({ id: "off", name: "Off", on: "page.viewed", enabled: false, actions: [{ type: "adjustScore", by: 1 }] })
        for (let i = 0; i < 2; i++) yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/shoes", colour: "red" } })
        const jobsBefore = (yield* crm.dispatcher.jobs()).items.length
        const simulation = yield* crm.rules.simulate({ event: { type: "page.viewed", contactId: ada.id, payload: { url: "/shoes", colour: "red" } } })
        expect(simulation.rules.map((r) => [r.ruleId, r.fires, r.reason])).toEqual([
          ["off", false, "the rule is disabled"],
          ["red-shoes", true, "it would act at once"],
          ["vip", true, "it would check again at the end of its delay"]
        ])
        expect(simulation.rules[1]!.when?.description).toBe("count of page.viewed within 30 days matching where gte 3 (found 3)")
        // Nothing was stored or queued.
        expect((yield* crm.dispatcher.jobs()).items.length).toBe(jobsBefore)
        const stranger = yield* crm.rules.simulate({ event: { type: "page.viewed", email: "new@example.com", payload: { url: "/", colour: "blue" } } })
        expect([stranger.storedContact, stranger.rules.map((r) => r.fires)]).toEqual([false, [false, false, false]])
        expect(yield* crm.contacts.findByEmail("new@example.com")).toMatchObject({ _tag: "None" })
      })
    ))
})

describe("custom actions, retries and dead letters", () => {
  it.effect("a custom action runs with its checked parameters and the job's idempotency key; failures retry with backoff", () =>
    run(
      Effect.gen(function* () {
        notified.length = 0
        failuresLeft = 2
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.rules.create({ id: "slack", name: "Tell sales", on: "order.placed", actions: [{ type: "custom", name: "notifySlack", params: { channel: "#sales" } }] })
        yield* crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ claimed: 1, retried: 1 })
        yield* TestClock.adjust(Duration.seconds(29))
        expect((yield* crm.dispatcher.runDue()).claimed).toBe(0)
        yield* TestClock.adjust(Duration.seconds(1))
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ claimed: 1, retried: 1 })
        // The second retry waits twice as long.
        yield* TestClock.adjust(Duration.seconds(59))
        expect((yield* crm.dispatcher.runDue()).claimed).toBe(0)
        yield* TestClock.adjust(Duration.seconds(1))
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ claimed: 1, done: 1 })
        const [job] = (yield* crm.dispatcher.jobs({ ruleId: "slack" })).items
        expect([job?.status, job?.attempts, job?.outcome, job?.lastError]).toEqual(["done", 3, { result: { posted: true } }, "Slack is down"])
        expect(notified).toEqual([{ channel: "#sales", key: job!.idempotencyKey }])
      })
    ))

  it.effect("a job failing for good is dead-lettered with its reason, and can be retried once mended", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } })
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.rules.create({ id: "promote", name: "Promote", on: "form.submitted", actions: [{ type: "setStage", stage: "customer" }] })
        yield* crm.events.emit({ type: "form.submitted", contactId: ada.id })
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ dead: 1 })
        const [dead] = (yield* crm.dispatcher.jobs({ status: "dead" })).items
        expect(dead?.lastError).toBe(`Cannot move contact ${ada.id} to "customer": fill "siret" first`)
        yield* crm.contacts.update(ada.id, { expectedVersion: (yield* crm.contacts.get(ada.id)).version, fields: { siret: "123" } })
        yield* crm.dispatcher.retry(dead!.id)
        expect(yield* crm.dispatcher.runDue()).toMatchObject({ done: 1 })
        expect((yield* crm.contacts.get(ada.id)).stage).toBe("customer")
        expect(yield* failure(crm.dispatcher.retry(dead!.id))).toMatchObject({ _tag: "ValidationError" })
      })
    ))

  it.effect("after maxAttempts a failing job is dead", () =>
    run(
      Effect.gen(function* () {
        failuresLeft = 100
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.rules.create({ id: "slack", name: "Tell sales", on: "order.placed", actions: [{ type: "custom", name: "notifySlack", params: { channel: "#sales" } }] })
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line] } })
        for (let i = 0; i < 3; i++) {
          yield* crm.dispatcher.runDue({ maxAttempts: 3, retryDelay: "1 second" })
          yield* TestClock.adjust(Duration.minutes(1))
        }
        const [job] = (yield* crm.dispatcher.jobs()).items
        expect([job?.status, job?.attempts, job?.lastError]).toEqual(["dead", 3, "Slack is down"])
      })
    ))
})

describe("templates for rules", () => {
  it.effect("a marketing template needs an unsubscribe link; spam-trigger words are warnings", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const noLink = yield* failure(crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Sale", html: "<p>Sale</p>" }))
        expect(noLink).toMatchObject({ _tag: "ValidationError" })
        expect(noLink._tag === "ValidationError" ? noLink.issues.map((i) => i.path) : []).toEqual([["html"]])
        const review = yield* crm.templates.check({ name: "Promo", purpose: "marketing", subject: "PROMOTION GRATUITE !!!", html: '<p>100% free</p><a href="{{ unsubscribeUrl }}">stop</a>', text: "Cliquez ici pour arrêter : {{ unsubscribeUrl }}" })
        expect(review.valid).toBe(true)
        expect(review.warnings.map((w) => `${w.path[0]}: ${w.message}`)).toEqual([
          'subject: contains "gratuite", which spam filters watch for',
          'subject: contains "promotion", which spam filters watch for',
          'subject: contains "!!!", which spam filters watch for',
          "subject: is in capital letters, which spam filters watch for",
          'html: contains "free", which spam filters watch for',
          'html: contains "100%", which spam filters watch for',
          'text: contains "cliquez ici", which spam filters watch for'
        ])
        const unknown = yield* crm.templates.check({ name: "X", subject: "{{ contact.nickname }}", text: "{{ event.payload.cartId }}" })
        expect(unknown.issues.map((i) => i.message)).toEqual(["unknown variable contact.nickname on line 1"])
      })
    ))
})

describe("GDPR", () => {
  it.effect("export returns everything about a contact; erase removes it and re-sent events do not bring it back", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const firm = yield* crm.companies.create({ name: "Acme" })
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Ada", companyId: firm.id })
        yield* crm.consent.grant(ada.id, { source: "signup-form" })
        const template = yield* crm.templates.create({ name: "Receipt", subject: "Receipt", text: "Thanks" })
        yield* crm.rules.create({ name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: template.id }, { type: "createTask", title: "Call Ada" }] })
        yield* crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line], note: "leave at the door" } })
        yield* crm.dispatcher.runDue()
        yield* crm.deals.create({ title: "Solo", amount: { amountMinor: 100, currency: "EUR" }, contactId: ada.id })
        const shared = yield* crm.deals.create({ title: "Team", amount: { amountMinor: 100, currency: "EUR" }, contactId: ada.id, companyId: firm.id })

        const exported = yield* crm.consent.export(ada.id)
        const sizes = Object.fromEntries(Object.entries(exported).map(([k, v]) => [k, Array.isArray(v) ? v.length : typeof v]))
        // Events: contact.created, consent.granted, order.placed, and the contact.stage_changed the order caused.
        // Addresses: bounces and complaints recorded for its addresses (none here).
        expect(sizes).toEqual({ exportedAt: "string", contact: "object", consents: 1, addresses: 0, timeline: 7, events: 4, orders: 1, deals: 2, tasks: 1, ruleActions: 2, ruleFirings: 1 })
        expect(JSON.parse(JSON.stringify(exported))).toEqual(exported)

        const report = yield* crm.consent.erase(ada.id)
        expect(report).toMatchObject({ events: 4, tasks: 1, jobs: 2, firings: 1, consents: 1, dealsRemoved: 1, dealsUnlinked: 1 })
        expect(yield* failure(crm.contacts.get(ada.id))).toMatchObject({ _tag: "NotFound" })
        expect(yield* crm.contacts.findByEmail("ada@example.com")).toMatchObject({ _tag: "None" })
        expect((yield* crm.events.get("order-1")).payload).toEqual({})
        expect((yield* crm.deals.get(shared.id)).contactId).toBeNull()
        // The order's webhook is retried: recognised, nothing re-created.
        const again = yield* crm.events.emit({ id: "order-1", type: "order.placed", email: "ada@example.com", payload: { orderId: "o-1", lines: [line] } })
        expect([again.duplicate, again.contact]).toEqual([true, null])
        expect(yield* crm.contacts.findByEmail("ada@example.com")).toMatchObject({ _tag: "None" })
        expect((yield* sent).length).toBe(1)
      })
    ))
})

describe("the Promise client", () => {
  it("rules, the dispatcher and consent work the same through createCrm, with a clock of the app's own", async () => {
    let now = Date.parse("2025-06-02T18:00:00Z")
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => now,
      currentTimeMillis: Effect.sync(() => now),
      unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
      sleep: () => Effect.void
    }
    const mails: Array<string> = []
    const mailer = { layer: Layer.succeed(Mailer.Mailer, Mailer.Mailer.of({ send: (mail) => Effect.sync(() => (mails.push(mail.subject), { messageId: `m-${mails.length}` })) })) }
    const calls: Array<unknown> = []
    const crm = await createCrm({
      storage: memoryStorage(),
      mailer,
      clock,
      mail: { from: "shop@example.com", unsubscribe },
      actions: { notify: { params: Schema.Struct({ to: Schema.String }), run: async (params, context) => void calls.push([params, context.contact.email, context.event.type]) } }
    })
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
      await crm.consent.grant(ada.id)
      const template = await crm.templates.create({ name: "Cart", purpose: "marketing", subject: "{{ contact.firstName }}, your cart", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
      const rule = await crm.rules.create({ id: "cart", name: "Cart", on: "cart.abandoned", delay: "1 day", actions: [{ type: "sendEmail", template: template.id }, { type: "custom", name: "notify", params: { to: "sales" } }] })
      expect(rule.createdAt).toBe("2025-06-02T18:00:00.000Z")
      const emitted = await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
      expect(emitted.triggered).toEqual([{ ruleId: "cart", variant: null, delayed: true, dueAt: "2025-06-03T18:00:00.000Z" }])
      expect(await crm.dispatcher.runDue()).toMatchObject({ claimed: 0 })
      now += 86_400_000
      expect(await crm.dispatcher.runDue()).toMatchObject({ claimed: 3, done: 3 })
      expect(mails).toEqual(["Ada, your cart"])
      expect(calls).toEqual([[{ to: "sales" }, "ada@example.com", "cart.abandoned"]])
      expect((await crm.dispatcher.jobs({ status: "done" })).items.map((j) => j.kind)).toEqual(["check", "action", "action"])
      expect((await crm.rules.stats("cart")).total).toEqual({ variant: null, fired: 1, sent: 1, opened: 0, converted: 0 })
      const simulated = await crm.rules.simulate({ event: { type: "cart.abandoned", contactId: ada.id } })
      expect(simulated.rules[0]).toMatchObject({ ruleId: "cart", fires: true, dueAt: "2025-06-04T18:00:00.000Z" })
      const url = await crm.consent.unsubscribeUrl(ada.id)
      const token = decodeURIComponent(url.slice(url.lastIndexOf("/") + 1))
      expect((await crm.consent.unsubscribe(token)).contactId).toBe(ada.id)
      expect((await crm.consent.status(ada.id)).purposes["marketing"]?.granted).toBe(false)
      await expect(crm.rules.create({ name: "Bad", on: "x.y", actions: [{ type: "setStage", stage: "nope" }] })).rejects.toBeInstanceOf(RapportValidationError)
      await expect(crm.rules.update("cart", { expectedVersion: 9, name: "X" })).rejects.toBeInstanceOf(RapportConflictError)
      const erased = await crm.consent.erase(ada.id)
      expect(erased.contactId).toBe(ada.id)
    } finally {
      await crm.close()
    }
  })

  it("a started dispatcher sends a rule's mail as soon as the event is emitted, and stops on close", async () => {
    const mails: Array<string> = []
    const mailer = { layer: Layer.succeed(Mailer.Mailer, Mailer.Mailer.of({ send: (mail) => Effect.sync(() => (mails.push(mail.subject), { messageId: "m" })) })) }
    const crm = await createCrm({ storage: memoryStorage(), mailer })
    const template = await crm.templates.create({ name: "Receipt", subject: "Order {{ event.payload.orderId }}", text: "Thanks" })
    await crm.rules.create({ name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: template.id }] })
    // A long poll: only the wake-up of the emission can make the mail leave in time.
    const running = crm.dispatcher.start({ pollInterval: "1 hour" })
    await crm.events.emit({ type: "order.placed", email: "ada@example.com", payload: { orderId: "o-9", lines: [line] } })
    const deadline = Date.now() + 5_000
    while (mails.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(mails).toEqual(["Order o-9"])
    await running.stop()
    await crm.close()
    await expect(crm.dispatcher.runDue()).rejects.toThrow("closed")
  })
})
