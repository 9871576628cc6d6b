/**
 * The dashboard: what an owner opens in a browser. Server-rendered HTML pages over the Promise
 * client (no front-end build), with Chart.js served from the package's own dependency, behind the
 * same `authenticate` and `authorize` as the HTTP API, in English and French.
 *
 * @example
 * ```ts
 * import express from "express"
 * import { rapportDashboard, rapportRouter } from "@rapport/express"
 *
 * const authenticate = async (req) => (req.user ? { workspace: req.user.shopId, principal: req.user.id, role: req.user.crmRole } : null)
 * app.use("/crm/dashboard", rapportDashboard(crm, { authenticate }))
 * app.use("/crm", rapportRouter(crm, { authenticate }))
 * ```
 *
 * @since 0.9.0
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { TLSSocket } from "node:tls"
import type { CrmClient } from "@rapport/core"
import * as Clock from "effect/Clock"
import { type Authenticate, type Authorize, authorizeByRole, type Caller, type Resource } from "../Auth.js"
import { uploadSettingsOf } from "../api/Imports.js"
import { type RapportHandler, toNodeHandler } from "../Handler.js"
import { type MountedRequest, mountPath } from "../internal/request.js"
import { css, js } from "./assets.js"
import { html } from "./html.js"
import { type DashboardLocale, fromAcceptLanguage, isLocale, type MessageKey, type Translate, translator } from "./i18n.js"
import { channelsPage } from "./pages/channels.js"
import { contactPage, contactsPage } from "./pages/contacts.js"
import { customersPage } from "./pages/customers.js"
import { importRunJson, importsPage } from "./pages/imports.js"
import { mailsPage } from "./pages/mails.js"
import { outboxPage, retryJob } from "./pages/outbox.js"
import { overviewPage } from "./pages/overview.js"
import { rulesPage } from "./pages/rules.js"
import { segmentsPage } from "./pages/segments.js"
import { makeUploads, type UploadOutcome } from "./upload.js"
import { type Flash, type PageContext, type PageResult, shell } from "./ui.js"

export type { DashboardLocale } from "./i18n.js"

/**
 * Options of {@link rapportDashboard}.
 *
 * @since 0.9.0
 * @category models
 */
export interface RapportDashboardOptions<Req extends IncomingMessage = IncomingMessage> {
  /** Recognises the caller, as for `rapportRouter`: `null` answers 401 with a short HTML page. */
  readonly authenticate: Authenticate<Req>
  /**
   * Decides whether the caller may open a page or do an action, as for `rapportRouter` and with
   * the same action names (a page asks for the API action it shows: `analytics.funnel` for the
   * overview, `jobs.retry` for a retry…); `authorizeByRole` when not given. `false` answers 403.
   */
  readonly authorize?: Authorize | undefined
  /** The language when the visitor chose none (`?lang=`, remembered in a cookie); else the browser's `Accept-Language`, else English. */
  readonly locale?: DashboardLocale | undefined
  /** The name in the header and the window title (default `Rapport`). */
  readonly title?: string | undefined
  /** Uploads to the imports page, as `rapportRouter`'s `imports` option (largest file, temporary directory). */
  readonly imports?: { readonly maxFileSize?: number | undefined; readonly directory?: string | undefined } | undefined
}

const LANG_COOKIE = "rapport_lang"
const CSRF_COOKIE = "rapport_csrf"
const FLASH_COOKIE = "rapport_flash"
const FORM_LIMIT = 16 * 1024

// Chart.js as its package ships it: resolved from this module (src in the repository, dist once
// installed), so it is the version the package depends on. chart.js exports no `dist/chart.umd.js`
// subpath, so the file is found beside its CommonJS entry.
const chartPath = (): string => join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.js")

let chartSource: Promise<Buffer> | undefined

const parseCookies = (header: string | undefined): ReadonlyMap<string, string> => {
  const cookies = new Map<string, string>()
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=")
    if (at <= 0) continue
    const name = part.slice(0, at).trim()
    const value = part.slice(at + 1).trim()
    try {
      if (!cookies.has(name)) cookies.set(name, decodeURIComponent(value))
    } catch {
      // A cookie that is not URI-encoded is not one of ours.
    }
  }
  return cookies
}

