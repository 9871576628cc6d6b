/**
 * The Promise client, for apps that do not use Effect: the same services, run by a
 * `ManagedRuntime`. Results are plain JSON (instants are ISO-8601 UTC strings), ready to send
 * over HTTP. Failures are thrown as {@link RapportError} subclasses that keep the Effect error's
 * `_tag` and a stable `code`.
 *
 * @example
 * ```ts
 * import { createCrm } from "@rapport/core"
 * import { sqliteStorage } from "@rapport/sqlite"
 *
 * const crm = await createCrm({ storage: sqliteStorage({ filename: "crm.db" }) })
 * const ada = await crm.contacts.create({ email: "ada@example.com", source: { channel: "trade-show" } })
 * await crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines } })
 * await crm.close()
 * ```
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Company, type CompanyCreate, type CompanyListOptions, type CompanyUpdate } from "../domain/Company.js"
import { Contact, type ContactCreate, type ContactListOptions, type ContactMergeOptions, type ContactUpdate } from "../domain/Contact.js"
import type { ConsentChange, ConsentStatus } from "../domain/Consent.js"
import { type EmitInput, StoredEvent } from "../domain/CrmEvent.js"
import { Deal, type DealCreate, type DealListOptions, type DealTransition, type DealUpdate } from "../domain/Deal.js"
import { type StorageError, ValidationError } from "../domain/Errors.js"
import { FieldDefinition, type FieldDefinitionChanges, type FieldDefinitionInput, type FieldEntity } from "../domain/FieldDefinition.js"
import { WorkspaceId } from "../domain/Ids.js"
import { Job } from "../domain/Job.js"
import { LifecycleDefinition } from "../domain/LifecycleDefinition.js"
import type { Page } from "../domain/Page.js"
import { Pipeline, type PipelineCreate, type PipelineUpdate, type SalesSettings, type SalesSettingsChanges } from "../domain/Pipeline.js"
import { Rule, type RuleCreate, type RuleUpdate } from "../domain/Rule.js"
import { Task, type TaskCreate, type TaskListOptions, type TaskUpdate } from "../domain/Task.js"
import { Template, type TemplateCreate, type TemplateUpdate } from "../domain/Template.js"
import { StageChange, TimelineEntry, type TimelineListOptions, type TimelineLog } from "../domain/TimelineEntry.js"
import type { Forecast, WeightedPipeline } from "../domain/Weighting.js"
import { Workspace, type WorkspaceChanges } from "../domain/Workspace.js"
import * as Crm from "../Crm.js"
import { dispatchSettings } from "../internal/dispatchOptions.js"
import { toJson } from "../internal/json.js"
import { CustomActions } from "../ports/CustomActions.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { MailSettings } from "../ports/Mailer.js"
import type { Storage } from "../ports/Storage.js"
import type { ErasureReport } from "../services/Consents.js"
import { MergeResult, type RemoveContactOptions } from "../services/Contacts.js"
import type {
  FloorCheckOptions,
  FloorCheckResult,
  FollowUpInput,
  ForecastOptions,
  SendQuoteOptions,
  StaleOptions,
  WeightedPipelineOptions
} from "../services/Deals.js"
import type { DispatchOptions, DispatchReport, JobListOptions, StartOptions } from "../services/Dispatcher.js"
import { EmitResult } from "../services/Events.js"
import type { RemoveFieldOptions } from "../services/Fields.js"
import type { LifecycleConfiguration, MoveOptions } from "../services/Lifecycle.js"
import type { RuleListOptions, RuleStats, SimulateInput } from "../services/Rules.js"
import type { TaskTransition } from "../services/Tasks.js"
import type { TemplateReview } from "../services/Templates.js"
import { CurrentWorkspace } from "../services/Workspaces.js"
import { RapportClientClosedError, RapportValidationError, rethrow } from "./errors.js"
import type {
  CompanyJson,
  ContactJson,
  DealJson,
  EmitResultJson,
  EventJson,
  FieldDefinitionJson,
  FollowUpResultJson,
  JobJson,
  LifecycleDefinitionJson,
  MergeResultJson,
  PipelineJson,
  RuleJson,
  SimulationJson,
  StageChangeJson,
  StageCount,
  TaskJson,
  TemplateJson,
  TimelineEntryJson,
  WorkspaceJson
} from "./json.js"
import { consoleMailer, type CreateCrmOptions, customActions } from "./providers.js"

/**
 * A background dispatcher started by `dispatcher.start()`.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunningDispatcher {
  /** Stops it after the job it is running (jobs it claimed and did not run are claimed again later). */
  stop(): Promise<void>
}

