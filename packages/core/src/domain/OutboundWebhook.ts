/**
 * Outbound webhooks: the subscriptions through which a workspace tells other systems what happened
 * (a contact created, a stage changed, a deal won…), the messages they receive (Standard Webhooks:
 * `webhook-id`, `webhook-timestamp`, `webhook-signature`), the delivery log, and the pure checks
 * delivery relies on: which network addresses a delivery may reach, and what `Retry-After` asks.
 *
 * Secrets are stored as given: signing needs the secret itself. They are shown when a subscription
 * is created and when its secret is rotated, never in lists or reads.
 *
 * @since 0.6.0
 */
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import { JobId, WebhookDeliveryId, WebhookSubscriptionId, WorkspaceId } from "./Ids.js"
import { Text } from "./Json.js"
import { Instant } from "./Time.js"
import { standardSecretKey } from "./WebhookSignature.js"

/**
 * What a subscription can receive:
 * - `contact.created`: a contact was created (by hand, by an event naming a new email, by an import);
 * - `contact.stage_changed`: a contact moved to another lifecycle stage (automatically, by hand or
 *   by a rule), also the event rules can react to;
 * - `deal.won`, `deal.lost`: a deal was marked won or lost (or moved to its pipeline's won or lost stage);
 * - `order.placed`: an `order.placed` event was recorded;
 * - `consent.withdrawn`: a contact withdrew consent, unsubscribed through a link, or complained of spam;
 * - `import.finished`: an import (`@rapport/importers`) finished writing.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookEventType = Schema.Literal(
  "contact.created",
  "contact.stage_changed",
  "deal.won",
  "deal.lost",
  "order.placed",
  "consent.withdrawn",
  "import.finished"
).annotations({ identifier: "WebhookEventType" })

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookEventType = typeof WebhookEventType.Type

/**
 * Every event type a subscription can receive, in the order of {@link WebhookEventType}.
 *
 * @since 0.6.0
 * @category constructors
 */
export const webhookEventTypes: ReadonlyArray<WebhookEventType> = WebhookEventType.literals

/**
 * An event type a subscription listens to, or `"*"` for all of them (those added later included).
 *
 * @since 0.6.0
 * @category schemas
 */
export const EventTypeFilter = Schema.Union(WebhookEventType, Schema.Literal("*")).annotations({
  identifier: "WebhookEventTypeFilter",
  message: () => ({ message: `must be "*" or one of ${webhookEventTypes.map((t) => `"${t}"`).join(", ")}`, override: true })
})

/**
 * @since 0.6.0
 * @category models
 */
export type EventTypeFilter = typeof EventTypeFilter.Type

/**
 * Whether a subscription's filter takes this event type.
 *
 * @since 0.6.0
 * @category utils
 */
export const listensTo = (filter: ReadonlyArray<EventTypeFilter>, type: WebhookEventType): boolean => filter.includes("*") || filter.includes(type)

/**
 * The longest subscription URL accepted.
 *
 * @since 0.6.0
 * @category constructors
 */
export const MAX_URL_LENGTH = 2048