const sameToken = (a: string | undefined, b: string | undefined): boolean => {
  if (a === undefined || b === undefined || a.length < 20) return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

interface Route {
  readonly action: string
  readonly resource: Resource
  /** Checked by the dashboard (POST) before anything is read or changed. */
  readonly csrf: boolean
  readonly run: (ctx: PageContext, req: IncomingMessage, res: ServerResponse, form: () => Promise<URLSearchParams>) => Promise<PageResult | Forward | Redirect | Uploaded>
}

interface Forward {
  readonly _tag: "Forward"
  /** The HTTP API's path this request is answered by. */
  readonly path: string
}

interface Uploaded {
  readonly _tag: "Upload"
  readonly outcome: UploadOutcome
}

interface Redirect {
  readonly _tag: "Redirect"
  readonly location: string
  readonly flash?: string | undefined
}

const read = (type: string, action: string, run: Route["run"], id?: string): Route => ({ action, resource: { type, id, access: "read" }, csrf: false, run })

const segment = /^[A-Za-z0-9._:-]{1,200}$/

type Uploads = ReturnType<typeof makeUploads>

/** Which route answers `method path`; undefined: 404 (or 405 when the path exists with another method). */
const routeOf = (method: string, path: string, uploads: Uploads): Route | "405" | undefined => {
  const parts = path.split("/").filter((p) => p !== "")
  const get = method === "GET" || method === "HEAD"
  const only = (route: Route, wanted: "GET" | "POST"): Route | "405" => ((wanted === "GET" ? get : method === "POST") ? route : "405")
  const [first, second, third, fourth] = parts
  if (parts.length === 0) return only(read("analytics", "analytics.funnel", (ctx) => overviewPage(ctx)), "GET")
  if (parts.length === 1) {
    switch (first) {
      case "channels":
        return only(read("analytics", "analytics.channels", (ctx) => channelsPage(ctx)), "GET")
      case "customers":
        return only(read("analytics", "analytics.topCustomers", (ctx) => customersPage(ctx)), "GET")
      case "contacts":
        return only(read("contacts", "contacts.list", (ctx) => contactsPage(ctx)), "GET")
      case "rules":
        return only(read("analytics", "analytics.rules", (ctx) => rulesPage(ctx)), "GET")
      case "outbox":
        return only(read("jobs", "jobs.list", (ctx) => outboxPage(ctx)), "GET")
      case "mails":
        return only(read("jobs", "jobs.list", (ctx) => mailsPage(ctx)), "GET")
      case "segments":
        return only(read("segments", "segments.list", (ctx) => segmentsPage(ctx)), "GET")
      case "imports":
        if (method === "POST") {
          return { action: "contacts.import", resource: { type: "imports", id: undefined, access: "write" }, csrf: true, run: async (ctx, req) => ({ _tag: "Upload", outcome: await uploads.receive(ctx, req) }) }
        }
        return only(read("imports", "imports.list", (ctx) => importsPage(ctx)), "GET")
    }
    return undefined
  }
  if (first === "contacts" && second !== undefined && segment.test(second)) {
    if (parts.length === 2) return only(read("contacts", "contacts.get", (ctx) => contactPage(ctx, second), second), "GET")
    if (parts.length === 3 && third === "personal-data") {
      return only(read("consent", "consent.export", async () => ({ _tag: "Forward", path: `/contacts/${encodeURIComponent(second)}/personal-data` }), second), "GET")
    }
  }
  if (first === "imports" && parts.length === 2 && second !== undefined && second.endsWith(".json") && segment.test(second)) {
    const id = second.slice(0, -".json".length)
    return only(read("imports", "imports.get", (ctx) => importRunJson(ctx, id), id), "GET")
  }
  if (first === "segments" && parts.length === 3 && second !== undefined && segment.test(second) && third === "export.csv") {
    return only(read("segments", "segments.export", async () => ({ _tag: "Forward", path: `/segments/${encodeURIComponent(second)}/export.csv` }), second), "GET")
  }
  if (first === "outbox" && parts.length === 3 && second !== undefined && segment.test(second) && third === "retry" && fourth === undefined) {
    return only(
      {
        action: "jobs.retry",
        resource: { type: "jobs", id: second, access: "write" },
        csrf: true,
        run: async (ctx) => {
          const flash = await retryJob(ctx, second)
          return { _tag: "Redirect", location: `${ctx.base}/outbox`, flash }
        }
      },
      "POST"
    )
  }
  return undefined
}

const readForm = (req: IncomingMessage): Promise<URLSearchParams> =>
  new Promise((resolve, reject) => {
    const type = req.headers["content-type"] ?? ""
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) return resolve(new URLSearchParams())
    let size = 0
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > FORM_LIMIT) {
        req.destroy()
        reject(new Error("form too large"))
      } else chunks.push(chunk)
    })
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))))
    req.on("error", reject)
  })

