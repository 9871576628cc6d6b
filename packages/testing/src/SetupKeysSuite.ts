// Stable keys of templates and rules (set-up as code finds them again by key): stored, read back
// by key, unique per workspace and kind, any number of records without one; then `crm.setup`
// applied on this storage, as one transaction. Registered by `storageSuite`; not a public entry
// point of its own.
import { Crm, Ids, Rule, type SetupDeclaration, Storage, Template, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const key = Ids.SetupKey.make
const templateJson = Schema.encodeSync(Template.Template)
const ruleJson = Schema.encodeSync(Rule.Rule)
let serial = 0
const template = (workspaceId: Ids.WorkspaceId, overrides: Partial<Template.Template> = {}) =>
  new Template.Template({
    id: Ids.TemplateId.make(`018f0000-0000-7000-9000-${String(++serial).padStart(12, "0")}`),
    workspaceId,
    name: "Welcome",
    purpose: "transactional",
    subject: "Hello",
    html: null,
    text: "Hello {{ contact.firstName }}",
    version: 1,
    createdAt: Fixtures.instant("2025-01-01T00:00:00.000Z"),
    updatedAt: Fixtures.instant("2025-01-01T00:00:00.000Z"),
    ...overrides
  })

export const setupKeysSuite = (test: Test) => {
  const store = Storage.Storage

  describe("stable keys", () => {
    test("templates: stored with their key and found by it; a taken key is a Conflict on insert and update; keys are per workspace; keyless templates are many", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const welcome = template(ws, { key: key("welcome") })
        yield* s.templates.insert(welcome)
        yield* s.templates.insert(template(ws))
        yield* s.templates.insert(template(ws))
        yield* s.templates.insert(template(other, { key: key("welcome") }))
        expect(Option.map(yield* s.templates.getByKey(ws, key("welcome")), templateJson)).toEqual(Option.some(templateJson(welcome)))
        expect(Option.map(yield* s.templates.get(ws, welcome.id), (t) => t.key)).toEqual(Option.some("welcome"))
        expect(yield* s.templates.getByKey(ws, key("nope"))).toEqual(Option.none())
        expect((yield* s.templates.list(ws)).map((t) => t.key).sort()).toEqual([null, null, "welcome"])
        expect(yield* failure(s.templates.insert(template(ws, { key: key("welcome") })))).toMatchObject({ _tag: "Conflict", reason: "unique", field: "key" })
        const keyless = (yield* s.templates.list(ws)).find((t) => t.key === null)!
        expect(yield* failure(s.templates.update(new Template.Template({ ...keyless, key: key("welcome"), version: 2 }), 1))).toMatchObject({
          _tag: "Conflict",
          reason: "unique",
          field: "key"
        })
        yield* s.templates.update(new Template.Template({ ...keyless, key: key("reminder"), version: 2 }), 1)
        expect(Option.map(yield* s.templates.getByKey(ws, key("reminder")), (t) => t.id)).toEqual(Option.some(keyless.id))
        // A taken id is still a storage failure of its own, not a key conflict.
        expect(yield* failure(s.templates.insert(template(ws, { id: welcome.id, key: key("fresh") })))).not.toMatchObject({ field: "key" })
      }))

    test("rules: stored with their key and found by it; a taken key is a Conflict on key, a taken id still one on id", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const keyed = yield* Fixtures.rule(ws, { key: key("cart.reminder") })
        yield* s.rules.insert(keyed)
        yield* s.rules.insert(yield* Fixtures.rule(ws))
        yield* s.rules.insert(yield* Fixtures.rule(ws))
        yield* s.rules.insert(yield* Fixtures.rule(Fixtures.freshWorkspaceId(), { key: key("cart.reminder") }))
        expect(Option.map(yield* s.rules.getByKey(ws, key("cart.reminder")), ruleJson)).toEqual(Option.some(ruleJson(keyed)))
        expect((yield* s.rules.list(ws)).map((r) => r.key).sort()).toEqual(["cart.reminder", null, null])
        expect(yield* failure(s.rules.insert(yield* Fixtures.rule(ws, { key: key("cart.reminder") })))).toMatchObject({ _tag: "Conflict", reason: "unique", field: "key" })
        expect(yield* failure(s.rules.insert(yield* Fixtures.rule(ws, { id: keyed.id, key: key("other") })))).toMatchObject({ _tag: "Conflict", reason: "unique", field: "id" })
        const keyless = (yield* s.rules.list(ws)).find((r) => r.key === null)!
        expect(yield* failure(s.rules.update(new Rule.Rule({ ...keyless, key: key("cart.reminder"), version: 2 }), 1))).toMatchObject({
          _tag: "Conflict",
          reason: "unique",
          field: "key"
        })
        yield* s.rules.update(new Rule.Rule({ ...keyless, key: null, name: "renamed", version: 2 }), 1)
        expect(Option.map(yield* s.rules.get(ws, keyless.id), (r) => r.name)).toEqual(Option.some("renamed"))
      }))

    test("contacts.upsert: concurrent upserts of one email make one contact; exactly one of them says it created it", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const run = Workspaces.withWorkspace(Fixtures.freshWorkspaceId())
        let rounds = 0
        for (let round = 0; round < 5; round++) {
          const email = `race-${round}@example.com`
          const results = yield* Effect.all(
            Array.from({ length: 6 }, (_, i) => run(crm.contacts.upsert({ email: i % 2 === 0 ? email : email.toUpperCase(), firstName: `n${i}`, fields: {} }))),
            { concurrency: "unbounded" }
          )
          expect(results.filter((r) => r.created).length).toBe(1)
          expect(new Set(results.map((r) => r.contact.id)).size).toBe(1)
          const stored = yield* run(crm.contacts.findByEmail(email))
          expect(Option.map(stored, (c) => c.id)).toEqual(Option.some(results[0]!.contact.id))
          rounds++
        }
        expect(rounds).toBe(5)
        expect((yield* run(crm.contacts.list({}))).items.length).toBe(5)
      }))

    test("setup: applied in one transaction — a refused item leaves every other change unapplied; the same declaration again plans nothing", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        const declaration: SetupDeclaration = {
          fields: [{ key: "siret", type: "text" }],
          templates: [{ key: "welcome", name: "Welcome", subject: "Hello", text: "Hello {{ contact.firstName }}" }],
          rules: [{ key: "greet", name: "Greet", on: "signup.completed", actions: [{ type: "sendEmail", templateKey: "welcome" }] }]
        }
        const first = yield* run(crm.setup.apply(declaration))
        expect(first.plan.map((p) => `${p.kind}:${p.key}:${p.action}`)).toEqual(["field:contact.siret:create", "template:welcome:create", "rule:greet:create"])
        const again = yield* run(crm.setup.apply(declaration))
        expect(again.plan.every((p) => p.action === "unchanged")).toBe(true)
        // A contact whose SIRET is not a number refuses the type change; the field defined before
        // it in the same declaration is not stored either.
        yield* run(crm.contacts.create({ email: "ada@example.com", fields: { siret: "not a number" } }))
        const before = yield* run(Effect.all([crm.fields.list(), crm.templates.list(), crm.rules.list()]))
        const refused = yield* failure(
          run(
            crm.setup.apply({
              ...declaration,
              fields: [{ key: "vat", type: "text" }, { key: "siret", type: "integer" }]
            })
          )
        )
        expect(refused).toMatchObject({ _tag: "Conflict", reason: "existingValues", field: "siret" })
        expect(yield* run(Effect.all([crm.fields.list(), crm.templates.list(), crm.rules.list()]))).toEqual(before)
      }))
  })
}
