// Signed unsubscribe tokens: the workspace and contact, signed with HMAC-SHA256 under the app's
// secret, so a link cannot be forged to unsubscribe someone else, and needs no lookup table.
import { createHmac, timingSafeEqual } from "node:crypto"

const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url")
const sign = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest("base64url")

/** A token naming the contact of a workspace. */
export const makeToken = (secret: string, workspaceId: string, contactId: string): string => {
  const payload = encode(JSON.stringify([workspaceId, contactId]))
  return `${payload}.${sign(secret, payload)}`
}

/** The workspace and contact a token names, if its signature holds. */
export const readToken = (secret: string, token: string): { readonly workspaceId: string; readonly contactId: string } | undefined => {
  const [payload, signature, ...rest] = token.split(".")
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined
  const expected = Buffer.from(sign(secret, payload))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
    return Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string"
      ? { workspaceId: parsed[0], contactId: parsed[1] }
      : undefined
  } catch {
    return undefined
  }
}

/** The unsubscribe URL for a token: `{token}` in the configured URL is replaced, else appended. */
export const unsubscribeUrl = (url: string, token: string): string =>
  url.includes("{token}") ? url.replace("{token}", encodeURIComponent(token)) : `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`
