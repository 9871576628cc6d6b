/**
 * Builders of valid domain records and fresh workspace ids, for adapter tests and for apps that
 * test their own code against Rapport.
 *
 * @since 0.1.0
 */
import { Company, Contact, CrmEvent, Deal, Email, FieldDefinition, Ids, LifecycleDefinition, Money, Order, Pipeline, Task, Time, TimelineEntry, Workspace } from "@rapport/core"
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
    version: 1,
    createdAt: epoch,
    updatedAt: epoch,
    ...overrides
  })

/**
 * A contact with a new id; override any attribute.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contact = (workspaceId: Ids.WorkspaceId, overrides: Partial<Contact.Contact> = {}) =>
  Effect.map(
    ids.next,
    (id) =>
      new Contact.Contact({
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
