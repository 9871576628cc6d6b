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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Storage } from "./ports/Storage.js"
import { Companies } from "./services/Companies.js"
import { Consents } from "./services/Consents.js"
import { Dispatcher } from "./services/Dispatcher.js"
import { Rules } from "./services/Rules.js"
import { Contacts } from "./services/Contacts.js"
import { Deals } from "./services/Deals.js"
import { Events } from "./services/Events.js"
import { Fields } from "./services/Fields.js"
import { Lifecycle } from "./services/Lifecycle.js"
import { Pipelines } from "./services/Pipelines.js"
import { Tasks } from "./services/Tasks.js"
import { Templates } from "./services/Templates.js"
import { Timeline } from "./services/Timeline.js"
import { Workspaces } from "./services/Workspaces.js"

/**
 * Every service, in one value.
 *
 * @since 0.1.0
 * @category services
 */
export class Crm extends Effect.Service<Crm>()("@rapport/core/Crm", {
  effect: Effect.gen(function* () {
    return {
      contacts: yield* Contacts,
      companies: yield* Companies,
      fields: yield* Fields,
      lifecycle: yield* Lifecycle,
      timeline: yield* Timeline,
      events: yield* Events,
      settings: yield* Workspaces,
      pipelines: yield* Pipelines,
      deals: yield* Deals,
      tasks: yield* Tasks,
      templates: yield* Templates,
      rules: yield* Rules,
      dispatcher: yield* Dispatcher,
      consent: yield* Consents
    } as const
  }),
  dependencies: [
    Contacts.Default,
    Companies.Default,
    Fields.Default,
    Lifecycle.Default,
    Timeline.Default,
    Events.Default,
    Workspaces.Default,
    Pipelines.Default,
    Deals.Default,
    Tasks.Default,
    Templates.Default,
    Rules.Default,
    Dispatcher.Default,
    Consents.Default
  ]
}) {}

/**
 * The services the CRM layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | Crm
  | Contacts
  | Companies
  | Fields
  | Lifecycle
  | Timeline
  | Events
  | Workspaces
  | Pipelines
  | Deals
  | Tasks
  | Templates
  | Rules
  | Dispatcher
  | Consents

/**
 * All services; needs a {@link Storage}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Services, never, Storage> = Layer.mergeAll(
  Crm.Default,
  Contacts.Default,
  Companies.Default,
  Fields.Default,
  Lifecycle.Default,
  Timeline.Default,
  Events.Default,
  Workspaces.Default,
  Pipelines.Default,
  Deals.Default,
  Tasks.Default,
  Templates.Default,
  Rules.Default,
  Dispatcher.Default,
  Consents.Default
)
