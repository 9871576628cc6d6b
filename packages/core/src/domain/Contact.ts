/**
 * Contacts: the people a business knows, where they came from, where they are in the lifecycle.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Email, EmailFromString } from "./Email.js"
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
 * @since 0.1.0
 * @category models
 */
export class Contact extends Schema.Class<Contact>("Contact")({
  id: ContactId,
  workspaceId: WorkspaceId,
  email: Schema.NullOr(Email),
  firstName: Schema.NullOr(Schema.String),
  lastName: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
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

const Owner = Schema.NullOr(Text(200))

/**
 * What `contacts.create` accepts. A contact needs at least an email, a phone or a name.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactCreate = Schema.Struct({
  email: Schema.optional(Schema.NullOr(EmailFromString)),
  firstName: OptionalName,
  lastName: OptionalName,
  phone: Schema.optional(Schema.NullOr(Phone)),
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
      (c.email ?? c.phone ?? c.firstName ?? c.lastName ?? "") !== "" || {
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
 * are kept. Stages change through the lifecycle, not here.
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
