// Signed unsubscribe tokens: the workspace, the contact and when the token was issued, signed with
// HMAC-SHA256 under the app's secret. A link cannot be forged to unsubscribe someone else, nor
// re-dated; its issue time lets links expire and keeps an old link from withdrawing a newer
// opt-in. No lookup table is needed.
import { createHmac, timingSafeEqual } from "node:crypto"

const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url")
const sign = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest("base64url")

/** A token naming the contact of a workspace, issued at `issuedAt` (epoch milliseconds). */
export const makeToken = (secret: string, workspaceId: string, contactId: string, issuedAt: number): string => {
  const payload = encode(JSON.stringify([workspaceId, contactId, issuedAt]))
  return `${payload}.${sign(secret, payload)}`
}

/** What a token whose signature holds names. `issuedAt` is undefined for tokens made before 0.4.0. */
export interface TokenContent {
  readonly workspaceId: string
  readonly contactId: string
  readonly issuedAt: number | undefined
}

/** The workspace, contact and issue time a token names, if its signature holds. */
export const readToken = (secret: string, token: string): TokenContent | undefined => {
  const [payload, signature, ...rest] = token.split(".")
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined
  const expected = Buffer.from(sign(secret, payload))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
    if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") return undefined
    if (parsed.length === 2) return { workspaceId: parsed[0], contactId: parsed[1], issuedAt: undefined }
    return parsed.length === 3 && Number.isSafeInteger(parsed[2]) && parsed[2] >= 0
      ? { workspaceId: parsed[0], contactId: parsed[1], issuedAt: parsed[2] }
      : undefined
  } catch {
    return undefined
  }
}

/** The unsubscribe URL for a token: `{token}` in the configured URL is replaced, else appended. */
export const unsubscribeUrl = (url: string, token: string): string =>
  url.includes("{token}") ? url.replace("{token}", encodeURIComponent(token)) : `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`
