// Merging duplicate contacts, as part of the storage contract: `contacts.reassign` (every table's
// rows of one contact move to another, and nothing else moves), `contacts.findByPhones`, a job's
// contact surviving `settle`; then `contacts.merge` through the services, on this storage.
// Registered by `storageSuite`; not a public entry point of its own.
import { Consent, Contact, Crm, CrmEvent, Ids, Job, Order, Storage, TimelineEntry, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id).sort()
const json = {
  contact: Schema.encodeSync(Contact.Contact),
  entry: Schema.encodeSync(TimelineEntry.TimelineEntry),
  event: Schema.encodeSync(CrmEvent.StoredEvent),
  order: Schema.encodeSync(Order.Order),
  job: Schema.encodeSync(Job.Job),
  firing: Schema.encodeSync(Job.Firing),
  consent: Schema.encodeSync(Consent.ConsentRecord)
}
const all = 100_000

/** One record of every kind that names a contact, for `contactId` in `ws`; ids are made unique with `tag`. */
const recordsOf = (s: Storage.StorageService, ws: Ids.WorkspaceId, contactId: Ids.ContactId, tag: string) =>
  Effect.gen(function* () {
    const pipeline = yield* Fixtures.pipeline(ws)
    yield* s.pipelines.insert(pipeline)
    const entries = [
      yield* Fixtures.timelineEntry(ws, contactId, { summary: `${tag} note`, occurredAt: at("2025-01-02T00:00:00.000Z") }),
      yield* Fixtures.timelineEntry(ws, contactId, { summary: `${tag} call`, kind: "call" })
    ]
    yield* s.timeline.appendMany(entries)
    const events = [Fixtures.storedEvent(ws, contactId, `${tag}-event-1`), Fixtures.storedEvent(ws, contactId, `${tag}-event-2`, { type: "quote.sent" })]
    yield* s.events.insertMany(events)
    const order = Fixtures.order(ws, contactId, `${tag}-order`)
    yield* s.orders.insert(order)
    const deal = yield* Fixtures.deal(ws, pipeline.id, { contactId, companyId: null })
    yield* s.deals.insert(deal)
    const task = yield* Fixtures.task(ws, { contactId })
    yield* s.tasks.insert(task)
    const jobs = [yield* Fixtures.job(ws, { contactId }), yield* Fixtures.job(ws, { contactId, status: "done" })]
    yield* s.jobs.insertMany(jobs)
    const firing = yield* Fixtures.firing(ws, { contactId })
    yield* s.firings.insertMany([firing])
    const consent = Fixtures.consent(ws, { contactId, purpose: `${tag}-purpose` })
    yield* s.consents.put(consent)
    return { entries, events, order, deal, task, jobs, firing, consent }
  })

/** Everything stored for a contact, as JSON, in a stable order. */
const holdings = (s: Storage.StorageService, ws: Ids.WorkspaceId, contactId: Ids.ContactId) =>
  Effect.gen(function* () {
    const byId = <A extends { readonly id: string }>(rows: ReadonlyArray<A>) => [...rows].sort((a, b) => (a.id < b.id ? -1 : 1))
    return {
      timeline: byId(yield* s.timeline.list(ws, { contactId, limit: all })).map((e) => json.entry(e)),
      events: (yield* s.events.forContact(ws, contactId, { limit: all })).map((e) => json.event(e)),
      orders: (yield* s.orders.forContact(ws, contactId, { limit: all })).map((o) => json.order(o)),
      deals: ids(yield* s.deals.list(ws, { contactId, limit: all })),
      tasks: ids(yield* s.tasks.list(ws, { contactId, limit: all })),
      jobs: byId(yield* s.jobs.list(ws, { contactId, limit: all })).map((j) => json.job(j)),
      firings: byId(yield* s.firings.forContact(ws, contactId)).map((f) => json.firing(f)),
      consents: (yield* s.consents.list(ws, contactId)).map((c) => json.consent(c))
    }
  })

