// What an owner does in the dashboard, in real headless Chromium (issue 17): retries a dead mail
// by clicking, uploads a CSV and reads its per-row report, reads it in French (from the browser's
// language, then by the switch), reaches the navigation with the keyboard, uses it on a phone.
import { MailRejected } from "@rapport/core"
import { describe, expect, it } from "vitest"
import { chartsDrawn, dashboardInBrowser, type PageGlobals, screenshotPath, scrollsSideways, STEP_TIMEOUT, watch } from "./harness.js"

// The mail provider refuses every mail for good until the test says otherwise: the A/B rule's
// mails, sent while seeding, end up dead.
let refusing = true

const suite = dashboardInBrowser({
  demo: { seed: 23 },
  crm: {
    mailer: {
      send: async (mail) => {
        if (refusing) throw new MailRejected(`550 no such mailbox: ${mail.to}`)
        return { messageId: `ok-${mail.idempotencyKey}` }
      }
    }
  }
})
const { open } = suite

describe("actions", () => {
  it("a dead mail is retried by clicking its Retry button, then sent by the dispatcher", async () => {
    const { crm } = suite.served
    const dead = (await crm.dispatcher.jobs({ status: "dead", limit: 500 })).items
    expect(dead.length).toBe(suite.served.demo.counts.abandonedCarts)
    const job = dead[0]!
    refusing = false

    const { page, problems } = await open("/outbox")
    const retry = page.locator(`form[action$="/outbox/${job.id}/retry"] button[data-retry-job="${job.id}"]`)
    expect(await retry.count()).toBe(1)
    await Promise.all([page.waitForURL(/\/outbox$/, { timeout: STEP_TIMEOUT }), retry.click()])
    await expect.poll(() => page.locator("[data-flash]").count(), { timeout: STEP_TIMEOUT }).toBe(1)
    await page.screenshot({ path: screenshotPath("outbox-retried") })
    // The job is pending again, no longer in the dead list; the others stay dead.
    expect((await crm.dispatcher.jobs({ status: "dead", limit: 500 })).items.map((j) => j.id)).toEqual(dead.slice(1).map((j) => j.id))
    expect(await page.locator(`form[action$="/outbox/${job.id}/retry"]`).count()).toBe(0)
    const report = await crm.dispatcher.runDue()
    expect(report.done).toBe(1)
    const contact = await crm.contacts.get(job.contactId)
    expect(crm.mails.sent().filter((m) => m.to === contact.email).length).toBe(1)
    expect(problems).toEqual([])
  }, 60_000)

  it("a CSV is uploaded through the form: the progress is shown, then the per-row report with the bad row and why", async () => {
    const csv = [
      "email,first name,last name,city",
      "maelle.guenole@example.fr,Maëlle,Guénolé,Besançon",
      "not-an-email,Bad,Row,Nowhere",
      "sean.oshea@example.com,Seán,O'Shea,Cork"
    ].join("\r\n")
    const { page, problems } = await open("/imports")
    // The progress bar is shown while the file goes up and is imported: note it before the page
    // moves on to the report (sessionStorage outlives that navigation).
    await page.evaluate(() => {
      const { document, MutationObserver, sessionStorage } = globalThis as unknown as PageGlobals
      const bar = document.querySelector("#import-progress")!
      new MutationObserver(() => {
        if (!bar.hidden) sessionStorage.setItem("progressShown", "yes")
      }).observe(bar, { attributes: true })
    })
    await page.setInputFiles("#import-file", { name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(csv, "utf8") })
    await Promise.all([page.waitForURL(/\/imports\?id=/, { timeout: 30_000 }), page.locator("#import-submit").click()])
    await page.locator('[data-import-report] [data-import-status="done"]').waitFor({ state: "visible", timeout: 30_000 })
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem("progressShown"))).toBe("yes")
    await page.screenshot({ path: screenshotPath("imports-report"), fullPage: true })
    // The bad row (line 3 of the file) is rejected, naming the email; the two others are created.
    const rows = await page.$$eval("#import-report tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td, th")].map((c) => (c.textContent ?? "").trim())))
    expect(rows.filter((r) => r[1] === "rejected").map((r) => r[0])).toEqual(["3"])
    expect(rows.find((r) => r[1] === "rejected")![2]).toMatch(/e-?mail/i)
    // Rows read, created, updated, skipped, rejected, in that order (whatever the wording).
    expect((await page.locator("[data-import-counts]").textContent())?.match(/\d+/g)).toEqual(["3", "2", "0", "0", "1"])
    expect((await suite.served.crm.contacts.findByEmail("maelle.guenole@example.fr"))?.firstName).toBe("Maëlle")
    expect((await suite.served.crm.contacts.findByEmail("sean.oshea@example.com"))?.lastName).toBe("O'Shea")
    expect(problems).toEqual([])
  }, 90_000)
})