const urlProblem = (s: string): string | undefined => {
  if (s.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`
  let url: URL
  try {
    url = new URL(s)
  } catch {
    return "must be an absolute http:// or https:// URL"
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `must be an http:// or https:// URL, not ${url.protocol}`
  if (url.username !== "" || url.password !== "") return "must not carry a user name or password: the signature authenticates each message"
  if (url.hash !== "") return "must not have a #fragment (it is never sent)"
  if (url.hostname === "") return "must name a host"
  return undefined
}

/**
 * Where a subscription's messages are posted: an absolute `http://` or `https://` URL without
 * credentials or fragment (https is strongly advised: the body is not encrypted otherwise).
 * Whether its host may be a private or loopback address is checked when the subscription is
 * saved (for addresses written in the URL) and again at every delivery (for names, once resolved).
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookUrl = Schema.Trim.pipe(
  Schema.filter((s) => {
    const problem = urlProblem(s)
    return problem === undefined ? true : problem
  }),
  Schema.annotations({ identifier: "WebhookUrl" })
)

/**
 * A Standard Webhooks secret: `whsec_` followed by the base64 of 24 to 64 random bytes.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookSecret = Schema.String.pipe(
  Schema.filter((s) => {
    if (!s.startsWith("whsec_")) return 'must start with "whsec_"'
    const key = standardSecretKey(s)
    return key !== undefined && key.length >= 24 && key.length <= 64 ? true : 'must be "whsec_" followed by the base64 of 24 to 64 bytes'
  }),
  Schema.annotations({ identifier: "WebhookSecret" })
)

/**
 * A new secret: `whsec_` and the base64 of 32 random bytes.
 *
 * @since 0.6.0
 * @category constructors
 */
export const generateSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`

/**
 * A subscription as lists and reads show it (never with its secrets).
 *
 * - `eventTypes`: what it receives; `"*"` for everything.
 * - `enabled`: a disabled subscription queues nothing, and its queued messages are skipped;
 *   `disabledReason` says why when Rapport disabled it (the receiver answered `410 Gone`).
 * - `allowPrivateNetwork`: deliveries may reach private, loopback, link-local and unique-local
 *   addresses. Settable from the host app's code only (never over HTTP): a tenant must not be able
 *   to point deliveries at the host's own network.
 * - `previousSecretExpiresAt`: until when messages are also signed with the secret before the last
 *   rotation; `null` when they are not.
 *
 * @since 0.6.0
 * @category models
 */
export class Subscription extends Schema.Class<Subscription>("WebhookSubscription")({
  id: WebhookSubscriptionId,
  workspaceId: WorkspaceId,
  url: Schema.String,
  eventTypes: Schema.Array(EventTypeFilter),
  description: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  disabledReason: Schema.NullOr(Schema.String),
  allowPrivateNetwork: Schema.Boolean,
  previousSecretExpiresAt: Schema.NullOr(Instant),
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

/**
 * A subscription as stored: with its secret and, during a rotation, the previous one.
 *
 * @since 0.6.0
 * @category models
 */
export class StoredSubscription extends Subscription.extend<StoredSubscription>("StoredWebhookSubscription")({
  secret: Schema.String,
  previousSecret: Schema.NullOr(Schema.String)
}) {}

/**
 * The subscription without its secrets.
 *
 * @since 0.6.0
 * @category utils
 */
export const publicView = (stored: StoredSubscription): Subscription =>
  new Subscription(
    {
      id: stored.id,
      workspaceId: stored.workspaceId,
      url: stored.url,
      eventTypes: stored.eventTypes,
      description: stored.description,
      enabled: stored.enabled,
      disabledReason: stored.disabledReason,
      allowPrivateNetwork: stored.allowPrivateNetwork,
      previousSecretExpiresAt: stored.previousSecretExpiresAt,
      version: stored.version,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt
    },
    true
  )

const EventTypes = Schema.NonEmptyArray(EventTypeFilter).pipe(
  Schema.maxItems(webhookEventTypes.length + 1, { message: () => "lists at most every event type once" }),
  Schema.filter((types) => new Set(types).size === types.length || "lists an event type twice")
)

/**
 * What `webhooks.create` takes. Without `secret`, one is generated; either way the result shows it once.
 *
 * @since 0.6.0
 * @category schemas
 */
export const SubscriptionCreate = Schema.Struct({
  url: WebhookUrl,
  eventTypes: EventTypes,
  description: Schema.optional(Schema.NullOr(Text(500))),
  enabled: Schema.optional(Schema.Boolean),
  allowPrivateNetwork: Schema.optional(Schema.Boolean),
  secret: Schema.optional(WebhookSecret)
})

/**
 * @since 0.6.0
 * @category models
 */
export type SubscriptionCreate = typeof SubscriptionCreate.Encoded

/**
 * What `webhooks.update` takes: only what changes; with `expectedVersion`, a stale write fails
 * with `Conflict`. Enabling a subscription clears the reason it was disabled.
 *
 * @since 0.6.0
 * @category schemas
 */
export const SubscriptionUpdate = Schema.Struct({
  expectedVersion: Schema.optional(Schema.Int),
  url: Schema.optional(WebhookUrl),
  eventTypes: Schema.optional(EventTypes),
  description: Schema.optional(Schema.NullOr(Text(500))),
  enabled: Schema.optional(Schema.Boolean),
  allowPrivateNetwork: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.6.0
 * @category models
 */
export type SubscriptionUpdate = typeof SubscriptionUpdate.Encoded

/**
 * A subscription with its secret: what `create` and `rotateSecret` return, the only times the
 * secret is shown.
 *
 * @since 0.6.0
 * @category models
 */
export class SubscriptionWithSecret extends Schema.Class<SubscriptionWithSecret>("WebhookSubscriptionWithSecret")({
  subscription: Subscription,
  /** Give it to the receiver: it verifies `webhook-signature` with it. */
  secret: Schema.String
}) {}

/**
 * What one delivery attempt came to:
 * - `delivered`: the receiver answered 2xx;
 * - `retrying`: it failed (an error, a timeout, another status) and the message is queued again;
 * - `failed`: it failed for the last time (the message is dead; `redeliver` queues it again);
 * - `gone`: the receiver answered `410 Gone`: the subscription was disabled;
 * - `refused`: the URL's host is (or resolves to) an address deliveries may not reach.
 *
 * @since 0.6.0
 * @category schemas
 */
export const DeliveryResult = Schema.Literal("delivered", "retrying", "failed", "gone", "refused")

/**
 * @since 0.6.0
 * @category models
 */
export type DeliveryResult = typeof DeliveryResult.Type

/**
 * The most characters of a response body the delivery log keeps.
 *
 * @since 0.6.0
 * @category constructors
 */
export const RESPONSE_EXCERPT_LENGTH = 1024

/**
 * One delivery attempt, in the subscription's delivery log.
 *
 * @since 0.6.0
 * @category models
 */
export class Delivery extends Schema.Class<Delivery>("WebhookDelivery")({
  id: WebhookDeliveryId,
  workspaceId: WorkspaceId,
  subscriptionId: WebhookSubscriptionId,
  /** The outbox job that carries the message. */
  jobId: JobId,
  /** The message's `webhook-id`: the same on every attempt and redelivery of one message. */
  messageId: Schema.String,
  eventType: WebhookEventType,
  /** The job's attempt this was (from 1; a redelivery starts again from 1). */
  attempt: Schema.Int,
  attemptedAt: Instant,
  durationMs: Schema.Int,
  /** The receiver's status code; `null` when no response came (an error, a timeout, a refusal). */
  statusCode: Schema.NullOr(Schema.Int),
  result: DeliveryResult,
  error: Schema.NullOr(Schema.String),
  /** The start of the response body (at most {@link RESPONSE_EXCERPT_LENGTH} characters). */
  responseBody: Schema.NullOr(Schema.String),
  /** When the next attempt is due, for `retrying`. */
  nextAttemptAt: Schema.NullOr(Instant)
}) {}

/**
 * The body of every message, as Standard Webhooks suggests: the event type, when it happened, and
 * what it concerns.
 *
 * @since 0.6.0
 * @category models
 */
export interface MessageBody {
  readonly type: WebhookEventType
  /** When the event happened (ISO-8601 UTC). */
  readonly timestamp: string
  readonly data: unknown
}

/**
 * The `webhook-id` of the message one subscription receives for one event: derived from both,
 * so planning the same event twice never makes two messages. Printable ASCII, 36 characters.
 *
 * @since 0.6.0
 * @category utils
 */
export const messageIdFor = (workspaceId: string, subscriptionId: string, type: WebhookEventType, eventId: string): string =>
  `msg_${createHash("sha256").update(`${workspaceId}\u0000${subscriptionId}\u0000${type}\u0000${eventId}`, "utf8").digest("base64url").slice(0, 32)}`

// --- addresses

/**
 * What an IP address is, for deciding whether a delivery may reach it. Everything but `public` is
 * refused unless allowed:
 * - `unspecified` (`0.0.0.0/8`, `::`), `loopback` (`127.0.0.0/8`, `::1`);
 * - `private` (`10/8`, `172.16/12`, `192.168/16`, the carrier-grade NAT `100.64/10`, the
 *   deprecated site-local `fec0::/10`, local-use NAT64 `64:ff9b:1::/48`);
 * - `linkLocal` (`169.254/16`, `fe80::/10`), `uniqueLocal` (`fc00::/7`);
 * - `multicast` (`224/4`, `ff00::/8`); `documentation` and `benchmarking` ranges;
 * - `reserved`: the rest of the special-purpose registries (`240/4` and broadcast, `192.0.0/24`,
 *   the 6to4 relay, IPv4-compatible IPv6, discard-only `100::/64`, `2001::/23` with Teredo, and
 *   IPv6 outside `2000::/3`).
 * IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`) are what their IPv4 address is.
 *
 * @since 0.6.0
 * @category models
 */
