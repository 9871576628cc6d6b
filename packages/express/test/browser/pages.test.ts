// The dashboard in real headless Chromium (issue 17): every page opens without a console error or
// a failed request, with its charts drawn by Chart.js; what the charts draw is what the API
// answers; a screenshot of each page is kept under test-output/screenshots.
import { describe, expect, it } from "vitest"
import { chartData, chartJson, chartsDrawn, dashboardInBrowser, screenshotPath } from "./harness.js"

const suite = dashboardInBrowser({ demo: { seed: 11 } })
const { open } = suite

/** Every page, the charts it must draw, and the screenshot's name. */
const pages: ReadonlyArray<readonly [string, () => string, ReadonlyArray<string>]> = [
  ["overview", () => "/", ["funnel", "pipeline-by-stage", "forecast-by-month"]],
  ["channels", () => "/channels", ["channels-acquisition", "channels-revenue"]],
  ["customers", () => "/customers", ["top-products"]],
  ["contacts", () => "/contacts", []],
  ["contacts-search", () => "/contacts?q=lef%C3%A8vre", []],
  ["contact", () => `/contacts/${suite.served.demo.ids.featuredContact}`, []],
  ["rules", () => "/rules", []],
  ["outbox", () => "/outbox", []],
  ["mails", () => "/mails", []],
  ["imports", () => "/imports", []],
  ["segments", () => "/segments", []]
]

describe("every page in Chromium", () => {
  it.each(pages)("%s: 200, one h1, a main, English, its charts drawn, no console error or failed request", async (name, path, charts) => {
    const { page, problems, status } = await open(path())
    expect(status).toBe(200)
    expect(await page.locator("h1").count()).toBe(1)
    expect(await page.locator("main").count()).toBe(1)
    expect(await page.getAttribute("html", "lang")).toBe("en")
    expect(await page.locator("nav a").count()).toBeGreaterThanOrEqual(9)
    expect([...(await chartsDrawn(page))].sort()).toEqual([...charts].sort())
    // The figures are drawn after the chart has been laid out: give the animation time to end.
    await page.waitForTimeout(600)
    await page.screenshot({ path: screenshotPath(name), fullPage: false })
    await page.screenshot({ path: screenshotPath(`${name}-full`), fullPage: true })
    expect(problems).toEqual([])
  }, 60_000)
})

