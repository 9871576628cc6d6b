// The quickstart story: a wine merchant selling to restaurants and wine shops, online and at
// trade shows. It defines its custom
// fields, meets contacts through three channels, sends quotes, takes orders, reads back where
// everyone stands and why, and weighs its quotes into the pipeline figure against its floor. Every step is idempotent (fixed event ids, find-or-create), so running
// the demo again on the same database changes nothing and says so.
import { type ContactCreate, type CrmClient, type EmitInput, type FieldDefinitionInput, RapportNotFoundError, type RuleCreate, type TemplateCreate } from "@rapport/core"

export interface DemoReport {
  readonly stageCounts: ReadonlyArray<{ readonly stage: string; readonly count: number }>
  readonly moves: ReadonlyArray<string>
  readonly duplicates: number
  /** Weighted value (minor units) per deal stage, in pipeline order. */
  readonly weightedByStage: ReadonlyArray<{ readonly stage: string; readonly count: number; readonly weighted: number }>
  readonly floor: { readonly below: boolean; readonly weighted: number; readonly shortfall: number }
  /** Mails the rules sent (recipient and subject), and the reasons of those they held back. */
  readonly mails: ReadonlyArray<{ readonly to: string; readonly subject: string; readonly rule: string }>
  readonly heldBack: ReadonlyArray<{ readonly rule: string; readonly reason: string }>
}

/**
 * Mail settings of the demo: marketing mail carries a signed unsubscribe link, so it needs a URL
 * (the shop's unsubscribe page) and a secret to sign with. Keep a real secret out of the code.
 */
export const demoMail = {
  from: "Cave Lumière <bonjour@cave-lumiere.example>",
  unsubscribe: {
    url: "https://cave-lumiere.example/unsubscribe?token={token}",
    secret: process.env["RAPPORT_UNSUBSCRIBE_SECRET"] ?? "quickstart-demo-secret"
  }
}

const templates: ReadonlyArray<TemplateCreate> = [
  {
    name: "Order confirmation",
    purpose: "transactional",
    subject: "Votre commande {{ event.payload.orderId }} est confirmée",
    text: "Bonjour {{ contact.firstName | \"\" }},\n\nMerci pour votre commande {{ event.payload.orderId }}. Nous la préparons.\n\nCave Lumière"
  },
  {
    name: "Cart reminder",
    purpose: "marketing",
    subject: "{{ contact.firstName | \"Bonjour\" }}, votre panier vous attend",
    html: '<p>Vos vins vous attendent dans le panier {{ event.payload.cartId }}.</p><p><a href="{{ unsubscribeUrl }}">Se désabonner</a></p>',
    text: "Vos vins vous attendent dans le panier {{ event.payload.cartId }}.\nSe désabonner : {{ unsubscribeUrl }}"
  }
]

/** The shop's two rules: a confirmation for every order, and a reminder the day after a cart is left, unless the customer ordered meanwhile. */
const rules = (templateIds: ReadonlyMap<string, string>): ReadonlyArray<RuleCreate> => [
  {
    id: "order-confirmation",
    name: "Order confirmation",
    on: "order.placed",
    actions: [{ type: "sendEmail", template: templateIds.get("Order confirmation")!, transactional: true }]
  },
  {
    id: "abandoned-cart",
    name: "Cart reminder at D+1",
    on: "cart.abandoned",
    delay: "1 day",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 },
    limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", template: templateIds.get("Cart reminder")! }]
  }
]

/** Templates and rules, created once (recognised by name and id when the demo runs again). */
const setUpRules = async (crm: CrmClient) => {
  const existing = new Map((await crm.templates.list()).map((t) => [t.name, t.id]))
  for (const template of templates) if (!existing.has(template.name)) existing.set(template.name, (await crm.templates.create(template)).id)
  for (const rule of rules(existing)) {
    await crm.rules.get(rule.id!).catch((error: unknown) => (error instanceof RapportNotFoundError ? crm.rules.create(rule) : Promise.reject(error)))
  }
}

