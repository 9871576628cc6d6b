// Imports: the upload form (sent by the page's script with its progress, or as a plain form), the
// recent imports, and an import's per-row report. The upload is received as the HTTP API receives
// its POST /imports (see ../upload.ts).
import { formatDateTime, formatNumber } from "../format.js"
import { html, type Html } from "../html.js"
import type { MessageKey } from "../i18n.js"
import { empty, page, type PageContext, type PageResult, section, table } from "../ui.js"
import { isMissing } from "./contacts.js"

type Run = Awaited<ReturnType<PageContext["crm"]["imports"]["get"]>>

const statusKey = (status: Run["status"]): MessageKey => `imports.status.${status}`

interface RowLine {
  readonly kind: "rejected" | "skipped" | "updated" | "warning"
  readonly line: number
  readonly reason: string
}

const rowsOf = (report: Readonly<Record<string, unknown>>): ReadonlyArray<RowLine> => {
  const lists: ReadonlyArray<readonly [string, RowLine["kind"]]> = [
    ["rejections", "rejected"],
    ["skips", "skipped"],
    ["updates", "updated"],
    ["warnings", "warning"]
  ]
  const rows: Array<RowLine> = []
  for (const [key, kind] of lists) {
    const list = report[key]
    if (!Array.isArray(list)) continue
    for (const r of list as ReadonlyArray<{ readonly line?: unknown; readonly reason?: unknown }>) {
      if (typeof r.line === "number" && typeof r.reason === "string") rows.push({ kind, line: r.line, reason: r.reason })
    }
  }
  return rows.sort((a, b) => a.line - b.line)
}

const count = (report: Readonly<Record<string, unknown>>, key: string): number => (typeof report[key] === "number" ? (report[key] as number) : 0)

const reportOf = (ctx: PageContext, run: Run): Html => {
  const { t, locale } = ctx
  const file = run.fileName ?? run.id
  if (run.status === "failed") {
    return section(t("imports.report", { file }), html`<p class="flash error" data-import-status="failed">${t("imports.failed", { reason: run.error?.message ?? "" })}</p>`, html`data-import-report="${run.id}"`)
  }
  if (run.status !== "done" || run.report === null) {
    return section(
      t("imports.report", { file }),
      html`<p data-import-status="${run.status}">${t(statusKey(run.status))} · ${t("imports.running", { rows: formatNumber(run.progress.rowsRead, locale) })}</p>`,
      html`data-import-report="${run.id}"`
    )
  }
  const report = run.report as Readonly<Record<string, unknown>>
  const rows = rowsOf(report)
  return section(
    t("imports.report", { file }),
    html`<p data-import-status="done" data-import-counts>${t("imports.report.counts", {
      read: formatNumber(count(report, "rowsRead"), locale),
      created: formatNumber(count(report, "created"), locale),
      updated: formatNumber(count(report, "updated"), locale),
      skipped: formatNumber(count(report, "skipped"), locale),
      rejected: formatNumber(count(report, "rejected"), locale)
    })}</p>
${rows.length === 0
  ? empty(t("imports.report.rows.empty"))
  : table<RowLine>(
      t("imports.report.rows"),
      [
        { header: t("col.line"), cell: (r) => String(r.line), numeric: true },
        { header: t("col.status"), cell: (r) => t(`imports.rowKind.${r.kind}`) },
        { header: t("col.reason"), cell: (r) => r.reason }
      ],
      rows,
      html`id="import-report" data-table="import-report"`
    )}`,
    html`data-import-report="${run.id}"`
  )
}

export const importsPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale, base } = ctx
  const wanted = ctx.query.get("id")
  const [recent, shown] = await Promise.all([
    crm.imports.list({ limit: 20 }),
    wanted === null ? Promise.resolve(undefined) : crm.imports.get(wanted).catch((error: unknown) => (isMissing(error) ? null : Promise.reject(error)))
  ])
  const form = html`<form id="import-form" method="post" enctype="multipart/form-data" action="${base}/imports?_csrf=${encodeURIComponent(ctx.csrf)}"
 data-csrf="${ctx.csrf}" data-poll="${base}/imports/{id}.json" data-report="${base}/imports?id={id}" data-uploading="${t("imports.uploading")}" data-network-error="${t("imports.networkError")}" data-running="${t("imports.running", { rows: "{rows}" })}">
<label for="import-file">${t("imports.file")}</label>
<input type="file" id="import-file" name="file" required accept=".csv,.tsv,.txt,.xlsx,.vcf,text/csv,text/vcard">
<p><button type="submit" id="import-submit">${t("imports.submit")}</button></p>
<label for="import-progress">${t("imports.progress")}</label>
<progress id="import-progress" max="100" value="0" hidden></progress>
<p id="import-status" role="status" aria-live="polite"></p>
</form>`
  type Item = (typeof recent.items)[number]
  const recentBlock = section(
    t("imports.recent"),
    recent.items.length === 0
      ? empty(t("imports.recent.empty"))
      : table<Item>(
          t("imports.recent"),
          [
            { header: t("col.file"), cell: (r) => html`<a href="${base}/imports?id=${r.id}">${r.fileName ?? r.id}</a>` },
            { header: t("col.status"), cell: (r) => t(statusKey(r.status)) },
            { header: t("col.when"), cell: (r) => formatDateTime(r.createdAt, locale) },
            { header: t("col.count"), cell: (r) => formatNumber(r.progress.rowsRead, locale), numeric: true }
          ],
          recent.items,
          html`data-table="imports"`
        ),
    html`data-section="imports"`
  )
  const shownBlock = shown === undefined ? html`` : shown === null ? empty(t("imports.notFound")) : reportOf(ctx, shown)
  return page(t("imports.h1"), "imports", html`${shownBlock}${section(t("imports.upload"), form, html`data-section="upload"`)}${recentBlock}`, shown === null ? 404 : undefined)
}

/** An import as JSON, for the upload's progress bar to poll (the caller's workspace only). */
export const importRunJson = async (ctx: PageContext, id: string): Promise<PageResult> => {
  const run = await ctx.crm.imports.get(id).catch((error: unknown) => (isMissing(error) ? null : Promise.reject(error)))
  return run === null ? { _tag: "Json", body: { status: 404, title: "Not Found" }, status: 404 } : { _tag: "Json", body: { id: run.id, status: run.status, progress: run.progress } }
}
