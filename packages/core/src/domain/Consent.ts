/**
 * Consent: what a contact agreed to be sent. Marketing mail (newsletters, offers, reminders that
 * sell) goes only to contacts who granted consent for its purpose and never after they
 * unsubscribed; transactional mail (an order confirmation, a password reset) always goes.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import { EmailFromString } from "./Email.js"
import { ContactId, EventId, WorkspaceId } from "./Ids.js"
import { nullByDefault, SafeString } from "./Json.js"
import { Instant, InstantInput, InstantText } from "./Time.js"
import { showValue } from "../internal/show.js"

/**
 * A consent purpose: `marketing` (the default), or one of the app's own (`newsletter`,
 * `partnerOffers`…).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Purpose = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-zA-Z0-9_-]{0,63}$/, {
    message: (issue) => `must be a purpose key such as "marketing" or "newsletter" (got ${showValue(issue.actual)})`
  }),
  Schema.annotations({ identifier: "Purpose" })
)

/**
 * The purpose marketing mail needs when a rule names none.
 *
 * @since 0.3.0
 * @category constructors
 */
export const defaultPurpose = "marketing"

/**
 * The purpose an unsubscription is recorded under: it withdraws every marketing purpose.
 *
 * @since 0.3.0
 * @category constructors
 */
export const everyPurpose = "*"

/**
 * How consent was given: `double-opt-in` (the contact clicked the confirmation link of
 * `consent.request`), `form` (a sign-up form, a checkbox), `import` (a file stated it), `api` (the
 * host app recorded it), or `other`.
 *
 * @since 0.7.0
 * @category schemas
 */
export const ProofMethod = Schema.Literal("double-opt-in", "form", "import", "api", "other")

/**
 * @since 0.7.0
 * @category models
 */
export type ProofMethod = typeof ProofMethod.Type

/**
 * The proof of a consent, as stored with it (GDPR art. 7(1): the controller must be able to
 * demonstrate consent): when it was given, how, from which IP address and user agent, the wording
 * the person agreed to, and for a double opt-in when the confirmation was requested.
 *
 * @since 0.7.0
 * @category models
 */
export class ConsentProof extends Schema.Class<ConsentProof>("ConsentProof")({
  /** When the person gave consent (for a double opt-in: when they confirmed). */
  at: Instant,
  method: ProofMethod,
  ip: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  /** The wording or form the person agreed to (`"Newsletter box, checkout page v3"`). */
  evidence: Schema.NullOr(Schema.String),
  /** Double opt-in: when the confirmation mail was requested. */
  requestedAt: Schema.NullOr(Instant)
}) {}

/**
 * What a caller passes as proof of a consent: `consent.grant(id, { proof })`, `consent.confirm(token,
 * proof)`. Every field is optional; `at` defaults to now (it cannot be in the future) and `method`
 * to `api` (`double-opt-in` for a confirmation). An IP address is IPv4 or IPv6 text, as the host
 * read it (behind a proxy, the client's address from the proxy's header the host trusts).
 *
 * @since 0.7.0
 * @category schemas
 */
export const ProofInput = Schema.Struct({
  at: Schema.optional(InstantInput),
  method: Schema.optional(ProofMethod),
  ip: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^[0-9A-Fa-f.:]{2,45}$/, { message: (issue) => `must be an IPv4 or IPv6 address (got ${showValue(issue.actual)})` })
    )
  ),
  userAgent: Schema.optional(SafeString.pipe(Schema.maxLength(500))),
  evidence: Schema.optional(SafeString.pipe(Schema.maxLength(2000)))
})

/**
 * @since 0.7.0
 * @category models
 */
export type ProofInput = typeof ProofInput.Encoded

/**
 * One stored consent decision: granted or withdrawn, when, and where it came from (a sign-up
 * form, an unsubscribe link, a call), with its proof when one was recorded. A consent waiting for
 * its double opt-in confirmation is not granted and has `requestedAt`.
 *
 * @since 0.3.0
 * @category models
 */
