/**
 * Consent: what a contact agreed to be sent. Marketing mail (newsletters, offers, reminders that
 * sell) goes only to contacts who granted consent for its purpose and never after they
 * unsubscribed; transactional mail (an order confirmation, a password reset) always goes.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import { ContactId, WorkspaceId } from "./Ids.js"
import { SafeString } from "./Json.js"
import { Instant } from "./Time.js"
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
 * One stored consent decision: granted or withdrawn, when, and where it came from (a sign-up
 * form, an unsubscribe link, a call).
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
  at: Instant
}) {}

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
 * A contact's consent, as `consent.status` returns it.
 *
 * @since 0.3.0
 * @category models
 */
export interface ConsentStatus {
  readonly contactId: string
  /** Per purpose: whether marketing mail of that purpose may be sent now. */
  readonly purposes: Readonly<Record<string, { readonly granted: boolean; readonly at: string; readonly source: string | null }>>
  /** When the contact last unsubscribed from everything, if they did and did not opt in since. */
  readonly unsubscribedAt: string | null
}

/**
 * What `consent.grant` and `consent.withdraw` accept.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ConsentChange = Schema.Struct({
  purpose: Schema.optional(Purpose),
  /** Where the decision came from: `signup-form`, `unsubscribe-link`, `phone`… */
  source: Schema.optional(SafeString.pipe(Schema.minLength(1), Schema.maxLength(200)))
})

/**
 * @since 0.3.0
 * @category models
 */
export type ConsentChange = typeof ConsentChange.Encoded
