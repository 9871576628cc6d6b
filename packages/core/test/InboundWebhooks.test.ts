// Webhooks in (issue 14): a delivery is verified over its raw bytes, refused when its signature,
// timestamp or source is wrong (nothing recorded), recorded once per delivery id in the database
// (a second client on the same SQLite file refuses a replay too), mapped to events that are
// idempotent by an id derived from the order, and answered with a receipt.
import { Crm, createCrm, type CrmClient, RapportWebhookError, Storage, WebhookSignature } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { createHmac } from "node:crypto"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Webhook } from "standardwebhooks"
import { failure, inWorkspace, withCrm } from "./helpers.js"
import { WorkspaceId } from "../src/domain/Ids.js"

const fixture = (name: string): Uint8Array => readFileSync(new URL(`./fixtures/webhooks/${name}`, import.meta.url))
const bytes = (s: string) => new TextEncoder().encode(s)
const acme = WorkspaceId.make("acme")

const SHOPIFY_SECRET = "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"
const WOO_SECRET = "woo-webhook-secret-1"
const STANDARD_SECRET = "whsec_" + Buffer.from("rapport standard webhooks secret").toString("base64")
const ROTATED_SECRET = "whsec_" + Buffer.from("rapport rotated webhooks secret!").toString("base64")

const hmac = (secret: string, body: Uint8Array) => createHmac("sha256", secret).update(body).digest("base64")
const shopifyHeaders = (body: Uint8Array, webhookId: string, topic = "orders/create", secret = SHOPIFY_SECRET) => ({
  "x-shopify-hmac-sha256": hmac(secret, body),
  "x-shopify-webhook-id": webhookId,
  "x-shopify-topic": topic,
  "x-shopify-shop-domain": "acme.myshopify.com",
  "content-type": "application/json"
})
const wooHeaders = (body: Uint8Array, deliveryId: string, topic = "order.created") => ({
  "X-WC-Webhook-Signature": hmac(WOO_SECRET, body),
  "X-WC-Webhook-Delivery-ID": deliveryId,
  "X-WC-Webhook-Topic": topic,
  "X-WC-Webhook-Source": "https://shop.example/"
})
/** Headers signed by the standardwebhooks package at `at` (seconds). */
const standardHeaders = (body: Uint8Array, id: string, atSeconds: number, secret = STANDARD_SECRET) => ({
  "webhook-id": id,
  "webhook-timestamp": String(atSeconds),
  "webhook-signature": new Webhook(secret).sign(id, new Date(atSeconds * 1000), body)
})

const order = fixture("shopify-orders-create.json")
const summary = (r: { readonly duplicate: boolean; readonly ignored: boolean; readonly events: ReadonlyArray<{ readonly id: string; readonly duplicate: boolean }> }) => ({
  duplicate: r.duplicate,
  ignored: r.ignored,
  events: r.events.map((e) => `${e.id}${e.duplicate ? " (duplicate)" : ""}`)
})

