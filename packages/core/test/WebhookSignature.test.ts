// Inbound webhook signatures over raw bytes (issue 14, "Webhooks in"): Standard Webhooks
// interoperates with the `standardwebhooks` package in both directions and with the published
// example; Shopify and WooCommerce signatures match values computed by openssl; bad signatures,
// expired and future timestamps, missing headers and rotated secrets.
import { WebhookSignature } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { Webhook } from "standardwebhooks"

const bytes = (s: string) => new TextEncoder().encode(s)
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const NEW_SECRET = "whsec_" + Buffer.from("a new secret of thirty-two bytes").toString("base64")

describe("Standard Webhooks", () => {
  it("the specification's example signature verifies, and signStandard gives it", () => {
    // The example of the Standard Webhooks specification (and Svix's documentation).
    const body = bytes('{"test": 2432232314}')
    const headers = { "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" }
    expect(WebhookSignature.signStandard(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)).toBe(headers["webhook-signature"])
    const verified = WebhookSignature.verifyStandard({ secrets: [SECRET], headers, body, nowSeconds: 1614265330 + 10 })
    expect(verified).toEqual(Either.right({ webhookId: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330 }))
  })

  it("a payload signed by the standardwebhooks package verifies here (headers in any case)", () => {
    const body = bytes(JSON.stringify({ type: "order.placed", email: "ada@example.com", payload: { note: "ünïcode ✓" } }))
    const now = Math.floor(Date.now() / 1000)
    const signature = new Webhook(SECRET).sign("msg_abc", new Date(now * 1000), body)
    const headers = { "Webhook-Id": "msg_abc", "Webhook-Timestamp": String(now), "Webhook-Signature": signature }
    expect(WebhookSignature.verifyStandard({ secrets: [SECRET], headers, body, nowSeconds: now })).toEqual(Either.right({ webhookId: "msg_abc", timestamp: now }))
  })

  it("a payload signed here verifies with the standardwebhooks package", () => {
    const body = bytes('{"hello":"world"}')
    const now = Math.floor(Date.now() / 1000)
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": WebhookSignature.signStandard(SECRET, "msg_1", now, body) }
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ hello: "world" })
    // And the package refuses it once a byte changed: the signature covers these bytes.
    expect(() => new Webhook(SECRET).verify(bytes('{"hello":"World"}'), headers)).toThrow(/signature/i)
  })

  const signed = (secret: string, id: string, timestamp: number, body: Uint8Array) => ({
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": WebhookSignature.signStandard(secret, id, timestamp, body)
  })

  it("a changed body, id or timestamp, or another secret, is a signature failure", () => {
    const body = bytes('{"a":1}')
    const now = 1_700_000_000
    const headers = signed(SECRET, "msg_1", now, body)
    const check = (h: Record<string, string>, b = body, secrets = [SECRET]) =>
      Either.match(WebhookSignature.verifyStandard({ secrets, headers: h, body: b, nowSeconds: now }), { onLeft: (r) => r.reason, onRight: () => "ok" })
    expect(check(headers)).toBe("ok")
    expect(check(headers, bytes('{"a":2}'))).toBe("signature")
    expect(check({ ...headers, "webhook-id": "msg_2" })).toBe("signature")
    expect(check({ ...headers, "webhook-timestamp": String(now + 1) })).toBe("signature")
    expect(check(headers, body, [NEW_SECRET])).toBe("signature")
    // A signature of another version (asymmetric v1a) is not taken for a v1 one.
    expect(check({ ...headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v1a,") })).toBe("signature")
  })

  it("several signatures, several secrets: one match is enough (key rotation, both ways)", () => {
    const body = bytes('{"a":1}')
    const now = 1_700_000_000
    const old = signed(SECRET, "msg_1", now, body)["webhook-signature"]
    const fresh = signed(NEW_SECRET, "msg_1", now, body)["webhook-signature"]
    const verify = (signature: string, secrets: ReadonlyArray<string>) =>
      Either.isRight(WebhookSignature.verifyStandard({ secrets, headers: { "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": signature }, body, nowSeconds: now }))
    // The sender signs with both while rotating; the receiver knows one or the other.
    expect(verify(`${old} ${fresh}`, [NEW_SECRET])).toBe(true)
    expect(verify(`${old} ${fresh}`, [SECRET])).toBe(true)
    // The receiver keeps both while the sender moves to the new one.
    expect(verify(fresh, [NEW_SECRET, SECRET])).toBe(true)
    expect(verify(old, [NEW_SECRET, SECRET])).toBe(true)
    expect(verify(old, [NEW_SECRET])).toBe(false)
    // A secret that is not Standard Webhooks base64 is skipped, not fatal.
    expect(verify(fresh, ["not base64!", NEW_SECRET])).toBe(true)
  })

  it("timestamps more than the tolerance away are refused, old or in the future; the edges pass", () => {
    const body = bytes("{}")
    const sentAt = 1_700_000_000
    const headers = signed(SECRET, "msg_t", sentAt, body)
    const at = (nowSeconds: number, toleranceSeconds?: number) =>
      Either.match(WebhookSignature.verifyStandard({ secrets: [SECRET], headers, body, nowSeconds, toleranceSeconds }), {
        onLeft: (r) => `${r.reason}: ${r.message}`,
        onRight: () => "ok"
      })
    expect(at(sentAt + 300)).toBe("ok")
    expect(at(sentAt - 300)).toBe("ok")
    expect(at(sentAt + 301)).toBe("timestamp: The webhook-timestamp is more than 300 seconds old")
    expect(at(sentAt - 301)).toBe("timestamp: The webhook-timestamp is more than 300 seconds in the future")
    expect(at(sentAt + 3600, 3600)).toBe("ok")
    expect(at(sentAt + 61, 60)).toMatch(/^timestamp: .*60 seconds old/)
  })

  it("missing or malformed headers are named", () => {
    const body = bytes("{}")
    const headers = signed(SECRET, "msg_h", 1_700_000_000, body)
    const rejection = (h: Record<string, string | undefined>) =>
      Either.match(WebhookSignature.verifyStandard({ secrets: [SECRET], headers: h, body, nowSeconds: 1_700_000_000 }), { onLeft: (r) => [r.reason, r.header], onRight: () => ["ok"] })
    expect(rejection({ ...headers, "webhook-id": undefined })).toEqual(["missingHeader", "webhook-id"])
    expect(rejection({ ...headers, "webhook-timestamp": undefined })).toEqual(["missingHeader", "webhook-timestamp"])
    expect(rejection({ ...headers, "webhook-timestamp": "2023-11-14T22:13:20Z" })).toEqual(["missingHeader", "webhook-timestamp"])
    expect(rejection({ ...headers, "webhook-signature": "" })).toEqual(["missingHeader", "webhook-signature"])
    expect(rejection({ ...headers, "webhook-id": "x".repeat(201) })).toEqual(["missingHeader", "webhook-id"])
  })

  it("whsec_ secrets are base64 of at least 16 bytes; the prefix may be left out", () => {
    expect(WebhookSignature.standardSecretKey(SECRET)?.length).toBe(24)
    expect(WebhookSignature.standardSecretKey(SECRET.slice("whsec_".length))?.length).toBe(24)
    expect(WebhookSignature.standardSecretKey("whsec_c2hvcnQ=")).toBeUndefined()
    expect(WebhookSignature.standardSecretKey("whsec_not*base64*at*all!")).toBeUndefined()
  })
})

describe("Shopify and WooCommerce", () => {
  // Expected values computed with `openssl dgst -sha256 -hmac <secret> -binary | base64`.
  const shopifyBody = bytes('{"id":820982911946154508,"email":"jon@example.com"}')
  const shopifySecret = "shpss_0123456789abcdef0123456789abcdef"
  const shopifyMac = "8++5uqaSbZMvfZWESSDj93PLZ220nqZIKaoc0fiVLe4="
  const wooBody = bytes('{"id":727,"status":"processing"}')
  const wooSecret = "wc-secret: s3cr3t!"
  const wooMac = "BXVa0Y0LCuoRpEWjcnmu4Cm16BkPOgL6+si7midZESE="

  it("Shopify: X-Shopify-Hmac-Sha256 is base64 HMAC-SHA256 of the raw body; the delivery is X-Shopify-Webhook-Id", () => {
    expect(WebhookSignature.hmacBase64(shopifySecret, shopifyBody)).toBe(shopifyMac)
    const headers = { "X-Shopify-Hmac-Sha256": shopifyMac, "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Topic": "orders/create" }
    expect(WebhookSignature.verifyShopify({ secrets: ["old-secret", shopifySecret], headers, body: shopifyBody })).toEqual(
      Either.right({ webhookId: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", timestamp: undefined })
    )
    const reason = (h: Record<string, string>, body = shopifyBody, secrets = [shopifySecret]) =>
      Either.match(WebhookSignature.verifyShopify({ secrets, headers: h, body }), { onLeft: (r) => `${r.reason} ${r.header}`, onRight: () => "ok" })
    expect(reason(headers, bytes('{"id":820982911946154509,"email":"jon@example.com"}'))).toBe("signature x-shopify-hmac-sha256")
    expect(reason(headers, shopifyBody, ["old-secret"])).toBe("signature x-shopify-hmac-sha256")
    // The same signature computed over a re-serialised body (what a JSON body parser would give) fails.
    expect(reason(headers, bytes(JSON.stringify(JSON.parse('{"id":820982911946154508,"email":"jon@example.com"}'))))).toBe("signature x-shopify-hmac-sha256")
    expect(reason({ "X-Shopify-Webhook-Id": "x" })).toBe("missingHeader x-shopify-hmac-sha256")
    expect(reason({ "X-Shopify-Hmac-Sha256": shopifyMac })).toBe("missingHeader x-shopify-webhook-id")
  })

  it("WooCommerce: X-WC-Webhook-Signature is base64 HMAC-SHA256 of the raw body; the delivery is X-WC-Webhook-Delivery-ID", () => {
    expect(WebhookSignature.hmacBase64(wooSecret, wooBody)).toBe(wooMac)
    const headers = { "x-wc-webhook-signature": wooMac, "x-wc-webhook-delivery-id": "8a1c6cbe1f0c4e1cbf3a38b0bd0f1e1b", "x-wc-webhook-topic": "order.created" }
    expect(WebhookSignature.verifyWooCommerce({ secrets: [wooSecret], headers, body: wooBody })).toEqual(
      Either.right({ webhookId: "8a1c6cbe1f0c4e1cbf3a38b0bd0f1e1b", timestamp: undefined })
    )
    expect(Either.isLeft(WebhookSignature.verifyWooCommerce({ secrets: [wooSecret], headers: { ...headers, "x-wc-webhook-signature": wooMac.toLowerCase() }, body: wooBody }))).toBe(true)
    expect(Either.isLeft(WebhookSignature.verifyWooCommerce({ secrets: [wooSecret + " "], headers, body: wooBody }))).toBe(true)
  })
})
