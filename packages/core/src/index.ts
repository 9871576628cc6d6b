/**
 * Rapport: an embeddable CRM for TypeScript.
 *
 * @since 0.1.0
 */

// Domain
/** @since 0.6.0 */
export * as ApiKey from "./domain/ApiKey.js"
/** @since 0.1.0 */
export * as Company from "./domain/Company.js"
/** @since 0.3.0 */
export * as Condition from "./domain/Condition.js"
/** @since 0.3.0 */
export * as Consent from "./domain/Consent.js"
/** @since 0.1.0 */
export * as Contact from "./domain/Contact.js"
/** @since 0.1.0 */
export * as CrmEvent from "./domain/CrmEvent.js"
/** @since 0.2.0 */
export * as Deal from "./domain/Deal.js"
/** @since 0.1.0 */
export * as Email from "./domain/Email.js"
/** @since 0.1.0 */
export * as Errors from "./domain/Errors.js"
/** @since 0.1.0 */
export * as FieldDefinition from "./domain/FieldDefinition.js"
/** @since 0.6.0 */
export * as InboundWebhook from "./domain/InboundWebhook.js"
/** @since 0.6.0 */
export * as ImportRun from "./domain/ImportRun.js"
/** @since 0.8.0 */
export * as Campaign from "./domain/Campaign.js"
/** @since 0.1.0 */
export * as Ids from "./domain/Ids.js"
/** @since 0.3.0 */
export * as Job from "./domain/Job.js"
/** @since 0.1.0 */
export * as Json from "./domain/Json.js"
/** @since 0.1.0 */
export * as LifecycleDefinition from "./domain/LifecycleDefinition.js"
/** @since 0.7.0 */
export * as MailWebhooks from "./domain/MailWebhooks.js"
/** @since 0.1.0 */
export * as Money from "./domain/Money.js"
/** @since 0.1.0 */
export * as Order from "./domain/Order.js"
/** @since 0.6.0 */
export * as OutboundWebhook from "./domain/OutboundWebhook.js"
/** @since 0.1.0 */
export * as Page from "./domain/Page.js"
/** @since 0.2.0 */
export * as Pipeline from "./domain/Pipeline.js"
/** @since 0.3.0 */
export * as Rule from "./domain/Rule.js"
/** @since 0.3.0 */
export * as Schedule from "./domain/Schedule.js"
/** @since 0.6.0 */
export * as ShopWebhooks from "./domain/ShopWebhooks.js"
/** @since 0.8.0 */
export * as Segment from "./domain/Segment.js"
/** @since 0.7.0 */
export * as Setup from "./domain/Setup.js"
/** @since 0.2.0 */
export * as Task from "./domain/Task.js"
/** @since 0.2.0 */
export * as Template from "./domain/Template.js"
/** @since 0.7.0 */
export * as TemplateVariables from "./domain/TemplateVariables.js"
/** @since 0.1.0 */
export * as Time from "./domain/Time.js"
/** @since 0.1.0 */
export * as TimelineEntry from "./domain/TimelineEntry.js"
/** @since 0.2.0 */
export * as Weighting from "./domain/Weighting.js"
/** @since 0.6.0 */
export * as WebhookSignature from "./domain/WebhookSignature.js"
/** @since 0.1.0 */
export * as Workspace from "./domain/Workspace.js"

// Ports
/** @since 0.3.0 */
export * as CustomActions from "./ports/CustomActions.js"
/** @since 0.1.0 */
export * as IdGenerator from "./ports/IdGenerator.js"
/** @since 0.1.0 */
export * as Mailer from "./ports/Mailer.js"
/** @since 0.1.0 */
export * as Storage from "./ports/Storage.js"

// Services
/** @since 0.6.0 */
export * as ApiKeys from "./services/ApiKeys.js"
/** @since 0.1.0 */
export * as Companies from "./services/Companies.js"
/** @since 0.3.0 */
export * as Consents from "./services/Consents.js"
/** @since 0.1.0 */
export * as Contacts from "./services/Contacts.js"
/** @since 0.2.0 */
export * as Deals from "./services/Deals.js"
/** @since 0.3.0 */
export * as Dispatcher from "./services/Dispatcher.js"
/** @since 0.1.0 */
export * as Events from "./services/Events.js"
/** @since 0.1.0 */
export * as Fields from "./services/Fields.js"
/** @since 0.6.0 */
export * as InboundWebhooks from "./services/InboundWebhooks.js"
/** @since 0.6.0 */
export * as Imports from "./services/Imports.js"
/** @since 0.8.0 */
export * as Analytics from "./services/Analytics.js"
export * as Snapshots from "./services/Snapshots.js"
/** @since 0.8.0 */
export * as Orders from "./services/Orders.js"
/** @since 0.8.0 */
export * as Campaigns from "./services/Campaigns.js"
/** @since 0.1.0 */
export * as Lifecycle from "./services/Lifecycle.js"
/** @since 0.2.0 */
export * as Pipelines from "./services/Pipelines.js"
/** @since 0.3.0 */
export * as Rules from "./services/Rules.js"
/** @since 0.7.0 */
export * as SetupService from "./services/Setup.js"
/** @since 0.8.0 */
export * as Segments from "./services/Segments.js"
/** @since 0.2.0 */
export * as Tasks from "./services/Tasks.js"
/** @since 0.2.0 */
export * as Templates from "./services/Templates.js"
/** @since 0.1.0 */
export * as Timeline from "./services/Timeline.js"
/** @since 0.6.0 */
export * as Webhooks from "./services/Webhooks.js"
/** @since 0.1.0 */
export * as Workspaces from "./services/Workspaces.js"
/** @since 0.1.0 */
export * as Crm from "./Crm.js"

