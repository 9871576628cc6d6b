// The rule engine's steps that run inside the caller's transaction: the compiled rule set of a
// workspace (cached until rules, fields or the lifecycle change), the counts a condition reads,
// the limits a firing must respect, and planning: an event's matching rules become firings and
// jobs in the outbox, written with the event itself.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import type * as Condition from "../domain/Condition.js"
import type { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import type { StorageError } from "../domain/Errors.js"
import { type ContactId, JobId, type WorkspaceId } from "../domain/Ids.js"
import { Firing, Job, type QueuedMail } from "../domain/Job.js"
import type { OutgoingMail } from "../ports/Mailer.js"
import { actionsFor, type CompiledRule, compileRules, type Rule, type RuleSet, Triggered, type Variant, variantFor } from "../domain/Rule.js"
import { dueAt as delayEnd, durationMillis } from "../domain/Schedule.js"
import type { Workspace } from "../domain/Workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { countEvents, type HistoryAnswer, type HistoryQuestion, type HistoryWindow, type StorageService } from "../ports/Storage.js"
import { clampInstant, instantRange } from "../domain/Time.js"
import { noteRulesChanged, RULES_COUNTER, rulesVersionOf, transactionMemo } from "./workspace.js"


/** Compiled rule sets are cached under this counter: rules, field definitions and lifecycles bump it. */
export const rulesChanged = (storage: StorageService, workspaceId: WorkspaceId) =>
  Effect.asVoid(Effect.tap(storage.counters.increment(workspaceId, RULES_COUNTER), () => noteRulesChanged(storage, workspaceId)))

/** A workspace's rule set, and the event types some rule (even a disabled one) has as its goal. */
export interface Rules {
  readonly set: RuleSet
  readonly goals: ReadonlySet<string>
  readonly byId: ReadonlyMap<string, Rule>
}

// Per store (tests run several stores with the same workspace ids), per workspace. An entry is
// kept only once the transaction that read the rules commits: one that rolls back may have read
// rules it wrote itself, and the counter value it saw is then given again to the next change.
const cache = new WeakMap<StorageService, Map<WorkspaceId, { readonly version: number; readonly rules: Rules }>>()

const stagesOf = (workspace: Workspace) => workspace.lifecycle.stages.map((s) => s.key)

/** The workspace's rules, compiled once per change of its rules, fields or lifecycle. */
export const rulesFor = (storage: StorageService, workspace: Workspace): Effect.Effect<Rules, StorageError> =>
  Effect.gen(function* () {
    const memo = transactionMemo(storage, workspace)
    const mine = memo?.get("rules") as Rules | undefined
    if (mine !== undefined) return mine
    const version = rulesVersionOf(storage, workspace) ?? (yield* storage.counters.get(workspace.id, RULES_COUNTER))
    let perStore = cache.get(storage)
    if (perStore === undefined) {
      perStore = new Map()
      cache.set(storage, perStore)
    }
    const shared = perStore
    const hit = shared.get(workspace.id)
    if (hit !== undefined && hit.version === version) return hit.rules
    const [stored, fields] = yield* Effect.all([storage.rules.list(workspace.id), storage.fieldDefinitions.list(workspace.id, "contact")])
    const rules: Rules = {
      set: compileRules(stored, { fields, stages: stagesOf(workspace) }),
      goals: new Set(stored.flatMap((r) => (r.goal === null ? [] : [r.goal.event]))),
      byId: new Map(stored.map((r) => [r.id, r]))
    }
    memo?.set("rules", rules)
    yield* storage.afterCommit(Effect.sync(() => void shared.set(workspace.id, { version, rules })))
    return rules
  })

/** The compiled form of an enabled rule (`undefined` when it is disabled or gone). */
export const compiledRule = (rules: Rules, rule: Rule): CompiledRule | undefined => rules.set.forType(rule.on).find((c) => c.rule.id === rule.id)

const ms = DateTime.toEpochMillis

/**
 * The contact as a condition that reads `contact.rfm.*` sees it: with its RFM scores as last
 * computed (`null` when it has none). One primary-key read, made only for such conditions.
 */
export const withRfm = (storage: StorageService, workspaceId: WorkspaceId, contact: Contact): Effect.Effect<Condition.ContactView, StorageError> =>
  Effect.map(storage.snapshots.rfm(workspaceId, contact.id), (row) => ({
    ...contact,
    rfm: Option.match(row, { onNone: () => null, onSome: (r) => ({ recency: r.recency, frequency: r.frequency, monetary: r.monetary }) })
  }))

/** What a condition is evaluated on, its counts computed by storage (exactly: see `countEvents`). */
export const contextFor = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  compiled: Condition.Compiled | undefined,
  contact: Contact,
  trigger: StoredEvent,
  now: DateTime.Utc
): Effect.Effect<Condition.Context, StorageError> =>
  Effect.zipWith(
    compiled === undefined || compiled.counts.length === 0
      ? Effect.succeed<ReadonlyArray<number>>([])
      : Effect.forEach(compiled.counts, (q) => countOf(storage, workspaceId, q, contact, trigger, now)),
    compiled?.readsRfm === true ? withRfm(storage, workspaceId, contact) : Effect.succeed<Condition.ContactView>(contact),
    (counts, view) => ({ contact: view, event: trigger, now: ms(now), counts })
  )

