// Demo data for a new shop database: a year of customers and orders, so that every chart of the
// dashboard has something to show from the first start. Deterministic: the same seed and the same
// day give the same people, orders and amounts (a small seeded generator, no Math.random).
// The history is recorded through the same path the live shop uses (events), before the rules
// exist, so the seeded past sends no mail.
import type { CrmClient, EmitInput } from "@rapport/core"
import { currency, lineOf, type Product, products } from "./catalog.js"

/** What the seeding wrote. */
export interface SeedSummary {
  readonly contacts: number
  readonly orders: number
  readonly events: number
  readonly channels: ReadonlyArray<string>
}

export interface SeedOptions {
  /** Changes every random draw; the same seed gives the same data. */
  readonly seed?: number | undefined
  /** The end of the seeded year (default: the CRM's "now", read from the caller's clock). */
  readonly now: Date
  /** How many people (default 120). */
  readonly contacts?: number | undefined
}

/** mulberry32: a tiny, fast, seeded generator; enough for demo data. */
const generator = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  return { next, int, pick }
}

const frenchFirst = ["Zoé", "Hélène", "Élodie", "François", "Jérôme", "Anaïs", "Gaëlle", "Noël", "Loïc", "Benoît", "Céline", "Agnès", "Amélie", "Théo", "Maël", "Léa", "Chloé", "Clément", "Inès", "Raphaël"]
const frenchLast = ["Lefèvre", "Dupré", "Bénard", "Gérard", "Lemaître", "Mercier", "Fontaine", "Rousseau", "Faure", "Girard", "Chevalier", "Moreau", "Lefébure", "Bérénger", "Noël"]
const englishFirst = ["Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Sophie", "Chloë", "Zoë", "Noah", "Grace"]
const englishLast = ["Smith", "O'Brien", "Taylor", "Brontë", "Wright", "Hughes", "Walker", "Evans", "Davies"]

/** Where customers come from, how likely each is, and what the paid ones cost per month (cents). */
const channels: ReadonlyArray<{ readonly channel: string; readonly campaign: string; readonly weight: number; readonly monthlySpend: number }> = [
  { channel: "website", campaign: "organic", weight: 30, monthlySpend: 0 },
  { channel: "google-ads", campaign: "souliers-rouges", weight: 25, monthlySpend: 45_000 },
  { channel: "instagram", campaign: "influence-printemps", weight: 20, monthlySpend: 30_000 },
  { channel: "newsletter", campaign: "lettre-mensuelle", weight: 12, monthlySpend: 5_000 },
  { channel: "referral", campaign: "parrainage", weight: 8, monthlySpend: 0 },
  { channel: "trade-show", campaign: "salon-mode-lyon", weight: 5, monthlySpend: 12_000 }
]

