/**
 * Deals (quotes) and the weighted pipeline. Deals move through their pipeline's stages and end
 * won, lost or cold, each step on the contact's timeline; sending a quote emits `quote.sent`; a
 * follow-up is one call that records the exchange, sends the templated mail and schedules the
 * next task. The weighted totals, forecast and floor check are computed by storage in SQL and
 * finished by the pure {@link Weighting} engine.
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Deal, DealCreate, DealFilter, DealListOptions, DealTransition, DealUpdate, openProbability, QuoteRef } from "../domain/Deal.js"
import { Conflict, ValidationError } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { type ContactId, DealId, EventId, PipelineId, RuleId, TemplateId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import { StageKey } from "../domain/LifecycleDefinition.js"
import { Text } from "../domain/Json.js"
import { format as formatMoney, Money } from "../domain/Money.js"
import * as Page from "../domain/Page.js"
import { outcomeStage, type Pipeline, type PipelineStage } from "../domain/Pipeline.js"
import { Channel, type Task, TaskCreate } from "../domain/Task.js"
import { compile, type RenderContext } from "../domain/Template.js"
import { contactLocale as localeOfContact } from "../domain/TemplateVariables.js"
import { clampInstant, InstantInput, localDateOf } from "../domain/Time.js"
import { Reaction, type TimelineEntry } from "../domain/TimelineEntry.js"
import * as Weighting from "../domain/Weighting.js"
import { toJson } from "../internal/json.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { checkCompany } from "../internal/recording.js"
import { checkFields, claimUniqueValues, compiledFields, getContact, keep } from "../internal/records.js"
import { defaultPipeline, getDeal, getPipeline, getTemplate, logDeal, pipelineLock, stageOf } from "../internal/sales.js"
import { showValue } from "../internal/show.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { headerValue, type MailAttachment, safeMail } from "../ports/Mailer.js"
import { Storage } from "../ports/Storage.js"
import { Events } from "./Events.js"
import { insertTask } from "../internal/tasks.js"
import { newJob, queuedMail } from "../internal/rules.js"
import { JobSignal } from "../internal/signal.js"
import { dealNotice, planWebhooks } from "../internal/webhooks.js"

const decodeDealId = decodeInput(DealId, ["dealId"])

// What a follow-up's mail job names as its rule: it was queued by deals.followUp, not by a rule.
const followUpRule = RuleId.make("deals.followUp")

/**
 * What `deals.weightedPipeline` accepts: what to group by (one dimension or several), which
 * deals, and rates to express everything in one currency.
 *
 * @since 0.2.0
 * @category schemas
 */
export const WeightedPipelineOptions = Schema.Struct({
  groupBy: Schema.optional(Schema.Union(Weighting.Dimension, Schema.Array(Weighting.Dimension))),
  filter: Schema.optional(DealFilter),
  rates: Schema.optional(Weighting.Rates)
})

/**
 * @since 0.2.0
 * @category models
 */
export type WeightedPipelineOptions = typeof WeightedPipelineOptions.Encoded

/**
 * What `deals.forecast` accepts: how many months from the current one (1 to 36, default 6), of
 * open deals matching the filter.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ForecastOptions = Schema.Struct({
  months: Schema.optional(Schema.Int.pipe(Schema.between(1, 36))),
  filter: Schema.optional(DealFilter),
  rates: Schema.optional(Weighting.Rates)
})

/**
 * @since 0.2.0
 * @category models
 */
export type ForecastOptions = typeof ForecastOptions.Encoded

/**
 * What `deals.floorCheck` accepts: a pipeline (its floor), or none (the workspace's floor); which
 * deals count (as in `weightedPipeline`); rates when deals are in other currencies than the floor.
 *
 * @since 0.2.0
 * @category schemas
 */
export const FloorCheckOptions = Schema.Struct({
  pipelineId: Schema.optional(PipelineId),
  filter: Schema.optional(DealFilter),
  rates: Schema.optional(Weighting.Rates)
})

/**
 * @since 0.2.0
 * @category models
 */
export type FloorCheckOptions = typeof FloorCheckOptions.Encoded

/**
 * What `deals.stale` accepts.
 *
 * @since 0.2.0
 * @category schemas
 */
