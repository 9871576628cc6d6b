// The index an `indexed` segment gets (Segment.indexColumns): the fields every selected contact is
// tested on for equality, then one number range, as a database engineer orders a composite index.
import { Condition, type FieldDefinition, Ids, Segment } from "@rapport/core"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { contactField } from "./helpers.js"

const field = (key: string, type: FieldDefinition.FieldType, options: ReadonlyArray<string> = []) => contactField(Ids.WorkspaceId.make("segment-index"), key, type, options)

const registry = Condition.contactRegistry(
  [field("plan", "select", ["free", "pro"]), field("visits", "integer"), field("spend", "number"), field("vip", "boolean"), field("city", "text"), field("born", "date"), field("seen", "datetime"), field("hobbies", "multiSelect", ["a"]), field("country", "text")],
  ["suspect", "customer"]
)
const columnsOf = (condition: Condition.Condition) => Segment.indexColumns(condition, registry)
const eq = (key: string, value: Condition.Scalar) => ({ path: `contact.fields.${key}`, op: "eq" as const, value })

describe("Segment.indexColumns", () => {
  it("puts equalities (eq, in) first in the condition's order, then the first number range; flattens nested all; skips what no index serves", () => {
    const columns = columnsOf({
      all: [
        { path: "contact.fields.spend", op: "lt", value: 100 },
        { all: [eq("plan", "pro"), { path: "contact.fields.city", op: "in", value: ["Lyon", "Paris"] }] },
        { path: "contact.fields.visits", op: "gte", value: 3 },
        { path: "contact.fields.city", op: "startsWith", value: "L" },
        { path: "contact.fields.hobbies", op: "contains", value: "a" },
        { path: "contact.stage", op: "eq", value: "customer" },
        { any: [eq("vip", true)] },
        { not: eq("country", "FR") },
        eq("plan", "pro")
      ]
    })
    expect(columns).toEqual(Either.right([{ key: "plan", kind: "string" }, { key: "city", kind: "string" }, { key: "spend", kind: "number" }]))
  })

  it("reads booleans and dates by their kind, and keeps at most four columns", () => {
    expect(columnsOf({ all: [eq("vip", true), eq("born", "2000-01-01"), eq("plan", "free"), eq("city", "Lyon"), eq("country", "FR")] })).toEqual(
      Either.right([{ key: "vip", kind: "boolean" }, { key: "born", kind: "string" }, { key: "plan", kind: "string" }, { key: "city", kind: "string" }])
    )
  })

  it("a range alone, on a number field, is an index; one on text or an instant is not", () => {
    expect(columnsOf({ path: "contact.fields.visits", op: "lt", value: 3 })).toEqual(Either.right([{ key: "visits", kind: "number" }]))
    expect(Either.isLeft(columnsOf({ path: "contact.fields.city", op: "gt", value: "M" }))).toBe(true)
    expect(Either.isLeft(columnsOf({ path: "contact.fields.seen", op: "gt", value: "2025-01-01T00:00:00Z" }))).toBe(true)
  })

  it("a range on a field already tested for equality adds nothing", () => {
    expect(columnsOf({ all: [eq("visits", 3), { path: "contact.fields.visits", op: "gte", value: 1 }] })).toEqual(Either.right([{ key: "visits", kind: "number" }]))
  })

  it("eq null, ne, notIn, an empty in, exists, and comparisons under any or not give no index", () => {
    for (const condition of [
      eq("plan", null),
      { path: "contact.fields.plan", op: "ne", value: "pro" },
      { path: "contact.fields.plan", op: "notIn", value: ["pro"] },
      { path: "contact.fields.plan", op: "in", value: [] },
      { path: "contact.fields.plan", op: "exists" },
      { any: [eq("plan", "pro")] },
      { not: eq("plan", "pro") }
    ] satisfies ReadonlyArray<Condition.Condition>) {
      expect(Either.isLeft(columnsOf(condition)), JSON.stringify(condition)).toBe(true)
    }
  })
})