/**
 * The Promise client. Every namespace mirrors an Effect service of the same name.
 *
 * @since 0.1.0
 * @category models
 */
export interface CrmClient {
  /** The workspace this client works in. */
  readonly workspaceId: string
  readonly contacts: {
    /**
     * Creates a contact. It may have several labelled emails and phones (`emails`, `phones`, since
     * 0.4.0; `email` and `phone` are the primary ones, first of their lists); no email, primary or
     * not, may be another contact's in the workspace (`ALREADY_EXISTS`).
     */
    create(input: ContactCreate): Promise<ContactJson>
    /** Creates up to 5,000 contacts at once, all or none; issue paths start with the item's index. */
    createMany(inputs: ReadonlyArray<ContactCreate>): Promise<ReadonlyArray<ContactJson>>
    /** The contact, or a `RapportNotFoundError`. */
    get(id: string): Promise<ContactJson>
    /** `null` when no contact has this email, primary or not (compared case-insensitively). */
    findByEmail(email: string): Promise<ContactJson | null>
    /**
     * Changes a contact; `expectedVersion` is the version you read. `email` alone replaces the
     * primary address (the others stay), `emails` replaces the list; the same for `phone`, `phones`.
     */
    update(id: string, input: ContactUpdate): Promise<ContactJson>
    /** Deletes a contact and its timeline (its events and orders stay). */
    remove(id: string, options?: RemoveContactOptions): Promise<void>
    /**
     * Merges a duplicate (`mergeId`) into the contact kept (`keepId`): the kept contact gains the
     * other's timeline, deals, tasks, orders, events, rule jobs, consents, tags, emails and phones, and the attributes
     * and custom fields it has none of (its own values win); the merge is on its timeline with
     * everything not taken; the duplicate is removed. `expectedVersion` is the kept contact's
     * version you read.
     *
     * @since 0.3.0
     */
    merge(keepId: string, mergeId: string, options?: ContactMergeOptions): Promise<MergeResultJson>
    /** Contacts in creation order, a page at a time, optionally filtered. */
    list(options?: ContactListOptions): Promise<Page<ContactJson>>
    /** How many contacts are in each stage, in lifecycle order. */
    countByStage(): Promise<ReadonlyArray<StageCount>>
  }
  readonly companies: {
    /** Creates a company. */
    create(input: CompanyCreate): Promise<CompanyJson>
    /** The company, or a `RapportNotFoundError`. */
    get(id: string): Promise<CompanyJson>
    /** Changes a company; `expectedVersion` is the version you read. */
    update(id: string, input: CompanyUpdate): Promise<CompanyJson>
    /** Deletes a company that no contact belongs to. */
    remove(id: string): Promise<void>
    /** Companies in creation order, a page at a time. */
    list(options?: CompanyListOptions): Promise<Page<CompanyJson>>
  }
  readonly fields: {
    /** Defines a custom field. */
    define(input: FieldDefinitionInput): Promise<FieldDefinitionJson>
    /** Changes a definition; refused if stored values would not fit. */
    update(entity: FieldEntity, key: string, changes: FieldDefinitionChanges): Promise<FieldDefinitionJson>
    /** Removes a definition (with `purgeValues`, also the values records hold). */
    remove(entity: FieldEntity, key: string, options?: RemoveFieldOptions): Promise<void>
    /** One definition. */
    get(entity: FieldEntity, key: string): Promise<FieldDefinitionJson>
    /** The definitions, of one entity when given. */
    list(entity?: FieldEntity): Promise<ReadonlyArray<FieldDefinitionJson>>
  }
  readonly lifecycle: {
    /** The workspace's lifecycle. */
    definition(): Promise<LifecycleDefinitionJson>
    /** Replaces the lifecycle (a preset by name, or a definition). */
    configure(configuration: LifecycleConfiguration): Promise<LifecycleDefinitionJson>
    /** Moves a contact by hand, with a reason. */
    move(contactId: string, stage: string, options: MoveOptions): Promise<ContactJson>
    /** A contact's stage changes, oldest first. */
    history(contactId: string): Promise<ReadonlyArray<StageChangeJson>>
  }
  readonly timeline: {
    /** Records an interaction on a contact's timeline. */
    log(input: TimelineLog): Promise<TimelineEntryJson>
    /** A contact's timeline, newest first. */
    list(contactId: string, options?: TimelineListOptions): Promise<Page<TimelineEntryJson>>
    /** Entries of every contact of the workspace, newest first. */
    feed(options?: TimelineListOptions): Promise<Page<TimelineEntryJson>>
  }
  readonly events: {
    /** Emits an event (once per id). */
    emit(input: EmitInput): Promise<EmitResultJson>
    /** Emits up to 1,000 events in one transaction, with the same results as one by one (each once per id). */
    emitMany(inputs: ReadonlyArray<EmitInput>): Promise<ReadonlyArray<EmitResultJson>>
    /** A stored event. */
    get(id: string): Promise<EventJson>
  }
  readonly settings: {
    /** The workspace's settings. */
    get(): Promise<WorkspaceJson>
    /** Changes the workspace's name or timezone. */
    update(changes: WorkspaceChanges): Promise<WorkspaceJson>
  }
  readonly pipelines: {
    /** Creates a pipeline (the default stages unless `stages` is given). */
    create(input: PipelineCreate): Promise<PipelineJson>
    /** The pipeline, or a `RapportNotFoundError`. */
    get(id: string): Promise<PipelineJson>
    /** The workspace's pipelines in order; the first is the default. */
    list(): Promise<ReadonlyArray<PipelineJson>>
    /** Renames, re-weights, reorders or extends a pipeline; its deals follow new probabilities. */
    update(id: string, input: PipelineUpdate): Promise<PipelineJson>
    /** Deletes a pipeline that holds no deal. */
    remove(id: string): Promise<void>
    /** The workspace's floor, cold probability and stale threshold. */
    settings(): Promise<SalesSettings>
    /** Changes the workspace's floor, cold probability or stale threshold. */
    configure(changes: SalesSettingsChanges): Promise<SalesSettings>
  }
  readonly deals: {
    /** Creates a deal (quote). */
    create(input: DealCreate): Promise<DealJson>
    /** The deal, or a `RapportNotFoundError`. */
    get(id: string): Promise<DealJson>
    /** Changes a deal; `expectedVersion` is the version you read. */
    update(id: string, input: DealUpdate): Promise<DealJson>
    /** Moves a deal to a stage of its pipeline (or of `options.pipelineId`). */
    move(id: string, stage: string, options?: DealTransition & { readonly pipelineId?: string }): Promise<DealJson>
    /** Marks a deal won. */
    win(id: string, options?: DealTransition): Promise<DealJson>
    /** Marks a deal lost, with `reason`. */
    lose(id: string, options?: DealTransition): Promise<DealJson>
    /** Marks a deal cold. */
    markCold(id: string, options?: DealTransition): Promise<DealJson>
    /** Deletes a deal. */
    remove(id: string): Promise<void>
    /** Deals in creation order, filtered, a page at a time. */
    list(options?: DealListOptions): Promise<Page<DealJson>>
    /** Records that the quote was sent (emits `quote.sent`). */
    sendQuote(id: string, options?: SendQuoteOptions): Promise<{ readonly deal: DealJson; readonly event: EmitResultJson }>
    /** Records a follow-up, sends its templated mail, schedules the next one. */
    followUp(id: string, input: FollowUpInput): Promise<FollowUpResultJson>
    /** Weighted totals per group and overall. */
    weightedPipeline(options?: WeightedPipelineOptions): Promise<WeightedPipeline>
    /** Open deals' weighted value per expected-close month. */
    forecast(options?: ForecastOptions): Promise<Forecast>
    /** Whether the weighted total is below the floor, and by how much. */
    floorCheck(options?: FloorCheckOptions): Promise<FloorCheckResult>
    /** Open deals idle for longer than their stage allows, stalest first. */
    stale(options?: StaleOptions): Promise<Page<{ readonly deal: DealJson; readonly idleDays: number }>>
  }
  readonly tasks: {
    /** Creates a task. */
    create(input: TaskCreate): Promise<TaskJson>
    /** The task, or a `RapportNotFoundError`. */
    get(id: string): Promise<TaskJson>
    /** Changes a task. */
    update(id: string, input: TaskUpdate): Promise<TaskJson>
    /** Marks a task done. */
    complete(id: string, options?: TaskTransition): Promise<TaskJson>
    /** Opens a done task again. */
    reopen(id: string, options?: TaskTransition): Promise<TaskJson>
    /** Tasks soonest due first: overdue, due today, by owner, of a contact or deal. */
    list(options?: TaskListOptions): Promise<Page<TaskJson>>
  }
  readonly templates: {
    /** Saves an email template (placeholders are checked). */
    create(input: TemplateCreate): Promise<TemplateJson>
    /** The template, or a `RapportNotFoundError`. */
    get(id: string): Promise<TemplateJson>
    /** Changes a template. */
    update(id: string, input: TemplateUpdate): Promise<TemplateJson>
    /** Deletes a template (refused while a rule sends it). */
    remove(id: string): Promise<void>
    /** The workspace's templates by name. */
    list(): Promise<ReadonlyArray<TemplateJson>>
    /** Checks a template without saving it: issues that would stop a save, and spam warnings. */
    check(input: TemplateCreate): Promise<TemplateReview>
  }
  readonly rules: {
    /** Saves a rule (checked against the workspace's fields, stages, templates and actions). */
    create(input: RuleCreate): Promise<RuleJson>
    /** The rule, or a `RapportNotFoundError`. */
    get(id: string): Promise<RuleJson>
    /** Changes a rule; `expectedVersion` is the version you read. */
    update(id: string, input: RuleUpdate): Promise<RuleJson>
    /** Turns a rule on. */
    enable(id: string): Promise<RuleJson>
    /** Turns a rule off (its queued checks are skipped). */
    disable(id: string): Promise<RuleJson>
    /** Deletes a rule. */
    remove(id: string): Promise<void>
    /** The rules, optionally of one event type or state. */
    list(options?: RuleListOptions): Promise<ReadonlyArray<RuleJson>>
    /** Fired, sent and converted, per A/B variant. */
    stats(id: string): Promise<RuleStats>
    /** What the rules would do with an event, and why, without doing it. */
    simulate(input: SimulateInput): Promise<SimulationJson>
  }
  readonly dispatcher: {
    /**
     * Runs every job due now (for cron jobs and serverless functions): this client's workspace's,
     * or with `workspaces: "all"` every workspace's.
     */
    runDue(options?: DispatchOptions): Promise<DispatchReport>
    /** Runs due jobs in the background until `stop()` or `close()` (same `workspaces` option). */
    start(options?: StartOptions): RunningDispatcher
    /** When the next job falls due (ISO instant), or `null` when nothing waits. */
    nextDue(options?: Pick<DispatchOptions, "workspaces">): Promise<string | null>
    /** The workspace's jobs by due time: pending, running, done, skipped or dead. */
    jobs(options?: JobListOptions): Promise<Page<JobJson>>
    /** Queues a dead or skipped job again. */
    retry(jobId: string): Promise<JobJson>
  }
  readonly consent: {
    /** Records consent to marketing mail (of `purpose`, `marketing` by default). */
    grant(contactId: string, change?: ConsentChange): Promise<ConsentStatus>
    /** Records that consent was withdrawn. */
    withdraw(contactId: string, change?: ConsentChange): Promise<ConsentStatus>
    /** The contact's consent per purpose. */
    status(contactId: string): Promise<ConsentStatus>
    /** The contact's signed unsubscribe link. */
    unsubscribeUrl(contactId: string): Promise<string>
    /** Unsubscribes the contact a link's token names (in the token's workspace). */
    unsubscribe(token: string): Promise<{ readonly workspaceId: string; readonly contactId: string; readonly status: ConsentStatus }>
    /** Everything held about the contact, as JSON (GDPR access). */
    export(contactId: string): Promise<Readonly<Record<string, unknown>>>
    /** Removes the contact's personal data everywhere (GDPR erasure). */
    erase(contactId: string): Promise<ErasureReport>
  }
  /** A client for another workspace, sharing this one's runtime and connections. */
  workspace(id: string): CrmClient
  /**
   * Runs an Effect program against the same services and storage, in this client's workspace
   * (integrations such as `@rapport/importers` run through it).
   */
  run<A, E>(effect: Effect.Effect<A, E, Crm.Services | Storage>): Promise<A>
  /**
   * Releases the storage (closes database connections). Clients made with `workspace(id)` share
   * it: after `close()`, every call of any of them rejects.
   */
  close(): Promise<void>
}

