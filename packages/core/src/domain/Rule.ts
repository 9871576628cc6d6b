/**
 * Rules as data: "when an event of type `on` happens, if `when` holds, do `actions`" — at once,
 * or after a `delay`, re-checking `when` and `unless` on the contact as it is then. Rules are JSON,
 * created and edited at run time, checked when saved, and compiled once into predicates indexed
 * by event type ({@link RuleSet}).
 *
 * ```json
 * { "id": "abandoned-cart", "name": "Cart reminder at D+1", "on": "cart.abandoned",
 *   "delay": "1 day",
 *   "unless": { "count": { "event": "order.placed", "sinceTrigger": true }, "op": "gte", "value": 1 },
 *   "limits": { "oncePer": "event.payload.cartId" },
 *   "actions": [{ "type": "sendEmail", "template": "…" }] }
 * ```
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import * as Condition from "./Condition.js"
import { Tag } from "./Contact.js"
import type { ValidationIssue } from "./Errors.js"
import { type FieldDefinition, valueSchema } from "./FieldDefinition.js"
import { RuleId, SetupKey, TemplateId, WorkspaceId } from "./Ids.js"
import { JsonObject, JsonValue, nullByDefault, SafeString, Text } from "./Json.js"
import { EventType, StageKey } from "./LifecycleDefinition.js"
import { Purpose } from "./Consent.js"
import { Delay, DurationString } from "./Schedule.js"
import { Channel } from "./Task.js"
import type { Template } from "./Template.js"
import { Instant } from "./Time.js"
import * as ParseResult from "effect/ParseResult"
import * as Either from "effect/Either"

const Owner = Text(200)

/**
 * Sends a templated email to the contact. Marketing templates need the contact's consent for
 * `purpose` (default `marketing`) and respect the frequency cap; transactional ones always go.
 * `transactional: true` asserts the template is transactional (saving fails otherwise).
 *
 * @since 0.3.0
 * @category schemas
 */
export const SendEmail = Schema.Struct({
  type: Schema.Literal("sendEmail"),
  template: TemplateId,
  transactional: Schema.optional(Schema.Boolean),
  purpose: Schema.optional(Purpose)
})

/**
 * Moves the contact to a lifecycle stage (refused, and dead-lettered, if it lacks required fields).
 *
 * @since 0.3.0
 * @category schemas
 */
export const SetStage = Schema.Struct({ type: Schema.Literal("setStage"), stage: StageKey })

/**
 * Adds a tag to the contact.
 *
 * @since 0.3.0
 * @category schemas
 */
export const AddTag = Schema.Struct({ type: Schema.Literal("addTag"), tag: Tag })

/**
 * Removes a tag from the contact.
 *
 * @since 0.3.0
 * @category schemas
 */
export const RemoveTag = Schema.Struct({ type: Schema.Literal("removeTag"), tag: Tag })

/**
 * Sets a custom field of the contact (`null` removes the value); checked against the field's
 * definition when the rule is saved and again when it runs.
 *
 * @since 0.3.0
 * @category schemas
 */
export const SetField = Schema.Struct({ type: Schema.Literal("setField"), key: Schema.String, value: Schema.NullOr(JsonValue) })

/**
 * Creates a follow-up task for the contact, due after `due` (at once when not given). The title
 * and note may use placeholders (`{{ contact.firstName }}`, `{{ event.payload.quoteRef }}`).
 * With a `purpose` (since 0.7.0), the task counts towards that purpose's pressure cap, and one
 * the cap holds back waits until the window frees.
 *
 * @since 0.3.0
 * @category schemas
 */
export const CreateTask = Schema.Struct({
  type: Schema.Literal("createTask"),
  title: Text(300),
  due: Schema.optional(Delay),
  channel: Schema.optional(Channel),
  ownerId: Schema.optional(Owner),
  note: Schema.optional(Text(2000)),
  purpose: Schema.optional(Purpose)
})

/**
 * Adds `by` (negative to subtract) to the contact's score, which stays between
 * `Number.MIN_SAFE_INTEGER` and `Number.MAX_SAFE_INTEGER` (it saturates there).
 *
 * @since 0.3.0
 * @category schemas
 */
export const AdjustScore = Schema.Struct({
  type: Schema.Literal("adjustScore"),
  by: Schema.Int.pipe(Schema.between(-1_000_000, 1_000_000))
})