export const StaleOptions = Schema.Struct({
  pipelineId: Schema.optional(PipelineId),
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.2.0
 * @category models
 */
export type StaleOptions = typeof StaleOptions.Encoded

/**
 * What `deals.sendQuote` accepts: the quote's reference (else the deal's), when it was sent.
 *
 * @since 0.2.0
 * @category schemas
 */
export const SendQuoteOptions = Schema.Struct({
  quoteRef: Schema.optional(QuoteRef),
  at: Schema.optional(InstantInput),
  author: Schema.optional(Text(200))
})

/**
 * @since 0.2.0
 * @category models
 */
export type SendQuoteOptions = typeof SendQuoteOptions.Encoded

// What `deals.move` accepts besides the deal and the stage: the pipeline to move it into, if another.
const MoveDealOptions = Schema.Struct({ ...DealTransition.fields, pipelineId: Schema.optional(PipelineId) })

// A locale tag Intl can read: a malformed one ("fr\r\nFR") is refused here, not thrown as a
// RangeError when the mail's amounts are formatted.
const Locale = Text(35).pipe(
  Schema.filter((tag) => {
    try {
      Intl.getCanonicalLocales(tag)
      return true
    } catch {
      return `must be a locale such as fr-FR or en-US, got ${showValue(tag)}`
    }
  })
)

/**
 * A file sent with a follow-up's mail (a quote's PDF): its name (one line), its media type, and its
 * bytes, as a `Uint8Array` or as a base64 string (how JSON, and so the HTTP API, carries them).
 *
 * @since 0.7.0
 * @category schemas
 */
export const FollowUpAttachment = Schema.Struct({
  filename: Text(255).pipe(Schema.filter((name) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name) || "must be one line (no line break or other control character)")),
  contentType: Text(255),
  content: Schema.Union(
    Schema.Uint8ArrayFromSelf,
    Schema.String.pipe(Schema.filter((text) => /^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text) || "must be the file's bytes in base64"))
  ).annotations({ jsonSchema: { type: "string", contentEncoding: "base64", description: "the file's bytes in base64" } })
})

/**
 * What `deals.followUp` accepts. With `templateId` (channel `email`), the rendered mail is sent to
 * the deal's contact, with `attachments` when given (at most 10 MB in all); `next` schedules the
 * next follow-up as a task.
 *
 * @since 0.2.0
 * @category schemas
 */
export const FollowUpInput = Schema.Struct({
  channel: Channel,
  /**
   * Names the follow-up's mail (with `templateId`): a call retried with the same key (after a
   * timeout, say) changes nothing and returns what the first call did. Without it, each call is a
   * new follow-up.
   */
  idempotencyKey: Schema.optional(Text(200).pipe(Schema.minLength(1))),
  templateId: Schema.optional(TemplateId),
  /** Files sent with the mail (a quote's PDF); needs `templateId`. */
  attachments: Schema.optional(Schema.Array(FollowUpAttachment).pipe(Schema.maxItems(20))),
  note: Schema.optional(Text(2000)),
  reaction: Schema.optional(Reaction),
  at: Schema.optional(InstantInput),
  author: Schema.optional(Text(200)),
  /** Locale for amounts in the mail (`fr-FR` gives `1 234,50 €`); English by default. */
  locale: Schema.optional(Locale),
  next: Schema.optional(
    Schema.Struct({
      dueAt: InstantInput,
      title: Schema.optional(Text(300)),
      channel: Schema.optional(Channel),
      ownerId: Schema.optional(Schema.NullOr(Text(200))),
      note: Schema.optional(Schema.NullOr(Text(2000)))
    })
  )
})

/**
 * @since 0.2.0
 * @category models
 */
export type FollowUpInput = typeof FollowUpInput.Encoded

/**
 * What a follow-up did: the timeline entry, the deal (its last activity moved), the mail queued in
 * the outbox (the dispatcher sends it, with retries, carrying `idempotencyKey`) and the next task,
 * when there were ones. A call repeating an earlier one's `idempotencyKey` did nothing
 * (`duplicate`): it returns that call's entry and mail, the deal as it is, and no task.
 *
 * @since 0.2.0
 * @category models
 */
export interface FollowUpResult {
  readonly entry: TimelineEntry
  readonly deal: Deal
  readonly mail: { readonly to: string; readonly subject: string; readonly status: "queued"; readonly jobId: string; readonly idempotencyKey: string } | null
  readonly task: Task | null
  readonly duplicate: boolean
}

/**
 * A page of stale deals, each with how many days it has been idle.
 *
 * @since 0.2.0
 * @category models
 */
export interface StaleDeal {
  readonly deal: Deal
  readonly idleDays: number
}

/**
 * The result of a floor check, with the pipeline it was for (`null`: the whole workspace). When
 * no floor is set, `floor`, `weighted`, `weightedExact` and `shortfall` are `null` and `below` is
 * `false`: there is nothing to fall below (`weightedPipeline` gives the totals).
 *
 * @since 0.7.0
 * @category schemas
 */
export const FloorCheckResult = Schema.Struct({
  floor: Schema.NullOr(Money),
  weighted: Schema.NullOr(Money),
  weightedExact: Schema.NullOr(Schema.String),
  below: Schema.Boolean,
  shortfall: Schema.NullOr(Money),
  pipelineId: Schema.NullOr(PipelineId)
}).annotations({ identifier: "FloorCheckResult" })

