/**
 * The hostile-input suite: every public write of the Promise client, called with hostile values
 * (JSON nested past the depth limit, a cycle, bigints, NUL, lone surrogates, huge numbers, -0,
 * NaN, impossible instants, CR/LF and other controls, strings past every length limit,
 * `__proto__` keys, wrong types) injected at random places of a valid input. Each call must either
 * succeed, and then read back exactly what it returned, or reject with a `RapportError` whose
 * code says the input was refused, and then leave every table of the workspace as it was (a
 * digest of each table's rows is compared before and after). Run it from an adapter's test file
 * with a layer that provides Rapport's `Storage` and `@effect/sql`'s `SqlClient`, as the
 * dialects' `layer(config)` do.
 *
 * @example
 * ```ts
 * // test/hostile.test.ts of a storage adapter
 * import { hostileInputSuite } from "@rapport/testing/contract"
 * import { SqliteStorage } from "@rapport/sqlite"
 *
 * hostileInputSuite(SqliteStorage.layer({ filename: "hostile.db" }), { name: "sqlite" })
 * ```
 *
 * @since 0.4.0
 */
import {
  type CompanyCreate,
  type CompanyJson,
  type CompanyUpdate,
  type ConsentChange,
  type ConsentRequest,
  type MailFeedback,
  type ContactCreate,
  type ContactJson,
  type ContactMergeOptions,
  type ContactUpdate,
  type ContactUpsert,
  createCrm,
  type CrmClient,
  type DealCreate,
  type DealJson,
  type DealTransition,
  type DealUpdate,
  type DispatchOptions,
  type EmitInput,
  type ErrorCode,
  type FieldDefinitionChanges,
  type FieldDefinitionInput,
  type FieldDefinitionJson,
  type FieldEntity,
  type FollowUpInput,
  type JobJson,
  type LifecycleConfiguration,
  Mailers,
  type MoveOptions,
  type PipelineCreate,
  type PipelineJson,
  type PipelineUpdate,
  RapportError,
  type RemoveContactOptions,
  type RemoveFieldOptions,
  type RuleCreate,
  type RuleJson,
  type RuleUpdate,
  type SalesSettingsChanges,
  type SendQuoteOptions,
  type SetupDeclaration,
  Storage,
  type TaskCreate,
  type TaskJson,
  type TaskTransition,
  type TaskUpdate,
  type TemplateCreate,
  type CampaignCreate,
  type TemplateJson,
  type TemplateUpdate,
  type TemplateVariantInput,
  type TimelineLog,
  type WorkspaceChanges
} from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createHash, randomUUID } from "node:crypto"

/**
 * @since 0.4.0
 * @category models
 */
export interface HostileInputSuiteOptions {
  /** The adapter's name, shown in the suite's title. */
  readonly name?: string | undefined
  /** Random inputs tried per write (default 8; each in a fresh workspace). */
  readonly numRuns?: number | undefined
  /** The fast-check seed, to replay a failure (printed with it). */
  readonly seed?: number | undefined
  /** How long building the layer, and each write's runs, may take (default 60 seconds). */
  readonly timeout?: number | undefined
}

// ---------------------------------------------------------------------------------------------
// Outcomes

// Every documented code, and whether it is an acceptable answer to hostile input. An internal
// error is a bug; a storage error means bad input reached the database; the others cannot come
// from a refused input here (the mailer captures, the client is open, nothing is imported).
const refusal: Record<ErrorCode, boolean> = {
  VALIDATION_FAILED: true,
  NOT_FOUND: true,
  VERSION_CONFLICT: true,
  ALREADY_EXISTS: true,
  IN_USE: true,
  DEFINITION_CONFLICT: true,
  INVALID_TRANSITION: true,
  STORAGE_UNAVAILABLE: false,
  STORAGE_FAILED: false,
  MAIL_REJECTED: false,
  MAIL_UNAVAILABLE: false,
  CLIENT_CLOSED: false,
  UNSUPPORTED_EFFECT: false,
  INTERNAL_ERROR: false,
  UNAUTHENTICATED: true,
  WEBHOOK_REJECTED: true,
  IMPORT_UNREADABLE: false,
  IMPORT_EMPTY: false,
  IMPORT_UNSUPPORTED: false,
  IMPORT_STORAGE: false,
  EXPORT_SOURCE: false,
  EXPORT_OPTIONS: false,
  EXPORT_WRITE: false
}

/** The code a call rejected with, or `null` when it resolved (for read-backs of removals). */
const codeOf = (call: Promise<unknown>): Promise<string | null> =>
  call.then(
    () => null,
    (error: unknown) => (error instanceof RapportError ? error.code : `not a RapportError: ${String(error)}`)
  )

// ---------------------------------------------------------------------------------------------
// Hostile values

/** A hostile value: made afresh for each call (cycles and objects are mutated by injection). */
class Hostile {
  constructor(readonly label: string, readonly make: () => unknown) {}
  [FastCheck.toStringMethod](): string {
    return this.label
  }
}

const nested = (depth: number): unknown => {
  let value: unknown = "leaf"
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value]
  return value
}

const cycle = (): unknown => {
  const value: Record<string, unknown> = { name: "loop" }
  value["self"] = value
  return value
}

/** An object whose own key is `key` (assignment would set the prototype for `__proto__`). */
const withOwn = (key: string, value: unknown): Record<string, unknown> => {
  const object: Record<string, unknown> = {}
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
  return object
}

// Impossible instants, and the edges of the range instants may take (0001–9999).
const instants = [
  "2025-02-30T10:00:00Z",
  "2025-02-28T24:00:00Z",
  "+010000-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "2025-13-01T00:00:00Z",
  "2025-02-28T10:00:00+24:00",
  "0001-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "9999-12-31T23:59:59-23:59"
]
const controls = ["line\r\nbreak", "a\nb", "\r", "tab\there", "bell\u0007", "esc\u001b[31m", "del\u007f", "nel\u0085", "ls\u2028ps\u2029", "nul\u0000byte", "\u0000"]
const surrogates = ["\uD800", "a\uDC00b", "x\uDBFF", "\uDFFF\uD800"]
const numbers: ReadonlyArray<readonly [string, number]> = [
  ["1e308", 1e308],
  ["2**53+1", 2 ** 53 + 1],
  ["-0", -0],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["-1", -1],
  ["0.5", 0.5],
  ["5e-324", 5e-324]
]
// Past each limit the Schemas set (35, 40, 100, 200, 300, 500, 998, 2,000 characters…) and far past.
const lengths = [36, 41, 65, 101, 201, 301, 501, 999, 2_001, 5_001, 100_001]

