// Channels: contacts acquired per source channel and campaign, the share that became customers,
// the revenue they brought, what the channel cost and the cost per customer.
import { formatMoney, formatNumber, formatPercent, toMajor } from "../format.js"
import { html } from "../html.js"
import { chart, type ChartData, empty, lastMonths, monthsOf, page, type PageContext, periodPicker, type PageResult, section, table } from "../ui.js"

export const channelsPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const months = monthsOf(ctx.query)
  const period = lastMonths(ctx.now, months)
  const rows = await crm.analytics.channels(period)
  const periodAttributes = html`data-from="${period.from}" data-to="${period.to}"`
  const periodText = periodPicker(ctx, "/channels", months, period)
  if (rows.length === 0) return page(t("channels.h1"), "channels", html`${periodText}${section(t("channels.acquisition"), empty(t("channels.empty")), html`data-section="channels"`)}`)

  const labelOf = (r: (typeof rows)[number]) => (r.campaign === null ? r.channel : `${r.channel} / ${r.campaign}`)
  // One row per channel and campaign and currency: acquisition counts once per channel and campaign.
  const acquisition = new Map<string, { acquired: number; customers: number }>()
  for (const r of rows) if (!acquisition.has(labelOf(r))) acquisition.set(labelOf(r), { acquired: r.acquired, customers: r.customers })
  const labels = [...acquisition.keys()]
  const acquisitionChart: ChartData = {
    labels,
    datasets: [
      { label: t("col.acquired"), data: labels.map((l) => acquisition.get(l)!.acquired) },
      { label: t("col.customers"), data: labels.map((l) => acquisition.get(l)!.customers) }
    ]
  }
  const currencies = [...new Set(rows.flatMap((r) => (r.currency === null ? [] : [r.currency])))].sort()
  const amount = (label: string, currency: string, pick: "revenue" | "spend") =>
    rows.find((r) => labelOf(r) === label && r.currency === currency)?.[pick]?.amountMinor ?? 0
  const revenueChart: ChartData = {
    labels,
    datasets: currencies.flatMap((currency) =>
      (["revenue", "spend"] as const).map((pick) => {
        const minor = labels.map((l) => amount(l, currency, pick))
        return {
          label: t(pick === "revenue" ? "channels.revenue.dataset" : "channels.spend.dataset", { currency }),
          currency,
          measure: pick,
          minor,
          data: minor.map((m) => toMajor(m, currency))
        }
      })
    )
  }
  type Row = (typeof rows)[number]
  const money = (m: { readonly amountMinor: number; readonly currency: string } | null) => (m === null ? "—" : formatMoney(m, locale))
  const figures = table<Row>(
    t("chart.table"),
    [
      { header: t("col.channel"), cell: (r) => r.channel },
      { header: t("col.campaign"), cell: (r) => r.campaign ?? "—" },
      { header: t("col.acquired"), cell: (r) => formatNumber(r.acquired, locale), numeric: true },
      { header: t("col.customers"), cell: (r) => formatNumber(r.customers, locale), numeric: true },
      { header: t("col.conversion"), cell: (r) => formatPercent(r.customerShare, locale), numeric: true },
      { header: t("col.revenue"), cell: (r) => money(r.revenue), numeric: true },
      { header: t("col.spend"), cell: (r) => money(r.spend), numeric: true },
      { header: t("col.cpc"), cell: (r) => money(r.costPerCustomer), numeric: true }
    ],
    rows,
    html`data-table="channels"`
  )
  return page(
    t("channels.h1"),
    "channels",
    html`${periodText}<div class="grid">${chart("channels-acquisition", {
      title: t("channels.acquisition"),
      type: "bar",
      data: acquisitionChart,
      attributes: periodAttributes,
      table: html``
    })}${chart("channels-revenue", { title: t("channels.revenue"), type: "bar", data: revenueChart, attributes: periodAttributes, table: html`` })}</div>${section(t("chart.table"), figures, html`data-section="channels-table"`)}`
  )
}
