/**
 * The Mailer port: how Rapport hands an email to the host app's provider. Every mail carries an
 * idempotency key; a provider that honours it never delivers the same mail twice, even when
 * Rapport retries after a crash.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { ErrorCode } from "../domain/Errors.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface OutgoingMail {
  readonly to: string
  readonly from?: string | undefined
  readonly replyTo?: string | undefined
  readonly subject: string
  readonly html?: string | undefined
  readonly text?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Stable for one logical mail: retries of the same mail carry the same key. */
  readonly idempotencyKey: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MailReceipt {
  /** The provider's id for the message. */
  readonly messageId: string
}

/**
 * The provider refused the mail (`rejected`: retrying will not help) or could not be reached
 * (`unavailable`: retry later).
 *
 * @since 0.1.0
 * @category errors
 */
export class MailerError extends Schema.TaggedError<MailerError>("@rapport/core/MailerError")("MailerError", {
  message: Schema.String,
  reason: Schema.Literal("rejected", "unavailable"),
  cause: Schema.optional(Schema.Defect)
}) {
  /** `MAIL_REJECTED` or `MAIL_UNAVAILABLE`. */
  get code(): ErrorCode {
    return this.reason === "rejected" ? "MAIL_REJECTED" : "MAIL_UNAVAILABLE"
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MailerService {
  /** Hands the mail to the provider; the same idempotency key must never be delivered twice. */
  readonly send: (mail: OutgoingMail) => Effect.Effect<MailReceipt, MailerError>
}

/**
 * The Mailer port.
 *
 * @since 0.1.0
 * @category services
 */
export class Mailer extends Context.Tag("@rapport/core/Mailer")<Mailer, MailerService>() {}

/**
 * How Rapport addresses mail and makes unsubscribe links. `unsubscribe.url` contains `{token}`,
 * replaced by a signed token your unsubscribe route passes to `consent.unsubscribe(token)`;
 * `unsubscribe.secret` signs tokens (keep it stable: changing it invalidates links already sent).
 * Marketing mail cannot be sent without `unsubscribe`.
 *
 * @since 0.3.0
 * @category models
 */
export interface MailSettingsService {
  /** The sender of rule mails, when your provider does not set one. */
  readonly from?: string | undefined
  readonly replyTo?: string | undefined
  readonly unsubscribe?: { readonly url: string; readonly secret: string } | undefined
}

/**
 * Mail settings; none by default (then marketing mail cannot be sent, and rules that would send
 * it are refused when saved).
 *
 * @since 0.3.0
 * @category services
 */
export class MailSettings extends Context.Reference<MailSettings>()("@rapport/core/MailSettings", {
  defaultValue: (): MailSettingsService => ({})
}) {}

/**
 * Sets the mail settings.
 *
 * @since 0.3.0
 * @category layers
 */
export const settingsLayer = (settings: MailSettingsService): Layer.Layer<MailSettings> => Layer.succeed(MailSettings, settings)
