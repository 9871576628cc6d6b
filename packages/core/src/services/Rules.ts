/**
 * Rules at run time: create, change, enable, disable, list and remove them; see what they did
 * (`stats`, per A/B variant) and what they would do (`simulate`). Every save checks the rule
 * against the workspace (paths, fields, stages, templates, custom actions) and fails with a
 * `ValidationError` naming each problem, leaving the stored rules as they were.
 *
 * @since 0.3.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Condition from "../domain/Condition.js"
import { Contact, ContactCreate, unknownSource } from "../domain/Contact.js"
import { EmitInput, StoredEvent } from "../domain/CrmEvent.js"
import { emailKey } from "../domain/Email.js"
import { Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import { identitiesOf } from "../internal/recording.js"
import { ContactId, EventId, RuleId, type SetupKey, type WorkspaceId } from "../domain/Ids.js"
import { SafeString } from "../domain/Json.js"
import { VariantStats } from "../domain/Job.js"
import { initialStage } from "../domain/LifecycleDefinition.js"
import {
  Action,
  actionsFor,
  check,
  compileRule,
  Rule,
  RuleCreate,
  type RuleRegistry,
  RuleUpdate,
  variantFor
} from "../domain/Rule.js"
import { dueAt as delayEnd } from "../domain/Schedule.js"
import { Instant } from "../domain/Time.js"
import type { Workspace } from "../domain/Workspace.js"
import { ruleAttributes } from "../internal/defaults.js"
import { workspaceLock } from "../internal/locks.js"
import { getContact, orNotFound } from "../internal/records.js"
import { contextFor, limitsAllow, rulesChanged, timezoneOf } from "../internal/rules.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { CustomActions } from "../ports/CustomActions.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { MailSettings } from "../ports/Mailer.js"
import { Storage, type StorageService } from "../ports/Storage.js"

const decodeRuleId = decodeInput(RuleId, ["ruleId"])

/**
 * Filters of `rules.list`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const RuleListOptions = Schema.Struct({
  on: Schema.optional(SafeString),
  enabled: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.3.0
 * @category models
 */
export type RuleListOptions = typeof RuleListOptions.Encoded

/**
 * What `rules.stats` returns: a rule's results per variant (one `null` variant without A/B), each
 * with its conversion rate (`null` before it fired), and overall.
 *
 * @since 0.7.0
 * @category schemas
 */
export const RuleStats = Schema.Struct({
  ruleId: Schema.String,
  variants: Schema.Array(
    Schema.Struct({
      ...VariantStats.fields,
      conversionRate: Schema.NullOr(Schema.Number).annotations({ description: "converted / fired; null before the variant fired" })
    })
  ),
  total: VariantStats
}).annotations({ identifier: "RuleStats", description: "Sends, opens and conversions per variant, and in total" })

/**
 * A rule's results: per variant (one `null` variant without A/B) and overall.
 *
 * @since 0.3.0
 * @category models
 */
export interface RuleStats extends Schema.Schema.Type<typeof RuleStats> {}

/**
 * What `rules.simulate` accepts: an event as `events.emit` takes it, and optionally a contact to
 * try it on instead of a stored one (nothing is stored either way).
 *
 * @since 0.3.0
 * @category schemas
 */
