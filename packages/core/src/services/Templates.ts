/**
 * Email templates: subject, HTML and text in Liquid, checked when saved so a typo in a variable is
 * an error then, not a blank in a customer's mail later; per-locale variants, and a preview of a
 * template for a contact and an event.
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { builtInPayloads } from "../domain/CrmEvent.js"
import { JsonObject } from "../domain/Json.js"
import { EventType } from "../domain/LifecycleDefinition.js"
import { InstantInput } from "../domain/Time.js"
import { Conflict, NotFound, ValidationError, ValidationIssue } from "../domain/Errors.js"
import type { FieldDefinition } from "../domain/FieldDefinition.js"
import { ContactId, type SetupKey, TemplateId, type WorkspaceId } from "../domain/Ids.js"
import { check, type Content, hasUnsubscribeLink, spamWarnings, Template, TemplateCreate, TemplateLocale, type TemplatePurpose, TemplateUpdate, TemplateVariant, TemplateVariantInput } from "../domain/Template.js"
import { isKnown as isKnownVariable, sampleEvent } from "../domain/TemplateVariables.js"
import { getContact } from "../internal/records.js"
import { makeCompiledTemplates, renderContext } from "../internal/templateMail.js"
import { workspaceLock } from "../internal/locks.js"
import { getTemplate } from "../internal/sales.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { refuseIfRulesUse } from "../internal/ruleRefs.js"
import { Storage, type StorageService } from "../ports/Storage.js"

const decodeTemplateId = decodeInput(TemplateId, ["templateId"])

/**
 * The placeholders of the first template engine besides custom fields. Kept for reference: the
 * variables a template may read are now listed, per event type, by `TemplateVariables`.
 *
 * @since 0.2.0
 * @category constructors
 * @deprecated use `TemplateVariables.forEvent(eventType)`
 */
export const knownPlaceholders = {
  contact: ["id", "email", "firstName", "lastName", "phone", "stage", "ownerId"],
  company: ["id", "name", "domain", "phone"],
  deal: ["id", "title", "amount", "amountMinor", "currency", "stage", "stageLabel", "quoteRef", "expectedCloseDate", "ownerId"],
  workspace: ["name"],
  event: ["id", "type", "occurredAt"]
} as const

const UNSUBSCRIBE = "a marketing mail needs an unsubscribe link: put {{ unsubscribeUrl }} in it (e.g. <a href=\"{{ unsubscribeUrl }}\">Unsubscribe</a>)"

/**
 * Every reason a template cannot be saved, and the warnings that do not stop it. Variables are
 * checked for the event type when one is given, else for any (see `TemplateVariables.isKnown`).
 */
const review = (definitions: ReadonlyArray<FieldDefinition>, content: Content, purpose: TemplatePurpose, eventType?: string, at: ReadonlyArray<string> = []) => {
  const known = (path: ReadonlyArray<string>) => isKnownVariable(path, { eventType, fields: definitions })
  const issues: Array<ValidationIssue> = check(content, known).map((issue) => ({ ...issue, path: [...at, ...issue.path] }))
  if (purpose === "marketing") {
    for (const field of ["html", "text"] as const) {
      const source = content[field]
      if (source !== null && source.trim() !== "" && !hasUnsubscribeLink(source)) issues.push({ path: [...at, field], message: UNSUBSCRIBE })
    }
  }
  return { issues, warnings: spamWarnings(content).map((w) => ({ ...w, path: [...at, ...w.path] })) }
}

/**
 * What `templates.check` returns: `issues` stop a save (`valid` when there is none), `warnings`
 * (spam-trigger words) do not.
 *
 * @since 0.7.0
 * @category schemas
 */
export const TemplateReview = Schema.Struct({
  valid: Schema.Boolean.annotations({ description: "Whether saving this template would succeed (no issue)" }),
  issues: Schema.Array(ValidationIssue).annotations({ description: "What saving this template would refuse" }),
  warnings: Schema.Array(ValidationIssue).annotations({ description: "What looks wrong but does not stop a save (spam-trigger words)" })
}).annotations({ identifier: "TemplateReview", description: "What saving this template would refuse (issues), and what looks wrong (warnings)" })

/**
 * What `templates.check` finds: `issues` stop a save, `warnings` (spam-trigger words) do not.
 *
 * @since 0.3.0
 * @category models
 */
export interface TemplateReview extends Schema.Schema.Type<typeof TemplateReview> {}

/**
 * What `templates.preview` accepts: the contact the mail is for, and the event it reacts to: a
 * type (a sample event of that type: an order of two lines for `order.placed`…) or an event with
 * its payload (`{ type: "order.placed", payload: { orderId, lines } }`, checked like an emitted
 * one). `locale` renders another locale's variant than the contact's.
 *
 * @since 0.7.0
 * @category schemas
 */
