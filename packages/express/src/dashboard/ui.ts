// The page shell and the pieces every page is made of: tables with header cells, charts with
// their data block and a table of the same figures, empty states.
import type { CrmClient } from "@rapport/core"
import type { Caller } from "../Auth.js"
import { html, type Html, type Interpolation, jsonText } from "./html.js"
import { formatDate } from "./format.js"
import type { DashboardLocale, MessageKey, Translate } from "./i18n.js"

/** What a page is given to render. */
export interface PageContext {
  /** The client in the caller's workspace. */
  readonly crm: CrmClient
  readonly caller: Caller
  readonly locale: DashboardLocale
  readonly t: Translate
  /** The mount path (`/crm/dashboard`), empty at the root: links are `${base}/channels`. */
  readonly base: string
  readonly csrf: string
  readonly query: URLSearchParams
  /** The CRM's clock: periods and "today" follow it, not the server's. */
  readonly now: Date
  readonly title: string
}

/** What a page answers: HTML to put in the shell, or something else entirely. */
export type PageResult =
  | { readonly _tag: "Page"; readonly h1: string; readonly nav: NavKey | undefined; readonly body: Html; readonly status?: number }
  | { readonly _tag: "Json"; readonly body: unknown; readonly status?: number }
  | { readonly _tag: "Download"; readonly body: string; readonly contentType: string; readonly fileName: string }

export type NavKey = "overview" | "channels" | "customers" | "contacts" | "rules" | "outbox" | "mails" | "imports" | "segments"

const navItems: ReadonlyArray<readonly [NavKey, string, MessageKey]> = [
  ["overview", "/", "nav.overview"],
  ["channels", "/channels", "nav.channels"],
  ["customers", "/customers", "nav.customers"],
  ["contacts", "/contacts", "nav.contacts"],
  ["rules", "/rules", "nav.rules"],
  ["outbox", "/outbox", "nav.outbox"],
  ["mails", "/mails", "nav.mails"],
  ["imports", "/imports", "nav.imports"],
  ["segments", "/segments", "nav.segments"]
]

export const page = (h1: string, nav: NavKey | undefined, body: Html, status?: number): PageResult =>
  status === undefined ? { _tag: "Page", h1, nav, body } : { _tag: "Page", h1, nav, body, status }

export interface ShellOptions {
  readonly locale: DashboardLocale
  readonly t: Translate
  readonly base: string
  readonly title: string
  readonly h1: string
  readonly nav: NavKey | undefined
  readonly body: Html
  /** The current path and query without `lang`, for the language switch. */
  readonly here: string
  readonly flash?: { readonly text: string; readonly error: boolean } | undefined
  readonly navigation: boolean
}

export const shell = (o: ShellOptions): Html => {
  const other: DashboardLocale = o.locale === "fr" ? "en" : "fr"
  const separator = o.here.includes("?") ? "&" : "?"
  return html`<!doctype html>
<html lang="${o.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${o.h1} · ${o.title}</title>
<link rel="stylesheet" href="${o.base}/assets/dashboard.css">
<script src="${o.base}/assets/chart.umd.js" defer></script>
<script src="${o.base}/assets/dashboard.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${o.t("skip")}</a>
<header>
<a class="brand" href="${o.base}/">${o.title}</a>
${o.navigation
    ? html`<nav aria-label="${o.t("nav.label")}"><ul>${navItems.map(
        ([key, path, label]) => html`<li><a href="${o.base}${path}"${key === o.nav ? html` aria-current="page"` : ""}>${o.t(label)}</a></li>`
      )}</ul></nav>`
    : ""}
<p class="lang"><a href="${o.here}${separator}lang=${other}" hreflang="${other}" lang="${other}" data-lang-switch="${other}">${o.t("lang.switch")}</a></p>
</header>
<main id="main" tabindex="-1">
<h1>${o.h1}</h1>
${o.flash === undefined ? "" : html`<p class="flash${o.flash.error ? " error" : ""}" role="status" data-flash>${o.flash.text}</p>`}
${o.body}
</main>
</body>
</html>
`
}

export const empty = (text: string): Html => html`<p class="empty" data-empty>${text}</p>`

export interface Column<A> {
  readonly header: string
  readonly cell: (row: A) => Interpolation
  readonly numeric?: boolean
}

/** A table with column headers (`scope="col"`) and, for the first column, row headers. */
export const table = <A>(caption: string, columns: ReadonlyArray<Column<A>>, rows: ReadonlyArray<A>, attributes: Html = html``): Html =>
  html`<div class="table-wrap"><table ${attributes}><caption>${caption}</caption>
<thead><tr>${columns.map((c) => html`<th scope="col"${c.numeric === true ? html` class="num"` : ""}>${c.header}</th>`)}</tr></thead>
<tbody>${rows.map(
    (row) =>
      html`<tr>${columns.map((c, i) =>
        i === 0
          ? html`<th scope="row"${c.numeric === true ? html` class="num"` : ""}>${c.cell(row)}</th>`
          : html`<td${c.numeric === true ? html` class="num"` : ""}>${c.cell(row)}</td>`
      )}</tr>`
  )}</tbody></table></div>`