describe("language", () => {
  it("a French browser gets the French UI; the switch goes to English and is remembered", async () => {
    const { page, problems } = await open("/", { locale: "fr-FR" })
    expect(await page.getAttribute("html", "lang")).toBe("fr")
    expect(await page.locator("h1").textContent()).toBe("Vue d’ensemble")
    expect(await page.locator("nav a").allTextContents()).toEqual(
      expect.arrayContaining(["Canaux", "Clients", "Règles et campagnes", "File d’envoi", "Mails envoyés"])
    )
    await chartsDrawn(page)
    await page.screenshot({ path: screenshotPath("overview-fr") })
    await Promise.all([page.waitForURL(/lang=en/, { timeout: STEP_TIMEOUT }), page.locator('[data-lang-switch="en"]').click()])
    expect(await page.getAttribute("html", "lang")).toBe("en")
    expect(await page.locator("h1").textContent()).toBe("Overview")
    // The choice is kept in a cookie: the next page, without ?lang, stays in English.
    await page.goto(`${suite.served.url}/channels`)
    expect(await page.getAttribute("html", "lang")).toBe("en")
    expect(await page.locator("nav a").allTextContents()).toContain("Channels")
    expect(problems).toEqual([])
  }, 60_000)

  it("an English browser switches to French with the link", async () => {
    const { page, problems } = await open("/channels", { locale: "en-GB" })
    expect(await page.getAttribute("html", "lang")).toBe("en")
    await Promise.all([page.waitForURL(/lang=fr/, { timeout: STEP_TIMEOUT }), page.locator('[data-lang-switch="fr"]').click()])
    expect(await page.getAttribute("html", "lang")).toBe("fr")
    expect(await page.locator("nav a").allTextContents()).toContain("Canaux")
    expect(problems).toEqual([])
  }, 60_000)
})

describe("access", () => {
  it("the keyboard alone reaches every navigation link, in order", async () => {
    const { page } = await open("/")
    const wanted = await page.locator("nav a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""))
    expect(wanted.length).toBeGreaterThanOrEqual(9)
    const reached: Array<string> = []
    for (let i = 0; i < 40 && reached.length < wanted.length; i++) {
      await page.keyboard.press("Tab")
      const focused = await page.evaluate(() => {
        const el = (globalThis as unknown as PageGlobals).document.activeElement
        return el !== null && el.tagName === "A" && el.closest("nav") !== null ? el.getAttribute("href") : null
      })
      if (focused !== null && !reached.includes(focused)) reached.push(focused)
    }
    expect(reached).toEqual(wanted)
  }, 60_000)

  it("at a phone's width (375px) no page scrolls sideways", async () => {
    const context = await suite.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true })
    const { page, problems } = watch(await context.newPage())
    const paths = ["/", "/channels", "/customers", "/contacts", `/contacts/${suite.served.demo.ids.featuredContact}`, "/rules", "/outbox", "/mails", "/imports", "/segments"]
    const sideways: Array<string> = []
    for (const path of paths) {
      const response = await page.goto(suite.served.url + path, { waitUntil: "load" })
      expect(response?.status(), path).toBe(200)
      await chartsDrawn(page)
      if (await scrollsSideways(page)) sideways.push(path)
      if (path === "/") await page.screenshot({ path: screenshotPath("overview-phone"), fullPage: true })
    }
    expect(sideways).toEqual([])
    expect(problems).toEqual([])
  }, 120_000)
})