export const TemplatePreviewInput = Schema.Struct({
  contactId: ContactId,
  event: Schema.optional(
    Schema.Union(
      EventType,
      Schema.Struct({ type: EventType, payload: Schema.optional(JsonObject), occurredAt: Schema.optional(InstantInput) })
    )
  ),
  locale: Schema.optional(TemplateLocale)
})

/**
 * @since 0.7.0
 * @category models
 */
export type TemplatePreviewInput = typeof TemplatePreviewInput.Encoded

/**
 * What `templates.preview` returns: the template rendered for the contact and the event (a sample
 * of its type, or the one given), as it would be sent.
 *
 * @since 0.7.0
 * @category schemas
 */
export const TemplatePreview = Schema.Struct({
  subject: Schema.String.annotations({ description: "The rendered subject (one line)" }),
  html: Schema.NullOr(Schema.String),
  text: Schema.NullOr(Schema.String),
  locale: Schema.NullOr(Schema.String).annotations({ description: "The variant's locale; null for the template's own text" }),
  event: Schema.NullOr(
    Schema.Struct({
      type: Schema.String,
      sample: Schema.Boolean.annotations({ description: "Whether the event is a sample of its type (no payload was given)" })
    })
  ).annotations({ description: "The event the template was rendered with; null without one" })
}).annotations({
  identifier: "TemplatePreview",
  description: "The template rendered for the contact and the event (a sample of its type, or the one given), as it would be sent"
})

/**
 * A template rendered for one contact and event, as the mail would be sent: the subject (one line),
 * the bodies, the variant's locale (`null` for the template's own text) and the event used.
 *
 * @since 0.7.0
 * @category models
 */
export interface TemplatePreview extends Schema.Schema.Type<typeof TemplatePreview> {}

/**
 * Options of `templates.check`: an event type checks the variables for that type only.
 *
 * @since 0.7.0
 * @category models
 */
export interface TemplateCheckOptions {
  readonly eventType?: string
}

const decodeLocale = decodeInput(TemplateLocale, ["locale"])
const decodeCheckOptions = decodeInput(Schema.Struct({ eventType: Schema.optional(EventType) }))

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