// Typed by each entity's Schema; see internal/json.ts for why this is not Schema.encode.
const encoder =
  <A, I>(_schema: Schema.Schema<A, I>) =>
  (value: A): I =>
    toJson(value) as I
const encodeContact = encoder(Contact)
const encodeCompany = encoder(Company)
const encodeField = encoder(FieldDefinition)
const encodeEntry = encoder(TimelineEntry)
const encodeStageChange = encoder(StageChange)
const encodeEvent = encoder(StoredEvent)
const encodeEmitResult = encoder(EmitResult)
const encodeWorkspace = encoder(Workspace)
const encodeLifecycle = encoder(LifecycleDefinition)
const encodePipeline = encoder(Pipeline)
const encodeDeal = encoder(Deal)
const encodeTask = encoder(Task)
const encodeTemplate = encoder(Template)
const asJson = <A>(value: unknown): A => toJson(value) as A
const encodePage =
  <A, I>(encode: (a: A) => I) =>
  (page: Page<A>): Page<I> => ({ items: page.items.map(encode), nextCursor: page.nextCursor })

const encodeRule = encoder(Rule)
const encodeJob = encoder(Job)
const encodeMergeResult = encoder(MergeResult)

interface Lifetime {
  closed: boolean
  readonly dispatchers: Set<Fiber.RuntimeFiber<unknown, unknown>>
}

