/**
 * Contacts: the people a business knows, where they came from, where they are in the lifecycle.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Email, EmailFromString, emailKey } from "./Email.js"
import { FieldValues } from "./FieldDefinition.js"
import { CompanyId, ContactId, WorkspaceId } from "./Ids.js"
import { StageKey } from "./LifecycleDefinition.js"
import { Instant, InstantInput, Timezone } from "./Time.js"
import { JsonObject, JsonPatch, SafeString, Text } from "./Json.js"
import { showValue } from "../internal/show.js"

/**
 * A person's first or last name: trimmed, at most 200 characters; a blank name is stored as
 * `null`, like an absent one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PersonName = Schema.transform(Schema.NullOr(Text(200, 0)), Schema.NullOr(Schema.String), {
  strict: true,
  decode: (s) => (s === "" ? null : s),
  encode: (s) => s
})
const OptionalName = Schema.optional(PersonName)

/**
 * A tag: 1 to 64 characters, trimmed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tag = Text(64)

/**
 * Tags as stored: trimmed, without duplicates, in the order given.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tags = Schema.transform(Schema.Array(Tag), Schema.Array(Schema.String), {
  strict: true,
  decode: (tags) => [...new Set(tags)],
  encode: (tags) => tags
})

/**
 * Where a record came from: the acquisition channel (`trade-show`, `website`, `referral`…) and,
 * optionally, the campaign. This is what per-channel profitability is measured on.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Source = Schema.Struct({
  channel: Schema.String,
  campaign: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Source extends Schema.Schema.Type<typeof Source> {}

/**
 * A source as callers give it: the campaign may be left out.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SourceInput = Schema.transform(
  Schema.Struct({
    channel: Text(100),
    campaign: Schema.optional(Schema.NullOr(Text(200, 0)))
  }),
  Source,
  {
    strict: true,
    decode: (s) => ({ channel: s.channel, campaign: s.campaign === undefined || s.campaign === "" ? null : s.campaign }),
    encode: (s) => s
  }
)

/**
 * The channel recorded when the caller gives none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unknownSource: Source = { channel: "unknown", campaign: null }

/**
 * A phone number as given (normalisation to E.164 comes with the importers).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Phone = Schema.Trim.pipe(
  Schema.filter((s) => /^\+?[0-9 ().\-/]{3,32}$/.test(s) && s.replace(/\D/g, "").length >= 3, {
    message: (issue) => `must be a phone number (digits, spaces, + ( ) . - /), got ${showValue(issue.actual)}`
  })
)

/**
 * The most emails, and the most phones, one contact keeps.
 *
 * @since 0.4.0
 * @category constructors
 */
export const maxIdentities = 10

/**
 * What an email or a phone is to the contact: a short label such as `work`, `home` or `mobile`
 * (trimmed, at most 32 characters; blank is `null`).
 *
 * @since 0.4.0
 * @category schemas
 */
export const IdentityLabel = Schema.transform(Schema.NullOr(Text(32, 0)), Schema.NullOr(Schema.String), {
  strict: true,
  decode: (s) => (s === "" ? null : s),
  encode: (s) => s
})

/**
 * One of a contact's email addresses, with its label.
 *
 * @since 0.4.0
 * @category schemas
 */
export const ContactEmail = Schema.Struct({ value: Email, label: Schema.NullOr(Schema.String) })

/**
 * @since 0.4.0
 * @category models
 */
export interface ContactEmail extends Schema.Schema.Type<typeof ContactEmail> {}

/**
 * One of a contact's phone numbers, with its label.
 *
 * @since 0.4.0
 * @category schemas
 */
export const ContactPhone = Schema.Struct({ value: Schema.String, label: Schema.NullOr(Schema.String) })

/**
 * @since 0.4.0
 * @category models
 */
export interface ContactPhone extends Schema.Schema.Type<typeof ContactPhone> {}

// The list as callers give it: each value normalised like the primary one, the label optional;
// the same address (case-insensitive) or the same phone twice is refused, naming the second.
const distinct =
  (key: (value: string) => string, what: string) =>
  (entries: ReadonlyArray<{ readonly value: string }>): true | Schema.FilterIssue => {
    const seen = new Map<string, number>()
    for (const [i, entry] of entries.entries()) {
      const first = seen.get(key(entry.value))
      if (first !== undefined) return { path: [i, "value"], message: `is the same ${what} as item ${first}` }
      seen.set(key(entry.value), i)
    }
    return true
  }

