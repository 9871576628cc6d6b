/**
 * The Dispatcher runs the outbox: it claims due jobs (several app instances share the work: a job
 * is held by one claim at a time, for a lease), re-checks a delayed rule's conditions on the
 * contact as it is then, runs each action, and records what happened. Failures are retried with
 * exponential backoff and dead-lettered after `maxAttempts`.
 *
 * Nothing is lost or done twice: a job's database writes and its completion are one transaction;
 * a mail is sent with the job's idempotency key before the job is marked done, so a dispatcher that
 * dies in between leaves the job to be claimed again once its lease ends, and the provider
 * recognises the key.
 *
 * Start it as a fiber (`Dispatcher.start`, scoped) in a long-running app, or call `runDue` from a
 * cron or serverless function.
 *
 * @since 0.3.0
 */
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { allows, defaultPurpose } from "../domain/Consent.js"
import { emailKey } from "../domain/Email.js"
import { compile as compileCondition, type Condition, type Context as ConditionContext, explain } from "../domain/Condition.js"
import { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import { InvalidTransition, NotFound, ValidationError } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { JobId, TimelineEntryId, WebhookDeliveryId, type WorkspaceId, WorkspaceId as WorkspaceIdSchema } from "../domain/Ids.js"
import { SafeString } from "../domain/Json.js"
import { type CampaignFanOut, Job, type JobStatus, JobStatus as JobStatusSchema, type QueuedMail, type WebhookMessage } from "../domain/Job.js"
import { indexOf } from "../domain/LifecycleDefinition.js"
import * as Page from "../domain/Page.js"
import { type Action, type CompiledRule, variantFor } from "../domain/Rule.js"
import { dueAt as delayEnd, durationMillis } from "../domain/Schedule.js"
import { compile as compileTemplate, type Template } from "../domain/Template.js"
import { type RuleChangePayload, TimelineEntry } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import { toJson } from "../internal/json.js"
import { makeCompiledTemplates, renderContext as mailContext } from "../internal/templateMail.js"
import { moveTo, saveContact } from "../internal/lifecycle.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { checkFields, compiledFields, orNotFound } from "../internal/records.js"
import { compiledRule, contextFor, fire, limitsAllow, rulesChanged, rulesFor, timezoneOf } from "../internal/rules.js"
import { JobSignal } from "../internal/signal.js"
import { makeDaily } from "../internal/snapshots.js"
import { insertTask } from "../internal/tasks.js"
import { isMailtoAddress, listUnsubscribe, makeToken, unsubscribeUrl } from "../internal/unsubscribe.js"
import { decodeInput } from "../internal/validation.js"
import { CurrentWorkspace, readWorkspace, withWorkspace } from "../internal/workspace.js"
import { ActionFailure, CustomActions } from "../ports/CustomActions.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { type MailAttachment, Mailer, MailerError, MailSettings, type OutgoingMail, safeMail } from "../ports/Mailer.js"
import { Storage } from "../ports/Storage.js"
import { clampInstant } from "../domain/Time.js"
import { backoffMillis, type DispatchSettings, dispatchSettings } from "../internal/dispatchOptions.js"
import { signStandard } from "../domain/WebhookSignature.js"
import { Delivery } from "../domain/OutboundWebhook.js"
import { chainAfter } from "../internal/stageChanged.js"
import { fanOutStep, keyOfMovedCampaignMail } from "../internal/campaigns.js"
import { Segments } from "./Segments.js"
import type { CampaignId } from "../domain/Campaign.js"
import { decide, deliveryLogRetention, post, WebhookSettings, webhookTimeout } from "../internal/webhookDelivery.js"

/**
 * How the dispatcher works; every setting has a default.
 *
 * @since 0.3.0
 * @category models
 */
export interface DispatchOptions {
  /** Jobs claimed at once (default 20). */
  readonly batchSize?: number | undefined
  /** How long a claim holds a job before another dispatcher may take it over (default 1 minute). */
  readonly lease?: Duration.DurationInput | undefined
  /** Attempts before a failing job is dead-lettered (default 8). */
  readonly maxAttempts?: number | undefined
  /** The first retry's delay, doubled at each attempt up to one hour (default 30 seconds). */
  readonly retryDelay?: Duration.DurationInput | undefined
  /** Contacts whose jobs run at the same time (default 4; one contact's jobs run in order). */
  readonly concurrency?: number | undefined
  /** The most jobs one `runDue` claims (default: until none is due). */
  readonly limit?: number | undefined
  /**
   * Whose jobs: the current workspace's by default (like every other call), these workspaces', or
   * `"all"`: one dispatcher serving every workspace of the database, as a SaaS app runs it.
   */
  readonly workspaces?: ReadonlyArray<string> | "all" | undefined
}

/**
 * Options of the background dispatcher.
 *
 * @since 0.3.0
 * @category models
 */
export interface StartOptions extends DispatchOptions {
  /** How often it looks for due jobs when nothing wakes it (default 1 second). */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * What a `runDue` did.
 *
 * @since 0.3.0
 * @category models
 */
export interface DispatchReport {
  /** Jobs claimed. */
  readonly claimed: number
  readonly done: number
  readonly skipped: number
  /** Failed and queued again with backoff. */
  readonly retried: number
  /** Failed for good (or too often): see `lastError`. */
  readonly dead: number
  /** Taken over by another dispatcher after this one's lease ended. */
  readonly lost: number
}

/**
 * Filters and paging of `dispatcher.jobs`: by status (one or several), rule, contact.
 *
 * @since 0.3.0
 * @category schemas
 */
export const JobListOptions = Schema.Struct({
  status: Schema.optional(Schema.Union(JobStatusSchema, Schema.Array(JobStatusSchema))),
  ruleId: Schema.optional(SafeString),
  contactId: Schema.optional(SafeString),
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.3.0
 * @category models
 */
export type JobListOptions = typeof JobListOptions.Encoded

export {
  /**
   * Wakes a running dispatcher when an emission in this process queues jobs due now. Provided with
   * the services that use it; apps do not need it.
   *
   * @since 0.3.0
   * @category services
   */
  JobSignal
} from "../internal/signal.js"

/** The claim was lost to an ended lease: another dispatcher now holds the job. */
class LeaseLost extends Data.TaggedError("LeaseLost")<{}> {}

type Settled = "done" | "skipped"
interface Result {
  readonly status: Settled
  readonly outcome: Readonly<Record<string, unknown>>
  /** The place the job took under a pressure cap, written with its completion. */
  readonly reserved?: { readonly reservedAt: DateTime.Utc; readonly purpose: string } | undefined
}
/** Held back by a pressure cap: the job waits, pending, until `until` (the attempt does not count). */
interface Deferred {
  readonly status: "deferred"
  readonly until: DateTime.Utc
  readonly reason: string
}
const done = (outcome: Readonly<Record<string, unknown>> = {}): Result => ({ status: "done", outcome })
const skipped = (reason: string): Result => ({ status: "skipped", outcome: { reason } })

const JobPosition = Schema.Tuple(Schema.DateTimeUtc, JobId)
const ms = DateTime.toEpochMillis

const messageOf = (error: unknown): string =>
  error instanceof Error || (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string")
    ? (error as { message: string }).message
    : String(error)

/** Failures that retrying cannot mend. */
const isPermanent = (error: unknown): boolean =>
  error instanceof ValidationError ||
  error instanceof InvalidTransition ||
  error instanceof NotFound ||
  (error instanceof MailerError && error.reason === "rejected") ||
  (error instanceof ActionFailure && !error.retryable)

/** Leaf descriptions of an explanation that decided its outcome, for a skip reason. */
const reasonOf = (e: ReturnType<typeof explain>): string =>
  e.parts === undefined ? e.description : e.parts.filter((p) => (e.description === "not" ? true : p.holds === e.holds)).map(reasonOf).join("; ")

/**
 * @since 0.3.0
 * @category services
 */
export class Dispatcher extends Effect.Service<Dispatcher>()("@rapport/core/Dispatcher", {
  dependencies: [JobSignal.Default, Segments.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const signal = yield* JobSignal
    // Once per local day per workspace: the weighted pipeline's snapshot and the RFM refresh.
    const daily = makeDaily(storage)
    // A campaign's fan-out reads its audience a page at a time.
    const segments = yield* Segments

    const settle = (job: Job, token: string, changes: Partial<ConstructorParameters<typeof Job>[0]>) =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        const ok = yield* storage.jobs.settle(new Job({ ...job, ...changes, updatedAt: now }, true), token)
        if (!ok) return yield* new LeaseLost()
      })

    const finish = (job: Job, token: string, result: Result) =>
      Effect.flatMap(DateTime.now, (now) =>
        settle(job, token, { status: result.status, outcome: result.outcome, completedAt: now, leaseUntil: null, claimToken: null, ...result.reserved })
      )

    /**
     * The job's contact is gone. If a merge moved the job to the contact kept meanwhile, the job
     * goes back to the queue, due now, to run for that contact (this attempt does not count);
     * otherwise the contact was deleted and the job is skipped.
     */
    const contactGone = (job: Job, token: string) =>
      Effect.gen(function* () {
        const stored = yield* storage.jobs.get(job.workspaceId, job.id)
        if (Option.isSome(stored) && stored.value.contactId !== job.contactId) {
          yield* settle(job, token, { status: "pending", attempts: Math.max(0, job.attempts - 1), dueAt: yield* DateTime.now, leaseUntil: null, claimToken: null })
          return "retried" as const
        }
        yield* finish(job, token, skipped("the contact was deleted"))
        return "skipped" as const
      })

    /**
     * Runs `body` in a transaction holding the contact, and completes the job with its result (or,
     * deferred by a pressure cap, queues it again for when the window frees).
     */
    const locked = <E, R>(job: Job, token: string, body: (workspace: Workspace, contact: Contact) => Effect.Effect<Result | Deferred, E, R>) =>
      storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          yield* contactLock(storage, job.workspaceId, job.contactId)
          const contact = yield* storage.contacts.get(job.workspaceId, job.contactId)
          if (Option.isNone(contact)) return yield* contactGone(job, token)
          const result = yield* body(workspace, contact.value)
          if (result.status === "deferred") {
            const outcome = { deferred: result.reason, until: DateTime.formatIso(result.until) }
            yield* settle(job, token, { status: "pending", attempts: Math.max(0, job.attempts - 1), dueAt: result.until, outcome, leaseUntil: null, claimToken: null })
            return "retried" as const
          }
          yield* finish(job, token, result)
          return result.status
        })
      )

    /**
     * Where the contact stands under the pressure cap of `purpose`: `undefined` when there is no cap
     * or it has room; otherwise when the window frees and why it is full.
     */
    const pressureOn = (workspace: Workspace, contactId: Contact["id"], purpose: string, now: DateTime.Utc) =>
      Effect.gen(function* () {
        // Own keys only: a purpose named like an Object method ("constructor") has no cap unless set.
        const cap = Object.hasOwn(workspace.messaging.pressure, purpose) ? workspace.messaging.pressure[purpose] : undefined
        if (cap === undefined) return undefined
        const window = durationMillis(cap.per)
        const places = yield* storage.jobs.placesSince(workspace.id, { contactId, purpose, since: clampInstant(ms(now) - window), max: cap.max })
        if (places.count < cap.max) return undefined
        const release = Option.getOrElse(places.releasedBy, () => now)
        return {
          until: clampInstant(Math.max(ms(now) + 1, ms(release) + window)),
          reason: `pressure cap: ${places.count} ${purpose} contact${places.count === 1 ? "" : "s"} (mails, calls, tasks) in the last ${cap.per} (at most ${cap.max})`
        }
      })

    const replaceContact = (contact: Contact, changes: Partial<ConstructorParameters<typeof Contact>[0]>) =>
      Effect.gen(function* () {
        const next = new Contact({ ...contact, ...changes, version: contact.version + 1, updatedAt: yield* DateTime.now })
        yield* storage.contacts.update(next, contact.version)
        return next
      })

    const triggerOf = (job: Job) => storage.events.get(job.workspaceId, job.eventId)

    const renderContext = (workspace: Workspace, contact: Contact, trigger: StoredEvent | undefined, extra: Readonly<Record<string, unknown>> = {}) =>
      mailContext(storage, workspace, contact, trigger, extra)

    // --- checks: a delayed firing, due

    const runCheck = (job: Job, token: string) =>
      locked(job, token, (workspace, contact) =>
        Effect.gen(function* () {
          const rule = yield* storage.rules.get(job.workspaceId, job.ruleId)
          if (Option.isNone(rule)) return skipped("the rule was removed")
          if (!rule.value.enabled) return skipped("the rule was disabled")
          const trigger = yield* triggerOf(job)
          if (Option.isNone(trigger)) return skipped("the event is no longer stored")
          if (rule.value.on !== trigger.value.type) return skipped(`the rule now reacts to ${rule.value.on}`)
          const compiled: CompiledRule | undefined = compiledRule(yield* rulesFor(storage, workspace), rule.value)
          if (compiled === undefined) return skipped("the rule was disabled")
          const now = yield* DateTime.now
          // Read only to explain a skip.
          const explained = (condition: Condition, context: ConditionContext) =>
            Effect.map(storage.fieldDefinitions.list(workspace.id, "contact"), (fields) =>
              reasonOf(explain(condition, { fields, stages: workspace.lifecycle.stages.map((s) => s.key), event: true }, context))
            )
          if (compiled.when !== undefined) {
            const context = yield* contextFor(storage, workspace.id, compiled.when, contact, trigger.value, now)
            if (!compiled.when.test(context)) return skipped(`"when" no longer holds: ${yield* explained(rule.value.when!, context)}`)
          }
          if (compiled.unless !== undefined) {
            const context = yield* contextFor(storage, workspace.id, compiled.unless, contact, trigger.value, now)
            if (compiled.unless.test(context)) return skipped(`"unless" holds: ${yield* explained(rule.value.unless!, context)}`)
          }
          const allowed = yield* limitsAllow(storage, workspace.id, compiled, contact.id, trigger.value, now)
          if (allowed !== true) return skipped(`limits: ${allowed}`)
          const variant = variantFor(rule.value, contact.id)
          const jobs = yield* fire(storage, workspace.id, compiled, contact, trigger.value, variant)
          return done({ fired: true, variant: variant?.key ?? null, actions: jobs.length })
        })
      )

    // --- actions that only write to the database

    // A rule's tag, score, field or owner change on the contact's timeline, written with the change
    // (and the job's completion): one entry per change, naming the rule.
    const ruleChanged = (job: Job, contact: Contact, summary: (rule: string) => string, payload: Omit<RuleChangePayload, "ruleId" | "ruleName" | "jobId">) =>
      Effect.gen(function* () {
        const rule = Option.getOrNull(yield* storage.rules.get(job.workspaceId, job.ruleId))
        const now = yield* DateTime.now
        const id = yield* Effect.flatMap(IdGenerator, (ids) => ids.next)
        const entryPayload: RuleChangePayload = { ruleId: job.ruleId, ruleName: rule?.name ?? null, jobId: job.id, ...payload }
        yield* storage.timeline.append(
          new TimelineEntry(
            {
              id: TimelineEntryId.make(id),
              workspaceId: job.workspaceId,
              contactId: contact.id,
              kind: "ruleChange",
              occurredAt: now,
              recordedAt: now,
              author: `rule:${job.ruleId}`,
              channel: null,
              direction: null,
              summary: summary(`Rule "${rule?.name ?? job.ruleId}"`),
              reaction: null,
              payload: toJson(entryPayload) as TimelineEntry["payload"],
              eventId: null
            },
            true
          )
        )
      })

    const runLocal = (job: Job, token: string, action: Exclude<Action, { type: "sendEmail" | "custom" }>) =>
      locked(job, token, (workspace, contact) =>
        Effect.gen(function* () {
          switch (action.type) {
            case "setStage": {
              if (contact.stage === action.stage) return done({ unchanged: true })
              const rule = Option.getOrNull(yield* storage.rules.get(job.workspaceId, job.ruleId))
              const cause = { kind: "manual" as const, reason: `rule "${rule?.name ?? job.ruleId}"` }
              yield* moveTo(storage, workspace, contact, action.stage, cause, `rule:${job.ruleId}`, chainAfter(Option.getOrUndefined(yield* triggerOf(job))))
              return done({ stage: action.stage })
            }
            case "addTag":
              if (contact.tags.includes(action.tag)) return done({ unchanged: true })
              yield* replaceContact(contact, { tags: [...contact.tags, action.tag] })
              yield* ruleChanged(job, contact, (rule) => `${rule} added tag ${action.tag}`, { action: "addTag", tag: action.tag })
              return done({ tag: action.tag })
            case "removeTag":
              if (!contact.tags.includes(action.tag)) return done({ unchanged: true })
              yield* replaceContact(contact, { tags: contact.tags.filter((t) => t !== action.tag) })
              yield* ruleChanged(job, contact, (rule) => `${rule} removed tag ${action.tag}`, { action: "removeTag", tag: action.tag })
              return done({ tag: action.tag })
            case "adjustScore": {
              // Saturates: a score is a safe integer, which a sum past 2^53 - 1 would no longer be.
              const score = Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, contact.score + action.by))
              if (score === contact.score) return done({ unchanged: true, score })
              const next = yield* replaceContact(contact, { score })
              yield* ruleChanged(job, contact, (rule) => `${rule} changed the score from ${contact.score} to ${next.score}`, {
                action: "adjustScore",
                from: contact.score,
                to: next.score
              })
              return done({ score: next.score })
            }
            case "setField": {
              const compiled = yield* compiledFields(storage, workspace, "contact")
              const values = yield* checkFields(compiled, applyPatch(contact.fields, { [action.key]: action.value }), indexOf(workspace.lifecycle, contact.stage), contact)
              const next = new Contact({ ...contact, fields: values, version: contact.version + 1, updatedAt: yield* DateTime.now })
              yield* saveContact(storage, workspace, compiled, contact, next, true, chainAfter(Option.getOrUndefined(yield* triggerOf(job))))
              const from = toJson(contact.fields[action.key] ?? null)
              const to = toJson(values[action.key] ?? null)
              if (JSON.stringify(from) !== JSON.stringify(to)) {
                yield* ruleChanged(job, contact, (rule) => `${rule} ${to === null ? "cleared" : "set"} field ${action.key}`, { action: "setField", key: action.key, from, to })
              }
              return done({ field: action.key })
            }
            case "assignOwner": {
              if (contact.ownerId !== null && action.overwrite !== true) return done({ unchanged: true, ownerId: contact.ownerId })
              let owner: string | undefined
              if (action.roundRobin !== undefined) {
                const turn = yield* storage.counters.increment(workspace.id, `assign:${job.ruleId}:${job.actionIndex ?? 0}`)
                owner = action.roundRobin[(turn - 1) % action.roundRobin.length]
              } else {
                const registry = { fields: yield* storage.fieldDefinitions.list(workspace.id, "contact"), stages: workspace.lifecycle.stages.map((s) => s.key), event: true }
                const trigger = yield* triggerOf(job)
                for (const entry of action.byCondition ?? []) {
                  const compiledCondition = compileCondition(entry.when, registry)
                  const context = Option.isSome(trigger)
                    ? yield* contextFor(storage, workspace.id, compiledCondition, contact, trigger.value, yield* DateTime.now)
                    : { contact, event: undefined, now: ms(yield* DateTime.now), counts: [] }
                  if (compiledCondition.test(context)) {
                    owner = entry.owner
                    break
                  }
                }
                owner ??= action.otherwise
              }
              if (owner === undefined) return done({ unchanged: true, reason: "no owner matched" })
              if (owner === contact.ownerId) return done({ unchanged: true, ownerId: owner })
              yield* replaceContact(contact, { ownerId: owner })
              const assigned = owner
              yield* ruleChanged(job, contact, (rule) => `${rule} assigned the contact to ${assigned}`, { action: "assignOwner", from: contact.ownerId, to: assigned })
              return done({ ownerId: owner })
            }
            case "createTask": {
              const now = yield* DateTime.now
              // A task for a purpose takes a place under its pressure cap, or waits for one.
              if (action.purpose !== undefined) {
                const full = yield* pressureOn(workspace, contact.id, action.purpose, now)
                if (full !== undefined) return { status: "deferred" as const, until: full.until, reason: full.reason }
              }
              const trigger = Option.getOrUndefined(yield* triggerOf(job))
              const context = yield* renderContext(workspace, contact, trigger)
              const rendered = compileTemplate({ subject: action.title, html: null, text: action.note ?? null })
              const { subject, text } = rendered._tag === "Right" ? rendered.right.render(context) : { subject: action.title, text: action.note ?? null }
              const task = yield* insertTask(storage, workspace.id, {
                title: subject.slice(0, 300) || action.title,
                dueAt: action.due === undefined ? now : delayEnd(now, action.due, timezoneOf(workspace, contact)),
                channel: action.channel ?? "call",
                ownerId: action.ownerId ?? contact.ownerId,
                contactId: contact.id,
                note: text
              })
              const result = done({ taskId: task.id, dueAt: DateTime.formatIso(task.dueAt) })
              return action.purpose === undefined ? result : { ...result, reserved: { reservedAt: now, purpose: action.purpose } }
            }
          }
        })
      )

    // --- mail

    // Templates (with their locale variants) are parsed once per version, and only the values they use are read.
    const compiledTemplate = makeCompiledTemplates(storage)

    // A sent mail on the contact's timeline, written with the job's completion.
    const mailSent = (job: Job, author: string | null, subject: string, now: DateTime.Utc, payload: TimelineEntry["payload"]) =>
      Effect.flatMap(IdGenerator, (ids) => ids.next).pipe(
        Effect.flatMap((id) =>
          storage.timeline.append(
            new TimelineEntry(
              {
                id: TimelineEntryId.make(id),
                workspaceId: job.workspaceId,
                contactId: job.contactId,
                kind: "email",
                occurredAt: now,
                recordedAt: now,
                author,
                channel: "email",
                direction: "outbound",
                summary: `Email sent: ${subject}`,
                reaction: null,
                payload,
                eventId: null
              },
              true
            )
          )
        )
      )

    const runSendEmail = (job: Job, token: string, action: Extract<Action, { type: "sendEmail" }>, reads: BatchReads) =>
      Effect.gen(function* () {
        // A campaign mails each contact once: a mail moved here by a merge is skipped when the kept
        // contact has its own mail of the campaign (queued under its own key).
        const ownKey = keyOfMovedCampaignMail(job)
        if (ownKey !== undefined && Option.isSome(yield* storage.jobs.getByKey(job.workspaceId, ownKey))) {
          return yield* storage.transaction(Effect.as(finish(job, token, skipped("the contact was merged into one that receives this campaign already")), "skipped" as const))
        }
        const settings = yield* MailSettings
        const template = yield* orNotFound(reads.template(job.workspaceId, action.template), "template", action.template)
        const { compiled, usesEvent } = yield* compiledTemplate(template)
        const marketing = template.purpose === "marketing"
        // Phase 1: the rendered mail. For marketing mail, in a transaction holding the contact:
        // consent, and the frequency cap (a place is reserved once, so a retry after a crash does
        // not count twice). Transactional mail only reads.
        const prepare = Effect.gen(function* () {
          const workspace = yield* reads.workspace(job.workspaceId)
          if (marketing) yield* contactLock(storage, job.workspaceId, job.contactId)
          const found = yield* storage.contacts.get(job.workspaceId, job.contactId)
          const stop = (reason: string) => Effect.as(finish(job, token, skipped(reason)), { skipped: true as const, status: "skipped" as const })
          if (Option.isNone(found)) return { skipped: true as const, status: yield* contactGone(job, token) }
          const contact = found.value
          if (contact.email === null) return yield* stop("the contact has no email address")
          const now = yield* DateTime.now
          let reservedAt = job.reservedAt
          let unsubscribe: string | undefined
          let unsubscribeHeader: string | undefined
          if (marketing) {
            const purpose = action.purpose ?? defaultPurpose
            if (!allows(yield* storage.consents.list(job.workspaceId, contact.id), purpose)) {
              return yield* stop(`no consent for ${purpose} mail (never given, withdrawn, or unsubscribed)`)
            }
            // A hard-bounced address receives no marketing mail (transactional mail still goes).
            const bounced = (yield* storage.addressHealth.list(job.workspaceId, [emailKey(contact.email)])).find((a) => a.hardBouncedAt !== null)
            if (bounced !== undefined) {
              return yield* stop(`the address ${bounced.email} hard-bounced on ${DateTime.formatIso(bounced.hardBouncedAt!)}${bounced.hardBounceReason === null ? "" : ` (${bounced.hardBounceReason})`}`)
            }
            if (settings.unsubscribe === undefined) {
              return yield* ValidationError.at(["template"], "marketing mail needs unsubscribe links: configure the unsubscribe URL and secret in the mail settings")
            }
            if (reservedAt === null) {
              const cap = workspace.messaging.frequencyCap
              if (cap !== null) {
                const since = clampInstant(ms(now) - durationMillis(cap.per))
                const sent = yield* storage.jobs.reservedSince(job.workspaceId, { contactId: contact.id, categories: ["marketing"], since })
                if (sent >= cap.max) return yield* stop(`frequency cap: ${sent} marketing mail${sent === 1 ? "" : "s"} in the last ${cap.per} (at most ${cap.max})`)
              }
              // The pressure cap of the purpose, across mails and rules' tasks: a mail beyond it is skipped.
              const full = yield* pressureOn(workspace, contact.id, purpose, now)
              if (full !== undefined) return yield* stop(full.reason)
              reservedAt = now
              yield* settle(job, token, { category: "marketing", reservedAt, purpose })
            }
            const mailto = settings.unsubscribe.mailto
            if (mailto !== undefined && !isMailtoAddress(mailto)) {
              return yield* ValidationError.at(["unsubscribe", "mailto"], "must be a plain address such as unsubscribe@shop.example (no name, angle brackets or spaces)")
            }
            const unsubscribeToken = makeToken(settings.unsubscribe.secret, job.workspaceId, contact.id, ms(now))
            unsubscribe = unsubscribeUrl(settings.unsubscribe.url, unsubscribeToken)
            unsubscribeHeader = listUnsubscribe(unsubscribe, unsubscribeToken, mailto)
          }
          const trigger = usesEvent ? Option.getOrUndefined(yield* triggerOf(job)) : undefined
          const rendered = yield* Either.mapLeft(
            compiled.renderEither(yield* renderContext(workspace, contact, trigger, unsubscribe === undefined ? {} : { unsubscribeUrl: unsubscribe })),
            (issues) => ValidationError.fromIssues(issues, `Template "${template.name}" could not be rendered`)
          )
          const mail: OutgoingMail = {
            to: contact.email,
            ...(settings.from === undefined ? {} : { from: settings.from }),
            ...(settings.replyTo === undefined ? {} : { replyTo: settings.replyTo }),
            subject: rendered.subject,
            ...(rendered.html === null ? {} : { html: rendered.html }),
            ...(rendered.text === null ? {} : { text: rendered.text }),
            headers: {
              "X-Rapport-Rule": job.ruleId,
              ...(unsubscribeHeader === undefined ? {} : { "List-Unsubscribe": unsubscribeHeader, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" })
            },
            idempotencyKey: job.idempotencyKey
          }
          return { skipped: false as const, mail, reservedAt }
        })
        const prepared = yield* (marketing ? storage.transaction(prepare) : prepare)
        if (prepared.skipped) return prepared.status
        // Phase 2: the provider, outside any transaction. Phase 3 records it with the job's completion.
        const mailer = yield* Effect.serviceOption(Mailer)
        if (Option.isNone(mailer)) return yield* ValidationError.at(["template"], "sending mail needs a Mailer: provide one (Mailers.consoleLayer, a capturing one, or your provider's)")
        // Every header on one line, whatever the template's values or the settings hold.
        const mail = yield* safeMail(prepared.mail)
        const receipt = yield* mailer.value.send(mail)
        return yield* storage.transaction(
          Effect.gen(function* () {
            const now = yield* DateTime.now
            const outcome = { to: mail.to, subject: mail.subject, messageId: receipt.messageId, templateId: template.id, category: template.purpose }
            yield* finish(new Job({ ...job, category: template.purpose, reservedAt: prepared.reservedAt, purpose: marketing ? (action.purpose ?? defaultPurpose) : job.purpose }, true), token, done(outcome))
            yield* mailSent(job, `rule:${job.ruleId}`, mail.subject, now, {
              ruleId: job.ruleId,
              variant: job.variant,
              templateId: template.id,
              category: template.purpose,
              messageId: receipt.messageId,
              idempotencyKey: mail.idempotencyKey,
              triggerEventId: job.eventId
            })
            return "done" as const
          })
        )
      })

    // --- mails queued already rendered (a deal's follow-up)

    // A queued mail's files, stored in base64.
    const attachmentsOf = (stored: NonNullable<QueuedMail["attachments"]>) =>
      Effect.forEach(stored, (a, i) =>
        Either.match(Encoding.decodeBase64(a.content), {
          onLeft: () => Effect.fail(ValidationError.at(["attachments", i, "content"], "is not base64: the queued mail was altered in storage")),
          onRight: (content): Effect.Effect<MailAttachment, ValidationError> => Effect.succeed({ filename: a.filename, contentType: a.contentType, content })
        })
      )

    const runQueuedMail = (job: Job, token: string, action: QueuedMail) =>
      Effect.gen(function* () {
        const mailer = yield* Effect.serviceOption(Mailer)
        if (Option.isNone(mailer)) return yield* ValidationError.at(["mail"], "sending mail needs a Mailer: provide one (Mailers.consoleLayer, a capturing one, or your provider's)")
        if (Option.isNone(yield* storage.contacts.get(job.workspaceId, job.contactId))) return yield* storage.transaction(contactGone(job, token))
        const mail = yield* safeMail({
          to: action.to,
          subject: action.subject,
          ...(action.html === null ? {} : { html: action.html }),
          ...(action.text === null ? {} : { text: action.text }),
          headers: action.headers,
          ...(action.attachments === undefined || action.attachments.length === 0
            ? {}
            : { attachments: yield* attachmentsOf(action.attachments) }),
          idempotencyKey: job.idempotencyKey
        })
        const receipt = yield* mailer.value.send(mail)
        return yield* storage.transaction(
          Effect.gen(function* () {
            const now = yield* DateTime.now
            yield* finish(job, token, done({ to: mail.to, subject: mail.subject, messageId: receipt.messageId }))
            yield* mailSent(job, action.author, mail.subject, now, {
              messageId: receipt.messageId,
              idempotencyKey: mail.idempotencyKey,
              ...(action.entryId === null ? {} : { entryId: action.entryId })
            })
            return "done" as const
          })
        )
      })

    // --- custom actions

    const runCustom = (job: Job, token: string, action: Extract<Action, { type: "custom" }>) =>
      Effect.gen(function* () {
        const registered = (yield* CustomActions).get(action.name)
        if (registered === undefined) {
          return yield* new ActionFailure({ message: `no custom action "${action.name}" is registered in this process`, retryable: true })
        }
        const params = yield* decodeInput(registered.params, ["params"])(action.params ?? {})
        const [contact, trigger] = yield* Effect.all([storage.contacts.get(job.workspaceId, job.contactId), triggerOf(job)])
        if (Option.isNone(contact)) return yield* storage.transaction(contactGone(job, token))
        if (Option.isNone(trigger)) return yield* storage.transaction(Effect.as(finish(job, token, skipped("the event is no longer stored")), "skipped" as const))
        const result = yield* registered.run(params, {
          workspaceId: job.workspaceId,
          ruleId: job.ruleId,
          variant: job.variant,
          contact: contact.value,
          event: trigger.value,
          idempotencyKey: job.idempotencyKey
        })
        yield* storage.transaction(finish(job, token, done(result === undefined ? {} : { result: toJson(result) })))
        return "done" as const
      })

    // --- outbound webhooks

    /**
     * Posts the message (outside any transaction), then records the attempt in the delivery log
     * with the job's outcome, in one transaction: done on 2xx; done, with the subscription disabled,
     * on 410; dead when the address is refused or after the last attempt; else due again after
     * backoff with jitter, or when `Retry-After` says on a 429 or 503.
     */
    const runWebhook = (job: Job, token: string, action: WebhookMessage, options: DispatchSettings) =>
      Effect.gen(function* () {
        const found = yield* storage.webhookSubscriptions.get(job.workspaceId, action.subscriptionId)
        if (Option.isNone(found) || !found.value.enabled) {
          const reason = Option.isNone(found) ? "the subscription was removed" : "the subscription is disabled"
          return yield* storage.transaction(Effect.as(finish(job, token, skipped(reason)), "skipped" as const))
        }
        const subscription = found.value
        const settings = yield* WebhookSettings
        const attemptedAt = yield* DateTime.now
        const timestamp = Math.floor(ms(attemptedAt) / 1000)
        // During a rotation the previous secret signs too, so a receiver not yet updated still verifies.
        const secrets = [
          subscription.secret,
          ...(subscription.previousSecret !== null && subscription.previousSecretExpiresAt !== null && ms(subscription.previousSecretExpiresAt) > ms(attemptedAt)
            ? [subscription.previousSecret]
            : [])
        ]
        const bytes = Buffer.from(action.body, "utf8")
        const attempt = yield* post({
          url: subscription.url,
          headers: {
            "content-type": "application/json",
            "user-agent": settings.userAgent ?? "Rapport-Webhooks/1",
            "webhook-id": job.idempotencyKey,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": secrets.map((secret) => signStandard(secret, job.idempotencyKey, timestamp, bytes)).join(" ")
          },
          body: action.body,
          timeoutMillis: webhookTimeout(settings),
          allowPrivate: settings.allowPrivateNetworks === true || subscription.allowPrivateNetwork
        })
        const now = yield* DateTime.now
        const decision = decide(attempt, {
          attempts: job.attempts,
          maxAttempts: options.maxAttempts,
          backoffMillis: backoffMillis(options, job.attempts),
          random: yield* Random.next,
          nowMillis: ms(now)
        })
        const deliveryId = WebhookDeliveryId.make(yield* (yield* IdGenerator).next)
        return yield* storage.transaction(
          Effect.gen(function* () {
            const outcome = { deliveryId, statusCode: attempt.statusCode, durationMs: attempt.durationMs }
            const error =
              attempt.error ?? (decision.result === "delivered" ? null : `the receiver answered ${attempt.statusCode}${attempt.responseBody === null ? "" : `: ${attempt.responseBody.slice(0, 200)}`}`)
            const nextAttemptAt = decision.result === "retrying" ? clampInstant(ms(now) + decision.delayMillis) : null
            let status: "done" | "retried" | "dead"
            switch (decision.result) {
              case "delivered":
                yield* finish(job, token, done(outcome))
                status = "done"
                break
              case "gone":
                yield* finish(job, token, done({ ...outcome, subscriptionDisabled: true }))
                if (yield* storage.webhookSubscriptions.disable(job.workspaceId, subscription.id, `the receiver answered 410 Gone on ${DateTime.formatIso(now)}`, now)) {
                  yield* rulesChanged(storage, job.workspaceId)
                }
                status = "done"
                break
              case "retrying":
                yield* settle(job, token, { status: "pending", lastError: error, dueAt: nextAttemptAt!, leaseUntil: null, claimToken: null })
                status = "retried"
                break
              case "refused":
              case "failed":
                yield* settle(job, token, { status: "dead", lastError: error, completedAt: now, leaseUntil: null, claimToken: null })
                status = "dead"
                break
            }
            yield* storage.webhookSubscriptions.logDelivery(
              new Delivery(
                {
                  id: deliveryId,
                  workspaceId: job.workspaceId,
                  subscriptionId: subscription.id,
                  jobId: job.id,
                  messageId: job.idempotencyKey,
                  eventType: action.eventType,
                  attempt: job.attempts,
                  attemptedAt,
                  durationMs: attempt.durationMs,
                  statusCode: attempt.statusCode,
                  result: decision.result,
                  error,
                  responseBody: attempt.responseBody,
                  nextAttemptAt
                },
                true
              )
            )
            yield* storage.webhookSubscriptions.pruneDeliveries(job.workspaceId, subscription.id, clampInstant(ms(now) - deliveryLogRetention(settings)))
            return status
          })
        )
      })

    // --- campaigns

    /**
     * One step of a campaign's fan-out: a page of its audience queued and its position recorded,
     * with the job's settlement, in one transaction. While pages remain the job is queued again,
     * due now (the attempt does not count); a lost lease rolls the page back.
     */
    const runCampaign = (job: Job, token: string, action: CampaignFanOut) =>
      storage.transaction(
        Effect.gen(function* () {
          const step = yield* fanOutStep(storage, segments.members, job.workspaceId, action.campaignId as CampaignId)
          if (step.status === "skipped") {
            yield* finish(job, token, skipped(step.reason))
            return "skipped" as const
          }
          if (step.status === "more") {
            const now = yield* DateTime.now
            yield* settle(job, token, { status: "pending", attempts: 0, dueAt: now, outcome: { queued: step.queued }, leaseUntil: null, claimToken: null })
            yield* storage.afterCommit(signal.notify)
            return "retried" as const
          }
          yield* finish(job, token, done({ queued: step.queued }))
          yield* storage.afterCommit(signal.notify)
          return "done" as const
        })
      )

    /**
     * What the jobs of one claimed batch share, read once for the batch: templates and the
     * workspace's settings. A template edited while a batch runs applies from the next batch.
     */
    const batchReads = () => {
      const templates = new Map<string, Option.Option<Template>>()
      const workspaces = new Map<string, Workspace>()
      return {
        template: (workspaceId: WorkspaceId, id: Template["id"]) => {
          const key = `${workspaceId}\u0000${id}`
          const known = templates.get(key)
          return known !== undefined ? Effect.succeed(known) : Effect.tap(storage.templates.get(workspaceId, id), (found) => void templates.set(key, found))
        },
        workspace: (workspaceId: WorkspaceId) => {
          const known = workspaces.get(workspaceId)
          return known !== undefined ? Effect.succeed(known) : Effect.tap(readWorkspace(storage), (read) => void workspaces.set(workspaceId, read))
        }
      }
    }
    type BatchReads = ReturnType<typeof batchReads>

    const execute = (job: Job, token: string, options: DispatchSettings, reads: BatchReads): Effect.Effect<Settled | "retried" | "dead", unknown> => {
      if (job.kind === "check" || job.action === null) return runCheck(job, token)
      const action = job.action
      switch (action.type) {
        case "sendEmail":
          return runSendEmail(job, token, action, reads)
        case "custom":
          return runCustom(job, token, action)
        case "mail":
          return runQueuedMail(job, token, action)
        case "webhook":
          return runWebhook(job, token, action, options)
        case "campaign":
          return runCampaign(job, token, action)
        default:
          return runLocal(job, token, action)
      }
    }

    type Outcome = Settled | "retried" | "dead" | "lost"

    const workspacesOf = (options: { readonly workspaces?: unknown }): Effect.Effect<ReadonlyArray<WorkspaceId> | undefined, ValidationError> =>
      options.workspaces === "all"
        ? Effect.succeed(undefined)
        : options.workspaces === undefined
          ? Effect.map(CurrentWorkspace, (id) => [id])
          : decodeInput(Schema.Array(WorkspaceIdSchema), ["workspaces"])(options.workspaces)

    const runOne = (job: Job, token: string, options: DispatchSettings, reads: BatchReads): Effect.Effect<Outcome> =>
      execute(job, token, options, reads).pipe(
        Effect.map((status): Outcome => status),
        // A defect (a bug in a custom action, say) fails this job like any error: retried, then dead.
        Effect.catchAllDefect((defect) => Effect.fail(defect)),
        Effect.catchAll((error) => {
          if (error instanceof LeaseLost) return Effect.succeed<Outcome>("lost")
          return storage
            .transaction(
              Effect.gen(function* () {
                const now = yield* DateTime.now
                const message = messageOf(error)
                if (isPermanent(error) || job.attempts >= options.maxAttempts) {
                  yield* settle(job, token, { status: "dead", lastError: message, completedAt: now, leaseUntil: null, claimToken: null })
                  yield* Effect.logWarning(`Rapport job ${job.id} (rule ${job.ruleId}) dead-lettered after ${job.attempts} attempt(s): ${message}`)
                  return "dead" as const
                }
                const delay = backoffMillis(options, job.attempts)
                yield* settle(job, token, { status: "pending", lastError: message, dueAt: clampInstant(ms(now) + delay), leaseUntil: null, claimToken: null })
                return "retried" as const
              })
            )
            .pipe(Effect.catchAll((e) => (e instanceof LeaseLost ? Effect.succeed<Outcome>("lost") : Effect.as(Effect.logError(`Rapport job ${job.id}: could not record its failure`, e), "retried" as const))))
        }),
        withWorkspace(job.workspaceId)
      )

    /**
     * Claims and runs every job due now (of the current workspace, or as `workspaces` says), batch
     * after batch, until none is due or `limit` jobs were claimed. Jobs a check queues at once run
     * in the same call.
     */
    const runDue = Effect.fn("Dispatcher.runDue")(function* (options: DispatchOptions = {}) {
      const settings = dispatchSettings(options, false)
      if (settings instanceof ValidationError) return yield* settings
      return yield* drain(settings, yield* workspacesOf(settings))
    })

    const drain = Effect.fnUntraced(function* (options: DispatchSettings, workspaces: ReadonlyArray<WorkspaceId> | undefined) {
      const report = { claimed: 0, done: 0, skipped: 0, retried: 0, dead: 0, lost: 0 }
      yield* daily(workspaces)
      const limit = options.limit
      const lease = options.leaseMillis
      const ids = yield* IdGenerator
      while (report.claimed < limit) {
        const now = yield* DateTime.now
        const token = yield* ids.next
        const batch = yield* storage.jobs.claim({
          now,
          leaseUntil: clampInstant(ms(now) + lease),
          token,
          limit: Math.min(options.batchSize, limit - report.claimed),
          workspaces
        })
        if (batch.length === 0) break
        report.claimed += batch.length
        const byContact = new Map<string, Array<Job>>()
        for (const job of batch) {
          const key = `${job.workspaceId}\u0000${job.contactId}`
          byContact.set(key, [...(byContact.get(key) ?? []), job])
        }
        const reads = batchReads()
        const outcomes = yield* Effect.forEach([...byContact.values()], (jobs) => Effect.forEach(jobs, (job) => runOne(job, token, options, reads)), {
          concurrency: options.concurrency
        })
        for (const outcome of outcomes.flat()) report[outcome]++
      }
      return report as DispatchReport
    })

    /**
     * Runs the dispatcher in the background for as long as the scope lasts: due jobs are run as
     * they fall due, at once when an emission in this process queues some, else within
     * `pollInterval`. Failures to reach storage are logged and retried.
     */
    const start = (options: StartOptions = {}): Effect.Effect<void, ValidationError, Scope.Scope> =>
      Effect.gen(function* () {
        const settings = dispatchSettings(options, true)
        if (settings instanceof ValidationError) return yield* settings
        const workspaces = yield* workspacesOf(settings)
        const poll = settings.pollMillis
        const loop = Effect.gen(function* () {
          yield* drain(settings, workspaces).pipe(Effect.catchAll((error) => Effect.logError("Rapport dispatcher: could not run due jobs", error)))
          const next = yield* storage.jobs.nextDue(workspaces).pipe(Effect.orElseSucceed(() => Option.none<DateTime.Utc>()))
          const now = ms(yield* DateTime.now)
          const wait = Option.match(next, { onNone: () => poll, onSome: (at) => Math.max(0, Math.min(poll, ms(at) - now)) })
          if (wait > 0) yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), signal.wait)
        })
        yield* Effect.forkScoped(Effect.forever(loop))
      })

    /**
     * When the next job falls due (or the next lease ends), of the current workspace or as
     * `workspaces` says; none when nothing waits.
     */
    const nextDue = Effect.fn("Dispatcher.nextDue")(function* (options: Pick<DispatchOptions, "workspaces"> = {}) {
      return yield* storage.jobs.nextDue(yield* workspacesOf(options))
    })

    /** Jobs of the current workspace by due time, filtered by status, rule or contact. */
    const jobs = Effect.fn("Dispatcher.jobs")(function* (options: JobListOptions = {}) {
      const query = yield* decodeInput(JobListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(JobPosition, query.cursor, "dispatcher.jobs")
      const statuses: ReadonlyArray<JobStatus> | undefined = query.status === undefined ? undefined : typeof query.status === "string" ? [query.status] : query.status
      const workspaceId: WorkspaceId = (yield* readWorkspace(storage)).id
      const rows = yield* storage.jobs.list(workspaceId, {
        statuses,
        ruleId: query.ruleId as Job["ruleId"] | undefined,
        contactId: query.contactId as Job["contactId"] | undefined,
        after: after === undefined ? undefined : { dueAt: after[0], id: after[1] },
        limit: limit + 1
      })
      return Page.fromRows(rows, limit, (j) => [DateTime.formatIso(j.dueAt), j.id])
    })

    /** Queues a dead or skipped job again, due now, with its attempts reset. */
    const retry = Effect.fn("Dispatcher.retry")(function* (jobId: string) {
      const id = yield* decodeInput(JobId, ["jobId"])(jobId)
      const workspaceId = (yield* readWorkspace(storage)).id
      const requeued = yield* storage.jobs.requeue(workspaceId, id, yield* DateTime.now)
      if (Option.isSome(requeued)) {
        yield* signal.notify
        return requeued.value
      }
      const existing = yield* storage.jobs.get(workspaceId, id)
      return yield* Option.isNone(existing)
        ? Effect.fail(NotFound.of("job", id))
        : Effect.fail(ValidationError.at(["jobId"], `job ${id} is ${existing.value.status}; only dead or skipped jobs can be retried`))
    })

    return {
      /**
       * Runs every job due now (for cron jobs and serverless functions): this client's workspace's,
       * or with `workspaces: "all"` every workspace's.
       */
      runDue,
      /** Runs due jobs in the background while the scope lasts (see `dispatcher.start` of the Promise client for a handle). */
      start,
      /** When the next job falls due (ISO instant), or `null` when nothing waits. */
      nextDue,
      /** The workspace's jobs by due time: pending, running, done, skipped or dead. */
      jobs,
      /** Queues a dead or skipped job again. */
      retry
    } as const
  })
}) {}

