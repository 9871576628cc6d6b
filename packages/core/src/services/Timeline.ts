/**
 * The interaction timeline: log what happened with a contact, list it newest first.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ContactId, TimelineEntryId, type WorkspaceId } from "../domain/Ids.js"
import * as Page from "../domain/Page.js"
import { TimelineEntry, TimelineListOptions, TimelineLog } from "../domain/TimelineEntry.js"
import { contactLock } from "../internal/locks.js"
import { getContact } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"
import { CurrentWorkspace } from "../internal/workspace.js"

const decodeContactId = decodeInput(ContactId, ["contactId"])

// A timeline cursor: the instant and id of the last entry of the previous page.
const TimelinePosition = Schema.transform(
  Schema.Tuple(Schema.DateTimeUtc, TimelineEntryId),
  Schema.Struct({ occurredAt: Schema.DateTimeUtcFromSelf, id: Schema.typeSchema(TimelineEntryId) }),
  {
    strict: true,
    decode: ([occurredAt, id]) => ({ occurredAt, id }),
    encode: ({ occurredAt, id }) => [occurredAt, id] as const
  }
)

/**
 * @since 0.1.0
 * @category services
 */
export class Timeline extends Effect.Service<Timeline>()("@rapport/core/Timeline", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage


    /** Records an interaction (email, call, letter, meeting, note, quote sent, follow-up). */
    const log = Effect.fn("Timeline.log")(function* (input: TimelineLog) {
      const data = yield* decodeInput(TimelineLog)(input)
      const workspaceId = yield* CurrentWorkspace
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
      // The contact must still exist when the entry lands: an entry never outlives its contact.
      yield* storage.transaction(
        Effect.all([contactLock(storage, workspaceId, data.contactId, "shared"), getContact(storage, workspaceId, data.contactId), storage.timeline.append(entry)])
      )
      return entry
    })

    const query = (workspaceId: WorkspaceId, contactId: ContactId | undefined, input: TimelineListOptions) =>
      Effect.gen(function* () {
        const options = yield* decodeInput(TimelineListOptions)(input)
        const limit = options.limit ?? Page.defaultLimit
        const before =
          options.cursor === undefined ? undefined : yield* Page.decodePositionCursor(TimelinePosition, options.cursor, "the timeline")
        const rows = yield* storage.timeline.list(workspaceId, {
          contactId,
          kinds: options.kinds,
          from: options.from,
          to: options.to,
          before,
          limit: limit + 1
        })
        return Page.fromRows(rows, limit, (e) => Schema.encodeSync(TimelinePosition)({ occurredAt: e.occurredAt, id: e.id }))
      })

    /** A contact's timeline, newest first, optionally filtered by kind and period. */
    const list = Effect.fn("Timeline.list")(function* (contactId: string, options: TimelineListOptions = {}) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = yield* CurrentWorkspace
      yield* getContact(storage, workspaceId, id)
      return yield* query(workspaceId, id, options)
    })

    /** Every contact's entries in the workspace, newest first (e.g. all stage changes of the week). */
    const feed = Effect.fn("Timeline.feed")(function* (options: TimelineListOptions = {}) {
      return yield* query(yield* CurrentWorkspace, undefined, options)
    })

    return {
      /** Records an interaction on a contact's timeline. */
      log,
      /** A contact's timeline, newest first. */
      list,
      /** Entries of every contact of the workspace, newest first. */
      feed
    } as const
  })
}) {}
