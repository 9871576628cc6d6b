// The worked example of docs/testing-rules.md, run as written: a shop property-tests its own rule
// set ("never two reminders for one cart; none after the cart was bought") on generated journeys.
import type { CrmClient } from "@rapport/core"
import { Arbitraries, createTestCrm } from "@rapport/testing"
import * as FastCheck from "effect/FastCheck"
import { describe, expect, it } from "vitest"

// The shop's rules, as its app installs them at start-up.
const installShopRules = async (crm: CrmClient) => {
  const reminder = await crm.templates.create({
    name: "Cart reminder",
    purpose: "marketing",
    subject: "Your cart {{ event.payload.cartId }} is waiting",
    html: '<p>Come back!</p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>'
  })
  await crm.rules.create({
    id: "abandoned-cart",
    name: "Cart reminder at D+1",
    on: "cart.abandoned",
    delay: "1 day",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
    limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", template: reminder.id }]
  })
  const welcome = await crm.templates.create({ name: "Welcome", subject: "Welcome!", text: "Thanks for your first order." })
  await crm.rules.create({
    id: "first-order",
    name: "Welcome after the first order",
    on: "order.placed",
    limits: { oncePerContact: true },
    actions: [{ type: "sendEmail", template: welcome.id }]
  })
}

describe("the shop's rules, on generated journeys", () => {
  it("never two reminders for one cart, none for a cart bought before its reminder was due, one welcome per customer", async () => {
    // What the journeys saw happen: rules that never sent a mail would pass the checks, not these counts.
    const seen = { reminderSent: 0, welcomeSent: 0, welcomedOnceDespiteTwoOrders: 0 }
    await FastCheck.assert(
      FastCheck.asyncProperty(Arbitraries.cartJourney({ contacts: 3, carts: 2 }), async (journey) => {
        const crm = await createTestCrm()
        try {
          await installShopRules(crm)
          // Consent for marketing mail, given at sign-up.
          for (const n of [1, 2, 3]) {
            const customer = await crm.contacts.create({ email: `customer${n}@example.com` })
            await crm.consent.grant(customer.id, { source: "signup-form" })
          }
          for (const step of journey) {
            await crm.clock.advance(step.after)
            await crm.events.emit(step.event)
          }
          await crm.clock.advance("3 days")

          const mails = crm.mails.sent()
          const reminders = mails.filter((m) => m.subject.startsWith("Your cart"))
          const perCart = new Map<string, number>()
          for (const mail of reminders) perCart.set(`${mail.to} ${mail.subject}`, (perCart.get(`${mail.to} ${mail.subject}`) ?? 0) + 1)
          expect([...perCart.values()].every((n) => n === 1)).toBe(true)

          // No reminder for a cart its customer ordered between abandoning it and the reminder.
          for (const mail of reminders) {
            const cartId = mail.subject.split(" ")[2]!
            const abandoned = journeyTimes(journey, mail.to, "cart.abandoned", cartId)
            const ordered = journeyTimes(journey, mail.to, "order.placed")
            expect(abandoned.some((at) => !ordered.some((o) => o > at && o <= Date.parse(mail.sentAt)))).toBe(true)
          }

          const welcomes = mails.filter((m) => m.subject === "Welcome!").map((m) => m.to)
          expect(new Set(welcomes).size).toBe(welcomes.length)

          if (reminders.length > 0) seen.reminderSent++
          if (welcomes.length > 0) seen.welcomeSent++
          for (const n of [1, 2, 3]) {
            const email = `customer${n}@example.com`
            if (journeyTimes(journey, email, "order.placed").length >= 2 && welcomes.includes(email)) seen.welcomedOnceDespiteTwoOrders++
          }
        } finally {
          await crm.close()
        }
      }),
      { numRuns: 30 }
    )
    expect(Object.entries(seen).flatMap(([what, n]) => (n === 0 ? [what] : []))).toEqual([])
  })
})

/** When a customer emitted events of a type (of one cart), on the test clock. */
const journeyTimes = (journey: ReadonlyArray<Arbitraries.Step>, email: string, type: string, cartId?: string) => {
  let at = Date.parse("2025-01-06T09:00:00.000Z")
  const times: Array<number> = []
  for (const step of journey) {
    at += step.after
    const payload = (step.event.payload ?? {}) as { cartId?: string }
    if (step.event.email === email && step.event.type === type && (cartId === undefined || payload.cartId === cartId)) times.push(at)
  }
  return times
}
