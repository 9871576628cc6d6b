// Orders through the Promise client (issue 16): what an app that does not use Effect sees — plain
// JSON orders and figures, errors thrown as RapportError subclasses with their _tag and code.
import { RapportError } from "@rapport/core"
import { createTestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"

const shoe = (quantity: number, amountMinor: number) => ({ sku: "SHOE", name: "Shoe", quantity, unitPrice: { amountMinor, currency: "EUR" } })

describe("orders through the Promise client", () => {
  it("list, get and summary answer plain JSON; cancellation and refunds by events; errors keep their tag", async () => {
    const crm = await createTestCrm()
    try {
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      await crm.events.emit({ id: "p-1", type: "order.placed", contactId: ada.id, occurredAt: "2025-01-01T10:00:00Z", payload: { orderId: "o-1", lines: [shoe(3, 1001)] } })
      await crm.events.emit({ id: "p-2", type: "order.placed", contactId: ada.id, occurredAt: "2025-01-02T10:00:00Z", payload: { orderId: "o-2", lines: [shoe(1, 4000)] } })
      await crm.events.emit({ id: "r-1", type: "order.refunded", contactId: ada.id, payload: { orderId: "o-1", amount: { amountMinor: 3, currency: "EUR" }, reason: "scratch" } })
      await crm.events.emit({ id: "c-1", type: "order.cancelled", contactId: ada.id, occurredAt: "2025-01-03T10:00:00Z", payload: { orderId: "o-2" } })

      const one = await crm.orders.get("o-1")
      expect(one).toEqual({
        id: "o-1",
        workspaceId: crm.workspaceId,
        contactId: ada.id,
        eventId: "p-1",
        placedAt: "2025-01-01T10:00:00.000Z",
        currency: "EUR",
        totalMinor: 3003,
        lines: [shoe(3, 1001)],
        status: "placed",
        refundedMinor: 3,
        cancelledAt: null
      })
      expect(await crm.orders.get("o-2")).toMatchObject({ status: "cancelled", cancelledAt: "2025-01-03T10:00:00.000Z" })
      const page = await crm.orders.list({ contactId: ada.id, limit: 1 })
      expect(page.items.map((o) => o.id)).toEqual(["o-2"])
      expect((await crm.orders.list({ cursor: page.nextCursor!, limit: 1 })).items.map((o) => o.id)).toEqual(["o-1"])
      // 3,003 − 3 = 3,000 from o-1 only (o-2 is cancelled).
      expect(await crm.orders.summary(ada.id)).toEqual({
        contactId: ada.id,
        currencies: [{ currency: "EUR", revenueMinor: 3000, orders: 1, firstOrderAt: "2025-01-01T10:00:00.000Z", lastOrderAt: "2025-01-01T10:00:00.000Z", averageBasketMinor: 3000 }]
      })

      const missing = await crm.orders.get("o-404").catch((e: unknown) => e)
      expect(missing).toBeInstanceOf(RapportError)
      expect(missing).toMatchObject({ _tag: "NotFound", code: "NOT_FOUND" })
      const over = await crm.events.emit({ type: "order.refunded", contactId: ada.id, payload: { orderId: "o-1", amount: { amountMinor: 3001, currency: "EUR" } } }).catch((e: unknown) => e)
      expect(over).toMatchObject({ _tag: "ValidationError", code: "VALIDATION_FAILED", issues: [{ path: ["payload", "amount", "amountMinor"] }] })
      await expect(crm.orders.list({ limit: 0 })).rejects.toMatchObject({ _tag: "ValidationError", issues: [{ path: ["limit"] }] })
    } finally {
      await crm.close()
    }
  })
})