type CountQuery = Condition.Compiled["counts"][number]

type CountWindow = HistoryWindow & { readonly types: ReadonlyArray<string> }

/**
 * The windows a condition's count reads (their counts add up): the contact's events, of its
 * types, in its window. Since the trigger, events of another type count from the trigger's own
 * millisecond on: an order stamped like the cart update (one clock tick, one emitMany batch, one
 * timestamp a shop sends for both) was placed since the cart. Events of the trigger's type count
 * only after it: the trigger never counts itself, and of two in one millisecond neither is known
 * to be the later; were each to count the other, neither rule would act. Windows are exclusive at
 * `since` and instants are whole milliseconds, so "from the millisecond on" is "since the one
 * before" (no bound at the earliest instant: nothing is stored before it).
 */
const countWindows = (q: CountQuery, contact: Contact, trigger: StoredEvent, now: DateTime.Utc): ReadonlyArray<CountWindow> => {
  const within = q.withinMillis === undefined ? [] : [ms(now) - q.withinMillis]
  const window = (types: ReadonlyArray<string>, from: ReadonlyArray<number>): CountWindow => ({
    contactId: contact.id,
    since: from.length === 0 ? undefined : clampInstant(Math.max(...from)),
    until: DateTime.max(now, trigger.occurredAt),
    types
  })
  if (!q.sinceTrigger) return [window(q.types, within)]
  const at = ms(trigger.occurredAt)
  const others = q.types.filter((type) => type !== trigger.type)
  return [
    ...(others.length === 0 ? [] : [window(others, [...within, ...(at > instantRange.earliest ? [at - 1] : [])])]),
    ...(others.length === q.types.length ? [] : [window([trigger.type], [...within, at])])
  ]
}

/** A condition's count, computed by storage (exactly: see `countEvents`). */
const countOf = (storage: StorageService, workspaceId: WorkspaceId, q: CountQuery, contact: Contact, trigger: StoredEvent, now: DateTime.Utc) => {
  const where = q.where
  const matches = where === undefined ? undefined : (event: StoredEvent) => where({ contact, event, now: ms(now), counts: [] })
  return Effect.reduce(countWindows(q, contact, trigger, now), 0, (total, window) =>
    Effect.map(countEvents(storage, workspaceId, { ...window, matches }), (n) => total + n)
  )
}

const keyOf = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : typeof value === "string" ? value : JSON.stringify(value)

/**
 * `true` when the rule may act for the contact now; otherwise why not. `pending` are firings
 * planned in the same batch and not written yet.
 */
