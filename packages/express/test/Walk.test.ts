// Walks every route of the OpenAPI document: as a caller of workspace A with the ids of workspace
// B (every route refuses, nothing of B changes), and as a read-only caller of A on every write
// (403, nothing of A changes). New routes are walked as soon as they are in the document.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

interface Operation {
  readonly method: string
  readonly path: string
  readonly action: string
  readonly write: boolean
  readonly versioned: boolean
  /** Behind `authorize` (its answers include 403); signed webhooks are not. */
  readonly authorized: boolean
}

const operations = async (): Promise<ReadonlyArray<Operation>> => {
  const spec = (await api.request("GET", "/openapi.json")).body
  return Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      action: operation["x-rapport-action"] as string,
      write: method !== "get" && operation["x-rapport-access"] !== "read",
      versioned: (operation.parameters ?? []).some((p: { name: string }) => p.name === "If-Match"),
      authorized: "403" in (operation.responses ?? {})
    }))
  )
}

// Records of a workspace, made through the Promise client, and everything that can be read of it.
const seed = async (workspace: string) => {
  const crm = api.crm.workspace(workspace)
  const contact = await crm.contacts.create({ email: `one@${workspace}.example`, firstName: "One" })
  const other = await crm.contacts.create({ email: `two@${workspace}.example` })
  const company = await crm.companies.create({ name: `Co ${workspace}` })
  const pipeline = await crm.pipelines.create({ name: `Pipe ${workspace}` })
  const deal = await crm.deals.create({ title: "Deal", amount: { amountMinor: 1000, currency: "EUR" }, contactId: contact.id })
  const task = await crm.tasks.create({ title: "Task", dueAt: "2025-02-01T09:00:00Z", channel: "call", contactId: contact.id })
  const template = await crm.templates.create({ name: "T", subject: "Hi", text: "Hello" })
  await crm.templates.setLocale(template.id, "fr", { subject: "Salut", text: "Bonjour" })
  const rule = await crm.rules.create({ id: `rule-${workspace}`, name: "R", on: "page.viewed", actions: [{ type: "sendEmail", template: template.id }] })
  const field = await crm.fields.define({ key: "code", type: "text" })
  const event = await crm.events.emit({ id: `event-${workspace}`, type: "page.viewed", contactId: contact.id, payload: { url: "/x" } })
  const job = (await crm.dispatcher.jobs()).items[0]!
  const key = await crm.apiKeys.create({ name: `key ${workspace}`, role: "sales" })
  const source = await crm.inboundWebhooks.create({ source: `shop-${workspace}`, provider: "shopify", secrets: [`shpss_${workspace}-secret`] })
  const imported = await crm.imports.create({ fileName: "walk.csv" })
  const promo = await crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' })
  const campaign = await crm.campaigns.create({ name: "Walk", templateId: promo.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } } })
  const segment = await crm.segments.create({ name: `Walk ${workspace}`, condition: { path: "contact.tags", op: "contains", value: "vip" } })
  const order = `order-${workspace}`
  await crm.events.emit({ type: "order.placed", contactId: contact.id, payload: { orderId: order, lines: [{ sku: "W", name: "Walk", quantity: 1, unitPrice: { amountMinor: 100, currency: "EUR" } }] } })
  // A subscription whose one delivery attempt failed (nothing listens on port 1): a delivery to name.
  const { subscription } = await crm.webhooks.create({ url: "http://127.0.0.1:1/hooks", eventTypes: ["contact.created"], allowPrivateNetwork: true })
  await crm.contacts.create({ email: `three@${workspace}.example` })
  await crm.dispatcher.runDue()
  const delivery = (await crm.webhooks.deliveries(subscription.id)).items[0]!
  const ids: Record<string, string> = {
    contactId: contact.id,
    keepId: contact.id,
    companyId: company.id,
    pipelineId: pipeline.id,
    dealId: deal.id,
    taskId: task.id,
    templateId: template.id,
    locale: "fr",
    ruleId: rule.id,
    jobId: job.id,
    eventId: event.event.id,
    entity: field.entity,
    key: field.key,
    keyId: key.key.id,
    source: source.source,
    subscriptionId: subscription.id,
    deliveryId: delivery.id,
    importId: imported.id,
    campaignId: campaign.id,
    segmentId: segment.id,
    orderId: order
  }
  const snapshot = async () =>
    JSON.stringify({
      contacts: await crm.contacts.list({ limit: 500 }),
      companies: await crm.companies.list({ limit: 500 }),
      pipelines: await crm.pipelines.list(),
      deals: await crm.deals.list({ limit: 500 }),
      tasks: await crm.tasks.list({ limit: 500 }),
      templates: await crm.templates.list(),
      templateLocales: await crm.templates.locales(template.id),
      rules: await crm.rules.list(),
      segments: await crm.segments.list(),
      fields: await crm.fields.list(),
      jobs: await crm.dispatcher.jobs({ limit: 500 }),
      timeline: await crm.timeline.feed({ limit: 500 }),
      consent: await crm.consent.status(contact.id),
      settings: await crm.settings.get(),
      apiKeys: await crm.apiKeys.list(),
      sources: await crm.inboundWebhooks.list(),
      subscriptions: await crm.webhooks.list(),
      deliveries: await crm.webhooks.deliveries(subscription.id),
      imports: await crm.imports.list(),
      campaigns: await crm.campaigns.list({ limit: 500 }),
      orders: await crm.orders.list({ limit: 200 })
    })
  return { ids, other: other.id, snapshot }
}

