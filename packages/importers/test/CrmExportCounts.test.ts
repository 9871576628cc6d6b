// Segments that count past events with `where` are exact, however long a contact's history.
import { Crm, CrmEvent, Ids, Storage, Workspaces } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { CrmExport } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))

describe("CrmExport.select counts", () => {
  // Regression: the export read only a contact's 10,000 most recent events, so an older match was missed.
  it.effect("a count with where finds a matching event older than 10,000 others", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2025, 5, 1))
      const crm = yield* Crm.Crm
      const storage = yield* Storage.Storage
      const workspace = yield* (yield* Workspaces.Workspaces).get
      const ada = yield* crm.contacts.create({ email: "ada@example.com" })
      const bob = yield* crm.contacts.create({ email: "bob@example.com" })
      const base = Date.UTC(2025, 0, 1)
      const history = (contactId: Ids.ContactId, red: boolean) =>
        Array.from({ length: 10_010 }, (_, i) =>
          new CrmEvent.StoredEvent({
            id: Ids.EventId.make(`${contactId}-${i}`),
            workspaceId: workspace.id,
            type: "page.viewed",
            contactId,
            occurredAt: DateTime.unsafeMake(base + i * 60_000),
            receivedAt: DateTime.unsafeMake(base + i * 60_000),
            payload: { colour: red && i === 0 ? "red" : "blue" }
          })
        )
      yield* storage.events.insertMany([...history(ada.id, true), ...history(bob.id, false)])
      const sawRed = { count: { event: "page.viewed", where: { path: "event.payload.colour", op: "eq", value: "red" } }, op: "eq", value: 1 } as const
      const selected = yield* Stream.runCollect(yield* CrmExport.select({ where: sawRed }))
      expect([...selected].map((c) => c.email)).toEqual(["ada@example.com"])
    }).pipe(Effect.provide(TestCrm)))
})
