// Outbound webhooks, end to end: a receiver on 127.0.0.1 (node:http, port 0) verifies every
// message with the `standardwebhooks` package and processes each webhook-id once. Time moves on
// Effect's TestClock (retries are due at virtual times); the receiver's clock follows it, so that
// standardwebhooks' timestamp tolerance is checked against the time the message was sent.
import { Crm, Ids, OutboundWebhook, type Storage, Webhooks, Workspaces } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import dnsModule from "node:dns"
import { syncBuiltinESMExports } from "node:module"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"
import { failure, line } from "./helpers.js"

// --- the receiver

type Reply = "ok" | "reset" | "hang" | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }

interface Received {
  readonly id: string
  readonly timestamp: number
  readonly signature: string
  readonly contentType: string | undefined
  readonly body: string
  /** The receiver's clock when it arrived (the CRM's virtual time). */
  readonly at: number
  /** Which secrets verify it with standardwebhooks at that time. */
  readonly verifiedBy: ReadonlyArray<string>
}

interface Receiver {
  readonly url: string
  /** Every request, retries included. */
  readonly requests: Array<Received>
  /** What the receiver processed: each verified webhook-id once, the first time it came. */
  readonly processed: Map<string, unknown>
  secrets: Array<string>
  nowMs: number
  reply: (request: Received, attempt: number) => Reply
}

/** Verifies as a receiver whose clock reads `nowMs` (standardwebhooks reads Date.now). */
const verifies = (secret: string, body: string, headers: Record<string, string>, nowMs: number): boolean => {
  const real = Date.now
  Date.now = () => nowMs
  try {
    new Webhook(secret).verify(body, headers)
    return true
  } catch {
    return false
  } finally {
    Date.now = real
  }
}

const receiver = (reply: Receiver["reply"] = () => "ok") =>
  Effect.acquireRelease(
    Effect.async<{ receiver: Receiver; server: http.Server }>((resume) => {
      const state: Omit<Receiver, "url"> = { requests: [], processed: new Map(), secrets: [], nowMs: 0, reply }
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          const headers = {
            "webhook-id": String(req.headers["webhook-id"] ?? ""),
            "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
            "webhook-signature": String(req.headers["webhook-signature"] ?? "")
          }
          const received: Received = {
            id: headers["webhook-id"],
            timestamp: Number(headers["webhook-timestamp"]),
            signature: headers["webhook-signature"],
            contentType: req.headers["content-type"],
            body,
            at: state.nowMs,
            verifiedBy: state.secrets.filter((s) => verifies(s, body, headers, state.nowMs))
          }
          state.requests.push(received)
          // Processing comes first: a receiver may fail after doing its work.
          if (received.verifiedBy.length > 0 && !state.processed.has(received.id)) state.processed.set(received.id, JSON.parse(body))
          const attempt = state.requests.filter((r) => r.id === received.id).length
          const answer = state.reply(received, attempt)
          if (answer === "hang") return
          if (answer === "reset") return void req.socket.destroy()
          if (answer === "ok") return void res.writeHead(200).end("ok")
          res.writeHead(answer.status, answer.headers).end(answer.body ?? "")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ receiver: Object.assign(state, { url: `http://127.0.0.1:${port}/hooks` }) as Receiver, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ receiver }) => receiver))

// --- the CRM

const START = Date.parse("2025-01-06T09:00:00.000Z")
const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))

/** Runs a test on a fresh CRM, on the TestClock set to START, with these webhook settings. */
const withCrm = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage | Scope.Scope>, settings: Webhooks.WebhookSettingsService = {}) =>
  Effect.zipRight(TestClock.setTime(START), program).pipe(Effect.scoped, Effect.provide(TestCrm), Effect.provideService(Webhooks.WebhookSettings, settings))

/** Runs due jobs, the receivers' clocks reading the CRM's. */
const runDue = (to: Receiver | ReadonlyArray<Receiver>, options: { readonly maxAttempts?: number } = {}) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    for (const receiver of Array.isArray(to) ? to : [to]) receiver.nowMs = now
    return yield* (yield* Crm.Crm).dispatcher.runDue(options)
  })

/** Moves the clock to `at` (ms) and runs what is due. */
const runAt = (to: Receiver, at: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(at)
    return yield* runDue(to)
  })