export const SimulateInput = Schema.Struct({
  event: Schema.Struct({
    id: Schema.optional(EventId),
    type: SafeString,
    contactId: Schema.optional(ContactId),
    email: Schema.optional(SafeString),
    occurredAt: Schema.optional(Schema.Unknown),
    payload: Schema.optional(Schema.Unknown)
  }),
  contact: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.3.0
 * @category models
 */
export type SimulateInput = typeof SimulateInput.Encoded

/**
 * What one rule would do with the simulated event, and why.
 *
 * @since 0.7.0
 * @category schemas
 */
export const RuleSimulation = Schema.Struct({
  ruleId: Schema.String,
  name: Schema.String,
  fires: Schema.Boolean.annotations({ description: "Whether the rule would act: queue its actions, or (delayed) a check" }),
  reason: Schema.String.annotations({ description: "In words: why it fires or not" }),
  when: Schema.NullOr(Condition.Explanation),
  unless: Schema.NullOr(Condition.Explanation).annotations({ description: "For a delayed rule, `unless` as it stands now (it is checked again when due)" }),
  variant: Schema.NullOr(Schema.String),
  delayed: Schema.Boolean,
  dueAt: Schema.NullOr(Instant),
  actions: Schema.Array(Action)
}).annotations({ identifier: "RuleSimulation" })

/**
 * What one rule would do with the simulated event, and why: `fires` (whether the rule would act:
 * queue its actions, or, delayed, a check), `reason` (in words), `unless` (for a delayed rule, as
 * it stands now: it is checked again when due).
 *
 * @since 0.3.0
 * @category models
 */
export interface RuleSimulation extends Schema.Schema.Type<typeof RuleSimulation> {}

/**
 * What `rules.simulate` returns: the contact it ran on (`storedContact`: whether it is stored, else
 * it is the one the event would create, or the one given) and every rule of the event's type.
 *
 * @since 0.7.0
 * @category schemas
 */
export const Simulation = Schema.Struct({
  contact: Contact,
  storedContact: Schema.Boolean.annotations({ description: "Whether the contact is stored (else it is the one the event would create, or the one given)" }),
  rules: Schema.Array(RuleSimulation)
}).annotations({ identifier: "Simulation", description: "What each rule would do with the event, and why (nothing is stored)" })

/**
 * The result of `rules.simulate`: the contact it ran on and every rule of the event's type.
 *
 * @since 0.3.0
 * @category models
 */
export interface Simulation extends Schema.Schema.Type<typeof Simulation> {}

const registryOf = (storage: StorageService, workspace: Workspace) =>
  Effect.gen(function* () {
    const [fields, templates] = yield* Effect.all([storage.fieldDefinitions.list(workspace.id, "contact"), storage.templates.list(workspace.id)])
    const registry: RuleRegistry = {
      fields,
      stages: workspace.lifecycle.stages.map((s) => s.key),
      templates: new Map(templates.map((t) => [t.id as string, t])),
      customActions: yield* CustomActions,
      canUnsubscribe: (yield* MailSettings).unsubscribe !== undefined
    }
    return registry
  })

const checked = (storage: StorageService, workspace: Workspace, rule: Rule) =>
  Effect.gen(function* () {
    const issues = check(rule, yield* registryOf(storage, workspace))
    if (issues.length > 0) return yield* ValidationError.fromIssues(issues, `Invalid rule "${rule.name}"`)
    return rule
  })

const rate = (converted: number, fired: number) => (fired === 0 ? null : converted / fired)

/**
 * @since 0.3.0
 * @category services
 */
export class Rules extends Effect.Service<Rules>()("@rapport/core/Rules", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const getRule = (workspaceId: WorkspaceId, id: RuleId) => orNotFound(storage.rules.get(workspaceId, id), "rule", id)

    /** Fails with `Conflict` (`unique`, field `key`) when another rule holds the key. */
    const keyFree = (workspaceId: WorkspaceId, key: SetupKey, self: RuleId) =>
      Effect.flatMap(storage.rules.getByKey(workspaceId, key), (held) =>
        Option.isSome(held) && held.value.id !== self ? Effect.fail(Conflict.unique("rule", "key", held.value.id)) : Effect.void
      )

    /** Saves a new rule (enabled unless `enabled: false`); without `id`, one is generated. */
    const create = Effect.fn("Rules.create")(function* (input: RuleCreate) {
      const data = yield* decodeInput(RuleCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const now = yield* DateTime.now
          const rule = yield* checked(
            storage,
            workspace,
            new Rule({
              id: data.id ?? RuleId.make(yield* (yield* IdGenerator).next),
              workspaceId: workspace.id,
              key: data.key ?? null,
              ...ruleAttributes(data),
              version: 1,
              createdAt: now,
              updatedAt: now
            })
          )
          if (rule.key !== null) yield* keyFree(workspace.id, rule.key, rule.id)
          yield* storage.rules.insert(rule)
          yield* rulesChanged(storage, workspace.id)
          return rule
        })
      )
    })

    /** The rule, or `NotFound`. */
    const get = Effect.fn("Rules.get")(function* (ruleId: string) {
      const id = yield* decodeRuleId(ruleId)
      return yield* getRule((yield* readWorkspace(storage)).id, id)
    })

    /**
     * Changes a rule, checked like a new one; a stale `expectedVersion` fails with `Conflict`.
     * Jobs already queued run with the rule as it is when they fall due.
     */
    const update = Effect.fn("Rules.update")(function* (ruleId: string, input: RuleUpdate) {
      const id = yield* decodeRuleId(ruleId)
      const data = yield* decodeInput(RuleUpdate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          const current = yield* getRule(workspace.id, id)
          if (data.expectedVersion !== current.version) return yield* Conflict.version("rule", id, data.expectedVersion, current.version)
          const { expectedVersion: _, ...changes } = data
          const next = yield* checked(
            storage,
            workspace,
            new Rule({
              ...current,
              ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)),
              version: current.version + 1,
              updatedAt: yield* DateTime.now
            })
          )
          if (next.key !== null && next.key !== current.key) yield* keyFree(workspace.id, next.key, next.id)
          yield* storage.rules.update(next, current.version)
          yield* rulesChanged(storage, workspace.id)
          return next
        })
      )
    })

    const setEnabled = (ruleId: string, enabled: boolean) =>
      Effect.gen(function* () {
        const current = yield* get(ruleId)
        return current.enabled === enabled ? current : yield* update(ruleId, { expectedVersion: current.version, enabled })
      })

    /** Turns a rule on (a no-op when it is on). */
    const enable = Effect.fn("Rules.enable")((ruleId: string) => setEnabled(ruleId, true))

    /** Turns a rule off: it no longer reacts, and its queued checks are skipped when due. */
    const disable = Effect.fn("Rules.disable")((ruleId: string) => setEnabled(ruleId, false))

    /** Deletes a rule; its queued jobs are skipped when due. */
    const remove = Effect.fn("Rules.remove")(function* (ruleId: string) {
      const id = yield* decodeRuleId(ruleId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          if (!(yield* storage.rules.remove(workspaceId, id))) return yield* NotFound.of("rule", id)
          yield* rulesChanged(storage, workspaceId)
        })
      )
    })

    /** The workspace's rules in id order, optionally of one event type or state. */
    const list = Effect.fn("Rules.list")(function* (options: RuleListOptions = {}) {
      const query = yield* decodeInput(RuleListOptions)(options)
      const rules = yield* storage.rules.list((yield* readWorkspace(storage)).id)
      return rules.filter((r) => (query.on === undefined || r.on === query.on) && (query.enabled === undefined || r.enabled === query.enabled))
    })

    /** How often the rule fired, sent mail, had its mail opened and converted, per variant and overall. */
    const stats = Effect.fn("Rules.stats")(function* (ruleId: string) {
      const id = yield* decodeRuleId(ruleId)
      const workspaceId = (yield* readWorkspace(storage)).id
      const rule = yield* getRule(workspaceId, id)
      // A rule's mail counts as sent once its sendEmail job is done.
      const [firings, sent] = yield* Effect.all([
        storage.firings.stats(workspaceId, id),
        storage.jobs.countByVariant(workspaceId, { ruleId: id, statuses: ["done"], actionTypes: ["sendEmail"] })
      ])
      const keys = [...new Set<string | null>([...(rule.variants ?? []).map((v) => v.key), ...firings.map((f) => f.variant), ...sent.map((s) => s.variant)])]
      const variants = (keys.length === 0 ? [null] : keys).map((variant) => {
        const f = firings.find((x) => x.variant === variant)
        const fired = f?.fired ?? 0
        const converted = f?.converted ?? 0
        const mails = sent.find((x) => x.variant === variant)
        return { variant, fired, sent: mails?.count ?? 0, opened: mails?.opened ?? 0, converted, conversionRate: rate(converted, fired) }
      })
      const total = variants.reduce(
        (t, v) => ({ variant: null, fired: t.fired + v.fired, sent: t.sent + v.sent, opened: t.opened + v.opened, converted: t.converted + v.converted }),
        { variant: null, fired: 0, sent: 0, opened: 0, converted: 0 } as VariantStats
      )
      return { ruleId: id, variants, total } satisfies RuleStats
    })

    /** The contact a simulation runs on: the one given, the stored one, or the one the event would create. */
    const simulatedContact = (workspace: Workspace, data: typeof SimulateInput.Type, event: typeof EmitInput.Type) =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        if (data.contact === undefined) {
          if (event.contactId !== undefined) return { contact: yield* getContact(storage, workspace.id, event.contactId), stored: true }
          const known = yield* storage.contacts.findByEmail(workspace.id, emailKey(event.email!))
          if (Option.isSome(known)) return { contact: known.value, stored: true }
        }
        const given = yield* decodeInput(ContactCreate, ["contact"])(data.contact ?? { email: event.email, ...(event.contact ?? {}) })
        const identities = identitiesOf(given, undefined, ["contact"])
        if (identities.issues.length > 0) return yield* ValidationError.fromIssues(identities.issues)
        const contact = new Contact({
          id: ContactId.make(yield* (yield* IdGenerator).next),
          workspaceId: workspace.id,
          email: identities.email,
          firstName: given.firstName ?? null,
          lastName: given.lastName ?? null,
          phone: identities.phone,
          emails: identities.emails,
          phones: identities.phones,
          companyId: given.companyId ?? null,
          source: given.source ?? unknownSource,
          firstSeenAt: given.firstSeenAt ?? now,
          stage: given.stage ?? initialStage(workspace.lifecycle),
          tags: given.tags ?? [],
          ownerId: given.ownerId ?? null,
          score: given.score ?? 0,
          timezone: given.timezone ?? null,
          fields: (given.fields ?? {}) as Contact["fields"],
          version: 1,
          createdAt: now,
          updatedAt: now
        })
        return { contact, stored: false }
      })

    /**
     * What the rules of an event's type would do with it, and why, without storing or sending
     * anything: each rule's `when` explained node by node, its limits, its variant, when a delayed
     * rule would be checked again and (as of now) whether its `unless` holds. Counts include the
     * simulated event as if it were stored.
     */
    const simulate = Effect.fn("Rules.simulate")(function* (input: SimulateInput) {
      const data = yield* decodeInput(SimulateInput)(input)
      const event = yield* decodeInput(EmitInput, ["event"])(data.event)
      const workspace = yield* readWorkspace(storage)
      const { contact, stored } = yield* simulatedContact(workspace, data, event)
      const now = yield* DateTime.now
      const trigger = new StoredEvent({
        id: event.id ?? EventId.make("simulated"),
        workspaceId: workspace.id,
        type: event.type,
        contactId: contact.id,
        occurredAt: event.occurredAt ?? now,
        receivedAt: now,
        payload: event.payload ?? {}
      })
      const fields = yield* storage.fieldDefinitions.list(workspace.id, "contact")
      const registry = { fields, stages: workspace.lifecycle.stages.map((s) => s.key), event: true }
      const rules = (yield* storage.rules.list(workspace.id)).filter((r) => r.on === event.type)
      const results: Array<RuleSimulation> = []
      for (const rule of rules) {
        const compiled = compileRule(rule, registry)
        const contextOf = (condition: Condition.Compiled) =>
          Effect.map(stored ? contextFor(storage, workspace.id, condition, contact, trigger, now) : Effect.succeed({ contact, event: trigger, now: DateTime.toEpochMillis(now), counts: condition.counts.map(() => 0) }), (context) => ({
            ...context,
            // The simulated event is not stored: count it where it would count.
            counts: condition.counts.map((q, i) => {
              const since = [...(q.withinMillis === undefined ? [] : [DateTime.toEpochMillis(now) - q.withinMillis])]
              const inWindow = q.types.includes(trigger.type) && !q.sinceTrigger && since.every((s) => DateTime.toEpochMillis(trigger.occurredAt) > s)
              const counted = inWindow && (q.where === undefined || q.where({ contact, event: trigger, now: context.now, counts: [] }))
              return (context.counts[i] ?? 0) + (counted ? 1 : 0)
            })
          }))
        const when = rule.when === null || compiled.when === undefined ? null : Condition.explain(rule.when, registry, yield* contextOf(compiled.when))
        const unless = rule.unless === null || compiled.unless === undefined ? null : Condition.explain(rule.unless, registry, yield* contextOf(compiled.unless))
        const limits = stored ? yield* limitsAllow(storage, workspace.id, compiled, contact.id, trigger, now) : (true as const)
        const variant = variantFor(rule, contact.id)
        const delayed = rule.delay !== null
        const fires = rule.enabled && (when === null || when.holds) && limits === true
        const reason = !rule.enabled
          ? "the rule is disabled"
          : when !== null && !when.holds
            ? "its \"when\" does not hold"
            : limits !== true
              ? `its limits stop it: ${limits}`
              : delayed
                ? `it would check again at the end of its delay${unless?.holds === true ? ", and as of now its \"unless\" holds (it would not act)" : ""}`
                : "it would act at once"
        results.push({
          ruleId: rule.id,
          name: rule.name,
          fires,
          reason,
          when,
          unless,
          variant: variant?.key ?? null,
          delayed,
          dueAt: fires ? (delayed ? delayEnd(trigger.occurredAt, rule.delay!, timezoneOf(workspace, contact)) : now) : null,
          actions: actionsFor(rule, variant)
        })
      }
      return { contact, storedContact: stored, rules: results } satisfies Simulation
    })

    return {
      /** Saves a rule (checked against the workspace's fields, stages, templates and actions). */
      create,
      /** The rule, or a `RapportNotFoundError`. */
      get,
      /** Changes a rule; `expectedVersion` is the version you read. */
      update,
      /** Turns a rule on. */
      enable,
      /** Turns a rule off (its queued checks are skipped). */
      disable,
      /** Deletes a rule. */
      remove,
      /** The rules, optionally of one event type or state. */
      list,
      /** Fired, sent and converted, per A/B variant. */
      stats,
      /** What the rules would do with an event, and why, without doing it. */
      simulate
    } as const
  })
}) {}
