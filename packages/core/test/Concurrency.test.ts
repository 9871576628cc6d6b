// Operations racing each other on one CRM: each reads what it decides on inside its own
// transaction, so a concurrent change is either seen or waited for, never half-seen.
import { Companies, Contacts, Fields, Lifecycle } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { withCrm } from "./helpers.js"

describe("concurrent operations", () => {
  it.effect("a move racing a lifecycle change never leaves a contact in a stage the lifecycle lacks", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 20; round++) {
        yield* withCrm(
          Effect.gen(function* () {
            const contacts = yield* Contacts.Contacts
            const lifecycle = yield* Lifecycle.Lifecycle
            const c = yield* contacts.create({ email: "race@example.com", stage: "customer" })
            yield* Effect.all([Effect.either(lifecycle.move(c.id, "fan", { reason: "race" })), Effect.either(lifecycle.configure({ preset: "hubspot" }))], {
              concurrency: 2
            })
            const stages = (yield* lifecycle.definition).stages.map((s) => s.key as string)
            expect(stages).toContain((yield* contacts.get(c.id)).stage)
          })
        )
      }
    }))

  it.effect("a company created while its field becomes unique never duplicates a unique value", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 20; round++) {
        yield* withCrm(
          Effect.gen(function* () {
            const fields = yield* Fields.Fields
            const companies = yield* Companies.Companies
            yield* fields.define({ entity: "company", key: "vat", type: "text" })
            yield* companies.create({ name: "A", fields: { vat: "FR123" } })
            yield* Effect.all([Effect.either(companies.create({ name: "B", fields: { vat: "fr123" } })), Effect.either(fields.update("company", "vat", { unique: true }))], {
              concurrency: 2
            })
            const unique = (yield* fields.get("company", "vat")).unique
            const values = (yield* companies.list()).items.map((c) => String(c.fields["vat"]).toLowerCase())
            if (unique) expect(new Set(values).size).toBe(values.length)
          })
        )
      }
    }))
})
