// Files with more than one email or phone per contact (Google, Outlook, HubSpot, vCard): every one
// is kept on the contact, labelled, the primary one first; a row matches a stored contact, or an
// earlier row, through any of them; an update adds the new ones after the contact's own.
import { Crm } from "@rapport/core"
import { importContacts } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { fixture, run, bytes, accountedFor } from "./helpers.js"

const found = (email: string) =>
  Effect.flatMap(Crm.Crm, (crm) => Effect.map(crm.contacts.findByEmail(email), (c) => Option.getOrThrow(c)))
const lists = (c: { readonly emails: ReadonlyArray<{ value: string; label: string | null }>; readonly phones: ReadonlyArray<{ value: string; label: string | null }> }) => ({
  emails: c.emails.map((e) => [e.value, e.label]),
  phones: c.phones.map((p) => [p.value, p.label])
})

describe("several emails and phones per row", () => {
  it.effect("Google's current export: ' ::: ' values with their '- Label' labels", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(fixture("csv/google-contacts-2024.csv"), { country: "FR" })
        accountedFor(report)
        const camille = yield* found("camille.roussel@gmail.com")
        expect([camille.email, camille.phone]).toEqual(["camille@atelier-roussel.fr", "+33611223344"])
        expect(lists(camille)).toEqual({
          emails: [["camille@atelier-roussel.fr", "work"], ["camille.roussel@gmail.com", "home"]],
          phones: [["+33611223344", "mobile"], ["+33478000000", "work"]]
        })
      })
    ))

  it.effect("Outlook: E-mail 2/3 Address, Business Phone 2, Home Phone and Mobile Phone, labelled by their columns", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(fixture("csv/outlook-several.csv"), { country: "US" })
        accountedFor(report)
        expect([report.dialect, report.created, report.rejected]).toEqual(["outlook", 2, 0])
        const jennifer = yield* found("jen.walsh@mail.example")
        expect(lists(jennifer)).toEqual({
          emails: [["jwalsh@walshpartners.example", null], ["jen.walsh@mail.example", null]],
          phones: [["+12155550199", "mobile"], ["+12155550142", "work"], ["+16105550101", "home"], ["+12155550143", "work"]]
        })
        const mark = yield* found("m.chen@old.example")
        expect(lists(mark)).toEqual({ emails: [["mark@chenllc.example", null], ["m.chen@old.example", null]], phones: [["+13125550110", "work"]] })
      })
    ))

  it.effect("HubSpot: additional email addresses (';'), Phone Number and Mobile Phone Number", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(fixture("csv/hubspot-several.csv"), { country: "FR" })
        accountedFor(report)
        const laura = yield* found("l.moreau@perso.example")
        expect(lists(laura)).toEqual({
          emails: [["laura.moreau@example.fr", null], ["laura@moreau-conseil.example", null], ["l.moreau@perso.example", null]],
          phones: [["+33144000000", null], ["+33698765432", "mobile"]]
        })
        const tom = yield* found("tom.baker@example.com")
        expect(lists(tom)).toEqual({ emails: [["tom.baker@example.com", null]], phones: [["+16175550188", null]] })
      })
    ))

  it.effect("vCard: every EMAIL and TEL with its TYPE as label, the PREF one primary", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(fixture("vcard/contacts-4.0-pref-label.vcf"), { country: "FR" })
        accountedFor(report)
        const claire = yield* found("claire.perso@example.org")
        expect(lists(claire)).toEqual({
          emails: [["claire@lambert-conseil.example", "work"], ["claire.perso@example.org", "home"]],
          phones: [["+33621212121", "mobile"], ["+33145000000", "home"]]
        })
        const jules = yield* found("jules@example.org")
        expect(lists(jules)).toEqual({
          emails: [["jules.petit@petit-sa.example", null], ["jules@example.org", null]],
          phones: [["+33630303030", "mobile"], ["+33140000001", "work"]]
        })
      })
    ))

  it.effect("a row matches a stored contact through any of its emails or phones, and adds its new ones after the contact's own", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({
          emails: [{ value: "ada@example.com", label: "work" }, { value: "ada@home.org", label: "home" }],
          phones: [{ value: "+33612345678" }, { value: "+33123456789", label: "home" }]
        })
        const bob = yield* crm.contacts.create({ email: "bob@example.com" })
        const csv = [
          "email,email 2,phone,phone 2,first name",
          // Her secondary address: she is updated, the new address added.
          "ADA@home.org,ada@new.org,,,Ada",
          // Her secondary phone, no email: the same contact.
          ",,+33 1 23 45 67 89,+33 7 00 00 00 00,",
          // Bob's address as a second one of a new person's row: that row is Bob's.
          "cy@example.com,bob@example.com,,,Cy"
        ].join("\n")
        const report = yield* importContacts(bytes(csv), { policy: "fillEmpty", country: "FR" })
        accountedFor(report)
        expect([report.created, report.rejected, report.stopped]).toEqual([0, 0, null])
        const after = yield* crm.contacts.get(ada.id)
        expect(lists(after)).toEqual({
          emails: [["ada@example.com", "work"], ["ada@home.org", "home"], ["ada@new.org", null]],
          phones: [["+33612345678", null], ["+33123456789", "home"], ["+33700000000", null]]
        })
        expect((yield* found("cy@example.com")).id).toBe(bob.id)
        expect((yield* crm.contacts.list()).items.length).toBe(2)
      })
    ))

  it.effect("rows of one file sharing only a secondary email make one contact with the emails and phones of both", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const csv = ["email,email 2,phone,first name", "ada@example.com,ada@home.org,+33612345678,Ada", "ada@work.example,ADA@home.org,+33123456789,"].join("\n")
        const report = yield* importContacts(bytes(csv), { policy: "fillEmpty", country: "FR" })
        accountedFor(report)
        expect([report.created, report.updated]).toEqual([1, 1])
        const ada = yield* found("ada@work.example")
        expect(lists(ada)).toEqual({
          emails: [["ada@example.com", null], ["ada@home.org", null], ["ada@work.example", null]],
          phones: [["+33612345678", null], ["+33123456789", null]]
        })
        expect((yield* crm.contacts.list()).items.length).toBe(1)
      })
    ))

  it.effect("an address another contact holds is not taken by an update, and the import goes on; a bad second address is a warning", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com", phone: "+33612345678" })
        const bob = yield* crm.contacts.create({ email: "bob@example.com" })
        // Ada's phone matches; her row lists Bob's address too, and a malformed one.
        const csv = ["email,email 2,email 3,phone", "ada@example.com,bob@example.com,not-an-address,+33612345678", "new@example.com,,,"].join("\n")
        const report = yield* importContacts(bytes(csv), { policy: "update", country: "FR" })
        accountedFor(report)
        expect([report.created, report.rejected, report.stopped]).toEqual([1, 0, null])
        expect((yield* crm.contacts.get(ada.id)).emails.map((e) => e.value)).toEqual(["ada@example.com"])
        expect((yield* found("bob@example.com")).id).toBe(bob.id)
        expect(report.warnings.map((w) => w.reason).join("\n")).toContain('"not-an-address" is not an email address')
      })
    ))
})
