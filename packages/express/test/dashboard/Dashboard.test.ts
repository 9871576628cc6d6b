// The dashboard over node:http on loopback (issue 17): every page answers 200 with its content, the
// data each chart draws is what the API answers for the same question, French and English, hostile
// names shown as text, 401/403 pages, CSRF refusal, a dead job retried, an upload imported with its
// report, and Chart.js served from node_modules.
import { once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Caller, rapportDashboard, rapportRouter } from "@rapport/express"
import { createTestCrm, type TestCrm } from "@rapport/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const callers: Readonly<Record<string, Caller>> = {
  "Bearer admin-a": { workspace: "ws-a", principal: "alice", role: "admin" },
  "Bearer reader-a": { workspace: "ws-a", principal: "rita", role: "read-only" },
  "Bearer stranger": { workspace: "ws-a", principal: "sid", role: "intern" },
  "Bearer admin-b": { workspace: "ws-b", principal: "bob", role: "admin" },
  "Bearer newcomer": { workspace: "ws-empty", principal: "nina", role: "admin" }
}
const authenticate = (req: http.IncomingMessage) => callers[req.headers.authorization ?? ""] ?? null

const HOSTILE = `<script>alert(1)</script>`
let crm: TestCrm
let dashboard: ReturnType<typeof rapportDashboard> | undefined
let server: http.Server
let url: string
let ids: { hostile: string; ada: string; pipeline: string; segment: string; deadJob: string }

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

