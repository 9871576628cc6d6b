// contacts.upsert (issue 15): create or update the contact with an email, normalised like create.
import { Crm } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { failure, withCrm } from "./helpers.js"

describe("contacts.upsert", () => {
  it.effect("creates the contact the first time, then updates the one with that email (however it is written)", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "plan", type: "text" })
        yield* crm.fields.define({ key: "siret", type: "text" })
        const first = yield* crm.contacts.upsert({ email: "Ada@Example.com", firstName: "Ada", source: { channel: "shop" }, fields: { plan: "free" } })
        expect(first.created).toBe(true)
        expect(first.contact.email).toBe("Ada@example.com")
        const second = yield* crm.contacts.upsert({ email: " ada@EXAMPLE.com ", lastName: "Lovelace", source: { channel: "import" }, stage: "customer", fields: { siret: "123" } })
        expect(second.created).toBe(false)
        expect(second.contact.id).toBe(first.contact.id)
        expect(second.contact).toMatchObject({ firstName: "Ada", lastName: "Lovelace", version: first.contact.version + 1 })
        // Fields are merged; source and stage are the creation's.
        expect(second.contact.fields).toEqual({ plan: "free", siret: "123" })
        expect(second.contact.source.channel).toBe("shop")
        expect(second.contact.stage).toBe(first.contact.stage)
        expect((yield* crm.contacts.list({})).items.length).toBe(1)
      })
    ))

  it.effect("is idempotent: the same upsert again writes nothing (the version stays)", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const input = { email: "grace@example.com", firstName: "Grace", tags: ["navy"], score: 3 }
        const first = yield* crm.contacts.upsert(input)
        const again = yield* crm.contacts.upsert(input)
        expect(again).toEqual({ ...first, created: false })
        const changed = yield* crm.contacts.upsert({ ...input, score: 4 })
        expect(changed.contact.version).toBe(first.contact.version + 1)
      })
    ))

  it.effect("finds a contact by a secondary email too, and refuses what update would refuse", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "employees", type: "integer" })
        const ada = yield* crm.contacts.create({ email: "ada@example.com", emails: [{ value: "ada@example.com" }, { value: "ada@work.example" }] })
        const found = yield* crm.contacts.upsert({ email: "ada@work.example", firstName: "Ada" })
        expect(found).toMatchObject({ created: false, contact: { id: ada.id, email: "ada@example.com", firstName: "Ada" } })
        expect(yield* failure(crm.contacts.upsert({ email: "not an email" }))).toMatchObject({ _tag: "ValidationError" })
        expect(yield* failure(crm.contacts.upsert({ email: "ada@example.com", fields: { employees: "many" } }))).toMatchObject({ _tag: "ValidationError" })
        expect(Option.map(yield* crm.contacts.findByEmail("ada@example.com"), (c) => c.version)).toEqual(Option.some(2))
      })
    ))
})