const nextDue = Effect.flatMap(Crm.Crm, (crm) => crm.dispatcher.nextDue())

/** Subscribes the receiver (on loopback, allowed by the subscription) and gives it the secret. */
const subscribe = (to: Receiver, eventTypes: ReadonlyArray<OutboundWebhook.EventTypeFilter>, extra: Partial<OutboundWebhook.SubscriptionCreate> = {}) =>
  Effect.gen(function* () {
    const created = yield* (yield* Crm.Crm).webhooks.create({
      url: to.url,
      eventTypes: eventTypes as [OutboundWebhook.EventTypeFilter],
      allowPrivateNetwork: true,
      ...extra
    })
    to.secrets.push(created.secret)
    return created.subscription
  })

const newContact = (email: string) => Effect.flatMap(Crm.Crm, (crm) => crm.contacts.create({ email, firstName: "Ada" }))

const deliveries = (subscriptionId: string) => Effect.map(Effect.flatMap(Crm.Crm, (crm) => crm.webhooks.deliveries(subscriptionId, { limit: 100 })), (p) => [...p.items].reverse())

describe("webhooks — delivery", () => {
  it.effect("a message is posted with Standard Webhooks headers that standardwebhooks verifies; its body says what happened", () =>
    withCrm(
      Effect.gen(function* () {
        const to = yield* receiver()
        const subscription = yield* subscribe(to, ["contact.created"])
        const ada = yield* newContact("ada@example.com")
        const report = yield* runDue(to)
        expect(report).toMatchObject({ claimed: 1, done: 1 })
        expect(to.requests).toHaveLength(1)
        const [request] = to.requests
        expect(request!.verifiedBy).toEqual(to.secrets)
        expect(request!.contentType).toBe("application/json")
        expect(request!.id).toBe(OutboundWebhook.messageIdFor("default", subscription.id, "contact.created", `contact.created:${ada.id}`))
        expect(request!.timestamp).toBe(START / 1000)
        expect(request!.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
        expect(JSON.parse(request!.body)).toEqual({
          type: "contact.created",
          timestamp: "2025-01-06T09:00:00.000Z",
          data: {
            event: { id: `contact.created:${ada.id}`, type: "contact.created", occurredAt: "2025-01-06T09:00:00.000Z", payload: { source: { channel: "unknown", campaign: null } } },
            contact: expect.objectContaining({ id: ada.id, email: "ada@example.com", firstName: "Ada", stage: "suspect" })
          }
        })
        // Another secret does not verify it: the signature is the subscription's.
        expect(verifies(OutboundWebhook.generateSecret(), request!.body, { "webhook-id": request!.id, "webhook-timestamp": String(request!.timestamp), "webhook-signature": request!.signature }, START)).toBe(false)
        const [delivery] = yield* deliveries(subscription.id)
        expect(delivery).toMatchObject({ result: "delivered", statusCode: 200, attempt: 1, messageId: request!.id, eventType: "contact.created", responseBody: "ok", error: null, nextAttemptAt: null })
        expect(Option.isNone(yield* nextDue)).toBe(true)
      })
    )
  )

  it.effect(
    "exactly once as the receiver sees it: after a 500 and a reset connection (each after processing) and a 429 Retry-After: 120, every attempt carries the same webhook-id, each event is processed once, and the 4th attempt waits the 120 seconds",
    () =>
      withCrm(
        Effect.gen(function* () {
          const to = yield* receiver((_, attempt) =>
            attempt === 1 ? { status: 500, body: "database down" } : attempt === 2 ? "reset" : attempt === 3 ? { status: 429, headers: { "Retry-After": "120" } } : "ok"
          )
          const subscription = yield* subscribe(to, ["contact.created"])
          yield* newContact("ada@example.com")
          yield* newContact("bob@example.com")
          yield* runDue(to)
          expect(to.requests).toHaveLength(2)
          // Backoff: the first retry is due within 15 to 30 seconds, the second within 30 to 60.
          yield* runAt(to, START + 30_000)
          expect(to.requests).toHaveLength(4)
          yield* runAt(to, START + 30_000 + 60_000)
          expect(to.requests).toHaveLength(6)
          const third = Math.max(...to.requests.slice(4).map((r) => r.at))
          yield* runAt(to, third + 119_999)
          expect(to.requests).toHaveLength(6)
          yield* runAt(to, third + 120_000)
          expect(to.requests).toHaveLength(8)
          expect(Option.isNone(yield* nextDue)).toBe(true)
          const ids = [...new Set(to.requests.map((r) => r.id))]
          expect(ids).toHaveLength(2)
          for (const id of ids) expect(to.requests.filter((r) => r.id === id)).toHaveLength(4)
          expect(to.requests.every((r) => r.verifiedBy.length === 1)).toBe(true)
          expect([...to.processed.values()].map((m) => (m as { data: { contact: { email: string } } }).data.contact.email).sort()).toEqual(["ada@example.com", "bob@example.com"])
          const log = yield* deliveries(subscription.id)
          expect(log.map((d) => [d.messageId === ids[0] ? "first" : "second", d.attempt, d.result, d.statusCode]).sort()).toEqual(
            [
              ["first", 1, "retrying", 500],
              ["first", 2, "retrying", null],
              ["first", 3, "retrying", 429],
              ["first", 4, "delivered", 200],
              ["second", 1, "retrying", 500],
              ["second", 2, "retrying", null],
              ["second", 3, "retrying", 429],
              ["second", 4, "delivered", 200]
            ].sort()
          )
          const asked = log.find((d) => d.statusCode === 429)!
          expect(DateTime.toEpochMillis(asked.nextAttemptAt!) - DateTime.toEpochMillis(asked.attemptedAt)).toBe(120_000)
          expect(log.find((d) => d.statusCode === null)!.error).toBe("the connection was reset")
          expect(log.find((d) => d.statusCode === 500)!.error).toBe("the receiver answered 500: database down")
        })
      )
  )

  it.effect("a 503 whose Retry-After is an HTTP date is attempted again at that date, not before", () =>
    withCrm(
      Effect.gen(function* () {
        const until = new Date(START + 3 * 3_600_000).toUTCString()
        const to = yield* receiver((_, attempt) => (attempt === 1 ? { status: 503, headers: { "Retry-After": until } } : "ok"))
        yield* subscribe(to, ["contact.created"])
        yield* newContact("ada@example.com")
        yield* runDue(to)
        yield* runAt(to, START + 3 * 3_600_000 - 1_000)
        expect(to.requests).toHaveLength(1)
        yield* runAt(to, START + 3 * 3_600_000)
        expect(to.requests.map((r) => r.at)).toEqual([START, START + 3 * 3_600_000])
        expect(to.processed.size).toBe(1)
      })
    )
  )

  it.effect("410 Gone disables the subscription: the message is done, later events queue nothing, and the receiver hears nothing more", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const to = yield* receiver(() => ({ status: 410 }))
        const subscription = yield* subscribe(to, ["contact.created", "order.placed"])
        const ada = yield* newContact("ada@example.com")
        const report = yield* runDue(to)
        expect(report).toMatchObject({ claimed: 1, done: 1, retried: 0, dead: 0 })
        const after = yield* crm.webhooks.get(subscription.id)
        expect(after).toMatchObject({ enabled: false, version: subscription.version + 1 })
        expect(after.disabledReason).toContain("410 Gone")
        expect(yield* deliveries(subscription.id)).toMatchObject([{ result: "gone", statusCode: 410, nextAttemptAt: null }])
        yield* newContact("bob@example.com")
        yield* crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("shoe")] } })
        expect((yield* crm.dispatcher.jobs({ ruleId: `webhook:${subscription.id}` })).items.map((j) => j.status)).toEqual(["done"])
        yield* runAt(to, START + 86_400_000)
        expect(to.requests).toHaveLength(1)
        // Enabled again, it receives what happens next, and its reason is gone.
        expect((yield* crm.webhooks.update(subscription.id, { enabled: true })).disabledReason).toBeNull()
        to.reply = () => "ok"
        yield* newContact("cleo@example.com")
        yield* runDue(to)
        expect(to.requests).toHaveLength(2)
      })
    )
  )

  it.effect("a receiver that keeps failing gets 8 attempts spaced by the doubling backoff with jitter, then the message is dead; redeliver sends it again, same webhook-id", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const to = yield* receiver(() => ({ status: 502, body: "x".repeat(5000) }))
        const subscription = yield* subscribe(to, ["contact.created"])
        yield* newContact("ada@example.com")
        yield* runDue(to)
        for (;;) {
          const next = yield* nextDue
          if (next._tag === "None") break
          yield* runAt(to, DateTime.toEpochMillis(next.value))
        }
        expect(to.requests).toHaveLength(8)
        const gaps = to.requests.slice(1).map((r, i) => r.at - to.requests[i]!.at)
        gaps.forEach((gap, i) => {
          const backoff = 30_000 * 2 ** i
          expect(gap).toBeGreaterThanOrEqual(backoff / 2)
          expect(gap).toBeLessThanOrEqual(backoff)
        })
        // Jitter: the waits are not all the full backoff.
        expect(gaps.some((gap, i) => gap < 30_000 * 2 ** i)).toBe(true)
        const log = yield* deliveries(subscription.id)
        expect(log.map((d) => [d.attempt, d.result])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => [n, n === 8 ? "failed" : "retrying"]))
        // The response body is kept in part.
        expect(log[0]!.responseBody).toBe("x".repeat(OutboundWebhook.RESPONSE_EXCERPT_LENGTH))
        const [job] = (yield* crm.dispatcher.jobs({ ruleId: `webhook:${subscription.id}` })).items
        expect(job).toMatchObject({ status: "dead", attempts: 8 })
        expect(job!.lastError).toContain("the receiver answered 502")

        to.reply = () => "ok"
        const requeued = yield* crm.webhooks.redeliver(log[7]!.id)
        expect(requeued).toMatchObject({ id: job!.id, status: "pending", attempts: 0 })
        // Queued already: a second redelivery is refused.
        expect(yield* failure(crm.webhooks.redeliver(log[7]!.id))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["deliveryId"] }] })
        yield* runDue(to)
        expect(to.requests).toHaveLength(9)
        expect(new Set(to.requests.map((r) => r.id)).size).toBe(1)
        expect(to.processed.size).toBe(1)
        expect((yield* deliveries(subscription.id)).at(-1)).toMatchObject({ attempt: 1, result: "delivered" })
      })
    )
  )

  it.effect("the delivery log forgets attempts older than deliveryLogRetention (30 days by default) as new ones are logged", () =>
    Effect.gen(function* () {
      const logged = (settings: Webhooks.WebhookSettingsService) =>
        withCrm(
          Effect.gen(function* () {
            const to = yield* receiver()
            const subscription = yield* subscribe(to, ["contact.created"])
            yield* newContact("ada@example.com")
            yield* runDue(to)
            yield* TestClock.setTime(START + 2 * 86_400_000)
            yield* newContact("bob@example.com")
            yield* runDue(to)
            expect(to.requests).toHaveLength(2)
            return (yield* deliveries(subscription.id)).map((d) => DateTime.formatIso(d.attemptedAt))
          }),
          settings
        )
      expect(yield* logged({})).toEqual(["2025-01-06T09:00:00.000Z", "2025-01-08T09:00:00.000Z"])
      expect(yield* logged({ deliveryLogRetention: "1 day" })).toEqual(["2025-01-08T09:00:00.000Z"])
    })
  )

  it.effect("a receiver that does not answer within the timeout is a failed attempt, retried", () =>
    withCrm(
      Effect.gen(function* () {
        const to = yield* receiver((_, attempt) => (attempt === 1 ? "hang" : "ok"))
        const subscription = yield* subscribe(to, ["contact.created"])
        yield* newContact("ada@example.com")
        yield* runDue(to)
        const [first] = yield* deliveries(subscription.id)
        expect(first).toMatchObject({ result: "retrying", statusCode: null, error: "no answer within 300 ms" })
        expect(first!.durationMs).toBeGreaterThanOrEqual(290)
        yield* runAt(to, START + 30_000)
        expect((yield* deliveries(subscription.id)).map((d) => d.result)).toEqual(["retrying", "delivered"])
      }),
      { timeout: "300 millis" }
    )
  )

  it.effect("after rotateSecret, messages carry a signature per secret until keepPreviousFor has passed, then the new one only", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const to = yield* receiver()
        const subscription = yield* subscribe(to, ["contact.created"])
        const [previous] = to.secrets
        const rotated = yield* crm.webhooks.rotateSecret(subscription.id, { keepPreviousFor: "1 hour" })
        expect(rotated.secret).not.toBe(previous)
        expect(rotated.subscription.previousSecretExpiresAt).toEqual(DateTime.unsafeMake(START + 3_600_000))
        to.secrets.push(rotated.secret)
        yield* newContact("ada@example.com")
        yield* runDue(to)
        expect(to.requests[0]!.signature.split(" ")).toHaveLength(2)
        expect(to.requests[0]!.verifiedBy).toEqual([previous, rotated.secret])
        yield* TestClock.setTime(START + 3_600_000)
        yield* newContact("bob@example.com")
        yield* runDue(to)
        expect(to.requests[1]!.signature.split(" ")).toHaveLength(1)
        expect(to.requests[1]!.verifiedBy).toEqual([rotated.secret])
      })
    )
  )
})