describe("inboundWebhooks.receive — Shopify, over the Promise client and one SQLite file", () => {
  const file = join(mkdtempSync(join(tmpdir(), "rapport-webhooks-")), "crm.db")

  it("records the order once, and a replayed delivery id is acknowledged as a duplicate, also by a second client", async () => {
    const first: CrmClient = await createCrm({ storage: sqliteStorage({ filename: file }), workspace: "acme" })
    const second: CrmClient = await createCrm({ storage: sqliteStorage({ filename: file }), workspace: "default" })
    try {
      await first.inboundWebhooks.create({ source: "acme-shop", provider: "shopify", secrets: [SHOPIFY_SECRET] })
      const delivery = { source: "acme-shop", headers: shopifyHeaders(order, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"), body: order }

      // The second client works in another workspace: the source says where the delivery goes.
      const receipt = await second.inboundWebhooks.receive(delivery)
      expect(summary(receipt)).toEqual({ duplicate: false, ignored: false, events: ["acme-shop:order:820982911946154508"] })
      const ada = await first.contacts.findByEmail("jon@example.com")
      expect(ada).toMatchObject({ firstName: "John", lastName: "Smith", stage: "customer", source: { channel: "shopify" } })
      expect(receipt.events[0]!.contactId).toBe(ada!.id)
      const event = await first.events.get("acme-shop:order:820982911946154508")
      expect(event.payload).toMatchObject({ orderId: "acme-shop:820982911946154508", total: { amountMinor: 40300, currency: "USD" } })
      expect(await second.contacts.findByEmail("jon@example.com")).toBeNull()

      // The same delivery again, through either client: acknowledged, not processed again.
      expect(summary(await first.inboundWebhooks.receive(delivery))).toEqual({ duplicate: true, ignored: false, events: [] })
      expect(summary(await second.inboundWebhooks.receive(delivery))).toEqual({ duplicate: true, ignored: false, events: [] })
      // Replayed under another (unsigned) delivery id: the event's id comes from the signed order.
      const replay = { ...delivery, headers: { ...delivery.headers, "x-shopify-webhook-id": "forged-id" } }
      expect(summary(await second.inboundWebhooks.receive(replay))).toEqual({ duplicate: false, ignored: false, events: ["acme-shop:order:820982911946154508 (duplicate)"] })
      expect((await first.timeline.list(ada!.id)).items.filter((e) => e.kind === "order").length).toBe(1)
    } finally {
      await first.close()
      await second.close()
    }
  })

  it("a bad signature or unknown source is refused with a RapportWebhookError and records nothing", async () => {
    const crm = await createCrm({ storage: sqliteStorage({ filename: file }), workspace: "acme" })
    try {
      const body = fixture("shopify-orders-create.json")
      const tampered = bytes(new TextDecoder().decode(body).replace('"price": "199.00"', '"price": "1.00"'))
      const refused = await crm.inboundWebhooks.receive({ source: "acme-shop", headers: shopifyHeaders(body, "tampered-1"), body: tampered }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(RapportWebhookError)
      expect(refused).toMatchObject({ code: "WEBHOOK_REJECTED", reason: "signature", header: "x-shopify-hmac-sha256", source: "acme-shop" })
      const wrongKey = await crm.inboundWebhooks.receive({ source: "acme-shop", headers: shopifyHeaders(body, "tampered-2", "orders/create", "another-secret"), body }).catch((e: unknown) => e)
      expect(wrongKey).toMatchObject({ reason: "signature" })
      const unknown = await crm.inboundWebhooks.receive({ source: "nobody", headers: shopifyHeaders(body, "x"), body }).catch((e: unknown) => e)
      expect(unknown).toMatchObject({ code: "WEBHOOK_REJECTED", reason: "unknownSource" })
      // Nothing was recorded for "tampered-1": the genuine delivery under that id is processed.
      const genuine = await crm.inboundWebhooks.receive({ source: "acme-shop", headers: shopifyHeaders(body, "tampered-1"), body })
      expect(genuine.duplicate).toBe(false)
    } finally {
      await crm.close()
    }
  })
})

/** Sets up a source in workspace acme, runs `program` there. */
const inAcme = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage>) => withCrm(program.pipe(inWorkspace(acme)))

describe("inboundWebhooks.receive — Standard Webhooks", () => {
  // The TestClock starts at 0: a year in, so timestamps are ordinary.
  const start = TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake("2025-06-01T12:00:00Z")))
  const nowSeconds = Effect.map(DateTime.now, (now) => Math.floor(DateTime.toEpochMillis(now) / 1000))
  const event = (id?: string) => bytes(JSON.stringify({ ...(id === undefined ? {} : { id }), type: "signed.up", email: "grace@example.com", payload: { plan: "pro" } }))

  it.effect("a delivery signed by the standardwebhooks package is recorded once; its event id comes from the delivery", () =>
    inAcme(
      Effect.gen(function* () {
        yield* start
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET] })
        const body = event()
        const delivery = { source: "erp", headers: standardHeaders(body, "msg_2a1b", yield* nowSeconds), body }
        expect(summary(yield* crm.inboundWebhooks.receive(delivery))).toEqual({ duplicate: false, ignored: false, events: ["erp:msg_2a1b"] })
        expect(summary(yield* crm.inboundWebhooks.receive(delivery))).toEqual({ duplicate: true, ignored: false, events: [] })
        expect((yield* crm.events.get("erp:msg_2a1b")).payload).toEqual({ plan: "pro" })
      })
    ))

  it.effect("expired and future timestamps are refused (5 minutes by default); within it both pass", () =>
    inAcme(
      Effect.gen(function* () {
        yield* start
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET] })
        const now = yield* nowSeconds
        const body = event()
        const at = (id: string, seconds: number) => crm.inboundWebhooks.receive({ source: "erp", headers: standardHeaders(body, id, seconds), body })
        expect(yield* failure(at("old", now - 301))).toMatchObject({ _tag: "WebhookRejected", reason: "timestamp", header: "webhook-timestamp" })
        expect(yield* failure(at("future", now + 301))).toMatchObject({ _tag: "WebhookRejected", reason: "timestamp" })
        expect((yield* at("old", now - 299)).duplicate).toBe(false)
        expect((yield* at("future", now + 299)).duplicate).toBe(false)
        // A tolerance of its own.
        yield* crm.inboundWebhooks.update("erp", { toleranceSeconds: 30 })
        expect(yield* failure(at("late", now - 31))).toMatchObject({ reason: "timestamp" })
      })
    ))

  it.effect("rotation: old and new secrets both verify while both are configured; the old one stops once removed", () =>
    inAcme(
      Effect.gen(function* () {
        yield* start
        const crm = yield* Crm.Crm
        const created = yield* crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET] })
        const now = yield* nowSeconds
        const send = (id: string, secret: string) => {
          const body = event(`evt-${id}`)
          return crm.inboundWebhooks.receive({ source: "erp", headers: standardHeaders(body, id, now, secret), body })
        }
        expect(yield* failure(send("m1", ROTATED_SECRET))).toMatchObject({ reason: "signature" })
        const rotated = yield* crm.inboundWebhooks.update("erp", { secrets: [ROTATED_SECRET, STANDARD_SECRET], expectedVersion: created.version })
        expect(rotated).toMatchObject({ secretCount: 2, version: 2 })
        expect((yield* send("m1", ROTATED_SECRET)).events.map((e) => e.id)).toEqual(["evt-m1"])
        expect((yield* send("m2", STANDARD_SECRET)).events.map((e) => e.id)).toEqual(["evt-m2"])
        yield* crm.inboundWebhooks.update("erp", { secrets: [ROTATED_SECRET] })
        expect(yield* failure(send("m3", STANDARD_SECRET))).toMatchObject({ reason: "signature" })
        // A stale version is refused.
        expect(yield* failure(crm.inboundWebhooks.update("erp", { secrets: [STANDARD_SECRET], expectedVersion: 1 }))).toMatchObject({ _tag: "Conflict", reason: "version" })
      })
    ))

  it.effect("a body that is not JSON is refused after the signature; an event that does not fit is a ValidationError; neither is recorded", () =>
    inAcme(
      Effect.gen(function* () {
        yield* start
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET] })
        const now = yield* nowSeconds
        const notJson = bytes("type=signed.up")
        expect(yield* failure(crm.inboundWebhooks.receive({ source: "erp", headers: standardHeaders(notJson, "m1", now), body: notJson }))).toMatchObject({ _tag: "WebhookRejected", reason: "body" })
        const badEvent = bytes(JSON.stringify({ type: "signed.up", email: "not-an-email" }))
        const invalid = yield* failure(crm.inboundWebhooks.receive({ source: "erp", headers: standardHeaders(badEvent, "m2", now), body: badEvent }))
        expect(invalid).toMatchObject({ _tag: "ValidationError" })
        // "m2" was not recorded: its fixed delivery goes through.
        const fixed = event()
        expect((yield* crm.inboundWebhooks.receive({ source: "erp", headers: standardHeaders(fixed, "m2", now), body: fixed })).duplicate).toBe(false)
      })
    ))

  it.effect("a host's mapper replaces the built-in one; null records nothing; a mapper that throws records nothing (the sender retries)", () =>
    inAcme(
      Effect.gen(function* () {
        yield* start
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "billing", provider: "standard", secrets: [STANDARD_SECRET] })
        const now = yield* nowSeconds
        const body = bytes(JSON.stringify({ kind: "invoice.paid", customer: { email: "lin@example.com" }, lines: [{ id: 1 }, { id: 2 }] }))
        const headers = standardHeaders(body, "inv-1", now)
        const mapper = (payload: unknown, h: Readonly<Record<string, string>>) => {
          const p = payload as { kind: string; customer: { email: string }; lines: Array<{ id: number }> }
          if (p.kind !== "invoice.paid") return null
          expect(h["webhook-id"]).toBe("inv-1")
          return p.lines.map((l) => ({ type: "invoice.line_paid", email: p.customer.email, payload: { line: l.id } }))
        }
        const broken = () => {
          throw new Error("mapper bug")
        }
        const crashed = yield* Effect.exit(crm.inboundWebhooks.receive({ source: "billing", headers, body }, { mappers: { billing: broken } }))
        expect(crashed._tag === "Failure" && crashed.cause._tag === "Die").toBe(true)
        const receipt = yield* crm.inboundWebhooks.receive({ source: "billing", headers, body }, { mappers: { billing: mapper } })
        expect(summary(receipt)).toEqual({ duplicate: false, ignored: false, events: ["billing:inv-1:0", "billing:inv-1:1"] })
        const other = bytes(JSON.stringify({ kind: "invoice.created" }))
        const ignored = yield* crm.inboundWebhooks.receive({ source: "billing", headers: standardHeaders(other, "inv-2", now), body: other }, { mappers: { billing: mapper } })
        expect(summary(ignored)).toEqual({ duplicate: false, ignored: true, events: [] })
      })
    ))
})

