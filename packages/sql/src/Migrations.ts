/**
 * Rapport's schema, as migrations embedded in code (no files to ship, no shell), applied when a
 * storage layer starts. Applied migrations are recorded in `rapport_migrations`. On PostgreSQL the
 * whole run holds a transaction-scoped advisory lock, so instances starting together migrate once.
 *
 * Every table carries `workspace_id`, and every primary key, unique key and index used by a
 * query starts with it: nothing joins across workspaces, and the tables can be distributed by
 * workspace (e.g. Citus) without a schema change.
 *
 * @since 0.1.0
 */
import { Condition, Errors, Segment } from "@rapport/core"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { storageError } from "./internal/errors.js"
import { ensureContactIndex, ensureFieldIndex } from "./internal/fieldIndexes.js"
import { FieldDefinitionRow } from "./internal/rows.js"
import { SegmentRow } from "./internal/segments.js"

interface Types {
  readonly json: string
  readonly instant: string
  readonly bigint: string
  readonly bool: string
  /** Text compared byte by byte, so ordering is the same on every dialect. */
  readonly key: string
}

const sqliteTypes: Types = { json: "TEXT", instant: "TEXT", bigint: "INTEGER", bool: "INTEGER", key: "TEXT" }
const pgTypes: Types = { json: "JSONB", instant: "TIMESTAMPTZ", bigint: "BIGINT", bool: "BOOLEAN", key: 'TEXT COLLATE "C"' }

