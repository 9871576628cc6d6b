// The figures a sales manager watches, and the weekly report that mails them: the open quotes
// weighted by their probability, stage by stage, against the floor. The report is recorded as an
// event on the manager's contact; the declared rule sends it through the outbox like every mail.
import type { CrmClient } from "@rapport/core"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { CURRENCY, MANAGER_TAG, PIPELINE_NAME, WEEKLY_REPORT_EVENT } from "./declaration.js"

type Money = { readonly amountMinor: number; readonly currency: string }

/** The open quotes of the pipeline, per stage and in all, against the floor. */
export interface PipelineFigures {
  readonly pipelineId: string
  readonly stages: ReadonlyArray<{ readonly key: string; readonly label: string; readonly probability: number; readonly count: number; readonly amount: Money; readonly weighted: Money }>
  readonly count: number
  readonly amount: Money
  readonly weighted: Money
  readonly floor: Money | null
  readonly below: boolean
  readonly shortfall: Money | null
}

const zero: Money = { amountMinor: 0, currency: CURRENCY }

/** The quotes pipeline (declared by `crm.setup`). */
export const quotesPipeline = async (crm: CrmClient) => {
  const pipeline = (await crm.pipelines.list()).find((p) => p.name === PIPELINE_NAME)
  if (pipeline === undefined) throw new Error(`the "${PIPELINE_NAME}" pipeline is missing: crm.setup(declaration) creates it`)
  return pipeline
}

/** Weighted pipeline of the open quotes, per stage (every open stage listed, empty ones at 0), and the floor check. */
export const pipelineFigures = async (crm: CrmClient): Promise<PipelineFigures> => {
  const pipeline = await quotesPipeline(crm)
  const filter = { pipelineId: pipeline.id, statuses: ["open" as const] }
  const [byStage, floor] = await Promise.all([
    crm.deals.weightedPipeline({ groupBy: "stage", filter }),
    crm.deals.floorCheck({ pipelineId: pipeline.id, filter })
  ])
  const totalOf = (totals: ReadonlyArray<{ currency: string; count: number; amount: Money; weighted: Money }>) =>
    totals.find((t) => t.currency === CURRENCY) ?? { currency: CURRENCY, count: 0, amount: zero, weighted: zero }
  const stages = pipeline.stages
    .filter((s) => s.outcome === "open")
    .map((s) => {
      const group = byStage.groups.find((g) => g.key.stage === s.key)
      const total = totalOf(group?.totals ?? [])
      return { key: s.key, label: s.label, probability: s.probability, count: total.count, amount: total.amount, weighted: total.weighted }
    })
  const overall = totalOf(byStage.totals)
  return {
    pipelineId: pipeline.id,
    stages,
    count: overall.count,
    amount: overall.amount,
    weighted: floor.weighted ?? overall.weighted,
    floor: floor.floor,
    below: floor.below,
    shortfall: floor.shortfall
  }
}

/** Now, on the CRM's clock (a virtual one in tests). */
export const crmNow = (crm: CrmClient): Promise<number> => crm.run(Clock.currentTimeMillis)

