/**
 * Set-up as code: what an app declares its CRM to be (custom fields, lifecycle, pipelines,
 * templates, rules), and the plan `crm.setup` answers with. Templates and rules are found again
 * by the stable `key` the app gives them, fields by entity and key, pipelines by name.
 *
 * ```ts
 * await crm.setup({
 *   fields: [{ key: "siret", type: "text", required: { fromStage: "customer" } }],
 *   lifecycle: { preset: "classic" },
 *   templates: [{ key: "welcome", name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello!" }],
 *   rules: [{ key: "welcome", name: "Welcome mail", on: "signup.completed", actions: [{ type: "sendEmail", templateKey: "welcome" }] }]
 * })
 * ```
 *
 * @since 0.7.0
 */
import * as Schema from "effect/Schema"
import { FieldDefinitionInput } from "./FieldDefinition.js"
import { SetupKey } from "./Ids.js"
import { LifecycleDefinition, PresetName } from "./LifecycleDefinition.js"
import { PipelineCreate } from "./Pipeline.js"
import { Action, RuleCreate, SendEmail, Variant } from "./Rule.js"
import { TemplateCreate, TemplateLocale, TemplateVariantInput } from "./Template.js"

/**
 * In a declared rule, a `sendEmail` action may name its template by the key the same
 * declaration (or an earlier one) gave it, instead of its id.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SendEmailByKey = Schema.Struct({
  type: Schema.Literal("sendEmail"),
  templateKey: SetupKey,
  transactional: SendEmail.fields.transactional,
  purpose: SendEmail.fields.purpose
})

/**
 * An action of a declared rule: any rule action, or a `sendEmail` naming its template by key.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupRuleAction = Schema.Union(SendEmailByKey, Action)

/**
 * @since 0.7.0
 * @category models
 */
export type SetupRuleAction = typeof SetupRuleAction.Type

/**
 * An A/B variant of a declared rule (its actions may name templates by key).
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupVariant = Schema.Struct({ ...Variant.fields, actions: Schema.Array(SetupRuleAction) })

const { id: _id, key: _key, actions: _actions, variants: _variants, ...ruleFields } = RuleCreate.fields

/**
 * A declared rule: what `rules.create` takes, with a required `key` and without `id`.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupRule = Schema.Struct({
  key: SetupKey,
  ...ruleFields,
  actions: Schema.optional(Schema.Array(SetupRuleAction)),
  variants: Schema.optional(Schema.Array(SetupVariant).pipe(Schema.minItems(2, { message: () => "an A/B test needs at least two variants" })))
})

/**
 * @since 0.7.0
 * @category models
 */
export type SetupRule = typeof SetupRule.Encoded

const { key: _templateKey, ...templateFields } = TemplateCreate.from.fields
const { expectedVersion: _expectedVersion, ...variantFields } = TemplateVariantInput.from.fields

/**
 * A declared template: what `templates.create` takes, with a required `key`, and its locale
 * variants by locale (`{ "fr": { "subject": …, "text": … } }`, what `templates.setLocale` takes).
 * A template declared without `locales` has none.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupTemplate = Schema.Struct({
  key: SetupKey,
  ...templateFields,
  locales: Schema.optional(Schema.Record({ key: TemplateLocale, value: Schema.Struct(variantFields) }))
})

/**
 * @since 0.7.0
 * @category models
 */
export type SetupTemplate = typeof SetupTemplate.Encoded

/**
 * The declared lifecycle: a preset by name, or a whole definition.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupLifecycle = Schema.Union(Schema.Struct({ preset: PresetName }), Schema.Struct({ definition: LifecycleDefinition }))

/**
 * What `crm.setup` takes. Every part is optional: a part left out is not looked at (and not
 * pruned). Omitted attributes of a declared item take the defaults a new item would get, so the
 * result does not depend on what was stored before (a field's and a pipeline's `position`
 * default to their place in the declared list).
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupDeclaration = Schema.Struct({
  /** Custom field definitions, found by entity and key. */
  fields: Schema.optional(Schema.Array(FieldDefinitionInput)),
  /** The lifecycle. */
  lifecycle: Schema.optional(SetupLifecycle),
  /** Pipelines, found by name. */
  pipelines: Schema.optional(Schema.Array(PipelineCreate)),
  /** Email templates, found by key. */
  templates: Schema.optional(Schema.Array(SetupTemplate)),
  /** Rules, found by key. */
  rules: Schema.optional(Schema.Array(SetupRule)),
  /**
   * Also delete what the declared parts do not list: fields and pipelines, and templates and
   * rules that have a key (those made at run time, without one, are left alone). Refused like a
   * removal by hand when stored data still uses it.
   */
  prune: Schema.optional(Schema.Boolean),
  /** Work the plan out and check it, then roll everything back: nothing is stored. */
  dryRun: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.7.0
 * @category models
 */
export type SetupDeclaration = typeof SetupDeclaration.Encoded

/**
 * The kinds of things a declaration sets up.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupKind = Schema.Literal("lifecycle", "field", "pipeline", "template", "rule")

/**
 * @since 0.7.0
 * @category models
 */
export type SetupKind = typeof SetupKind.Type

/**
 * What the setup does (or, in a dry run, would do) with one item.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupOutcome = Schema.Literal("create", "update", "delete", "unchanged")

/**
 * @since 0.7.0
 * @category models
 */
export type SetupOutcome = typeof SetupOutcome.Type

/**
 * One line of the plan: the item (`field` keys are `<entity>.<key>`, pipelines are keyed by name,
 * the lifecycle by `lifecycle`), what happens to it, and which attributes change.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupStep = Schema.Struct({
  kind: SetupKind,
  key: Schema.String,
  action: SetupOutcome,
  /** The attributes created or changed (empty when unchanged or deleted). */
  changes: Schema.Array(Schema.String)
})

/**
 * @since 0.7.0
 * @category models
 */
export type SetupStep = typeof SetupStep.Type

/**
 * What `crm.setup` answers: the plan, and whether it was applied (`false` in a dry run).
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupResult = Schema.Struct({
  applied: Schema.Boolean,
  plan: Schema.Array(SetupStep)
})

/**
 * @since 0.7.0
 * @category models
 */
export type SetupResult = typeof SetupResult.Type
