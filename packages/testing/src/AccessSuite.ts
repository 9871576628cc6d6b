// API keys, inbound webhook sources and delivery receipts, as part of the storage contract: keys
// and sources are stored exactly, found by id or name from any workspace (and only there by
// workspace for list, get, revoke, remove), unique across workspaces; a revocation keeps its first
// time; a receipt is recorded once (also when two callers race), per workspace and source, and
// pruned by age. Registered by `storageSuite`; not a public entry point of its own.
import { ApiKey, Crm, Errors, Ids, InboundWebhook, Storage } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const encodeKey = Schema.encodeSync(ApiKey.StoredApiKey)
const keyJson = (key: ApiKey.StoredApiKey) => encodeKey(key)
const encodeSource = Schema.encodeSync(InboundWebhook.InboundWebhookConfig)
const sourceJson = (config: InboundWebhook.InboundWebhookConfig) => encodeSource(config)

/** A key id no other test uses: 16 letters and digits. */
const freshKeyId = () => ApiKey.ApiKeyId.make(randomBytes(12).toString("base64").replace(/[^0-9A-Za-z]/g, "0").slice(0, 16))
const freshSource = () => InboundWebhook.WebhookSource.make(`src-${randomBytes(8).toString("hex")}`)

const apiKey = (workspaceId: Ids.WorkspaceId, overrides: Partial<ApiKey.StoredApiKey> = {}) =>
  new ApiKey.StoredApiKey({
    id: freshKeyId(),
    workspaceId,
    name: "Back office",
    role: "sales",
    createdAt: at("2025-06-01T09:00:00.000Z"),
    revokedAt: null,
    secretHash: ApiKey.hash("rk_test"),
    ...overrides
  })

const source = (workspaceId: Ids.WorkspaceId, overrides: Partial<InboundWebhook.InboundWebhookConfig> = {}) =>
  new InboundWebhook.InboundWebhookConfig({
    workspaceId,
    source: freshSource(),
    provider: "shopify",
    secrets: ["shpss_current", "shpss_previous ✓"],
    toleranceSeconds: 300,
    version: 1,
    createdAt: at("2025-06-01T09:00:00.000Z"),
    updatedAt: at("2025-06-01T09:00:00.000Z"),
    ...overrides
  })

