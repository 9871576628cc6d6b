// Segments: each saved segment with its member count and a link to its members as CSV.
import { formatNumber } from "../format.js"
import { html } from "../html.js"
import { empty, page, type PageContext, type PageResult, section, table } from "../ui.js"

export const segmentsPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const segments = await crm.segments.list()
  const counts = await Promise.all(segments.map((s) => crm.segments.count({ segmentId: s.id })))
  const rows = segments.map((s, i) => ({ segment: s, count: counts[i]! }))
  type Row = (typeof rows)[number]
  return page(
    t("segments.h1"),
    "segments",
    section(
      t("segments.h1"),
      rows.length === 0
        ? empty(t("segments.empty"))
        : table<Row>(
            t("segments.h1"),
            [
              { header: t("col.segment"), cell: (r) => r.segment.name },
              { header: t("col.members"), cell: (r) => html`<span data-segment-count="${r.segment.id}">${formatNumber(r.count, locale)}</span>`, numeric: true },
              {
                header: t("col.export"),
                cell: (r) => html`<a href="${ctx.base}/segments/${r.segment.id}/export.csv" download data-segment-export="${r.segment.id}">${t("segments.csv", { name: r.segment.name })}</a>`
              }
            ],
            rows,
            html`data-table="segments"`
          ),
      html`data-section="segments"`
    )
  )
}
