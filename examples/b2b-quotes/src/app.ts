// The B2B back office: an Express 5 app where a salesperson records a company and its buyer,
// writes a quote, sends it as a PDF, follows it up by mail (the PDF attached again) or by phone
// (the reaction kept), and wins or loses it; the manager watches the weighted pipeline against
// the floor and gets it by mail every Monday. Rapport's own HTTP API is mounted under /crm/api.
//
// Every page also answers JSON when asked (`Accept: application/json`): the tests, and any script,
// drive the same routes a browser does.
import {
  createCrm,
  type CrmClient,
  RapportConflictError,
  RapportError,
  RapportInvalidTransitionError,
  RapportNotFoundError,
  RapportValidationError,
  type StorageProvider
} from "@rapport/core"
import { rapportDashboard, rapportRouter } from "@rapport/express"
import { smtpMailer } from "@rapport/mailer-smtp"
import type * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import express, { type NextFunction, type Request, type Response } from "express"
import { randomBytes, timingSafeEqual } from "node:crypto"
import type { AddressInfo } from "node:net"
import type { Server } from "node:http"
import { CURRENCY, declaration, PAYMENT_TERMS, QUOTE_STAGES } from "./declaration.js"
import { formatSiret, parseSiret, parseVatNumber } from "./legal.js"
import { type Mailbox, type ReceivedMail, startMailbox } from "./mailbox.js"
import { quotePdf } from "./pdf.js"
import { crmNow, pipelineFigures, quotesPipeline, type ReportSent, scheduleWeeklyReport, sendWeeklyReport } from "./report.js"
import { seedDemo, type SeedSummary } from "./seed.js"
import { euros, html, type Html, page } from "./views.js"

/** The seller, as it appears on quotes and in mails. */
export const SELLER = {
  name: "Vasseur Équipement Pro",
  address: "14 rue des Tanneurs, 69002 Lyon",
  siret: "532 109 876 00014",
  vatNumber: "FR45532109876",
  from: '"Vasseur Équipement Pro" <devis@vasseur-equipement.example>'
} as const

/** What `smtpMailer` takes: host, port, TLS, credentials… */
export type SmtpMailerOptions = Parameters<typeof smtpMailer>[0]

/** The signed-in salesperson. A real back office reads its own session here. */
export interface User {
  readonly id: string
  readonly name: string
}

/** What {@link createApp} needs. */
export interface AppOptions {
  /** `sqliteStorage({ filename })`, `memoryStorage()` or `postgresStorage({ url })`. */
  readonly storage: StorageProvider
  /** The CRM's clock (a virtual one in tests); the system clock by default. */
  readonly clock?: Clock.Clock
  /** The workspace to work in (`default` by default). */
  readonly workspace?: string
  /** The HTTP port on 127.0.0.1 (0: any free port). Default 3001. */
  readonly port?: number
  /** The local development SMTP server's port on 127.0.0.1 (0: any free port). Default 2525. Ignored with `smtp`. */
  readonly smtpPort?: number
  /** A real SMTP relay instead of the local development server. */
  readonly smtp?: SmtpMailerOptions
  /** Seed demo data on first start (an empty workspace). Default `true`. */
  readonly seed?: boolean
  /** The signed-in user. Default Léa Fontaine (`sales:lea`). */
  readonly user?: User
  /** Where log lines go. Default `console.log`. */
  readonly log?: (line: string) => void
}

/** A running app. */
export interface App {
  /** The base URL, e.g. `http://127.0.0.1:3001`. */
  readonly url: string
  readonly crm: CrmClient
  /** Mails the local SMTP server received (always empty with a real relay). */
  readonly mails: ReadonlyArray<ReceivedMail>
  /** The local SMTP server's port (`null` with a real relay). */
  readonly smtpPort: number | null
  /** What the first start seeded (`null`: nothing, the workspace had data or `seed: false`). */
  readonly seeded: SeedSummary | null
  /** Sends the weekly report now (what Monday 08:00 does). */
  sendWeeklyReport(): Promise<ReportSent>
  close(): Promise<void>
}

/** Input the app refuses, naming the field. */
class InputError extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(message)
  }
}

const LABELS: Record<string, string> = { siret: "SIRET", vatNumber: "VAT number", paymentTerms: "Payment terms", creditLimit: "Credit limit" }
const STAGE_LABEL: Record<string, string> = Object.fromEntries(QUOTE_STAGES.map((s) => [s.key, s.label]))
const CONTACT_STAGE_LABEL: Record<string, string> = { suspect: "Suspect", prospect: "Prospect", customer: "Customer", loyal: "Loyal", fan: "Fan", addict: "Addict" }

const wantsJson = (req: Request) => req.accepts(["html", "json"]) === "json"

const str = (body: unknown, key: string): string | undefined => {
  const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined
  if (value === undefined || value === null) return undefined
  if (typeof value !== "string" && typeof value !== "number") throw new InputError(key, `${key} must be text`)
  const text = String(value).trim()
  return text === "" ? undefined : text
}

const required = (body: unknown, key: string, label = key): string => {
  const value = str(body, key)
  if (value === undefined) throw new InputError(key, `${label} is required`)
  return value
}

