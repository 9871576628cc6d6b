import { CrmEvent, Ids, Storage } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { failure } from "./helpers.js"

const ws = Ids.WorkspaceId.make("count-events")
const ada = Ids.ContactId.make("018f0000-0000-7000-8000-000000000001")
const event = (i: number) =>
  new CrmEvent.StoredEvent({
    id: Ids.EventId.make(`view-${String(i).padStart(5, "0")}`),
    workspaceId: ws,
    type: "page.viewed",
    contactId: ada,
    occurredAt: DateTime.unsafeMake(Date.UTC(2025, 0, 1) + i * 1000),
    receivedAt: DateTime.unsafeMake(Date.UTC(2025, 0, 1) + i * 1000),
    payload: { i }
  })

describe("Storage.countEvents", () => {
  it.effect("reads more than one page and counts every match", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const n = Storage.COUNT_PAGE_SIZE * 2 + 7
      yield* storage.events.insertMany(Array.from({ length: n }, (_, i) => event(i)))
      expect(yield* Storage.countEvents(storage, ws, { contactId: ada, types: ["page.viewed"], matches: (e) => Number(e.payload["i"]) % 2 === 0 })).toBe(Storage.COUNT_PAGE_SIZE + 4)
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))

  it.effect("counts each event once across several types, a type listed twice included", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const n = Storage.COUNT_PAGE_SIZE + 3
      yield* storage.events.insertMany(Array.from({ length: n }, (_, i) => new CrmEvent.StoredEvent({ ...event(i), type: i % 3 === 0 ? "order.placed" : "page.viewed" })))
      const count = (types: ReadonlyArray<string>) => Storage.countEvents(storage, ws, { contactId: ada, types, matches: () => true })
      expect(yield* count(["page.viewed", "order.placed", "page.viewed"])).toBe(n)
      expect(yield* count(["order.placed"])).toBe(Math.ceil(n / 3))
      expect(yield* count([])).toBe(0)
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))

  it.effect("fails with StorageError, instead of looping, on a store that ignores before", () =>
    Effect.gen(function* () {
      const memory = yield* Storage.Storage
      yield* memory.events.insertMany(Array.from({ length: Storage.COUNT_PAGE_SIZE + 1 }, (_, i) => event(i)))
      const broken: Storage.StorageService = { ...memory, events: { ...memory.events, list: (w, q) => memory.events.list(w, { ...q, before: undefined }) } }
      const error = yield* failure(Storage.countEvents(broken, ws, { contactId: ada, types: ["page.viewed"], matches: () => true }))
      expect(error).toMatchObject({ _tag: "StorageError", reason: "failed" })
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))
})
