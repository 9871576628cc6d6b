import { createCrm, Crm, Mailer, RapportValidationError } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { failure, withCrm } from "./helpers.js"

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const setNow = (iso: string) => TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake(iso)))

describe("Deals", () => {
  it.effect("sending a quote emits quote.sent once: the contact becomes a prospect", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const lead = yield* crm.contacts.create({ email: "lead@example.com" })
        const deal = yield* crm.deals.create({ title: "Fleet", amount: eur(500_000), contactId: lead.id, quoteRef: "Q-1" })
        const first = yield* crm.deals.sendQuote(deal.id)
        expect([first.event.duplicate, first.event.contact?.stage]).toEqual([false, "prospect"])
        const again = yield* crm.deals.sendQuote(deal.id)
        expect(again.event.duplicate).toBe(true)
        const entries = (yield* crm.timeline.list(lead.id, { kinds: ["quoteSent"] })).items
        expect(entries.map((e) => e.summary)).toEqual(["Quote Q-1 sent"])
      })
    ))

  it.effect("stale deals: idle past their stage's threshold (or the workspace's), stalest first", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* setNow("2026-01-01T00:00:00Z")
        const firm = yield* crm.companies.create({ name: "Acme" })
        const pipeline = yield* crm.pipelines.create({ name: "Fast" })
        const stages = pipeline.stages.map((s) => (s.key === "demo" ? { ...s, staleAfterDays: 3 } : s))
        yield* crm.pipelines.update(pipeline.id, { expectedVersion: 1, stages })
        const demo = yield* crm.deals.create({ title: "Demo", amount: eur(1), companyId: firm.id, stage: "demo" })
        const prospecting = yield* crm.deals.create({ title: "Prospecting", amount: eur(1), companyId: firm.id })
        yield* setNow("2026-01-05T00:00:00Z")
        expect((yield* crm.deals.stale()).items.map((s) => [s.deal.title, s.idleDays])).toEqual([["Demo", 4]])
        yield* setNow("2026-02-05T00:00:00Z")
        expect((yield* crm.deals.stale()).items.map((s) => s.deal.title)).toEqual(["Demo", "Prospecting"])
        yield* crm.deals.update(demo.id, { expectedVersion: demo.version, title: "Demo again" })
        expect((yield* crm.deals.stale()).items.map((s) => s.deal.id)).toEqual([prospecting.id])
        yield* crm.pipelines.configure({ staleAfterDays: 60 })
        expect((yield* crm.deals.stale()).items).toEqual([])
      })
    ))

  it.effect("forecast: open deals per expected-close month from the current month, in the workspace's timezone", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.settings.update({ timezone: "Pacific/Auckland" })
        // 31 Jan 12:00 UTC is already 1 February in Auckland.
        yield* setNow("2026-01-31T12:00:00Z")
        const firm = yield* crm.companies.create({ name: "Acme" })
        for (const [title, date] of [["Late", "2026-01-20"], ["Feb", "2026-02-10"], ["Mar", "2026-03-01"], ["Far", "2027-01-01"]] as const) {
          yield* crm.deals.create({ title, amount: eur(10_000), companyId: firm.id, stage: "demo", expectedCloseDate: date })
        }
        const won = yield* crm.deals.create({ title: "Won", amount: eur(10_000), companyId: firm.id, expectedCloseDate: "2026-02-11" })
        yield* crm.deals.win(won.id)
        const forecast = yield* crm.deals.forecast({ months: 2 })
        expect(forecast.months.map((m) => [m.month, m.totals[0]?.weighted.amountMinor])).toEqual([["2026-02", 4_000], ["2026-03", 4_000]])
        expect([forecast.overdue[0]?.count, forecast.later[0]?.count, forecast.undated]).toEqual([1, 1, []])
      })
    ))

  it.effect("weightedPipeline by owner and month, and in one currency with rates", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const firm = yield* crm.companies.create({ name: "Acme" })
        yield* crm.deals.create({ title: "A", amount: eur(10_000), companyId: firm.id, ownerId: "ada", expectedCloseDate: "2026-03-01" })
        yield* crm.deals.create({ title: "B", amount: { amountMinor: 10_000, currency: "USD" }, companyId: firm.id, ownerId: "grace", probability: { probability: 80, reason: "signed LOI" } })
        const grouped = yield* crm.deals.weightedPipeline({ groupBy: ["owner", "month"] })
        expect(grouped.groups.map((g) => [g.key, g.totals.map((t) => `${t.weighted.amountMinor} ${t.currency}`)])).toEqual([
          [{ ownerId: "ada", month: "2026-03" }, ["1000 EUR"]],
          [{ ownerId: "grace", month: null }, ["8000 USD"]]
        ])
        const inEur = yield* crm.deals.weightedPipeline({ rates: { currency: "EUR", rates: { USD: 0.92 } } })
        expect(inEur.totals).toEqual([{ currency: "EUR", count: 2, amount: { amountMinor: 19_200, currency: "EUR" }, weighted: { amountMinor: 8_360, currency: "EUR" }, weightedExact: "8360" }])
        const unknown = yield* failure(crm.deals.weightedPipeline({ groupBy: "colour" as never }))
        expect(unknown._tag).toBe("ValidationError")
      })
    ))

  it.effect("a deal's contact or company cannot be deleted while the deal exists", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const firm = yield* crm.companies.create({ name: "Acme" })
        const buyer = yield* crm.contacts.create({ email: "b@example.com" })
        const deal = yield* crm.deals.create({ title: "D", amount: eur(1), companyId: firm.id, contactId: buyer.id })
        expect(yield* failure(crm.contacts.remove(buyer.id))).toMatchObject({ _tag: "Conflict", reason: "inUse", affected: 1 })
        expect(yield* failure(crm.companies.remove(firm.id))).toMatchObject({ _tag: "Conflict", reason: "inUse", affected: 1 })
        yield* crm.deals.remove(deal.id)
        yield* crm.contacts.remove(buyer.id)
        yield* crm.companies.remove(firm.id)
      })
    ))
})