describe("inboundWebhooks.receive — concurrency, pruning, WooCommerce", () => {
  it.effect("two deliveries of the same id at once: one is processed, the other is a duplicate", () =>
    inAcme(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "shop", provider: "shopify", secrets: [SHOPIFY_SECRET] })
        const delivery = { source: "shop", headers: shopifyHeaders(order, "same-id"), body: order }
        const outcomes = yield* Effect.all([crm.inboundWebhooks.receive(delivery), crm.inboundWebhooks.receive(delivery)], { concurrency: "unbounded" })
        expect(outcomes.map((o) => o.duplicate).sort()).toEqual([false, true])
      })
    ))

  it.effect("delivery ids are kept 7 days: a replay within them is a duplicate, after them only its events are", () =>
    inAcme(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "shop", provider: "shopify", secrets: [SHOPIFY_SECRET] })
        const first = { source: "shop", headers: shopifyHeaders(order, "d-1"), body: order }
        yield* crm.inboundWebhooks.receive(first)
        yield* TestClock.adjust("6 days")
        expect((yield* crm.inboundWebhooks.receive(first)).duplicate).toBe(true)
        yield* TestClock.adjust("2 days")
        // Another delivery of the source prunes the receipts older than 7 days.
        const checkout = fixture("shopify-checkouts-update.json")
        yield* crm.inboundWebhooks.receive({ source: "shop", headers: shopifyHeaders(checkout, "d-2", "checkouts/update"), body: checkout })
        expect(summary(yield* crm.inboundWebhooks.receive(first))).toEqual({ duplicate: false, ignored: false, events: ["shop:order:820982911946154508 (duplicate)"] })
        // The checkout's event is a cart.updated of the same contact (known by the customer's email).
        expect((yield* crm.events.get("shop:cart:123123123:2022-01-01T10:15:00-05:00")).type).toBe("cart.updated")
      })
    ))

  it.effect("WooCommerce: the unsigned ping is acknowledged; order.created records the order; order.updated of it is a duplicate event", () =>
    inAcme(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.inboundWebhooks.create({ source: "woo", provider: "woocommerce", secrets: [WOO_SECRET] })
        const ping = yield* crm.inboundWebhooks.receive({ source: "woo", headers: { "content-type": "application/x-www-form-urlencoded" }, body: bytes("webhook_id=12") })
        expect(summary(ping)).toEqual({ duplicate: false, ignored: true, events: [] })
        // Anything else unsigned is refused.
        expect(yield* failure(crm.inboundWebhooks.receive({ source: "woo", headers: {}, body: bytes("webhook_id=12&x=1") }))).toMatchObject({ reason: "missingHeader", header: "x-wc-webhook-signature" })

        const body = fixture("woocommerce-order-created.json")
        const created = yield* crm.inboundWebhooks.receive({ source: "woo", headers: wooHeaders(body, "wc-d1"), body })
        expect(summary(created)).toEqual({ duplicate: false, ignored: false, events: ["woo:order:727"] })
        expect((yield* crm.contacts.findByEmail("john.doe@example.com")).pipe((c) => c._tag === "Some" && c.value.stage)).toBe("customer")
        const updated = yield* crm.inboundWebhooks.receive({ source: "woo", headers: wooHeaders(body, "wc-d2", "order.updated"), body })
        expect(summary(updated)).toEqual({ duplicate: false, ignored: false, events: ["woo:order:727 (duplicate)"] })
      })
    ))
})