/**
 * Gives the contact an owner: the next of `roundRobin` in turn, or the `owner` of the first
 * `byCondition` entry whose condition holds (`otherwise` when none does). A contact that already
 * has an owner keeps it unless `overwrite` is true.
 *
 * @since 0.3.0
 * @category schemas
 */
export const AssignOwner = Schema.Struct({
  type: Schema.Literal("assignOwner"),
  roundRobin: Schema.optional(Schema.NonEmptyArray(Owner)),
  byCondition: Schema.optional(Schema.NonEmptyArray(Schema.Struct({ when: Condition.Condition, owner: Owner }))),
  otherwise: Schema.optional(Owner),
  overwrite: Schema.optional(Schema.Boolean)
}).pipe(
  Schema.filter((a) =>
    (a.roundRobin === undefined) !== (a.byCondition === undefined) || { path: ["roundRobin"], message: 'give either "roundRobin" or "byCondition"' }
  )
)

/**
 * Runs an action the host app registered under `name`, with `params` checked against the Schema
 * it registered.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Custom = Schema.Struct({
  type: Schema.Literal("custom"),
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/, { message: () => "must be an action name such as notifySlack" })),
  params: Schema.optional(JsonObject)
})

/**
 * One thing a rule does.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Action = Schema.Union(SendEmail, SetStage, AddTag, RemoveTag, SetField, CreateTask, AdjustScore, AssignOwner, Custom).annotations({
  identifier: "Action"
})

/**
 * @since 0.3.0
 * @category models
 */
export type Action = typeof Action.Type

/**
 * One arm of an A/B test: contacts are split between variants by weight, deterministically (the
 * same contact always gets the same variant of a rule).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Variant = Schema.Struct({
  key: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { message: () => "must be a short key such as A, B or control" })),
  weight: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  actions: Schema.Array(Action)
})

/**
 * @since 0.3.0
 * @category models
 */
export type Variant = typeof Variant.Type

/**
 * What counts as a conversion: the contact emits `event` within `within` of the rule firing.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Goal = Schema.Struct({ event: EventType, within: DurationString })

/**
 * How often a rule may act for one contact: once ever, once per `cooldown`, once per value of
 * a path (`event.payload.cartId`: one reminder per cart).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Limits = Schema.Struct({
  oncePerContact: Schema.optional(Schema.Boolean),
  cooldown: Schema.optional(DurationString),
  oncePer: Schema.optional(SafeString)
})

/**
 * @since 0.3.0
 * @category models
 */
export type Limits = typeof Limits.Type

/**
 * A stored rule.
 *
 * @since 0.3.0
 * @category models
 */
export class Rule extends Schema.Class<Rule>("Rule")({
  id: RuleId,
  workspaceId: WorkspaceId,
  /** The app's stable key for it (see `crm.setup`), unique in the workspace; `null` when it has none. */
  key: nullByDefault(SetupKey),
  name: Schema.String,
  /** The event type the rule reacts to. */
  on: EventType,
  when: Schema.NullOr(Condition.Condition),
  unless: Schema.NullOr(Condition.Condition),
  delay: Schema.NullOr(Delay),
  /** Run for every contact; a variant's actions run after them. */
  actions: Schema.Array(Action),
  variants: Schema.NullOr(Schema.Array(Variant)),
  goal: Schema.NullOr(Goal),
  limits: Limits,
  enabled: Schema.Boolean,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

const RuleFields = {
  name: Text(200),
  on: EventType,
  when: Condition.Condition,
  unless: Condition.Condition,
  delay: Delay,
  actions: Schema.Array(Action),
  variants: Schema.Array(Variant).pipe(Schema.minItems(2, { message: () => "an A/B test needs at least two variants" })),
  goal: Goal,
  limits: Limits,
  enabled: Schema.Boolean
}

/**
 * What `rules.create` accepts. Without `id`, one is generated.
 *
 * @since 0.3.0
 * @category schemas
 */
export const RuleCreate = Schema.Struct({
  id: Schema.optional(RuleId),
  /** A stable key chosen by the app (see `crm.setup`), unique in the workspace. */
  key: Schema.optional(SetupKey),
  name: RuleFields.name,
  on: RuleFields.on,
  when: Schema.optional(RuleFields.when),
  unless: Schema.optional(RuleFields.unless),
  delay: Schema.optional(RuleFields.delay),
  actions: Schema.optional(RuleFields.actions),
  variants: Schema.optional(RuleFields.variants),
  goal: Schema.optional(RuleFields.goal),
  limits: Schema.optional(RuleFields.limits),
  enabled: Schema.optional(RuleFields.enabled)
})

/**
 * @since 0.3.0
 * @category models
 */
export type RuleCreate = typeof RuleCreate.Encoded

/**
 * What `rules.update` accepts: the version read, and what changes (`null` clears an optional
 * part). Queued delayed actions use the rule as it is when they fall due.
 *
 * @since 0.3.0
 * @category schemas
 */
export const RuleUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  /** Gives the rule a stable key (`null` removes it). */
  key: Schema.optional(Schema.NullOr(SetupKey)),
  name: Schema.optional(RuleFields.name),
  on: Schema.optional(RuleFields.on),
  when: Schema.optional(Schema.NullOr(RuleFields.when)),
  unless: Schema.optional(Schema.NullOr(RuleFields.unless)),
  delay: Schema.optional(Schema.NullOr(RuleFields.delay)),
  actions: Schema.optional(RuleFields.actions),
  variants: Schema.optional(Schema.NullOr(RuleFields.variants)),
  goal: Schema.optional(Schema.NullOr(RuleFields.goal)),
  limits: Schema.optional(RuleFields.limits),
  enabled: Schema.optional(RuleFields.enabled)
})

