/**
 * The storage contract suite: what every Storage adapter must do, as tests. Run it from an
 * adapter's test file with the adapter's layer; it builds the layer once and keeps tests apart by
 * giving each its own workspace, so one database serves the whole run.
 *
 * @example
 * ```ts
 * // test/contract.test.ts of a storage adapter
 * import { storageSuite } from "@rapport/testing/contract"
 * import { MyStorage } from "../src/index.js"
 *
 * storageSuite(MyStorage.layer({ url: process.env.DB_URL! }), { name: "my storage" })
 * ```
 *
 * @since 0.1.0
 */
import { Company, Contact, Crm, Errors, FieldDefinition, Ids, LifecycleDefinition, Money, Storage, Time, TimelineEntry, Workspace, Workspaces } from "@rapport/core"
import { describe, expect, layer } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"
import { accessSuite } from "./AccessSuite.js"
import { webhooksOutSuite } from "./WebhooksOutSuite.js"
import { historySuite } from "./HistorySuite.js"
import { importsSuite } from "./ImportsSuite.js"
import { ordersSuite } from "./OrdersSuite.js"
import { consentSuite } from "./ConsentSuite.js"
import { identitiesSuite } from "./IdentitiesSuite.js"
import { mergeSuite } from "./MergeSuite.js"
import { rulesSuite } from "./RulesSuite.js"
import { salesSuite } from "./SalesSuite.js"
import { analyticsSuite } from "./AnalyticsSuite.js"
import { setupKeysSuite } from "./SetupKeysSuite.js"
import { templateLocalesSuite } from "./TemplateLocalesSuite.js"
import { snapshotsSuite } from "./SnapshotsSuite.js"
import { segmentsSuite } from "./SegmentsSuite.js"
import { campaignsSuite } from "./CampaignsSuite.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface StorageSuiteOptions {
  /** The adapter's name, shown in the suite's title. */
  readonly name?: string | undefined
  /**
   * Tests this adapter cannot pass, by name, with the reason (printed in the test's name).
   * Use sparingly: every skip is a behaviour users of the adapter cannot rely on.
   */
  readonly skip?: Readonly<Record<string, string>> | undefined
  /** How long building the layer may take (default 60 seconds). */
  readonly timeout?: number | undefined
}

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const encode = <A, I>(schema: Schema.Schema<A, I>) => Schema.encodeSync(schema)
const json = {
  contact: encode(Contact.Contact),
  company: encode(Company.Company),
  definition: encode(FieldDefinition.FieldDefinition),
  entry: encode(TimelineEntry.TimelineEntry),
  workspace: encode(Workspace.Workspace)
}


const at = Fixtures.instant

/** A workspace of the test's own, and a way to run service calls in it. */
const freshWorkspace = () => {
  const ws = Fixtures.freshWorkspaceId()
  return { ws, run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect) }
}

/** How many contacts the workspace holds, counted by the store: a list stops at its page size (500). */
const contactCount = (ws: Ids.WorkspaceId) =>
  Effect.map(
    Effect.flatMap(Storage.Storage, (s) => s.contacts.countByStage(ws)),
    (stages) => stages.reduce((sum, s) => sum + s.count, 0)
  )

/** `ok`, or the error's tag and reason: what a race's outcome is compared by. */
const outcomeOf = <A, E>(result: Either.Either<A, E>): string => {
  if (Either.isRight(result)) return "ok"
  const error = result.left as { readonly _tag?: string; readonly reason?: string }
  return error.reason === undefined ? String(error._tag) : `${error._tag}:${error.reason}`
}

/**
 * Plays a race of round `round`: both at once (every third round), or one of them given a head
 * start. A store that serialises writes may let the same side win every simultaneous start, so
 * the head starts make sure a race test sees each outcome it claims. The head start is real time
 * (`it.effect`'s TestClock would never end an `Effect.sleep`).
 */
const race = <A, B, E, R>(a: Effect.Effect<A, E, R>, b: Effect.Effect<B, E, R>, round: number) => {
  const after = <X, EX, RX>(effect: Effect.Effect<X, EX, RX>) =>
    Effect.zipRight(Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50))), effect)
  const lead = round % 3
  return Effect.all([lead === 2 ? after(a) : a, lead === 1 ? after(b) : b] as const, { concurrency: "unbounded" })
}

