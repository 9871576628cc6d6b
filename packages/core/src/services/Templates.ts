/**
 * Email templates: subject, HTML and text with `{{ placeholders }}`, checked when saved so a
 * typo in a placeholder is an error then, not a blank in a customer's mail later.
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { Conflict, NotFound, ValidationError } from "../domain/Errors.js"
import type { FieldDefinition } from "../domain/FieldDefinition.js"
import { TemplateId, type WorkspaceId } from "../domain/Ids.js"
import { check, type Content, hasUnsubscribeLink, spamWarnings, Template, TemplateCreate, type TemplatePurpose, TemplateUpdate } from "../domain/Template.js"
import type { ValidationIssue } from "../domain/Errors.js"
import { workspaceLock } from "../internal/locks.js"
import { getTemplate } from "../internal/sales.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { refuseIfRulesUse } from "../internal/ruleRefs.js"
import { Storage, type StorageService } from "../ports/Storage.js"

const decodeTemplateId = decodeInput(TemplateId, ["templateId"])

/**
 * The placeholders a template may use besides custom fields (`contact.fields.<key>`,
 * `company.fields.<key>`, `deal.fields.<key>` for every defined field), the payload of the event a
 * rule reacted to (`event.payload.<…>`) and the unsubscribe link (`unsubscribeUrl`). Follow-ups
 * fill `deal.*`, rule mails `event.*`; a value a mail does not have renders as the fallback.
 *
 * @since 0.2.0
 * @category constructors
 */
export const knownPlaceholders = {
  contact: ["id", "email", "firstName", "lastName", "phone", "stage", "ownerId"],
  company: ["id", "name", "domain", "phone"],
  deal: ["id", "title", "amount", "amountMinor", "currency", "stage", "stageLabel", "quoteRef", "expectedCloseDate", "ownerId"],
  workspace: ["name"],
  event: ["id", "type", "occurredAt"]
} as const

/** Whether a path names a value mails provide, given the workspace's field definitions. */
const placeholderChecker = (definitions: ReadonlyArray<FieldDefinition>) => {
  const fields = new Set(definitions.map((d) => `${d.entity}.fields.${d.key}`))
  return (path: ReadonlyArray<string>): boolean => {
    const [root, first, second] = path
    if (path.length === 1) return root === "unsubscribeUrl"
    if (root === undefined || !(root in knownPlaceholders)) return false
    if (root === "event" && first === "payload") return path.length >= 3
    if (path.length === 2) return (knownPlaceholders[root as keyof typeof knownPlaceholders] as ReadonlyArray<string>).includes(first!)
    return path.length === 3 && first === "fields" && fields.has(`${root}.fields.${second}`)
  }
}

const UNSUBSCRIBE = "a marketing mail needs an unsubscribe link: put {{ unsubscribeUrl }} in it (e.g. <a href=\"{{ unsubscribeUrl }}\">Unsubscribe</a>)"

/** Every reason a template cannot be saved, and the warnings that do not stop it. */
const review = (definitions: ReadonlyArray<FieldDefinition>, content: Content, purpose: TemplatePurpose) => {
  const issues: Array<ValidationIssue> = [...check(content, placeholderChecker(definitions))]
  if (purpose === "marketing") {
    for (const field of ["html", "text"] as const) {
      const source = content[field]
      if (source !== null && source.trim() !== "" && !hasUnsubscribeLink(source)) issues.push({ path: [field], message: UNSUBSCRIBE })
    }
  }
  return { issues, warnings: spamWarnings(content) }
}

/**
 * What `templates.check` finds: `issues` stop a save, `warnings` (spam-trigger words) do not.
 *
 * @since 0.3.0
 * @category models
 */
export interface TemplateReview {
  readonly valid: boolean
  readonly issues: ReadonlyArray<ValidationIssue>
  readonly warnings: ReadonlyArray<ValidationIssue>
}