/** "1 234,50", "1234.5" or 1234.5 euros → 123450 cents, exactly (no float arithmetic on money). */
export const parseEuros = (input: string, field: string): number => {
  const text = input.replace(/[\s\u00a0\u202f€]/g, "").replace(",", ".")
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text)
  if (match === null) throw new InputError(field, `${field} must be an amount in euros such as 1250 or 1 250,50 (got ${JSON.stringify(input)})`)
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"))
}

interface QuoteLine {
  readonly description: string
  readonly quantity: number
  readonly unitPriceMinor: number
}

const linesOf = (body: unknown): ReadonlyArray<QuoteLine> => {
  const raw = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["lines"] : undefined
  // A form posts one line as flat fields; JSON may post several.
  const list: ReadonlyArray<unknown> = Array.isArray(raw) ? raw : [{ description: str(body, "description"), quantity: str(body, "quantity") ?? "1", unitPrice: str(body, "unitPrice") }]
  if (list.length === 0 || list.length > 50) throw new InputError("lines", "a quote has 1 to 50 lines")
  return list.map((line, i) => {
    const description = required(line, "description", `lines[${i}].description`)
    const quantity = Number(required(line, "quantity", `lines[${i}].quantity`))
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 10_000) throw new InputError(`lines[${i}].quantity`, `lines[${i}].quantity must be a whole number from 1 to 10000`)
    const unitPriceMinor = parseEuros(required(line, "unitPrice", `lines[${i}].unitPrice`), `lines[${i}].unitPrice`)
    return { description, quantity, unitPriceMinor }
  })
}

// What the `lines` deal field holds; a value that does not fit (edited by hand through the API)
// shows as one line with the deal's title and amount.
const StoredLines = Schema.parseJson(
  Schema.Array(Schema.Struct({ description: Schema.String, quantity: Schema.Int.pipe(Schema.positive()), unitPriceMinor: Schema.Int.pipe(Schema.nonNegative()) })).pipe(Schema.minItems(1))
)

const storedLines = (deal: { title: string; amount: { amountMinor: number }; fields: Record<string, unknown> }): ReadonlyArray<QuoteLine> =>
  Option.getOrElse(Schema.decodeUnknownOption(StoredLines)(deal.fields["lines"]), () => [{ description: deal.title, quantity: 1, unitPriceMinor: deal.amount.amountMinor }])

// A browser's datetime-local field sends "2026-12-14T10:00": the workspace's local time, which
// Rapport (rightly) refuses without an offset. Anything else is passed on as it is.
const localInstant = (input: string | undefined, timeZone: string): string | undefined => {
  const match = input === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(input)
  if (match === null) return input
  const [year, month, day, hours, minutes] = match.slice(1).map(Number) as [number, number, number, number, number]
  return DateTime.formatIso(DateTime.unsafeMakeZoned({ year, month, day, hours, minutes }, { timeZone, adjustForTimeZone: true }))
}