const initialSchema = (t: Types, pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_workspaces (
    id ${t.key} PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    lifecycle ${t.json} NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL
  )`,
  `CREATE TABLE rapport_field_definitions (
    workspace_id ${t.key} NOT NULL,
    entity ${t.key} NOT NULL,
    field_key ${t.key} NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL,
    required TEXT NOT NULL,
    is_unique ${t.bool} NOT NULL,
    description TEXT,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, entity, field_key)
  )`,
  `CREATE TABLE rapport_companies (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name TEXT NOT NULL,
    domain TEXT,
    phone TEXT,
    tags ${t.json} NOT NULL,
    owner_id TEXT,
    fields ${t.json} NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE TABLE rapport_contacts (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    email TEXT,
    email_key ${t.key},
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    company_id ${t.key},
    source_channel TEXT NOT NULL,
    source_campaign TEXT,
    first_seen_at ${t.instant} NOT NULL,
    stage ${t.key} NOT NULL,
    tags ${t.json} NOT NULL,
    owner_id ${t.key},
    score INTEGER NOT NULL,
    timezone TEXT,
    fields ${t.json} NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  // NULL emails are distinct in both dialects: contacts without email do not collide.
  `CREATE UNIQUE INDEX rapport_contacts_email ON rapport_contacts (workspace_id, email_key)`,
  `CREATE INDEX rapport_contacts_stage ON rapport_contacts (workspace_id, stage, id)`,
  `CREATE INDEX rapport_contacts_company ON rapport_contacts (workspace_id, company_id, id)`,
  `CREATE INDEX rapport_contacts_owner ON rapport_contacts (workspace_id, owner_id, id)`,
  ...(pg ? [`CREATE INDEX rapport_contacts_fields ON rapport_contacts USING GIN (fields jsonb_path_ops)`] : []),
  `CREATE TABLE rapport_unique_values (
    workspace_id ${t.key} NOT NULL,
    entity ${t.key} NOT NULL,
    field_key ${t.key} NOT NULL,
    value_key ${t.key} NOT NULL,
    record_id ${t.key} NOT NULL,
    PRIMARY KEY (workspace_id, entity, field_key, value_key)
  )`,
  `CREATE INDEX rapport_unique_values_record ON rapport_unique_values (workspace_id, entity, record_id)`,
  `CREATE TABLE rapport_timeline (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    kind ${t.key} NOT NULL,
    occurred_at ${t.instant} NOT NULL,
    recorded_at ${t.instant} NOT NULL,
    author TEXT,
    channel TEXT,
    direction TEXT,
    summary TEXT NOT NULL,
    reaction TEXT,
    payload ${t.json} NOT NULL,
    event_id TEXT,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_timeline_contact ON rapport_timeline (workspace_id, contact_id, occurred_at, id)`,
  `CREATE INDEX rapport_timeline_feed ON rapport_timeline (workspace_id, occurred_at, id)`,
  `CREATE TABLE rapport_events (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    type ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    occurred_at ${t.instant} NOT NULL,
    received_at ${t.instant} NOT NULL,
    payload ${t.json} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_events_contact ON rapport_events (workspace_id, contact_id, type, occurred_at)`,
  `CREATE TABLE rapport_orders (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    event_id TEXT NOT NULL,
    placed_at ${t.instant} NOT NULL,
    currency TEXT NOT NULL,
    total_minor ${t.bigint} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_orders_contact ON rapport_orders (workspace_id, contact_id, placed_at)`,
  `CREATE TABLE rapport_order_lines (
    workspace_id ${t.key} NOT NULL,
    order_id ${t.key} NOT NULL,
    line_no INTEGER NOT NULL,
    sku ${t.key} NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_minor ${t.bigint} NOT NULL,
    unit_cost_minor ${t.bigint},
    currency TEXT NOT NULL,
    PRIMARY KEY (workspace_id, order_id, line_no)
  )`,
  `CREATE INDEX rapport_order_lines_sku ON rapport_order_lines (workspace_id, sku)`
]

const pipelineSchema = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE rapport_workspaces ADD COLUMN sales ${t.json}`,
  `CREATE TABLE rapport_pipelines (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name TEXT NOT NULL,
    stages ${t.json} NOT NULL,
    floor_minor ${t.bigint},
    floor_currency TEXT,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE TABLE rapport_deals (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    pipeline_id ${t.key} NOT NULL,
    stage ${t.key} NOT NULL,
    title TEXT NOT NULL,
    amount_minor ${t.bigint} NOT NULL,
    currency ${t.key} NOT NULL,
    contact_id ${t.key},
    company_id ${t.key},
    status ${t.key} NOT NULL,
    stage_probability INTEGER NOT NULL,
    override_probability INTEGER,
    override_reason TEXT,
    expected_close_date ${t.key},
    owner_id ${t.key},
    quote_ref TEXT,
    close_reason TEXT,
    fields ${t.json} NOT NULL,
    last_activity_at ${t.instant} NOT NULL,
    closed_at ${t.instant},
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_deals_stage ON rapport_deals (workspace_id, pipeline_id, stage)`,
  `CREATE INDEX rapport_deals_contact ON rapport_deals (workspace_id, contact_id)`,
  `CREATE INDEX rapport_deals_company ON rapport_deals (workspace_id, company_id)`,
  `CREATE INDEX rapport_deals_activity ON rapport_deals (workspace_id, status, last_activity_at, id)`,
  `CREATE TABLE rapport_tasks (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    title TEXT NOT NULL,
    due_at ${t.instant} NOT NULL,
    channel TEXT NOT NULL,
    owner_id ${t.key},
    contact_id ${t.key},
    deal_id ${t.key},
    note TEXT,
    status ${t.key} NOT NULL,
    completed_at ${t.instant},
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_tasks_due ON rapport_tasks (workspace_id, status, due_at, id)`,
  `CREATE INDEX rapport_tasks_owner ON rapport_tasks (workspace_id, owner_id, due_at, id)`,
  `CREATE INDEX rapport_tasks_contact ON rapport_tasks (workspace_id, contact_id)`,
  `CREATE INDEX rapport_tasks_deal ON rapport_tasks (workspace_id, deal_id)`,
  `CREATE TABLE rapport_templates (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT,
    text TEXT,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`
]

const rulesSchema = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE rapport_workspaces ADD COLUMN messaging ${t.json}`,
  `CREATE TABLE rapport_rules (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name TEXT NOT NULL,
    event_type ${t.key} NOT NULL,
    definition ${t.json} NOT NULL,
    enabled ${t.bool} NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE TABLE rapport_jobs (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    idempotency_key ${t.key} NOT NULL,
    kind ${t.key} NOT NULL,
    rule_id ${t.key} NOT NULL,
    event_id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    variant TEXT,
    action ${t.json},
    action_type ${t.key},
    action_index INTEGER,
    category ${t.key},
    due_at ${t.instant} NOT NULL,
    status ${t.key} NOT NULL,
    attempts INTEGER NOT NULL,
    lease_until ${t.instant},
    claim_token TEXT,
    last_error TEXT,
    outcome ${t.json},
    reserved_at ${t.instant},
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    completed_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE UNIQUE INDEX rapport_jobs_key ON rapport_jobs (workspace_id, idempotency_key)`,
  // The dispatcher's claims: due pending jobs, and running ones whose lease ended. These two are
  // the only indexes that do not start with workspace_id: one dispatcher claims for every
  // workspace (claims limited to some workspaces use the next one).
  `CREATE INDEX rapport_jobs_pending ON rapport_jobs (due_at, id) WHERE status = 'pending'`,
  `CREATE INDEX rapport_jobs_running ON rapport_jobs (lease_until) WHERE status = 'running'`,
  `CREATE INDEX rapport_jobs_status ON rapport_jobs (workspace_id, status, due_at, id)`,
  `CREATE INDEX rapport_jobs_contact ON rapport_jobs (workspace_id, contact_id, category, reserved_at)`,
  `CREATE INDEX rapport_jobs_rule ON rapport_jobs (workspace_id, rule_id, status)`,
  `CREATE TABLE rapport_rule_firings (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    rule_id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    event_id ${t.key} NOT NULL,
    variant TEXT,
    dedupe_key ${t.key},
    fired_at ${t.instant} NOT NULL,
    goal_event ${t.key},
    goal_until ${t.instant},
    converted_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_rule_firings_rule ON rapport_rule_firings (workspace_id, rule_id, contact_id, fired_at)`,
  `CREATE INDEX rapport_rule_firings_goal ON rapport_rule_firings (workspace_id, contact_id, goal_event, goal_until)`,
  `CREATE TABLE rapport_consents (
    workspace_id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    purpose ${t.key} NOT NULL,
    granted ${t.bool} NOT NULL,
    source TEXT,
    at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, contact_id, purpose)
  )`,
  `CREATE TABLE rapport_counters (
    workspace_id ${t.key} NOT NULL,
    counter_key ${t.key} NOT NULL,
    value ${t.bigint} NOT NULL,
    PRIMARY KEY (workspace_id, counter_key)
  )`,
  // A contact's events in id order, for exports and erasure.
  `CREATE INDEX rapport_events_contact_id ON rapport_events (workspace_id, contact_id, id)`
]

const phoneSchema = (): ReadonlyArray<string> => [
  // De-duplication by phone during imports (contacts.findByPhones): exact match on the stored string.
  `CREATE INDEX rapport_contacts_phone ON rapport_contacts (workspace_id, phone)`
]

// PostgreSQL's INTEGER is 32-bit; the domain's whole numbers that a user sets (a contact's score,
// the positions of field definitions and pipelines, an order line's quantity) are any safe integer,
// so their columns become BIGINT (SQLite's INTEGER is 64-bit already; the Int column codec reads
// BIGINT's text back as a number). Left as INTEGER: versions and job attempts, which grow by one
// per write, probabilities (0 to 100), and positions within one record (line_no, action_index).
const wideIntegers = (_t: Types, pg: boolean): ReadonlyArray<string> =>
  pg
    ? [
        `ALTER TABLE rapport_contacts ALTER COLUMN score TYPE BIGINT`,
        `ALTER TABLE rapport_field_definitions ALTER COLUMN position TYPE BIGINT`,
        `ALTER TABLE rapport_pipelines ALTER COLUMN position TYPE BIGINT`,
        `ALTER TABLE rapport_order_lines ALTER COLUMN quantity TYPE BIGINT`
      ]
    : []

// Every email and phone of a contact, the primary ones (still in rapport_contacts' email and phone
// columns) at position 0. `value` is what the contact shows; `value_key` what it is found and kept
// unique by: an email's lower-cased key (as rapport_contacts.email_key), a phone's text as stored
// (findByPhones matches exactly). No two contacts of a workspace share an email key, primary or
// not; phones are looked up through their own index. Existing contacts' emails and phones are
// copied in as their primary ones.
const contactIdentities = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_contact_identities (
    workspace_id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    kind ${t.key} NOT NULL,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    value_key ${t.key} NOT NULL,
    label TEXT,
    PRIMARY KEY (workspace_id, contact_id, kind, position)
  )`,
  `CREATE UNIQUE INDEX rapport_contact_identities_email ON rapport_contact_identities (workspace_id, value_key) WHERE kind = 'email'`,
  `CREATE INDEX rapport_contact_identities_phone ON rapport_contact_identities (workspace_id, value_key) WHERE kind = 'phone'`,
  `INSERT INTO rapport_contact_identities (workspace_id, contact_id, kind, position, value, value_key, label)
    SELECT workspace_id, id, 'email', 0, email, email_key, NULL FROM rapport_contacts WHERE email IS NOT NULL`,
  `INSERT INTO rapport_contact_identities (workspace_id, contact_id, kind, position, value, value_key, label)
    SELECT workspace_id, id, 'phone', 0, phone, phone, NULL FROM rapport_contacts WHERE phone IS NOT NULL`
]

// Responses the HTTP integration keeps under a client's Idempotency-Key (@rapport/express), per
// workspace, scope (principal and route) and key. `status`, `headers` and `body` stay NULL while
// the first request is processed, in the same transaction as its work. Expired records are purged
// by workspace, hence the index on (workspace_id, expires_at).
const httpIdempotency = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_http_idempotency (
    workspace_id ${t.key} NOT NULL,
    scope ${t.key} NOT NULL,
    idem_key ${t.key} NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    headers ${t.json},
    body TEXT,
    created_at ${t.instant} NOT NULL,
    expires_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, scope, idem_key)
  )`,
  `CREATE INDEX rapport_http_idempotency_expiry ON rapport_http_idempotency (workspace_id, expires_at)`
]

// API keys, inbound webhook sources and the receipts of inbound deliveries. Keys and sources are
// looked up by their id or name alone, because the caller does not know the workspace (a request
// presents a key; a shop posts to /webhooks/in/:source): each has, besides its primary key
// starting with workspace_id, a unique index on that column alone, the only keys here that do not
// start with workspace_id. Both tables are small and read on every request or delivery: a database
// distributed by workspace keeps them as reference tables (docs/scaling.md). Receipts belong to one
// workspace like everything else; the (…, received_at) index serves pruning.
const apiKeysWebhookReceipts = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_api_keys (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name TEXT NOT NULL,
    role ${t.key} NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at ${t.instant} NOT NULL,
    revoked_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE UNIQUE INDEX rapport_api_keys_lookup ON rapport_api_keys (id)`,
  `CREATE TABLE rapport_inbound_webhooks (
    workspace_id ${t.key} NOT NULL,
    source ${t.key} NOT NULL,
    provider ${t.key} NOT NULL,
    secrets ${t.json} NOT NULL,
    tolerance_seconds INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, source)
  )`,
  `CREATE UNIQUE INDEX rapport_inbound_webhooks_lookup ON rapport_inbound_webhooks (source)`,
  `CREATE TABLE rapport_webhook_receipts (
    workspace_id ${t.key} NOT NULL,
    source ${t.key} NOT NULL,
    webhook_id ${t.key} NOT NULL,
    received_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, source, webhook_id)
  )`,
  `CREATE INDEX rapport_webhook_receipts_age ON rapport_webhook_receipts (workspace_id, source, received_at)`
]

// Outbound webhooks: subscriptions (their secrets stored as given: signing needs them) and the
// delivery log, one row per attempt, read per subscription newest first. The messages are jobs.
const webhooksOut = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_webhook_subscriptions (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    url TEXT NOT NULL,
    event_types ${t.json} NOT NULL,
    description TEXT,
    enabled ${t.bool} NOT NULL,
    disabled_reason TEXT,
    allow_private_network ${t.bool} NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until ${t.instant},
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE TABLE rapport_webhook_deliveries (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    subscription_id ${t.key} NOT NULL,
    job_id ${t.key} NOT NULL,
    message_id ${t.key} NOT NULL,
    event_type ${t.key} NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at ${t.instant} NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    result ${t.key} NOT NULL,
    error TEXT,
    response_body TEXT,
    next_attempt_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_webhook_deliveries_subscription ON rapport_webhook_deliveries (workspace_id, subscription_id, attempted_at, id)`
]

// Imports as resources (ImportRun): written by the process running the import, read by any
// instance. Listed newest first per workspace, with an optional status: the (workspace_id,
// created_at, id) index serves the listing; the report is JSON, its lists capped by the service.
const imports = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_imports (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    status ${t.key} NOT NULL,
    file_name TEXT,
    options ${t.json} NOT NULL,
    progress ${t.json} NOT NULL,
    report ${t.json},
    error ${t.json},
    created_by TEXT,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    started_at ${t.instant},
    heartbeat_at ${t.instant} NOT NULL,
    finished_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE INDEX rapport_imports_recent ON rapport_imports (workspace_id, created_at, id)`
]

// Stable keys the app gives templates and rules (set-up as code finds them again by key). NULL for
// records made at run time: a unique index allows any number of NULLs on both dialects.
const setupKeys = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_templates ADD COLUMN setup_key ${t.key}`,
  `CREATE UNIQUE INDEX rapport_templates_setup_key ON rapport_templates (workspace_id, setup_key)`,
  `ALTER TABLE rapport_rules ADD COLUMN setup_key ${t.key}`,
  `CREATE UNIQUE INDEX rapport_rules_setup_key ON rapport_rules (workspace_id, setup_key)`
]

// Consent proof and double opt-in (a pending consent has requested_at), and the deliverability of
// addresses per workspace: hard bounces, soft bounce counts, spam complaints (issue 15).
const consentProof = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_consents ADD COLUMN proof ${t.json}`,
  `ALTER TABLE rapport_consents ADD COLUMN requested_at ${t.instant}`,
  `CREATE TABLE rapport_address_health (
    workspace_id ${t.key} NOT NULL,
    email ${t.key} NOT NULL,
    hard_bounced_at ${t.instant},
    hard_bounce_reason TEXT,
    soft_bounces INTEGER NOT NULL,
    last_soft_bounce_at ${t.instant},
    complained_at ${t.instant},
    PRIMARY KEY (workspace_id, email)
  )`
]

// A template's per-locale variants (issue 15): one row per template and locale, read whole with
// the template when a mail is rendered. Keyed by workspace first, like every table.
const templateLocales = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_template_locales (
    workspace_id ${t.key} NOT NULL,
    template_id ${t.key} NOT NULL,
    locale ${t.key} NOT NULL,
    subject TEXT NOT NULL,
    html TEXT,
    text TEXT,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, template_id, locale)
  )`
]

