// What a process caches (compiled rules and contact fields for its emits, saved segments for its
// counts, keyed by the counter read with the workspace) must never hide another process's change:
// two clients on one database, one changes rules, fields or segments, the other's very next call
// sees it.
import { type CreateCrmOptions, createCrm } from "@rapport/core"
import { describe, expect, it } from "vitest"

/**
 * @since 0.5.0
 * @category models
 */
export interface SharedDatabaseSuiteOptions {
  /** Names the dialect in the test titles. */
  readonly name: string
  /**
   * Options for one of two clients on the same database and workspace (a new one per call, as
   * another app instance would open): each call must reach the data of the other.
   */
  readonly client: () => Pick<CreateCrmOptions, "storage" | "workspace">
}

const order = (id: string) => ({ orderId: id, lines: [{ sku: "A", name: "A", quantity: 1, unitPrice: { amountMinor: 1000, currency: "EUR" } }] })

/**
 * Registers the test that two clients on one database see each other's rule, field and lifecycle
 * changes on their next emit (nothing cached per process outlives a change made elsewhere).
 *
 * @since 0.5.0
 * @category constructors
 */
export const sharedDatabaseSuite = (options: SharedDatabaseSuiteOptions): void => {
  describe(`${options.name} — two clients on one database`, () => {
    it("an emit in one sees the rule and the field another just defined, and the rule removed", async () => {
      const writer = await createCrm(options.client())
      const emitter = await createCrm(options.client())
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

    it("a count in one sees the segment another just changed, twice, and the segment removed", async () => {
      const writer = await createCrm(options.client())
      const counter = await createCrm(options.client())
      try {
        await writer.fields.define({ key: "colour", type: "select", options: ["red", "green"] })
        for (const [email, colour] of [["ada.segment@example.com", "red"], ["bob.segment@example.com", "green"], ["cy.segment@example.com", "green"]] as const) {
          await writer.contacts.create({ email, fields: { colour } })
        }
        const segment = await writer.segments.create({ name: "reds", condition: { path: "contact.fields.colour", op: "eq", value: "red" } })
        // The counter reads the segment once and keeps it while nothing changes.
        expect(await counter.segments.count({ segmentId: segment.id })).toBe(1)
        expect(await counter.segments.count({ segmentId: segment.id })).toBe(1)

        await writer.segments.update(segment.id, { condition: { path: "contact.fields.colour", op: "eq", value: "green" } })
        expect(await counter.segments.count({ segmentId: segment.id })).toBe(2)
        expect((await counter.segments.members({ segmentId: segment.id })).items).toHaveLength(2)
        await writer.segments.update(segment.id, { condition: { path: "contact.fields.colour", op: "in", value: ["red", "green"] } })
        expect(await counter.segments.count({ segmentId: segment.id })).toBe(3)

        await writer.segments.remove(segment.id)
        await expect(counter.segments.count({ segmentId: segment.id })).rejects.toMatchObject({ _tag: "NotFound" })
      } finally {
        await counter.close()
        await writer.close()
      }
    }, 60_000)
  })
}