/**
 * @since 0.2.0
 * @category models
 */
export interface FloorCheckResult extends Schema.Schema.Type<typeof FloorCheckResult> {}

const StalePosition = Schema.Tuple(Schema.DateTimeUtc, DealId)
const DAY_MS = 86_400_000

const dimensions = (groupBy: Weighting.Dimension | ReadonlyArray<Weighting.Dimension> | undefined): ReadonlyArray<Weighting.Dimension> =>
  groupBy === undefined ? [] : typeof groupBy === "string" ? [groupBy] : [...new Set(groupBy)]

const fromEither = <A>(either: Either.Either<A, ValidationError>) => Either.match(either, { onLeft: Effect.fail, onRight: Effect.succeed })

/** Groups ordered as people read a pipeline: pipelines and stages in their order, then owners and months. */
const groupOrder = (pipelines: ReadonlyArray<Pipeline>) => {
  const pipelineRank = new Map(pipelines.map((p, i) => [p.id as string, i]))
  const stageRank = new Map<string, number>(pipelines.flatMap((p) => p.stages.map((s, i) => [`${p.id}|${s.key}`, i] as const)))
  const text = (s: string | null | undefined) => s ?? "\uffff"
  return (a: Weighting.GroupKey, b: Weighting.GroupKey) =>
    (pipelineRank.get(a.pipelineId ?? "") ?? 0) - (pipelineRank.get(b.pipelineId ?? "") ?? 0) ||
    (stageRank.get(`${a.pipelineId}|${a.stage}`) ?? 0) - (stageRank.get(`${b.pipelineId}|${b.stage}`) ?? 0) ||
    text(a.ownerId).localeCompare(text(b.ownerId)) ||
    text(a.month).localeCompare(text(b.month))
}

/**
 * @since 0.2.0
 * @category services
 */
