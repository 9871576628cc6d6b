/**
 * The built-in mappers from mail providers' webhook payloads to the bounces, complaints,
 * unsubscriptions and opens `consent.recordMailFeedback` records: Brevo's transactional and
 * marketing webhooks (`hard_bounce`, `soft_bounce`, `blocked`, `invalid_email`, `spam`,
 * `complaint`, `unsubscribed`, `opened`, `unique_opened`) and Mailjet's event API (`bounce` with
 * `hard_bounce` true or false, `blocked` for a recipient, `spam`, `unsub`, `open`), one event or a
 * batch (an array). Other events (delivered, clicked, Brevo's proxy opens…) are left out. Each
 * report's id derives from the provider's message and event, so a delivery sent again records
 * nothing twice. The idempotency key Rapport sent the mail with
 * is read from Brevo's `X-Mailin-custom` and Mailjet's `CustomID` when the host's mailer set them.
 *
 * @since 0.7.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { MailFeedback } from "./Consent.js"
import { EmailFromString } from "./Email.js"
import type { ValidationIssue } from "./Errors.js"

/**
 * The reports a payload maps to (none: nothing to record), or every issue found in it (paths from
 * the body's root).
 *
 * @since 0.7.0
 * @category models
 */
export type MappedFeedback = Either.Either<ReadonlyArray<MailFeedback>, ReadonlyArray<ValidationIssue>>

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A non-empty trimmed string, or a number written as text. */
const text = (u: unknown): string | undefined =>
  typeof u === "string" ? (u.trim() === "" ? undefined : u.trim()) : typeof u === "number" && Number.isFinite(u) ? String(u) : undefined

const clip = (s: string | undefined, max: number) => (s === undefined ? undefined : s.length <= max ? s : s.slice(0, max))

const validEmail = (u: unknown): string | undefined => {
  const candidate = text(u)
  return candidate === undefined ? undefined : Option.getOrUndefined(Option.map(Schema.decodeUnknownOption(EmailFromString)(candidate), String))
}

const digest = (...parts: ReadonlyArray<string | undefined>) => createHash("sha256").update(parts.map((p) => p ?? "").join("\u0000")).digest("hex").slice(0, 32)

/** An instant from Unix seconds (or milliseconds when `millis`), if plausible. */
const instantOf = (u: unknown, millis = false): string | undefined => {
  const n = typeof u === "number" ? u : typeof u === "string" && /^\d{1,16}$/.test(u.trim()) ? Number(u) : Number.NaN
  if (!Number.isFinite(n) || n <= 0) return undefined
  const date = new Date(millis ? n : n * 1000)
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 2000 || date.getUTCFullYear() > 9999 ? undefined : date.toISOString()
}

const defined = <A extends Record<string, unknown>>(o: A): A => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as A

/** Every item of a payload that is one event or an array of them, with its path. */
const itemsOf = (payload: unknown): Either.Either<ReadonlyArray<{ readonly item: Json; readonly path: ReadonlyArray<number> }>, ReadonlyArray<ValidationIssue>> => {
  if (isObject(payload)) return Either.right([{ item: payload, path: [] }])
  if (!Array.isArray(payload)) return Either.left([{ path: [], message: "must be an event object or an array of events" }])
  const issues: Array<ValidationIssue> = []
  const items: Array<{ readonly item: Json; readonly path: ReadonlyArray<number> }> = []
  payload.forEach((item: unknown, index) => (isObject(item) ? items.push({ item, path: [index] }) : issues.push({ path: [index], message: "must be an event object" })))
  return issues.length > 0 ? Either.left(issues) : Either.right(items)
}

const mapAll = (payload: unknown, one: (item: Json) => MailFeedback | "skip" | ValidationIssue): MappedFeedback =>
  Either.flatMap(itemsOf(payload), (items) => {
    const issues: Array<ValidationIssue> = []
    const out: Array<MailFeedback> = []
    for (const { item, path } of items) {
      const mapped = one(item)
      if (mapped === "skip") continue
      if ("message" in mapped && "path" in mapped) issues.push({ path: [...path, ...mapped.path], message: mapped.message })
      else out.push(mapped)
    }
    return issues.length > 0 ? Either.left(issues) : Either.right(out)
  })

