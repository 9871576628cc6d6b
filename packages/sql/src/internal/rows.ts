// Row Schemas: each decodes a row (snake_case columns, driver types) into a domain entity, through
// the entity's own Schema, so a corrupt row surfaces as a parse error instead of a wrong value.
// Writing maps a valid entity straight to its row: re-checking every field of an instance the
// domain already validated would double the cost of bulk writes.
import { Company, Consent, Contact, CrmEvent, Deal, FieldDefinition, Job, Order, Pipeline, Rule, Task, Template, TimelineEntry, Workspace } from "@rapport/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Bool, Instant, Int, Json, Text } from "./columns.js"

// Instants as ISO text, each formatted once: the same instant (a batch's `now`) is written in
// many rows.
const isoText = new WeakMap<DateTime.Utc, string>()
const iso = (at: DateTime.Utc): string => {
  let text = isoText.get(at)
  if (text === undefined) {
    text = DateTime.formatIso(at)
    isoText.set(at, text)
  }
  return text
}

/**
 * A row codec: decoding builds the entity from its encoded form (validated by its Schema),
 * encoding maps the entity to the row's values.
 */
export const rowOf = <Row extends Schema.Struct.Fields, E extends Schema.Schema.AnyNoContext>(
  row: Row,
  entity: E,
  // Every field of the entity's encoded form, with values its Schema then checks.
  toEntity: (r: Schema.Struct.Type<Row>) => { readonly [K in keyof Schema.Schema.Encoded<E>]-?: unknown },
  toRow: (e: Schema.Schema.Type<E>) => Schema.Struct.Type<Row>
) => {
  const decodeEntity = ParseResult.decodeUnknown(entity)
  const schema = Schema.transformOrFail(Schema.Struct(row), Schema.typeSchema(entity), {
    strict: false,
    // The struct decodes to exactly its Type; TypeScript only loses that through the generic.
    decode: (r) => decodeEntity(toEntity(r as Schema.Struct.Type<Row>)),
    encode: (e) => ParseResult.succeed(toRow(e))
  })
  const columns = new Map(Object.entries(row).map(([name, column]) => [name, columnWriter(column)] as const))
  writers.set(schema, (e) => {
    const values = toRow(e) as Record<string, unknown>
    const written: Record<string, unknown> = {}
    for (const name in values) written[name] = columns.get(name)!(values[name])
    return written
  })
  return schema
}

// What encoding a row does, without the Schema machinery: `toRow`, then each column's codec
// (JSON columns become text, booleans 0/1, the others are written as they are). Encoding through
// Schema.encode walked every column of every row through the parser, a large part of a bulk
// write's time. Columns of another kind fall back to their Schema's encoder. The sql package's
// tests check both give the same rows.
const writers = new WeakMap<Schema.Schema.Any, (entity: never) => Record<string, unknown>>()
const asIs = (value: unknown) => value
const jsonText = (value: unknown) => JSON.stringify(value)
const written = new Map<Schema.Schema.All | Schema.PropertySignature.All, (value: unknown) => unknown>([
  [Json, jsonText],
  [Bool, (value) => (value ? 1 : 0)],
  [Int, asIs],
  [Instant, asIs],
  [Text, asIs],
  [Schema.String, asIs]
])
const columnWriter = (column: Schema.Schema.All | Schema.PropertySignature.All): ((value: unknown) => unknown) => {
  const known = written.get(column)
  if (known !== undefined) return known
  if (Schema.isSchema(column)) {
    const ast = column.ast
    // NullOr(x): null stays null when x writes values as they are; a nullable JSON column writes
    // null as JSON text too (Json, first in the union, takes it).
    if (ast._tag === "Union" && ast.types.length === 2 && ast.types[1]!._tag === "Literal" && ast.types[1]!.literal === null) {
      const inner = [...written].find(([schema]) => Schema.isSchema(schema) && schema.ast === ast.types[0])?.[1]
      if (inner === asIs || inner === jsonText) return inner
    }
    return Schema.encodeSync(column as Schema.Schema<unknown, unknown>) as (value: unknown) => unknown
  }
  // An optional column (only read): written as its Schema writes a present value.
  const encode = Schema.encodeSync(Schema.Struct({ value: column }) as unknown as Schema.Schema<{ readonly value: unknown }, { readonly value: unknown }>)
  return (value) => encode({ value }).value
}

