// The shop: an Express 5 app with products, a cart, a checkout and accounts, that tells its CRM
// what happens (sign-ups, product views with their colour, cart changes, orders, password reset
// requests) and lets the CRM's rules decide which mail goes when. Mails leave over SMTP; in
// development they go to a local SMTP server started here, which logs them.
//
// The shop's own data (accounts, sessions, carts) lives in memory to keep the example short: a
// real shop keeps it in its own database. What the CRM needs lives in the CRM's storage.
import { type CrmClient, createCrm, RapportNotFoundError, type StorageProvider } from "@rapport/core"
import { apiKeyAuth, type Authenticate, rapportDashboard, rapportRouter } from "@rapport/express"
import { smtpMailer } from "@rapport/mailer-smtp"
import type * as Clock from "effect/Clock"
import express, { type Request, type Response } from "express"
import { randomBytes, randomUUID, scryptSync, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { euros, lineOf, productBySku, products } from "./catalog.js"
import { declaration } from "./crmSetup.js"
import { esc, layout } from "./html.js"
import { type Mailbox, startMailbox } from "./mailbox.js"
import { isEmpty, type SeedSummary, seedShop } from "./seed.js"

/** What `crm.setup` answers with: one line per declared item, with what it did. */
export type SetupPlan = Awaited<ReturnType<CrmClient["setup"]>>["plan"]

/** How to start the shop. */
export interface ShopOptions {
  /** The CRM's storage: `sqliteStorage({ filename })`, `memoryStorage()` or `postgresStorage({ url })`. */
  readonly storage: StorageProvider
  /** The clock the CRM reads (event times, delays, due jobs); the system clock when not given. */
  readonly clock?: Clock.Clock | undefined
  /** The HTTP port on 127.0.0.1; 0 (the default) takes any free port. */
  readonly port?: number | undefined
  /** The address links in mails point to; `http://127.0.0.1:<port>` by default. */
  readonly publicUrl?: string | undefined
  /**
   * An SMTP relay to send through. Without one, a local SMTP server is started on 127.0.0.1
   * (`smtpPort`, any free port by default) and receives every mail: development only.
   */
  readonly smtp?: { readonly host: string; readonly port: number; readonly auth?: { readonly user: string; readonly pass: string } } | undefined
  /** The port of the local SMTP server (when `smtp` is not given); 0 takes any free port. */
  readonly smtpPort?: number | undefined
  /** Signs unsubscribe and confirmation links: keep it secret and stable. */
  readonly secret: string
  /** Seeds a year of demo data when the database is empty (default true); a number chooses the seed. */
  readonly seed?: boolean | number | undefined
  /** The account that may open the CRM's API (and dashboard) from the shop's session. */
  readonly admin?: { readonly email: string; readonly password: string } | undefined
  /** The CRM workspace the shop writes to (default `default`): several shops may share one database. */
  readonly workspace?: string | undefined
  /** Where the shop logs (default console.log). */
  readonly log?: ((line: string) => void) | undefined
}

/** A running shop. */
export interface Shop {
  readonly url: string
  readonly crm: CrmClient
  /** The local SMTP server and the mails it received; `null` when sending through `smtp`. */
  readonly mails: Mailbox | null
  /** What `crm.setup` did at this start. */
  readonly setupPlan: SetupPlan
  /** What seeding wrote at this start, or `null` when the database already held contacts. */
  readonly seeded: SeedSummary | null
  close(): Promise<void>
}

interface Account {
  readonly email: string
  readonly firstName: string
  salt: string
  hash: string
  readonly admin: boolean
}

interface Session {
  email: string | null
  cartId: string
  readonly cart: Map<string, number>
}

const shopName = "Boutique Lumière"

const hashPassword = (password: string, salt: string) => scryptSync(password, salt, 32).toString("hex")
const passwordMatches = (account: Account, password: string) =>
  timingSafeEqual(Buffer.from(hashPassword(password, account.salt), "hex"), Buffer.from(account.hash, "hex"))

const cookiesOf = (req: IncomingMessage): Map<string, string> =>
  new Map(
    (req.headers.cookie ?? "")
      .split(";")
      .map((part) => part.trim().split("="))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== "")
      .map(([k, v]) => [k, decodeURIComponent(v)])
  )

const field = (req: Request, name: string): string => {
  const value: unknown = (req.body as Record<string, unknown> | undefined)?.[name]
  return typeof value === "string" ? value.trim() : ""
}

const localeOf = (req: Request): "fr-FR" | "en-GB" => (/^en\b/i.test(req.get("accept-language") ?? "") ? "en-GB" : "fr-FR")

