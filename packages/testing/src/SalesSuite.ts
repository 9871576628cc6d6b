// The pipeline part of the storage contract: pipelines, deals and their SQL aggregates, tasks and
// templates. Registered by `storageSuite`; not a public entry point of its own.
import { Crm, Deal, Ids, Mailers, Money, Pipeline, Storage, Task, Template, Time, Weighting, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void


const at = Fixtures.instant
const eur = (amountMinor: number) => ({ amountMinor, currency: Money.Currency.make("EUR") })

/** Rows in a canonical order, with bigints as strings, so two answers compare. */
const canonical = (rows: ReadonlyArray<Weighting.SumRow | Weighting.StatusSums>) =>
  rows
    .map((r) => JSON.stringify(r, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)))
    .sort()

// Generated deals: amounts up to the maximum (so sums pass 2^53 and must stay exact), every
// status, overrides, owners, months and two currencies.
const generatedDeal = FastCheck.record({
  stage: FastCheck.constantFrom(...Pipeline.defaultStages),
  amountMinor: FastCheck.oneof(FastCheck.integer({ min: 0, max: 10_000_000 }), FastCheck.integer({ min: 0, max: Deal.MAX_AMOUNT_MINOR })),
  currency: FastCheck.constantFrom("EUR", "USD", "JPY"),
  cold: FastCheck.boolean(),
  override: FastCheck.option(Arbitrary.make(Pipeline.Probability), { nil: null }),
  ownerId: FastCheck.option(FastCheck.constantFrom("ada", "grace", "linus"), { nil: null }),
  expectedCloseDate: FastCheck.option(
    FastCheck.date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2027-12-31T00:00:00Z"), noInvalidDate: true }).map((d) =>
      d.toISOString().slice(0, 10)
    ),
    { nil: null }
  )
})

const dimensionSets: ReadonlyArray<ReadonlyArray<Weighting.Dimension>> = [[], ["pipeline"], ["stage"], ["owner"], ["month"], ["owner", "month"], ["pipeline", "stage", "owner", "month"]]

