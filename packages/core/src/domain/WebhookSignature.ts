/**
 * Verifying inbound webhooks over their raw bytes, before anything parses them: Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`, `whsec_` secrets), Shopify
 * (`X-Shopify-Hmac-Sha256`) and WooCommerce (`X-WC-Webhook-Signature`). Pure functions over
 * `node:crypto`: every signature is compared in constant time, and each accepts several secrets so
 * that a secret can be rotated without refusing deliveries signed with the previous one.
 *
 * @since 0.6.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { createHash, createHmac, timingSafeEqual } from "node:crypto"

/**
 * Who signs the webhooks of an inbound source, and how: `standard` (Standard Webhooks, e.g.
 * Svix-based senders or another Rapport), `shopify`, `woocommerce`; and the mail providers
 * `brevo` and `mailjet` (bounces and complaints), which sign nothing by default: their deliveries
 * carry the source's secret as the password of Basic authentication (`https://rapport:<secret>@…`
 * in the webhook URL) or as `?token=<secret>` in the URL, compared in constant time.
 *
 * @since 0.6.0
 * @category schemas
 */
export const WebhookProvider = Schema.Literal("standard", "shopify", "woocommerce", "brevo", "mailjet").annotations({
  identifier: "WebhookProvider",
  message: () => ({ message: 'must be one of "standard", "shopify", "woocommerce", "brevo", "mailjet"', override: true })
})

/**
 * Whether a provider's deliveries prove themselves with a shared secret sent as is (Basic
 * authentication or a URL token) rather than a signature over the body.
 *
 * @since 0.7.0
 * @category utils
 */
export const isTokenProvider = (provider: WebhookProvider): provider is "brevo" | "mailjet" => provider === "brevo" || provider === "mailjet"

/**
 * The shortest secret a token provider's source accepts: the secret is the only proof.
 *
 * @since 0.7.0
 * @category constructors
 */
export const MIN_TOKEN_LENGTH = 24

/**
 * @since 0.6.0
 * @category models
 */
export type WebhookProvider = typeof WebhookProvider.Type

/**
 * Request headers as Node gives them (`req.headers`) or as a plain record; names in any case.
 *
 * @since 0.6.0
 * @category models
 */
export type HeadersInput = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * What a verified delivery is known by: the sender's id for it (replay protection keys on it) and,
 * for Standard Webhooks, the signed timestamp (Unix seconds).
 *
 * @since 0.6.0
 * @category models
 */
export interface Verified {
  readonly webhookId: string
  readonly timestamp: number | undefined
}

/**
 * Why a delivery was refused (see `WebhookRejected` for the error built from it).
 *
 * @since 0.6.0
 * @category models
 */
export interface Rejection {
  readonly reason: "missingHeader" | "signature" | "timestamp"
  readonly header: string
  readonly message: string
}

/**
 * The default tolerance of Standard Webhooks timestamps: 5 minutes either way.
 *
 * @since 0.6.0
 * @category constructors
 */
export const DEFAULT_TOLERANCE_SECONDS = 300

/**
 * The longest webhook id accepted (the id is stored for replay protection).
 *
 * @since 0.6.0
 * @category constructors
 */
export const MAX_WEBHOOK_ID = 200

/**
 * Header names in lower case, each with one value: several values of a header are joined with a
 * space (Standard Webhooks separates signatures with spaces).
 *
 * @since 0.6.0
 * @category utils
 */
export const normalizeHeaders = (headers: HeadersInput): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    const joined = typeof value === "string" ? value : value.join(" ")
    const key = name.toLowerCase()
    out[key] = out[key] === undefined ? joined : `${out[key]} ${joined}`
  }
  return out
}

/** Constant-time equality of two strings (their lengths are not secret). */
const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, "utf8")
  const y = Buffer.from(b, "utf8")
  return x.length === y.length && timingSafeEqual(x, y)
}

const missing = (header: string, what = "is missing"): Rejection => ({ reason: "missingHeader", header, message: `The ${header} header ${what}` })

const webhookIdFrom = (headers: Readonly<Record<string, string>>, header: string): Either.Either<string, Rejection> => {
  const id = headers[header]?.trim()
  if (id === undefined || id === "") return Either.left(missing(header))
  // Stored and compared as given: printable ASCII only, so nothing odd reaches storage or logs.
  if (id.length > MAX_WEBHOOK_ID || !/^[\x21-\x7e]+$/.test(id)) {
    return Either.left(missing(header, `must be 1 to ${MAX_WEBHOOK_ID} printable ASCII characters`))
  }
  return Either.right(id)
}