const checked = (storage: StorageService, workspaceId: WorkspaceId, content: Content, purpose: TemplatePurpose, name: string) =>
  Effect.gen(function* () {
    if ((content.html ?? "").trim() === "" && (content.text ?? "").trim() === "") {
      return yield* ValidationError.at(["html"], "a template needs a body: at least one of \"html\" or \"text\" must be a non-empty string")
    }
    const { issues, warnings } = review(yield* storage.fieldDefinitions.list(workspaceId), content, purpose)
    if (issues.length > 0) return yield* ValidationError.fromIssues(issues, "Invalid template")
    if (warnings.length > 0) {
      yield* Effect.logWarning(`Template "${name}" may be taken for spam: ${warnings.map((w) => `${w.path.join(".")} ${w.message}`).join("; ")}`)
    }
  })

/**
 * @since 0.2.0
 * @category services
 */
export class Templates extends Effect.Service<Templates>()("@rapport/core/Templates", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /** Saves a template; every placeholder must name a known value or a defined custom field. */
    const create = Effect.fn("Templates.create")(function* (input: TemplateCreate) {
      const data = yield* decodeInput(TemplateCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const content = { subject: data.subject, html: data.html ?? null, text: data.text ?? null }
          yield* checked(storage, workspace.id, content, data.purpose ?? "transactional", data.name)
          const now = yield* DateTime.now
          const template = new Template({
            id: TemplateId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            name: data.name,
            purpose: data.purpose ?? "transactional",
            ...content,
            version: 1,
            createdAt: now,
            updatedAt: now
          })
          yield* storage.templates.insert(template)
          return template
        })
      )
    })

    /** The template, or `NotFound`. */
    const get = Effect.fn("Templates.get")(function* (templateId: string) {
      const id = yield* decodeTemplateId(templateId)
      return yield* getTemplate(storage, (yield* readWorkspace(storage)).id, id)
    })

    /** Changes a template, checked like a new one; a stale `expectedVersion` fails with `Conflict`. */
    const update = Effect.fn("Templates.update")(function* (templateId: string, input: TemplateUpdate) {
      const id = yield* decodeTemplateId(templateId)
      const data = yield* decodeInput(TemplateUpdate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          const current = yield* getTemplate(storage, workspaceId, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("template", id, data.expectedVersion, current.version)
          }
          const content = {
            subject: data.subject ?? current.subject,
            html: data.html === undefined ? current.html : data.html,
            text: data.text === undefined ? current.text : data.text
          }
          yield* checked(storage, workspaceId, content, data.purpose ?? current.purpose, data.name ?? current.name)
          const next = new Template({
            ...current,
            ...content,
            name: data.name ?? current.name,
            purpose: data.purpose ?? current.purpose,
            version: current.version + 1,
            updatedAt: yield* DateTime.now
          })
          yield* storage.templates.update(next, current.version)
          return next
        })
      )
    })

    /** Deletes a template. */
    const remove = Effect.fn("Templates.remove")(function* (templateId: string) {
      const id = yield* decodeTemplateId(templateId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* refuseIfRulesUse(storage, workspaceId, "templates", [id], "template", id)
          const removed = yield* storage.templates.remove(workspaceId, id)
          if (!removed) return yield* NotFound.of("template", id)
        })
      )
    })

    /** The workspace's templates by name. */
    const list = Effect.fn("Templates.list")(function* () {
      return yield* storage.templates.list((yield* readWorkspace(storage)).id)
    })

    /**
     * Checks a template without saving it: `issues` would stop a save (syntax, unknown placeholders,
     * a marketing mail without `{{ unsubscribeUrl }}`); `warnings` would not (spam-trigger words).
     */
    const checkContent = Effect.fn("Templates.check")(function* (input: TemplateCreate) {
      const data = yield* decodeInput(TemplateCreate)(input)
      const content = { subject: data.subject, html: data.html ?? null, text: data.text ?? null }
      const { issues, warnings } = review(yield* storage.fieldDefinitions.list((yield* readWorkspace(storage)).id), content, data.purpose ?? "transactional")
      return { valid: issues.length === 0, issues, warnings } satisfies TemplateReview
    })

    return {
      /** Saves an email template (placeholders are checked). */
      create,
      /** The template, or a `RapportNotFoundError`. */
      get,
      /** Changes a template. */
      update,
      /** Deletes a template (refused while a rule sends it). */
      remove,
      /** The workspace's templates by name. */
      list,
      /** Checks a template without saving it: issues that would stop a save, and spam warnings. */
      check: checkContent
    } as const
  })
}) {}
