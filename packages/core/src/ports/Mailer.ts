/**
 * The Mailer port: how Rapport hands an email to the host app's provider. Every mail carries an
 * idempotency key; a provider that honours it never delivers the same mail twice, even when
 * Rapport retries after a crash.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type ErrorCode, type ValidationIssue, ValidationError } from "../domain/Errors.js"

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
  /** Files sent with the mail (a quote's PDF with its follow-up), at most {@link maxAttachmentBytes} in all. */
  readonly attachments?: ReadonlyArray<MailAttachment> | undefined
  /** Stable for one logical mail: retries of the same mail carry the same key. */
  readonly idempotencyKey: string
}

/**
 * A file sent with a mail: its name as the recipient sees it (one line), its media type
 * (`application/pdf`) and its bytes.
 *
 * @since 0.7.0
 * @category models
 */
export interface MailAttachment {
  readonly filename: string
  readonly contentType: string
  readonly content: Uint8Array
}

/**
 * The most bytes a mail's attachments may hold together: 10 MB (10,485,760 bytes), under what
 * most receiving servers accept once the files are encoded in base64.
 *
 * @since 0.7.0
 * @category constructors
 */
export const maxAttachmentBytes = 10 * 1024 * 1024

// A media type: type/subtype, RFC 6838 characters, optional parameters such as `; name=value`.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|"[^"\\\u0000-\u001f\u007f]*"))*$/

// What may end a header line or start a new one: C0 controls (CR, LF, tab…), DEL, C1 controls
// (NEL among them) and the Unicode line and paragraph separators, which some mail software also
// treats as line breaks.
const HEADER_BREAK = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g
const HAS_HEADER_BREAK = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
// RFC 5322 field names: printable ASCII except the colon.
const HEADER_NAME = /^[!-9;-~]+$/

/**
 * A value made safe for a mail header: every run of control characters (CR, LF, tab and the other
 * C0 controls, DEL, the C1 controls such as NEL) and of Unicode line or paragraph separators
 * becomes one space, and the ends are trimmed. The result is one line, so no value can start
 * another header.
 *
 * @since 0.4.0
 * @category utils
 */
export const headerValue = (value: string): string => value.replace(HEADER_BREAK, " ").trim()

/**
 * The one guard every mail passes before Rapport hands it to the {@link Mailer}: the subject and
 * each `headers` value are put on one line with {@link headerValue} (a value read from data, such
 * as a deal's quote reference or a field in a subject, may hold a line break), while an address
 * (`to`, `from`, `replyTo`) holding a line break or another control character, or a header name
 * that is not printable ASCII without a colon, fails with a `ValidationError` naming it: such an
 * address is no address, and changing it would send the mail elsewhere.
 *
 * @since 0.4.0
 * @category utils
 */
