// Mails sent: each mail job that ran, with its subject and body. A queued mail (a deal's follow-up)
// keeps its rendered body in the job: it is shown as sent. A rule's mail keeps only its subject
// and template (the job's outcome): its body is the template rendered again now, and the page says so.
import { formatDateTime } from "../format.js"
import { html, type Html } from "../html.js"
import { contactNames, empty, page, type PageContext, type PageResult, section } from "../ui.js"

const MAILS = 30

const text = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

export const mailsPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const done = await crm.dispatcher.jobs({ status: "done", limit: 200 })
  const sent = done.items.filter((j) => j.outcome !== null && text(j.outcome["subject"]) !== undefined && text(j.outcome["to"]) !== undefined).slice(0, MAILS)
  const mails = await Promise.all(
    sent.map(async (job) => {
      const outcome = job.outcome!
      const action = job.action as { readonly type?: unknown; readonly html?: unknown; readonly text?: unknown } | null
      if (action !== null && action.type === "mail") {
        return { job, subject: text(outcome["subject"])!, to: text(outcome["to"])!, html: text(action.html) ?? null, text: text(action.text) ?? null, stored: true, missing: false }
      }
      const templateId = text(outcome["templateId"])
      const preview =
        templateId === undefined ? undefined : await crm.templates.preview(templateId, { contactId: job.contactId }).catch(() => undefined)
      return { job, subject: text(outcome["subject"])!, to: text(outcome["to"])!, html: preview?.html ?? null, text: preview?.text ?? null, stored: false, missing: preview === undefined }
    })
  )
  const names = await contactNames(crm, mails.map((m) => m.job.contactId))
  if (mails.length === 0) return page(t("mails.h1"), "mails", section(t("mails.h1"), empty(t("mails.empty")), html`data-section="mails"`))
  const body = (m: (typeof mails)[number]): Html =>
    m.missing
      ? empty(t("mails.noBody"))
      : html`<p class="note" data-mail-body="${m.stored ? "stored" : "rerendered"}">${m.stored ? t("mails.stored") : t("mails.rerendered")}</p>
${m.html === null ? "" : html`<iframe class="mail-html" sandbox="" title="${m.subject}" srcdoc="${m.html}"></iframe>`}
${m.text === null ? "" : m.html === null ? html`<pre class="mail-body">${m.text}</pre>` : html`<details><summary>${t("mails.textVersion")}</summary><pre class="mail-body">${m.text}</pre></details>`}`
  return page(
    t("mails.h1"),
    "mails",
    html`${mails.map(
      (m) => html`<article class="card" data-mail="${m.job.id}">
<h2>${m.subject}</h2>
<dl class="details"><dt>${t("col.to")}</dt><dd>${m.to}</dd><dt>${t("col.when")}</dt><dd>${formatDateTime(m.job.completedAt ?? m.job.updatedAt, locale)}</dd>
<dt>${t("col.contact")}</dt><dd><a href="${ctx.base}/contacts/${m.job.contactId}">${names.get(m.job.contactId) ?? m.job.contactId}</a></dd></dl>
${body(m)}
</article>`
    )}`
  )
}