const ascii = (s: string) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-zA-Z]/g, "").toLowerCase()
const day = 24 * 60 * 60 * 1000
const monthOf = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`

/** True when the CRM holds no contact yet: the shop seeds only then. */
export const isEmpty = async (crm: CrmClient): Promise<boolean> => (await crm.contacts.list({ limit: 1 })).items.length === 0

/**
 * Seeds a year of the shop's history: people from several channels (French and English names),
 * their sign-ups, product views, carts and orders with costs, their marketing consent, and what
 * the paid channels cost each month.
 */
export const seedShop = async (crm: CrmClient, options: SeedOptions): Promise<SeedSummary> => {
  const random = generator(options.seed ?? 2026)
  const end = options.now.getTime()
  const start = end - 365 * day
  const count = options.contacts ?? 120
  const totalWeight = channels.reduce((sum, c) => sum + c.weight, 0)
  const channelOf = () => {
    let draw = random.next() * totalWeight
    for (const c of channels) if ((draw -= c.weight) < 0) return c
    return channels[0]!
  }
  const events: Array<EmitInput> = []
  const consents: Array<{ readonly email: string; readonly at: string }> = []
  let orderNumber = 0
  const iso = (ms: number) => new Date(Math.min(ms, end - 60_000)).toISOString()

  for (let n = 1; n <= count; n++) {
    const french = random.next() < 0.7
    const firstName = random.pick(french ? frenchFirst : englishFirst)
    const lastName = random.pick(french ? frenchLast : englishLast)
    const email = `${ascii(firstName)}.${ascii(lastName)}.${n}@${french ? "exemple.fr" : "example.co.uk"}`
    const source = channelOf()
    // Earlier sign-ups are more likely, so the year shows a base of regulars and newcomers.
    const joined = start + Math.floor(Math.pow(random.next(), 1.4) * 350 * day)
    const id = (suffix: string) => `seed:${n}:${suffix}`
    events.push({
      id: id("signup"),
      type: "account.created",
      email,
      occurredAt: iso(joined),
      payload: { via: source.channel },
      contact: {
        firstName,
        lastName,
        source: { channel: source.channel, campaign: source.campaign },
        fields: { locale: french ? "fr-FR" : "en-GB", shoeSize: random.int(35, 45) }
      }
    })
    if (random.next() < 0.7) consents.push({ email, at: iso(joined + 60_000) })

    // A taste for one colour, and a buying rhythm: a third never buy, a few buy every few weeks.
    const favourite: Product["colour"] = random.pick(["red", "red", "black", "white", "blue", "green"])
    const rhythm = random.next()
    const orders = rhythm < 0.33 ? 0 : rhythm < 0.75 ? random.int(1, 2) : rhythm < 0.93 ? random.int(3, 6) : random.int(10, 16)
    const span = end - joined
    const times = Array.from({ length: orders }, () => joined + day + Math.floor(random.next() * Math.max(span - day, day))).sort((a, b) => a - b)
    const views = random.int(1, 4)
    for (let v = 0; v < views; v++) {
      const product = random.next() < 0.6 ? random.pick(products.filter((p) => p.colour === favourite).concat(products.slice(0, 1))) : random.pick(products)
      events.push({
        id: id(`view-${v}`),
        type: "page.viewed",
        email,
        occurredAt: iso(joined + (v + 1) * 3_600_000),
        payload: { url: `/products/${product.sku}`, sku: product.sku, name: product.name, colour: product.colour, category: product.category }
      })
    }
    times.forEach((at, o) => {
      const lines = Array.from({ length: random.int(1, 3) }, () => {
        const liked = products.filter((p) => p.colour === favourite)
        return lineOf(random.next() < 0.6 && liked.length > 0 ? random.pick(liked) : random.pick(products), random.int(1, 2))
      })
      const merged = [...new Map(lines.map((l) => [l.sku, l])).values()]
      const orderId = `LUM-${String(++orderNumber).padStart(5, "0")}`
      events.push({
        id: id(`cart-${o}`),
        type: "cart.updated",
        email,
        occurredAt: iso(at - 20 * 60_000),
        payload: { cartId: `seed-cart-${n}-${o}`, lines: merged, itemCount: merged.reduce((s, l) => s + l.quantity, 0) }
      })
      events.push({ id: id(`order-${o}`), type: "order.placed", email, occurredAt: iso(at), payload: { orderId, lines: merged } })
    })
    // Some leave a cart and never come back.
    if (random.next() < 0.2) {
      const product = random.pick(products)
      events.push({
        id: id("cart-left"),
        type: "cart.updated",
        email,
        occurredAt: iso(joined + Math.floor(random.next() * span)),
        payload: { cartId: `seed-cart-${n}-left`, lines: [lineOf(product, 1)], itemCount: 1 }
      })
    }
  }

  // In time order, so the lifecycle moves each contact as its history unfolds.
  events.sort((a, b) => String(a.occurredAt).localeCompare(String(b.occurredAt)))
  for (let i = 0; i < events.length; i += 500) await crm.events.emitMany(events.slice(i, i + 500))

  for (const consent of consents) {
    const contact = await crm.contacts.findByEmail(consent.email)
    if (contact !== null) {
      await crm.consent.grant(contact.id, {
        source: "signup-form",
        proof: { at: consent.at, method: "form", evidence: "Case « Recevoir les offres de Boutique Lumière » cochée à l'inscription" }
      })
    }
  }

  for (let m = 0; m < 12; m++) {
    const month = monthOf(new Date(Date.UTC(new Date(end).getUTCFullYear(), new Date(end).getUTCMonth() - m, 1)))
    for (const c of channels) {
      if (c.monthlySpend === 0) continue
      // ±20% around the budget, so the cost-per-customer chart is not flat.
      const amountMinor = Math.round(c.monthlySpend * (0.8 + random.next() * 0.4))
      await crm.analytics.recordSpend({ channel: c.channel, campaign: c.campaign, month, amount: { amountMinor, currency } })
    }
  }

  return { contacts: count, orders: orderNumber, events: events.length, channels: channels.map((c) => c.channel) }
}
