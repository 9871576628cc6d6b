// What renders a template for a contact, shared by the dispatcher (rule mails) and
// `templates.preview`: the values (`TemplateVariables.contextFor`) read from storage, and the
// template compiled with its locale variants, once per version.
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Contact } from "../domain/Contact.js"
import { ValidationError } from "../domain/Errors.js"
import { compile, type Compiled, type RenderContext, type Template, variables } from "../domain/Template.js"
import { byEventType, contextFor } from "../domain/TemplateVariables.js"
import type { Workspace } from "../domain/Workspace.js"
import type { StorageService } from "../ports/Storage.js"
import { toJson } from "./json.js"

/** The event a mail reacts to, as it is stored or as a preview gives it. */
export interface MailEvent {
  readonly id: string
  readonly type: string
  readonly occurredAt: unknown
  readonly payload: Readonly<Record<string, unknown>>
}

/** The values a template reads for this contact and event (instants as ISO strings). */
export const renderContext = (
  storage: StorageService,
  workspace: Workspace,
  contact: Contact,
  event: MailEvent | undefined,
  extra: Readonly<Record<string, unknown>> = {}
) =>
  Effect.gen(function* () {
    const company = contact.companyId === null ? Option.none() : yield* storage.companies.get(workspace.id, contact.companyId)
    const json = toJson({ contact, company: Option.getOrNull(company), event: event ?? null }) as {
      readonly contact: Readonly<Record<string, unknown>>
      readonly company: Readonly<Record<string, unknown>> | null
      readonly event: { readonly id: string; readonly type: string; readonly occurredAt: string; readonly payload: Readonly<Record<string, unknown>> } | null
    }
    return contextFor({
      workspace: { name: workspace.name, timezone: workspace.timezone, country: workspace.country },
      contact: json.contact,
      company: json.company,
      event: json.event,
      extra: toJson(extra) as Readonly<Record<string, unknown>>
    }) satisfies RenderContext
  })

const EVENT_ROOTS: ReadonlySet<string> = new Set(["event", ...Object.values(byEventType).flatMap((roots) => Object.keys(roots))])

/**
 * A template compiled with its locale variants, parsed once per version (a variant's change bumps
 * the template's version); one cache per service instance, so two CRMs in one process never share
 * one. A stored template that no longer parses is a ValidationError.
 */
export const makeCompiledTemplates = (storage: StorageService) => {
  const cache = new Map<string, { readonly compiled: Compiled; readonly usesEvent: boolean }>()
  return (template: Template) =>
    Effect.gen(function* () {
      const key = `${template.workspaceId}\u0000${template.id}\u0000${template.version}`
      const cached = cache.get(key)
      if (cached !== undefined) return cached
      const variants = yield* storage.templateLocales.list(template.workspaceId, template.id)
      const compiled = compile(template, variants.map((v) => ({ locale: v.locale, content: v })))
      if (compiled._tag === "Left") return yield* ValidationError.fromIssues(compiled.left, `Template "${template.name}" is invalid`)
      // Only the values a template reads are read: the event when it reads it or what its type adds.
      const usesEvent = [template, ...variants].some((content) => variables(content).some((use) => EVENT_ROOTS.has(use.path[0]!)))
      const entry = { compiled: compiled.right, usesEvent }
      if (cache.size >= 1_000) cache.clear()
      cache.set(key, entry)
      return entry
    })
}
