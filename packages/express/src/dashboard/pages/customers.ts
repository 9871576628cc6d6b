// Customers: the best customers and products over the last twelve months with their margin, and the
// avatar report (what customers have in common, compared with all contacts).
import { formatMoney, formatNumber, toMajor } from "../format.js"
import { html } from "../html.js"
import { chart, type ChartData, contactNames, empty, lastMonths, monthsOf, page, type PageContext, periodPicker, type PageResult, section, table } from "../ui.js"

export const customersPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const months = monthsOf(ctx.query)
  const period = lastMonths(ctx.now, months)
  const [customers, products, avatar] = await Promise.all([crm.analytics.topCustomers(period), crm.analytics.topProducts(period), crm.analytics.avatar({})])
  const names = await contactNames(crm, customers.map((c) => c.contactId))
  const periodAttributes = html`data-from="${period.from}" data-to="${period.to}"`
  const periodText = periodPicker(ctx, "/customers", months, period)
  const margin = (m: { readonly amountMinor: number; readonly currency: string }, complete: boolean) =>
    complete ? formatMoney(m, locale) : html`${formatMoney(m, locale)} <span class="note">(${t("customers.margin.partial")})</span>`

  type Customer = (typeof customers)[number]
  const customersBlock = section(
    t("customers.top"),
    customers.length === 0
      ? empty(t("customers.top.empty"))
      : table<Customer>(
          t("customers.top"),
          [
            { header: t("col.rank"), cell: (c) => String(c.rank), numeric: true },
            { header: t("col.contact"), cell: (c) => html`<a href="${ctx.base}/contacts/${c.contactId}">${names.get(c.contactId) ?? c.contactId}</a>` },
            { header: t("col.revenue"), cell: (c) => formatMoney(c.revenue, locale), numeric: true },
            { header: t("col.orders"), cell: (c) => formatNumber(c.orders, locale), numeric: true },
            { header: t("col.margin"), cell: (c) => margin(c.margin, c.marginComplete), numeric: true }
          ],
          customers,
          html`data-table="top-customers"`
        ),
    html`data-section="top-customers"`
  )

  const currencies = [...new Set(products.map((p) => p.revenue.currency))].sort()
  const skus = [...new Set(products.map((p) => p.sku))]
  const productName = new Map(products.map((p) => [p.sku, p.name]))
  const productsChart: ChartData = {
    labels: skus.map((sku) => productName.get(sku) ?? sku),
    datasets: currencies.flatMap((currency) =>
      (["revenue", "margin"] as const).map((pick) => {
        const minor = skus.map((sku) => products.find((p) => p.sku === sku && p.revenue.currency === currency)?.[pick].amountMinor ?? 0)
        return {
          label: t(pick === "revenue" ? "customers.products.revenue" : "customers.products.margin", { currency }),
          currency,
          measure: pick,
          skus,
          minor,
          data: minor.map((m) => toMajor(m, currency))
        }
      })
    )
  }
  type Product = (typeof products)[number]
  const productsBlock =
    products.length === 0
      ? section(t("customers.products"), empty(t("customers.products.empty")), html`data-section="top-products"`)
      : chart("top-products", {
          title: t("customers.products"),
          type: "bar",
          axis: "y",
          data: productsChart,
          attributes: periodAttributes,
          table: table<Product>(
            t("chart.table"),
            [
              { header: t("col.product"), cell: (p) => p.name },
              { header: t("col.quantity"), cell: (p) => formatNumber(p.quantity, locale), numeric: true },
              { header: t("col.revenue"), cell: (p) => formatMoney(p.revenue, locale), numeric: true },
              { header: t("col.margin"), cell: (p) => margin(p.margin, p.marginComplete), numeric: true }
            ],
            products,
            html`data-table="top-products"`
          )
        })

  type Value = (typeof avatar.values)[number]
  const avatarBlock = section(
    t("customers.avatar"),
    avatar.totalCustomers === 0
      ? empty(t("customers.avatar.empty"))
      : html`<p>${t("customers.avatar.summary", { customers: formatNumber(avatar.totalCustomers, locale), contacts: formatNumber(avatar.totalContacts, locale) })}</p>${table<Value>(
          t("customers.avatar"),
          [
            { header: t("col.value"), cell: (v) => v.value },
            { header: t("col.dimension"), cell: (v) => (v.dimension === "channel" ? t("col.channel") : (v.field ?? "")) },
            { header: t("col.customers"), cell: (v) => formatNumber(v.customers, locale), numeric: true },
            { header: t("nav.contacts"), cell: (v) => formatNumber(v.contacts, locale), numeric: true },
            { header: t("col.lift"), cell: (v) => (v.lift === null ? "—" : new Intl.NumberFormat(locale === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 2 }).format(v.lift)), numeric: true }
          ],
          avatar.values,
          html`data-table="avatar"`
        )}`,
    html`data-section="avatar"`
  )
  return page(t("customers.h1"), "customers", html`${periodText}<div class="grid">${customersBlock}${productsBlock}${avatarBlock}</div>`)
}
