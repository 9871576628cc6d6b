// The quickstart story: a wine merchant selling to restaurants and wine shops, online and at
// trade shows. It defines its custom
// fields, meets contacts through three channels, sends quotes, takes orders, and reads back where
// everyone stands and why. Every step is idempotent (fixed event ids, find-or-create), so running
// the demo again on the same database changes nothing and says so.
import type { ContactCreate, CrmClient, EmitInput, FieldDefinitionInput } from "@rapport/core"

export interface DemoReport {
  readonly stageCounts: ReadonlyArray<{ readonly stage: string; readonly count: number }>
  readonly moves: ReadonlyArray<string>
  readonly duplicates: number
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
    { id: "web-cart-1", type: "cart.abandoned", email: "ada@restaurant-ada.example", occurredAt: "2025-01-12T20:40:00+01:00", payload: { cartId: "cart-881" } },
    { id: "web-order-1", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-01-13T08:05:00+01:00", payload: { orderId: "W-1001", lines: [bottle("BRG-2019", "Bourgogne 2019", 2, 24.5, 11)] } },
    { id: "web-order-2", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-02-02T18:20:00+01:00", payload: { orderId: "W-1042", lines: [bottle("CHB-2021", "Chablis 2021", 3, 19.9, 8.4)] } },
    { id: "web-order-3", type: "order.placed", email: "ada@restaurant-ada.example", occurredAt: "2025-03-01T11:00:00+01:00", payload: { orderId: "W-1107", lines: [bottle("BRG-2019", "Bourgogne 2019", 6, 24.5, 11)] } },
    // The trade-show contact gets a quote, then orders before her company details are on file.
    { id: "quote-claire-1", type: "quote.sent", contactId: claire.id, occurredAt: "2025-01-20T10:00:00+01:00", payload: { quoteRef: "Q-2025-014", amount: { amountMinor: 186000, currency: "EUR" } } },
    { id: "order-claire-1", type: "order.placed", contactId: claire.id, occurredAt: "2025-02-03T10:00:00+01:00", payload: { orderId: "B-2001", lines: [bottle("BRG-2019", "Bourgogne 2019", 60, 21, 11)] } }
  ]
  let duplicates = 0
  for (const event of events) {
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

  if (duplicates > 0) {
    log("")
    log(`This database already had the demo's data: ${duplicates} events were recognised by their id and not processed again.`)
  }
  return { stageCounts: stageCounts.map((s) => ({ stage: s.stage, count: s.count })), moves, duplicates }
}
