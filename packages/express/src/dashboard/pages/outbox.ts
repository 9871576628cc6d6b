// The outbox: jobs waiting to run and jobs that failed for good, each dead one with a Retry button
// (a POST with the CSRF token; the page after it says what happened).
import { formatDateTime, formatNumber } from "../format.js"
import { html } from "../html.js"
import { contactNames, empty, encodeFlash, page, type PageContext, type PageResult, section, table } from "../ui.js"

type Jobs = Awaited<ReturnType<PageContext["crm"]["dispatcher"]["jobs"]>>
type JobRow = Jobs["items"][number]

/** What a job does, in a word: its action's type (`sendEmail`, `mail`, `webhook`…) or `check`. */
export const jobWhat = (job: JobRow): string => {
  const action = job.action as { readonly type?: unknown } | null
  return action !== null && typeof action.type === "string" ? action.type : job.kind
}

export const outboxPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const [pending, dead] = await Promise.all([crm.dispatcher.jobs({ status: "pending", limit: 100 }), crm.dispatcher.jobs({ status: "dead", limit: 100 })])
  const names = await contactNames(crm, [...pending.items, ...dead.items].map((j) => j.contactId))
  const common = [
    { header: t("col.job"), cell: (j: JobRow) => html`<code>${j.id}</code>` },
    { header: t("col.action"), cell: (j: JobRow) => jobWhat(j) },
    { header: t("col.contact"), cell: (j: JobRow) => html`<a href="${ctx.base}/contacts/${j.contactId}">${names.get(j.contactId) ?? j.contactId}</a>` },
    { header: t("col.due"), cell: (j: JobRow) => formatDateTime(j.dueAt, locale) },
    { header: t("col.attempts"), cell: (j: JobRow) => formatNumber(j.attempts, locale), numeric: true }
  ]
  const pendingBlock = section(
    t("outbox.pending"),
    pending.items.length === 0 ? empty(t("outbox.pending.empty")) : table(t("outbox.pending"), common, pending.items, html`data-table="pending-jobs"`),
    html`data-section="pending-jobs"`
  )
  const deadBlock = section(
    t("outbox.dead"),
    dead.items.length === 0
      ? empty(t("outbox.dead.empty"))
      : table(
          t("outbox.dead"),
          [
            ...common,
            { header: t("col.error"), cell: (j: JobRow) => j.lastError ?? "—" },
            {
              header: t("outbox.retry"),
              cell: (j: JobRow) =>
                html`<form method="post" action="${ctx.base}/outbox/${j.id}/retry"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit" data-retry-job="${j.id}" aria-label="${t("outbox.retry.label", { id: j.id })}">${t("outbox.retry")}</button></form>`
            }
          ],
          dead.items,
          html`data-table="dead-jobs"`
        ),
    html`data-section="dead-jobs"`
  )
  return page(t("outbox.h1"), "outbox", html`${deadBlock}${pendingBlock}`)
}

/** Queues a dead (or skipped) job again; the flash message says whether it worked. */
export const retryJob = async (ctx: PageContext, jobId: string): Promise<string> => {
  try {
    const job = await ctx.crm.dispatcher.retry(jobId)
    return encodeFlash({ key: "outbox.retried", values: { id: job.id }, error: false })
  } catch (error) {
    const reason = typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string" ? (error as { message: string }).message : String(error)
    if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") {
      return encodeFlash({ key: "outbox.retry.failed", values: { id: jobId, reason }, error: true })
    }
    throw error
  }
}
