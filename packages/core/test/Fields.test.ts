import { Contacts, Errors, Fields } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { failure, withCrm } from "./helpers.js"

const paths = (error: unknown) => (error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))

describe("Fields", () => {
  it.effect("define validates the definition itself", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        expect(paths(yield* failure(fields.define({ key: "Bad Key", type: "text" })))).toEqual(["key"])
        expect(paths(yield* failure(fields.define({ key: "x'); DROP TABLE t; --", type: "text" })))).toEqual(["key"])
        expect(paths(yield* failure(fields.define({ key: "size", type: "select" })))).toEqual(["options"])
        expect(paths(yield* failure(fields.define({ key: "size", type: "text", options: ["a"] })))).toEqual(["options"])
        expect(paths(yield* failure(fields.define({ key: "flag", type: "boolean", unique: true })))).toEqual(["unique"])
        expect(paths(yield* failure(fields.define({ key: "siret", type: "text", required: { fromStage: "vip" } })))).toEqual(["required.fromStage"])
        expect(paths(yield* failure(fields.define({ entity: "company", key: "siret", type: "text", required: { fromStage: "customer" } })))).toEqual(["required"])
        expect(paths(yield* failure(fields.define({ key: "n", type: "float" as never })))).toEqual(["type"])
        expect(yield* fields.list()).toEqual([])
      })
    ))

  it.effect("define refuses a key already defined on the entity, and numbers positions", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        const a = yield* fields.define({ key: "a", type: "text", label: "A" })
        const b = yield* fields.define({ key: "b", type: "integer" })
        expect([a.position, b.position, b.label]).toEqual([0, 1, "b"])
        expect(yield* failure(fields.define({ key: "a", type: "number" }))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        yield* fields.define({ entity: "company", key: "a", type: "number" })
        expect((yield* fields.list("contact")).map((d) => d.key)).toEqual(["a", "b"])
      })
    ))

  it.effect("a required field cannot be added while contacts lack it; the count is given", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        const contacts = yield* Contacts.Contacts
        yield* contacts.create({ firstName: "a" })
        yield* contacts.create({ firstName: "b", stage: "customer" })
        expect(yield* failure(fields.define({ key: "vat", type: "text", required: "always" }))).toMatchObject({
          _tag: "Conflict",
          reason: "existingValues",
          affected: 2,
          code: "DEFINITION_CONFLICT"
        })
        expect(yield* failure(fields.define({ key: "vat", type: "text", required: { fromStage: "customer" } }))).toMatchObject({ affected: 1 })
        yield* fields.define({ key: "vat", type: "text", required: { fromStage: "loyal" } })
      })
    ))

  it.effect("a type change that stored values violate is refused with the count and examples; a compatible one passes", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        const contacts = yield* Contacts.Contacts
        yield* fields.define({ key: "code", type: "text" })
        yield* contacts.create({ firstName: "a", fields: { code: "12" } })
        yield* contacts.create({ firstName: "b", fields: { code: "ada@example.com" } })
        yield* contacts.create({ firstName: "c" })
        const error = yield* failure(fields.update("contact", "code", { type: "email" }))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "existingValues", affected: 1 })
        expect(error.message).toContain('holds "12"')
        expect((yield* fields.get("contact", "code")).type).toBe("text")
        const relabelled = yield* fields.update("contact", "code", { label: "Customer code", expectedVersion: 1 })
        expect([relabelled.label, relabelled.version]).toEqual(["Customer code", 2])
        expect(yield* failure(fields.update("contact", "code", { label: "x", expectedVersion: 1 }))).toMatchObject({ reason: "version" })
        expect(yield* failure(fields.update("contact", "nope", { label: "x" }))).toMatchObject({ _tag: "NotFound" })
      })
    ))

  it.effect("making a field unique is refused while two records share a value, then enforced", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        const contacts = yield* Contacts.Contacts
        yield* fields.define({ key: "customerNo", type: "text" })
        const a = yield* contacts.create({ firstName: "a", fields: { customerNo: "C-1" } })
        const b = yield* contacts.create({ firstName: "b", fields: { customerNo: "c-1" } })
        expect(yield* failure(fields.update("contact", "customerNo", { unique: true }))).toMatchObject({ reason: "existingValues", affected: 1 })
        yield* contacts.update(b.id, { expectedVersion: b.version, fields: { customerNo: "C-2" } })
        yield* fields.update("contact", "customerNo", { unique: true })
        expect(yield* failure(contacts.create({ firstName: "c", fields: { customerNo: "C-1 " } }))).toMatchObject({
          _tag: "Conflict",
          reason: "unique",
          existingId: a.id
        })
        yield* fields.update("contact", "customerNo", { unique: false })
        yield* contacts.create({ firstName: "c", fields: { customerNo: "C-1" } })
      })
    ))

  it.effect("remove refuses while records hold values, unless asked to purge them", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        const contacts = yield* Contacts.Contacts
        yield* fields.define({ key: "legacy", type: "text", unique: true })
        const c = yield* contacts.create({ firstName: "a", fields: { legacy: "x" } })
        expect(yield* failure(fields.remove("contact", "legacy"))).toMatchObject({ _tag: "Conflict", reason: "inUse", affected: 1, code: "IN_USE" })
        yield* fields.remove("contact", "legacy", { purgeValues: true })
        const after = yield* contacts.get(c.id)
        expect([after.fields, after.version]).toEqual([{}, 2])
        yield* fields.define({ key: "legacy", type: "integer", unique: true })
        yield* contacts.create({ firstName: "b", fields: { legacy: 1 } })
      })
    ))

  it.effect("company fields validate company records", () =>
    withCrm(
      Effect.gen(function* () {
        const fields = yield* Fields.Fields
        yield* fields.define({ entity: "company", key: "employees", type: "integer", required: "always" })
        const { Companies } = yield* Effect.promise(() => import("@rapport/core"))
        const companies = yield* Companies.Companies
        expect(paths(yield* failure(companies.create({ name: "Acme" })))).toEqual(["fields.employees"])
        const acme = yield* companies.create({ name: "Acme", domain: "https://www.Acme.com/about", fields: { employees: 12 } })
        expect([acme.domain, acme.fields]).toEqual(["acme.com", { employees: 12 }])
      })
    ))
})
