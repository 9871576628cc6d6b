/**
 * API keys for server-to-server calls, and the roles they (and any principal) act with. A key is
 * `rk_<id>_<secret>`: the id (16 letters and digits) is not secret and finds the key in storage
 * without knowing its workspace; the secret (43 letters and digits, about 256 random bits) is
 * shown once, when the key is created, and only its SHA-256 hash is stored.
 *
 * @since 0.6.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, timingSafeEqual } from "node:crypto"
import { WorkspaceId } from "./Ids.js"
import { Text } from "./Json.js"
import { Instant } from "./Time.js"

/**
 * What a principal may do, as presets: `admin` everything; `sales` contacts, companies, deals,
 * pipelines, tasks and timelines; `marketing` reads contacts and manages templates, rules,
 * consent and events; `read-only` reads only. The HTTP integration maps each to the routes it
 * allows; a host may replace the mapping with its own `authorize`.
 *
 * @since 0.6.0
 * @category schemas
 */
export const Role = Schema.Literal("admin", "sales", "marketing", "read-only").annotations({
  identifier: "Role",
  message: () => ({ message: 'must be one of "admin", "sales", "marketing", "read-only"', override: true })
})

/**
 * @since 0.6.0
 * @category models
 */
export type Role = typeof Role.Type

/**
 * An API key's id: 16 letters and digits, the part of the key after `rk_` and before the secret.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ApiKeyId = Schema.String.pipe(
  Schema.pattern(/^[0-9A-Za-z]{16}$/, { message: () => "must be an API key id: 16 letters and digits" }),
  Schema.brand("ApiKeyId"),
  Schema.annotations({ identifier: "ApiKeyId" })
)

/**
 * @since 0.6.0
 * @category models
 */
export type ApiKeyId = typeof ApiKeyId.Type

/**
 * An API key as listed: never its secret. `revokedAt` is when it was revoked (`null` while it is
 * valid); a revoked key is refused by `verify`.
 *
 * @since 0.6.0
 * @category models
 */
export class ApiKey extends Schema.Class<ApiKey>("ApiKey")({
  id: ApiKeyId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  role: Role,
  createdAt: Instant,
  revokedAt: Schema.NullOr(Instant)
}) {}

/**
 * An API key as stored: with the SHA-256 hash (hex) of the whole key.
 *
 * @since 0.6.0
 * @category models
 */
export class StoredApiKey extends ApiKey.extend<StoredApiKey>("StoredApiKey")({
  secretHash: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))
}) {}

/**
 * What `apiKeys.create` accepts: a name people recognise it by, and its role.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ApiKeyCreate = Schema.Struct({ name: Text(100), role: Role })

/**
 * @since 0.6.0
 * @category models
 */
export type ApiKeyCreate = typeof ApiKeyCreate.Encoded

/**
 * What `apiKeys.create` returns: the key, and the secret to hand to the caller. The secret is
 * shown this once: Rapport keeps only its hash.
 *
 * @since 0.6.0
 * @category models
 */
export class CreatedApiKey extends Schema.Class<CreatedApiKey>("CreatedApiKey")({
  key: ApiKey,
  /** `rk_<id>_<secret>`: what the caller sends as `Authorization: Bearer …` or `X-Api-Key`. */
  secret: Schema.String
}) {}

/**
 * Who a verified key speaks for: its workspace, its id and role.
 *
 * @since 0.6.0
 * @category models
 */
export class VerifiedApiKey extends Schema.Class<VerifiedApiKey>("VerifiedApiKey")({
  workspace: WorkspaceId,
  keyId: ApiKeyId,
  name: Schema.String,
  role: Role
}) {}

const KEY = /^rk_([0-9A-Za-z]{16})_([0-9A-Za-z]{43})$/

/**
 * How long the secret part of a key is, in letters and digits (43 × log2(62) ≈ 256 bits).
 *
 * @since 0.6.0
 * @category constructors
 */
export const SECRET_LENGTH = 43

/**
 * The key written from its id and secret.
 *
 * @since 0.6.0
 * @category constructors
 */
export const format = (id: string, secret: string): string => `rk_${id}_${secret}`

/**
 * The id of a string shaped like a Rapport API key; none otherwise (nothing is looked up).
 *
 * @since 0.6.0
 * @category utils
 */
export const parse = (key: string): Option.Option<ApiKeyId> => {
  const match = typeof key === "string" ? KEY.exec(key) : null
  return match === null ? Option.none() : Option.some(ApiKeyId.make(match[1]!))
}

/**
 * The hash stored for a key: SHA-256 of the whole key, in hex.
 *
 * Why a fast hash is right here: a password needs a slow, salted hash (scrypt, Argon2) because
 * people choose few of the possible strings and each guess must be made expensive. The secret of
 * an API key is drawn at random from 62^43 ≈ 2^256 strings: no number of guesses at any hash
 * speed finds it, and a salt would add nothing against a space that large. A slow hash would only
 * cost every authenticated request several milliseconds of CPU.
 *
 * @since 0.6.0
 * @category utils
 */
export const hash = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

/**
 * Whether `key` is the key whose hash is `secretHash`, compared in constant time (the time taken
 * says nothing about how many leading bytes matched).
 *
 * @since 0.6.0
 * @category utils
 */
export const matches = (key: string, secretHash: string): boolean => {
  const expected = Buffer.from(secretHash, "hex")
  const actual = Buffer.from(hash(key), "hex")
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