const fromConstants = (values: ReadonlyArray<readonly [string, () => unknown]>) =>
  FastCheck.constantFrom(...values).map(([label, make]) => new Hostile(label, make))
const text = (s: string) => [JSON.stringify(s), () => s] as const

// Text is where most limits are, so most hostile values are strings.
const hostileValue: FastCheck.Arbitrary<Hostile> = FastCheck.oneof(
  { weight: 4, arbitrary: fromConstants([...controls, ...surrogates].map(text)) },
  {
    weight: 2,
    arbitrary: FastCheck.tuple(FastCheck.string({ maxLength: 8 }), FastCheck.constantFrom(...controls, ...surrogates)).map(([around, bad]) => {
      const value = around + bad + around
      return new Hostile(JSON.stringify(value), () => value)
    })
  },
  {
    weight: 2,
    arbitrary: FastCheck.tuple(FastCheck.constantFrom(...lengths), FastCheck.constantFrom("a", "é", "🙂", "a@b.example ")).map(
      ([n, unit]) => new Hostile(`${JSON.stringify(unit)} × ${n}`, () => unit.repeat(n))
    )
  },
  { weight: 2, arbitrary: fromConstants(instants.map(text)) },
  { weight: 2, arbitrary: fromConstants(numbers.map(([label, n]) => [label, () => n] as const)) },
  { weight: 1, arbitrary: fromConstants([0n, 1n, -1n, 2n ** 64n, 10n ** 30n].map((n) => [`${n}n`, () => n] as const)) },
  { weight: 1, arbitrary: FastCheck.integer({ min: 65, max: 5_000 }).map((depth) => new Hostile(`nested ${depth} levels`, () => nested(depth))) },
  { weight: 1, arbitrary: FastCheck.constant(new Hostile("a cycle", cycle)) },
  {
    weight: 1,
    arbitrary: fromConstants(
      ["__proto__", "constructor", "prototype"].map((key) => [`{ ${key}: { polluted: true } }`, () => withOwn(key, { polluted: true, prototype: { polluted: true } })] as const)
    )
  },
  {
    weight: 2,
    arbitrary: fromConstants([
      ["true", () => true],
      ["null", () => null],
      ["undefined", () => undefined],
      ['""', () => ""],
      ["[]", () => []],
      ["{}", () => ({})],
      ['[1, "a"]', () => [1, "a"]],
      ["a Date", () => new Date("2025-01-01T00:00:00Z")],
      ["an invalid Date", () => new Date(Number.NaN)],
      ["a Symbol", () => Symbol("hostile")],
      ["a function", () => () => "hostile"],
      ["a Map", () => new Map([["a", 1]])],
      ["an Uint8Array", () => new Uint8Array([0, 255])]
    ])
  }
)

/**
 * Where a hostile value goes: `path` picks a child at each level (modulo their number) from the
 * call's arguments down; the value replaces what is there, or with `key` is added under that key
 * when what is there is an object.
 */
class Injection {
  constructor(readonly path: ReadonlyArray<number>, readonly key: string | null, readonly value: Hostile) {}
  [FastCheck.toStringMethod](): string {
    return `${this.key === null ? "replace" : `add key ${JSON.stringify(this.key)} at`} [${this.path.join(", ")}] with ${this.value.label}`
  }
}

const injection: FastCheck.Arbitrary<Injection> = FastCheck.tuple(
  // Short paths as often as long ones: whole arguments and options get replaced too.
  FastCheck.oneof(FastCheck.array(FastCheck.nat(), { minLength: 1, maxLength: 2 }), FastCheck.array(FastCheck.nat(), { minLength: 3, maxLength: 6 })),
  FastCheck.option(FastCheck.constantFrom("__proto__", "constructor", "toString", "", "extra", "fields", "id", "workspaceId", "version"), {
    nil: null,
    freq: 3
  }),
  hostileValue
).map(([path, key, value]) => new Injection(path, key, value))

type Container = Record<string, unknown> | Array<unknown>
const isContainer = (value: unknown): value is Container => typeof value === "object" && value !== null && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)
const isPlainObject = (value: unknown): value is Record<string, unknown> => isContainer(value) && !Array.isArray(value)
const setOwn = (container: Container, key: string, value: unknown) =>
  Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true })

/** Puts the injection's value into the arguments (changed in place); returns where it went. */
const inject = (args: Array<unknown>, at: Injection): string => {
  let container: Container = args
  const trail: Array<string> = []
  for (const [depth, step] of at.path.entries()) {
    const keys = Object.keys(container)
    if (keys.length === 0) break
    const key = keys[step % keys.length]!
    trail.push(key)
    const child: unknown = Reflect.get(container, key)
    if (depth === at.path.length - 1 || !isContainer(child) || Object.keys(child).length === 0) {
      if (at.key !== null && isPlainObject(child)) {
        setOwn(child, at.key, at.value.make())
        trail.push(at.key)
      } else {
        setOwn(container, key, at.value.make())
      }
      return trail.join(".")
    }
    container = child
  }
  return trail.join(".")
}

// ---------------------------------------------------------------------------------------------
// Records the writes need, made on demand in the run's workspace

const once = <A>(make: () => Promise<A>): (() => Promise<A>) => {
  let made: Promise<A> | undefined
  return () => (made ??= make())
}

interface Seed {
  readonly crm: CrmClient
  /** A contact with a custom field value (and the field `badge`). */
  readonly contact: () => Promise<ContactJson>
  /** A second contact (to merge). */
  readonly other: () => Promise<ContactJson>
  readonly field: () => Promise<FieldDefinitionJson>
  /** A contact field of every other type (see {@link typedValues}). */
  readonly typedFields: () => Promise<void>
  /** A company field `vat` and a deal field `segment` (select). */
  readonly otherFields: () => Promise<void>
  readonly company: () => Promise<CompanyJson>
  /** A pipeline holding no deal. */
  readonly pipeline: () => Promise<PipelineJson>
  readonly deal: () => Promise<DealJson>
  readonly task: () => Promise<TaskJson>
  readonly doneTask: () => Promise<TaskJson>
  readonly template: () => Promise<TemplateJson>
  readonly rule: () => Promise<RuleJson>
  /** A job due now (a rule that tags the contact). */
  readonly dueJob: () => Promise<JobJson>
  /** A skipped job (its contact was deleted before it ran). */
  readonly skippedJob: () => Promise<JobJson>
  /** The contact's unsubscribe token. */
  readonly token: () => Promise<string>
}

const soon = () => new Date(Date.now() + 86_400_000).toISOString()

