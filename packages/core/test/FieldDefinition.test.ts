import { Email, FieldDefinition, Ids, LifecycleDefinition, Money } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const { classic } = LifecycleDefinition
const epoch = DateTime.unsafeMake(0)

const definition = (
  key: string,
  type: FieldDefinition.FieldType,
  extra: Partial<Pick<FieldDefinition.FieldDefinition, "options" | "required" | "unique">> = {}
) =>
  new FieldDefinition.FieldDefinition({
    workspaceId: Ids.DefaultWorkspaceId,
    entity: "contact",
    key: FieldDefinition.FieldKey.make(key),
    label: key,
    type,
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

const options = (...values: Array<string>) => values.map((value) => ({ value, label: value.toUpperCase() }))
const stageIndex = (key: string) => LifecycleDefinition.indexOf(classic, key)
const check = (defs: Array<FieldDefinition.FieldDefinition>, values: Record<string, unknown>, stage = "suspect") =>
  FieldDefinition.validate(FieldDefinition.compile("contact", defs, classic), values, stageIndex(stage))

describe("FieldDefinition.validate", () => {
  it("normalises values: trimmed text, normalised email, UTC instants, multiSelect without duplicates", () => {
    const defs = [
      definition("name", "text"),
      definition("mail", "email"),
      definition("at", "datetime"),
      definition("sizes", "multiSelect", { options: options("s", "m") })
    ]
    expect(check(defs, { name: "  Ada ", mail: " Ada@EXAMPLE.com", at: "2025-03-30T12:00:00+02:00", sizes: ["m", "s", "m"] })).toEqual(
      Either.right({ name: "Ada", mail: "Ada@example.com", at: "2025-03-30T10:00:00.000Z", sizes: ["m", "s"] })
    )
  })

  it("names every failing field with its reason", () => {
    const defs = [definition("age", "integer"), definition("size", "select", { options: options("s", "m") }), definition("birthday", "date")]
    const result = check(defs, { age: 3.5, size: "xl", birthday: "1990-02-30" })
    expect(Either.isLeft(result)).toBe(true)
    const issues = Either.isLeft(result) ? result.left : []
    expect(issues).toEqual([
      { path: ["fields", "age"], message: "must be an integer, got 3.5" },
      { path: ["fields", "size"], message: 'must be one of "s", "m", got "xl"' },
      { path: ["fields", "birthday"], message: 'must be a date YYYY-MM-DD, got "1990-02-30"' }
    ])
  })

  it("rejects unknown keys, including SQL-looking ones, naming them", () => {
    const result = check([definition("age", "integer")], { "age); DROP TABLE contacts; --": 1 })
    expect(result).toEqual(
      Either.left([{ path: ["fields", "age); DROP TABLE contacts; --"], message: "unknown field (defined fields are age)" }])
    )
  })

  it("requires a field from its stage on, and only from there", () => {
    const defs = [definition("siret", "text", { required: { fromStage: LifecycleDefinition.StageKey.make("customer") } })]
    expect(Either.isRight(check(defs, {}, "prospect"))).toBe(true)
    expect(check(defs, {}, "loyal")).toEqual(Either.left([{ path: ["fields", "siret"], message: 'is required from stage "customer" on' }]))
  })

  it("keeps a date-only value as the calendar date given, not a midnight instant", () => {
    expect(check([definition("birthday", "date")], { birthday: "1990-05-17" })).toEqual(Either.right({ birthday: "1990-05-17" }))
  })
})

describe("FieldDefinition.checkDefinition", () => {
  it("explains what makes a definition inconsistent", () => {
    const messages = (def: FieldDefinition.FieldDefinition) => FieldDefinition.checkDefinition(def, classic).map((i) => i.message)
    expect(messages(definition("size", "select"))).toEqual(["a select field needs at least one option"])
    expect(messages(definition("size", "text", { options: options("a") }))).toEqual(["only select and multiSelect fields have options, not text"])
    expect(messages(definition("flag", "boolean", { unique: true }))).toEqual(["a boolean field cannot be unique"])
    expect(messages(definition("x", "text", { options: options("a", "a"), required: { fromStage: LifecycleDefinition.StageKey.make("vip") } }))).toEqual([
      "only select and multiSelect fields have options, not text",
      'option "a" appears twice',
      'unknown stage "vip"; stages are suspect, prospect, customer, loyal, fan, addict'
    ])
  })
})

describe("FieldDefinition.uniqueValueKey", () => {
  it("compares text case-insensitively and phones by their digits", () => {
    expect(FieldDefinition.uniqueValueKey({ type: "text" }, " C-001 ")).toBe(FieldDefinition.uniqueValueKey({ type: "text" }, "c-001"))
    expect(FieldDefinition.uniqueValueKey({ type: "phone" }, "+33 6 39 98 12 34")).toBe("+33639981234")
    expect(FieldDefinition.uniqueValueKey({ type: "phone" }, "06.39.98.12.34")).toBe("0639981234")
  })
})

// --- Properties: generated definitions, generated valid and invalid values.

const fc = FastCheck
const keyArb = fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,12}$/)
const optionValues = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { minLength: 1, maxLength: 5 })
const day = fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2199-12-31T00:00:00Z"), noInvalidDate: true })

