/**
 * Mailers that need no provider: one that captures mails for tests and previews, one that prints
 * them to the console for development.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { Mailer, type OutgoingMail } from "../ports/Mailer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface CapturedMails {
  /** Mails handed to the mailer, in order; one per idempotency key, as a careful provider would. */
  readonly sent: Effect.Effect<ReadonlyArray<OutgoingMail>>
  readonly clear: Effect.Effect<void>
}

/**
 * Gives tests the mails a {@link capturingLayer} received.
 *
 * @since 0.1.0
 * @category services
 */
export class CapturingMailer extends Context.Tag("@rapport/core/CapturingMailer")<CapturingMailer, CapturedMails>() {}

/**
 * A Mailer that keeps what it is given, plus {@link CapturingMailer} to read it back. A mail whose
 * idempotency key was already seen is acknowledged again but not kept twice.
 *
 * @since 0.1.0
 * @category layers
 */
export const capturingLayer: Layer.Layer<Mailer | CapturingMailer> = Layer.effectContext(
  Effect.gen(function* () {
    const mails = yield* Ref.make<ReadonlyArray<OutgoingMail>>([])
    const mailer = Mailer.of({
      send: (mail) =>
        Ref.modify(mails, (all) =>
          all.some((m) => m.idempotencyKey === mail.idempotencyKey)
            ? [{ messageId: `captured-${mail.idempotencyKey}` }, all]
            : [{ messageId: `captured-${mail.idempotencyKey}` }, [...all, mail]]
        )
    })
    const captured = CapturingMailer.of({ sent: Ref.get(mails), clear: Ref.set(mails, []) })
    return Context.make(Mailer, mailer).pipe(Context.add(CapturingMailer, captured))
  })
)

/**
 * A Mailer that prints each mail's recipient and subject (and its text body) to the console.
 *
 * @since 0.1.0
 * @category layers
 */
export const consoleLayer: Layer.Layer<Mailer> = Layer.succeed(
  Mailer,
  Mailer.of({
    send: (mail) =>
      Effect.as(
        Console.log(`[mail] to ${mail.to}: ${mail.subject}${mail.text === undefined ? "" : `\n${mail.text}`}`),
        { messageId: `console-${mail.idempotencyKey}` }
      )
  })
)
