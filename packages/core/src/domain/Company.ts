/**
 * Companies (accounts) that contacts belong to.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Tags } from "./Contact.js"
import { FieldValues } from "./FieldDefinition.js"
import { CompanyId, WorkspaceId } from "./Ids.js"
import { Instant } from "./Time.js"
import { JsonObject, JsonPatch, SafeString, Text } from "./Json.js"

const normalizeDomain = (raw: string): Either.Either<string, string> => {
  const trimmed = raw.trim().replace(/^https?:\/\//i, "").replace(/\/.*$/, "")
  try {
    const host = new URL(`http://${trimmed}`).hostname
    return host.includes(".") && !/^\d+(\.\d+)*$/.test(host) ? Either.right(host.replace(/^www\./, "")) : Either.left("")
  } catch {
    return Either.left("")
  }
}

/**
 * A web domain, normalised: `https://www.Example.com/about` becomes `example.com`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Domain = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (raw, _, ast) =>
    Either.match(normalizeDomain(raw), {
      onLeft: () => ParseResult.fail(new ParseResult.Type(ast, raw, `must be a web domain such as "example.com", got ${JSON.stringify(raw)}`)),
      onRight: ParseResult.succeed
    }),
  encode: ParseResult.succeed
})

/**
 * @since 0.1.0
 * @category models
 */
export class Company extends Schema.Class<Company>("Company")({
  id: CompanyId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  domain: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  tags: Schema.Array(Schema.String),
  ownerId: Schema.NullOr(Schema.String),
  fields: FieldValues,
  version: Schema.Int,
  createdAt: Instant,
  updatedAt: Instant
}) {}

const CompanyName = Text(300)
const Owner = Schema.NullOr(Text(200))

/**
 * What `companies.create` accepts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CompanyCreate = Schema.Struct({
  name: CompanyName,
  domain: Schema.optional(Schema.NullOr(Domain)),
  phone: Schema.optional(Schema.NullOr(Text(40))),
  tags: Schema.optional(Tags),
  ownerId: Schema.optional(Owner),
  fields: Schema.optional(JsonObject)
})

/**
 * @since 0.1.0
 * @category models
 */
export type CompanyCreate = typeof CompanyCreate.Encoded

/**
 * What `companies.update` accepts; `null` in `fields` removes a value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CompanyUpdate = Schema.Struct({
  expectedVersion: Schema.Int,
  name: Schema.optional(CompanyName),
  domain: Schema.optional(Schema.NullOr(Domain)),
  phone: Schema.optional(Schema.NullOr(Text(40))),
  tags: Schema.optional(Tags),
  ownerId: Schema.optional(Owner),
  fields: Schema.optional(JsonPatch)
})

/**
 * @since 0.1.0
 * @category models
 */
export type CompanyUpdate = typeof CompanyUpdate.Encoded

/**
 * Paging of `companies.list`, in creation order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CompanyListOptions = Schema.Struct({
  cursor: Schema.optional(SafeString),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})

/**
 * @since 0.1.0
 * @category models
 */
export type CompanyListOptions = typeof CompanyListOptions.Encoded
