// Real exports, as the tools write them today: Google Contacts (Organization Name, ` ::: `
// multi-values), Outlook (honorific Title, fillers, Categories, home address, M/D/YYYY), HubSpot
// (Mobile Phone Number, Lifecycle Stage), a French CRM (first-contact date, consent), Mailchimp
// (subscription status and times become consent with its proof); and date order per column.
import { Consents, Crm } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { importContacts } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fixture, run, bytes, accountedFor, allContacts } from "./helpers.js"

const byEmail = (email: string) => Effect.map(allContacts, (all) => all.find((c) => c.email === email)!)

describe("Google Contacts' current export", () => {
  it.effect("Organization Name, Title and Department are read; ` ::: ` values give the first to single fields and all to tags; a yearless birthday is kept", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "jobTitle", label: "Job title", type: "text" })
        yield* crm.fields.define({ key: "department", label: "Department", type: "text" })
        yield* crm.fields.define({ key: "birthday", label: "Birthday", type: "text" })
        yield* crm.fields.define({ key: "nickname", label: "Nickname", type: "text" })
        yield* crm.fields.define({ key: "middleName", label: "Middle name", type: "text" })
        yield* crm.fields.define({ key: "prefix", label: "Prefix", type: "text" })
        yield* crm.fields.define({ key: "suffix", label: "Suffix", type: "text" })
        const report = yield* importContacts(fixture("csv/google-contacts-2024.csv"), { country: "FR" })
        accountedFor(report)
        expect([report.dialect, report.created, report.rejected]).toEqual(["google", 2, 0])
        const camille = yield* byEmail("camille@atelier-roussel.fr")
        expect([camille.phone, camille.tags, camille.fields]).toEqual([
          "+33611223344",
          ["Clients", "Salon 2024"],
          { jobTitle: "Gérante", department: "Direction", birthday: "--07-22", nickname: "Cam" }
        ])
        expect((yield* crm.companies.get(camille.companyId!)).name).toBe("Atelier Roussel")
        const hugo = yield* byEmail("h.bertin@clinique-bertin.fr")
        expect(hugo.fields).toEqual({ jobTitle: "Chirurgien", department: "Orthopédie", birthday: "1979-11-02", middleName: "Jean", prefix: "Dr", suffix: "Jr." })
      })
    ))
})

describe("Outlook's export", () => {
  it.effect("Title is the honorific even beside a field keyed title; fillers are empty; Categories are tags; the home address stands in; dates are month first", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "title", label: "Title", type: "text" })
        yield* crm.fields.define({ key: "birthday", label: "Birthday", type: "date" })
        yield* crm.fields.define({ key: "street", label: "Street", type: "text" })
        yield* crm.fields.define({ key: "city", label: "City", type: "text" })
        yield* crm.fields.define({ key: "gender", label: "Gender", type: "text" })
        const report = yield* importContacts(fixture("csv/outlook-us.csv"), { country: "US" })
        accountedFor(report)
        expect([report.dialect, report.created, report.rejected]).toEqual(["outlook", 2, 0])
        expect(report.mapping.find((m) => m.column === "Title")?.target).not.toBe("fields.title")
        expect(report.dateOrders.find((d) => d.column === "Birthday")).toMatchObject({ order: "mdy", how: "source" })
        const jennifer = yield* byEmail("jwalsh@walshpartners.example")
        expect([jennifer.phone, jennifer.tags, jennifer.fields]).toEqual([
          "+12155550199",
          ["Clients", "VIP"],
          { title: "VP Sales", birthday: "1965-11-02", street: "1200 Market St", city: "Philadelphia", gender: "Female" }
        ])
        // No job title, "0/0/00" birthday, "Unspecified" gender: nothing stored; the home address is used.
        const robert = yield* byEmail("rchen@example.org")
        expect([robert.tags, robert.fields]).toEqual([["Personal"], { street: "48 Elm Street", city: "Springfield" }])
      })
    ))
})

