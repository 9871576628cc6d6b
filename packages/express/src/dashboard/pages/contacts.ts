// Contacts: a search by name or email, and a contact's page (details, custom fields, timeline,
// deals, tasks, consent, and the link to its personal data export).
import { formatDate, formatDateTime, formatMoney, formatNumber } from "../format.js"
import { html } from "../html.js"
import { contactName, empty, page, type PageContext, type PageResult, section, table } from "../ui.js"

/** A Rapport error the client threw for an id that names nothing in this workspace (or nothing at all). */
export const isMissing = (error: unknown): boolean => {
  const code = typeof error === "object" && error !== null ? (error as { readonly code?: unknown }).code : undefined
  return code === "NOT_FOUND" || code === "VALIDATION_FAILED"
}

const SEARCHED = 500

export const contactsPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const q = (ctx.query.get("q") ?? "").trim().slice(0, 200)
  type Contact = Awaited<ReturnType<typeof crm.contacts.get>>
  let found: ReadonlyArray<Contact>
  if (q.includes("@")) {
    const one = await crm.contacts.findByEmail(q).catch((error: unknown) => (isMissing(error) ? null : Promise.reject(error)))
    found = one === null || one === undefined ? [] : [one]
  } else {
    const recent = await crm.contacts.list({ limit: SEARCHED })
    const needle = q.toLocaleLowerCase()
    found = needle === "" ? recent.items.slice(0, 50) : recent.items.filter((c) => contactName(c).toLocaleLowerCase().includes(needle) || (c.email ?? "").toLocaleLowerCase().includes(needle)).slice(0, 50)
  }
  const form = html`<form method="get" action="${ctx.base}/contacts" role="search"><label for="contact-search">${t("contacts.search")}</label>
<input type="search" id="contact-search" name="q" value="${q}" autocomplete="off"> <button type="submit">${t("contacts.search.button")}</button></form>
<p class="note">${t("contacts.list.note")}</p>`
  const list =
    found.length === 0
      ? empty(t("contacts.empty"))
      : table<Contact>(
          t("contacts.h1"),
          [
            { header: t("col.name"), cell: (c) => html`<a href="${ctx.base}/contacts/${c.id}">${contactName(c)}</a>` },
            { header: t("col.email"), cell: (c) => c.email ?? "—" },
            { header: t("col.stage"), cell: (c) => c.stage },
            { header: t("contact.firstSeen"), cell: (c) => formatDate(c.firstSeenAt, locale) }
          ],
          found,
          html`data-table="contacts"`
        )
  return page(t("contacts.h1"), "contacts", html`${section(t("contacts.search"), form)}${section(t("contacts.h1"), list, html`data-section="contacts"`)}`)
}

const fieldValue = (value: unknown): string => (value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value))

