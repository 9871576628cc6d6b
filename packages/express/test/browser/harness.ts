// What every browser test starts from: Debian's Chromium driven by playwright-core (never a
// downloaded browser), and the dashboard served over node:http on loopback, mounted under
// /crm/dashboard the way Connect mounts it, over a test CRM filled by seedDemoData.
import { once } from "node:events"
import { mkdirSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { type Caller, rapportDashboard, type RapportDashboardOptions } from "@rapport/express"
import { createTestCrm, type DemoDataOptions, type DemoDataSummary, seedDemoData, type TestCrm, type TestCrmOptions } from "@rapport/testing"
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll } from "vitest"

export const CHROMIUM = "/usr/bin/chromium"
export const MOUNT = "/crm/dashboard"

/** Where screenshots go: the package's test output, which git ignores. */
export const SCREENSHOTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../test-output/screenshots")

// Every wait is bounded: a page that never settles fails the test instead of hanging the run.
export const STEP_TIMEOUT = 15_000

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
  })

export const admin: Caller = { workspace: "default", principal: "alice", role: "admin" }

export interface Served {
  readonly crm: TestCrm
  readonly demo: DemoDataSummary
  /** The dashboard's root, e.g. `http://127.0.0.1:41234/crm/dashboard`. */
  readonly url: string
  /** The server's origin. */
  readonly origin: string
  close(): Promise<void>
}

export interface ServeOptions {
  readonly crm?: TestCrmOptions | undefined
  readonly demo?: DemoDataOptions | undefined
  readonly dashboard?: Partial<RapportDashboardOptions> | undefined
  /** Who the visitor is (default an admin of the default workspace). */
  readonly caller?: Caller | undefined
}

export const serveDashboard = async (options: ServeOptions = {}): Promise<Served> => {
  const crm = await createTestCrm(options.crm)
  try {
    const demo = await seedDemoData(crm, options.demo)
    const caller = options.caller ?? admin
    const dashboard = rapportDashboard(crm, { authenticate: () => caller, ...options.dashboard })
    const server = http.createServer((req, res) => {
      const url = req.url ?? "/"
      // The browser asks the host for its icon; that is the host app's business, not the dashboard's.
      if (url === "/favicon.ico") {
        res.writeHead(204).end()
        return
      }
      if (url !== MOUNT && !url.startsWith(`${MOUNT}/`) && !url.startsWith(`${MOUNT}?`)) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not the dashboard")
        return
      }
      // What Connect does for a mounted handler: the original URL kept, the mount path cut off.
      Object.assign(req, { originalUrl: url })
      const rest = url.slice(MOUNT.length)
      req.url = rest === "" || rest.startsWith("?") ? `/${rest}` : rest
      dashboard(req, res)
    })
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return {
      crm,
      demo,
      origin,
      url: origin + MOUNT,
      close: async () => {
        server.closeAllConnections()
        await new Promise<void>((done) => server.close(() => done()))
        await dashboard.close?.()
        await crm.close()
      }
    }
  } catch (error) {
    await crm.close()
    throw error
  }
}

/** What went wrong on a page: console errors, uncaught exceptions, failed requests and 4xx/5xx answers. */
export interface Watched {
  readonly page: Page
  readonly problems: Array<string>
}

export const watch = (page: Page, options: { readonly allowStatus?: ReadonlyArray<number> } = {}): Watched => {
  const problems: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()} (${message.location().url})`)
  })
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("requestfailed", (request) => {
    // A download the test does not read is aborted by the browser, not failed by the server.
    const failure = request.failure()?.errorText ?? ""
    if (failure !== "net::ERR_ABORTED") problems.push(`request failed: ${request.method()} ${request.url()} ${failure}`)
  })
  page.on("response", (response) => {
    if (response.status() >= 400 && !(options.allowStatus ?? []).includes(response.status())) {
      problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`)
    }
  })
  page.setDefaultTimeout(STEP_TIMEOUT)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT)
  return { page, problems }
}

export const newContext = (browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> =>
  browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB", ...options })

export const screenshotPath = (name: string): string => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  return resolve(SCREENSHOTS, `${name}.png`)
}

