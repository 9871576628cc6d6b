import { Deal, Money, Pipeline, Weighting } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const dealArb = FastCheck.record({
  pipelineId: FastCheck.constantFrom("p1", "p2"),
  stage: FastCheck.constantFrom(...Pipeline.defaultStages),
  ownerId: FastCheck.option(FastCheck.constantFrom("ada", "grace"), { nil: null }),
  expectedCloseDate: FastCheck.option(FastCheck.constantFrom("2026-01-15", "2026-02-03", "2026-07-30"), { nil: null }),
  amountMinor: FastCheck.integer({ min: 0, max: Deal.MAX_AMOUNT_MINOR / 1000 }),
  currency: FastCheck.constantFrom("EUR", "USD"),
  cold: FastCheck.boolean(),
  override: FastCheck.option(FastCheck.integer({ min: 0, max: 100 }), { nil: null })
}).map(
  (g): Weighting.Weighable => ({
    pipelineId: g.pipelineId,
    stage: g.stage.key,
    ownerId: g.ownerId,
    expectedCloseDate: g.expectedCloseDate,
    amount: { amountMinor: g.amountMinor, currency: Money.Currency.make(g.currency) },
    status: g.stage.outcome === "open" && g.cold ? "cold" : g.stage.outcome,
    stageProbability: g.stage.probability,
    override: g.override === null ? null : { probability: g.override }
  })
)
const dealsArb = FastCheck.array(dealArb, { maxLength: 40 })
const groupingArb = FastCheck.subarray(["pipeline", "stage", "owner", "month"] as const)
const coldArb = FastCheck.integer({ min: 0, max: 100 })

const summarize = (deals: ReadonlyArray<Weighting.Weighable>, groupBy: ReadonlyArray<Weighting.Dimension>, cold: number) =>
  Either.getOrThrow(Weighting.summarize(Weighting.sumDeals(deals, groupBy, cold), groupBy))

/** The exact weighted value in hundredths of a minor unit, computed independently. */
const exactHundredths = (deals: ReadonlyArray<Weighting.Weighable>, currency: string, cold: number) =>
  deals
    .filter((d) => d.amount.currency === currency)
    .reduce((sum, d) => sum + BigInt(d.amount.amountMinor) * BigInt(Weighting.weightPercent(d, cold)), 0n)

const roundHalfUp = (hundredths: bigint) => Number((hundredths + 50n) / 100n)
const totalIn = (totals: ReadonlyArray<Weighting.Total>, currency: string) => totals.find((t) => t.currency === currency)
const hundredthsOf = (exact: string) => {
  const [whole, fraction = ""] = exact.split(".")
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, "0"))
}

describe("Weighting", () => {
  it("weighs open deals by their override or stage, won 100%, lost 0%, cold as configured", () => {
    const base = { stageProbability: 40, override: null }
    expect(Weighting.weightPercent({ ...base, status: "open" }, 0)).toBe(40)
    expect(Weighting.weightPercent({ ...base, status: "open", override: { probability: 75 } }, 0)).toBe(75)
    expect(Weighting.weightPercent({ ...base, status: "won" }, 0)).toBe(100)
    expect(Weighting.weightPercent({ ...base, status: "lost" }, 30)).toBe(0)
    expect(Weighting.weightPercent({ ...base, status: "cold" }, 30)).toBe(30)
  })

  it("rounds once, half up, at the end: three deals of 0.5 cent weigh 1.5 cents, shown as 2", () => {
    const deal = (amountMinor: number): Weighting.Weighable => ({
      pipelineId: "p",
      stage: "demo",
      ownerId: null,
      expectedCloseDate: null,
      amount: { amountMinor, currency: Money.Currency.make("EUR") },
      status: "open",
      stageProbability: 50,
      override: null
    })
    const result = summarize([deal(1), deal(1), deal(1)], [], 0)
    expect(result.totals).toEqual([{ currency: "EUR", count: 3, amount: { amountMinor: 3, currency: "EUR" }, weighted: { amountMinor: 2, currency: "EUR" }, weightedExact: "1.5" }])
  })

  it("never adds two currencies without a rate, and converts exactly with one", () => {
    const rows: ReadonlyArray<Weighting.SumRow> = [
      { pipelineId: null, stage: null, ownerId: null, month: null, currency: "EUR", count: 1, amountMinor: 10_000n, weighted: 500_000n },
      { pipelineId: null, stage: null, ownerId: null, month: null, currency: "JPY", count: 1, amountMinor: 1_000n, weighted: 100_000n }
    ]
    expect(Either.getOrThrow(Weighting.summarize(rows, [])).totals.map((t) => t.currency)).toEqual(["EUR", "JPY"])
    const missing = Weighting.summarize(rows, [], { rates: { currency: Money.Currency.make("EUR"), rates: {} } })
    expect(Either.isLeft(missing) && missing.left.issues[0]).toEqual({ path: ["rates"], message: "there are deals in JPY and no rate from JPY to EUR" })
    // 1,000 JPY at 0.0061 EUR = 6.10 EUR = 610 cents; 5,000.00 EUR weighted + 6.10 EUR.
    const converted = Either.getOrThrow(Weighting.summarize(rows, [], { rates: { currency: Money.Currency.make("EUR"), rates: { JPY: "0.0061" } } }))
    expect(converted.totals).toEqual([
      { currency: "EUR", count: 2, amount: { amountMinor: 10_610, currency: "EUR" }, weighted: { amountMinor: 5_610, currency: "EUR" }, weightedExact: "5610" }
    ])
  })

  it("checks a floor exactly: 99.5 against 100 is below, short by 0.5 (shown as 1)", () => {
    const total: Weighting.Total = {
      currency: Money.Currency.make("EUR"),
      count: 1,
      amount: { amountMinor: 199, currency: Money.Currency.make("EUR") },
      weighted: { amountMinor: 100, currency: Money.Currency.make("EUR") },
      weightedExact: "99.5"
    }
    const check = Either.getOrThrow(Weighting.checkFloor({ amountMinor: 100, currency: Money.Currency.make("EUR") }, [total]))
    expect([check.below, check.shortfall.amountMinor]).toEqual([true, 1])
    expect(Either.isLeft(Weighting.checkFloor({ amountMinor: 100, currency: Money.Currency.make("USD") }, [total]))).toBe(true)
  })

  it("builds a forecast with overdue, later and undated buckets", () => {
    const row = (month: string | null, weighted: bigint): Weighting.SumRow => ({
      pipelineId: null, stage: null, ownerId: null, month, currency: "EUR", count: 1, amountMinor: weighted / 100n, weighted
    })
    const forecast = Either.getOrThrow(Weighting.forecast([row("2025-12", 100n), row("2026-02", 200n), row("2026-09", 300n), row(null, 400n)], "2026-01", 3))
    expect(forecast.months.map((m) => [m.month, m.totals[0]?.weighted.amountMinor ?? 0])).toEqual([["2026-01", 0], ["2026-02", 2], ["2026-03", 0]])
    expect([forecast.overdue[0]!.weighted.amountMinor, forecast.later[0]!.weighted.amountMinor, forecast.undated[0]!.weighted.amountMinor]).toEqual([1, 3, 4])
    expect(Weighting.addMonths("2026-11", 3)).toBe("2027-02")
  })
})