// A host name that resolves to loopback, as an intranet name or a DNS-rebinding name would: the
// real resolver is wrapped for this one name (node:dns's exports are synced so the delivery code,
// which imports them, sees the wrapper), so the test does not depend on this machine's hosts file.
const intranetName = "erp.intranet.example"
const resolvingToLoopback = Effect.acquireRelease(
  Effect.sync(() => {
    const original = dnsModule.lookup
    const wrapped = ((hostname: string, options: unknown, callback: unknown) => {
      if (hostname !== intranetName) return (original as Function)(hostname, options, callback)
      const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all === true
      const done = (typeof options === "function" ? options : callback) as (...args: Array<unknown>) => void
      return all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4)
    }) as typeof dnsModule.lookup
    dnsModule.lookup = wrapped
    syncBuiltinESMExports()
    return original
  }),
  (original) =>
    Effect.sync(() => {
      dnsModule.lookup = original
      syncBuiltinESMExports()
    })
)

describe("webhooks — addresses", () => {
  const refusedUrls = [
    "http://127.0.0.1:8080/hooks",
    "http://[::1]/hooks",
    "http://0x7f.1/hooks",
    "http://2130706433/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://10.1.2.3/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/hooks",
    "http://[fd12:3456::1]/hooks",
    "http://localhost:3000/hooks",
    "https://api.localhost/hooks"
  ]

  it.effect("a URL whose host is a private, loopback, link-local or unique-local address (in any spelling) is refused when subscribing; stored data is unchanged", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        for (const url of refusedUrls) {
          const error = yield* failure(crm.webhooks.create({ url, eventTypes: ["*"] }))
          expect([url, error]).toMatchObject([url, { _tag: "ValidationError", issues: [{ path: ["url"], message: expect.stringContaining("deliveries may not reach it") }] }])
        }
        expect((yield* crm.webhooks.list()).items).toEqual([])
        const ok = yield* crm.webhooks.create({ url: "https://erp.example.com/hooks", eventTypes: ["*"] })
        expect(yield* failure(crm.webhooks.update(ok.subscription.id, { url: "http://192.168.1.10/" }))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["url"] }] })
        expect((yield* crm.webhooks.get(ok.subscription.id)).url).toBe("https://erp.example.com/hooks")
      })
    )
  )

  it.effect("the subscription's allowPrivateNetwork, or the CRM's allowPrivateNetworks, lets a URL on a private address through", () =>
    Effect.gen(function* () {
      const bySubscription = yield* withCrm(
        Effect.flatMap(Crm.Crm, (crm) => Effect.forEach(refusedUrls, (url) => crm.webhooks.create({ url, eventTypes: ["*"], allowPrivateNetwork: true })))
      )
      expect(bySubscription).toHaveLength(refusedUrls.length)
      const byCrm = yield* withCrm(
        Effect.flatMap(Crm.Crm, (crm) => Effect.forEach(refusedUrls, (url) => crm.webhooks.create({ url, eventTypes: ["*"] }))),
        { allowPrivateNetworks: true }
      )
      expect(byCrm.map((c) => c.subscription.allowPrivateNetwork)).toEqual(refusedUrls.map(() => false))
    })
  )

  it.effect(
    "a host name that resolves to a loopback or private address is refused at delivery: nothing reaches it, the message is dead",
    () =>
      withCrm(
        Effect.gen(function* () {
          yield* resolvingToLoopback
          const crm = yield* Crm.Crm
          const to = yield* receiver()
          const url = to.url.replace("127.0.0.1", intranetName)
          const { subscription } = yield* crm.webhooks.create({ url, eventTypes: ["contact.created"] })
          yield* newContact("ada@example.com")
          const report = yield* runDue(to)
          expect(report).toMatchObject({ claimed: 1, dead: 1 })
          expect(to.requests).toHaveLength(0)
          const [delivery] = yield* deliveries(subscription.id)
          expect(delivery).toMatchObject({ result: "refused", statusCode: null })
          expect(delivery!.error).toContain(`${intranetName} resolves to`)
          // Allowed for this subscription, the same message goes out.
          yield* crm.webhooks.update(subscription.id, { allowPrivateNetwork: true })
          yield* crm.webhooks.redeliver(delivery!.id)
          yield* runDue(to)
          expect(to.requests).toHaveLength(1)
        })
      )
  )
})

