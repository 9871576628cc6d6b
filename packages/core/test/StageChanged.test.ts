// Stage changes as a rule trigger: every move (automatic progression caused by an event, a move by
// hand, a rule's setStage) records `contact.stage_changed` in the transaction that made it, and
// rules with `on: "contact.stage_changed"` react to it. Rules moving a contact back and forth stop
// after a bounded run instead of running for ever.
import { createCrm, type CrmClient } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { line } from "./helpers.js"

let crm: CrmClient | undefined
afterEach(async () => {
  await crm?.close()
  crm = undefined
})

const start = async () => {
  const client = await createCrm({ storage: memoryStorage() })
  crm = client
  return client
}

describe("contact.stage_changed", () => {
  it("a rule on contact.stage_changed reacts when an order moves the contact (automatic progression), with from and to", async () => {
    const crm = await start()
    await crm.rules.create({
      id: "welcome-customer",
      name: "Welcome a new customer",
      on: "contact.stage_changed",
      when: { path: "event.payload.to", op: "eq", value: "customer" },
      actions: [{ type: "addTag", tag: "new-customer" }]
    })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const emitted = await crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("shoe")] } })
    expect(emitted.stageChange).toMatchObject({ from: "suspect", to: "customer" })
    await crm.dispatcher.runDue()
    expect((await crm.contacts.get(ada.id)).tags).toEqual(["new-customer"])
    const [job] = (await crm.dispatcher.jobs({ ruleId: "welcome-customer" })).items
    const trigger = await crm.events.get(job!.eventId)
    expect(trigger).toMatchObject({
      type: "contact.stage_changed",
      contactId: ada.id,
      occurredAt: emitted.event.occurredAt,
      payload: { from: "suspect", to: "customer", chain: 0, cause: { kind: "automatic", eventId: emitted.event.id, eventType: "order.placed" } }
    })
  })

  it("a move by hand and a rule's setStage are stage changes rules react to; the rule's condition sees where the contact went", async () => {
    const crm = await start()
    await crm.rules.create({ id: "promote", name: "Promote on demo", on: "demo.booked", actions: [{ type: "setStage", stage: "loyal" }] })
    await crm.rules.create({ id: "count-moves", name: "Count moves", on: "contact.stage_changed", actions: [{ type: "adjustScore", by: 1 }] })
    await crm.rules.create({
      id: "loyal-tag",
      name: "Tag loyal",
      on: "contact.stage_changed",
      when: { path: "event.payload.to", op: "eq", value: "loyal" },
      actions: [{ type: "addTag", tag: "loyal" }]
    })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.lifecycle.move(ada.id, "prospect", { reason: "met at the fair" })
    await crm.dispatcher.runDue()
    expect(await crm.contacts.get(ada.id)).toMatchObject({ stage: "prospect", score: 1, tags: [] })
    await crm.events.emit({ type: "demo.booked", contactId: ada.id })
    await crm.dispatcher.runDue()
    expect(await crm.contacts.get(ada.id)).toMatchObject({ stage: "loyal", score: 2, tags: ["loyal"] })
    // A move to the stage the contact is in is no change: nothing reacts.
    await crm.lifecycle.move(ada.id, "loyal", { reason: "again" })
    await crm.dispatcher.runDue()
    expect((await crm.contacts.get(ada.id)).score).toBe(2)
  })

  it("rules moving a contact back and forth stop after 11 moves of theirs: the 12th stage change (chain 11) reaches no rule", async () => {
    const crm = await start()
    await crm.rules.create({
      id: "up",
      name: "Up",
      on: "contact.stage_changed",
      when: { path: "event.payload.to", op: "eq", value: "prospect" },
      actions: [{ type: "setStage", stage: "customer" }]
    })
    await crm.rules.create({
      id: "down",
      name: "Down",
      on: "contact.stage_changed",
      when: { path: "event.payload.to", op: "eq", value: "customer" },
      actions: [{ type: "setStage", stage: "prospect" }]
    })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await crm.lifecycle.move(ada.id, "prospect", { reason: "by hand" })
    // Bounded: without the bound the rules would keep the dispatcher busy for ever.
    const report = await crm.dispatcher.runDue({ limit: 100 })
    expect(await crm.dispatcher.nextDue()).toBeNull()
    expect(report).toMatchObject({ claimed: 11, done: 11, dead: 0 })
    const history = await crm.lifecycle.history(ada.id)
    expect(history).toHaveLength(12)
    expect(history.map((c) => c.to)).toEqual(["prospect", ...Array.from({ length: 11 }, (_, i) => (i % 2 === 0 ? "customer" : "prospect"))])
    const jobs = (await crm.dispatcher.jobs({ limit: 100 })).items
    const triggers = await Promise.all(jobs.map((j) => crm.events.get(j.eventId)))
    expect(triggers.map((e) => e.payload["chain"]).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 11 }, (_, i) => i))
    // The last move stays in the contact's state and history; a move by hand starts a new run.
    expect((await crm.contacts.get(ada.id)).stage).toBe("customer")
    await crm.lifecycle.move(ada.id, "suspect", { reason: "reset" })
    await crm.lifecycle.move(ada.id, "prospect", { reason: "again" })
    await crm.dispatcher.runDue({ limit: 100 })
    expect(await crm.lifecycle.history(ada.id)).toHaveLength(12 + 2 + 11)
  })

  it("contact.stage_changed cannot be emitted by hand: Rapport records it with every move", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    await expect(crm.events.emit({ type: "contact.stage_changed", contactId: ada.id, payload: { from: "suspect", to: "fan" } })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      issues: [{ path: ["payload"], message: expect.stringContaining("lifecycle.move") }]
    })
    expect((await crm.contacts.get(ada.id)).stage).toBe("suspect")
  })
  it("a merge that moves the kept contact on records contact.stage_changed, and rules react to it", async () => {
    const crm = await start()
    await crm.rules.create({
      id: "welcome-customer",
      name: "Welcome a new customer",
      on: "contact.stage_changed",
      when: { path: "event.payload.to", op: "eq", value: "customer" },
      actions: [{ type: "addTag", tag: "new-customer" }]
    })
    const kept = await crm.contacts.create({ email: "ada@example.com" })
    const duplicate = await crm.contacts.create({ email: "ada.lovelace@example.com", stage: "customer" })
    const merged = await crm.contacts.merge(kept.id, duplicate.id)
    expect(merged.contact.stage).toBe("customer")
    await crm.dispatcher.runDue()
    expect((await crm.contacts.get(kept.id)).tags).toEqual(["new-customer"])
    const [job] = (await crm.dispatcher.jobs({ ruleId: "welcome-customer" })).items
    expect(await crm.events.get(job!.eventId)).toMatchObject({
      type: "contact.stage_changed",
      contactId: kept.id,
      payload: { from: "suspect", to: "customer", chain: 0, cause: { kind: "manual", reason: `merged with ada.lovelace@example.com (${duplicate.id})` } }
    })
    // A merge that moves nothing records no stage change.
    const other = await crm.contacts.create({ email: "grace@example.com" })
    const same = await crm.contacts.create({ email: "grace.hopper@example.com" })
    await crm.contacts.merge(other.id, same.id)
    await crm.dispatcher.runDue()
    expect((await crm.dispatcher.jobs({ ruleId: "welcome-customer" })).items).toHaveLength(1)
  })
  it("a started dispatcher hears at once of a move made by filling a required field or by a merge", async () => {
    const crm = await start()
    await crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } })
    await crm.rules.create({ id: "count-moves", name: "Count moves", on: "contact.stage_changed", actions: [{ type: "adjustScore", by: 1 }] })
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const ordered = await crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("shoe")] } })
    expect(ordered.progressionBlocked).toMatchObject({ stage: "customer", missingFields: ["siret"] })
    // A long poll: only a wake-up after the write can run the rule in time.
    const running = crm.dispatcher.start({ pollInterval: "1 hour" })
    const scoreReaches = async (id: string, score: number) => {
      const deadline = Date.now() + 5_000
      while ((await crm.contacts.get(id)).score < score && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      return (await crm.contacts.get(id)).score
    }
    try {
      const current = await crm.contacts.get(ada.id)
      const updated = await crm.contacts.update(ada.id, { expectedVersion: current.version, fields: { siret: "73282932000074" } })
      expect(updated.stage).toBe("customer")
      expect(await scoreReaches(ada.id, 1)).toBe(1)
      const grace = await crm.contacts.create({ email: "grace@example.com" })
      const duplicate = await crm.contacts.create({ email: "grace.hopper@example.com", stage: "prospect" })
      await crm.contacts.merge(grace.id, duplicate.id)
      expect(await scoreReaches(grace.id, 1)).toBe(1)
    } finally {
      await running.stop()
    }
  })
})