describe("the charts draw what the API answers", () => {
  it("overview: the funnel is Σ reached per stage, the pipeline the weighted total per stage with the floor as a line, the forecast per month", async () => {
    const { page, problems } = await open("/")
    await chartsDrawn(page)
    const { crm } = suite.served

    const funnel = await crm.analytics.funnel({})
    const stages = (await crm.contacts.countByStage()).map((s) => s.stage)
    const reached = stages.map((stage) => funnel.filter((r) => r.stage === stage).reduce((n, r) => n + r.reached, 0))
    const drawnFunnel = await chartData(page, "funnel")
    expect(drawnFunnel.datasets.map((d) => d.data)).toEqual([reached])
    expect(reached.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4)
    expect((await chartJson(page, "funnel")).datasets.map((d) => d.data)).toEqual([reached])

    const weighted = await crm.deals.weightedPipeline({ groupBy: ["stage"] })
    const floor = (await crm.deals.floorCheck({})).floor!
    const block = await chartJson(page, "pipeline-by-stage")
    const bars = block.datasets.filter((d) => d.type === "bar")
    const line = block.datasets.filter((d) => d.type === "line")
    expect(line.map((d) => d.floor)).toEqual([true])
    expect(bars.map((d) => d.minor)).toEqual([weighted.groups.map((g) => g.totals[0]!.weighted.amountMinor)])
    expect(line.map((d) => d.minor)).toEqual([weighted.groups.map(() => floor.amountMinor)])
    const drawnPipeline = await chartData(page, "pipeline-by-stage")
    expect(drawnPipeline.labels.length).toBe(weighted.groups.length)
    expect(drawnPipeline.datasets.map((d) => d.data)).toEqual(block.datasets.map((d) => d.data))
    expect(drawnPipeline.datasets.find((d) => d.type === "line")!.data).toEqual(weighted.groups.map(() => floor.amountMinor / 100))

    const forecast = await crm.deals.forecast({})
    const forecastBlock = await chartJson(page, "forecast-by-month")
    expect(forecastBlock.labels).toEqual(forecast.months.map((m) => m.month))
    expect(forecastBlock.datasets.map((d) => d.minor)).toEqual([forecast.months.map((m) => m.totals[0]?.weighted.amountMinor ?? 0)])
    expect((await chartData(page, "forecast-by-month")).datasets.map((d) => d.data)).toEqual(forecastBlock.datasets.map((d) => d.data))

    // Today's and overdue tasks are listed, one row each.
    expect(await page.locator('[data-table="tasks-today"] tbody tr').count()).toBe(suite.served.demo.counts.tasksDueToday)
    expect(await page.locator('[data-table="tasks-overdue"] tbody tr').count()).toBe(suite.served.demo.counts.tasksOverdue)
    // The deals left idle are listed as stale.
    expect(suite.served.demo.counts.staleDeals).toBeGreaterThan(0)
    expect(await page.locator('[data-table="stale-deals"] tbody tr').count()).toBe(suite.served.demo.counts.staleDeals)
    expect(problems).toEqual([])
  }, 60_000)

  it("channels: acquired, customers, revenue and spend per channel are the channel report's, over the period the page states", async () => {
    const { page, problems } = await open("/channels")
    await chartsDrawn(page)
    const period = { from: (await page.getAttribute("[data-period]", "data-from"))!, to: (await page.getAttribute("[data-period]", "data-to"))! }
    const rows = await suite.served.crm.analytics.channels(period)
    const label = (r: (typeof rows)[number]) => (r.campaign === null ? r.channel : `${r.channel} / ${r.campaign}`)
    const acquisition = await chartData(page, "channels-acquisition")
    expect([...acquisition.labels].sort()).toEqual(rows.map(label).sort())
    const byLabel = new Map(rows.map((r) => [label(r), r]))
    expect(acquisition.datasets.map((d) => d.data)).toEqual([acquisition.labels.map((l) => byLabel.get(l)!.acquired), acquisition.labels.map((l) => byLabel.get(l)!.customers)])
    const revenue = await chartJson(page, "channels-revenue")
    const measure = (m: string) => revenue.datasets.find((d) => d.measure === m)?.minor
    expect(measure("revenue")).toEqual(revenue.labels.map((l) => byLabel.get(l)!.revenue?.amountMinor ?? 0))
    expect(measure("spend")).toEqual(revenue.labels.map((l) => byLabel.get(l)!.spend?.amountMinor ?? 0))
    expect(new Set(rows.filter((r) => (r.spend?.amountMinor ?? 0) > 0).map((r) => r.channel)).size).toBeGreaterThanOrEqual(3)
    expect((await chartData(page, "channels-revenue")).datasets.map((d) => d.data)).toEqual(revenue.datasets.map((d) => d.data))
    expect(problems).toEqual([])
  }, 60_000)

  it("customers: the top products' revenue and margin are analytics.topProducts' over the stated period", async () => {
    const { page, problems } = await open("/customers")
    await chartsDrawn(page)
    const period = { from: (await page.getAttribute("[data-period]", "data-from"))!, to: (await page.getAttribute("[data-period]", "data-to"))! }
    const products = await suite.served.crm.analytics.topProducts(period)
    const block = await chartJson(page, "top-products")
    const measure = (m: string) => block.datasets.find((d) => d.measure === m)?.minor
    expect(measure("revenue")).toEqual(products.map((p) => p.revenue.amountMinor))
    expect(measure("margin")).toEqual(products.map((p) => p.margin.amountMinor))
    expect(products.every((p) => p.margin.amountMinor > 0)).toBe(true)
    expect((await chartData(page, "top-products")).labels).toEqual(products.map((p) => p.name))
    // The top customers table lists the report's customers, best first.
    const customers = await suite.served.crm.analytics.topCustomers(period)
    expect(await page.locator('[data-table="top-customers"] tbody tr').count()).toBe(customers.length)
    expect(problems).toEqual([])
  }, 60_000)
})