// The purpose a job took its place under, which a pressure cap counts across channels (marketing
// mails and rules' tasks, issue 15); counted per contact and purpose in a window of reserved_at.
const pressure = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_jobs ADD COLUMN purpose ${t.key}`,
  `CREATE INDEX rapport_jobs_pressure ON rapport_jobs (workspace_id, contact_id, purpose, reserved_at)`
]

// Orders read back as records (issue 16): an order is `placed` or `cancelled` (when, in
// cancelled_at); refunded_minor is the sum of its refunds, each kept in rapport_order_refunds under
// the id of the `order.refunded` event that recorded it. Net revenue is `total_minor -
// refunded_minor` over the orders still `placed`. refunded_minor has total_minor's type (BIGINT
// on PostgreSQL), which it never exceeds. Listings go newest first over the workspace's orders:
// rapport_orders_placed serves them and the period filters.
const orderStatus = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_orders ADD COLUMN status ${t.key} NOT NULL DEFAULT 'placed'`,
  `ALTER TABLE rapport_orders ADD COLUMN cancelled_at ${t.instant}`,
  `ALTER TABLE rapport_orders ADD COLUMN refunded_minor ${t.bigint} NOT NULL DEFAULT 0`,
  `CREATE INDEX rapport_orders_placed ON rapport_orders (workspace_id, placed_at, id)`,
  `CREATE TABLE rapport_order_refunds (
    workspace_id ${t.key} NOT NULL,
    order_id ${t.key} NOT NULL,
    event_id ${t.key} NOT NULL,
    amount_minor ${t.bigint} NOT NULL,
    reason TEXT,
    refunded_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, order_id, event_id)
  )`
]

// Campaigns (issue 16): a template sent to an audience through the outbox. The row holds the
// fan-out's position (cursor, queued), advanced in the transaction that queues each page of mails;
// the mails are jobs keyed by campaign and contact. Listed newest first per workspace.
const campaigns = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_campaigns (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    setup_key ${t.key},
    name TEXT NOT NULL,
    template_id ${t.key} NOT NULL,
    audience ${t.json} NOT NULL,
    purpose ${t.key} NOT NULL,
    send_at ${t.instant},
    rate_per_minute INTEGER,
    goal ${t.json},
    status ${t.key} NOT NULL,
    fanout_cursor TEXT,
    queued INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    started_at ${t.instant},
    finished_at ${t.instant},
    cancelled_at ${t.instant},
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE UNIQUE INDEX rapport_campaigns_setup_key ON rapport_campaigns (workspace_id, setup_key)`,
  `CREATE INDEX rapport_campaigns_recent ON rapport_campaigns (workspace_id, created_at, id)`
]