/** The HTML page of a refusal or a failure: the same shell, without the navigation when nobody is signed in. */
const errorPage = (status: number, title: MessageKey, body: MessageKey, o: { readonly locale: DashboardLocale; readonly t: Translate; readonly base: string; readonly title: string; readonly here: string; readonly navigation: boolean }): string =>
  shell({ ...o, h1: o.t(title), nav: undefined, body: html`<p data-error="${String(status)}">${o.t(body)}</p>`, navigation: o.navigation }).text

const securityHeaders = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; frame-src 'self' data:",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY"
} as const

/**
 * The dashboard as a `(req, res, next?)` handler for Express 4 and 5, Connect and `node:http`:
 * `app.use("/crm/dashboard", rapportDashboard(crm, { authenticate }))`. Pages (relative to the
 * mount point): `/` overview, `/channels`, `/customers`, `/contacts` (and `/contacts/:id`),
 * `/rules`, `/outbox`, `/mails`, `/imports`, `/segments`; assets under `/assets/`.
 *
 * Every page is read-only; the two actions (retrying a job, uploading a file) are POSTs that carry
 * a CSRF token (a double-submit cookie). Each request works in the workspace `authenticate`
 * returns, and nothing of another workspace is ever read. Mount it before body parsers.
 *
 * @since 0.9.0
 * @category constructors
 */