/**
 * Emails as `contacts.create` and `contacts.update` accept them: `{ value, label? }` items, at
 * most {@link maxIdentities}, no address twice.
 *
 * @since 0.4.0
 * @category schemas
 */
export const ContactEmailsInput = Schema.Array(
  Schema.transform(Schema.Struct({ value: EmailFromString, label: Schema.optional(IdentityLabel) }), Schema.typeSchema(ContactEmail), {
    strict: true,
    decode: (e) => ({ value: e.value, label: e.label ?? null }),
    encode: (e) => e
  })
).pipe(
  Schema.maxItems(maxIdentities, { message: () => `at most ${maxIdentities} email addresses per contact` }),
  Schema.filter(distinct(emailKey, "email address"))
)

/**
 * Phones as `contacts.create` and `contacts.update` accept them: `{ value, label? }` items, at
 * most {@link maxIdentities}, no number twice.
 *
 * @since 0.4.0
 * @category schemas
 */
export const ContactPhonesInput = Schema.Array(
  Schema.transform(Schema.Struct({ value: Phone, label: Schema.optional(IdentityLabel) }), Schema.typeSchema(ContactPhone), {
    strict: true,
    decode: (e) => ({ value: e.value, label: e.label ?? null }),
    encode: (e) => e
  })
).pipe(
  Schema.maxItems(maxIdentities, { message: () => `at most ${maxIdentities} phone numbers per contact` }),
  Schema.filter(distinct((p) => p, "phone number"))
)

/**
 * A contact's list of emails (or phones) after a write: `primary` is the caller's `email` (or
 * `phone`): `undefined` when not given, `null` to remove the primary one; `list` is the caller's
 * `emails` (or `phones`), `undefined` when not given. `current` is the stored list (empty on
 * creation).
 *
 * - only the primary given: it replaces the current primary (the first entry); the other entries
 *   stay (a label the new value already had is kept); `null` removes the primary, and the next
 *   entry becomes the primary;
 * - only the list given: it replaces the current one; its first entry is the primary;
 * - both given: the list, with the primary moved (or added) first.
 *
 * Entries are compared by `key` (an email's lower-cased key, a phone's text).
 *
 * @since 0.4.0
 * @category utils
 */
export const resolveIdentities = <T extends { readonly value: string; readonly label: string | null }>(
  current: ReadonlyArray<T>,
  primary: string | null | undefined,
  list: ReadonlyArray<T> | undefined,
  key: (value: string) => string
): ReadonlyArray<T> => {
  if (list !== undefined && primary == null) return list
  if (primary === undefined) return current
  const rest = list ?? current.slice(1)
  if (primary === null) return rest
  const k = key(primary)
  const same = (list ?? current).find((e) => key(e.value) === k)
  const first = { value: primary, label: same?.label ?? null } as T
  return [first, ...rest.filter((e) => key(e.value) !== k)]
}

/**
 * @since 0.1.0
 * @category models
 */
