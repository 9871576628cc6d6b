/**
 * Set-up as code: `crm.setup(declaration)` makes the workspace's custom fields, lifecycle,
 * pipelines, templates and rules what the app declares, like a migration that can run on every
 * start. It creates what is missing, updates what differs and leaves what is the same; it deletes
 * only with `prune: true`. Every change goes through the same service call (and the same checks)
 * as a change by hand, all in one transaction: a change stored data would violate is refused, and
 * then nothing of the declaration is applied. The answer is the plan; `dryRun: true` works it out
 * and checks it the same way, then rolls everything back.
 *
 * @since 0.7.0
 */
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ValidationError, type ValidationIssue } from "../domain/Errors.js"
import { checkDefinition, FieldDefinition } from "../domain/FieldDefinition.js"
import { PipelineId, type WorkspaceId } from "../domain/Ids.js"
import { LifecycleDefinition, presets } from "../domain/LifecycleDefinition.js"
import { defaultStages, Pipeline } from "../domain/Pipeline.js"
import { Rule, RuleCreate } from "../domain/Rule.js"
import { SetupDeclaration, type SetupKind, type SetupOutcome, type SetupResult, type SetupRule, type SetupStep } from "../domain/Setup.js"
import { Template } from "../domain/Template.js"
import { fieldAttributes, ruleAttributes } from "../internal/defaults.js"
import { workspaceLock } from "../internal/locks.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"
import { Fields } from "./Fields.js"
import { Lifecycle } from "./Lifecycle.js"
import { Pipelines } from "./Pipelines.js"
import { Rules } from "./Rules.js"
import { Templates } from "./Templates.js"

/** Ends a dry run's transaction (rolling it back) with the plan it worked out. */
class DryRun extends Data.TaggedError("DryRun")<{ readonly plan: ReadonlyArray<SetupStep> }> {}

const kindOrder: Record<SetupKind, number> = { lifecycle: 0, field: 1, pipeline: 2, template: 3, rule: 4 }

/** JSON with object keys sorted: equal values give equal text whatever order their keys came in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

/** The attributes whose values differ between two encoded records. */
const differing = (stored: Record<string, unknown>, wanted: Record<string, unknown>, attributes: ReadonlyArray<string>) =>
  attributes.filter((a) => canonical(stored[a] ?? null) !== canonical(wanted[a] ?? null))

const pick = (record: Record<string, unknown>, attributes: ReadonlyArray<string>) => Object.fromEntries(attributes.map((a) => [a, record[a] ?? null]))

const encodeField = Schema.encodeSync(FieldDefinition)
const encodePipeline = Schema.encodeSync(Pipeline)
const encodeTemplate = Schema.encodeSync(Template)
const encodeRule = Schema.encodeSync(Rule)
const encodeLifecycle = Schema.encodeSync(LifecycleDefinition)

const FIELD_ATTRIBUTES = ["label", "type", "options", "required", "unique", "description", "position"] as const
const PIPELINE_ATTRIBUTES = ["stages", "floor", "position"] as const
const TEMPLATE_ATTRIBUTES = ["name", "purpose", "subject", "html", "text"] as const
const RULE_ATTRIBUTES = ["name", "on", "when", "unless", "delay", "actions", "variants", "goal", "limits", "enabled"] as const
const META = new Set(["id", "workspaceId", "key", "version", "createdAt", "updatedAt"])

// Placeholder identities of records not stored yet: only their attributes are compared.
const NEW_ID = "00000000-0000-7000-8000-000000000000"