const personName = (c: { firstName: string | null; lastName: string | null; email: string | null }) =>
  [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || "(no name)"

/**
 * Starts the back office: the CRM (set up from the declaration, seeded on first start), the
 * dispatcher, the weekly report's schedule, the local SMTP server and the HTTP server, all on
 * 127.0.0.1.
 */
export const createApp = async (options: AppOptions): Promise<App> => {
  const log = options.log ?? ((line: string) => console.log(line))
  const user = options.user ?? { id: "sales:lea", name: "Léa Fontaine" }
  // Everything started is closed in the reverse order, also when a later step fails to start.
  const closing: Array<() => Promise<void>> = []
  const closeAll = async () => {
    for (const close of closing.reverse()) await close().catch((error: unknown) => log(`[close] ${String(error)}`))
    closing.length = 0
  }
  const mailbox: Mailbox | null = options.smtp === undefined ? await startMailbox(options.smtpPort ?? 2525, log) : null
  if (mailbox !== null) closing.push(() => mailbox.close())
  try {
    const mailer = smtpMailer(
      options.smtp ?? { host: "127.0.0.1", port: mailbox!.port, secure: false, pool: false, from: SELLER.from, name: "localhost", messageIdDomain: "vasseur-equipement.example" }
    )
    const crm = await createCrm({
      storage: options.storage,
      mailer,
      mail: { from: SELLER.from },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.workspace === undefined ? {} : { workspace: options.workspace })
    })
    closing.push(() => crm.close())

    const settings = await crm.settings.get()
    if (settings.name !== SELLER.name || settings.timezone !== "Europe/Paris" || settings.country !== "FR") {
      await crm.settings.update({ name: SELLER.name, timezone: "Europe/Paris", country: "FR" })
    }
    await crm.setup(declaration)
    const seeded = options.seed === false ? null : await seedDemo(crm, { log })

    const templates = new Map((await crm.templates.list()).flatMap((t) => (t.key === null ? [] : [[t.key, t.id] as const])))
    const templateId = (key: string) => {
      const id = templates.get(key)
      if (id === undefined) throw new Error(`template "${key}" is missing: crm.setup(declaration) creates it`)
      return id
    }

    const dispatcher = crm.dispatcher.start({ pollInterval: "2 seconds" })
    closing.push(() => dispatcher.stop())
    const schedule = scheduleWeeklyReport(crm, options.clock, log)
    closing.push(() => schedule.stop())

    // No login in the example: every request is the signed-in salesperson, in the app's workspace.
    // Plug the app's own session (or `apiKeyAuth(crm)` for other servers) in here.
    const caller = () => ({ workspace: crm.workspaceId, principal: user.id, role: "admin" })
    const api = rapportRouter(crm, {
      authenticate: caller,
      bodyLimit: 16 * 1024 * 1024
    })
    closing.push(() => api.close())

    const app = express()
    app.disable("x-powered-by")
    // Rapport reads its own bodies: mounted before the body parsers.
    app.use("/crm/api", api)
    // The dashboard: Rapport's charts and lists over the same CRM (French or English, after the browser).
    const dashboard = rapportDashboard(crm, { authenticate: caller, title: SELLER.name })
    closing.push(() => dashboard.close())
    app.use("/crm/dashboard", dashboard)
    // Forms carry a token another site cannot read, so it cannot make a visitor's browser post
    // them (the back office has no sign-in to lean on). JSON bodies need no token: a browser sends
    // them across sites only after a CORS preflight, which this app never grants.
    const formToken = randomBytes(24).toString("base64url")
    const show = (title: string, body: Html, flash: { readonly error?: string | null; readonly notice?: string | null } = {}) =>
      page(title, body, flash).replace(/(<form method="post"[^>]*>)/g, `$1<input type="hidden" name="_csrf" value="${formToken}">`)
    app.use(express.urlencoded({ extended: false, limit: "1mb" }))
    app.use(express.json({ limit: "1mb" }))
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method !== "POST" || req.is("application/json")) return next()
      const sent = Buffer.from(typeof req.body?._csrf === "string" ? req.body._csrf : "")
      if (sent.length === formToken.length && timingSafeEqual(sent, Buffer.from(formToken))) return next()
      res.status(403).send(show("Form expired", html`<p>This form was not sent from this back office, or the app restarted since it was shown. <a href="/">Reload the pipeline</a> and try again.</p>`))
    })

    const fieldLabel = (key: string) => LABELS[key] ?? key

    // --- Loading what pages show

    const contactView = async (contactId: string) => {
      const contact = await crm.contacts.get(contactId)
      const company = contact.companyId === null ? null : await crm.companies.get(contact.companyId)
      const deals = (await crm.deals.list({ contactId, limit: 100 })).items
      const timeline = (await crm.timeline.list(contactId, { limit: 50 })).items
      return { contact, company, deals, timeline }
    }

    const quoteView = async (dealId: string) => {
      const deal = await crm.deals.get(dealId)
      const contact = deal.contactId === null ? null : await crm.contacts.get(deal.contactId)
      const company = deal.companyId === null ? null : await crm.companies.get(deal.companyId)
      const timeline = contact === null ? [] : (await crm.timeline.list(contact.id, { limit: 100 })).items.filter((e) => (e.payload as Record<string, unknown>)["dealId"] === deal.id)
      const tasks = (await crm.tasks.list({ dealId: deal.id, status: "open" })).items
      return { deal, contact, company, timeline, tasks }
    }

    const pdfOf = async (dealId: string) => {
      const { deal, contact, company } = await quoteView(dealId)
      if (contact === null) throw new InputError("contactId", "this quote has no contact to address it to")
      const now = new Date(await crmNow(crm))
      const issuedOn = now.toISOString().slice(0, 10)
      const validUntil = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 10)
      const fields = contact.fields as Record<string, unknown>
      const bytes = await quotePdf({
        quoteRef: deal.quoteRef ?? deal.id,
        title: deal.title,
        issuedOn,
        validUntil,
        seller: SELLER,
        customer: {
          company: company?.name ?? null,
          contact: personName(contact),
          email: contact.email,
          siret: typeof fields["siret"] === "string" ? formatSiret(fields["siret"]) : null,
          vatNumber: typeof fields["vatNumber"] === "string" ? fields["vatNumber"] : null,
          paymentTerms: typeof fields["paymentTerms"] === "string" ? fields["paymentTerms"] : null
        },
        lines: storedLines(deal),
        currency: deal.amount.currency,
        vatRatePercent: 20
      })
      return { deal, bytes, filename: `${deal.quoteRef ?? deal.id}.pdf` }
    }

    const nextQuoteRef = async () => {
      const year = new Date(await crmNow(crm)).getUTCFullYear()
      let highest = 0
      let cursor: string | undefined
      do {
        const page = await crm.deals.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) })
        for (const d of page.items) {
          const match = d.quoteRef === null ? null : new RegExp(`^Q-${year}-(\\d+)$`).exec(d.quoteRef)
          if (match !== null) highest = Math.max(highest, Number(match[1]))
        }
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      return `Q-${year}-${String(highest + 1).padStart(4, "0")}`
    }

    // --- Pages

    app.get("/", async (req, res) => {
      const figures = await pipelineFigures(crm)
      if (wantsJson(req)) return void res.json(figures)
      res.send(show("Quotes pipeline", pipelineSection(figures)))
    })

    app.get("/floor", async (req, res) => {
      const figures = await pipelineFigures(crm)
      if (wantsJson(req)) return void res.json({ floor: figures.floor, weighted: figures.weighted, below: figures.below, shortfall: figures.shortfall })
      res.send(show("Floor check", pipelineSection(figures)))
    })

    app.post("/reports/weekly", async (req, res) => {
      // Sent by hand: a report of its own, however many were sent this week.
      const sent = await sendWeeklyReport(crm, { id: `manual-${await crmNow(crm)}` })
      if (wantsJson(req)) return void res.status(201).json(sent)
      res.send(show("Weekly report", html`<p>Recorded for ${sent.recipients.map((r) => r.email ?? r.contactId).join(", ") || "nobody: tag a contact sales-manager"}; it leaves with the next dispatcher round.</p>${pipelineSection(sent.figures)}`, { notice: `Week ${sent.week} report sent` }))
    })

    app.get("/companies", async (req, res) => {
      const companies = (await crm.companies.list({ limit: 500 })).items
      const contacts = (await crm.contacts.list({ limit: 500 })).items
      const rows = companies.map((company) => ({ company, contacts: contacts.filter((c) => c.companyId === company.id) }))
      if (wantsJson(req)) return void res.json({ items: rows })
      res.send(
        show(
          "Companies",
          html`<section><h2>New company and its buyer</h2>${newCompanyForm()}</section>
<section><h2>${companies.length} companies</h2><table><thead><tr><th scope="col">Company</th><th scope="col">Buyer</th><th scope="col">Stage</th></tr></thead><tbody>
${rows.map(({ company, contacts }) => html`<tr><td>${company.name}</td><td>${contacts.map((c) => html`<a href="/contacts/${c.id}">${personName(c)}</a> `)}</td><td>${contacts.map((c) => CONTACT_STAGE_LABEL[c.stage] ?? c.stage).join(", ")}</td></tr>`)}
</tbody></table></section>`
        )
      )
    })

    app.post("/companies", async (req, res) => {
      const name = required(req.body, "name", "Company name")
      const email = required(req.body, "email", "Buyer's email")
      const domain = str(req.body, "domain")
      const company = await crm.companies.create({ name, ...(domain === undefined ? {} : { domain }) })
      try {
        const phone = str(req.body, "phone")
        const locale = str(req.body, "locale")
        const jobTitle = str(req.body, "jobTitle")
        const contact = await crm.contacts.create({
          email,
          firstName: str(req.body, "firstName") ?? null,
          lastName: str(req.body, "lastName") ?? null,
          companyId: company.id,
          ownerId: user.id,
          source: { channel: str(req.body, "channel") ?? "direct", ...(str(req.body, "campaign") === undefined ? {} : { campaign: str(req.body, "campaign")! }) },
          ...(phone === undefined ? {} : { phone }),
          fields: { ...(locale === undefined ? {} : { locale }), ...(jobTitle === undefined ? {} : { jobTitle }) }
        })
        if (wantsJson(req)) return void res.status(201).location(`/contacts/${contact.id}`).json({ company, contact })
        res.redirect(303, `/contacts/${contact.id}`)
      } catch (error) {
        // The buyer was refused (a duplicate email…): do not leave an empty company behind.
        await crm.companies.remove(company.id).catch(() => undefined)
        throw error
      }
    })

    const renderContact = async (res: Response, contactId: string, status = 200, flash: { error?: string; notice?: string } = {}) => {
      const view = await contactView(contactId)
      res.status(status).send(show(personName(view.contact), contactPage(view, user), { error: flash.error ?? null, notice: flash.notice ?? null }))
    }

    app.get("/contacts/:id", async (req, res) => {
      if (wantsJson(req)) return void res.json(await contactView(req.params.id))
      await renderContact(res, req.params.id)
    })

    app.post("/contacts/:id/details", async (req, res) => {
      const contact = await crm.contacts.get(req.params.id)
      const fields: { [key: string]: string | { amountMinor: number; currency: string } } = {}
      const siretInput = str(req.body, "siret")
      let siret: string | undefined
      try {
        if (siretInput !== undefined) {
          const parsed = parseSiret(siretInput)
          if ("error" in parsed) throw new InputError("siret", `SIRET: ${parsed.error}`)
          siret = parsed.siret
          fields["siret"] = siret
        }
        const vatInput = str(req.body, "vatNumber")
        if (vatInput !== undefined) {
          const known = siret ?? (typeof contact.fields["siret"] === "string" ? contact.fields["siret"] : undefined)
          const parsed = parseVatNumber(vatInput, known)
          if ("error" in parsed) throw new InputError("vatNumber", `VAT number: ${parsed.error}`)
          fields["vatNumber"] = parsed.vat
        }
        const terms = str(req.body, "paymentTerms")
        if (terms !== undefined) {
          if (!(PAYMENT_TERMS as ReadonlyArray<string>).includes(terms)) throw new InputError("paymentTerms", `Payment terms must be one of ${PAYMENT_TERMS.join(", ")}`)
          fields["paymentTerms"] = terms
        }
        const limit = str(req.body, "creditLimit")
        if (limit !== undefined) fields["creditLimit"] = { amountMinor: parseEuros(limit, "creditLimit"), currency: CURRENCY }
      } catch (error) {
        if (error instanceof InputError && !wantsJson(req)) return renderContact(res, contact.id, 400, { error: error.message })
        throw error
      }
      const updated = await crm.contacts.update(contact.id, { expectedVersion: contact.version, fields })
      if (wantsJson(req)) return void res.json(updated)
      res.redirect(303, `/contacts/${contact.id}`)
    })

    app.post("/contacts/:id/stage", async (req, res) => {
      const stage = required(req.body, "stage", "Stage")
      try {
        await crm.lifecycle.move(req.params.id, stage, { reason: str(req.body, "reason") ?? "moved in the back office", author: user.id })
      } catch (error) {
        if (error instanceof RapportInvalidTransitionError) {
          const contact = await crm.contacts.get(req.params.id)
          const missing = error.missingFields.map(fieldLabel)
          const message =
            missing.length > 0
              ? `${personName(contact)} cannot become ${CONTACT_STAGE_LABEL[error.to] ?? error.to} yet: fill in ${missing.join(", ")} first (a customer's company details are required).`
              : `${personName(contact)} cannot move from ${CONTACT_STAGE_LABEL[error.from] ?? error.from} to ${CONTACT_STAGE_LABEL[error.to] ?? error.to}: ${error.message}`
          if (wantsJson(req)) return void res.status(422).json({ error: message, code: error.code, missingFields: error.missingFields, missingLabels: missing })
          return renderContact(res, contact.id, 422, { error: message })
        }
        throw error
      }
      if (wantsJson(req)) return void res.json(await crm.contacts.get(req.params.id))
      res.redirect(303, `/contacts/${req.params.id}`)
    })

    app.get("/quotes", async (req, res) => {
      const pipeline = await quotesPipeline(crm)
      const statuses = str(req.query, "status") === "all" ? undefined : (["open"] as const)
      const deals = (await crm.deals.list({ pipelineId: pipeline.id, limit: 500, ...(statuses === undefined ? {} : { statuses: [...statuses] }) })).items
      if (wantsJson(req)) return void res.json({ items: deals })
      res.send(
        show(
          statuses === undefined ? "All quotes" : "Open quotes",
          html`<p><a href="/quotes?status=${statuses === undefined ? "open" : "all"}">${statuses === undefined ? "Open quotes only" : "All quotes"}</a></p>
<section><table><thead><tr><th scope="col">Quote</th><th scope="col">Title</th><th scope="col">Stage</th><th scope="col" class="num">Amount</th><th scope="col">Close</th></tr></thead><tbody>
${deals.map((d) => html`<tr><td><a href="/quotes/${d.id}">${d.quoteRef ?? d.id}</a></td><td>${d.title}</td><td>${STAGE_LABEL[d.stage] ?? d.stage}</td><td class="num">${euros(d.amount.amountMinor, d.amount.currency)}</td><td>${d.expectedCloseDate ?? ""}</td></tr>`)}
</tbody></table></section>`
        )
      )
    })

    app.post("/quotes", async (req, res) => {
      const contact = await crm.contacts.get(required(req.body, "contactId", "Contact"))
      const lines = linesOf(req.body)
      const amountMinor = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0)
      const stage = str(req.body, "stage")
      const close = str(req.body, "expectedCloseDate")
      const deal = await crm.deals.create({
        title: str(req.body, "title") ?? lines[0]!.description,
        amount: { amountMinor, currency: CURRENCY },
        pipelineId: (await quotesPipeline(crm)).id,
        contactId: contact.id,
        companyId: contact.companyId,
        ownerId: user.id,
        quoteRef: await nextQuoteRef(),
        fields: { lines: JSON.stringify(lines) },
        ...(stage === undefined ? {} : { stage }),
        ...(close === undefined ? {} : { expectedCloseDate: close })
      })
      if (wantsJson(req)) return void res.status(201).location(`/quotes/${deal.id}`).json(deal)
      res.redirect(303, `/quotes/${deal.id}`)
    })

    const renderQuote = async (res: Response, dealId: string, status = 200, flash: { error?: string; notice?: string } = {}) => {
      const view = await quoteView(dealId)
      res.status(status).send(show(`Quote ${view.deal.quoteRef ?? view.deal.id}`, quotePage(view), { error: flash.error ?? null, notice: flash.notice ?? null }))
    }

    app.get("/quotes/:id", async (req, res) => {
      if (wantsJson(req)) return void res.json(await quoteView(req.params.id))
      await renderQuote(res, req.params.id)
    })

    app.get("/quotes/:id/pdf", async (req, res) => {
      const { bytes, filename } = await pdfOf(req.params.id)
      res.type("application/pdf").set("Content-Disposition", `inline; filename="${filename}"`).send(Buffer.from(bytes))
    })

    app.post("/quotes/:id/send", async (req, res) => {
      const { deal, bytes, filename } = await pdfOf(req.params.id)
      // The mail and its PDF go through the outbox in one transaction with the timeline entry; the
      // key makes a double click (or a retried request) send the quote once.
      const followUp = await crm.deals.followUp(deal.id, {
        channel: "email",
        templateId: templateId("quote-sent"),
        idempotencyKey: `send-${deal.quoteRef ?? deal.id}`,
        attachments: [{ filename, contentType: "application/pdf", content: bytes }],
        note: `Quote ${deal.quoteRef} sent with its PDF`,
        author: user.id
      })
      await crm.deals.sendQuote(deal.id, { author: user.id })
      const current = await crm.deals.get(deal.id)
      const moved = current.stage === "draft" ? await crm.deals.move(deal.id, "sent", { note: "quote sent" }) : current
      if (wantsJson(req)) return void res.json({ deal: moved, mail: followUp.mail, duplicate: followUp.duplicate })
      await renderQuote(res, deal.id, 200, { notice: `Quote sent to ${followUp.mail?.to ?? "the contact"} with ${filename}` })
    })

    app.post("/quotes/:id/follow-up", async (req, res) => {
      const channel = required(req.body, "channel", "Channel")
      const reaction = str(req.body, "reaction")
      const note = str(req.body, "note")
      const nextDueAt = localInstant(str(req.body, "nextDueAt"), (await crm.settings.get()).timezone)
      if (reaction !== undefined && !["positive", "neutral", "negative", "noAnswer"].includes(reaction)) {
        throw new InputError("reaction", "reaction must be positive, neutral, negative or noAnswer")
      }
      const common = {
        author: user.id,
        ...(reaction === undefined ? {} : { reaction: reaction as "positive" | "neutral" | "negative" | "noAnswer" }),
        ...(note === undefined ? {} : { note }),
        ...(nextDueAt === undefined ? {} : { next: { dueAt: nextDueAt, channel: "call" as const, ownerId: user.id } })
      }
      let result
      if (channel === "email") {
        const { deal, bytes, filename } = await pdfOf(req.params.id)
        const key = str(req.body, "idempotencyKey") ?? req.get("Idempotency-Key")
        result = await crm.deals.followUp(deal.id, {
          ...common,
          channel: "email",
          templateId: templateId("quote-follow-up"),
          attachments: [{ filename, contentType: "application/pdf", content: bytes }],
          ...(key === undefined ? {} : { idempotencyKey: key })
        })
      } else if (channel === "call" || channel === "meeting" || channel === "letter") {
        if (channel === "call" && reaction === undefined) throw new InputError("reaction", "a call's reaction is required: positive, neutral, negative or noAnswer")
        result = await crm.deals.followUp(req.params.id, { ...common, channel })
      } else {
        throw new InputError("channel", "channel must be email, call, meeting or letter")
      }
      if (wantsJson(req)) return void res.status(201).json(result)
      await renderQuote(res, req.params.id, 200, { notice: channel === "email" ? `Follow-up mailed to ${result.mail?.to}` : `Call recorded (${reaction})` })
    })

    app.post("/quotes/:id/move", async (req, res) => {
      const deal = await crm.deals.move(req.params.id, required(req.body, "stage", "Stage"), { note: str(req.body, "note") ?? "moved in the back office" })
      if (wantsJson(req)) return void res.json(deal)
      res.redirect(303, `/quotes/${deal.id}`)
    })

    app.post("/quotes/:id/win", async (req, res) => {
      const deal = await crm.deals.win(req.params.id, { note: str(req.body, "note") ?? `won by ${user.name}` })
      if (wantsJson(req)) return void res.json(deal)
      res.redirect(303, `/quotes/${deal.id}`)
    })

    app.post("/quotes/:id/lose", async (req, res) => {
      const deal = await crm.deals.lose(req.params.id, { reason: required(req.body, "reason", "Reason") })
      if (wantsJson(req)) return void res.json(deal)
      res.redirect(303, `/quotes/${deal.id}`)
    })

    app.get("/mails", (req, res) => {
      const mails = (mailbox?.received ?? []).map((m) => ({
        to: m.envelopeTo,
        subject: m.parsed.subject ?? null,
        receivedAt: m.receivedAt,
        attachments: m.parsed.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
        text: m.parsed.text ?? null
      }))
      if (wantsJson(req)) return void res.json({ items: mails })
      res.send(
        show(
          "Mails received by the development SMTP server",
          mailbox === null
            ? html`<p>Mails go to the configured SMTP relay.</p>`
            : html`<p>SMTP on 127.0.0.1:${mailbox.port}; newest first.</p>${[...mails].reverse().map((m) => html`<section><h2>${m.subject}</h2><p>To ${m.to.join(", ")} · ${m.receivedAt}${m.attachments.length > 0 ? html` · attached: ${m.attachments.map((a) => `${a.filename} (${a.size} bytes)`).join(", ")}` : ""}</p><pre>${m.text}</pre></section>`)}`
        )
      )
    })

    app.use((req: Request, res: Response) => {
      if (wantsJson(req)) return void res.status(404).json({ error: `no page ${req.method} ${req.path}` })
      res.status(404).send(show("Not found", html`<p>No page here. <a href="/">Back to the pipeline</a>.</p>`))
    })

    // Errors become a readable message naming the field, as JSON or as a page.
    app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
      const { status, body } = problemOf(error, log)
      if (wantsJson(req)) return void res.status(status).json(body)
      res.status(status).send(show(status === 404 ? "Not found" : "Something is not right", html`<p><a href="javascript:history.back()">Go back</a> and correct it.</p>`, { error: body.error }))
    })

    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(options.port ?? 3001, "127.0.0.1", (error?: Error) => (error === undefined ? resolve(s) : reject(error)))
    })
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
    )
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    return {
      url,
      crm,
      get mails() {
        return mailbox?.received ?? []
      },
      smtpPort: mailbox?.port ?? null,
      seeded,
      sendWeeklyReport: () => sendWeeklyReport(crm, {}),
      close: closeAll
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}

