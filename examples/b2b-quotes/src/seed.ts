// Demo data for a first start: a year of a kitchen-equipment maker's B2B trade. French and
// English companies and buyers (accents included), five acquisition channels with their spend,
// quotes sent, followed up, won and lost, the orders that followed, and open quotes in every
// stage so that the pipeline, the floor check and the dashboard's charts have something to show.
// Deterministic: the same seed and the same start date give the same data (a small PRNG, no Math.random).
import type { CrmClient, EmitInput } from "@rapport/core"
import { CURRENCY, MANAGER_TAG, PAYMENT_TERMS } from "./declaration.js"
import { crmNow, quotesPipeline } from "./report.js"
import { sampleIdentifiers } from "./legal.js"

/** What the seed made. */
export interface SeedSummary {
  readonly companies: number
  readonly contacts: number
  readonly orders: number
  readonly quotes: { readonly won: number; readonly lost: number; readonly open: number }
  readonly channels: ReadonlyArray<string>
}

/** Options of {@link seedDemo}. */
export interface SeedOptions {
  /** The PRNG's seed. Default 17. */
  readonly seed?: number
  readonly log?: (line: string) => void
}

/** mulberry32: a tiny deterministic PRNG, good enough for sample data. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PRODUCTS = [
  { sku: "FOUR-MIX-10", name: "Four mixte 10 niveaux", price: 1_290_000, cost: 820_000 },
  { sku: "PIANO-6F", name: "Piano de cuisson 6 feux", price: 760_000, cost: 455_000 },
  { sku: "CF-700", name: "Chambre froide positive 7 m³", price: 980_000, cost: 610_000 },
  { sku: "HOTTE-3M", name: "Hotte aspirante inox 3 m", price: 420_000, cost: 260_000 },
  { sku: "LV-CAPOT", name: "Lave-vaisselle à capot", price: 540_000, cost: 330_000 },
  { sku: "CELLULE-RT", name: "Cellule de refroidissement rapide", price: 615_000, cost: 390_000 },
  { sku: "MAINT-AN", name: "Contrat de maintenance annuel", price: 180_000, cost: 60_000 },
  { sku: "INSTALL", name: "Installation et mise en service", price: 95_000, cost: 50_000 }
] as const

type Country = "FR" | "GB" | "IE" | "DK"

const COMPANIES: ReadonlyArray<{ name: string; domain: string; first: string; last: string; job: string; channel: string; campaign: string | null; country: Country }> = [
  { name: "Brasserie de l'Étoile", domain: "brasserie-etoile.example", first: "Hélène", last: "Marchand", job: "Gérante", channel: "trade-show", campaign: "Sirha Lyon", country: "FR" },
  { name: "Hôtel Beauséjour", domain: "hotel-beausejour.example", first: "François", last: "Lemaître", job: "Directeur", channel: "referral", campaign: null, country: "FR" },
  { name: "Boulangerie Lefèvre & Fils", domain: "lefevre-fils.example", first: "Amélie", last: "Lefèvre", job: "Co-gérante", channel: "website", campaign: "Google Ads fours", country: "FR" },
  { name: "Crêperie Ty Gwenn", domain: "ty-gwenn.example", first: "Loïc", last: "Le Bihan", job: "Chef", channel: "cold-call", campaign: null, country: "FR" },
  { name: "Thornbury & Hale Ltd", domain: "thornbury-hale.example", first: "Zoë", last: "Ashworth", job: "Head of Operations", channel: "linkedin", campaign: "LinkedIn UK", country: "GB" },
  { name: "Restaurant Le Pré Carré", domain: "le-pre-carre.example", first: "Céline", last: "Dupré", job: "Cheffe propriétaire", channel: "linkedin", campaign: "LinkedIn restaurateurs", country: "FR" },
  { name: "Traiteur Gaëlle Noël", domain: "traiteur-noel.example", first: "Gaëlle", last: "Noël", job: "Fondatrice", channel: "website", campaign: "Google Ads fours", country: "FR" },
  { name: "Château de Bézenac", domain: "chateau-bezenac.example", first: "Benoît", last: "Mercier", job: "Responsable achats", channel: "trade-show", campaign: "Equip'Hôtel Paris", country: "FR" },
  { name: "O'Connor's Kitchen", domain: "oconnors-kitchen.example", first: "Siobhán", last: "O'Connor", job: "Owner", channel: "trade-show", campaign: "Equip'Hôtel Paris", country: "IE" },
  { name: "Cantine Équitable", domain: "cantine-equitable.example", first: "Inès", last: "Ben Saïd", job: "Directrice", channel: "referral", campaign: null, country: "FR" },
  { name: "Le Bistrot d'Aurélien", domain: "bistrot-aurelien.example", first: "Aurélien", last: "Faure", job: "Chef", channel: "trade-show", campaign: "Sirha Lyon", country: "FR" },
  { name: "Pâtisserie Müller", domain: "patisserie-muller.example", first: "Jérôme", last: "Müller", job: "Pâtissier", channel: "website", campaign: "SEO", country: "FR" },
  { name: "The Crown & Anchor", domain: "crown-anchor.example", first: "Oliver", last: "Pemberton", job: "Landlord", channel: "website", campaign: "SEO", country: "GB" },
  { name: "Auberge du Lac Léman", domain: "auberge-leman.example", first: "Maëlle", last: "Rousseau", job: "Gérante", channel: "referral", campaign: null, country: "FR" },
  { name: "Café Søndergaard", domain: "cafe-sondergaard.example", first: "Søren", last: "Kjær", job: "Indehaver", channel: "linkedin", campaign: "LinkedIn UK", country: "DK" },
  { name: "Fromagerie Cœur de Brie", domain: "coeur-de-brie.example", first: "Noémie", last: "Lambert", job: "Responsable", channel: "cold-call", campaign: null, country: "FR" },
  { name: "Clinique Sainte-Thérèse", domain: "clinique-ste-therese.example", first: "Édouard", last: "Garnier", job: "Responsable restauration", channel: "linkedin", campaign: "LinkedIn restaurateurs", country: "FR" },
  { name: "École hôtelière de Savoie", domain: "ecole-hoteliere-savoie.example", first: "Chloé", last: "Girard", job: "Intendante", channel: "trade-show", campaign: "Sirha Lyon", country: "FR" },
  { name: "Riverside Catering Co.", domain: "riverside-catering.example", first: "Grace", last: "O'Neill", job: "Procurement Manager", channel: "linkedin", campaign: "LinkedIn UK", country: "GB" },
  { name: "La Table d'Émile", domain: "table-emile.example", first: "Émile", last: "Bonnet", job: "Chef", channel: "referral", campaign: null, country: "FR" },
  { name: "Domaine des Sœurs Vidal", domain: "soeurs-vidal.example", first: "Clémence", last: "Vidal", job: "Associée", channel: "trade-show", campaign: "Equip'Hôtel Paris", country: "FR" },
  { name: "Le Comptoir Basque", domain: "comptoir-basque.example", first: "Iñaki", last: "Etxeberria", job: "Gérant", channel: "cold-call", campaign: null, country: "FR" },
  { name: "Boucherie Chevalier", domain: "boucherie-chevalier.example", first: "Thérèse", last: "Chevalier", job: "Gérante", channel: "website", campaign: "Google Ads fours", country: "FR" },
  { name: "Hartley's Bakery", domain: "hartleys-bakery.example", first: "Amelia", last: "Hartley", job: "Managing Director", channel: "website", campaign: "SEO", country: "GB" }
]

/** People met once, with no company on file yet. */
const LEADS = [
  { first: "Mathéo", last: "Roussel", email: "matheo.roussel@gmail.example", channel: "website", campaign: "SEO" },
  { first: "Anaïs", last: "Perrin", email: "anais.perrin@orange.example", channel: "trade-show", campaign: "Sirha Lyon" },
  { first: "Harriet", last: "Lowe", email: "harriet.lowe@outlook.example", channel: "linkedin", campaign: "LinkedIn UK" },
  { first: "Gérald", last: "Fournier", email: "g.fournier@free.example", channel: "cold-call", campaign: null },
  { first: "Björn", last: "Lindqvist", email: "bjorn.lindqvist@proton.example", channel: "website", campaign: "Google Ads fours" }
] as const

