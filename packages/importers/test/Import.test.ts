// Imports end to end, on memory storage: realistic files through reading, mapping,
// de-duplication and batched writes, and the report that accounts for every row.
import { Crm, createCrm, Errors, Ids, Storage } from "@rapport/core"
import { SqliteStorage, memoryStorage } from "@rapport/sqlite"
import { importContacts, importFile, type ImportReport, RapportImportError } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import iconv from "iconv-lite"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const fixture = (path: string) => fileURLToPath(new URL(`./fixtures/${path}`, import.meta.url))
const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))
const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage>) => Effect.provide(program, TestCrm)
const bytes = (text: string, encoding = "utf8") => new Uint8Array(encoding === "utf8" ? Buffer.from(text, "utf8") : iconv.encode(text, encoding))

/** Every row read is accounted for exactly once. */
const accountedFor = (report: ImportReport) =>
  expect(report.created + report.updated + report.unchanged + report.skipped + report.rejected + report.conflicted).toBe(report.rowsRead)

const allContacts = Effect.flatMap(Crm.Crm, (crm) => Effect.map(crm.contacts.list({ limit: 500 }), (page) => page.items))

describe("importing files people really have", () => {
  it.effect("a Google Contacts export: names, the work e-mail first, phones in E.164, companies linked", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "jobTitle", label: "Job title", type: "text" })
        const report = yield* importContacts(fixture("csv/google-contacts.csv"), { source: { channel: "google-import" }, country: "FR" })
        accountedFor(report)
        expect(report.rejected).toBe(0)
        const contacts = yield* allContacts
        const amelie = contacts.find((c) => c.lastName === "Poulain")!
        expect([amelie.firstName, amelie.email, amelie.phone, amelie.source.channel]).toEqual(["Amélie", "amelie.poulain@deux-moulins.fr", "+33612345678", "google-import"])
        expect(amelie.companyId).not.toBeNull()
        expect((yield* crm.companies.get(amelie.companyId!)).name).toBe("Les Deux Moulins")
        // Google's labels are tags; its "* myContacts" system group is not.
        expect(amelie.tags).toEqual(["Clients"])
      })
    ))

  it.effect("an Outlook export: quoted fields, the job title (not the honorific) into a custom field", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "jobTitle", label: "Fonction", type: "text" })
        const report = yield* importContacts(fixture("csv/outlook.csv"), { country: "FR" })
        accountedFor(report)
        const pierre = (yield* allContacts).find((c) => c.firstName === "Pierre")!
        expect([pierre.email, pierre.phone, pierre.fields["jobTitle"]]).toEqual(["pierre.martin@martin-fils.fr", "+33600000001", "Directeur commercial"])
      })
    ))

  it.effect("a French Excel file: windows-1252, semicolons, a title line, French numbers and dates in custom fields", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "siret", label: "SIRET", type: "text", unique: true })
        yield* crm.fields.define({ key: "creditLimit", label: "Encours autorisé", type: "money" })
        yield* crm.fields.define({ key: "customerSince", label: "Client depuis", type: "date" })
        yield* crm.fields.define({ key: "newsletter", label: "Newsletter", type: "boolean" })
        const file = [
          "Export des clients au 12/03/2025;;;;;;;;",
          "Prénom;Nom;Société;Téléphone;Adresse e-mail;SIRET;Encours autorisé;Client depuis;Newsletter",
          "Élodie;Lefèvre;Café de la Gare;06 39 98 12 34;elodie@cafe-gare.fr;532 109 876 00014;1 234,50 €;03/02/2021;oui",
          "François;Dupré;Boulangerie Dupré;04.72.00.11.22;francois@dupre.fr;812 345 678 00021;5 000;15/09/2019;non"
        ].join("\r\n")
        const report = yield* importContacts(bytes(file, "windows-1252"), { country: "FR" })
        expect([report.format, report.details.encoding, report.details.delimiter, report.details.headerLine]).toEqual(["csv", "windows-1252", ";", 2])
        expect([report.created, report.rejected]).toEqual([2, 0])
        const elodie = (yield* allContacts).find((c) => c.firstName === "Élodie")!
        expect([elodie.lastName, elodie.phone, elodie.fields]).toEqual([
          "Lefèvre",
          "+33639981234",
          { siret: "532 109 876 00014", creditLimit: { amountMinor: 123_450, currency: "EUR" }, customerSince: "2021-02-03", newsletter: true }
        ])
      })
    ))

  it.effect("a vCard file from a business-card scanner and an XLSX with a title row", () =>
    run(
      Effect.gen(function* () {
        const cards = yield* importContacts(fixture("vcard/camcard.vcf"), { source: { channel: "trade-show", campaign: "Salon 2025" }, country: "FR" })
        accountedFor(cards)
        expect(cards.created).toBeGreaterThan(0)
        const sheet = yield* importContacts(fixture("xlsx/salon-2025.xlsx"), { source: { channel: "trade-show" }, country: "FR" })
        accountedFor(sheet)
        expect([sheet.format, sheet.created > 0, sheet.details.headerLine! > 1]).toEqual(["xlsx", true, true])
        const contacts = yield* allContacts
        expect(contacts.every((c) => c.source.channel === "trade-show")).toBe(true)
      })
    ))
})