export const rapportDashboard = <Req extends MountedRequest = MountedRequest>(crm: CrmClient, options: RapportDashboardOptions<Req>): RapportHandler<Req> => {
  if (typeof options?.authenticate !== "function") throw new TypeError("rapportDashboard needs options.authenticate: (req) => { workspace, principal, role } | null")
  if (options.locale !== undefined && !isLocale(options.locale)) throw new TypeError(`rapportDashboard: locale must be "en" or "fr", got ${JSON.stringify(options.locale)}`)
  const authorize = options.authorize ?? authorizeByRole
  const title = options.title ?? "Rapport"
  // The API answers what the dashboard links to as files (a segment's CSV, a contact's personal
  // data) and takes the uploads, for the caller the dashboard already recognised.
  const callers = new WeakMap<IncomingMessage, Caller>()
  const api = toNodeHandler<Req>(crm, { authenticate: (req) => callers.get(req) ?? null, authorize, docs: false })
  const uploadSettings = uploadSettingsOf(options.imports)
  const uploads = makeUploads(uploadSettings)

  const handle = async (req: Req, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid")
    const path = url.pathname
    const method = req.method ?? "GET"
    const base = mountPath(req)
    if (path.startsWith("/assets/")) return serveAsset(path, method, res)

    const cookies = parseCookies(req.headers.cookie)
    const setCookies: Array<string> = []
    const secure = (req.socket as TLSSocket | undefined)?.encrypted === true ? "; Secure" : ""
    const cookiePath = base === "" ? "/" : base
    const cookie = (name: string, value: string, maxAge?: number) =>
      setCookies.push(`${name}=${encodeURIComponent(value)}; Path=${cookiePath}; HttpOnly; SameSite=Strict${secure}${maxAge === undefined ? "" : `; Max-Age=${maxAge}`}`)

    const asked = url.searchParams.get("lang")
    let locale: DashboardLocale
    if (isLocale(asked)) {
      locale = asked
      cookie(LANG_COOKIE, asked, 365 * 24 * 3600)
    } else {
      const remembered = cookies.get(LANG_COOKIE)
      locale = isLocale(remembered) ? remembered : (options.locale ?? fromAcceptLanguage(req.headers["accept-language"]) ?? "en")
    }
    const t = translator(locale)
    url.searchParams.delete("lang")
    const here = `${base}${path}${url.searchParams.size > 0 ? `?${url.searchParams}` : ""}`
    const frame = { locale, t, base, title, here }

    const send = (status: number, body: string | Buffer, headers: Readonly<Record<string, string | ReadonlyArray<string>>> = {}) => {
      res.writeHead(status, {
        ...securityHeaders,
        "cache-control": "no-store",
        vary: "Cookie, Accept-Language",
        "content-language": locale,
        ...(setCookies.length > 0 ? { "set-cookie": setCookies } : {}),
        ...headers
      })
      res.end(method === "HEAD" ? undefined : body)
    }
    const sendError = (status: number, titleKey: MessageKey, bodyKey: MessageKey, navigation: boolean, headers: Readonly<Record<string, string>> = {}) =>
      send(status, errorPage(status, titleKey, bodyKey, { ...frame, navigation }), { "content-type": "text/html; charset=utf-8", ...headers })

    const caller = await options.authenticate(req)
    if (caller === null || caller === undefined) return sendError(401, "error.401.title", "error.401.body", false, { "www-authenticate": 'Bearer realm="rapport"' })
    if (typeof caller !== "object" || typeof caller.workspace !== "string" || typeof caller.principal !== "string" || typeof caller.role !== "string") {
      throw new TypeError("Rapport: authenticate must return { workspace, principal, role } (strings), or null")
    }
    // The caller's workspace only: the host's client may be of another.
    const scoped = caller.workspace === crm.workspaceId ? crm : crm.workspace(caller.workspace)

    const route = routeOf(method, path, uploads)
    if (route === undefined) return sendError(404, "error.404.title", "error.404.body", true)
    if (route === "405") return sendError(405, "error.405.title", "error.405.body", true, { allow: "GET, HEAD" })
    if ((await authorize(caller, route.action, route.resource)) !== true) return sendError(403, "error.403.title", "error.403.body", true)

    let csrf = cookies.get(CSRF_COOKIE)
    if (csrf === undefined || csrf.length < 20) {
      csrf = randomBytes(24).toString("base64url")
      cookie(CSRF_COOKIE, csrf)
    }
    let form: URLSearchParams | undefined
    const formOf = async () => (form ??= await readForm(req))
    if (route.csrf) {
      const header = req.headers["x-csrf-token"]
      const sent = (typeof header === "string" ? header : undefined) ?? url.searchParams.get("_csrf") ?? (await formOf()).get("_csrf") ?? undefined
      if (!sameToken(cookies.get(CSRF_COOKIE), sent)) return sendError(403, "error.csrf.title", "error.csrf.body", true)
    }

    const flashCookie = cookies.get(FLASH_COOKIE)
    if (flashCookie !== undefined) cookie(FLASH_COOKIE, "", 0)
    const now = new Date(await scoped.run(Clock.currentTimeMillis))
    const ctx: PageContext = { crm: scoped, caller, locale, t, base, csrf, query: url.searchParams, now, title }
    const result = await route.run(ctx, req, res, formOf)
    switch (result._tag) {
      case "Forward": {
        callers.set(req, caller)
        const original = req.url
        req.url = `${result.path}${url.search}`
        return new Promise<void>((resolve) => {
          res.once("close", () => resolve())
          api(req, res, (error) => {
            req.url = original
            if (next !== undefined) next(error)
            else {
              res.writeHead(500).end()
            }
            resolve()
          })
        })
      }
      case "Redirect": {
        if (result.flash !== undefined) cookie(FLASH_COOKIE, result.flash, 60)
        return send(303, "", { location: result.location })
      }
      case "Upload": {
        const wantsJson = /application\/json/i.test(req.headers.accept ?? "")
        const outcome = result.outcome
        if (outcome._tag === "Accepted") {
          return wantsJson
            ? send(202, JSON.stringify({ id: outcome.importId }), { "content-type": "application/json; charset=utf-8" })
            : send(303, "", { location: `${base}/imports?id=${encodeURIComponent(outcome.importId)}` })
        }
        // A refused upload may stop before the body's end: the connection is not reused for the rest.
        const close = req.readableEnded ? {} : { connection: "close" }
        if (wantsJson) return send(outcome.status, JSON.stringify({ status: outcome.status, detail: outcome.detail }), { "content-type": "application/json; charset=utf-8", ...close })
        return send(outcome.status, shell({ ...frame, h1: t("imports.h1"), nav: "imports", body: html`<p class="flash error" data-error="${String(outcome.status)}">${outcome.detail}</p><p><a href="${base}/imports">${t("imports.upload")}</a></p>`, navigation: true }).text, {
          "content-type": "text/html; charset=utf-8",
          ...close
        })
      }
      case "Json":
        return send(result.status ?? 200, JSON.stringify(result.body), { "content-type": "application/json; charset=utf-8" })
      case "Download":
        return send(200, result.body, { "content-type": result.contentType, "content-disposition": `attachment; filename="${result.fileName}"` })
      case "Page": {
        const flash = flashCookie === undefined || flashCookie === "" ? undefined : decodeFlash(flashCookie)
        const body = shell({ ...frame, h1: result.h1, nav: result.nav, body: result.body, flash: flash === undefined ? undefined : { text: flash.text(t), error: flash.error }, navigation: true })
        return send(result.status ?? 200, body.text, { "content-type": "text/html; charset=utf-8" })
      }
    }
  }

  const serveAsset = async (path: string, method: string, res: ServerResponse): Promise<void> => {
    if (method !== "GET" && method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end()
      return
    }
    const asset =
      path === "/assets/dashboard.css"
        ? { type: "text/css; charset=utf-8", body: Buffer.from(css) }
        : path === "/assets/dashboard.js"
          ? { type: "text/javascript; charset=utf-8", body: Buffer.from(js) }
          : path === "/assets/chart.umd.js"
            ? { type: "text/javascript; charset=utf-8", body: await (chartSource ??= readFile(chartPath()).catch((error: unknown) => {
                chartSource = undefined
                throw error
              })) }
            : undefined
    if (asset === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found")
      return
    }
    res.writeHead(200, { "content-type": asset.type, "content-length": String(asset.body.length), "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" })
    res.end(method === "HEAD" ? undefined : asset.body)
  }

  const handler = (req: Req, res: ServerResponse, next?: (error?: unknown) => void): void => {
    handle(req, res, next).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (next !== undefined) return next(error)
      console.error("Rapport dashboard: a page failed", error)
      res.writeHead(500, { "content-type": "text/html; charset=utf-8", ...securityHeaders })
      res.end(errorPage(500, "error.500.title", "error.500.body", { locale: "en", t: translator("en"), base: mountPath(req), title, here: mountPath(req) || "/", navigation: false }))
    })
  }
  return Object.assign(handler, { ready: () => api.ready(), close: async () => void (await Promise.all([uploads.close(), api.close()])) })
}

const decodeFlash = (text: string): { readonly text: (t: Translate) => string; readonly error: boolean } | undefined => {
  try {
    const parsed = JSON.parse(text) as Partial<Flash>
    if (parsed.key !== "outbox.retried" && parsed.key !== "outbox.retry.failed") return undefined
    const values: Record<string, string> = {}
    for (const [k, v] of Object.entries(parsed.values ?? {})) if (typeof v === "string") values[k] = v.slice(0, 300)
    const key = parsed.key
    return { text: (t) => t(key, values), error: parsed.error === true }
  } catch {
    return undefined
  }
}