export type AddressKind =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "linkLocal"
  | "uniqueLocal"
  | "multicast"
  | "documentation"
  | "benchmarking"
  | "reserved"

/** The four bytes of a dotted-decimal IPv4 address (no leading zeros), or undefined. */
const parseIPv4 = (text: string): ReadonlyArray<number> | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  const bytes: Array<number> = []
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    bytes.push(n)
  }
  return bytes
}

/** The eight 16-bit groups of an IPv6 address (`::`, an IPv4 tail and a zone allowed), or undefined. */
const parseIPv6 = (input: string): ReadonlyArray<number> | undefined => {
  const text = input.replace(/%.*$/, "")
  if (text.length === 0 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groupsOf = (part: string): Array<number> | undefined => {
    if (part === "") return []
    const out: Array<number> = []
    const pieces = part.split(":")
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece)
        if (v4 === undefined) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(piece)) return undefined
        out.push(parseInt(piece, 16))
      }
    }
    return out
  }
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  if (halves.length === 1) return head.length === 8 ? head : undefined
  const missing = 8 - head.length - tail.length
  return missing >= 1 ? [...head, ...Array<number>(missing).fill(0), ...tail] : undefined
}

const inV4 = (b: ReadonlyArray<number>, prefix: ReadonlyArray<number>, bits: number): boolean => {
  const value = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
  const base = ((prefix[0]! << 24) | ((prefix[1] ?? 0) << 16) | ((prefix[2] ?? 0) << 8) | (prefix[3] ?? 0)) >>> 0
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return (value & mask) === (base & mask)
}