/**
 * Writes an entity as its row, as `Schema.encode(row)` does, for a row codec made by `rowOf`.
 * The entity is not checked again: it was valid when it was made.
 */
export const writeRow = <A, I>(row: Schema.Schema<A, I>): ((entity: A) => I) => {
  const write = writers.get(row)
  if (write === undefined) throw new Error("writeRow takes a row codec made by rowOf")
  return write as unknown as (entity: A) => I
}

/** Whether `row` is a row codec made by `rowOf` (which {@link writeRow} writes). */
export const isRowCodec = (row: Schema.Schema.Any): boolean => writers.has(row)

/** {@link writeRow} as an Effect, where `Schema.encode(row)` was used. */
export const encoderOf = <A, I>(row: Schema.Schema<A, I>): ((entity: A) => Effect.Effect<I>) => {
  const write = writeRow(row)
  return (entity) => Effect.succeed(write(entity))
}

export const WorkspaceRow = rowOf(
  { id: Schema.String, name: Schema.String, timezone: Schema.String, lifecycle: Json, sales: Json, messaging: Json, country: Text, version: Int, created_at: Instant, updated_at: Instant },
  Workspace.Workspace,
  // `sales` is NULL in workspaces stored before pipelines existed (migration 0002), `messaging`
  // before rules did (0003); `country` is NULL unless set (0005).
  (r) => ({
    id: r.id,
    name: r.name,
    timezone: r.timezone,
    lifecycle: r.lifecycle,
    sales: r.sales ?? Pipeline.defaultSalesSettings,
    messaging: r.messaging ?? Workspace.defaultMessagingSettings,
    country: r.country,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (w) => ({
    id: w.id,
    name: w.name,
    timezone: w.timezone,
    lifecycle: w.lifecycle,
    sales: w.sales,
    messaging: w.messaging,
    country: w.country,
    version: w.version,
    created_at: iso(w.createdAt),
    updated_at: iso(w.updatedAt)
  })
)

export const FieldDefinitionRow = rowOf(
  {
    workspace_id: Schema.String,
    entity: Schema.String,
    field_key: Schema.String,
    label: Schema.String,
    field_type: Schema.String,
    options: Json,
    required: Json,
    is_unique: Bool,
    description: Text,
    position: Int,
    indexed: Bool,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  FieldDefinition.FieldDefinition,
  (r) => ({
    workspaceId: r.workspace_id,
    entity: r.entity,
    key: r.field_key,
    label: r.label,
    type: r.field_type,
    options: r.options,
    required: r.required,
    unique: r.is_unique,
    description: r.description,
    position: r.position,
    indexed: r.indexed,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (d) => ({
    workspace_id: d.workspaceId,
    entity: d.entity,
    field_key: d.key,
    label: d.label,
    field_type: d.type,
    options: d.options,
    required: d.required,
    is_unique: d.unique,
    description: d.description,
    position: d.position,
    indexed: d.indexed,
    version: d.version,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt)
  })
)

// A contact's emails and phones as its reads select them (see SqlStorage): `[kind, position,
// value, label]` items in any order; each list comes out in position order.
const identityLists = (u: unknown) => {
  const items = (Array.isArray(u) ? u : []) as ReadonlyArray<readonly [string, number, string, string | null]>
  const sorted = [...items].sort((a, b) => a[1] - b[1])
  const of = (kind: string) => sorted.filter((i) => i[0] === kind).map((i) => ({ value: i[2], label: i[3] }))
  return { emails: of("email"), phones: of("phone") }
}

export const ContactRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    /** Only read: a JSON array that the contact queries aggregate from rapport_contact_identities. */
    identities: Schema.optional(Json),
    email: Text,
    email_key: Text,
    first_name: Text,
    last_name: Text,
    phone: Text,
    company_id: Text,
    source_channel: Schema.String,
    source_campaign: Text,
    first_seen_at: Instant,
    stage: Schema.String,
    tags: Json,
    owner_id: Text,
    score: Int,
    timezone: Text,
    fields: Json,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Contact.Contact,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    phone: r.phone,
    ...identityLists(r.identities),
    companyId: r.company_id,
    source: { channel: r.source_channel, campaign: r.source_campaign },
    firstSeenAt: r.first_seen_at,
    stage: r.stage,
    tags: r.tags,
    ownerId: r.owner_id,
    score: r.score,
    timezone: r.timezone,
    fields: r.fields,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (c) => ({
    workspace_id: c.workspaceId,
    id: c.id,
    email: c.email,
    email_key: c.email === null ? null : c.email.toLowerCase(),
    first_name: c.firstName,
    last_name: c.lastName,
    phone: c.phone,
    company_id: c.companyId,
    source_channel: c.source.channel,
    source_campaign: c.source.campaign,
    first_seen_at: iso(c.firstSeenAt),
    stage: c.stage,
    tags: c.tags,
    owner_id: c.ownerId,
    score: c.score,
    timezone: c.timezone,
    fields: c.fields,
    version: c.version,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt)
  })
)

export const CompanyRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    name: Schema.String,
    domain: Text,
    phone: Text,
    tags: Json,
    owner_id: Text,
    fields: Json,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Company.Company,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    domain: r.domain,
    phone: r.phone,
    tags: r.tags,
    ownerId: r.owner_id,
    fields: r.fields,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (c) => ({
    workspace_id: c.workspaceId,
    id: c.id,
    name: c.name,
    domain: c.domain,
    phone: c.phone,
    tags: c.tags,
    owner_id: c.ownerId,
    fields: c.fields,
    version: c.version,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt)
  })
)