/** Runs the outbox and reports what the rules did: the mails sent, and those held back with why. */
const runRules = async (crm: CrmClient, log: (line: string) => void) => {
  await crm.dispatcher.runDue()
  const jobs = (await crm.dispatcher.jobs({ status: ["done", "skipped"], limit: 500 })).items
  const mails = jobs.flatMap((j) => (j.status === "done" && j.action?.type === "sendEmail" ? [{ to: String(j.outcome?.["to"]), subject: String(j.outcome?.["subject"]), rule: j.ruleId }] : []))
  const heldBack = jobs.flatMap((j) => (j.status === "skipped" ? [{ rule: j.ruleId, contactId: j.contactId, reason: String(j.outcome?.["reason"]) }] : []))
  log("")
  log("Rules: mails sent by the outbox (dispatcher.runDue)")
  for (const mail of mails) log(`  ${mail.rule.padEnd(19)} to ${mail.to.padEnd(34)} ${mail.subject}`)
  for (const held of heldBack) {
    const contact = await crm.contacts.get(held.contactId)
    log(`  ${held.rule.padEnd(19)} not sent to ${contact.email ?? contact.id}: ${held.reason}`)
  }
  return { mails, heldBack: heldBack.map(({ rule, reason }) => ({ rule, reason })) }
}

const euros = (amountMinor: number) => new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" }).format(amountMinor / 100)

/** The quotes of the story, created once (recognised by their reference when the demo runs again). */
const runPipeline = async (crm: CrmClient, contacts: { claire: string; bruno: string; ada: string }, log: (line: string) => void) => {
  if ((await crm.pipelines.list()).length === 0) {
    await crm.pipelines.create({ name: "Restaurants & shops", floor: { amountMinor: 800_000, currency: "EUR" } })
  }
  const known = new Set((await crm.deals.list({ limit: 500 })).items.map((d) => d.quoteRef))
  const quote = async (input: Parameters<CrmClient["deals"]["create"]>[0]) => (known.has(input.quoteRef ?? null) ? undefined : crm.deals.create(input))

  const restock = await quote({ title: "Spring restock", amount: { amountMinor: 186_000, currency: "EUR" }, contactId: contacts.claire, stage: "proposalReview", quoteRef: "Q-2025-014", ownerId: "sales:lea", expectedCloseDate: "2025-02-15" })
  if (restock !== undefined) await crm.deals.win(restock.id, { note: "Ordered 60 bottles (B-2001)", at: "2025-02-03T10:00:00+01:00" })
  const houseRed = await quote({ title: "House red for the bistrot", amount: { amountMinor: 240_000, currency: "EUR" }, contactId: contacts.bruno, stage: "firstContact", quoteRef: "Q-2025-021", ownerId: "sales:lea", expectedCloseDate: "2025-04-30" })
  if (houseRed !== undefined) {
    await crm.deals.followUp(houseRed.id, { channel: "call", reaction: "positive", note: "Tasting booked for next week", author: "sales:lea", at: "2025-02-20T16:00:00+01:00", next: { dueAt: "2025-02-27T10:00:00+01:00", title: "Tasting at Bistrot Bruno", channel: "meeting" } })
  }
  const sparkling = await quote({ title: "Sparkling for New Year", amount: { amountMinor: 90_000, currency: "EUR" }, contactId: contacts.bruno, quoteRef: "Q-2025-022", ownerId: "sales:lea" })
  if (sparkling !== undefined) await crm.deals.lose(sparkling.id, { reason: "chose a local producer" })
  await quote({ title: "Wedding season list", amount: { amountMinor: 450_000, currency: "EUR" }, contactId: contacts.ada, stage: "demo", quoteRef: "Q-2025-033", ownerId: "sales:marc", probability: { probability: 55, reason: "the chef tasted and loved the Chablis" }, expectedCloseDate: "2025-05-31" })
  if (!known.has("Q-2025-040")) {
    const hotel = (await crm.companies.list({ limit: 500 })).items.find((c) => c.name === "Hôtel du Parc") ?? (await crm.companies.create({ name: "Hôtel du Parc", domain: "hotel-du-parc.example" }))
    await quote({ title: "Hotel wine list", amount: { amountMinor: 1_200_000, currency: "EUR" }, companyId: hotel.id, quoteRef: "Q-2025-040", ownerId: "sales:marc", expectedCloseDate: "2025-09-30" })
  }

  const pipeline = (await crm.pipelines.list())[0]!
  const byStage = await crm.deals.weightedPipeline({ groupBy: "stage" })
  log("")
  log(`Weighted pipeline "${pipeline.name}" (amount × probability)`)
  const weightedByStage = byStage.groups.map((g) => {
    const total = g.totals[0]!
    const stage = pipeline.stages.find((s) => s.key === g.key.stage)
    log(`  ${(stage?.label ?? g.key.stage ?? "").padEnd(16)} ${String(total.count).padStart(2)} deal${total.count === 1 ? " " : "s"} ${euros(total.amount.amountMinor).padStart(13)}  at ${String(stage?.probability ?? "").padStart(3)}% → ${euros(total.weighted.amountMinor).padStart(13)}`)
    return { stage: g.key.stage ?? "", count: total.count, weighted: total.weighted.amountMinor }
  })
  const overall = byStage.totals[0]!
  log(`  ${"Total".padEnd(16)} ${String(overall.count).padStart(2)} deals ${euros(overall.amount.amountMinor).padStart(13)}          ${euros(overall.weighted.amountMinor).padStart(13)}`)
  log("  (a deal weighted by hand counts with its own probability: Ada's wedding list at 55%)")
  const floor = await crm.deals.floorCheck({ pipelineId: pipeline.id })
  // The demo set a floor above: without one, floorCheck answers floor: null.
  if (floor.floor === null || floor.weighted === null || floor.shortfall === null) throw new Error("the demo's floor is not set")
  log(
    floor.below
      ? `  Floor ${euros(floor.floor.amountMinor)}: BELOW by ${euros(floor.shortfall.amountMinor)}: time to prospect`
      : `  Floor ${euros(floor.floor.amountMinor)}: above, with ${euros(floor.weighted.amountMinor - floor.floor.amountMinor)} to spare`
  )
  const tasks = await crm.tasks.list({ status: "open" })
  for (const task of tasks.items) log(`  Next: ${task.title} (${task.channel}, due ${task.dueAt.slice(0, 10)})`)
  return { weightedByStage, floor: { below: floor.below, weighted: floor.weighted.amountMinor, shortfall: floor.shortfall.amountMinor } }
}

