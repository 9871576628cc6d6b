// Conditional requirements (issue 15): `required: { fromStage, when }` requires a field from a
// stage on only for contacts the condition holds for, so a B2C buyer is not asked for a SIRET.
import { type Condition, Crm, FieldDefinition, Ids, LifecycleDefinition } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { failure, withCrm } from "./helpers.js"

const fc = FastCheck
const { classic } = LifecycleDefinition
const epoch = DateTime.unsafeMake(0)
const b2b = { path: "contact.fields.kind", op: "eq" as const, value: "b2b" }

const definition = (key: string, extra: Partial<Pick<FieldDefinition.FieldDefinition, "type" | "options" | "required">> = {}) =>
  new FieldDefinition.FieldDefinition({
    workspaceId: Ids.DefaultWorkspaceId,
    entity: "contact",
    key: FieldDefinition.FieldKey.make(key),
    label: key,
    type: "text",
    options: [],
    required: "never",
    unique: false,
    description: null,
    position: 0,
    version: 1,
    createdAt: epoch,
    updatedAt: epoch,
    ...extra
  })

const kind = definition("kind", { type: "select", options: [{ value: "b2b", label: "B2B" }, { value: "b2c", label: "B2C" }] })

describe("conditional requirements: the engine", () => {
  const stages = classic.stages.map((s) => s.key)
  const scenario = fc.record({
    fromStage: fc.constantFrom(...stages),
    stage: fc.integer({ min: 0, max: stages.length - 1 }),
    values: fc.record({ siret: fc.constant("12345678900011"), kind: fc.constantFrom("b2b", "b2c") }, { requiredKeys: [] }),
    tags: fc.subarray(["vip", "pro"])
  })
  const outcome = (required: FieldDefinition.Requirement, s: typeof scenario extends FastCheck.Arbitrary<infer A> ? A : never) => {
    const compiled = FieldDefinition.compile("contact", [kind, definition("siret", { required })], classic)
    const validated = FieldDefinition.validate(compiled, s.values, s.stage, { tags: s.tags })
    return {
      requiredAt: compiled.requiredAt(s.stage, { tags: s.tags }, s.values),
      // The paths that fail (a conditional requirement's message also says it has a condition).
      validated: Either.mapLeft(validated, (issues) => issues.map((i) => i.path))
    }
  }
  let applied = 0

  it.prop("with `when` always true it is exactly the unconditional requirement", [scenario], ([s]) => {
    const unconditional = outcome({ fromStage: s.fromStage }, s)
    if (unconditional.requiredAt.length > 0 && s.values.siret === undefined) applied++
    expect(outcome({ fromStage: s.fromStage, when: { all: [] } }, s)).toEqual(unconditional)
    expect(outcome({ fromStage: s.fromStage, when: { path: "contact.tags", op: "exists" } }, s)).toEqual(unconditional)
  })

  it.prop("with `when` always false the field is never required", [scenario], ([s]) => {
    const result = outcome({ fromStage: s.fromStage, when: { any: [] } }, s)
    expect(result.requiredAt).toEqual([])
    expect(result).toEqual(outcome("never", s))
  })

  it.prop("with `when` on a field, required exactly from the stage on where it holds", [scenario], ([s]) => {
    const result = outcome({ fromStage: s.fromStage, when: b2b }, s)
    const expected = s.stage >= stages.indexOf(s.fromStage) && s.values.kind === "b2b"
    expect(result.requiredAt).toEqual(expected ? ["siret"] : [])
    expect(Either.isLeft(result.validated)).toBe(expected && s.values.siret === undefined)
  })

  it("the properties above saw the requirement apply", () => {
    // Guards the first property: a generator that never reached the stage would prove nothing.
    expect(applied).toBeGreaterThan(0)
  })

  it("the condition reads values as stored: trimmed, normalised", () => {
    const compiled = FieldDefinition.compile("contact", [definition("kind"), definition("siret", { required: { fromStage: LifecycleDefinition.StageKey.make("suspect"), when: b2b } })], classic)
    const result = FieldDefinition.validate(compiled, { kind: "  b2b " }, 0, {})
    expect(result).toEqual(Either.left([{ path: ["fields", "siret"], message: 'is required from stage "suspect" on when its condition holds' }]))
  })

  it("checkDefinition refuses unknown paths, event paths, counts and time windows in `when`", () => {
    const issues = (when: Condition.Condition) =>
      FieldDefinition.checkDefinition({ entity: "contact", type: "text", options: [], unique: false, required: { fromStage: LifecycleDefinition.StageKey.make("customer"), when } }, classic, [kind])
    expect(issues(b2b)).toEqual([])
    expect(issues({ path: "contact.fields.knd", op: "eq", value: "b2b" }).map((i) => i.path)).toEqual([["required", "when", "path"]])
    expect(issues({ path: "event.payload.x", op: "exists" }).length).toBe(1)
    expect(issues({ count: { event: "order.placed" }, op: "gte", value: 1 })).toEqual([
      { path: ["required", "when", "count"], message: "a requirement cannot count events: whether a record is valid must depend on the record alone" }
    ])
    expect(issues({ all: [{ path: "contact.createdAt", olderThan: "30 days" }] }).map((i) => i.path)).toEqual([["required", "when", "all", 0, "olderThan"]])
    expect(issues({ path: "contact.fields.kind", op: "eq", value: "b2x" }).length).toBe(1)
  })
})

