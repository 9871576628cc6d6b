import { LifecycleDefinition } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const { classic, relationship, hubspot } = LifecycleDefinition

describe("LifecycleDefinition", () => {
  it("ships three valid presets", () => {
    for (const preset of [classic, relationship, hubspot]) {
      expect(Schema.decodeUnknownSync(LifecycleDefinition.LifecycleDefinition)(preset)).toEqual(preset)
    }
    expect(LifecycleDefinition.stageKeys(classic)).toEqual(["suspect", "prospect", "customer", "loyal", "fan", "addict"])
    expect(LifecycleDefinition.stageKeys(relationship)).toEqual(["target", "lead", "prospect", "customer", "ambassador", "referrer"])
    expect(LifecycleDefinition.stageKeys(hubspot)).toEqual([
      "subscriber",
      "lead",
      "marketingQualified",
      "salesQualified",
      "opportunity",
      "customer",
      "evangelist"
    ])
  })

  it("refuses duplicate stages and a criterion on the first stage", () => {
    const decode = Schema.decodeUnknownEither(LifecycleDefinition.LifecycleDefinition)
    const dup = { allowBackward: false, stages: [{ key: "a", label: "A" }, { key: "a", label: "A again" }] }
    expect(decode(dup)._tag).toBe("Left")
    const entry = { allowBackward: false, stages: [{ key: "a", label: "A", enterWhen: { kind: "orders", atLeast: 1 } }] }
    expect(decode(entry)._tag).toBe("Left")
  })

  it("describes criteria for people", () => {
    expect(classic.stages.map((s) => (s.enterWhen ? LifecycleDefinition.describeCriterion(s.enterWhen) : "-"))).toEqual([
      "-",
      "first quote.sent",
      "1 order",
      "2 orders",
      "3 orders within 90 days",
      "12 orders within 365 days"
    ])
  })

  it("classic defaults: quote → prospect, 1 order → customer, 2 → loyal, 3 in 90 days → fan, 12 in a year → addict", () => {
    const target = (current: string, counts: { quotes?: number; orders?: number; in90?: number; in365?: number }) => {
      const count = (c: LifecycleDefinition.Criterion) =>
        c.kind === "events" ? (counts.quotes ?? 0) : c.withinDays === 90 ? (counts.in90 ?? 0) : c.withinDays === 365 ? (counts.in365 ?? 0) : (counts.orders ?? 0)
      return LifecycleDefinition.satisfiedStages(classic, current, count).map((s) => s.key)
    }
    expect(target("suspect", { quotes: 1 })).toEqual(["prospect"])
    expect(target("suspect", { orders: 1, in90: 1, in365: 1 })).toEqual(["customer"])
    expect(target("prospect", { quotes: 1, orders: 2, in90: 1, in365: 2 })).toEqual(["loyal", "customer"])
    expect(target("loyal", { orders: 3, in90: 3, in365: 3 })).toEqual(["fan"])
    expect(target("fan", { orders: 40, in90: 1, in365: 12 })).toEqual(["addict"])
    expect(target("addict", { orders: 100, in90: 50, in365: 100 })).toEqual([])
  })

  const fc = FastCheck
  const criterionArb: FastCheck.Arbitrary<LifecycleDefinition.Criterion> = fc.oneof(
    fc.record({ kind: fc.constant("orders" as const), atLeast: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ kind: fc.constant("events" as const), types: fc.constant(["quote.sent"] as [string]), atLeast: fc.integer({ min: 1, max: 3 }) })
  )
  const definitionArb = fc
    .array(fc.option(criterionArb, { nil: undefined }), { minLength: 1, maxLength: 7 })
    .map((criteria): LifecycleDefinition.LifecycleDefinition => ({
      allowBackward: false,
      stages: [
        { key: LifecycleDefinition.StageKey.make("s0"), label: "S0" },
        ...criteria.map((c, i) => ({ key: LifecycleDefinition.StageKey.make(`s${i + 1}`), label: `S${i + 1}`, ...(c === undefined ? {} : { enterWhen: c }) }))
      ]
    }))

  it.prop(
    "progression only ever proposes later stages, furthest first, each with a criterion that holds",
    [definitionArb, fc.nat({ max: 8 }), fc.nat({ max: 6 }), fc.nat({ max: 4 })],
    ([def, from, orders, quotes]) => {
      const current = def.stages[Math.min(from, def.stages.length - 1)]!.key
      const count = (c: LifecycleDefinition.Criterion) => (c.kind === "orders" ? orders : quotes)
      const proposed = LifecycleDefinition.satisfiedStages(def, current, count)
      const positions = proposed.map((s) => LifecycleDefinition.indexOf(def, s.key))
      expect(positions.every((p) => p > LifecycleDefinition.indexOf(def, current))).toBe(true)
      expect([...positions].sort((a, b) => b - a)).toEqual(positions)
      expect(proposed.every((s) => s.enterWhen !== undefined && count(s.enterWhen) >= s.enterWhen.atLeast)).toBe(true)
    }
  )

  it.prop(
    "busiestWindow is the most instants any window of that width holds (against brute force)",
    [fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 40 }), fc.integer({ min: 1, max: 120 })],
    ([days, withinDays]) => {
      const times = days.map((d) => d * 3_600_000 * 6).sort((a, b) => a - b)
      const width = withinDays * 86_400_000
      const brute = times.reduce((best, end) => Math.max(best, times.filter((t) => t > end - width && t <= end).length), 0)
      expect(LifecycleDefinition.busiestWindow(times, withinDays)).toBe(brute)
    }
  )

  it.prop(
    "more history never proposes fewer stages",
    [definitionArb, fc.nat({ max: 6 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })],
    ([def, orders, moreOrders, quotes]) => {
      const current = def.stages[0].key
      const keys = (o: number) =>
        new Set(LifecycleDefinition.satisfiedStages(def, current, (c) => (c.kind === "orders" ? o : quotes)).map((s) => s.key))
      const before = keys(orders)
      const after = keys(orders + moreOrders)
      expect([...before].every((k) => after.has(k))).toBe(true)
    }
  )
})