// Enough of a body for each write to reach its record (the path's or one named in the body).
const bodyFor = (operation: Operation, ids: Record<string, string>, other: string): unknown => {
  switch (operation.action) {
    case "contacts.merge":
      return { mergeId: other }
    case "lifecycle.move":
      return { stage: "prospect", reason: "walk" }
    case "deals.move":
      return { stage: "won" }
    case "deals.followUp":
      return { channel: "call", note: "walk" }
    case "deals.create":
      return { title: "X", amount: { amountMinor: 1, currency: "EUR" }, contactId: ids.contactId }
    case "tasks.create":
      return { title: "X", dueAt: "2025-02-01T09:00:00Z", channel: "call", contactId: ids.contactId }
    case "timeline.log":
      return { contactId: ids.contactId, kind: "note", summary: "walk" }
    case "templates.preview":
      return { contactId: ids.contactId }
    case "templates.setLocale":
      return { subject: "walk", text: "walk" }
    case "events.emit":
      return { type: "page.viewed", contactId: ids.contactId, payload: { url: "/walk" } }
    case "events.emitMany":
      return [{ type: "page.viewed", contactId: ids.contactId, payload: { url: "/walk" } }]
    default:
      return operation.write ? {} : undefined
  }
}

const fill = (path: string, ids: Record<string, string>) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(ids[name] ?? `unknown-${name}`))

// Routes that name a record of B in their body, not in their path.
const bodyReferences = new Set(["deals.create", "tasks.create", "timeline.log", "events.emit", "events.emitMany"])

describe("the OpenAPI document walked", () => {
  it("a caller of workspace A with the ids of workspace B: every route naming a record of B answers 404, and B does not change", async () => {
    const b = await seed("ws-b")
    const before = await b.snapshot()
    const unexpected: Array<string> = []
    const unseeded: Array<string> = []
    let walked = 0
    for (const operation of await operations()) {
      const params = [...operation.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)
      if (params.length === 0 && !bodyReferences.has(operation.action)) continue
      const json = bodyFor(operation, b.ids, b.other)
      const answer = await api.request(operation.method, fill(operation.path, b.ids), {
        as: "admin-a",
        ...(json === undefined ? {} : { json }),
        ...(operation.versioned ? { headers: { "if-match": '"1"' } } : {})
      })
      const seen = `${operation.method} ${operation.path} ${answer.status} ${answer.body?.code ?? ""}`
      if (params.some((p) => b.ids[p] === undefined)) {
        // A route whose ids this walk has no fixture for: add them to seed.
        unseeded.push(seen)
        continue
      }
      walked++
      // A path naming B's record is not found; a body naming B's contact is invalid input at /contactId.
      // A public route (inbound webhooks: the signature is the proof, not the caller) refuses the
      // unsigned request; the others do not find B's record.
      const refused = !operation.authorized
        ? answer.status >= 400 && answer.status < 500
        : params.length > 0
        ? answer.status === 404 && answer.body?.code === "NOT_FOUND"
        : answer.status === 404 || (answer.status === 400 && answer.body?.errors?.some((e: { pointer: string }) => /^(\/\d+)?\/contactId$/.test(e.pointer)))
      if (!refused) unexpected.push(seen)
    }
    expect(unexpected).toEqual([])
    expect(unseeded).toEqual([])
    expect(walked).toBeGreaterThan(40)
    expect(await b.snapshot()).toBe(before)
  })

  it("a read-only caller is refused every write with 403, and nothing changes", async () => {
    const a = await seed("ws-a")
    const before = await a.snapshot()
    const refused: Array<string> = []
    const writes = (await operations()).filter((o) => o.write && o.authorized)
    for (const operation of writes) {
      const json = bodyFor(operation, a.ids, a.other)
      const answer = await api.request(operation.method, fill(operation.path, a.ids), { as: "reader-a", ...(json === undefined ? {} : { json }) })
      if (answer.status !== 403 || answer.body?.code !== "FORBIDDEN") refused.push(`${operation.method} ${operation.path} answered ${answer.status}`)
    }
    expect(refused).toEqual([])
    expect(writes.length).toBeGreaterThan(40)
    expect(await a.snapshot()).toBe(before)
  })
})
