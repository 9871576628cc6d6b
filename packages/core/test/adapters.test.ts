import { IdGenerator, Mailer, Mailers } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"

describe("IdGenerator", () => {
  it.effect("UUID v7 ids follow the clock and keep their order within one millisecond", () =>
    Effect.gen(function* () {
      const ids = IdGenerator.makeUuidV7()
      const sameMs = yield* Effect.all(Array.from({ length: 50 }, () => ids.next))
      expect([...sameMs].sort()).toEqual(sameMs)
      expect(new Set(sameMs).size).toBe(50)
      yield* TestClock.adjust("1 day")
      const later = yield* ids.next
      expect(later > sameMs[49]!).toBe(true)
      expect(later).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(parseInt(later.replace(/-/g, "").slice(0, 12), 16)).toBe(86_400_000)
    }))

  it.effect("sequential ids are deterministic", () =>
    Effect.gen(function* () {
      const ids = IdGenerator.makeSequential()
      expect([yield* ids.next, yield* ids.next]).toEqual(["00000000-0000-7000-8000-000000000001", "00000000-0000-7000-8000-000000000002"])
    }))
})

describe("Mailers", () => {
  it.effect("the capturing mailer keeps each mail once per idempotency key", () =>
    Effect.gen(function* () {
      const mailer = yield* Mailer.Mailer
      const captured = yield* Mailers.CapturingMailer
      const mail = { to: "ada@example.com", subject: "Your order", text: "Thanks", idempotencyKey: "order-1:confirmation" }
      const first = yield* mailer.send(mail)
      const retry = yield* mailer.send(mail)
      expect(retry).toEqual(first)
      yield* mailer.send({ ...mail, idempotencyKey: "order-2:confirmation" })
      expect((yield* captured.sent).map((m) => m.idempotencyKey)).toEqual(["order-1:confirmation", "order-2:confirmation"])
      yield* captured.clear
      expect(yield* captured.sent).toEqual([])
    }).pipe(Effect.provide(Mailers.capturingLayer)))
})