export class Deals extends Effect.Service<Deals>()("@rapport/core/Deals", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const events = yield* Events
    const signal = yield* JobSignal

    const checkContact = (workspaceId: WorkspaceId, id: ContactId | null | undefined) =>
      id === null || id === undefined
        ? Effect.void
        : Effect.zipRight(
            contactLock(storage, workspaceId, id, "shared"),
            Effect.catchTag(getContact(storage, workspaceId, id), "NotFound", () =>
              Effect.fail(ValidationError.at(["contactId"], `no contact with id "${id}" in this workspace`))
            )
          )

    /** Creates a deal in a pipeline stage (by default the first open stage of the first pipeline). */
    const create = Effect.fn("Deals.create")(function* (input: DealCreate) {
      const data = yield* decodeInput(DealCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const pipeline =
            data.pipelineId === undefined
              ? yield* defaultPipeline(storage, workspace.id)
              : yield* Effect.catchTag(getPipeline(storage, workspace.id, data.pipelineId), "NotFound", () =>
                  Effect.fail(ValidationError.at(["pipelineId"], `no pipeline with id "${data.pipelineId}" in this workspace`))
                )
          yield* pipelineLock(storage, workspace.id, pipeline.id, "shared")
          const stage = data.stage === undefined ? pipeline.stages.find((s) => s.outcome === "open")! : yield* stageOf(pipeline, data.stage)
          yield* checkContact(workspace.id, data.contactId)
          yield* checkCompany(storage, workspace.id, data.companyId)
          const compiled = yield* compiledFields(storage, workspace, "deal")
          const values = yield* checkFields(compiled, applyPatch({}, data.fields ?? {}), undefined)
          const now = yield* DateTime.now
          const status = stage.outcome
          const deal = new Deal({
            id: DealId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            pipelineId: pipeline.id,
            stage: stage.key,
            title: data.title,
            amount: data.amount,
            contactId: data.contactId ?? null,
            companyId: data.companyId ?? null,
            status,
            stageProbability: stage.probability,
            override: data.probability ?? null,
            expectedCloseDate: data.expectedCloseDate ?? null,
            ownerId: data.ownerId ?? null,
            quoteRef: data.quoteRef ?? null,
            closeReason: null,
            fields: values,
            lastActivityAt: now,
            closedAt: status === "open" ? null : now,
            version: 1,
            createdAt: now,
            updatedAt: now
          })
          yield* storage.deals.insert(deal)
          yield* claimUniqueValues(storage, workspace.id, "deal", compiled, deal.id, {}, values)
          yield* logDeal(storage, deal, {
            summary: `Deal "${deal.title}" created in ${stage.label} (${formatMoney(deal.amount)})`,
            at: now,
            author: null,
            payload: { to: stage.key, status }
          })
          return deal
        })
      )
    })

    /** The deal, or `NotFound`. */
    const get = Effect.fn("Deals.get")(function* (dealId: string) {
      const id = yield* decodeDealId(dealId)
      return yield* getDeal(storage, (yield* readWorkspace(storage)).id, id)
    })

    /** Reads the deal to change, in a transaction that holds its pipeline; checks the version. */
    const changing = <A, E, R>(
      id: DealId,
      expectedVersion: number | undefined,
      body: (current: Deal, pipeline: Pipeline, now: DateTime.Utc) => Effect.Effect<A, E, R>
    ) =>
      storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          const first = yield* getDeal(storage, workspaceId, id)
          yield* pipelineLock(storage, workspaceId, first.pipelineId, "shared")
          // Read again under the pipeline lock: the deal may have been re-weighted meanwhile.
          const current = yield* getDeal(storage, workspaceId, id)
          if (expectedVersion !== undefined && expectedVersion !== current.version) {
            return yield* Conflict.version("deal", id, expectedVersion, current.version)
          }
          const pipeline = yield* getPipeline(storage, workspaceId, current.pipelineId)
          return yield* body(current, pipeline, yield* DateTime.now)
        })
      )

    /** Changes a deal's title, amount, parties, probability override, close date, owner, reference or fields. */
    const update = Effect.fn("Deals.update")(function* (dealId: string, input: DealUpdate) {
      const id = yield* decodeDealId(dealId)
      const data = yield* decodeInput(DealUpdate)(input)
      return yield* changing(id, data.expectedVersion, (current, _pipeline, now) =>
        Effect.gen(function* () {
          const workspace = yield* readWorkspace(storage)
          const contactId = keep(data.contactId, current.contactId)
          const companyId = keep(data.companyId, current.companyId)
          if (contactId === null && companyId === null) {
            return yield* ValidationError.at(["contactId"], "a deal needs a contactId, a companyId or both")
          }
          if (contactId !== current.contactId) yield* checkContact(workspace.id, contactId)
          if (companyId !== current.companyId) yield* checkCompany(storage, workspace.id, companyId)
          const compiled = yield* compiledFields(storage, workspace, "deal")
          const values = yield* checkFields(
            compiled,
            data.fields === undefined ? current.fields : applyPatch(current.fields, data.fields),
            undefined
          )
          const next = new Deal({
            ...current,
            title: keep(data.title, current.title),
            amount: keep(data.amount, current.amount),
            contactId,
            companyId,
            override: keep(data.probability, current.override),
            expectedCloseDate: keep(data.expectedCloseDate, current.expectedCloseDate),
            ownerId: keep(data.ownerId, current.ownerId),
            quoteRef: keep(data.quoteRef, current.quoteRef),
            fields: values,
            lastActivityAt: now,
            version: current.version + 1,
            updatedAt: now
          })
          yield* storage.deals.update(next, current.version)
          yield* claimUniqueValues(storage, workspace.id, "deal", compiled, id, current.fields, values)
          if (next.override?.probability !== current.override?.probability) {
            yield* logDeal(storage, next, {
              summary:
                next.override === null
                  ? `Deal "${next.title}" weighted back to its stage's ${next.stageProbability}%`
                  : `Deal "${next.title}" weighted at ${next.override.probability}%: ${next.override.reason}`,
              at: now,
              author: null,
              payload: { probability: openProbability(next) }
            })
          }
          return next
        })
      )
    })

    /** Moves the deal to a stage (of its pipeline, or of `pipelineId`); the stage's outcome sets its status. */
    const transition = (
      dealId: string,
      data: typeof DealTransition.Type,
      target: (pipeline: Pipeline, current: Deal) => Effect.Effect<PipelineStage, ValidationError>,
      extra: { readonly status?: Deal["status"]; readonly pipelineId?: PipelineId } = {}
    ) =>
      Effect.gen(function* () {
        const id = yield* decodeDealId(dealId)
        return yield* changing(id, data.expectedVersion, (current, pipeline, now) =>
          Effect.gen(function* () {
            const workspaceId = current.workspaceId
            let into = pipeline
            if (extra.pipelineId !== undefined && extra.pipelineId !== pipeline.id) {
              const otherId = extra.pipelineId
              yield* pipelineLock(storage, workspaceId, otherId, "shared")
              into = yield* Effect.catchTag(getPipeline(storage, workspaceId, otherId), "NotFound", () =>
                Effect.fail(ValidationError.at(["pipelineId"], `no pipeline with id "${otherId}" in this workspace`))
              )
            }
            const stage = yield* target(into, current)
            const status = extra.status ?? stage.outcome
            const at = data.at ?? now
            const from = pipeline.stages.find((s) => s.key === current.stage)?.label ?? current.stage
            const next = new Deal({
              ...current,
              pipelineId: into.id,
              stage: stage.key,
              status,
              stageProbability: stage.probability,
              closeReason: status === "lost" || status === "cold" ? (data.reason ?? null) : null,
              closedAt: status === "open" ? null : at,
              lastActivityAt: now,
              version: current.version + 1,
              updatedAt: now
            })
            yield* storage.deals.update(next, current.version)
            // Subscribers of deal.won / deal.lost hear of it, in the same transaction (the outbox).
            if (status !== current.status && (status === "won" || status === "lost")) {
              if ((yield* planWebhooks(storage, workspaceId, () => [dealNotice(next, status, at)])) > 0) yield* storage.afterCommit(signal.notify)
            }
            const verb =
              status === "won"
                ? `won (${formatMoney(next.amount)})`
                : status === "lost"
                  ? "lost"
                  : status === "cold"
                    ? "went cold"
                    : current.status !== "open"
                      ? `reopened in ${stage.label}`
                      : `moved from ${from} to ${stage.label}`
            yield* logDeal(storage, next, {
              summary: `Deal "${next.title}" ${verb}${data.reason === undefined ? "" : `: ${data.reason}`}`,
              at,
              author: data.author ?? null,
              payload: {
                from: current.stage,
                to: stage.key,
                status,
                ...(data.note === undefined ? {} : { note: data.note }),
                ...(data.reason === undefined ? {} : { reason: data.reason })
              }
            })
            return next
          })
        )
      })

    /** Moves the deal to another stage of its pipeline (or of `options.pipelineId`). */
    const move = Effect.fn("Deals.move")(function* (dealId: string, stage: string, options: DealTransition & { readonly pipelineId?: string } = {}) {
      const key = yield* decodeInput(StageKey, ["stage"])(stage)
      const { pipelineId, ...data } = yield* decodeInput(MoveDealOptions)(options)
      return yield* transition(dealId, data, (p) => stageOf(p, key), pipelineId === undefined ? {} : { pipelineId })
    })

    /** Marks the deal won: it moves to its pipeline's won stage and counts 100%. */
    const win = Effect.fn("Deals.win")(function* (dealId: string, options: DealTransition = {}) {
      return yield* transition(dealId, yield* decodeInput(DealTransition)(options), (p) => Effect.succeed(outcomeStage(p, "won")))
    })

    /** Marks the deal lost (with the reason): it moves to its pipeline's lost stage and counts 0%. */
    const lose = Effect.fn("Deals.lose")(function* (dealId: string, options: DealTransition = {}) {
      return yield* transition(dealId, yield* decodeInput(DealTransition)(options), (p) => Effect.succeed(outcomeStage(p, "lost")))
    })

    /** Marks the deal cold: it stays in its stage and counts with the workspace's cold probability. */
    const markCold = Effect.fn("Deals.markCold")(function* (dealId: string, options: DealTransition = {}) {
      return yield* transition(dealId, yield* decodeInput(DealTransition)(options), (p, current) => stageOf(p, current.stage), { status: "cold" })
    })

    /** Deletes a deal and its unique field values (its timeline entries stay: they are history). */
    const remove = Effect.fn("Deals.remove")(function* (dealId: string) {
      const id = yield* decodeDealId(dealId)
      yield* changing(id, undefined, (current) =>
        Effect.gen(function* () {
          yield* storage.uniqueValues.releaseRecord(current.workspaceId, "deal", id)
          yield* storage.deals.remove(current.workspaceId, id)
        })
      )
    })

    /** Deals in creation order, a page at a time, filtered. */
    const list = Effect.fn("Deals.list")(function* (options: DealListOptions = {}) {
      const { cursor, limit: requested, ...filter } = yield* decodeInput(DealListOptions)(options)
      const limit = requested ?? Page.defaultLimit
      const after = cursor === undefined ? undefined : yield* Page.decodeIdCursor(cursor, "deals.list")
      const rows = yield* storage.deals.list((yield* readWorkspace(storage)).id, { ...filter, after, limit: limit + 1 })
      return Page.fromRows(rows, limit, (d) => [d.id])
    })

    /**
     * Records that the quote was sent: emits `quote.sent` for the deal's contact (so lifecycle
     * progression sees it; its id makes sending the same quote twice count once) and marks activity.
     */
    const sendQuote = Effect.fn("Deals.sendQuote")(function* (dealId: string, options: SendQuoteOptions = {}) {
      const id = yield* decodeDealId(dealId)
      const data = yield* decodeInput(SendQuoteOptions)(options)
      return yield* changing(id, undefined, (current, _pipeline, now) =>
        Effect.gen(function* () {
          if (current.contactId === null) {
            return yield* ValidationError.at(["dealId"], `deal "${current.title}" has no contact to send a quote to; set its contactId first`)
          }
          const quoteRef = data.quoteRef ?? current.quoteRef
          const next = new Deal({ ...current, quoteRef, lastActivityAt: now, version: current.version + 1, updatedAt: now })
          yield* storage.deals.update(next, current.version)
          const emitted = yield* events.emit({
            id: `quote.sent:${current.id}:${quoteRef ?? "-"}`,
            type: "quote.sent",
            contactId: current.contactId,
            occurredAt: data.at ?? now,
            payload: {
              dealId: current.id,
              amount: { amountMinor: current.amount.amountMinor, currency: current.amount.currency },
              ...(quoteRef === null ? {} : { quoteRef })
            }
          })
          return { deal: next, event: emitted }
        })
      )
    })

    /** The values a follow-up mail's placeholders read. */
    const mailContext = (deal: Deal, pipeline: Pipeline, locale: string | undefined) =>
      Effect.gen(function* () {
        const workspace = yield* readWorkspace(storage)
        const contact = yield* getContact(storage, deal.workspaceId, deal.contactId!)
        const company = deal.companyId ?? contact.companyId
        const companyRecord = company === null ? Option.none() : yield* storage.companies.get(deal.workspaceId, company)
        // The contact's locale (the call's, else its own) and timezone, for `money`, `date` and the locale's variant.
        const contactLocale = locale ?? localeOfContact(contact.fields, workspace.country)
        return {
          contact,
          context: {
            contact: { ...contact, fields: contact.fields, locale: contactLocale, timezone: contact.timezone ?? workspace.timezone },
            company: Option.getOrNull(companyRecord),
            deal: {
              ...deal,
              amount: formatMoney(deal.amount, contactLocale),
              amountMinor: deal.amount.amountMinor,
              currency: deal.amount.currency,
              stageLabel: pipeline.stages.find((s) => s.key === deal.stage)?.label ?? deal.stage
            },
            workspace: { name: workspace.name, timezone: workspace.timezone }
          }
        }
      })

    /**
     * Follows a deal up in one call: records the date, channel, note and the prospect's reaction on
     * the contact's timeline, marks the deal active, schedules `next` as a task, and with a template
     * queues the rendered mail (values HTML-escaped, the quote reference in the subject and in an
     * `X-Rapport-Quote-Ref` header, every header on one line) in the outbox, all in one
     * transaction: the dispatcher sends it like every other mail, retried with backoff. The mail's
     * idempotency key derives from `idempotencyKey` when given (a retried call is then a no-op),
     * else from the timeline entry's id.
     */
    const followUp = Effect.fn("Deals.followUp")(function* (dealId: string, input: FollowUpInput) {
      const id = yield* decodeDealId(dealId)
      const data = yield* decodeInput(FollowUpInput)(input)
      if (data.templateId !== undefined && data.channel !== "email") {
        return yield* ValidationError.at(["templateId"], `a template is sent by email: use channel "email", not "${data.channel}"`)
      }
      if (data.idempotencyKey !== undefined && data.templateId === undefined) {
        return yield* ValidationError.at(["idempotencyKey"], "names the follow-up's mail: give it with templateId")
      }
      if (data.attachments !== undefined && data.attachments.length > 0 && data.templateId === undefined) {
        return yield* ValidationError.at(["attachments"], "are sent with the follow-up's mail: give them with templateId")
      }
      const attachments: Array<MailAttachment> = []
      for (const [i, a] of (data.attachments ?? []).entries()) {
        const content = typeof a.content === "string" ? Encoding.decodeBase64(a.content.replace(/\s+/g, "")) : Either.right(a.content)
        if (Either.isLeft(content)) return yield* ValidationError.at(["attachments", i, "content"], "must be the file's bytes in base64")
        attachments.push({ filename: a.filename, contentType: a.contentType, content: content.right })
      }
      const entryId = TimelineEntryId.make(yield* (yield* IdGenerator).next)
      return yield* changing(id, undefined, (current, pipeline, now) =>
        Effect.gen(function* () {
          const workspaceId = current.workspaceId
          if (current.contactId === null) {
            return yield* ValidationError.at(["dealId"], `deal "${current.title}" has no contact to follow up with; set its contactId first`)
          }
          const jobKey = `${workspaceId}/deals.followUp/${current.id}/${data.idempotencyKey ?? entryId}`
          if (data.idempotencyKey !== undefined) {
            // Two calls with one key run one after the other: the second finds the first's job.
            yield* storage.lock(workspaceId, `followUp:${jobKey}`, "exclusive")
            const earlier = yield* storage.jobs.getByKey(workspaceId, jobKey)
            if (Option.isSome(earlier) && earlier.value.action?.type === "mail") {
              const queued = earlier.value.action
              const entry = queued.entryId === null ? Option.none() : yield* storage.timeline.get(workspaceId, TimelineEntryId.make(queued.entryId))
              if (Option.isSome(entry)) {
                return {
                  entry: entry.value,
                  deal: current,
                  mail: { to: queued.to, subject: queued.subject, status: "queued", jobId: earlier.value.id, idempotencyKey: jobKey },
                  task: null,
                  duplicate: true
                } satisfies FollowUpResult
              }
            }
          }
          let mail: FollowUpResult["mail"] = null
          if (data.templateId !== undefined) {
            const template = yield* getTemplate(storage, workspaceId, data.templateId)
            const { contact, context } = yield* mailContext(current, pipeline, data.locale)
            if (contact.email === null) {
              return yield* ValidationError.at(["templateId"], `the deal's contact has no email address to send "${template.name}" to`)
            }
            const variants = (yield* storage.templateLocales.list(workspaceId, template.id)).map((v) => ({ locale: v.locale, content: v }))
            const compiled = yield* fromEither(Either.mapLeft(compile(template, variants), (issues) => ValidationError.fromIssues(issues, "Invalid template")))
            // Placeholders read plain values: instants as ISO strings, like the Promise client's JSON.
            const rendered = compiled.render(toJson(context) as RenderContext)
            // A reference stored before references had to be one line is put on one line here too.
            const quoteRef = current.quoteRef === null ? null : headerValue(current.quoteRef)
            const subject = quoteRef === null || quoteRef === "" || rendered.subject.includes(quoteRef) ? rendered.subject : `${rendered.subject} [${quoteRef}]`
            // Checked now, so that a mail that could never be sent fails the call instead of the job.
            const outgoing = yield* safeMail({
              to: contact.email,
              subject,
              ...(rendered.html === null ? {} : { html: rendered.html }),
              ...(rendered.text === null ? {} : { text: rendered.text }),
              headers: quoteRef === null ? {} : { "X-Rapport-Quote-Ref": quoteRef },
              ...(attachments.length === 0 ? {} : { attachments }),
              idempotencyKey: jobKey
            })
            const job = yield* newJob(workspaceId, {
              idempotencyKey: jobKey,
              kind: "action",
              ruleId: followUpRule,
              eventId: EventId.make(`followUp:${entryId}`),
              contactId: contact.id,
              variant: null,
              action: queuedMail(outgoing, entryId, data.author ?? null),
              actionIndex: 0,
              category: "transactional",
              dueAt: now
            })
            yield* storage.jobs.insertMany([job])
            yield* storage.afterCommit(signal.notify)
            mail = { to: outgoing.to, subject: outgoing.subject, status: "queued", jobId: job.id, idempotencyKey: jobKey }
          }
          const at = data.at ?? now
          const next = new Deal({ ...current, lastActivityAt: now, version: current.version + 1, updatedAt: now })
          yield* storage.deals.update(next, current.version)
          const summary = data.note ?? (mail === null ? `Follow-up by ${data.channel}` : `Follow-up email: ${mail.subject}`)
          const entry = yield* logDeal(storage, next, {
            id: entryId,
            kind: "followUp",
            summary,
            at,
            author: data.author ?? null,
            channel: data.channel,
            reaction: data.reaction ?? null,
            payload: {
              ...(current.quoteRef === null ? {} : { quoteRef: current.quoteRef }),
              ...(data.templateId === undefined ? {} : { templateId: data.templateId }),
              ...(mail === null ? {} : { mail })
            }
          })
          const task =
            data.next === undefined
              ? null
              : yield* insertTask(
                  storage,
                  current.workspaceId,
                  yield* decodeInput(TaskCreate, ["next"])({
                    title: data.next.title ?? `Follow up "${current.title}"`,
                    dueAt: data.next.dueAt,
                    channel: data.next.channel ?? data.channel,
                    ownerId: data.next.ownerId === undefined ? current.ownerId : data.next.ownerId,
                    dealId: current.id,
                    contactId: current.contactId,
                    note: data.next.note ?? null
                  }),
                  ["next"]
                )
          return { entry: Option.getOrThrow(entry), deal: next, mail, task, duplicate: false } satisfies FollowUpResult
        })
      )
    })

    // Storage aggregates per status; the weights (cold deals' among them) are applied here.
    const sums = (workspaceId: WorkspaceId, groupBy: ReadonlyArray<Weighting.Dimension>, filter: DealFilter, coldProbability: number) =>
      Effect.map(storage.deals.sums(workspaceId, { groupBy, filter }), (rows) => Weighting.weigh(rows, coldProbability))

    /**
     * The weighted pipeline: Σ amount × probability per group (`pipeline`, `stage`, `owner`,
     * `month`, or several) and overall, per currency unless `rates` are given. Won deals count
     * 100%, lost 0%, cold the workspace's cold probability.
     */
    const weightedPipeline = Effect.fn("Deals.weightedPipeline")(function* (options: WeightedPipelineOptions = {}) {
      const query = yield* decodeInput(WeightedPipelineOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const groupBy = dimensions(query.groupBy)
      const rows = yield* sums(workspace.id, groupBy, query.filter ?? {}, workspace.sales.coldProbability)
      // Only groups by pipeline or stage need the pipelines' order.
      const order =
        groupBy.includes("pipeline") || groupBy.includes("stage") ? groupOrder(yield* storage.pipelines.list(workspace.id)) : undefined
      return yield* fromEither(Weighting.summarize(rows, groupBy, { rates: query.rates, order }))
    })

    /** Open deals' weighted value per expected-close month, from the current month (workspace time). */
    const forecast = Effect.fn("Deals.forecast")(function* (options: ForecastOptions = {}) {
      const query = yield* decodeInput(ForecastOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const rows = yield* sums(workspace.id, ["month"], { ...query.filter, statuses: ["open"] }, workspace.sales.coldProbability)
      const firstMonth = localDateOf(yield* DateTime.now, workspace.timezone).slice(0, 7)
      return yield* fromEither(Weighting.forecast(rows, firstMonth, query.months ?? 6, query.rates))
    })

    /**
     * Whether the weighted total (of a pipeline, or of the workspace) is below its floor, and by
     * how much. Without a floor, answers `floor: null` (and `below: false`).
     */
    const floorCheck = Effect.fn("Deals.floorCheck")(function* (options: FloorCheckOptions = {}) {
      const query = yield* decodeInput(FloorCheckOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const pipeline = query.pipelineId === undefined ? undefined : yield* getPipeline(storage, workspace.id, query.pipelineId)
      const floor = pipeline === undefined ? workspace.sales.floor : pipeline.floor
      if (floor === null) {
        return {
          floor: null,
          weighted: null,
          weightedExact: null,
          below: false,
          shortfall: null,
          pipelineId: pipeline?.id ?? null
        } satisfies FloorCheckResult
      }
      const filter = { ...query.filter, ...(pipeline === undefined ? {} : { pipelineId: pipeline.id }) }
      const rows = yield* sums(workspace.id, [], filter, workspace.sales.coldProbability)
      const totals = yield* fromEither(Weighting.summarize(rows, [], { rates: query.rates }))
      const check = yield* fromEither(Weighting.checkFloor(floor, totals.totals))
      return { ...check, pipelineId: pipeline?.id ?? null } satisfies FloorCheckResult
    })

    /** Open deals with no activity for longer than their stage allows, stalest first. */
    const stale = Effect.fn("Deals.stale")(function* (options: StaleOptions = {}) {
      const query = yield* decodeInput(StaleOptions)(options)
      const workspace = yield* readWorkspace(storage)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(StalePosition, query.cursor, "deals.stale")
      const now = yield* DateTime.now
      const pipelines = (yield* storage.pipelines.list(workspace.id)).filter((p) => query.pipelineId === undefined || p.id === query.pipelineId)
      const thresholds = pipelines.flatMap((p) =>
        p.stages
          .filter((s) => s.outcome === "open")
          .map((s) => ({ pipelineId: p.id, stage: s.key, before: clampInstant(DateTime.subtract(now, { days: s.staleAfterDays ?? workspace.sales.staleAfterDays })) }))
      )
      const rows = yield* storage.deals.stale(workspace.id, {
        thresholds,
        after: after === undefined ? undefined : { lastActivityAt: after[0], id: after[1] },
        limit: limit + 1
      })
      const page = Page.fromRows(rows, limit, (d) => [DateTime.formatIso(d.lastActivityAt), d.id])
      return {
        items: page.items.map((deal): StaleDeal => ({
          deal,
          idleDays: Math.floor((DateTime.toEpochMillis(now) - DateTime.toEpochMillis(deal.lastActivityAt)) / DAY_MS)
        })),
        nextCursor: page.nextCursor
      } satisfies Page.Page<StaleDeal>
    })

    return {
      /** Creates a deal (quote). */
      create,
      /** The deal, or a `RapportNotFoundError`. */
      get,
      /** Changes a deal; `expectedVersion` is the version you read. */
      update,
      /** Moves a deal to a stage of its pipeline (or of `options.pipelineId`). */
      move,
      /** Marks a deal won. */
      win,
      /** Marks a deal lost, with `reason`. */
      lose,
      /** Marks a deal cold. */
      markCold,
      /** Deletes a deal. */
      remove,
      /** Deals in creation order, filtered, a page at a time. */
      list,
      /** Records that the quote was sent (emits `quote.sent`). */
      sendQuote,
      /** Records a follow-up, queues its templated mail (the dispatcher sends it), schedules the next one. */
      followUp,
      /** Weighted totals per group and overall. */
      weightedPipeline,
      /** Open deals' weighted value per expected-close month. */
      forecast,
      /** Whether the weighted total is below the floor, and by how much. */
      floorCheck,
      /** Open deals idle for longer than their stage allows, stalest first. */
      stale
    } as const
  }),
  dependencies: [Events.Default, JobSignal.Default]
}) {}
