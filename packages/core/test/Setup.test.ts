// Set-up as code (issue 15): `setup.apply(declaration)` is idempotent like a migration, gives the
// same result whatever was stored before (for what it declares), stores nothing in a dry run,
// deletes only with `prune`, and applies all or nothing.
import { Crm, Ids, Storage, Workspaces } from "@rapport/core"
import type { Setup } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { failure, withCrm } from "./helpers.js"

const fc = FastCheck
type Declaration = Setup.SetupDeclaration

// --- generated declarations: every part optional, each item drawn from a small pool of keys so
// that two declarations overlap (same key, other attributes) as often as not.

const fieldArb = fc.oneof(
  fc.record(
    {
      key: fc.constantFrom("siret", "vat", "note"),
      type: fc.constantFrom("text" as const, "longText" as const),
      label: fc.constantFrom("SIRET", "Numéro", "Note"),
      required: fc.constantFrom("never" as const, "always" as const, { fromStage: "customer" }),
      description: fc.constantFrom(null, "From the Kbis"),
      position: fc.integer({ min: 0, max: 5 })
    },
    { requiredKeys: ["key", "type"] }
  ),
  fc.record(
    {
      key: fc.constantFrom("size", "plan"),
      type: fc.constantFrom("select" as const, "multiSelect" as const),
      options: fc.constantFrom(["s", "m", "l"], [{ value: "s", label: "Small" }, { value: "xl", label: "Extra large" }]),
      entity: fc.constantFrom("contact" as const, "company" as const)
    },
    { requiredKeys: ["key", "type", "options"] }
  )
)

const stagesArb = fc.constantFrom(
  [
    { key: "open", label: "Open", probability: 30 },
    { key: "won", label: "Won", probability: 100, outcome: "won" as const },
    { key: "lost", label: "Lost", probability: 0, outcome: "lost" as const }
  ],
  [
    { key: "lead", label: "Lead", probability: 10 },
    { key: "quote", label: "Quote", probability: 55 },
    { key: "won", label: "Signed", probability: 100, outcome: "won" as const },
    { key: "lost", label: "Lost", probability: 0, outcome: "lost" as const }
  ]
)

const pipelineArb = fc.record(
  {
    name: fc.constantFrom("Sales", "Partners", "Renewals"),
    stages: stagesArb,
    floor: fc.constantFrom(null, { amountMinor: 500000, currency: "EUR" }),
    position: fc.integer({ min: 0, max: 3 })
  },
  { requiredKeys: ["name"] }
)

const templateArb = fc.record(
  {
    key: fc.constantFrom("welcome", "reminder", "thanks"),
    name: fc.constantFrom("Welcome", "Reminder"),
    purpose: fc.constant("transactional" as const),
    subject: fc.constantFrom("Hello {{ contact.firstName }}", "Your order"),
    text: fc.constantFrom("Dear {{ contact.firstName }},", "Thank you."),
    html: fc.constantFrom(null, "<p>Hello {{ contact.firstName }}</p>"),
    locales: fc.constantFrom(
      {},
      { fr: { subject: "Bonjour {{ contact.firstName }}", text: "Cher client," } },
      { fr: { subject: "Votre commande", text: "Merci." }, en: { subject: "Your order", html: "<p>Thanks</p>" } }
    )
  },
  { requiredKeys: ["key", "name", "subject", "text"] }
)

