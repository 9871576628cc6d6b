/**
 * API keys for server-to-server calls: created per workspace with a role, shown once, stored
 * hashed, listed, revoked, and verified from the key alone (the key says its workspace).
 *
 * @since 0.6.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { ApiKey, ApiKeyCreate, ApiKeyId, CreatedApiKey, format, hash, matches, parse, SECRET_LENGTH, StoredApiKey, VerifiedApiKey } from "../domain/ApiKey.js"
import { AuthenticationFailed, NotFound } from "../domain/Errors.js"
import { workspaceLock } from "../internal/locks.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/** `length` letters and digits drawn uniformly (bytes of 248 and more are dropped: 248 = 4 × 62). */
const randomText = (length: number): string => {
  let out = ""
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62]
    }
  }
  return out
}

const shown = (key: StoredApiKey): ApiKey =>
  new ApiKey({ id: key.id, workspaceId: key.workspaceId, name: key.name, role: key.role, createdAt: key.createdAt, revokedAt: key.revokedAt }, true)

const refused = (reason: AuthenticationFailed["reason"]) =>
  new AuthenticationFailed({
    reason,
    message:
      reason === "malformed"
        ? "This is not a Rapport API key (expected rk_<id>_<secret>)"
        : reason === "revoked"
          ? "This API key was revoked"
          : "This API key is not valid"
  })

const decodeKeyId = decodeInput(ApiKeyId, ["keyId"])

/**
 * @since 0.6.0
 * @category services
 */
export class ApiKeys extends Effect.Service<ApiKeys>()("@rapport/core/ApiKeys", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /**
     * Creates a key for the current workspace with a role. The result holds the key itself
     * (`secret`): show it to the user now, it cannot be read again.
     */
    const create = Effect.fn("ApiKeys.create")(function* (input: ApiKeyCreate) {
      const data = yield* decodeInput(ApiKeyCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const now = yield* DateTime.now
          // 16 random letters and digits (95 bits): a clash is never expected, and the unique
          // index would refuse it rather than let two keys share an id.
          const id = ApiKeyId.make(randomText(16))
          const secret = format(id, randomText(SECRET_LENGTH))
          const stored = new StoredApiKey(
            { id, workspaceId: workspace.id, name: data.name, role: data.role, createdAt: now, revokedAt: null, secretHash: hash(secret) },
            true
          )
          yield* storage.apiKeys.insert(stored)
          return new CreatedApiKey({ key: shown(stored), secret }, true)
        })
      )
    })

    /** The current workspace's keys (never their secrets), revoked ones included, oldest first. */
    const list = Effect.fn("ApiKeys.list")(function* () {
      const workspace = yield* readWorkspace(storage)
      return (yield* storage.apiKeys.list(workspace.id)).map(shown)
    })

    /** Revokes a key of the current workspace: `verify` refuses it from now on. Revoking twice changes nothing. */
    const revoke = Effect.fn("ApiKeys.revoke")(function* (keyId: string) {
      const id = yield* decodeKeyId(keyId)
      const workspace = yield* readWorkspace(storage)
      const revoked = yield* storage.apiKeys.revoke(workspace.id, id, yield* DateTime.now)
      return Option.isSome(revoked) ? shown(revoked.value) : yield* NotFound.of("apiKey", id)
    })

    /**
     * Who a key speaks for: its workspace, id, name and role. Works from any workspace (the key
     * names its own). Fails with `AuthenticationFailed` when the key is malformed, unknown, wrong
     * or revoked; the secret is compared in constant time.
     */
    const verify = Effect.fn("ApiKeys.verify")(function* (key: string) {
      const id = parse(key)
      if (Option.isNone(id)) return yield* refused("malformed")
      const found = yield* storage.apiKeys.find(id.value)
      if (Option.isNone(found) || !matches(key, found.value.secretHash)) return yield* refused("invalid")
      if (found.value.revokedAt !== null) return yield* refused("revoked")
      const k = found.value
      return new VerifiedApiKey({ workspace: k.workspaceId, keyId: k.id, name: k.name, role: k.role }, true)
    })

    return {
      /** Creates a key with a role; the key is in the result, once. */
      create,
      /** The workspace's keys, without secrets. */
      list,
      /** Revokes a key. */
      revoke,
      /** The workspace and role of a key, or `AuthenticationFailed`. */
      verify
    } as const
  })
}) {}