/**
 * @since 0.3.0
 * @category models
 */
export type RuleUpdate = typeof RuleUpdate.Encoded

/**
 * What a rule did with an emitted event: queued its actions (`dueAt` is then), or, for a delayed
 * rule, a check that runs them at `dueAt` if its conditions still hold.
 *
 * @since 0.3.0
 * @category models
 */
export class Triggered extends Schema.Class<Triggered>("Triggered")({
  ruleId: RuleId,
  variant: Schema.NullOr(Schema.String),
  delayed: Schema.Boolean,
  dueAt: Instant
}) {}

// ---------------------------------------------------------------------------------------------
// Checks on save

/**
 * A custom action the host app registered: its name and the Schema of its parameters.
 *
 * @since 0.3.0
 * @category models
 */
export interface CustomActionSpec {
  readonly params: Schema.Schema<any, any>
}

/**
 * What a rule is checked against when saved.
 *
 * @since 0.3.0
 * @category models
 */
export interface RuleRegistry {
  readonly fields: ReadonlyArray<FieldDefinition>
  readonly stages: ReadonlyArray<string>
  readonly templates: ReadonlyMap<string, Template>
  readonly customActions: ReadonlyMap<string, CustomActionSpec>
  /** Whether unsubscribe links can be made (marketing mail needs them). */
  readonly canUnsubscribe: boolean
}

type Path = ReadonlyArray<string | number>

const conditionRegistry = (registry: RuleRegistry, event: boolean): Condition.Registry => ({ fields: registry.fields, stages: registry.stages, event })

const checkAction = (action: Action, registry: RuleRegistry, path: Path): ReadonlyArray<ValidationIssue> => {
  const at = (key: string, message: string): ValidationIssue => ({ path: [...path, key], message })
  switch (action.type) {
    case "sendEmail": {
      const template = registry.templates.get(action.template)
      if (template === undefined) return [at("template", `no template with id "${action.template}" in this workspace`)]
      if (action.transactional === true && template.purpose !== "transactional") {
        return [at("transactional", `template "${template.name}" is a marketing template; make it transactional or drop "transactional"`)]
      }
      if (template.purpose === "marketing" && !registry.canUnsubscribe) {
        return [at("template", `"${template.name}" is a marketing template, and marketing mail needs unsubscribe links: configure the unsubscribe URL and secret (mail settings) first`)]
      }
      return []
    }
    case "setStage":
      return registry.stages.includes(action.stage) ? [] : [at("stage", `unknown stage "${action.stage}"; stages are ${registry.stages.join(", ")}`)]
    case "setField": {
      const def = registry.fields.find((d) => d.key === action.key)
      if (def === undefined) return [at("key", `no contact field "${action.key}" is defined`)]
      if (action.value === null) return []
      const decoded = Schema.decodeUnknownEither(valueSchema(def))(action.value)
      return Either.isLeft(decoded) ? [at("value", ParseResult.TreeFormatter.formatErrorSync(decoded.left))] : []
    }
    case "assignOwner":
      return (action.byCondition ?? []).flatMap((entry, i) => Condition.check(entry.when, conditionRegistry(registry, true), [...path, "byCondition", i, "when"]))
    case "custom": {
      const spec = registry.customActions.get(action.name)
      if (spec === undefined) {
        const known = [...registry.customActions.keys()]
        return [at("name", `no custom action "${action.name}" is registered${known.length === 0 ? "" : ` (registered: ${known.join(", ")})`}`)]
      }
      const decoded = Schema.decodeUnknownEither(spec.params, { errors: "all", onExcessProperty: "error" })(action.params ?? {})
      return Either.isLeft(decoded)
        ? ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => ({ path: [...path, "params", ...i.path.map((p) => (typeof p === "number" ? p : String(p)))], message: i.message }))
        : []
    }
    default:
      return []
  }
}

