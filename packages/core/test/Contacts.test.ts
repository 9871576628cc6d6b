import { Contacts, Errors, Fields, Storage, Timeline } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { failure, withCrm } from "./helpers.js"

const paths = (error: unknown) => (error as Errors.ValidationError).issues.map((i) => Errors.formatPath(i.path))

/** Everything stored for the default workspace's contacts: what "changes nothing" compares. */
const snapshot = Effect.gen(function* () {
  const storage = yield* Storage.Storage
  const contacts = yield* Contacts.Contacts
  const page = yield* contacts.list({ limit: 500 })
  const timeline = yield* storage.timeline.list("default" as never, { limit: 500 })
  return { contacts: page.items.map((c) => [c.id, c.version, c.email, c.fields]), timeline: timeline.length }
})

describe("Contacts", () => {
  it.effect("create normalises the email, defaults the stage and source, and records contact.created", () =>
    withCrm(
      Effect.gen(function* () {
        yield* TestClock.adjust("1000 millis")
        const contacts = yield* Contacts.Contacts
        const ada = yield* contacts.create({ email: "  Ada@EXAMPLE.com ", firstName: " Ada ", lastName: "" })
        expect([ada.email, ada.firstName, ada.lastName, ada.stage, ada.source, ada.version]).toEqual([
          "Ada@example.com",
          "Ada",
          null,
          "suspect",
          { channel: "unknown", campaign: null },
          1
        ])
        expect(DateTime.toEpochMillis(ada.firstSeenAt)).toBe(1000)
        const timeline = yield* (yield* Timeline.Timeline).list(ada.id)
        expect(timeline.items.map((e) => [e.kind, e.summary])).toEqual([["event", "Contact created"]])
        expect(Option.map(yield* contacts.findByEmail("ADA@example.com"), (c) => c.id)).toEqual(Option.some(ada.id))
      })
    ))

  it.effect("bad input fails with ValidationError naming every path, and changes nothing stored", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* (yield* Fields.Fields).define({ key: "employees", type: "integer" })
        yield* contacts.create({ email: "kept@example.com", fields: { employees: 3 } })
        const before = yield* snapshot
        const cases: Array<[unknown, Array<string>]> = [
          [{ email: "not-an-email" }, ["email"]],
          [{ email: "a@example.com", fields: { unknownKey: 1 } }, ["fields.unknownKey"]],
          [{ email: "a@example.com", fields: { employees: "twelve" } }, ["fields.employees"]],
          [{ email: "a@example.com", fields: { "x'); DROP TABLE rapport_contacts; --": 1 } }, ["fields.x'); DROP TABLE rapport_contacts; --"]],
          [{ email: "a@example.com", stage: "vip" }, ["stage"]],
          [{ email: "a@example.com", stage: "Not A Key" }, ["stage"]],
          [{ email: "a@example.com", fristName: "typo" }, ["fristName"]],
          [{ email: "a@example.com", timezone: "Mars/Olympus" }, ["timezone"]],
          [{ email: "a@example.com", firstSeenAt: "2025-01-01T10:00" }, ["firstSeenAt"]],
          [{ email: "a@example.com", companyId: "018f0000-0000-7000-8000-000000000000" }, ["companyId"]],
          [{ firstName: "  " }, [""]],
          [{ email: "bad", fields: { employees: 1.5 } }, ["email"]]
        ]
        for (const [input, expected] of cases) {
          const error = yield* failure(contacts.create(input as never))
          expect(error._tag, JSON.stringify(input)).toBe("ValidationError")
          expect(paths(error), JSON.stringify(input)).toEqual(expected)
        }
        expect(yield* snapshot).toEqual(before)
      })
    ))

  it.effect("the email is unique per workspace, whatever its case", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const ada = yield* contacts.create({ email: "ada@example.com" })
        const error = yield* failure(contacts.create({ email: "ADA@Example.com" }))
        expect(error).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email", existingId: ada.id, code: "ALREADY_EXISTS" })
      })
    ))

  it.effect("update merges fields (null removes one), bumps the version, and refuses a stale version", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* (yield* Fields.Fields).define({ key: "size", type: "select", options: ["S", "M"] })
        yield* (yield* Fields.Fields).define({ key: "note", type: "text" })
        const c = yield* contacts.create({ email: "c@example.com", fields: { size: "S", note: "hello" } })
        const updated = yield* contacts.update(c.id, { expectedVersion: 1, lastName: "Smith", fields: { note: null, size: "M" }, tags: ["vip", " vip "] })
        expect([updated.version, updated.lastName, updated.fields, updated.tags, updated.email]).toEqual([2, "Smith", { size: "M" }, ["vip"], "c@example.com"])
        const stale = yield* failure(contacts.update(c.id, { expectedVersion: 1, lastName: "Lost" }))
        expect(stale).toMatchObject({ _tag: "Conflict", reason: "version", expectedVersion: 1, actualVersion: 2, code: "VERSION_CONFLICT" })
        expect((yield* contacts.get(c.id)).lastName).toBe("Smith")
        const invalid = yield* failure(contacts.update(c.id, { expectedVersion: 2, fields: { size: "XL" } }))
        expect(paths(invalid)).toEqual(["fields.size"])
        expect((yield* contacts.get(c.id)).version).toBe(2)
      })
    ))

  it.effect("update to an email another contact holds fails with Conflict", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const ada = yield* contacts.create({ email: "ada@example.com" })
        const bob = yield* contacts.create({ email: "bob@example.com" })
        const error = yield* failure(contacts.update(bob.id, { expectedVersion: 1, email: "Ada@example.com" }))
        expect(error).toMatchObject({ _tag: "Conflict", field: "email", existingId: ada.id })
        const same = yield* contacts.update(ada.id, { expectedVersion: 1, email: "ADA@example.com" })
        expect(same.email).toBe("ADA@example.com")
      })
    ))

  it.effect("get and update of an unknown or malformed id fail clearly", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        expect(yield* failure(contacts.get("018f0000-0000-7000-8000-000000000000"))).toMatchObject({ _tag: "NotFound", entity: "contact", code: "NOT_FOUND" })
        expect(paths(yield* failure(contacts.get("42")))).toEqual(["contactId"])
        expect(yield* failure(contacts.update("018f0000-0000-7000-8000-000000000000", { expectedVersion: 1 }))).toMatchObject({ _tag: "NotFound" })
      })
    ))

  it.effect("list pages in creation order with an opaque cursor, and filters", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const created: Array<string> = []
        for (let i = 0; i < 7; i++) created.push((yield* contacts.create({ firstName: `c${i}`, tags: i % 2 === 0 ? ["even"] : [] })).id)
        const seen: Array<string> = []
        let cursor: string | undefined
        do {
          const page = yield* contacts.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) })
          seen.push(...page.items.map((c) => c.id))
          cursor = page.nextCursor ?? undefined
        } while (cursor !== undefined)
        expect(seen).toEqual(created)
        expect((yield* contacts.list({ tag: "even" })).items.length).toBe(4)
        expect(paths(yield* failure(contacts.list({ cursor: "garbage" })))).toEqual(["cursor"])
        expect(paths(yield* failure(contacts.list({ limit: 0 })))).toEqual(["limit"])
      })
    ))

  it.effect("remove deletes the contact and its timeline, frees its email and unique values, and keeps its events", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const storage = yield* Storage.Storage
        yield* (yield* Fields.Fields).define({ key: "customerNo", type: "text", unique: true })
        const c = yield* contacts.create({ email: "gone@example.com", fields: { customerNo: "C1" } })
        expect(yield* failure(contacts.remove(c.id, { expectedVersion: 9 }))).toMatchObject({ _tag: "Conflict", reason: "version" })
        yield* contacts.remove(c.id)
        expect(yield* failure(contacts.get(c.id))).toMatchObject({ _tag: "NotFound" })
        expect(yield* storage.timeline.list("default" as never, { contactId: c.id, limit: 10 })).toEqual([])
        expect(Option.isSome(yield* storage.events.get("default" as never, `contact.created:${c.id}` as never))).toBe(true)
        yield* contacts.create({ email: "gone@example.com", fields: { customerNo: "C1" } })
      })
    ))

  it.effect("countByStage lists every stage in lifecycle order", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* contacts.create({ firstName: "a" })
        yield* contacts.create({ firstName: "b", stage: "loyal" })
        expect((yield* contacts.countByStage()).map((s) => `${s.stage}:${s.count}`)).toEqual([
          "suspect:1",
          "prospect:0",
          "customer:0",
          "loyal:1",
          "fan:0",
          "addict:0"
        ])
      })
    ))
})
