/**
 * Cursor pagination: a page of items and an opaque cursor for the next one (`null` at the end).
 * Cursors are stable under inserts: a new record never makes a page repeat or skip one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ValidationError } from "./Errors.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** Pass as `cursor` to get the next page; `null` when there is none. */
  readonly nextCursor: string | null
}

/**
 * Items per page when the caller does not say.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultLimit = 50

/**
 * Encodes a position as an opaque cursor.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeCursor = (position: ReadonlyArray<string>): string =>
  Buffer.from(JSON.stringify(position), "utf8").toString("base64url")

const Position = Schema.parseJson(Schema.Array(Schema.String))

/**
 * Reads a cursor back; `undefined` when it is not one this API produced.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeCursor = (cursor: string, size: number): ReadonlyArray<string> | undefined => {
  const decoded = Schema.decodeUnknownEither(Position)(Buffer.from(cursor, "base64url").toString("utf8"))
  return Either.isRight(decoded) && decoded.right.length === size ? decoded.right : undefined
}

const notACursor = (listing: string) => ValidationError.at(["cursor"], `is not a cursor returned by ${listing}`)

/**
 * Reads a cursor of a listing ordered by id; fails with `ValidationError` when it is not one.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeIdCursor = (cursor: string, listing = "this listing"): Effect.Effect<string, ValidationError> => {
  const position = decodeCursor(cursor, 1)
  return position === undefined ? Effect.fail(notACursor(listing)) : Effect.succeed(position[0]!)
}

/**
 * Reads a cursor made of a position schema's encoded values (e.g. an instant and an id).
 *
 * @since 0.1.0
 * @category utils
 */
export const decodePositionCursor = <A, I extends ReadonlyArray<string>>(
  schema: Schema.Schema<A, I>,
  cursor: string,
  listing = "this listing"
): Effect.Effect<A, ValidationError> => {
  const decoded = Schema.decodeUnknownEither(Schema.compose(Position, schema))(Buffer.from(cursor, "base64url").toString("utf8"))
  return Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(notACursor(listing))
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says that there is more.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRows = <A>(rows: ReadonlyArray<A>, limit: number, positionOf: (a: A) => ReadonlyArray<string>): Page<A> => {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null }
}