/**
 * The limit path's problem, if any: `oncePer` must name an event value.
 *
 * @since 0.3.0
 * @category utils
 */
export const oncePerProblem = (path: string): string | undefined => {
  const problem = Condition.pathProblem(path)
  if (problem !== undefined) return problem
  return path.startsWith("event.") ? undefined : `must be an event path such as "event.payload.cartId" (one action per value of it)`
}

/**
 * Every problem of a rule against the workspace: bad paths in its conditions, unknown templates,
 * stages, fields or custom actions, parameters that do not fit. Empty when it can be saved.
 *
 * @since 0.3.0
 * @category utils
 */
export const check = (
  rule: Pick<Rule, "when" | "unless" | "actions" | "variants" | "limits" | "delay">,
  registry: RuleRegistry
): ReadonlyArray<ValidationIssue> => {
  const issues: Array<ValidationIssue> = []
  if (rule.when !== null) issues.push(...Condition.check(rule.when, conditionRegistry(registry, true), ["when"]))
  if (rule.unless !== null) issues.push(...Condition.check(rule.unless, conditionRegistry(registry, true), ["unless"]))
  rule.actions.forEach((action, i) => issues.push(...checkAction(action, registry, ["actions", i])))
  const keys = new Set<string>()
  rule.variants?.forEach((variant, v) => {
    if (keys.has(variant.key)) issues.push({ path: ["variants", v, "key"], message: `variant "${variant.key}" appears twice` })
    keys.add(variant.key)
    variant.actions.forEach((action, i) => issues.push(...checkAction(action, registry, ["variants", v, "actions", i])))
  })
  if (rule.actions.length === 0 && (rule.variants === null || rule.variants.every((v) => v.actions.length === 0))) {
    issues.push({ path: ["actions"], message: "a rule needs at least one action (in actions, or in its variants)" })
  }
  if (rule.limits.oncePer !== undefined) {
    const problem = oncePerProblem(rule.limits.oncePer)
    if (problem !== undefined) issues.push({ path: ["limits", "oncePer"], message: problem })
  }
  if (rule.unless !== null && rule.delay === null) {
    issues.push({ path: ["unless"], message: '"unless" is checked when a delayed rule falls due: give a "delay", or put the condition in "when" as { "not": … }' })
  }
  return issues
}

// ---------------------------------------------------------------------------------------------
// Variants

/**
 * FNV-1a, 32 bits: a stable hash, the same on every machine and version.
 *
 * @since 0.3.0
 * @category utils
 */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The variant a contact gets: chosen by a hash of the rule and the contact, in proportion to the
 * weights; always the same for the same rule id, contact and variants. `null` without variants.
 *
 * @since 0.3.0
 * @category utils
 */
export const variantFor = (rule: Pick<Rule, "id" | "variants">, contactId: string): Variant | null => {
  if (rule.variants === null || rule.variants.length === 0) return null
  const total = rule.variants.reduce((n, v) => n + (v.weight ?? 1), 0)
  let point = hash32(`${rule.id}\u0000${contactId}`) % total
  for (const variant of rule.variants) {
    point -= variant.weight ?? 1
    if (point < 0) return variant
  }
  return rule.variants[rule.variants.length - 1]!
}

/**
 * The actions a firing runs, in order: the rule's, then its variant's.
 *
 * @since 0.3.0
 * @category utils
 */
export const actionsFor = (rule: Pick<Rule, "actions">, variant: Variant | null): ReadonlyArray<Action> =>
  variant === null ? rule.actions : [...rule.actions, ...variant.actions]

// ---------------------------------------------------------------------------------------------
// Compiled rule sets

/**
 * A rule with its conditions compiled.
 *
 * @since 0.3.0
 * @category models
 */
