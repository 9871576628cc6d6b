import { Contacts, Errors, Timeline } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { failure, withCrm } from "./helpers.js"

const paths = (error: unknown) => (error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))

describe("Timeline", () => {
  it.effect("log records who said what, when, on which channel, and the contact's reaction", () =>
    withCrm(
      Effect.gen(function* () {
        const c = yield* (yield* Contacts.Contacts).create({ email: "a@example.com" })
        const timeline = yield* Timeline.Timeline
        const entry = yield* timeline.log({
          contactId: c.id,
          kind: "followUp",
          summary: "Called about quote Q-12",
          occurredAt: "2025-03-04T15:00:00+01:00",
          author: "user-7",
          channel: "phone",
          direction: "outbound",
          reaction: "positive",
          payload: { quoteRef: "Q-12" }
        })
        expect([entry.kind, entry.author, entry.channel, entry.direction, entry.reaction, entry.payload]).toEqual([
          "followUp",
          "user-7",
          "phone",
          "outbound",
          "positive",
          { quoteRef: "Q-12" }
        ])
        const listed = yield* timeline.list(c.id, { kinds: ["followUp"] })
        expect(listed.items.map((e) => e.id)).toEqual([entry.id])
      })
    ))

  it.effect("log refuses system kinds, empty summaries and unknown contacts", () =>
    withCrm(
      Effect.gen(function* () {
        const c = yield* (yield* Contacts.Contacts).create({ email: "a@example.com" })
        const timeline = yield* Timeline.Timeline
        expect(paths(yield* failure(timeline.log({ contactId: c.id, kind: "stageChange" as never, summary: "x" })))).toEqual(["kind"])
        expect(paths(yield* failure(timeline.log({ contactId: c.id, kind: "note", summary: "  " })))).toEqual(["summary"])
        expect(yield* failure(timeline.log({ contactId: "018f0000-0000-7000-8000-000000000000", kind: "note", summary: "x" }))).toMatchObject({
          _tag: "NotFound"
        })
      })
    ))

  it.effect("list is newest first, filters by period, and pages with a cursor", () =>
    withCrm(
      Effect.gen(function* () {
        const c = yield* (yield* Contacts.Contacts).create({ email: "a@example.com" })
        const timeline = yield* Timeline.Timeline
        for (const day of ["01", "02", "03", "04", "05"]) {
          yield* timeline.log({ contactId: c.id, kind: "note", summary: `note ${day}`, occurredAt: `2025-01-${day}T12:00:00Z` })
        }
        const summaries = (page: { items: ReadonlyArray<{ summary: string }> }) => page.items.map((e) => e.summary)
        const first = yield* timeline.list(c.id, { kinds: ["note"], limit: 2 })
        expect(summaries(first)).toEqual(["note 05", "note 04"])
        const second = yield* timeline.list(c.id, { kinds: ["note"], limit: 2, cursor: first.nextCursor! })
        expect(summaries(second)).toEqual(["note 03", "note 02"])
        const last = yield* timeline.list(c.id, { kinds: ["note"], limit: 2, cursor: second.nextCursor! })
        expect([summaries(last), last.nextCursor]).toEqual([["note 01"], null])
        const period = yield* timeline.list(c.id, { from: "2025-01-02T12:00:00Z", to: "2025-01-04T12:00:00Z" })
        expect(summaries(period)).toEqual(["note 03", "note 02"])
        expect(paths(yield* failure(timeline.list(c.id, { cursor: "nope" })))).toEqual(["cursor"])
      })
    ))

  it.effect("feed lists entries across contacts of the workspace", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* contacts.create({ email: "a@example.com" })
        yield* contacts.create({ email: "b@example.com" })
        const feed = yield* (yield* Timeline.Timeline).feed({ kinds: ["event"] })
        expect(feed.items.length).toBe(2)
      })
    ))
})
