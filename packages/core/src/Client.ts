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
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as MemoryStorage from "./adapters/MemoryStorage.js"
import * as Mailers from "./adapters/Mailers.js"
import { Company, type CompanyCreate, type CompanyListOptions, type CompanyUpdate } from "./domain/Company.js"
import { Contact, type ContactCreate, type ContactListOptions, type ContactUpdate } from "./domain/Contact.js"
import { type EmitInput, StoredEvent } from "./domain/CrmEvent.js"
import {
  type Conflict,
  type ErrorCode,
  type InvalidTransition,
  isRapportFailure,
  type NotFound,
  type RapportFailure,
  type StorageError,
  ValidationError,
  type ValidationIssue
} from "./domain/Errors.js"
import {
  FieldDefinition,
  type FieldDefinitionChanges,
  type FieldDefinitionInput,
  type FieldEntity
} from "./domain/FieldDefinition.js"
import { WorkspaceId } from "./domain/Ids.js"
import { LifecycleDefinition } from "./domain/LifecycleDefinition.js"
import type { Page } from "./domain/Page.js"
import { StageChange, TimelineEntry, type TimelineListOptions, type TimelineLog } from "./domain/TimelineEntry.js"
import { Workspace, type WorkspaceChanges } from "./domain/Workspace.js"
import * as Crm from "./Crm.js"
import { IdGenerator, type IdGeneratorService } from "./ports/IdGenerator.js"
import type { Mailer } from "./ports/Mailer.js"
import type { Storage } from "./ports/Storage.js"
import type { RemoveContactOptions } from "./services/Contacts.js"
import { EmitResult } from "./services/Events.js"
import type { RemoveFieldOptions } from "./services/Fields.js"
import type { LifecycleConfiguration, MoveOptions } from "./services/Lifecycle.js"
import { toJson } from "./internal/json.js"
import { CurrentWorkspace } from "./services/Workspaces.js"

/**
 * A storage for {@link createCrm}: `memoryStorage()` here, `sqliteStorage()` from
 * `@rapport/sqlite`, `postgresStorage()` from `@rapport/postgres`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageProvider {
  readonly layer: Layer.Layer<Storage, StorageError>
}

/**
 * A mailer for {@link createCrm}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MailerProvider {
  readonly layer: Layer.Layer<Mailer>
}

/**
 * Storage in memory: nothing is kept when the process ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memoryStorage = (): StorageProvider => ({ layer: MemoryStorage.layer })

/**
 * A mailer that prints mails to the console.
 *
 * @since 0.1.0
 * @category constructors
 */
export const consoleMailer = (): MailerProvider => ({ layer: Mailers.consoleLayer })

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateCrmOptions {
  readonly storage: StorageProvider
  /** Where mail goes; mails are printed to the console when not given. */
  readonly mailer?: MailerProvider | undefined
  /** The workspace the client works in; `default` when not given. */
  readonly workspace?: string | undefined
  /** How ids are made; UUID v7 when not given. */
  readonly ids?: IdGeneratorService | undefined
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * What the Promise client throws when an operation fails for a reason Rapport knows. Subclasses
 * carry the details; `_tag` matches the Effect error and `code` is stable across versions.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportError extends Error {
  /** The Effect error's tag, e.g. `ValidationError`. */
  readonly _tag: RapportFailure["_tag"]
  /** A stable code, e.g. `VALIDATION_FAILED`. */
  readonly code: ErrorCode

  constructor(failure: RapportFailure) {
    super(failure.message, { cause: failure })
    this._tag = failure._tag
    this.code = failure.code
    this.name = new.target.name
  }
}

/**
 * Input did not fit; `issues` lists each failing path and why.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportValidationError extends RapportError {
  readonly issues: ReadonlyArray<ValidationIssue>
  constructor(failure: ValidationError) {
    super(failure)
    this.issues = failure.issues
  }
}

/**
 * The record does not exist in this workspace.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportNotFoundError extends RapportError {
  readonly entity: string
  readonly id: string
  constructor(failure: NotFound) {
    super(failure)
    this.entity = failure.entity
    this.id = failure.id
  }
}

/**
 * The write conflicts with stored data (stale version, value already used, record in use,
 * stored values that a new definition would reject); nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportConflictError extends RapportError {
  readonly reason: Conflict["reason"]
  readonly entity: string
  readonly field: string | undefined
  readonly existingId: string | undefined
  readonly affected: number | undefined
  constructor(failure: Conflict) {
    super(failure)
    this.reason = failure.reason
    this.entity = failure.entity
    this.field = failure.field
    this.existingId = failure.existingId
    this.affected = failure.affected
  }
}

/**
 * A lifecycle move was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportInvalidTransitionError extends RapportError {
  readonly reason: InvalidTransition["reason"]
  readonly from: string
  readonly to: string
  readonly missingFields: ReadonlyArray<string>
  constructor(failure: InvalidTransition) {
    super(failure)
    this.reason = failure.reason
    this.from = failure.from
    this.to = failure.to
    this.missingFields = failure.missingFields
  }
}

/**
 * The storage failed or could not be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class RapportStorageError extends RapportError {
  readonly reason: StorageError["reason"]
  constructor(failure: StorageError) {
    super(failure)
    this.reason = failure.reason
  }
}

/**
 * Converts an Effect failure to the error the Promise client throws.
 *
 * @since 0.1.0
 * @category errors
 */
export const toRapportError = (failure: RapportFailure): RapportError => {
  switch (failure._tag) {
    case "ValidationError":
      return new RapportValidationError(failure)
    case "NotFound":
      return new RapportNotFoundError(failure)
    case "Conflict":
      return new RapportConflictError(failure)
    case "InvalidTransition":
      return new RapportInvalidTransitionError(failure)
    case "StorageError":
      return new RapportStorageError(failure)
  }
}

const rethrow = (cause: Cause.Cause<unknown>): never => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && isRapportFailure(failure.value)) throw toRapportError(failure.value)
  throw Cause.squash(cause)
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