/**
 * The key bytes of a Standard Webhooks secret: the base64 after `whsec_` (the prefix may be left
 * out); `undefined` when it is not base64 of at least 16 bytes.
 *
 * @since 0.6.0
 * @category utils
 */
export const standardSecretKey = (secret: string): Uint8Array | undefined => {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined
  const key = Buffer.from(encoded, "base64")
  return key.length >= 16 ? key : undefined
}

/**
 * Signs a payload as Standard Webhooks senders do: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 *
 * @since 0.6.0
 * @category utils
 */
export const signStandard = (secret: string, webhookId: string, timestampSeconds: number, body: Uint8Array): string => {
  const key = standardSecretKey(secret)
  if (key === undefined) throw new TypeError("a Standard Webhooks secret is whsec_ followed by base64 of at least 16 bytes")
  const mac = createHmac("sha256", key).update(`${webhookId}.${timestampSeconds}.`, "utf8").update(body).digest("base64")
  return `v1,${mac}`
}

/**
 * Verifies a Standard Webhooks delivery: one of the space-separated `v1,` signatures must be the
 * one a configured secret gives (others, such as asymmetric `v1a,` ones, are ignored), then the
 * signed timestamp must be within `toleranceSeconds` of `nowSeconds`, either way.
 *
 * @since 0.6.0
 * @category utils
 */
export const verifyStandard = (options: {
  readonly secrets: ReadonlyArray<string>
  readonly headers: HeadersInput
  readonly body: Uint8Array
  readonly nowSeconds: number
  readonly toleranceSeconds?: number | undefined
}): Either.Either<Verified, Rejection> =>
  Either.gen(function* () {
    const headers = normalizeHeaders(options.headers)
    const webhookId = yield* webhookIdFrom(headers, "webhook-id")
    const rawTimestamp = headers["webhook-timestamp"]?.trim()
    if (rawTimestamp === undefined || rawTimestamp === "") return yield* Either.left(missing("webhook-timestamp"))
    if (!/^\d{1,12}$/.test(rawTimestamp)) return yield* Either.left(missing("webhook-timestamp", "must be a Unix time in seconds"))
    const timestamp = Number(rawTimestamp)
    const sent = headers["webhook-signature"]?.trim()
    if (sent === undefined || sent === "") return yield* Either.left(missing("webhook-signature"))
    const candidates = sent.split(/\s+/).map((s) => s.replace(/,+$/, "")).filter((s) => s.startsWith("v1,"))
    const expected = options.secrets.flatMap((secret) => (standardSecretKey(secret) === undefined ? [] : [signStandard(secret, webhookId, timestamp, options.body)]))
    // Every pair is compared, whatever matched first: the time taken depends on counts only.
    let valid = false
    for (const e of expected) for (const c of candidates) valid = sameText(c, e) || valid
    if (!valid) return yield* Either.left<Rejection>({ reason: "signature", header: "webhook-signature", message: "No configured secret produces the webhook-signature sent" })
    const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
    if (options.nowSeconds - timestamp > tolerance) {
      return yield* Either.left<Rejection>({ reason: "timestamp", header: "webhook-timestamp", message: `The webhook-timestamp is more than ${tolerance} seconds old` })
    }
    if (timestamp - options.nowSeconds > tolerance) {
      return yield* Either.left<Rejection>({ reason: "timestamp", header: "webhook-timestamp", message: `The webhook-timestamp is more than ${tolerance} seconds in the future` })
    }
    return { webhookId, timestamp }
  })

/**
 * Base64 of HMAC-SHA256 of the body, keyed by the secret's UTF-8 bytes: the signature Shopify and
 * WooCommerce send.
 *
 * @since 0.6.0
 * @category utils
 */
export const hmacBase64 = (secret: string, body: Uint8Array): string => createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("base64")

