// One pressure cap across channels (issue 15): a newsletter in the morning and a call in the
// afternoon fill a contact's marketing window; a further task waits until the window frees, a
// further mail is skipped, transactional mail and tasks without a purpose are never held back.
import { createTestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"

describe("the pressure cap, on the virtual clock", () => {
  it("counts mails and rules' tasks of one purpose together; defers a task beyond it, skips a mail", async () => {
    const crm = await createTestCrm()
    try {
      await crm.settings.update({ pressure: { marketing: { max: 2, per: "7 days" } } })
      expect((await crm.settings.get()).messaging.pressure).toEqual({ marketing: { max: 2, per: "7 days" } })
      const newsletter = await crm.templates.create({ name: "Newsletter", purpose: "marketing", subject: "News {{ event.payload.n }}", html: '<p>News</p><a href="{{ unsubscribeUrl }}">stop</a>' })
      const receipt = await crm.templates.create({ name: "Receipt", subject: "Order {{ event.payload.orderId }}", text: "Thanks" })
      await crm.rules.create({ id: "news", name: "Newsletter", on: "newsletter.due", actions: [{ type: "sendEmail", template: newsletter.id }] })
      await crm.rules.create({ id: "call", name: "Call back", on: "cart.abandoned", actions: [{ type: "createTask", title: "Call about {{ event.payload.cartId }}", channel: "call", purpose: "marketing" }] })
      await crm.rules.create({ id: "note", name: "Note", on: "cart.abandoned", actions: [{ type: "createTask", title: "Check stock {{ event.payload.cartId }}", channel: "letter" }] })
      await crm.rules.create({ id: "receipt", name: "Receipt", on: "order.placed", actions: [{ type: "sendEmail", template: receipt.id, transactional: true }] })
      const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
      const bob = await crm.contacts.create({ email: "bob@example.com" })
      for (const c of [ada, bob]) await crm.consent.grant(c.id)
      const tasks = async (contactId: string) => (await crm.tasks.list({ contactId })).items.map((t) => [t.title, t.createdAt]).sort()

      // Monday 09:00, the newsletter; 15:00, a call: two places in Ada's window.
      await crm.events.emit({ type: "newsletter.due", contactId: ada.id, payload: { n: 1 } })
      await crm.clock.advance("6 hours")
      await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-1" } })
      await crm.clock.advance("1 hour")
      expect(crm.mails.sent().map((m) => [m.subject, m.sentAt])).toEqual([["News 1", "2025-01-06T09:00:00.000Z"]])
      expect(await tasks(ada.id)).toEqual([
        ["Call about c-1", "2025-01-06T15:00:00.000Z"],
        ["Check stock c-1", "2025-01-06T15:00:00.000Z"]
      ])

      // Tuesday: a second cart (the call waits; the task without a purpose does not), a second
      // newsletter (skipped), an order (its receipt goes). Bob is not held back.
      await crm.clock.advanceTo("2025-01-07T09:00:00Z")
      await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-2" } })
      await crm.events.emit({ type: "newsletter.due", contactId: ada.id, payload: { n: 2 } })
      await crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: { amountMinor: 100, currency: "EUR" } }] } })
      await crm.events.emit({ type: "newsletter.due", contactId: bob.id, payload: { n: 2 } })
      await crm.clock.advance("1 minute")
      expect(crm.mails.sent().map((m) => [m.to, m.subject])).toEqual([
        ["ada@example.com", "News 1"],
        ["ada@example.com", "Order o-1"],
        ["bob@example.com", "News 2"]
      ])
      expect(await tasks(ada.id)).toEqual([
        ["Call about c-1", "2025-01-06T15:00:00.000Z"],
        ["Check stock c-1", "2025-01-06T15:00:00.000Z"],
        ["Check stock c-2", "2025-01-07T09:00:00.000Z"]
      ])
      const skipped = (await crm.dispatcher.jobs({ status: "skipped" })).items
      expect(skipped.map((j) => [j.ruleId, j.outcome?.["reason"]])).toEqual([
        ["news", "pressure cap: 2 marketing contacts (mails, calls, tasks) in the last 7 days (at most 2)"]
      ])
      const waiting = (await crm.dispatcher.jobs({ status: "pending", ruleId: "call" })).items
      // The window frees when the newsletter of Monday 09:00 is 7 days old.
      expect(waiting.map((j) => [j.dueAt, j.attempts, j.outcome?.["deferred"]])).toEqual([
        ["2025-01-13T09:00:00.000Z", 0, "pressure cap: 2 marketing contacts (mails, calls, tasks) in the last 7 days (at most 2)"]
      ])

      // Not before: the deferred call is created when the window frees, and takes its place.
      await crm.clock.advanceTo("2025-01-13T08:59:00Z")
      expect((await tasks(ada.id)).length).toBe(3)
      await crm.clock.advanceTo("2025-01-13T09:00:00Z")
      expect(await tasks(ada.id)).toContainEqual(["Call about c-2", "2025-01-13T09:00:00.000Z"])
      const placed = (await crm.dispatcher.jobs({ status: "done", ruleId: "call" })).items
      expect(placed.map((j) => [j.purpose, j.reservedAt])).toEqual([
        ["marketing", "2025-01-06T15:00:00.000Z"],
        ["marketing", "2025-01-13T09:00:00.000Z"]
      ])
      // The window is full again (Monday's call, today's call): a newsletter now is skipped.
      await crm.events.emit({ type: "newsletter.due", contactId: ada.id, payload: { n: 3 } })
      await crm.clock.advance("1 minute")
      expect(crm.mails.sent().filter((m) => m.to === "ada@example.com").map((m) => m.subject)).toEqual(["News 1", "Order o-1"])
    } finally {
      await crm.close()
    }
  })

  it("without a cap, tasks with a purpose are created at once; a cap set later counts them", async () => {
    const crm = await createTestCrm()
    try {
      await crm.rules.create({ id: "call", name: "Call back", on: "cart.abandoned", actions: [{ type: "createTask", title: "Call", channel: "call", purpose: "marketing" }] })
      const ada = await crm.contacts.create({ email: "ada@example.com" })
      for (const n of [1, 2, 3]) await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: `c-${n}` } })
      await crm.clock.advance("1 minute")
      expect((await crm.tasks.list({ contactId: ada.id })).items.length).toBe(3)
      // A cap set later counts what is already placed.
      await crm.settings.update({ pressure: { marketing: { max: 3, per: "1 day" } } })
      await crm.events.emit({ type: "cart.abandoned", contactId: ada.id, payload: { cartId: "c-4" } })
      await crm.clock.advance("1 minute")
      expect((await crm.tasks.list({ contactId: ada.id })).items.length).toBe(3)
      await crm.settings.update({ pressure: null })
      expect((await crm.settings.get()).messaging.pressure).toEqual({})
    } finally {
      await crm.close()
    }
  })
})