describe("what the other pages show", () => {
  it("contact page: details, custom fields, consent, deals and tasks; its GDPR export downloads the contact's data", async () => {
    const id = suite.served.demo.ids.featuredContact
    const { page, problems } = await open(`/contacts/${id}`)
    expect(await page.locator("h1").textContent()).toBe("Hélène Lefèvre")
    const fields = await page.$$eval('[data-table="fields"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll("th, td")].map((c) => (c.textContent ?? "").trim())))
    expect(fields).toEqual(expect.arrayContaining([expect.arrayContaining(["favouriteColour", "red"]), expect.arrayContaining(["city", "Saint-Étienne"])]))
    const deals = (await suite.served.crm.deals.list({ contactId: id })).items
    expect(await page.locator('[data-table="deals"] tbody tr').count()).toBe(deals.length)
    expect(deals.length).toBeGreaterThan(0)
    const tasks = (await suite.served.crm.tasks.list({ contactId: id })).items
    expect(await page.locator('[data-table="tasks"] tbody tr').count()).toBe(tasks.length)
    expect(await page.locator('[data-table="consent"]').textContent()).toContain("granted")
    expect(await page.locator('[data-table="timeline"] tbody tr').count()).toBeGreaterThan(3)
    const href = await page.getAttribute("a[data-gdpr-export]", "href")
    const exported = await page.request.get(new URL(href!, page.url()).toString())
    expect(exported.status()).toBe(200)
    expect(JSON.stringify(await exported.json())).toContain("helene.lefevre@example.fr")
    expect(problems).toEqual([])
  }, 60_000)

  it("rules: each A/B variant's fired and sent counts are analytics.rules'; mails: each sent mail rendered", async () => {
    const { page, problems } = await open("/rules")
    const variants = (await suite.served.crm.analytics.rules()).filter((v) => v.variant !== null)
    expect(variants.map((v) => v.variant)).toEqual(["A", "B"])
    const rows = await page.$$eval('[data-table="rule-variants"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll("th, td")].map((c) => (c.textContent ?? "").trim())))
    for (const v of variants) expect(rows).toContainEqual(expect.arrayContaining([v.variant!, String(v.fired), String(v.sent)]))
    await page.goto(`${suite.served.url}/mails`)
    const sent = suite.served.crm.mails.sent()
    expect(sent.length).toBe(suite.served.demo.counts.mailsSent)
    expect(await page.locator("article[data-mail]").count()).toBe(sent.length)
    expect((await page.locator("article[data-mail] h2").allTextContents()).sort()).toEqual(sent.map((m) => m.subject).sort())
    expect(problems).toEqual([])
  }, 60_000)

  it("segments: the member count is segments.count's, and the CSV export lists those members", async () => {
    const { page, problems } = await open("/segments")
    const id = suite.served.demo.ids.segment
    const count = await suite.served.crm.segments.count({ segmentId: id })
    expect(count).toBeGreaterThan(0)
    expect(await page.locator(`[data-segment-count="${id}"]`).textContent()).toBe(String(count))
    const href = await page.getAttribute(`a[data-segment-export="${id}"]`, "href")
    const csv = await page.request.get(new URL(href!, page.url()).toString())
    expect(csv.status()).toBe(200)
    expect(csv.headers()["content-type"]).toMatch(/text\/csv/)
    const lines = (await csv.text()).trim().split(/\r?\n/)
    expect(lines.length).toBe(count + 1)
    expect(problems).toEqual([])
  }, 60_000)

  it("contacts: the search form lists the matching contact (typed in lower case, without the accent) with a link to its page", async () => {
    const { page, problems } = await open("/contacts")
    await page.fill("#contact-search", "lefevre")
    await Promise.all([page.waitForURL(/q=/), page.press("#contact-search", "Enter")])
    const link = page.locator('[data-table="contacts"] a', { hasText: "Hélène Lefèvre" })
    expect(await link.getAttribute("href")).toBe(`/crm/dashboard/contacts/${suite.served.demo.ids.featuredContact}`)
    expect(problems).toEqual([])
  }, 60_000)
})
