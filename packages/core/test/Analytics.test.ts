// Analytics through the Promise client (issue 16): the reports come back as plain JSON with the
// figures worked out by hand here (the storage contract suite checks each report in depth on
// SQLite and PostgreSQL), and bad input is thrown as a RapportValidationError naming the field.
import { createCrm, type CrmClient, RapportValidationError } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
let crm: CrmClient
let ada: string

beforeAll(async () => {
  crm = await createCrm({ storage: memoryStorage() })
  ada = (await crm.contacts.create({ email: "ada@example.com", source: { channel: "ads" }, firstSeenAt: "2026-01-05T00:00:00Z" })).id
  await crm.contacts.create({ email: "bob@example.com", source: { channel: "ads" }, firstSeenAt: "2026-01-06T00:00:00Z" })
  const lines = [
    { sku: "TEA", name: "Tea", quantity: 3, unitPrice: eur(400), unitCost: eur(150) },
    { sku: "CUP", name: "Cup", quantity: 1, unitPrice: eur(900) }
  ]
  await crm.events.emit({ type: "order.placed", contactId: ada, occurredAt: "2026-02-01T10:00:00Z", payload: { orderId: "t-1", lines } })
  await crm.events.emit({ type: "order.refunded", contactId: ada, occurredAt: "2026-02-02T10:00:00Z", payload: { orderId: "t-1", amount: eur(300) } })
})
afterAll(() => crm.close())

const february = { from: "2026-02-01T00:00:00Z", to: "2026-03-01T00:00:00Z" }

describe("analytics through the Promise client", () => {
  it("topCustomers and topProducts answer exact minor units as plain JSON", async () => {
    // t-1: 3 × 400 + 1 × 900 = 2,100, 300 refunded: 1,800. Margin 3 × (400 − 150) = 750 − 300 = 450; the cup has no cost.
    expect(await crm.analytics.topCustomers(february)).toEqual([
      { rank: 1, contactId: ada, revenue: eur(1800), orders: 1, margin: eur(450), marginComplete: false, uncostedLines: 1 }
    ])
    // TEA 3 × 400 = 1,200, margin 750; CUP 900, no cost.
    expect(await crm.analytics.topProducts(february)).toEqual([
      { rank: 1, sku: "TEA", name: "Tea", revenue: eur(1200), quantity: 3, margin: eur(750), marginComplete: true, uncostedQuantity: 0 },
      { rank: 2, sku: "CUP", name: "Cup", revenue: eur(900), quantity: 1, margin: eur(0), marginComplete: false, uncostedQuantity: 1 }
    ])
  })

  it("recordSpend then channels: cost per customer from the spend of the months in the period", async () => {
    await crm.analytics.recordSpend({ channel: "ads", month: "2026-01", amount: eur(999) })
    // ada (a customer since t-1) and bob (a suspect): 1 of 2. 999 / 1 customer.
    expect(await crm.analytics.channels({ from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" })).toEqual([
      { channel: "ads", campaign: null, acquired: 2, customers: 1, customerShare: 0.5, currency: "EUR", revenue: eur(1800), spend: eur(999), costPerCustomer: eur(999) }
    ])
  })

  it("bad input is a RapportValidationError naming the field", async () => {
    const issues = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(RapportValidationError)
      return (error as RapportValidationError).issues.map((i) => i.path.join("."))
    }
    expect(await issues(crm.analytics.topCustomers({ from: february.to, to: february.from }))).toEqual(["from"])
    expect(await issues(crm.analytics.topProducts({ ...february, limit: 5000 }))).toEqual(["limit"])
    expect(await issues(crm.analytics.recordSpend({ channel: "ads", month: "2026-1", amount: eur(1) }))).toEqual(["month"])
    expect(await issues(crm.analytics.funnel({ cohortTo: "26-01" }))).toEqual(["cohortTo"])
  })
})