export const safeMail = (mail: OutgoingMail): Either.Either<OutgoingMail, ValidationError> => {
  const issues: Array<ValidationIssue> = []
  for (const field of ["to", "from", "replyTo"] as const) {
    const address = mail[field]
    if (address !== undefined && HAS_HEADER_BREAK.test(address)) {
      issues.push({ path: [field], message: "must be one line: an address with a line break or another control character could add mail headers" })
    }
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(mail.headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      issues.push({ path: ["headers", name], message: "is not a header name: use printable ASCII characters without a colon or a space" })
    } else {
      headers[name] = headerValue(value)
    }
  }
  let bytes = 0
  for (const [i, attachment] of (mail.attachments ?? []).entries()) {
    if (attachment.filename.trim() === "" || HAS_HEADER_BREAK.test(attachment.filename) || attachment.filename.length > 255) {
      issues.push({ path: ["attachments", i, "filename"], message: "must be one line of 1 to 255 characters: a file name with a line break or another control character could add mail headers" })
    }
    if (!MEDIA_TYPE.test(attachment.contentType)) {
      issues.push({ path: ["attachments", i, "contentType"], message: "must be a media type such as application/pdf (type/subtype, one line)" })
    }
    bytes += attachment.content.byteLength
  }
  if (bytes > maxAttachmentBytes) {
    issues.push({ path: ["attachments"], message: `hold ${bytes} bytes in all; at most ${maxAttachmentBytes} (10 MB) may be sent with one mail` })
  }
  if (issues.length > 0) return Either.left(ValidationError.fromIssues(issues, "Unsafe mail headers"))
  return Either.right({ ...mail, subject: headerValue(mail.subject), ...(mail.headers === undefined ? {} : { headers }) })
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
 * Where unsubscribe links point and how their tokens are signed and how long they last.
 *
 * @since 0.4.0
 * @category models
 */
export interface UnsubscribeSettings {
  /** The unsubscribe route; `{token}` in it is replaced by the token (else `?token=` is appended). */
  readonly url: string
  /** Signs tokens (HMAC-SHA256). Keep it stable: changing it invalidates links already sent. */
  readonly secret: string
  /**
   * How long a link works after the mail carrying it was made (default {@link defaultUnsubscribeLifetime},
   * one year). Keep it at 30 days or more: laws such as CAN-SPAM require links to work that long.
   */
  readonly lifetime?: Duration.DurationInput | undefined
  /**
   * An address that unsubscribes by mail (`unsubscribe@shop.example`): marketing mail's one
   * `List-Unsubscribe` header then names it beside the link, as `mailto:` with the subject
   * `unsubscribe <token>`; pass that token to `consent.unsubscribe(token)` when such a mail arrives.
   *
   * @since 0.7.0
   */
  readonly mailto?: string | undefined
}

/**
 * How long an unsubscribe link works when `unsubscribe.lifetime` is not set: 365 days.
 *
 * @since 0.4.0
 * @category constructors
 */
export const defaultUnsubscribeLifetime: Duration.DurationInput = "365 days"

/**
 * Double opt-in: where confirmation links point, how their tokens are signed, how long they work,
 * and the mail that carries them.
 *
 * @since 0.7.0
 * @category models
 */
export interface ConfirmationSettings {
  /**
   * The confirmation route (the HTTP API serves `/consent/confirm`); `{token}` in it is replaced
   * by the token (else `?token=` is appended).
   */
  readonly url: string
  /**
   * Signs tokens (HMAC-SHA256); the unsubscribe secret when not set. Confirmation and unsubscribe
   * tokens are told apart by their content, so one secret may serve both.
   */
  readonly secret?: string | undefined
  /** How long a link works after the request (default {@link defaultConfirmationLifetime}, 7 days). */
  readonly lifetime?: Duration.DurationInput | undefined
  /**
   * The id of the (transactional) template the confirmation mail is rendered from; it receives
   * `contact`, `workspace`, `purpose` and `confirmationUrl`. Without one, a plain mail in English
   * and French is sent.
   */
  readonly template?: string | undefined
}

/**
 * How long a confirmation link works when `confirmation.lifetime` is not set: 7 days.
 *
 * @since 0.7.0
 * @category constructors
 */
export const defaultConfirmationLifetime: Duration.DurationInput = "7 days"

/**
 * How Rapport addresses mail and makes unsubscribe links. `unsubscribe.url` contains `{token}`,
 * replaced by a signed token your unsubscribe route passes to `consent.unsubscribe(token)`;
 * `unsubscribe.secret` signs tokens (keep it stable: changing it invalidates links already sent);
 * `unsubscribe.lifetime` says how long a link works (one year by default). Marketing mail cannot
 * be sent without `unsubscribe`.
 *
 * @since 0.3.0
 * @category models
 */
export interface MailSettingsService {
  /** The sender of rule mails, when your provider does not set one. */
  readonly from?: string | undefined
  readonly replyTo?: string | undefined
  readonly unsubscribe?: UnsubscribeSettings | undefined
  /**
   * Double opt-in confirmation links (`consent.request`, `consent.confirm`); without them a
   * consent cannot be requested.
   *
   * @since 0.7.0
   */
  readonly confirmation?: ConfirmationSettings | undefined
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