describe("conditional requirements: the CRM", () => {
  it.effect("a B2C buyer becomes a customer without a SIRET; a B2B one is held back until it is filled", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "kind", type: "select", options: ["b2b", "b2c"] })
        const siret = yield* crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer", when: b2b } })
        expect(siret.required).toEqual({ fromStage: "customer", when: b2b })
        expect((yield* crm.fields.list()).find((d) => d.key === "siret")?.required).toEqual({ fromStage: "customer", when: b2b })

        const shopper = yield* crm.contacts.create({ email: "ada@example.com", fields: { kind: "b2c" } })
        expect((yield* crm.lifecycle.move(shopper.id, "customer", { reason: "bought" })).stage).toBe("customer")

        const firm = yield* crm.contacts.create({ email: "buyer@acme.example", fields: { kind: "b2b" } })
        const blocked = yield* failure(crm.lifecycle.move(firm.id, "customer", { reason: "bought" }))
        expect(blocked).toMatchObject({ _tag: "InvalidTransition" })
        expect(JSON.stringify(blocked)).toContain("siret")
        const filled = yield* crm.contacts.update(firm.id, { expectedVersion: firm.version, fields: { siret: "12345678900011" } })
        expect((yield* crm.lifecycle.move(filled.id, "customer", { reason: "bought" })).stage).toBe("customer")

        // A customer whose condition starts to hold needs the field at once.
        const customer = yield* crm.contacts.get(shopper.id)
        const turned = yield* failure(crm.contacts.update(shopper.id, { expectedVersion: customer.version, fields: { kind: "b2b" } }))
        expect(turned).toMatchObject({ _tag: "ValidationError" })
        expect(JSON.stringify(turned)).toContain("siret")

        // Created at a stage: the same rule.
        expect(yield* failure(crm.contacts.create({ email: "b2b@example.com", stage: "customer", fields: { kind: "b2b" } }))).toMatchObject({ _tag: "ValidationError" })
        expect((yield* crm.contacts.create({ email: "b2c@example.com", stage: "customer", fields: { kind: "b2c" } })).stage).toBe("customer")
      })
    ))

  it.effect("define and update check the condition's paths, and the stored contacts it would apply to", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "kind", type: "select", options: ["b2b", "b2c"] })
        const bad = yield* failure(crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer", when: { path: "contact.fields.knd", op: "eq", value: "b2b" } } }))
        expect(bad).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["required", "when", "path"] }] })

        yield* crm.contacts.create({ email: "shop@example.com", stage: "customer", fields: { kind: "b2c" } })
        // Only B2C customers lack it: the conditional requirement can be defined…
        yield* crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer", when: b2b } })
        // …and an unconditional one cannot.
        const strict = yield* failure(crm.fields.update("contact", "siret", { required: { fromStage: "customer" } }))
        expect(strict).toMatchObject({ _tag: "Conflict", affected: 1 })
        // The field the condition reads cannot be removed while it does.
        expect(yield* failure(crm.fields.remove("contact", "kind", { purgeValues: true }))).toMatchObject({ _tag: "Conflict", reason: "inUse" })
        // Nor can the condition require it of a stored B2B customer without a SIRET.
        yield* crm.fields.update("contact", "siret", { required: "never" })
        yield* crm.contacts.create({ email: "firm@example.com", stage: "customer", fields: { kind: "b2b" } })
        const refused = yield* failure(crm.fields.update("contact", "siret", { required: { fromStage: "customer", when: b2b } }))
        expect(refused).toMatchObject({ _tag: "Conflict", affected: 1 })
      })
    ))
})