const makeClient = (
  runtime: ManagedRuntime.ManagedRuntime<Crm.Services | Storage, StorageError>,
  lifetime: Lifetime,
  workspaceId: WorkspaceId
): CrmClient => {
  const run = <A, E>(effect: Effect.Effect<A, E, Crm.Services | Storage>): Promise<A> =>
    lifetime.closed
      ? Promise.reject(new RapportClientClosedError())
      : runtime
          .runPromiseExit(Effect.provideService(effect, CurrentWorkspace, workspaceId))
          .then(Exit.match({ onFailure: rethrow, onSuccess: (a) => a }))
  const crm = <A, E>(f: (services: Crm.Crm) => Effect.Effect<A, E>): Promise<A> => run(Effect.flatMap(Crm.Crm, f))

  return {
    workspaceId,
    contacts: {
      create: (input) => crm((c) => c.contacts.create(input)).then(encodeContact),
      createMany: (inputs) => crm((c) => c.contacts.createMany(inputs)).then((contacts) => contacts.map((c) => encodeContact(c))),
      get: (id) => crm((c) => c.contacts.get(id)).then(encodeContact),
      findByEmail: (email) => crm((c) => c.contacts.findByEmail(email)).then((o) => Option.getOrNull(Option.map(o, encodeContact))),
      update: (id, input) => crm((c) => c.contacts.update(id, input)).then(encodeContact),
      remove: (id, options) => crm((c) => c.contacts.remove(id, options)),
      merge: (keepId, mergeId, options) => crm((c) => c.contacts.merge(keepId, mergeId, options)).then(encodeMergeResult),
      list: (options) => crm((c) => c.contacts.list(options)).then(encodePage(encodeContact)),
      countByStage: () => crm((c) => c.contacts.countByStage())
    },
    companies: {
      create: (input) => crm((c) => c.companies.create(input)).then(encodeCompany),
      get: (id) => crm((c) => c.companies.get(id)).then(encodeCompany),
      update: (id, input) => crm((c) => c.companies.update(id, input)).then(encodeCompany),
      remove: (id) => crm((c) => c.companies.remove(id)),
      list: (options) => crm((c) => c.companies.list(options)).then(encodePage(encodeCompany))
    },
    fields: {
      define: (input) => crm((c) => c.fields.define(input)).then(encodeField),
      update: (entity, key, changes) => crm((c) => c.fields.update(entity, key, changes)).then(encodeField),
      remove: (entity, key, options) => crm((c) => c.fields.remove(entity, key, options)),
      get: (entity, key) => crm((c) => c.fields.get(entity, key)).then(encodeField),
      list: (entity) => crm((c) => c.fields.list(entity)).then((defs) => defs.map((d) => encodeField(d)))
    },
    lifecycle: {
      definition: () => crm((c) => c.lifecycle.definition).then(encodeLifecycle),
      configure: (configuration) => crm((c) => c.lifecycle.configure(configuration)).then(encodeLifecycle),
      move: (contactId, stage, options) => crm((c) => c.lifecycle.move(contactId, stage, options)).then(encodeContact),
      history: (contactId) => crm((c) => c.lifecycle.history(contactId)).then((changes) => changes.map((c) => encodeStageChange(c)))
    },
    timeline: {
      log: (input) => crm((c) => c.timeline.log(input)).then(encodeEntry),
      list: (contactId, options) => crm((c) => c.timeline.list(contactId, options)).then(encodePage(encodeEntry)),
      feed: (options) => crm((c) => c.timeline.feed(options)).then(encodePage(encodeEntry))
    },
    events: {
      emit: (input) => crm((c) => c.events.emit(input)).then(encodeEmitResult),
      emitMany: (inputs) => crm((c) => c.events.emitMany(inputs)).then((results) => results.map((r) => encodeEmitResult(r))),
      get: (id) => crm((c) => c.events.get(id)).then(encodeEvent)
    },
    settings: {
      get: () => crm((c) => c.settings.current).then(encodeWorkspace),
      update: (changes) => crm((c) => c.settings.update(changes)).then(encodeWorkspace)
    },
    pipelines: {
      create: (input) => crm((c) => c.pipelines.create(input)).then(encodePipeline),
      get: (id) => crm((c) => c.pipelines.get(id)).then(encodePipeline),
      list: () => crm((c) => c.pipelines.list()).then((ps) => ps.map((p) => encodePipeline(p))),
      update: (id, input) => crm((c) => c.pipelines.update(id, input)).then(encodePipeline),
      remove: (id) => crm((c) => c.pipelines.remove(id)),
      settings: () => crm((c) => c.pipelines.settings).then(asJson<SalesSettings>),
      configure: (changes) => crm((c) => c.pipelines.configure(changes)).then(asJson<SalesSettings>)
    },
    deals: {
      create: (input) => crm((c) => c.deals.create(input)).then(encodeDeal),
      get: (id) => crm((c) => c.deals.get(id)).then(encodeDeal),
      update: (id, input) => crm((c) => c.deals.update(id, input)).then(encodeDeal),
      move: (id, stage, options) => crm((c) => c.deals.move(id, stage, options)).then(encodeDeal),
      win: (id, options) => crm((c) => c.deals.win(id, options)).then(encodeDeal),
      lose: (id, options) => crm((c) => c.deals.lose(id, options)).then(encodeDeal),
      markCold: (id, options) => crm((c) => c.deals.markCold(id, options)).then(encodeDeal),
      remove: (id) => crm((c) => c.deals.remove(id)),
      list: (options) => crm((c) => c.deals.list(options)).then(encodePage(encodeDeal)),
      sendQuote: (id, options) => crm((c) => c.deals.sendQuote(id, options)).then((r) => ({ deal: encodeDeal(r.deal), event: encodeEmitResult(r.event) })),
      followUp: (id, input) => crm((c) => c.deals.followUp(id, input)).then(asJson<FollowUpResultJson>),
      weightedPipeline: (options) => crm((c) => c.deals.weightedPipeline(options)).then(asJson<WeightedPipeline>),
      forecast: (options) => crm((c) => c.deals.forecast(options)).then(asJson<Forecast>),
      floorCheck: (options) => crm((c) => c.deals.floorCheck(options)).then(asJson<FloorCheckResult>),
      stale: (options) => crm((c) => c.deals.stale(options)).then(asJson<Page<{ readonly deal: DealJson; readonly idleDays: number }>>)
    },
    tasks: {
      create: (input) => crm((c) => c.tasks.create(input)).then(encodeTask),
      get: (id) => crm((c) => c.tasks.get(id)).then(encodeTask),
      update: (id, input) => crm((c) => c.tasks.update(id, input)).then(encodeTask),
      complete: (id, options) => crm((c) => c.tasks.complete(id, options)).then(encodeTask),
      reopen: (id, options) => crm((c) => c.tasks.reopen(id, options)).then(encodeTask),
      list: (options) => crm((c) => c.tasks.list(options)).then(encodePage(encodeTask))
    },
    templates: {
      create: (input) => crm((c) => c.templates.create(input)).then(encodeTemplate),
      get: (id) => crm((c) => c.templates.get(id)).then(encodeTemplate),
      update: (id, input) => crm((c) => c.templates.update(id, input)).then(encodeTemplate),
      remove: (id) => crm((c) => c.templates.remove(id)),
      list: () => crm((c) => c.templates.list()).then((ts) => ts.map((t) => encodeTemplate(t))),
      check: (input) => crm((c) => c.templates.check(input))
    },
    rules: {
      create: (input) => crm((c) => c.rules.create(input)).then(encodeRule),
      get: (id) => crm((c) => c.rules.get(id)).then(encodeRule),
      update: (id, input) => crm((c) => c.rules.update(id, input)).then(encodeRule),
      enable: (id) => crm((c) => c.rules.enable(id)).then(encodeRule),
      disable: (id) => crm((c) => c.rules.disable(id)).then(encodeRule),
      remove: (id) => crm((c) => c.rules.remove(id)),
      list: (options) => crm((c) => c.rules.list(options)).then((rules) => rules.map((r) => encodeRule(r))),
      stats: (id) => crm((c) => c.rules.stats(id)),
      simulate: (input) => crm((c) => c.rules.simulate(input)).then(asJson<SimulationJson>)
    },
    dispatcher: {
      runDue: (options) => crm((c) => c.dispatcher.runDue(options)),
      start: (options) => {
        if (lifetime.closed) throw new RapportClientClosedError()
        // Checked here, not in the forked fiber, so that bad options throw instead of stopping it silently.
        const settings = dispatchSettings(options, true)
        if (settings instanceof ValidationError) throw new RapportValidationError(settings)
        if (settings.workspaces !== undefined && settings.workspaces !== "all" && !Schema.is(Schema.Array(WorkspaceId))(settings.workspaces)) {
          throw new RapportValidationError(ValidationError.at(["workspaces"], 'must be "all" or a list of workspace ids'))
        }
        const fiber = runtime.runFork(
          Effect.provideService(Effect.flatMap(Crm.Crm, (c) => Effect.scoped(Effect.zipRight(c.dispatcher.start(options), Effect.never))), CurrentWorkspace, workspaceId)
        )
        lifetime.dispatchers.add(fiber)
        return {
          stop: async () => {
            lifetime.dispatchers.delete(fiber)
            await runtime.runPromise(Fiber.interrupt(fiber))
          }
        }
      },
      nextDue: (options) => crm((c) => c.dispatcher.nextDue(options)).then((next) => (Option.isSome(next) ? DateTime.formatIso(next.value) : null)),
      jobs: (options) => crm((c) => c.dispatcher.jobs(options)).then(encodePage(encodeJob)),
      retry: (id) => crm((c) => c.dispatcher.retry(id)).then(encodeJob)
    },
    consent: {
      grant: (id, change) => crm((c) => c.consent.grant(id, change)),
      withdraw: (id, change) => crm((c) => c.consent.withdraw(id, change)),
      status: (id) => crm((c) => c.consent.status(id)),
      unsubscribeUrl: (id) => crm((c) => c.consent.unsubscribeUrl(id)),
      unsubscribe: (token) => crm((c) => c.consent.unsubscribe(token)),
      export: (id) => crm((c) => c.consent.export(id)),
      erase: (id) => crm((c) => c.consent.erase(id))
    },
    workspace: (id) => makeClient(runtime, lifetime, parseWorkspaceId(id)),
    run,
    close: async () => {
      lifetime.closed = true
      const running = [...lifetime.dispatchers]
      lifetime.dispatchers.clear()
      if (running.length > 0) await runtime.runPromise(Fiber.interruptAll(running))
      await runtime.dispose()
    }
  }
}

