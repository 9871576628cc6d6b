// The snapshot part of the storage contract (issue 16): the weighted pipeline's daily history and
// contacts' RFM scores, with figures computed by hand here on a fixed data set, through the
// services (what users call) on the adapter's storage. Registered by `storageSuite`.
import { Condition, Crm, Storage, Workspaces } from "@rapport/core"
import * as DateTime from "effect/DateTime"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const line = (sku: string, amountMinor: number) => ({ sku, name: `Product ${sku}`, quantity: 1, unitPrice: eur(amountMinor) })

/**
 * The pipeline on the first day. Pipeline P (default stages), in EUR:
 *   d1 prospecting 10%   100,000 →  10,000
 *   d2 demo, override 55% 20,000 →  11,000
 *   d3 won (100%)         50,000 →  50,000
 *   d4 lost (0%)          30,000 →       0
 *   d5 prospecting 10%       333 →      33.3
 *   P: 5 deals, 200,333; weighted 71,033.3 → 71,033.
 * Pipeline Q, in USD: one deal, demo 40%, 1,000 → 400.
 */
const pipelineFixture = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const buyer = yield* crm.contacts.create({ email: "buyer@example.com" })
  const p = yield* crm.pipelines.create({ name: "P" })
  const q = yield* crm.pipelines.create({ name: "Q" })
  const deal = (pipelineId: string, stage: string, amount: { amountMinor: number; currency: string }, probability?: number) =>
    crm.deals.create({
      title: `${stage} ${amount.amountMinor}`,
      pipelineId,
      stage,
      amount,
      contactId: buyer.id,
      ...(probability === undefined ? {} : { probability: { probability, reason: "test" } })
    })
  const d1 = yield* deal(p.id, "prospecting", eur(100_000))
  yield* deal(p.id, "demo", eur(20_000), 55)
  yield* deal(p.id, "won", eur(50_000))
  yield* deal(p.id, "lost", eur(30_000))
  yield* deal(p.id, "prospecting", eur(333))
  yield* deal(q.id, "demo", { amountMinor: 1_000, currency: "USD" })
  return { crm, p, q, d1 }
})

/**
 * Orders (EUR), with the RFM each contact gets, by hand. Quintile = 1 + (rank − 1) × 5 ÷ 5 = rank,
 * equal values sharing the lowest rank:
 *   Ada  01-10 100, 03-01 300                       n 2, net 400, last 03-01
 *   Bob  02-01 50                                    n 1, net  50, last 02-01
 *   Cy   01-05, 01-20, 04-01 at 1,000 each           n 3, net 3000, last 04-01
 *   Di   03-15 200; 05-01 9,999 cancelled            n 1, net 200, last 03-15 (the cancelled one counts for nothing)
 *   Ed   02-20 300, 02-25 150 refunded 100           n 2, net 350, last 02-25 (without the refund: 450, above Ada)
 *   Fay  none                                         no scores
 * recency (last asc):  Bob 1, Ed 2, Ada 3, Di 4, Cy 5
 * frequency (n asc):   Bob, Di 1 (tie) · Ada, Ed 3 (tie) · Cy 5
 * monetary (net asc):  Bob 1, Di 2, Ed 3, Ada 4, Cy 5
 */
const rfmFixture = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const make = (name: string) => crm.contacts.create({ email: `${name}@example.com`, firstName: name })
  const [ada, bob, cy, di, ed, fay] = [yield* make("ada"), yield* make("bob"), yield* make("cy"), yield* make("di"), yield* make("ed"), yield* make("fay")]
  const place = (id: string, contactId: string, day: string, amountMinor: number) =>
    crm.events.emit({ id: `placed-${id}`, type: "order.placed", contactId, occurredAt: `2025-${day}T10:00:00Z`, payload: { orderId: id, lines: [line(id, amountMinor)] } })
  yield* place("a1", ada.id, "01-10", 100)
  yield* place("a2", ada.id, "03-01", 300)
  yield* place("b1", bob.id, "02-01", 50)
  yield* place("c1", cy.id, "01-05", 1000)
  yield* place("c2", cy.id, "01-20", 1000)
  yield* place("c3", cy.id, "04-01", 1000)
  yield* place("d1", di.id, "03-15", 200)
  yield* place("d2", di.id, "05-01", 9999)
  yield* crm.events.emit({ id: "cancel-d2", type: "order.cancelled", contactId: di.id, occurredAt: "2025-05-02T10:00:00Z", payload: { orderId: "d2" } })
  yield* place("e1", ed.id, "02-20", 300)
  yield* place("e2", ed.id, "02-25", 150)
  yield* crm.events.emit({ id: "refund-e2", type: "order.refunded", contactId: ed.id, occurredAt: "2025-02-26T10:00:00Z", payload: { orderId: "e2", amount: eur(100) } })
  return { crm, ada, bob, cy, di, ed, fay }
})