describe("Tasks", () => {
  it.effect("overdue and due today follow the clock and the workspace's timezone; complete and reopen", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.settings.update({ timezone: "Europe/Paris" })
        yield* setNow("2026-03-10T08:00:00Z")
        const call = yield* crm.tasks.create({ title: "Call", dueAt: "2026-03-10T07:00:00Z", channel: "call", ownerId: "ada" })
        const letter = yield* crm.tasks.create({ title: "Letter", dueAt: "2026-03-10T22:30:00Z", channel: "letter", ownerId: "grace" })
        // 23:30 in Paris on the 10th: still today.
        const tomorrow = yield* crm.tasks.create({ title: "Meet", dueAt: "2026-03-10T23:30:00Z", channel: "meeting" })
        expect((yield* crm.tasks.list({ due: "overdue" })).items.map((t) => t.title)).toEqual(["Call"])
        expect((yield* crm.tasks.list({ due: "today" })).items.map((t) => t.title)).toEqual(["Call", "Letter"])
        expect((yield* crm.tasks.list({ ownerId: "grace" })).items.map((t) => t.id)).toEqual([letter.id])
        const done = yield* crm.tasks.complete(call.id, { expectedVersion: call.version })
        expect([done.status, DateTime.formatIso(done.completedAt!)]).toEqual(["done", "2026-03-10T08:00:00.000Z"])
        expect((yield* crm.tasks.list({ due: "overdue" })).items).toEqual([])
        expect((yield* crm.tasks.reopen(call.id)).status).toBe("open")
        expect(yield* failure(crm.tasks.complete(call.id, { expectedVersion: 1 }))).toMatchObject({ _tag: "Conflict" })
        const page = yield* crm.tasks.list({ limit: 2 })
        expect((yield* crm.tasks.list({ cursor: page.nextCursor! })).items.map((t) => t.id)).toEqual([tomorrow.id])
        expect(yield* failure(crm.tasks.create({ title: "x", dueAt: "2026-01-01T00:00:00Z", channel: "call", dealId: "018f0000-0000-7000-8000-000000000001" }))).toMatchObject({
          _tag: "ValidationError"
        })
      })
    ))
})

