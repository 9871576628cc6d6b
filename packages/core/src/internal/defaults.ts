// What a create input gives, with a new record's defaults: one place for fields.define,
// rules.create and crm.setup, so that setup's "unchanged" means exactly what a fresh create stores.
import type { FieldDefinitionInput } from "../domain/FieldDefinition.js"
import type { RuleCreate } from "../domain/Rule.js"

/** A field definition's attributes from `fields.define`'s input (entity, key and position aside). */
export const fieldAttributes = (data: typeof FieldDefinitionInput.Type) => ({
  label: data.label ?? data.key,
  type: data.type,
  options: data.options ?? [],
  required: data.required ?? "never",
  unique: data.unique ?? false,
  description: data.description ?? null,
  indexed: data.indexed ?? false
})

/** A rule's attributes from `rules.create`'s input (id and key aside). */
export const ruleAttributes = (data: typeof RuleCreate.Type) => ({
  name: data.name,
  on: data.on,
  when: data.when ?? null,
  unless: data.unless ?? null,
  delay: data.delay ?? null,
  actions: data.actions ?? [],
  variants: data.variants ?? null,
  goal: data.goal ?? null,
  limits: data.limits ?? {},
  enabled: data.enabled ?? true
})