export interface CompiledRule {
  readonly rule: Rule
  readonly when: Condition.Compiled | undefined
  readonly unless: Condition.Compiled | undefined
  /** Reads the `oncePer` value of an event, when the rule has that limit. */
  readonly oncePer: ((event: Condition.EventView) => unknown) | undefined
  /** Counts its `when` reads, so the caller can skip the storage round trip when there are none. */
  readonly needsCounts: boolean
}

/**
 * A workspace's enabled rules, compiled once and indexed by event type.
 *
 * @since 0.3.0
 * @category models
 */
export interface RuleSet {
  /** The enabled rules that react to an event type, in id order. */
  readonly forType: (eventType: string) => ReadonlyArray<CompiledRule>
  readonly size: number
}

const NONE: ReadonlyArray<CompiledRule> = []

/**
 * Compiles one rule.
 *
 * @since 0.3.0
 * @category constructors
 */
export const compileRule = (rule: Rule, registry: Pick<RuleRegistry, "fields" | "stages">): CompiledRule => {
  const conditions: Condition.Registry = { fields: registry.fields, stages: registry.stages, event: true }
  const when = rule.when === null ? undefined : Condition.compile(rule.when, conditions)
  const unless = rule.unless === null ? undefined : Condition.compile(rule.unless, conditions)
  const segments = rule.limits.oncePer?.split(".").slice(1)
  const oncePer =
    segments === undefined
      ? undefined
      : (event: Condition.EventView) =>
          segments.reduce<unknown>((v, s) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[s] : undefined), event)
  return { rule, when, unless, oncePer, needsCounts: (when?.counts.length ?? 0) > 0 }
}

/**
 * Compiles rules into a {@link RuleSet}: disabled rules are left out, the rest indexed by the event
 * type they react to.
 *
 * @since 0.3.0
 * @category constructors
 */
export const compileRules = (rules: ReadonlyArray<Rule>, registry: Pick<RuleRegistry, "fields" | "stages">): RuleSet => {
  const byType = new Map<string, Array<CompiledRule>>()
  let size = 0
  for (const rule of [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!rule.enabled) continue
    const list = byType.get(rule.on) ?? []
    list.push(compileRule(rule, registry))
    byType.set(rule.on, list)
    size++
  }
  return { forType: (type) => byType.get(type) ?? NONE, size }
}

/**
 * Whether a compiled rule's `when` holds (rules without one always match).
 *
 * @since 0.3.0
 * @category utils
 */
export const matches = (compiled: CompiledRule, context: Condition.Context): boolean => compiled.when === undefined || compiled.when.test(context)

/**
 * What a rule depends on: the contact fields its conditions and actions use, the templates it
 * sends, the stages it moves to or compares with. A field, template or stage still used by a rule
 * cannot be removed.
 *
 * @since 0.3.0
 * @category utils
 */
export const referencesOf = (
  rule: Pick<Rule, "when" | "unless" | "actions" | "variants">
): { readonly fields: ReadonlySet<string>; readonly templates: ReadonlySet<string>; readonly stages: ReadonlySet<string> } => {
  const fields = new Set<string>()
  const templates = new Set<string>()
  const stages = new Set<string>()
  const visit = (condition: Condition.Condition): void => {
    if ("all" in condition) return condition.all.forEach(visit)
    if ("any" in condition) return condition.any.forEach(visit)
    if ("not" in condition) return visit(condition.not)
    if ("count" in condition) return condition.count.where === undefined ? undefined : visit(condition.count.where)
    const [root, first, key] = condition.path.split(".")
    if (root === "contact" && first === "fields" && key !== undefined) fields.add(key)
    if (condition.path === "contact.stage" && "op" in condition && condition.value !== undefined) {
      for (const v of Array.isArray(condition.value) ? condition.value : [condition.value]) if (typeof v === "string") stages.add(v)
    }
  }
  if (rule.when !== null) visit(rule.when)
  if (rule.unless !== null) visit(rule.unless)
  for (const action of [...rule.actions, ...(rule.variants ?? []).flatMap((v) => v.actions)]) {
    if (action.type === "sendEmail") templates.add(action.template)
    if (action.type === "setStage") stages.add(action.stage)
    if (action.type === "setField") fields.add(action.key)
    if (action.type === "assignOwner") action.byCondition?.forEach((entry) => visit(entry.when))
  }
  return { fields, templates, stages }
}