const declarationArb = fc
  .record(
    {
      fields: fc.uniqueArray(fieldArb, { maxLength: 4, selector: (f) => `${"entity" in f ? f.entity : "contact"}.${f.key}` }),
      lifecycle: fc.constantFrom({ preset: "classic" as const }, { preset: "relationship" as const }, { preset: "hubspot" as const }),
      pipelines: fc.uniqueArray(pipelineArb, { maxLength: 3, selector: (p) => p.name }),
      templates: fc.uniqueArray(templateArb, { maxLength: 3, selector: (t) => t.key })
    },
    { requiredKeys: [] }
  )
  .chain((d) =>
    fc
      .option(
        fc.uniqueArray(
          fc.record(
            {
              key: fc.constantFrom("greet", "nudge", "score"),
              name: fc.constantFrom("Greet", "Nudge"),
              on: fc.constantFrom("signup.completed", "page.viewed"),
              when: fc.constantFrom({ path: "contact.score", op: "gte" as const, value: 5 }, { path: "contact.tags", op: "contains" as const, value: "vip" }),
              enabled: fc.boolean(),
              actions: fc.array(
                fc.oneof(
                  fc.record({ type: fc.constant("addTag" as const), tag: fc.constantFrom("new", "vip") }),
                  fc.record({ type: fc.constant("adjustScore" as const), by: fc.integer({ min: -5, max: 5 }) }),
                  ...(d.templates === undefined || d.templates.length === 0
                    ? []
                    : [fc.record({ type: fc.constant("sendEmail" as const), templateKey: fc.constantFrom(...d.templates.map((t) => t.key)) })])
                ),
                { minLength: 1, maxLength: 3 }
              )
            },
            { requiredKeys: ["key", "name", "on", "actions"] }
          ),
          { maxLength: 3, selector: (r) => r.key }
        ),
        { nil: undefined }
      )
      .map((rules): Declaration => (rules === undefined ? d : { ...d, rules }))
  )

// --- what is stored, as JSON

const storedState = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const [fields, lifecycle, pipelines, templates, rules, settings] = yield* Effect.all([
    crm.fields.list(),
    crm.lifecycle.definition,
    crm.pipelines.list(),
    crm.templates.list(),
    crm.rules.list(),
    crm.settings.get
  ])
  const locales = yield* Effect.forEach(templates, (t) => crm.templates.locales(t.id))
  return JSON.parse(JSON.stringify({ fields, lifecycle, pipelines, templates, locales, rules, workspaceVersion: settings.version })) as unknown
})

const withoutIdentity = (record: object, drop: ReadonlyArray<string>) =>
  Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(record)) as Record<string, unknown>).filter(([k]) => !drop.includes(k)))

/** What the declaration's items are, stored, without ids, versions and times; templates in rules by key. */
const declaredState = (d: Declaration) =>
  Effect.gen(function* () {
    const crm = yield* Crm.Crm
    const templates = yield* crm.templates.list()
    const keyOf = new Map(templates.map((t) => [t.id as string, t.key]))
    const meta = ["id", "workspaceId", "version", "createdAt", "updatedAt"]
    const fields = yield* crm.fields.list()
    const pipelines = yield* crm.pipelines.list()
    const rules = yield* crm.rules.list()
    return {
      lifecycle: d.lifecycle === undefined ? null : yield* crm.lifecycle.definition,
      fields: (d.fields ?? []).map((f) => withoutIdentity(fields.find((s) => s.entity === (f.entity ?? "contact") && s.key === f.key)!, meta)),
      pipelines: (d.pipelines ?? []).map((p) => withoutIdentity(pipelines.find((s) => s.name === p.name)!, meta)),
      templates: yield* Effect.forEach(d.templates ?? [], (t) => {
        const stored = templates.find((s) => s.key === t.key)!
        return Effect.map(crm.templates.locales(stored.id), (locales) => ({
          ...withoutIdentity(stored, meta),
          locales: locales.map((l) => withoutIdentity(l, ["workspaceId", "templateId", "updatedAt"]))
        }))
      }),
      rules: (d.rules ?? []).map((r) => {
        const stored = JSON.parse(JSON.stringify(withoutIdentity(rules.find((s) => s.key === r.key)!, meta)), (k, v: unknown) =>
          k === "template" ? keyOf.get(v as string) : v
        ) as unknown
        return stored
      })
    }
  })

const fresh = () => Workspaces.withWorkspace(Ids.WorkspaceId.make(`ws-${Math.random().toString(36).slice(2, 10)}`))
const actions = (plan: ReadonlyArray<Setup.SetupStep>) => plan.map((s) => `${s.kind}:${s.key}:${s.action}`)
let nonEmpty = 0
let overlapping = 0
let deleted = 0

