import { Contacts, Errors, Ids, Storage, Workspaces } from "@rapport/core"
import * as Option from "effect/Option"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { failure, withCrm } from "./helpers.js"

describe("Workspaces", () => {
  it.effect("the default workspace exists on first use, in UTC with the classic lifecycle", () =>
    withCrm(
      Effect.gen(function* () {
        const current = yield* (yield* Workspaces.Workspaces).get
        expect([current.id, current.timezone, current.lifecycle.preset, current.version]).toEqual(["default", "UTC", "classic", 1])
      })
    ))

  it.effect("settings change the timezone; bad values and stale versions are refused", () =>
    withCrm(
      Effect.gen(function* () {
        const workspaces = yield* Workspaces.Workspaces
        const updated = yield* workspaces.update({ timezone: "Europe/Paris", name: "Boutique Lumière", expectedVersion: 1 })
        expect([updated.timezone, updated.name, updated.version]).toEqual(["Europe/Paris", "Boutique Lumière", 2])
        const bad = yield* failure(workspaces.update({ timezone: "Europe/Atlantis" }))
        expect((bad as Errors.ValidationError).issues.map((i) => i.path.join("."))).toEqual(["timezone"])
        expect(yield* failure(workspaces.update({ name: "x", expectedVersion: 1 }))).toMatchObject({ _tag: "Conflict", reason: "version" })
      })
    ))

  it.effect("the default country is unset until given, and must be a two-letter code", () =>
    withCrm(
      Effect.gen(function* () {
        const workspaces = yield* Workspaces.Workspaces
        expect((yield* workspaces.get).country).toBeNull()
        expect((yield* workspaces.update({ country: "BE" })).country).toBe("BE")
        expect((yield* workspaces.get).country).toBe("BE")
        const bad = (yield* failure(workspaces.update({ country: "be" }))) as Errors.ValidationError
        expect(bad.issues.map((i) => [i.path.join("."), i.message])).toEqual([["country", 'must be a two-letter country code such as FR, BE or US (got "be")']])
        expect((yield* workspaces.update({ country: null })).country).toBeNull()
      })
    ))

  it.effect("reading a workspace never creates it; the first write does", () =>
    withCrm(
      Effect.gen(function* () {
        const storage = yield* Storage.Storage
        const contacts = yield* Contacts.Contacts
        const typo = Ids.WorkspaceId.make("typo-tenant")
        const inTypo = Workspaces.withWorkspace(typo)
        expect((yield* inTypo(contacts.list())).items).toEqual([])
        expect((yield* inTypo((yield* Workspaces.Workspaces).get)).version).toBe(1)
        expect(Option.isNone(yield* storage.workspaces.get(typo))).toBe(true)
        yield* inTypo(contacts.create({ firstName: "first write" }))
        expect(Option.isSome(yield* storage.workspaces.get(typo))).toBe(true)
      })
    ))

  it.effect("withWorkspace scopes every call; nothing crosses workspaces", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const acme = Workspaces.withWorkspace(Ids.WorkspaceId.make("acme"))
        const a = yield* acme(contacts.create({ email: "same@example.com" }))
        const d = yield* contacts.create({ email: "same@example.com" })
        expect(a.workspaceId).toBe("acme")
        expect(d.workspaceId).toBe("default")
        expect(yield* failure(contacts.get(a.id))).toMatchObject({ _tag: "NotFound" })
        expect((yield* acme(contacts.list())).items.map((c) => c.id)).toEqual([a.id])
      })
    ))
})