const kindOfV4 = (b: ReadonlyArray<number>): AddressKind => {
  if (inV4(b, [0], 8)) return "unspecified"
  if (inV4(b, [127], 8)) return "loopback"
  if (inV4(b, [10], 8) || inV4(b, [172, 16], 12) || inV4(b, [192, 168], 16) || inV4(b, [100, 64], 10)) return "private"
  if (inV4(b, [169, 254], 16)) return "linkLocal"
  if (inV4(b, [192, 0, 2], 24) || inV4(b, [198, 51, 100], 24) || inV4(b, [203, 0, 113], 24)) return "documentation"
  if (inV4(b, [198, 18], 15)) return "benchmarking"
  if (inV4(b, [224], 4)) return "multicast"
  if (inV4(b, [240], 4) || inV4(b, [192, 0, 0], 24) || inV4(b, [192, 88, 99], 24)) return "reserved"
  return "public"
}

const v4Within = (g: ReadonlyArray<number>, from: number): ReadonlyArray<number> => [g[from]! >> 8, g[from]! & 0xff, g[from + 1]! >> 8, g[from + 1]! & 0xff]

const kindOfV6 = (g: ReadonlyArray<number>): AddressKind => {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeroUpTo(8)) return "unspecified"
  if (zeroUpTo(7) && g[7] === 1) return "loopback"
  // IPv4-mapped ::ffff:a.b.c.d: a dual-stack socket reaches the IPv4 address itself.
  if (zeroUpTo(5) && g[5] === 0xffff) return kindOfV4(v4Within(g, 6))
  // NAT64 (64:ff9b::/96) carries an IPv4 address; its local-use block is private. Both sit in ::/8.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return kindOfV4(v4Within(g, 6))
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private"
  // IPv4-compatible (deprecated), IPv4-translated ::ffff:0:a.b.c.d and the rest of ::/8.
  if (g[0]! >> 8 === 0) return "reserved"
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return "reserved"
  if (g[0] === 0x2001 && g[1] === 0xdb8) return "documentation"
  if (g[0] === 0x2001 && g[1] === 2 && g[2] === 0) return "benchmarking"
  if (g[0] === 0x2001 && g[1]! < 0x200) return "reserved"
  if (g[0] === 0x2002) return kindOfV4(v4Within(g, 1))
  if (g[0] === 0x3fff && (g[1]! & 0xf000) === 0) return "documentation"
  if ((g[0]! & 0xfe00) === 0xfc00) return "uniqueLocal"
  if ((g[0]! & 0xffc0) === 0xfe80) return "linkLocal"
  if ((g[0]! & 0xffc0) === 0xfec0) return "private"
  if ((g[0]! & 0xff00) === 0xff00) return "multicast"
  // Global unicast is 2000::/3; the rest is unassigned.
  if ((g[0]! & 0xe000) !== 0x2000) return "reserved"
  return "public"
}

