/**
 * Rapport over HTTP: the whole CRM as a REST API mounted in one line in Express, Connect or
 * `node:http`, from one `HttpApi` definition built on the core's Schemas (validation, RFC 9457
 * problem details and the OpenAPI 3.1 document all derive from it).
 *
 * @since 0.6.0
 */

/** @since 0.6.0 */
export * as Api from "./Api.js"
/** @since 0.6.0 */
export * as Auth from "./Auth.js"
/** @since 0.6.0 */
export * as Problem from "./Problem.js"

export { apiKeyAuth, type ApiKeyVerifier, presentedKey } from "./ApiKeyAuth.js"

export {
  rapportRouter,
  type RapportHandler,
  type RapportHttpOptions,
  type RateLimit,
  type RateLimitDecision,
  toNodeHandler
} from "./Handler.js"
export type { MountedRequest } from "./internal/node.js"
export { type Access, adminOnly, type Authenticate, type Authorize, authorizeByRole, type Caller, type Resource, type RoleName, roleWrites } from "./Auth.js"
export { type DashboardLocale, rapportDashboard, type RapportDashboardOptions } from "./dashboard/Dashboard.js"