describe("webhooks — what is sent", () => {
  it.effect("every event type reaches a \"*\" subscriber with its data; a subscription hears only its types; another workspace's events stay there", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const all = yield* receiver()
        const dealsOnly = yield* receiver()
        yield* subscribe(all, ["*"])
        yield* subscribe(dealsOnly, ["deal.won", "deal.lost"])
        const ada = yield* newContact("ada@example.com")
        yield* crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines: [line("shoe")] } })
        const won = yield* crm.deals.create({ title: "Fleet", amount: { amountMinor: 250_000, currency: "EUR" }, contactId: ada.id })
        yield* crm.deals.win(won.id)
        const company = yield* crm.companies.create({ name: "Acme" })
        const lost = yield* crm.deals.create({ title: "Vans", amount: { amountMinor: 90_000, currency: "EUR" }, companyId: company.id })
        yield* crm.deals.lose(lost.id, { reason: "price" })
        yield* crm.consent.grant(ada.id)
        yield* crm.consent.withdraw(ada.id)
        yield* crm.webhooks.importFinished({ importId: "import-7", rowsRead: 3, created: 2, updated: 0, skipped: 1, rejected: 0 })
        // Elsewhere: nothing reaches this workspace's subscribers.
        yield* Effect.flatMap(newContact("zoe@example.com"), () => Effect.void).pipe(Workspaces.withWorkspace(Ids.WorkspaceId.make("other")))
        yield* runDue([all, dealsOnly])
        const bodies = all.requests.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, any> })
        expect(bodies.map((b) => b.type).sort()).toEqual(
          ["consent.withdrawn", "contact.created", "contact.stage_changed", "deal.lost", "deal.won", "import.finished", "order.placed"].sort()
        )
        const of = (type: string) => bodies.find((b) => b.type === type)!.data
        expect(of("order.placed")).toMatchObject({ event: { id: "order-1", payload: { orderId: "o-1" } }, contact: { id: ada.id, stage: "customer" } })
        expect(of("contact.stage_changed")).toMatchObject({
          event: { type: "contact.stage_changed", payload: { from: "suspect", to: "customer", cause: { kind: "automatic", eventId: "order-1" } } },
          contact: { id: ada.id, stage: "customer" }
        })
        expect(of("deal.won")).toMatchObject({ deal: { id: won.id, status: "won", contactId: ada.id } })
        expect(of("deal.lost")).toMatchObject({ deal: { id: lost.id, status: "lost", closeReason: "price", contactId: null } })
        expect(of("consent.withdrawn")).toMatchObject({ event: { type: "consent.withdrawn", payload: { purpose: "marketing" } }, contact: { id: ada.id } })
        expect(of("import.finished")).toEqual({ import: { importId: "import-7", rowsRead: 3, created: 2, updated: 0, skipped: 1, rejected: 0 } })
        expect(dealsOnly.requests.map((r) => (JSON.parse(r.body) as { type: string }).type).sort()).toEqual(["deal.lost", "deal.won"])
        expect([...all.requests, ...dealsOnly.requests].every((r) => r.verifiedBy.length === 1)).toBe(true)
        // The same import id again is the same message: not sent twice.
        yield* crm.webhooks.importFinished({ importId: "import-7", rowsRead: 3, created: 2, updated: 0, skipped: 1, rejected: 0 })
        yield* runDue(all)
        expect(all.requests.filter((r) => r.body.includes("import.finished"))).toHaveLength(1)
      })
    )
  )

  it.effect("a disabled subscription queues nothing; its messages queued before are skipped, and redelivered once it is enabled again", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const to = yield* receiver((_, attempt) => (attempt === 1 ? { status: 500 } : "ok"))
        const subscription = yield* subscribe(to, ["contact.created"])
        yield* newContact("ada@example.com")
        yield* runDue(to)
        const off = yield* crm.webhooks.update(subscription.id, { enabled: false, expectedVersion: subscription.version })
        expect(off).toMatchObject({ enabled: false, disabledReason: null })
        yield* newContact("bob@example.com")
        yield* runAt(to, START + 3_600_000)
        expect(to.requests).toHaveLength(1)
        const [job] = (yield* crm.dispatcher.jobs({ ruleId: `webhook:${subscription.id}` })).items
        expect(job).toMatchObject({ status: "skipped", outcome: { reason: "the subscription is disabled" } })
        const [delivery] = yield* deliveries(subscription.id)
        expect(yield* failure(crm.webhooks.redeliver(delivery!.id))).toMatchObject({ _tag: "ValidationError", message: expect.stringContaining("is disabled") })
        yield* crm.webhooks.update(subscription.id, { enabled: true })
        yield* crm.webhooks.redeliver(delivery!.id)
        yield* runDue(to)
        expect(to.requests).toHaveLength(2)
        expect(to.processed.size).toBe(1)
      })
    )
  )

  it.effect("removing a subscription removes its log; its queued messages are skipped; a stale expectedVersion is a Conflict; unknown ids are NotFound", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const to = yield* receiver()
        const subscription = yield* subscribe(to, ["contact.created"])
        yield* newContact("ada@example.com")
        expect(yield* failure(crm.webhooks.update(subscription.id, { description: "x", expectedVersion: subscription.version + 1 }))).toMatchObject({
          _tag: "Conflict",
          reason: "version"
        })
        yield* crm.webhooks.remove(subscription.id)
        yield* runDue(to)
        expect(to.requests).toHaveLength(0)
        expect((yield* crm.dispatcher.jobs({ ruleId: `webhook:${subscription.id}` })).items).toMatchObject([{ status: "skipped", outcome: { reason: "the subscription was removed" } }])
        expect(yield* failure(crm.webhooks.get(subscription.id))).toMatchObject({ _tag: "NotFound", entity: "webhookSubscription" })
        expect(yield* failure(crm.webhooks.deliveries(subscription.id))).toMatchObject({ _tag: "NotFound" })
        expect(yield* failure(crm.webhooks.remove(subscription.id))).toMatchObject({ _tag: "NotFound" })
        expect(yield* failure(crm.webhooks.redeliver("0190a0a0-0000-7000-8000-000000000000"))).toMatchObject({ _tag: "NotFound", entity: "webhookDelivery" })
        expect(yield* failure(crm.webhooks.get("not-an-id"))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["subscriptionId"] }] })
      })
    )
  )

  it.effect("lists and reads never show a secret; create and rotateSecret show it once", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const created = yield* crm.webhooks.create({ url: "https://erp.example.com/hooks", eventTypes: ["deal.won"], description: "ERP" })
        expect(created.secret).toMatch(/^whsec_/)
        const shown = JSON.stringify([created.subscription, yield* crm.webhooks.get(created.subscription.id), yield* crm.webhooks.list()])
        expect(shown).not.toContain(created.secret.slice("whsec_".length))
        expect(shown).not.toContain("secret\"")
        expect(Object.keys(created.subscription).sort()).toEqual(
          ["allowPrivateNetwork", "createdAt", "description", "disabledReason", "enabled", "eventTypes", "id", "previousSecretExpiresAt", "updatedAt", "url", "version", "workspaceId"].sort()
        )
      })
    )
  )
})
