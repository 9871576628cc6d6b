// Operations racing each other on one CRM: each reads what it decides on inside its own
// transaction, so a concurrent change is either seen or waited for, never half-seen.
import { Companies, Contacts, Fields, Lifecycle } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { withCrm } from "./helpers.js"

/** `ok`, or the error's tag and reason. */
const outcomeOf = <A, E>(result: Either.Either<A, E>): string => {
  if (Either.isRight(result)) return "ok"
  const error = result.left as { readonly _tag?: string; readonly reason?: string }
  return error.reason === undefined ? String(error._tag) : `${error._tag}:${error.reason}`
}

/**
 * Delays `effect` by 50 ms of real time (the TestClock would never end an `Effect.sleep`) in the
 * rounds where `round % 3` is `lag`: with the other side ahead, a race test sees that side win too,
 * where simultaneous starts on one SQLite connection may always go the same way.
 */
const headStart = <A, E, R>(round: number, lag: number, effect: Effect.Effect<A, E, R>) =>
  round % 3 === lag ? Effect.zipRight(Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50))), effect) : effect

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
      const seen = { madeUnique: 0, refused: 0 }
      for (let round = 0; round < 21; round++) {
        yield* withCrm(
          Effect.gen(function* () {
            const fields = yield* Fields.Fields
            const companies = yield* Companies.Companies
            yield* fields.define({ entity: "company", key: "vat", type: "text" })
            yield* companies.create({ name: "A", fields: { vat: "FR123" } })
            const [created, updated] = yield* Effect.all(
              [
                headStart(round, 2, Effect.either(companies.create({ name: "B", fields: { vat: "fr123" } }))),
                headStart(round, 1, Effect.either(fields.update("company", "vat", { unique: true })))
              ],
              { concurrency: 2 }
            )
            const unique = (yield* fields.get("company", "vat")).unique
            const values = (yield* companies.list()).items.map((c) => String(c.fields["vat"]).toLowerCase())
            // Unique, and B refused; or the change refused, because B shares the value.
            expect({ create: outcomeOf(created), update: outcomeOf(updated), values }).toEqual(
              unique
                ? { create: "Conflict:unique", update: "ok", values: ["fr123"] }
                : { create: "ok", update: "Conflict:existingValues", values: ["fr123", "fr123"] }
            )
            seen[unique ? "madeUnique" : "refused"]++
          })
        )
      }
      expect(seen.madeUnique).toBeGreaterThan(0)
      expect(seen.refused).toBeGreaterThan(0)
    }))
})
