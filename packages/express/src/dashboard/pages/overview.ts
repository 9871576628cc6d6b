// The overview: the lifecycle funnel, the weighted pipeline per stage with the floor, the forecast
// by expected-close month, today's and overdue tasks, stale deals.
import { formatDate, formatMoney, formatMonth, formatNumber, toMajor } from "../format.js"
import { html, type Html } from "../html.js"
import { chart, type ChartData, type Column, empty, page, type PageContext, type PageResult, section, table } from "../ui.js"

interface Total {
  readonly currency: string
  readonly count: number
  readonly amount: { readonly amountMinor: number; readonly currency: string }
  readonly weighted: { readonly amountMinor: number; readonly currency: string }
}

/** The funnel as the chart draws it: Σ `reached` over every cohort of `analytics.funnel({})`, per stage in lifecycle order. */
export const funnelData = (rows: ReadonlyArray<{ readonly stage: string; readonly position: number; readonly reached: number }>, label: string): ChartData => {
  const byStage = new Map<string, { position: number; reached: number }>()
  for (const r of rows) {
    const at = byStage.get(r.stage) ?? { position: r.position, reached: 0 }
    at.reached += r.reached
    byStage.set(r.stage, at)
  }
  const stages = [...byStage.entries()].sort((a, b) => a[1].position - b[1].position)
  return { labels: stages.map(([s]) => s), datasets: [{ label, data: stages.map(([, v]) => v.reached) }] }
}

const currenciesOf = (totals: ReadonlyArray<ReadonlyArray<Total>>): ReadonlyArray<string> => [...new Set(totals.flatMap((ts) => ts.map((t) => t.currency)))].sort()