describe("duplicates, policies and the report", () => {
  const file = [
    "email,first name,last name,phone,siret",
    "ada@example.com,Ada,Lovelace,0639981234,111",
    " ADA@Example.com ,Ada,Byron,,",
    "grace@example.com,Grace,Hopper,,222",
    "bob@example.com,Bob,,06 39 98 12 34,",
    "ghost@example.com,Ghost,,,222",
    "not-an-email,Nemo,,,",
    ",,,,"
  ].join("\n")

  it.effect("rows duplicating an earlier row are skipped, another email on the same phone or unique field is a conflict; bad rows rejected with their line; re-importing changes nothing", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "siret", type: "text", unique: true })
        const first = yield* importContacts(bytes(file), { country: "FR" })
        accountedFor(first)
        expect([first.rowsRead, first.created, first.skipped, first.conflicted, first.rejected]).toEqual([6, 2, 1, 2, 1])
        expect(first.skips.map((s) => [s.line, s.reason])).toEqual([[3, "duplicate of line 2 (same email ada@example.com)"]])
        expect(first.conflicts.map((c) => [c.line, c.otherLine, c.matchedOn, c.email, c.otherEmail, c.resolution])).toEqual([
          [5, 2, "phone +33639981234", "bob@example.com", "ada@example.com", "skipped"],
          [6, 4, "siret 222", "ghost@example.com", "grace@example.com", "skipped"]
        ])
        expect(first.rejections.map((r) => r.line)).toEqual([7])
        expect(first.rejections[0]!.reason).toContain("email")
        const before = yield* allContacts

        const again = yield* importContacts(bytes(file), { country: "FR" })
        expect([again.created, again.updated, again.skipped, again.conflicted, again.rejected]).toEqual([0, 0, 3, 2, 1])
        expect(again.skips[0]!.reason).toBe("already stored (same email ada@example.com)")
        expect(again.conflicts.map((c) => [c.line, c.contactId])).toEqual([
          [5, before.find((c) => c.email === "ada@example.com")!.id],
          [6, before.find((c) => c.email === "grace@example.com")!.id]
        ])
        expect(yield* allContacts).toEqual(before)

        // Under update, line 3 (the same email) overwrites line 2's last name; a second run changes nothing.
        const updating = yield* importContacts(bytes(file), { country: "FR", policy: "update" })
        accountedFor(updating)
        expect([updating.created, updating.updated, updating.unchanged, updating.skipped, updating.conflicted]).toEqual([0, 2, 1, 0, 2])
        const ada = (yield* allContacts).find((c) => c.email === "ada@example.com")!
        expect([ada.firstName, ada.lastName]).toEqual(["Ada", "Byron"])
        const twice = yield* importContacts(bytes(file), { country: "FR", policy: "update" })
        expect([twice.created, twice.updated, twice.unchanged, twice.conflicted]).toEqual([0, 0, 3, 2])
      })
    ))

  it.effect("update overwrites with the row's filled values; fillEmpty only fills what the contact lacks", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com", firstName: "Augusta", tags: ["vip"] })
        const fill = yield* importContacts(bytes("email,first name,last name,tags\nada@example.com,Ada,Lovelace,salon\n"), { policy: "fillEmpty" })
        expect([fill.updated, fill.updates[0]?.reason]).toEqual([1, "updated: lastName, tags"])
        expect(yield* crm.contacts.get(ada.id)).toMatchObject({ firstName: "Augusta", lastName: "Lovelace", tags: ["vip", "salon"] })
        const update = yield* importContacts(bytes("email,first name\nada@example.com,Ada\n"), { policy: "update" })
        expect(update.updated).toBe(1)
        expect((yield* crm.contacts.get(ada.id)).firstName).toBe("Ada")
      })
    ))

  it.effect("a dry run reports what would happen and writes nothing", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "siret", type: "text", unique: true })
        const report = yield* importContacts(bytes(file), { country: "FR", dryRun: true })
        expect([report.dryRun, report.created, report.skipped, report.conflicted, report.rejected]).toEqual([true, 2, 1, 2, 1])
        expect(yield* allContacts).toEqual([])
      })
    ))

  it.effect("a dry run compares with stored contacts: a re-import would create nothing, an update is announced, nothing is written", () =>
    run(
      Effect.gen(function* () {
        yield* importContacts(bytes("email,first name\nada@example.com,Ada\nbob@example.com,Bob\n"))
        const again = yield* importContacts(bytes("email,first name\nada@example.com,Ada\nbob@example.com,Bob\n"), { dryRun: true })
        expect([again.created, again.skipped]).toEqual([0, 2])
        const update = yield* importContacts(bytes("email,first name\nada@example.com,Augusta\nbob@example.com,Bob\n"), { dryRun: true, policy: "update" })
        expect([update.created, update.updated, update.unchanged]).toEqual([0, 1, 1])
        expect(update.updates).toEqual([expect.objectContaining({ line: 2, reason: "would update: firstName" })])
        expect((yield* allContacts).map((c) => c.firstName).sort()).toEqual(["Ada", "Bob"])
      })
    ))

  it.effect("a required field missing, a wrong type, a bad date: each row rejected with its line and the column's reason", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "vat", label: "VAT", type: "text", required: "always" })
        yield* crm.fields.define({ key: "employees", label: "Employees", type: "integer" })
        yield* crm.fields.define({ key: "since", label: "Since", type: "date" })
        const report = yield* importContacts(
          bytes("email,VAT,Employees,Since\na@example.com,FR1,12,01/02/2020\nb@example.com,,3,\nc@example.com,FR3,lots,\nd@example.com,FR4,,31/02/2020\n")
        )
        accountedFor(report)
        expect(report.created).toBe(1)
        expect(report.rejections).toEqual([
          { line: 3, reason: "VAT: is required" },
          { line: 4, reason: 'Employees: "lots" is not a number' },
          { line: 5, reason: 'Since: "31/02/2020" is not a date (DD/MM/YYYY or YYYY-MM-DD)' }
        ])
      })
    ))

  it.effect("the explicit mapping wins; a mapping naming a missing column fails before anything is read", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(bytes("Courriel pro,Nom,Notes\nada@example.com,Ada Lovelace,likes maths\n"), { mapping: { "Courriel pro": "email", Nom: "fullName", Notes: "ignore" } })
        expect(report.created).toBe(1)
        expect((yield* allContacts)[0]).toMatchObject({ email: "ada@example.com", firstName: "Ada", lastName: "Lovelace" })
        const error = yield* Effect.flip(importContacts(bytes("a,b\n1,2\n"), { mapping: { Email: "email" } }))
        expect(error).toBeInstanceOf(Errors.ValidationError)
      })
    ))
})

