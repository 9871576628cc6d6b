// Helpers shared by the services that write records with custom fields (contacts, companies).
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { type EntityName, NotFound, type StorageError, ValidationError } from "../domain/Errors.js"
import {
  compile,
  type CompiledFields,
  type FieldEntity,
  type FieldValues,
  type RequirementSubject,
  uniqueValueKey,
  validate
} from "../domain/FieldDefinition.js"
import type { ContactId, WorkspaceId } from "../domain/Ids.js"
import type { Workspace } from "../domain/Workspace.js"
import type { StorageService } from "../ports/Storage.js"
import { rulesVersionOf, transactionMemo } from "./workspace.js"

/** The workspace's definitions of an entity, compiled for validating its records. */
// Per store (tests run several stores with the same workspace ids), per workspace and entity;
// valid while the rules counter (which every field definition change bumps) and the workspace
// (its lifecycle) stay at the versions they were compiled under. An entry is kept only once the
// transaction that read the definitions commits: one that rolls back may have read definitions
// it wrote itself, and the counter value it saw is then given again to the next change.
const fieldsCache = new WeakMap<StorageService, Map<string, { readonly counter: number; readonly workspaceVersion: number; readonly compiled: CompiledFields }>>()

export const compiledFields = (storage: StorageService, workspace: Workspace, entity: FieldEntity): Effect.Effect<CompiledFields, StorageError> => {
  const counter = rulesVersionOf(storage, workspace)
  const read = Effect.map(storage.fieldDefinitions.list(workspace.id, entity), (defs) => compile(entity, defs, workspace.lifecycle))
  if (counter === undefined) return read
  const memo = transactionMemo(storage, workspace)
  const memoKey = `fields|${entity}`
  const mine = memo?.get(memoKey) as CompiledFields | undefined
  if (mine !== undefined) return Effect.succeed(mine)
  let perStore = fieldsCache.get(storage)
  if (perStore === undefined) {
    perStore = new Map()
    fieldsCache.set(storage, perStore)
  }
  const shared = perStore
  const key = `${workspace.id}|${entity}`
  const hit = shared.get(key)
  if (hit !== undefined && hit.counter === counter && hit.workspaceVersion === workspace.version) return Effect.succeed(hit.compiled)
  return Effect.tap(read, (compiled) => {
    memo?.set(memoKey, compiled)
    return storage.afterCommit(Effect.sync(() => void shared.set(key, { counter, workspaceVersion: workspace.version, compiled })))
  })
}

/** The stored record, or `NotFound` naming it. */
export const orNotFound = <A, E>(lookup: Effect.Effect<Option.Option<A>, E>, entity: EntityName, id: string) =>
  Effect.flatMap(lookup, Option.match({ onNone: () => Effect.fail(NotFound.of(entity, id)), onSome: Effect.succeed }))

/** The contact with this id in the workspace, or `NotFound`. */
export const getContact = (storage: StorageService, workspaceId: WorkspaceId, id: ContactId) =>
  orNotFound(storage.contacts.get(workspaceId, id), "contact", id)

/** An update's value when given, the current one otherwise (`null` is a value: it clears). */
export const keep = <A>(value: A | undefined, current: A): A => (value === undefined ? current : value)

/**
 * Validates a record's fields at a stage position; a contact's conditional requirements are read
 * on `subject` (the contact as it will be saved).
 */
export const checkFields = (compiled: CompiledFields, values: FieldValues, stageIndex: number | undefined, subject?: RequirementSubject) =>
  Either.match(validate(compiled, values, stageIndex, subject), {
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
      const oldKey = Object.hasOwn(before, def.key) ? uniqueValueKey(def, before[def.key]) : null
      const newKey = Object.hasOwn(after, def.key) ? uniqueValueKey(def, after[def.key]) : null
      return oldKey === newKey ? Effect.void : storage.uniqueValues.set(workspaceId, entity, recordId, def.key, newKey)
    },
    { discard: true }
  )