/** @since 0.1.0 @category models */
export type ContactJson = Schema.Schema.Encoded<typeof Contact>
/** @since 0.1.0 @category models */
export type CompanyJson = Schema.Schema.Encoded<typeof Company>
/** @since 0.1.0 @category models */
export type FieldDefinitionJson = Schema.Schema.Encoded<typeof FieldDefinition>
/** @since 0.1.0 @category models */
export type TimelineEntryJson = Schema.Schema.Encoded<typeof TimelineEntry>
/** @since 0.1.0 @category models */
export type StageChangeJson = Schema.Schema.Encoded<typeof StageChange>
/** @since 0.1.0 @category models */
export type EventJson = Schema.Schema.Encoded<typeof StoredEvent>
/** @since 0.1.0 @category models */
export type EmitResultJson = Schema.Schema.Encoded<typeof EmitResult>
/** @since 0.1.0 @category models */
export type WorkspaceJson = Schema.Schema.Encoded<typeof Workspace>
/** @since 0.1.0 @category models */
export type LifecycleDefinitionJson = Schema.Schema.Encoded<typeof LifecycleDefinition>

/**
 * Contacts per stage, in lifecycle order.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageCount {
  readonly stage: string
  readonly label: string
  readonly count: number
}

// ---------------------------------------------------------------------------------------------
// The client

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
    /** Creates a contact (email unique per workspace). */
    create(input: ContactCreate): Promise<ContactJson>
    /** Creates up to 5,000 contacts at once, all or none; issue paths start with the item's index. */
    createMany(inputs: ReadonlyArray<ContactCreate>): Promise<ReadonlyArray<ContactJson>>
    /** The contact, or a `RapportNotFoundError`. */
    get(id: string): Promise<ContactJson>
    /** `null` when no contact has this email (compared case-insensitively). */
    findByEmail(email: string): Promise<ContactJson | null>
    /** Changes a contact; `expectedVersion` is the version you read. */
    update(id: string, input: ContactUpdate): Promise<ContactJson>
    /** Deletes a contact and its timeline (its events and orders stay). */
    remove(id: string, options?: RemoveContactOptions): Promise<void>
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
    /** A stored event. */
    get(id: string): Promise<EventJson>
  }
  readonly settings: {
    /** The workspace's settings. */
    get(): Promise<WorkspaceJson>
    /** Changes the workspace's name or timezone. */
    update(changes: WorkspaceChanges): Promise<WorkspaceJson>
  }
  /** A client for another workspace, sharing this one's runtime and connections. */
  workspace(id: string): CrmClient
  /** Runs an Effect program against the same services, in this client's workspace. */
  run<A, E>(effect: Effect.Effect<A, E, Crm.Services>): Promise<A>
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
const encodePage =
  <A, I>(encode: (a: A) => I) =>
  (page: Page<A>): Page<I> => ({ items: page.items.map(encode), nextCursor: page.nextCursor })

interface Lifetime {
  closed: boolean
}

const makeClient = (
  runtime: ManagedRuntime.ManagedRuntime<Crm.Services, StorageError>,
  lifetime: Lifetime,
  workspaceId: WorkspaceId
): CrmClient => {
  const run = <A, E>(effect: Effect.Effect<A, E, Crm.Services>): Promise<A> =>
    lifetime.closed
      ? Promise.reject(new Error("This Rapport client was closed: create a new one with createCrm()"))
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
      get: (id) => crm((c) => c.events.get(id)).then(encodeEvent)
    },
    settings: {
      get: () => crm((c) => c.settings.current).then(encodeWorkspace),
      update: (changes) => crm((c) => c.settings.update(changes)).then(encodeWorkspace)
    },
    workspace: (id) => makeClient(runtime, lifetime, parseWorkspaceId(id)),
    run,
    close: () => {
      lifetime.closed = true
      return runtime.dispose()
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
    options.ids === undefined ? Layer.empty : Layer.succeed(IdGenerator, options.ids)
  ).pipe(Layer.provide(options.storage.layer))
  const runtime = ManagedRuntime.make(layer)
  const started = await runtime.runPromiseExit(Effect.void)
  if (Exit.isFailure(started)) {
    await runtime.dispose()
    rethrow(started.cause)
  }
  return makeClient(runtime, { closed: false }, workspaceId)
}