export const limitsAllow = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  compiled: CompiledRule,
  contactId: ContactId,
  trigger: StoredEvent,
  now: DateTime.Utc,
  pending: ReadonlyArray<Firing> = []
) =>
  Effect.gen(function* () {
    const { limits, id } = compiled.rule
    const mine = pending.filter((f) => f.ruleId === id && f.contactId === contactId)
    const key = compiled.oncePer === undefined ? undefined : keyOf(compiled.oncePer(trigger))
    const hasKey = key !== undefined && !mine.some((f) => f.dedupeKey === key) && (yield* storage.firings.hasKey(workspaceId, id, contactId, key))
    const readLatest = (key === undefined || !hasKey) && (limits.oncePerContact === true || limits.cooldown !== undefined) && mine.length === 0
    const latest = readLatest ? Option.getOrUndefined(yield* storage.firings.latest(workspaceId, id, contactId))?.firedAt : undefined
    return limitsVerdict(compiled, contactId, trigger, now, pending, { hasKey, lastFiredAt: latest })
  })

/**
 * {@link limitsAllow} from what storage says: whether a stored firing of the rule for the contact
 * carries the trigger's `oncePer` key, and when the latest fired (read only when they matter).
 */
const limitsVerdict = (
  compiled: CompiledRule,
  contactId: ContactId,
  trigger: StoredEvent,
  now: DateTime.Utc,
  pending: ReadonlyArray<Firing>,
  stored: { readonly hasKey: boolean; readonly lastFiredAt: DateTime.Utc | undefined }
): true | string => {
  const { limits, id } = compiled.rule
  const mine = pending.filter((f) => f.ruleId === id && f.contactId === contactId)
  const key = compiled.oncePer === undefined ? undefined : keyOf(compiled.oncePer(trigger))
  if (key !== undefined && (mine.some((f) => f.dedupeKey === key) || stored.hasKey)) {
    return `it already acted for ${limits.oncePer} = ${JSON.stringify(key)}`
  }
  if (limits.oncePerContact !== true && limits.cooldown === undefined) return true
  const firedAt = mine[mine.length - 1]?.firedAt ?? stored.lastFiredAt
  if (firedAt === undefined) return true
  if (limits.oncePerContact === true) return `it acts once per contact, and already did on ${DateTime.formatIso(firedAt)}`
  const until = ms(firedAt) + durationMillis(limits.cooldown!)
  return until > ms(now) ? `its cooldown of ${limits.cooldown} runs until ${new Date(until).toISOString()}` : true
}

/** The timezone a contact's delays are computed in: its own, else the workspace's. */
export const timezoneOf = (workspace: Workspace, contact: Contact) => contact.timezone ?? workspace.timezone

/** The id every job of a firing's idempotency keys start with: unique per workspace, rule and event. */
const keyPrefix = (workspaceId: WorkspaceId, ruleId: string, eventId: string) => `${workspaceId}/${ruleId}/${eventId}`

/**
 * The action of a job that sends a mail rendered already (a follow-up, a double opt-in
 * confirmation): the dispatcher sends it as is and records it on the timeline.
 */
export const queuedMail = (mail: OutgoingMail, entryId: string | null, author: string | null): QueuedMail => ({
  type: "mail",
  to: mail.to,
  subject: mail.subject,
  html: mail.html ?? null,
  text: mail.text ?? null,
  headers: mail.headers ?? {},
  entryId,
  author,
  ...(mail.attachments === undefined || mail.attachments.length === 0
    ? {}
    : { attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: Encoding.encodeBase64(a.content) })) })
})

/** A pending job for the outbox (not written); the category is set when known (else when it runs). */
export const newJob = (
  workspaceId: WorkspaceId,
  fields: Pick<Job, "idempotencyKey" | "kind" | "ruleId" | "eventId" | "contactId" | "variant" | "action" | "actionIndex" | "dueAt"> &
    Partial<Pick<Job, "category">>
) =>
  Effect.gen(function* () {
    const now = yield* DateTime.now
    return new Job({
      id: JobId.make(yield* (yield* IdGenerator).next),
      workspaceId,
      category: null,
      ...fields,
      status: "pending",
      attempts: 0,
      leaseUntil: null,
      claimToken: null,
      lastError: null,
      outcome: null,
      reservedAt: null,
      createdAt: now,
      updatedAt: now,
      completedAt: null
    }, true)
  })