// Marketing spend the app records per channel, campaign ('' for the channel as a whole: a key
// column cannot be NULL), month (YYYY-MM) and currency, for the channel report's cost per
// acquired customer (issue 16). One row per key: recording again replaces the amount. And an
// index on contacts' first-seen instant, which the channel report and the funnel's cohorts select by.
const channelSpend = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE TABLE rapport_channel_spend (
    workspace_id ${t.key} NOT NULL,
    channel ${t.key} NOT NULL,
    campaign ${t.key} NOT NULL,
    month ${t.key} NOT NULL,
    currency ${t.key} NOT NULL,
    amount_minor ${t.bigint} NOT NULL,
    recorded_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, channel, campaign, month, currency)
  )`,
  // The channel report and the funnel's cohorts select contacts by when they were first seen.
  `CREATE INDEX rapport_contacts_first_seen ON rapport_contacts (workspace_id, first_seen_at)`
]

// Issue 16, helper E. The weighted pipeline's aggregate (internal/sales.ts `sums`) read every deal
// row of the workspace and sorted it into groups. These covering indexes hold, in group order,
// exactly the columns it reads (grouped by pipeline, and by expected-close month through an index
// on the same `substr` expression), so it becomes one ordered scan of an index with no table
// lookup and no sort. Then the pipeline's daily history (one marker row per workspace and day,
// written with its rows, so a day is taken once) and each contact's RFM quintiles.
const pipelineAggregates = (t: Types, _pg: boolean): ReadonlyArray<string> => [
  `CREATE INDEX rapport_deals_weighted_pipeline ON rapport_deals
    (workspace_id, pipeline_id, currency, status, amount_minor, override_probability, stage_probability)`,
  `CREATE INDEX rapport_deals_weighted_month ON rapport_deals
    (workspace_id, (substr(expected_close_date, 1, 7)), currency, status, amount_minor, override_probability, stage_probability)`,
  `CREATE TABLE rapport_pipeline_snapshot_days (
    workspace_id ${t.key} NOT NULL,
    day ${t.key} NOT NULL,
    taken_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, day)
  )`,
  `CREATE TABLE rapport_pipeline_snapshots (
    workspace_id ${t.key} NOT NULL,
    day ${t.key} NOT NULL,
    pipeline_id ${t.key} NOT NULL,
    stage ${t.key} NOT NULL,
    currency ${t.key} NOT NULL,
    deal_count INTEGER NOT NULL,
    amount_minor ${t.bigint} NOT NULL,
    weighted_hundredths ${t.bigint} NOT NULL,
    PRIMARY KEY (workspace_id, day, pipeline_id, stage, currency)
  )`,
  `CREATE TABLE rapport_contact_rfm (
    workspace_id ${t.key} NOT NULL,
    contact_id ${t.key} NOT NULL,
    recency INTEGER NOT NULL,
    frequency INTEGER NOT NULL,
    monetary INTEGER NOT NULL,
    last_order_at ${t.instant} NOT NULL,
    order_count INTEGER NOT NULL,
    computed_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
  )`
]

const statements = (build: (t: Types, pg: boolean) => ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ddl = sql.onDialectOrElse({ pg: () => build(pgTypes, true), orElse: () => build(sqliteTypes, false) })
    for (const statement of ddl) yield* sql.unsafe(statement).raw
  })

// Saved segments (issue 16): a named condition per workspace, evaluated by SQL when read; and
// the flag of contact fields kept indexed (an expression index per field key, see fieldIndexes.ts).
const segments = (t: Types, pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_field_definitions ADD COLUMN indexed ${t.bool} NOT NULL DEFAULT ${pg ? "FALSE" : "0"}`,
  `CREATE TABLE rapport_segments (
    workspace_id ${t.key} NOT NULL,
    id ${t.key} NOT NULL,
    name ${t.key} NOT NULL,
    description TEXT,
    condition_json TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at ${t.instant} NOT NULL,
    updated_at ${t.instant} NOT NULL,
    PRIMARY KEY (workspace_id, id)
  )`,
  `CREATE UNIQUE INDEX rapport_segments_name ON rapport_segments (workspace_id, name)`
]