const parseWorkspaceId = (id: string): WorkspaceId => {
  if (Schema.is(WorkspaceId)(id)) return id
  throw new RapportValidationError(
    ValidationError.at(["workspace"], `must be 1-64 letters, digits or . _ : - starting with a letter or digit, got ${JSON.stringify(id)}`)
  )
}

/**
 * Starts a CRM on the given storage (opening the database and applying migrations) and returns
 * the Promise client. Call `close()` when done.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createCrm = async (options: CreateCrmOptions): Promise<CrmClient> => {
  const workspaceId = parseWorkspaceId(options.workspace ?? "default")
  const layer = Layer.mergeAll(
    Crm.layer,
    (options.mailer ?? consoleMailer()).layer,
    options.ids === undefined ? Layer.empty : Layer.succeed(IdGenerator, options.ids),
    options.mail === undefined ? Layer.empty : Layer.succeed(MailSettings, options.mail),
    options.actions === undefined ? Layer.empty : Layer.succeed(CustomActions, customActions(options.actions)),
    options.clock === undefined ? Layer.empty : Layer.setClock(options.clock)
  ).pipe(Layer.provideMerge(options.storage.layer))
  const runtime = ManagedRuntime.make(layer)
  const started = await runtime.runPromiseExit(Effect.void)
  if (Exit.isFailure(started)) {
    await runtime.dispose()
    rethrow(started.cause)
  }
  return makeClient(runtime, { closed: false, dispatchers: new Set() }, workspaceId)
}