const BREVO: Readonly<Record<string, { readonly type: MailFeedback["type"]; readonly kind?: "hard" | "soft" }>> = {
  hard_bounce: { type: "bounced", kind: "hard" },
  hardBounce: { type: "bounced", kind: "hard" },
  soft_bounce: { type: "bounced", kind: "soft" },
  softBounce: { type: "bounced", kind: "soft" },
  // Brevo refused to send: the address is on its block list (an earlier hard bounce or complaint).
  blocked: { type: "bounced", kind: "hard" },
  invalid_email: { type: "bounced", kind: "hard" },
  spam: { type: "complained" },
  complaint: { type: "complained" },
  unsubscribed: { type: "unsubscribed" },
  unsubscribe: { type: "unsubscribed" },
  // `unique_opened` is the first open of a `opened` series: the stats count a mail once either way.
  // `proxy_open` and `unique_proxy_open` are left out: a privacy proxy (Apple Mail Privacy
  // Protection) fetched the mail's images, which says nothing of whether anyone read it.
  opened: { type: "opened" },
  unique_opened: { type: "opened" }
}

/**
 * Brevo's webhooks (transactional or marketing): one event object, or an array when batching is
 * on. `hard_bounce`, `blocked` and `invalid_email` are hard bounces, `soft_bounce` a soft one,
 * `spam`/`complaint` a complaint, `unsubscribed` an unsubscription, `opened` and `unique_opened`
 * (since 0.8.0) an open of the mail named by `message-id`; other events, proxy opens among them,
 * are left out.
 *
 * @since 0.7.0
 * @category constructors
 */
export const brevo = (payload: unknown): MappedFeedback =>
  mapAll(payload, (item) => {
    const event = text(item["event"])
    const known = event === undefined ? undefined : BREVO[event]
    if (known === undefined) return "skip"
    const email = validEmail(item["email"])
    if (email === undefined) return { path: ["email"], message: `a Brevo ${event} event needs the recipient's email address` }
    const messageId = clip(text(item["message-id"]) ?? text(item["message_id"]), 300)
    const occurredAt = instantOf(item["ts_epoch"], true) ?? instantOf(item["ts_event"]) ?? instantOf(item["ts"])
    const campaign = text(item["camp_id"]) ?? text(item["campaign_id"])
    return defined({
      id: `brevo:${event}:${digest(messageId ?? campaign, email, occurredAt ?? text(item["date_event"]) ?? text(item["date"]))}`,
      type: known.type,
      email,
      kind: known.kind,
      reason: clip(text(item["reason"]) ?? (event === "blocked" ? "blocked by Brevo" : undefined), 1000),
      provider: "brevo",
      messageId,
      idempotencyKey: clip(text(item["X-Mailin-custom"]) ?? text(item["x-mailin-custom"]), 400),
      occurredAt
    }) as MailFeedback
  })

/**
 * Mailjet's event API: one event object, or an array (Mailjet groups events when asked to).
 * `bounce` is hard or soft after `hard_bounce`; `blocked` counts as a hard bounce when
 * `error_related_to` is `recipient` (a content or domain block is not the address's fault and is
 * left out); `spam` is a complaint, `unsub` an unsubscription, `open` (since 0.8.0) an open of the
 * mail named by `Message_GUID`; other events are left out.
 *
 * @since 0.7.0
 * @category constructors
 */
export const mailjet = (payload: unknown): MappedFeedback =>
  mapAll(payload, (item) => {
    const event = text(item["event"])
    let mapped: { readonly type: MailFeedback["type"]; readonly kind?: "hard" | "soft" } | undefined
    if (event === "bounce") mapped = { type: "bounced", kind: item["hard_bounce"] === true || item["hard_bounce"] === "true" ? "hard" : "soft" }
    else if (event === "blocked") mapped = text(item["error_related_to"]) === "recipient" ? { type: "bounced", kind: "hard" } : undefined
    else if (event === "spam") mapped = { type: "complained" }
    else if (event === "unsub") mapped = { type: "unsubscribed" }
    else if (event === "open") mapped = { type: "opened" }
    if (mapped === undefined) return "skip"
    const email = validEmail(item["email"])
    if (email === undefined) return { path: ["email"], message: `a Mailjet ${event} event needs the recipient's email address` }
    // MessageID is a 64-bit number JSON parsing may round: the GUID names the message exactly.
    const messageId = clip(text(item["Message_GUID"]) ?? text(item["MessageID"]), 300)
    const reason = [text(item["error"]), text(item["comment"])].filter((p) => p !== undefined).join(": ")
    return defined({
      id: `mailjet:${event}:${digest(messageId, email, text(item["time"]))}`,
      type: mapped.type,
      email,
      kind: mapped.kind,
      reason: clip(reason === "" ? undefined : reason, 1000),
      provider: "mailjet",
      messageId,
      idempotencyKey: clip(text(item["CustomID"]), 400),
      occurredAt: instantOf(item["time"])
    }) as MailFeedback
  })