// Segments the app marks `indexed` (issue 16): an index made for the segment's condition, by the
// fields it tests (segments.ts).
const indexedSegments = (t: Types, pg: boolean): ReadonlyArray<string> => [
  `ALTER TABLE rapport_segments ADD COLUMN indexed ${t.bool} NOT NULL DEFAULT ${pg ? "FALSE" : "0"}`
]

// The analytics reports (issue 16) read many orders, lines, contacts and stage moves; each of these
// indexes holds, in the order a report reads them, every column it needs, so a report reads ranges
// of indexes and no table row (the same indexes a database engineer gives the hand-written SQL the
// benchmark compares with). Two replace narrower ones they extend (same leading columns, so every
// query the old one served, the new one serves). Partial where a report reads a fixed subset:
// placed orders, stage moves (other events and cancelled orders never pay for them).
const analyticsIndexes = (_t: Types, _pg: boolean): ReadonlyArray<string> => [
  // Top customers and products, revenue: the placed orders of a period with what the sums read.
  `CREATE INDEX rapport_orders_placed_net ON rapport_orders (workspace_id, placed_at, id, contact_id, currency, total_minor, refunded_minor) WHERE status = 'placed'`,
  // Top products and margins: an order's lines with what they add up.
  `CREATE INDEX rapport_order_lines_sums ON rapport_order_lines (workspace_id, order_id, sku, currency, quantity, unit_price_minor, unit_cost_minor, name)`,
  // Channels and the funnel's cohorts: contacts by first-seen instant with channel, campaign and stage.
  `DROP INDEX IF EXISTS rapport_contacts_first_seen`,
  `CREATE INDEX rapport_contacts_first_seen ON rapport_contacts (workspace_id, first_seen_at, source_channel, source_campaign, stage, id)`,
  // Channels' revenue, lifecycle order counts: a contact's orders with their status and net.
  `DROP INDEX IF EXISTS rapport_orders_contact`,
  `CREATE INDEX rapport_orders_contact ON rapport_orders (workspace_id, contact_id, placed_at, status, currency, total_minor, refunded_minor)`,
  // The funnel: stage moves by contact in time order.
  `CREATE INDEX rapport_events_stage_moves ON rapport_events (workspace_id, contact_id, occurred_at, id) WHERE type = 'contact.stage_changed'`
]