describe("the Promise client's pipeline", () => {
  it("creates, moves, weighs and follows up deals; mailer failures are RapportMailerError", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    try {
      const buyer = await crm.contacts.create({ email: "buyer@example.com", firstName: "Ada" })
      const deal = await crm.deals.create({ title: "Fleet", amount: eur(250_000), contactId: buyer.id, stage: "proposalReview" })
      expect(typeof deal.createdAt).toBe("string")
      const pipe = await crm.deals.weightedPipeline({ groupBy: "stage" })
      expect(pipe.groups.map((g) => [g.key.stage, g.totals[0]!.weighted.amountMinor])).toEqual([["proposalReview", 150_000]])
      // Regression: without a floor, floorCheck failed with ValidationError at "floor".
      expect(await crm.deals.floorCheck()).toEqual({ floor: null, weighted: null, weightedExact: null, below: false, shortfall: null, pipelineId: null })
      const pipelineId = deal.pipelineId
      expect(await crm.deals.floorCheck({ pipelineId })).toEqual({ floor: null, weighted: null, weightedExact: null, below: false, shortfall: null, pipelineId })
      await crm.pipelines.configure({ floor: eur(200_000) })
      expect(await crm.deals.floorCheck()).toMatchObject({ floor: eur(200_000), below: true, shortfall: eur(50_000), pipelineId: null })
      const result = await crm.deals.followUp(deal.id, { channel: "call", reaction: "positive", note: "Wants a discount" })
      expect([result.entry.summary, result.entry.reaction, result.mail, typeof result.entry.occurredAt]).toEqual(["Wants a discount", "positive", null, "string"])
      await expect(crm.deals.create({ title: "x", amount: eur(-5), contactId: buyer.id })).rejects.toBeInstanceOf(RapportValidationError)
      const task = await crm.tasks.create({ title: "Send contract", dueAt: "2030-01-01T09:00:00Z", channel: "email", dealId: deal.id })
      expect(task.contactId).toBe(buyer.id)
      expect((await crm.tasks.list({ dealId: deal.id })).items.map((t) => t.id)).toEqual([task.id])
    } finally {
      await crm.close()
    }
  })

  it("a follow-up's mail the provider refuses is dead-lettered by the dispatcher; the follow-up stays recorded", async () => {
    const crm = await createCrm({
      storage: memoryStorage(),
      mailer: {
        layer: Layer.succeed(Mailer.Mailer, {
          send: () => Effect.fail(new Mailer.MailerError({ reason: "rejected", message: "mailbox unknown" }))
        })
      }
    })
    try {
      const buyer = await crm.contacts.create({ email: "buyer@example.com" })
      const deal = await crm.deals.create({ title: "Fleet", amount: eur(1), contactId: buyer.id })
      const template = await crm.templates.create({ name: "Nudge", subject: "Hi", text: "Hello {{ contact.email }}" })
      const result = await crm.deals.followUp(deal.id, { channel: "email", templateId: template.id })
      expect(result.mail).toMatchObject({ to: "buyer@example.com", subject: "Hi", status: "queued" })
      expect((await crm.timeline.list(buyer.id, { kinds: ["followUp"] })).items.map((e) => e.id)).toEqual([result.entry.id])
      expect(await crm.dispatcher.runDue()).toMatchObject({ claimed: 1, dead: 1 })
      const [job] = (await crm.dispatcher.jobs({ status: "dead" })).items
      expect([job?.id, job?.lastError]).toEqual([result.mail?.jobId, "mailbox unknown"])
    } finally {
      await crm.close()
    }
  })

  it("a follow-up retried with the same idempotency key queues and sends one mail, and records one follow-up", async () => {
    const sent: Array<Mailer.OutgoingMail> = []
    const crm = await createCrm({
      storage: memoryStorage(),
      mailer: { layer: Layer.succeed(Mailer.Mailer, { send: (mail: Mailer.OutgoingMail) => Effect.sync(() => (sent.push(mail), { messageId: `m-${sent.length}` })) }) }
    })
    try {
      const buyer = await crm.contacts.create({ email: "buyer@example.com" })
      const deal = await crm.deals.create({ title: "Fleet", amount: eur(1), contactId: buyer.id })
      const template = await crm.templates.create({ name: "Nudge", subject: "Hi", text: "Hello" })
      const input = { channel: "email" as const, templateId: template.id, idempotencyKey: "nudge-1", next: { dueAt: "2030-01-01T00:00:00Z" } }
      const first = await crm.deals.followUp(deal.id, input)
      const again = await crm.deals.followUp(deal.id, input)
      expect([first.duplicate, again.duplicate]).toEqual([false, true])
      expect(again.entry.id).toBe(first.entry.id)
      expect(again.mail).toEqual(first.mail)
      await crm.dispatcher.runDue()
      expect(sent.map((m) => m.idempotencyKey)).toEqual([first.mail!.idempotencyKey])
      expect((await crm.timeline.list(buyer.id, { kinds: ["followUp"] })).items.length).toBe(1)
      expect((await crm.tasks.list({ dealId: deal.id })).items.length).toBe(1)
      // Another key is another follow-up, with its own mail.
      await crm.deals.followUp(deal.id, { ...input, idempotencyKey: "nudge-2" })
      await crm.dispatcher.runDue()
      expect(sent.length).toBe(2)
      expect(await crm.deals.followUp(deal.id, { channel: "call", idempotencyKey: "k" }).catch((e: unknown) => e)).toMatchObject({ _tag: "ValidationError" })
    } finally {
      await crm.close()
    }
  })
})
