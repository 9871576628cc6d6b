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
import { check, Template, TemplateCreate, TemplateUpdate } from "../domain/Template.js"
import { workspaceLock } from "../internal/locks.js"
import { getTemplate } from "../internal/sales.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage, type StorageService } from "../ports/Storage.js"

const decodeTemplateId = decodeInput(TemplateId, ["templateId"])

/**
 * The placeholders a template may use besides custom fields (`contact.fields.<key>`,
 * `company.fields.<key>`, `deal.fields.<key>` for every defined field).
 *
 * @since 0.2.0
 * @category constructors
 */
export const knownPlaceholders = {
  contact: ["id", "email", "firstName", "lastName", "phone", "stage", "ownerId"],
  company: ["id", "name", "domain", "phone"],
  deal: ["id", "title", "amount", "amountMinor", "currency", "stage", "stageLabel", "quoteRef", "expectedCloseDate", "ownerId"],
  workspace: ["name"]
} as const

/** Whether a path names a value follow-up mails provide, given the workspace's field definitions. */
const placeholderChecker = (definitions: ReadonlyArray<FieldDefinition>) => {
  const fields = new Set(definitions.map((d) => `${d.entity}.fields.${d.key}`))
  return (path: ReadonlyArray<string>): boolean => {
    const [root, first, second] = path
    if (root === undefined || !(root in knownPlaceholders)) return false
    if (path.length === 2) return (knownPlaceholders[root as keyof typeof knownPlaceholders] as ReadonlyArray<string>).includes(first!)
    return path.length === 3 && first === "fields" && fields.has(`${root}.fields.${second}`)
  }
}

const checked = (storage: StorageService, workspaceId: WorkspaceId, content: { subject: string; html: string | null; text: string | null }) =>
  Effect.gen(function* () {
    if ((content.html ?? "").trim() === "" && (content.text ?? "").trim() === "") {
      return yield* ValidationError.at(["html"], "a template needs a body: at least one of \"html\" or \"text\" must be a non-empty string")
    }
    const issues = check(content, placeholderChecker(yield* storage.fieldDefinitions.list(workspaceId)))
    if (issues.length > 0) return yield* ValidationError.fromIssues(issues, "Invalid template")
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
          yield* checked(storage, workspace.id, content)
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
          yield* checked(storage, workspaceId, content)
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
      const removed = yield* storage.templates.remove((yield* readWorkspace(storage)).id, id)
      if (!removed) return yield* NotFound.of("template", id)
    })

    /** The workspace's templates by name. */
    const list = Effect.fn("Templates.list")(function* () {
      return yield* storage.templates.list((yield* readWorkspace(storage)).id)
    })

    return { create, get, update, remove, list } as const
  })
}) {}
