/**
 * Demo data: a year of a small French-and-English shop in any workspace, so every report and every
 * chart of the dashboard has something to show — in examples, screenshots and browser tests.
 * Everything goes through the public Promise client (contacts move through the lifecycle because of
 * the quotes and orders they make, never by writing their stage) and is derived from one seed: the
 * same seed on the same clock gives the same figures.
 *
 * @since 0.9.0
 */
import { type CrmClient, Deals } from "@rapport/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * What `seedDemoData` accepts.
 *
 * @since 0.9.0
 * @category models
 */
export interface DemoDataOptions {
  /** The seed every random choice is derived from (default 17): the same seed gives the same data. */
  readonly seed?: number | undefined
  /** How many contacts (default 60; at least 12, so every lifecycle stage has someone). */
  readonly contacts?: number | undefined
  /** How many deals in the default pipeline (default: one per five contacts, at least 8). */
  readonly deals?: number | undefined
}

/**
 * What `seedDemoData` made.
 *
 * @since 0.9.0
 * @category models
 */
export interface DemoDataSummary {
  readonly seed: number
  /** The CRM clock's instant the year of data ends at (ISO-8601). */
  readonly now: string
  /** The year covered: from the first day of the month eleven months before `now` (included) to just after `now` (excluded). */
  readonly period: { readonly from: string; readonly to: string }
  /** The months (`YYYY-MM`) that spend was recorded for, oldest first. */
  readonly months: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly counts: {
    readonly contacts: number
    readonly orders: number
    readonly cancelledOrders: number
    readonly refundedOrders: number
    readonly quotes: number
    readonly deals: number
    readonly tasksDueToday: number
    readonly tasksOverdue: number
    readonly tasksUpcoming: number
    /** Open deals with no activity for longer than their stage allows. */
    readonly staleDeals: number
    readonly abandonedCarts: number
    /** Mails the A/B rule's jobs sent when the dispatcher ran (jobs done; 0 if the Mailer refused them). */
    readonly mailsSent: number
  }
  /** Contacts per lifecycle stage, as `contacts.countByStage` answered after seeding. */
  readonly stages: Readonly<Record<string, number>>
  readonly ids: {
    /** Every contact, in creation order. */
    readonly contacts: ReadonlyArray<string>
    /** A contact with everything on its page: orders, a deal, tasks, consent, custom fields. */
    readonly featuredContact: string
    readonly pipeline: string
    readonly deals: ReadonlyArray<string>
    readonly rule: string
    readonly templates: ReadonlyArray<string>
    readonly segment: string
  }
}

/** Runs an effect on a clock stopped at an instant (sleeping still uses the real clock). */
const atInstant =
  (ms: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.clockWith((real) =>
      Effect.withClock(effect, {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => ms,
        currentTimeMillis: Effect.succeed(ms),
        unsafeCurrentTimeNanos: () => BigInt(ms) * 1_000_000n,
        currentTimeNanos: Effect.succeed(BigInt(ms) * 1_000_000n),
        sleep: (duration) => real.sleep(duration)
      })
    )

// --- a small seeded PRNG (mulberry32): enough for demo data, and the same on every platform.

interface Rng {
  next(): number
  int(min: number, max: number): number
  pick<A>(items: ReadonlyArray<A>): A
  chance(p: number): boolean
}

const makeRng = (seed: number): Rng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return { next, int, pick: (items) => items[int(0, items.length - 1)]!, chance: (p) => next() < p }
}

// --- the material

