// What an effect that must fail failed with; the test fails if it succeeded.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

export const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(effect), (result) => {
    if (Either.isRight(result)) throw new Error("expected the operation to fail, it succeeded")
    return result.left
  })