export const overviewPage = async (ctx: PageContext): Promise<PageResult> => {
  const { crm, t, locale } = ctx
  const [funnel, pipelines, weighted, forecast, workspaceFloor, today, overdue, stale] = await Promise.all([
    crm.analytics.funnel({}),
    crm.pipelines.list(),
    crm.deals.weightedPipeline({ groupBy: "stage" }),
    crm.deals.forecast({}),
    crm.deals.floorCheck({}),
    crm.tasks.list({ status: "open", due: "today", limit: 50 }),
    crm.tasks.list({ status: "open", due: "overdue", limit: 50 }),
    crm.deals.stale({ limit: 50 })
  ])
  const pipelineName = new Map(pipelines.map((p) => [p.id as string, p.name as string]))
  const stageName = new Map(pipelines.flatMap((p) => p.stages.map((s) => [`${p.id}|${s.key}`, s.label] as const)))

  // --- funnel
  const funnelChart = funnelData(funnel, t("overview.funnel.reached"))
  const funnelBlock =
    funnelChart.labels.length === 0 || funnelChart.datasets[0]!.data.every((n) => n === 0)
      ? section(t("overview.funnel"), empty(t("overview.funnel.empty")), html`data-section="funnel"`)
      : chart("funnel", {
          title: t("overview.funnel"),
          type: "bar",
          axis: "y",
          data: funnelChart,
          table: table(
            t("chart.table"),
            [
              { header: t("col.stage"), cell: (i: number) => funnelChart.labels[i] },
              { header: t("overview.funnel.reached"), cell: (i: number) => formatNumber(funnelChart.datasets[0]!.data[i] ?? 0, locale), numeric: true }
            ],
            funnelChart.labels.map((_, i) => i)
          )
        })

  // --- weighted pipeline per stage, with the floor as a line
  // The floor: the workspace's, else the first pipeline that has one.
  let floorCheck = workspaceFloor
  if (floorCheck.floor === null) {
    for (const p of pipelines) {
      if (p.floor === null) continue
      floorCheck = await crm.deals.floorCheck({ pipelineId: p.id })
      break
    }
  }
  const several = new Set(weighted.groups.map((g) => g.key.pipelineId)).size > 1
  const stageLabels = weighted.groups.map((g) => {
    const name = stageName.get(`${g.key.pipelineId}|${g.key.stage}`) ?? g.key.stage ?? ""
    return several ? `${pipelineName.get(g.key.pipelineId ?? "") ?? ""} · ${name}` : name
  })
  const pipelineCurrencies = currenciesOf(weighted.groups.map((g) => g.totals))
  const floor = floorCheck.floor
  const pipelineChart: ChartData = {
    labels: stageLabels,
    datasets: [
      ...pipelineCurrencies.map((currency) => {
        const minor = weighted.groups.map((g) => g.totals.find((x) => x.currency === currency)?.weighted.amountMinor ?? 0)
        return { type: "bar" as const, label: t("overview.pipeline.weighted", { currency }), currency, minor, data: minor.map((m) => toMajor(m, currency)) }
      }),
      ...(floor === null
        ? []
        : [
            {
              type: "line" as const,
              label: t("overview.pipeline.floor", { currency: floor.currency }),
              currency: floor.currency,
              floor: true,
              minor: stageLabels.map(() => floor.amountMinor),
              data: stageLabels.map(() => toMajor(floor.amountMinor, floor.currency))
            }
          ])
    ]
  }
  const floorLine =
    floor === null
      ? html``
      : floorCheck.below && floorCheck.shortfall !== null
        ? html`<p class="below" data-floor="below">${t("overview.floor.below", { amount: formatMoney(floorCheck.shortfall, locale) })}</p>`
        : html`<p data-floor="above">${t("overview.floor.above", { amount: formatMoney(floor, locale) })}</p>`
  const pipelineBlock =
    weighted.groups.length === 0
      ? section(t("overview.pipeline"), empty(t("overview.pipeline.empty")), html`data-section="pipeline-by-stage"`)
      : chart("pipeline-by-stage", {
          title: t("overview.pipeline"),
          type: "bar",
          data: pipelineChart,
          table: html`${floorLine}${table(
            t("chart.table"),
            [
              { header: t("col.stage"), cell: (i: number) => stageLabels[i] },
              { header: t("col.count"), cell: (i: number) => formatNumber(weighted.groups[i]!.totals.reduce((n, x) => n + x.count, 0), locale), numeric: true },
              { header: t("col.amount"), cell: (i: number) => weighted.groups[i]!.totals.map((x) => formatMoney(x.amount, locale)).join(" · "), numeric: true },
              { header: t("col.weighted"), cell: (i: number) => weighted.groups[i]!.totals.map((x) => formatMoney(x.weighted, locale)).join(" · "), numeric: true }
            ],
            weighted.groups.map((_, i) => i)
          )}`
        })

  // --- forecast
  const forecastCurrencies = currenciesOf([...forecast.months.map((m) => m.totals), forecast.overdue, forecast.undated])
  const forecastChart: ChartData = {
    labels: forecast.months.map((m) => m.month),
    datasets: forecastCurrencies.map((currency) => {
      const minor = forecast.months.map((m) => m.totals.find((x) => x.currency === currency)?.weighted.amountMinor ?? 0)
      return { label: t("overview.pipeline.weighted", { currency }), currency, minor, data: minor.map((m) => toMajor(m, currency)) }
    })
  }
  const hasForecast = forecast.months.some((m) => m.totals.length > 0)
  const money = (totals: ReadonlyArray<Total>) => (totals.length === 0 ? "—" : totals.map((x) => formatMoney(x.weighted, locale)).join(" · "))
  const forecastBlock = !hasForecast
    ? section(t("overview.forecast"), empty(t("overview.forecast.empty")), html`data-section="forecast-by-month"`)
    : chart("forecast-by-month", {
        title: t("overview.forecast"),
        type: "bar",
        data: forecastChart,
        table: html`${table(
          t("chart.table"),
          [
            { header: t("col.month"), cell: (m: (typeof forecast.months)[number]) => formatMonth(m.month, locale) },
            { header: t("col.weighted"), cell: (m: (typeof forecast.months)[number]) => money(m.totals), numeric: true }
          ],
          forecast.months
        )}<p class="note">${t("overview.forecast.overdue")}: ${money(forecast.overdue)} · ${t("overview.forecast.undated")}: ${money(forecast.undated)}</p>`
      })

  // --- tasks and stale deals
  type TaskRow = (typeof today.items)[number]
  const contactLink = (id: string | null, text: string): Html => (id === null ? html`${text}` : html`<a href="${ctx.base}/contacts/${id}">${text}</a>`)
  const taskColumns: ReadonlyArray<Column<TaskRow>> = [
    { header: t("col.task"), cell: (task) => contactLink(task.contactId, task.title) },
    { header: t("col.due"), cell: (task) => formatDate(task.dueAt, locale) },
    { header: t("col.channel"), cell: (task) => t(`channel.${task.channel}`) }
  ]
  const tasksBlock = (title: string, rows: ReadonlyArray<TaskRow>, name: string) =>
    section(title, rows.length === 0 ? empty(t("overview.tasks.empty")) : table(title, taskColumns, rows, html`data-table="${name}"`), html`data-section="${name}"`)
  type StaleRow = (typeof stale.items)[number]
  const staleBlock = section(
    t("overview.stale"),
    stale.items.length === 0
      ? empty(t("overview.stale.empty"))
      : table<StaleRow>(
          t("overview.stale"),
          [
            { header: t("col.deal"), cell: (s) => contactLink(s.deal.contactId, s.deal.title) },
            { header: t("col.stage"), cell: (s) => stageName.get(`${s.deal.pipelineId}|${s.deal.stage}`) ?? s.deal.stage },
            { header: t("col.amount"), cell: (s) => formatMoney(s.deal.amount, locale), numeric: true },
            { header: t("col.idle"), cell: (s) => formatNumber(s.idleDays, locale), numeric: true }
          ],
          stale.items,
          html`data-table="stale-deals"`
        ),
    html`data-section="stale-deals"`
  )

  return page(
    t("overview.h1"),
    "overview",
    html`<div class="grid">${funnelBlock}${pipelineBlock}${forecastBlock}${tasksBlock(t("overview.tasks.today"), today.items, "tasks-today")}${tasksBlock(t("overview.tasks.overdue"), overdue.items, "tasks-overdue")}${staleBlock}</div>`
  )
}
