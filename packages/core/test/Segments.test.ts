// Segments through the Promise client (issue 16): saved segments are plain JSON, count and members
// answer for a saved segment and for a condition given now, errors are RapportErrors naming the
// path; time tests read the current instant.
import { createCrm, RapportNotFoundError, RapportValidationError } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterEach, describe, expect, it } from "vitest"

const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})

describe("segments (Promise client)", () => {
  it("create returns JSON; count and members for a saved and an ad-hoc segment; update, list, remove", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    open.push(crm)
    await crm.fields.define({ key: "plan", type: "select", options: ["free", "pro"] })
    const made = await crm.contacts.createMany([
      { email: "a@example.com", tags: ["vip"], fields: { plan: "pro" } },
      { email: "b@example.com", fields: { plan: "free" } },
      { email: "c@example.com", tags: ["vip"] }
    ])
    const pro = await crm.segments.create({ name: "Pro", description: "Paying", condition: { path: "contact.fields.plan", op: "eq", value: "pro" } })
    expect(typeof pro.createdAt).toBe("string")
    expect(pro).toMatchObject({ name: "Pro", description: "Paying", version: 1 })
    expect(await crm.segments.count({ segmentId: pro.id })).toBe(1)
    // notIn holds for a contact without the field (as the rules' predicate says).
    expect(await crm.segments.count({ condition: { path: "contact.fields.plan", op: "notIn", value: ["pro"] } })).toBe(2)
    const page = await crm.segments.members({ condition: { path: "contact.tags", op: "contains", value: "vip" } }, { limit: 1 })
    expect(page.items.map((c) => c.email)).toHaveLength(1)
    const rest = await crm.segments.members({ condition: { path: "contact.tags", op: "contains", value: "vip" } }, { limit: 1, cursor: page.nextCursor! })
    expect([...page.items, ...rest.items].map((c) => c.id).sort()).toEqual([made[0]!.id, made[2]!.id].sort())
    expect(rest.nextCursor).toBeNull()
    const renamed = await crm.segments.update(pro.id, { name: "Pro plan", expectedVersion: 1 })
    expect(renamed.version).toBe(2)
    expect((await crm.segments.list()).map((s) => s.name)).toEqual(["Pro plan"])
    await crm.segments.remove(pro.id)
    await expect(crm.segments.get(pro.id)).rejects.toBeInstanceOf(RapportNotFoundError)
  })

  it("an unknown field, an unknown option, an event.* path and sinceTrigger are RapportValidationErrors naming the path", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    open.push(crm)
    await crm.fields.define({ key: "plan", type: "select", options: ["free", "pro"] })
    const paths = async (condition: unknown) => {
      const error = await crm.segments.create({ name: "x", condition: condition as never }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(RapportValidationError)
      return (error as RapportValidationError).issues.map((i) => i.path)
    }
    expect(await paths({ path: "contact.fields.nope", op: "exists" })).toEqual([["condition", "path"]])
    expect(await paths({ path: "contact.fields.plan", op: "eq", value: "gold" })).toEqual([["condition", "value"]])
    expect(await paths({ path: "event.type", op: "eq", value: "x.y" })).toEqual([["condition", "path"]])
    expect(await paths({ count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 })).toEqual([["condition", "count", "sinceTrigger"]])
    expect(await crm.segments.list()).toEqual([])
  })

  it("an indexed segment: its index exists when create returns, counts agree, and a condition no index can serve is refused at `indexed`, storing nothing", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    open.push(crm)
    await crm.fields.define({ key: "plan", type: "select", options: ["free", "pro"] })
    await crm.fields.define({ key: "visits", type: "integer" })
    await crm.contacts.createMany([
      { email: "a@example.com", fields: { plan: "pro", visits: 95 } },
      { email: "b@example.com", fields: { plan: "pro", visits: 10 } },
      { email: "c@example.com", fields: { plan: "free", visits: 99 } },
      { email: "d@example.com", tags: ["vip"] }
    ])
    const condition = { all: [{ path: "contact.fields.plan", op: "eq", value: "pro" }, { path: "contact.fields.visits", op: "gte", value: 90 }] } as const
    const keen = await crm.segments.create({ name: "Keen pros", condition, indexed: true })
    expect(keen.indexed).toBe(true)
    expect((await crm.segments.get(keen.id)).indexed).toBe(true)
    expect(await crm.segments.count({ segmentId: keen.id })).toBe(1)
    // Not indexed unless asked; asked later by an update.
    const plain = await crm.segments.create({ name: "Plain", condition: { path: "contact.fields.visits", op: "lt", value: 50 } })
    expect(plain.indexed).toBe(false)
    expect((await crm.segments.update(plain.id, { indexed: true })).indexed).toBe(true)
    expect(await crm.segments.count({ segmentId: plain.id })).toBe(1)
    const refused = async (input: { condition: unknown }) => {
      const error = await crm.segments.create({ name: "Refused", condition: input.condition as never, indexed: true }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(RapportValidationError)
      expect((error as RapportValidationError).issues.map((i) => i.path)).toEqual([["indexed"]])
      expect((error as RapportValidationError).issues[0]!.message).toContain("no comparison an index can serve")
    }
    // Only under `any`, only a tag, only `ne`, `in` with null: nothing every selected contact passes on a field's value.
    await refused({ condition: { any: [{ path: "contact.fields.plan", op: "eq", value: "pro" }, { path: "contact.fields.visits", op: "gt", value: 1 }] } })
    await refused({ condition: { path: "contact.tags", op: "contains", value: "vip" } })
    await refused({ condition: { path: "contact.fields.plan", op: "ne", value: "pro" } })
    await refused({ condition: { path: "contact.fields.plan", op: "in", value: ["pro", null] } })
    expect((await crm.segments.list()).map((s) => s.name)).toEqual(["Keen pros", "Plain"])
    const error = await crm.segments.update(keen.id, { condition: { path: "contact.tags", op: "contains", value: "vip" } }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(RapportValidationError)
    expect((await crm.segments.get(keen.id)).version).toBe(1)
  })

  it("time tests are evaluated at the current instant", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    open.push(crm)
    await crm.contacts.create({ email: "new@example.com" })
    expect(await crm.segments.count({ condition: { path: "contact.createdAt", within: "1 hour" } })).toBe(1)
    expect(await crm.segments.count({ condition: { path: "contact.createdAt", olderThan: "1 hour" } })).toBe(0)
  })
})
