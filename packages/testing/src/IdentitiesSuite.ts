// A contact's several emails and phones, as part of the storage contract: stored and read back
// exactly (labels, order), found by any of them (`findByEmail`, `findByEmails`, `findByPhones`),
// no email shared by two contacts of a workspace (a clash stores nothing), lists replaced on
// update and freed on removal; then the same through the services (create, update, merge, GDPR
// export and erasure). Registered by `storageSuite`; not a public entry point of its own.
import { Contact, Crm, Email, Ids, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const json = Schema.encodeSync(Contact.Contact)
const email = Fixtures.email
const emails = (...items: ReadonlyArray<readonly [string, string | null]>): ReadonlyArray<Contact.ContactEmail> =>
  items.map(([value, label]) => ({ value: email(value), label }))
const phones = (...items: ReadonlyArray<readonly [string, string | null]>): ReadonlyArray<Contact.ContactPhone> =>
  items.map(([value, label]) => ({ value, label }))
const idOf = (found: Option.Option<{ readonly id: string }>) => Option.map(found, (c) => c.id)

/** A contact with these emails and phones (the first of each is the primary one). */
const withLists = (ws: Ids.WorkspaceId, e: ReadonlyArray<Contact.ContactEmail>, p: ReadonlyArray<Contact.ContactPhone> = []) =>
  Fixtures.contact(ws, { email: e[0]?.value ?? null, emails: e, phone: p[0]?.value ?? null, phones: p })

const freshWorkspace = () => {
  const ws = Fixtures.freshWorkspaceId()
  return { ws, run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Workspaces.withWorkspace(ws)(effect) }
}

export const identitiesSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("several emails and phones (storage)", () => {
    test("a contact's emails and phones, with labels, read back exactly; any of them finds it", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = yield* withLists(
          ws,
          emails(["Ada@example.com", "work"], ["ada@home.org", "home"], ["a.lovelace@example.com", null]),
          phones(["+33612345678", "mobile"], ["+33 1 23 45 67 89", "work"], ["0044 20 7946 0000", null])
        )
        const bob = yield* withLists(ws, emails(["bob@example.com", null]))
        yield* s.contacts.insertMany([ada, bob])
        const stored = Option.getOrThrow(yield* s.contacts.get(ws, ada.id))
        expect(json(stored)).toEqual(json(ada))
        expect(stored.emails.map((e) => [e.value, e.label])).toEqual([["Ada@example.com", "work"], ["ada@home.org", "home"], ["a.lovelace@example.com", null]])
        expect((yield* s.contacts.list(ws, { limit: 10 })).map((c) => json(c))).toEqual([ada, bob].sort((a, b) => (a.id < b.id ? -1 : 1)).map((c) => json(c)))

        expect(idOf(yield* s.contacts.findByEmail(ws, "ADA@HOME.ORG"))).toEqual(Option.some(ada.id))
        expect(json(Option.getOrThrow(yield* s.contacts.findByEmail(ws, "a.lovelace@example.com")))).toEqual(json(ada))
        // One contact per holder, even when several of its emails are asked for.
        const found = yield* s.contacts.findByEmails(ws, ["ada@example.com", "ada@home.org", "bob@example.com", "nobody@example.com"])
        expect(found.map((c) => c.id).sort()).toEqual([ada.id, bob.id].sort())
        expect((yield* s.contacts.findByPhones(ws, ["+33 1 23 45 67 89"])).map((c) => c.id)).toEqual([ada.id])
        expect((yield* s.contacts.findByPhones(ws, ["0044 20 7946 0000", "+33612345678"])).map((c) => c.id)).toEqual([ada.id])
        // Another workspace sees none of them.
        expect(Option.isNone(yield* s.contacts.findByEmail(Fixtures.freshWorkspaceId(), "ada@home.org"))).toBe(true)
        expect(yield* s.contacts.findByPhones(Fixtures.freshWorkspaceId(), ["+33 1 23 45 67 89"])).toEqual([])
      }))

    test("a contact using another's secondary email (any case) fails with Conflict and stores nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = yield* withLists(ws, emails(["ada@example.com", null], ["ada@home.org", "home"]))
        yield* s.contacts.insertMany([ada])
        const asPrimary = yield* withLists(ws, emails(["Ada@Home.org", null], ["bob@example.com", null]), phones(["+4915112345678", null]))
        const asSecondary = yield* withLists(ws, emails(["bob@example.com", null], ["ADA@home.org", null]), phones(["+4915112345678", null]))
        for (const bob of [asPrimary, asSecondary]) {
          expect(yield* failure(s.contacts.insertMany([bob]))).toMatchObject({ _tag: "Conflict", reason: "unique", entity: "contact" })
          expect(Option.isNone(yield* s.contacts.get(ws, bob.id))).toBe(true)
          expect(yield* failure(s.transaction(s.contacts.insertMany([bob])))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        }
        // Nothing of the refused contacts stayed behind: their own email and phone are free.
        expect(Option.isNone(yield* s.contacts.findByEmail(ws, "bob@example.com"))).toBe(true)
        expect(yield* s.contacts.findByPhones(ws, ["+4915112345678"])).toEqual([])
        const bob = yield* withLists(ws, emails(["bob@example.com", null]), phones(["+4915112345678", null]))
        yield* s.contacts.insertMany([bob])
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@home.org"))).toEqual(Option.some(ada.id))
        expect((yield* s.contacts.list(ws, { limit: 10 })).length).toBe(2)
      }))

    test("update replaces the lists: a removed email is free, an added one finds the contact, a clash changes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = yield* withLists(ws, emails(["ada@example.com", null], ["ada@home.org", "home"]), phones(["+33612345678", null], ["+33123456789", "home"]))
        const bob = yield* withLists(ws, emails(["bob@example.com", null]))
        yield* s.contacts.insertMany([ada, bob])
        const next = new Contact.Contact({
          ...ada,
          emails: emails(["ada@example.com", "work"], ["ada@new.org", null]),
          phones: phones(["+33612345678", null], ["+33999999999", "fax"]),
          version: 2
        })
        yield* s.contacts.update(next, 1)
        expect(json(Option.getOrThrow(yield* s.contacts.get(ws, ada.id)))).toEqual(json(next))
        expect(Option.isNone(yield* s.contacts.findByEmail(ws, "ada@home.org"))).toBe(true)
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@new.org"))).toEqual(Option.some(ada.id))
        expect(yield* s.contacts.findByPhones(ws, ["+33123456789"])).toEqual([])
        expect((yield* s.contacts.findByPhones(ws, ["+33999999999"])).map((c) => c.id)).toEqual([ada.id])

        // Bob taking Ada's secondary address: refused, Bob unchanged, the address still Ada's.
        const clash = new Contact.Contact({ ...bob, emails: emails(["bob@example.com", null], ["Ada@New.org", null]), version: 2 })
        expect(yield* failure(s.contacts.update(clash, 1))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        expect(json(Option.getOrThrow(yield* s.contacts.get(ws, bob.id)))).toEqual(json(bob))
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@new.org"))).toEqual(Option.some(ada.id))
        // The freed one can be taken.
        const takes = new Contact.Contact({ ...bob, emails: emails(["bob@example.com", null], ["ada@home.org", null]), version: 2 })
        yield* s.contacts.update(takes, 1)
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@home.org"))).toEqual(Option.some(bob.id))
      }))

    test("a contact built with its primary email and phone left out of its lists is stored with them first", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const c = yield* Fixtures.contact(ws, {
          email: email("ada@example.com"),
          emails: emails(["ada@home.org", "home"]),
          phone: "+33612345678",
          phones: []
        })
        yield* s.contacts.insertMany([c])
        const stored = Option.getOrThrow(yield* s.contacts.get(ws, c.id))
        expect([stored.emails, stored.phones]).toEqual([emails(["ada@example.com", null], ["ada@home.org", "home"]), phones(["+33612345678", null])])
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@example.com"))).toEqual(Option.some(c.id))
      }))

    test("remove deletes a contact's emails and phones: each is free again", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ada = yield* withLists(ws, emails(["ada@example.com", null], ["ada@home.org", null]), phones(["+33612345678", null], ["+33123456789", null]))
        yield* s.contacts.insertMany([ada])
        expect(yield* s.contacts.remove(ws, ada.id)).toBe(true)
        expect(Option.isNone(yield* s.contacts.findByEmail(ws, "ada@home.org"))).toBe(true)
        expect(yield* s.contacts.findByEmails(ws, ["ada@example.com", "ada@home.org"])).toEqual([])
        expect(yield* s.contacts.findByPhones(ws, ["+33123456789", "+33612345678"])).toEqual([])
        const again = yield* withLists(ws, emails(["ada@home.org", null], ["ada@example.com", null]))
        yield* s.contacts.insertMany([again])
        expect(idOf(yield* s.contacts.findByEmail(ws, "ada@example.com"))).toEqual(Option.some(again.id))
      }))
  })

  describe("several emails and phones (services)", () => {
    test("contacts.create keeps every email and phone, labelled, the primary first; any email finds the contact", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = freshWorkspace()
        const ada = yield* run(
          crm.contacts.create({
            firstName: "Ada",
            emails: [{ value: " Ada@Example.COM ", label: "work" }, { value: "ada@home.org", label: " home " }, { value: "a.l@example.com" }],
            phones: [{ value: "+33 6 12 34 56 78", label: "mobile" }, { value: "+33123456789", label: "" }]
          })
        )
        expect([ada.email, ada.phone]).toEqual(["Ada@example.com", "+33 6 12 34 56 78"])
        expect(ada.emails).toEqual(emails(["Ada@example.com", "work"], ["ada@home.org", "home"], ["a.l@example.com", null]))
        expect(ada.phones).toEqual(phones(["+33 6 12 34 56 78", "mobile"], ["+33123456789", null]))
        expect(json(yield* run(crm.contacts.get(ada.id)))).toEqual(json(ada))
        expect(idOf(yield* run(crm.contacts.findByEmail("A.L@example.com")))).toEqual(Option.some(ada.id))

        // `email` given with `emails`: it is the primary, first (with its label when listed).
        const bob = yield* run(crm.contacts.create({ email: "BOB@example.com", emails: [{ value: "bob@home.org" }, { value: "bob@example.com", label: "work" }] }))
        expect(bob.emails).toEqual(emails(["BOB@example.com", "work"], ["bob@home.org", null]))
        const cy = yield* run(crm.contacts.create({ email: "cy@example.com", phone: "+4915112345678" }))
        expect([cy.emails, cy.phones]).toEqual([emails(["cy@example.com", null]), phones(["+4915112345678", null])])
      }))

    test("an email another contact holds, primary or not, is a Conflict naming it; bad lists are ValidationErrors; nothing is stored", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = freshWorkspace()
        const ada = yield* run(crm.contacts.create({ emails: [{ value: "ada@example.com" }, { value: "ada@home.org" }] }))
        const secondary = yield* failure(run(crm.contacts.create({ email: "bob@example.com", emails: [{ value: "ADA@home.org" }] })))
        expect(secondary).toMatchObject({ _tag: "Conflict", reason: "unique", field: "emails", existingId: ada.id })
        const primary = yield* failure(run(crm.contacts.create({ email: "ada@HOME.org" })))
        expect(primary).toMatchObject({ _tag: "Conflict", reason: "unique", field: "email", existingId: ada.id })
        const many = yield* failure(run(crm.contacts.createMany([{ email: "cy@example.com" }, { email: "dee@example.com", emails: [{ value: "ada@home.org" }] }])))
        expect(many).toMatchObject({ _tag: "Conflict", reason: "unique", field: "[1].emails", existingId: ada.id })
        // Two items of one batch sharing an address.
        const inBatch = yield* failure(run(crm.contacts.createMany([{ email: "cy@example.com" }, { email: "dee@example.com", emails: [{ value: "CY@example.com" }] }])))
        expect(inBatch).toMatchObject({ _tag: "ValidationError", issues: [{ path: [1, "emails"] }] })

        const twice = yield* failure(run(crm.contacts.create({ emails: [{ value: "x@example.com" }, { value: "X@example.com" }] })))
        expect(twice).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["emails", 1, "value"] }] })
        const samePhone = yield* failure(run(crm.contacts.create({ firstName: "X", phones: [{ value: "+331" + "23" }, { value: "+33123" }] })))
        expect(samePhone).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["phones", 1, "value"] }] })
        const eleven = Array.from({ length: 11 }, (_, i) => ({ value: `x${i}@example.com` }))
        expect(yield* failure(run(crm.contacts.create({ emails: eleven })))).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["emails"] }] })
        const tenAndPrimary = yield* failure(run(crm.contacts.create({ email: "y@example.com", emails: eleven.slice(0, 10) })))
        expect(tenAndPrimary).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["emails"] }] })
        const badLabel = yield* failure(run(crm.contacts.create({ emails: [{ value: "z@example.com", label: "x".repeat(33) }], phones: [{ value: "not a phone" }] })))
        expect(badLabel).toMatchObject({ _tag: "ValidationError" })
        expect((badLabel as { issues: ReadonlyArray<{ path: ReadonlyArray<unknown> }> }).issues.map((i) => i.path)).toEqual([
          ["emails", 0, "label"],
          ["phones", 0, "value"]
        ])
        const nul = yield* failure(run(crm.contacts.create({ emails: [{ value: "z@example.com", label: "a\u0000b" }] })))
        expect(nul).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["emails", 0, "label"] }] })
        expect((yield* run(crm.contacts.list())).items.map((c) => c.id)).toEqual([ada.id])
      }))

    test("contacts.update: email alone replaces the primary, emails replaces the list, null promotes the next; clashes change nothing", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = freshWorkspace()
        const ada = yield* run(
          crm.contacts.create({ emails: [{ value: "ada@example.com", label: "work" }, { value: "ada@home.org", label: "home" }], phones: [{ value: "+33612345678" }, { value: "+33123456789", label: "home" }] })
        )
        const v2 = yield* run(crm.contacts.update(ada.id, { expectedVersion: 1, email: "ada@new.org", phone: "+33700000000" }))
        expect([v2.email, v2.emails, v2.phone, v2.phones]).toEqual([
          "ada@new.org", emails(["ada@new.org", null], ["ada@home.org", "home"]),
          "+33700000000", phones(["+33700000000", null], ["+33123456789", "home"])
        ])
        expect(Option.isNone(yield* run(crm.contacts.findByEmail("ada@example.com")))).toBe(true)

        // Choosing a secondary one as primary keeps its label.
        const v3 = yield* run(crm.contacts.update(ada.id, { expectedVersion: 2, email: "ADA@home.org" }))
        expect(v3.emails).toEqual(emails(["ADA@home.org", "home"]))

        const v4 = yield* run(crm.contacts.update(ada.id, { expectedVersion: 3, emails: [{ value: "a@one.org", label: "one" }, { value: "a@two.org" }], phones: [] }))
        expect([v4.email, v4.emails, v4.phone, v4.phones]).toEqual(["a@one.org", emails(["a@one.org", "one"], ["a@two.org", null]), null, []])

        const v5 = yield* run(crm.contacts.update(ada.id, { expectedVersion: 4, email: null }))
        expect([v5.email, v5.emails]).toEqual(["a@two.org", emails(["a@two.org", null])])

        const bob = yield* run(crm.contacts.create({ email: "bob@example.com" }))
        const clash = yield* failure(run(crm.contacts.update(bob.id, { expectedVersion: 1, emails: [{ value: "bob@example.com" }, { value: "A@TWO.org" }] })))
        expect(clash).toMatchObject({ _tag: "Conflict", reason: "unique", field: "emails", existingId: ada.id })
        expect(json(yield* run(crm.contacts.get(bob.id)))).toEqual(json(bob))
        const over = yield* failure(run(crm.contacts.update(bob.id, { expectedVersion: 1, phone: "+331", phones: Array.from({ length: 10 }, (_, i) => ({ value: `+4930${i}00` })) })))
        expect(over).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["phones"] }] })
        expect(json(yield* run(crm.contacts.get(bob.id)))).toEqual(json(bob))
      }))

    test("merge gives the kept contact the duplicate's emails and phones; export lists them; erase and remove free them", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = freshWorkspace()
        const kept = yield* run(crm.contacts.create({ emails: [{ value: "ada@example.com", label: "work" }], phones: [{ value: "+33612345678", label: "mobile" }] }))
        const dup = yield* run(
          crm.contacts.create({
            emails: [{ value: "ada@home.org", label: "home" }, { value: "ADA@example.org" }],
            phones: [{ value: "+33612345678", label: "other" }, { value: "+33123456789", label: "home" }]
          })
        )
        const merged = yield* run(crm.contacts.merge(kept.id, dup.id))
        expect([merged.contact.emails, merged.contact.phones]).toEqual([
          emails(["ada@example.com", "work"], ["ada@home.org", "home"], ["ADA@example.org", null]),
          phones(["+33612345678", "mobile"], ["+33123456789", "home"])
        ])
        expect(merged.entry.payload["attributesTaken"]).toEqual(["emails", "phones"])
        expect(idOf(yield* run(crm.contacts.findByEmail("ada@example.org")))).toEqual(Option.some(kept.id))
        expect(json(yield* run(crm.contacts.get(kept.id)))).toEqual(json(merged.contact))

        const exported = yield* run(crm.consent.export(kept.id))
        expect(exported["contact"]).toMatchObject({ emails: Schema.encodeSync(Schema.Array(Contact.ContactEmail))(merged.contact.emails) })

        yield* run(crm.consent.erase(kept.id))
        for (const address of ["ada@example.com", "ada@home.org", "ada@example.org"]) expect(Option.isNone(yield* run(crm.contacts.findByEmail(address)))).toBe(true)
        const again = yield* run(crm.contacts.create({ emails: [{ value: "ada@home.org" }, { value: "ada@example.com" }] }))
        yield* run(crm.contacts.remove(again.id))
        expect(Option.isNone(yield* run(crm.contacts.findByEmail("ada@example.com")))).toBe(true)
        yield* run(crm.contacts.create({ email: "ada@example.com" }))
      }))

    test("an event naming a secondary email is the contact's: no contact is created", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { ws, run } = freshWorkspace()
        const ada = yield* run(crm.contacts.create({ emails: [{ value: "ada@example.com" }, { value: "ada@home.org", label: "home" }] }))
        const { contact } = yield* run(crm.events.emit({ id: `${ws}-view`, type: "page.viewed", email: "ADA@home.org", payload: { url: "/" } }))
        expect(contact?.id).toBe(ada.id)
        expect((yield* run(crm.contacts.list())).items.map((c) => c.id)).toEqual([ada.id])
      }))

    test("merging more emails than a contact keeps is refused and changes nothing", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const { run } = freshWorkspace()
        const list = (prefix: string) => Array.from({ length: 6 }, (_, i) => ({ value: `${prefix}${i}@example.com` }))
        const kept = yield* run(crm.contacts.create({ emails: list("k") }))
        const dup = yield* run(crm.contacts.create({ emails: list("d") }))
        const error = yield* failure(run(crm.contacts.merge(kept.id, dup.id)))
        expect(error).toMatchObject({ _tag: "ValidationError", issues: [{ path: ["emails"] }] })
        expect(json(yield* run(crm.contacts.get(dup.id)))).toEqual(json(dup))
        expect(json(yield* run(crm.contacts.get(kept.id)))).toEqual(json(kept))
        expect(Email.emailKey(dup.emails[5]!.value)).toBe("d5@example.com")
      }))
  })
}