export const accessSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("api keys (storage)", () => {
    test("a key is stored exactly, found by its id from any workspace, listed only in its own", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const first = apiKey(ws, { name: "ERP", role: "read-only" })
        const second = apiKey(ws, { name: "Zapier", role: "marketing", createdAt: at("2025-06-01T10:00:00.000Z") })
        const other = apiKey(Fixtures.freshWorkspaceId(), { role: "admin" })
        for (const k of [second, first, other]) yield* s.apiKeys.insert(k)
        expect(Option.map(yield* s.apiKeys.find(first.id), keyJson)).toEqual(Option.some(keyJson(first)))
        expect(Option.map(yield* s.apiKeys.find(other.id), (k) => k.workspaceId)).toEqual(Option.some(other.workspaceId))
        expect(Option.isNone(yield* s.apiKeys.find(freshKeyId()))).toBe(true)
        // Oldest first.
        expect((yield* s.apiKeys.list(ws)).map(keyJson)).toEqual([keyJson(first), keyJson(second)])
        expect((yield* s.apiKeys.list(Fixtures.freshWorkspaceId())).length).toBe(0)
      }))

    test("a key id is unique across workspaces: a second insert is a Conflict and changes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const taken = apiKey(Fixtures.freshWorkspaceId())
        yield* s.apiKeys.insert(taken)
        const otherWs = Fixtures.freshWorkspaceId()
        const error = yield* failure(s.apiKeys.insert(apiKey(otherWs, { id: taken.id, name: "Thief" })))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", entity: "apiKey", field: "id" })
        expect(error).toBeInstanceOf(Errors.Conflict)
        expect(Option.map(yield* s.apiKeys.find(taken.id), keyJson)).toEqual(Option.some(keyJson(taken)))
        expect((yield* s.apiKeys.list(otherWs)).length).toBe(0)
      }))

    test("revoke sets the time once, only in the key's workspace; none for an unknown key", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const key = apiKey(ws)
        yield* s.apiKeys.insert(key)
        expect(Option.isNone(yield* s.apiKeys.revoke(Fixtures.freshWorkspaceId(), key.id, at("2025-06-02T00:00:00.000Z")))).toBe(true)
        expect((yield* s.apiKeys.find(key.id)).pipe(Option.getOrThrow).revokedAt).toBeNull()
        const revoked = (yield* s.apiKeys.revoke(ws, key.id, at("2025-06-03T00:00:00.000Z"))).pipe(Option.getOrThrow)
        expect(DateTime.formatIso(revoked.revokedAt!)).toBe("2025-06-03T00:00:00.000Z")
        const again = (yield* s.apiKeys.revoke(ws, key.id, at("2025-06-04T00:00:00.000Z"))).pipe(Option.getOrThrow)
        expect(DateTime.formatIso(again.revokedAt!)).toBe("2025-06-03T00:00:00.000Z")
        expect(keyJson((yield* s.apiKeys.find(key.id)).pipe(Option.getOrThrow))).toEqual(keyJson(revoked))
        expect(Option.isNone(yield* s.apiKeys.revoke(ws, freshKeyId(), at("2025-06-04T00:00:00.000Z")))).toBe(true)
      }))
  })

  describe("inbound webhook sources (storage)", () => {
    test("a source is stored exactly (secrets included), found by name from any workspace, listed by name", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const b = source(ws, { source: InboundWebhook.WebhookSource.make(`b-${randomBytes(6).toString("hex")}`) })
        const a = source(ws, { source: InboundWebhook.WebhookSource.make(`a-${randomBytes(6).toString("hex")}`), provider: "standard", secrets: ["whsec_AAAAAAAAAAAAAAAAAAAAAA=="], toleranceSeconds: 60 })
        yield* s.inboundWebhooks.insert(b)
        yield* s.inboundWebhooks.insert(a)
        expect(Option.map(yield* s.inboundWebhooks.find(b.source), sourceJson)).toEqual(Option.some(sourceJson(b)))
        expect(Option.map(yield* s.inboundWebhooks.get(ws, a.source), sourceJson)).toEqual(Option.some(sourceJson(a)))
        expect(Option.isNone(yield* s.inboundWebhooks.get(Fixtures.freshWorkspaceId(), a.source))).toBe(true)
        expect((yield* s.inboundWebhooks.list(ws)).map(sourceJson)).toEqual([sourceJson(a), sourceJson(b)])
      }))

    test("a source name is unique across workspaces; update checks the version; remove is per workspace", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const config = source(ws)
        yield* s.inboundWebhooks.insert(config)
        const taken = yield* failure(s.inboundWebhooks.insert(source(Fixtures.freshWorkspaceId(), { source: config.source })))
        expect(taken).toMatchObject({ _tag: "Conflict", reason: "unique", entity: "inboundWebhook", field: "source" })

        const v2 = new InboundWebhook.InboundWebhookConfig({ ...config, secrets: ["shpss_next"], version: 2, updatedAt: at("2025-06-02T00:00:00.000Z") })
        yield* s.inboundWebhooks.update(v2, 1)
        const stale = yield* failure(s.inboundWebhooks.update(new InboundWebhook.InboundWebhookConfig({ ...config, secrets: ["lost"], version: 2 }), 1))
        expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", expectedVersion: 1, actualVersion: 2 })
        expect(Option.map(yield* s.inboundWebhooks.find(config.source), sourceJson)).toEqual(Option.some(sourceJson(v2)))

        expect(yield* s.inboundWebhooks.remove(Fixtures.freshWorkspaceId(), config.source)).toBe(false)
        expect(yield* s.inboundWebhooks.remove(ws, config.source)).toBe(true)
        expect(Option.isNone(yield* s.inboundWebhooks.find(config.source))).toBe(true)
        expect(yield* s.inboundWebhooks.remove(ws, config.source)).toBe(false)
      }))
  })

  describe("webhook receipts (storage)", () => {
    test("a delivery is recorded once per workspace and source; prune forgets the old ones, or all", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const receipt = (webhookId: string, receivedAt: string, overrides: { workspaceId?: Ids.WorkspaceId; source?: string } = {}) => ({
          workspaceId: ws,
          source: "shop",
          webhookId,
          receivedAt: at(receivedAt),
          ...overrides
        })
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-01T00:00:00.000Z"))).toBe(true)
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-05T00:00:00.000Z"))).toBe(false)
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-05T00:00:00.000Z", { source: "other" }))).toBe(true)
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-05T00:00:00.000Z", { workspaceId: Fixtures.freshWorkspaceId() }))).toBe(true)
        expect(yield* s.webhookReceipts.insert(receipt("d-2", "2025-06-03T00:00:00.000Z"))).toBe(true)

        // Before is exclusive; only this workspace and source.
        expect(yield* s.webhookReceipts.prune(ws, "shop", at("2025-06-03T00:00:00.000Z"))).toBe(1)
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-06T00:00:00.000Z"))).toBe(true)
        expect(yield* s.webhookReceipts.insert(receipt("d-2", "2025-06-06T00:00:00.000Z"))).toBe(false)
        expect(yield* s.webhookReceipts.insert(receipt("d-1", "2025-06-06T00:00:00.000Z", { source: "other" }))).toBe(false)
        expect(yield* s.webhookReceipts.prune(ws, "shop")).toBe(2)
        expect(yield* s.webhookReceipts.insert(receipt("d-2", "2025-06-07T00:00:00.000Z"))).toBe(true)
      }))

    test("two transactions recording the same delivery at once: exactly one records it", () =>
      Effect.gen(function* () {
        const s = yield* store
        const outcomes = { first: 0, duplicate: 0 }
        for (let round = 0; round < 6; round++) {
          const ws = Fixtures.freshWorkspaceId()
          const record = s.transaction(
            Effect.zipLeft(
              s.webhookReceipts.insert({ workspaceId: ws, source: "shop", webhookId: "same", receivedAt: at("2025-06-01T00:00:00.000Z") }),
              // Held a moment inside the transaction, so that the other one meets the uncommitted row.
              Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
            )
          )
          const results = yield* Effect.all([record, record], { concurrency: "unbounded" })
          for (const r of results) outcomes[r ? "first" : "duplicate"]++
          expect(results.filter((r) => r).length).toBe(1)
        }
        expect(outcomes).toEqual({ first: 6, duplicate: 6 })
      }))
  })
}