export const FieldRecordRow = Schema.Struct({ id: Schema.String, stage: Text, fields: Json })

export const TimelineRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    contact_id: Schema.String,
    kind: Schema.String,
    occurred_at: Instant,
    recorded_at: Instant,
    author: Text,
    channel: Text,
    direction: Text,
    summary: Schema.String,
    reaction: Text,
    payload: Json,
    event_id: Text
  },
  TimelineEntry.TimelineEntry,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    contactId: r.contact_id,
    kind: r.kind,
    occurredAt: r.occurred_at,
    recordedAt: r.recorded_at,
    author: r.author,
    channel: r.channel,
    direction: r.direction,
    summary: r.summary,
    reaction: r.reaction,
    payload: r.payload,
    eventId: r.event_id
  }),
  (e) => ({
    workspace_id: e.workspaceId,
    id: e.id,
    contact_id: e.contactId,
    kind: e.kind,
    occurred_at: iso(e.occurredAt),
    recorded_at: iso(e.recordedAt),
    author: e.author,
    channel: e.channel,
    direction: e.direction,
    summary: e.summary,
    reaction: e.reaction,
    payload: e.payload,
    event_id: e.eventId
  })
)

export const EventRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    type: Schema.String,
    contact_id: Schema.String,
    occurred_at: Instant,
    received_at: Instant,
    payload: Json
  },
  CrmEvent.StoredEvent,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    type: r.type,
    contactId: r.contact_id,
    occurredAt: r.occurred_at,
    receivedAt: r.received_at,
    payload: r.payload
  }),
  (e) => ({
    workspace_id: e.workspaceId,
    id: e.id,
    type: e.type,
    contact_id: e.contactId,
    occurred_at: iso(e.occurredAt),
    received_at: iso(e.receivedAt),
    payload: e.payload
  })
)