const verifyHmac = (
  options: { readonly secrets: ReadonlyArray<string>; readonly headers: HeadersInput; readonly body: Uint8Array },
  signatureHeader: string,
  idHeader: string
): Either.Either<Verified, Rejection> =>
  Either.gen(function* () {
    const headers = normalizeHeaders(options.headers)
    const sent = headers[signatureHeader]?.trim()
    if (sent === undefined || sent === "") return yield* Either.left(missing(signatureHeader))
    let valid = false
    for (const secret of options.secrets) valid = sameText(sent, hmacBase64(secret, options.body)) || valid
    if (!valid) return yield* Either.left<Rejection>({ reason: "signature", header: signatureHeader, message: `No configured secret produces the ${signatureHeader} sent` })
    // Checked after the signature: the id header is not signed, and only a signed body counts.
    const webhookId = yield* webhookIdFrom(headers, idHeader)
    return { webhookId, timestamp: undefined }
  })

/**
 * Verifies a Shopify delivery: `X-Shopify-Hmac-Sha256` is base64 HMAC-SHA256 of the raw body with
 * the app's client secret; `X-Shopify-Webhook-Id` identifies the delivery (Shopify signs no
 * timestamp: replays are caught by the stored id, and events keep ids derived from the payload).
 *
 * @since 0.6.0
 * @category utils
 */
export const verifyShopify = (options: { readonly secrets: ReadonlyArray<string>; readonly headers: HeadersInput; readonly body: Uint8Array }) =>
  verifyHmac(options, "x-shopify-hmac-sha256", "x-shopify-webhook-id")

/**
 * Verifies a WooCommerce delivery: `X-WC-Webhook-Signature` is base64 HMAC-SHA256 of the raw body
 * with the webhook's secret; `X-WC-Webhook-Delivery-ID` identifies the delivery.
 *
 * @since 0.6.0
 * @category utils
 */
export const verifyWooCommerce = (options: { readonly secrets: ReadonlyArray<string>; readonly headers: HeadersInput; readonly body: Uint8Array }) =>
  verifyHmac(options, "x-wc-webhook-signature", "x-wc-webhook-delivery-id")

/** Constant-time equality whatever the lengths: the digests are compared, never the texts. */
const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a, "utf8").digest(), createHash("sha256").update(b, "utf8").digest())

/**
 * Verifies a delivery of a provider that signs nothing (Brevo, Mailjet): the password of its Basic
 * authentication, else the `token` from the URL, must be one of the secrets (compared in constant
 * time, every secret tried). Such senders give no delivery id: the body's SHA-256 stands for it,
 * so the same body delivered again is recognised.
 *
 * @since 0.7.0
 * @category utils
 */
export const verifyToken = (options: {
  readonly secrets: ReadonlyArray<string>
  readonly headers: HeadersInput
  readonly body: Uint8Array
  readonly token?: string | undefined
}): Either.Either<Verified, Rejection> => {
  const headers = normalizeHeaders(options.headers)
  const authorization = headers["authorization"]?.trim()
  let given: string | undefined
  let where = "authorization"
  if (authorization !== undefined && /^basic\s+/i.test(authorization)) {
    const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ""), "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    given = colon < 0 ? decoded : decoded.slice(colon + 1)
  } else if (options.token !== undefined && options.token !== "") {
    given = options.token
    where = "token"
  }
  if (given === undefined) {
    return Either.left({
      reason: "missingHeader",
      header: "authorization",
      message: "The delivery carries no secret: put the source's secret in the webhook URL, as the password of Basic authentication (https://rapport:<secret>@host/…) or as ?token=<secret>"
    })
  }
  let valid = false
  for (const secret of options.secrets) valid = sameSecret(given, secret) || valid
  if (!valid) return Either.left({ reason: "signature", header: where, message: `The ${where === "token" ? "token in the URL" : "Basic authentication password"} is not a secret of this source` })
  return Either.right({ webhookId: `sha256:${createHash("sha256").update(options.body).digest("hex")}`, timestamp: undefined })
}

/**
 * Verifies a delivery as its provider signs it (`token`: the `?token=` of the URL, for the
 * providers that sign nothing).
 *
 * @since 0.6.0
 * @category utils
 */
export const verify = (
  provider: WebhookProvider,
  options: {
    readonly secrets: ReadonlyArray<string>
    readonly headers: HeadersInput
    readonly body: Uint8Array
    readonly nowSeconds: number
    readonly toleranceSeconds?: number | undefined
    readonly token?: string | undefined
  }
): Either.Either<Verified, Rejection> => {
  switch (provider) {
    case "brevo":
    case "mailjet":
      return verifyToken(options)
    case "standard":
      return verifyStandard(options)
    case "shopify":
      return verifyShopify(options)
    case "woocommerce":
      return verifyWooCommerce(options)
  }
}
