// The shop's story, end to end: the shop runs on 127.0.0.1 with SQLite in memory and a virtual
// clock; a customer drives it over HTTP; every mail is checked as the local SMTP server received
// it (sent by @rapport/mailer-smtp, parsed by mailparser).
import { memoryStorage } from "@rapport/sqlite"
import type * as Duration from "effect/Duration"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Mailbox } from "../src/mailbox.js"
import { createShop, type Shop } from "../src/shop.js"
import { manualClock } from "@rapport/testing"
import { browser, settle, waitForMail } from "./support.js"

const secret = "eshop-test-secret-0123456789"
const start = "2026-03-02T09:00:00.000Z"
const admin = { email: "admin@boutique-lumiere.example", password: "admin-test-password" }

/** Amounts are formatted with no-break spaces ("129,00 €"): compare them as plain spaces. */
const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, " ")

/** A declared rule's id (the declaration names rules by key; jobs carry the id). */
const ruleId = async (shop: Shop, key: string) => {
  const rule = (await shop.crm.rules.list()).find((r) => r.key === key)
  if (rule === undefined) throw new Error(`no rule with key ${key}`)
  return rule.id
}

const mailboxOf = (shop: Shop): Mailbox => {
  if (shop.mails === null) throw new Error("the shop started without its local SMTP server")
  return shop.mails
}

const startShop = async () => {
  const clock = manualClock(start)
  const shop = await createShop({ storage: memoryStorage(), clock: clock.clock, secret, seed: false, port: 0, smtpPort: 0, admin, log: () => {} })
  /** Lets the work in flight finish, moves the virtual clock on, and runs what fell due. */
  const advance = async (duration: Duration.DurationInput) => {
    await settle(shop.crm)
    clock.advance(duration)
    await shop.crm.dispatcher.runDue()
  }
  return { shop, time: { advance }, mails: mailboxOf(shop) }
}

