// The Authorized middleware's implementation: the host's `authenticate`, the route's action through
// `authorize`, the rate limit, then the caller's workspace for the route to run in.
import type { IncomingMessage } from "node:http"
import { Ids } from "@rapport/core"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { Authenticate, Authorize, Caller, Resource } from "../Auth.js"
import { problem } from "../Problem.js"
import { NodeRequest, requestState, type RouteInfo } from "./context.js"
import { Authorized } from "./routes.js"

/**
 * What the `rateLimit` hook decides for one request: let it through, or refuse it with 429 and,
 * when known, how many seconds to wait (`Retry-After`).
 *
 * @since 0.6.0
 * @category models
 */
export type RateLimitDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfter?: number | undefined }

/**
 * Decides whether a request may proceed, after it was authenticated and authorized (count per
 * caller, per action…). May be async.
 *
 * @since 0.6.0
 * @category models
 */
export type RateLimit<Req extends IncomingMessage = IncomingMessage> = (request: {
  readonly caller: Caller
  readonly action: string
  readonly resource: Resource
  readonly req: Req
}) => RateLimitDecision | Promise<RateLimitDecision>

export interface AuthorizeOptions {
  readonly authenticate: Authenticate<any>
  readonly authorize: Authorize
  readonly rateLimit: RateLimit<any> | undefined
  /** The WWW-Authenticate challenge of a 401. */
  readonly challenge: string
}

// A hook may answer at once or with a Promise: at once stays synchronous (no microtask per request).
const call = <A>(f: () => A | Promise<A>, what: string): Effect.Effect<A> =>
  Effect.suspend(() => {
    const result = f()
    return result instanceof Promise ? Effect.promise(() => result) : Effect.succeed(result)
  }).pipe(Effect.catchAllDefect((cause) => Effect.die(new Error(`Rapport: the ${what} hook threw`, { cause }))))

const isWorkspaceId = Schema.is(Ids.WorkspaceId)

const checkCaller = (caller: Caller): Effect.Effect<Ids.WorkspaceId> => {
  if (typeof caller !== "object" || typeof caller.principal !== "string" || caller.principal === "" || typeof caller.role !== "string") {
    return Effect.dieMessage("Rapport: authenticate must return { workspace, principal, role } (strings), or null")
  }
  return isWorkspaceId(caller.workspace)
    ? Effect.succeed(caller.workspace)
    : Effect.dieMessage(`Rapport: authenticate returned workspace ${JSON.stringify(caller.workspace)}, which is not a workspace id`)
}

export const authorizedLayer = (table: ReadonlyMap<string, RouteInfo>, options: AuthorizeOptions) =>
  Layer.succeed(
    Authorized,
    Effect.gen(function* () {
      const state = yield* FiberRef.get(requestState)
      if (state === undefined) return yield* Effect.dieMessage("Rapport: a route ran outside the API's problem middleware")
      const { route, params } = yield* HttpRouter.RouteContext
      const info = table.get(`${route.method} ${route.path}`)
      if (info === undefined) return yield* Effect.dieMessage(`Rapport: no action for ${route.method} ${route.path}`)
      state.route = info
      const node = yield* Effect.serviceOption(NodeRequest)
      if (node._tag === "None") return yield* Effect.dieMessage("Rapport: the API was called without its Node request")
      const caller = yield* call(() => options.authenticate(node.value.req), "authenticate")
      if (caller === null || caller === undefined) {
        return yield* problem(401, "UNAUTHENTICATED", "Authenticate first: no caller was recognised in this request", {
          headers: { "www-authenticate": options.challenge }
        })
      }
      const workspace = yield* checkCaller(caller)
      state.caller = caller
      const request = yield* HttpServerRequest.HttpServerRequest
      const id = info.params[0] === undefined ? undefined : params[info.params[0]]
      const resource: Resource = { type: info.group, id, access: info.access }
      state.resource = resource
      if ((yield* call(() => options.authorize(caller, info.action, resource), "authorize")) !== true) {
        return yield* problem(403, "FORBIDDEN", `The caller may not do ${info.action}`)
      }
      if (options.rateLimit !== undefined) {
        const limit = options.rateLimit
        const decision = yield* call(() => limit({ caller, action: info.action, resource, req: node.value.req }), "rateLimit")
        if (!decision.allowed) {
          const wait = decision.retryAfter === undefined ? undefined : Math.max(0, Math.ceil(decision.retryAfter))
          return yield* problem(429, "RATE_LIMITED", "Too many requests; slow down", {
            headers: wait === undefined ? {} : { "retry-after": String(wait) }
          })
        }
      }
      if (!info.versioned && request.headers["if-match"] !== undefined && HttpMethod.hasBody(request.method)) {
        return yield* problem(400, "PRECONDITION_UNSUPPORTED", `${info.action} has no version to compare: send it without If-Match`)
      }
      return workspace
    })
  )