/** Monthly spend per channel and campaign, in cents (trade shows in the months they take place). */
const SPEND: ReadonlyArray<{ channel: string; campaign: string | null; amountMinor: number; months: "all" | ReadonlyArray<number> }> = [
  { channel: "trade-show", campaign: "Sirha Lyon", amountMinor: 1_450_000, months: [1] },
  { channel: "trade-show", campaign: "Equip'Hôtel Paris", amountMinor: 1_800_000, months: [11] },
  { channel: "linkedin", campaign: "LinkedIn restaurateurs", amountMinor: 60_000, months: "all" },
  { channel: "linkedin", campaign: "LinkedIn UK", amountMinor: 45_000, months: "all" },
  { channel: "website", campaign: "Google Ads fours", amountMinor: 85_000, months: "all" },
  { channel: "cold-call", campaign: null, amountMinor: 120_000, months: "all" }
]

const DAY = 86_400_000
const OWNERS = ["sales:lea", "sales:tom"] as const

const slug = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/ø/g, "o")
    .replace(/æ/g, "ae")
    .replace(/[^a-z]+/g, "-")
    .replace(/^-|-$/g, "")

const vatFor = (country: Country, digits: string, frenchVat: string) =>
  country === "FR" ? frenchVat : country === "GB" ? `GB${digits}7` : country === "IE" ? `IE${digits.slice(0, 7)}W` : `DK${digits}`