/** The data a chart draws, as Chart.js takes it; `minor` keeps exact amounts beside the axis values. */
export interface ChartData {
  readonly labels: ReadonlyArray<string>
  readonly datasets: ReadonlyArray<{
    readonly label: string
    readonly data: ReadonlyArray<number | null>
    readonly type?: "bar" | "line"
    readonly currency?: string
    readonly minor?: ReadonlyArray<number | null>
    readonly [key: string]: unknown
  }>
}

/**
 * A chart: a canvas (an image named by its title) with its data in a JSON block beside it, and the
 * same figures as a table for people who do not see the canvas.
 */
export const chart = (
  name: string,
  options: { readonly title: string; readonly type: "bar" | "line"; readonly axis?: "x" | "y"; readonly data: ChartData; readonly table: Html; readonly attributes?: Html }
): Html =>
  html`<figure class="card" data-chart-figure="${name}">
<figcaption><h2>${options.title}</h2></figcaption>
<div class="chart"><canvas data-chart="${name}" data-chart-type="${options.type}" data-chart-axis="${options.axis ?? "x"}" role="img" aria-label="${options.title}" ${options.attributes ?? ""}></canvas></div>
<script type="application/json" data-chart-data="${name}">${jsonText(options.data)}</script>
${options.table}
</figure>`

/** Fails loudly when a page's query asks for something odd, rather than showing wrong figures. */
export const section = (title: string, content: Html, attributes: Html = html``): Html => html`<section class="card" ${attributes}><h2>${title}</h2>${content}</section>`

/** A contact's name for lists: first and last name, else email, else phone, else its id. */
export const contactName = (c: { readonly firstName: string | null; readonly lastName: string | null; readonly email: string | null; readonly phone: string | null; readonly id: string }): string => {
  const name = [c.firstName, c.lastName].filter((p) => p !== null && p !== "").join(" ")
  return name !== "" ? name : (c.email ?? c.phone ?? c.id)
}

/** The periods a report page offers, in calendar months up to and including the current one. */
export const periodChoices = [3, 6, 12, 24] as const

/** `?months=` when it is one of {@link periodChoices}; else 12. */
export const monthsOf = (query: URLSearchParams): number => {
  const asked = Number(query.get("months"))
  return (periodChoices as ReadonlyArray<number>).includes(asked) ? asked : 12
}

/**
 * The period the reports cover: the calendar months (UTC) up to and including the current one, by
 * the CRM's clock. Pages name it on their charts (`data-from`, `data-to`) so a reader can ask the
 * API the same question.
 */
export const lastMonths = (now: Date, months: number): { readonly from: string; readonly to: string } => {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1))
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
  return { from: from.toISOString(), to: to.toISOString() }
}

/** A flash message kept in a cookie for the page after a redirect: a message key and its values, never markup. */
export interface Flash {
  readonly key: MessageKey
  readonly values: Readonly<Record<string, string>>
  readonly error: boolean
}

export const encodeFlash = (flash: Flash): string => JSON.stringify(flash)


/** The display names of contacts by id (an id that names no contact of the workspace keeps the id). */
export const contactNames = async (crm: CrmClient, ids: Iterable<string>): Promise<ReadonlyMap<string, string>> => {
  const names = new Map<string, string>()
  await Promise.all(
    [...new Set(ids)].map(async (id) => {
      const contact = await crm.contacts.get(id).catch(() => undefined)
      names.set(id, contact === undefined ? id : contactName(contact))
    })
  )
  return names
}

/** The period's text and a form to choose another (a GET: it only changes what is shown). */
export const periodPicker = (ctx: PageContext, path: string, months: number, period: { readonly from: string; readonly to: string }): Html =>
  html`<form method="get" action="${ctx.base}${path}" class="period" data-period data-from="${period.from}" data-to="${period.to}">
<label for="period-months">${ctx.t("period.label")}</label>
<select id="period-months" name="months">${periodChoices.map((n) => html`<option value="${String(n)}"${n === months ? html` selected` : ""}>${ctx.t("period.months", { n: String(n) })}</option>`)}</select>
<button type="submit">${ctx.t("period.apply")}</button>
<span class="note">${ctx.t("period", { from: formatDate(period.from, ctx.locale), to: formatDate(new Date(Date.parse(period.to) - 1).toISOString(), ctx.locale) })}</span>
</form>`