/**
 * Starts the shop: the CRM (declared with `crm.setup`, seeded when empty), its dispatcher, the
 * local SMTP server in development, and the HTTP server on 127.0.0.1 with the CRM's API under
 * `/crm/api`.
 */
export const createShop = async (options: ShopOptions): Promise<Shop> => {
  const log = options.log ?? ((line: string) => console.log(line))
  // The HTTP server listens first, so that the links in mails can name its port.
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const url = options.publicUrl ?? `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const mails = options.smtp === undefined ? await startMailbox({ port: options.smtpPort, log }) : null
  const relay = options.smtp ?? { host: "127.0.0.1", port: mails!.port }

  const crm = await createCrm({
    storage: options.storage,
    clock: options.clock,
    workspace: options.workspace,
    mailer: smtpMailer({
      host: relay.host,
      port: relay.port,
      ...(options.smtp?.auth === undefined ? {} : { auth: options.smtp.auth }),
      from: '"Boutique Lumière" <bonjour@boutique-lumiere.example>',
      // The local server speaks plain SMTP on loopback; one connection per mail keeps nothing open.
      pool: false
    }),
    mail: {
      from: '"Boutique Lumière" <bonjour@boutique-lumiere.example>',
      unsubscribe: { url: `${url}/crm/api/unsubscribe?token={token}`, secret: options.secret },
      // The double opt-in link goes to the Rapport HTTP API's public confirmation route.
      confirmation: { url: `${url}/crm/api/consent/confirm?token={token}` }
    }
  })

  let setupPlan: SetupPlan = []
  let seeded: SeedSummary | null = null
  try {
    if ((options.seed ?? true) !== false && (await isEmpty(crm))) {
      // The past is recorded before the rules exist, so seeding sends no mail.
      await crm.setup({ ...declaration, rules: [] })
      const now = new Date(options.clock === undefined ? Date.now() : options.clock.unsafeCurrentTimeMillis())
      seeded = await seedShop(crm, { now, ...(typeof options.seed === "number" ? { seed: options.seed } : {}) })
      log(`Seeded ${seeded.contacts} contacts and ${seeded.orders} orders over the last year`)
    }
    const settings = await crm.settings.get()
    // The shop's name signs the double opt-in mail; written once, not at every start.
    if (settings.name !== shopName) await crm.settings.update({ name: shopName, timezone: "Europe/Paris" })
    setupPlan = (await crm.setup(declaration)).plan
  } catch (error) {
    await crm.close()
    await mails?.close()
    server.close()
    throw error
  }
  const changed = setupPlan.filter((line) => line.action !== "unchanged")
  log(changed.length === 0 ? "CRM set-up: nothing to change" : `CRM set-up: ${changed.map((l) => `${l.action} ${l.kind} ${l.key}`).join(", ")}`)
  const dispatcher = crm.dispatcher.start({ pollInterval: "1 second" })

  // --- The shop's own state
  const accounts = new Map<string, Account>()
  const sessions = new Map<string, Session>()
  const resets = new Map<string, { readonly email: string; readonly expires: number }>()
  const addAccount = (email: string, firstName: string, password: string, admin: boolean) => {
    const salt = randomBytes(16).toString("hex")
    const account: Account = { email: email.toLowerCase(), firstName, salt, hash: hashPassword(password, salt), admin }
    accounts.set(account.email, account)
    return account
  }
  if (options.admin !== undefined) addAccount(options.admin.email, "Admin", options.admin.password, true)

  const sessionOf = (req: IncomingMessage): Session | undefined => sessions.get(cookiesOf(req).get("sid") ?? "")
  const session = (req: Request, res: Response): Session => {
    const found = sessionOf(req)
    if (found !== undefined) return found
    const sid = randomBytes(24).toString("base64url")
    const fresh: Session = { email: null, cartId: randomUUID(), cart: new Map() }
    sessions.set(sid, fresh)
    res.cookie("sid", sid, { httpOnly: true, sameSite: "lax", path: "/" })
    return fresh
  }
  const page = (req: Request, res: Response, title: string, body: string, status = 200) => {
    const s = session(req, res)
    res.status(status).type("html").send(layout(title, body, { email: s.email, cartCount: [...s.cart.values()].reduce((a, b) => a + b, 0) }))
  }
  const cartLines = (s: Session) => [...s.cart].flatMap(([sku, quantity]) => {
    const product = productBySku(sku)
    return product === undefined ? [] : [lineOf(product, quantity)]
  })

  const app = express()
  // The CRM's API reads request bodies itself: it is mounted before the shop's body parser. The
  // shop's admin (signed in) or a Rapport API key may call it.
  const keys = apiKeyAuth(crm)
  const adminOf = (req: IncomingMessage) => {
    const s = sessionOf(req)
    const account = s?.email == null ? undefined : accounts.get(s.email)
    return account?.admin === true ? account : undefined
  }
  const authenticate: Authenticate = async (req) => {
    const account = adminOf(req)
    return account !== undefined ? { workspace: options.workspace ?? "default", principal: `shop:${account.email}`, role: "admin" } : keys(req)
  }
  const api = rapportRouter(crm, { authenticate })
  const dashboard = rapportDashboard(crm, { authenticate, title: shopName })
  app.use("/crm/api", api)
  // The dashboard answers 401 to strangers; a shop sends its own staff to its sign-in page instead.
  app.use("/crm/dashboard", (req, res, next) => {
    if (req.method === "GET" && adminOf(req) === undefined && req.get("authorization") === undefined && !req.path.startsWith("/assets/")) {
      return res.redirect(303, "/account")
    }
    dashboard(req, res, next)
  })
  app.use(express.urlencoded({ extended: false }))
  // Where a visitor came from (`?utm_source=instagram` on the landing link) is kept until sign-up,
  // so the contact's source channel feeds the per-channel reports.
  app.use((req, res, next) => {
    const source = req.query["utm_source"]
    if (typeof source === "string" && /^[a-z0-9-]{1,40}$/.test(source)) res.cookie("utm_source", source, { httpOnly: true, sameSite: "lax", path: "/" })
    next()
  })

  app.get("/", (req, res) => {
    const colour = typeof req.query["colour"] === "string" ? req.query["colour"] : null
    const shown = colour === null ? products : products.filter((p) => p.colour === colour)
    page(
      req,
      res,
      colour === "red" ? "La collection rouge" : "Nos produits",
      `<ul class="products">${shown
        .map(
          (p) =>
            `<li><a href="/products/${esc(p.sku)}">${esc(p.name)}</a><br><span class="swatch" style="background:${esc(p.colour)}" aria-hidden="true"></span>${esc(p.colour)} · ${esc(euros(p.price))}</li>`
        )
        .join("")}</ul>`
    )
  })

  app.get("/products/:sku", async (req, res) => {
    const product = productBySku(req.params.sku)
    if (product === undefined) return page(req, res, "Produit introuvable", `<p><a href="/">Retour aux produits</a></p>`, 404)
    const s = session(req, res)
    if (s.email !== null) {
      await crm.events.emit({
        type: "page.viewed",
        email: s.email,
        payload: {
          url: `${url}/products/${product.sku}`,
          sku: product.sku,
          name: product.name,
          colour: product.colour,
          category: product.category,
          colourUrl: `${url}/?colour=${product.colour}`
        }
      })
    }
    page(
      req,
      res,
      product.name,
      `<p><span class="swatch" style="background:${esc(product.colour)}" aria-hidden="true"></span>Couleur : ${esc(product.colour)}</p>
<p>${esc(euros(product.price))}</p>
<form method="post" action="/cart/add"><input type="hidden" name="sku" value="${esc(product.sku)}">
<label for="quantity">Quantité</label><input id="quantity" name="quantity" type="number" min="1" max="10" value="1">
<button>Ajouter au panier</button></form>`
    )
  })

  const cartChanged = async (s: Session) => {
    if (s.email === null) return
    const lines = cartLines(s)
    await crm.events.emit({
      type: "cart.updated",
      email: s.email,
      payload: { cartId: s.cartId, lines, itemCount: lines.reduce((n, l) => n + l.quantity, 0), cartUrl: `${url}/cart` }
    })
  }

  app.post("/cart/add", async (req, res) => {
    const s = session(req, res)
    const product = productBySku(field(req, "sku"))
    const quantity = Number.parseInt(field(req, "quantity") || "1", 10)
    if (product === undefined || !Number.isInteger(quantity) || quantity < 1 || quantity > 10) {
      return page(req, res, "Panier", `<p class="error">Produit ou quantité invalide (sku, quantity entre 1 et 10).</p>`, 400)
    }
    s.cart.set(product.sku, (s.cart.get(product.sku) ?? 0) + quantity)
    await cartChanged(s)
    res.redirect(303, "/cart")
  })

  app.post("/cart/remove", async (req, res) => {
    const s = session(req, res)
    s.cart.delete(field(req, "sku"))
    await cartChanged(s)
    res.redirect(303, "/cart")
  })

  app.get("/cart", (req, res) => {
    const s = session(req, res)
    const lines = cartLines(s)
    const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice.amountMinor, 0)
    page(
      req,
      res,
      "Votre panier",
      lines.length === 0
        ? `<p>Votre panier est vide. <a href="/">Voir les produits</a></p>`
        : `<ul>${lines
            .map(
              (l) =>
                `<li>${l.quantity} × ${esc(l.name)} — ${esc(euros(l.quantity * l.unitPrice.amountMinor))} <form method="post" action="/cart/remove" style="display:inline"><input type="hidden" name="sku" value="${esc(l.sku)}"><button aria-label="Retirer ${esc(l.name)}">Retirer</button></form></li>`
            )
            .join("")}</ul><p>Total : ${esc(euros(total))}</p>
${s.email === null ? `<p><a href="/account">Connectez-vous</a> pour commander.</p>` : `<form method="post" action="/checkout"><button>Commander</button></form>`}`
    )
  })

  app.post("/checkout", async (req, res) => {
    const s = session(req, res)
    const lines = cartLines(s)
    if (s.email === null) return res.redirect(303, "/account")
    if (lines.length === 0) return page(req, res, "Commande", `<p class="error">Votre panier est vide.</p>`, 400)
    const orderId = `W-${randomUUID().slice(0, 8).toUpperCase()}`
    await crm.events.emit({ id: `order:${orderId}`, type: "order.placed", email: s.email, payload: { orderId, lines } })
    s.cart.clear()
    s.cartId = randomUUID()
    res.redirect(303, `/orders/${orderId}`)
  })

  app.get("/orders/:orderId", async (req, res) => {
    const s = session(req, res)
    const order = await crm.orders.get(req.params.orderId).catch((error: unknown) => (error instanceof RapportNotFoundError ? null : Promise.reject(error)))
    const contact = s.email === null ? null : await crm.contacts.findByEmail(s.email)
    if (order === null || contact === null || order.contactId !== contact.id) return page(req, res, "Commande introuvable", "", 404)
    page(req, res, `Merci pour votre commande ${order.id}`, `<p>Un e-mail de confirmation est en route vers ${esc(s.email)}.</p>`)
  })

  // --- Accounts
  const accountForms = (notice = "") => `${notice}
<h2>Créer un compte</h2>
<form method="post" action="/account/signup">
<label for="su-email">E-mail</label><input id="su-email" name="email" type="email" required autocomplete="email">
<label for="su-first">Prénom</label><input id="su-first" name="firstName" required autocomplete="given-name">
<label for="su-last">Nom</label><input id="su-last" name="lastName" autocomplete="family-name">
<label for="su-password">Mot de passe (8 caractères au moins)</label><input id="su-password" name="password" type="password" minlength="8" required autocomplete="new-password">
<label><input type="checkbox" name="newsletter" value="yes"> Recevoir les offres de Boutique Lumière (confirmation par e-mail)</label>
<button>Créer mon compte</button>
</form>
<h2>Se connecter</h2>
<form method="post" action="/account/login">
<label for="li-email">E-mail</label><input id="li-email" name="email" type="email" required autocomplete="email">
<label for="li-password">Mot de passe</label><input id="li-password" name="password" type="password" required autocomplete="current-password">
<button>Se connecter</button>
</form>
<p><a href="/account/reset">Mot de passe oublié ?</a></p>`

  app.get("/account", async (req, res) => {
    const s = session(req, res)
    if (s.email === null) return page(req, res, "Votre compte", accountForms())
    const contact = await crm.contacts.findByEmail(s.email)
    const consent = contact === null ? null : await crm.consent.status(contact.id)
    const marketing = consent?.purposes["marketing"]
    page(
      req,
      res,
      "Votre compte",
      `<p>Connecté·e en tant que ${esc(s.email)}${contact === null ? "" : ` · statut ${esc(contact.stage)}`}.</p>
<p>Offres par e-mail : ${marketing?.granted === true ? "acceptées" : marketing?.pending === true ? "en attente de votre confirmation (voir l'e-mail reçu)" : "non"}.</p>
<form method="post" action="/account/logout"><button>Se déconnecter</button></form>`
    )
  })

  app.post("/account/signup", async (req, res) => {
    const s = session(req, res)
    const email = field(req, "email").toLowerCase()
    const firstName = field(req, "firstName")
    const password = field(req, "password")
    const problems = [
      /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? null : "email : une adresse e-mail valide est attendue",
      firstName === "" ? "firstName : le prénom est requis" : null,
      password.length < 8 ? "password : 8 caractères au moins" : null,
      accounts.has(email) ? "email : un compte existe déjà pour cette adresse" : null
    ].filter((p): p is string => p !== null)
    if (problems.length > 0) return page(req, res, "Votre compte", accountForms(`<ul class="error">${problems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul>`), 400)
    addAccount(email, firstName, password, false)
    const lastName = field(req, "lastName")
    const channel = /^[a-z0-9-]{1,40}$/.test(cookiesOf(req).get("utm_source") ?? "") ? cookiesOf(req).get("utm_source")! : "website"
    const result = await crm.events.emit({
      type: "account.created",
      email,
      payload: { via: "signup-form" },
      contact: { firstName, ...(lastName === "" ? {} : { lastName }), source: { channel }, fields: { locale: localeOf(req) } }
    })
    if (field(req, "newsletter") === "yes" && result.contact !== null) {
      // Double opt-in: consent stays pending until the link of the confirmation mail is followed.
      await crm.consent.request(result.contact.id, {
        purpose: "marketing",
        source: "signup-form",
        evidence: "Case « Recevoir les offres de Boutique Lumière » cochée à l'inscription"
      })
    }
    s.email = email
    await cartChanged(s)
    res.redirect(303, "/account")
  })

  app.post("/account/login", (req, res) => {
    const s = session(req, res)
    const account = accounts.get(field(req, "email").toLowerCase())
    if (account === undefined || !passwordMatches(account, field(req, "password"))) {
      return page(req, res, "Votre compte", accountForms(`<p class="error">E-mail ou mot de passe incorrect.</p>`), 401)
    }
    s.email = account.email
    res.redirect(303, "/account")
  })

  app.post("/account/logout", (req, res) => {
    session(req, res).email = null
    res.redirect(303, "/")
  })

  app.get("/account/reset", (req, res) =>
    page(
      req,
      res,
      "Mot de passe oublié",
      `<form method="post" action="/account/reset"><label for="rs-email">E-mail</label><input id="rs-email" name="email" type="email" required><button>Recevoir un lien</button></form>`
    )
  )

  app.post("/account/reset", async (req, res) => {
    const email = field(req, "email").toLowerCase()
    if (accounts.has(email)) {
      const token = randomBytes(32).toString("base64url")
      resets.set(token, { email, expires: Date.now() + 60 * 60 * 1000 })
      // The rule "password-reset" sends the mail (transactional: always, consent or not).
      await crm.events.emit({ type: "password.reset_requested", email, payload: { resetUrl: `${url}/account/reset/${token}` } })
    }
    // The same answer either way: the page does not tell who has an account.
    page(req, res, "Mot de passe oublié", `<p class="notice">Si un compte existe pour cette adresse, un lien vient d'y être envoyé.</p>`)
  })

  app.get("/account/reset/:token", (req, res) => {
    const reset = resets.get(req.params.token)
    if (reset === undefined || reset.expires < Date.now()) return page(req, res, "Lien expiré", `<p><a href="/account/reset">Demander un nouveau lien</a></p>`, 400)
    page(
      req,
      res,
      "Nouveau mot de passe",
      `<form method="post"><label for="np">Nouveau mot de passe (8 caractères au moins)</label><input id="np" name="password" type="password" minlength="8" required><button>Enregistrer</button></form>`
    )
  })

  app.post("/account/reset/:token", (req, res) => {
    const reset = resets.get(req.params.token)
    const account = reset === undefined ? undefined : accounts.get(reset.email)
    const password = field(req, "password")
    if (reset === undefined || reset.expires < Date.now() || account === undefined) return page(req, res, "Lien expiré", "", 400)
    if (password.length < 8) return page(req, res, "Nouveau mot de passe", `<p class="error">password : 8 caractères au moins</p>`, 400)
    account.salt = randomBytes(16).toString("hex")
    account.hash = hashPassword(password, account.salt)
    resets.delete(req.params.token)
    session(req, res).email = account.email
    res.redirect(303, "/account")
  })

  server.on("request", app)
  log(`Boutique Lumière: ${url}/`)
  log(`  Dashboard: ${url}/crm/dashboard/ (sign in at ${url}/account with the admin account)`)
  log(`  CRM API:   ${url}/crm/api/docs (the same admin session, or a Rapport API key)`)
  if (mails !== null) log(`  SMTP (development): 127.0.0.1:${mails.port}, mails are logged here`)

  let closed = false
  return {
    url,
    crm,
    mails,
    setupPlan,
    seeded,
    close: async () => {
      if (closed) return
      closed = true
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await dashboard.close()
      await api.close()
      await dispatcher.stop()
      await crm.close()
      await mails?.close()
    }
  }
}
