// seedDemoData (issue 17): the same seed gives the same figures; every dashboard chart has data;
// contacts reach their stages through their own events; names come in both languages with safe
// emails; bad options are refused naming the option; the main entry does not need vitest.
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { createTestCrm, type DemoDataSummary, seedDemoData, type TestCrm } from "@rapport/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

/** Every figure a dashboard page draws, as the API answers it. */
const figures = async (crm: TestCrm, demo: DemoDataSummary) => {
  const period = { from: demo.period.from, to: demo.period.to }
  return {
    stages: await crm.contacts.countByStage(),
    funnel: await crm.analytics.funnel(),
    channels: await crm.analytics.channels(period),
    topProducts: await crm.analytics.topProducts({ ...period, limit: 10 }),
    topCustomers: await crm.analytics.topCustomers({ ...period, limit: 10 }),
    avatar: await crm.analytics.avatar(),
    pipeline: await crm.deals.weightedPipeline({ groupBy: ["stage"] }),
    forecast: await crm.deals.forecast(),
    floor: await crm.deals.floorCheck(),
    rule: await crm.rules.stats(demo.ids.rule),
    segment: await crm.segments.count({ segmentId: demo.ids.segment })
  }
}

let crm: TestCrm
let demo: DemoDataSummary

beforeAll(async () => {
  crm = await createTestCrm()
  demo = await seedDemoData(crm, { seed: 7 })
})
afterAll(() => crm.close())

