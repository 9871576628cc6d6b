// Helpers shared by the services that write records with custom fields (contacts, companies).
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ValidationError } from "../domain/Errors.js"
import {
  type CompiledFields,
  type FieldEntity,
  type FieldValues,
  uniqueValueKey,
  validate
} from "../domain/FieldDefinition.js"
import type { WorkspaceId } from "../domain/Ids.js"
import type { StorageService } from "../ports/Storage.js"

/** An update's value when given, the current one otherwise (`null` is a value: it clears). */
export const keep = <A>(value: A | undefined, current: A): A => (value === undefined ? current : value)

export const checkFields = (compiled: CompiledFields, values: FieldValues, stageIndex: number | undefined) =>
  Either.match(validate(compiled, values, stageIndex), {
    onLeft: (issues) => Effect.fail(ValidationError.fromIssues(issues, `Invalid ${compiled.entity} fields`)),
    onRight: Effect.succeed
  })

/** Moves a record's unique-value claims from its old field values to its new ones. */
export const claimUniqueValues = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  entity: FieldEntity,
  compiled: CompiledFields,
  recordId: string,
  before: FieldValues,
  after: FieldValues
) =>
  Effect.forEach(
    compiled.definitions.filter((d) => d.unique),
    (def) => {
      const oldKey = before[def.key] === undefined ? null : uniqueValueKey(def, before[def.key])
      const newKey = after[def.key] === undefined ? null : uniqueValueKey(def, after[def.key])
      return oldKey === newKey ? Effect.void : storage.uniqueValues.set(workspaceId, entity, recordId, def.key, newKey)
    },
    { discard: true }
  )