const OrderHeaderRow = Schema.Struct({
  workspace_id: Schema.String,
  id: Schema.String,
  contact_id: Schema.String,
  event_id: Schema.String,
  placed_at: Instant,
  currency: Schema.String,
  total_minor: Int,
  // Since migration 0016 (issue 16).
  status: Schema.Literal("placed", "cancelled"),
  cancelled_at: Schema.NullOr(Instant),
  refunded_minor: Int
})

const OrderLineRow = Schema.Struct({
  workspace_id: Schema.String,
  order_id: Schema.String,
  line_no: Int,
  sku: Schema.String,
  name: Schema.String,
  quantity: Int,
  unit_price_minor: Int,
  unit_cost_minor: Schema.NullOr(Int),
  currency: Schema.String
})

/** Builds an Order from its header and line rows (lines in `line_no` order). */
export const OrderFromRows = Schema.transform(
  Schema.Struct({ header: OrderHeaderRow, lines: Schema.Array(OrderLineRow) }),
  Order.Order,
  {
    strict: false,
    decode: ({ header, lines }) => ({
      id: header.id,
      workspaceId: header.workspace_id,
      contactId: header.contact_id,
      eventId: header.event_id,
      placedAt: header.placed_at,
      currency: header.currency,
      totalMinor: header.total_minor,
      status: header.status,
      refundedMinor: header.refunded_minor,
      cancelledAt: header.cancelled_at,
      lines: lines.map((l) => ({
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        unitPrice: { amountMinor: l.unit_price_minor, currency: l.currency },
        ...(l.unit_cost_minor === null ? {} : { unitCost: { amountMinor: l.unit_cost_minor, currency: l.currency } })
      }))
    }),
    encode: (o) => ({
      header: {
        workspace_id: o.workspaceId,
        id: o.id,
        contact_id: o.contactId,
        event_id: o.eventId,
        placed_at: o.placedAt,
        currency: o.currency,
        total_minor: o.totalMinor,
        status: o.status,
        cancelled_at: o.cancelledAt,
        refunded_minor: o.refundedMinor
      },
      lines: o.lines.map((l, i) => ({
        workspace_id: o.workspaceId,
        order_id: o.id,
        line_no: i,
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        unit_price_minor: l.unitPrice.amountMinor,
        unit_cost_minor: l.unitCost?.amountMinor ?? null,
        currency: l.unitPrice.currency
      }))
    })
  }
)

/**
 * Writes an order as its header and line rows, as `Schema.encode(OrderFromRows)` does, without
 * encoding the order through its Schema first (it is valid: it was made by its constructor).
 */
export const writeOrder = (o: Order.Order): typeof OrderFromRows.Encoded => ({
  header: {
    workspace_id: o.workspaceId,
    id: o.id,
    contact_id: o.contactId,
    event_id: o.eventId,
    placed_at: iso(o.placedAt),
    currency: o.currency,
    total_minor: o.totalMinor,
    status: o.status,
    cancelled_at: o.cancelledAt === null ? null : iso(o.cancelledAt),
    refunded_minor: o.refundedMinor
  },
  lines: o.lines.map((l, i) => ({
    workspace_id: o.workspaceId,
    order_id: o.id,
    line_no: i,
    sku: l.sku,
    name: l.name,
    quantity: l.quantity,
    unit_price_minor: l.unitPrice.amountMinor,
    unit_cost_minor: l.unitCost?.amountMinor ?? null,
    currency: l.unitPrice.currency
  }))
})

export const CountRow = Schema.Struct({ n: Int })
export const AtRow = Schema.Struct({ at: Schema.compose(Instant, Schema.DateTimeUtc) })
export const StageCountRow = Schema.Struct({ stage: Schema.String, n: Int })
export const VersionRow = Schema.Struct({ version: Int })
export const RecordIdRow = Schema.Struct({ record_id: Schema.String })