const fieldsToDefine: ReadonlyArray<FieldDefinitionInput> = [
  { key: "siret", label: "SIRET", type: "text", unique: true, required: { fromStage: "customer" } },
  { key: "vatNumber", label: "VAT number", type: "text", required: { fromStage: "customer" } },
  { key: "paymentTerms", label: "Payment terms", type: "select", options: ["30 days", "45 days", "60 days"], required: { fromStage: "customer" } },
  { key: "creditLimit", label: "Credit limit", type: "money" },
  { key: "birthday", label: "Birthday", type: "date" },
  { key: "favouriteColour", label: "Favourite colour", type: "select", options: ["red", "white", "rosé"] }
]

const bottle = (sku: string, name: string, quantity: number, euros: number, costEuros: number) => ({
  sku,
  name,
  quantity,
  unitPrice: { amountMinor: Math.round(euros * 100), currency: "EUR" },
  unitCost: { amountMinor: Math.round(costEuros * 100), currency: "EUR" }
})

const findOrCreate = async (crm: CrmClient, input: ContactCreate & { email: string }) =>
  (await crm.contacts.findByEmail(input.email)) ?? (await crm.contacts.create(input))

export const runDemo = async (crm: CrmClient, log: (line: string) => void): Promise<DemoReport> => {
  await crm.settings.update({ name: "Cave Lumière", timezone: "Europe/Paris" })
  const defined = new Set((await crm.fields.list("contact")).map((f) => f.key))
  for (const field of fieldsToDefine) if (!defined.has(field.key)) await crm.fields.define(field)
  await setUpRules(crm)

  // Channel 1: a business card scanned at a trade show.
  const claire = await findOrCreate(crm, {
    email: "claire.martin@cave-martin.example",
    firstName: "Claire",
    lastName: "Martin",
    phone: "+33 6 39 98 12 34",
    source: { channel: "trade-show", campaign: "Salon des Vins 2025" },
    firstSeenAt: "2025-01-08T14:30:00+01:00",
    fields: { favouriteColour: "red" }
  })
  // Channel 2: a referral, entered by hand.
  const bruno = await findOrCreate(crm, {
    email: "bruno@bistrot-bruno.example",
    firstName: "Bruno",
    lastName: "Roux",
    source: { channel: "referral", campaign: "Claire Martin" },
    firstSeenAt: "2025-02-11T09:00:00+01:00"
  })

  const events: Array<EmitInput> = [
    // Channel 3: a professional signing up on the web shop; the first event creates the contact,
    // with the company details the sign-up form asked for.
    {
      id: "web-visit-1",
      type: "page.viewed",
      email: "ada@restaurant-ada.example",
      occurredAt: "2025-01-12T20:15:00+01:00",
      payload: { url: "/vins/rouges" },
      contact: {
        firstName: "Ada",
        lastName: "Moreau",
        source: { channel: "website", campaign: "newsletter-janvier" },
        fields: { siret: "532 109 876 00014", vatNumber: "FR45532109876", paymentTerms: "30 days", favouriteColour: "red" }
      }
    },
    // Ada leaves a cart in the evening and orders the next morning: no reminder for her.
    { id: "web-cart-1", type: "cart.abandoned", email: "ada@restaurant-ada.example", occurredAt: "2025-01-12T20:40:00+01:00", payload: { cartId: "cart-881" } },
    { id: "web-order-1", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-01-13T08:05:00+01:00", payload: { orderId: "W-1001", lines: [bottle("BRG-2019", "Bourgogne 2019", 2, 24.5, 11)] } },
    { id: "web-order-2", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-02-02T18:20:00+01:00", payload: { orderId: "W-1042", lines: [bottle("CHB-2021", "Chablis 2021", 3, 19.9, 8.4)] } },
    { id: "web-order-3", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-03-01T11:00:00+01:00", payload: { orderId: "W-1107", lines: [bottle("BRG-2019", "Bourgogne 2019", 6, 24.5, 11)] } },
    // The trade-show contact gets a quote, then orders before her company details are on file.
    { id: "quote-claire-1", type: "quote.sent", contactId: claire.id, occurredAt: "2025-01-20T10:00:00+01:00", payload: { quoteRef: "Q-2025-014", amount: { amountMinor: 186000, currency: "EUR" } } },
    { id: "order-claire-1", type: "order.placed", contactId: claire.id, occurredAt: "2025-02-03T10:00:00+01:00", payload: { orderId: "B-2001", lines: [bottle("BRG-2019", "Bourgogne 2019", 60, 21, 11)] } },
    // A newsletter subscriber leaves a cart and does not come back: the reminder goes at D+1.
    {
      id: "web-visit-2",
      type: "page.viewed",
      email: "hugo@example.com",
      occurredAt: "2025-03-10T20:30:00+01:00",
      payload: { url: "/vins/blancs" },
      contact: { firstName: "Hugo", source: { channel: "website", campaign: "newsletter-mars" } }
    },
    { id: "web-cart-2", type: "cart.abandoned", email: "hugo@example.com", occurredAt: "2025-03-10T21:05:00+01:00", payload: { cartId: "cart-907" } }
  ]
  let duplicates = 0
  for (const event of events) {
    if (event.id === "web-cart-2") {
      // Hugo subscribed to the newsletter: marketing mail needs that consent.
      const hugo = await crm.contacts.findByEmail("hugo@example.com")
      if (hugo !== null && (await crm.consent.status(hugo.id)).purposes["marketing"]?.granted !== true) await crm.consent.grant(hugo.id, { source: "newsletter-form" })
    }
    const result = await crm.events.emit(event)
    if (result.duplicate) duplicates++
    else if (result.progressionBlocked !== null) {
      log(`  ${result.contact?.firstName}: cannot become ${result.progressionBlocked.stage} yet, missing ${result.progressionBlocked.missingFields.join(", ")}`)
    }
  }

  // Filling the company details a customer needs lets the lifecycle move Claire on.
  const current = await crm.contacts.get(claire.id)
  if (current.fields["siret"] === undefined) {
    const updated = await crm.contacts.update(claire.id, {
      expectedVersion: current.version,
      fields: { siret: "812 345 678 00021", vatNumber: "FR12812345678", paymentTerms: "45 days", creditLimit: { amountMinor: 500000, currency: "EUR" } }
    })
    log(`  Claire: company details filled, now ${updated.stage}`)
  }

  // The referral: a call, then a manual move with the reason kept.
  const brunoNow = await crm.contacts.get(bruno.id)
  if (brunoNow.stage === "suspect") {
    await crm.timeline.log({ contactId: bruno.id, kind: "call", summary: "Intro call: wants a house red for his bistrot", author: "sales:lea", channel: "phone", direction: "outbound", reaction: "positive", occurredAt: "2025-02-12T11:30:00+01:00" })
    await crm.lifecycle.move(bruno.id, "prospect", { reason: "Qualified on the intro call", author: "sales:lea" })
  }

  // --- The report
  const timezone = (await crm.settings.get()).timezone
  const when = new Intl.DateTimeFormat("en-GB", { timeZone: timezone, dateStyle: "medium", timeStyle: "short" })
  const people = new Map<string, string>()
  const nameOf = async (id: string) => {
    if (!people.has(id)) {
      const c = await crm.contacts.get(id)
      people.set(id, [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || id)
    }
    return people.get(id)!
  }

  log("")
  log("Contacts per stage")
  const stageCounts = await crm.contacts.countByStage()
  for (const s of stageCounts) log(`  ${s.label.padEnd(10)} ${String(s.count).padStart(3)}  ${"■".repeat(s.count)}`)

  log("")
  log("Stage moves, with their cause")
  const moves: Array<string> = []
  const changes = await crm.timeline.feed({ kinds: ["stageChange"], limit: 100 })
  for (const entry of [...changes.items].reverse()) {
    const payload = entry.payload as { from: string; to: string; cause: { kind: string; reason?: string; criterion?: string; eventId?: string | null } }
    const cause =
      payload.cause.kind === "manual"
        ? `by ${entry.author}: ${payload.cause.reason}`
        : `automatic: ${payload.cause.criterion}${payload.cause.eventId ? ` (event ${payload.cause.eventId})` : " (fields filled)"}`
    const line = `${(await nameOf(entry.contactId)).padEnd(13)} ${payload.from} → ${payload.to}`
    moves.push(line)
    log(`  ${when.format(new Date(entry.occurredAt)).padEnd(22)} ${line.padEnd(36)} ${cause}`)
  }

  log("")
  log(`Timeline of ${await nameOf(claire.id)} (newest first)`)
  const timeline = await crm.timeline.list(claire.id, { limit: 20 })
  for (const entry of timeline.items) {
    log(`  ${when.format(new Date(entry.occurredAt)).padEnd(22)} ${entry.kind.padEnd(12)} ${entry.summary}`)
  }

  log("")
  log("Contacts by acquisition channel")
  const channels = new Map<string, number>()
  for (const c of (await crm.contacts.list({ limit: 500 })).items) channels.set(c.source.channel, (channels.get(c.source.channel) ?? 0) + 1)
  for (const [channel, count] of channels) log(`  ${channel.padEnd(12)} ${count}`)

  const ada = await crm.contacts.findByEmail("ada@restaurant-ada.example")
  const pipeline = await runPipeline(crm, { claire: claire.id, bruno: bruno.id, ada: ada!.id }, log)
  const outbox = await runRules(crm, log)

  if (duplicates > 0) {
    log("")
    log(`This database already had the demo's data: ${duplicates} events were recognised by their id and not processed again.`)
  }
  return { stageCounts: stageCounts.map((s) => ({ stage: s.stage, count: s.count })), moves, duplicates, ...pipeline, ...outbox }
}