const scores = (crm: Crm.Crm, contactId: string) =>
  Effect.map(crm.snapshots.rfm(contactId), Option.map((r) => [r.recency, r.frequency, r.monetary, r.orderCount]))

export const snapshotsSuite = (test: Test) => {
  describe("snapshots", () => {
    test("pipeline history - the day's figures by pipeline, per currency, exact; one entry per day, taken once", () =>
      Effect.gen(function* () {
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        yield* TestClock.setTime(Date.parse("2026-03-02T10:00:00Z"))
        const { crm, p, q, d1 } = yield* run(pipelineFixture)
        expect(yield* run(crm.snapshots.takeSnapshot())).toEqual({ day: "2026-03-02", taken: true })
        // Day 2: d1 moves to proposal review (60%): 60,000 instead of 10,000; taken twice, recorded once.
        yield* TestClock.setTime(Date.parse("2026-03-03T10:00:00Z"))
        yield* run(crm.deals.move(d1.id, "proposalReview"))
        expect(yield* run(crm.snapshots.takeSnapshot())).toEqual({ day: "2026-03-03", taken: true })
        yield* run(crm.deals.move(d1.id, "prospecting"))
        expect(yield* run(crm.snapshots.takeSnapshot())).toEqual({ day: "2026-03-03", taken: false })

        const history = yield* run(crm.snapshots.pipelineHistory({ from: "2026-03-01", to: "2026-03-31" }))
        const totals = (t: { readonly currency: string; readonly count: number; readonly amount: { readonly amountMinor: number }; readonly weighted: { readonly amountMinor: number }; readonly weightedExact: string }) =>
          [t.currency, t.count, t.amount.amountMinor, t.weighted.amountMinor, t.weightedExact]
        expect(history.map((d) => ({ day: d.day, groups: d.groups.map((g) => [g.key.pipelineId, ...g.totals.flatMap(totals)]), totals: d.totals.map(totals) }))).toEqual([
          {
            day: "2026-03-02",
            groups: [[p.id, "EUR", 5, 200_333, 71_033, "71033.3"], [q.id, "USD", 1, 1_000, 400, "400"]].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
            totals: [["EUR", 5, 200_333, 71_033, "71033.3"], ["USD", 1, 1_000, 400, "400"]]
          },
          {
            day: "2026-03-03",
            groups: [[p.id, "EUR", 5, 200_333, 121_033, "121033.3"], [q.id, "USD", 1, 1_000, 400, "400"]].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
            totals: [["EUR", 5, 200_333, 121_033, "121033.3"], ["USD", 1, 1_000, 400, "400"]]
          }
        ])
        // One pipeline, by stage, one day.
        const stages = yield* run(crm.snapshots.pipelineHistory({ from: "2026-03-03", to: "2026-03-03", pipelineId: p.id, groupBy: "stage" }))
        expect(stages.map((d) => [d.day, d.groups.map((g) => [g.key.stage, g.totals[0]!.weighted.amountMinor]).sort()])).toEqual([
          ["2026-03-03", [["demo", 11_000], ["lost", 0], ["proposalReview", 60_000], ["prospecting", 33], ["won", 50_000]]]
        ])
        expect(yield* run(crm.snapshots.pipelineHistory({ from: "2026-03-04", to: "2026-03-31" }))).toEqual([])
        expect(yield* failure(run(crm.snapshots.pipelineHistory({ from: "2026-03-05", to: "2026-03-01" })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["to"] }] })
        expect(yield* failure(run(crm.snapshots.pipelineHistory({ from: "2026-02-30", to: "2026-03-01" })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["from"] }] })
        // Another workspace sees none of it.
        expect(yield* Workspaces.withWorkspace(Fixtures.freshWorkspaceId())(crm.snapshots.pipelineHistory({ from: "2026-03-01", to: "2026-03-31" }))).toEqual([])
      }))

    test("rfm - quintiles of recency, frequency and net revenue over placed orders, ties sharing a score; cancellations and refunds count", () =>
      Effect.gen(function* () {
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        const { crm, ada, bob, cy, di, ed, fay } = yield* run(rfmFixture)
        expect(yield* run(scores(crm, ada.id))).toEqual(Option.none())
        const refreshed = yield* run(crm.snapshots.refreshRfm())
        expect(refreshed.contacts).toBe(5)
        const all = yield* run(Effect.all([ada, bob, cy, di, ed, fay].map((c) => scores(crm, c.id))))
        expect(all).toEqual([
          Option.some([3, 3, 4, 2]),
          Option.some([1, 1, 1, 1]),
          Option.some([5, 5, 5, 3]),
          Option.some([4, 1, 2, 1]),
          Option.some([2, 3, 3, 2]),
          Option.none()
        ])
        const adaScores = Option.getOrThrow(yield* run(crm.snapshots.rfm(ada.id)))
        expect(adaScores.lastOrderAt.toString()).toContain("2025-03-01T10:00:00.000Z")
        expect(yield* run(crm.snapshots.rfmDistribution())).toEqual({
          contacts: 5,
          recency: [1, 2, 3, 4, 5].map((score) => ({ score, contacts: 1 })),
          frequency: [{ score: 1, contacts: 2 }, { score: 2, contacts: 0 }, { score: 3, contacts: 2 }, { score: 4, contacts: 0 }, { score: 5, contacts: 1 }],
          monetary: [1, 2, 3, 4, 5].map((score) => ({ score, contacts: 1 }))
        })
        // Bob's only order cancelled: he loses his scores at the next refresh, the others are ranked among four.
        yield* run(crm.events.emit({ id: "cancel-b1", type: "order.cancelled", contactId: bob.id, payload: { orderId: "b1" } }))
        expect((yield* run(crm.snapshots.refreshRfm())).contacts).toBe(4)
        expect(yield* run(scores(crm, bob.id))).toEqual(Option.none())
        // Among four: quintile = 1 + (rank − 1) × 5 ÷ 4. Recency Ed 1, Ada 2, Di 3, Cy 4 → 1, 2, 3, 4;
        // frequency Di 1 (rank 1) → 1, Ada/Ed rank 2 → 2, Cy rank 4 → 4; monetary Di 1, Ed 2, Ada 3, Cy 4 → 1, 2, 3, 4.
        expect(yield* run(Effect.all([ada, cy, di, ed].map((c) => scores(crm, c.id))))).toEqual([
          Option.some([2, 2, 3, 2]),
          Option.some([4, 4, 4, 3]),
          Option.some([3, 1, 1, 1]),
          Option.some([1, 2, 2, 2])
        ])
        expect(yield* failure(run(crm.snapshots.rfm("")))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["contactId"] }] })
        expect(yield* failure(Workspaces.withWorkspace(Fixtures.freshWorkspaceId())(crm.snapshots.rfm(ada.id)))).toMatchObject({ _tag: "NotFound", entity: "contact" })

        // contact.rfm.* in segments: the SQL selects whom the predicate selects (Bob and Fay have no scores).
        const s = yield* Storage.Storage
        const registry: Condition.Registry = { fields: [], stages: ["suspect", "prospect", "customer", "loyal", "fan", "addict"], event: false }
        const now = DateTime.unsafeMake("2026-01-01T00:00:00Z")
        const everyone = [ada, bob, cy, di, ed, fay]
        const conditions: ReadonlyArray<[Condition.Condition, ReadonlyArray<string>]> = [
          [{ path: "contact.rfm.recency", op: "gte", value: 3 }, [cy.id, di.id]],
          [{ path: "contact.rfm.frequency", op: "eq", value: 2 }, [ada.id, ed.id]],
          [{ path: "contact.rfm.monetary", op: "ne", value: 4 }, [ada.id, bob.id, di.id, ed.id, fay.id]],
          [{ path: "contact.rfm.recency", op: "exists" }, [ada.id, cy.id, di.id, ed.id]],
          [{ not: { path: "contact.rfm.monetary", op: "lt", value: 2 } }, [ada.id, bob.id, cy.id, ed.id, fay.id]]
        ]
        for (const [condition, expected] of conditions) {
          const members = yield* s.segments.members(ws, { condition, registry, now, limit: 100 })
          expect(members.map((c) => c.id).sort()).toEqual([...expected].sort())
          const compiled = Condition.compile(condition, registry)
          const views = yield* Effect.forEach(everyone, (c) =>
            Effect.map(crm.snapshots.rfm(c.id).pipe(run), (r) => ({ ...c, rfm: Option.getOrNull(r) }))
          )
          const byPredicate = views.filter((v) => compiled.test({ contact: v, event: undefined, now: DateTime.toEpochMillis(now), counts: [] })).map((v) => v.id)
          expect(byPredicate.sort()).toEqual([...expected].sort())
        }
      }))
  })
}
