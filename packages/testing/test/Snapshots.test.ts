// The weighted pipeline's daily snapshot on the virtual clock (taken by the dispatcher once per
// local day, whatever number of times it runs), and rules whose conditions read contact.rfm.*.
import { createTestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

describe("daily snapshots", () => {
  it("the dispatcher records the weighted pipeline once per day, as it stands at its first run of the day", async () => {
    const crm = await createTestCrm()
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      const deal = await crm.deals.create({ title: "Big", amount: eur(100_000), stage: "prospecting", contactId: ada.id })
      const weighted = async () =>
        (await crm.snapshots.pipelineHistory({ from: "2025-01-01", to: "2025-12-31" })).map((d) => [d.day, d.totals.map((t) => t.weighted.amountMinor)])
      expect(await weighted()).toEqual([])
      await crm.clock.advance("1 hour") // 2025-01-06 10:00: the day's first run takes it (10% of 100,000)
      expect(await weighted()).toEqual([["2025-01-06", [10_000]]])
      await crm.deals.move(deal.id, "demo") // 40%
      await crm.clock.advance("1 hour") // same day: nothing new
      await crm.dispatcher.runDue()
      expect(await weighted()).toEqual([["2025-01-06", [10_000]]])
      await crm.clock.advance("1 day") // 2025-01-07 11:00
      expect(await weighted()).toEqual([["2025-01-06", [10_000]], ["2025-01-07", [40_000]]])
      expect(await crm.snapshots.takeSnapshot()).toEqual({ day: "2025-01-07", taken: false })
      await crm.deals.win(deal.id)
      // The clock jumps three days: the dispatcher ran on none of the days between, which have no entry.
      await crm.clock.advance("3 days")
      expect(await weighted()).toEqual([["2025-01-06", [10_000]], ["2025-01-07", [40_000]], ["2025-01-10", [100_000]]])
    } finally {
      await crm.close()
    }
  })

  it("the daily snapshot refreshes RFM scores: an order placed yesterday counts in today's scores", async () => {
    const crm = await createTestCrm()
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      await crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: eur(500) }] } })
      expect(await crm.snapshots.rfm(ada.id)).toBeNull()
      await crm.clock.advance("1 day")
      expect(await crm.snapshots.rfm(ada.id)).toMatchObject({ recency: 1, frequency: 1, monetary: 1, orderCount: 1, computedAt: "2025-01-07T09:00:00.000Z" })
    } finally {
      await crm.close()
    }
  })
})

describe("contact.rfm in conditions", () => {
  it("a rule on contact.rfm.recency fires for the contacts whose last order is among the most recent, not for others nor those without orders", async () => {
    const crm = await createTestCrm()
    try {
      await crm.rules.create({
        id: "recent",
        name: "Recent buyers",
        on: "vip.check",
        when: { path: "contact.rfm.recency", op: "gte", value: 4 },
        actions: [{ type: "addTag", tag: "recent" }]
      })
      const names = ["ada", "bob", "cy", "di", "ed", "fay"]
      const contacts = new Map<string, string>()
      for (const name of names) contacts.set(name, (await crm.contacts.create({ email: `${name}@example.com` })).id)
      // One order each, a day apart: ada the oldest (recency 1) … ed the newest (5); fay none.
      for (const [i, name] of names.slice(0, 5).entries()) {
        await crm.events.emit({
          type: "order.placed",
          contactId: contacts.get(name)!,
          occurredAt: `2024-12-0${i + 1}T10:00:00Z`,
          payload: { orderId: `o-${name}`, lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: eur(1_000) }] }
        })
      }
      await crm.snapshots.refreshRfm()
      const check = async () => {
        for (const name of names) await crm.events.emit({ type: "vip.check", contactId: contacts.get(name)!, payload: {} })
        await crm.dispatcher.runDue() // the tags are the rule's actions, run as jobs
        const tagged: Array<string> = []
        for (const name of names) if ((await crm.contacts.get(contacts.get(name)!)).tags.includes("recent")) tagged.push(name)
        return tagged
      }
      expect(await check()).toEqual(["di", "ed"])
      // Ada buys again: after the refresh she is the most recent, and the rule fires for her too.
      await crm.events.emit({ type: "order.placed", contactId: contacts.get("ada")!, payload: { orderId: "o-ada-2", lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: eur(1_000) }] } })
      await crm.snapshots.refreshRfm()
      expect(await check()).toEqual(["ada", "di", "ed"])
      await expect(
        crm.rules.create({ id: "bad", name: "Bad", on: "vip.check", when: { path: "contact.rfm.loyalty", op: "gte", value: 4 }, actions: [{ type: "addTag", tag: "x" }] })
      ).rejects.toMatchObject({ _tag: "ValidationError", message: expect.stringContaining("contact.rfm.recency") })
    } finally {
      await crm.close()
    }
  })
})
