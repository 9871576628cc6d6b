// Signed unsubscribe tokens: the workspace, the contact and when the token was issued, signed with
// HMAC-SHA256 under the app's secret. A link cannot be forged to unsubscribe someone else, nor
// re-dated; its issue time lets links expire and keeps an old link from withdrawing a newer
// opt-in. No lookup table is needed.
import { createHmac, timingSafeEqual } from "node:crypto"

const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url")
const sign = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest("base64url")

/** `value` as JSON, base64url, then its signature: `payload.signature`. */
const signed = (secret: string, value: ReadonlyArray<unknown>): string => {
  const payload = encode(JSON.stringify(value))
  return `${payload}.${sign(secret, payload)}`
}

/** The JSON a token carries when its signature holds (compared in constant time); undefined otherwise. */
const verified = (secret: string, token: string): unknown => {
  const [payload, signature, ...rest] = token.split(".")
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined
  const expected = Buffer.from(sign(secret, payload))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

/** A token naming the contact of a workspace, issued at `issuedAt` (epoch milliseconds). */
export const makeToken = (secret: string, workspaceId: string, contactId: string, issuedAt: number): string =>
  signed(secret, [workspaceId, contactId, issuedAt])

/** What a token whose signature holds names. `issuedAt` is undefined for tokens made before 0.4.0. */
export interface TokenContent {
  readonly workspaceId: string
  readonly contactId: string
  readonly issuedAt: number | undefined
}

/** The workspace, contact and issue time a token names, if its signature holds. */
export const readToken = (secret: string, token: string): TokenContent | undefined => {
  const parsed = verified(secret, token)
  if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") return undefined
  if (parsed.length === 2) return { workspaceId: parsed[0], contactId: parsed[1], issuedAt: undefined }
  return parsed.length === 3 && Number.isSafeInteger(parsed[2]) && parsed[2] >= 0
    ? { workspaceId: parsed[0], contactId: parsed[1], issuedAt: parsed[2] }
    : undefined
}

/** The unsubscribe URL for a token: `{token}` in the configured URL is replaced, else appended. */
export const unsubscribeUrl = (url: string, token: string): string =>
  url.includes("{token}") ? url.replace("{token}", encodeURIComponent(token)) : `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`

// An address as `mailto:` may carry it in List-Unsubscribe: a dot-atom local part and a host name.
const MAILTO_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/

/** Whether `mailto` can be put in a List-Unsubscribe header as it is. */
export const isMailtoAddress = (mailto: string): boolean => MAILTO_ADDRESS.test(mailto)

/**
 * The one List-Unsubscribe value of a marketing mail (RFC 2369, RFC 8058): the HTTPS link, and
 * when an unsubscribe address is configured a `mailto:` whose subject carries the same token.
 */
export const listUnsubscribe = (url: string, token: string, mailto: string | undefined): string =>
  mailto === undefined ? `<${url}>` : `<${url}>, <mailto:${mailto}?subject=${encodeURIComponent(`unsubscribe ${token}`)}>`

// Double opt-in confirmation tokens are signed the same way. Their payload starts with "confirm"
// and has five items, so that neither kind of token is ever read as the other, even under one secret.

/** What a confirmation token names. */
export interface ConfirmationContent {
  readonly workspaceId: string
  readonly contactId: string
  readonly purpose: string
  readonly issuedAt: number
}

/** A token confirming the contact's consent for a purpose, requested at `issuedAt` (epoch milliseconds). */
export const makeConfirmationToken = (secret: string, content: ConfirmationContent): string =>
  signed(secret, ["confirm", content.workspaceId, content.contactId, content.purpose, content.issuedAt])

/** What a confirmation token names, if its signature holds and its form is a confirmation's. */
export const readConfirmationToken = (secret: string, token: string): ConfirmationContent | undefined => {
  const parsed = verified(secret, token)
  if (!Array.isArray(parsed) || parsed.length !== 5 || parsed[0] !== "confirm") return undefined
  const [, workspaceId, contactId, purpose, issuedAt] = parsed as Array<unknown>
  return typeof workspaceId === "string" && typeof contactId === "string" && typeof purpose === "string" && Number.isSafeInteger(issuedAt) && (issuedAt as number) >= 0
    ? { workspaceId, contactId, purpose, issuedAt: issuedAt as number }
    : undefined
}