export const salesSuite = (test: Test) => {
  const store = Storage.Storage

  describe("pipelines", () => {
    test("insert, get, list by position, update with version, remove", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const second = yield* Fixtures.pipeline(ws, { name: "Renewals", position: 1, floor: eur(500_000) })
        const first = yield* Fixtures.pipeline(ws, { name: "New business", position: 0 })
        yield* s.pipelines.insert(second)
        yield* s.pipelines.insert(first)
        expect((yield* s.pipelines.list(ws)).map((p) => p.name)).toEqual(["New business", "Renewals"])
        expect(Option.getOrThrow(yield* s.pipelines.get(ws, second.id)).floor).toEqual(eur(500_000))
        yield* s.pipelines.update(new Pipeline.Pipeline({ ...second, name: "Upsell", version: 2 }), 1)
        expect(yield* failure(s.pipelines.update(new Pipeline.Pipeline({ ...second, version: 2 }), 1))).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect(Option.getOrThrow(yield* s.pipelines.get(ws, second.id)).name).toBe("Upsell")
        expect(yield* s.pipelines.remove(ws, second.id)).toBe(true)
        expect(yield* s.pipelines.remove(ws, second.id)).toBe(false)
        expect(Option.isNone(yield* s.pipelines.get(Fixtures.freshWorkspaceId(), first.id))).toBe(true)
      }))
  })

  describe("deals", () => {
    test("insert, get, update with version, list and count by filter, remove", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const p = yield* Fixtures.pipeline(ws)
        yield* s.pipelines.insert(p)
        const a = yield* Fixtures.deal(ws, p.id, { ownerId: "ada", expectedCloseDate: Time.LocalDate.make("2026-03-15") })
        const b = yield* Fixtures.deal(ws, p.id, { status: "won", stage: Pipeline.defaultStages[4]!.key, stageProbability: 100 })
        yield* s.deals.insert(a)
        yield* s.deals.insert(b)
        expect(Option.map(yield* s.deals.get(ws, a.id), Schema.encodeSync(Deal.Deal))).toEqual(Option.some(Schema.encodeSync(Deal.Deal)(a)))
        yield* s.deals.update(new Deal.Deal({ ...a, title: "Renamed", version: 2 }), 1)
        expect(yield* failure(s.deals.update(new Deal.Deal({ ...a, version: 2 }), 1))).toMatchObject({ _tag: "Conflict", reason: "version", entity: "deal" })
        expect((yield* s.deals.list(ws, { statuses: ["open"], limit: 10 })).map((d) => d.title)).toEqual(["Renamed"])
        expect((yield* s.deals.list(ws, { stages: [], limit: 10 })).length).toBe(0)
        expect((yield* s.deals.list(ws, { limit: 1 })).length).toBe(1)
        expect(yield* s.deals.count(ws, { ownerId: "ada" })).toBe(1)
        expect(yield* s.deals.count(ws, { ownerId: null })).toBe(1)
        expect(yield* s.deals.count(ws, { closeFrom: Time.LocalDate.make("2026-03-01"), closeTo: Time.LocalDate.make("2026-04-01") })).toBe(1)
        expect(yield* s.deals.count(Fixtures.freshWorkspaceId(), {})).toBe(0)
        expect(yield* s.deals.remove(ws, a.id)).toBe(true)
        expect(yield* s.deals.count(ws, {})).toBe(1)
      }))

    test("restage sets the stage probability of the stage's deals and bumps their version", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const p = yield* Fixtures.pipeline(ws)
        const inDemo = yield* Fixtures.deal(ws, p.id)
        const elsewhere = yield* Fixtures.deal(ws, p.id, { stage: Pipeline.defaultStages[0]!.key, stageProbability: 10 })
        yield* s.deals.insert(inDemo)
        yield* s.deals.insert(elsewhere)
        expect(yield* s.deals.restage(ws, p.id, "demo", 45, at("2026-01-01T00:00:00Z"))).toBe(1)
        const after = Option.getOrThrow(yield* s.deals.get(ws, inDemo.id))
        expect([after.stageProbability, after.version]).toEqual([45, 2])
        expect(Option.getOrThrow(yield* s.deals.get(ws, elsewhere.id)).version).toBe(1)
      }))

    test("sums equal the pure engine's on generated deals, for every grouping", () =>
      Effect.gen(function* () {
        const s = yield* store
        for (const sample of FastCheck.sample(FastCheck.array(generatedDeal, { minLength: 0, maxLength: 60 }), 6)) {
          const ws = Fixtures.freshWorkspaceId()
          const pipelines = [yield* Fixtures.pipeline(ws, { position: 0 }), yield* Fixtures.pipeline(ws, { position: 1 })]
          const deals = yield* Effect.forEach(sample, (g, i) =>
            Fixtures.deal(ws, pipelines[i % 2]!.id, {
              stage: g.stage.key,
              stageProbability: g.stage.probability,
              status: g.stage.outcome === "open" && g.cold ? "cold" : g.stage.outcome,
              override: g.override === null ? null : { probability: g.override, reason: "generated" },
              amount: { amountMinor: g.amountMinor, currency: Money.Currency.make(g.currency) },
              ownerId: g.ownerId,
              expectedCloseDate: g.expectedCloseDate === null ? null : Time.LocalDate.make(g.expectedCloseDate)
            })
          )
          yield* Effect.forEach(deals, (d) => s.deals.insert(d), { discard: true })
          for (const groupBy of dimensionSets) {
            const stored = yield* s.deals.sums(ws, { groupBy, filter: {} })
            expect(canonical(stored), `aggregates, groupBy ${groupBy.join(",")}`).toEqual(canonical(Weighting.aggregateDeals(deals, groupBy)))
            // What the services report: the weights applied to the store's aggregates, against the
            // weighted sums computed deal by deal.
            for (const coldProbability of [0, 25]) {
              expect(canonical(Weighting.weigh(stored, coldProbability)), `groupBy ${groupBy.join(",")} cold ${coldProbability}`).toEqual(
                canonical(Weighting.sumDeals(deals, groupBy, coldProbability))
              )
            }
          }
          const filter = { statuses: ["open", "cold"] as const, ownerId: "ada", currency: Money.Currency.make("EUR") }
          const narrowed = yield* s.deals.sums(ws, { groupBy: ["stage"], filter })
          const expected = deals.filter((d) => (d.status === "open" || d.status === "cold") && d.ownerId === "ada" && d.amount.currency === "EUR")
          expect(canonical(narrowed)).toEqual(canonical(Weighting.aggregateDeals(expected, ["stage"])))
          expect(canonical(Weighting.weigh(narrowed, 0))).toEqual(canonical(Weighting.sumDeals(expected, ["stage"], 0)))
        }
      }))

    test("stale lists open deals idle past their stage's threshold, stalest first, a page at a time", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const p = yield* Fixtures.pipeline(ws)
        const old = yield* Fixtures.deal(ws, p.id, { lastActivityAt: at("2026-01-01T00:00:00Z") })
        const older = yield* Fixtures.deal(ws, p.id, { lastActivityAt: at("2025-12-01T00:00:00Z") })
        const fresh = yield* Fixtures.deal(ws, p.id, { lastActivityAt: at("2026-02-20T00:00:00Z") })
        const won = yield* Fixtures.deal(ws, p.id, { status: "won", lastActivityAt: at("2025-01-01T00:00:00Z") })
        const otherStage = yield* Fixtures.deal(ws, p.id, { stage: Pipeline.defaultStages[0]!.key, lastActivityAt: at("2025-01-01T00:00:00Z") })
        for (const d of [old, older, fresh, won, otherStage]) yield* s.deals.insert(d)
        const thresholds = [{ pipelineId: p.id, stage: "demo", before: at("2026-02-01T00:00:00Z") }]
        expect((yield* s.deals.stale(ws, { thresholds, limit: 10 })).map((d) => d.id)).toEqual([older.id, old.id])
        const page = yield* s.deals.stale(ws, { thresholds, after: { lastActivityAt: older.lastActivityAt, id: older.id }, limit: 10 })
        expect(page.map((d) => d.id)).toEqual([old.id])
        expect(yield* s.deals.stale(ws, { thresholds: [], limit: 10 })).toEqual([])
      }))
  })

  describe("tasks", () => {
    test("insert, update with version, list by status, owner and due window, soonest first, a page at a time", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const contactId = Ids.ContactId.make("018f0000-0000-7000-8000-0000000000aa")
        const late = yield* Fixtures.task(ws, { dueAt: at("2026-03-01T09:00:00Z"), ownerId: "ada", contactId })
        const soon = yield* Fixtures.task(ws, { dueAt: at("2026-03-02T09:00:00Z") })
        const done = yield* Fixtures.task(ws, { dueAt: at("2026-02-01T09:00:00Z"), status: "done", completedAt: at("2026-02-01T10:00:00Z") })
        for (const t of [soon, late, done]) yield* s.tasks.insert(t)
        expect((yield* s.tasks.list(ws, { limit: 10 })).map((t) => t.id)).toEqual([done.id, late.id, soon.id])
        expect((yield* s.tasks.list(ws, { status: "open", limit: 10 })).map((t) => t.id)).toEqual([late.id, soon.id])
        expect((yield* s.tasks.list(ws, { ownerId: null, limit: 10 })).map((t) => t.id)).toEqual([done.id, soon.id])
        expect((yield* s.tasks.list(ws, { dueFrom: at("2026-03-01T00:00:00Z"), dueBefore: at("2026-03-02T00:00:00Z"), limit: 10 })).map((t) => t.id)).toEqual([late.id])
        expect((yield* s.tasks.list(ws, { after: { dueAt: late.dueAt, id: late.id }, limit: 10 })).map((t) => t.id)).toEqual([soon.id])
        yield* s.tasks.update(new Task.Task({ ...late, status: "done", version: 2 }), 1)
        expect(yield* failure(s.tasks.update(late, 1))).toMatchObject({ _tag: "Conflict", reason: "version" })
        yield* s.tasks.removeForContact(ws, contactId)
        expect(Option.isNone(yield* s.tasks.get(ws, late.id))).toBe(true)
      }))
  })

  describe("templates", () => {
    test("insert, get, list by name, update with version, remove", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const template = (name: string) =>
          new Template.Template({
            id: Ids.TemplateId.make(`018f0000-0000-7000-8000-${String(name.length).padStart(12, "0")}`),
            workspaceId: ws,
            name,
            purpose: "transactional",
            subject: "Your quote {{ deal.quoteRef }}",
            html: "<p>Hello {{ contact.firstName | \"there\" }}</p>",
            text: null,
            version: 1,
            createdAt: at("2026-01-01T00:00:00Z"),
            updatedAt: at("2026-01-01T00:00:00Z")
          })
        const b = template("Reminder")
        const a = template("Follow")
        yield* s.templates.insert(b)
        yield* s.templates.insert(a)
        expect((yield* s.templates.list(ws)).map((t) => t.name)).toEqual(["Follow", "Reminder"])
        expect(Option.getOrThrow(yield* s.templates.get(ws, a.id)).html).toBe(a.html)
        yield* s.templates.update(new Template.Template({ ...a, subject: "Changed", version: 2 }), 1)
        expect(yield* failure(s.templates.update(a, 1))).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect(yield* s.templates.remove(ws, a.id)).toBe(true)
        expect((yield* s.templates.list(ws)).map((t) => t.name)).toEqual(["Reminder"])
      }))
  })

  describe("the pipeline through the services", () => {
    const fresh = () => {
      const ws = Fixtures.freshWorkspaceId()
      return { ws, run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect) }
    }

    test("deals move, win and lose; the weighted pipeline per stage and the floor check follow", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = fresh()
        const buyer = yield* run(crm.contacts.create({ email: "buyer@example.com" }))
        const big = yield* run(crm.deals.create({ title: "Big", amount: eur(1_000_000), contactId: buyer.id, stage: "demo" }))
        const small = yield* run(crm.deals.create({ title: "Small", amount: eur(10_001), contactId: buyer.id }))
        const lost = yield* run(crm.deals.create({ title: "Lost", amount: eur(50_000), contactId: buyer.id }))
        yield* run(crm.deals.move(small.id, "proposalReview"))
        yield* run(crm.deals.lose(lost.id, { reason: "price" }))
        const byStage = yield* run(crm.deals.weightedPipeline({ groupBy: "stage" }))
        expect(byStage.groups.map((g) => [g.key.stage, g.totals[0]!.weighted.amountMinor])).toEqual([
          ["demo", 400_000],
          ["proposalReview", 6_001],
          ["lost", 0]
        ])
        expect(byStage.totals[0]).toMatchObject({ count: 3, weighted: eur(406_001), weightedExact: "406000.6" })
        yield* run(crm.pipelines.configure({ floor: eur(500_000) }))
        expect(yield* run(crm.deals.floorCheck())).toMatchObject({ below: true, shortfall: eur(93_999) })
        yield* run(crm.deals.win(big.id))
        expect(yield* run(crm.deals.floorCheck())).toMatchObject({ below: false, weighted: eur(1_006_001) })
        const history = yield* run(crm.timeline.list(buyer.id, { kinds: ["deal"] }))
        expect(history.items.map((e) => e.summary)).toContain('Deal "Lost" lost: price')
        expect(history.items.map((e) => e.summary).some((s) => s.startsWith('Deal "Big" won'))).toBe(true)
      }))

    test("bad input is refused with a typed error and changes nothing", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = fresh()
        const firm = yield* run(crm.companies.create({ name: "Acme" }))
        // The first deal creates the default pipeline; "Other" comes after it.
        const deal = yield* run(crm.deals.create({ title: "Deal", amount: eur(1000), companyId: firm.id }))
        const other = yield* run(crm.pipelines.create({ name: "Other", stages: [...Pipeline.defaultStages.slice(0, 1), { key: "signed", label: "Signed", probability: 100, outcome: "won" }, { key: "dropped", label: "Dropped", probability: 0, outcome: "lost" }] }))
        const refusals = [
          yield* failure(run(crm.deals.create({ title: "Negative", amount: eur(-1), companyId: firm.id }))),
          yield* failure(run(crm.deals.create({ title: "Currency", amount: { amountMinor: 1, currency: "XYZ" }, companyId: firm.id }))),
          yield* failure(run(crm.deals.create({ title: "Too sure", amount: eur(1), companyId: firm.id, probability: { probability: 140, reason: "sure" } }))),
          yield* failure(run(crm.deals.create({ title: "Wrong stage", amount: eur(1), companyId: firm.id, pipelineId: other.id, stage: "demo" }))),
          yield* failure(run(crm.deals.move(deal.id, "signed"))),
          yield* failure(run(crm.deals.create({ title: "Nobody", amount: eur(1) })))
        ]
        expect(refusals.map((e) => e._tag)).toEqual(Array(6).fill("ValidationError"))
        yield* run(crm.deals.update(deal.id, { expectedVersion: deal.version, title: "Renamed" }))
        expect(yield* failure(run(crm.deals.update(deal.id, { expectedVersion: deal.version, title: "Stale" })))).toMatchObject({ _tag: "Conflict", reason: "version" })
        const page = yield* run(crm.deals.list())
        expect(page.items.map((d) => [d.title, d.stage])).toEqual([["Renamed", "prospecting"]])
      }))

    test("a new stage probability re-weights that stage's deals; dropping a stage that holds deals is refused", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = fresh()
        const firm = yield* run(crm.companies.create({ name: "Acme" }))
        const deal = yield* run(crm.deals.create({ title: "D", amount: eur(1000), companyId: firm.id, stage: "demo" }))
        const pipeline = yield* run(crm.pipelines.get(deal.pipelineId))
        const stages = pipeline.stages.map((s) => (s.key === "demo" ? { ...s, probability: 50 } : s))
        const updated = yield* run(crm.pipelines.update(pipeline.id, { expectedVersion: pipeline.version, stages: Schema.encodeSync(Pipeline.PipelineStages)(stages) }))
        expect((yield* run(crm.deals.get(deal.id))).stageProbability).toBe(50)
        expect((yield* run(crm.deals.weightedPipeline())).totals[0]!.weighted).toEqual(eur(500))
        const without = Schema.encodeSync(Pipeline.PipelineStages)(updated.stages.filter((s) => s.key !== "demo"))
        expect(yield* failure(run(crm.pipelines.update(pipeline.id, { expectedVersion: updated.version, stages: without })))).toMatchObject({ _tag: "Conflict", reason: "inUse", affected: 1 })
        expect(yield* failure(run(crm.pipelines.remove(pipeline.id)))).toMatchObject({ _tag: "Conflict", reason: "inUse" })
      }))

    test("a follow-up with a template queues the rendered mail, which the dispatcher sends once, logs it with the reaction and schedules the next task", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const captured = yield* Mailers.CapturingMailer
        const { run } = fresh()
        const buyer = yield* run(crm.contacts.create({ email: "buyer@example.com", firstName: "<Ada>" }))
        const deal = yield* run(crm.deals.create({ title: "Fleet", amount: eur(123_450), contactId: buyer.id, quoteRef: "Q-2026-7", ownerId: "grace" }))
        const template = yield* run(
          crm.templates.create({ name: "Nudge", subject: "About {{ deal.title }}", html: "<p>Hello {{ contact.firstName }}, {{ deal.amount }}</p>" })
        )
        const result = yield* run(
          crm.deals.followUp(deal.id, { channel: "email", templateId: template.id, reaction: "noAnswer", locale: "fr-FR", next: { dueAt: "2026-03-10T09:00:00Z" } })
        )
        // Queued in the outbox: nothing leaves before the dispatcher runs.
        expect((yield* captured.sent).filter((m) => m.to === "buyer@example.com")).toEqual([])
        yield* run(crm.dispatcher.runDue())
        const mails = (yield* captured.sent).filter((m) => m.to === "buyer@example.com")
        expect(mails.length).toBe(1)
        expect(mails[0]!.subject).toBe("About Fleet [Q-2026-7]")
        expect(mails[0]!.html).toBe("<p>Hello &lt;Ada&gt;, 1\u202f234,50\u00a0€</p>")
        expect(mails[0]!.headers).toEqual({ "X-Rapport-Quote-Ref": "Q-2026-7" })
        expect(mails[0]!.idempotencyKey).toBe(result.mail!.idempotencyKey)
        expect([result.entry.kind, result.entry.channel, result.entry.reaction]).toEqual(["followUp", "email", "noAnswer"])
        expect(result.task).toMatchObject({ dealId: deal.id, contactId: buyer.id, ownerId: "grace", channel: "email", status: "open" })
        expect(DateTime.formatIso(result.task!.dueAt)).toBe("2026-03-10T09:00:00.000Z")
        const unknown = yield* failure(run(crm.templates.create({ name: "Typo", subject: "Hi {{ contact.fristName }}", text: "x" })))
        expect(unknown).toMatchObject({ _tag: "ValidationError" })
      }).pipe(Effect.provide(Mailers.capturingLayer)))
  })
}