describe("inboundWebhooks sources", () => {
  it.effect("create, list, get, update and remove; secrets are never shown; names are unique across workspaces", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const made = yield* crm.inboundWebhooks.create({ provider: "woocommerce", secrets: [WOO_SECRET] }).pipe(inWorkspace(acme))
        expect(made.source).toMatch(/^woocommerce-[0-9a-z]{16}$/)
        expect(made).toMatchObject({ workspaceId: "acme", provider: "woocommerce", secretCount: 1, toleranceSeconds: 300, version: 1 })
        yield* crm.inboundWebhooks.create({ source: "shop", provider: "shopify", secrets: [SHOPIFY_SECRET, "older"] }).pipe(inWorkspace(acme))
        const listed = yield* crm.inboundWebhooks.list().pipe(inWorkspace(acme))
        expect(listed.map((s) => [s.source, s.secretCount])).toEqual([["shop", 2], [made.source, 1]])
        expect(JSON.stringify(listed)).not.toContain(SHOPIFY_SECRET)
        expect(JSON.stringify(yield* crm.inboundWebhooks.get("shop").pipe(inWorkspace(acme)))).not.toContain(SHOPIFY_SECRET)

        // Another workspace cannot take the name (the URL names only the source) nor see it.
        expect(yield* failure(crm.inboundWebhooks.create({ source: "shop", provider: "shopify", secrets: ["x"] }))).toMatchObject({ _tag: "Conflict", reason: "unique", field: "source" })
        expect(yield* failure(crm.inboundWebhooks.get("shop"))).toMatchObject({ _tag: "NotFound", entity: "inboundWebhook" })
        expect(yield* failure(crm.inboundWebhooks.remove("shop"))).toMatchObject({ _tag: "NotFound" })

        yield* crm.inboundWebhooks.remove("shop").pipe(inWorkspace(acme))
        expect((yield* crm.inboundWebhooks.list().pipe(inWorkspace(acme))).map((s) => s.source)).toEqual([made.source])
        expect(yield* failure(crm.inboundWebhooks.receive({ source: "shop", headers: shopifyHeaders(order, "z"), body: order }))).toMatchObject({ reason: "unknownSource" })
      })
    ))

  it.effect("bad input names the field and the reason", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const paths = (e: unknown) => (e as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown>; message: string }> }).issues.map((i) => [i.path.join("."), i.message])
        expect(paths(yield* failure(crm.inboundWebhooks.create({ source: "Shop Name", provider: "magento" as never, secrets: [] })))).toEqual([
          ["source", "must be 1-64 lower-case letters, digits, - or _, starting with a letter or digit (it is part of a URL)"],
          ["provider", 'must be one of "standard", "shopify", "woocommerce", "brevo", "mailjet"'],
          ["secrets", "give at least one secret"]
        ])
        expect(paths(yield* failure(crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET, "plain text"] })))).toEqual([
          ["secrets.1", "must be a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes"]
        ])
        yield* crm.inboundWebhooks.create({ source: "erp", provider: "standard", secrets: [STANDARD_SECRET] })
        expect(paths(yield* failure(crm.inboundWebhooks.update("erp", { secrets: ["whsec_short"] })))).toEqual([
          ["secrets.0", "must be a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes"]
        ])
        expect(paths(yield* failure(crm.inboundWebhooks.receive({ source: "erp", headers: {}, body: "{}" as never })))).toEqual([
          ["body", "must be the raw request body as bytes (a Uint8Array or Buffer), exactly as received"]
        ])
      })
    ))

  it.effect("verify checks a delivery against secrets without a stored source", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const body = bytes('{"a":1}')
        const headers = { "x-shopify-hmac-sha256": WebhookSignature.hmacBase64("s", body), "x-shopify-webhook-id": "w-1" }
        expect(yield* crm.inboundWebhooks.verify({ provider: "shopify", secrets: ["s"], headers, body })).toEqual({ webhookId: "w-1", timestamp: null })
        expect(yield* failure(crm.inboundWebhooks.verify({ provider: "shopify", secrets: ["t"], headers, body }))).toMatchObject({ _tag: "WebhookRejected", reason: "signature" })
      })
    ))
})