describe("setup: properties", () => {
  it.effect.prop(
    "applying any declaration twice changes nothing the second time: every line unchanged, stored state identical",
    [declarationArb],
    ([declaration]) =>
      withCrm(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const first = yield* crm.setup.apply(declaration)
          expect(first.applied).toBe(true)
          if (first.plan.some((s) => s.action !== "unchanged")) nonEmpty++
          const before = yield* storedState
          const second = yield* crm.setup.apply(declaration)
          expect(second.plan.filter((s) => s.action !== "unchanged")).toEqual([])
          expect(second.plan.length).toBe(first.plan.length)
          expect(yield* storedState).toEqual(before)
        })
      ),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "applying A then B leaves what B declares as applying B on a fresh workspace does",
    [declarationArb, declarationArb],
    ([a, b]) =>
      withCrm(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const [inA, inB] = [fresh(), fresh()]
          yield* inA(crm.setup.apply(a))
          const second = yield* inA(crm.setup.apply(b))
          if (second.plan.some((s) => s.action === "update")) overlapping++
          yield* inB(crm.setup.apply(b))
          expect(yield* inA(declaredState(b))).toEqual(yield* inB(declaredState(b)))
        })
      ),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "without prune, applying B after A deletes nothing of A; with prune, the declared parts hold exactly what B lists",
    [declarationArb, declarationArb],
    ([a, b]) =>
      withCrm(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const inventory = Effect.gen(function* () {
            const [fields, pipelines, templates, rules] = yield* Effect.all([crm.fields.list(), crm.pipelines.list(), crm.templates.list(), crm.rules.list()])
            return {
              fields: fields.map((f) => `${f.entity}.${f.key}`).sort(),
              pipelines: pipelines.map((p) => p.name).sort(),
              templates: templates.map((t) => t.key!).sort(),
              rules: rules.map((r) => r.key!).sort()
            }
          })
          const [kept, pruned] = [fresh(), fresh()]
          yield* kept(crm.setup.apply(a))
          const before = yield* kept(inventory)
          yield* kept(crm.setup.apply(b))
          const after = yield* kept(inventory)
          for (const part of ["fields", "pipelines", "templates", "rules"] as const) {
            expect(after[part]).toEqual(expect.arrayContaining(before[part]))
          }
          yield* pruned(crm.setup.apply(a))
          const beforePrune = yield* pruned(inventory)
          const result = yield* Effect.either(pruned(crm.setup.apply({ ...b, prune: true })))
          const listed = yield* pruned(inventory)
          if (result._tag === "Left") {
            // Refused (a rule B leaves out still sends a template B prunes): nothing was applied.
            expect(result.left).toMatchObject({ _tag: "Conflict", reason: "inUse" })
            expect(listed).toEqual(beforePrune)
            return
          }
          if (result.right.plan.some((s) => s.action === "delete")) deleted++
          const declared = {
            fields: b.fields?.map((f) => `${f.entity ?? "contact"}.${f.key}`).sort(),
            pipelines: b.pipelines?.map((p) => p.name).sort(),
            templates: b.templates?.map((t) => t.key).sort(),
            rules: b.rules?.map((r) => r.key).sort()
          }
          // A part B declares holds exactly B's items; a part it leaves out is not looked at.
          for (const part of ["fields", "pipelines", "templates", "rules"] as const) {
            expect(listed[part]).toEqual(declared[part] ?? beforePrune[part])
          }
        })
      ),
    { fastCheck: { numRuns: 25 } }
  )

  it.effect.prop(
    "a dry run answers the plan the real run then carries out, and stores nothing",
    [declarationArb, declarationArb],
    ([a, b]) =>
      withCrm(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          yield* crm.setup.apply(a)
          const before = yield* storedState
          const dry = yield* crm.setup.apply({ ...b, dryRun: true })
          expect(dry.applied).toBe(false)
          expect(yield* storedState).toEqual(before)
          expect(yield* crm.setup.plan(b)).toEqual(dry)
          const real = yield* crm.setup.apply(b)
          expect(real.plan).toEqual(dry.plan)
        })
      ),
    { fastCheck: { numRuns: 30 } }
  )

  it("the properties above saw declarations that change something, and overlapping ones that update", () => {
    // Guards the properties: generators that only produced empty or disjoint declarations would prove nothing.
    expect(nonEmpty).toBeGreaterThan(5)
    expect(overlapping).toBeGreaterThan(3)
    expect(deleted).toBeGreaterThan(3)
  })
})