describe("batches, progress, stopping and resuming", () => {
  const many = (n: number) => ["email,first name", ...Array.from({ length: n }, (_, i) => `c${i}@example.com,C${i}`)].join("\n")

  it.effect("writes in batches, reports progress, and a database failure mid-file keeps complete batches and says where to resume", () =>
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      let inserts = 0
      // The third batch's creation fails as a lost connection would.
      const failing: Storage.StorageService = {
        ...storage,
        contacts: {
          ...storage.contacts,
          insertMany: (contacts) =>
            ++inserts === 3 ? Effect.fail(new Errors.StorageError({ reason: "unavailable", message: "connection lost" })) : storage.contacts.insertMany(contacts)
        }
      }
      const layer = Crm.layer.pipe(Layer.provideMerge(Layer.succeed(Storage.Storage, failing)))
      const progress: Array<number> = []
      const stopped = yield* Effect.provide(importContacts(bytes(many(1_000)), { batchSize: 200, onProgress: (p) => progress.push(p.rowsRead) }), layer)
      expect(stopped.stopped).toEqual({ line: 402, message: "connection lost" })
      expect(stopped.created).toBe(400)
      expect(progress).toEqual([200, 400, 600])
      const resumed = yield* Effect.provide(importContacts(bytes(many(1_000)), { batchSize: 200, startAtLine: 402 }), layer)
      expect([resumed.stopped, resumed.created, resumed.rowsRead]).toEqual([null, 600, 600])
      expect((yield* storage.contacts.list(Ids.DefaultWorkspaceId, { limit: 2_000 })).length).toBe(1_000)
    }).pipe(Effect.provide(SqliteStorage.memoryLayer)))
})

