/**
 * Custom field definitions, managed at run time. Defining, changing or removing a field checks
 * the records already stored: a change they would violate is refused with how many are affected.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import {
  checkDefinition,
  compile as compileFields,
  FieldDefinition,
  FieldDefinitionChanges,
  FieldDefinitionInput,
  FieldEntity,
  FieldKey,
  isRequiredAt,
  uniqueValueKey,
  valueSchema
} from "../domain/FieldDefinition.js"
import { ContactId } from "../domain/Ids.js"
import { indexOf, type LifecycleDefinition } from "../domain/LifecycleDefinition.js"
import { referencesOf } from "../domain/Rule.js"
import type { Workspace } from "../domain/Workspace.js"
import { fieldAttributes } from "../internal/defaults.js"
import { workspaceLock } from "../internal/locks.js"
import { keep } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { refuseIfRulesUse } from "../internal/ruleRefs.js"
import { rulesChanged } from "../internal/rules.js"
import { type FieldRecord, Storage } from "../ports/Storage.js"

const SCAN_PAGE = 1000
const EXAMPLES = 3

const decodeEntity = decodeInput(FieldEntity, ["entity"])
const decodeKey = decodeInput(FieldKey, ["key"])
const decodeRemoveOptions = decodeInput(Schema.Struct({ purgeValues: Schema.optional(Schema.Boolean) }), ["options"])

// Encoded, with object keys sorted: a stored condition may come back with its keys reordered (JSONB).
const canonical = (def: FieldDefinition) =>
  JSON.stringify(Schema.encodeSync(FieldDefinition)(def), (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v
  )

/**
 * Whether a definition input says exactly what is stored: every attribute given is the stored
 * one, and every attribute left out has its default (the position, left out, is not compared).
 */
const sameDefinition = (stored: FieldDefinition, data: typeof FieldDefinitionInput.Type): boolean =>
  canonical(stored) ===
  canonical(
    new FieldDefinition({
      ...stored,
      ...fieldAttributes(data),
      position: data.position ?? stored.position
    })
  )

/**
 * Options of `fields.remove`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoveFieldOptions {
  /** Also delete the values records hold; without it, a field still in use is not removed. */
  readonly purgeValues?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category services
 */
