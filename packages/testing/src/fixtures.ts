/**
 * Builders of valid domain records and fresh workspace ids, for adapter tests and for apps that
 * test their own code against Rapport.
 *
 * @since 0.1.0
 */
import { Company, Consent, Contact, CrmEvent, Deal, Email, FieldDefinition, Ids, Job, LifecycleDefinition, Money, Order, Pipeline, Rule, Task, Time, TimelineEntry, Workspace } from "@rapport/core"
import { IdGenerator } from "@rapport/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { randomUUID } from "node:crypto"

const ids = IdGenerator.makeUuidV7()

/**
 * A workspace id no other test uses: tests keep apart by data, not by teardown.
 *
 * @since 0.1.0
 * @category constructors
 */
export const freshWorkspaceId = (): Ids.WorkspaceId => Ids.WorkspaceId.make(`t_${randomUUID()}`)

/**
 * A normalised email (throws on an invalid one: fixtures are written by hand).
 *
 * @since 0.1.0
 * @category constructors
 */
export const email = (raw: string): Email.Email => Email.Email.make(Either.getOrThrow(Email.normalize(raw)))

/**
 * An instant from an ISO string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const instant = (iso: string): DateTime.Utc => DateTime.unsafeMake(iso)

const epoch = instant("2025-01-01T00:00:00.000Z")
const EUR = Money.Currency.make("EUR")

/**
 * @since 0.1.0
 * @category constructors
 */
export const workspace = (id: Ids.WorkspaceId, overrides: Partial<Workspace.Workspace> = {}): Workspace.Workspace =>
  new Workspace.Workspace({
    id,
    name: `Workspace ${id}`,
    timezone: Time.Timezone.make("Europe/Paris"),
    lifecycle: LifecycleDefinition.classic,
    sales: Pipeline.defaultSalesSettings,
    messaging: Workspace.defaultMessagingSettings,
    country: null,
    version: 1,
    createdAt: epoch,
    updatedAt: epoch,
    ...overrides
  })

/**
 * A contact with a new id; override any attribute. Without `emails` (or `phones`), the list holds
 * the `email` (or `phone`) given, if any.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contact = (workspaceId: Ids.WorkspaceId, overrides: Partial<Contact.Contact> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Contact.Contact({
        emails: overrides.email == null ? [] : [{ value: overrides.email, label: null }],
        phones: overrides.phone == null ? [] : [{ value: overrides.phone, label: null }],
        id: Ids.ContactId.make(id),
        workspaceId,
        email: null,
        firstName: "Test",
        lastName: "Contact",
        phone: null,
        companyId: null,
        source: { channel: "test", campaign: null },
        firstSeenAt: epoch,
        stage: LifecycleDefinition.StageKey.make("suspect"),
        tags: [],
        ownerId: null,
        score: 0,
        timezone: null,
        fields: {},
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * A company with a new id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const company = (workspaceId: Ids.WorkspaceId, overrides: Partial<Company.Company> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Company.Company({
        id: Ids.CompanyId.make(id),
        workspaceId,
        name: "Test company",
        domain: null,
        phone: null,
        tags: [],
        ownerId: null,
        fields: {},
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * A custom field definition of the contact entity.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fieldDefinition = (workspaceId: Ids.WorkspaceId, key: string, overrides: Partial<FieldDefinition.FieldDefinition> = {}) =>
  new FieldDefinition.FieldDefinition({
    workspaceId,
    entity: "contact",
    key: FieldDefinition.FieldKey.make(key),
    label: key,
    type: "text",
    options: [],
    required: "never",
    unique: false,
    description: null,
    position: 0,
    version: 1,
    createdAt: epoch,
    updatedAt: epoch,
    ...overrides
  })

/**
 * A timeline entry with a new id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const timelineEntry = (workspaceId: Ids.WorkspaceId, contactId: Ids.ContactId, overrides: Partial<TimelineEntry.TimelineEntry> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new TimelineEntry.TimelineEntry({
        id: Ids.TimelineEntryId.make(id),
        workspaceId,
        contactId,
        kind: "note",
        occurredAt: epoch,
        recordedAt: epoch,
        author: null,
        channel: null,
        direction: null,
        summary: "A note",
        reaction: null,
        payload: {},
        eventId: null,
        ...overrides
      })
  )

/**
 * A stored event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const storedEvent = (workspaceId: Ids.WorkspaceId, contactId: Ids.ContactId, id: string, overrides: Partial<CrmEvent.StoredEvent> = {}) =>
  new CrmEvent.StoredEvent({
    id: Ids.EventId.make(id),
    workspaceId,
    type: "page.viewed",
    contactId,
    occurredAt: epoch,
    receivedAt: epoch,
    payload: { url: "/" },
    ...overrides
  })

/**
 * An order of one or more lines in EUR.
 *
 * @since 0.1.0
 * @category constructors
 */
