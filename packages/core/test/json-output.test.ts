// The Promise client converts results with one generic encoder (toJson) instead of Schema.encode:
// 1. for every entity it returns, toJson gives the same JSON as Schema.encode;
// 2. every client method, called through a real client, returns plain JSON, and entities in the
//    shape their Schema encodes. The table of calls is typed by the client itself: a method added
//    to a service is on the client at once, and this file does not compile (nor pass) until the
//    table calls it.
import {
  Analytics,
  ApiKey,
  Campaign,
  Company,
  Contact,
  Contacts,
  createCrm,
  type CrmClient,
  CrmEvent,
  Deal,
  Events,
  FieldDefinition,
  ImportRun,
  Job,
  LifecycleDefinition,
  Mailers,
  Order,
  OutboundWebhook,
  Pipeline,
  InboundWebhook,
  Rule,
  Rules,
  Segment,
  Setup,
  Snapshots,
  Task,
  Template,
  Templates,
  TimelineEntry,
  WebhookSignature,
  Workspace
} from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { toJson } from "../src/internal/json.js"
import { line } from "./helpers.js"

const same =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: A): void => {
    expect(toJson(value)).toEqual(Schema.encodeSync(schema)(value))
  }

// Every entity Schema a client method returns (alone, in a list, a page or a larger result).
const entities = {
  contact: Contact.Contact,
  company: Company.Company,
  fieldDefinition: FieldDefinition.FieldDefinition,
  timelineEntry: TimelineEntry.TimelineEntry,
  stageChange: TimelineEntry.StageChange,
  event: CrmEvent.StoredEvent,
  emitResult: Events.EmitResult,
  workspace: Workspace.Workspace,
  lifecycleDefinition: LifecycleDefinition.LifecycleDefinition,
  pipeline: Pipeline.Pipeline,
  deal: Deal.Deal,
  task: Task.Task,
  template: Template.Template,
  rule: Rule.Rule,
  job: Job.Job,
  mergeResult: Contacts.MergeResult,
  upsertResult: Contacts.UpsertResult,
  apiKey: ApiKey.ApiKey,
  createdApiKey: ApiKey.CreatedApiKey,
  verifiedApiKey: ApiKey.VerifiedApiKey,
  inboundWebhook: InboundWebhook.InboundWebhook,
  webhookReceipt: InboundWebhook.WebhookReceipt,
  importRun: ImportRun.ImportRun,
  order: Order.Order,
  orderSummary: Order.OrderSummary
} as const

// Rules and jobs hold conditions, which have no Arbitrary, and generated pipelines are rarely
// encodable (a stage label must not be empty): their results are checked against their Schemas by
// the calls below (rules.*, dispatcher.jobs, dispatcher.retry, pipelines.*).
const generated = Object.entries(entities).filter(([name]) => name !== "rule" && name !== "job" && name !== "pipeline")

describe("toJson", () => {
  for (const [name, schema] of generated) {
    const entity = schema as Schema.Schema<unknown, unknown>
    // Values the Schema can encode: its Type side is looser than its encoded side in places (a
    // pipeline stage's label may be empty once decoded), and no stored value is outside it.
    const encodable = Arbitrary.make(entity).filter((value) => Either.isRight(Schema.encodeEither(entity)(value)))
    it.prop(`equals Schema.encode for ${name}`, [encodable], ([value]) => same(entity)(value), {
      fastCheck: { numRuns: 25 }
    })
  }

  it("turns an Option into its value or null, and instants into ISO strings", () => {
    const at = DateTime.unsafeMake("2025-06-02T18:00:00.000Z")
    expect(toJson({ some: Option.some(at), none: Option.none(), list: [Option.some(1)] })).toStrictEqual({
      some: "2025-06-02T18:00:00.000Z",
      none: null,
      list: [1]
    })
  })
})

