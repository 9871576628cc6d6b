/**
 * The whole CRM as one layer. Provide a Storage (and, when mail is sent, a Mailer) and every
 * service is available, individually (`Contacts`, `Events`…) or bundled as {@link Crm}, whose
 * namespaces mirror the Promise client's.
 *
 * @example
 * ```ts
 * import { Crm } from "@rapport/core"
 * import { SqliteStorage } from "@rapport/sqlite"
 * import { Effect, Layer } from "effect"
 *
 * const CrmLive = Crm.layer.pipe(Layer.provide(SqliteStorage.layer({ filename: "crm.db" })))
 *
 * const program = Effect.gen(function* () {
 *   const crm = yield* Crm.Crm
 *   const ada = yield* crm.contacts.create({ email: "ada@example.com", source: { channel: "trade-show" } })
 *   yield* crm.events.emit({ type: "quote.sent", contactId: ada.id, payload: { quoteRef: "Q-1" } })
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(CrmLive)))
 * ```
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Storage } from "./ports/Storage.js"
import { ApiKeys } from "./services/ApiKeys.js"
import { InboundWebhooks } from "./services/InboundWebhooks.js"
import { Webhooks } from "./services/Webhooks.js"
import { Companies } from "./services/Companies.js"
import { Consents } from "./services/Consents.js"
import { Dispatcher } from "./services/Dispatcher.js"
import { Rules } from "./services/Rules.js"
import { Setup } from "./services/Setup.js"
import { Segments } from "./services/Segments.js"
import { Contacts } from "./services/Contacts.js"
import { Deals } from "./services/Deals.js"
import { Events } from "./services/Events.js"
import { Fields } from "./services/Fields.js"
import { Imports } from "./services/Imports.js"
import { Analytics } from "./services/Analytics.js"
import { Snapshots } from "./services/Snapshots.js"
import { Campaigns } from "./services/Campaigns.js"
import { Orders } from "./services/Orders.js"
import { Lifecycle } from "./services/Lifecycle.js"
import { Pipelines } from "./services/Pipelines.js"
import { Tasks } from "./services/Tasks.js"
import { Templates } from "./services/Templates.js"
import { Timeline } from "./services/Timeline.js"
import { Workspaces } from "./services/Workspaces.js"

/**
 * The services, by the namespace under which {@link Crm} and the Promise client offer them. This
 * is the one list: the {@link Crm} bundle, {@link Services}, {@link layer} and the Promise
 * client's namespaces are all derived from it.
 *
 * @since 0.5.0
 * @category services
 */
export const services = {
  /** Contacts: create, read, update, merge, list. */
  contacts: Contacts,
  /** Companies contacts belong to. */
  companies: Companies,
  /** Custom field definitions. */
  fields: Fields,
  /** The lifecycle's stages, and moving contacts between them. */
  lifecycle: Lifecycle,
  /** Each contact's interaction history. */
  timeline: Timeline,
  /** What customers do, recorded once per id; rules react to it. */
  events: Events,
  /** The workspace's name, timezone and messaging settings. */
  settings: Workspaces,
  /** Sales pipelines and the workspace's sales settings. */
  pipelines: Pipelines,
  /** Deals (quotes), their stages, follow-ups and the weighted pipeline. */
  deals: Deals,
  /** Follow-up tasks. */
  tasks: Tasks,
  /** Email templates. */
  templates: Templates,
  /** Rules: when an event happens, if a condition holds, do actions. */
  rules: Rules,
  /** Runs the jobs rules queue (mails, delayed checks, custom actions). */
  dispatcher: Dispatcher,
  /** Marketing consent with its proof, double opt-in, unsubscribe links, bounces and complaints, GDPR access and erasure. */
  consent: Consents,
  /** API keys for server-to-server calls: created with a role, shown once, stored hashed, revoked, verified. */
  apiKeys: ApiKeys,
  /** Webhooks in: the sources a workspace receives shop webhooks from, and receiving them. */
  inboundWebhooks: InboundWebhooks,
  /** Webhooks out: subscriptions, their delivery log and redelivery. */
  webhooks: Webhooks,
  /** Imports as stored resources: their status, progress and report, readable from any instance. */
  imports: Imports,
  /** Campaigns: a marketing template sent to a segment now or at a time, throttled, each contact once; their stats. */
  campaigns: Campaigns,
  /** Orders as records: one, a page by contact, period and status, and a contact's figures per currency. */
  orders: Orders,
  /** Reports computed by the database: top customers and products, channels, the funnel, the avatar, rule variants. */
  analytics: Analytics,
  /** The weighted pipeline's daily history, and contacts' RFM scores (refreshed daily, usable in conditions as contact.rfm.*). */
  snapshots: Snapshots,
  /** Saved segments (named conditions over contacts) evaluated by the database: count, members, audiences. */
  segments: Segments,
  /** Set-up as code: fields, lifecycle, pipelines, templates and rules as the app declares them, applied in one transaction. */
  setup: Setup
} as const

type ServiceTags = (typeof services)[keyof typeof services]

/**
 * The service behind each namespace of {@link services}.
 *
 * @since 0.5.0
 * @category models
 */
export type Namespaces = { readonly [K in keyof typeof services]: Context.Tag.Service<(typeof services)[K]> }

type Defaults = ServiceTags["Default"]
type Out<L> = L extends Layer.Layer<infer A, infer _E, infer _R> ? A : never
type In<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never

const defaults: ReadonlyArray<Defaults> = Object.values(services).map((tag) => tag.Default)

// Layer.mergeAll types a spread list of differing layers as the intersection of their outputs;
// what it builds is every layer's output, which is what this says.
const mergeDefaults = (): Layer.Layer<Out<Defaults>, never, In<Defaults>> =>
  Layer.mergeAll(...(defaults as [Defaults, ...Array<Defaults>])) as unknown as Layer.Layer<Out<Defaults>, never, In<Defaults>>

/**
 * Every service, in one value.
 *
 * @since 0.1.0
 * @category services
 */
export class Crm extends Effect.Service<Crm>()("@rapport/core/Crm", {
  effect: Effect.all(services),
  dependencies: defaults
}) {}

/**
 * The services the CRM layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Crm | { readonly [K in keyof typeof services]: Context.Tag.Identifier<(typeof services)[K]> }[keyof typeof services]

/**
 * All services; needs a {@link Storage}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Services, never, Storage> = Layer.merge(Crm.Default, mergeDefaults())