/**
 * Registers the contract tests for a Storage layer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const storageSuite = <E>(storage: Layer.Layer<Storage.Storage, E>, options: StorageSuiteOptions = {}): void => {
  const name = options.name ?? "storage"
  const skip = options.skip ?? {}
  const full = Crm.layer.pipe(Layer.provideMerge(storage))

  layer(full, { timeout: options.timeout ?? 60_000 })(`${name} — storage contract`, (it) => {
    const test: Test = (testName, body) => {
      const reason = skip[testName]
      if (reason !== undefined) it.effect.skip(`${testName} (skipped by the adapter: ${reason})`, () => Effect.void)
      else it.effect(testName, body)
    }
    const store = Storage.Storage

    describe("workspaces", () => {
      test("insertIfAbsent stores a workspace once: a second insert returns the first", () =>
        Effect.gen(function* () {
          const s = yield* store
          const id = Fixtures.freshWorkspaceId()
          const first = Fixtures.workspace(id, { name: "First" })
          expect(json.workspace(yield* s.workspaces.insertIfAbsent(first))).toEqual(json.workspace(first))
          const again = yield* s.workspaces.insertIfAbsent(Fixtures.workspace(id, { name: "Second" }))
          expect(again.name).toBe("First")
          const stored = yield* s.workspaces.get(id)
          expect(Option.map(stored, json.workspace)).toEqual(Option.some(json.workspace(first)))
        }))

      test("get of an unknown workspace is none", () =>
        Effect.gen(function* () {
          const s = yield* store
          expect(Option.isNone(yield* s.workspaces.get(Fixtures.freshWorkspaceId()))).toBe(true)
        }))

      test("update with the stored version replaces; a stale version fails with Conflict and changes nothing", () =>
        Effect.gen(function* () {
          const s = yield* store
          const id = Fixtures.freshWorkspaceId()
          const v1 = yield* s.workspaces.insertIfAbsent(Fixtures.workspace(id))
          const v2 = new Workspace.Workspace({ ...v1, name: "Renamed", version: 2 })
          yield* s.workspaces.update(v2, 1)
          const stale = yield* failure(s.workspaces.update(new Workspace.Workspace({ ...v1, name: "Lost", version: 2 }), 1))
          expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", expectedVersion: 1, actualVersion: 2 })
          expect(Option.getOrThrow(yield* s.workspaces.get(id)).name).toBe("Renamed")
        }))
    })

    describe("field definitions", () => {
      test("list returns definitions by position, key and entity, optionally of one entity", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "zeta", { position: 0 }))
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "alpha", { position: 1 }))
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "beta", { position: 1 }))
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "size", { entity: "company", type: "select", options: [{ value: "S", label: "Small" }] }))
          expect((yield* s.fieldDefinitions.list(ws, "contact")).map((d) => d.key)).toEqual(["zeta", "alpha", "beta"])
          expect((yield* s.fieldDefinitions.list(ws)).map((d) => `${d.entity}.${d.key}`)).toEqual([
            "company.size",
            "contact.zeta",
            "contact.alpha",
            "contact.beta"
          ])
        }))

      test("definitions round-trip every attribute", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const def = Fixtures.fieldDefinition(ws, "plan", {
            label: "Plan « été »",
            type: "multiSelect",
            options: [{ value: "a", label: "A" }, { value: "b", label: "B" }],
            required: { fromStage: LifecycleDefinition.StageKey.make("customer") },
            unique: false,
            description: "Which plans"
          })
          yield* s.fieldDefinitions.insert(def)
          const [stored] = yield* s.fieldDefinitions.list(ws)
          expect(json.definition(stored!)).toEqual(json.definition(def))
          const flagged = Fixtures.fieldDefinition(ws, "siret", { unique: true, required: "always" })
          yield* s.fieldDefinitions.insert(flagged)
          expect((yield* s.fieldDefinitions.list(ws)).find((d) => d.key === "siret")?.unique).toBe(true)
        }))

      test("the same key twice on one entity fails with Conflict; on another entity or workspace it is fine", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "code"))
          const error = yield* failure(s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "code", { label: "Again" })))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique" })
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, "code", { entity: "company" }))
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(Fixtures.freshWorkspaceId(), "code"))
          expect((yield* s.fieldDefinitions.list(ws, "contact"))[0]?.label).toBe("code")
        }))

      test("update checks the version; remove deletes", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const def = Fixtures.fieldDefinition(ws, "code")
          yield* s.fieldDefinitions.insert(def)
          yield* s.fieldDefinitions.update(new FieldDefinition.FieldDefinition({ ...def, label: "Code", version: 2 }), 1)
          const stale = yield* failure(s.fieldDefinitions.update(new FieldDefinition.FieldDefinition({ ...def, label: "Lost", version: 2 }), 1))
          expect(stale).toMatchObject({ _tag: "Conflict", reason: "version" })
          expect((yield* s.fieldDefinitions.list(ws))[0]?.label).toBe("Code")
          yield* s.fieldDefinitions.remove(ws, "contact", "code")
          expect(yield* s.fieldDefinitions.list(ws)).toEqual([])
        }))
    })

    describe("contacts", () => {
      test("insert then get round-trips every attribute", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const firm = yield* Fixtures.company(ws)
          yield* s.companies.insert(firm)
          const c = yield* Fixtures.contact(ws, {
            email: Fixtures.email("zoe.o'brien@Example.com"),
            firstName: "Zoë",
            lastName: "O'Brien \"the quote\"",
            phone: "+33 6 39 98 12 34",
            companyId: firm.id,
            source: { channel: "trade-show", campaign: "Salon 2025" },
            firstSeenAt: at("2024-02-29T23:59:59.999Z"),
            tags: ["vip", "été", "a,b"],
            ownerId: "user-42",
            score: -3,
            timezone: Time.Timezone.make("Europe/Paris"),
            fields: { siret: "123 456 789 00012", size: 1.5, count: 3, active: false, tags: ["x", "y"], money: { amountMinor: 1999, currency: "EUR" }, nested: { a: [1, null, "z"] } },
            version: 7
          })
          yield* s.contacts.insertMany([c])
          const stored = Option.getOrThrow(yield* s.contacts.get(ws, c.id))
          expect(json.contact(stored)).toEqual(json.contact(c))
        }))

      test("a second contact with a stored id fails with Conflict on the id (not the email)", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws, { email: Fixtures.email("first@example.com") })
          yield* s.contacts.insertMany([c])
          const error = yield* failure(s.contacts.insertMany([new Contact.Contact({ ...c, email: Fixtures.email("second@example.com") })]))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "id" })
          expect(Option.getOrThrow(yield* s.contacts.get(ws, c.id)).email).toBe("first@example.com")
        }))

      test("custom fields round-trip as exact JSON: unicode, nesting, floats, odd keys", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const fields = {
            text: "Zoë « été » 日本語 🍷 \"quoted\" back\\slash\nnew line\ttab",
            float: 0.1,
            tiny: 1e-7,
            big: 9007199254740991,
            negative: -123456.789,
            flags: [true, false, null],
            nested: { "key with spaces": { "dotted.key": ["a", { "🍷": 1 }] }, empty: {}, none: [] },
            money: { amountMinor: 199900, currency: "EUR" }
          }
          const c = yield* Fixtures.contact(ws, { fields })
          yield* s.contacts.insertMany([c])
          expect(Option.getOrThrow(yield* s.contacts.get(ws, c.id)).fields).toEqual(fields)
          const payload = { ...fields, url: "/vins/rosé?x=1&y=\"2\"" }
          yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "json-1", { payload }))
          expect(Option.getOrThrow(yield* s.events.get(ws, Ids.EventId.make("json-1"))).payload).toEqual(payload)
          yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, c.id, { summary: fields.text, payload }))
          const [entry] = yield* s.timeline.list(ws, { contactId: c.id, limit: 1 })
          expect([entry?.summary, entry?.payload]).toEqual([fields.text, payload])
        }))

      test("insertMany stores every contact, or none when one is refused (in a transaction)", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const many = yield* Effect.forEach(Array.from({ length: 1203 }, (_, i) => i), (i) => Fixtures.contact(ws, { email: Fixtures.email(`bulk${i}@example.com`) }))
          yield* s.transaction(s.contacts.insertMany(many))
          expect((yield* s.contacts.list(ws, { limit: 2000 })).length).toBe(1203)
          const other = Fixtures.freshWorkspaceId()
          const clash = [
            ...(yield* Effect.forEach([1, 2, 3], (i) => Fixtures.contact(other, { email: Fixtures.email(`fresh${i}@example.com`) }))),
            yield* Fixtures.contact(other, { email: Fixtures.email("fresh1@example.com") })
          ]
          const error = yield* failure(s.transaction(s.contacts.insertMany(clash)))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email" })
          expect(yield* s.contacts.list(other, { limit: 10 })).toEqual([])
        }))

      test("findByEmails finds the workspace's contacts by email key", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const a = yield* Fixtures.contact(ws, { email: Fixtures.email("Ada@example.com") })
          const b = yield* Fixtures.contact(ws, { email: Fixtures.email("bob@example.com") })
          yield* s.contacts.insertMany([a, b])
          yield* s.contacts.insertMany([yield* Fixtures.contact(Fixtures.freshWorkspaceId(), { email: Fixtures.email("cy@example.com") })])
          const found = yield* s.contacts.findByEmails(ws, ["ada@example.com", "BOB@example.com", "cy@example.com", "nobody@example.com"])
          expect(found.map((c) => c.id).sort()).toEqual([a.id, b.id].sort())
          expect(yield* s.contacts.findByEmails(ws, [])).toEqual([])
        }))

      test("findByEmail ignores case", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws, { email: Fixtures.email("Ada@example.com") })
          yield* s.contacts.insertMany([c])
          expect(Option.map(yield* s.contacts.findByEmail(ws, "ADA@EXAMPLE.COM"), (x) => x.id)).toEqual(Option.some(c.id))
          expect(Option.isNone(yield* s.contacts.findByEmail(ws, "bob@example.com"))).toBe(true)
        }))

      test("an email already used (in another case) fails with Conflict and stores nothing; contacts without email never collide", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const email = Fixtures.email
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { email: email("ada@example.com") })])
          const second = yield* Fixtures.contact(ws, { email: email("ADA@example.com") })
          const error = yield* failure(s.contacts.insertMany([second]))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email" })
          expect(Option.isNone(yield* s.contacts.get(ws, second.id))).toBe(true)
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws)])
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws)])
          expect((yield* s.contacts.list(ws, { limit: 10 })).length).toBe(3)
        }))

      test("update with the expected version replaces; a stale version fails with Conflict and leaves the record", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          yield* s.contacts.insertMany([c])
          yield* s.contacts.update(new Contact.Contact({ ...c, firstName: "Second", version: 2 }), 1)
          const stale = yield* failure(s.contacts.update(new Contact.Contact({ ...c, firstName: "Lost", version: 2 }), 1))
          expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", expectedVersion: 1, actualVersion: 2 })
          const stored = Option.getOrThrow(yield* s.contacts.get(ws, c.id))
          expect([stored.firstName, stored.version]).toEqual(["Second", 2])
        }))

      test("update to an email another contact holds fails with Conflict; a freed email can be taken", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const email = Fixtures.email
          const ada = yield* Fixtures.contact(ws, { email: email("ada@example.com") })
          const bob = yield* Fixtures.contact(ws, { email: email("bob@example.com") })
          yield* s.contacts.insertMany([ada])
          yield* s.contacts.insertMany([bob])
          const error = yield* failure(s.contacts.update(new Contact.Contact({ ...bob, email: email("Ada@Example.com"), version: 2 }), 1))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email" })
          expect(Option.getOrThrow(yield* s.contacts.get(ws, bob.id)).email).toBe("bob@example.com")
          // A contact given a new primary email alone keeps its other emails: the lists say which it has.
          const only = (value: string) => ({ email: email(value), emails: [{ value: email(value), label: null }] })
          yield* s.contacts.update(new Contact.Contact({ ...ada, ...only("ada@other.org"), version: 2 }), 1)
          yield* s.contacts.update(new Contact.Contact({ ...bob, ...only("ada@example.com"), version: 2 }), 1)
          expect(Option.map(yield* s.contacts.findByEmail(ws, "ada@example.com"), (c) => c.id)).toEqual(Option.some(bob.id))
        }))

      test("remove reports whether a contact was removed and frees its email", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const email = Fixtures.email("gone@example.com")
          const c = yield* Fixtures.contact(ws, { email })
          yield* s.contacts.insertMany([c])
          expect(yield* s.contacts.remove(ws, c.id)).toBe(true)
          expect(yield* s.contacts.remove(ws, c.id)).toBe(false)
          expect(Option.isNone(yield* s.contacts.get(ws, c.id))).toBe(true)
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { email })])
        }))

      test("list pages through every contact once, in id order", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const inserted: Array<string> = []
          for (let i = 0; i < 23; i++) {
            const c = yield* Fixtures.contact(ws, { firstName: `n${i}` })
            yield* s.contacts.insertMany([c])
            inserted.push(c.id)
          }
          const seen: Array<string> = []
          let after: string | undefined
          while (true) {
            const page = yield* s.contacts.list(ws, { after, limit: 5 })
            seen.push(...page.map((c) => c.id))
            if (page.length < 5) break
            after = page[page.length - 1]!.id
          }
          expect(seen).toEqual([...inserted].sort())
        }))

      test("list filters by stage, tag, company and owner", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const firm = yield* Fixtures.company(ws)
          yield* s.companies.insert(firm)
          const stage = LifecycleDefinition.StageKey.make
          const a = yield* Fixtures.contact(ws, { stage: stage("customer"), tags: ["vip", "b2b"], companyId: firm.id, ownerId: "u1" })
          const b = yield* Fixtures.contact(ws, { stage: stage("customer"), tags: ["vip2"] })
          const c = yield* Fixtures.contact(ws, { tags: ["b2b"], ownerId: "u1" })
          yield* s.contacts.insertMany([a, b, c])
          const ids = (rows: ReadonlyArray<Contact.Contact>) => rows.map((r) => r.id).sort()
          expect(ids(yield* s.contacts.list(ws, { stage: "customer", limit: 10 }))).toEqual([a.id, b.id].sort())
          expect(ids(yield* s.contacts.list(ws, { tag: "vip", limit: 10 }))).toEqual([a.id])
          expect(ids(yield* s.contacts.list(ws, { tag: "b2b", limit: 10 }))).toEqual([a.id, c.id].sort())
          expect(ids(yield* s.contacts.list(ws, { companyId: firm.id, limit: 10 }))).toEqual([a.id])
          expect(ids(yield* s.contacts.list(ws, { ownerId: "u1", stage: "suspect", limit: 10 }))).toEqual([c.id])
        }))

      test("countByStage and countByCompany count the workspace's contacts", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const firm = yield* Fixtures.company(ws)
          yield* s.companies.insert(firm)
          const stage = LifecycleDefinition.StageKey.make
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { companyId: firm.id })])
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { companyId: firm.id, stage: stage("loyal") })])
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { stage: stage("loyal") })])
          const counts = yield* s.contacts.countByStage(ws)
          expect([...counts].sort((x, y) => (x.stage < y.stage ? -1 : 1))).toEqual([
            { stage: "loyal", count: 2 },
            { stage: "suspect", count: 1 }
          ])
          expect(yield* s.contacts.countByCompany(ws, firm.id)).toBe(2)
        }))
    })

    // Regression: on PostgreSQL a score above 2^31 failed with a storage error (the column was 32-bit).
    describe("whole numbers beyond 32 bits", () => {
      const big = [2 ** 31 + 1, Number.MAX_SAFE_INTEGER] as const

      test("a score, the positions of field definitions and pipelines and an order line's quantity read back exactly at 2^31+1 and Number.MAX_SAFE_INTEGER", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.workspaces.insertIfAbsent(Fixtures.workspace(ws))
          for (const [i, n] of big.entries()) {
            const contact = yield* Fixtures.contact(ws, { email: Fixtures.email(`big${i}@example.com`), score: n })
            yield* s.contacts.insertMany([contact])
            expect(Option.getOrThrow(yield* s.contacts.get(ws, contact.id)).score).toBe(n)
            yield* s.contacts.update(new Contact.Contact({ ...contact, score: -n, version: 2 }), 1)
            expect(Option.getOrThrow(yield* s.contacts.get(ws, contact.id)).score).toBe(-n)

            yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(ws, `big${i}`, { position: n }))
            const pipeline = yield* Fixtures.pipeline(ws, { name: `Big ${i}`, position: n })
            yield* s.pipelines.insert(pipeline)
            expect(Option.getOrThrow(yield* s.pipelines.get(ws, pipeline.id)).position).toBe(n)

            const line = { sku: "BULK", name: "Bulk", quantity: n, unitPrice: { amountMinor: 1, currency: Money.Currency.make("EUR") } }
            yield* s.orders.insert(Fixtures.order(ws, contact.id, `order-${i}`, { totalMinor: n, lines: [line] }))
            const [stored] = (yield* s.orders.forContact(ws, contact.id, { limit: 1 }))[0]?.lines ?? []
            expect(stored?.quantity).toBe(n)
          }
          expect((yield* s.fieldDefinitions.list(ws, "contact")).map((d) => [d.key, d.position])).toEqual(big.map((n, i) => [`big${i}`, n]))
        }))

      test("contacts.create with a score of Number.MAX_SAFE_INTEGER stores it; update and get read it back exactly", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          const ada = yield* run(crm.contacts.create({ email: "ada@example.com", score: Number.MAX_SAFE_INTEGER }))
          expect((yield* run(crm.contacts.get(ada.id))).score).toBe(Number.MAX_SAFE_INTEGER)
          yield* run(crm.contacts.update(ada.id, { expectedVersion: ada.version, score: 2 ** 31 + 1 }))
          expect((yield* run(crm.contacts.get(ada.id))).score).toBe(2 ** 31 + 1)
        }))
    })

    describe("companies", () => {
      test("insert, get, update with version, list and remove", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const acme = yield* Fixtures.company(ws, { name: "Acme", domain: "acme.com", tags: ["b2b"], fields: { employees: 12 } })
          const bolt = yield* Fixtures.company(ws, { name: "Bolt" })
          yield* s.companies.insert(acme)
          yield* s.companies.insert(bolt)
          expect(json.company(Option.getOrThrow(yield* s.companies.get(ws, acme.id)))).toEqual(json.company(acme))
          yield* s.companies.update(new Company.Company({ ...acme, name: "Acme SA", version: 2 }), 1)
          expect(yield* failure(s.companies.update(new Company.Company({ ...acme, version: 2 }), 1))).toMatchObject({ _tag: "Conflict", reason: "version" })
          expect((yield* s.companies.list(ws, { limit: 1 })).map((c) => c.id)).toEqual([acme.id < bolt.id ? acme.id : bolt.id])
          expect((yield* s.companies.list(ws, { limit: 10 })).length).toBe(2)
          expect(yield* s.companies.remove(ws, acme.id)).toBe(true)
          expect(yield* s.companies.remove(ws, acme.id)).toBe(false)
          expect((yield* s.companies.list(ws, { limit: 10 })).map((c) => c.id)).toEqual([bolt.id])
        }))
    })

    describe("custom field values", () => {
      test("scan pages through records in id order with their stage (contacts) or none (companies)", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const contacts = [yield* Fixtures.contact(ws, { fields: { a: 1 } }), yield* Fixtures.contact(ws), yield* Fixtures.contact(ws, { fields: { a: 3 } })]
          yield* s.contacts.insertMany(contacts)
          yield* s.companies.insert(yield* Fixtures.company(ws, { fields: { b: "x" } }))
          const first = yield* s.customFields.scan(ws, "contact", undefined, 2)
          const rest = yield* s.customFields.scan(ws, "contact", first[1]!.id, 2)
          expect([...first, ...rest].map((r) => r.id)).toEqual(contacts.map((c) => c.id).sort())
          expect(first[0]).toMatchObject({ stage: "suspect" })
          const companies = yield* s.customFields.scan(ws, "company", undefined, 10)
          expect(companies.map((r) => [r.stage, r.fields])).toEqual([[null, { b: "x" }]])
        }))

      test("purge removes a key from the records holding it, bumps their version, and counts them", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const holding = yield* Fixtures.contact(ws, { fields: { gone: "x", kept: 1 } })
          const without = yield* Fixtures.contact(ws, { fields: { kept: 2 } })
          yield* s.contacts.insertMany([holding])
          yield* s.contacts.insertMany([without])
          const later = at("2025-06-01T10:00:00.000Z")
          expect(yield* s.customFields.purge(ws, "contact", "gone", later)).toBe(1)
          const after = Option.getOrThrow(yield* s.contacts.get(ws, holding.id))
          expect([after.fields, after.version, DateTime.formatIso(after.updatedAt)]).toEqual([{ kept: 1 }, 2, "2025-06-01T10:00:00.000Z"])
          expect(Option.getOrThrow(yield* s.contacts.get(ws, without.id)).version).toBe(1)
        }))
    })

    describe("unique values", () => {
      test("a value held by one record cannot be set by another; clearing or releasing frees it", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.uniqueValues.set(ws, "contact", "r1", "siret", "123")
          yield* s.uniqueValues.set(ws, "contact", "r1", "siret", "123")
          const error = yield* failure(s.uniqueValues.set(ws, "contact", "r2", "siret", "123"))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "fields.siret", existingId: "r1" })
          expect(yield* s.uniqueValues.find(ws, "contact", "siret", "123")).toEqual(Option.some("r1"))
          yield* s.uniqueValues.set(ws, "contact", "r1", "siret", "456")
          yield* s.uniqueValues.set(ws, "contact", "r2", "siret", "123")
          yield* s.uniqueValues.set(ws, "contact", "r2", "siret", null)
          expect(Option.isNone(yield* s.uniqueValues.find(ws, "contact", "siret", "123"))).toBe(true)
          yield* s.uniqueValues.set(ws, "contact", "r3", "code", "A")
          yield* s.uniqueValues.releaseRecord(ws, "contact", "r1")
          expect(Option.isNone(yield* s.uniqueValues.find(ws, "contact", "siret", "456"))).toBe(true)
          yield* s.uniqueValues.releaseField(ws, "contact", "code")
          expect(Option.isNone(yield* s.uniqueValues.find(ws, "contact", "code", "A"))).toBe(true)
        }))

      test("claimMany claims values for new records, refusing one held by another record", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.uniqueValues.claimMany(ws, "contact", [
            { recordId: "r1", fieldKey: "code", valueKey: "a" },
            { recordId: "r2", fieldKey: "code", valueKey: "b" },
            { recordId: "r2", fieldKey: "siret", valueKey: "a" }
          ])
          expect(yield* s.uniqueValues.find(ws, "contact", "siret", "a")).toEqual(Option.some("r2"))
          const error = yield* failure(s.uniqueValues.claimMany(ws, "contact", [{ recordId: "r3", fieldKey: "code", valueKey: "b" }]))
          expect(error).toMatchObject({ _tag: "Conflict", field: "fields.code", existingId: "r2" })
          expect(yield* s.uniqueValues.claimMany(ws, "contact", [])).toBeUndefined()
        }))

      test("the same value is free in another workspace and on another entity", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          yield* s.uniqueValues.set(ws, "contact", "r1", "code", "A")
          yield* s.uniqueValues.set(ws, "company", "c1", "code", "A")
          yield* s.uniqueValues.set(Fixtures.freshWorkspaceId(), "contact", "r2", "code", "A")
          expect(yield* s.uniqueValues.find(ws, "contact", "code", "A")).toEqual(Option.some("r1"))
        }))
    })

    describe("timeline", () => {
      test("list is newest first, ties broken by id descending, and round-trips entries", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          yield* s.contacts.insertMany([c])
          const old = yield* Fixtures.timelineEntry(ws, c.id, { occurredAt: at("2025-01-01T09:00:00.000Z"), kind: "call", direction: "outbound", reaction: "positive", author: "u1", channel: "phone", payload: { minutes: 12 } })
          const t1 = yield* Fixtures.timelineEntry(ws, c.id, { occurredAt: at("2025-01-02T09:00:00.000Z") })
          const t2 = yield* Fixtures.timelineEntry(ws, c.id, { occurredAt: at("2025-01-02T09:00:00.000Z") })
          for (const e of [t2, old, t1]) yield* s.timeline.append(e)
          const listed = yield* s.timeline.list(ws, { contactId: c.id, limit: 10 })
          expect(listed.map((e) => e.id)).toEqual([t2.id, t1.id, old.id])
          expect(json.entry(listed[2]!)).toEqual(json.entry(old))
        }))

      test("filters by contact, kinds and period (from inclusive, to exclusive), and pages with before", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const a = yield* Fixtures.contact(ws)
          const b = yield* Fixtures.contact(ws)
          yield* s.contacts.insertMany([a])
          yield* s.contacts.insertMany([b])
          const days = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
          const entries: Array<TimelineEntry.TimelineEntry> = []
          for (const [i, day] of days.entries()) {
            const e = yield* Fixtures.timelineEntry(ws, a.id, { occurredAt: at(`${day}T10:00:00.000Z`), kind: i % 2 === 0 ? "email" : "call" })
            entries.push(e)
            yield* s.timeline.append(e)
          }
          yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, b.id, { kind: "email" }))
          const ids = (rows: ReadonlyArray<TimelineEntry.TimelineEntry>) => rows.map((r) => r.id)
          expect(ids(yield* s.timeline.list(ws, { contactId: a.id, kinds: ["email"], limit: 10 }))).toEqual([entries[2]!.id, entries[0]!.id])
          expect(ids(yield* s.timeline.list(ws, { contactId: a.id, from: at("2025-03-02T10:00:00.000Z"), to: at("2025-03-04T10:00:00.000Z"), limit: 10 }))).toEqual([entries[2]!.id, entries[1]!.id])
          const firstPage = yield* s.timeline.list(ws, { contactId: a.id, limit: 2 })
          const last = firstPage[1]!
          expect(ids(yield* s.timeline.list(ws, { contactId: a.id, before: { occurredAt: last.occurredAt, id: last.id }, limit: 10 }))).toEqual([entries[1]!.id, entries[0]!.id])
          expect((yield* s.timeline.list(ws, { limit: 10 })).length).toBe(5)
          expect(yield* s.timeline.list(ws, { kinds: [], limit: 10 })).toEqual([])
        }))

      test("appendMany adds every entry", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          const entries = yield* Effect.forEach(Array.from({ length: 650 }, (_, i) => i), (i) => Fixtures.timelineEntry(ws, c.id, { summary: `entry ${i}` }))
          yield* s.timeline.appendMany(entries)
          expect((yield* s.timeline.list(ws, { contactId: c.id, limit: 1000 })).length).toBe(650)
        }))

      test("removeForContact deletes only that contact's entries", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const a = yield* Fixtures.contact(ws)
          const b = yield* Fixtures.contact(ws)
          yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, a.id))
          yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, b.id))
          yield* s.timeline.removeForContact(ws, a.id)
          expect((yield* s.timeline.list(ws, { limit: 10 })).map((e) => e.contactId)).toEqual([b.id])
        }))
    })

    describe("events", () => {
      test("insert stores an id once: the second insert returns false and keeps the first", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          const first = Fixtures.storedEvent(ws, c.id, "evt-1", { payload: { url: "/first", n: 1 } })
          expect(yield* s.events.insert(first)).toBe(true)
          expect(yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "evt-1", { payload: { url: "/second" } }))).toBe(false)
          const stored = Option.getOrThrow(yield* s.events.get(ws, first.id))
          expect(stored.payload).toEqual({ url: "/first", n: 1 })
          expect(DateTime.formatIso(stored.occurredAt)).toBe(DateTime.formatIso(first.occurredAt))
        }))

      test("insertMany stores new ids and reports the ones already stored, keeping them", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "old", { payload: { url: "/first" } }))
          const stored = yield* s.events.insertMany([
            Fixtures.storedEvent(ws, c.id, "new-1"),
            Fixtures.storedEvent(ws, c.id, "old", { payload: { url: "/second" } }),
            Fixtures.storedEvent(ws, c.id, "new-2")
          ])
          expect(stored).toEqual(["old"])
          expect(Option.getOrThrow(yield* s.events.get(ws, Ids.EventId.make("old"))).payload).toEqual({ url: "/first" })
          expect(Option.isSome(yield* s.events.get(ws, Ids.EventId.make("new-2")))).toBe(true)
        }))

      test("count counts a contact's events of the given types in the window (since exclusive, until inclusive)", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const a = yield* Fixtures.contact(ws)
          const b = yield* Fixtures.contact(ws)
          const when = (d: string) => at(`2025-05-${d}T12:00:00.000Z`)
          yield* s.events.insert(Fixtures.storedEvent(ws, a.id, "e1", { type: "quote.sent", occurredAt: when("01") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, a.id, "e2", { type: "quote.sent", occurredAt: when("10") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, a.id, "e3", { type: "email.opened", occurredAt: when("10") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, a.id, "e4", { type: "quote.sent", occurredAt: when("20") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, b.id, "e5", { type: "quote.sent", occurredAt: when("10") }))
          const count = (types: Array<string>, since: string | undefined, until: string) =>
            s.events.count(ws, { contactId: a.id, types, since: since === undefined ? undefined : when(since), until: when(until) })
          expect(yield* count(["quote.sent"], undefined, "31")).toBe(3)
          expect(yield* count(["quote.sent"], "01", "10")).toBe(1)
          expect(yield* count(["quote.sent", "email.opened"], undefined, "10")).toBe(3)
          expect(yield* count([], undefined, "31")).toBe(0)
          expect(yield* s.events.count(ws, { contactId: a.id, types: ["quote.sent"] })).toBe(3)
        }))

      test("times lists when a contact's events of the given types occurred, earliest first, in the window", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          const when = (d: string) => at(`2025-05-${d}T12:00:00.000Z`)
          yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "t3", { type: "quote.sent", occurredAt: when("20") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "t1", { type: "quote.sent", occurredAt: when("01") }))
          yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "t2", { type: "email.opened", occurredAt: when("10") }))
          const iso = (ts: ReadonlyArray<DateTime.Utc>) => ts.map((t) => DateTime.formatIso(t).slice(0, 10))
          expect(iso(yield* s.events.times(ws, { contactId: c.id, types: ["quote.sent", "email.opened"] }))).toEqual(["2025-05-01", "2025-05-10", "2025-05-20"])
          expect(iso(yield* s.events.times(ws, { contactId: c.id, types: ["quote.sent"], since: when("01"), until: when("20") }))).toEqual(["2025-05-20"])
          expect(yield* s.events.times(ws, { contactId: c.id, types: [] })).toEqual([])
        }))
    })

    describe("orders", () => {
      test("insert stores an order once and it reads back with its lines", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          const o = Fixtures.order(ws, c.id, "o-1")
          expect(yield* s.orders.insert(o)).toBe(true)
          expect(yield* s.orders.insert(Fixtures.order(ws, c.id, "o-1", { totalMinor: 1 }))).toBe(false)
          const stored = yield* s.orders.forContact(ws, c.id, { limit: 10 })
          expect(stored.map((x) => [x.id, x.totalMinor])).toEqual([[o.id, o.totalMinor]])
          expect(stored[0]?.lines).toEqual(o.lines)
        }))

      test("count counts a contact's orders placed in the window", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          for (const [id, day] of [["o1", "01"], ["o2", "15"], ["o3", "28"]] as const) {
            yield* s.orders.insert(Fixtures.order(ws, c.id, id, { placedAt: at(`2025-02-${day}T08:00:00.000Z`) }))
          }
          expect(yield* s.orders.count(ws, { contactId: c.id, until: at("2025-02-28T08:00:00.000Z") })).toBe(3)
          expect(yield* s.orders.count(ws, { contactId: c.id, since: at("2025-02-01T08:00:00.000Z"), until: at("2025-02-27T00:00:00.000Z") })).toBe(1)
          expect(yield* s.orders.count(ws, { contactId: c.id, since: at("2025-02-01T08:00:00.000Z") })).toBe(2)
          const iso = (ts: ReadonlyArray<DateTime.Utc>) => ts.map((t) => DateTime.formatIso(t).slice(0, 10))
          expect(iso(yield* s.orders.times(ws, { contactId: c.id }))).toEqual(["2025-02-01", "2025-02-15", "2025-02-28"])
          expect(iso(yield* s.orders.times(ws, { contactId: c.id, until: at("2025-02-15T08:00:00.000Z") }))).toEqual(["2025-02-01", "2025-02-15"])
        }))
    })

    describe("transactions", () => {
      test("a failing transaction leaves none of its writes", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          const error = yield* failure(
            s.transaction(
              Effect.gen(function* () {
                yield* s.contacts.insertMany([c])
                yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, c.id))
                yield* s.events.insert(Fixtures.storedEvent(ws, c.id, "tx-1"))
                yield* s.orders.insert(Fixtures.order(ws, c.id, "tx-o"))
                yield* s.uniqueValues.set(ws, "contact", c.id, "code", "A")
                return yield* Effect.fail("boom" as const)
              })
            )
          )
          expect(error).toBe("boom")
          expect(Option.isNone(yield* s.contacts.get(ws, c.id))).toBe(true)
          expect(yield* s.timeline.list(ws, { limit: 10 })).toEqual([])
          expect(Option.isNone(yield* s.events.get(ws, Ids.EventId.make("tx-1")))).toBe(true)
          expect(yield* s.orders.forContact(ws, c.id, { limit: 10 })).toEqual([])
          expect(Option.isNone(yield* s.uniqueValues.find(ws, "contact", "code", "A"))).toBe(true)
        }))

      test("a Conflict inside a transaction rolls back the writes before it", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const email = Fixtures.email("taken@example.com")
          yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { email })])
          const before = yield* Fixtures.contact(ws)
          const error = yield* failure(
            s.transaction(
              Effect.gen(function* () {
                yield* s.contacts.insertMany([before])
                yield* s.contacts.insertMany([yield* Fixtures.contact(ws, { email })])
              })
            )
          )
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique" })
          expect(Option.isNone(yield* s.contacts.get(ws, before.id))).toBe(true)
        }))

      test("a committed transaction keeps all its writes", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          yield* s.transaction(
            Effect.gen(function* () {
              yield* s.contacts.insertMany([c])
              yield* s.timeline.append(yield* Fixtures.timelineEntry(ws, c.id))
            })
          )
          expect(Option.isSome(yield* s.contacts.get(ws, c.id))).toBe(true)
          expect((yield* s.timeline.list(ws, { limit: 10 })).length).toBe(1)
        }))

      test("a failed nested transaction is undone alone when the outer one recovers", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const outer = yield* Fixtures.contact(ws)
          const inner = yield* Fixtures.contact(ws)
          yield* s.transaction(
            Effect.gen(function* () {
              yield* s.contacts.insertMany([outer])
              yield* Effect.ignore(
                s.transaction(Effect.zipRight(s.contacts.insertMany([inner]), Effect.fail("inner failed")))
              )
            })
          )
          expect(Option.isSome(yield* s.contacts.get(ws, outer.id))).toBe(true)
          expect(Option.isNone(yield* s.contacts.get(ws, inner.id))).toBe(true)
        }))

      test("a defect inside a transaction rolls it back", () =>
        Effect.gen(function* () {
          const s = yield* store
          const ws = Fixtures.freshWorkspaceId()
          const c = yield* Fixtures.contact(ws)
          yield* Effect.exit(s.transaction(Effect.zipRight(s.contacts.insertMany([c]), Effect.die(new Error("bug")))))
          expect(Option.isNone(yield* s.contacts.get(ws, c.id))).toBe(true)
        }))
    })

    describe("workspace isolation", () => {
      test("two workspaces with the same email never see each other's data", () =>
        Effect.gen(function* () {
          const s = yield* store
          const [wa, wb] = [Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId()]
          const email = Fixtures.email("same@example.com")
          const a = yield* Fixtures.contact(wa, { email, firstName: "A" })
          const b = yield* Fixtures.contact(wb, { email, firstName: "B" })
          yield* s.contacts.insertMany([a])
          yield* s.contacts.insertMany([b])
          yield* s.timeline.append(yield* Fixtures.timelineEntry(wa, a.id))
          yield* s.events.insert(Fixtures.storedEvent(wa, a.id, "shared-id"))
          yield* s.events.insert(Fixtures.storedEvent(wb, b.id, "shared-id", { type: "email.opened" }))
          yield* s.orders.insert(Fixtures.order(wa, a.id, "shared-order"))
          yield* s.uniqueValues.set(wa, "contact", a.id, "code", "X")
          yield* s.fieldDefinitions.insert(Fixtures.fieldDefinition(wa, "code"))

          expect(Option.map(yield* s.contacts.findByEmail(wb, "same@example.com"), (c) => c.firstName)).toEqual(Option.some("B"))
          expect(Option.isNone(yield* s.contacts.get(wb, a.id))).toBe(true)
          expect((yield* s.contacts.list(wb, { limit: 10 })).map((c) => c.id)).toEqual([b.id])
          expect(yield* s.contacts.countByStage(wb)).toEqual([{ stage: "suspect", count: 1 }])
          expect(yield* s.timeline.list(wb, { limit: 10 })).toEqual([])
          expect(Option.map(yield* s.events.get(wb, Ids.EventId.make("shared-id")), (e) => e.type)).toEqual(Option.some("email.opened"))
          expect(yield* s.orders.forContact(wb, a.id, { limit: 10 })).toEqual([])
          expect(yield* s.orders.count(wb, { contactId: a.id, until: at("2100-01-01T00:00:00.000Z") })).toBe(0)
          expect(Option.isNone(yield* s.uniqueValues.find(wb, "contact", "code", "X"))).toBe(true)
          expect(yield* s.fieldDefinitions.list(wb)).toEqual([])
          expect(yield* s.contacts.remove(wb, a.id)).toBe(false)
          expect(Option.isSome(yield* s.contacts.get(wa, a.id))).toBe(true)
          expect(yield* s.customFields.purge(wb, "contact", "code", at("2025-01-01T00:00:00.000Z"))).toBe(0)
        }))

      test("through the services: the same email in two workspaces makes two separate contacts", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const [wa, wb] = [Fixtures.freshWorkspaceId(), Fixtures.freshWorkspaceId()]
          const inA = <A, E, R>(e: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(wa)(e)
          const inB = <A, E, R>(e: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(wb)(e)
          const a = yield* inA(crm.contacts.create({ email: "same@example.com", firstName: "A" }))
          const b = yield* inB(crm.contacts.create({ email: "Same@Example.com", firstName: "B" }))
          expect(a.id).not.toBe(b.id)
          const line = { sku: "A", name: "Thing", quantity: 1, unitPrice: { amountMinor: 1000, currency: "EUR" } }
          yield* inA(crm.events.emit({ id: "order-1", type: "order.placed", email: "same@example.com", payload: { orderId: "o-1", lines: [line] } }))
          const inBAfter = yield* inB(crm.contacts.get(b.id))
          expect(inBAfter.stage).toBe("suspect")
          expect((yield* inA(crm.contacts.get(a.id))).stage).toBe("customer")
          expect((yield* inB(crm.timeline.list(b.id))).items.map((e) => e.kind)).toEqual(["event"])
          expect(yield* failure(inB(crm.contacts.get(a.id)))).toMatchObject({ _tag: "NotFound" })
          const emitted = yield* inB(crm.events.emit({ id: "order-1", type: "order.placed", email: "same@example.com", payload: { orderId: "o-1", lines: [line] } }))
          expect(emitted.duplicate).toBe(false)
        }))
    })

    describe("concurrent callers", () => {
      const order = (id: string, email: string, day = "01") => ({
        id,
        type: "order.placed",
        email,
        occurredAt: `2025-03-${day}T10:00:00Z`,
        payload: { orderId: id, lines: [{ sku: "A", name: "Thing", quantity: 1, unitPrice: { amountMinor: 1000, currency: "EUR" } }] }
      })

      test("events naming the same new email at once make one contact and each is recorded", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          const results = yield* Effect.all(
            Array.from({ length: 6 }, (_, i) => run(crm.events.emit({ id: `visit-${i}`, type: "page.viewed", email: "new@example.com", payload: { url: `/p${i}` } }))),
            { concurrency: "unbounded" }
          )
          expect(new Set(results.map((r) => r.contact?.id)).size).toBe(1)
          expect(results.filter((r) => r.contactCreated).length).toBe(1)
          const contact = results[0]!.contact!
          expect((yield* run(crm.timeline.list(contact.id, { kinds: ["event"] }))).items.length).toBe(7)
        }))

      test("events of one contact at once all land, none failing on the contact's version", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          const c = yield* run(crm.contacts.create({ email: "buyer@example.com" }))
          yield* Effect.all(
            Array.from({ length: 5 }, (_, i) => run(crm.events.emit(order(`o${i}`, "buyer@example.com", `0${i + 1}`)))),
            { concurrency: "unbounded" }
          )
          const after = yield* run(crm.contacts.get(c.id))
          expect(after.stage).toBe("fan")
          expect((yield* run(crm.lifecycle.history(c.id))).map((h) => h.to).at(-1)).toBe("fan")
        }))

      test("the same event id emitted at once is processed exactly once", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { ws, run } = freshWorkspace()
          const results = yield* Effect.all(
            Array.from({ length: 5 }, () => run(crm.events.emit(order("same-id", "once@example.com")))),
            { concurrency: "unbounded" }
          )
          expect(results.filter((r) => !r.duplicate).length).toBe(1)
          const storage = yield* store
          expect(yield* storage.orders.count(ws, { contactId: results[0]!.event.contactId })).toBe(1)
        }))

      test("two updates from the same version at once: one wins, the other gets a version Conflict", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          const c = yield* run(crm.contacts.create({ email: "twice@example.com" }))
          const results = yield* Effect.all(
            ["A", "B"].map((name) => Effect.either(run(crm.contacts.update(c.id, { expectedVersion: c.version, lastName: name })))),
            { concurrency: "unbounded" }
          )
          expect(results.filter(Either.isRight).length).toBe(1)
          expect(results.filter(Either.isLeft).map((r) => (r as Either.Left<{ reason: string }, unknown>).left.reason)).toEqual(["version"])
        }))

      test("a field turning unique while records are written never lets two share a value", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const seen = { madeUnique: 0, refused: 0 }
          for (let round = 0; round < 6; round++) {
            const { run } = freshWorkspace()
            yield* run(crm.fields.define({ entity: "company", key: "vat", type: "text" }))
            yield* run(crm.companies.create({ name: "A", fields: { vat: "FR1" } }))
            const creates = Effect.all(
              Array.from({ length: 4 }, (_, i) => Effect.either(run(crm.companies.create({ name: `B${i}`, fields: { vat: "fr1" } })))),
              { concurrency: "unbounded" }
            )
            const [created, updated] = yield* race(creates, Effect.either(run(crm.fields.update("company", "vat", { unique: true }))), round)
            const unique = (yield* run(crm.fields.get("company", "vat"))).unique
            const state = { update: outcomeOf(updated), unique, creates: created.map(outcomeOf), companies: (yield* run(crm.companies.list())).items.length }
            // Unique, and every company sharing the value refused; or refused, because one shares it.
            expect(state).toEqual(
              unique
                ? { update: "ok", unique, creates: ["Conflict:unique", "Conflict:unique", "Conflict:unique", "Conflict:unique"], companies: 1 }
                : { update: "Conflict:existingValues", unique, creates: ["ok", "ok", "ok", "ok"], companies: 5 }
            )
            seen[unique ? "madeUnique" : "refused"]++
          }
          expect(seen.madeUnique).toBeGreaterThan(0)
          expect(seen.refused).toBeGreaterThan(0)
        }))

      test("an event racing a bulk creation or an update of its email is recorded, never refused", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const seen = { batchStored: 0, batchRefused: 0, moved: 0, moveRefused: 0 }
          for (let round = 0; round < 6; round++) {
            const { ws, run } = freshWorkspace()
            const visit = (email: string, id: string) => run(crm.events.emit({ id, type: "page.viewed", email, payload: { url: "/" } }))
            const holder = (email: string) => Effect.map(run(crm.contacts.findByEmail(email)), Option.map((c) => c.id))
            const batch = Array.from({ length: 50 }, (_, i) => ({ email: `batch${i}@example.com` }))
            const [created, first] = yield* race(Effect.either(run(crm.contacts.createMany(batch))), visit("batch25@example.com", "v1"), round)
            // The event is on the contact holding its email: the batch's, or the one it made (and then the batch is refused whole).
            expect({ created: outcomeOf(created), on: first.event.contactId, contacts: yield* contactCount(ws) }).toEqual(
              Either.isRight(created)
                ? { created: "ok", on: created.right[25]!.id, contacts: 50 }
                : { created: "Conflict:unique", on: Option.getOrThrow(yield* holder("batch25@example.com")), contacts: 1 }
            )
            seen[Either.isRight(created) ? "batchStored" : "batchRefused"]++

            const mover = yield* run(crm.contacts.create({ email: "before@example.com" }))
            const [moved, second] = yield* race(
              Effect.either(run(crm.contacts.update(mover.id, { expectedVersion: mover.version, email: "after@example.com" }))),
              visit("after@example.com", "v2"),
              round
            )
            // Moved, and the event is on the mover; or refused, and the event made the holder of the new email.
            expect({ moved: outcomeOf(moved), on: second.event.contactId, holder: yield* holder("after@example.com"), mover: (yield* run(crm.contacts.get(mover.id))).email }).toEqual(
              Either.isRight(moved)
                ? { moved: "ok", on: mover.id, holder: Option.some(mover.id), mover: "after@example.com" }
                : { moved: "Conflict:unique", on: second.event.contactId, holder: Option.some(second.event.contactId), mover: "before@example.com" }
            )
            seen[Either.isRight(moved) ? "moved" : "moveRefused"]++
          }
          expect(Object.values(seen).every((n) => n > 0), JSON.stringify(seen)).toBe(true)
        }))

      test("two batches sharing emails at once: one is created, the other gets a Conflict (never a storage failure)", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { ws, run } = freshWorkspace()
          const emails = Array.from({ length: 1100 }, (_, i) => ({ email: `shared${i}@example.com` }))
          const results = yield* Effect.all([Effect.either(run(crm.contacts.createMany(emails))), Effect.either(run(crm.contacts.createMany([...emails].reverse())))], {
            concurrency: "unbounded"
          })
          const failures = results.flatMap((r) => (Either.isLeft(r) ? [r.left] : []))
          expect(failures.length).toBe(1)
          expect(failures[0]).toMatchObject({ _tag: "Conflict", reason: "unique" })
          // The winner whole, nothing of the loser (a list would stop at 500 of the 1,100).
          expect(yield* contactCount(ws)).toBe(1100)
        }))

      test("a company removed while a contact joins it never leaves a contact pointing nowhere", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const seen = { joined: 0, removed: 0 }
          for (let round = 0; round < 6; round++) {
            const { run } = freshWorkspace()
            const firm = yield* run(crm.companies.create({ name: "Going" }))
            const [joined, removed] = yield* race(
              Effect.either(run(crm.contacts.create({ firstName: "joiner", companyId: firm.id }))),
              Effect.either(run(crm.companies.remove(firm.id))),
              round
            )
            const state = {
              joined: outcomeOf(joined),
              removed: outcomeOf(removed),
              company: outcomeOf(yield* Effect.either(run(crm.companies.get(firm.id)))),
              members: (yield* run(crm.contacts.list({ companyId: firm.id }))).items.length
            }
            // Joined, and the removal refused while it has a member; or removed, and the joiner refused.
            expect(state).toEqual(
              Either.isRight(joined)
                ? { joined: "ok", removed: "Conflict:inUse", company: "ok", members: 1 }
                : { joined: "ValidationError", removed: "ok", company: "NotFound", members: 0 }
            )
            seen[Either.isRight(joined) ? "joined" : "removed"]++
          }
          expect(seen.joined).toBeGreaterThan(0)
          expect(seen.removed).toBeGreaterThan(0)
        }))
    })

    salesSuite(test)

    analyticsSuite(test)

    rulesSuite(test)

    mergeSuite(test)

    identitiesSuite(test)

    accessSuite(test)
    webhooksOutSuite(test)

    historySuite(test)

    importsSuite(test)

    ordersSuite(test)

    consentSuite(test)

    setupKeysSuite(test)

    templateLocalesSuite(test)

    snapshotsSuite(test)

    segmentsSuite(test)

    campaignsSuite(test)

    describe("services on this storage", () => {
      test("contacts.update with a stale version fails with Conflict and changes nothing", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          const ada = yield* run(crm.contacts.create({ email: "ada@example.com", firstName: "Ada" }))
          yield* run(crm.contacts.update(ada.id, { expectedVersion: ada.version, lastName: "Lovelace" }))
          const error = yield* failure(run(crm.contacts.update(ada.id, { expectedVersion: ada.version, lastName: "Byron" })))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "version" })
          expect((yield* run(crm.contacts.get(ada.id))).lastName).toBe("Lovelace")
        }))

      test("bad input fails with ValidationError naming each field and stores nothing", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          yield* run(crm.fields.define({ key: "employees", type: "integer" }))
          const error = yield* failure(
            run(crm.contacts.create({ email: "not-an-email", fields: { employees: "many", "x'); DROP TABLE rapport_contacts; --": 1 } }))
          )
          expect(error._tag).toBe("ValidationError")
          const paths = (error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))
          expect(paths).toContain("email")
          const fieldError = yield* failure(run(crm.contacts.create({ email: "ok@example.com", fields: { employees: "many", "x'); DROP TABLE rapport_contacts; --": 1 } })))
          const fieldPaths = (fieldError as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))
          expect(fieldPaths).toEqual(expect.arrayContaining(["fields.employees", "fields.x'); DROP TABLE rapport_contacts; --"]))
          expect((yield* run(crm.contacts.list())).items).toEqual([])
        }))

      test("events: the same id twice has the effect of once; orders are kept; the lifecycle moves", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { ws, run } = freshWorkspace()
          const line = { sku: "RED-SHOE", name: "Red shoe", quantity: 2, unitPrice: { amountMinor: 4990, currency: "EUR" } }
          const emit = (id: string, orderId: string) =>
            run(crm.events.emit({ id, type: "order.placed", email: "shopper@example.com", payload: { orderId, lines: [line] } }))
          const first = yield* emit("evt-1", "o-1")
          expect([first.contactCreated, first.contact?.stage, first.stageChange?.to]).toEqual([true, "customer", "customer"])
          const again = yield* emit("evt-1", "o-1")
          expect(again.duplicate).toBe(true)
          const second = yield* emit("evt-2", "o-2")
          expect(second.contact?.stage).toBe("loyal")
          const storage = yield* store
          expect(yield* storage.orders.count(ws, { contactId: first.contact!.id, until: at("2100-01-01T00:00:00.000Z") })).toBe(2)
          const history = yield* run(crm.lifecycle.history(first.contact!.id))
          expect(history.map((h) => `${h.from}->${h.to}`)).toEqual(["suspect->customer", "customer->loyal"])
        }))

      test("createMany joins hundreds of companies at once and names the unknown ones", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const storage = yield* store
          const { ws, run } = freshWorkspace()
          const firms = yield* Effect.forEach(Array.from({ length: 620 }, (_, i) => i), () => Fixtures.company(ws))
          for (const firm of firms) yield* storage.companies.insert(firm)
          const created = yield* run(crm.contacts.createMany(firms.map((f, i) => ({ firstName: `member ${i}`, companyId: f.id }))))
          expect(created.length).toBe(620)
          const unknown = "018f0000-0000-7000-8000-000000000000"
          const error = yield* failure(run(crm.contacts.createMany([{ firstName: "a", companyId: firms[0]!.id }, { firstName: "b", companyId: unknown }])))
          expect((error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))).toEqual(["[1].companyId"])
        }))

      test("createMany creates every contact with its creation record, or none, naming each bad item", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { ws, run } = freshWorkspace()
          yield* run(crm.fields.define({ key: "customerNo", type: "text", unique: true }))
          const inputs = Array.from({ length: 1500 }, (_, i) => ({ email: `lead${i}@example.com`, firstName: `Lead ${i}`, source: { channel: "import" }, fields: { customerNo: `C-${i}` } }))
          const created = yield* run(crm.contacts.createMany(inputs))
          expect(created.map((c) => c.email)).toEqual(inputs.map((i) => i.email))
          expect((yield* run(crm.timeline.list(created[7]!.id))).items.map((e) => e.summary)).toEqual(["Contact created"])

          const invalid = yield* failure(run(crm.contacts.createMany([{ email: "ok@example.com" }, { email: "bad" }, { firstName: "x", fields: { customerNo: 5 } }])))
          expect((invalid as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))).toEqual(["[1].email", "[2].fields.customerNo"])
          const twice = yield* failure(run(crm.contacts.createMany([{ email: "dup@example.com" }, { email: "DUP@example.com" }])))
          expect((twice as Errors.ValidationError).issues.map((i) => [Errors.formatPath(i.path), i.message])).toEqual([["[1].email", "is also the email of item [0] in this batch"]])
          const taken = yield* failure(run(crm.contacts.createMany([{ email: "new@example.com" }, { email: "lead3@example.com" }])))
          expect(taken).toMatchObject({ _tag: "Conflict", reason: "unique", field: "[1].email", existingId: created[3]!.id })
          const takenNo = yield* failure(run(crm.contacts.createMany([{ firstName: "y", fields: { customerNo: "c-9" } }])))
          expect(takenNo).toMatchObject({ _tag: "Conflict", field: "fields.customerNo", existingId: created[9]!.id })
          // The first batch whole, nothing of the refused ones (a list would stop at 500 of the 1,500).
          expect(yield* contactCount(ws)).toBe(1500)
          expect(Option.isNone(yield* run(crm.contacts.findByEmail("new@example.com")))).toBe(true)
        }))

      test("a required field blocks entry into its stage until it is filled", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          yield* run(crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } }))
          const c = yield* run(crm.contacts.create({ email: "b2b@example.com" }))
          const refused = yield* failure(run(crm.lifecycle.move(c.id, "customer", { reason: "signed" })))
          expect(refused).toMatchObject({ _tag: "InvalidTransition", reason: "missingFields", missingFields: ["siret"] })
          expect((yield* run(crm.contacts.get(c.id))).stage).toBe("suspect")
          const filled = yield* run(crm.contacts.update(c.id, { expectedVersion: c.version, fields: { siret: "12345678900012" } }))
          const moved = yield* run(crm.lifecycle.move(c.id, "customer", { reason: "signed", expectedVersion: filled.version }))
          expect(moved.stage).toBe("customer")
        }))

      test("changing a field definition that stored values violate is refused with the count", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          yield* run(crm.fields.define({ key: "size", type: "select", options: ["S", "M", "L"] }))
          for (const size of ["S", "M", "M"]) yield* run(crm.contacts.create({ firstName: size, fields: { size } }))
          const error = yield* failure(run(crm.fields.update("contact", "size", { options: ["S", "L"] })))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "existingValues", affected: 2 })
          expect((yield* run(crm.fields.get("contact", "size"))).options.map((o) => o.value)).toEqual(["S", "M", "L"])
        }))

      test("a unique custom field refuses a second record with the same value, case-insensitively", () =>
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          const { run } = freshWorkspace()
          yield* run(crm.fields.define({ key: "customerNo", type: "text", unique: true }))
          const first = yield* run(crm.contacts.create({ firstName: "One", fields: { customerNo: "C-001" } }))
          const error = yield* failure(run(crm.contacts.create({ firstName: "Two", fields: { customerNo: "c-001" } })))
          expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", existingId: first.id })
          expect((yield* run(crm.contacts.list())).items.length).toBe(1)
          yield* run(crm.contacts.remove(first.id))
          yield* run(crm.contacts.create({ firstName: "Two", fields: { customerNo: "c-001" } }))
        }))
    })
  })
}