export class Contact extends Schema.Class<Contact>("Contact")({
  id: ContactId,
  workspaceId: WorkspaceId,
  /** The primary email: the first of `emails`, `null` when there is none. */
  email: Schema.NullOr(Email),
  firstName: Schema.NullOr(Schema.String),
  lastName: Schema.NullOr(Schema.String),
  /** The primary phone: the first of `phones`, `null` when there is none. */
  phone: Schema.NullOr(Schema.String),
  /**
   * Every email address of the contact, the primary one first (since 0.4.0). No other contact of
   * the workspace has any of them.
   */
  emails: Schema.Array(ContactEmail),
  /** Every phone number of the contact, the primary one first (since 0.4.0). */
  phones: Schema.Array(ContactPhone),
  companyId: Schema.NullOr(CompanyId),
  source: Source,
  /** When the business first knew of this contact (an import can set it to the past). */
  firstSeenAt: Instant,
  stage: StageKey,
  tags: Schema.Array(Schema.String),
  ownerId: Schema.NullOr(Schema.String),
  score: Schema.Int,
  /** The contact's own IANA timezone, when known; the workspace's applies otherwise. */
  timezone: Schema.NullOr(Timezone),
  fields: FieldValues,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {
  /** "Ada Lovelace", else the email, else the phone. */
  get displayName(): string {
    const name = [this.firstName, this.lastName].filter((p) => p !== null && p !== "").join(" ")
    return name !== "" ? name : (this.email ?? this.phone ?? this.id)
  }
}

/**
 * The contact's emails and phones as storage keeps them: the lists, with the primary `email` and
 * `phone` first (moved there, or added when a contact built by hand left them out of the list).
 * Both storage adapters write this, so they read back the same contact.
 *
 * @since 0.4.0
 * @category utils
 */
export const identityLists = (
  contact: Pick<Contact, "email" | "phone" | "emails" | "phones">
): { readonly emails: ReadonlyArray<ContactEmail>; readonly phones: ReadonlyArray<ContactPhone> } => ({
  emails: resolveIdentities(contact.emails, contact.email, contact.emails, emailKey),
  phones: resolveIdentities(contact.phones, contact.phone, contact.phones, (p) => p)
})

const Owner = Schema.NullOr(Text(200))

/**
 * What `contacts.create` accepts. A contact needs at least an email, a phone or a name. A
 * contact may have several emails and phones (`emails`, `phones`, labelled); `email` and `phone`
 * are the primary ones, always first of their list (see {@link resolveIdentities}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactCreate = Schema.Struct({
  email: Schema.optional(Schema.NullOr(EmailFromString)),
  firstName: OptionalName,
  lastName: OptionalName,
  phone: Schema.optional(Schema.NullOr(Phone)),
  /** Every email of the contact, with labels; without `email`, the first is the primary (since 0.4.0). */
  emails: Schema.optional(ContactEmailsInput),
  /** Every phone of the contact, with labels; without `phone`, the first is the primary (since 0.4.0). */
  phones: Schema.optional(ContactPhonesInput),
  companyId: Schema.optional(Schema.NullOr(CompanyId)),
  source: Schema.optional(SourceInput),
  firstSeenAt: Schema.optional(InstantInput),
  stage: Schema.optional(StageKey),
  tags: Schema.optional(Tags),
  ownerId: Schema.optional(Owner),
  score: Schema.optional(Schema.Int),
  timezone: Schema.optional(Schema.NullOr(Timezone)),
  fields: Schema.optional(JsonObject)
}).pipe(
  Schema.filter(
    (c) =>
      (c.email ?? c.phone ?? c.emails?.[0]?.value ?? c.phones?.[0]?.value ?? c.firstName ?? c.lastName ?? "") !== "" || {
        path: [],
        message: "a contact needs at least an email, a phone or a name"
      }
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type ContactCreate = typeof ContactCreate.Encoded

/**
 * What `contacts.update` accepts: the version the caller read (a stale one fails with
 * `Conflict`), and the attributes to change. In `fields`, `null` removes a value and other keys
 * are kept. Stages change through the lifecycle, not here. `email` alone replaces the primary
 * address (the others stay), `emails` replaces the whole list; the same for `phone` and `phones`
 * (see {@link resolveIdentities}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  email: Schema.optional(Schema.NullOr(EmailFromString)),
  firstName: OptionalName,
  lastName: OptionalName,
  phone: Schema.optional(Schema.NullOr(Phone)),
  /** Replaces the list of emails (see {@link resolveIdentities} for how it combines with `email`). */
  emails: Schema.optional(ContactEmailsInput),
  /** Replaces the list of phones (see {@link resolveIdentities} for how it combines with `phone`). */
  phones: Schema.optional(ContactPhonesInput),
  companyId: Schema.optional(Schema.NullOr(CompanyId)),
  source: Schema.optional(SourceInput),
  firstSeenAt: Schema.optional(InstantInput),
  tags: Schema.optional(Tags),
  ownerId: Schema.optional(Owner),
  score: Schema.optional(Schema.Int),
  timezone: Schema.optional(Schema.NullOr(Timezone)),
  fields: Schema.optional(JsonPatch)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ContactUpdate = typeof ContactUpdate.Encoded

/**
 * What `contacts.merge` accepts besides the two ids: the versions the caller read of the contact
 * kept (`expectedVersion`) and of the one merged into it (`mergedExpectedVersion`); a stale one
 * fails with `Conflict` and nothing is changed.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ContactMergeOptions = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  mergedExpectedVersion: Schema.optional(Schema.Int)
})

/**
 * @since 0.3.0
 * @category models
 */
export type ContactMergeOptions = typeof ContactMergeOptions.Encoded

/**
 * Filters and paging of `contacts.list`. Contacts come in creation order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactListOptions = Schema.Struct({
  stage: Schema.optional(StageKey),
  tag: Schema.optional(SafeString),
  companyId: Schema.optional(CompanyId),
  ownerId: Schema.optional(SafeString),
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.1.0
 * @category models
 */
export type ContactListOptions = typeof ContactListOptions.Encoded