const seed = (crm: CrmClient): Seed => {
  const field = once(() => crm.fields.define({ key: "badge", type: "text", label: "Badge" }))
  const typedFields = once(async () => {
    await field()
    for (const [key, type] of Object.entries(typedFieldTypes)) {
      await crm.fields.define({ key, type, ...(type === "select" || type === "multiSelect" ? { options: ["s", "m", "l"] } : {}) })
    }
  })
  const otherFields = once(async () => {
    await crm.fields.define({ entity: "company", key: "vat", type: "text", unique: true })
    await crm.fields.define({ entity: "deal", key: "segment", type: "select", options: ["smb", "enterprise"] })
  })
  const contact = once(async () => {
    await field()
    return crm.contacts.create({ email: "ada@example.com", firstName: "Ada", lastName: "Lovelace", tags: ["vip"], fields: { badge: "A-1" } })
  })
  const other = once(() => crm.contacts.create({ email: "ada.l@example.com", firstName: "Ada", phone: "+44 20 7946 0958", tags: ["newsletter"] }))
  const company = once(async () => {
    await otherFields()
    return crm.companies.create({ name: "Analytical Engines", domain: "engines.example" })
  })
  const pipeline = once(() => crm.pipelines.create({ name: "Renewals" }))
  const deal = once(async () => {
    await otherFields()
    return crm.deals.create({ title: "Engine", amount: { amountMinor: 250_000, currency: "EUR" }, contactId: (await contact()).id, quoteRef: "Q-1" })
  })
  const task = once(async () => crm.tasks.create({ title: "Call back", dueAt: soon(), channel: "call", contactId: (await contact()).id }))
  const doneTask = once(async () => crm.tasks.complete((await task()).id))
  const template = once(() => crm.templates.create({ name: "Hello", subject: "Hello {{ contact.firstName }}", text: "Dear {{ contact.firstName }}" }))
  const rule = once(() => crm.rules.create({ id: "tagger", name: "Tagger", on: "demo.requested", actions: [{ type: "addTag", tag: "demo" }] }))
  const jobOf = async (status: JobJson["status"]) => {
    if (status !== "pending") await crm.dispatcher.runDue()
    const job = (await crm.dispatcher.jobs({ status })).items[0]
    if (job === undefined) throw new Error(`the seed made no ${status} job`)
    return job
  }
  const dueJob = once(async () => {
    await rule()
    await crm.events.emit({ type: "demo.requested", contactId: (await contact()).id })
    return jobOf("pending")
  })
  const skippedJob = once(async () => {
    await crm.rules.create({ id: "leaving", name: "Leaving", on: "account.closed", actions: [{ type: "addTag", tag: "former" }] })
    const leaving = await crm.contacts.create({ email: "leaving@example.com" })
    await crm.events.emit({ type: "account.closed", contactId: leaving.id })
    await crm.contacts.remove(leaving.id)
    return jobOf("skipped")
  })
  const token = once(async () => {
    const id = (await contact()).id
    await crm.consent.grant(id, { source: "signup-form" })
    const url = new URL(await crm.consent.unsubscribeUrl(id))
    const token = url.pathname.split("/").pop()
    if (token === undefined || token === "") throw new Error(`no token in ${url.href}`)
    return decodeURIComponent(token)
  })
  return { crm, contact, other, field, typedFields, otherFields, company, pipeline, deal, task, doneTask, template, rule, dueJob, skippedJob, token }
}

// ---------------------------------------------------------------------------------------------
// The writes

/** One public write: a valid call, and what reading back after it succeeded must show. */
interface Write {
  readonly name: string
  /** The arguments of a valid call (made afresh each run). */
  readonly args: (seed: Seed) => Promise<Array<unknown>>
  /** Calls it with (possibly hostile) arguments; resolves with a check to run after success. */
  readonly call: (crm: CrmClient, args: ReadonlyArray<unknown>, seed: Seed) => Promise<() => Promise<void>>
}

/** Pairs of what a call returned and what reading it back gives, compared as JSON. */
type ReadBack = ReadonlyArray<readonly [returned: unknown, stored: unknown]>

const write = <R>(
  name: string,
  args: (seed: Seed) => Promise<Array<unknown>>,
  call: (crm: CrmClient, args: ReadonlyArray<unknown>) => Promise<R>,
  readBack: (crm: CrmClient, result: R, seed: Seed) => Promise<ReadBack>
): Write => ({
  name,
  args,
  call: async (crm, values, seed) => {
    const result = await call(crm, values)
    return async () => {
      for (const [returned, stored] of await readBack(crm, result, seed)) expect(asJson(stored)).toEqual(asJson(returned))
    }
  }
})

const asJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)))

/** The argument as the caller gave it: deliberately anything, the point of this suite. */
const given = <A>(value: unknown): A => value as A
const arg = <A>(values: ReadonlyArray<unknown>, i: number): A => given<A>(values[i])

const at = "2025-01-06T09:00:00.000Z"
// A function: every run injects into a fresh copy (a shared object would carry one run's hostile
// values into the next runs' inputs).
const newContact = () => ({
  email: "grace@example.com",
  firstName: "Grace",
  lastName: "Hopper",
  phone: "+1 202 555 0143",
  emails: [
    { value: "grace@example.com", label: "work" },
    { value: "grace.hopper@navy.example", label: "navy" }
  ],
  phones: [{ value: "+1 202 555 0143", label: "mobile" }, { value: "+1 202 555 0100" }],
  source: { channel: "trade-show", campaign: "spring" },
  firstSeenAt: at,
  tags: ["vip", "navy"],
  ownerId: "owner-1",
  score: 10,
  timezone: "America/New_York"
})
// Custom fields of every type but text (the seed's `badge`), and values that fit them.
const typedFieldTypes = {
  notes: "longText",
  ratio: "number",
  seats: "integer",
  budget: "money",
  vip: "boolean",
  since: "date",
  seenAt: "datetime",
  backup: "email",
  mobile: "phone",
  website: "url",
  size: "select",
  sizes: "multiSelect"
} as const
const typedValues = () => ({
  badge: "G-1",
  notes: "First line\nSecond line",
  ratio: 0.25,
  seats: 12,
  budget: { amountMinor: 150_000, currency: "EUR" },
  vip: true,
  since: "2024-05-01",
  seenAt: at,
  backup: "grace@backup.example",
  mobile: "+1 202 555 0199",
  website: "https://example.com/grace?ref=1",
  size: "m",
  sizes: ["s", "l"]
})
const gone = (code: Promise<string | null>) => code.then((c): ReadBack => [["NOT_FOUND", c]])
const entryOf = async (crm: CrmClient, contactId: string, id: string) => (await crm.timeline.list(contactId, { limit: 100 })).items.find((e) => e.id === id) ?? null