beforeAll(async () => {
  crm = await createTestCrm({
    start: "2026-03-15T10:00:00.000Z",
    mailer: {
      send: async (mail) => {
        if (mail.to === "bounce@example.com") throw Object.assign(new Error("mailbox unknown"), { permanent: true })
        return { messageId: `m-${mail.idempotencyKey}` }
      }
    }
  })
  const a = crm.workspace("ws-a")
  const hostile = await a.contacts.create({ email: "evil@example.com", firstName: HOSTILE, lastName: "O'Hara & Sons", source: { channel: "ads", campaign: "spring" } })
  const ada = await a.contacts.create({ email: "ada@example.fr", firstName: "Adèle", lastName: "Dupont", source: { channel: "salon" } })
  await a.contacts.create({ email: "cy@example.com", firstName: "Cy", source: { channel: "salon" } })
  await a.analytics.recordSpend({ channel: "ads", campaign: "spring", month: "2026-02", amount: eur(30_000) })
  const place = (contactId: string, orderId: string, sku: string, name: string, quantity: number, price: number, cost: number) =>
    a.events.emit({ type: "order.placed", contactId, occurredAt: "2026-03-01T09:00:00Z", payload: { orderId, lines: [{ sku, name, quantity, unitPrice: eur(price), unitCost: eur(cost) }] } })
  await place(ada.id, "o-1", "SHOE-RED", "Red shoe", 2, 12_345, 5_000)
  await place(hostile.id, "o-2", "BAG", `Bag ${HOSTILE}`, 1, 9_999, 4_000)
  const pipeline = await a.pipelines.create({
    name: "Quotes",
    floor: eur(5_000_000),
    stages: [
      { key: "qualified", label: "Qualified", probability: 20 },
      { key: "proposal", label: "Proposal", probability: 50 },
      { key: "won", label: "Won", probability: 100, outcome: "won" },
      { key: "lost", label: "Lost", probability: 0, outcome: "lost" }
    ]
  })
  await a.deals.create({ title: "Bakery quote", amount: eur(1_000_000), pipelineId: pipeline.id, stage: "qualified", contactId: ada.id, expectedCloseDate: "2026-04-20" })
  await a.deals.create({ title: "Café quote", amount: eur(2_000_001), pipelineId: pipeline.id, stage: "proposal", contactId: ada.id, expectedCloseDate: "2026-05-02" })
  await a.tasks.create({ title: "Call Adèle back", dueAt: "2026-03-15T16:00:00Z", channel: "call", contactId: ada.id })
  await a.tasks.create({ title: "Overdue follow-up", dueAt: "2026-03-10T09:00:00Z", channel: "email", contactId: ada.id })
  const segment = await a.segments.create({ name: "Salon visitors", condition: { path: "contact.source.channel", op: "eq", value: "salon" } })
  // A welcome mail: sent to Adèle, refused for good by the provider for the bounce address (a dead job).
  await a.contacts.create({ email: "bounce@example.com", firstName: "Bounce", source: { channel: "salon" } })
  const welcome = await a.templates.create({ name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello {{ contact.firstName }}, thanks." })
  await a.rules.create({ id: "welcome", name: "Welcome", on: "signed.up", actions: [{ type: "sendEmail", template: welcome.id }] })
  await a.events.emit({ type: "signed.up", contactId: ada.id })
  const bounce = await a.contacts.findByEmail("bounce@example.com")
  await a.events.emit({ type: "signed.up", contactId: bounce!.id })
  await a.dispatcher.runDue()
  const [dead] = (await a.dispatcher.jobs({ status: "dead" })).items
  if (dead === undefined) throw new Error("the seed made no dead job")
  // Adèle opens her welcome mail twice: one mail opened.
  const [sentToAda] = (await a.dispatcher.jobs({ status: "done" })).items.filter((j) => j.contactId === ada.id)
  if (sentToAda === undefined) throw new Error("the seed sent Adèle no mail")
  for (const n of [1, 2]) await a.events.emit({ id: `open-${n}`, type: "email.opened", contactId: ada.id, payload: { jobId: sentToAda.id } })
  // Another workspace, with a contact the first must never see.
  await crm.workspace("ws-b").contacts.create({ email: "secret@b.example", firstName: "Secret-B" })
  ids = { hostile: hostile.id, ada: ada.id, pipeline: pipeline.id, segment: segment.id, deadJob: dead.id }

  dashboard = rapportDashboard(crm, { authenticate })
  const handler = dashboard
  const api = rapportRouter(crm, { authenticate })
  server = http.createServer((req, res) => {
    if (req.url?.startsWith("/crm/dashboard")) {
      // What Express does for app.use("/crm/dashboard", …): the path below the mount point, and the mount path.
      const mounted = Object.assign(req, { originalUrl: req.url, baseUrl: "/crm/dashboard", url: req.url.slice("/crm/dashboard".length) || "/" })
      return handler(mounted, res)
    }
    if (req.url?.startsWith("/crm/")) {
      const mounted = Object.assign(req, { originalUrl: req.url, baseUrl: "/crm", url: req.url.slice("/crm".length) })
      return api(mounted, res)
    }
    res.writeHead(404).end()
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 60_000)

afterAll(async () => {
  if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  await dashboard?.close()
  await crm?.close()
})

interface Got {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const get = async (path: string, as: string | null = "admin-a", headers: Record<string, string> = {}): Promise<Got> => {
  const response = await fetch(`${url}/crm/dashboard${path}`, {
    headers: { ...(as === null ? {} : { authorization: `Bearer ${as}` }), "accept-language": "en", ...headers },
    redirect: "manual"
  })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

/** A report of the API asked with a JSON body (the deals reports are POSTs that change nothing). */
const report = async (path: string, body: unknown): Promise<any> => {
  const response = await fetch(`${url}/crm${path}`, { method: "POST", headers: { authorization: "Bearer admin-a", "content-type": "application/json" }, body: JSON.stringify(body) })
  expect(response.status).toBe(200)
  return response.json()
}

const api = async (path: string): Promise<any> => {
  const response = await fetch(`${url}/crm${path}`, { headers: { authorization: "Bearer reader-a" } })
  expect(response.status).toBe(200)
  return response.json()
}

/** The JSON block a chart draws from. */
const chartData = (page: string, name: string): any => {
  const match = new RegExp(`<script type="application/json" data-chart-data="${name}">([^<]*)</script>`).exec(page)
  if (match === null) throw new Error(`no data block for chart ${name}`)
  expect(page).toContain(`<canvas data-chart="${name}"`)
  return JSON.parse(match[1]!)
}

const h1 = (page: string) => /<h1>([^<]*)<\/h1>/.exec(page)?.[1]
const attribute = (page: string, name: string, attr: string) => new RegExp(`data-chart="${name}"[^>]*${attr}="([^"]+)"`).exec(page)?.[1]

describe("dashboard pages", () => {
  it("every page answers 200 with its heading, lang, viewport, nav and main", async () => {
    const pages: ReadonlyArray<readonly [string, string]> = [
      ["/", "Overview"],
      ["/channels", "Channels"],
      ["/customers", "Customers and products"],
      ["/contacts", "Contacts"],
      ["/rules", "Rules and campaigns"],
      ["/outbox", "Outbox"],
      ["/mails", "Mails sent"],
      ["/imports", "Imports"],
      ["/segments", "Segments"]
    ]
    for (const [path, title] of pages) {
      const page = await get(path)
      expect([path, page.status]).toEqual([path, 200])
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(h1(page.text)).toBe(title)
      expect(page.text.match(/<h1>/g)).toHaveLength(1)
      expect(page.text).toContain('<html lang="en">')
      expect(page.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
      expect(page.text).toContain('<main id="main"')
      expect(page.text).toContain(`<a href="/crm/dashboard/segments"`)
    }
  })

  it("the overview's funnel, pipeline per stage (with the floor) and forecast are the API's figures", async () => {
    const page = (await get("/")).text
    const funnel = chartData(page, "funnel")
    const stages: Array<{ stage: string; position: number; reached: number }> = await api("/analytics/funnel")
    const reached = new Map<string, number>()
    for (const s of stages) reached.set(s.stage, (reached.get(s.stage) ?? 0) + s.reached)
    expect(funnel.labels).toEqual([...reached.keys()])
    expect(funnel.datasets[0].data).toEqual([...reached.values()])
    expect(funnel.datasets[0].data[0]).toBe(4)

    const pipeline = chartData(page, "pipeline-by-stage")
    const weighted = await report("/deals/reports/weighted", { groupBy: "stage" })
    expect(pipeline.labels).toEqual(["Qualified", "Proposal"])
    const bars = pipeline.datasets.find((d: any) => d.type === "bar" && d.currency === "EUR")
    expect(bars.minor).toEqual(weighted.groups.map((g: any) => g.totals[0].weighted.amountMinor))
    // 20% of 10,000.00 and 50% of 20,000.01 (rounded half up to a cent): exact minor units.
    expect(bars.minor).toEqual([200_000, 1_000_001])
    expect(bars.data).toEqual([2000, 10000.01])
    const floor = pipeline.datasets.find((d: any) => d.floor === true)
    const check = await report("/deals/reports/floor-check", { pipelineId: ids.pipeline })
    expect(floor.type).toBe("line")
    expect(floor.minor).toEqual([check.floor.amountMinor, check.floor.amountMinor])
    expect(page).toContain('data-floor="below"')

    const forecast = chartData(page, "forecast-by-month")
    const expected = await report("/deals/reports/forecast", {})
    expect(forecast.labels).toEqual(expected.months.map((m: any) => m.month))
    expect(forecast.datasets[0].minor).toEqual(expected.months.map((m: any) => m.totals[0]?.weighted.amountMinor ?? 0))
    expect(forecast.labels.slice(0, 3)).toEqual(["2026-03", "2026-04", "2026-05"])
    expect(forecast.datasets[0].minor.slice(0, 3)).toEqual([0, 200_000, 1_000_001])
  })

  it("today's and overdue tasks and the money are shown in the page's language", async () => {
    const en = (await get("/")).text
    expect(en).toMatch(/data-table="tasks-today"[\s\S]*Call Adèle back/)
    expect(en).toMatch(/data-table="tasks-overdue"[\s\S]*Overdue follow-up/)
    expect(en).toContain("€10,000.01")
    const fr = (await get("/?lang=fr")).text
    // 10 000,01 € with the narrow no-break space French uses between thousands.
    expect(fr).toMatch(/10\u202f000,01\u00a0€/)
  })

  it("channels and top products are the API's figures for the period the chart names", async () => {
    const channelsPage = (await get("/channels")).text
    const from = attribute(channelsPage, "channels-acquisition", "data-from")!
    const to = attribute(channelsPage, "channels-acquisition", "data-to")!
    expect([from, to]).toEqual(["2025-04-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"])
    const rows: Array<any> = await api(`/analytics/channels?from=${from}&to=${to}`)
    const acquisition = chartData(channelsPage, "channels-acquisition")
    const label = (r: any) => (r.campaign === null ? r.channel : `${r.channel} / ${r.campaign}`)
    expect(acquisition.labels).toEqual([...new Set(rows.map(label))])
    expect(acquisition.datasets[0].data).toEqual(acquisition.labels.map((l: string) => rows.find((r) => label(r) === l).acquired))
    expect(acquisition.datasets[1].data).toEqual(acquisition.labels.map((l: string) => rows.find((r) => label(r) === l).customers))
    const revenue = chartData(channelsPage, "channels-revenue")
    const spend = revenue.datasets.find((d: any) => d.measure === "spend" && d.currency === "EUR")
    expect(spend.minor[acquisition.labels.indexOf("ads / spring")]).toBe(30_000)
    expect(spend.minor).toEqual(acquisition.labels.map((l: string) => rows.find((r) => label(r) === l && r.currency === "EUR")?.spend?.amountMinor ?? 0))

    // Another period: the same comparison, over the months chosen.
    const quarter = (await get("/channels?months=3")).text
    expect(attribute(quarter, "channels-acquisition", "data-from")).toBe("2026-01-01T00:00:00.000Z")
    expect(quarter).toContain('<option value="3" selected>Last 3 months</option>')
    expect(attribute((await get("/channels?months=7")).text, "channels-acquisition", "data-from")).toBe(from)

    const customersPage = (await get("/customers")).text
    const products: Array<any> = await api(`/analytics/top-products?from=${from}&to=${to}`)
    const chart = chartData(customersPage, "top-products")
    const revenueSet = chart.datasets.find((d: any) => d.measure === "revenue")
    const marginSet = chart.datasets.find((d: any) => d.measure === "margin")
    expect(revenueSet.skus).toEqual(products.map((p) => p.sku))
    expect(revenueSet.minor).toEqual(products.map((p) => p.revenue.amountMinor))
    expect(marginSet.minor).toEqual(products.map((p) => p.margin.amountMinor))
    expect(revenueSet.minor).toEqual([24_690, 9_999])
  })

  it("French and English: the same page in each language, chosen by Accept-Language, ?lang= and remembered in a cookie", async () => {
    const fr = await get("/outbox", "admin-a", { "accept-language": "fr-FR,fr;q=0.9,en;q=0.5" })
    expect(fr.text).toContain('<html lang="fr">')
    expect(h1(fr.text)).toBe("File d’envoi")
    expect(fr.text).toContain(">Relancer</button>")
    const en = await get("/outbox", "admin-a", { "accept-language": "de-DE,en;q=0.8" })
    expect(h1(en.text)).toBe("Outbox")
    const switched = await get("/outbox?lang=fr", "admin-a", { "accept-language": "en" })
    expect(h1(switched.text)).toBe("File d’envoi")
    const cookie = switched.headers.getSetCookie().find((c) => c.startsWith("rapport_lang="))
    expect(cookie).toMatch(/^rapport_lang=fr; Path=\/crm\/dashboard; HttpOnly; SameSite=Strict/)
    const remembered = await get("/", "admin-a", { "accept-language": "en", cookie: cookie!.split(";")[0]! })
    expect(h1(remembered.text)).toBe("Vue d’ensemble")
  })

  it("a hostile contact name is shown as text, on the contact page, in search results and in the products chart data", async () => {
    const contact = await get(`/contacts/${ids.hostile}`)
    expect(contact.status).toBe(200)
    expect(contact.text).not.toContain(HOSTILE)
    expect(h1(contact.text)).toBe("&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Hara &amp; Sons")
    const search = await get("/contacts?q=script")
    expect(search.text).not.toContain(HOSTILE)
    expect(search.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    const customers = await get("/customers")
    expect(customers.text).not.toContain(HOSTILE)
    // In the JSON block the name is intact once parsed, and cannot close the script element.
    expect(chartData(customers.text, "top-products").labels).toContain(`Bag ${HOSTILE}`)
  })

  it("contacts are found by email (any contact) or by name, and the search box keeps what was typed, escaped", async () => {
    const byEmail = (await get("/contacts?q=ada%40example.fr")).text
    expect(byEmail).toContain(`href="/crm/dashboard/contacts/${ids.ada}"`)
    expect(byEmail).not.toContain("evil@example.com")
    const byName = (await get("/contacts?q=ad%C3%A8le")).text
    expect(byName).toContain(`href="/crm/dashboard/contacts/${ids.ada}"`)
    expect(byName).not.toContain("cy@example.com")
    const hostile = (await get(`/contacts?q=${encodeURIComponent('"><script>x</script>')}`)).text
    expect(hostile).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
    expect(hostile).toContain("No contact found")
  })

  it("the contact page shows details, deals, tasks, consent and links to its GDPR export, which answers the contact's data", async () => {
    const page = (await get(`/contacts/${ids.ada}`)).text
    expect(h1(page)).toBe("Adèle Dupont")
    expect(page).toContain("ada@example.fr")
    expect(page).toMatch(/data-table="deals"[\s\S]*Café quote/)
    expect(page).toMatch(/data-table="tasks"[\s\S]*Call Adèle back/)
    expect(page).toMatch(/data-table="timeline"/)
    expect(page).toContain('data-section="consent"')
    expect(page).toContain(`href="/crm/dashboard/contacts/${ids.ada}/personal-data"`)
    const exported = await fetch(`${url}/crm/dashboard/contacts/${ids.ada}/personal-data`, { headers: { authorization: "Bearer admin-a" } })
    expect(exported.status).toBe(200)
    expect(JSON.stringify(await exported.json())).toContain("ada@example.fr")
  })

  it("nothing crosses workspaces: another workspace's caller sees neither the contact nor its figures", async () => {
    const other = await get(`/contacts/${ids.ada}`, "admin-b")
    expect(other.status).toBe(404)
    expect(other.text).not.toContain("Adèle")
    const search = await get("/contacts", "admin-b")
    expect(search.text).toContain("Secret-B")
    expect(search.text).not.toContain("ada@example.fr")
    const mine = await get("/contacts", "admin-a")
    expect(mine.text).not.toContain("Secret-B")
    expect((await get("/", "admin-b")).text).not.toContain('data-chart="pipeline-by-stage"')
  })

  it("sent mails are shown with their subject and body, and say the body was rendered again", async () => {
    const page = (await get("/mails")).text
    expect(page).toContain("<h2>Welcome Adèle</h2>")
    expect(page).toContain('data-mail-body="rerendered"')
    expect(page).toContain("Hello Adèle, thanks.")
    expect(page).not.toContain("Welcome Bounce")
  })

  it("rules: each variant's fired, sent, opened and converted counts are analytics.rules'", async () => {
    const page = await get("/rules")
    const welcome = (await api("/analytics/rules")).find((v: any) => v.ruleId === "welcome")
    expect([welcome.fired, welcome.sent, welcome.opened]).toEqual([2, 1, 1])
    const row = /<tr>(?:(?!<\/tr>).)*Welcome(?:(?!<\/tr>).)*<\/tr>/s.exec(page.text)?.[0] ?? ""
    const cells = [...row.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((m) => m[1])
    expect(page.text).toContain("<th scope=\"col\" class=\"num\">Opened</th>")
    expect(cells).toEqual(["Welcome", "—", "2", "1", "1", "0", "0%"])
  })

  it("segments are listed with their count and a CSV export that answers the members", async () => {
    const page = (await get("/segments")).text
    expect(page).toContain(`data-segment-count="${ids.segment}">3</span>`)
    const csv = await fetch(`${url}/crm/dashboard/segments/${ids.segment}/export.csv`, { headers: { authorization: "Bearer reader-a" } })
    expect(csv.status).toBe(200)
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/)
    const text = await csv.text()
    expect(text).toContain("ada@example.fr")
    expect(text).toContain("cy@example.com")
    expect(text).not.toContain("evil@example.com")
  })
})

describe("empty states", () => {
  it("a workspace with nothing yet gets every page, each empty section saying what to do", async () => {
    const expectations: ReadonlyArray<readonly [string, string]> = [
      ["/", "No contacts yet: create contacts or import a file"],
      ["/", "No deals yet: create deals in a pipeline"],
      ["/channels", "No contacts in this period"],
      ["/customers", "No orders yet: emit order.placed events"],
      ["/contacts", "No contact found"],
      ["/rules", "No rules yet: declare rules with crm.setup"],
      ["/outbox", "No dead job"],
      ["/mails", "No mail sent yet"],
      ["/imports", "No import yet: choose a file above."],
      ["/segments", "No segments yet: save one with crm.segments.create"]
    ]
    for (const [path, text] of expectations) {
      const page = await get(path, "newcomer")
      expect([path, page.status]).toEqual([path, 200])
      expect(page.text).toContain(text)
      expect(page.text).toContain("data-empty")
    }
    expect((await get("/", "newcomer")).text).not.toContain("<canvas")
    const fr = await get("/customers?lang=fr", "newcomer")
    expect(fr.text).toContain("Aucune commande pour l’instant")
  })
})

describe("dashboard security", () => {
  it("no caller: 401 with a small HTML page; a role without access: 403", async () => {
    const anonymous = await get("/", null)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(anonymous.text).toContain('data-error="401"')
    expect(anonymous.text).not.toContain("Adèle")
    const stranger = await get("/", "stranger")
    expect(stranger.status).toBe(403)
    expect(stranger.text).toContain('data-error="403"')
  })

  it("a POST without the CSRF token is refused and changes nothing; a read-only role may not retry", async () => {
    const page = await get("/outbox")
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("rapport_csrf="))!.split(";")[0]!
    const noToken = await fetch(`${url}/crm/dashboard/outbox/${ids.deadJob}/retry`, {
      method: "POST",
      headers: { authorization: "Bearer admin-a", cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual"
    })
    expect(noToken.status).toBe(403)
    expect(await noToken.text()).toContain("security token")
    const wrong = await fetch(`${url}/crm/dashboard/outbox/${ids.deadJob}/retry`, {
      method: "POST",
      headers: { authorization: "Bearer admin-a", cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=" + "x".repeat(32),
      redirect: "manual"
    })
    expect(wrong.status).toBe(403)
    const reader = await fetch(`${url}/crm/dashboard/outbox/${ids.deadJob}/retry`, {
      method: "POST",
      headers: { authorization: "Bearer reader-a", cookie, "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${encodeURIComponent(decodeURIComponent(cookie.split("=")[1]!))}`,
      redirect: "manual"
    })
    expect(reader.status).toBe(403)
    expect((await crm.workspace("ws-a").dispatcher.jobs({ status: "dead" })).items.map((j) => j.id)).toEqual([ids.deadJob])
    // GET on an action's address changes nothing either.
    expect((await get(`/outbox/${ids.deadJob}/retry`)).status).toBe(405)
    expect((await crm.workspace("ws-a").dispatcher.jobs({ status: "dead" })).items.map((j) => j.id)).toEqual([ids.deadJob])
  })

  it("Chart.js is served from node_modules as JavaScript, without authentication", async () => {
    const response = await fetch(`${url}/crm/dashboard/assets/chart.umd.js`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    const text = await response.text()
    expect(text).toContain("4.6.1")
    expect(text.length).toBeGreaterThan(100_000)
    const css = await fetch(`${url}/crm/dashboard/assets/dashboard.css`)
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8")
  })
})

describe("dashboard actions", () => {
  it("Retry re-queues a dead job, redirects to the outbox and says so", async () => {
    const page = await get("/outbox")
    expect(page.text).toContain(`data-retry-job="${ids.deadJob}"`)
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("rapport_csrf="))!.split(";")[0]!
    expect(decodeURIComponent(cookie.split("=")[1]!)).toBe(token)
    const posted = await fetch(`${url}/crm/dashboard/outbox/${ids.deadJob}/retry`, {
      method: "POST",
      headers: { authorization: "Bearer admin-a", cookie, "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${encodeURIComponent(token)}`,
      redirect: "manual"
    })
    expect(posted.status).toBe(303)
    expect(posted.headers.get("location")).toBe("/crm/dashboard/outbox")
    const job = (await crm.workspace("ws-a").dispatcher.jobs({ status: "pending" })).items.find((j) => j.id === ids.deadJob)
    expect(job?.status).toBe("pending")
    const flash = posted.headers.getSetCookie().find((c) => c.startsWith("rapport_flash="))!.split(";")[0]!
    const after = await get("/outbox", "admin-a", { cookie: `${cookie}; ${flash}` })
    expect(after.text).toContain(`Job ${ids.deadJob} is queued again.`)
    expect(after.text).toMatch(new RegExp(`data-table="pending-jobs"[\\s\\S]*${ids.deadJob}`))
  })

  it("an uploaded CSV is imported and its per-row report shown, with the progress to poll", async () => {
    const page = await get("/imports")
    const token = /data-csrf="([^"]+)"/.exec(page.text)![1]!
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("rapport_csrf="))!.split(";")[0]!
    expect(page.text).toContain('<input type="file" id="import-file" name="file"')
    expect(page.text).toContain('<progress id="import-progress"')
    const form = new FormData()
    const csv = ["email,first name,last name", "maelle@example.fr,Maëlle,Guénolé", "not-an-email,Bad,Row", "sean@example.com,Seán,O'Shea"].join("\r\n")
    form.append("file", new Blob([csv], { type: "text/csv" }), "salon.csv")
    const withoutToken = await fetch(`${url}/crm/dashboard/imports`, { method: "POST", headers: { authorization: "Bearer admin-a", cookie }, body: form })
    expect(withoutToken.status).toBe(403)
    const uploaded = await fetch(`${url}/crm/dashboard/imports`, { method: "POST", headers: { authorization: "Bearer admin-a", cookie, "x-csrf-token": token, accept: "application/json" }, body: form })
    expect(uploaded.status).toBe(202)
    const run = (await uploaded.json()) as { id: string }
    let status = ""
    for (let i = 0; i < 200 && status !== "done" && status !== "failed"; i++) {
      const polled = await get(`/imports/${run.id}.json`)
      expect(polled.headers.get("content-type")).toBe("application/json; charset=utf-8")
      status = JSON.parse(polled.text).status
      if (status !== "done") await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(status).toBe("done")
    const report = (await get(`/imports?id=${run.id}`)).text
    expect(report).toContain(`data-import-report="${run.id}"`)
    expect(report).toContain("Rows read: 3 · created: 2 · updated: 0 · skipped: 0 · rejected: 1")
    expect(report).toMatch(/id="import-report"[\s\S]*<th scope="row" class="num">3<\/th>/)
    expect(await crm.workspace("ws-a").contacts.findByEmail("maelle@example.fr")).toMatchObject({ firstName: "Maëlle" })
    // The other workspace cannot read this import.
    expect((await get(`/imports/${run.id}.json`, "admin-b")).status).toBe(404)
  })

  it("without JavaScript the form posts with its token in the action and is redirected to the report; a body that is not a file is refused", async () => {
    const page = await get("/imports")
    const action = /<form id="import-form" method="post" enctype="multipart\/form-data" action="([^"]+)"/.exec(page.text)![1]!.replace(/&amp;/g, "&")
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("rapport_csrf="))!.split(";")[0]!
    const form = new FormData()
    form.append("file", new Blob(["email\r\nnoor@example.com\r\n"], { type: "text/csv" }), "one.csv")
    const posted = await fetch(url + action, { method: "POST", headers: { authorization: "Bearer admin-a", cookie, accept: "text/html" }, body: form, redirect: "manual" })
    expect(posted.status).toBe(303)
    const location = posted.headers.get("location")!
    expect(location).toMatch(/^\/crm\/dashboard\/imports\?id=/)
    let shown = ""
    for (let i = 0; i < 200 && !shown.includes('data-import-status="done"'); i++) {
      shown = (await get(location.slice("/crm/dashboard".length))).text
      if (!shown.includes('data-import-status="done"')) await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(shown).toContain("Rows read: 1 · created: 1 ·")
    const notMultipart = await fetch(url + action, { method: "POST", headers: { authorization: "Bearer admin-a", cookie, "content-type": "text/plain" }, body: "hello", redirect: "manual" })
    expect(notMultipart.status).toBe(415)
    expect(await notMultipart.text()).toContain('data-error="415"')
  })
})