describe("date order", () => {
  it.effect("detected per column from the values: a first part above 12 settles it, whatever the default", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "since", label: "Since", type: "date" })
        yield* crm.fields.define({ key: "renewal", label: "Renewal", type: "date" })
        const file = ["email,since,renewal", "a@x.fr,03/04/2020,04/03/2021", "b@x.fr,25/12/2019,12/25/2021"].join("\n")
        const report = yield* importContacts(bytes(file))
        expect(report.rejected).toBe(0)
        expect(report.dateOrders).toEqual([
          { column: "since", order: "dmy", how: "detected", ambiguousAt: 2 },
          { column: "renewal", order: "mdy", how: "detected", ambiguousAt: 2 }
        ])
        expect((yield* byEmail("a@x.fr")).fields).toEqual({ since: "2020-04-03", renewal: "2021-04-03" })
        expect(report.warnings).toEqual([])
      })
    ))

  it.effect("a column that stays ambiguous is read day first and reported; the option decides without a warning", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "since", label: "Since", type: "date" })
        const file = ["email,since", "a@x.fr,11/2/1965", "b@x.fr,1/3/1970"].join("\n")
        const report = yield* importContacts(bytes(file), { dryRun: true })
        expect(report.dateOrders).toEqual([{ column: "since", order: "dmy", how: "default", ambiguousAt: 2 }])
        expect(report.warnings.map((w) => [w.line, w.reason])).toEqual([[2, expect.stringContaining("since: \"11/2/1965\" could be day or month first, and no date of the column so far says which")]])
        const chosen = yield* importContacts(bytes(file), { dateOrder: "mdy" })
        expect([chosen.warnings, chosen.dateOrders]).toEqual([[], [{ column: "since", order: "mdy", how: "option" }]])
        expect((yield* byEmail("a@x.fr")).fields).toEqual({ since: "1965-11-02" })
      })
    ))

  it.effect("a yearless birthday (--07-22, 05/17) is not a rejection: a text field keeps it, a date field is left empty with a warning", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "birthday", label: "Birthday", type: "date" })
        const report = yield* importContacts(bytes("email,birthday\na@x.fr,--07-22\nb@x.fr,05/17\nc@x.fr,31/02\n"), { dateOrder: "mdy" })
        expect([report.created, report.rejected]).toEqual([2, 1])
        expect(report.warnings.map((w) => w.line)).toEqual([2, 3])
        expect(report.warnings[1]!.reason).toContain("--05-17")
        expect(report.rejections[0]!.line).toBe(4)
      })
    ))
})

describe("HubSpot, French files and consent", () => {
  it.effect("HubSpot: Mobile Phone Number is the phone; Lifecycle Stage is the stage on the hubspot lifecycle, ignored otherwise", () =>
    Effect.gen(function* () {
      const hubspotCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))
      const onHubspot = yield* Effect.provide(
        Effect.gen(function* () {
          const crm = yield* Crm.Crm
          yield* crm.lifecycle.configure({ preset: "hubspot" })
          const report = yield* importContacts(fixture("csv/hubspot-2024.csv"))
          return { report, laura: yield* byEmail("laura.moreau@example.fr"), tom: yield* byEmail("tom.baker@example.com") }
        }),
        hubspotCrm
      )
      accountedFor(onHubspot.report)
      expect([onHubspot.laura.phone, onHubspot.laura.stage, onHubspot.tom.stage]).toEqual(["+33698765432", "marketingQualified", "subscriber"])
      expect(onHubspot.report.warnings.map((w) => w.line)).toEqual([3])
      const classic = yield* run(importContacts(fixture("csv/hubspot-2024.csv")))
      expect(classic.unmapped).toContain("Lifecycle Stage")
    }))

  it.effect("a French file: Date de premier contact is the first-seen date; a consent column with its date becomes marketing consent", () =>
    run(
      Effect.gen(function* () {
        const consents = yield* Consents.Consents
        const report = yield* importContacts(fixture("csv/francais-crm.csv"), { country: "FR" })
        accountedFor(report)
        expect([report.created, report.consents, report.rejected]).toEqual([2, 2, 0])
        const lea = yield* byEmail("lea.fontaine@example.fr")
        // Read in the workspace's timezone (UTC here).
        expect(DateTime.formatIso(lea.firstSeenAt)).toBe("2023-03-25T00:00:00.000Z")
        expect((yield* consents.status(lea.id)).purposes["marketing"]).toEqual({ granted: true, at: "2023-03-25T10:15:00.000Z", source: "import", pending: false, proof: { at: "2023-03-25T10:15:00.000Z", method: "import", ip: null, userAgent: null, evidence: null, requestedAt: null } })
        const marc = yield* byEmail("marc.girard@example.fr")
        expect((yield* consents.status(marc.id)).purposes["marketing"]).toMatchObject({ granted: false, source: "import" })
      })
    ))

  // Live clock: the withdrawal below happens today, after the export's dates.
  it.live("Mailchimp: a subscribed member's consent is dated by CONFIRM_TIME, an unsubscribed one's withdrawal by UNSUB_TIME; an older import never undoes a newer decision", () =>
    run(
      Effect.gen(function* () {
        // Mailchimp's times are UTC, whatever the workspace's timezone.
        yield* (yield* Crm.Crm).settings.update({ timezone: "Europe/Paris" })
        const consents = yield* Consents.Consents
        const subscribed = yield* importContacts(fixture("csv/mailchimp.csv"))
        expect(subscribed.dialect).toBe("mailchimp")
        const jane = yield* byEmail("jane.doe@example.com")
        expect((yield* consents.status(jane.id)).purposes["marketing"]).toEqual({ granted: true, at: "2023-01-05T09:13:02.000Z", source: "mailchimp-import", pending: false, proof: { at: "2023-01-05T09:13:02.000Z", method: "import", ip: null, userAgent: null, evidence: null, requestedAt: null } })
        yield* importContacts(fixture("csv/mailchimp-unsubscribed.csv"))
        const paul = yield* byEmail("paul.henry@example.com")
        expect((yield* consents.status(paul.id)).purposes["marketing"]).toMatchObject({ granted: false, at: "2024-01-20T17:45:00.000Z" })
        // Jane opts out today; re-importing the old export does not opt her in again.
        yield* consents.withdraw(jane.id)
        yield* importContacts(fixture("csv/mailchimp.csv"), { policy: "update" })
        expect((yield* consents.status(jane.id)).purposes["marketing"]!.granted).toBe(false)
      })
    ))
})

