/**
 * Who may call the HTTP API, and what they may do. The host app decides who is calling
 * (`authenticate`: its session, its tokens, Rapport's API keys); every route names its action
 * (`contacts.update`), and `authorize` decides, by default from the caller's role with the
 * presets below. The caller's workspace is the only one any route of the request reaches.
 *
 * @since 0.6.0
 */
import type { ApiKey } from "@rapport/core"
import type { IncomingMessage } from "node:http"

/**
 * The caller of a request, as `authenticate` returns it.
 *
 * @since 0.6.0
 * @category models
 */
export interface Caller {
  /** The workspace the request works in; no route reaches another. */
  readonly workspace: string
  /** Who is calling: a user id of the host app, an API key id… (idempotency keys are kept per principal). */
  readonly principal: string
  /** The caller's role: one of {@link RoleName} for the default `authorize`, or any name your own understands. */
  readonly role: string
}

/**
 * Whether a route reads (GET) or changes something.
 *
 * @since 0.6.0
 * @category models
 */
export type Access = "read" | "write"

/**
 * What a route acts on: its group (`contacts`, `deals`…), the record named in its path when there
 * is one, and whether it reads or writes.
 *
 * @since 0.6.0
 * @category models
 */
export interface Resource {
  readonly type: string
  readonly id: string | undefined
  readonly access: Access
}

/**
 * Recognises the caller of a request, from the host app's session or token: `null` (or
 * `undefined`) when there is none, and the request is refused with 401. May be async. A thrown
 * error is a 500 (logged), never a 401: a broken session store must not look like a logout.
 *
 * @since 0.6.0
 * @category models
 */
export type Authenticate<Req extends IncomingMessage = IncomingMessage> = (
  req: Req
) => Caller | null | undefined | Promise<Caller | null | undefined>

/**
 * Decides whether the caller may do `action` (`contacts.update`: the route's group and operation)
 * on `resource`; `false` refuses the request with 403. May be async.
 *
 * @since 0.6.0
 * @category models
 */
export type Authorize = (caller: Caller, action: string, resource: Resource) => boolean | Promise<boolean>

/**
 * The role presets of {@link authorizeByRole}: the core's `ApiKey.Role` (an API key has one).
 *
 * @since 0.6.0
 * @category models
 */
export type RoleName = ApiKey.Role

/**
 * What each preset role may change, as action patterns (`group.*` is every action of a group);
 * every role but none may read everything, `admin` may do everything, `read-only` changes nothing.
 *
 * - `sales`: contacts, companies, deals and pipelines, tasks, the timeline, events, lifecycle
 *   moves, consent decisions, double opt-in requests and unsubscribe links, segments;
 * - `marketing`: contacts, companies, tasks, the timeline, events, lifecycle moves, consent
 *   decisions, double opt-in requests and unsubscribe links, clearing an address's bounces,
 *   templates, rules, segments and campaigns, and the marketing spend analytics reports cost per customer from.
 *
 * What only `admin` may change: custom fields, the lifecycle's definition, the workspace's
 * settings, the dispatcher's jobs, GDPR erasure, and any route added later that no preset names.
 *
 * @since 0.6.0
 * @category constructors
 */
export const roleWrites: Readonly<Record<RoleName, ReadonlyArray<string>>> = {
  admin: ["*"],
  sales: [
    "contacts.*",
    "companies.*",
    "deals.*",
    "pipelines.*",
    "tasks.*",
    "timeline.*",
    "events.*",
    "lifecycle.move",
    "consent.grant",
    "consent.withdraw",
    "consent.request",
    "consent.unsubscribeUrl",
    "segments.*"
  ],
  marketing: [
    "contacts.*",
    "companies.*",
    "tasks.*",
    "timeline.*",
    "events.*",
    "lifecycle.move",
    "consent.grant",
    "consent.withdraw",
    "consent.request",
    "consent.unsubscribeUrl",
    "consent.clearBounce",
    "templates.*",
    "rules.*",
    "campaigns.*",
    "segments.*",
    "analytics.recordSpend",
    "analytics.refreshRfm",
    "analytics.takeSnapshot"
  ],
  "read-only": []
}

/**
 * Actions only `admin` may take, reads included (listing API keys tells who can call the API):
 * API keys, inbound webhook sources and outbound webhook subscriptions.
 *
 * @since 0.6.0
 * @category constructors
 */
export const adminOnly: ReadonlyArray<string> = ["apiKeys.*", "inboundWebhooks.*", "webhooks.*"]

const matches = (pattern: string, action: string): boolean =>
  pattern === "*" || pattern === action || (pattern.endsWith(".*") && action.startsWith(pattern.slice(0, -1)))

const isRole = (role: string): role is RoleName => Object.hasOwn(roleWrites, role)

/**
 * The default `authorize`: reads are allowed to every preset role, writes as {@link roleWrites}
 * says; {@link adminOnly} actions, reads included, to `admin` alone. A role that is not a preset
 * is refused everything: pass your own `authorize` for it.
 *
 * @since 0.6.0
 * @category constructors
 */
export const authorizeByRole: Authorize = (caller, action, resource) => {
  if (!isRole(caller.role)) return false
  if (caller.role !== "admin" && adminOnly.some((pattern) => matches(pattern, action))) return false
  if (resource.access === "read") return true
  return roleWrites[caller.role].some((pattern) => matches(pattern, action))
}