/** The local calendar date and ISO week ("2026-W50") of an instant in a timezone. */
export const isoWeekOf = (epochMs: number, timeZone: string): string => {
  const local = DateTime.toParts(DateTime.unsafeMakeZoned(epochMs, { timeZone }))
  // ISO weeks belong to the year of their Thursday.
  const date = new Date(Date.UTC(local.year, local.month - 1, local.day))
  const weekday = (date.getUTCDay() + 6) % 7
  date.setUTCDate(date.getUTCDate() - weekday + 3)
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4))
  const week = 1 + Math.round(((date.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7)
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, "0")}`
}

/** The next Monday 08:00 in the timezone, strictly after `epochMs`. */
export const nextReportAt = (epochMs: number, timeZone: string): number => {
  const local = DateTime.toParts(DateTime.unsafeMakeZoned(epochMs, { timeZone }))
  for (let days = 0; days <= 7; days++) {
    const day = new Date(Date.UTC(local.year, local.month - 1, local.day + days))
    if (day.getUTCDay() !== 1) continue
    const at = DateTime.unsafeMakeZoned(
      { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hours: 8 },
      { timeZone, adjustForTimeZone: true }
    )
    const ms = DateTime.toEpochMillis(at)
    if (ms > epochMs) return ms
  }
  throw new Error("unreachable: a Monday comes within eight days")
}

/** What sending a report did. */
export interface ReportSent {
  readonly week: string
  readonly figures: PipelineFigures
  /** One event per sales manager; `duplicate` when this week's report was already recorded for them. */
  readonly recipients: ReadonlyArray<{ readonly contactId: string; readonly email: string | null; readonly eventId: string; readonly duplicate: boolean }>
}

/**
 * Records the weekly report for every sales manager (contacts tagged {@link MANAGER_TAG}); the
 * declared rule mails it. `id` names the report: the scheduled one is `<week>`, so that two
 * instances, or a restart, never send one week twice.
 */
export const sendWeeklyReport = async (crm: CrmClient, options: { readonly id?: string } = {}): Promise<ReportSent> => {
  const now = await crmNow(crm)
  const { timezone } = await crm.settings.get()
  const week = isoWeekOf(now, timezone)
  const figures = await pipelineFigures(crm)
  const managers = (await crm.contacts.list({ tag: MANAGER_TAG, limit: 50 })).items
  const recipients = []
  for (const manager of managers) {
    const eventId = `weekly-report:${options.id ?? week}:${manager.id}`
    const result = await crm.events.emit({
      id: eventId,
      type: WEEKLY_REPORT_EVENT,
      contactId: manager.id,
      occurredAt: new Date(now).toISOString(),
      payload: {
        week,
        count: figures.count,
        amount: figures.amount,
        weighted: figures.weighted,
        floor: figures.floor ?? zero,
        below: figures.below,
        shortfall: figures.shortfall ?? zero,
        stages: figures.stages.map((s) => ({ label: s.label, probability: s.probability, count: s.count, amount: s.amount, weighted: s.weighted }))
      }
    })
    recipients.push({ contactId: manager.id, email: manager.email, eventId, duplicate: result.duplicate })
  }
  return { week, figures, recipients }
}

/** The weekly report's schedule, running on the CRM's clock. */
export interface ReportSchedule {
  stop(): Promise<void>
}

/**
 * Sends the report every Monday at 08:00 in the workspace's timezone. It sleeps on the clock the
 * CRM runs on, so a test moving a virtual clock to Monday morning gets the report.
 */
export const scheduleWeeklyReport = (crm: CrmClient, clock: Clock.Clock | undefined, log: (line: string) => void): ReportSchedule => {
  const once = Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const { timezone } = yield* Effect.promise(() => crm.settings.get())
    const at = nextReportAt(start, timezone)
    // Sleeps are relative: read the time again before each, so that time moving on meanwhile (a
    // virtual clock set forward, a machine waking up) shortens the wait instead of adding to it.
    for (let now = yield* Clock.currentTimeMillis; now < at; now = yield* Clock.currentTimeMillis) {
      yield* Effect.sleep(Duration.millis(at - now))
    }
    const sent = yield* Effect.promise(() => sendWeeklyReport(crm))
    log(`[report] week ${sent.week}: weighted ${sent.figures.weighted.amountMinor / 100} ${sent.figures.weighted.currency}, ${sent.recipients.length} recipient(s)`)
  }).pipe(
    // A failed week (the database away) is logged; the schedule goes on, retrying in a minute.
    Effect.catchAllCause((cause) => Effect.zipRight(Effect.sync(() => log(`[report] failed: ${String(cause)}`)), Effect.sleep(Duration.minutes(1))))
  )
  const program = Effect.forever(once)
  const fiber = Effect.runFork(clock === undefined ? program : Effect.withClock(program, clock))
  return { stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
}