export const contactPage = async (ctx: PageContext, id: string): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const contact = await crm.contacts.get(id).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error)))
  if (contact === undefined) return page(t("error.404.title"), "contacts", empty(t("contact.notFound")), 404)
  const [timeline, deals, tasks, consent, pipelines] = await Promise.all([
    crm.timeline.list(contact.id, { limit: 50 }),
    crm.deals.list({ contactId: contact.id, limit: 50 }),
    crm.tasks.list({ contactId: contact.id, limit: 50 }),
    crm.consent.status(contact.id),
    crm.pipelines.list()
  ])
  const stageName = new Map(pipelines.flatMap((p) => p.stages.map((s) => [`${p.id}|${s.key}`, s.label] as const)))
  const details = html`<dl class="details" data-contact-details>
<dt>${t("col.email")}</dt><dd>${contact.email ?? "—"}</dd>
<dt>${t("contact.phone")}</dt><dd>${contact.phone ?? "—"}</dd>
<dt>${t("contact.stage")}</dt><dd>${contact.stage}</dd>
<dt>${t("contact.source")}</dt><dd>${[contact.source.channel, contact.source.campaign].filter((s) => s !== null && s !== undefined).join(" / ") || "—"}</dd>
<dt>${t("contact.tags")}</dt><dd>${contact.tags.length === 0 ? "—" : contact.tags.join(", ")}</dd>
<dt>${t("contact.score")}</dt><dd>${formatNumber(contact.score, locale)}</dd>
<dt>${t("contact.firstSeen")}</dt><dd>${formatDateTime(contact.firstSeenAt, locale)}</dd>
</dl>
<p><a href="${ctx.base}/contacts/${contact.id}/personal-data" download data-gdpr-export>${t("contact.gdpr")}</a></p>`
  const fields = Object.entries(contact.fields as Readonly<Record<string, unknown>>)
  type Entry = (typeof timeline.items)[number]
  type Deal = (typeof deals.items)[number]
  type Task = (typeof tasks.items)[number]
  const purposes = Object.entries(consent.purposes)
  return page(
    contactName(contact),
    "contacts",
    html`<div class="grid">
${section(t("contact.details"), details, html`data-section="details"`)}
${section(
  t("contact.fields"),
  fields.length === 0
    ? empty(t("contact.fields.empty"))
    : table(t("contact.fields"), [{ header: t("col.field"), cell: ([k]: readonly [string, unknown]) => k }, { header: t("col.value"), cell: ([, v]: readonly [string, unknown]) => fieldValue(v) }], fields, html`data-table="fields"`),
  html`data-section="fields"`
)}
${section(
  t("contact.consent"),
  purposes.length === 0
    ? empty(t("contact.consent.empty"))
    : table(
        t("contact.consent"),
        [
          { header: t("col.purpose"), cell: ([p]: (typeof purposes)[number]) => p },
          { header: t("col.status"), cell: ([, s]: (typeof purposes)[number]) => t(s.pending ? "status.consent.pending" : s.granted ? "status.consent.granted" : "status.consent.withdrawn") },
          { header: t("col.when"), cell: ([, s]: (typeof purposes)[number]) => formatDateTime(s.at, locale) },
          { header: t("contact.source"), cell: ([, s]: (typeof purposes)[number]) => s.source ?? "—" }
        ],
        purposes,
        html`data-table="consent"`
      ),
  html`data-section="consent"`
)}
${section(
  t("contact.deals"),
  deals.items.length === 0
    ? empty(t("contact.deals.empty"))
    : table<Deal>(
        t("contact.deals"),
        [
          { header: t("col.deal"), cell: (d) => d.title },
          { header: t("col.stage"), cell: (d) => stageName.get(`${d.pipelineId}|${d.stage}`) ?? d.stage },
          { header: t("col.status"), cell: (d) => t(`status.deal.${d.status}`) },
          { header: t("col.amount"), cell: (d) => formatMoney(d.amount, locale), numeric: true }
        ],
        deals.items,
        html`data-table="deals"`
      ),
  html`data-section="deals"`
)}
${section(
  t("contact.tasks"),
  tasks.items.length === 0
    ? empty(t("contact.tasks.empty"))
    : table<Task>(
        t("contact.tasks"),
        [
          { header: t("col.task"), cell: (task) => task.title },
          { header: t("col.due"), cell: (task) => formatDate(task.dueAt, locale) },
          { header: t("col.status"), cell: (task) => t(`status.task.${task.status}`) }
        ],
        tasks.items,
        html`data-table="tasks"`
      ),
  html`data-section="tasks"`
)}
</div>
${section(
  t("contact.timeline"),
  timeline.items.length === 0
    ? empty(t("contact.timeline.empty"))
    : table<Entry>(
        t("contact.timeline"),
        [
          { header: t("col.when"), cell: (e) => formatDateTime(e.occurredAt, locale) },
          { header: t("col.kind"), cell: (e) => e.kind },
          { header: t("col.summary"), cell: (e) => e.summary }
        ],
        timeline.items,
        html`data-table="timeline"`
      ),
  html`data-section="timeline"`
)}`
  )
}