// Adapters
/** @since 0.1.0 */
export * as Mailers from "./adapters/Mailers.js"

// Inputs of the Promise client (the Encoded side of each input Schema)
export type { CompanyCreate, CompanyListOptions, CompanyUpdate } from "./domain/Company.js"
export type { ContactCreate, ContactListOptions, ContactMergeOptions, ContactUpdate } from "./domain/Contact.js"
export type { EmitInput } from "./domain/CrmEvent.js"
export type { DealCreate, DealListOptions, DealTransition, DealUpdate } from "./domain/Deal.js"
export type { PipelineCreate, PipelineUpdate, SalesSettingsChanges } from "./domain/Pipeline.js"
export type { TaskCreate, TaskListOptions, TaskUpdate } from "./domain/Task.js"
export type { TemplateCreate, TemplateUpdate, TemplateVariantInput } from "./domain/Template.js"
export type { ErrorCode } from "./domain/Errors.js"
export type { ApiKeyCreate, Role } from "./domain/ApiKey.js"
export type { InboundWebhookCreate, InboundWebhookUpdate, ReceiveOptions, WebhookDelivery, WebhookMapper } from "./domain/InboundWebhook.js"
export type { VerifyInput as WebhookVerifyInput } from "./services/InboundWebhooks.js"
export type { FieldDefinitionChanges, FieldDefinitionInput, FieldEntity, FieldType } from "./domain/FieldDefinition.js"
export type { TimelineListOptions, TimelineLog } from "./domain/TimelineEntry.js"
export type { RuleCreate, RuleUpdate } from "./domain/Rule.js"
export type { AddressStatus, ConsentChange, ConsentStatus, MailFeedback, ProofInput as ConsentProofInput } from "./domain/Consent.js"
export type { ConfirmationResult, ConsentRequest, ConsentRequestResult, MailFeedbackResult } from "./services/Consents.js"
export type { Condition as ConditionJson } from "./domain/Condition.js"
export type { ErasureReport } from "./services/Consents.js"
export type { DispatchOptions, DispatchReport, JobListOptions, StartOptions } from "./services/Dispatcher.js"
export type { RuleListOptions, RuleStats, SimulateInput } from "./services/Rules.js"
export type { TemplatePreview, TemplatePreviewInput, TemplateReview } from "./services/Templates.js"
export type { WorkspaceChanges } from "./domain/Workspace.js"
export type { ContactUpsert, RemoveContactOptions } from "./services/Contacts.js"
export type { SetupDeclaration, SetupRule, SetupTemplate } from "./domain/Setup.js"
export type { RemoveFieldOptions } from "./services/Fields.js"
export type { FloorCheckOptions, FollowUpInput, ForecastOptions, SendQuoteOptions, StaleOptions, WeightedPipelineOptions } from "./services/Deals.js"
export type { TaskTransition } from "./services/Tasks.js"
export type { SubscriptionCreate as WebhookSubscriptionCreate, SubscriptionUpdate as WebhookSubscriptionUpdate } from "./domain/OutboundWebhook.js"
export type { ImportFinished, RotateSecretOptions, WebhookListOptions, WebhookSettingsService } from "./services/Webhooks.js"
export type { LifecycleConfiguration, MoveOptions } from "./services/Lifecycle.js"
export type { ImportCreate, ImportListOptions, ProgressInput as ImportProgressInput } from "./domain/ImportRun.js"
export type { MembersOptions as SegmentMembersOptions, SegmentCreate, SegmentRef, SegmentUpdate } from "./domain/Segment.js"
export type { CampaignCreate, CampaignListOptions, CampaignSend, CampaignStats } from "./domain/Campaign.js"
export type { AvatarOptions, ChannelReportOptions, FunnelOptions, RevenueReportOptions, SpendInput } from "./services/Analytics.js"
export type { PipelineHistoryOptions } from "./services/Snapshots.js"

// The Promise client
export {
  assertEffectVersion,
  checkEffectVersion,
  installedEffectVersion,
  RapportEffectVersionError,
  requiredEffect,
  type CompanyJson,
  consoleMailer,
  type ContactJson,
  createCrm,
  type CreateCrmOptions,
  type CrmClient,
  type CustomActionContextJson,
  type CustomActionHandler,
  type JobJson,
  type MergeResultJson,
  type RuleJson,
  type RunningDispatcher,
  type SimulationJson,
  type ClientMethod,
  type DealJson,
  type ClientJson,
  type DispatcherClient,
  type SetupClient,
  type ServiceClient,
  type ServicesClient,
  type FollowUpResultJson,
  type PipelineJson,
  RapportMailerError,
  type TaskJson,
  type TemplateJson,
  type EmitResultJson,
  type EventJson,
  type FieldDefinitionJson,
  type LifecycleDefinitionJson,
  type MailerLayer,
  type MailerProvider,
  MailRejected,
  type PromiseMailer,
  RapportClientClosedError,
  RapportConflictError,
  RapportError,
  RapportInternalError,
  RapportInvalidTransitionError,
  RapportNotFoundError,
  RapportStorageError,
  RapportValidationError,
  RapportAuthenticationError,
  RapportWebhookError,
  type StageChangeJson,
  type StageCount,
  type StorageProvider,
  type TimelineEntryJson,
  toJson,
  toRapportError,
  type WorkspaceJson
} from "./client/index.js"