const problemOf = (error: unknown, log: (line: string) => void): { status: number; body: { error: string; code: string; field?: string; issues?: unknown } } => {
  if (error instanceof InputError) return { status: 400, body: { error: error.message, code: "VALIDATION_FAILED", field: error.field } }
  if (error instanceof RapportValidationError) {
    return { status: 400, body: { error: error.message, code: error.code, issues: error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) } }
  }
  if (error instanceof RapportNotFoundError) return { status: 404, body: { error: error.message, code: error.code } }
  if (error instanceof RapportConflictError) return { status: 409, body: { error: error.message, code: error.code } }
  if (error instanceof RapportInvalidTransitionError) return { status: 422, body: { error: error.message, code: error.code } }
  const bodyProblem = typeof error === "object" && error !== null && "type" in error ? (error as { type: unknown }).type : undefined
  if (bodyProblem === "entity.parse.failed") return { status: 400, body: { error: "the body is not valid JSON", code: "MALFORMED_JSON" } }
  if (bodyProblem === "entity.too.large") return { status: 413, body: { error: "the body is larger than 1 MB", code: "PAYLOAD_TOO_LARGE" } }
  log(`[error] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  return { status: 500, body: { error: error instanceof RapportError ? `${error.code}: the CRM failed; see the server log` : "internal error; see the server log", code: "INTERNAL_ERROR" } }
}

// --- Page bodies

type Figures = Awaited<ReturnType<typeof pipelineFigures>>

const pipelineSection = (f: Figures): Html => html`<section aria-labelledby="floor-h"><h2 id="floor-h">Floor check</h2>
<p>Open quotes weighted by their probability: <strong>${euros(f.weighted.amountMinor)}</strong> against a floor of ${f.floor === null ? "(none set)" : euros(f.floor.amountMinor)}:
${f.below ? html`<span class="below">below by ${euros(f.shortfall?.amountMinor ?? 0)}: time to prospect</span>` : html`<span class="above">above the floor</span>`}</p></section>
<section aria-labelledby="stages-h"><h2 id="stages-h">Open quotes by stage</h2><table><thead><tr><th scope="col">Stage</th><th scope="col" class="num">Probability</th><th scope="col" class="num">Quotes</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Weighted</th></tr></thead><tbody>
${f.stages.map((s) => html`<tr><td>${s.label}</td><td class="num">${s.probability} %</td><td class="num">${s.count}</td><td class="num">${euros(s.amount.amountMinor)}</td><td class="num">${euros(s.weighted.amountMinor)}</td></tr>`)}
<tr><th scope="row">Total</th><td></td><td class="num">${f.count}</td><td class="num">${euros(f.amount.amountMinor)}</td><td class="num">${euros(f.weighted.amountMinor)}</td></tr></tbody></table>
<form method="post" action="/reports/weekly" class="inline"><button>Send the weekly report to the sales manager now</button></form>
<p><a href="/crm/dashboard/">Charts in the Rapport dashboard</a></p></section>`

const newCompanyForm = (): Html => html`<form method="post" action="/companies">
<label for="c-name">Company name</label><input id="c-name" name="name" required>
<label for="c-domain">Web domain</label><input id="c-domain" name="domain" placeholder="example.fr">
<label for="c-first">Buyer's first name</label><input id="c-first" name="firstName">
<label for="c-last">Buyer's last name</label><input id="c-last" name="lastName">
<label for="c-email">Buyer's email</label><input id="c-email" name="email" type="email" required>
<label for="c-phone">Phone</label><input id="c-phone" name="phone" type="tel">
<label for="c-channel">How we met</label><select id="c-channel" name="channel"><option value="trade-show">Trade show</option><option value="referral">Referral</option><option value="website">Website</option><option value="linkedin">LinkedIn</option><option value="cold-call">Cold call</option></select>
<label for="c-locale">Language of mails</label><select id="c-locale" name="locale"><option value="fr-FR">Français</option><option value="en-GB">English</option></select>
<button>Create</button></form>`

type ContactView = { contact: { id: string; firstName: string | null; lastName: string | null; email: string | null; phone: string | null; stage: string; fields: Record<string, unknown> }; company: { name: string } | null; deals: ReadonlyArray<{ id: string; quoteRef: string | null; title: string; stage: string; status: string; amount: { amountMinor: number; currency: string } }>; timeline: ReadonlyArray<{ occurredAt: string; kind: string; summary: string; author: string | null }> }

const contactPage = (view: ContactView, user: User): Html => {
  const f = view.contact.fields
  const limit = f["creditLimit"] as { amountMinor: number } | undefined
  return html`<p>${view.company?.name ?? "No company"} · ${view.contact.email ?? ""} ${view.contact.phone ?? ""} · stage <strong>${CONTACT_STAGE_LABEL[view.contact.stage] ?? view.contact.stage}</strong></p>
<section><h2>Company details (required from customer on)</h2>
<form method="post" action="/contacts/${view.contact.id}/details">
<label for="d-siret">SIRET (14 digits)</label><input id="d-siret" name="siret" inputmode="numeric" value="${typeof f["siret"] === "string" ? formatSiret(f["siret"]) : ""}">
<label for="d-vat">VAT number</label><input id="d-vat" name="vatNumber" value="${f["vatNumber"] ?? ""}" placeholder="FR45532109876">
<label for="d-terms">Payment terms</label><select id="d-terms" name="paymentTerms"><option value="">—</option>${PAYMENT_TERMS.map((t) => html`<option${f["paymentTerms"] === t ? html` selected` : ""}>${t}</option>`)}</select>
<label for="d-limit">Credit limit (€)</label><input id="d-limit" name="creditLimit" inputmode="decimal" value="${limit === undefined ? "" : String(limit.amountMinor / 100)}">
<button>Save the details</button></form>
<form method="post" action="/contacts/${view.contact.id}/stage" class="inline"><input type="hidden" name="stage" value="customer"><button>Move to customer</button></form></section>
<section><h2>New quote</h2><form method="post" action="/quotes"><input type="hidden" name="contactId" value="${view.contact.id}">
<label for="q-title">Title</label><input id="q-title" name="title" required>
<label for="q-desc">Line</label><input id="q-desc" name="description" required>
<label for="q-qty">Quantity</label><input id="q-qty" name="quantity" type="number" min="1" value="1">
<label for="q-price">Unit price excl. VAT (€)</label><input id="q-price" name="unitPrice" inputmode="decimal" required>
<label for="q-close">Expected close date</label><input id="q-close" name="expectedCloseDate" type="date">
<button>Create the quote (as ${user.name})</button></form></section>
<section><h2>Quotes</h2><ul>${view.deals.map((d) => html`<li><a href="/quotes/${d.id}">${d.quoteRef ?? d.id}</a> ${d.title}: ${euros(d.amount.amountMinor, d.amount.currency)}, ${STAGE_LABEL[d.stage] ?? d.stage} (${d.status})</li>`)}</ul></section>
<section><h2>Timeline</h2><ol>${view.timeline.map((e) => html`<li><time datetime="${e.occurredAt}">${e.occurredAt.slice(0, 16).replace("T", " ")}</time> ${e.kind}: ${e.summary}${e.author === null ? "" : ` (${e.author})`}</li>`)}</ol></section>`
}

interface QuoteViewData {
  readonly deal: { id: string; quoteRef: string | null; title: string; stage: string; status: string; amount: { amountMinor: number; currency: string } }
  readonly contact: { id: string; firstName: string | null; lastName: string | null; email: string | null } | null
  readonly company: { name: string } | null
  readonly timeline: ReadonlyArray<{ occurredAt: string; kind: string; summary: string }>
  readonly tasks: ReadonlyArray<{ title: string; dueAt: string }>
}

const quotePage = (view: QuoteViewData): Html => {
  const d = view.deal
  const open = d.status === "open"
  return html`<p>${d.title} · <strong>${euros(d.amount.amountMinor, d.amount.currency)}</strong> excl. VAT · ${STAGE_LABEL[d.stage] ?? d.stage} (${d.status})
${view.contact === null ? "" : html` · for <a href="/contacts/${view.contact.id}">${personName(view.contact)}</a>`}${view.company === null ? "" : `, ${view.company.name}`}</p>
<p><a href="/quotes/${d.id}/pdf">The quote as PDF</a></p>
${open
    ? html`<section><h2>Actions</h2>
<form method="post" action="/quotes/${d.id}/send" class="inline"><button>Send the quote by mail (PDF attached)</button></form>
<form method="post" action="/quotes/${d.id}/follow-up" class="inline"><input type="hidden" name="channel" value="email"><button>Follow up by mail (PDF attached)</button></form>
<form method="post" action="/quotes/${d.id}/follow-up"><input type="hidden" name="channel" value="call">
<label for="f-reaction">Reaction on the phone</label><select id="f-reaction" name="reaction"><option value="positive">Positive</option><option value="neutral">Neutral</option><option value="negative">Negative</option><option value="noAnswer">No answer</option></select>
<label for="f-note">What was said</label><input id="f-note" name="note">
<label for="f-next">Call back on (Paris time)</label><input id="f-next" name="nextDueAt" type="datetime-local">
<button>Record the call</button></form>
<form method="post" action="/quotes/${d.id}/move" class="inline"><label for="m-stage">Stage</label><select id="m-stage" name="stage">${QUOTE_STAGES.filter((s) => !("outcome" in s)).map((s) => html`<option value="${s.key}"${s.key === d.stage ? html` selected` : ""}>${s.label} (${s.probability} %)</option>`)}</select><button>Move</button></form>
<form method="post" action="/quotes/${d.id}/win" class="inline"><button>Won</button></form>
<form method="post" action="/quotes/${d.id}/lose" class="inline"><label for="l-reason">Reason lost</label><input id="l-reason" name="reason" required><button>Lost</button></form></section>`
    : ""}
<section><h2>Next steps</h2><ul>${view.tasks.map((t) => html`<li>${t.title}, due ${t.dueAt.slice(0, 16).replace("T", " ")}</li>`)}</ul></section>
<section><h2>History of this quote</h2><ol>${view.timeline.map((e) => html`<li><time datetime="${e.occurredAt}">${e.occurredAt.slice(0, 16).replace("T", " ")}</time> ${e.kind}: ${e.summary}</li>`)}</ol></section>`
}

