// contacts.merge: the decisions a merge makes (what the kept contact takes, its stage, score,
// first-seen date and source), what it refuses, and a rule action caught in the middle of one.
// What a merge moves is in the storage contract suite (@rapport/testing), on every adapter.
import { Contact, Contacts, Crm, Dispatcher, Events, Fields, Ids, Lifecycle, LifecycleDefinition, Rules, Storage, Timeline } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { failure, line, withCrm } from "./helpers.js"

const ws = Ids.DefaultWorkspaceId

/** Everything stored about the default workspace's contacts: what "changes nothing" compares. */
const snapshot = Effect.gen(function* () {
  const storage = yield* Storage.Storage
  const contacts = yield* Contacts.Contacts
  const page = yield* contacts.list({ limit: 500 })
  const timeline = yield* storage.timeline.list(ws, { limit: 500 })
  return { contacts: page.items.map((c) => [c.id, c.version, c.email, c.stage, c.tags, c.fields]), timeline: timeline.map((e) => [e.id, e.contactId]) }
})

describe("Contacts.merge", () => {
  it.effect("merge - a kept contact without email, phone, names, company or owner takes the duplicate's; tags are united in order", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const crm = yield* Crm.Crm
        const firm = yield* crm.companies.create({ name: "Acme" })
        const kept = yield* contacts.create({ firstName: "Ada", tags: ["b", "a"], timezone: "Europe/Paris" })
        const dup = yield* contacts.create({
          email: "Ada@Example.com",
          firstName: "Augusta",
          lastName: "Lovelace",
          phone: "+447700900123",
          companyId: firm.id,
          ownerId: "user-7",
          timezone: "Europe/London",
          tags: ["c", "a", "d"]
        })
        const result = yield* contacts.merge(kept.id, dup.id)
        const c = result.contact
        expect([c.email, c.firstName, c.lastName, c.phone, c.companyId, c.ownerId, c.timezone, c.tags]).toEqual([
          "Ada@example.com", "Ada", "Lovelace", "+447700900123", firm.id, "user-7", "Europe/Paris", ["b", "a", "c", "d"]
        ])
        expect(result.entry.payload["attributesTaken"]).toEqual(["email", "phone", "lastName", "companyId", "ownerId"])
        // The email now finds the kept contact; the company still counts one member.
        expect(Option.map(yield* contacts.findByEmail("ada@example.com"), (x) => x.id)).toEqual(Option.some(kept.id))
        expect((yield* contacts.list({ companyId: firm.id })).items.map((x) => x.id)).toEqual([kept.id])
      })
    ))

  it.effect("merge - the stage never moves backwards, the score is the higher, first seen is the earlier with its source", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* TestClock.setTime(DateTime.toEpochMillis(DateTime.unsafeMake("2025-06-01T00:00:00.000Z")))
        const kept = yield* contacts.create({ firstName: "Kept", stage: "customer", score: 40, source: { channel: "website" }, firstSeenAt: "2025-05-01T00:00:00.000Z" })
        const later = yield* contacts.create({ firstName: "Later", stage: "prospect", score: 70, source: { channel: "ads", campaign: "spring" }, firstSeenAt: "2025-05-20T00:00:00.000Z" })
        const first = yield* contacts.create({ firstName: "First", stage: "suspect", score: -5, firstSeenAt: "2024-01-01T00:00:00.000Z" })

        const once = yield* contacts.merge(kept.id, later.id)
        expect([once.contact.stage, once.contact.score, once.contact.source, DateTime.formatIso(once.contact.firstSeenAt)]).toEqual([
          "customer", 70, { channel: "website", campaign: null }, "2025-05-01T00:00:00.000Z"
        ])
        expect(once.entry.payload["stage"]).toBeNull()
        // Seen first, but from an unknown source: the date is taken, the known source stays.
        const twice = yield* contacts.merge(kept.id, first.id)
        expect([twice.contact.stage, twice.contact.score, twice.contact.source, DateTime.formatIso(twice.contact.firstSeenAt)]).toEqual([
          "customer", 70, { channel: "website", campaign: null }, "2024-01-01T00:00:00.000Z"
        ])
        expect(twice.contact.version).toBe(once.contact.version + 1)
        // No stage change was recorded by the merges.
        expect((yield* (yield* Lifecycle.Lifecycle).history(kept.id)).length).toBe(0)

        // A duplicate seen earlier through a known channel brings its source with its date.
        const fresh = yield* contacts.create({ firstName: "Fresh", source: { channel: "website" }, firstSeenAt: "2025-05-01T00:00:00.000Z" })
        const old = yield* contacts.create({ firstName: "Old", stage: "prospect", source: { channel: "trade-show", campaign: "Salon" }, firstSeenAt: "2023-09-01T00:00:00.000Z" })
        const taken = yield* contacts.merge(fresh.id, old.id)
        expect([taken.contact.source, DateTime.formatIso(taken.contact.firstSeenAt), taken.contact.stage]).toEqual([
          { channel: "trade-show", campaign: "Salon" }, "2023-09-01T00:00:00.000Z", "prospect"
        ])
        const [move] = yield* (yield* Lifecycle.Lifecycle).history(fresh.id)
        expect([move?.from, move?.to, move?.author, move?.cause]).toEqual(["suspect", "prospect", "system:merge", { kind: "manual", reason: `merged with Old (${old.id})` }])
      })
    ))

  it.effect("merge - fields: the kept contact's values win, missing ones are taken, equal ones are neither, losing ones stay on the entry", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const fields = yield* Fields.Fields
        for (const key of ["city", "plan", "note", "siren"]) yield* fields.define({ key, type: "text" })
        yield* fields.define({ key: "sizes", type: "multiSelect", options: ["S", "M", "L"] })
        const kept = yield* contacts.create({ firstName: "Kept", fields: { city: "Paris", plan: "gold", sizes: ["S", "M"] } })
        const dup = yield* contacts.create({ firstName: "Dup", fields: { city: "Lyon", plan: "gold", sizes: ["M", "S"], note: "VIP", siren: "123456789" } })
        const result = yield* contacts.merge(kept.id, dup.id)
        expect(result.contact.fields).toEqual({ city: "Paris", plan: "gold", sizes: ["S", "M"], note: "VIP", siren: "123456789" })
        expect([result.fieldsTaken, result.fieldsKept]).toEqual([["note", "siren"], ["city", "sizes"]])
        expect(result.entry.payload["fieldsNotTaken"]).toEqual({ city: "Lyon", sizes: ["M", "S"] })
        const [entry] = (yield* (yield* Timeline.Timeline).list(kept.id, { kinds: ["merge"] })).items
        expect(entry?.summary).toBe(`Merged the duplicate Dup (${dup.id}) into this contact`)
      })
    ))

  it.effect("merge - the combined history moves the kept contact on automatically (one order each: loyal)", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const events = yield* Events.Events
        const kept = yield* contacts.create({ email: "kept@example.com" })
        const dup = yield* contacts.create({ email: "dup@example.com" })
        yield* events.emit({ id: "o-1", type: "order.placed", contactId: kept.id, payload: { orderId: "o-1", lines: [line("A")] } })
        yield* events.emit({ id: "o-2", type: "order.placed", contactId: dup.id, payload: { orderId: "o-2", lines: [line("B")] } })
        const result = yield* contacts.merge(kept.id, dup.id)
        expect(result.contact.stage).toBe("loyal")
        expect((yield* (yield* Lifecycle.Lifecycle).history(kept.id)).map((h) => `${h.from}->${h.to}`)).toEqual([
          "suspect->customer",
          "suspect->customer",
          "customer->loyal"
        ])
      })
    ))

  it.effect("merge - refused with ValidationError when the merged fields do not fit the resulting stage, and nothing changes", () =>
    withCrm(
      Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        const storage = yield* Storage.Storage
        yield* (yield* Fields.Fields).define({ key: "siret", type: "text", required: { fromStage: "customer" } })
        const kept = yield* contacts.create({ email: "kept@example.com" })
        // A customer without the field a customer needs (stored before the requirement, say).
        const dup = new Contact.Contact({ ...kept, id: Ids.ContactId.make("018f0000-0000-7000-8000-0000000000d1"), email: null, emails: [], stage: LifecycleDefinition.StageKey.make("customer") })
        yield* storage.contacts.insertMany([dup])
        const before = yield* snapshot
        const error = yield* failure(contacts.merge(kept.id, dup.id))
        expect(error).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["fields", "siret"] }] })
        expect((error as { message: string }).message).toContain(`stage "customer"`)
        expect(yield* snapshot).toEqual(before)
      })
    ))

  it.effect("merge - a rule action claimed before the merge runs for the kept contact, not skipped", () =>
    Effect.gen(function* () {
      // The merge lands between the dispatcher's claim and its run of the job.
      const base = yield* Storage.Storage
      let merge: Effect.Effect<unknown, unknown> = Effect.void
      const storage: Storage.StorageService = {
        ...base,
        jobs: { ...base.jobs, claim: (request) => Effect.tap(base.jobs.claim(request), () => Effect.zipRight(Effect.orDie(merge), Effect.sync(() => (merge = Effect.void)))) }
      }
      const layer = Crm.layer.pipe(Layer.provideMerge(Layer.succeed(Storage.Storage, storage)))
      yield* Effect.gen(function* () {
        const contacts = yield* Contacts.Contacts
        yield* (yield* Rules.Rules).create({ id: "tag-visitors", name: "Tag visitors", on: "page.viewed", actions: [{ type: "addTag", tag: "visitor" }] })
        const kept = yield* contacts.create({ email: "kept@example.com" })
        const dup = yield* contacts.create({ email: "dup@example.com" })
        yield* (yield* Events.Events).emit({ type: "page.viewed", contactId: dup.id, payload: { url: "/" } })
        merge = contacts.merge(kept.id, dup.id)
        const report = yield* (yield* Dispatcher.Dispatcher).runDue()
        expect(report).toMatchObject({ claimed: 2, retried: 1, done: 1, skipped: 0 })
        expect((yield* contacts.get(kept.id)).tags).toEqual(["visitor"])
        const [job] = (yield* (yield* Dispatcher.Dispatcher).jobs()).items
        expect([job?.contactId, job?.status, job?.attempts]).toEqual([kept.id, "done", 1])
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))
})