/** Fails with `Conflict` (`unique`, field `key`) when another template holds the key. */
const keyFree = (storage: StorageService, workspaceId: WorkspaceId, key: SetupKey, self: TemplateId | undefined) =>
  Effect.flatMap(storage.templates.getByKey(workspaceId, key), (held) =>
    Option.isSome(held) && held.value.id !== self ? Effect.fail(Conflict.unique("template", "key", held.value.id)) : Effect.void
  )

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
          if (data.key !== undefined) yield* keyFree(storage, workspace.id, data.key, undefined)
          const template = new Template({
            id: TemplateId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            key: data.key ?? null,
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
          if (data.purpose === "marketing" && current.purpose !== "marketing") {
            const issues = (yield* storage.templateLocales.list(workspaceId, id)).flatMap(
              (variant) => review([], variant, "marketing", undefined, ["locales", variant.locale]).issues.filter((issue) => !issue.message.startsWith("unknown variable"))
            )
            if (issues.length > 0) return yield* ValidationError.fromIssues(issues, "Invalid template")
          }
          if (data.key != null && data.key !== current.key) yield* keyFree(storage, workspaceId, data.key, id)
          const next = new Template({
            ...current,
            ...content,
            key: data.key === undefined ? current.key : data.key,
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
          yield* storage.templateLocales.removeAll(workspaceId, id)
        })
      )
    })

    /** The workspace's templates by name. */
    const list = Effect.fn("Templates.list")(function* () {
      return yield* storage.templates.list((yield* readWorkspace(storage)).id)
    })

    /**
     * Checks a template without saving it: `issues` would stop a save (syntax, unknown variables,
     * a marketing mail without `{{ unsubscribeUrl }}`); `warnings` would not (spam-trigger words).
     */
    const checkContent = Effect.fn("Templates.check")(function* (input: TemplateCreate, options: TemplateCheckOptions = {}) {
      const data = yield* decodeInput(TemplateCreate)(input)
      const { eventType } = yield* decodeCheckOptions(options)
      const content = { subject: data.subject, html: data.html ?? null, text: data.text ?? null }
      const { issues, warnings } = review(yield* storage.fieldDefinitions.list((yield* readWorkspace(storage)).id), content, data.purpose ?? "transactional", eventType)
      return { valid: issues.length === 0, issues, warnings } satisfies TemplateReview
    })

    const compiledTemplate = makeCompiledTemplates(storage)

    /**
     * Renders a template for a contact as the mail would be sent (its locale's variant, its
     * timezone, its company), with an event: a sample of a type, or one given with its payload.
     */
    const preview = Effect.fn("Templates.preview")(function* (templateId: string, input: TemplatePreviewInput) {
      const id = yield* decodeTemplateId(templateId)
      const data = yield* decodeInput(TemplatePreviewInput)(input)
      const workspace = yield* readWorkspace(storage)
      const template = yield* getTemplate(storage, workspace.id, id)
      const contact = yield* getContact(storage, workspace.id, data.contactId)
      const given = typeof data.event === "string" ? undefined : data.event
      const type = typeof data.event === "string" ? data.event : data.event?.type
      let event: { id: string; type: string; occurredAt: unknown; payload: Readonly<Record<string, unknown>> } | undefined
      if (type !== undefined) {
        const sample = given?.payload === undefined
        let payload: Readonly<Record<string, unknown>> = sample ? sampleEvent(type).payload : given!.payload!
        const schema = builtInPayloads[type]
        if (!sample && schema !== undefined) payload = (yield* decodeInput(schema, ["event", "payload"])(payload)) as Readonly<Record<string, unknown>>
        event = { id: "preview", type, occurredAt: given?.occurredAt ?? (yield* DateTime.now), payload }
      }
      const { compiled } = yield* compiledTemplate(template)
      const context = yield* renderContext(storage, workspace, contact, event, template.purpose === "marketing" ? { unsubscribeUrl: "https://example.com/unsubscribe/preview" } : {})
      const values = data.locale === undefined ? context : { ...context, contact: { ...(context["contact"] as object), locale: data.locale } }
      const rendered = yield* Effect.mapError(compiled.renderEither(values), (issues) => ValidationError.fromIssues(issues, `Template "${template.name}" could not be rendered`))
      return {
        ...rendered,
        locale: compiled.localeFor(values),
        event: type === undefined ? null : { type, sample: given?.payload === undefined }
      } satisfies TemplatePreview
    })

    // A variant's change bumps the template's version: mails rendered after it use it.
    const touch = (current: Template) =>
      Effect.gen(function* () {
        const next = new Template({ ...current, version: current.version + 1, updatedAt: yield* DateTime.now })
        yield* storage.templates.update(next, current.version)
        return next
      })

    /** Sets the template's text for a locale, checked like the template; the template's version goes up. */
    const setLocale = Effect.fn("Templates.setLocale")(function* (templateId: string, locale: string, input: TemplateVariantInput) {
      const id = yield* decodeTemplateId(templateId)
      const tag = yield* decodeLocale(locale)
      const data = yield* decodeInput(TemplateVariantInput)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          const current = yield* getTemplate(storage, workspaceId, id)
          if (data.expectedVersion !== undefined && data.expectedVersion !== current.version) {
            return yield* Conflict.version("template", id, data.expectedVersion, current.version)
          }
          const content = { subject: data.subject, html: data.html ?? null, text: data.text ?? null }
          const { issues, warnings } = review(yield* storage.fieldDefinitions.list(workspaceId), content, current.purpose, undefined, ["locales", tag])
          if (issues.length > 0) return yield* ValidationError.fromIssues(issues, "Invalid template")
          if (warnings.length > 0) {
            yield* Effect.logWarning(`Template "${current.name}" (${tag}) may be taken for spam: ${warnings.map((w) => `${w.path.join(".")} ${w.message}`).join("; ")}`)
          }
          const variant = new TemplateVariant({ workspaceId, templateId: id, locale: tag, ...content, updatedAt: yield* DateTime.now })
          yield* storage.templateLocales.put(variant)
          yield* touch(current)
          return variant
        })
      )
    })

    /** Removes the template's text for a locale (`NotFound` when it has none); the template's version goes up. */
    const removeLocale = Effect.fn("Templates.removeLocale")(function* (templateId: string, locale: string) {
      const id = yield* decodeTemplateId(templateId)
      const tag = yield* decodeLocale(locale)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          const current = yield* getTemplate(storage, workspaceId, id)
          if (!(yield* storage.templateLocales.remove(workspaceId, id, tag))) return yield* new NotFound({ entity: "template", id, message: `Template "${id}" has no ${tag} variant` })
          yield* touch(current)
        })
      )
    })

    /** The template's locale variants, by locale. */
    const locales = Effect.fn("Templates.locales")(function* (templateId: string) {
      const id = yield* decodeTemplateId(templateId)
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getTemplate(storage, workspaceId, id)
      return yield* storage.templateLocales.list(workspaceId, id)
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
      /**
       * Checks a template without saving it: issues that would stop a save, and spam warnings;
       * with `{ eventType }`, variables are checked for that event type only.
       */
      check: checkContent,
      /** Renders a template for a contact and an event (a sample of a type, or one given), as it would be sent. */
      preview,
      /** Sets the template's text for a locale (`fr`, `en-GB`…): contacts of that locale receive it. */
      setLocale,
      /** Removes the template's text for a locale. */
      removeLocale,
      /** The template's locale variants. */
      locales
    } as const
  })
}) {}
