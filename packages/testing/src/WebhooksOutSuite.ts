// Outbound webhook subscriptions and their delivery log, as part of the storage contract:
// subscriptions are stored exactly (secrets, event types, flags), listed by id and per workspace
// only, updated under their version, disabled once; the log pages newest first and goes with its
// subscription; redelivery queues only finished webhook jobs again; an event queues its messages
// in the outbox with the body intact. Registered by `storageSuite`; not a public entry point.
import { Crm, Errors, Ids, Job, OutboundWebhook, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const encodeSubscription = Schema.encodeSync(OutboundWebhook.StoredSubscription)
const subscriptionJson = (s: OutboundWebhook.StoredSubscription) => encodeSubscription(s)
const encodeDelivery = Schema.encodeSync(OutboundWebhook.Delivery)
const deliveryJson = (d: OutboundWebhook.Delivery) => encodeDelivery(d)

const subscription = (workspaceId: Ids.WorkspaceId, overrides: Partial<OutboundWebhook.StoredSubscription> = {}) =>
  new OutboundWebhook.StoredSubscription({
    id: Ids.WebhookSubscriptionId.make(randomUUID()),
    workspaceId,
    url: "https://erp.example.com/hooks?tenant=é",
    eventTypes: ["contact.created", "deal.won"],
    description: "ERP ✓",
    enabled: true,
    disabledReason: null,
    allowPrivateNetwork: false,
    previousSecretExpiresAt: null,
    version: 1,
    createdAt: at("2025-06-01T09:00:00.000Z"),
    updatedAt: at("2025-06-01T09:00:00.000Z"),
    secret: OutboundWebhook.generateSecret(),
    previousSecret: null,
    ...overrides
  })

const delivery = (sub: OutboundWebhook.StoredSubscription, attemptedAt: string, overrides: Partial<OutboundWebhook.Delivery> = {}) =>
  new OutboundWebhook.Delivery({
    id: Ids.WebhookDeliveryId.make(randomUUID()),
    workspaceId: sub.workspaceId,
    subscriptionId: sub.id,
    jobId: Ids.JobId.make(randomUUID()),
    messageId: "msg_abc",
    eventType: "contact.created",
    attempt: 1,
    attemptedAt: at(attemptedAt),
    durationMs: 12,
    statusCode: 500,
    result: "retrying",
    error: "the receiver answered 500",
    responseBody: "oops ✓",
    nextAttemptAt: at("2025-06-01T09:01:00.000Z"),
    ...overrides
  })

export const webhooksOutSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("outbound webhooks (storage)", () => {
    test("a subscription is stored exactly (secrets, event types, flags), listed in id order and only in its workspace; enabled lists the enabled ones", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const rotating = subscription(ws, {
          eventTypes: ["*"],
          allowPrivateNetwork: true,
          previousSecret: OutboundWebhook.generateSecret(),
          previousSecretExpiresAt: at("2025-06-02T09:00:00.000Z"),
          description: null
        })
        const disabled = subscription(ws, { enabled: false, disabledReason: "the receiver answered 410 Gone" })
        const other = subscription(Fixtures.freshWorkspaceId())
        for (const sub of [rotating, disabled, other]) yield* s.webhookSubscriptions.insert(sub)
        expect(Option.map(yield* s.webhookSubscriptions.get(ws, rotating.id), subscriptionJson)).toEqual(Option.some(subscriptionJson(rotating)))
        expect(Option.isNone(yield* s.webhookSubscriptions.get(ws, other.id))).toBe(true)
        const byId = [rotating, disabled].sort((a, b) => (a.id < b.id ? -1 : 1))
        expect((yield* s.webhookSubscriptions.list(ws, { limit: 10 })).map(subscriptionJson)).toEqual(byId.map(subscriptionJson))
        expect((yield* s.webhookSubscriptions.list(ws, { limit: 1, after: byId[0]!.id })).map((x) => x.id)).toEqual([byId[1]!.id])
        expect((yield* s.webhookSubscriptions.enabled(ws)).map((x) => x.id)).toEqual([rotating.id])
        const error = yield* failure(s.webhookSubscriptions.insert(subscription(ws, { id: rotating.id, url: "https://thief.example.com/" })))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", entity: "webhookSubscription", field: "id" })
        expect(error).toBeInstanceOf(Errors.Conflict)
        expect((yield* s.webhookSubscriptions.get(ws, rotating.id)).pipe(Option.getOrThrow).url).toBe(rotating.url)
      }))

    test("update checks the version; disable turns an enabled subscription off once, with its reason and one more version", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const sub = subscription(ws)
        yield* s.webhookSubscriptions.insert(sub)
        const next = new OutboundWebhook.StoredSubscription({ ...sub, url: "https://erp.example.com/v2", version: 2, updatedAt: at("2025-06-01T10:00:00.000Z") })
        yield* s.webhookSubscriptions.update(next, 1)
        expect(yield* failure(s.webhookSubscriptions.update(new OutboundWebhook.StoredSubscription({ ...next, version: 2 }), 1))).toMatchObject({
          _tag: "Conflict",
          reason: "version"
        })
        const when = at("2025-06-01T11:00:00.000Z")
        expect(yield* s.webhookSubscriptions.disable(ws, sub.id, "the receiver answered 410 Gone", when)).toBe(true)
        expect(yield* s.webhookSubscriptions.disable(ws, sub.id, "again", when)).toBe(false)
        expect(yield* s.webhookSubscriptions.disable(Fixtures.freshWorkspaceId(), sub.id, "elsewhere", when)).toBe(false)
        const stored = (yield* s.webhookSubscriptions.get(ws, sub.id)).pipe(Option.getOrThrow)
        expect(stored).toMatchObject({ enabled: false, disabledReason: "the receiver answered 410 Gone", version: 3, url: "https://erp.example.com/v2" })
        expect(DateTime.formatIso(stored.updatedAt)).toBe("2025-06-01T11:00:00.000Z")
        expect(yield* s.webhookSubscriptions.enabled(ws)).toEqual([])
      }))

    test("the delivery log is stored exactly, pages newest first per subscription, and goes when its subscription is removed", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const sub = subscription(ws)
        const sibling = subscription(ws)
        for (const x of [sub, sibling]) yield* s.webhookSubscriptions.insert(x)
        const first = delivery(sub, "2025-06-01T09:00:00.000Z")
        const second = delivery(sub, "2025-06-01T09:00:30.000Z", { attempt: 2, statusCode: null, error: "the connection was reset", responseBody: null })
        const third = delivery(sub, "2025-06-01T09:01:30.000Z", { attempt: 3, statusCode: 200, result: "delivered", error: null, nextAttemptAt: null })
        const elsewhere = delivery(sibling, "2025-06-01T09:02:00.000Z")
        for (const d of [second, third, first, elsewhere]) yield* s.webhookSubscriptions.logDelivery(d)
        expect(Option.map(yield* s.webhookSubscriptions.getDelivery(ws, second.id), deliveryJson)).toEqual(Option.some(deliveryJson(second)))
        const page1 = yield* s.webhookSubscriptions.deliveries(ws, { subscriptionId: sub.id, limit: 2 })
        expect(page1.map(deliveryJson)).toEqual([third, second].map(deliveryJson))
        const page2 = yield* s.webhookSubscriptions.deliveries(ws, { subscriptionId: sub.id, limit: 2, before: { attemptedAt: second.attemptedAt, id: second.id } })
        expect(page2.map((d) => d.id)).toEqual([first.id])
        expect(yield* s.webhookSubscriptions.deliveries(Fixtures.freshWorkspaceId(), { subscriptionId: sub.id, limit: 10 })).toEqual([])
        // Pruning forgets the subscription's entries attempted before the date, not those at it, nor another subscription's or workspace's.
        expect(yield* s.webhookSubscriptions.pruneDeliveries(Fixtures.freshWorkspaceId(), sub.id, at("2025-07-01T00:00:00.000Z"))).toBe(0)
        expect(yield* s.webhookSubscriptions.pruneDeliveries(ws, sub.id, second.attemptedAt)).toBe(1)
        expect((yield* s.webhookSubscriptions.deliveries(ws, { subscriptionId: sub.id, limit: 10 })).map((d) => d.id)).toEqual([third.id, second.id])
        expect((yield* s.webhookSubscriptions.deliveries(ws, { subscriptionId: sibling.id, limit: 10 })).map((d) => d.id)).toEqual([elsewhere.id])
        yield* s.webhookSubscriptions.logDelivery(first)
        expect(yield* s.webhookSubscriptions.remove(ws, sub.id)).toBe(true)
        expect(yield* s.webhookSubscriptions.remove(ws, sub.id)).toBe(false)
        expect(Option.isNone(yield* s.webhookSubscriptions.getDelivery(ws, first.id))).toBe(true)
        expect((yield* s.webhookSubscriptions.deliveries(ws, { subscriptionId: sibling.id, limit: 10 })).map((d) => d.id)).toEqual([elsewhere.id])
      }))

    test("redeliver queues a finished webhook job again (attempts 0, due then); not one still queued, nor another kind of job, nor another workspace's", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const webhook = (status: Job.JobStatus) =>
          Fixtures.job(ws, {
            status,
            attempts: 8,
            completedAt: status === "pending" ? null : at("2025-06-01T10:00:00.000Z"),
            lastError: "the receiver answered 500",
            contactId: Job.NO_CONTACT,
            action: { type: "webhook", subscriptionId: Ids.WebhookSubscriptionId.make(randomUUID()), eventType: "import.finished", body: '{"type":"import.finished"}' }
          })
        const dead = yield* webhook("dead")
        const done = yield* webhook("done")
        const pending = yield* webhook("pending")
        const tagJob = yield* Fixtures.job(ws, { status: "dead", attempts: 3 })
        yield* s.jobs.insertMany([dead, done, pending, tagJob])
        const when = at("2025-06-02T08:00:00.000Z")
        for (const job of [dead, done]) {
          const requeued = (yield* s.webhookSubscriptions.redeliver(ws, job.id, when)).pipe(Option.getOrThrow)
          expect(requeued).toMatchObject({ id: job.id, status: "pending", attempts: 0, completedAt: null, lastError: "the receiver answered 500", action: job.action })
          expect(DateTime.formatIso(requeued.dueAt)).toBe("2025-06-02T08:00:00.000Z")
        }
        for (const job of [pending, tagJob]) expect(Option.isNone(yield* s.webhookSubscriptions.redeliver(ws, job.id, when))).toBe(true)
        expect(Option.isNone(yield* s.webhookSubscriptions.redeliver(Fixtures.freshWorkspaceId(), dead.id, when))).toBe(true)
        expect((yield* s.jobs.get(ws, tagJob.id)).pipe(Option.getOrThrow).status).toBe("dead")
      }))

    test("services on this storage: an event queues one message per listening subscription, in the outbox, with its body intact", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        const listening = yield* run(crm.webhooks.create({ url: "https://erp.example.com/hooks", eventTypes: ["contact.created"] }))
        yield* run(crm.webhooks.create({ url: "https://crm.example.com/hooks", eventTypes: ["deal.won"] }))
        const ada = yield* run(crm.contacts.create({ email: "ada@example.com", firstName: "Ada ✓" }))
        const jobs = (yield* run(crm.dispatcher.jobs())).items
        expect(jobs).toHaveLength(1)
        const [job] = jobs
        expect(job).toMatchObject({
          status: "pending",
          ruleId: `webhook:${listening.subscription.id}`,
          contactId: ada.id,
          idempotencyKey: OutboundWebhook.messageIdFor(ws, listening.subscription.id, "contact.created", `contact.created:${ada.id}`),
          action: { type: "webhook", subscriptionId: listening.subscription.id, eventType: "contact.created" }
        })
        const body = JSON.parse((job!.action as Job.WebhookMessage).body)
        expect(body).toMatchObject({ type: "contact.created", data: { contact: { id: ada.id, firstName: "Ada ✓" } } })
      }))
  })
}