// PostgreSQL's segment compiler reads text and number fields as typed SQL values instead of jsonb
// values (conditionSql.ts): the indexes of indexed fields and segments are made anew for that
// reading (new names: a name derives from its expression). SQLite's reading did not change: every
// index exists already. The earlier indexes are kept: an instance still running the earlier
// version reads them until it is replaced (an operator drops them after; docs/segments.md).
const typedFieldIndexes = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const fields = yield* Effect.flatMap(sql`SELECT * FROM rapport_field_definitions WHERE entity = 'contact'`, Schema.decodeUnknown(Schema.Array(FieldDefinitionRow)))
  for (const def of fields) yield* ensureFieldIndex(sql, def)
  const segments = yield* Effect.flatMap(sql`SELECT * FROM rapport_segments`, Schema.decodeUnknown(Schema.Array(SegmentRow)))
  for (const segment of segments.filter((s) => s.indexed)) {
    const registry = Condition.contactRegistry(fields.filter((d) => d.workspaceId === segment.workspaceId), [])
    const columns = Segment.indexColumns(segment.condition, registry)
    if (Either.isRight(columns)) yield* ensureContactIndex(sql, columns.right)
  }
})

/**
 * The migrations, by `<id>_<name>`. Never edit one that has shipped: add the next.
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_initial_schema": statements(initialSchema),
  "0002_pipelines_deals_tasks": statements(pipelineSchema),
  "0003_rules_outbox_consent": statements(rulesSchema),
  "0004_contacts_phone_index": statements(phoneSchema),
  "0005_workspace_country": statements(() => ["ALTER TABLE rapport_workspaces ADD COLUMN country TEXT"]),
  "0006_wide_integers": statements(wideIntegers),
  "0007_contact_emails_phones": statements(contactIdentities),
  "0008_http_idempotency": statements(httpIdempotency),
  "0009_api_keys_webhook_receipts": statements(apiKeysWebhookReceipts),
  "0010_webhooks_out": statements(webhooksOut),
  "0011_imports": statements(imports),
  "0012_template_locales": statements(templateLocales),
  "0013_setup_keys": statements(setupKeys),
  "0014_consent_proof": statements(consentProof),
  "0015_pressure": statements(pressure),
  "0016_order_status": statements(orderStatus),
  "0017_segments": statements(segments),
  "0018_channel_spend": statements(channelSpend),
  "0019_campaigns": statements(campaigns),
  "0020_pipeline_aggregates": statements(pipelineAggregates),
  "0021_indexed_segments": statements(indexedSegments),
  "0022_analytics_indexes": statements(analyticsIndexes),
  "0023_typed_field_indexes": typedFieldIndexes
}

/**
 * The table applied migrations are recorded in.
 *
 * @since 0.1.0
 * @category constructors
 */