describe("setup: examples", () => {
  const declaration: Declaration = {
    fields: [
      { key: "siret", type: "text", label: "SIRET", required: { fromStage: "customer" } },
      { key: "plan", type: "select", options: ["free", "pro"] }
    ],
    lifecycle: { preset: "classic" },
    pipelines: [{ name: "Sales" }],
    templates: [{ key: "welcome", name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello {{ contact.firstName }}!" }],
    rules: [{ key: "welcome", name: "Welcome mail", on: "signup.completed", actions: [{ type: "sendEmail", templateKey: "welcome" }, { type: "addTag", tag: "new" }] }]
  }

  it.effect("the first run creates everything and says what; the rule sends the template it names by key", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const result = yield* crm.setup.apply(declaration)
        expect(actions(result.plan)).toEqual([
          "lifecycle:lifecycle:unchanged",
          "field:contact.siret:create",
          "field:contact.plan:create",
          "pipeline:Sales:create",
          "template:welcome:create",
          "rule:welcome:create"
        ])
        expect(result.plan.find((s) => s.key === "contact.siret")!.changes).toEqual(["label", "type", "required"])
        const template = (yield* crm.templates.list())[0]!
        expect(template.key).toBe("welcome")
        const rule = (yield* crm.rules.list())[0]!
        expect(rule.key).toBe("welcome")
        expect(rule.actions[0]).toEqual({ type: "sendEmail", template: template.id })
      })
    ))

  it.effect("a changed attribute is an update naming it; what is not declared stays unless pruned", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.setup.apply(declaration)
        const changed: Declaration = {
          fields: [{ key: "siret", type: "text", label: "N° SIRET", required: { fromStage: "customer" } }],
          templates: [{ key: "welcome", name: "Welcome", subject: "Bienvenue {{ contact.firstName }}", text: "Hello {{ contact.firstName }}!" }],
          rules: []
        }
        const result = yield* crm.setup.apply(changed)
        expect(result.plan).toEqual([
          { kind: "field", key: "contact.siret", action: "update", changes: ["label"] },
          { kind: "template", key: "welcome", action: "update", changes: ["subject"] }
        ])
        expect((yield* crm.fields.list()).map((f) => f.key)).toEqual(["siret", "plan"])
        expect((yield* crm.rules.list()).length).toBe(1)

        const pruned = yield* crm.setup.apply({ ...changed, prune: true })
        expect(actions(pruned.plan)).toEqual(["field:contact.siret:unchanged", "field:contact.plan:delete", "template:welcome:unchanged", "rule:welcome:delete"])
        expect((yield* crm.fields.list()).map((f) => f.key)).toEqual(["siret"])
        expect(yield* crm.rules.list()).toEqual([])
        // Parts left out of the declaration are not pruned: the pipeline stays.
        expect((yield* crm.pipelines.list()).map((p) => p.name)).toEqual(["Sales"])
      })
    ))

  it.effect("a template's locale variants are declared with it: set, changed, and removed when no longer declared", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const base = { key: "welcome", name: "Welcome", subject: "Welcome", text: "Hello" }
        const first = yield* crm.setup.apply({ templates: [{ ...base, locales: { fr: { subject: "Bienvenue", text: "Bonjour" } } }] })
        expect(first.plan).toEqual([{ kind: "template", key: "welcome", action: "create", changes: ["name", "subject", "text", "locales"] }])
        const [template] = yield* crm.templates.list()
        expect((yield* crm.templates.locales(template!.id)).map((l) => [l.locale, l.subject])).toEqual([["fr", "Bienvenue"]])
        const changed = yield* crm.setup.apply({ templates: [{ ...base, locales: { en: { subject: "Hi", text: "Hi" } } }] })
        expect(changed.plan).toEqual([{ kind: "template", key: "welcome", action: "update", changes: ["locales"] }])
        expect((yield* crm.templates.locales(template!.id)).map((l) => l.locale)).toEqual(["en"])
        expect(actions((yield* crm.setup.apply({ templates: [{ ...base, locales: { en: { subject: "Hi", text: "Hi" } } }] })).plan)).toEqual(["template:welcome:unchanged"])
        yield* crm.setup.apply({ templates: [base] })
        expect(yield* crm.templates.locales(template!.id)).toEqual([])
        const bad = yield* failure(crm.setup.apply({ templates: [{ ...base, locales: { fr: { subject: "{{ contact.nickname }}", text: "x" } } }] }))
        expect((bad as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown> }> }).issues.map((i) => i.path.slice(0, 4))).toEqual([["templates", 0, "locales", "fr"]])
      })
    ))

  it.effect("prune leaves templates and rules made at run time (without a key) alone", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.templates.create({ name: "By hand", subject: "Hi", text: "Hi" })
        yield* crm.rules.create({ name: "By hand", on: "page.viewed", actions: [{ type: "addTag", tag: "seen" }] })
        const result = yield* crm.setup.apply({ templates: [], rules: [], prune: true })
        expect(result.plan).toEqual([])
        expect((yield* crm.templates.list()).length).toBe(1)
        expect((yield* crm.rules.list()).length).toBe(1)
      })
    ))

  it.effect("a refused item leaves stored data as it was: a pipeline stage still holding a deal cannot go", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.setup.apply(declaration)
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        yield* crm.deals.create({ title: "Big one", contactId: ada.id, amount: { amountMinor: 100000, currency: "EUR" }, stage: "demo" })
        const before = yield* storedState
        const error = yield* failure(
          crm.setup.apply({
            ...declaration,
            fields: [...declaration.fields!, { key: "vat", type: "text" }],
            pipelines: [{ name: "Sales", stages: [{ key: "open", label: "Open", probability: 20 }, { key: "won", label: "Won", probability: 100, outcome: "won" }, { key: "lost", label: "Lost", probability: 0, outcome: "lost" }] }]
          })
        )
        expect(error).toMatchObject({ _tag: "Conflict", reason: "inUse", entity: "pipeline" })
        // The field created before the refusal is gone with it.
        expect(yield* storedState).toEqual(before)
      })
    ))

  it.effect("a declared item the checks refuse fails with paths from the declaration's root", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const error = yield* failure(
          crm.setup.apply({
            templates: [{ key: "oops", name: "Oops", subject: "Hi", text: "Hello {{ contact.nickname }}" }],
            rules: [{ key: "r", name: "R", on: "x.y", actions: [{ type: "sendEmail", templateKey: "missing" }] }]
          })
        )
        expect(error).toMatchObject({ _tag: "ValidationError" })
        expect((error as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown> }> }).issues.map((i) => i.path.slice(0, 2))).toEqual([["templates", 0]])
        const missing = yield* failure(crm.setup.apply({ rules: [{ key: "r", name: "R", on: "x.y", actions: [{ type: "sendEmail", templateKey: "missing" }] }] }))
        expect((missing as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown> }> }).issues.map((i) => i.path)).toEqual([["rules", 0, "actions", 0, "templateKey"]])
        const twice = yield* failure(crm.setup.apply({ templates: [{ key: "a", name: "A", subject: "A", text: "A" }, { key: "a", name: "B", subject: "B", text: "B" }] }))
        expect((twice as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown> }> }).issues.map((i) => i.path)).toEqual([["templates", 1, "key"]])
        expect(yield* crm.templates.list()).toEqual([])
      })
    ))

  it.effect("a field required from a stage the new lifecycle drops, changed in the same declaration, goes through", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.setup.apply({ fields: [{ key: "siret", type: "text", required: { fromStage: "loyal" } }] })
        const result = yield* crm.setup.apply({ lifecycle: { preset: "hubspot" }, fields: [{ key: "siret", type: "text", required: { fromStage: "opportunity" } }] })
        expect(actions(result.plan)).toEqual(["lifecycle:lifecycle:update", "field:contact.siret:update"])
        expect((yield* crm.fields.get("contact", "siret")).required).toEqual({ fromStage: "opportunity" })
      })
    ))
})

describe("fields.define", () => {
  it.effect("an identical definition again is a no-op: same version, no error; a different one is still a Conflict", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const first = yield* crm.fields.define({ key: "size", type: "select", options: ["s", "m"], label: "Size" })
        const again = yield* crm.fields.define({ key: "size", type: "select", options: [{ value: "s", label: "s" }, "m"], label: "Size" })
        expect(again).toEqual(first)
        expect((yield* crm.fields.get("contact", "size")).version).toBe(1)
        expect(yield* failure(crm.fields.define({ key: "size", type: "select", options: ["s", "m", "l"], label: "Size" }))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        expect(yield* failure(crm.fields.define({ key: "size", type: "select", options: ["s", "m"] }))).toMatchObject({ _tag: "Conflict", reason: "unique" })
      })
    ))
})

export { Storage }