export const PipelineRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    name: Schema.String,
    stages: Json,
    floor_minor: Schema.NullOr(Int),
    floor_currency: Text,
    position: Int,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Pipeline.Pipeline,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    stages: r.stages,
    floor: r.floor_minor === null ? null : { amountMinor: r.floor_minor, currency: r.floor_currency },
    position: r.position,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (p) => ({
    workspace_id: p.workspaceId,
    id: p.id,
    name: p.name,
    stages: p.stages,
    floor_minor: p.floor?.amountMinor ?? null,
    floor_currency: p.floor?.currency ?? null,
    position: p.position,
    version: p.version,
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt)
  })
)

const isoOrNull = (at: DateTime.Utc | null) => (at === null ? null : iso(at))

export const DealRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    pipeline_id: Schema.String,
    stage: Schema.String,
    title: Schema.String,
    amount_minor: Int,
    currency: Schema.String,
    contact_id: Text,
    company_id: Text,
    status: Schema.String,
    stage_probability: Int,
    override_probability: Schema.NullOr(Int),
    override_reason: Text,
    expected_close_date: Text,
    owner_id: Text,
    quote_ref: Text,
    close_reason: Text,
    fields: Json,
    last_activity_at: Instant,
    closed_at: Schema.NullOr(Instant),
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Deal.Deal,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    pipelineId: r.pipeline_id,
    stage: r.stage,
    title: r.title,
    amount: { amountMinor: r.amount_minor, currency: r.currency },
    contactId: r.contact_id,
    companyId: r.company_id,
    status: r.status,
    stageProbability: r.stage_probability,
    override: r.override_probability === null ? null : { probability: r.override_probability, reason: r.override_reason },
    expectedCloseDate: r.expected_close_date,
    ownerId: r.owner_id,
    quoteRef: r.quote_ref,
    closeReason: r.close_reason,
    fields: r.fields,
    lastActivityAt: r.last_activity_at,
    closedAt: r.closed_at,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (d) => ({
    workspace_id: d.workspaceId,
    id: d.id,
    pipeline_id: d.pipelineId,
    stage: d.stage,
    title: d.title,
    amount_minor: d.amount.amountMinor,
    currency: d.amount.currency,
    contact_id: d.contactId,
    company_id: d.companyId,
    status: d.status,
    stage_probability: d.stageProbability,
    override_probability: d.override?.probability ?? null,
    override_reason: d.override?.reason ?? null,
    expected_close_date: d.expectedCloseDate,
    owner_id: d.ownerId,
    quote_ref: d.quoteRef,
    close_reason: d.closeReason,
    fields: d.fields,
    last_activity_at: iso(d.lastActivityAt),
    closed_at: isoOrNull(d.closedAt),
    version: d.version,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt)
  })
)

export const TaskRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    title: Schema.String,
    due_at: Instant,
    channel: Schema.String,
    owner_id: Text,
    contact_id: Text,
    deal_id: Text,
    note: Text,
    status: Schema.String,
    completed_at: Schema.NullOr(Instant),
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Task.Task,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    title: r.title,
    dueAt: r.due_at,
    channel: r.channel,
    ownerId: r.owner_id,
    contactId: r.contact_id,
    dealId: r.deal_id,
    note: r.note,
    status: r.status,
    completedAt: r.completed_at,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (t) => ({
    workspace_id: t.workspaceId,
    id: t.id,
    title: t.title,
    due_at: iso(t.dueAt),
    channel: t.channel,
    owner_id: t.ownerId,
    contact_id: t.contactId,
    deal_id: t.dealId,
    note: t.note,
    status: t.status,
    completed_at: isoOrNull(t.completedAt),
    version: t.version,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt)
  })
)

export const TemplateRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    setup_key: Text,
    name: Schema.String,
    purpose: Schema.String,
    subject: Schema.String,
    html: Text,
    text: Text,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Template.Template,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.setup_key,
    name: r.name,
    purpose: r.purpose,
    subject: r.subject,
    html: r.html,
    text: r.text,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }),
  (t) => ({
    workspace_id: t.workspaceId,
    id: t.id,
    setup_key: t.key,
    name: t.name,
    purpose: t.purpose,
    subject: t.subject,
    html: t.html,
    text: t.text,
    version: t.version,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt)
  })
)