export const table = "rapport_migrations"

// Any number that is Rapport's: pg_advisory_xact_lock takes a bigint key.
const ADVISORY_LOCK_KEY = 7_265_616_112

const migrate = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })

/**
 * The statement that makes a SQLite transaction a writer from its first statement, as `BEGIN
 * IMMEDIATE` would (the driver's client only issues `BEGIN`). A deferred transaction that reads
 * and then writes cannot wait for another process's write lock (SQLite answers "database is
 * locked" at once to avoid a deadlock); one that writes first waits for the busy timeout.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sqliteWriteLock = (sql: SqlClient.SqlClient) => sql`DELETE FROM rapport_write_lock WHERE 0`

/**
 * Applies the migrations not applied yet; returns those it applied. A failed migration rolls back
 * and fails with `StorageError` naming it. Instances or processes starting together on a new
 * database migrate it once: the run holds PostgreSQL's advisory lock or SQLite's write lock.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run: Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, Errors.StorageError, SqlClient.SqlClient> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.onDialectOrElse({
      // One transaction holds the lock for the whole run. The migrations table is created here:
      // the Migrator probes for it with a query that, failing, would abort this transaction.
      pg: () =>
        sql.withTransaction(
          Effect.all([
            sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY})`,
            sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
              migration_id integer PRIMARY KEY,
              created_at timestamptz NOT NULL DEFAULT now(),
              name text NOT NULL
            )`,
            migrate
          ]).pipe(Effect.map(([, , applied]) => applied))
        ),
      sqlite: () =>
        Effect.zipRight(
          sql`CREATE TABLE IF NOT EXISTS rapport_write_lock (x INTEGER)`,
          sql.withTransaction(Effect.zipRight(sqliteWriteLock(sql), migrate))
        ),
      orElse: () => migrate
    })
  }).pipe(
    // The Migrator turns a failing migration into a defect; here it is a StorageError like any other.
    Effect.catchAllDefect((defect) => Effect.fail(new Errors.StorageError({ reason: "failed", message: `Migration failed: ${String(defect)}`, cause: defect }))),
    Effect.mapError((error) =>
      error._tag === "StorageError"
        ? error
        : error._tag === "SqlError"
          ? storageError(error)
          : new Errors.StorageError({ reason: "failed", message: `Could not apply Rapport's migrations: ${error.message}`, cause: error })
    ),
    Effect.withSpan("Rapport.migrate")
  )
