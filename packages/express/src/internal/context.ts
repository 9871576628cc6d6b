// What a request carries through the Effect program: the Node request it came from (for the host's
// `authenticate` and for links), the handler's settings, and the per-request state the route's
// middleware fills (the caller, the route) so that errors are mapped with it.
import type { IncomingMessage } from "node:http"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type { Access, Caller, Resource } from "../Auth.js"

/** The Node request behind the web Request, and the path the handler is mounted at. */
export class NodeRequest extends Context.Tag("@rapport/express/NodeRequest")<
  NodeRequest,
  { readonly req: IncomingMessage; readonly basePath: string }
>() {}

/** The handler's settings, as the routes need them. */
export interface Settings {
  readonly bodyLimit: number
  /** How long a stored Idempotency-Key answer is kept, in milliseconds. */
  readonly idempotencyTtl: number
  /** The prefix of problem `type` URIs; the code follows, lower-cased. */
  readonly problemTypeBase: string
}

export class HttpSettings extends Context.Tag("@rapport/express/HttpSettings")<HttpSettings, Settings>() {}

/** What the route table says of one endpoint (see Action). */
export interface RouteInfo {
  readonly action: string
  readonly group: string
  readonly method: string
  readonly path: string
  /** The route's path parameters, in order; the first names the resource's id. */
  readonly params: ReadonlyArray<string>
  /** Writes take the expected version from `If-Match`. */
  readonly versioned: boolean
  /** Creating POSTs honour `Idempotency-Key`. */
  readonly idempotent: boolean
  /** What `authorize` is told: GET routes read, others write, unless the route says it only reads (a report's POST). */
  readonly access: Access
}

/** Filled by the Authorized middleware; read by error mapping and by routes. */
export interface RequestState {
  caller: Caller | undefined
  route: RouteInfo | undefined
  resource: Resource | undefined
}

export const requestState = FiberRef.unsafeMake<RequestState | undefined>(undefined)

/** The authenticated caller of the current request (routes behind Authorized only). */
export const currentCaller: Effect.Effect<Caller> = Effect.flatMap(FiberRef.get(requestState), (state) =>
  state?.caller === undefined ? Effect.dieMessage("Rapport: no authenticated caller (is the route's group behind Authorized?)") : Effect.succeed(state.caller)
)

/** The route being served (routes behind Authorized only). */
export const currentRoute: Effect.Effect<RouteInfo> = Effect.flatMap(FiberRef.get(requestState), (state) =>
  state?.route === undefined ? Effect.dieMessage("Rapport: no route information (is the route's group behind Authorized?)") : Effect.succeed(state.route)
)

/** The base path the handler is mounted at (`/crm`), or "" outside a Node request. */
export const basePath: Effect.Effect<string> = Effect.map(Effect.serviceOption(NodeRequest), (node) =>
  node._tag === "Some" ? node.value.basePath : ""
)
