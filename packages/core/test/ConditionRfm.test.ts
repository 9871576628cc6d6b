// contact.rfm.recency|frequency|monetary in the condition language: resolved as numbers, read from
// the contact view's `rfm` (missing when the contact has no scores), and flagged on the compiled
// condition so that the rule engine loads the scores only for conditions that read them.
import { Condition } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"

const registry: Condition.Registry = { fields: [], stages: ["suspect", "customer"], event: false }
const epoch = DateTime.unsafeMake(0)

const view = (rfm: Condition.ContactView["rfm"]): Condition.ContactView => ({
  id: "c-1",
  email: null,
  firstName: null,
  lastName: null,
  phone: null,
  companyId: null,
  stage: "customer",
  tags: [],
  ownerId: null,
  score: 0,
  timezone: null,
  firstSeenAt: epoch,
  createdAt: epoch,
  updatedAt: epoch,
  source: { channel: "web", campaign: null },
  fields: {},
  rfm
})

const compiled = (condition: unknown) => {
  const decoded = Schema.decodeUnknownSync(Condition.Condition)(condition)
  expect(Condition.check(decoded, registry)).toEqual([])
  return Condition.compile(decoded, registry)
}

describe("contact.rfm paths", () => {
  it("resolve to numbers; other names under contact.rfm are refused with the three names", () => {
    for (const name of ["recency", "frequency", "monetary"]) {
      expect(Condition.resolvePath(`contact.rfm.${name}`, registry)).toEqual({ root: "contact", segments: ["rfm", name], kind: "number" })
    }
    expect(Condition.resolvePath("contact.rfm.loyalty", registry)).toContain("contact.rfm.recency, contact.rfm.frequency and contact.rfm.monetary")
    expect(Condition.resolvePath("contact.rfm", registry)).toContain("contact.rfm.recency")
  })

  it("compare the contact's scores; a contact without scores has none (ne holds, gte does not)", () => {
    const scores = { recency: 5, frequency: 2, monetary: 3 }
    const test = (condition: unknown, rfm: Condition.ContactView["rfm"]) => compiled(condition).test({ contact: view(rfm), event: undefined, now: 0, counts: [] })
    expect(test({ path: "contact.rfm.recency", op: "gte", value: 4 }, scores)).toBe(true)
    expect(test({ path: "contact.rfm.frequency", op: "gte", value: 4 }, scores)).toBe(false)
    expect(test({ path: "contact.rfm.monetary", op: "eq", value: 3 }, scores)).toBe(true)
    expect(test({ path: "contact.rfm.recency", op: "gte", value: 1 }, null)).toBe(false)
    expect(test({ path: "contact.rfm.recency", op: "gte", value: 1 }, undefined)).toBe(false)
    expect(test({ path: "contact.rfm.recency", op: "ne", value: 5 }, null)).toBe(true)
    expect(test({ path: "contact.rfm.recency", op: "exists" }, scores)).toBe(true)
    expect(test({ path: "contact.rfm.recency", op: "exists" }, null)).toBe(false)
  })

  it("readsRfm is set when any comparison, nested or in a count's where, reads contact.rfm.*, and only then", () => {
    expect(compiled({ path: "contact.score", op: "gte", value: 1 }).readsRfm).toBeUndefined()
    expect(compiled({ all: [{ path: "contact.score", op: "gte", value: 1 }, { not: { path: "contact.rfm.monetary", op: "lt", value: 2 } }] }).readsRfm).toBe(true)
    expect(compiled({ count: { event: "order.placed", where: { path: "contact.rfm.frequency", op: "eq", value: 5 } }, op: "gte", value: 1 }).readsRfm).toBe(true)
  })
})