export class ConsentRecord extends Schema.Class<ConsentRecord>("ConsentRecord")({
  workspaceId: WorkspaceId,
  contactId: ContactId,
  /** A purpose, or `*` for an unsubscription from everything. */
  purpose: Schema.String,
  granted: Schema.Boolean,
  source: Schema.NullOr(Schema.String),
  /**
   * When the decision took effect. An unsubscription through a link issued before a later opt-in
   * is dated at the link's issue time, so that it withdraws only the consents given before it.
   */
  at: Instant,
  /**
   * The proof recorded with a grant (none for older records and withdrawals).
   *
   * @since 0.7.0
   */
  proof: nullByDefault(ConsentProof),
  /**
   * Pending double opt-in: when the confirmation mail was requested (the consent is not granted
   * until the contact confirms).
   *
   * @since 0.7.0
   */
  requestedAt: nullByDefault(Instant)
}) {}

/**
 * What Rapport knows of a mail address's deliverability in a workspace: its last hard bounce
 * (marketing mail no longer goes to it), its soft bounces, and the last spam complaint.
 *
 * @since 0.7.0
 * @category models
 */
export class AddressHealth extends Schema.Class<AddressHealth>("AddressHealth")({
  workspaceId: WorkspaceId,
  /** The address, in its key form (lower case). */
  email: Schema.String,
  hardBouncedAt: Schema.NullOr(Instant),
  hardBounceReason: Schema.NullOr(Schema.String),
  softBounces: Schema.Int,
  lastSoftBounceAt: Schema.NullOr(Instant),
  complainedAt: Schema.NullOr(Instant)
}) {}

/**
 * A bounce, a spam complaint, an unsubscription or an open reported by the mail provider, as
 * `consent.recordMailFeedback` accepts it (the Brevo and Mailjet webhook mappers produce these).
 * The contact is found by the job whose `idempotencyKey` the provider echoes back (Mailjet's
 * `CustomID`, Brevo's `X-Mailin-custom`), else by the address; the mail's job by that key, else by
 * `messageId` among the contact's sent mails. `id` makes the report idempotent (derived from the
 * provider's event id by the mappers).
 *
 * @since 0.7.0
 * @category schemas
 */
export const MailFeedback = Schema.Struct({
  id: Schema.optional(EventId),
  /**
   * `bounced`, `complained` (marked as spam), `unsubscribed` (through the provider's own
   * unsubscribe link: every marketing purpose is withdrawn, as with Rapport's links), or `opened`
   * (since 0.8.0: recorded as an `email.opened` event naming the mail's job, which the rule and
   * campaign stats count; it changes nothing else).
   */
  type: Schema.Literal("bounced", "complained", "unsubscribed", "opened"),
  email: EmailFromString,
  /** Bounces: `hard` (the address does not exist or refuses mail for good) or `soft` (a full mailbox, a server down). Default `hard`. */
  kind: Schema.optional(Schema.Literal("hard", "soft")),
  reason: Schema.optional(SafeString.pipe(Schema.maxLength(1000))),
  provider: Schema.optional(SafeString.pipe(Schema.maxLength(40))),
  /** The provider's message id (or the Message-ID header). */
  messageId: Schema.optional(SafeString.pipe(Schema.maxLength(300))),
  /** The idempotency key Rapport sent the mail with, when the provider echoes it back. */
  idempotencyKey: Schema.optional(SafeString.pipe(Schema.maxLength(400))),
  occurredAt: Schema.optional(InstantInput)
})

/**
 * @since 0.7.0
 * @category models
 */
export type MailFeedback = typeof MailFeedback.Encoded

/**
 * The event type a mail-feedback report is recorded as: `mail.bounced`, `mail.complained`,
 * `consent.unsubscribed` or `email.opened`.
 *
 * @since 0.8.0
 * @category utils
 */
export const feedbackEventType = (type: MailFeedback["type"]): string =>
  type === "unsubscribed" ? "consent.unsubscribed" : type === "opened" ? "email.opened" : `mail.${type}`