const validValue = (def: FieldDefinition.FieldDefinition): FastCheck.Arbitrary<unknown> => {
  const values = def.options.map((o) => o.value)
  switch (def.type) {
    case "text":
      return fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim().length > 0)
    case "longText":
      return fc.string({ minLength: 1, maxLength: 2000 }).filter((s) => s.trim().length > 0)
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true })
    case "integer":
      return fc.maxSafeInteger()
    case "money":
      return Arbitrary.make(Money.Money)
    case "boolean":
      return fc.boolean()
    case "date":
      return day.map((d) => d.toISOString().slice(0, 10))
    case "datetime":
      return day.map((d) => d.toISOString())
    case "email":
      return Arbitrary.make(Email.Email)
    case "phone":
      return fc.stringMatching(/^\+?[0-9]{3,15}$/)
    case "url":
      return fc.webUrl({ validSchemes: ["http", "https"] }).filter((u) => u.length <= 2000)
    case "select":
      return fc.constantFrom(...values)
    case "multiSelect":
      return fc.subarray(values)
  }
}

const invalidValue = (def: FieldDefinition.FieldDefinition): FastCheck.Arbitrary<unknown> => {
  const values = def.options.map((o) => o.value)
  switch (def.type) {
    case "text":
    case "longText":
      return fc.oneof(fc.integer(), fc.boolean(), fc.constant(""), fc.constant("   "), fc.constant(["a"]))
    case "number":
      return fc.oneof(fc.string(), fc.boolean(), fc.constant(Number.POSITIVE_INFINITY), fc.constant(Number.NaN))
    case "integer":
      return fc.oneof(fc.double({ noInteger: true, noNaN: true }), fc.string(), fc.constant(2 ** 60))
    case "money":
      return fc.oneof(fc.integer(), fc.record({ amountMinor: fc.constant(10.5), currency: fc.constant("EUR") }), fc.record({ amountMinor: fc.integer(), currency: fc.constant("EURO") }))
    case "boolean":
      return fc.oneof(fc.string(), fc.integer(), fc.constant(null))
    case "date":
      return fc.oneof(fc.constant("2023-02-29"), fc.constant("17/05/1990"), fc.constant("2025-01-01T00:00:00Z"), fc.integer())
    case "datetime":
      return fc.oneof(fc.constant("2025-01-01T10:00"), fc.constant("yesterday"), fc.integer())
    case "email":
      return fc.oneof(fc.constant("no-at-sign"), fc.constant("a@b"), fc.constant("a b@c.com"), fc.integer())
    case "phone":
      return fc.oneof(fc.constant("call me"), fc.constant("12"), fc.boolean())
    case "url":
      return fc.oneof(fc.constant("ftp://example.org"), fc.constant("not a url"), fc.integer())
    case "select":
      return fc.oneof(fc.string().filter((s) => !values.includes(s)), fc.integer())
    case "multiSelect":
      return fc.oneof(fc.constant("a string"), fc.string().filter((s) => !values.includes(s)).map((s) => [s]))
  }
}

const definitionArb = fc
  .record({
    key: keyArb,
    type: fc.constantFrom(...FieldDefinition.FieldType.literals),
    optionValues,
    required: fc.constantFrom<FieldDefinition.Requirement>("never", "always", { fromStage: LifecycleDefinition.StageKey.make("customer") })
  })
  .map(({ key, type, optionValues, required }) =>
    definition(key, type, { options: type === "select" || type === "multiSelect" ? options(...optionValues) : [], required })
  )

const scenario = fc
  .uniqueArray(definitionArb, { selector: (d) => d.key, minLength: 1, maxLength: 6 })
  .chain((defs) =>
    fc.record({
      defs: fc.constant(defs),
      stage: fc.constantFrom(...LifecycleDefinition.stageKeys(classic)),
      values: fc.tuple(...defs.map((d) => fc.option(validValue(d), { nil: undefined }))),
      broken: fc.nat({ max: defs.length - 1 }).chain((i) => fc.tuple(fc.constant(i), invalidValue(defs[i]!)))
    })
  )

describe("FieldDefinition properties", () => {
  it.prop("valid values of generated definitions are accepted; required ones missing are named", [scenario], ([{ defs, stage, values }]) => {
    const record: Record<string, unknown> = {}
    defs.forEach((d, i) => {
      if (values[i] !== undefined) record[d.key] = values[i]
    })
    const index = stageIndex(stage)
    const missing = defs.filter((d) => FieldDefinition.isRequiredAt(d, classic, index) && record[d.key] === undefined).map((d) => d.key)
    const result = check(defs, record, stage)
    if (missing.length === 0) expect(Either.isRight(result)).toBe(true)
    else expect(Either.isLeft(result) ? result.left.map((i) => i.path[1]).sort() : []).toEqual([...missing].sort())
  })

  it.prop("an invalid value is rejected, naming its key and nothing else", [scenario], ([{ defs, values, broken }]) => {
    const record: Record<string, unknown> = {}
    defs.forEach((d, i) => {
      if (values[i] !== undefined) record[d.key] = values[i]
    })
    const [index, bad] = broken
    const target = defs[index]!
    record[target.key] = bad
    // At the first stage only "always" fields are required: fill them so the invalid value is the only fault.
    defs.forEach((d, i) => {
      if (i !== index && d.required === "always" && record[d.key] === undefined) record[d.key] = fc.sample(validValue(d), 1)[0]
    })
    const result = check(defs, record, "suspect")
    expect(Either.isLeft(result) ? [...new Set(result.left.map((i) => i.path.join(".")))] : []).toEqual([`fields.${target.key}`])
  })

  it.prop("an unknown key is rejected by name", [scenario, keyArb], ([{ defs }, extra]) => {
    FastCheck.pre(!defs.some((d) => d.key === extra))
    const result = check(defs.map((d) => definition(d.key, d.type, { options: d.options })), { [extra]: "x" })
    expect(Either.isLeft(result) ? result.left.map((i) => i.path.join(".")) : []).toEqual([`fields.${extra}`])
  })
})
