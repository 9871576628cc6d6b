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
 * The whole mail as a developer reads it in a terminal: the envelope and headers (From, Reply-To,
 * To, Subject, the idempotency key and every extra header such as `List-Unsubscribe`), the text
 * part, the HTML part, and each attachment's name, type and size.
 *
 * @since 0.7.0
 * @category utils
 */
export const renderForConsole = (mail: OutgoingMail): string => {
  const rule = "─".repeat(72)
  const lines = [
    rule,
    ...(mail.from === undefined ? [] : [`From:        ${mail.from}`]),
    ...(mail.replyTo === undefined ? [] : [`Reply-To:    ${mail.replyTo}`]),
    `To:          ${mail.to}`,
    `Subject:     ${mail.subject}`,
    `Idempotency: ${mail.idempotencyKey}`,
    ...Object.entries(mail.headers ?? {}).map(([name, value]) => `${`${name}:`.padEnd(12)} ${value}`),
    ...(mail.attachments ?? []).map((a) => `Attachment:  ${a.filename} (${a.contentType}, ${a.content.byteLength} bytes)`)
  ]
  if (mail.text !== undefined) lines.push("", "── text ──", mail.text)
  if (mail.html !== undefined) lines.push("", "── html ──", mail.html)
  if (mail.text === undefined && mail.html === undefined) lines.push("", "(no body)")
  lines.push(rule)
  return lines.join("\n")
}

/**
 * A Mailer for development that prints each whole mail to the console ({@link renderForConsole}):
 * headers, the text part and the HTML part, and the attachments' names and sizes.
 *
 * @since 0.1.0
 * @category layers
 */
export const consoleLayer: Layer.Layer<Mailer> = Layer.succeed(
  Mailer,
  Mailer.of({
    send: (mail) => Effect.as(Console.log(renderForConsole(mail)), { messageId: `console-${mail.idempotencyKey}` })
  })
)