// Names the first value that JSON.stringify would not give back as it is: a class instance (an
// Effect DateTime or Option, a Date, a Map), a bigint, a function, a non-finite number, undefined
// inside a list.
const notJson = (value: unknown, path: string): string | undefined => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} is ${value}`
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const bad = item === undefined ? `${path}[${i}] is undefined` : notJson(item, `${path}[${i}]`)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return `${path} is an instance of ${proto?.constructor?.name ?? "a class"}`
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue // dropped by JSON.stringify, as an absent optional field
      const bad = notJson(item, `${path}.${key}`)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  return `${path} is a ${typeof value}`
}

const page = <A, I>(item: Schema.Schema<A, I>) => Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

// What a call returned, and the Schema whose encoded form it must be (when it is entities).
// `void` marks the methods that return nothing (Promise<void>).
type Outcome = { readonly result: unknown; readonly schema?: Schema.Schema<any, any>; readonly void?: true }

type Namespace = Exclude<keyof CrmClient, "workspaceId" | "workspace" | "run" | "close">
type Calls = { readonly [N in Namespace]: { readonly [M in keyof CrmClient[N]]: (crm: CrmClient, f: Fixture) => Promise<Outcome> } }

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
let n = 0
const fresh = (prefix: string) => `${prefix}${++n}`

/** A fresh contact's double opt-in token, read from the queued confirmation mail. */
const confirmationToken = async (crm: CrmClient) => {
  const requested = await crm.consent.request((await crm.contacts.create({ email: `${fresh("confirm")}@example.com` })).id)
  const job = (await crm.dispatcher.jobs({ status: "pending", limit: 500 })).items.find((j) => j.id === requested.mail?.jobId)
  const text = job?.action?.type === "mail" ? (job.action.text ?? "") : ""
  return decodeURIComponent(/token=([^\s"<]+)/.exec(text)?.[1] ?? "")
}

const makeFixture = async (crm: CrmClient) => {
  const contact = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", source: { channel: "trade-show" } })
  const company = await crm.companies.create({ name: "Acme" })
  await crm.fields.define({ key: "size", type: "select", options: ["S", "M"] })
  const deal = await crm.deals.create({ title: "Fleet", amount: eur(250_000), contactId: contact.id })
  const task = await crm.tasks.create({ title: "Call", dueAt: "2030-01-01T09:00:00Z", channel: "call" })
  const template = await crm.templates.create({ name: "Hello", subject: "Hi {{ contact.firstName }}", text: "Hello" })
  const rule = await crm.rules.create({ id: "welcome", name: "Welcome", on: "signed.up", actions: [{ type: "sendEmail", template: template.id }] })
  const emitted = await crm.events.emit({ id: "signup-1", type: "signed.up", contactId: contact.id })
  // A job whose contact is gone is skipped: one that dispatcher.retry can queue again.
  const gone = await crm.contacts.create({ email: "gone@example.com" })
  await crm.events.emit({ type: "signed.up", contactId: gone.id })
  await crm.contacts.remove(gone.id)
  await crm.dispatcher.runDue()
  const job = (await crm.dispatcher.jobs({ status: "skipped" })).items[0]!
  await crm.timeline.log({ contactId: contact.id, kind: "call", summary: "Intro call" })
  const { source } = await crm.inboundWebhooks.create({ provider: "shopify", secrets: ["s3cret"] })
  return { contact, company, deal, task, template, rule, eventId: emitted.event.id, job, source }
}
type Fixture = Awaited<ReturnType<typeof makeFixture>>

const calls: Calls = {
  contacts: {
    create: async (crm) => ({ result: await crm.contacts.create({ email: `${fresh("c")}@example.com` }), schema: Contact.Contact }),
    createMany: async (crm) => ({ result: await crm.contacts.createMany([{ email: `${fresh("m")}@example.com` }]), schema: Schema.Array(Contact.Contact) }),
    get: async (crm, f) => ({ result: await crm.contacts.get(f.contact.id), schema: Contact.Contact }),
    findByEmail: async (crm) => ({ result: await crm.contacts.findByEmail("ada@example.com"), schema: Schema.NullOr(Contact.Contact) }),
    update: async (crm, f) => {
      const current = await crm.contacts.get(f.contact.id)
      return { result: await crm.contacts.update(f.contact.id, { expectedVersion: current.version, lastName: "Lovelace" }), schema: Contact.Contact }
    },
    remove: async (crm) => ({ result: await crm.contacts.remove((await crm.contacts.create({ email: `${fresh("r")}@example.com` })).id), void: true }),
    merge: async (crm, f) => {
      const dup = await crm.contacts.create({ email: `${fresh("dup")}@example.com` })
      return { result: await crm.contacts.merge(f.contact.id, dup.id), schema: Contacts.MergeResult }
    },
    list: async (crm) => ({ result: await crm.contacts.list({ limit: 2 }), schema: page(Contact.Contact) }),
    countByStage: async (crm) => ({ result: await crm.contacts.countByStage() }),
    upsert: async (crm) => ({ result: await crm.contacts.upsert({ email: `${fresh("u")}@example.com`, firstName: "Una" }), schema: Contacts.UpsertResult })
  },
  companies: {
    create: async (crm) => ({ result: await crm.companies.create({ name: fresh("Firm ") }), schema: Company.Company }),
    get: async (crm, f) => ({ result: await crm.companies.get(f.company.id), schema: Company.Company }),
    update: async (crm, f) => {
      const current = await crm.companies.get(f.company.id)
      return { result: await crm.companies.update(f.company.id, { expectedVersion: current.version, domain: "acme.com" }), schema: Company.Company }
    },
    remove: async (crm) => ({ result: await crm.companies.remove((await crm.companies.create({ name: fresh("Gone ") })).id), void: true }),
    list: async (crm) => ({ result: await crm.companies.list(), schema: page(Company.Company) })
  },
  fields: {
    define: async (crm) => ({ result: await crm.fields.define({ key: fresh("f"), type: "date" }), schema: FieldDefinition.FieldDefinition }),
    update: async (crm) => ({ result: await crm.fields.update("contact", "size", { label: "Size" }), schema: FieldDefinition.FieldDefinition }),
    remove: async (crm) => {
      const key = fresh("gone")
      await crm.fields.define({ key, type: "text" })
      return { result: await crm.fields.remove("contact", key), void: true }
    },
    get: async (crm) => ({ result: await crm.fields.get("contact", "size"), schema: FieldDefinition.FieldDefinition }),
    list: async (crm) => ({ result: await crm.fields.list(), schema: Schema.Array(FieldDefinition.FieldDefinition) })
  },
  lifecycle: {
    definition: async (crm) => ({ result: await crm.lifecycle.definition(), schema: LifecycleDefinition.LifecycleDefinition }),
    configure: async (crm) => ({ result: await crm.lifecycle.configure({ preset: "classic" }), schema: LifecycleDefinition.LifecycleDefinition }),
    move: async (crm) => {
      const c = await crm.contacts.create({ email: `${fresh("mv")}@example.com` })
      return { result: await crm.lifecycle.move(c.id, "prospect", { reason: "offer sent" }), schema: Contact.Contact }
    },
    history: async (crm, f) => ({ result: await crm.lifecycle.history(f.contact.id), schema: Schema.Array(TimelineEntry.StageChange) })
  },
  timeline: {
    log: async (crm, f) => ({ result: await crm.timeline.log({ contactId: f.contact.id, kind: "note", summary: "Noted" }), schema: TimelineEntry.TimelineEntry }),
    list: async (crm, f) => ({ result: await crm.timeline.list(f.contact.id), schema: page(TimelineEntry.TimelineEntry) }),
    feed: async (crm) => ({ result: await crm.timeline.feed({ limit: 3 }), schema: page(TimelineEntry.TimelineEntry) })
  },
  events: {
    emit: async (crm, f) => ({
      result: await crm.events.emit({ type: "order.placed", contactId: f.contact.id, payload: { orderId: fresh("o"), lines: [line("A")] } }),
      schema: Events.EmitResult
    }),
    emitMany: async (crm, f) => ({
      result: await crm.events.emitMany([{ type: "shop.visited", contactId: f.contact.id }, { type: "shop.visited", email: `${fresh("e")}@example.com` }]),
      schema: Schema.Array(Events.EmitResult)
    }),
    get: async (crm, f) => ({ result: await crm.events.get(f.eventId), schema: CrmEvent.StoredEvent })
  },
  settings: {
    get: async (crm) => ({ result: await crm.settings.get(), schema: Workspace.Workspace }),
    update: async (crm) => ({ result: await crm.settings.update({ timezone: "Europe/Paris" }), schema: Workspace.Workspace })
  },
  pipelines: {
    create: async (crm) => ({ result: await crm.pipelines.create({ name: fresh("Pipe ") }), schema: Pipeline.Pipeline }),
    get: async (crm, f) => ({ result: await crm.pipelines.get(f.deal.pipelineId), schema: Pipeline.Pipeline }),
    list: async (crm) => ({ result: await crm.pipelines.list(), schema: Schema.Array(Pipeline.Pipeline) }),
    update: async (crm, f) => {
      const current = await crm.pipelines.get(f.deal.pipelineId)
      return { result: await crm.pipelines.update(current.id, { expectedVersion: current.version, name: "Sales" }), schema: Pipeline.Pipeline }
    },
    remove: async (crm) => ({ result: await crm.pipelines.remove((await crm.pipelines.create({ name: fresh("Gone ") })).id), void: true }),
    settings: async (crm) => ({ result: await crm.pipelines.settings() }),
    configure: async (crm) => ({ result: await crm.pipelines.configure({ floor: eur(100_000) }) })
  },
  deals: {
    create: async (crm, f) => ({ result: await crm.deals.create({ title: fresh("Deal "), amount: eur(1_000), companyId: f.company.id }), schema: Deal.Deal }),
    get: async (crm, f) => ({ result: await crm.deals.get(f.deal.id), schema: Deal.Deal }),
    update: async (crm, f) => {
      const current = await crm.deals.get(f.deal.id)
      return { result: await crm.deals.update(f.deal.id, { expectedVersion: current.version, ownerId: "ada" }), schema: Deal.Deal }
    },
    move: async (crm, f) => ({ result: await crm.deals.move(f.deal.id, "demo"), schema: Deal.Deal }),
    win: async (crm, f) => ({ result: await crm.deals.win((await crm.deals.create({ title: fresh("W "), amount: eur(1), contactId: f.contact.id })).id), schema: Deal.Deal }),
    lose: async (crm, f) => ({
      result: await crm.deals.lose((await crm.deals.create({ title: fresh("L "), amount: eur(1), contactId: f.contact.id })).id, { reason: "price" }),
      schema: Deal.Deal
    }),
    markCold: async (crm, f) => ({ result: await crm.deals.markCold((await crm.deals.create({ title: fresh("C "), amount: eur(1), contactId: f.contact.id })).id), schema: Deal.Deal }),
    remove: async (crm, f) => ({ result: await crm.deals.remove((await crm.deals.create({ title: fresh("R "), amount: eur(1), contactId: f.contact.id })).id), void: true }),
    list: async (crm) => ({ result: await crm.deals.list(), schema: page(Deal.Deal) }),
    sendQuote: async (crm, f) => ({ result: await crm.deals.sendQuote(f.deal.id, { quoteRef: fresh("Q-") }), schema: Schema.Struct({ deal: Deal.Deal, event: Events.EmitResult }) }),
    followUp: async (crm, f) => ({ result: await crm.deals.followUp(f.deal.id, { channel: "email", templateId: f.template.id, idempotencyKey: fresh("fu") }) }),
    weightedPipeline: async (crm) => ({ result: await crm.deals.weightedPipeline() }),
    forecast: async (crm) => ({ result: await crm.deals.forecast() }),
    floorCheck: async (crm) => ({ result: await crm.deals.floorCheck() }),
    stale: async (crm) => ({ result: await crm.deals.stale(), schema: page(Schema.Struct({ deal: Deal.Deal, idleDays: Schema.Number })) })
  },
  tasks: {
    create: async (crm) => ({ result: await crm.tasks.create({ title: fresh("Task "), dueAt: "2030-01-02T09:00:00Z", channel: "letter" }), schema: Task.Task }),
    get: async (crm, f) => ({ result: await crm.tasks.get(f.task.id), schema: Task.Task }),
    update: async (crm, f) => {
      const current = await crm.tasks.get(f.task.id)
      return { result: await crm.tasks.update(f.task.id, { expectedVersion: current.version, title: "Call back" }), schema: Task.Task }
    },
    complete: async (crm) => {
      const task = await crm.tasks.create({ title: fresh("Done "), dueAt: "2030-01-02T09:00:00Z", channel: "call" })
      return { result: await crm.tasks.complete(task.id), schema: Task.Task }
    },
    reopen: async (crm) => {
      const task = await crm.tasks.create({ title: fresh("Again "), dueAt: "2030-01-02T09:00:00Z", channel: "call" })
      await crm.tasks.complete(task.id)
      return { result: await crm.tasks.reopen(task.id), schema: Task.Task }
    },
    list: async (crm) => ({ result: await crm.tasks.list(), schema: page(Task.Task) })
  },
  templates: {
    create: async (crm) => ({ result: await crm.templates.create({ name: fresh("T "), subject: "Hi", text: "Hello" }), schema: Template.Template }),
    get: async (crm, f) => ({ result: await crm.templates.get(f.template.id), schema: Template.Template }),
    update: async (crm, f) => {
      const current = await crm.templates.get(f.template.id)
      return { result: await crm.templates.update(f.template.id, { expectedVersion: current.version, subject: "Hello {{ contact.firstName }}" }), schema: Template.Template }
    },
    remove: async (crm) => ({ result: await crm.templates.remove((await crm.templates.create({ name: fresh("Gone "), subject: "Hi", text: "x" })).id), void: true }),
    list: async (crm) => ({ result: await crm.templates.list(), schema: Schema.Array(Template.Template) }),
    check: async (crm) => ({ result: await crm.templates.check({ name: "Check", subject: "FREE!!!", text: "Hello {{ contact.nope }}" }), schema: Templates.TemplateReview }),
    preview: async (crm, f) => ({ result: await crm.templates.preview(f.template.id, { contactId: f.contact.id, event: "order.placed" }), schema: Templates.TemplatePreview }),
    setLocale: async (crm, f) => ({ result: await crm.templates.setLocale(f.template.id, "fr", { subject: "Bonjour", text: "Bonjour {{ contact.firstName }}" }), schema: Template.TemplateVariant }),
    removeLocale: async (crm, f) => {
      await crm.templates.setLocale(f.template.id, "de", { subject: "Hallo", text: "Hallo" })
      return { result: await crm.templates.removeLocale(f.template.id, "de"), void: true }
    },
    locales: async (crm, f) => ({ result: await crm.templates.locales(f.template.id), schema: Schema.Array(Template.TemplateVariant) })
  },
  rules: {
    create: async (crm) => ({ result: await crm.rules.create({ name: fresh("Rule "), on: "page.viewed", actions: [{ type: "addTag", tag: "seen" }] }), schema: Rule.Rule }),
    get: async (crm, f) => ({ result: await crm.rules.get(f.rule.id), schema: Rule.Rule }),
    update: async (crm, f) => {
      const current = await crm.rules.get(f.rule.id)
      return { result: await crm.rules.update(f.rule.id, { expectedVersion: current.version, name: "Welcome!" }), schema: Rule.Rule }
    },
    enable: async (crm, f) => ({ result: await crm.rules.enable(f.rule.id), schema: Rule.Rule }),
    disable: async (crm) => ({ result: await crm.rules.disable((await crm.rules.create({ name: fresh("Off "), on: "x.y", actions: [{ type: "addTag", tag: "t" }] })).id), schema: Rule.Rule }),
    remove: async (crm) => ({ result: await crm.rules.remove((await crm.rules.create({ name: fresh("Gone "), on: "x.y", actions: [{ type: "addTag", tag: "t" }] })).id), void: true }),
    list: async (crm) => ({ result: await crm.rules.list(), schema: Schema.Array(Rule.Rule) }),
    stats: async (crm, f) => ({ result: await crm.rules.stats(f.rule.id), schema: Rules.RuleStats }),
    simulate: async (crm, f) => ({ result: await crm.rules.simulate({ event: { type: "signed.up", contactId: f.contact.id } }), schema: Rules.Simulation })
  },
  dispatcher: {
    runDue: async (crm) => ({ result: await crm.dispatcher.runDue() }),
    start: async (crm) => {
      const running = crm.dispatcher.start()
      return { result: await running.stop(), void: true }
    },
    nextDue: async (crm) => ({ result: await crm.dispatcher.nextDue() }),
    jobs: async (crm) => ({ result: await crm.dispatcher.jobs(), schema: page(Job.Job) }),
    retry: async (crm, f) => ({ result: await crm.dispatcher.retry(f.job.id) })
  },
  consent: {
    grant: async (crm, f) => ({ result: await crm.consent.grant(f.contact.id) }),
    withdraw: async (crm, f) => ({ result: await crm.consent.withdraw(f.contact.id) }),
    status: async (crm, f) => ({ result: await crm.consent.status(f.contact.id) }),
    unsubscribeUrl: async (crm, f) => ({ result: await crm.consent.unsubscribeUrl(f.contact.id) }),
    unsubscribe: async (crm, f) => {
      const url = new URL(await crm.consent.unsubscribeUrl(f.contact.id))
      return { result: await crm.consent.unsubscribe(url.searchParams.get("token")!) }
    },
    verifyUnsubscribeToken: async (crm, f) => {
      const url = new URL(await crm.consent.unsubscribeUrl(f.contact.id))
      return { result: await crm.consent.verifyUnsubscribeToken(url.searchParams.get("token")!) }
    },
    request: async (crm) => ({ result: await crm.consent.request((await crm.contacts.create({ email: `${fresh("optin")}@example.com` })).id) }),
    confirm: async (crm) => ({ result: await crm.consent.confirm(await confirmationToken(crm), { ip: "192.0.2.1", userAgent: "Test" }) }),
    verifyConfirmationToken: async (crm) => ({ result: await crm.consent.verifyConfirmationToken(await confirmationToken(crm)) }),
    recordMailFeedback: async (crm, f) => ({ result: await crm.consent.recordMailFeedback({ type: "bounced", kind: "soft", email: f.contact.email! }) }),
    clearBounce: async (crm, f) => ({ result: await crm.consent.clearBounce(f.contact.email!) }),
    export: async (crm, f) => ({ result: await crm.consent.export(f.contact.id) }),
    erase: async (crm) => ({ result: await crm.consent.erase((await crm.contacts.create({ email: `${fresh("erase")}@example.com` })).id) })
  },
  apiKeys: {
    create: async (crm) => ({ result: await crm.apiKeys.create({ name: fresh("key "), role: "sales" }), schema: ApiKey.CreatedApiKey }),
    list: async (crm) => ({ result: await crm.apiKeys.list(), schema: Schema.Array(ApiKey.ApiKey) }),
    revoke: async (crm) => ({ result: await crm.apiKeys.revoke((await crm.apiKeys.create({ name: fresh("gone "), role: "admin" })).key.id), schema: ApiKey.ApiKey }),
    verify: async (crm) => ({ result: await crm.apiKeys.verify((await crm.apiKeys.create({ name: fresh("v "), role: "read-only" })).secret), schema: ApiKey.VerifiedApiKey })
  },
  inboundWebhooks: {
    create: async (crm) => ({ result: await crm.inboundWebhooks.create({ provider: "shopify", secrets: ["s3cret"] }), schema: InboundWebhook.InboundWebhook }),
    list: async (crm) => ({ result: await crm.inboundWebhooks.list(), schema: Schema.Array(InboundWebhook.InboundWebhook) }),
    get: async (crm, f) => ({ result: await crm.inboundWebhooks.get(f.source), schema: InboundWebhook.InboundWebhook }),
    update: async (crm, f) => ({ result: await crm.inboundWebhooks.update(f.source, { secrets: ["s3cret", "older"] }), schema: InboundWebhook.InboundWebhook }),
    remove: async (crm) => ({ result: await crm.inboundWebhooks.remove((await crm.inboundWebhooks.create({ provider: "woocommerce", secrets: ["w"] })).source), void: true }),
    verify: async (crm) => {
      const body = new TextEncoder().encode("{}")
      const headers = { "x-wc-webhook-signature": WebhookSignature.hmacBase64("w", body), "x-wc-webhook-delivery-id": "d-1" }
      return { result: await crm.inboundWebhooks.verify({ provider: "woocommerce", secrets: ["w"], headers, body }) }
    },
    receive: async (crm, f) => {
      const body = new TextEncoder().encode(JSON.stringify({ type: "signed.up", email: "ada@example.com" }))
      const headers = { "x-shopify-hmac-sha256": WebhookSignature.hmacBase64("s3cret", body), "x-shopify-webhook-id": fresh("d-"), "x-shopify-topic": "orders/create" }
      // The body is already an event: a host mapper hands it on.
      const receipt = await crm.inboundWebhooks.receive({ source: f.source, headers, body }, { mappers: { [f.source]: (payload) => payload as { type: string; email: string } } })
      return { result: receipt, schema: InboundWebhook.WebhookReceipt }
    }
  },
  // Subscriptions to a closed port on loopback (allowed here): an attempt fails at once, no DNS.
  webhooks: {
    create: async (crm) => ({ result: await crm.webhooks.create(closedPort(["import.finished"])), schema: OutboundWebhook.SubscriptionWithSecret }),
    list: async (crm) => ({ result: await crm.webhooks.list(), schema: page(OutboundWebhook.Subscription) }),
    get: async (crm) => ({ result: await crm.webhooks.get((await crm.webhooks.create(closedPort(["deal.won"]))).subscription.id), schema: OutboundWebhook.Subscription }),
    update: async (crm) => {
      const { subscription } = await crm.webhooks.create(closedPort(["deal.lost"]))
      return { result: await crm.webhooks.update(subscription.id, { description: "ERP", expectedVersion: subscription.version }), schema: OutboundWebhook.Subscription }
    },
    rotateSecret: async (crm) => ({
      result: await crm.webhooks.rotateSecret((await crm.webhooks.create(closedPort(["deal.won"]))).subscription.id),
      schema: OutboundWebhook.SubscriptionWithSecret
    }),
    remove: async (crm) => ({ result: await crm.webhooks.remove((await crm.webhooks.create(closedPort(["deal.won"]))).subscription.id), void: true }),
    deliveries: async (crm) => {
      const id = await deadMessage(crm)
      return { result: await crm.webhooks.deliveries(id), schema: page(OutboundWebhook.Delivery) }
    },
    redeliver: async (crm) => {
      const id = await deadMessage(crm)
      const [delivery] = (await crm.webhooks.deliveries(id)).items
      return { result: await crm.webhooks.redeliver(delivery!.id), schema: Job.Job }
    },
    importFinished: async (crm) => ({ result: await crm.webhooks.importFinished({ rowsRead: 2, created: 1, updated: 0, skipped: 1, rejected: 0 }) })
  },
  setup: {
    apply: async (crm) => ({ result: await crm.setup.apply({ fields: [{ key: fresh("setup"), type: "text" }], templates: [{ key: fresh("t"), name: "T", subject: "S", text: "Hi" }] }), schema: Setup.SetupResult }),
    plan: async (crm) => ({ result: await crm.setup.plan({ pipelines: [{ name: fresh("Pipe ") }] }), schema: Setup.SetupResult })
  },
  imports: {
    create: async (crm) => ({ result: await crm.imports.create({ fileName: "salon.csv", options: { policy: "update" } }), schema: ImportRun.ImportRun }),
    get: async (crm) => ({ result: await crm.imports.get((await crm.imports.create()).id), schema: ImportRun.ImportRun }),
    list: async (crm) => ({ result: await crm.imports.list({ limit: 2 }), schema: page(ImportRun.ImportRun) }),
    start: async (crm) => ({ result: await crm.imports.start((await crm.imports.create()).id), schema: ImportRun.ImportRun }),
    progress: async (crm) => ({
      result: await crm.imports.progress((await crm.imports.create()).id, { rowsRead: 3, created: 2, updated: 0, skipped: 1, rejected: 0 }),
      schema: ImportRun.ImportRun
    }),
    heartbeat: async (crm) => ({ result: await crm.imports.heartbeat((await crm.imports.create()).id), schema: ImportRun.ImportRun }),
    finish: async (crm) => ({
      result: await crm.imports.finish((await crm.imports.create()).id, { rowsRead: 1, created: 1, rejections: [{ line: 2, reason: "no email" }] }),
      schema: ImportRun.ImportRun
    }),
    fail: async (crm) => ({ result: await crm.imports.fail((await crm.imports.create()).id, { code: "IMPORT_EMPTY", message: "The file is empty" }), schema: ImportRun.ImportRun })
  },
  orders: {
    get: async (crm, f) => {
      const orderId = fresh("order-")
      await crm.events.emit({ type: "order.placed", contactId: f.contact.id, payload: { orderId, lines: [line("A", 2, 1250)] } })
      await crm.events.emit({ type: "order.refunded", contactId: f.contact.id, payload: { orderId, amount: eur(500) } })
      return { result: await crm.orders.get(orderId), schema: Order.Order }
    },
    list: async (crm, f) => ({ result: await crm.orders.list({ contactId: f.contact.id, limit: 2 }), schema: page(Order.Order) }),
    summary: async (crm, f) => ({ result: await crm.orders.summary(f.contact.id), schema: Order.OrderSummary })
  },
  analytics: {
    topCustomers: async (crm, f) => {
      await crm.events.emit({ type: "order.placed", contactId: f.contact.id, occurredAt: "2026-03-02T00:00:00Z", payload: { orderId: fresh("order-"), lines: [line("A", 2, 1250)] } })
      return { result: await crm.analytics.topCustomers({ from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z" }), schema: Schema.Array(Analytics.CustomerFigures) }
    },
    topProducts: async (crm) => ({ result: await crm.analytics.topProducts({ from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", limit: 3 }), schema: Schema.Array(Analytics.ProductFigures) }),
    channels: async (crm) => {
      await crm.analytics.recordSpend({ channel: "web", month: "2026-01", amount: eur(1000) })
      return { result: await crm.analytics.channels({ from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z" }), schema: Schema.Array(Analytics.ChannelFigures) }
    },
    recordSpend: async (crm) => ({ result: await crm.analytics.recordSpend({ channel: "fair", campaign: "spring", month: "2026-02", amount: eur(500) }), schema: Analytics.RecordedSpend }),
    funnel: async (crm) => ({ result: await crm.analytics.funnel(), schema: Schema.Array(Analytics.FunnelStage) }),
    avatar: async (crm) => ({ result: await crm.analytics.avatar(), schema: Analytics.AvatarReport }),
    rules: async (crm) => ({ result: await crm.analytics.rules(), schema: Schema.Array(Analytics.RuleVariantFigures) })
  },
  campaigns: {
    create: async (crm) => ({ result: await newCampaign(crm), schema: Campaign.Campaign }),
    get: async (crm) => ({ result: await crm.campaigns.get((await newCampaign(crm)).id), schema: Campaign.Campaign }),
    getByKey: async (crm) => {
      const key = fresh("campaign-")
      await newCampaign(crm, key)
      return { result: await crm.campaigns.getByKey(key), schema: Campaign.Campaign }
    },
    list: async (crm) => ({ result: await crm.campaigns.list({ limit: 2 }), schema: page(Campaign.Campaign) }),
    send: async (crm) => ({ result: await crm.campaigns.send((await newCampaign(crm)).id, { at: "2030-01-01T00:00:00Z" }), schema: Campaign.Campaign }),
    cancel: async (crm) => ({ result: await crm.campaigns.cancel((await newCampaign(crm)).id), schema: Campaign.Campaign }),
    stats: async (crm) => ({ result: await crm.campaigns.stats((await newCampaign(crm)).id), schema: Campaign.CampaignStats })
  },
  snapshots: {
    takeSnapshot: async (crm) => ({ result: await crm.snapshots.takeSnapshot(), schema: Snapshots.SnapshotTaken }),
    pipelineHistory: async (crm) => {
      await crm.snapshots.takeSnapshot()
      return { result: await crm.snapshots.pipelineHistory({ from: "2020-01-01", to: "2029-12-31" }), schema: Schema.Array(Snapshots.PipelineDay) }
    },
    refreshRfm: async (crm) => ({ result: await crm.snapshots.refreshRfm(), schema: Snapshots.RfmRefresh }),
    rfm: async (crm, f) => {
      await crm.events.emit({ type: "order.placed", contactId: f.contact.id, payload: { orderId: fresh("order-"), lines: [line("A", 1, 900)] } })
      await crm.snapshots.refreshRfm()
      return { result: await crm.snapshots.rfm(f.contact.id), schema: Schema.NullOr(Snapshots.RfmScores) }
    },
    rfmDistribution: async (crm) => ({ result: await crm.snapshots.rfmDistribution(), schema: Snapshots.RfmDistribution })
  },
  segments: {
    create: async (crm) => ({ result: await crm.segments.create({ name: fresh("Segment "), condition: { path: "contact.tags", op: "contains", value: "vip" } }), schema: Segment.Segment }),
    update: async (crm) => {
      const made = await crm.segments.create({ name: fresh("Segment "), condition: { all: [] } })
      return { result: await crm.segments.update(made.id, { description: "All", expectedVersion: 1 }), schema: Segment.Segment }
    },
    get: async (crm) => ({ result: await crm.segments.get((await crm.segments.create({ name: fresh("Segment "), condition: { any: [] } })).id), schema: Segment.Segment }),
    list: async (crm) => ({ result: await crm.segments.list(), schema: Schema.Array(Segment.Segment) }),
    remove: async (crm) => ({ result: await crm.segments.remove((await crm.segments.create({ name: fresh("Segment "), condition: { all: [] } })).id), void: true }),
    count: async (crm) => ({ result: await crm.segments.count({ condition: { path: "contact.email", op: "exists" } }) }),
    members: async (crm) => ({ result: await crm.segments.members({ condition: { path: "contact.email", op: "exists" } }, { limit: 2 }), schema: page(Contact.Contact) })
  }
}

/** A draft campaign of a fresh marketing template to the contacts tagged `vip`. */
async function newCampaign(crm: CrmClient, key?: string) {
  const template = await crm.templates.create({ name: fresh("Promo "), purpose: "marketing", subject: "News", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
  return crm.campaigns.create({ ...(key === undefined ? {} : { key }), name: "News", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } } })
}

function closedPort(eventTypes: ReadonlyArray<"import.finished" | "deal.won" | "deal.lost" | "contact.created">) {
  return { url: "http://127.0.0.1:9/hooks", eventTypes: [...eventTypes] as [typeof eventTypes[number]], allowPrivateNetwork: true }
}

/** A subscription whose one message failed its only attempt (dead): its delivery log has one entry. */
async function deadMessage(crm: CrmClient) {
  const { subscription } = await crm.webhooks.create(closedPort(["contact.created"]))
  await crm.contacts.create({ email: `${fresh("w")}@example.com` })
  await crm.dispatcher.runDue({ maxAttempts: 1 })
  return subscription.id
}

describe("every Promise client method returns plain JSON", () => {
  let crm: CrmClient
  let fixture: Fixture
  beforeAll(async () => {
    crm = await createCrm({
      storage: memoryStorage(),
      mailer: { layer: Mailers.capturingLayer },
      mail: {
        from: "shop@example.com",
        unsubscribe: { url: "https://shop.example/unsubscribe?token={token}", secret: "s3cret-s3cret-s3cret" },
        confirmation: { url: "https://shop.example/consent/confirm?token={token}" }
      }
    })
    fixture = await makeFixture(crm)
  })
  afterAll(() => crm.close())

  it("the table calls every method of the client, and only those", () => {
    const onClient = Object.entries(crm)
      // A namespace may itself be callable (crm.setup(…), with setup.apply and setup.plan).
      .filter(([, v]) => (typeof v === "object" && v !== null) || typeof v === "function")
      .flatMap(([ns, methods]) => Object.keys(methods as object).map((m) => `${ns}.${m}`))
    const inTable = Object.entries(calls).flatMap(([ns, methods]) => Object.keys(methods).map((m) => `${ns}.${m}`))
    // What the table misses and what it names that the client has not, so that a failure says which.
    expect({ missing: onClient.filter((m) => !inTable.includes(m)), extra: inTable.filter((m) => !onClient.includes(m)) }).toEqual({ missing: [], extra: [] })
    expect(onClient.length).toBeGreaterThan(80)
  })

  for (const [ns, methods] of Object.entries(calls)) {
    for (const [method, call] of Object.entries(methods as Record<string, (crm: CrmClient, f: Fixture) => Promise<Outcome>>)) {
      it(`${ns}.${method}`, async () => {
        const outcome = await call(crm, fixture)
        const { result, schema } = outcome
        expect(notJson(outcome.void === true ? null : result, `${ns}.${method}()`)).toBeUndefined()
        expect(result === undefined).toBe(outcome.void === true)
        if (schema !== undefined) expect(Schema.encodeSync(schema)(Schema.decodeUnknownSync(schema)(result))).toEqual(result)
      })
    }
  }
})