describe("vCard", () => {
  it.effect("name parts, NICKNAME and CATEGORIES are imported; a quoted, folded LABEL holding : and ; does not break the card; PREF picks the primary email and phone", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        for (const [key, label] of [["prefix", "Prefix"], ["middleName", "Middle name"], ["suffix", "Suffix"], ["nickname", "Nickname"], ["jobTitle", "Job title"], ["street", "Street"], ["city", "City"], ["birthday", "Birthday"]] as const) {
          yield* crm.fields.define({ key, label, type: "text" })
        }
        const report = yield* importContacts(fixture("vcard/contacts-4.0-pref-label.vcf"))
        accountedFor(report)
        expect([report.format, report.created, report.rejected]).toEqual(["vcard", 2, 0])
        const claire = yield* byEmail("claire@lambert-conseil.example")
        expect([claire.firstName, claire.lastName, claire.phone, claire.tags]).toEqual(["Claire", "Lambert", "+33621212121", ["Clients", "Salon 2025", "VIP"]])
        expect(claire.fields).toEqual({
          prefix: "Dr.",
          middleName: "Marie, Louise",
          suffix: "PhD",
          nickname: "Clacla",
          jobTitle: "Consultante",
          street: "12 rue de la Paix\nBât. B",
          city: "Paris",
          birthday: "--07-22"
        })
        const jules = yield* byEmail("jules.petit@petit-sa.example")
        expect([jules.phone, jules.tags]).toEqual(["+33630303030", ["Fournisseurs"]])
      })
    ))
})

describe("consent from any file", () => {
  it.effect("an explicit mapping makes any column the consent status; a value that is not one rejects the row naming the column", () =>
    run(
      Effect.gen(function* () {
        const consents = yield* Consents.Consents
        const file = ["email,Newsletter,Signed up", "a@x.fr,yes,2024-05-01T08:00:00Z", "b@x.fr,unsubscribed,", "c@x.fr,maybe,"].join("\n")
        const report = yield* importContacts(bytes(file), { mapping: { Newsletter: "consent.status", "Signed up": "consent.at" } })
        expect([report.created, report.consents, report.rejected]).toEqual([2, 2, 1])
        expect(report.rejections[0]!.reason).toContain("Newsletter:")
        const a = yield* byEmail("a@x.fr")
        expect((yield* consents.status(a.id)).purposes["marketing"]).toEqual({ granted: true, at: "2024-05-01T08:00:00.000Z", source: "import", pending: false, proof: { at: "2024-05-01T08:00:00.000Z", method: "import", ip: null, userAgent: null, evidence: null, requestedAt: null } })
        const b = yield* byEmail("b@x.fr")
        expect((yield* consents.status(b.id)).purposes["marketing"]!.granted).toBe(false)
      })
    ))
})