/** A column read under the domain's name. */
const renamed = <S extends Schema.Schema.All>(schema: S, column: string) => Schema.propertySignature(schema).pipe(Schema.fromKey(column))

/** A deal aggregate row: BIGINT sums come back as text so no driver rounds them through a float. */
export const StatusSumsRow = Schema.Struct({
  pipelineId: renamed(Text, "pipeline_id"),
  stage: Text,
  ownerId: renamed(Text, "owner_id"),
  month: Text,
  currency: Schema.String,
  status: Deal.DealStatus,
  count: renamed(Int, "n"),
  amountMinor: renamed(Schema.BigInt, "amount"),
  probabilityWeighted: renamed(Schema.BigInt, "probability_weighted")
})

export const RuleRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    setup_key: Text,
    name: Schema.String,
    event_type: Schema.String,
    definition: Json,
    enabled: Bool,
    version: Int,
    created_at: Instant,
    updated_at: Instant
  },
  Rule.Rule,
  (r) => {
    const d = r.definition as Record<string, unknown>
    return {
      id: r.id,
      workspaceId: r.workspace_id,
      key: r.setup_key,
      name: r.name,
      on: r.event_type,
      when: d["when"],
      unless: d["unless"],
      delay: d["delay"],
      actions: d["actions"],
      variants: d["variants"],
      goal: d["goal"],
      limits: d["limits"],
      enabled: r.enabled,
      version: r.version,
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }
  },
  (r) => ({
    workspace_id: r.workspaceId,
    id: r.id,
    setup_key: r.key,
    name: r.name,
    event_type: r.on,
    definition: { when: r.when, unless: r.unless, delay: r.delay, actions: r.actions, variants: r.variants, goal: r.goal, limits: r.limits },
    enabled: r.enabled,
    version: r.version,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt)
  })
)

export const JobRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    idempotency_key: Schema.String,
    kind: Schema.String,
    rule_id: Schema.String,
    event_id: Schema.String,
    contact_id: Schema.String,
    variant: Text,
    action: Schema.NullOr(Json),
    action_type: Text,
    action_index: Schema.NullOr(Int),
    category: Text,
    due_at: Instant,
    status: Schema.String,
    attempts: Int,
    lease_until: Schema.NullOr(Instant),
    claim_token: Text,
    last_error: Text,
    outcome: Schema.NullOr(Json),
    reserved_at: Schema.NullOr(Instant),
    purpose: Text,
    created_at: Instant,
    updated_at: Instant,
    completed_at: Schema.NullOr(Instant)
  },
  Job.Job,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    idempotencyKey: r.idempotency_key,
    kind: r.kind,
    ruleId: r.rule_id,
    eventId: r.event_id,
    contactId: r.contact_id,
    variant: r.variant,
    action: r.action,
    actionIndex: r.action_index,
    category: r.category,
    dueAt: r.due_at,
    status: r.status,
    attempts: r.attempts,
    leaseUntil: r.lease_until,
    claimToken: r.claim_token,
    lastError: r.last_error,
    outcome: r.outcome,
    reservedAt: r.reserved_at,
    purpose: r.purpose,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at
  }),
  (j) => ({
    workspace_id: j.workspaceId,
    id: j.id,
    idempotency_key: j.idempotencyKey,
    kind: j.kind,
    rule_id: j.ruleId,
    event_id: j.eventId,
    contact_id: j.contactId,
    variant: j.variant,
    action: j.action,
    action_type: j.action?.type ?? null,
    action_index: j.actionIndex,
    category: j.category,
    due_at: iso(j.dueAt),
    status: j.status,
    attempts: j.attempts,
    lease_until: isoOrNull(j.leaseUntil),
    claim_token: j.claimToken,
    last_error: j.lastError,
    outcome: j.outcome,
    reserved_at: isoOrNull(j.reservedAt),
    purpose: j.purpose,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    completed_at: isoOrNull(j.completedAt)
  })
)