/** The firing of a rule for a contact now, and its action jobs, due now (not written). */
const firingOf = (workspaceId: WorkspaceId, compiled: CompiledRule, contact: Contact, trigger: StoredEvent, variant: Variant | null, now: DateTime.Utc) =>
  Effect.gen(function* () {
    const rule = compiled.rule
    const firing = new Firing(
      {
        id: yield* (yield* IdGenerator).next,
        workspaceId,
        ruleId: rule.id,
        contactId: contact.id,
        eventId: trigger.id,
        variant: variant?.key ?? null,
        dedupeKey: compiled.oncePer === undefined ? null : (keyOf(compiled.oncePer(trigger)) ?? null),
        firedAt: now,
        goalEvent: rule.goal?.event ?? null,
        goalUntil: rule.goal === null ? null : clampInstant(ms(now) + durationMillis(rule.goal.within)),
        convertedAt: null
      },
      true
    )
    const prefix = keyPrefix(workspaceId, rule.id, trigger.id)
    const jobs = yield* Effect.forEach(actionsFor(rule, variant), (action, i) =>
      newJob(workspaceId, {
        idempotencyKey: `${prefix}/${i}`,
        kind: "action",
        ruleId: rule.id,
        eventId: trigger.id,
        contactId: contact.id,
        variant: variant?.key ?? null,
        action,
        actionIndex: i,
        dueAt: now
      })
    )
    return { firing, jobs }
  })

/** Records the firing and queues one job per action, due now. Returns the jobs. */
export const fire = (storage: StorageService, workspaceId: WorkspaceId, compiled: CompiledRule, contact: Contact, trigger: StoredEvent, variant: Variant | null) =>
  Effect.gen(function* () {
    const { firing, jobs } = yield* firingOf(workspaceId, compiled, contact, trigger, variant, yield* DateTime.now)
    yield* storage.firings.insertMany([firing])
    yield* storage.jobs.insertMany(jobs)
    return jobs
  })

/**
 * Runs the workspace's rules on events just recorded, in the caller's transaction: converts
 * firings whose goal an event is, and for every enabled rule of an event's type whose `when` holds
 * and whose limits allow, queues its actions (or, for a delayed rule, a check at the end of the
 * delay). The firings and jobs of the whole batch are written together. Returns, per event, the
 * rules that acted on it.
 */
export const planForEvents = (storage: StorageService, workspace: Workspace, items: ReadonlyArray<{ readonly event: StoredEvent; readonly contact: Contact }>) =>
  Effect.gen(function* () {
    const asked = planQuestions(workspace, yield* rulesFor(storage, workspace), items, yield* DateTime.now)
    const answers = asked.questions.length === 0 ? [] : yield* storage.history(workspace.id, asked.questions)
    return yield* asked.plan(storage, answers, items.map((i) => i.contact))
  })

/**
 * What planning these events asks storage, and the planning once `answers` to those questions are
 * in: {@link planForEvents} in two steps, so that a caller can ask them with its own questions.
 * The questions name the contacts only by id: `plan` takes the contacts as they are by then (after
 * their lifecycle moved them), in the order of `items`.
 */