export const order = (workspaceId: Ids.WorkspaceId, contactId: Ids.ContactId, id: string, overrides: Partial<Order.Order> = {}) =>
  new Order.Order({
    id: Ids.OrderId.make(id),
    workspaceId,
    contactId,
    eventId: Ids.EventId.make(`event-${id}`),
    placedAt: epoch,
    currency: EUR,
    totalMinor: 2 * 4990 + 1500,
    lines: [
      { sku: "SHOE-RED-42", name: "Red shoe", quantity: 2, unitPrice: { amountMinor: 4990, currency: EUR }, unitCost: { amountMinor: 2100, currency: EUR } },
      { sku: "SOCKS", name: "Socks", quantity: 1, unitPrice: { amountMinor: 1500, currency: EUR } }
    ],
    ...overrides
  })

/**
 * A pipeline with the default stages.
 *
 * @since 0.2.0
 * @category constructors
 */
export const pipeline = (workspaceId: Ids.WorkspaceId, overrides: Partial<Pipeline.Pipeline> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Pipeline.Pipeline({
        id: Ids.PipelineId.make(id),
        workspaceId,
        name: "Sales",
        stages: Pipeline.defaultStages,
        floor: null,
        position: 0,
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * An open deal of 1,000.00 EUR in the `demo` stage (40%) of a pipeline, for a company.
 *
 * @since 0.2.0
 * @category constructors
 */
export const deal = (workspaceId: Ids.WorkspaceId, pipelineId: Ids.PipelineId, overrides: Partial<Deal.Deal> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Deal.Deal({
        id: Ids.DealId.make(id),
        workspaceId,
        pipelineId,
        stage: LifecycleDefinition.StageKey.make("demo"),
        title: "Test deal",
        amount: { amountMinor: 100_000, currency: Money.Currency.make("EUR") },
        contactId: null,
        companyId: Ids.CompanyId.make(id),
        status: "open",
        stageProbability: 40,
        override: null,
        expectedCloseDate: null,
        ownerId: null,
        quoteRef: null,
        closeReason: null,
        fields: {},
        lastActivityAt: epoch,
        closedAt: null,
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * An open task due at the epoch.
 *
 * @since 0.2.0
 * @category constructors
 */
export const task = (workspaceId: Ids.WorkspaceId, overrides: Partial<Task.Task> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Task.Task({
        id: Ids.TaskId.make(id),
        workspaceId,
        title: "Call back",
        dueAt: epoch,
        channel: "call",
        ownerId: null,
        contactId: null,
        dealId: null,
        note: null,
        status: "open",
        completedAt: null,
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * An enabled rule with a new id, reacting to `page.viewed` by adding one to the score, with no
 * condition, delay, variants, goal or limits.
 *
 * @since 0.3.0
 * @category constructors
 */
export const rule = (workspaceId: Ids.WorkspaceId, overrides: Partial<Rule.Rule> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Rule.Rule({
        id: Ids.RuleId.make(`rule-${id}`),
        workspaceId,
        name: "Test rule",
        on: "page.viewed",
        when: null,
        unless: null,
        delay: null,
        actions: [{ type: "adjustScore", by: 1 }],
        variants: null,
        goal: null,
        limits: {},
        enabled: true,
        version: 1,
        createdAt: epoch,
        updatedAt: epoch,
        ...overrides
      })
  )

/**
 * A pending action job (adding a tag) with a new id, due at the epoch unless `dueAt` is given,
 * never attempted, with an idempotency key no other job has.
 *
 * @since 0.3.0
 * @category constructors
 */
export const job = (workspaceId: Ids.WorkspaceId, overrides: Partial<Job.Job> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Job.Job({
        id: Ids.JobId.make(id),
        workspaceId,
        idempotencyKey: `${workspaceId}/test-rule/event-${id}/0`,
        kind: "action",
        ruleId: Ids.RuleId.make("test-rule"),
        eventId: Ids.EventId.make(`event-${id}`),
        contactId: Ids.ContactId.make(id),
        variant: null,
        action: { type: "addTag", tag: "test" },
        actionIndex: 0,
        category: null,
        dueAt: epoch,
        status: "pending",
        attempts: 0,
        leaseUntil: null,
        claimToken: null,
        lastError: null,
        outcome: null,
        reservedAt: null,
        createdAt: epoch,
        updatedAt: epoch,
        completedAt: null,
        ...overrides
      })
  )

/**
 * A firing of a rule for a contact at the epoch, with a new id, no variant, no `oncePer` value
 * and no goal.
 *
 * @since 0.3.0
 * @category constructors
 */
export const firing = (workspaceId: Ids.WorkspaceId, overrides: Partial<Job.Firing> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Job.Firing({
        id,
        workspaceId,
        ruleId: Ids.RuleId.make("test-rule"),
        contactId: Ids.ContactId.make(id),
        eventId: Ids.EventId.make(`event-${id}`),
        variant: null,
        dedupeKey: null,
        firedAt: epoch,
        goalEvent: null,
        goalUntil: null,
        convertedAt: null,
        ...overrides
      })
  )

/**
 * Consent to marketing mail, granted at the epoch from a sign-up form; give the `contactId`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const consent = (workspaceId: Ids.WorkspaceId, overrides: Partial<Consent.ConsentRecord> = {}) =>
  new Consent.ConsentRecord({
    workspaceId,
    contactId: Ids.ContactId.make("018f0000-0000-7000-8000-000000000000"),
    purpose: Consent.defaultPurpose,
    granted: true,
    source: "signup-form",
    at: epoch,
    ...overrides
  })