export const FiringRow = rowOf(
  {
    workspace_id: Schema.String,
    id: Schema.String,
    rule_id: Schema.String,
    contact_id: Schema.String,
    event_id: Schema.String,
    variant: Text,
    dedupe_key: Text,
    fired_at: Instant,
    goal_event: Text,
    goal_until: Schema.NullOr(Instant),
    converted_at: Schema.NullOr(Instant)
  },
  Job.Firing,
  (r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    ruleId: r.rule_id,
    contactId: r.contact_id,
    eventId: r.event_id,
    variant: r.variant,
    dedupeKey: r.dedupe_key,
    firedAt: r.fired_at,
    goalEvent: r.goal_event,
    goalUntil: r.goal_until,
    convertedAt: r.converted_at
  }),
  (f) => ({
    workspace_id: f.workspaceId,
    id: f.id,
    rule_id: f.ruleId,
    contact_id: f.contactId,
    event_id: f.eventId,
    variant: f.variant,
    dedupe_key: f.dedupeKey,
    fired_at: iso(f.firedAt),
    goal_event: f.goalEvent,
    goal_until: isoOrNull(f.goalUntil),
    converted_at: isoOrNull(f.convertedAt)
  })
)

const encodeProof = Schema.encodeSync(Consent.ConsentProof)

export const ConsentRow = rowOf(
  {
    workspace_id: Schema.String,
    contact_id: Schema.String,
    purpose: Schema.String,
    granted: Bool,
    source: Text,
    at: Instant,
    proof: Schema.optional(Schema.NullOr(Json)),
    requested_at: Schema.optional(Schema.NullOr(Instant))
  },
  Consent.ConsentRecord,
  (r) => ({
    workspaceId: r.workspace_id,
    contactId: r.contact_id,
    purpose: r.purpose,
    granted: r.granted,
    source: r.source,
    at: r.at,
    proof: r.proof ?? null,
    requestedAt: r.requested_at ?? null
  }),
  (c) => ({
    workspace_id: c.workspaceId,
    contact_id: c.contactId,
    purpose: c.purpose,
    granted: c.granted,
    source: c.source,
    at: iso(c.at),
    proof: c.proof === null ? null : encodeProof(c.proof),
    requested_at: isoOrNull(c.requestedAt)
  })
)

export const AddressHealthRow = rowOf(
  {
    workspace_id: Schema.String,
    email: Schema.String,
    hard_bounced_at: Schema.NullOr(Instant),
    hard_bounce_reason: Text,
    soft_bounces: Int,
    last_soft_bounce_at: Schema.NullOr(Instant),
    complained_at: Schema.NullOr(Instant)
  },
  Consent.AddressHealth,
  (r) => ({
    workspaceId: r.workspace_id,
    email: r.email,
    hardBouncedAt: r.hard_bounced_at,
    hardBounceReason: r.hard_bounce_reason,
    softBounces: r.soft_bounces,
    lastSoftBounceAt: r.last_soft_bounce_at,
    complainedAt: r.complained_at
  }),
  (a) => ({
    workspace_id: a.workspaceId,
    email: a.email,
    hard_bounced_at: isoOrNull(a.hardBouncedAt),
    hard_bounce_reason: a.hardBounceReason,
    soft_bounces: a.softBounces,
    last_soft_bounce_at: isoOrNull(a.lastSoftBounceAt),
    complained_at: isoOrNull(a.complainedAt)
  })
)

/** Per-variant counts of a rule. */
export const VariantCountRow = Schema.Struct({ variant: Text, n: Int, converted: Schema.optional(Int), opened: Schema.optional(Schema.NullOr(Int)) })
export const MaybeAtRow = Schema.Struct({ at: Schema.NullOr(Schema.compose(Instant, Schema.DateTimeUtc)) })