export const mergeSuite = (test: Test) => {
  const store = Storage.Storage

  describe("merging contacts (storage)", () => {
    test("reassign moves exactly the contact's rows of every table, and no other contact's or workspace's", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        const [from, to, bystander] = yield* Effect.forEach([1, 2, 3], () => Fixtures.contact(ws))
        yield* s.contacts.insertMany([from!, to!, bystander!])
        // The same contact id in another workspace must not move.
        yield* s.contacts.insertMany([new Contact.Contact({ ...from!, workspaceId: other })])
        const moving = yield* recordsOf(s, ws, from!.id, "from")
        yield* recordsOf(s, ws, to!.id, "to")
        yield* recordsOf(s, ws, bystander!.id, "bystander")
        yield* recordsOf(s, other, from!.id, "elsewhere")
        const before = {
          to: yield* holdings(s, ws, to!.id),
          bystander: yield* holdings(s, ws, bystander!.id),
          elsewhere: yield* holdings(s, other, from!.id)
        }

        const when = at("2025-06-01T12:00:00.000Z")
        const moved = yield* s.transaction(s.contacts.reassign(ws, from!.id, to!.id, when))
        expect(moved).toEqual({ timeline: 2, events: 2, orders: 1, deals: 1, tasks: 1, jobs: 2, firings: 1, consents: 1 })

        // Nothing is left with the merged contact; the bystander and the other workspace are untouched.
        expect(yield* holdings(s, ws, from!.id)).toEqual({ timeline: [], events: [], orders: [], deals: [], tasks: [], jobs: [], firings: [], consents: [] })
        expect(yield* holdings(s, ws, bystander!.id)).toEqual(before.bystander)
        expect(yield* holdings(s, other, from!.id)).toEqual(before.elsewhere)

        // The kept contact holds its own rows plus the moved ones, each unchanged but for its contact.
        const after = yield* holdings(s, ws, to!.id)
        const sortById = <A extends { readonly id: string }>(rows: ReadonlyArray<A>) => [...rows].sort((a, b) => (a.id < b.id ? -1 : 1))
        const contactId = to!.id
        const entries = moving.entries.map((e) => json.entry(new TimelineEntry.TimelineEntry({ ...e, contactId })))
        expect(after.timeline).toEqual(sortById([...before.to.timeline, ...entries]))
        const events = moving.events.map((e) => json.event(new CrmEvent.StoredEvent({ ...e, contactId })))
        expect(after.events).toEqual(sortById([...before.to.events, ...events]))
        expect(after.orders).toEqual(sortById([...before.to.orders, json.order(new Order.Order({ ...moving.order, contactId }))]))
        expect(after.jobs).toEqual(sortById([...before.to.jobs, ...moving.jobs.map((j) => json.job(new Job.Job({ ...j, contactId })))]))
        expect(after.firings).toEqual(sortById([...before.to.firings, json.firing(new Job.Firing({ ...moving.firing, contactId }))]))
        const consents = [...before.to.consents, json.consent(new Consent.ConsentRecord({ ...moving.consent, contactId }))]
        expect(after.consents).toEqual(consents.sort((a, b) => (a.purpose < b.purpose ? -1 : 1)))
        expect(after.deals).toEqual([...before.to.deals, moving.deal.id].sort())
        expect(after.tasks).toEqual([...before.to.tasks, moving.task.id].sort())
        // Deals and tasks are versioned records: they changed, so their version moved on.
        const deal = Option.getOrThrow(yield* s.deals.get(ws, moving.deal.id))
        expect([deal.contactId, deal.version, DateTime.formatIso(deal.updatedAt), deal.title]).toEqual([to!.id, 2, "2025-06-01T12:00:00.000Z", moving.deal.title])
        const task = Option.getOrThrow(yield* s.tasks.get(ws, moving.task.id))
        expect([task.contactId, task.version, DateTime.formatIso(task.updatedAt)]).toEqual([to!.id, 2, "2025-06-01T12:00:00.000Z"])
        // Counts and history reads that rules use follow the rows.
        expect(yield* s.orders.count(ws, { contactId: to!.id })).toBe(2)
        expect(yield* s.events.count(ws, { contactId: to!.id, types: ["quote.sent"] })).toBe(2)
        // The contacts themselves are the caller's business.
        expect(Option.isSome(yield* s.contacts.get(ws, from!.id))).toBe(true)

        // A contact with nothing moves nothing.
        const empty = yield* Fixtures.contact(ws)
        yield* s.contacts.insertMany([empty])
        expect(yield* s.transaction(s.contacts.reassign(ws, empty.id, to!.id, when))).toEqual({
          timeline: 0, events: 0, orders: 0, deals: 0, tasks: 0, jobs: 0, firings: 0, consents: 0
        })
      }))

    test("reassign keeps, for a consent purpose both contacts have, the later decision (the kept contact's on a tie)", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [from, to] = yield* Effect.forEach([1, 2], () => Fixtures.contact(ws))
        const consent = (contactId: Ids.ContactId, purpose: string, granted: boolean, when: string, source: string) =>
          s.consents.put(Fixtures.consent(ws, { contactId, purpose, granted, at: at(when), source }))
        // Later on the merged side: it wins.
        yield* consent(from!.id, "marketing", true, "2025-03-01T00:00:00.000Z", "merged")
        yield* consent(to!.id, "marketing", false, "2025-02-01T00:00:00.000Z", "kept")
        // Later on the kept side: it stays.
        yield* consent(from!.id, "newsletter", true, "2025-01-01T00:00:00.000Z", "merged")
        yield* consent(to!.id, "newsletter", false, "2025-04-01T00:00:00.000Z", "kept")
        // A tie: the kept contact's stays.
        yield* consent(from!.id, "*", false, "2025-05-01T00:00:00.000Z", "merged")
        yield* consent(to!.id, "*", true, "2025-05-01T00:00:00.000Z", "kept")
        // Only the merged contact has it: it moves.
        yield* consent(from!.id, "partners", true, "2025-01-01T00:00:00.000Z", "merged")

        const moved = yield* s.transaction(s.contacts.reassign(ws, from!.id, to!.id, at("2025-06-01T00:00:00.000Z")))
        expect(moved.consents).toBe(2)
        expect(yield* s.consents.list(ws, from!.id)).toEqual([])
        expect((yield* s.consents.list(ws, to!.id)).map((c) => [c.purpose, c.granted, c.source, DateTime.formatIso(c.at), c.contactId])).toEqual([
          ["*", true, "kept", "2025-05-01T00:00:00.000Z", to!.id],
          ["marketing", true, "merged", "2025-03-01T00:00:00.000Z", to!.id],
          ["newsletter", false, "kept", "2025-04-01T00:00:00.000Z", to!.id],
          ["partners", true, "merged", "2025-01-01T00:00:00.000Z", to!.id]
        ])
      }))

    test("reassign in a transaction that fails moves nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [from, to] = yield* Effect.forEach([1, 2], () => Fixtures.contact(ws))
        yield* recordsOf(s, ws, from!.id, "from")
        const before = yield* holdings(s, ws, from!.id)
        const error = yield* failure(s.transaction(Effect.zipRight(s.contacts.reassign(ws, from!.id, to!.id, at("2025-06-01T00:00:00.000Z")), Effect.fail("stop" as const))))
        expect(error).toBe("stop")
        expect(yield* holdings(s, ws, from!.id)).toEqual(before)
      }))

    test("findByPhones matches the stored phone string exactly, in id order, in the workspace only", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const phones = ["+33612345678", "+33612345678", "+4915112345678", "06 12 34 56 78", null]
        const contacts = yield* Effect.forEach(phones, (phone) => Fixtures.contact(ws, { phone }))
        yield* s.contacts.insertMany(contacts)
        yield* s.contacts.insertMany([yield* Fixtures.contact(Fixtures.freshWorkspaceId(), { phone: "+33612345678" })])

        const found = yield* s.contacts.findByPhones(ws, ["+33612345678", "+4915112345678", "+10000000000"])
        expect(found.map((c) => c.id)).toEqual(ids(contacts.slice(0, 3)))
        expect(found.map((c) => json.contact(c))).toEqual([...contacts.slice(0, 3)].sort((a, b) => (a.id < b.id ? -1 : 1)).map((c) => json.contact(c)))
        // No normalisation: another spelling of the same number is another string.
        expect(yield* s.contacts.findByPhones(ws, ["0612345678", "+33 6 12 34 56 78"])).toEqual([])
        expect((yield* s.contacts.findByPhones(ws, ["06 12 34 56 78"])).map((c) => c.id)).toEqual([contacts[3]!.id])
        expect(yield* s.contacts.findByPhones(ws, [])).toEqual([])
        expect(yield* s.contacts.findByPhones(Fixtures.freshWorkspaceId(), ["+33612345678"])).toEqual([])
        // More phones than one statement takes, duplicates included.
        const many = [...Array.from({ length: 1200 }, (_, i) => `+1555${String(i).padStart(7, "0")}`), "+4915112345678", "+4915112345678"]
        expect((yield* s.contacts.findByPhones(ws, many)).map((c) => c.id)).toEqual([contacts[2]!.id])
      }))

    test("settle leaves the job's contact as stored: a merge may have moved the job while it ran", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const [from, to] = yield* Effect.forEach([1, 2], () => Fixtures.contact(ws))
        const job = yield* Fixtures.job(ws, { contactId: from!.id })
        yield* s.jobs.insertMany([job])
        const [claimed] = yield* s.jobs.claim({ now: at("2025-01-01T00:00:00.000Z"), leaseUntil: at("2025-01-01T00:01:00.000Z"), token: "tok", limit: 1, workspaces: [ws] })
        yield* s.transaction(s.contacts.reassign(ws, from!.id, to!.id, at("2025-01-01T00:00:10.000Z")))
        const finished = new Job.Job({ ...claimed!, status: "done", outcome: { tag: "test" }, leaseUntil: null, claimToken: null })
        expect(yield* s.jobs.settle(finished, "tok")).toBe(true)
        const stored = Option.getOrThrow(yield* s.jobs.get(ws, job.id))
        expect(json.job(stored)).toEqual(json.job(new Job.Job({ ...finished, contactId: to!.id })))
      }))
  })

  describe("merging contacts (services)", () => {
    test("merge keeps everything: both timelines in one, records moved, tags, fields, consent, unique values; the duplicate is gone", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        yield* TestClock.setTime(DateTime.toEpochMillis(at("2025-01-01T00:00:00.000Z")))
        yield* run(crm.fields.define({ key: "customerNo", type: "text", unique: true }))
        yield* run(crm.fields.define({ key: "city", type: "text" }))
        yield* run(crm.fields.define({ key: "plan", type: "text" }))
        yield* run(crm.rules.create({ id: "engaged", name: "Engaged", on: "page.viewed", actions: [{ type: "adjustScore", by: 5 }] }))

        const kept = yield* run(
          crm.contacts.create({ email: "ada@example.com", firstName: "Ada", tags: ["vip", "b2b"], score: 5, source: { channel: "website" }, fields: { city: "Paris", plan: "gold" } })
        )
        const dup = yield* run(
          crm.contacts.create({
            email: "ada.lovelace@example.com",
            firstName: "Augusta",
            lastName: "Lovelace",
            phone: "+447700900123",
            tags: ["b2b", "newsletter"],
            score: 12,
            source: { channel: "trade-show", campaign: "Salon 2024" },
            firstSeenAt: "2024-03-01T09:00:00.000Z",
            fields: { city: "London", plan: "gold", customerNo: "C-42" }
          })
        )
        // The duplicate's history: an order (it becomes a customer), a note, a deal, a task, a rule
        // action waiting in the outbox with its firing, and consent decisions.
        const line = { sku: "RED-SHOE", name: "Red shoe", quantity: 1, unitPrice: { amountMinor: 4990, currency: "EUR" } }
        yield* run(crm.events.emit({ id: `${ws}-order-1`, type: "order.placed", contactId: dup.id, payload: { orderId: "o-1", lines: [line] } }))
        yield* run(crm.timeline.log({ contactId: dup.id, kind: "note", summary: "Met at the trade show" }))
        const deal = yield* run(crm.deals.create({ title: "Shoes for the team", amount: { amountMinor: 100_000, currency: "EUR" }, contactId: dup.id }))
        const task = yield* run(crm.tasks.create({ title: "Call back", dueAt: "2025-01-10T09:00:00.000Z", channel: "call", contactId: dup.id }))
        yield* run(crm.events.emit({ id: `${ws}-view-1`, type: "page.viewed", contactId: dup.id, payload: { url: "/" } }))
        yield* run(crm.consent.withdraw(kept.id, { purpose: "newsletter", source: "kept-form" }))
        yield* TestClock.adjust("1 hour")
        yield* run(crm.consent.grant(dup.id, { purpose: "newsletter", source: "dup-form" }))
        yield* run(crm.consent.grant(dup.id, { purpose: "partners" }))
        yield* TestClock.adjust("1 hour")
        yield* run(crm.timeline.log({ contactId: kept.id, kind: "call", summary: "Called Ada" }))

        const keptNow = yield* run(crm.contacts.get(kept.id))
        const dupNow = yield* run(crm.contacts.get(dup.id))
        expect(dupNow.stage).toBe("customer")
        const before = { kept: yield* holdings(s, ws, kept.id), dup: yield* holdings(s, ws, dup.id) }
        expect(before.dup.jobs.length).toBe(1)
        expect(before.dup.firings.length).toBe(1)

        const result = yield* run(crm.contacts.merge(kept.id, dup.id, { expectedVersion: keptNow.version }))

        // The kept contact: its own values win; it takes what it had none of.
        const c = result.contact
        expect([c.id, c.email, c.firstName, c.lastName, c.phone, c.stage, c.score, c.version]).toEqual([
          kept.id, "ada@example.com", "Ada", "Lovelace", "+447700900123", "customer", 12, keptNow.version + 1
        ])
        expect(c.tags).toEqual(["vip", "b2b", "newsletter"])
        expect(c.fields).toEqual({ city: "Paris", plan: "gold", customerNo: "C-42" })
        expect([DateTime.formatIso(c.firstSeenAt), c.source]).toEqual(["2024-03-01T09:00:00.000Z", { channel: "trade-show", campaign: "Salon 2024" }])
        expect([result.fieldsTaken, result.fieldsKept]).toEqual([["customerNo"], ["city"]])
        expect(json.contact(yield* run(crm.contacts.get(kept.id)))).toEqual(json.contact(c))

        // Every record of the duplicate is the kept contact's now.
        expect(result.moved).toEqual({
          timeline: before.dup.timeline.length,
          events: before.dup.events.length,
          orders: 1,
          deals: 1,
          tasks: 1,
          jobs: 1,
          firings: 1,
          consents: 2
        })
        const after = yield* holdings(s, ws, kept.id)
        expect(yield* holdings(s, ws, dup.id)).toEqual({ timeline: [], events: [], orders: [], deals: [], tasks: [], jobs: [], firings: [], consents: [] })
        const entryIds = after.timeline.map((e) => e.id)
        expect(entryIds).toEqual(expect.arrayContaining([...before.kept.timeline, ...before.dup.timeline].map((e) => e.id)))
        expect(entryIds.length).toBe(before.kept.timeline.length + before.dup.timeline.length + 2)
        // Both contacts' events, and the contact.stage_changed of the kept contact's move to customer.
        const carried = new Set([...before.kept.events, ...before.dup.events].map((e) => e.id))
        expect(after.events.filter((e) => !carried.has(e.id)).map((e) => [e.type, e.payload["from"], e.payload["to"]])).toEqual([["contact.stage_changed", keptNow.stage, "customer"]])
        expect(after.events.length).toBe(carried.size + 1)
        expect(after.orders.map((o) => o.id)).toEqual(["o-1"])
        expect((yield* run(crm.deals.get(deal.id))).contactId).toBe(kept.id)
        expect((yield* run(crm.tasks.get(task.id))).contactId).toBe(kept.id)
        expect(after.jobs.map((j) => j.contactId)).toEqual([kept.id])

        // The merge is on the timeline, with everything not taken; the stage move too.
        const entry = result.entry
        expect([entry.kind, entry.author, entry.contactId]).toEqual(["merge", "system:merge", kept.id])
        expect(entry.payload).toMatchObject({
          merged: { id: dup.id, email: "ada.lovelace@example.com", firstName: "Augusta", lastName: "Lovelace", fields: { city: "London", plan: "gold", customerNo: "C-42" } },
          fieldsTaken: ["customerNo"],
          fieldsNotTaken: { city: "London" },
          moved: result.moved,
          stage: { from: "suspect", to: "customer" }
        })
        const [newest, second] = yield* s.timeline.list(ws, { contactId: kept.id, limit: 2 })
        expect([newest?.kind, second?.kind]).toEqual(["stageChange", "merge"])
        expect(json.entry(second!)).toEqual(json.entry(entry))
        expect((yield* run(crm.lifecycle.history(kept.id))).map((h) => `${h.from}->${h.to}`)).toEqual(["suspect->customer", "suspect->customer"])

        // Consent: the most recent decision of each purpose.
        const status = yield* run(crm.consent.status(kept.id))
        expect(status.purposes["newsletter"]).toMatchObject({ granted: true, source: "dup-form" })
        expect(status.purposes["partners"]).toMatchObject({ granted: true })

        // The unique value is held by the kept contact now.
        expect(yield* s.uniqueValues.find(ws, "contact", "customerNo", "c-42")).toEqual(Option.some(kept.id))
        const taken = yield* failure(run(crm.contacts.create({ firstName: "Other", fields: { customerNo: "c-42" } })))
        expect(taken).toMatchObject({ _tag: "Conflict", reason: "unique", existingId: kept.id })

        // The duplicate is gone; its email is the kept contact's second one (since 0.4.0).
        expect(yield* failure(run(crm.contacts.get(dup.id)))).toMatchObject({ _tag: "NotFound" })
        expect(c.emails).toEqual([{ value: "ada@example.com", label: null }, { value: "ada.lovelace@example.com", label: null }])
        expect(Option.map(yield* run(crm.contacts.findByEmail("ada.lovelace@example.com")), (x) => x.id)).toEqual(Option.some(kept.id))
        const again = yield* failure(run(crm.contacts.create({ email: "ada.lovelace@example.com" })))
        expect(again).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email", existingId: kept.id })

        // The queued rule action runs for the kept contact.
        expect(yield* crm.dispatcher.runDue({ workspaces: [ws] })).toMatchObject({ claimed: 1, done: 1 })
        expect((yield* run(crm.contacts.get(kept.id))).score).toBe(17)
      }))

    test("merge with a stale version fails with Conflict and changes nothing; with itself, unknown or foreign ids it is refused", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const run = Workspaces.withWorkspace(ws)
        const kept = yield* run(crm.contacts.create({ email: "kept@example.com" }))
        const dup = yield* run(crm.contacts.create({ email: "dup@example.com", tags: ["x"] }))
        yield* run(crm.timeline.log({ contactId: dup.id, kind: "note", summary: "A note" }))
        const changed = yield* run(crm.contacts.update(kept.id, { expectedVersion: kept.version, firstName: "Kept" }))
        const snapshot = Effect.gen(function* () {
          return {
            kept: json.contact(yield* run(crm.contacts.get(kept.id))),
            dup: json.contact(yield* run(crm.contacts.get(dup.id))),
            keptHoldings: yield* holdings(s, ws, kept.id),
            dupHoldings: yield* holdings(s, ws, dup.id)
          }
        })
        const before = yield* snapshot

        expect(yield* failure(run(crm.contacts.merge(kept.id, dup.id, { expectedVersion: kept.version })))).toMatchObject({
          _tag: "Conflict", reason: "version", id: kept.id, expectedVersion: kept.version, actualVersion: changed.version
        })
        expect(yield* failure(run(crm.contacts.merge(kept.id, dup.id, { mergedExpectedVersion: dup.version + 1 })))).toMatchObject({
          _tag: "Conflict", reason: "version", id: dup.id
        })
        expect(yield* failure(run(crm.contacts.merge(kept.id, kept.id)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["mergeId"] }] })
        const unknown = "018f0000-0000-7000-8000-000000000000"
        expect(yield* failure(run(crm.contacts.merge(kept.id, unknown)))).toMatchObject({ _tag: "NotFound", entity: "contact", id: unknown })
        expect(yield* failure(run(crm.contacts.merge(unknown, dup.id)))).toMatchObject({ _tag: "NotFound", id: unknown })
        expect(yield* failure(run(crm.contacts.merge("not-an-id", dup.id)))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["keepId"] }] })
        // A contact of another workspace is not found from this one.
        const foreign = yield* Workspaces.withWorkspace(Fixtures.freshWorkspaceId())(crm.contacts.create({ email: "foreign@example.com" }))
        expect(yield* failure(run(crm.contacts.merge(kept.id, foreign.id)))).toMatchObject({ _tag: "NotFound", id: foreign.id })
        expect(yield* snapshot).toEqual(before)

        // With the current versions, it goes through.
        const merged = yield* run(crm.contacts.merge(kept.id, dup.id, { expectedVersion: changed.version, mergedExpectedVersion: dup.version }))
        expect([merged.contact.version, merged.contact.tags]).toEqual([changed.version + 1, ["x"]])
      }))
  })
}
