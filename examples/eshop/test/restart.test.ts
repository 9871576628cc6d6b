// Starting the shop: the first start on an empty SQLite file seeds a year of history (and sends no
// mail for that past); a second start on the same file finds everything declared and seeds nothing.
import type { CrmClient } from "@rapport/core"
import { memoryStorage, sqliteStorage } from "@rapport/sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { createShop } from "../src/shop.js"
import { manualClock } from "@rapport/testing"
import { settle } from "./support.js"

const secret = "eshop-test-secret-0123456789"
const now = "2026-12-07T10:00:00.000Z"
const dir = mkdtempSync(join(tmpdir(), "eshop-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const allOrders = async (crm: CrmClient) => {
  const orders: Array<{ id: string; contactId: string; placedAt: string; total: number }> = []
  let cursor: string | undefined
  for (let page = 0; page < 100; page++) {
    const result = await crm.orders.list({ limit: 200, ...(cursor === undefined ? {} : { cursor }) })
    for (const o of result.items) orders.push({ id: o.id, contactId: o.contactId, placedAt: o.placedAt, total: o.lines.reduce((s, l) => s + l.quantity * l.unitPrice.amountMinor, 0) })
    if (result.nextCursor === null) return orders
    cursor = result.nextCursor
  }
  throw new Error("more than 100 pages of orders")
}

describe("starting the shop", () => {
  it("first start seeds a year of orders from several channels without sending mail; the second start changes nothing", async () => {
    const filename = join(dir, "eshop.db")
    const options = () => ({ storage: sqliteStorage({ filename }), clock: manualClock(now).clock, secret, port: 0, smtpPort: 0, log: () => {} })

    const first = await createShop(options())
    let firstPlanLength = 0
    let contactsAtFirst = 0
    try {
      expect(first.seeded).toMatchObject({ contacts: 120 })
      expect(first.seeded!.orders).toBeGreaterThan(150)
      // Fields and templates were declared before seeding; the rules only after it.
      expect(first.setupPlan.filter((l) => l.action !== "unchanged").map((l) => `${l.action} ${l.kind} ${l.key}`)).toEqual([
        "create rule order-confirmation",
        "create rule password-reset",
        "create rule abandoned-cart",
        "create rule same-colour-offer",
        "create rule fan-welcome",
        "create rule addict-welcome",
        "create rule win-back"
      ])
      firstPlanLength = first.setupPlan.length

      const orders = await allOrders(first.crm)
      expect(orders).toHaveLength(first.seeded!.orders)
      const months = new Set(orders.map((o) => o.placedAt.slice(0, 7)))
      expect(months.size).toBeGreaterThanOrEqual(12)
      expect(orders.every((o) => o.placedAt < now && o.placedAt >= "2025-12-07")).toBe(true)

      const channels = await first.crm.analytics.channels({ from: "2025-12-01T00:00:00Z", to: "2026-12-08T00:00:00Z" })
      const acquired = new Map<string, number>()
      for (const row of channels) acquired.set(row.channel, (acquired.get(row.channel) ?? 0) + row.acquired)
      expect([...acquired].filter(([, n]) => n > 0).length).toBeGreaterThanOrEqual(5)
      expect(channels.some((row) => row.channel === "google-ads" && (row.spend?.amountMinor ?? 0) > 0)).toBe(true)

      const contacts = (await first.crm.contacts.list({ limit: 200 })).items
      contactsAtFirst = contacts.length
      expect(contacts.some((c) => /[éèëïôç]/i.test(`${c.firstName} ${c.lastName}`))).toBe(true)
      expect(contacts.some((c) => c.fields["locale"] === "en-GB")).toBe(true)
      const stages = new Set(contacts.map((c) => c.stage))
      for (const stage of ["customer", "loyal", "fan"]) expect(stages).toContain(stage)

      // The seeded past queued nothing and sent nothing.
      await first.crm.dispatcher.runDue()
      await settle(first.crm)
      expect((await first.crm.dispatcher.jobs({ limit: 10 })).items).toEqual([])
      expect(first.mails?.received).toEqual([])
    } finally {
      await first.close()
    }

    const second = await createShop(options())
    try {
      expect(second.seeded).toBeNull()
      expect(second.setupPlan).toHaveLength(firstPlanLength)
      expect(second.setupPlan.filter((l) => l.action !== "unchanged")).toEqual([])
      expect((await second.crm.contacts.list({ limit: 200 })).items).toHaveLength(contactsAtFirst)
    } finally {
      await second.close()
    }
  }, 180_000)

  it("seeding is deterministic: the same seed on the same day gives the same people and orders", async () => {
    const seeded = async () => {
      const shop = await createShop({ storage: memoryStorage(), clock: manualClock(now).clock, secret, port: 0, smtpPort: 0, seed: 7, log: () => {} })
      try {
        const emails = new Map((await shop.crm.contacts.list({ limit: 200 })).items.map((c) => [c.id, c.email]))
        return (await allOrders(shop.crm)).map((o) => [o.id, emails.get(o.contactId), o.placedAt, o.total]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      } finally {
        await shop.close()
      }
    }
    const a = await seeded()
    const b = await seeded()
    expect(a.length).toBeGreaterThan(150)
    expect(b).toEqual(a)
  }, 180_000)
})
