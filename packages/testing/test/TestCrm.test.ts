import { createTestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"

describe("createTestCrm", () => {
  it("advances a virtual clock and runs each job when it falls due", async () => {
    const crm = await createTestCrm()
    try {
      const template = await crm.templates.create({ name: "Cart", purpose: "marketing", subject: "Your cart {{ event.payload.cartId }} is waiting", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
      await crm.rules.create({ id: "cart", name: "Cart", on: "cart.abandoned", delay: "1 day", actions: [{ type: "sendEmail", template: template.id }, { type: "createTask", title: "Call", due: "2 days" }] })
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      await crm.consent.grant(ada.id)
      await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
      expect(crm.clock.now()).toBe("2025-01-06T09:00:00.000Z")
      await crm.clock.advance("23 hours")
      expect(crm.mails.sent()).toEqual([])
      const report = await crm.clock.advance("3 days")
      expect(report).toMatchObject({ claimed: 3, done: 3 })
      expect(crm.mails.sent().map((m) => [m.to, m.subject, m.sentAt])).toEqual([["ada@example.com", "Your cart c-1 is waiting", "2025-01-07T09:00:00.000Z"]])
      // The task was created when the check ran, at D+1, due two days later.
      expect((await crm.tasks.list()).items.map((t) => t.dueAt)).toEqual(["2025-01-09T09:00:00.000Z"])
      expect(crm.clock.now()).toBe("2025-01-10T08:00:00.000Z")
      await crm.clock.advanceTo("2025-01-01T00:00:00Z")
      expect(crm.clock.now()).toBe("2025-01-10T08:00:00.000Z")
      crm.mails.clear()
      expect(crm.mails.sent()).toEqual([])
    } finally {
      await crm.close()
    }
  })

  it("makes the same ids on every run", async () => {
    const ids = async () => {
      const crm = await createTestCrm()
      const contact = await crm.contacts.create({ email: "ada@example.com" })
      await crm.close()
      return contact.id
    }
    expect(await ids()).toBe(await ids())
  })
})