export const planQuestions = (
  workspace: Workspace,
  rules: Rules,
  items: ReadonlyArray<{ readonly event: StoredEvent; readonly contact: Contact }>,
  now: DateTime.Utc
) => {
  // What the rules of every event need from storage, asked at once: their conditions' counts
  // (those with a `where` are read by countEvents, see contextFor) and what their limits read.
  // Nothing the plan writes is written before its end, so the answers hold for the whole batch
  // (firings planned meanwhile are the `pending` of the limits).
  const questions: Array<HistoryQuestion> = []
  const ask = (question: HistoryQuestion) => questions.push(question) - 1
  const asked = items.map(({ event: trigger, contact }) =>
    rules.set.forType(trigger.type).map((compiled) => {
      const { limits, id } = compiled.rule
      const key = compiled.oncePer === undefined ? undefined : keyOf(compiled.oncePer(trigger))
      return {
        compiled,
        // Per count, the questions whose answers add up to it (none for a count with `where`).
        counts: (compiled.when?.counts ?? []).map((q) =>
          q.where === undefined ? countWindows(q, contact, trigger, now).map((window) => ask({ ask: "eventCount", ...window })) : undefined
        ),
        hasKey: key === undefined ? -1 : ask({ ask: "firingKey", contactId: contact.id, ruleId: id, key }),
        latest: limits.oncePerContact === true || limits.cooldown !== undefined ? ask({ ask: "lastFiring", contactId: contact.id, ruleId: id }) : -1
      }
    })
  )
  const plan = (storage: StorageService, answers: ReadonlyArray<HistoryAnswer>, contacts: ReadonlyArray<Contact>) =>
    Effect.gen(function* () {
      const firings: Array<Firing> = []
      const jobs: Array<Job> = []
      const triggered: Array<Array<Triggered>> = []
      for (const [index, { event: trigger }] of items.entries()) {
        const contact = contacts[index]!
        // Read once per event, and only when one of its rules' conditions reads contact.rfm.*.
        let rfmView: Condition.ContactView | undefined
        const acted: Array<Triggered> = []
        triggered.push(acted)
        // A firing converts when its goal event happens after it fired and before its goal's deadline.
        if (rules.goals.has(trigger.type)) {
          const at = trigger.occurredAt
          yield* storage.firings.convert(workspace.id, { contactId: contact.id, goalEvent: trigger.type, firedBy: at, openAt: at, convertedAt: at })
        }
        for (const { compiled, counts, hasKey, latest } of asked[index]!) {
          const rule = compiled.rule
          if (compiled.when !== undefined) {
            const values: Array<number> = []
            for (const [i, q] of compiled.when.counts.entries()) {
              const asked = counts[i]
              values.push(asked !== undefined ? asked.reduce((n, at) => n + answers[at]!.count, 0) : yield* countOf(storage, workspace.id, q, contact, trigger, now))
            }
            if (compiled.when.readsRfm === true && rfmView === undefined) rfmView = yield* withRfm(storage, workspace.id, contact)
            const view = compiled.when.readsRfm === true ? rfmView! : contact
            if (!compiled.when.test({ contact: view, event: trigger, now: ms(now), counts: values })) continue
          }
          const stored = { hasKey: hasKey >= 0 && answers[hasKey]!.count > 0, lastFiredAt: latest >= 0 ? answers[latest]!.times[0] : undefined }
          if (limitsVerdict(compiled, contact.id, trigger, now, firings, stored) !== true) continue
          const variant = variantFor(rule, contact.id)
          if (rule.delay === null) {
            const fired = yield* firingOf(workspace.id, compiled, contact, trigger, variant, now)
            firings.push(fired.firing)
            jobs.push(...fired.jobs)
            acted.push(new Triggered({ ruleId: rule.id, variant: variant?.key ?? null, delayed: false, dueAt: now }, true))
            continue
          }
          // Delays run from when the event happened: a cart abandoned yesterday is reminded today.
          const due = delayEnd(trigger.occurredAt, rule.delay, timezoneOf(workspace, contact))
          jobs.push(
            yield* newJob(workspace.id, {
              idempotencyKey: `${keyPrefix(workspace.id, rule.id, trigger.id)}/check`,
              kind: "check",
              ruleId: rule.id,
              eventId: trigger.id,
              contactId: contact.id,
              variant: variant?.key ?? null,
              action: null,
              actionIndex: null,
              dueAt: due
            })
          )
          acted.push(new Triggered({ ruleId: rule.id, variant: variant?.key ?? null, delayed: true, dueAt: due }, true))
        }
      }
      if (firings.length > 0) yield* storage.firings.insertMany(firings)
      if (jobs.length > 0) yield* storage.jobs.insertMany(jobs)
      return triggered as ReadonlyArray<ReadonlyArray<Triggered>>
    })
  return { questions, plan }
}
