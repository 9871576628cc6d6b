// The app as a developer first meets it: started on a fresh database it seeds a year of trade
// (the same every time), a restart keeps what is there, and every page answers on 127.0.0.1.
import { memoryStorage, sqliteStorage } from "@rapport/sqlite"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createApp } from "../src/app.js"
import { QUOTE_STAGES } from "../src/declaration.js"
import { manualClock } from "@rapport/testing"
import { call, waitFor } from "./support.js"

const START = "2026-12-03T09:00:00.000Z"
const quiet = () => undefined

const snapshot = async (app: Awaited<ReturnType<typeof createApp>>) => {
  const crm = app.crm
  const companies = (await crm.companies.list({ limit: 500 })).items.map((c) => c.name).sort()
  const deals = (await crm.deals.list({ limit: 500 })).items.map((d) => `${d.quoteRef} ${d.status} ${d.stage} ${d.amount.amountMinor} ${d.expectedCloseDate}`).sort()
  const contacts = (await crm.contacts.list({ limit: 500 })).items.map((c) => `${c.email} ${c.stage} ${c.source.channel} ${c.firstSeenAt}`).sort()
  return { companies, deals, contacts }
}

describe("b2b-quotes app", () => {
  it("seeds a year of trade on first start, identical from one start to the next, and below the floor", async () => {
    const first = await createApp({ storage: memoryStorage(), clock: manualClock(START).clock, port: 0, smtpPort: 0, log: quiet })
    const second = await createApp({ storage: memoryStorage(), clock: manualClock(START).clock, port: 0, smtpPort: 0, log: quiet })
    try {
      expect(first.seeded).toEqual(second.seeded)
      expect(first.seeded).toMatchObject({ companies: 24, contacts: 30, channels: ["cold-call", "linkedin", "referral", "trade-show", "website"] })
      const seen = await snapshot(first)
      expect(await snapshot(second)).toEqual(seen)
      // French and English names, accents kept.
      expect(seen.companies).toEqual(expect.arrayContaining(["Hôtel Beauséjour", "Café Søndergaard", "Thornbury & Hale Ltd", "Fromagerie Cœur de Brie"]))

      const crm = first.crm
      // Orders over the year made customers of every buyer who ordered: none held back by missing details.
      const orders = first.seeded!.orders
      expect(orders).toBeGreaterThanOrEqual(18)
      const buyers = (await crm.contacts.list({ limit: 500 })).items
      const customers = buyers.filter((c) => ["customer", "loyal", "fan", "addict"].includes(c.stage))
      expect(customers).toHaveLength(18)
      const orderDates = (await crm.timeline.feed({ kinds: ["order"], limit: 500 })).items.map((e) => Date.parse(e.occurredAt))
      expect(orderDates).toHaveLength(orders)
      expect(Math.max(...orderDates) - Math.min(...orderDates)).toBeGreaterThan(200 * 86_400_000)
      // Spend on the paid channels, for the cost per customer.
      const channels = await crm.analytics.channels({ from: "2025-12-01T00:00:00Z", to: "2027-01-01T00:00:00Z" })
      expect([...new Set(channels.filter((c) => c.spend !== null && c.spend.amountMinor > 0).map((c) => c.channel))].sort()).toEqual(["cold-call", "linkedin", "trade-show", "website"])
      // The day's call-backs: some due today, some overdue.
      expect((await crm.tasks.list({ due: "today" })).items.length).toBeGreaterThan(0)
      expect((await crm.tasks.list({ due: "overdue" })).items.length).toBeGreaterThan(0)

      // The open quotes weighted by hand, stage by stage, against the 250 000,00 € floor.
      const probability = new Map<string, number>(QUOTE_STAGES.map((s) => [s.key, s.probability]))
      const open = (await crm.deals.list({ statuses: ["open"], limit: 500 })).items
      expect(new Set(open.map((d) => d.stage))).toEqual(new Set(["draft", "sent", "negotiation", "verbal"]))
      const weighted = open.reduce((sum, d) => sum + (d.amount.amountMinor * probability.get(d.stage)!) / 100, 0)
      const floor = (await (await fetch(`${first.url}/floor`, { headers: { accept: "application/json" } })).json()) as { weighted: { amountMinor: number }; below: boolean; shortfall: { amountMinor: number } }
      expect(floor).toEqual({ floor: { amountMinor: 25_000_000, currency: "EUR" }, weighted: { amountMinor: Math.round(weighted), currency: "EUR" }, below: true, shortfall: { amountMinor: 25_000_000 - Math.round(weighted), currency: "EUR" } })
    } finally {
      await first.close()
      await second.close()
    }
  }, 180_000)

  it("keeps a SQLite file's data on restart instead of seeding again", async () => {
    const filename = join(mkdtempSync(join(tmpdir(), "b2b-quotes-")), "crm.db")
    const first = await createApp({ storage: sqliteStorage({ filename }), port: 0, smtpPort: 0, log: quiet })
    const before = await snapshot(first)
    await first.close()
    const second = await createApp({ storage: sqliteStorage({ filename }), port: 0, smtpPort: 0, log: quiet })
    try {
      expect(first.seeded?.companies).toBe(24)
      expect(second.seeded).toBeNull()
      expect(await snapshot(second)).toEqual(before)
    } finally {
      await second.close()
    }
  }, 180_000)

  it("serves every page as accessible HTML, the quote's PDF, the API and the dashboard", async () => {
    const app = await createApp({ storage: memoryStorage(), clock: manualClock(START).clock, port: 0, smtpPort: 0, log: quiet })
    try {
      const crm = app.crm
      const deal = (await crm.deals.list({ statuses: ["open"], limit: 1 })).items[0]!
      for (const path of ["/", "/floor", "/companies", `/contacts/${deal.contactId}`, "/quotes", "/quotes?status=all", `/quotes/${deal.id}`, "/mails"]) {
        const response = await fetch(app.url + path)
        const body = await response.text()
        expect([path, response.status, response.headers.get("content-type")]).toEqual([path, 200, "text/html; charset=utf-8"])
        expect(body).toMatch(/^<!doctype html><html lang="en">/)
        expect(body.match(/<h1>/g)).toHaveLength(1)
        expect(body).toContain("<main>")
        // Every input, select and textarea has its label.
        const ids = [...body.matchAll(/<(?:input|select|textarea) id="([^"]+)"/g)].map((m) => m[1])
        for (const id of ids) expect(body).toContain(`<label for="${id}">`)
      }
      const pdf = await fetch(`${app.url}/quotes/${deal.id}/pdf`)
      expect([pdf.status, pdf.headers.get("content-type"), pdf.headers.get("content-disposition")]).toEqual([200, "application/pdf", `inline; filename="${deal.quoteRef}.pdf"`])
      expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString("latin1")).toBe("%PDF-")
      expect((await fetch(`${app.url}/crm/api/openapi.json`)).status).toBe(200)
      expect((await fetch(`${app.url}/crm/api/deals/${deal.id}`)).status).toBe(200)
      const missing = await fetch(`${app.url}/quotes/00000000-0000-7000-8000-000000000000`, { headers: { accept: "application/json" } })
      expect(missing.status).toBe(404)
      // An English buyer gets the English variant, amounts written the English way.
      const grace = await crm.contacts.findByEmail("grace.o-neill@riverside-catering.example")
      const quote = (await crm.deals.list({ contactId: grace!.id, statuses: ["open"], limit: 1 })).items[0]!
      const followUp = await call(app.url, "POST", `/quotes/${quote.id}/follow-up`, { channel: "email" })
      expect([followUp.status, followUp.body.mail.subject]).toEqual([201, `Following up: your quote ${quote.quoteRef}`])
      const mail = await waitFor("Grace's follow-up", () => app.mails.find((m) => m.envelopeTo.includes("grace.o-neill@riverside-catering.example")))
      const amount = new Intl.NumberFormat("en-GB", { style: "currency", currency: "EUR" }).format(quote.amount.amountMinor / 100)
      expect(mail.parsed.text).toContain(`Have you had a chance to look at our quote ${quote.quoteRef} ("${quote.title}", ${amount} excl. VAT)?`)
      expect(mail.parsed.attachments.map((a) => a.filename)).toEqual([`${quote.quoteRef}.pdf`])

      const dashboard = await fetch(`${app.url}/crm/dashboard/`)
      expect(dashboard.status).toBe(200)
      expect(await dashboard.text()).toContain("<title>Overview · Vasseur Équipement Pro</title>")
    } finally {
      await app.close()
    }
  }, 180_000)
})