/**
 * Whether marketing mail for a purpose may go to a contact with these records: consent granted
 * for the purpose, and no unsubscription recorded after it.
 *
 * @since 0.3.0
 * @category utils
 */
export const allows = (records: ReadonlyArray<ConsentRecord>, purpose: string): boolean => {
  const own = records.find((r) => r.purpose === purpose)
  if (own === undefined || !own.granted) return false
  const everything = records.find((r) => r.purpose === everyPurpose)
  return everything === undefined || everything.granted || everything.at.epochMillis < own.at.epochMillis
}

/**
 * What Rapport knows of an address's deliverability, as `consent.clearBounce` and
 * `consent.status` (for the contact's addresses) return it: its last hard bounce (marketing mail no
 * longer goes to it), its soft bounces and its last spam complaint, instants as ISO text.
 *
 * @since 0.7.0
 * @category schemas
 */
export const AddressStatus = Schema.Struct({
  /** The address, in its key form (lower case). */
  email: Schema.String,
  hardBouncedAt: Schema.NullOr(InstantText),
  hardBounceReason: Schema.NullOr(Schema.String),
  softBounces: Schema.Int,
  lastSoftBounceAt: Schema.NullOr(InstantText),
  complainedAt: Schema.NullOr(InstantText)
}).annotations({ identifier: "AddressStatus", description: "An address's bounces and spam complaint" })

/**
 * What Rapport knows of an address's deliverability, as `consent.clearBounce` returns it.
 *
 * @since 0.7.0
 * @category models
 */
export interface AddressStatus extends Schema.Schema.Type<typeof AddressStatus> {}

/**
 * A contact's consent, as `consent.status` (and `consent.grant`, `consent.withdraw`) return it:
 * per purpose whether marketing mail of that purpose may be sent now, since when, from which
 * source, with which proof, and whether a double opt-in confirmation is pending; the
 * unsubscription from everything; the addresses that bounced or complained.
 *
 * @since 0.7.0
 * @category schemas
 */
export const ConsentStatus = Schema.Struct({
  contactId: Schema.String,
  /**
   * Per purpose: whether marketing mail of that purpose may be sent now, since when, from which
   * source, the proof recorded with it, and whether a double opt-in confirmation is pending.
   */
  purposes: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      granted: Schema.Boolean,
      at: InstantText,
      source: Schema.NullOr(Schema.String),
      /** @since 0.7.0 */
      pending: Schema.Boolean,
      /** @since 0.7.0 */
      proof: Schema.NullOr(
        Schema.Struct({
          at: InstantText,
          method: ProofMethod,
          ip: Schema.NullOr(Schema.String),
          userAgent: Schema.NullOr(Schema.String),
          evidence: Schema.NullOr(Schema.String),
          requestedAt: Schema.NullOr(InstantText)
        })
      )
    })
  }),
  /** When the contact last unsubscribed from everything, if they did and did not opt in since. */
  unsubscribedAt: Schema.NullOr(InstantText),
  /**
   * The contact's addresses that bounced or complained: a hard-bounced address receives no
   * marketing mail (transactional mail still goes).
   *
   * @since 0.7.0
   */
  addresses: Schema.Array(AddressStatus)
}).annotations({ identifier: "ConsentStatus" })

/**
 * A contact's consent, as `consent.status` returns it.
 *
 * @since 0.3.0
 * @category models
 */
export interface ConsentStatus extends Schema.Schema.Type<typeof ConsentStatus> {}

/**
 * What `consent.grant` and `consent.withdraw` accept.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ConsentChange = Schema.Struct({
  purpose: Schema.optional(Purpose),
  /** Where the decision came from: `signup-form`, `unsubscribe-link`, `phone`… */
  source: Schema.optional(SafeString.pipe(Schema.minLength(1), Schema.maxLength(200))),
  /**
   * `consent.grant` only: the proof of the consent (time, method, IP address, user agent,
   * wording), stored with it.
   *
   * @since 0.7.0
   */
  proof: Schema.optional(ProofInput)
})

/**
 * @since 0.3.0
 * @category models
 */
export type ConsentChange = typeof ConsentChange.Encoded
