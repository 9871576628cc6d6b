// Rules and campaigns: each rule's firings, mails sent, opened (when the host reports opens) and
// conversions per A/B variant, and each campaign's.
import { formatNumber, formatPercent } from "../format.js"
import { html } from "../html.js"
import { empty, page, type PageContext, type PageResult, section, table } from "../ui.js"

export const rulesPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const [variants, campaigns] = await Promise.all([crm.analytics.rules(), crm.campaigns.list({ limit: 50 })])
  const stats = await Promise.all(campaigns.items.map((c) => crm.campaigns.stats(c.id)))
  type Variant = (typeof variants)[number]
  const rulesBlock = section(
    t("rules.variants"),
    variants.length === 0
      ? empty(t("rules.empty"))
      : table<Variant>(
          t("rules.variants"),
          [
            { header: t("col.rule"), cell: (v) => v.name },
            { header: t("col.variant"), cell: (v) => v.variant ?? "—" },
            { header: t("col.fired"), cell: (v) => formatNumber(v.fired, locale), numeric: true },
            { header: t("col.sent"), cell: (v) => formatNumber(v.sent, locale), numeric: true },
            { header: t("col.opened"), cell: (v) => formatNumber(v.opened, locale), numeric: true },
            { header: t("col.converted"), cell: (v) => formatNumber(v.converted, locale), numeric: true },
            { header: t("col.rate"), cell: (v) => formatPercent(v.conversionRate, locale), numeric: true }
          ],
          variants,
          html`data-table="rule-variants"`
        ),
    html`data-section="rule-variants"`
  )
  const rows = campaigns.items.map((c, i) => ({ campaign: c, stats: stats[i]! }))
  type Row = (typeof rows)[number]
  const campaignsBlock = section(
    t("rules.campaigns"),
    rows.length === 0
      ? empty(t("rules.campaigns.empty"))
      : table<Row>(
          t("rules.campaigns"),
          [
            { header: t("col.name"), cell: (r) => r.campaign.name },
            { header: t("col.status"), cell: (r) => t(`status.campaign.${r.stats.status}`) },
            { header: t("col.sent"), cell: (r) => formatNumber(r.stats.sent, locale), numeric: true },
            { header: t("col.opened"), cell: (r) => formatNumber(r.stats.opened, locale), numeric: true },
            { header: t("col.converted"), cell: (r) => formatNumber(r.stats.converted, locale), numeric: true },
            { header: t("col.rate"), cell: (r) => formatPercent(r.stats.sent === 0 ? null : r.stats.converted / r.stats.sent, locale), numeric: true }
          ],
          rows,
          html`data-table="campaigns"`
        ),
    html`data-section="campaigns"`
  )
  return page(t("rules.h1"), "rules", html`${rulesBlock}${campaignsBlock}`)
}