const writes: ReadonlyArray<Write> = [
  write(
    "contacts.create",
    async (s) => (await s.typedFields(), [{ ...newContact(), fields: typedValues() }]),
    (crm, a) => crm.contacts.create(arg<ContactCreate>(a, 0)),
    async (crm, r) => [[r, await crm.contacts.get(r.id)]]
  ),
  write(
    "contacts.createMany",
    async (s) => (await s.typedFields(), [[{ ...newContact(), fields: typedValues() }, { email: "linus@example.com", firstName: "Linus", fields: { badge: "L-1", website: "http://linus.example" } }]]),
    (crm, a) => crm.contacts.createMany(arg<ReadonlyArray<ContactCreate>>(a, 0)),
    async (crm, r) => [[r, await Promise.all(r.map((c) => crm.contacts.get(c.id)))]]
  ),
  write(
    "contacts.update",
    async (s) => {
      const c = await s.contact()
      await s.typedFields()
      const { email: _email, ...changes } = newContact()
      const emails = [{ value: "ada@example.com", label: "work" }, { value: "ada@home.example", label: "home" }]
      return [c.id, { ...changes, emails, expectedVersion: c.version, fields: { ...typedValues(), badge: null } }]
    },
    (crm, a) => crm.contacts.update(arg<string>(a, 0), arg<ContactUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.contacts.get(r.id)]]
  ),
  write(
    "contacts.remove",
    async (s) => {
      const c = await s.contact()
      return [c.id, { expectedVersion: c.version }]
    },
    (crm, a) => crm.contacts.remove(arg<string>(a, 0), arg<RemoveContactOptions>(a, 1)),
    async (crm, _r, s) => gone(codeOf(crm.contacts.get((await s.contact()).id)))
  ),
  write(
    "contacts.merge",
    async (s) => {
      const [keep, merged] = [await s.contact(), await s.other()]
      return [keep.id, merged.id, { expectedVersion: keep.version, mergedExpectedVersion: merged.version }]
    },
    (crm, a) => crm.contacts.merge(arg<string>(a, 0), arg<string>(a, 1), arg<ContactMergeOptions>(a, 2)),
    async (crm, r, s) => [
      [r.contact, await crm.contacts.get(r.contact.id)],
      [r.entry, await entryOf(crm, r.contact.id, r.entry.id)],
      ["NOT_FOUND", await codeOf(crm.contacts.get((await s.other()).id))]
    ]
  ),
  write(
    "companies.create",
    async (s) => (await s.otherFields(), [{ name: "Acme", domain: "acme.example", phone: "+33 1 23 45 67 89", tags: ["b2b"], ownerId: "owner-1", fields: { vat: "FR40303265045" } }]),
    (crm, a) => crm.companies.create(arg<CompanyCreate>(a, 0)),
    async (crm, r) => [[r, await crm.companies.get(r.id)]]
  ),
  write(
    "companies.update",
    async (s) => {
      const c = await s.company()
      await s.otherFields()
      return [c.id, { expectedVersion: c.version, name: "Acme Ltd", domain: "acme.example", phone: "+33 1 23 45 67 89", tags: ["b2b"], ownerId: "owner-2", fields: { vat: "GB123456789" } }]
    },
    (crm, a) => crm.companies.update(arg<string>(a, 0), arg<CompanyUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.companies.get(r.id)]]
  ),
  write(
    "companies.remove",
    async (s) => [(await s.company()).id],
    (crm, a) => crm.companies.remove(arg<string>(a, 0)),
    async (crm, _r, s) => gone(codeOf(crm.companies.get((await s.company()).id)))
  ),
  write(
    "fields.define",
    async () => [
      {
        entity: "contact",
        key: "size",
        label: "Size",
        type: "select",
        options: ["small", { value: "large", label: "Large" }],
        required: "never",
        unique: false,
        description: "T-shirt size",
        position: 2
      }
    ],
    (crm, a) => crm.fields.define(arg<FieldDefinitionInput>(a, 0)),
    async (crm, r) => [[r, await crm.fields.get(r.entity, r.key)]]
  ),
  write(
    "fields.update",
    async (s) => {
      const f = await s.field()
      return ["contact", f.key, { expectedVersion: f.version, label: "Badge number", description: "On the lanyard", position: 1, unique: true }]
    },
    (crm, a) => crm.fields.update(arg<FieldEntity>(a, 0), arg<string>(a, 1), arg<FieldDefinitionChanges>(a, 2)),
    async (crm, r) => [[r, await crm.fields.get(r.entity, r.key)]]
  ),
  write(
    "fields.remove",
    async (s) => (await s.contact(), ["contact", (await s.field()).key, { purgeValues: true }]),
    (crm, a) => crm.fields.remove(arg<FieldEntity>(a, 0), arg<string>(a, 1), arg<RemoveFieldOptions>(a, 2)),
    async (crm, _r, s) => [
      ["NOT_FOUND", await codeOf(crm.fields.get("contact", (await s.field()).key))],
      [{}, (await crm.contacts.get((await s.contact()).id)).fields]
    ]
  ),
  write(
    "lifecycle.configure",
    async () => [
      {
        definition: {
          preset: "classic",
          allowBackward: false,
          stages: [
            { key: "lead", label: "Lead" },
            { key: "customer", label: "Customer", enterWhen: { kind: "orders", atLeast: 1, withinDays: 365 } },
            { key: "fan", label: "Fan", enterWhen: { kind: "events", types: ["review.posted"], atLeast: 2 } }
          ]
        }
      }
    ],
    (crm, a) => crm.lifecycle.configure(arg<LifecycleConfiguration>(a, 0)),
    async (crm, r) => [[r, await crm.lifecycle.definition()]]
  ),
  write(
    "lifecycle.move",
    async (s) => {
      const c = await s.contact()
      return [c.id, "customer", { reason: "Signed the contract", author: "owner-1", expectedVersion: c.version }]
    },
    (crm, a) => crm.lifecycle.move(arg<string>(a, 0), arg<string>(a, 1), arg<MoveOptions>(a, 2)),
    async (crm, r) => [
      [r, await crm.contacts.get(r.id)],
      ["customer", (await crm.lifecycle.history(r.id)).at(-1)?.to]
    ]
  ),
  write(
    "timeline.log",
    async (s) => [
      {
        contactId: (await s.contact()).id,
        kind: "call",
        summary: "Called about the quote",
        occurredAt: at,
        author: "owner-1",
        channel: "phone",
        direction: "outbound",
        reaction: "positive",
        payload: { minutes: 12, topics: ["price", "delivery"], callback: { at, confirmed: true } }
      }
    ],
    (crm, a) => crm.timeline.log(arg<TimelineLog>(a, 0)),
    async (crm, r) => [[r, await entryOf(crm, r.contactId, r.id)]]
  ),
  write(
    "events.emit (known contact)",
    async (s) => [{ id: "evt-1", type: "demo.requested", contactId: (await s.contact()).id, occurredAt: at, payload: { plan: "pro", seats: 12, tags: ["a", "b"], extra: { nested: [1, { deep: true }] } } }],
    (crm, a) => crm.events.emit(arg<EmitInput>(a, 0)),
    async (crm, r) => [
      [r.event, await crm.events.get(r.event.id)],
      [r.contact, r.contact === null ? null : await crm.contacts.get(r.contact.id)]
    ]
  ),
  write(
    "events.emit (new contact)",
    async (s) => (
      await s.typedFields(),
      [
        {
          type: "newsletter.subscribed",
          email: "margaret@example.com",
          payload: { list: "monthly" },
          contact: { firstName: "Margaret", lastName: "Hamilton", phone: "+1 617 555 0100", source: { channel: "website", campaign: "apollo" }, fields: typedValues() }
        }
      ]
    ),
    (crm, a) => crm.events.emit(arg<EmitInput>(a, 0)),
    async (crm, r) => [
      [r.event, await crm.events.get(r.event.id)],
      [r.contact, r.contact === null ? null : await crm.contacts.get(r.contact.id)]
    ]
  ),
  write(
    "events.emit (order)",
    async (s) => [
      {
        id: "order-1",
        type: "order.placed",
        contactId: (await s.contact()).id,
        occurredAt: at,
        payload: {
          orderId: "o-1",
          lines: [
            { sku: "SKU-1", name: "Brass gear", quantity: 2, unitPrice: { amountMinor: 1_999, currency: "EUR" }, unitCost: { amountMinor: 800, currency: "EUR" } },
            { sku: "SKU-2", name: "Punched card", quantity: 500, unitPrice: { amountMinor: 5, currency: "EUR" } }
          ],
          channel: "web"
        }
      }
    ],
    (crm, a) => crm.events.emit(arg<EmitInput>(a, 0)),
    async (crm, r) => [
      [r.event, await crm.events.get(r.event.id)],
      [r.contact, r.contact === null ? null : await crm.contacts.get(r.contact.id)]
    ]
  ),
  write(
    "events.emit (cart)",
    async (s) => [
      {
        type: "cart.abandoned",
        contactId: (await s.contact()).id,
        payload: { cartId: "cart-1", lines: [{ sku: "SKU-3", name: "Lever", quantity: 1, unitPrice: { amountMinor: 120_00, currency: "GBP" } }], url: "https://shop.example/cart" }
      }
    ],
    (crm, a) => crm.events.emit(arg<EmitInput>(a, 0)),
    async (crm, r) => [
      [r.event, await crm.events.get(r.event.id)],
      [r.contact, r.contact === null ? null : await crm.contacts.get(r.contact.id)]
    ]
  ),
  write(
    "settings.update",
    async (s) => [{ expectedVersion: (await s.crm.settings.get()).version, name: "Hostile Ltd", timezone: "Europe/Paris", frequencyCap: { max: 3, per: "7 days" }, country: "FR" }],
    (crm, a) => crm.settings.update(arg<WorkspaceChanges>(a, 0)),
    async (crm, r) => [[r, await crm.settings.get()]]
  ),
  write(
    "pipelines.create",
    async () => [
      {
        name: "Partners",
        stages: [
          { key: "intro", label: "Introduction", probability: 10, staleAfterDays: 7 },
          { key: "trial", label: "Trial", probability: 50 },
          { key: "signed", label: "Signed", probability: 100, outcome: "won" },
          { key: "dropped", label: "Dropped", probability: 0, outcome: "lost" }
        ],
        floor: { amountMinor: 1_000_000, currency: "EUR" },
        position: 1
      }
    ],
    (crm, a) => crm.pipelines.create(arg<PipelineCreate>(a, 0)),
    async (crm, r) => [[r, await crm.pipelines.get(r.id)]]
  ),
  write(
    "pipelines.update",
    async (s) => {
      const p = await s.pipeline()
      return [
        p.id,
        {
          expectedVersion: p.version,
          name: "Renewals 2026",
          stages: [...p.stages.map((stage) => ({ ...stage, label: `${stage.label} (2026)` })), { key: "parked", label: "Parked", probability: 5, staleAfterDays: 90 }],
          floor: { amountMinor: 500_000, currency: "EUR" },
          position: 3
        }
      ]
    },
    (crm, a) => crm.pipelines.update(arg<string>(a, 0), arg<PipelineUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.pipelines.get(r.id)]]
  ),
  write(
    "pipelines.remove",
    async (s) => [(await s.pipeline()).id],
    (crm, a) => crm.pipelines.remove(arg<string>(a, 0)),
    async (crm, _r, s) => gone(codeOf(crm.pipelines.get((await s.pipeline()).id)))
  ),
  write(
    "pipelines.configure",
    async () => [{ floor: { amountMinor: 5_000_000, currency: "EUR" }, coldProbability: 5, staleAfterDays: 14 }],
    (crm, a) => crm.pipelines.configure(arg<SalesSettingsChanges>(a, 0)),
    async (crm, r) => [[r, await crm.pipelines.settings()]]
  ),
  write(
    "deals.create",
    async (s) => [
      {
        title: "Difference engine",
        amount: { amountMinor: 1_234_567, currency: "GBP" },
        contactId: (await s.contact()).id,
        companyId: (await s.company()).id,
        probability: { probability: 35, reason: "Budget not signed" },
        expectedCloseDate: "2026-06-30",
        ownerId: "owner-1",
        quoteRef: "Q-2026-001",
        fields: { segment: "enterprise" }
      }
    ],
    (crm, a) => crm.deals.create(arg<DealCreate>(a, 0)),
    async (crm, r) => [[r, await crm.deals.get(r.id)]]
  ),
  write(
    "deals.update",
    async (s) => {
      const d = await s.deal()
      return [
        d.id,
        {
          expectedVersion: d.version,
          title: "Analytical engine",
          amount: { amountMinor: 999_999, currency: "EUR" },
          probability: { probability: 70, reason: "Verbal yes" },
          expectedCloseDate: "2026-09-30",
          ownerId: "owner-2",
          quoteRef: "Q-2",
          fields: { segment: "smb" }
        }
      ]
    },
    (crm, a) => crm.deals.update(arg<string>(a, 0), arg<DealUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.deals.get(r.id)]]
  ),
  ...(["move", "win", "lose", "markCold"] as const).map((how) =>
    write(
      `deals.${how}`,
      async (s) => {
        const d = await s.deal()
        const options = { expectedVersion: d.version, note: "Talked it through", reason: "Price", author: "owner-1" }
        return how === "move" ? [d.id, "demo", options] : [d.id, options]
      },
      (crm, a) =>
        how === "move"
          ? crm.deals.move(arg<string>(a, 0), arg<string>(a, 1), arg<DealTransition>(a, 2))
          : crm.deals[how](arg<string>(a, 0), arg<DealTransition>(a, 1)),
      async (crm, r) => [[r, await crm.deals.get(r.id)]]
    )
  ),
  write(
    "deals.remove",
    async (s) => [(await s.deal()).id],
    (crm, a) => crm.deals.remove(arg<string>(a, 0)),
    async (crm, _r, s) => gone(codeOf(crm.deals.get((await s.deal()).id)))
  ),
  write(
    "deals.sendQuote",
    async (s) => [(await s.deal()).id, { quoteRef: "Q-2026-002", author: "owner-1" }],
    (crm, a) => crm.deals.sendQuote(arg<string>(a, 0), arg<SendQuoteOptions>(a, 1)),
    async (crm, r) => [
      [r.deal, await crm.deals.get(r.deal.id)],
      [r.event.event, await crm.events.get(r.event.event.id)]
    ]
  ),
  write(
    "deals.followUp",
    async (s) => [
      (await s.deal()).id,
      {
        channel: "email",
        templateId: (await s.template()).id,
        note: "Sent the brochure",
        reaction: "positive",
        author: "owner-1",
        locale: "fr-FR",
        next: { dueAt: soon(), title: "Call again", channel: "call", ownerId: "owner-1", note: "Ask about the budget" }
      }
    ],
    (crm, a) => crm.deals.followUp(arg<string>(a, 0), arg<FollowUpInput>(a, 1)),
    async (crm, r) => [
      [r.deal, await crm.deals.get(r.deal.id)],
      [r.task, r.task === null ? null : await crm.tasks.get(r.task.id)],
      [r.entry, r.entry.contactId === null ? null : await entryOf(crm, r.entry.contactId, r.entry.id)]
    ]
  ),
  write(
    "tasks.create",
    async (s) => [{ title: "Send the contract", dueAt: soon(), channel: "letter", ownerId: "owner-1", contactId: (await s.contact()).id, dealId: (await s.deal()).id, note: "Two copies" }],
    (crm, a) => crm.tasks.create(arg<TaskCreate>(a, 0)),
    async (crm, r) => [[r, await crm.tasks.get(r.id)]]
  ),
  write(
    "tasks.update",
    async (s) => {
      const t = await s.task()
      return [t.id, { expectedVersion: t.version, title: "Call back about the quote", dueAt: soon(), channel: "meeting", ownerId: "owner-2", note: "Bring samples" }]
    },
    (crm, a) => crm.tasks.update(arg<string>(a, 0), arg<TaskUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.tasks.get(r.id)]]
  ),
  write(
    "tasks.complete",
    async (s) => {
      const t = await s.task()
      return [t.id, { expectedVersion: t.version }]
    },
    (crm, a) => crm.tasks.complete(arg<string>(a, 0), arg<TaskTransition>(a, 1)),
    async (crm, r) => [[r, await crm.tasks.get(r.id)]]
  ),
  write(
    "tasks.reopen",
    async (s) => {
      const t = await s.doneTask()
      return [t.id, { expectedVersion: t.version }]
    },
    (crm, a) => crm.tasks.reopen(arg<string>(a, 0), arg<TaskTransition>(a, 1)),
    async (crm, r) => [[r, await crm.tasks.get(r.id)]]
  ),
  write(
    "contacts.upsert",
    async (s) => (await s.typedFields(), [{ ...newContact(), fields: typedValues() }]),
    (crm, a) => crm.contacts.upsert(arg<ContactUpsert>(a, 0)),
    async (crm, r) => [[r.contact, await crm.contacts.get(r.contact.id)]]
  ),
  write(
    "setup.apply",
    async () => [
      {
        fields: [{ key: "tier", type: "select", options: ["gold", "silver"], label: "Tier" }],
        pipelines: [{ name: "Hostile" }],
        templates: [{ key: "hello", name: "Hello", subject: "Hi {{ contact.firstName }}", text: "Hello" }],
        rules: [{ key: "tagger", name: "Tagger", on: "demo.requested", actions: [{ type: "addTag", tag: "demo" }, { type: "sendEmail", templateKey: "hello" }] }]
      }
    ],
    (crm, a) => crm.setup.apply(arg<SetupDeclaration>(a, 0)),
    async (crm, r) => {
      const templates = (await crm.templates.list()).filter((t) => t.key !== null)
      const rules = (await crm.rules.list()).filter((x) => x.key !== null)
      const made = (kind: string) => r.plan.filter((p) => p.kind === kind && p.action !== "delete").map((p) => p.key).sort()
      return [
        [made("template"), templates.map((t) => t.key).sort()],
        [made("rule"), rules.map((x) => x.key).sort()]
      ]
    }
  ),
  write(
    "campaigns.create",
    async (s) => {
      const promo = await s.crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
      return [{ key: "spring-promo", name: "Spring promo", templateId: promo.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } }, ratePerMinute: 60, goal: { event: "order.placed", within: "7 days" } }]
    },
    (crm, a) => crm.campaigns.create(arg<CampaignCreate>(a, 0)),
    async (crm, r) => [[r, await crm.campaigns.get(r.id)]]
  ),
  write(
    "templates.create",
    async () => [{ name: "Welcome", purpose: "marketing", subject: "Welcome, {{ contact.firstName }}", html: '<p>Hello {{ contact.firstName }}, <a href="https://example.com">see</a></p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>', text: "Hello {{ contact.firstName }}\n\nUnsubscribe: {{ unsubscribeUrl }}" }],
    (crm, a) => crm.templates.create(arg<TemplateCreate>(a, 0)),
    async (crm, r) => [[r, await crm.templates.get(r.id)]]
  ),
  write(
    "templates.update",
    async (s) => {
      const t = await s.template()
      return [t.id, { expectedVersion: t.version, name: "Hello again", subject: "Hello again {{ contact.lastName }}", html: "<p>Hi</p>", text: "Hi" }]
    },
    (crm, a) => crm.templates.update(arg<string>(a, 0), arg<TemplateUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.templates.get(r.id)]]
  ),
  write(
    "templates.remove",
    async (s) => [(await s.template()).id],
    (crm, a) => crm.templates.remove(arg<string>(a, 0)),
    async (crm, _r, s) => gone(codeOf(crm.templates.get((await s.template()).id)))
  ),
  write(
    "templates.setLocale",
    async (s) => [(await s.template()).id, "fr-CA", { subject: "Bonjour {{ contact.firstName }}", html: '<p>Salut {{ contact.firstName }}, <a href="https://example.com">voir</a></p>', text: "Salut {{ contact.firstName }}" }],
    (crm, a) => crm.templates.setLocale(arg<string>(a, 0), arg<string>(a, 1), arg<TemplateVariantInput>(a, 2)),
    async (crm, r) => [[r, (await crm.templates.locales(r.templateId)).find((v) => v.locale === r.locale) ?? null]]
  ),
  write(
    "templates.removeLocale",
    async (s) => {
      const template = await s.template()
      await s.crm.templates.setLocale(template.id, "fr", { subject: "Bonjour", text: "Salut" })
      return [template.id, "fr"]
    },
    (crm, a) => crm.templates.removeLocale(arg<string>(a, 0), arg<string>(a, 1)),
    async (crm, _r, s) => [[[], (await crm.templates.locales((await s.template()).id)).filter((v) => v.locale === "fr")]]
  ),
  write(
    "rules.create",
    async (s) => [
      {
        id: "welcome",
        name: "Welcome",
        on: "demo.requested",
        when: { all: [{ path: "contact.score", op: "gte", value: 3 }, { path: "event.payload.plan", op: "eq", value: "pro" }] },
        unless: { path: "contact.tags", op: "contains", value: "churned" },
        delay: "1 hour",
        actions: [
          { type: "addTag", tag: "demo" },
          { type: "adjustScore", by: 5 },
          { type: "createTask", title: "Call {{ contact.firstName }}", due: "1 day", channel: "call" },
          { type: "sendEmail", template: (await s.template()).id, transactional: true },
          { type: "setField", key: (await s.field()).key, value: "B-{{ contact.lastName }}" },
          { type: "assignOwner", byCondition: [{ when: { path: "contact.score", op: "gt", value: 100 }, owner: "owner-2" }], otherwise: "owner-1" },
          { type: "removeTag", tag: "cold" },
          { type: "setStage", stage: "prospect" }
        ],
        goal: { event: "order.placed", within: "7 days" },
        limits: { oncePerContact: true, cooldown: "1 day" },
        enabled: true
      }
    ],
    (crm, a) => crm.rules.create(arg<RuleCreate>(a, 0)),
    async (crm, r) => [[r, await crm.rules.get(r.id)]]
  ),
  write(
    "rules.update",
    async (s) => {
      const r = await s.rule()
      return [
        r.id,
        {
          expectedVersion: r.version,
          name: "Tag demos",
          when: { count: { event: "demo.requested", within: "30 days", where: { path: "event.payload.plan", op: "in", value: ["pro", "team"] } }, op: "gte", value: 2 },
          delay: { after: "2 days", at: "09:30" },
          actions: [{ type: "addTag", tag: "demo-2" }],
          variants: [
            { key: "A", weight: 3, actions: [{ type: "adjustScore", by: 1 }] },
            { key: "B", actions: [{ type: "createTask", title: "Call", channel: "call", note: "About {{ event.payload.plan }}" }] }
          ],
          limits: { cooldown: "2 days", oncePer: "event.payload.plan" }
        }
      ]
    },
    (crm, a) => crm.rules.update(arg<string>(a, 0), arg<RuleUpdate>(a, 1)),
    async (crm, r) => [[r, await crm.rules.get(r.id)]]
  ),
  ...(["enable", "disable"] as const).map((how) =>
    write(
      `rules.${how}`,
      async (s) => [(await s.rule()).id],
      (crm, a) => crm.rules[how](arg<string>(a, 0)),
      async (crm, r) => [[r, await crm.rules.get(r.id)]]
    )
  ),
  write(
    "rules.remove",
    async (s) => [(await s.rule()).id],
    (crm, a) => crm.rules.remove(arg<string>(a, 0)),
    async (crm, _r, s) => gone(codeOf(crm.rules.get((await s.rule()).id)))
  ),
  write(
    "dispatcher.retry",
    async (s) => [(await s.skippedJob()).id],
    (crm, a) => crm.dispatcher.retry(arg<string>(a, 0)),
    async (crm, r) => [[r, (await crm.dispatcher.jobs({ limit: 500 })).items.find((j) => j.id === r.id) ?? null]]
  ),
  write(
    "dispatcher.runDue",
    async (s) => (await s.dueJob(), [{ batchSize: 10, lease: "1 minute", maxAttempts: 3, retryDelay: "30 seconds", concurrency: 2, limit: 50 }]),
    (crm, a) => crm.dispatcher.runDue(arg<DispatchOptions>(a, 0)),
    async (crm, r, s) => {
      const job = await s.dueJob()
      const stored = (await crm.dispatcher.jobs({ limit: 500 })).items.find((j) => j.id === job.id)
      return [
        [{ claimed: 1, done: 1 }, { claimed: r.claimed, done: r.done }],
        ["done", stored?.status],
        [true, (await crm.contacts.get(job.contactId)).tags.includes("demo")]
      ]
    }
  ),
  ...(["grant", "withdraw"] as const).map((how) =>
    write(
      `consent.${how}`,
      async (s) => [(await s.contact()).id, { purpose: "marketing", source: "signup-form" }],
      (crm, a) => crm.consent[how](arg<string>(a, 0), arg<ConsentChange>(a, 1)),
      async (crm, r, s) => [[r, await crm.consent.status((await s.contact()).id)]]
    )
  ),
  write(
    "consent.grant with proof",
    async (s) => [(await s.contact()).id, { purpose: "newsletter", source: "fair", proof: { at, method: "form", ip: "192.0.2.1", userAgent: "Mozilla/5.0", evidence: "Paper form « Salon »" } }],
    (crm, a) => crm.consent.grant(arg<string>(a, 0), arg<ConsentChange>(a, 1)),
    async (crm, r, s) => [[r, await crm.consent.status((await s.contact()).id)]]
  ),
  write(
    "consent.request",
    async (s) => [(await s.contact()).id, { purpose: "marketing", source: "footer", evidence: "Footer box" }],
    (crm, a) => crm.consent.request(arg<string>(a, 0), arg<ConsentRequest>(a, 1)),
    async (crm, r, s) => [[r.status, await crm.consent.status((await s.contact()).id)]]
  ),
  write(
    "consent.recordMailFeedback",
    async () => [[{ id: "feedback-1", type: "bounced", kind: "soft", email: "ada@example.com", reason: "452 mailbox full", provider: "test", messageId: "<m-1@example.com>" }]],
    (crm, a) => crm.consent.recordMailFeedback(arg<ReadonlyArray<MailFeedback>>(a, 0)),
    async (crm, r, s) => [
      [
        r.filter((x) => x.eventId !== null && !x.duplicate).map((x) => x.email),
        (await crm.consent.status((await s.contact()).id)).addresses.map((x) => x.email)
      ]
    ]
  ),
  write(
    "consent.unsubscribe",
    async (s) => [await s.token()],
    (crm, a) => crm.consent.unsubscribe(arg<string>(a, 0)),
    async (crm, r) => [[r.status, await crm.consent.status(r.contactId)]]
  ),
  write(
    "consent.erase",
    async (s) => [(await s.contact()).id],
    (crm, a) => crm.consent.erase(arg<string>(a, 0)),
    async (crm, r) => [["NOT_FOUND", await codeOf(crm.contacts.get(r.contactId))]]
  )
]