/** Validation issues of one declared item, with paths from the declaration's root. */
const within = (path: ReadonlyArray<string | number>, what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.mapError(effect, (error) =>
      error instanceof ValidationError
        ? (ValidationError.fromIssues(
            error.issues.map((i): ValidationIssue => ({ path: [...path, ...i.path], message: i.message })),
            `Setup refused ${what}`
          ) as E)
        : error
    )

const duplicates = (items: ReadonlyArray<string>, path: (i: number) => ReadonlyArray<string | number>, what: string): ReadonlyArray<ValidationIssue> => {
  const seen = new Set<string>()
  return items.flatMap((item, i) => {
    if (!seen.has(item)) {
      seen.add(item)
      return []
    }
    return [{ path: path(i), message: `${what} "${item}" is declared twice` }]
  })
}

/** A declared rule with its templates named by key replaced by their ids. */
const resolveTemplates = (
  raw: SetupRule,
  index: number,
  ids: ReadonlyMap<string, string>
): { readonly rule: Record<string, unknown>; readonly issues: ReadonlyArray<ValidationIssue> } => {
  const issues: Array<ValidationIssue> = []
  const resolve = (actions: ReadonlyArray<unknown> | undefined, path: ReadonlyArray<string | number>) =>
    actions?.map((action, i) => {
      if (typeof action !== "object" || action === null || !("templateKey" in action)) return action
      const { templateKey, ...rest } = action as { readonly templateKey: string }
      const id = ids.get(templateKey)
      if (id === undefined) issues.push({ path: [...path, i, "templateKey"], message: `no template has the key "${templateKey}" (declare it under "templates")` })
      return { ...rest, template: id ?? NEW_ID }
    })
  const rule: Record<string, unknown> = { ...raw }
  if (raw.actions !== undefined) rule["actions"] = resolve(raw.actions, ["rules", index, "actions"])
  if (raw.variants !== undefined) {
    rule["variants"] = raw.variants.map((v, n) => ({ ...v, actions: resolve(v.actions, ["rules", index, "variants", n, "actions"]) }))
  }
  return { rule, issues }
}

/**
 * @since 0.7.0
 * @category services
 */
export class Setup extends Effect.Service<Setup>()("@rapport/core/Setup", {
  dependencies: [Fields.Default, Lifecycle.Default, Pipelines.Default, Templates.Default, Rules.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const fields = yield* Fields
    const lifecycle = yield* Lifecycle
    const pipelines = yield* Pipelines
    const templates = yield* Templates
    const rules = yield* Rules

    const plan = (input: typeof SetupDeclaration.Encoded, decl: typeof SetupDeclaration.Type, workspaceId: WorkspaceId) =>
      Effect.gen(function* () {
        // Each line with its place in the plan: by kind, then as declared, deletions last.
        const steps: Array<{ readonly line: SetupStep; readonly rank: number }> = []
        let deletions = 0
        const step = (kind: SetupKind, key: string, action: SetupOutcome, changes: ReadonlyArray<string> = [], rank?: number) =>
          void steps.push({ line: { kind, key, action, changes }, rank: action === "delete" ? 1e9 + deletions++ : (rank ?? steps.length) })
        const now = yield* DateTime.now
        const meta = { workspaceId, version: 1, createdAt: now, updatedAt: now }
        const prune = decl.prune === true

        // Removing rules first: a rule still using a stage, field or template would stop its removal.
        const declaredRules = new Set((decl.rules ?? []).map((r) => r.key as string))
        if (prune && decl.rules !== undefined) {
          for (const rule of yield* storage.rules.list(workspaceId)) {
            if (rule.key === null || declaredRules.has(rule.key)) continue
            yield* rules.remove(rule.id)
            step("rule", rule.key, "delete")
          }
        }

        // Fields: a change valid under the current lifecycle goes before the lifecycle's (it may stop
        // requiring a stage the new lifecycle drops), the others after it (they may need its stages).
        const storedFields = yield* storage.fieldDefinitions.list(workspaceId)
        const rawFields = input.fields ?? []
        const positions = new Map<string, number>()
        const fieldSteps = (decl.fields ?? []).map((data, i) => {
          const raw = rawFields[i]!
          const entity = data.entity ?? "contact"
          const position = data.position ?? (positions.get(entity) ?? 0)
          positions.set(entity, (positions.get(entity) ?? 0) + 1)
          const stored = storedFields.find((d) => d.entity === entity && d.key === data.key)
          const wanted = new FieldDefinition({
            ...(stored ?? meta),
            entity,
            key: data.key,
            ...fieldAttributes(data),
            position
          })
          const key = `${entity}.${data.key}`
          const run = Effect.gen(function* () {
            if (stored === undefined) {
              yield* fields.define({ ...raw, position })
              step("field", key, "create", FIELD_ATTRIBUTES.filter((a) => a in raw), i)
              return
            }
            const changes = differing(encodeField(stored), encodeField(wanted), FIELD_ATTRIBUTES)
            if (changes.length === 0) return step("field", key, "unchanged", [], i)
            // Read again: the field may have been relaxed for the lifecycle's change (below).
            const current = (yield* storage.fieldDefinitions.list(workspaceId, entity)).find((d) => d.key === data.key) ?? stored
            const remaining = differing(encodeField(current), encodeField(wanted), FIELD_ATTRIBUTES)
            yield* fields.update(entity, data.key, { expectedVersion: current.version, ...pick(encodeField(wanted), remaining) })
            step("field", key, "update", changes, i)
          }).pipe(within(["fields", i], `field "${key}"`))
          return { stored, wanted, run, entity, key: data.key, path: ["fields", i] as const }
        })
        const workspace = yield* ensureWorkspace(storage)
        const early = fieldSteps.filter((f) => checkDefinition(f.wanted, workspace.lifecycle).length === 0)
        const late = fieldSteps.filter((f) => !early.includes(f))
        for (const f of early) yield* f.run

        if (input.lifecycle !== undefined && decl.lifecycle !== undefined) {
          const wanted = "preset" in decl.lifecycle ? presets[decl.lifecycle.preset] : decl.lifecycle.definition
          const [before, after] = [encodeLifecycle(workspace.lifecycle) as Record<string, unknown>, encodeLifecycle(wanted) as Record<string, unknown>]
          const changes = differing(before, after, [...new Set([...Object.keys(before), ...Object.keys(after)])])
          if (changes.length === 0) step("lifecycle", "lifecycle", "unchanged")
          else {
            // A field still required from a stage the new lifecycle drops, and declared otherwise,
            // is not required for a moment (this never makes stored data invalid): the lifecycle
            // can change, then the field gets its declared requirement.
            const kept = new Set(wanted.stages.map((st) => st.key as string))
            for (const f of late) {
              const required = f.stored?.required
              if (typeof required === "object" && !kept.has(required.fromStage)) {
                yield* fields.update(f.entity, f.key, { required: "never" }).pipe(within(f.path, `field "${f.entity}.${f.key}"`))
              }
            }
            yield* lifecycle.configure(input.lifecycle).pipe(within(["lifecycle"], "the lifecycle"))
            step("lifecycle", "lifecycle", "update", changes)
          }
        }
        for (const f of late) yield* f.run

        // Pipelines, by name.
        const storedPipelines = yield* storage.pipelines.list(workspaceId)
        for (const [i, data] of (decl.pipelines ?? []).entries()) {
          const raw = input.pipelines![i]!
          const position = data.position ?? i
          const matching = storedPipelines.filter((p) => p.name === data.name)
          if (matching.length > 1) {
            return yield* ValidationError.at(["pipelines", i, "name"], `${matching.length} stored pipelines are named "${data.name}": rename all but one first`)
          }
          const stored = matching[0]
          const wanted = new Pipeline({
            ...(stored ?? { ...meta, id: PipelineId.make(NEW_ID) }),
            name: data.name,
            stages: data.stages ?? defaultStages,
            floor: data.floor ?? null,
            position
          })
          yield* Effect.gen(function* () {
            if (stored === undefined) {
              yield* pipelines.create({ ...raw, position })
              return step("pipeline", data.name, "create", PIPELINE_ATTRIBUTES.filter((a) => a in raw))
            }
            const changes = differing(encodePipeline(stored), encodePipeline(wanted), PIPELINE_ATTRIBUTES)
            if (changes.length === 0) return step("pipeline", data.name, "unchanged")
            yield* pipelines.update(stored.id, { expectedVersion: stored.version, ...pick(encodePipeline(wanted), changes) })
            step("pipeline", data.name, "update", changes)
          }).pipe(within(["pipelines", i], `pipeline "${data.name}"`))
        }

        // Templates, by key.
        for (const [i, { key, locales, ...attributes }] of (decl.templates ?? []).entries()) {
          const { locales: _locales, ...raw } = input.templates![i]!
          const stored = yield* storage.templates.getByKey(workspaceId, key)
          // Attributes beyond the known ones are compared when declared.
          const compared = [...new Set([...TEMPLATE_ATTRIBUTES, ...Object.keys(attributes)])].filter((a) => !META.has(a))
          yield* Effect.gen(function* () {
            const template = stored._tag === "None" ? yield* templates.create(raw) : stored.value
            // Locale variants: the declared ones, no others.
            const wantedLocales = Object.entries(locales ?? {}).map(([locale, v]) => ({ locale, subject: v.subject, html: v.html ?? null, text: v.text ?? null }))
            const storedLocales = stored._tag === "None" ? [] : yield* storage.templateLocales.list(workspaceId, template.id)
            const setLocales = wantedLocales.filter((w) => {
              const s = storedLocales.find((v) => v.locale === w.locale)
              return s === undefined || s.subject !== w.subject || s.html !== w.html || s.text !== w.text
            })
            const removedLocales = storedLocales.filter((s) => !wantedLocales.some((w) => w.locale === s.locale))
            const localesChange = setLocales.length > 0 || removedLocales.length > 0 ? ["locales"] : []
            if (stored._tag === "None") step("template", key, "create", [...compared.filter((a) => a in raw), ...localesChange])
            else {
              const declared = Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined))
              const wanted = new Template({ ...stored.value, purpose: "transactional", html: null, text: null, ...declared })
              const changes = differing(encodeTemplate(stored.value), encodeTemplate(wanted), compared)
              if (changes.length === 0 && localesChange.length === 0) return step("template", key, "unchanged")
              if (changes.length > 0) yield* templates.update(template.id, { expectedVersion: template.version, ...pick(encodeTemplate(wanted), changes) })
              step("template", key, "update", [...changes, ...localesChange])
            }
            for (const w of setLocales) yield* templates.setLocale(template.id, w.locale, { subject: w.subject, html: w.html, text: w.text })
            for (const r of removedLocales) yield* templates.removeLocale(template.id, r.locale)
          }).pipe(within(["templates", i], `template "${key}"`))
        }

        // Rules, by key; a sendEmail may name its template by key.
        if (input.rules !== undefined) {
          const templateIds = new Map((yield* storage.templates.list(workspaceId)).flatMap((t) => (t.key === null ? [] : [[t.key as string, t.id as string] as const])))
          for (const [i, raw] of input.rules.entries()) {
            const { rule, issues } = resolveTemplates(raw, i, templateIds)
            if (issues.length > 0) return yield* ValidationError.fromIssues(issues, `Setup refused rule "${raw.key}"`)
            const data = yield* decodeInput(RuleCreate, ["rules", i])(rule)
            const key = data.key!
            const stored = yield* storage.rules.getByKey(workspaceId, key)
            yield* Effect.gen(function* () {
              if (stored._tag === "None") {
                yield* rules.create(rule as typeof RuleCreate.Encoded)
                return step("rule", key, "create", RULE_ATTRIBUTES.filter((a) => a in raw))
              }
              const wanted = new Rule({
                ...stored.value,
                ...ruleAttributes(data)
              })
              const changes = differing(encodeRule(stored.value), encodeRule(wanted), RULE_ATTRIBUTES)
              if (changes.length === 0) return step("rule", key, "unchanged")
              yield* rules.update(stored.value.id, { expectedVersion: stored.value.version, ...pick(encodeRule(wanted), changes) })
              step("rule", key, "update", changes)
            }).pipe(within(["rules", i], `rule "${key}"`))
          }
        }

        if (prune) {
          if (decl.templates !== undefined) {
            const declared = new Set(decl.templates.map((t) => t.key as string))
            for (const template of yield* storage.templates.list(workspaceId)) {
              if (template.key === null || declared.has(template.key)) continue
              yield* templates.remove(template.id)
              step("template", template.key, "delete")
            }
          }
          if (decl.pipelines !== undefined) {
            const declared = new Set(decl.pipelines.map((p) => p.name))
            for (const pipeline of yield* storage.pipelines.list(workspaceId)) {
              if (declared.has(pipeline.name)) continue
              yield* pipelines.remove(pipeline.id)
              step("pipeline", pipeline.name, "delete")
            }
          }
          if (decl.fields !== undefined) {
            const declared = new Set(decl.fields.map((f) => `${f.entity ?? "contact"}.${f.key}`))
            for (const def of yield* storage.fieldDefinitions.list(workspaceId)) {
              if (declared.has(`${def.entity}.${def.key}`)) continue
              yield* fields.remove(def.entity, def.key)
              step("field", `${def.entity}.${def.key}`, "delete")
            }
          }
        }
        return [...steps].sort((a, b) => kindOrder[a.line.kind] - kindOrder[b.line.kind] || a.rank - b.rank).map((s) => s.line)
      })

    /**
     * Makes the workspace what the declaration says, in one transaction, and returns the plan;
     * with `dryRun: true`, checks and returns the plan without storing anything.
     */
    const apply = Effect.fn("Setup.apply")(function* (input: SetupDeclaration) {
      const decl = yield* decodeInput(SetupDeclaration)(input)
      const raw = input as typeof SetupDeclaration.Encoded
      const issues = [
        ...duplicates((decl.fields ?? []).map((f) => `${f.entity ?? "contact"}.${f.key}`), (i) => ["fields", i, "key"], "field"),
        ...duplicates((decl.pipelines ?? []).map((p) => p.name), (i) => ["pipelines", i, "name"], "pipeline"),
        ...duplicates((decl.templates ?? []).map((t) => t.key), (i) => ["templates", i, "key"], "template key"),
        ...duplicates((decl.rules ?? []).map((r) => r.key), (i) => ["rules", i, "key"], "rule key")
      ]
      if (issues.length > 0) return yield* ValidationError.fromIssues(issues, "Invalid setup")
      const result = yield* storage
        .transaction(
          Effect.gen(function* () {
            // Alone in the workspace from the start: every step would take the lock anyway, and
            // taking it exclusively only later could deadlock with another writer.
            yield* workspaceLock(storage, "exclusive")
            const workspace = yield* ensureWorkspace(storage)
            const steps = yield* plan(raw, decl, workspace.id)
            if (decl.dryRun === true) return yield* new DryRun({ plan: steps })
            return { applied: true, plan: steps } satisfies SetupResult
          })
        )
        .pipe(Effect.catchTag("DryRun", (dry) => Effect.succeed({ applied: false, plan: dry.plan } satisfies SetupResult)))
      return result
    })

    return {
      /**
       * Makes the workspace's fields, lifecycle, pipelines, templates and rules what the
       * declaration says (creating, updating, with `prune` deleting), in one transaction; returns
       * the plan. With `dryRun: true`, nothing is stored.
       */
      apply,
      /** The plan `apply` would carry out, checked, without storing anything (`apply` with `dryRun: true`). */
      plan: (input: SetupDeclaration) => apply({ ...input, dryRun: true })
    } as const
  })
}) {}