export class Fields extends Effect.Service<Fields>()("@rapport/core/Fields", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const find = (workspace: Workspace, entity: FieldEntity, key: string) =>
      Effect.flatMap(storage.fieldDefinitions.list(workspace.id, entity), (defs) => {
        const def = defs.find((d) => d.key === key)
        return def === undefined ? Effect.fail(NotFound.of("fieldDefinition", `${entity}.${key}`)) : Effect.succeed(def)
      })

    /** Visits every record of an entity, a page at a time. */
    const forEachRecord = <E>(workspace: Workspace, entity: FieldEntity, visit: (record: FieldRecord) => Effect.Effect<void, E>) =>
      Effect.gen(function* () {
        let after: string | undefined = undefined
        while (true) {
          const page: ReadonlyArray<FieldRecord> = yield* storage.customFields.scan(workspace.id, entity, after, SCAN_PAGE)
          for (const record of page) yield* visit(record)
          if (page.length < SCAN_PAGE) return
          after = page[page.length - 1]!.id
        }
      })

    /**
     * Counts the stored records the definition would not accept (a value of the wrong type, a
     * required value missing, a value shared with another record when unique), with examples.
     * A conditional requirement is read on each contact that lacks the value from its stage on.
     */
    const violations = (workspace: Workspace, def: FieldDefinition) =>
      Effect.gen(function* () {
        const decode = Schema.decodeUnknownEither(valueSchema(def))
        const holders = new Map<string, string>()
        const examples: Array<string> = []
        let affected = 0
        const conditional = typeof def.required === "object" && def.required.when !== undefined
        const compiled = conditional
          ? compileFields(def.entity, [...(yield* storage.fieldDefinitions.list(workspace.id, def.entity)).filter((d) => d.key !== def.key), def], workspace.lifecycle)
          : undefined
        yield* forEachRecord(workspace, def.entity, (record) => Effect.gen(function* () {
          const value = Object.hasOwn(record.fields, def.key) ? record.fields[def.key] : undefined
          const stageIndex = record.stage === null ? undefined : indexOf(workspace.lifecycle, record.stage)
          let reason: string | undefined
          if (value === undefined) {
            if (isRequiredAt(def, workspace.lifecycle, stageIndex)) {
              if (compiled === undefined) reason = "has no value"
              else {
                const contact = yield* storage.contacts.get(workspace.id, ContactId.make(record.id))
                const subject = Option.getOrUndefined(contact)
                if (compiled.requiredAt(stageIndex, subject, subject?.fields ?? record.fields).includes(def.key)) reason = "has no value and the condition holds"
              }
            }
          } else if (Either.isLeft(decode(value))) {
            reason = `holds ${JSON.stringify(value)}`
          } else if (def.unique) {
            const valueKey = uniqueValueKey(def, value)
            const holder = holders.get(valueKey)
            if (holder !== undefined) reason = `shares ${JSON.stringify(value)} with ${holder}`
            else holders.set(valueKey, record.id)
          }
          if (reason !== undefined) {
            affected++
            if (examples.length < EXAMPLES) examples.push(`${record.id} ${reason}`)
          }
        }))
        return { affected, examples }
      })

    const countHolding = (workspace: Workspace, def: FieldDefinition) =>
      Effect.gen(function* () {
        let holding = 0
        yield* forEachRecord(workspace, def.entity, (record) => {
          if (Object.hasOwn(record.fields, def.key)) holding++
          return Effect.void
        })
        return holding
      })

    const refuseIfViolated = (workspace: Workspace, def: FieldDefinition, action: string) =>
      Effect.flatMap(violations(workspace, def), ({ affected, examples }) =>
        affected === 0
          ? Effect.void
          : Effect.fail(
              new Conflict({
                reason: "existingValues",
                entity: "fieldDefinition",
                id: `${def.entity}.${def.key}`,
                field: def.key,
                affected,
                message: `Cannot ${action} field "${def.key}": ${affected} stored ${def.entity} record${affected === 1 ? "" : "s"} would not fit (for example ${examples.join("; ")}). Fix or clear those values first.`
              })
            )
      )

    /** Refuses to remove a contact field that another field's conditional requirement reads. */
    const refuseIfRequirementsUse = (workspace: Workspace, key: string) =>
      Effect.gen(function* () {
        const users = (yield* storage.fieldDefinitions.list(workspace.id, "contact")).filter(
          (d) =>
            d.key !== key &&
            typeof d.required === "object" &&
            d.required.when !== undefined &&
            referencesOf({ when: d.required.when, unless: null, actions: [], variants: null }).fields.has(key)
        )
        if (users.length === 0) return
        const named = users.map((d) => `"${d.key}"`).join(", ")
        return yield* Conflict.inUse(
          "fieldDefinition",
          `contact.${key}`,
          users.length,
          `The requirement of field${users.length === 1 ? "" : "s"} ${named} reads it (required: { when }); change ${users.length === 1 ? "that field" : "those fields"} first`
        )
      })

    const checkConsistency = (def: FieldDefinition, lifecycle: LifecycleDefinition, fields: ReadonlyArray<FieldDefinition>) => {
      const issues = checkDefinition(def, lifecycle, [...fields.filter((d) => d.key !== def.key), def])
      return issues.length === 0 ? Effect.void : Effect.fail(ValidationError.fromIssues(issues, `Invalid definition of field "${def.key}"`))
    }

    /** Claims the unique values of every record, for a field that has just become unique. */
    const claimAll = (workspace: Workspace, def: FieldDefinition) =>
      forEachRecord(workspace, def.entity, (record) => {
        return Object.hasOwn(record.fields, def.key)
          ? storage.uniqueValues.set(workspace.id, def.entity, record.id, def.key, uniqueValueKey(def, record.fields[def.key]))
          : Effect.void
      })

    /** Defines a new field. A required field cannot be added while records lack it. */
    const define = Effect.fn("Fields.define")(function* (input: FieldDefinitionInput) {
      const data = yield* decodeInput(FieldDefinitionInput)(input)
      const entity = data.entity ?? "contact"
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* ensureWorkspace(storage)
          const existing = yield* storage.fieldDefinitions.list(workspace.id, entity)
          const same = existing.find((d) => d.key === data.key)
          if (same !== undefined) {
            // Defining the same field again (an app's start-up code run twice) changes nothing.
            if (sameDefinition(same, data)) return same
            return yield* Conflict.unique("fieldDefinition", "key", `${entity}.${data.key}`)
          }
          const now = yield* DateTime.now
          const def = new FieldDefinition({
            workspaceId: workspace.id,
            entity,
            key: data.key,
            ...fieldAttributes(data),
            position: data.position ?? existing.reduce((max, d) => Math.max(max, d.position + 1), 0),
            version: 1,
            createdAt: now,
            updatedAt: now
          })
          yield* checkConsistency(def, workspace.lifecycle, entity === "contact" ? existing : yield* storage.fieldDefinitions.list(workspace.id, "contact"))
          yield* refuseIfViolated(workspace, def, "define")
          yield* storage.fieldDefinitions.insert(def)
          yield* rulesChanged(storage, workspace.id)
          return def
        })
      )
    })

    /**
     * Changes a field's label, type, options, requirement, uniqueness, description or position.
     * The key and entity never change.
     */
    const update = Effect.fn("Fields.update")(function* (entity: FieldEntity, key: string, input: FieldDefinitionChanges) {
      const [validEntity, validKey] = yield* Effect.all([decodeEntity(entity), decodeKey(key)])
      const changes = yield* decodeInput(FieldDefinitionChanges)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* readWorkspace(storage)
          const current = yield* find(workspace, validEntity, validKey)
          const { expectedVersion, ...rest } = changes
          if (expectedVersion !== undefined && expectedVersion !== current.version) {
            return yield* Conflict.version("fieldDefinition", `${validEntity}.${validKey}`, expectedVersion, current.version)
          }
          const next = new FieldDefinition({
            ...current,
            label: keep(rest.label, current.label),
            type: keep(rest.type, current.type),
            options: keep(rest.options, current.options),
            required: keep(rest.required, current.required),
            unique: keep(rest.unique, current.unique),
            description: keep(rest.description, current.description),
            position: keep(rest.position, current.position),
            indexed: keep(rest.indexed, current.indexed),
            version: current.version + 1,
            updatedAt: yield* DateTime.now
          })
          yield* checkConsistency(next, workspace.lifecycle, yield* storage.fieldDefinitions.list(workspace.id, "contact"))
          const valuesMayBreak =
            next.type !== current.type ||
            JSON.stringify(next.options) !== JSON.stringify(current.options) ||
            JSON.stringify(next.required) !== JSON.stringify(current.required) ||
            (next.unique && !current.unique)
          if (valuesMayBreak) yield* refuseIfViolated(workspace, next, "change")
          yield* storage.fieldDefinitions.update(next, current.version)
          yield* rulesChanged(storage, workspace.id)
          if (next.unique && (!current.unique || next.type !== current.type)) {
            yield* storage.uniqueValues.releaseField(workspace.id, next.entity, next.key)
            yield* claimAll(workspace, next)
          } else if (!next.unique && current.unique) {
            yield* storage.uniqueValues.releaseField(workspace.id, next.entity, next.key)
          }
          return next
        })
      )
    })

    /** Removes a field. Records still holding values keep it, unless `purgeValues` deletes them. */
    const remove = Effect.fn("Fields.remove")(function* (entity: FieldEntity, key: string, options?: RemoveFieldOptions) {
      const [validEntity, validKey, checked] = yield* Effect.all([decodeEntity(entity), decodeKey(key), decodeRemoveOptions(options ?? {})])
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* readWorkspace(storage)
          const def = yield* find(workspace, validEntity, validKey)
          if (checked.purgeValues === true) {
            yield* storage.customFields.purge(workspace.id, def.entity, def.key, yield* DateTime.now)
          } else {
            const affected = yield* countHolding(workspace, def)
            if (affected > 0) {
              return yield* new Conflict({
                reason: "inUse",
                entity: "fieldDefinition",
                id: `${def.entity}.${def.key}`,
                field: def.key,
                affected,
                message: `Field "${def.key}" still has values on ${affected} ${def.entity} record${affected === 1 ? "" : "s"}; remove it with { purgeValues: true } to delete them`
              })
            }
          }
          if (def.entity === "contact") {
            yield* refuseIfRulesUse(storage, workspace.id, "fields", [def.key], "fieldDefinition", `contact.${def.key}`)
            yield* refuseIfRequirementsUse(workspace, def.key)
          }
          yield* storage.uniqueValues.releaseField(workspace.id, def.entity, def.key)
          yield* storage.fieldDefinitions.remove(workspace.id, def.entity, def.key)
          yield* rulesChanged(storage, workspace.id)
        })
      )
    })

    /** Definitions of the current workspace, of one entity when given. */
    const list = Effect.fn("Fields.list")(function* (entity?: FieldEntity) {
      const validEntity = entity === undefined ? undefined : yield* decodeEntity(entity)
      const workspace = yield* readWorkspace(storage)
      return yield* storage.fieldDefinitions.list(workspace.id, validEntity)
    })

    /** One definition, or `NotFound`. */
    const get = Effect.fn("Fields.get")(function* (entity: FieldEntity, key: string) {
      const [validEntity, validKey] = yield* Effect.all([decodeEntity(entity), decodeKey(key)])
      return yield* find(yield* readWorkspace(storage), validEntity, validKey)
    })

    return {
      /** Defines a custom field. */
      define,
      /** Changes a definition; refused if stored values would not fit. */
      update,
      /** Removes a definition (with `purgeValues`, also the values records hold). */
      remove,
      /** The definitions, of one entity when given. */
      list,
      /** One definition. */
      get
    } as const
  })
}) {}