const FRENCH_FIRST = [
  "Hélène", "Benoît", "Françoise", "Zoë", "Amélie", "Jérôme", "Céline", "François", "Maëlle", "Léa",
  "Noël", "Anaïs", "Gaëtan", "Inès", "Loïc", "Éloïse", "Jean-Baptiste", "Marie-Noëlle", "Thérèse", "Raphaël"
] as const
const FRENCH_LAST = [
  "Dupont", "Lefèvre", "Moreau", "Girard", "Bérenger", "Fontaine", "Lemaître", "Château", "Rousseau",
  "Mercier", "Faure", "Leroy-Beaulieu", "d'Argenson", "Bréhat", "Pâris", "Lacroix"
] as const
const ENGLISH_FIRST = [
  "Oliver", "Amelia", "Harry", "Isla", "George", "Siobhan", "Liam", "Chloë", "Seán", "Niamh", "Jack",
  "Emily", "Aoife", "William", "Grace", "Zoë"
] as const
const ENGLISH_LAST = [
  "O'Brien", "O'Connor", "Smith", "Jones", "Taylor", "MacDonald", "Williams", "Brown", "Davies",
  "McAllister", "Fitzgerald", "Wright", "Baker-Hughes", "O'Neill"
] as const
const FRENCH_CITIES = ["Paris", "Lyon", "Saint-Étienne", "Besançon", "Nantes", "Aix-en-Provence", "Orléans"] as const
const ENGLISH_CITIES = ["London", "Manchester", "Cork", "Edinburgh", "Bristol", "Dublin"] as const
const COLOURS = ["red", "blue", "green", "black"] as const

interface Product {
  readonly sku: string
  readonly name: string
  readonly price: number
  readonly cost: number
}

const PRODUCTS: ReadonlyArray<Product> = [
  { sku: "SHOE-RED", name: "Baskets rouges / Red trainers", price: 8900, cost: 3900 },
  { sku: "SHOE-TRAIL", name: "Trail shoes", price: 11900, cost: 5600 },
  { sku: "SCARF-WOOL", name: "Écharpe en laine", price: 3500, cost: 1200 },
  { sku: "BAG-LEATHER", name: "Sac en cuir", price: 14900, cost: 7800 },
  { sku: "SOCKS-3", name: "Socks, pack of 3", price: 1500, cost: 400 },
  { sku: "CAP", name: "Casquette brodée", price: 2500, cost: 900 },
  { sku: "JACKET-RAIN", name: "Rain jacket", price: 12900, cost: 6100 },
  { sku: "BELT", name: "Ceinture tressée", price: 4500, cost: 1600 }
]

interface Channel {
  readonly key: string
  readonly weight: number
  readonly campaigns: ReadonlyArray<string | null>
  /** Monthly spend per campaign, in euro cents: [min, max]; trade shows only some months. */
  readonly spend: readonly [number, number]
  readonly everyMonth: boolean
}

const CHANNELS: ReadonlyArray<Channel> = [
  { key: "search", weight: 3, campaigns: ["brand", "generic"], spend: [25_000, 40_000], everyMonth: true },
  { key: "social", weight: 3, campaigns: [null], spend: [30_000, 50_000], everyMonth: true },
  { key: "trade-show", weight: 1, campaigns: [null], spend: [180_000, 260_000], everyMonth: false },
  { key: "referral", weight: 2, campaigns: [null], spend: [4_000, 9_000], everyMonth: true },
  { key: "newsletter", weight: 2, campaigns: [null], spend: [2_000, 4_000], everyMonth: true }
]

type Profile = "suspect" | "prospect" | "customer" | "loyal" | "fan" | "addict"

// Shares of contacts per lifecycle stage they will reach through their own events.
const PROFILE_SHARES: ReadonlyArray<readonly [Profile, number]> = [
  ["suspect", 0.2],
  ["prospect", 0.2],
  ["customer", 0.25],
  ["loyal", 0.15],
  ["fan", 0.12],
  ["addict", 0.08]
]

const DAY = 86_400_000
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const iso = (ms: number) => new Date(ms).toISOString()
const dateOf = (ms: number) => iso(ms).slice(0, 10)