/** Signs up with the newsletter box ticked, and follows the confirmation link of the mail received. */
const signUpAndConfirm = async (shop: Shop, mails: Mailbox, customer: ReturnType<typeof browser>, email: string, firstName: string) => {
  const signup = await customer.post("/account/signup", { email, firstName, lastName: "Lefèvre", password: "rouge-passion-2026", newsletter: "yes" })
  expect(signup.status).toBe(200)
  expect(signup.text).toContain("en attente de votre confirmation")
  const confirmation = await waitForMail(mails, email, /confirm/i)
  const link = /https?:\/\/\S+\/crm\/api\/consent\/confirm\?token=[^\s"<>]+/.exec(confirmation.text)?.[0]
  expect(link?.startsWith(`${shop.url}/crm/api/consent/confirm?token=`)).toBe(true)
  return link!
}

describe("Boutique Lumière, first customer", () => {
  let shop: Shop
  let mails: Mailbox
  let time: Awaited<ReturnType<typeof startShop>>["time"]
  const email = "zoe.lefevre@exemple.fr"
  const zoe = () => browser(shop.url, { "accept-language": "fr-FR,fr;q=0.9" })
  let customer: ReturnType<typeof browser>

  beforeAll(async () => {
    ;({ shop, mails, time } = await startShop())
    customer = zoe()
    // She arrives from an Instagram link: the channel is kept until she signs up.
    expect((await customer.get("/?utm_source=instagram")).status).toBe(200)
  })
  afterAll(async () => {
    await shop?.close()
  })

  it("signup - double opt-in: the confirmation mail's link, followed, records the consent with its proof", async () => {
    const link = await signUpAndConfirm(shop, mails, customer, email, "Zoé")
    const contact = await shop.crm.contacts.findByEmail(email)
    expect(contact?.firstName).toBe("Zoé")
    expect(contact?.source.channel).toBe("instagram")
    expect(contact?.fields["locale"]).toBe("fr-FR")
    expect((await shop.crm.consent.status(contact!.id)).purposes["marketing"]).toMatchObject({ granted: false, pending: true })

    // A GET shows the page and changes nothing (mail scanners open links); the POST confirms.
    const page = await customer.get(link)
    expect(page.status).toBe(200)
    expect((await shop.crm.consent.status(contact!.id)).purposes["marketing"]?.granted).toBe(false)
    const confirmed = await customer.post(link, {}, { accept: "application/json" })
    expect(confirmed.status).toBe(200)
    const marketing = (await shop.crm.consent.status(contact!.id)).purposes["marketing"]
    expect(marketing).toMatchObject({ granted: true, pending: false })
    expect(marketing?.proof?.method).toBe("double-opt-in")
    expect((await customer.get("/account")).text).toContain("Offres par e-mail : acceptées")
  })

  it("views - the third look at red shoes brings the same-colour offer, not the second", async () => {
    expect((await customer.get("/products/SHOE-RED-ESC")).status).toBe(200)
    expect((await customer.get("/products/SHOE-BLK-DRB")).status).toBe(200)
    expect((await customer.get("/products/SHOE-RED-ESC")).status).toBe(200)
    const contact = (await shop.crm.contacts.findByEmail(email))!
    expect((await shop.crm.dispatcher.jobs({ ruleId: await ruleId(shop, "same-colour-offer") })).items).toEqual([])

    expect((await customer.get("/products/SHOE-RED-BAL")).status).toBe(200)
    const offer = await waitForMail(mails, email, /rouge/i)
    expect(offer.subject).toBe("Le rouge vous va si bien : -15 % sur nos souliers rouges")
    expect(offer.text).toContain("Ballerines rouge cerise")
    expect(offer.text).toContain(`${shop.url}/?colour=red`)
    // Marketing mail: one-click unsubscribe headers pointing at the CRM's API.
    const list = offer.headers.get("list") as { unsubscribe?: { url?: string } } | undefined
    expect(list?.unsubscribe?.url?.startsWith(`${shop.url}/crm/api/unsubscribe?token=`)).toBe(true)
    expect((await shop.crm.contacts.get(contact.id)).tags).toContain("likes-red")
  })

  it("cart left - the reminder is received at D+1 on the virtual clock, not before", async () => {
    await customer.post("/cart/add", { sku: "SHOE-BLK-DRB", quantity: "1" })
    await time.advance("23 hours")
    const pending = (await shop.crm.dispatcher.jobs({ ruleId: await ruleId(shop, "abandoned-cart") })).items
    expect(pending.map((j) => j.status)).toEqual(["pending"])
    expect(mails.to(email).filter((m) => m.subject.includes("panier"))).toEqual([])

    await time.advance("1 hour")
    const reminder = await waitForMail(mails, email, /votre panier vous attend/)
    expect(reminder.subject).toBe("Zoé, votre panier vous attend")
    expect(reminder.text).toContain("1 × Derbies noires Saint-Germain")
    expect(reminder.text).toContain(`${shop.url}/cart`)
  })

  it("order - the confirmation is received over SMTP with the order's lines; three orders in 90 days make a fan", async () => {
    await customer.post("/cart/add", { sku: "SHOE-RED-BAL", quantity: "2" })
    const placed = await customer.post("/checkout")
    expect(placed.status).toBe(200)
    const orderId = /\/orders\/(W-[0-9A-F]{8})$/.exec(placed.url)?.[1]
    expect(orderId).toBeDefined()
    const confirmation = await waitForMail(mails, email, new RegExp(`Votre commande ${orderId} est confirmée`))
    expect(plain(confirmation.text)).toContain("1 × Derbies noires Saint-Germain (SHOE-BLK-DRB) : 129,00 €")
    expect(plain(confirmation.text)).toContain("2 × Ballerines rouge cerise (SHOE-RED-BAL) : 138,00 €")
    expect(plain(confirmation.text)).toContain("Total : 267,00 €")
    const order = await shop.crm.orders.get(orderId!)
    expect(order.lines.map((l) => [l.sku, l.quantity, l.unitPrice.amountMinor, l.unitCost?.amountMinor])).toEqual([
      ["SHOE-BLK-DRB", 1, 12900, 5200],
      ["SHOE-RED-BAL", 2, 6900, 2500]
    ])

    for (const sku of ["SCF-GRN-SLK", "BAG-RED-CAB"]) {
      await time.advance("10 days")
      await customer.post("/cart/add", { sku, quantity: "1" })
      // A customer takes a moment between the cart and the checkout.
      await time.advance("5 minutes")
      expect((await customer.post("/checkout")).status).toBe(200)
    }
    const fan = await waitForMail(mails, email, /fan de Boutique Lumière/)
    expect(fan.subject).toBe("Zoé, vous êtes désormais une fan de Boutique Lumière")
    expect((await shop.crm.contacts.findByEmail(email))?.stage).toBe("fan")
  })

  it("win-back - 90 quiet days after the last order bring the win-back mail", async () => {
    await time.advance("89 days")
    expect(mails.to(email).filter((m) => m.subject.includes("vous nous manquez"))).toEqual([])
    await time.advance("1 day")
    const winBack = await waitForMail(mails, email, /vous nous manquez/)
    expect(winBack.text).toContain("RETOUR10")
    // One mail: the earlier orders' win-backs stood down, since an order came after each.
    const jobs = (await shop.crm.dispatcher.jobs({ ruleId: await ruleId(shop, "win-back"), status: ["done", "skipped"] })).items
    expect(jobs.filter((j) => j.status === "skipped").map((j) => String(j.outcome?.["reason"]))).toEqual([
      expect.stringContaining("count of order.placed since the trigger gte 1 (found 2)"),
      expect.stringContaining("count of order.placed since the trigger gte 1 (found 1)")
    ])
    expect(jobs.flatMap((j) => (j.outcome?.["subject"] === undefined ? [] : [j.outcome["subject"]]))).toEqual(["Zoé, vous nous manquez"])
  })

  it("password reset - the mail's link lets the customer choose a new password", async () => {
    await customer.post("/account/logout")
    const asked = await customer.post("/account/reset", { email })
    expect(asked.text).toContain("Si un compte existe pour cette adresse")
    const mail = await waitForMail(mails, email, /Réinitialisez votre mot de passe/)
    const link = /https?:\/\/\S+\/account\/reset\/[A-Za-z0-9_-]+/.exec(mail.text)?.[0]
    expect(link?.startsWith(`${shop.url}/account/reset/`)).toBe(true)
    expect((await customer.get(link!)).status).toBe(200)
    const changed = await customer.post(link!, { password: "nouveau-secret-42" })
    expect(changed.text).toContain(`Connecté·e en tant que ${email}`)

    const elsewhere = zoe()
    expect((await elsewhere.post("/account/login", { email, password: "rouge-passion-2026" })).status).toBe(401)
    expect((await elsewhere.post("/account/login", { email, password: "nouveau-secret-42" })).text).toContain(`Connecté·e en tant que ${email}`)
    // The link works once.
    expect((await customer.get(link!)).status).toBe(400)
  })

  it("dashboard - the shop's admin sees the mails sent; a visitor is sent to sign in", async () => {
    const visitor = browser(shop.url)
    expect((await visitor.get("/crm/dashboard/mails")).url).toBe(`${shop.url}/account`)
    const owner = browser(shop.url, { "accept-language": "fr-FR" })
    expect((await owner.post("/account/login", admin)).status).toBe(200)
    const page = await owner.get("/crm/dashboard/mails")
    expect(page.status).toBe(200)
    expect(page.text).toContain("vous nous manquez")
    expect(page.text).toMatch(/Votre commande W-[0-9A-F]{8} est confirmée/)
  })

  it("every mail went over SMTP from the shop's address", () => {
    // Sorted: the third order's confirmation and the fan mail fall due together and may swap.
    const subjects = mails.to(email).map((m) => m.subject.replace(/W-[0-9A-F]{8}/, "W-…"))
    expect(subjects.sort()).toEqual([
      "Please confirm your subscription / Merci de confirmer votre inscription — Boutique Lumière",
      "Le rouge vous va si bien : -15 % sur nos souliers rouges",
      "Zoé, votre panier vous attend",
      "Votre commande W-… est confirmée",
      "Votre commande W-… est confirmée",
      "Votre commande W-… est confirmée",
      "Zoé, vous êtes désormais une fan de Boutique Lumière",
      "Zoé, vous nous manquez",
      "Réinitialisez votre mot de passe"
    ].sort())
    expect(new Set(mails.to(email).map((m) => m.headers.get("message-id"))).size).toBe(9)
    expect(new Set(mails.received.map((m) => m.from))).toEqual(new Set(["bonjour@boutique-lumiere.example"]))
  })
})

describe("Boutique Lumière, a customer who orders before D+1", () => {
  let shop: Shop
  let mails: Mailbox
  let time: Awaited<ReturnType<typeof startShop>>["time"]

  beforeAll(async () => {
    ;({ shop, mails, time } = await startShop())
  })
  afterAll(async () => {
    await shop?.close()
  })

  it("cart then order within the day - no reminder at D+1, the job says why", async () => {
    const email = "oliver.wright@example.co.uk"
    const customer = browser(shop.url, { "accept-language": "en-GB,en;q=0.9" })
    const link = await signUpAndConfirm(shop, mails, customer, email, "Oliver")
    expect((await customer.post(link, {}, { accept: "application/json" })).status).toBe(200)

    await customer.post("/cart/add", { sku: "SHOE-WHT-SNK", quantity: "1" })
    await time.advance("2 hours")
    const placed = await customer.post("/checkout")
    const orderId = /\/orders\/(W-[0-9A-F]{8})$/.exec(placed.url)?.[1]
    // The contact's locale is en-GB: the English variant of the confirmation.
    const confirmation = await waitForMail(mails, email, new RegExp(`Your order ${orderId} is confirmed`))
    expect(plain(confirmation.text)).toContain("1 × Baskets blanches Côte (SHOE-WHT-SNK): €75.00")

    await time.advance("1 day")
    const jobs = (await shop.crm.dispatcher.jobs({ ruleId: await ruleId(shop, "abandoned-cart") })).items
    expect(jobs.map((j) => j.status)).toEqual(["skipped"])
    expect(String(jobs[0]?.outcome?.["reason"])).toContain("order.placed")
    expect(mails.to(email).map((m) => m.subject)).toEqual([
      expect.stringMatching(/confirm/i),
      `Your order ${orderId} is confirmed`
    ])
  })
})