describe("seedDemoData", () => {
  it("the same seed on the same clock gives the same figures; another seed gives others", async () => {
    const again = await createTestCrm()
    const other = await createTestCrm()
    try {
      const twin = await seedDemoData(again, { seed: 7 })
      expect(twin).toEqual(demo)
      expect(await figures(again, twin)).toEqual(await figures(crm, demo))
      const different = await seedDemoData(other, { seed: 8 })
      expect(await figures(other, different)).not.toEqual(await figures(crm, demo))
      expect(again.mails.sent().map((m) => [m.to, m.subject])).toEqual(crm.mails.sent().map((m) => [m.to, m.subject]))
    } finally {
      await again.close()
      await other.close()
    }
  })

  it("a year of orders ending at the clock's now, with some cancelled and refunded", async () => {
    expect(demo.now).toBe(crm.clock.now())
    const orders = []
    let cursor: string | undefined
    for (let page = 0; page < 100; page++) {
      const answer = await crm.orders.list({ limit: 200, ...(cursor === undefined ? {} : { cursor }) })
      orders.push(...answer.items)
      if (answer.nextCursor === null) break
      cursor = answer.nextCursor
    }
    expect(orders.length).toBe(demo.counts.orders)
    const placedAt = orders.map((o) => Date.parse(o.placedAt))
    expect(Math.max(...placedAt)).toBeLessThanOrEqual(Date.parse(demo.now))
    // The latest order is within the last month, the first within the first quarter of the year.
    expect(Date.parse(demo.now) - Math.max(...placedAt)).toBeLessThan(31 * 86_400_000)
    expect(Math.min(...placedAt) - Date.parse(demo.period.from)).toBeLessThan(92 * 86_400_000)
    expect(Math.min(...placedAt)).toBeGreaterThanOrEqual(Date.parse(demo.period.from))
    expect(orders.filter((o) => o.status === "cancelled").length).toBe(demo.counts.cancelledOrders)
    expect(orders.filter((o) => o.refundedMinor > 0).length).toBe(demo.counts.refundedOrders)
    expect(demo.counts.cancelledOrders).toBeGreaterThan(0)
    expect(demo.counts.refundedOrders).toBeGreaterThan(0)
    for (const order of orders) {
      expect(order.currency).toBe("EUR")
      for (const line of order.lines) expect(line.unitCost!.amountMinor).toBeLessThan(line.unitPrice.amountMinor)
    }
  })

  it("contacts spread over every lifecycle stage through their own events, none placed there by hand", async () => {
    const stages = await crm.contacts.countByStage()
    expect(stages.map((s) => s.stage)).toEqual(["suspect", "prospect", "customer", "loyal", "fan", "addict"])
    for (const s of stages) expect(s.count, s.stage).toBeGreaterThan(0)
    expect(Object.fromEntries(stages.map((s) => [s.stage, s.count]))).toEqual(demo.stages)
    // An addict's timeline shows the stage changes the orders caused, each recorded by Rapport.
    const addicts = (await crm.contacts.list({ stage: "addict", limit: 1 })).items
    const timeline = (await crm.timeline.list(addicts[0]!.id, { kinds: ["stageChange"], limit: 200 })).items
    const changes = timeline.map((e) => e.payload as { to: string; cause: { kind: string; eventType: string } }).reverse()
    expect(changes.map((c) => [c.to, c.cause.kind, c.cause.eventType])).toEqual([
      ["prospect", "automatic", "quote.sent"],
      ["customer", "automatic", "order.placed"],
      ["loyal", "automatic", "order.placed"],
      ["fan", "automatic", "order.placed"],
      ["addict", "automatic", "order.placed"]
    ])
  })

  it("every dashboard chart has data: funnel, channels with spend, products with margin, pipeline with a floor, tasks, A/B sends", async () => {
    const f = await figures(crm, demo)
    const reached = new Map<string, number>()
    for (const row of f.funnel) reached.set(row.stage, (reached.get(row.stage) ?? 0) + row.reached)
    expect([...reached.values()].filter((n) => n > 0).length).toBeGreaterThanOrEqual(4)
    const withSpend = new Set(f.channels.filter((c) => (c.spend?.amountMinor ?? 0) > 0).map((c) => c.channel))
    expect(withSpend.size).toBeGreaterThanOrEqual(3)
    expect(new Set(f.channels.filter((c) => c.customers > 0).map((c) => c.channel)).size).toBeGreaterThanOrEqual(3)
    expect(f.topProducts.length).toBeGreaterThanOrEqual(5)
    for (const p of f.topProducts) expect(p.margin.amountMinor).toBeGreaterThan(0)
    expect(f.topCustomers.length).toBe(10)
    expect(f.avatar.values.length).toBeGreaterThan(0)
    const byStage = f.pipeline.groups.filter((g) => (g.totals[0]?.weighted.amountMinor ?? 0) > 0).map((g) => g.key.stage)
    expect(byStage.length).toBeGreaterThanOrEqual(4)
    expect(f.floor.floor?.amountMinor).toBeGreaterThan(0)
    const stale = (await crm.deals.stale()).items
    expect(stale.length).toBe(demo.counts.staleDeals)
    expect(stale.map((s) => s.idleDays)).toEqual([62, 45])
    expect(f.forecast.months.filter((m) => m.totals.length > 0).length).toBeGreaterThanOrEqual(3)
    expect((await crm.tasks.list({ due: "overdue" })).items.length).toBe(demo.counts.tasksOverdue)
    expect((await crm.tasks.list({ due: "today" })).items.length).toBe(demo.counts.tasksDueToday)
    expect(f.rule.variants.map((v) => v.variant)).toEqual(["A", "B"])
    for (const v of f.rule.variants) expect(v.sent).toBeGreaterThan(0)
    expect(f.rule.total.sent).toBe(demo.counts.mailsSent)
    expect(crm.mails.sent().length).toBe(demo.counts.mailsSent)
    expect(f.segment).toBeGreaterThan(0)
    const fields = await crm.contacts.get(demo.ids.featuredContact)
    expect(fields.fields).toEqual({ favouriteColour: "red", city: "Saint-Étienne" })
    expect((await crm.consent.status(demo.ids.featuredContact)).purposes["marketing"]).toMatchObject({ granted: true })
  })

  it("names are French and English, accents and apostrophes kept; emails are plain ASCII and unique", async () => {
    const contacts = (await crm.contacts.list({ limit: 200 })).items
    expect(contacts.length).toBe(demo.counts.contacts)
    const names = contacts.map((c) => `${c.firstName} ${c.lastName}`)
    expect(names.some((n) => /[éèëêïîôâç]/i.test(n))).toBe(true)
    expect(names.some((n) => /O'(Brien|Connor|Neill)/.test(n))).toBe(true)
    expect(contacts.some((c) => c.tags.includes("fr"))).toBe(true)
    expect(contacts.some((c) => c.tags.includes("en"))).toBe(true)
    const emails = contacts.map((c) => c.email!)
    for (const email of emails) expect(email).toMatch(/^[a-z0-9]+(?:[.-][a-z0-9]+)*@example\.(?:fr|com)$/)
    expect(new Set(emails).size).toBe(emails.length)
    expect(emails).toContain("helene.lefevre@example.fr")
  })

  it("refuses a size it cannot honour, naming the option", async () => {
    const empty = await createTestCrm()
    try {
      await expect(seedDemoData(empty, { contacts: 3 })).rejects.toThrow(/options\.contacts/)
      await expect(seedDemoData(empty, { deals: 1.5 })).rejects.toThrow(/options\.deals/)
      await expect(seedDemoData(empty, { seed: Number.NaN })).rejects.toThrow(/options\.seed/)
      expect((await empty.contacts.list()).items).toEqual([])
    } finally {
      await empty.close()
    }
  })

  it("a larger size scales the data", async () => {
    const big = await createTestCrm()
    try {
      const summary = await seedDemoData(big, { seed: 7, contacts: 150, deals: 20 })
      expect(summary.counts.contacts).toBe(150)
      expect(summary.counts.deals).toBe(20)
      expect(summary.counts.orders).toBeGreaterThan(demo.counts.orders)
    } finally {
      await big.close()
    }
  })

  it("the package's main entry never imports vitest (users run their tests under any runner)", () => {
    const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src")
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, "utf8")
      for (const [, spec] of text.matchAll(/\bfrom\s+"([^"]+)"/g)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^(@effect\/)?vitest/)
        if (spec!.startsWith(".")) visit(resolve(dirname(file), spec!.replace(/\.js$/, ".ts")))
      }
    }
    visit(resolve(src, "index.ts"))
    expect(seen.has(resolve(src, "DemoData.ts"))).toBe(true)
  })
})