/**
 * Seeds an empty workspace; does nothing (and returns `null`) when it already has contacts, so
 * that restarting the app keeps what was done in it.
 */
export const seedDemo = async (crm: CrmClient, options: SeedOptions = {}): Promise<SeedSummary | null> => {
  if ((await crm.contacts.list({ limit: 1 })).items.length > 0) return null
  const log = options.log ?? (() => undefined)
  const random = prng(options.seed ?? 17)
  const pick = <A>(list: ReadonlyArray<A>): A => list[Math.floor(random() * list.length)]!
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
  const started = Date.now()
  const now = Math.floor((await crmNow(crm)) / DAY) * DAY + 9 * 3_600_000 // 09:00 UTC today, on the CRM's clock
  const iso = (ms: number) => new Date(ms).toISOString()
  const day = (ms: number) => iso(ms).slice(0, 10)
  const pipeline = await quotesPipeline(crm)
  let quoteSeq = 0
  const year = new Date(now).getUTCFullYear()
  const quoteRef = (at: number) => `Q-${new Date(at).getUTCFullYear() === year ? year : year - 1}-${String(++quoteSeq).padStart(4, "0")}`
  const counts = { orders: 0, won: 0, lost: 0, open: 0, contacts: 0 }

  const lines = (n: number) => {
    const chosen = new Set<number>()
    while (chosen.size < n) chosen.add(int(0, PRODUCTS.length - 1))
    return [...chosen].map((i) => {
      const p = PRODUCTS[i]!
      const quantity = p.sku === "INSTALL" || p.sku === "MAINT-AN" ? 1 : int(1, 3)
      return { sku: p.sku, name: p.name, quantity, unitPrice: { amountMinor: p.price, currency: CURRENCY }, unitCost: { amountMinor: p.cost, currency: CURRENCY } }
    })
  }
  const totalOf = (ls: ReturnType<typeof lines>) => ls.reduce((s, l) => s + l.quantity * l.unitPrice.amountMinor, 0)
  const quoteLines = (ls: ReturnType<typeof lines>) => JSON.stringify(ls.map((l) => ({ description: l.name, quantity: l.quantity, unitPriceMinor: l.unitPrice.amountMinor })))

  // The sales manager, who receives the weekly report.
  await crm.contacts.create({
    email: "claire.dubois-lambert@vasseur-equipement.example",
    firstName: "Claire",
    lastName: "Dubois-Lambert",
    tags: [MANAGER_TAG, "staff"],
    source: { channel: "internal" },
    firstSeenAt: iso(now - 365 * DAY),
    fields: { jobTitle: "Directrice commerciale", locale: "fr-FR" }
  })
  counts.contacts++

  for (const [i, c] of COMPANIES.entries()) {
    const firstSeen = now - (350 - i * 11 - int(0, 8)) * DAY
    const owner = OWNERS[i % 2]!
    const digits = String(int(10_000_000, 99_999_999))
    const { siret, vatNumber } = sampleIdentifiers(digits)
    const customer = i % 4 !== 3
    const company = await crm.companies.create({ name: c.name, domain: c.domain, ownerId: owner, tags: [c.country === "FR" ? "france" : "export"] })
    const legal = {
      ...(c.country === "FR" ? { siret } : {}),
      vatNumber: vatFor(c.country, digits.padEnd(9, "0"), vatNumber),
      paymentTerms: pick(PAYMENT_TERMS),
      creditLimit: { amountMinor: int(2, 12) * 500_000, currency: CURRENCY }
    }
    const contact = await crm.contacts.create({
      email: `${slug(c.first)}.${slug(c.last)}@${c.domain}`,
      firstName: c.first,
      lastName: c.last,
      phone: c.country === "FR" ? `+33 ${int(1, 5)} ${int(10, 99)} ${int(10, 99)} ${int(10, 99)} ${int(10, 99)}` : `+44 20 ${int(1000, 9999)} ${int(1000, 9999)}`,
      companyId: company.id,
      ownerId: owner,
      source: { channel: c.channel, ...(c.campaign === null ? {} : { campaign: c.campaign }) },
      firstSeenAt: iso(firstSeen),
      // Customers' details were filled when they first ordered; prospects have only some.
      fields: { jobTitle: c.job, locale: c.country === "FR" ? "fr-FR" : "en-GB", ...(customer ? legal : i % 2 === 0 ? { vatNumber: legal.vatNumber } : {}) }
    })
    counts.contacts++

    const quote = async (ls: ReturnType<typeof lines>, sentAt: number, closeAt: number, stage: string) =>
      crm.deals.create({
        title: ls.length === 1 ? ls[0]!.name : `${ls[0]!.name} et ${ls.length - 1} autre${ls.length > 2 ? "s" : ""} article${ls.length > 2 ? "s" : ""}`,
        amount: { amountMinor: totalOf(ls), currency: CURRENCY },
        pipelineId: pipeline.id,
        contactId: contact.id,
        companyId: company.id,
        ownerId: owner,
        stage,
        quoteRef: quoteRef(sentAt),
        expectedCloseDate: day(closeAt),
        fields: { lines: quoteLines(ls) }
      })

    // Won quotes, each followed by its order, a few weeks apart.
    if (customer) {
      const orders = int(1, i % 3 === 0 ? 6 : 3)
      let at = firstSeen + int(10, 25) * DAY
      const events: Array<EmitInput> = []
      for (let n = 0; n < orders && at < now - 5 * DAY; n++) {
        const ls = lines(int(1, 3))
        const sentAt = at - int(8, 20) * DAY
        const deal = await quote(ls, sentAt, at, "sent")
        await crm.deals.sendQuote(deal.id, { at: iso(Math.max(sentAt, firstSeen)), author: owner })
        if (random() < 0.5) {
          await crm.deals.followUp(deal.id, { channel: "call", reaction: "positive", note: "Devis validé en interne, bon de commande à suivre", author: owner, at: iso(at - 2 * DAY) })
        }
        await crm.deals.win(deal.id, { at: iso(at), note: `Commande ${deal.quoteRef}`, author: owner })
        counts.won++
        events.push({ id: `seed-order-${deal.quoteRef}`, type: "order.placed", contactId: contact.id, occurredAt: iso(at + 3_600_000), payload: { orderId: `C-${deal.quoteRef!.slice(2)}`, lines: ls } })
        at += int(25, 80) * DAY
      }
      for (const event of events) await crm.events.emit(event)
      counts.orders += events.length
    }

    // A quote lost now and then, to a competitor or a budget.
    if (i % 3 === 1) {
      const sentAt = firstSeen + int(5, 40) * DAY
      const deal = await quote(lines(int(1, 2)), sentAt, sentAt + 30 * DAY, "sent")
      await crm.deals.sendQuote(deal.id, { at: iso(sentAt), author: owner })
      await crm.deals.lose(deal.id, { at: iso(Math.min(sentAt + int(10, 30) * DAY, now - DAY)), reason: pick(["Prix trop élevé", "Concurrent moins cher", "Projet reporté", "Budget gelé"]), author: owner })
      counts.lost++
    }

    // The open pipeline: quotes in every stage, closing over the next months.
    if (i % 5 !== 4) {
      const stage = pick(["draft", "sent", "sent", "negotiation", "negotiation", "verbal"])
      const sentAt = now - int(3, 40) * DAY
      const deal = await quote(lines(int(1, 3)), sentAt, now + int(5, 150) * DAY, stage)
      counts.open++
      if (stage !== "draft") {
        await crm.deals.sendQuote(deal.id, { at: iso(sentAt), author: owner })
        if (random() < 0.6) {
          const reaction = pick(["positive", "neutral", "noAnswer"] as const)
          await crm.deals.followUp(deal.id, {
            channel: "call",
            reaction,
            note: reaction === "noAnswer" ? "Messagerie, rappeler" : reaction === "positive" ? "Intéressé, attend l'accord de sa direction" : "Compare avec deux autres devis",
            author: owner,
            at: iso(Math.min(sentAt + 5 * DAY, now - DAY)),
            // Some call-backs are due today, some are overdue: the day's work.
            next: { dueAt: iso(now + (random() < 0.5 ? 2 * 3_600_000 : -int(1, 6) * DAY)), title: `Rappeler ${c.first} ${c.last} (${deal.quoteRef})`, channel: "call", ownerId: owner }
          })
        }
      }
    }
  }

  for (const lead of LEADS) {
    await crm.contacts.create({
      email: lead.email,
      firstName: lead.first,
      lastName: lead.last,
      source: { channel: lead.channel, ...(lead.campaign === null ? {} : { campaign: lead.campaign }) },
      firstSeenAt: iso(now - int(2, 60) * DAY),
      ownerId: pick(OWNERS)
    })
    counts.contacts++
  }

  // What each channel cost, month by month over the last year.
  for (let back = 11; back >= 0; back--) {
    const d = new Date(now)
    d.setUTCDate(1)
    d.setUTCMonth(d.getUTCMonth() - back)
    const month = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`
    for (const s of SPEND) {
      if (s.months !== "all" && !s.months.includes(d.getUTCMonth() + 1)) continue
      await crm.analytics.recordSpend({ channel: s.channel, campaign: s.campaign, month, amount: { amountMinor: s.amountMinor, currency: CURRENCY } })
    }
  }

  const summary: SeedSummary = {
    companies: COMPANIES.length,
    contacts: counts.contacts,
    orders: counts.orders,
    quotes: { won: counts.won, lost: counts.lost, open: counts.open },
    channels: [...new Set([...COMPANIES.map((c) => c.channel), ...LEADS.map((l) => l.channel)])].sort()
  }
  log(`[seed] ${summary.companies} companies, ${summary.contacts} contacts, ${summary.orders} orders, quotes ${JSON.stringify(summary.quotes)} in ${Date.now() - started} ms`)
  return summary
}