/**
 * What an IP address is (see {@link AddressKind}), written as dotted-decimal IPv4 or as IPv6 in any
 * of its forms (compressed, with an IPv4 tail, in brackets, with a zone); `undefined` when the text
 * is not an IP address (a host name).
 *
 * @since 0.6.0
 * @category utils
 */
export const classifyAddress = (address: string): AddressKind | undefined => {
  const text = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  const v4 = parseIPv4(text)
  if (v4 !== undefined) return kindOfV4(v4)
  const v6 = text.includes(":") ? parseIPv6(text) : undefined
  return v6 === undefined ? undefined : kindOfV6(v6)
}

const kindWords: Readonly<Record<Exclude<AddressKind, "public">, string>> = {
  unspecified: "an unspecified address",
  loopback: "a loopback address",
  private: "a private network address",
  linkLocal: "a link-local address",
  uniqueLocal: "a unique-local address",
  multicast: "a multicast address",
  documentation: "a documentation address",
  benchmarking: "a benchmarking address",
  reserved: "a reserved address"
}

/**
 * Why a delivery may not reach this address, in words (`undefined` when it may): for the delivery
 * log and validation errors.
 *
 * @since 0.6.0
 * @category utils
 */
export const refusal = (address: string): string | undefined => {
  const kind = classifyAddress(address)
  if (kind === undefined || kind === "public") return undefined
  return `${address} is ${kindWords[kind]}`
}

/**
 * Host names that are loopback by definition, whatever DNS says (RFC 6761): `localhost` and any
 * name under `.localhost`.
 *
 * @since 0.6.0
 * @category utils
 */
export const isLocalhostName = (host: string): boolean => {
  const name = host.toLowerCase().replace(/\.$/, "")
  return name === "localhost" || name.endsWith(".localhost")
}

// --- Retry-After

/**
 * How long a `Retry-After` header asks to wait, in milliseconds from `nowMillis`: delay-seconds
 * or an HTTP date (a date past is 0); `undefined` when absent or unreadable.
 *
 * @since 0.6.0
 * @category utils
 */
export const retryAfterMillis = (value: string | null | undefined, nowMillis: number): number | undefined => {
  if (value === null || value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) {
    const seconds = Number(text)
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : Number.MAX_SAFE_INTEGER
  }
  // An HTTP date names its weekday and "GMT"; Date.parse alone would also take "5" or "tomorrow".
  if (!/^[A-Za-z]{3,9},? .*\d{2}:\d{2}:\d{2}/.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMillis)
}
