/**
 * The interaction timeline: log what happened with a contact, list it newest first.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { NotFound, ValidationError } from "../domain/Errors.js"
import { ContactId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import * as Page from "../domain/Page.js"
import { parseIsoInstant } from "../domain/Time.js"
import { TimelineEntry, TimelineListOptions, TimelineLog } from "../domain/TimelineEntry.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage, type TimelineQuery } from "../ports/Storage.js"
import { CurrentWorkspace } from "./Workspaces.js"

const decodeContactId = decodeInput(ContactId, ["contactId"])

/**
 * @since 0.1.0
 * @category services
 */
export class Timeline extends Effect.Service<Timeline>()("@rapport/core/Timeline", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const requireContact = (workspaceId: WorkspaceId, id: ContactId) =>
      Effect.flatMap(storage.contacts.get(workspaceId, id), Option.match({
        onNone: () => Effect.fail(NotFound.of("contact", id)),
        onSome: Effect.succeed
      }))

    /** Records an interaction (email, call, letter, meeting, note, quote sent, follow-up). */
    const log = Effect.fn("Timeline.log")(function* (input: TimelineLog) {
      const data = yield* decodeInput(TimelineLog)(input)
      const workspaceId = yield* CurrentWorkspace
      yield* requireContact(workspaceId, data.contactId)
      const now = yield* DateTime.now
      const entry = new TimelineEntry({
        id: TimelineEntryId.make(yield* (yield* IdGenerator).next),
        workspaceId,
        contactId: data.contactId,
        kind: data.kind,
        occurredAt: data.occurredAt ?? now,
        recordedAt: now,
        author: data.author ?? null,
        channel: data.channel ?? null,
        direction: data.direction ?? null,
        summary: data.summary,
        reaction: data.reaction ?? null,
        payload: data.payload ?? {},
        eventId: null
      })
      yield* storage.timeline.append(entry)
      return entry
    })

    const query = (workspaceId: WorkspaceId, contactId: ContactId | undefined, input: TimelineListOptions) =>
      Effect.gen(function* () {
        const options = yield* decodeInput(TimelineListOptions)(input)
        const limit = options.limit ?? Page.defaultLimit
        let before: TimelineQuery["before"]
        if (options.cursor !== undefined) {
          const position = Page.decodeCursor(options.cursor, 2)
          const at = position === undefined ? undefined : parseIsoInstant(position[0]!)
          if (position === undefined || at === undefined || typeof at === "string") {
            return yield* ValidationError.at(["cursor"], "is not a cursor returned by this listing")
          }
          before = { occurredAt: at, id: TimelineEntryId.make(position[1]!) }
        }
        const rows = yield* storage.timeline.list(workspaceId, {
          contactId,
          kinds: options.kinds,
          from: options.from,
          to: options.to,
          before,
          limit: limit + 1
        })
        return Page.fromRows(rows, limit, (e) => [DateTime.formatIso(e.occurredAt), e.id])
      })

    /** A contact's timeline, newest first, optionally filtered by kind and period. */
    const list = Effect.fn("Timeline.list")(function* (contactId: string, options: TimelineListOptions = {}) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = yield* CurrentWorkspace
      yield* requireContact(workspaceId, id)
      return yield* query(workspaceId, id, options)
    })

    /** Every contact's entries in the workspace, newest first (e.g. all stage changes of the week). */
    const feed = Effect.fn("Timeline.feed")(function* (options: TimelineListOptions = {}) {
      return yield* query(yield* CurrentWorkspace, undefined, options)
    })

    return { log, list, feed } as const
  })
}) {}