/** An email local part anyone can type: accents dropped, apostrophes removed, the rest dashes. */
const slug = (name: string) =>
  name
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/['’]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")

const shuffle = <A>(rng: Rng, items: ReadonlyArray<A>): Array<A> => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

interface Planned {
  readonly at: number
  readonly event: Parameters<CrmClient["events"]["emitMany"]>[0][number]
}

/**
 * Fills the client's workspace with a year of demo data ending at the CRM clock's now: contacts
 * with French and English names (accents and apostrophes included) acquired through several
 * channels with their monthly spend, quotes and orders (with costs, some cancelled or refunded) that
 * move them from suspect to addict, custom fields (`favouriteColour`, `city`), deals across the
 * default pipeline's stages with a floor, tasks due today and overdue, an A/B rule whose mails have
 * been sent, and a saved segment. Meant for an empty workspace (field keys, template keys and order
 * ids would clash with a second run). The default size seeds in a few seconds on SQLite in memory.
 *
 * @example
 * ```ts
 * const crm = await createTestCrm()
 * const demo = await seedDemoData(crm, { seed: 42 })
 * console.log(demo.counts.orders, demo.ids.featuredContact)
 * ```
 *
 * @since 0.9.0
 * @category constructors
 */
export const seedDemoData = async (crm: CrmClient, options: DemoDataOptions = {}): Promise<DemoDataSummary> => {
  const seed = options.seed ?? 17
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seedDemoData: options.seed must be a whole number (got ${String(options.seed)})`)
  const size = options.contacts ?? 60
  if (!Number.isInteger(size) || size < 12 || size > 5000) {
    throw new RangeError(`seedDemoData: options.contacts must be a whole number from 12 to 5000 (got ${String(options.contacts)})`)
  }
  const dealCount = options.deals ?? Math.max(8, Math.round(size / 5))
  if (!Number.isInteger(dealCount) || dealCount < 6 || dealCount > 1000) {
    throw new RangeError(`seedDemoData: options.deals must be a whole number from 6 to 1000 (got ${String(options.deals)})`)
  }
  const rng = makeRng(seed)
  const now = await crm.run(Clock.currentTimeMillis)
  // The year is the twelve calendar months ending with the current one (what reports over the last
  // twelve months look at), from the first day of the first of them.
  const today = new Date(now)
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 11, 1)
  const months = Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 11 + i, 1)).toISOString().slice(0, 7))

  // --- custom fields
  await crm.fields.define({ key: "favouriteColour", label: "Favourite colour", type: "select", options: [...COLOURS] })
  await crm.fields.define({ key: "city", label: "City", type: "text" })

  // --- contacts: profiles first, so each stage has someone whatever the size
  const profiles: Array<Profile> = []
  for (const [profile, share] of PROFILE_SHARES) profiles.push(...Array.from({ length: Math.max(1, Math.round(size * share)) }, () => profile))
  while (profiles.length > size) profiles.splice(profiles.indexOf("customer"), 1)
  while (profiles.length < size) profiles.push("customer")
  const shuffled = shuffle(rng, profiles)

  const channelBag = CHANNELS.flatMap((c) => Array.from({ length: c.weight }, () => c))
  // The featured contact's address is kept for her: nobody else may be given it.
  const usedEmails = new Set<string>(["helene.lefevre"])
  const people = shuffled.map((profile, i) => {
    const french = i % 2 === 0 ? rng.chance(0.8) : rng.chance(0.3)
    const firstName = rng.pick(french ? FRENCH_FIRST : ENGLISH_FIRST)
    const lastName = rng.pick(french ? FRENCH_LAST : ENGLISH_LAST)
    const base = `${slug(firstName)}.${slug(lastName)}`
    let local = base
    for (let n = 2; usedEmails.has(local); n++) local = `${base}${n}`
    usedEmails.add(local)
    const channel = rng.pick(channelBag)
    // Addicts need a year to place their dozen orders; fans three months; others any time.
    const earliest = start + DAY
    const latest = profile === "addict" ? start + 15 * DAY : profile === "fan" ? now - 100 * DAY : profile === "suspect" ? now - DAY : now - 5 * DAY
    const firstSeen = earliest + Math.floor(rng.next() * Math.max(1, latest - earliest))
    return {
      profile,
      firstSeen,
      input: {
        email: `${local}@${french ? "example.fr" : "example.com"}`,
        firstName,
        lastName,
        source: { channel: channel.key, campaign: rng.pick(channel.campaigns) },
        firstSeenAt: iso(firstSeen),
        tags: french ? ["fr"] : ["en"],
        fields: { favouriteColour: rng.pick(COLOURS), city: rng.pick(french ? FRENCH_CITIES : ENGLISH_CITIES) }
      }
    }
  })
  // The featured contact, whom screenshots and tests open: the first fan, made French and known.
  const featuredIndex = people.findIndex((p) => p.profile === "fan")
  const featured = people[featuredIndex]!
  people[featuredIndex] = {
    ...featured,
    input: { ...featured.input, email: "helene.lefevre@example.fr", firstName: "Hélène", lastName: "Lefèvre", tags: ["fr", "vip"], fields: { favouriteColour: "red", city: "Saint-Étienne" } }
  }
  const created: Array<{ readonly id: string }> = []
  for (const batch of chunks(people.map((p) => p.input), 200)) created.push(...(await crm.contacts.createMany(batch)))
  const contactIds = created.map((c) => c.id)

  // --- quotes and orders, planned as events, then emitted in time order
  const planned: Array<Planned> = []
  let orderCount = 0
  let cancelled = 0
  let refunded = 0
  let quotes = 0
  const placeOrder = (contactId: string, at: number) => {
    const orderId = `demo-${seed}-${String(++orderCount).padStart(5, "0")}`
    const lines = shuffle(rng, PRODUCTS)
      .slice(0, rng.int(1, 3))
      .map((p) => ({ sku: p.sku, name: p.name, quantity: rng.int(1, 3), unitPrice: eur(p.price), unitCost: eur(p.cost) }))
    planned.push({ at, event: { id: `${orderId}-placed`, type: "order.placed", contactId, occurredAt: iso(at), payload: { orderId, lines } } })
    // A few orders are cancelled or partly refunded a little later (never after now).
    const roll = rng.next()
    if (roll < 0.05 && at + DAY <= now) {
      cancelled++
      planned.push({ at: at + DAY, event: { id: `${orderId}-cancelled`, type: "order.cancelled", contactId, occurredAt: iso(at + DAY), payload: { orderId, reason: "changed their mind" } } })
    } else if (roll < 0.1 && at + 3 * DAY <= now) {
      refunded++
      const line = lines[0]!
      planned.push({
        at: at + 3 * DAY,
        event: { id: `${orderId}-refunded`, type: "order.refunded", contactId, occurredAt: iso(at + 3 * DAY), payload: { orderId, amount: eur(line.unitPrice.amountMinor), reason: "returned one item" } }
      })
    }
  }
  people.forEach((person, i) => {
    const contactId = contactIds[i]!
    if (person.profile === "suspect") return
    const quoteAt = Math.min(now - DAY, person.firstSeen + rng.int(1, 3) * 3_600_000)
    quotes++
    planned.push({ at: quoteAt, event: { id: `demo-${seed}-quote-${i}`, type: "quote.sent", contactId, occurredAt: iso(quoteAt), payload: { quoteRef: `Q-${String(i + 1).padStart(4, "0")}` } } })
    const first = Math.min(now - 2 * 3_600_000, quoteAt + rng.int(1, 20) * DAY)
    switch (person.profile) {
      case "prospect":
        return
      case "customer":
        return placeOrder(contactId, first)
      case "loyal": {
        placeOrder(contactId, first)
        return placeOrder(contactId, Math.min(now - 3_600_000, first + rng.int(100, 200) * DAY))
      }
      case "fan": {
        const orders = rng.int(3, 4)
        for (let k = 0; k < orders; k++) placeOrder(contactId, first + k * rng.int(18, 25) * DAY)
        return
      }
      case "addict": {
        const orders = rng.int(12, 14)
        // Spread over the rest of the year so the last orders are recent.
        const step = Math.min(28 * DAY, Math.floor((now - first - 3_600_000) / orders))
        for (let k = 0; k < orders; k++) placeOrder(contactId, first + k * step)
        return
      }
    }
  })
  planned.sort((a, b) => a.at - b.at)
  for (const batch of chunks(planned, 250)) await crm.events.emitMany(batch.map((p) => p.event))

  // --- spend per channel (and campaign) and month
  for (const channel of CHANNELS) {
    for (const [m, month] of months.entries()) {
      if (!channel.everyMonth && m % 4 !== 1) continue
      for (const campaign of channel.campaigns) {
        await crm.analytics.recordSpend({ channel: channel.key, campaign, month, amount: eur(rng.int(channel.spend[0] / 100, channel.spend[1] / 100) * 100) })
      }
    }
  }

  // --- consent for the newsletter's contacts and the featured one
  for (const [i, person] of people.entries()) {
    if (person.input.source.channel === "newsletter" || i === featuredIndex) {
      await crm.consent.grant(contactIds[i]!, { source: "signup-form" })
    }
  }

  // --- deals in the default pipeline, then its floor
  const existing = await crm.pipelines.list()
  const pipeline = existing[0] ?? (await crm.pipelines.create({ name: "Ventes / Sales" }))
  const openStages = pipeline.stages.filter((s) => s.outcome === "open")
  const wonStage = pipeline.stages.find((s) => s.outcome === "won")
  const lostStage = pipeline.stages.find((s) => s.outcome === "lost")
  const dealTargets = [featuredIndex, ...people.flatMap((p, i) => (p.profile === "prospect" || p.profile === "customer") && i !== featuredIndex ? [i] : [])]
  const dealIds: Array<string> = []
  let staleCount = 0
  let weightedMinor = 0
    for (let k = 0; k < dealCount; k++) {
    // Mostly open deals across the stages; one won and one lost.
    const stage = k === dealCount - 1 && lostStage ? lostStage : k === dealCount - 2 && wonStage ? wonStage : openStages[k % openStages.length]!
    const amountMinor = rng.int(30, 900) * 5_000
    const closeMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + rng.int(0, 4), rng.int(5, 27)))
    const contactIndex = dealTargets[k % dealTargets.length]!
    const person = people[contactIndex]!
    const input = {
      title: `${k % 2 === 0 ? "Devis" : "Quote"} ${String(k + 1).padStart(3, "0")} — ${person.input.lastName}`,
      amount: eur(amountMinor),
      pipelineId: pipeline.id,
      stage: stage.key,
      contactId: contactIds[contactIndex]!,
      expectedCloseDate: dateOf(closeMonth.getTime()),
      ownerId: k % 3 === 0 ? "claire" : "tom",
      quoteRef: `Q-D${String(k + 1).padStart(3, "0")}`
    }
    // Two open deals were opened weeks ago and left alone since: the stale deals a salesperson
    // should chase. The client has no way to date a deal, so they are created on a clock set back.
    const idleDays = stage.outcome === "open" && (k === 1 || k === 2) ? 45 + 17 * (k - 1) : 0
    const deal =
      idleDays === 0
        ? await crm.deals.create(input)
        : await crm.run(Effect.flatMap(Deals.Deals, (deals) => deals.create(input)).pipe(atInstant(now - idleDays * DAY)))
    dealIds.push(deal.id)
    if (idleDays > 0) staleCount++
    weightedMinor += Math.round((amountMinor * stage.probability) / 100)
  }
  // A floor a little above the weighted pipeline: the overview shows a business slightly at risk.
  const floor = eur(Math.ceil((weightedMinor * 1.2) / 100_000) * 100_000)
  await crm.pipelines.configure({ floor })
  await crm.pipelines.update(pipeline.id, { expectedVersion: pipeline.version, floor })

  // --- tasks: due later today, overdue, upcoming
  const channels = ["call", "email", "meeting", "letter"] as const
  const activeDeals = dealIds.filter((_, i) => i !== 1 && i !== 2)
  const task = (title: string, dueAt: number, k: number) =>
    crm.tasks.create({
      title,
      dueAt: iso(dueAt),
      channel: channels[k % channels.length]!,
      ownerId: k % 2 === 0 ? "claire" : "tom",
      contactId: k === 0 ? contactIds[featuredIndex]! : contactIds[dealTargets[k % dealTargets.length]!]!,
      // Never one of the idle deals: a task on a deal is activity on it.
      dealId: activeDeals[k % activeDeals.length]!
    })
  const dueToday = [["Rappeler pour le devis", 5], ["Send the revised quote", 10], ["Préparer la démo", 15]] as const
  for (const [k, [title, minutes]] of dueToday.entries()) await task(title, now + minutes * 60_000, k)
  const overdue = [["Relancer par téléphone", 2], ["Follow up on the trade-show lead", 4], ["Envoyer le catalogue", 7], ["Confirm the delivery date", 12]] as const
  for (const [k, [title, days]] of overdue.entries()) await task(title, now - days * DAY, k + 1)
  const upcoming = [["Point trimestriel", 3], ["Renewal call", 9]] as const
  for (const [k, [title, days]] of upcoming.entries()) await task(title, now + days * DAY, k + 2)

  // --- an A/B rule on abandoned carts; its mails are sent at once
  const templateA = await crm.templates.create({
    key: "demo-cart-a",
    name: "Panier oublié (A)",
    subject: "Vous avez oublié quelque chose, {{ contact.firstName }} ?",
    text: "Bonjour {{ contact.firstName }},\n\nVotre panier vous attend.",
    html: "<p>Bonjour {{ contact.firstName }},</p><p>Votre panier vous attend.</p>"
  })
  const templateB = await crm.templates.create({
    key: "demo-cart-b",
    name: "Cart reminder (B)",
    subject: "Your cart is waiting, {{ contact.firstName }}",
    text: "Hello {{ contact.firstName }},\n\nYour cart is still here, with delivery on us this week.",
    html: "<p>Hello {{ contact.firstName }},</p><p>Your cart is still here, with <strong>delivery on us</strong> this week.</p>"
  })
  const rule = await crm.rules.create({
    key: "demo-abandoned-cart",
    name: "Panier abandonné / Abandoned cart (A/B)",
    on: "cart.abandoned",
    goal: { event: "order.placed", within: "7 days" },
    variants: [
      { key: "A", actions: [{ type: "sendEmail", template: templateA.id }] },
      { key: "B", actions: [{ type: "sendEmail", template: templateB.id }] }
    ]
  })
  const carts = people.flatMap((p, i) => (p.profile !== "suspect" ? [i] : [])).slice(0, Math.max(8, Math.round(size / 4)))
  await crm.events.emitMany(
    carts.map((i, k) => ({ id: `demo-${seed}-cart-${i}`, type: "cart.abandoned", contactId: contactIds[i]!, occurredAt: iso(now - (k + 1) * 60_000), payload: { cartId: `cart-${seed}-${i}` } }))
  )
  const dispatched = await crm.dispatcher.runDue()

  // --- a saved segment
  const segment = await crm.segments.create({
    name: "Aiment le rouge / Red lovers",
    description: "Contacts whose favourite colour is red: the audience of the red-shoes offer.",
    condition: { path: "contact.fields.favouriteColour", op: "eq", value: "red" }
  })

  const stages = await crm.contacts.countByStage()
  return {
    seed,
    now: iso(now),
    period: { from: iso(start), to: iso(now + 1) },
    months,
    channels: CHANNELS.map((c) => c.key),
    counts: {
      contacts: contactIds.length,
      orders: orderCount,
      cancelledOrders: cancelled,
      refundedOrders: refunded,
      quotes,
      deals: dealIds.length,
      tasksDueToday: dueToday.length,
      tasksOverdue: overdue.length,
      tasksUpcoming: upcoming.length,
      staleDeals: staleCount,
      abandonedCarts: carts.length,
      mailsSent: dispatched.done
    },
    stages: Object.fromEntries(stages.map((s) => [s.stage, s.count])),
    ids: {
      contacts: contactIds,
      featuredContact: contactIds[featuredIndex]!,
      pipeline: pipeline.id,
      deals: dealIds,
      rule: rule.id,
      templates: [templateA.id, templateB.id],
      segment: segment.id
    }
  }
}