describe("Weighting properties", () => {
  it.prop("each currency's total is the exactly computed sum, rounded once", [dealsArb, coldArb], ([deals, cold]) => {
    const result = summarize(deals, [], cold)
    for (const currency of ["EUR", "USD"]) {
      const exact = exactHundredths(deals, currency, cold)
      const total = totalIn(result.totals, currency)
      if (!deals.some((d) => d.amount.currency === currency)) expect(total).toBeUndefined()
      else {
        expect(hundredthsOf(total!.weightedExact)).toBe(exact)
        expect(total!.weighted.amountMinor).toBe(roundHalfUp(exact))
      }
    }
  })

  it.prop("groups add up exactly to the overall total, per currency, whatever the grouping", [dealsArb, groupingArb, coldArb], ([deals, groupBy, cold]) => {
    const result = summarize(deals, groupBy, cold)
    for (const total of result.totals) {
      const parts = result.groups.flatMap((g) => g.totals.filter((t) => t.currency === total.currency))
      expect(parts.reduce((sum, t) => sum + hundredthsOf(t.weightedExact), 0n)).toBe(hundredthsOf(total.weightedExact))
      expect(parts.reduce((sum, t) => sum + t.count, 0)).toBe(total.count)
      expect(parts.reduce((sum, t) => sum + t.amount.amountMinor, 0)).toBe(total.amount.amountMinor)
    }
  })

  it.prop(
    "raising one open deal's probability never lowers any total",
    [dealsArb.filter((ds) => ds.length > 0), FastCheck.nat(), FastCheck.integer({ min: 0, max: 100 }), groupingArb, coldArb],
    ([deals, index, raise, groupBy, cold]) => {
      const i = index % deals.length
      const target = deals[i]!
      const current = Weighting.weightPercent(target, cold)
      const raised = deals.map((d, j) =>
        j === i ? { ...d, status: "open" as const, override: { probability: Math.min(100, current + raise) } } : d
      )
      const before = summarize(deals, groupBy, cold)
      const after = summarize(raised, groupBy, cold)
      for (const total of before.totals) expect(totalIn(after.totals, total.currency)!.weighted.amountMinor).toBeGreaterThanOrEqual(total.weighted.amountMinor)
      for (const group of before.groups) {
        const same = after.groups.find((g) => JSON.stringify(g.key) === JSON.stringify(group.key))!
        for (const total of group.totals) expect(totalIn(same.totals, total.currency)!.weighted.amountMinor).toBeGreaterThanOrEqual(total.weighted.amountMinor)
      }
    }
  )

  it.prop(
    "moving a deal to lost removes exactly its weighted value",
    [dealsArb.filter((ds) => ds.length > 0), FastCheck.nat(), coldArb],
    ([deals, index, cold]) => {
      const i = index % deals.length
      const target = deals[i]!
      const lost = deals.map((d, j) => (j === i ? { ...d, status: "lost" as const, stage: "lost", stageProbability: 0 } : d))
      const currency = target.amount.currency
      const before = hundredthsOf(totalIn(summarize(deals, [], cold).totals, currency)!.weightedExact)
      const after = hundredthsOf(totalIn(summarize(lost, [], cold).totals, currency)!.weightedExact)
      expect(before - after).toBe(BigInt(target.amount.amountMinor) * BigInt(Weighting.weightPercent(target, cold)))
    }
  )
})