// The few browser globals the tests read inside the page. The package compiles without the DOM
// library (its code runs on Node), so page functions name what they use through this type.
interface PageElement {
  readonly textContent: string | null
  readonly hidden: boolean
  readonly href?: string
  readonly tagName: string
  getAttribute(name: string): string | null
  closest(selector: string): PageElement | null
}
interface ChartJsChart {
  readonly data: { readonly labels?: ReadonlyArray<unknown>; readonly datasets: ReadonlyArray<{ readonly label?: string; readonly type?: string; readonly data: ReadonlyArray<unknown> }> }
}
export interface PageGlobals {
  readonly document: {
    querySelector(selector: string): PageElement | null
    querySelectorAll(selector: string): Iterable<PageElement>
    readonly activeElement: PageElement | null
    readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number }
  }
  readonly location: { readonly pathname: string }
  readonly sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
  readonly MutationObserver: new (callback: () => void) => { observe(target: PageElement, options: { readonly attributes: boolean }): void }
  readonly Chart?: { getChart(canvas: PageElement): ChartJsChart | undefined }
}

/** Waits until every chart canvas on the page has a Chart.js chart drawn on it; returns their names. */
export const chartsDrawn = async (page: Page): Promise<ReadonlyArray<string>> => {
  await page.waitForFunction(
    () => {
      const { Chart, document } = globalThis as unknown as PageGlobals
      const canvases = [...document.querySelectorAll("canvas[data-chart]")]
      return Chart !== undefined && canvases.every((c) => Chart.getChart(c) !== undefined)
    },
    undefined,
    { timeout: STEP_TIMEOUT }
  )
  return page.$$eval("canvas[data-chart]", (canvases) => canvases.map((c) => c.getAttribute("data-chart") ?? ""))
}

/** The data a chart draws, as Chart.js holds it (labels, and each dataset's label, type and data). */
export const chartData = (page: Page, name: string) =>
  page.evaluate((name) => {
    const { Chart, document, location } = globalThis as unknown as PageGlobals
    const canvas = document.querySelector(`canvas[data-chart="${name}"]`)
    if (canvas === null) throw new Error(`no canvas[data-chart="${name}"] on ${location.pathname}`)
    const chart = Chart?.getChart(canvas)
    if (chart === undefined) throw new Error(`no chart drawn on canvas[data-chart="${name}"]`)
    return {
      labels: (chart.data.labels ?? []).map(String),
      datasets: chart.data.datasets.map((d) => ({ label: d.label ?? null, type: d.type ?? null, data: d.data.map((v) => (typeof v === "number" ? v : null)) }))
    }
  }, name)

/** A chart's JSON block, as the dashboard writes it: Chart.js data plus the exact minor units of money datasets. */
export interface ChartBlock {
  readonly labels: ReadonlyArray<string>
  readonly datasets: ReadonlyArray<{
    readonly label: string
    readonly type?: string
    readonly data: ReadonlyArray<number>
    readonly minor?: ReadonlyArray<number>
    readonly measure?: string
    readonly currency?: string
    readonly floor?: boolean
  }>
}

/** The JSON block beside a chart: the exact figures the page was rendered with. */
export const chartJson = async (page: Page, name: string): Promise<ChartBlock> => {
  const text = await page.locator(`script[type="application/json"][data-chart-data="${name}"]`).textContent()
  if (text === null) throw new Error(`no data block for chart ${name}`)
  return JSON.parse(text) as ChartBlock
}

/** Whether the page scrolls sideways (at a phone's width it must not). */
export const scrollsSideways = (page: Page): Promise<boolean> =>
  page.evaluate(() => {
    const { documentElement } = (globalThis as unknown as PageGlobals).document
    return documentElement.scrollWidth > documentElement.clientWidth + 1
  })

/**
 * A test file's dashboard and browser, started once for the file; each test gets a fresh context
 * (`newContext` or `open`), closed after it.
 */
export const dashboardInBrowser = (options: ServeOptions) => {
  let served: Served | undefined
  let browser: Browser | undefined
  let context: BrowserContext | undefined
  beforeAll(async () => {
    ;[served, browser] = await Promise.all([serveDashboard(options), launchBrowser()])
  }, 120_000)
  afterEach(async () => {
    await context?.close()
    context = undefined
  })
  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })
  const newTestContext = async (contextOptions: BrowserContextOptions = {}) => (context = await newContext(browser!, contextOptions))
  return {
    get served(): Served {
      return served!
    },
    newContext: newTestContext,
    /** A page of the dashboard in a fresh context, watched for console errors and failed requests. */
    open: async (path: string, contextOptions: BrowserContextOptions = {}) => {
      const watched = watch(await (await newTestContext(contextOptions)).newPage())
      const response = await watched.page.goto(served!.url + path, { waitUntil: "load" })
      return { ...watched, status: response?.status() }
    }
  }
}
