/**
 * Rapport's own API keys as an `authenticate`: the key is read from `Authorization: Bearer rk_…`
 * or `X-Api-Key: rk_…`, verified by the core (`apiKeys.verify`: stored hashed, compared in
 * constant time, revoked keys refused), and the caller is the key's workspace, with the key as
 * principal (`apiKey:<id>`) and its role.
 *
 * @example
 * ```ts
 * import { apiKeyAuth, rapportRouter } from "@rapport/express"
 *
 * const keys = apiKeyAuth(crm)
 * // API keys for other servers, the app's own session for its users:
 * app.use("/crm", rapportRouter(crm, { authenticate: async (req) => (await keys(req)) ?? sessionCaller(req) }))
 * ```
 *
 * @since 0.6.0
 */
import type { ApiKey, RapportError } from "@rapport/core"
import type { IncomingMessage } from "node:http"
import type { Authenticate, Caller } from "./Auth.js"

/**
 * What {@link apiKeyAuth} needs of a client: its `apiKeys.verify` (any `CrmClient` has it).
 *
 * @since 0.6.0
 * @category models
 */
export interface ApiKeyVerifier {
  readonly apiKeys: {
    /** Finds the key's workspace and role; rejects when the key is unknown, malformed or revoked. */
    readonly verify: (key: string) => Promise<{ readonly workspace: string; readonly keyId: string; readonly role: ApiKey.Role | string }>
  }
}

const single = (value: string | ReadonlyArray<string> | undefined): string | undefined => (typeof value === "string" ? value : value?.[0])

/**
 * The key a request presents: `Authorization: Bearer <key>` (scheme in any case) or
 * `X-Api-Key: <key>`; only a value shaped like a Rapport key (`rk_…`), so that another bearer token
 * (the app's own) is left to the next authenticator.
 *
 * @since 0.6.0
 * @category utils
 */
export const presentedKey = (req: IncomingMessage): string | undefined => {
  const authorization = single(req.headers.authorization)?.trim()
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]
  const candidate = bearer ?? single(req.headers["x-api-key"])?.trim()
  return candidate !== undefined && candidate.startsWith("rk_") ? candidate : undefined
}

const isRefusal = (error: unknown): error is RapportError =>
  typeof error === "object" && error !== null && (error as { readonly code?: unknown }).code === "UNAUTHENTICATED"

/**
 * An `authenticate` that recognises Rapport API keys: the key's workspace, `apiKey:<id>` as
 * principal and the key's role; `null` when the request carries no Rapport key, or one that is
 * malformed, unknown, wrong or revoked (answered 401). Other failures (the database is down) are
 * thrown: a 5xx, never taken for a logout.
 *
 * @since 0.6.0
 * @category constructors
 */
export const apiKeyAuth =
  (crm: ApiKeyVerifier): Authenticate =>
  async (req): Promise<Caller | null> => {
    const key = presentedKey(req)
    if (key === undefined) return null
    try {
      const verified = await crm.apiKeys.verify(key)
      return { workspace: verified.workspace, principal: `apiKey:${verified.keyId}`, role: verified.role }
    } catch (error) {
      if (isRefusal(error)) return null
      throw error
    }
  }
