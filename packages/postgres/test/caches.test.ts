// What an emit caches (the compiled rules and field definitions, keyed by the rules counter read
// with the workspace) is checked against the database inside each emit's transaction: a change
// made by another client (another process's pool) on the same database is seen by the very next emit.
import { createCrm } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "vitest"
import { available, pgUrl } from "./database.js"

const order = (id: string) => ({ orderId: id, lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: { amountMinor: 1000, currency: "EUR" } }] })

const suite = available ? describe : describe.skip

suite("two clients on one PostgreSQL database", () => {
  it("an emit in one sees the rule and the field another just defined", async () => {
    const workspace = `caches-${randomUUID()}`
    const writer = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace })
    const emitter = await createCrm({ storage: postgresStorage({ url: pgUrl }), workspace })
    try {
      // The emitter compiles the (empty) rules and the contact fields once the workspace is
      // stored: the order moves the contact to customer, which looks at the fields a stage requires.
      expect((await emitter.events.emit({ type: "page.viewed", email: "ada@example.com", payload: { url: "/" } })).triggered).toEqual([])
      const first = await emitter.events.emit({ type: "order.placed", email: "ada@example.com", payload: order("o-1") })
      expect(first.stageChange?.to).toBe("customer")

      await writer.fields.define({ key: "siret", type: "text", required: { fromStage: "loyal" } })
      await writer.rules.create({ id: "viewed", name: "Viewed", on: "page.viewed", actions: [{ type: "addTag", tag: "seen" }] })

      const second = await emitter.events.emit({ type: "order.placed", email: "ada@example.com", payload: order("o-2") })
      expect(second.stageChange).toBeNull()
      expect(second.progressionBlocked).toEqual({ stage: "loyal", missingFields: ["siret"] })
      const viewed = await emitter.events.emit({ type: "page.viewed", email: "ada@example.com", payload: { url: "/" } })
      expect(viewed.triggered.map((t) => t.ruleId)).toEqual(["viewed"])

      // And back: the writer's change undone is seen too.
      await writer.rules.remove("viewed")
      expect((await emitter.events.emit({ type: "page.viewed", email: "ada@example.com", payload: { url: "/" } })).triggered).toEqual([])
    } finally {
      await emitter.close()
      await writer.close()
    }
  }, 60_000)
})
