// A template's per-locale variants in storage: put (an upsert), listed by locale, removed one by
// one or all with the template; per workspace and template. Registered by `storageSuite`; not a
// public entry point of its own.
import { Crm, Ids, Storage, Template, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const templateId = (n: number) => Ids.TemplateId.make(`018f0000-0000-7000-a000-${String(n).padStart(12, "0")}`)

const variant = (workspaceId: Ids.WorkspaceId, id: Ids.TemplateId, locale: string, subject: string, at = "2026-01-01T00:00:00.000Z") =>
  new Template.TemplateVariant({ workspaceId, templateId: id, locale, subject, html: subject === "html" ? "<p>Bonjour {{ contact.firstName }}</p>" : null, text: `Text ${subject} — é 🎉`, updatedAt: Fixtures.instant(at) })

export const templateLocalesSuite = (test: Test) => {
  describe("template locales", () => {
    test("put stores a variant and replaces the one of the same locale; list is by locale; remove and removeAll are per template and workspace", () =>
      Effect.gen(function* () {
        const s = yield* Storage.Storage
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const a = templateId(1)
        const b = templateId(2)
        yield* s.templateLocales.put(variant(ws, a, "fr", "Bonjour"))
        yield* s.templateLocales.put(variant(ws, a, "en-GB", "html"))
        yield* s.templateLocales.put(variant(ws, b, "fr", "Autre"))
        yield* s.templateLocales.put(variant(other, a, "fr", "Ailleurs"))
        expect(yield* s.templateLocales.list(ws, a)).toEqual([variant(ws, a, "en-GB", "html"), variant(ws, a, "fr", "Bonjour")])

        yield* s.templateLocales.put(variant(ws, a, "fr", "Salut", "2026-02-01T00:00:00.000Z"))
        expect((yield* s.templateLocales.list(ws, a)).map((v) => [v.locale, v.subject, v.updatedAt.epochMillis])).toEqual([
          ["en-GB", "html", Date.parse("2026-01-01T00:00:00.000Z")],
          ["fr", "Salut", Date.parse("2026-02-01T00:00:00.000Z")]
        ])

        expect(yield* s.templateLocales.remove(ws, a, "fr")).toBe(true)
        expect(yield* s.templateLocales.remove(ws, a, "fr")).toBe(false)
        expect((yield* s.templateLocales.list(ws, a)).map((v) => v.locale)).toEqual(["en-GB"])
        yield* s.templateLocales.removeAll(ws, a)
        expect(yield* s.templateLocales.list(ws, a)).toEqual([])
        // Another template and another workspace keep theirs.
        expect((yield* s.templateLocales.list(ws, b)).map((v) => v.subject)).toEqual(["Autre"])
        expect((yield* s.templateLocales.list(other, a)).map((v) => v.subject)).toEqual(["Ailleurs"])
      }))

    test("through the services: a variant is sent to contacts of its locale, and goes with its template", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect)
        yield* run(crm.fields.define({ key: "locale", type: "text" }))
        const template = yield* run(crm.templates.create({ name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello" }))
        yield* run(crm.templates.setLocale(template.id, "fr", { subject: "Bienvenue {{ contact.firstName }}", text: "Bonjour" }))
        const zoe = yield* run(crm.contacts.create({ email: "zoe@example.com", firstName: "Zoé", fields: { locale: "fr-FR" } }))
        expect(yield* run(crm.templates.preview(template.id, { contactId: zoe.id }))).toMatchObject({ subject: "Bienvenue Zoé", text: "Bonjour", locale: "fr" })
        yield* run(crm.templates.remove(template.id))
        const s = yield* Storage.Storage
        expect(yield* s.templateLocales.list(ws, template.id)).toEqual([])
      }))
  })
}