describe("the Promise client", () => {
  it("importFile imports into the client's workspace and rejects an unreadable file with RapportImportError", async () => {
    const crm = await createCrm({ storage: memoryStorage(), workspace: "shop-42" })
    try {
      const report = await importFile(crm, bytes("E-mail Address,First Name\nada@example.com,Ada\n"), { source: { channel: "newsletter" } })
      expect([report.created, report.mapping.map((m) => m.target)]).toEqual([1, ["email", "firstName"]])
      expect((await crm.contacts.findByEmail("ada@example.com"))?.source.channel).toBe("newsletter")
      expect(await crm.workspace("default").contacts.findByEmail("ada@example.com")).toBeNull()
      await expect(importFile(crm, new Uint8Array([0x25, 0x50, 0x44, 0x46, 0, 1, 2, 3]))).rejects.toMatchObject({ _tag: "ImportError", code: "IMPORT_UNREADABLE", reason: "unreadable" })
      await expect(importFile(crm, bytes(""))).rejects.toBeInstanceOf(RapportImportError)
      await expect(importFile(crm, bytes(""))).rejects.toMatchObject({ code: "IMPORT_EMPTY" })
    } finally {
      await crm.close()
    }
  })

  it("importFile records each import as a stored import: its file's name, options, progress and report, or why it failed; wrong options store nothing", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    const directory = await mkdtemp(join(tmpdir(), "rapport-import-test-"))
    try {
      const path = join(directory, "salon-2025.csv")
      await writeFile(path, "Email,Name\nada@example.com,Ada\ngrace@example.com,Grace\nnot an address,X\n")
      const heard: Array<number> = []
      const report = await importFile(crm, path, { source: { channel: "trade-show" }, onProgress: (p) => heard.push(p.rowsRead) })
      expect(heard.at(-1)).toBe(3)
      await expect(importFile(crm, bytes(""))).rejects.toMatchObject({ code: "IMPORT_EMPTY" })
      await expect(importFile(crm, bytes("Email\na@example.com\n"), { policy: "sometimes" as never })).rejects.toMatchObject({ code: "VALIDATION_FAILED" })
      const { items } = await crm.imports.list()
      expect(items.map((run) => [run.fileName, run.status, run.error?.code ?? null])).toEqual([
        [null, "failed", "IMPORT_EMPTY"],
        ["salon-2025.csv", "done", null]
      ])
      const done = items[1]!
      expect(done.options).toEqual({ source: { channel: "trade-show" } })
      expect(done.progress).toMatchObject({ rowsRead: 3, created: 2, rejected: 1 })
      expect(done.report).toMatchObject({ created: report.created, rejected: report.rejected })
      expect(await crm.imports.get(done.id)).toEqual(done)
    } finally {
      await crm.close()
      await rm(directory, { recursive: true, force: true })
    }
  })
})