// ---------------------------------------------------------------------------------------------
// Digests

type Sql = SqlClient.SqlClient

/** Plain JSON of any value a driver returns (bigints, bytes, dates, -0 kept apart). */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `bigint:${v}`
    if (typeof v === "number" && Object.is(v, -0)) return "number:-0"
    if (typeof v === "number" && !Number.isFinite(v)) return `number:${v}`
    if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString("hex")}`
    return v
  })

const tablesOf = (sql: Sql) =>
  sql
    .onDialectOrElse({
      pg: () =>
        sql<{ readonly name: string }>`SELECT c.table_name AS name FROM information_schema.columns c
          JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.column_name = 'workspace_id' AND c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`,
      orElse: () =>
        sql<{ readonly name: string }>`SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p
          WHERE m.type = 'table' AND p.name = 'workspace_id'`
    })
    .pipe(Effect.map((rows) => rows.map((r) => r.name).sort()))

/** A hash of every row of the workspace in every table that has a `workspace_id`. */
const digestOf = (sql: Sql, tables: ReadonlyArray<string>, workspaceId: string) =>
  Effect.forEach(tables, (table) =>
    sql`SELECT * FROM ${sql(table)} WHERE workspace_id = ${workspaceId}`.pipe(
      Effect.map((rows) => `${table}\n${rows.map(canonical).sort().join("\n")}`)
    ),
    { concurrency: 8 }
  ).pipe(Effect.map((parts) => createHash("sha256").update(parts.join("\n\n")).digest("hex")))

// ---------------------------------------------------------------------------------------------
// The suite

/**
 * Registers the hostile-input tests for a layer that provides `Storage` and `SqlClient` (a
 * dialect's `layer(config)`). One database serves the suite: each run works in a fresh workspace.
 *
 * @since 0.4.0
 * @category constructors
 */
export const hostileInputSuite = <E>(layer: Layer.Layer<Storage.Storage | SqlClient.SqlClient, E>, options: HostileInputSuiteOptions = {}): void => {
  const name = options.name ?? "storage"
  const numRuns = options.numRuns ?? 8
  const timeout = options.timeout ?? 60_000

  describe(`${name} — hostile input through every public write`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<Storage.Storage | SqlClient.SqlClient, E> | undefined
    let crm: CrmClient | undefined
    let digest: (workspaceId: string) => Promise<string> = () => Promise.reject(new Error("not started"))
    const outcomes = { accepted: 0, refused: 0 }
    const codes = new Map<string, number>()

    beforeAll(async () => {
      // Loaded here: @effect/sql is an optional peer, needed only by this suite.
      const { SqlClient: SqlTag } = await import("@effect/sql/SqlClient")
      runtime = ManagedRuntime.make(layer)
      const context = (await runtime.runtime()).context
      const sql = Context.get(context, SqlTag)
      const tables = await runtime.runPromise(tablesOf(sql))
      if (tables.length === 0) throw new Error("no table has a workspace_id column: is the layer migrated?")
      digest = (workspaceId) => Effect.runPromise(digestOf(sql, tables, workspaceId))
      crm = await createCrm({
        storage: { layer: Layer.succeed(Storage.Storage, Context.get(context, Storage.Storage)) },
        mailer: { layer: Mailers.capturingLayer },
        mail: {
          from: "crm@example.com",
          unsubscribe: { url: "https://example.com/unsubscribe/{token}", secret: "hostile-suite-secret" },
          confirmation: { url: "https://example.com/consent/confirm/{token}" }
        }
      })
    }, timeout)

    afterAll(async () => {
      await crm?.close()
      await runtime?.dispose()
    })

    const client = () => {
      if (crm === undefined) throw new Error("the suite did not start")
      return crm.workspace(`hostile-${randomUUID()}`)
    }

    it("every write accepts its valid input and reads back what it returned", async () => {
      for (const w of writes) {
        const ws = client()
        const s = seed(ws)
        const args = await w.args(s)
        const check = await w.call(ws, args, s).catch((error: unknown) => {
          throw new Error(`${w.name} refused its valid input: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
        })
        await check()
      }
    }, timeout)

    for (const w of writes) {
      it(`${w.name} — a hostile input is stored exactly or refused with nothing changed`, async () => {
        await FastCheck.assert(
          FastCheck.asyncProperty(FastCheck.array(injection, { minLength: 1, maxLength: 3 }), async (injections) => {
            const ws = client()
            const s = seed(ws)
            await ws.settings.get()
            const args = await w.args(s)
            const where = injections.map((i) => inject(args, i))
            const before = await digest(ws.workspaceId)
            const outcome = await w.call(ws, args, s).then(
              (check) => ({ check }),
              (error: unknown) => ({ error })
            )
            if ("check" in outcome) {
              outcomes.accepted++
              await outcome.check()
              return
            }
            outcomes.refused++
            const error = outcome.error
            if (!(error instanceof RapportError)) {
              throw new Error(`${w.name} threw a ${error instanceof Error ? error.name : typeof error}, not a RapportError (values at ${where.join(", ")})`, { cause: error })
            }
            codes.set(error.code, (codes.get(error.code) ?? 0) + 1)
            expect(refusal[error.code], `${w.name} failed with ${error.code} (values at ${where.join(", ")}): ${error.message}`).toBe(true)
            expect(await digest(ws.workspaceId), `${w.name} refused (${error.code}) but changed stored rows`).toBe(before)
          }),
          { numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) }
        )
      }, timeout)
    }

    it("both outcomes happened: hostile values were refused and harmless ones accepted", () => {
      expect(outcomes.refused).toBeGreaterThan(0)
      expect(outcomes.accepted).toBeGreaterThan(0)
      expect(codes.get("VALIDATION_FAILED") ?? 0).toBeGreaterThan(0)
    })
  })
}
