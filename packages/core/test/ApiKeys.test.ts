// API keys (issue 14, "Who may do what"): created per workspace with a role, shown once, stored
// hashed, listed without secrets, revoked, and verified from the key alone, from any workspace.
import { ApiKey, Crm, createCrm, RapportAuthenticationError, RapportNotFoundError, RapportValidationError, Storage } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { failure, inWorkspace, withCrm } from "./helpers.js"
import { WorkspaceId } from "../src/domain/Ids.js"

const acme = WorkspaceId.make("acme")
const globex = WorkspaceId.make("globex")

describe("apiKeys (Effect)", () => {
  it.effect("create shows the key once; storage keeps only its SHA-256; verify names workspace and role", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const created = yield* crm.apiKeys.create({ name: "ERP sync", role: "sales" }).pipe(inWorkspace(acme))
        expect(created.secret).toMatch(/^rk_[0-9A-Za-z]{16}_[0-9A-Za-z]{43}$/)
        expect(created.secret.startsWith(`rk_${created.key.id}_`)).toBe(true)
        expect(created.key).toMatchObject({ workspaceId: "acme", name: "ERP sync", role: "sales", revokedAt: null })

        const stored = (yield* (yield* Storage.Storage).apiKeys.find(created.key.id)).pipe(Option.getOrThrow)
        expect(stored.secretHash).toBe(ApiKey.hash(created.secret))
        expect(JSON.stringify(stored)).not.toContain(created.secret.slice(20))

        // Verified from another workspace: the key names its own.
        const verified = yield* crm.apiKeys.verify(created.secret).pipe(inWorkspace(globex))
        expect(verified).toMatchObject({ workspace: "acme", keyId: created.key.id, name: "ERP sync", role: "sales" })
      })
    ))

  it.effect("a wrong secret, a malformed key, an unknown id and a revoked key are refused with their reason", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { key, secret } = yield* crm.apiKeys.create({ name: "CI", role: "admin" })
        const reason = (k: string) => Effect.map(failure(crm.apiKeys.verify(k)), (e) => [e._tag, (e as { reason?: string }).reason])
        // Same id, last character of the secret changed.
        const last = secret.at(-1) === "a" ? "b" : "a"
        expect(yield* reason(secret.slice(0, -1) + last)).toEqual(["AuthenticationFailed", "invalid"])
        expect(yield* reason(`rk_${"Z".repeat(16)}_${secret.slice(-43)}`)).toEqual(["AuthenticationFailed", "invalid"])
        expect(yield* reason(`Bearer ${secret}`)).toEqual(["AuthenticationFailed", "malformed"])
        expect(yield* reason(secret + "x")).toEqual(["AuthenticationFailed", "malformed"])
        expect(yield* reason("")).toEqual(["AuthenticationFailed", "malformed"])

        const revoked = yield* crm.apiKeys.revoke(key.id)
        expect(revoked.revokedAt).not.toBeNull()
        expect(yield* reason(secret)).toEqual(["AuthenticationFailed", "revoked"])
        // Revoking again keeps the first time.
        expect((yield* crm.apiKeys.revoke(key.id)).revokedAt).toEqual(revoked.revokedAt)
      })
    ))

  it.effect("list shows the workspace's keys, revoked ones included, never a secret; revoke of another workspace's key is NotFound", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const a1 = yield* crm.apiKeys.create({ name: "one", role: "read-only" }).pipe(inWorkspace(acme))
        // Listed oldest first: "two" is made a second later (its random id may sort before "one"'s).
        yield* TestClock.adjust("1 second")
        const a2 = yield* crm.apiKeys.create({ name: "two", role: "marketing" }).pipe(inWorkspace(acme))
        const g1 = yield* crm.apiKeys.create({ name: "theirs", role: "admin" }).pipe(inWorkspace(globex))
        yield* crm.apiKeys.revoke(a2.key.id).pipe(inWorkspace(acme))
        const listed = yield* crm.apiKeys.list().pipe(inWorkspace(acme))
        expect(listed.map((k) => [k.name, k.role, k.revokedAt === null])).toEqual([["one", "read-only", true], ["two", "marketing", false]])
        expect(JSON.stringify(listed)).not.toMatch(/secret|rk_/i)

        const error = yield* failure(crm.apiKeys.revoke(g1.key.id).pipe(inWorkspace(acme)))
        expect(error).toMatchObject({ _tag: "NotFound", entity: "apiKey", id: g1.key.id })
        expect((yield* crm.apiKeys.verify(g1.secret)).role).toBe("admin")
        expect(a1.key.id).not.toBe(a2.key.id)
      })
    ))

  it.effect("bad input names the field and the reason and stores nothing", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const error = yield* failure(crm.apiKeys.create({ name: " ", role: "owner" as never }))
        expect(error._tag).toBe("ValidationError")
        expect((error as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown>; message: string }> }).issues.map((i) => [i.path.join("."), i.message])).toEqual([
          ["name", "must not be empty"],
          ["role", 'must be one of "admin", "sales", "marketing", "read-only"']
        ])
        expect(yield* crm.apiKeys.list()).toEqual([])
        expect((yield* failure(crm.apiKeys.revoke("nope")))._tag).toBe("ValidationError")
      })
    ))
})

describe("apiKeys (Promise client)", () => {
  it("create, verify from another workspace's client, revoke: errors are RapportErrors with stable codes", async () => {
    const crm = await createCrm({ storage: memoryStorage(), workspace: "shop-1" })
    try {
      const { key, secret } = await crm.apiKeys.create({ name: "Zapier", role: "marketing" })
      expect(typeof key.createdAt).toBe("string")
      expect(await crm.workspace("other").apiKeys.verify(secret)).toEqual({ workspace: "shop-1", keyId: key.id, name: "Zapier", role: "marketing" })
      await crm.apiKeys.revoke(key.id)
      const refused = await crm.apiKeys.verify(secret).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(RapportAuthenticationError)
      expect(refused).toMatchObject({ code: "UNAUTHENTICATED", reason: "revoked", message: "This API key was revoked" })
      expect(String((refused as Error).message)).not.toContain(secret)
      await expect(crm.workspace("other").apiKeys.revoke(key.id)).rejects.toBeInstanceOf(RapportNotFoundError)
      await expect(crm.apiKeys.create({ name: "x", role: "root" as never })).rejects.toBeInstanceOf(RapportValidationError)
    } finally {
      await crm.close()
    }
  })
})
