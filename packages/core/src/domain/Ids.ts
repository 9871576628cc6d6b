/**
 * Branded identifiers. Ids Rapport generates are UUIDs (version 7, time-ordered); ids that come
 * from the host app (workspaces, events, orders) are bounded strings.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { SafeString } from "./Json.js"

const generatedId = <const B extends string>(brand: B) =>
  Schema.compose(Schema.Lowercase, Schema.UUID, { strict: false }).pipe(
    Schema.brand(brand),
    Schema.annotations({
      identifier: brand,
      message: () => ({ message: "must be a UUID", override: true })
    })
  )

// PostgreSQL cannot store NUL or a lone surrogate: two ids differing only there were taken as one.
const externalId = <const B extends string>(brand: B, max: number) =>
  SafeString.pipe(
    Schema.filter((s) => s.length > 0 && s.length <= max && s.trim() === s, {
      message: () => `must be a non-empty string of at most ${max} characters, without surrounding spaces`
    }),
    Schema.brand(brand),
    Schema.annotations({ identifier: brand })
  )

/**
 * A workspace (tenant) id chosen by the host app: 1 to 64 characters among letters, digits and
 * `. _ : -`, starting with a letter or digit.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkspaceId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, {
    message: () => "must be 1-64 letters, digits or . _ : - starting with a letter or digit"
  }),
  Schema.brand("WorkspaceId"),
  Schema.annotations({ identifier: "WorkspaceId" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type WorkspaceId = typeof WorkspaceId.Type

/**
 * The workspace single-tenant apps use without naming one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const DefaultWorkspaceId: WorkspaceId = WorkspaceId.make("default")

/**
 * @since 0.1.0
 * @category schemas
 */
export const ContactId = generatedId("ContactId")

/**
 * @since 0.1.0
 * @category models
 */
export type ContactId = typeof ContactId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const CompanyId = generatedId("CompanyId")

/**
 * @since 0.1.0
 * @category models
 */
export type CompanyId = typeof CompanyId.Type

/**
 * A pipeline's id.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PipelineId = generatedId("PipelineId")

/**
 * @since 0.2.0
 * @category models
 */
export type PipelineId = typeof PipelineId.Type

/**
 * A deal's (quote's) id.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DealId = generatedId("DealId")

/**
 * @since 0.2.0
 * @category models
 */
export type DealId = typeof DealId.Type

/**
 * A task's id.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TaskId = generatedId("TaskId")

/**
 * @since 0.2.0
 * @category models
 */
export type TaskId = typeof TaskId.Type

/**
 * An email template's id.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TemplateId = generatedId("TemplateId")

/**
 * @since 0.2.0
 * @category models
 */
export type TemplateId = typeof TemplateId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const TimelineEntryId = generatedId("TimelineEntryId")

/**
 * @since 0.1.0
 * @category models
 */
export type TimelineEntryId = typeof TimelineEntryId.Type

/**
 * An event id. Give your own (an order number, a webhook delivery id) to make emission
 * idempotent: an id already stored is not processed again.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventId = externalId("EventId", 200)

/**
 * @since 0.1.0
 * @category models
 */
export type EventId = typeof EventId.Type

/**
 * An order id, from the shop: the same order is never counted twice.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OrderId = externalId("OrderId", 200)

/**
 * @since 0.1.0
 * @category models
 */
export type OrderId = typeof OrderId.Type

/**
 * A rule's id: given by the app (`abandoned-cart`) or generated. 1 to 100 letters, digits or
 * `. _ : -`, starting with a letter or digit.
 *
 * @since 0.3.0
 * @category schemas
 */
export const RuleId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, {
    message: () => "must be 1-100 letters, digits or . _ : - starting with a letter or digit"
  }),
  Schema.brand("RuleId"),
  Schema.annotations({ identifier: "RuleId" })
)

/**
 * @since 0.3.0
 * @category models
 */
export type RuleId = typeof RuleId.Type

/**
 * A job's id: one action (or one delayed check) waiting in the outbox.
 *
 * @since 0.3.0
 * @category schemas
 */
export const JobId = generatedId("JobId")

/**
 * @since 0.3.0
 * @category models
 */
export type JobId = typeof JobId.Type

/**
 * An outbound webhook subscription's id.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookSubscriptionId = generatedId("WebhookSubscriptionId")

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookSubscriptionId = typeof WebhookSubscriptionId.Type

/**
 * The id of one delivery attempt in an outbound webhook's delivery log.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookDeliveryId = generatedId("WebhookDeliveryId")

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookDeliveryId = typeof WebhookDeliveryId.Type

/**
 * A stable key the app gives a template or rule so that `crm.setup` (set-up as code) finds it
 * again on every start: 1 to 100 letters, digits or `. _ : -`, starting with a letter or digit
 * (`order-confirmation`, `cart.reminder`). Unique per workspace and kind; optional on records made
 * at run time.
 *
 * @since 0.7.0
 * @category schemas
 */
export const SetupKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, {
    message: () => "must be 1-100 letters, digits or . _ : - starting with a letter or digit"
  }),
  Schema.brand("SetupKey"),
  Schema.annotations({ identifier: "SetupKey" })
)

/**
 * @since 0.7.0
 * @category models
 */
export type SetupKey = typeof SetupKey.Type
