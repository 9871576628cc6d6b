/**
 * A workspace is a tenant: every record belongs to one, and nothing crosses workspaces. It holds
 * the settings the rest of the domain reads: its timezone and its lifecycle.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { WorkspaceId } from "./Ids.js"
import { LifecycleDefinition } from "./LifecycleDefinition.js"
import { SalesSettings } from "./Pipeline.js"
import { Instant, Timezone } from "./Time.js"
import { Text } from "./Json.js"
import { DurationString } from "./Schedule.js"
import { Purpose } from "./Consent.js"
import { showValue } from "../internal/show.js"

/**
 * At most `max` marketing mails to one contact per `per` (e.g. 3 per "7 days"); transactional
 * mail does not count and is never held back.
 *
 * @since 0.3.0
 * @category schemas
 */
export const FrequencyCap = Schema.Struct({
  max: Schema.Int.pipe(Schema.between(1, 1000)),
  per: DurationString
})

/**
 * At most `max` contacts of one purpose per contact per `per` (e.g. 2 per "7 days"), across
 * channels: the marketing mails sent for that purpose and the tasks (calls, letters, meetings…)
 * rules create for it.
 *
 * @since 0.7.0
 * @category schemas
 */
export const PressureCap = Schema.Struct({
  max: Schema.Int.pipe(Schema.between(1, 1000)),
  per: DurationString
})

/**
 * @since 0.7.0
 * @category models
 */
export interface PressureCap extends Schema.Schema.Type<typeof PressureCap> {}

/**
 * The pressure caps of a workspace, by purpose: `{ marketing: { max: 2, per: "7 days" } }`. A
 * purpose without an entry has no cap.
 *
 * @since 0.7.0
 * @category schemas
 */
export const Pressure = Schema.Record({ key: Purpose, value: PressureCap })

/**
 * The options of the `pressure` setting: none when not given (a workspace stored before it existed).
 *
 * @since 0.7.0
 * @category models
 */
export interface PressureByDefault {
  /** The value when not given: no cap (`{}`). */
  readonly default: () => Schema.Schema.Type<typeof Pressure>
}

const pressureByDefault: Schema.optionalWith<typeof Pressure, PressureByDefault> = Schema.optionalWith(Pressure, { default: () => ({}) })

/**
 * How rules may mail the workspace's contacts.
 *
 * @since 0.3.0
 * @category schemas
 */
export const MessagingSettings = Schema.Struct({
  /** The cap on marketing mail per contact; none when `null`. */
  frequencyCap: Schema.NullOr(FrequencyCap),
  /** The pressure caps across channels, by purpose (since 0.7.0; none when empty). */
  pressure: pressureByDefault
})

/**
 * @since 0.3.0
 * @category models
 */
export interface MessagingSettings extends Schema.Schema.Type<typeof MessagingSettings> {}

/**
 * Messaging settings of a workspace that never set them: no frequency cap.
 *
 * @since 0.3.0
 * @category constructors
 */
export const defaultMessagingSettings: MessagingSettings = { frequencyCap: null, pressure: {} }

/**
 * A country, as an ISO 3166-1 alpha-2 code (`FR`, `BE`, `US`): where national phone numbers of
 * imports are read.
 *
 * @since 0.3.0
 * @category schemas
 */
export const CountryCode = Schema.String.pipe(
  Schema.pattern(/^[A-Z]{2}$/, { message: (issue) => `must be a two-letter country code such as FR, BE or US (got ${showValue(issue.actual)})` }),
  Schema.annotations({ identifier: "CountryCode" })
)

/**
 * @since 0.1.0
 * @category models
 */
export class Workspace extends Schema.Class<Workspace>("Workspace")({
  id: WorkspaceId,
  name: Schema.String,
  /** Default IANA timezone for what is local (delays, reports, date-only values). */
  timezone: Timezone,
  lifecycle: LifecycleDefinition,
  /** Pipeline settings: the floor, how cold deals count, when open deals become stale. */
  sales: SalesSettings,
  /** Messaging settings: the frequency cap on marketing mail. */
  messaging: MessagingSettings,
  /** The default country: national phone numbers in imports are read as this country's. */
  country: Schema.NullOr(CountryCode),
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * What `settings.update` accepts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkspaceChanges = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  name: Schema.optional(Text(200)),
  timezone: Schema.optional(Timezone),
  /** The cap on marketing mail per contact (`null` removes it). */
  frequencyCap: Schema.optional(Schema.NullOr(FrequencyCap)),
  /** The pressure caps by purpose, replacing the current ones (`null` or `{}` removes them). */
  pressure: Schema.optional(Schema.NullOr(Pressure)),
  /** The default country (`null` for none). */
  country: Schema.optional(Schema.NullOr(CountryCode))
})

/**
 * @since 0.1.0
 * @category models
 */
export type WorkspaceChanges = typeof WorkspaceChanges.Encoded
