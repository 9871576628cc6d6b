// Posting one outbound webhook message, and what its answer means for the job.
//
// The request goes through node:http / node:https rather than the global fetch: fetch resolves the
// host itself and offers no hook to check the address it connects to, so a name could resolve to a
// public address when checked and to 127.0.0.1 when fetched (DNS rebinding). Here the request's
// `lookup` resolves the name, refuses it when any of its addresses is private, loopback, link-local
// or otherwise not public (unless allowed), and hands exactly the checked addresses to the socket:
// the connection goes where the check looked. An address written in the URL is checked before
// connecting. No redirect is followed (a 3xx is a failed attempt), no connection is pooled (a
// pooled socket could have been opened under another subscription's allowance), and the whole
// exchange has a timeout measured on real time (a virtual clock must not stretch it).
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as dns from "node:dns"
import * as http from "node:http"
import * as https from "node:https"
import type { LookupFunction } from "node:net"
import { performance } from "node:perf_hooks"
import { isLocalhostName, refusal, RESPONSE_EXCERPT_LENGTH, retryAfterMillis } from "../domain/OutboundWebhook.js"

/**
 * How outbound webhooks are delivered; every setting has a default.
 *
 * @since 0.6.0
 * @category models
 */
export interface WebhookSettingsService {
  /**
   * Deliveries of every subscription may reach private, loopback, link-local and unique-local
   * addresses (default `false`: refused, unless the subscription allows it). For an app whose
   * receivers live on its own network, and for tests with a receiver on 127.0.0.1.
   */
  readonly allowPrivateNetworks?: boolean | undefined
  /**
   * How long a receiver has to answer, response included (default 10 seconds, at most 30: keep the
   * dispatcher's `lease` longer than this).
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** The `User-Agent` of deliveries (default `Rapport-Webhooks/1`). */
  readonly userAgent?: string | undefined
  /**
   * How long a subscription's delivery log keeps an attempt (default 30 days): older entries are
   * forgotten as new ones are logged, so the log does not grow without end.
   */
  readonly deliveryLogRetention?: Duration.DurationInput | undefined
}

/**
 * Outbound webhook settings; the defaults when not provided.
 *
 * @since 0.6.0
 * @category services
 */
export class WebhookSettings extends Context.Reference<WebhookSettings>()("@rapport/core/WebhookSettings", {
  defaultValue: (): WebhookSettingsService => ({})
}) {}

/**
 * The default and the longest timeout: the job's claim (one minute by default) must outlast the
 * attempt, or another dispatcher takes the job over and sends the message again meanwhile.
 */
export const DEFAULT_TIMEOUT_MILLIS = 10_000
export const MAX_TIMEOUT_MILLIS = 30_000

/** The timeout the settings ask for, in milliseconds (the default when unreadable, at most 30 seconds). */
export const webhookTimeout = (settings: WebhookSettingsService): number => {
  if (settings.timeout === undefined) return DEFAULT_TIMEOUT_MILLIS
  const decoded = Duration.decodeUnknown(settings.timeout)
  const millis = Option.isSome(decoded) && Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : Number.NaN
  return millis > 0 ? Math.min(millis, MAX_TIMEOUT_MILLIS) : DEFAULT_TIMEOUT_MILLIS
}

/** The default {@link WebhookSettingsService.deliveryLogRetention}: 30 days. */
export const DEFAULT_DELIVERY_LOG_RETENTION_MILLIS = 30 * 86_400_000

/** How long the delivery log keeps an attempt, in milliseconds (the default when unreadable or not positive). */
export const deliveryLogRetention = (settings: WebhookSettingsService): number => {
  if (settings.deliveryLogRetention === undefined) return DEFAULT_DELIVERY_LOG_RETENTION_MILLIS
  const decoded = Duration.decodeUnknown(settings.deliveryLogRetention)
  const millis = Option.isSome(decoded) && Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : Number.NaN
  return millis > 0 ? millis : DEFAULT_DELIVERY_LOG_RETENTION_MILLIS
}

/** The longest wait a `Retry-After` obtains. */
export const MAX_RETRY_AFTER_MILLIS = 86_400_000

/** What one attempt got. */
export interface Attempt {
  /** The receiver's status; `null` when no response came. */
  readonly statusCode: number | null
  readonly retryAfter: string | null
  readonly responseBody: string | null
  readonly error: string | null
  /** The host is, or resolves to, an address deliveries may not reach: nothing was sent. */
  readonly refused: boolean
  readonly durationMs: number
}

export interface PostRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly timeoutMillis: number
  readonly allowPrivate: boolean
}

class Refused extends Error {}

/** Text every store keeps: no NUL, no lone surrogate (cut by code point), at most `max` characters. */
const storable = (text: string, max: number): string => Array.from(text.replace(/\u0000/g, "\ufffd")).slice(0, max).join("")

