/**
 * The Storage port: the repositories and the transaction boundary the services write through.
 * Core ships an in-memory adapter; `@rapport/sql` implements it once over `@effect/sql` for SQLite
 * and PostgreSQL. Every adapter runs the contract suite from `@rapport/testing` unchanged.
 *
 * Every method takes the workspace id explicitly and never reads or writes another workspace.
 * Methods fail only with `StorageError`, plus `Conflict` where a stored invariant (a unique value,
 * an expected version) would break. Adapters never change a record's `version` themselves: the
 * caller passes the new record and the version it expects to replace.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Company } from "../domain/Company.js"
import type { Contact } from "../domain/Contact.js"
import type { Deal, DealFilter } from "../domain/Deal.js"
import type { StoredEvent } from "../domain/CrmEvent.js"
import type { AddressHealth, ConsentRecord } from "../domain/Consent.js"
import { type Conflict, StorageError } from "../domain/Errors.js"
import type { FieldDefinition, FieldEntity, FieldValues } from "../domain/FieldDefinition.js"
import type { CompanyId, ContactId, DealId, EventId, JobId, PipelineId, RuleId, SetupKey, TaskId, TemplateId, TimelineEntryId, WorkspaceId } from "../domain/Ids.js"
import type { Firing, Job, JobStatus, MailCategory } from "../domain/Job.js"
import type { Order, OrderStatus } from "../domain/Order.js"
import type { Pipeline } from "../domain/Pipeline.js"
import type { Rule } from "../domain/Rule.js"
import type { Task } from "../domain/Task.js"
import type { Template, TemplateVariant } from "../domain/Template.js"
import type { Dimension, StatusSums } from "../domain/Weighting.js"
import type { TimelineEntry, TimelineKind } from "../domain/TimelineEntry.js"
import type { Workspace } from "../domain/Workspace.js"
import type { ApiKeyId, StoredApiKey } from "../domain/ApiKey.js"
import type { InboundWebhookConfig } from "../domain/InboundWebhook.js"
import type { Delivery, StoredSubscription } from "../domain/OutboundWebhook.js"
import type { WebhookDeliveryId, WebhookSubscriptionId } from "../domain/Ids.js"
import type { ImportId, ImportRun, ImportStatus } from "../domain/ImportRun.js"
import type { Condition as SegmentCondition, Registry as ConditionRegistry } from "../domain/Condition.js"
import type { IndexColumn as SegmentIndexColumn, Segment } from "../domain/Segment.js"
import type { ValidationError } from "../domain/Errors.js"
import type { AnalyticsRepository } from "./AnalyticsStorage.js"
export type {
  AnalyticsRepository,
  AvatarQuery,
  AvatarRow,
  ChannelQuery,
  ChannelRow,
  ChannelSpend,
  CustomerRevenueRow,
  FunnelQuery,
  FunnelRow,
  ProductRevenueRow,
  RevenueQuery,
  RuleReportQuery,
  RuleVariantRow
} from "./AnalyticsStorage.js"
import type { Campaign, CampaignId, CampaignStatus } from "../domain/Campaign.js"
import type { SnapshotRepository } from "./SnapshotStorage.js"
export type { PipelineSnapshotRow, RfmBucket, RfmRow, SnapshotRepository } from "./SnapshotStorage.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkspaceRepository {
  /** The workspace, if stored. */
  readonly get: (id: WorkspaceId) => Effect.Effect<Option.Option<Workspace>, StorageError>
  /**
   * The workspace, if stored, with the value of one of its counters (0 when never incremented),
   * read together in one statement: what a caller caches under that counter is then checked at
   * no extra round trip.
   */
  readonly getWithCounter: (id: WorkspaceId, counterKey: string) => Effect.Effect<Option.Option<{ readonly workspace: Workspace; readonly counter: number }>, StorageError>
  /** Stores the workspace unless one with its id exists; returns the stored one either way. */
  readonly insertIfAbsent: (workspace: Workspace) => Effect.Effect<Workspace, StorageError>
  /** Replaces the stored workspace if its version is `expectedVersion`, else fails with `Conflict`. */
  readonly update: (workspace: Workspace, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FieldDefinitionRepository {
  /** Definitions ordered by position, then key, then entity; of one entity when given. */
  readonly list: (
    workspaceId: WorkspaceId,
    entity?: FieldEntity
  ) => Effect.Effect<ReadonlyArray<FieldDefinition>, StorageError>
  /** Fails with `Conflict` (`unique`, field `key`) when the entity already has this key. */
  readonly insert: (definition: FieldDefinition) => Effect.Effect<void, StorageError | Conflict>
  /** Replaces the definition if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (definition: FieldDefinition, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Deletes the definition (values held by records are the caller's business). */
  readonly remove: (workspaceId: WorkspaceId, entity: FieldEntity, key: string) => Effect.Effect<void, StorageError>
}

/**
 * What `contacts.list` filters on; `after` is the last id of the previous page.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactQuery {
  readonly stage?: string | undefined
  readonly tag?: string | undefined
  readonly companyId?: CompanyId | undefined
  readonly ownerId?: string | undefined
  readonly after?: string | undefined
  readonly limit: number
}

/**
 * How many records of each kind `contacts.reassign` moved from one contact to another.
 *
 * @since 0.3.0
 * @category models
 */
export interface Reassigned {
  readonly timeline: number
  readonly events: number
  readonly orders: number
  readonly deals: number
  readonly tasks: number
  readonly jobs: number
  readonly firings: number
  /** The moved contact's consent records that now belong to the other (see `reassign` for a purpose both have). */
  readonly consents: number
}

/**
 * How `contacts.update` may write a contact.
 *
 * @since 0.5.0
 * @category models
 */
export interface ContactUpdateOptions {
  /** The contact's emails and phones are the stored ones: only its row needs writing. */
  readonly keepIdentities?: boolean | undefined
  /**
   * Only these attributes (and `version` and `updatedAt`) differ from the stored contact's: a
   * store may write those alone (a stage move rewrites no other column and no other index).
   * Implies `keepIdentities`.
   *
   * @since 0.6.0
   */
  readonly only?: ReadonlyArray<"stage" | "score" | "tags" | "ownerId"> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContactRepository {
  /**
   * Stores new contacts with their emails and phones (`Contact.identityLists`: the primary ones
   * first), in as few statements as the store allows; all or none (in the caller's transaction).
   * Fails with `Conflict` (`unique`, field `id`, `email` or `emails`), storing none of them, when a
   * contact's id is taken or another contact holds one of its email keys, primary or not.
   * (`insert` of one contact was removed in 0.5.0: pass a list of one.)
   */
  readonly insertMany: (contacts: ReadonlyArray<Contact>) => Effect.Effect<void, StorageError | Conflict>
  /** The contacts holding any of these email keys (lower-cased emails), primary or not; each once. */
  readonly findByEmails: (workspaceId: WorkspaceId, emailKeys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Contact>, StorageError>
  /** The contact, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: ContactId) => Effect.Effect<Option.Option<Contact>, StorageError>
  /**
   * The contacts among these ids stored in this workspace (in any order; ids not stored are left
   * out), read in one statement per thousand or so.
   *
   * @since 0.6.0
   */
  readonly getMany: (workspaceId: WorkspaceId, ids: ReadonlyArray<ContactId>) => Effect.Effect<ReadonlyArray<Contact>, StorageError>
  /**
   * The contacts with a phone (primary or not, since 0.4.0) exactly one of these strings (no
   * normalisation: imports store E.164), each once, in id order.
   *
   * @since 0.3.0
   */
  readonly findByPhones: (workspaceId: WorkspaceId, phones: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Contact>, StorageError>
  /** Finds by the case-insensitive email key, among every contact's emails (primary or not). */
  readonly findByEmail: (workspaceId: WorkspaceId, email: string) => Effect.Effect<Option.Option<Contact>, StorageError>
  /**
   * Replaces the contact, its emails and phones included, if its stored version is
   * `expectedVersion`; `Conflict` otherwise (also, changing nothing, when another contact holds
   * one of its emails). With `keepIdentities` the caller did not change its emails and phones (a
   * stage move, a score): a store may then leave them as stored and write the row alone.
   */
  readonly update: (contact: Contact, expectedVersion: number, options?: ContactUpdateOptions) => Effect.Effect<void, StorageError | Conflict>
  /**
   * {@link update} of several contacts at once, each over its expected version, where only the
   * `only` attributes (and `version` and `updatedAt`) changed: one statement where the store can
   * (a batch of events moves many contacts). Fails with `Conflict` for the first contact, in
   * order, whose stored version is not the expected one, and then writes none.
   *
   * @since 0.6.0
   */
  readonly updateMany: (
    updates: ReadonlyArray<{ readonly contact: Contact; readonly expectedVersion: number }>,
    options: { readonly only: NonNullable<ContactUpdateOptions["only"]> }
  ) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the contact with its emails and phones; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: ContactId) => Effect.Effect<boolean, StorageError>
  /** Up to `limit` contacts in id order, after `after`. */
  readonly list: (workspaceId: WorkspaceId, query: ContactQuery) => Effect.Effect<ReadonlyArray<Contact>, StorageError>
  /**
   * Moves every record of contact `fromId` to contact `toId` (a merge), with one statement per
   * table, never loading the rows: timeline entries, events, orders, deals and tasks (these two
   * versioned records get one more version and `updatedAt = at`), jobs, firings and consent
   * records. For a consent purpose both contacts have, the later decision stays (`toId`'s on a
   * tie) and the other is deleted. The contacts themselves, their fields and unique values are the
   * caller's business. Returns how many records of each kind moved.
   *
   * @since 0.3.0
   */
  readonly reassign: (
    workspaceId: WorkspaceId,
    fromId: ContactId,
    toId: ContactId,
    at: DateTime.Utc
  ) => Effect.Effect<Reassigned, StorageError>
  /** How many contacts are in each stage that has any. */
  readonly countByStage: (
    workspaceId: WorkspaceId
  ) => Effect.Effect<ReadonlyArray<{ readonly stage: string; readonly count: number }>, StorageError>
  /** How many contacts belong to the company. */
  readonly countByCompany: (workspaceId: WorkspaceId, companyId: CompanyId) => Effect.Effect<number, StorageError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CompanyRepository {
  /** Stores a new company. */
  readonly insert: (company: Company) => Effect.Effect<void, StorageError | Conflict>
  /** The company, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: CompanyId) => Effect.Effect<Option.Option<Company>, StorageError>
  /**
   * The ids among these that are stored, held until the transaction ends: `share` keeps them
   * from being removed (contacts are joining them), `update` has them alone (one is being
   * removed). Stores whose transactions never overlap just check existence.
   */
  readonly lockExisting: (
    workspaceId: WorkspaceId,
    ids: ReadonlyArray<CompanyId>,
    mode: "share" | "update"
  ) => Effect.Effect<ReadonlyArray<CompanyId>, StorageError>
  /** Replaces the company if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (company: Company, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the company; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: CompanyId) => Effect.Effect<boolean, StorageError>
  /** Up to `limit` companies in id order, after `after`. */
  readonly list: (
    workspaceId: WorkspaceId,
    query: { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<Company>, StorageError>
}

/**
 * A record's custom-field values, as definition changes need to check them.
 *
 * @since 0.1.0
 * @category models
 */
export interface FieldRecord {
  readonly id: string
  /** The lifecycle stage, for contacts; `null` for other entities. */
  readonly stage: string | null
  readonly fields: FieldValues
}

/**
 * Custom-field values across the records of an entity.
 *
 * @since 0.1.0
 * @category models
 */
export interface CustomFieldRepository {
  /** Up to `limit` records of the entity in id order, after `after`. */
  readonly scan: (
    workspaceId: WorkspaceId,
    entity: FieldEntity,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<FieldRecord>, StorageError>
  /** Removes the key from every record that has it (bumping their version); returns how many. */
  readonly purge: (
    workspaceId: WorkspaceId,
    entity: FieldEntity,
    key: string,
    at: DateTime.Utc
  ) => Effect.Effect<number, StorageError>
}

/**
 * Unique custom-field values: the store guarantees no two records of a workspace and entity hold
 * the same value key for a field.
 *
 * @since 0.1.0
 * @category models
 */
export interface UniqueValueRepository {
  /**
   * Sets (or with `null` clears) the value key a record holds for a field. Fails with `Conflict`
   * (`unique`, naming the field and the holder) when another record holds it.
   */
  readonly set: (
    workspaceId: WorkspaceId,
    entity: FieldEntity,
    recordId: string,
    fieldKey: string,
    valueKey: string | null
  ) => Effect.Effect<void, StorageError | Conflict>
  /**
   * Claims values for records that hold none yet (new records). Fails with `Conflict` naming the
   * field and the holder when another record holds one of them.
   */
  readonly claimMany: (
    workspaceId: WorkspaceId,
    entity: FieldEntity,
    claims: ReadonlyArray<{ readonly recordId: string; readonly fieldKey: string; readonly valueKey: string }>
  ) => Effect.Effect<void, StorageError | Conflict>
  /** The record holding a value, if any. */
  readonly find: (
    workspaceId: WorkspaceId,
    entity: FieldEntity,
    fieldKey: string,
    valueKey: string
  ) => Effect.Effect<Option.Option<string>, StorageError>
  /** Clears every value a record holds (the record is being deleted). */
  readonly releaseRecord: (workspaceId: WorkspaceId, entity: FieldEntity, recordId: string) => Effect.Effect<void, StorageError>
  /** Clears every record's value of a field (it is no longer unique, or removed). */
  readonly releaseField: (workspaceId: WorkspaceId, entity: FieldEntity, fieldKey: string) => Effect.Effect<void, StorageError>
}

/**
 * Timeline filters. `from` is inclusive and `to` exclusive; `before` is the position of the last
 * entry of the previous page (entries come newest first).
 *
 * @since 0.1.0
 * @category models
 */
export interface TimelineQuery {
  readonly contactId?: ContactId | undefined
  readonly kinds?: ReadonlyArray<TimelineKind> | undefined
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
  readonly before?: { readonly occurredAt: DateTime.Utc; readonly id: TimelineEntryId } | undefined
  readonly limit: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TimelineRepository {
  /** Adds an entry (entries are never changed afterwards). */
  readonly append: (entry: TimelineEntry) => Effect.Effect<void, StorageError>
  /** Adds entries in as few statements as the store allows. */
  readonly appendMany: (entries: ReadonlyArray<TimelineEntry>) => Effect.Effect<void, StorageError>
  /** The entry, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: TimelineEntryId) => Effect.Effect<Option.Option<TimelineEntry>, StorageError>
  /** Newest first: by `occurredAt` descending, then id descending. */
  readonly list: (workspaceId: WorkspaceId, query: TimelineQuery) => Effect.Effect<ReadonlyArray<TimelineEntry>, StorageError>
  /** Deletes a contact's entries (the contact is being deleted). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<void, StorageError>
}

/**
 * A contact's history in the window `(since, until]`; an open end when not given.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryWindow {
  readonly contactId: ContactId
  readonly since?: DateTime.Utc | undefined
  readonly until?: DateTime.Utc | undefined
}

/**
 * A question about a contact's history that {@link StorageService.history} answers together with
 * others: how many of its orders, or of its events of `types`, fall in the window (`orderCount`,
 * `eventCount`) or when they happened (`orderTimes`, `eventTimes`); when its latest stage change
 * happened (`lastStageChange`, by its timeline entries); whether a rule's firings for it carry
 * `key` (`firingKey`: the count), or when the latest fired (`lastFiring`).
 *
 * @since 0.6.0
 * @category models
 */
export type HistoryQuestion =
  | (HistoryWindow & { readonly ask: "orderCount" | "orderTimes" })
  | (HistoryWindow & { readonly ask: "eventCount" | "eventTimes"; readonly types: ReadonlyArray<string> })
  | { readonly ask: "lastStageChange"; readonly contactId: ContactId }
  | { readonly ask: "firingKey"; readonly contactId: ContactId; readonly ruleId: RuleId; readonly key: string }
  | { readonly ask: "lastFiring"; readonly contactId: ContactId; readonly ruleId: RuleId }

/**
 * The answer to a {@link HistoryQuestion}: `count` for a count (and the number of `times`
 * otherwise); `times`, earliest first, for times, and for a latest instant (none when there is
 * none).
 *
 * @since 0.6.0
 * @category models
 */
export interface HistoryAnswer {
  readonly count: number
  readonly times: ReadonlyArray<DateTime.Utc>
}

/**
 * Where an event stands in a contact's history, most recent first: its `occurredAt`, then its id.
 *
 * @since 0.4.0
 * @category models
 */
export interface EventPosition {
  readonly occurredAt: DateTime.Utc
  readonly id: EventId
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EventRepository {
  /** Stores the event unless its id is already stored; `false` then, and nothing changes. */
  readonly insert: (event: StoredEvent) => Effect.Effect<boolean, StorageError>
  /** Stores the events whose ids are not stored yet; returns the ids that were (and changes nothing for them). */
  readonly insertMany: (events: ReadonlyArray<StoredEvent>) => Effect.Effect<ReadonlyArray<EventId>, StorageError>
  /** The event, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: EventId) => Effect.Effect<Option.Option<StoredEvent>, StorageError>
  /**
   * The events among these ids stored in this workspace (in any order; ids not stored are left
   * out): emitMany reads the ids it is given at once (it replaces `storedIds`).
   *
   * @since 0.6.0
   */
  readonly getMany: (workspaceId: WorkspaceId, ids: ReadonlyArray<EventId>) => Effect.Effect<ReadonlyArray<StoredEvent>, StorageError>
  /** How many events of the contact, of one of `types`, are in the window. */
  readonly count: (
    workspaceId: WorkspaceId,
    query: HistoryWindow & { readonly types: ReadonlyArray<string> }
  ) => Effect.Effect<number, StorageError>
  /** When those events occurred, earliest first. */
  readonly times: (
    workspaceId: WorkspaceId,
    query: HistoryWindow & { readonly types: ReadonlyArray<string> }
  ) => Effect.Effect<ReadonlyArray<DateTime.Utc>, StorageError>
  /**
   * Up to `limit` of those events, most recent first (by `occurredAt` descending, then id
   * descending); with `before` (the last event of the previous page), only those after it in that
   * order, so that a reader pages through every one of them (see {@link countEvents}).
   */
  readonly list: (
    workspaceId: WorkspaceId,
    query: HistoryWindow & { readonly types: ReadonlyArray<string>; readonly limit: number; readonly before?: EventPosition | undefined }
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, StorageError>
  /** Up to `limit` of a contact's events of any type, in id order after `after` (for exports). */
  readonly forContact: (
    workspaceId: WorkspaceId,
    contactId: ContactId,
    page: { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, StorageError>
  /**
   * Empties the payloads of a contact's events (the contact is being erased); the ids stay, so a
   * re-sent event is still recognised and not processed again. Returns how many events the
   * contact has.
   */
  readonly eraseForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<number, StorageError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OrderRepository {
  /** Stores the order unless its id is already stored; `false` then, and nothing changes. */
  readonly insert: (order: Order) => Effect.Effect<boolean, StorageError>
  /**
   * Stores the orders whose ids are not stored yet (with their lines), a few statements for the
   * lot; returns the ids of those already stored, which change nothing.
   *
   * @since 0.6.0
   */
  readonly insertMany: (orders: ReadonlyArray<Order>) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /** How many orders of the contact were placed in the window (cancelled ones are not counted). */
  readonly count: (workspaceId: WorkspaceId, query: HistoryWindow) => Effect.Effect<number, StorageError>
  /** When those orders were placed, earliest first (cancelled ones left out). */
  readonly times: (workspaceId: WorkspaceId, query: HistoryWindow) => Effect.Effect<ReadonlyArray<DateTime.Utc>, StorageError>
  /** Up to `limit` of a contact's orders with their lines, in id order after `after` (for exports). */
  readonly forContact: (
    workspaceId: WorkspaceId,
    contactId: ContactId,
    page: { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<Order>, StorageError>
  /**
   * The order with its lines, if stored in this workspace.
   *
   * @since 0.8.0
   */
  readonly get: (workspaceId: WorkspaceId, id: string) => Effect.Effect<Option.Option<Order>, StorageError>
  /**
   * Up to `limit` orders with their lines, newest first (by `placedAt` descending, then id
   * descending), filtered as {@link OrderQuery} says.
   *
   * @since 0.8.0
   */
  readonly list: (workspaceId: WorkspaceId, query: OrderQuery) => Effect.Effect<ReadonlyArray<Order>, StorageError>
  /**
   * Marks a `placed` order `cancelled` at `cancelledAt`; `false` (and nothing changes) when there
   * is no such order or it is not `placed`.
   *
   * @since 0.8.0
   */
  readonly cancel: (workspaceId: WorkspaceId, orderId: string, cancelledAt: DateTime.Utc) => Effect.Effect<boolean, StorageError>
  /**
   * Records a refund and adds it to the order's `refundedMinor`, in one step that holds under
   * concurrent refunds: `false` (and nothing changes) when there is no such order or the refunds
   * would then exceed its total.
   *
   * @since 0.8.0
   */
  readonly refund: (workspaceId: WorkspaceId, refund: OrderRefund) => Effect.Effect<boolean, StorageError>
  /**
   * A contact's figures per currency, in one statement, over its orders that are not cancelled:
   * Σ (total − refunded), how many, the first and last `placedAt`, and the average (the sum ÷ the
   * count, rounded half up to a whole minor unit). In currency code order.
   *
   * @since 0.8.0
   */
  readonly figures: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<ReadonlyArray<OrderFigures>, StorageError>
}

/**
 * What {@link OrderRepository.list} filters by: the contact, the period `[from, to)` on
 * `placedAt`, the status; `before` is the last order of the previous page.
 *
 * @since 0.8.0
 * @category models
 */
export interface OrderQuery {
  readonly contactId?: ContactId | undefined
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
  readonly status?: OrderStatus | undefined
  readonly before?: { readonly placedAt: DateTime.Utc; readonly id: string } | undefined
  readonly limit: number
}

/**
 * One refund of an order, recorded by the `order.refunded` event `eventId`.
 *
 * @since 0.8.0
 * @category models
 */
export interface OrderRefund {
  readonly orderId: string
  readonly eventId: EventId
  readonly amountMinor: number
  readonly reason: string | null
  readonly refundedAt: DateTime.Utc
}

/**
 * A contact's order figures in one currency (see {@link OrderRepository.figures}).
 *
 * @since 0.8.0
 * @category models
 */
export interface OrderFigures {
  readonly currency: string
  readonly revenueMinor: number
  readonly orders: number
  readonly firstOrderAt: DateTime.Utc
  readonly lastOrderAt: DateTime.Utc
  readonly averageBasketMinor: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface PipelineRepository {
  /** The workspace's pipelines by position, then id. */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<Pipeline>, StorageError>
  /** The pipeline, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: PipelineId) => Effect.Effect<Option.Option<Pipeline>, StorageError>
  /** Stores a new pipeline. */
  readonly insert: (pipeline: Pipeline) => Effect.Effect<void, StorageError | Conflict>
  /** Replaces the pipeline if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (pipeline: Pipeline, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the pipeline; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: PipelineId) => Effect.Effect<boolean, StorageError>
}

/**
 * What `deals.list` asks storage for: a filter, and a page in id order after `after`.
 *
 * @since 0.2.0
 * @category models
 */
export interface DealQuery extends DealFilter {
  readonly after?: string | undefined
  readonly limit: number
}

/**
 * What an aggregate groups by (besides currency and status) and which deals it sums.
 *
 * @since 0.2.0
 * @category models
 */
export interface DealSumQuery {
  readonly groupBy: ReadonlyArray<Dimension>
  readonly filter: DealFilter
}

/**
 * Open deals with no activity since `before` in their pipeline and stage.
 *
 * @since 0.2.0
 * @category models
 */
export interface StaleDealQuery {
  readonly thresholds: ReadonlyArray<{ readonly pipelineId: PipelineId; readonly stage: string; readonly before: DateTime.Utc }>
  /** The last deal of the previous page: results come stalest first, then by id. */
  readonly after?: { readonly lastActivityAt: DateTime.Utc; readonly id: DealId } | undefined
  readonly limit: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface DealRepository {
  /** Stores a new deal. */
  readonly insert: (deal: Deal) => Effect.Effect<void, StorageError | Conflict>
  /** The deal, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: DealId) => Effect.Effect<Option.Option<Deal>, StorageError>
  /** Replaces the deal if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (deal: Deal, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the deal; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: DealId) => Effect.Effect<boolean, StorageError>
  /** Up to `limit` deals matching the filter, in id order, after `after`. */
  readonly list: (workspaceId: WorkspaceId, query: DealQuery) => Effect.Effect<ReadonlyArray<Deal>, StorageError>
  /** How many deals match the filter. */
  readonly count: (workspaceId: WorkspaceId, filter: DealFilter) => Effect.Effect<number, StorageError>
  /**
   * Sets the stage probability of every deal in a pipeline stage (the pipeline changed), bumping
   * their version; returns how many changed.
   */
  readonly restage: (
    workspaceId: WorkspaceId,
    pipelineId: PipelineId,
    stage: string,
    probability: number,
    at: DateTime.Utc
  ) => Effect.Effect<number, StorageError>
  /**
   * Counts, Σ amountMinor and Σ amountMinor × the deal's probability (its override's, else its
   * stage's) per group, currency and status, computed by the store: never by loading the deals.
   * Exact (sums pass 2^53). Must equal `Weighting.aggregateDeals`; the weights per status are the
   * caller's (`Weighting.weigh`). Before 0.5.0 it summed weighted amounts given a cold probability.
   */
  readonly sums: (workspaceId: WorkspaceId, query: DealSumQuery) => Effect.Effect<ReadonlyArray<StatusSums>, StorageError>
  /** Open deals idle since their stage's threshold, stalest first. */
  readonly stale: (workspaceId: WorkspaceId, query: StaleDealQuery) => Effect.Effect<ReadonlyArray<Deal>, StorageError>
}

/**
 * Task filters; results come soonest due first, then by id. `dueFrom` is inclusive, `dueBefore`
 * exclusive; `ownerId: null` asks for tasks nobody owns.
 *
 * @since 0.2.0
 * @category models
 */
export interface TaskQuery {
  readonly status?: Task["status"] | undefined
  readonly ownerId?: string | null | undefined
  readonly contactId?: ContactId | undefined
  readonly dealId?: DealId | undefined
  readonly dueFrom?: DateTime.Utc | undefined
  readonly dueBefore?: DateTime.Utc | undefined
  readonly after?: { readonly dueAt: DateTime.Utc; readonly id: TaskId } | undefined
  readonly limit: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface TaskRepository {
  /** Stores a new task. */
  readonly insert: (task: Task) => Effect.Effect<void, StorageError | Conflict>
  /** The task, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: TaskId) => Effect.Effect<Option.Option<Task>, StorageError>
  /** Replaces the task if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (task: Task, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Tasks matching the query. */
  readonly list: (workspaceId: WorkspaceId, query: TaskQuery) => Effect.Effect<ReadonlyArray<Task>, StorageError>
  /** Deletes a contact's tasks (the contact is being deleted). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<void, StorageError>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface TemplateRepository {
  /** Stores a new template. */
  readonly insert: (template: Template) => Effect.Effect<void, StorageError | Conflict>
  /** The template, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: TemplateId) => Effect.Effect<Option.Option<Template>, StorageError>
  /** Replaces the template if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (template: Template, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** The workspace's templates by name, then id. */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<Template>, StorageError>
  /**
   * The template with this stable key, if any. Keys are unique per workspace: `insert` and
   * `update` fail with `Conflict` (`unique`, field `key`) when another template holds it.
   *
   * @since 0.7.0
   */
  readonly getByKey: (workspaceId: WorkspaceId, key: SetupKey) => Effect.Effect<Option.Option<Template>, StorageError>
  /** Removes the template; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: TemplateId) => Effect.Effect<boolean, StorageError>
}

/**
 * A template's per-locale variants (`fr`, `en-GB`…), one per template and locale.
 *
 * @since 0.7.0
 * @category models
 */
export interface TemplateLocaleRepository {
  /** The template's variants by locale. */
  readonly list: (workspaceId: WorkspaceId, templateId: TemplateId) => Effect.Effect<ReadonlyArray<TemplateVariant>, StorageError>
  /** Stores the variant, replacing the one of the same template and locale. */
  readonly put: (variant: TemplateVariant) => Effect.Effect<void, StorageError>
  /** Removes one variant; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, templateId: TemplateId, locale: string) => Effect.Effect<boolean, StorageError>
  /** Removes every variant of the template (the template is being deleted). */
  readonly removeAll: (workspaceId: WorkspaceId, templateId: TemplateId) => Effect.Effect<void, StorageError>
}

/**
 * @since 0.3.0
 * @category models
 */
export interface RuleRepository {
  /** The workspace's rules in id order. */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<Rule>, StorageError>
  /** The rule, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: RuleId) => Effect.Effect<Option.Option<Rule>, StorageError>
  /**
   * The rule with this stable key, if any. Keys are unique per workspace: `insert` and `update`
   * fail with `Conflict` (`unique`, field `key`) when another rule holds it.
   *
   * @since 0.7.0
   */
  readonly getByKey: (workspaceId: WorkspaceId, key: SetupKey) => Effect.Effect<Option.Option<Rule>, StorageError>
  /** Stores a new rule; `Conflict` (`unique`, field `id`) when the id is taken. */
  readonly insert: (rule: Rule) => Effect.Effect<void, StorageError | Conflict>
  /** Replaces the rule if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (rule: Rule, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the rule; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: RuleId) => Effect.Effect<boolean, StorageError>
}

/**
 * What `jobs.list` filters on; jobs come by due time, then id, after `after`.
 *
 * @since 0.3.0
 * @category models
 */
export interface JobQuery {
  readonly statuses?: ReadonlyArray<JobStatus> | undefined
  readonly ruleId?: RuleId | undefined
  readonly contactId?: ContactId | undefined
  readonly after?: { readonly dueAt: DateTime.Utc; readonly id: JobId } | undefined
  readonly limit: number
}

/**
 * A dispatcher's claim: up to `limit` jobs due at `now` (pending with `dueAt <= now`, or running
 * with `leaseUntil <= now`), held until `leaseUntil` under `token`; of the given workspaces only,
 * when given (none for an empty list).
 *
 * @since 0.3.0
 * @category models
 */
export interface ClaimRequest {
  readonly now: DateTime.Utc
  readonly leaseUntil: DateTime.Utc
  readonly token: string
  readonly limit: number
  readonly workspaces?: ReadonlyArray<WorkspaceId> | undefined
}

/**
 * The outbox. Unlike every other repository, `claim` and `nextDue` look at every workspace unless
 * told which: one dispatcher can serve them all (rows stay per workspace; nothing joins across
 * them).
 *
 * @since 0.3.0
 * @category models
 */
export interface JobRepository {
  /**
   * Stores new jobs; a job whose idempotency key the workspace already has (stored, or earlier in
   * the same list) is left out.
   */
  readonly insertMany: (jobs: ReadonlyArray<Job>) => Effect.Effect<void, StorageError>
  /** The job, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: JobId) => Effect.Effect<Option.Option<Job>, StorageError>
  /** The workspace's job with this idempotency key, if stored (a retried call finds what it queued). */
  readonly getByKey: (workspaceId: WorkspaceId, idempotencyKey: string) => Effect.Effect<Option.Option<Job>, StorageError>
  /**
   * Claims due jobs, soonest due first (then by id): each becomes `running` with the lease and
   * token, one more attempt and `updatedAt = now`. Concurrent claims never return the same job
   * while its lease holds (PostgreSQL: `FOR UPDATE SKIP LOCKED`). Each statement that claims is
   * pinned to one workspace, so that the tables can be distributed by workspace.
   */
  readonly claim: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<Job>, StorageError>
  /**
   * Writes the run's state of `job` (status, whatever it is, `running` included; attempts, due
   * time, lease, claim token, outcome, last error, completion, category, reservation, purpose and
   * `updatedAt`) if the stored job is still `running` under `token` (the claim was not lost to an
   * ended lease); `false`, and nothing written, otherwise. What the rule queued (key, kind, rule,
   * event, variant, action, creation) stays as stored, and so does the contact: a merge may have
   * moved the job to another contact while it ran.
   */
  readonly settle: (job: Job, token: string) => Effect.Effect<boolean, StorageError>
  /**
   * Puts a `dead` or `skipped` job back in the queue: `pending`, due at `at`, attempts 0,
   * `completedAt` cleared, `lastError` and `outcome` kept; none when there is no such job in one of
   * those states.
   */
  readonly requeue: (workspaceId: WorkspaceId, id: JobId, at: DateTime.Utc) => Effect.Effect<Option.Option<Job>, StorageError>
  /** Jobs matching the query. */
  readonly list: (workspaceId: WorkspaceId, query: JobQuery) => Effect.Effect<ReadonlyArray<Job>, StorageError>
  /** The earliest due time of a pending job, or lease end of a running one, in any (or these) workspaces. */
  readonly nextDue: (workspaces?: ReadonlyArray<WorkspaceId>) => Effect.Effect<Option.Option<DateTime.Utc>, StorageError>
  /**
   * How many of the contact's jobs of one of `categories` reserved their mail after `since`
   * (`reservedAt > since`, whatever their status). Replaces `marketingSince` (0.5.0): which
   * categories a frequency cap counts is the caller's.
   */
  readonly reservedSince: (
    workspaceId: WorkspaceId,
    query: { readonly contactId: ContactId; readonly categories: ReadonlyArray<typeof MailCategory.Type>; readonly since: DateTime.Utc }
  ) => Effect.Effect<number, StorageError>
  /**
   * The places the contact's jobs took under `purpose` after `since` (`purpose` equal and
   * `reservedAt > since`, whatever their status): how many (`count`), and, when there are at
   * least `max`, the `reservedAt` of the one whose leaving the window brings the count below
   * `max` (the (count − max + 1)-th oldest; `none` below `max`). What a purpose's cap and window
   * are is the caller's (since 0.7.0).
   */
  readonly placesSince: (
    workspaceId: WorkspaceId,
    query: { readonly contactId: ContactId; readonly purpose: string; readonly since: DateTime.Utc; readonly max: number }
  ) => Effect.Effect<{ readonly count: number; readonly releasedBy: Option.Option<DateTime.Utc> }, StorageError>
  /**
   * How many of a rule's jobs in one of `statuses`, whose action is of one of `actionTypes`, there
   * are per variant (variants without any left out). Replaces `sentByVariant` (0.5.0): what counts
   * as sent is the caller's. `opened` (since 0.8.0): of those, the done ones the host reported
   * opened — an `email.opened` event of the job's contact whose payload's `jobId` is the job's id
   * or whose `messageId` is the one in the job's outcome; each job counts once.
   */
  readonly countByVariant: (
    workspaceId: WorkspaceId,
    query: { readonly ruleId: RuleId; readonly statuses: ReadonlyArray<JobStatus>; readonly actionTypes: ReadonlyArray<string> }
  ) => Effect.Effect<ReadonlyArray<{ readonly variant: string | null; readonly count: number; readonly opened: number }>, StorageError>
  /** Deletes a contact's jobs (the contact is being erased). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<number, StorageError>
}

/**
 * Which firings `firings.convert` marks converted, and when.
 *
 * @since 0.5.0
 * @category models
 */
export interface ConversionQuery {
  readonly contactId: ContactId
  readonly goalEvent: string
  readonly firedBy: DateTime.Utc
  readonly openAt: DateTime.Utc
  readonly convertedAt: DateTime.Utc
}

/**
 * @since 0.3.0
 * @category models
 */
export interface FiringRepository {
  /** Records firings in as few statements as the store allows (`insert` of one was removed in 0.5.0). */
  readonly insertMany: (firings: ReadonlyArray<Firing>) => Effect.Effect<void, StorageError>
  /** The rule's latest firing for the contact, if any. */
  readonly latest: (workspaceId: WorkspaceId, ruleId: RuleId, contactId: ContactId) => Effect.Effect<Option.Option<Firing>, StorageError>
  /** Whether the rule fired for the contact with this `oncePer` value. */
  readonly hasKey: (workspaceId: WorkspaceId, ruleId: RuleId, contactId: ContactId, key: string) => Effect.Effect<boolean, StorageError>
  /**
   * Sets `convertedAt` on the contact's unconverted firings whose goal is `goalEvent`, fired at or
   * before `firedBy` and whose goal is still open at `openAt` (`goalUntil >= openAt`); returns how
   * many. Which window converts (before 0.5.0 it was fixed to `firedAt <= at <= goalUntil`) is the
   * caller's.
   */
  readonly convert: (workspaceId: WorkspaceId, query: ConversionQuery) => Effect.Effect<number, StorageError>
  /** Firings and conversions of a rule, per variant. */
  readonly stats: (
    workspaceId: WorkspaceId,
    ruleId: RuleId
  ) => Effect.Effect<ReadonlyArray<{ readonly variant: string | null; readonly fired: number; readonly converted: number }>, StorageError>
  /** A contact's firings, oldest first (for exports). */
  readonly forContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<ReadonlyArray<Firing>, StorageError>
  /** Deletes a contact's firings (the contact is being erased). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<number, StorageError>
}

/**
 * @since 0.3.0
 * @category models
 */
export interface ConsentRepository {
  /** The contact's consent records, one per purpose. */
  readonly list: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<ReadonlyArray<ConsentRecord>, StorageError>
  /** Stores the record, replacing the contact's record for the same purpose. */
  readonly put: (record: ConsentRecord) => Effect.Effect<void, StorageError>
  /** Deletes a contact's records (the contact is being erased). */
  readonly removeForContact: (workspaceId: WorkspaceId, contactId: ContactId) => Effect.Effect<number, StorageError>
}

/**
 * What a provider reported about an address: a hard or soft bounce, a spam complaint, or `clear`
 * (the address works again: the hard bounce is forgotten and the soft bounces reset).
 *
 * @since 0.7.0
 * @category models
 */
export type AddressReport =
  | { readonly kind: "hard"; readonly at: DateTime.Utc; readonly reason: string | null }
  | { readonly kind: "soft"; readonly at: DateTime.Utc }
  | { readonly kind: "complaint"; readonly at: DateTime.Utc }
  | { readonly kind: "clear" }

/**
 * Deliverability of mail addresses per workspace, by address key (lower case): hard bounces, soft
 * bounce counts and spam complaints.
 *
 * @since 0.7.0
 * @category models
 */
export interface AddressHealthRepository {
  /** The states of these addresses that have one (in no particular order). */
  readonly list: (workspaceId: WorkspaceId, emails: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<AddressHealth>, StorageError>
  /**
   * Records a report and returns the address's state after it: a hard bounce sets the date and
   * reason, a soft one adds one to the count, a complaint sets its date, `clear` forgets the hard
   * bounce and the soft count.
   */
  readonly report: (workspaceId: WorkspaceId, email: string, report: AddressReport) => Effect.Effect<AddressHealth, StorageError>
  /** Forgets these addresses (their contact is being erased); returns how many were stored. */
  readonly remove: (workspaceId: WorkspaceId, emails: ReadonlyArray<string>) => Effect.Effect<number, StorageError>
}

/**
 * Named counters per workspace (round-robin turns, the rules' version).
 *
 * @since 0.3.0
 * @category models
 */
export interface CounterRepository {
  /** Adds one to the counter (from 0) and returns the new value. */
  readonly increment: (workspaceId: WorkspaceId, key: string) => Effect.Effect<number, StorageError>
  /** The counter's value (0 when never incremented). */
  readonly get: (workspaceId: WorkspaceId, key: string) => Effect.Effect<number, StorageError>
}

/**
 * API keys. Unlike every other repository, `find` looks a key up by its id in every workspace: a
 * caller presenting a key does not know its workspace, the key says it. Key ids are random and
 * unique across workspaces (a unique index on the id alone); the table is small and read far more
 * than written, which is why a database distributed by workspace keeps it as a reference table.
 *
 * @since 0.6.0
 * @category models
 */
export interface ApiKeyRepository {
  /** Stores a new key; `Conflict` (`unique`, field `id`) when its id is taken, in any workspace. */
  readonly insert: (key: StoredApiKey) => Effect.Effect<void, StorageError | Conflict>
  /** The workspace's keys, revoked ones included, oldest first (then by id). */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<StoredApiKey>, StorageError>
  /**
   * Sets `revokedAt` unless the key is revoked already; returns the key as stored afterwards (the
   * first revocation's time stays), none when the workspace has no such key.
   */
  readonly revoke: (workspaceId: WorkspaceId, id: ApiKeyId, at: DateTime.Utc) => Effect.Effect<Option.Option<StoredApiKey>, StorageError>
  /** The key with this id, whatever its workspace. */
  readonly find: (id: ApiKeyId) => Effect.Effect<Option.Option<StoredApiKey>, StorageError>
}

/**
 * Inbound webhook sources. Like API keys, `find` looks a source up in every workspace: the URL a
 * sender posts to names only the source. Source names are unique across workspaces.
 *
 * @since 0.6.0
 * @category models
 */
export interface InboundWebhookRepository {
  /** Stores a new source; `Conflict` (`unique`, field `source`) when its name is taken, in any workspace. */
  readonly insert: (config: InboundWebhookConfig) => Effect.Effect<void, StorageError | Conflict>
  /** The source, if this workspace has it. */
  readonly get: (workspaceId: WorkspaceId, source: string) => Effect.Effect<Option.Option<InboundWebhookConfig>, StorageError>
  /** The source with this name, whatever its workspace. */
  readonly find: (source: string) => Effect.Effect<Option.Option<InboundWebhookConfig>, StorageError>
  /** The workspace's sources by name. */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<InboundWebhookConfig>, StorageError>
  /** Replaces the source if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (config: InboundWebhookConfig, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the source; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, source: string) => Effect.Effect<boolean, StorageError>
}

/**
 * The deliveries of inbound webhooks already received (replay protection), by workspace, source
 * and the sender's delivery id.
 *
 * @since 0.6.0
 * @category models
 */
export interface WebhookReceiptRepository {
  /**
   * Records the delivery unless it is recorded already: `false` then, and nothing changes. A
   * concurrent insert of the same delivery waits for the first to commit or roll back.
   */
  readonly insert: (receipt: {
    readonly workspaceId: WorkspaceId
    readonly source: string
    readonly webhookId: string
    readonly receivedAt: DateTime.Utc
  }) => Effect.Effect<boolean, StorageError>
  /** Forgets the source's deliveries received before `before` (all of them without it); returns how many. */
  readonly prune: (workspaceId: WorkspaceId, source: string, before?: DateTime.Utc) => Effect.Effect<number, StorageError>
}

/**
 * Outbound webhook subscriptions and their delivery log. The messages themselves are jobs in the
 * outbox (`action.type = "webhook"`, `ruleId` = `webhook:<subscription id>`).
 *
 * @since 0.6.0
 * @category models
 */
export interface WebhookSubscriptionRepository {
  /** Stores a new subscription; `Conflict` (`unique`, field `id`) when the id is taken. */
  readonly insert: (subscription: StoredSubscription) => Effect.Effect<void, StorageError | Conflict>
  /** The subscription, if stored in this workspace. */
  readonly get: (workspaceId: WorkspaceId, id: WebhookSubscriptionId) => Effect.Effect<Option.Option<StoredSubscription>, StorageError>
  /** Up to `limit` subscriptions in id order, after `after`. */
  readonly list: (
    workspaceId: WorkspaceId,
    query: { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<StoredSubscription>, StorageError>
  /** Every enabled subscription of the workspace, in id order (what planning reads). */
  readonly enabled: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<StoredSubscription>, StorageError>
  /** Replaces the subscription if its stored version is `expectedVersion`; `Conflict` otherwise. */
  readonly update: (subscription: StoredSubscription, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /**
   * Disables an enabled subscription whatever its version (the receiver said it is gone), with the
   * reason, one more version and `updatedAt = at`; `false` when it was not enabled (or not stored).
   */
  readonly disable: (workspaceId: WorkspaceId, id: WebhookSubscriptionId, reason: string, at: DateTime.Utc) => Effect.Effect<boolean, StorageError>
  /** Removes the subscription and its delivery log; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: WebhookSubscriptionId) => Effect.Effect<boolean, StorageError>
  /** Adds an attempt to the delivery log (entries are never changed afterwards). */
  readonly logDelivery: (delivery: Delivery) => Effect.Effect<void, StorageError>
  /** Forgets the subscription's delivery log entries attempted before `before`; returns how many. */
  readonly pruneDeliveries: (workspaceId: WorkspaceId, subscriptionId: WebhookSubscriptionId, before: DateTime.Utc) => Effect.Effect<number, StorageError>
  /** The delivery log entry, if stored in this workspace. */
  readonly getDelivery: (workspaceId: WorkspaceId, id: WebhookDeliveryId) => Effect.Effect<Option.Option<Delivery>, StorageError>
  /** A subscription's delivery log, newest first (by `attemptedAt`, then id, descending), before `before`. */
  readonly deliveries: (
    workspaceId: WorkspaceId,
    query: {
      readonly subscriptionId: WebhookSubscriptionId
      readonly before?: { readonly attemptedAt: DateTime.Utc; readonly id: WebhookDeliveryId } | undefined
      readonly limit: number
    }
  ) => Effect.Effect<ReadonlyArray<Delivery>, StorageError>
  /**
   * Queues a webhook job of the workspace again, whatever it came to (`done`, `dead` or
   * `skipped`): `pending`, due at `at`, attempts 0, `completedAt` cleared; none when there is no
   * such webhook job in one of those states.
   */
  readonly redeliver: (workspaceId: WorkspaceId, jobId: JobId, at: DateTime.Utc) => Effect.Effect<Option.Option<Job>, StorageError>
}

/**
 * A response the HTTP integration stored under a client's `Idempotency-Key`, so that a request sent
 * again with the same key gets the first answer instead of acting twice. `scope` names who sent it
 * and where (the principal and the route); `fingerprint` is a digest of the request, so that the
 * same key with another request can be refused. `response` is `null` while the first request is
 * still being processed (only seen outside the claiming transaction).
 *
 * @since 0.6.0
 * @category models
 */
export interface IdempotencyRecord {
  readonly workspaceId: WorkspaceId
  readonly scope: string
  readonly key: string
  readonly fingerprint: string
  readonly response: {
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
  } | null
  readonly createdAt: DateTime.Utc
  readonly expiresAt: DateTime.Utc
}

/**
 * Idempotency keys of HTTP requests (see {@link IdempotencyRecord}). The integration claims a key,
 * does the work and stores the response in one transaction, so a crash leaves nothing behind and
 * concurrent requests with one key run the work once.
 *
 * @since 0.6.0
 * @category models
 */
export interface IdempotencyRepository {
  /**
   * Claims the key (a record without response) unless a record that has not expired holds it:
   * none then, else that record. An expired record of the key is replaced. A concurrent claim of
   * the same key waits until the first one's transaction ends, then sees its record.
   */
  readonly claim: (claim: Omit<IdempotencyRecord, "response">) => Effect.Effect<Option.Option<IdempotencyRecord>, StorageError>
  /** Stores the response of a claimed key. */
  readonly complete: (
    workspaceId: WorkspaceId,
    scope: string,
    key: string,
    response: NonNullable<IdempotencyRecord["response"]>
  ) => Effect.Effect<void, StorageError>
  /** Forgets the workspace's records that expired at `now`; returns how many. */
  readonly purge: (workspaceId: WorkspaceId, now: DateTime.Utc) => Effect.Effect<number, StorageError>
}

/**
 * Imports as stored resources (see `ImportRun`): written by the process that runs the import
 * (created, started, progress, finished) and read by any instance.
 *
 * @since 0.6.0
 * @category models
 */
export interface ImportRepository {
  /** Stores a new import. */
  readonly insert: (run: ImportRun) => Effect.Effect<void, StorageError>
  /** The import, if this workspace has it. */
  readonly get: (workspaceId: WorkspaceId, id: ImportId) => Effect.Effect<Option.Option<ImportRun>, StorageError>
  /** The workspace's imports, newest first (by `createdAt`, then id, descending), before `before`; of one status when given. */
  readonly list: (
    workspaceId: WorkspaceId,
    query: {
      readonly before?: { readonly createdAt: DateTime.Utc; readonly id: ImportId } | undefined
      readonly status?: ImportStatus | undefined
      readonly limit: number
    }
  ) => Effect.Effect<ReadonlyArray<ImportRun>, StorageError>
  /** Replaces the import if its stored version is `expectedVersion`; `Conflict` (`version`) otherwise. */
  readonly update: (run: ImportRun, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
}

/**
 * Campaigns (see `Campaign`): their settings and where their fan-out stands, written by versioned
 * updates. Their mails are jobs of the outbox whose rule id is `ruleId` (`campaign:<id>`).
 *
 * @since 0.8.0
 * @category models
 */
export interface CampaignRepository {
  /** Stores a new campaign; `Conflict` when its key is taken. */
  readonly insert: (campaign: Campaign) => Effect.Effect<void, StorageError | Conflict>
  /** The campaign with this id; none when the workspace has none. */
  readonly get: (workspaceId: WorkspaceId, id: CampaignId) => Effect.Effect<Option.Option<Campaign>, StorageError>
  /** The campaign with this stable key (chosen by the app); none when the workspace has none. */
  readonly getByKey: (workspaceId: WorkspaceId, key: string) => Effect.Effect<Option.Option<Campaign>, StorageError>
  /** The workspace's campaigns, newest first (by `createdAt`, then id, descending), before `before`; of one status when given. */
  readonly list: (
    workspaceId: WorkspaceId,
    query: {
      readonly before?: { readonly createdAt: DateTime.Utc; readonly id: CampaignId } | undefined
      readonly status?: CampaignStatus | undefined
      readonly limit: number
    }
  ) => Effect.Effect<ReadonlyArray<Campaign>, StorageError>
  /** Replaces the campaign if its stored version is `expectedVersion`; `Conflict` (`version`) otherwise. */
  readonly update: (campaign: Campaign, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /**
   * Skips the pending jobs of `ruleId` (a cancelled campaign's mails and fan-out), recording
   * `reason` as their outcome; returns how many.
   */
  readonly skipPending: (workspaceId: WorkspaceId, ruleId: string, reason: string, now: DateTime.Utc) => Effect.Effect<number, StorageError>
  /**
   * The jobs of `ruleId` running `actionType`, counted by status; and of the done ones, how many
   * contacts emitted `goal.event` within `goal.withinMillis` after their job completed (0 without
   * a goal), and how many were reported opened (`opened`, since 0.8.0: counted as in
   * `jobs.countByVariant`). One statement.
   */
  readonly results: (
    workspaceId: WorkspaceId,
    query: {
      readonly ruleId: string
      readonly actionType: string
      readonly goal?: { readonly event: string; readonly withinMillis: number } | undefined
    }
  ) => Effect.Effect<
    { readonly byStatus: ReadonlyArray<{ readonly status: JobStatus; readonly count: number }>; readonly converted: number; readonly opened: number },
    StorageError
  >
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StorageService {
  /**
   * Runs the effect in one transaction: all its writes land, or none does (including when it
   * fails with its own error). Nested calls join the outer transaction.
   */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StorageError, R>
  /**
   * Runs `effect` once the current transaction has committed (at once outside a transaction); not
   * at all when it rolls back, nor when the savepoint it was registered in does. What must only
   * follow durable writes (waking the dispatcher) goes here; its failures are not the writer's.
   */
  readonly afterCommit: (effect: Effect.Effect<void>) => Effect.Effect<void>
  /**
   * Orders concurrent transactions that touch the same thing, until the current transaction
   * ends: holders of a key in `shared` mode run together, an `exclusive` holder runs alone. A
   * store whose transactions never overlap (memory, SQLite) has nothing to do; PostgreSQL takes
   * an advisory lock. Services lock in one order (workspace, email, contact, company).
   */
  readonly lock: (workspaceId: WorkspaceId, key: string, mode: "shared" | "exclusive") => Effect.Effect<void, StorageError>
  /**
   * {@link lock} on several keys at once (in key order, so that two callers sharing keys do not
   * deadlock), in one statement where the store needs one.
   *
   * @since 0.6.0
   */
  readonly lockMany: (workspaceId: WorkspaceId, keys: ReadonlyArray<string>, mode: "shared" | "exclusive") => Effect.Effect<void, StorageError>
  /**
   * Answers questions about contacts' histories, in order, in one statement where it can (an
   * emit or a batch of them asks several at once, and each statement is a round trip).
   *
   * @since 0.6.0
   */
  readonly history: (workspaceId: WorkspaceId, questions: ReadonlyArray<HistoryQuestion>) => Effect.Effect<ReadonlyArray<HistoryAnswer>, StorageError>
  readonly workspaces: WorkspaceRepository
  readonly fieldDefinitions: FieldDefinitionRepository
  readonly contacts: ContactRepository
  readonly companies: CompanyRepository
  readonly customFields: CustomFieldRepository
  readonly uniqueValues: UniqueValueRepository
  readonly timeline: TimelineRepository
  readonly events: EventRepository
  readonly orders: OrderRepository
  readonly pipelines: PipelineRepository
  readonly deals: DealRepository
  readonly tasks: TaskRepository
  readonly templates: TemplateRepository
  /** @since 0.7.0 */
  readonly templateLocales: TemplateLocaleRepository
  readonly rules: RuleRepository
  readonly jobs: JobRepository
  readonly firings: FiringRepository
  readonly consents: ConsentRepository
  /** @since 0.7.0 */
  readonly addressHealth: AddressHealthRepository
  readonly counters: CounterRepository
  /** @since 0.6.0 */
  readonly apiKeys: ApiKeyRepository
  /** @since 0.6.0 */
  readonly inboundWebhooks: InboundWebhookRepository
  /** @since 0.6.0 */
  readonly webhookReceipts: WebhookReceiptRepository
  /** @since 0.6.0 */
  readonly webhookSubscriptions: WebhookSubscriptionRepository
  /** @since 0.6.0 */
  readonly httpIdempotency: IdempotencyRepository
  /** @since 0.6.0 */
  readonly imports: ImportRepository
  /** The reports, one query each (issue 16). @since 0.8.0 */
  readonly analytics: AnalyticsRepository
  /** @since 0.8.0 */
  readonly campaigns: CampaignRepository
  /** Saved segments, and the contacts a condition selects, evaluated by the database. @since 0.8.0 */
  readonly segments: SegmentRepository
  /** The weighted pipeline's daily history and contacts' RFM scores (issue 16). @since 0.8.0 */
  readonly snapshots: SnapshotRepository
}

/**
 * Which contacts a segment selects: the contacts of the workspace for which `condition` holds at
 * `now`, its paths resolved against `registry` (the workspace's contact fields and stages). The
 * storage evaluates it, exactly as `Condition.compile`'s predicate would (its counts over the
 * contact's events after `now` − `within` and not after `now`).
 *
 * @since 0.8.0
 * @category models
 */
export interface SegmentQuery {
  readonly condition: SegmentCondition
  readonly registry: ConditionRegistry
  readonly now: DateTime.Utc
}

/**
 * Saved segments (`name` unique per workspace) and the evaluation of conditions over contacts.
 * `count` and `members` fail with `ValidationError` when the condition is not a valid segment
 * condition for the registry (a path naming nothing, an `event.*` path outside a count's `where`,
 * `sinceTrigger`).
 *
 * @since 0.8.0
 * @category models
 */
export interface SegmentRepository {
  /** Stores a new segment; `Conflict` (`unique`, `name`) when the workspace has one of that name. */
  readonly insert: (segment: Segment) => Effect.Effect<void, StorageError | Conflict>
  /** The segment, if this workspace has it. */
  readonly get: (workspaceId: WorkspaceId, id: string) => Effect.Effect<Option.Option<Segment>, StorageError>
  /** The workspace's segments, by name. */
  readonly list: (workspaceId: WorkspaceId) => Effect.Effect<ReadonlyArray<Segment>, StorageError>
  /** Replaces the segment if its stored version is `expectedVersion`; `Conflict` (`version`, or `unique` `name`) otherwise. */
  readonly update: (segment: Segment, expectedVersion: number) => Effect.Effect<void, StorageError | Conflict>
  /** Removes the segment; `false` when there was none. */
  readonly remove: (workspaceId: WorkspaceId, id: string) => Effect.Effect<boolean, StorageError>
  /**
   * Makes, unless it exists, an index on the contacts of every workspace by these custom fields in
   * this order (after the workspace), read as the segment compiler reads them, so a condition
   * testing them is a range of it. An index is shared by the workspaces whose segments name the
   * same columns and stays when the segments go (dropping it is an operator's decision).
   */
  readonly ensureIndex: (columns: ReadonlyArray<SegmentIndexColumn>) => Effect.Effect<void, StorageError>
  /** How many contacts the condition selects. */
  readonly count: (workspaceId: WorkspaceId, query: SegmentQuery) => Effect.Effect<number, StorageError | ValidationError>
  /**
   * How many contacts the condition selects, with the workspace's version (`undefined` for a
   * workspace never stored) and the value of the counter `counterKey` (0 when never bumped), all
   * read in one statement: a caller holding the query under those values can tell whether the
   * count answers for the current definitions.
   */
  readonly countWithVersions: (
    workspaceId: WorkspaceId,
    query: SegmentQuery,
    counterKey: string
  ) => Effect.Effect<{ readonly count: number; readonly workspaceVersion: number | undefined; readonly counter: number }, StorageError | ValidationError>
  /** Up to `limit` of the contacts the condition selects, in id order, after `after`. */
  readonly members: (
    workspaceId: WorkspaceId,
    query: SegmentQuery & { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<Contact>, StorageError | ValidationError>
}

/**
 * The Storage port.
 *
 * @since 0.1.0
 * @category services
 */
export class Storage extends Context.Tag("@rapport/core/Storage")<Storage, StorageService>() {}

/**
 * How many events {@link countEvents} reads per statement when it filters them.
 *
 * @since 0.4.0
 * @category utils
 */
export const COUNT_PAGE_SIZE = 1_000

/**
 * How many of a contact's events of `types` in the window pass `matches` — exactly, however many
 * the contact has. Without `matches` the store counts them in one statement; with it (a count's
 * `where`, compiled by `Condition.compile`), every event in the window is read, a page of
 * {@link COUNT_PAGE_SIZE} at a time, most recent first, each page starting after the last event
 * of the previous one (keyset pagination by `occurredAt`, id, one event type at a time), and
 * tested. No page size or cap changes the answer: the oldest event counts as much as the newest.
 *
 * Why not a SQL `COUNT` with `where` pushed down: the predicate is then the only definition of a
 * match, so memory, SQLite and PostgreSQL cannot disagree on JSON booleans against 1, values of
 * another type, missing values under `ne`/`notIn`, or string order; and no limit remains to exceed.
 * The cost is reading the window's events (linear, about 1,000 per statement).
 *
 * @since 0.4.0
 * @category utils
 */
export const countEvents = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  query: HistoryWindow & { readonly types: ReadonlyArray<string>; readonly matches?: ((event: StoredEvent) => boolean) | undefined }
): Effect.Effect<number, StorageError> => {
  const { matches, types, ...window } = query
  if (matches === undefined) return storage.events.count(workspaceId, { ...window, types })
  // One type at a time: each pass follows the (contact, type, occurredAt) index without sorting
  // the rest of the history on every page. An event has one type, so the passes add up exactly.
  const page = (type: string, before: EventPosition | undefined, total: number): Effect.Effect<number, StorageError> =>
    Effect.flatMap(storage.events.list(workspaceId, { ...window, types: [type], limit: COUNT_PAGE_SIZE, before }), (events) => {
      // A store that ignored `before` would hand the same page back for ever: fail instead.
      if (before !== undefined && events.some((e) => e.id === before.id)) {
        return Effect.fail(new StorageError({ reason: "failed", message: "events.list returned the event it was asked to continue after: this store does not page by `before`" }))
      }
      let n = total
      for (const event of events) if (matches(event)) n++
      const last = events[events.length - 1]
      return last === undefined || events.length < COUNT_PAGE_SIZE ? Effect.succeed(n) : page(type, { occurredAt: last.occurredAt, id: last.id }, n)
    })
  return Effect.reduce(new Set(types), 0, (total, type) => page(type, undefined, total))
}