/** A lookup that refuses names resolving to an address deliveries may not reach, and connects to the ones it checked. */
const guardedLookup =
  (allowPrivate: boolean): LookupFunction =>
  (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, verbatim: true, family: options.family ?? 0, ...(options.hints === undefined ? {} : { hints: options.hints }) }, (error, addresses) => {
      if (error !== null) return callback(error, "", 0)
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 0)
      if (!allowPrivate) {
        const refused = addresses.map((a) => refusal(a.address)).find((r) => r !== undefined)
        if (refused !== undefined) return callback(new Refused(`${hostname} resolves to ${refused}`), "", 0)
      }
      if (options.all === true) return callback(null, addresses)
      return callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }

/** Why a request failed, in words for the delivery log. */
const describe = (error: unknown, timeoutMillis: number): string => {
  const e = error as { name?: string; code?: string; message?: string }
  if (e.name === "AbortError" || e.name === "TimeoutError" || e.code === "ABORT_ERR") return `no answer within ${timeoutMillis} ms`
  if (e.code === "ECONNREFUSED") return "the connection was refused"
  if (e.code === "ECONNRESET") return "the connection was reset"
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") return `the host could not be resolved (${e.code})`
  return e.message ?? String(error)
}

const refusedAttempt = (message: string): Attempt => ({ statusCode: null, retryAfter: null, responseBody: null, error: message, refused: true, durationMs: 0 })

/**
 * Posts the body once; never fails: a refusal, an error or a timeout is an {@link Attempt} too.
 * Interrupting it aborts the request.
 */
export const post = (request: PostRequest): Effect.Effect<Attempt> =>
  Effect.suspend(() => {
    const url = new URL(request.url)
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
    if (!request.allowPrivate) {
      if (isLocalhostName(host)) return Effect.succeed(refusedAttempt(`${host} is a loopback name`))
      const refused = refusal(host)
      if (refused !== undefined) return Effect.succeed(refusedAttempt(refused))
    }
    return Effect.async<Attempt>((resume) => {
      const started = performance.now()
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), request.timeoutMillis)
      let settled = false
      const finish = (attempt: Omit<Attempt, "durationMs">) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(Effect.succeed({ ...attempt, durationMs: Math.max(0, Math.round(performance.now() - started)) }))
      }
      const client = url.protocol === "https:" ? https : http
      const req = client.request(url, {
        method: "POST",
        headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body, "utf8")) },
        lookup: guardedLookup(request.allowPrivate),
        agent: false,
        signal: controller.signal
      })
      req.on("response", (res) => {
        const chunks: Array<Buffer> = []
        let size = 0
        const limit = RESPONSE_EXCERPT_LENGTH * 4
        const retryAfter = res.headers["retry-after"]
        const done = () => {
          const text = Buffer.concat(chunks).subarray(0, limit).toString("utf8")
          finish({
            statusCode: res.statusCode ?? null,
            retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            responseBody: text.length === 0 ? null : storable(text, RESPONSE_EXCERPT_LENGTH),
            error: null,
            refused: false
          })
          res.destroy()
        }
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk)
          size += chunk.length
          // Only the start of the body is kept: the rest is not read.
          if (size >= limit) done()
        })
        res.on("end", done)
        res.on("error", done)
        res.on("close", done)
      })
      req.on("error", (error) =>
        finish(
          error instanceof Refused
            ? { statusCode: null, retryAfter: null, responseBody: null, error: error.message, refused: true }
            : { statusCode: null, retryAfter: null, responseBody: null, error: storable(describe(error, request.timeoutMillis), 500), refused: false }
        )
      )
      req.end(request.body)
      return Effect.sync(() => {
        settled = true
        clearTimeout(timer)
        req.destroy()
      })
    })
  })

/** What an attempt means for its job. */
export type Decision =
  | { readonly result: "delivered" }
  | { readonly result: "gone" }
  | { readonly result: "refused" }
  | { readonly result: "failed" }
  | { readonly result: "retrying"; readonly delayMillis: number }

/**
 * 2xx is delivered; 410 Gone disables the subscription; a refused address is dead at once; any
 * other failure is retried after the dispatcher's backoff with jitter (half of it fixed, half
 * random), or after what `Retry-After` asks on a 429 or 503 (at most a day), until `maxAttempts`.
 */
export const decide = (
  attempt: Attempt,
  context: { readonly attempts: number; readonly maxAttempts: number; readonly backoffMillis: number; readonly random: number; readonly nowMillis: number }
): Decision => {
  const status = attempt.statusCode
  if (status !== null && status >= 200 && status < 300) return { result: "delivered" }
  if (status === 410) return { result: "gone" }
  if (attempt.refused) return { result: "refused" }
  if (context.attempts >= context.maxAttempts) return { result: "failed" }
  const asked = status === 429 || status === 503 ? retryAfterMillis(attempt.retryAfter, context.nowMillis) : undefined
  if (asked !== undefined) return { result: "retrying", delayMillis: Math.min(asked, MAX_RETRY_AFTER_MILLIS) }
  const half = context.backoffMillis / 2
  return { result: "retrying", delayMillis: Math.round(half + context.random * half) }
}
