// Identity safety of imports: a row matched by phone or a unique field but carrying another email
// is a conflict that never changes the stored identity; later rows with the same email merge into
// the first one's contact; options are checked before the first row; a rejected row lists all of
// its problems; a Promise user only ever sees RapportError subclasses.
import { Crm, createCrm, type Contact, Errors, RapportError, RapportStorageError, Storage } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { importContacts, importFile, exportFile, exportStream, RapportExportError, RapportImportError } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestCrm, run, bytes, accountedFor, allContacts } from "./helpers.js"


describe("identity conflicts", () => {
  // The issue's case: a per-person identifier wrongly shared, here a badge number reused.
  const stored = Effect.gen(function* () {
    const crm = yield* Crm.Crm
    yield* crm.fields.define({ key: "badge", label: "Badge", type: "text", unique: true })
    return yield* crm.contacts.create({ email: "claire@acme.fr", firstName: "Claire", lastName: "Martin", phone: "+33612345678", fields: { badge: "B-17" } })
  })

  for (const policy of ["update", "fillEmpty", "skip"] as const) {
    it.effect(`a unique field or a phone shared with another email is a conflict under ${policy}: the stored contact is left as it was`, () =>
      run(
        Effect.gen(function* () {
          const claire = yield* stored
          const file = ["email,first name,last name,phone,badge", "paul@acme.fr,Paul,Durand,,B-17", "marie@acme.fr,Marie,Roux,+33612345678,"].join("\n")
          const report = yield* importContacts(bytes(file), { policy })
          accountedFor(report)
          expect([report.created, report.updated, report.conflicted]).toEqual([0, 0, 2])
          expect(report.conflicts.map((c) => [c.line, c.email, c.matchedOn, c.contactId, c.otherEmail, c.resolution])).toEqual([
            [2, "paul@acme.fr", "badge b-17", claire.id, "claire@acme.fr", "skipped"],
            [3, "marie@acme.fr", "phone +33612345678", claire.id, "claire@acme.fr", "skipped"]
          ])
          expect(report.conflicts[0]!.reason).toContain("claire@acme.fr")
          expect(yield* allContacts).toEqual([claire])
        })
      ))
  }

  it.effect("onIdentityConflict create: a phone conflict becomes a new contact; a unique-field conflict cannot, and is reported", () =>
    run(
      Effect.gen(function* () {
        const claire = yield* stored
        const file = ["email,first name,phone,badge", "paul@acme.fr,Paul,,B-17", "marie@acme.fr,Marie,+33612345678,"].join("\n")
        const report = yield* importContacts(bytes(file), { policy: "update", onIdentityConflict: "create" })
        accountedFor(report)
        expect([report.created, report.conflicted]).toEqual([1, 1])
        expect(report.conflicts.map((c) => [c.line, c.resolution])).toEqual([[2, "skipped"], [3, "created"]])
        expect(report.conflicts[0]!.reason).toContain("unique")
        const all = yield* allContacts
        expect(all.map((c) => c.email).sort()).toEqual(["claire@acme.fr", "marie@acme.fr"])
        expect(all.find((c) => c.id === claire.id)).toEqual(claire)
      })
    ))

  it.effect("onIdentityConflict update: the row's other values are applied, the email and names are not replaced", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const claire = yield* stored
        const file = ["email,first name,last name,badge,tags", "paul@acme.fr,Paul,Durand,B-17,salon"].join("\n")
        const report = yield* importContacts(bytes(file), { policy: "update", onIdentityConflict: "update" })
        expect([report.updated, report.conflicted, report.conflicts[0]?.resolution]).toEqual([1, 0, "updated"])
        const after = yield* crm.contacts.get(claire.id)
        expect([after.email, after.firstName, after.lastName, after.tags]).toEqual(["claire@acme.fr", "Claire", "Martin", ["salon"]])
      })
    ))

  it.effect("within the file: a later row with the same phone and another email is a conflict naming the earlier line", () =>
    run(
      Effect.gen(function* () {
        const file = ["email,first name,phone", "ana@x.fr,Ana,+33611111111", "bea@x.fr,Bea,+33611111111"].join("\n")
        const report = yield* importContacts(bytes(file), { policy: "update" })
        accountedFor(report)
        expect([report.created, report.conflicted]).toEqual([1, 1])
        expect(report.conflicts.map((c) => [c.line, c.otherLine, c.otherEmail])).toEqual([[3, 2, "ana@x.fr"]])
        expect((yield* allContacts).map((c) => [c.email, c.firstName])).toEqual([["ana@x.fr", "Ana"]])
      })
    ))

  // Stored contacts (some without an email), rows drawn from their emails, phones, badges and new
  // emails, under every policy and conflict choice: a stored email only changes when a row carries it.
  it("property: no import changes a stored contact's email unless the row carries that same email", async () => {
    const emails = ["a@x.fr", "b@x.fr", "c@x.fr", "d@x.fr", "e@x.fr"]
    const phones = ["+33611111111", "+33622222222", "+33633333333"]
    const badges = ["B1", "B2", "B3"]
    const storedArb = fc.uniqueArray(
      fc.record({ email: fc.option(fc.constantFrom(...emails), { nil: undefined }), phone: fc.option(fc.constantFrom(...phones), { nil: undefined }), badge: fc.option(fc.constantFrom(...badges), { nil: undefined }), name: fc.constantFrom("Ann", "Bob") }),
      { minLength: 1, maxLength: 4, selector: (c) => c.email ?? Math.random() }
    )
    const rowArb = fc.record({ email: fc.option(fc.constantFrom(...emails), { nil: "" }), phone: fc.option(fc.constantFrom(...phones), { nil: "" }), badge: fc.option(fc.constantFrom(...badges), { nil: "" }), name: fc.constantFrom("Zoe", "Yan") })
    await fc.assert(
      fc.asyncProperty(
        storedArb,
        fc.array(rowArb, { minLength: 1, maxLength: 6 }),
        fc.constantFrom("skip" as const, "update" as const, "fillEmpty" as const),
        fc.constantFrom("skip" as const, "create" as const, "update" as const),
        fc.integer({ min: 1, max: 3 }),
        async (storedContacts, rows, policy, onIdentityConflict, batchSize) => {
          const { before, after, report } = await Effect.runPromise(
            Effect.gen(function* () {
              const crm = yield* Crm.Crm
              yield* crm.fields.define({ key: "badge", label: "Badge", type: "text", unique: true })
              const before: Array<Contact.Contact> = []
              const usedPhones = new Set<string>()
              const usedBadges = new Set<string>()
              for (const c of storedContacts) {
                // Stored contacts hold distinct badges (unique) and phones (else a match is ambiguous).
                const phone = c.phone !== undefined && !usedPhones.has(c.phone) ? c.phone : undefined
                const badge = c.badge !== undefined && !usedBadges.has(c.badge) ? c.badge : undefined
                if (phone !== undefined) usedPhones.add(phone)
                if (badge !== undefined) usedBadges.add(badge)
                before.push(
                  yield* crm.contacts.create({
                    firstName: c.name,
                    ...(c.email === undefined ? {} : { email: c.email }),
                    ...(phone === undefined ? {} : { phone }),
                    ...(badge === undefined ? {} : { fields: { badge } })
                  })
                )
              }
              const file = ["email,first name,phone,badge", ...rows.map((r) => [r.email, r.name, r.phone, r.badge].join(","))].join("\n")
              const report = yield* importContacts(bytes(file), { policy, onIdentityConflict, batchSize })
              return { before, after: yield* allContacts, report }
            }).pipe(Effect.provide(TestCrm))
          )
          accountedFor(report)
          const rowEmails = new Set(rows.map((r) => r.email).filter((e) => e !== ""))
          for (const contact of before) {
            const now = after.find((c) => c.id === contact.id)!
            if (contact.email !== null) expect(now.email).toBe(contact.email)
            else if (now.email !== null) expect(rowEmails.has(now.email)).toBe(true)
          }
        }
      ),
      { numRuns: 150 }
    )
  }, 60_000)
})

describe("later rows with the same email", () => {
  const file = ["email,first name,last name,phone,tags", "ada@x.fr,Ada,,,salon", "ADA@x.fr,Augusta,Lovelace,+33611111111,vip", "ada@x.fr,,,,salon"].join("\n")

  it.effect("fillEmpty: a later row fills what the first row's new contact lacks; the report accounts for each row", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(bytes(file), { policy: "fillEmpty" })
        accountedFor(report)
        expect([report.created, report.updated, report.unchanged, report.skipped]).toEqual([1, 1, 1, 0])
        expect(report.updates.map((u) => [u.line, u.reason])).toEqual([[3, "merged into line 2's contact (same email ada@x.fr)"]])
        const [ada] = yield* allContacts
        expect([ada!.firstName, ada!.lastName, ada!.phone, ada!.tags]).toEqual(["Ada", "Lovelace", "+33611111111", ["salon", "vip"]])
        expect(report.updates[0]!.contactId).toBe(ada!.id)
      })
    ))

  it.effect("update: a later row overwrites the first row's values, also across batches and for a stored contact", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const stored = yield* crm.contacts.create({ email: "ada@x.fr", firstName: "A." })
        const report = yield* importContacts(bytes(file), { policy: "update", batchSize: 1 })
        accountedFor(report)
        expect([report.created, report.updated, report.unchanged, report.skipped]).toEqual([0, 2, 1, 0])
        const ada = yield* crm.contacts.get(stored.id)
        expect([ada.firstName, ada.lastName, ada.phone, ada.tags]).toEqual(["Augusta", "Lovelace", "+33611111111", ["salon", "vip"]])
        expect(report.updates.map((u) => u.line)).toEqual([2, 3])
        expect(report.updates[1]!.reason).toContain("merged into line 2's contact")
      })
    ))

  it.effect("skip: later rows are skipped as duplicates of the first", () =>
    run(
      Effect.gen(function* () {
        const report = yield* importContacts(bytes(file))
        expect([report.created, report.skipped, report.skips.map((s) => s.reason)]).toEqual([1, 2, ["duplicate of line 2 (same email ada@x.fr)", "duplicate of line 2 (same email ada@x.fr)"]])
        expect((yield* allContacts)[0]!.lastName).toBeNull()
      })
    ))

  it.effect("a dry run counts the merge the real run makes", () =>
    run(
      Effect.gen(function* () {
        const dry = yield* importContacts(bytes(file), { policy: "fillEmpty", dryRun: true })
        const real = yield* importContacts(bytes(file), { policy: "fillEmpty" })
        expect([dry.created, dry.updated, dry.unchanged]).toEqual([real.created, real.updated, real.unchanged])
      })
    ))
})

describe("options and rejected rows", () => {
  it.effect("wrong options fail once, before any row, naming each option", () =>
    run(
      Effect.gen(function* () {
        const file = bytes("email\na@x.fr\nb@x.fr\n")
        const error = yield* Effect.flip(
          importContacts(file, { firstSeenAt: "last spring", policy: "merge" as "skip", onIdentityConflict: "ask" as "skip", tags: [""], currency: "euro", batchSize: 0 })
        )
        expect(error).toBeInstanceOf(Errors.ValidationError)
        const paths = (error as Errors.ValidationError).issues.map((i) => i.path.join("."))
        expect(paths).toEqual(expect.arrayContaining(["firstSeenAt", "policy", "onIdentityConflict", "currency", "batchSize"]))
        expect(paths.some((p) => p.startsWith("tags"))).toBe(true)
        expect((error as Errors.ValidationError).issues.find((i) => i.path[0] === "firstSeenAt")!.message).toContain('"last spring"')
        expect(yield* allContacts).toEqual([])
      })
    ))

  it.effect("a Date and an ISO text are both taken as firstSeenAt", () =>
    run(
      Effect.gen(function* () {
        yield* importContacts(bytes("email\na@x.fr\n"), { firstSeenAt: new Date("2020-05-01T00:00:00Z") })
        yield* importContacts(bytes("email\nb@x.fr\n"), { firstSeenAt: "2021-05-01T00:00:00Z" })
        const all = yield* allContacts
        expect(all.map((c) => DateTime.formatIso(c.firstSeenAt)).sort()).toEqual(["2020-05-01T00:00:00.000Z", "2021-05-01T00:00:00.000Z"])
      })
    ))

  it.effect("a rejected row lists every problem it has, not only the first", () =>
    run(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "size", label: "Size", type: "integer" })
        yield* crm.fields.define({ key: "since", label: "Since", type: "date" })
        const report = yield* importContacts(bytes("email,score,size,since,timezone\nnot-an-email,high,big,31/02/2020,Mars/Olympus\n"))
        expect(report.rejected).toBe(1)
        const reason = report.rejections[0]!.reason
        for (const column of ["email", "score", "size", "since", "timezone"]) expect(reason).toContain(`${column}:`)
      })
    ))
})

describe("the Promise client's errors", () => {
  it("an unreadable file, an unwritable export and a failure while a stream is read are RapportError subclasses with a code", async () => {
    const crm = await createCrm({ storage: { layer: SqliteStorage.memoryLayer } })
    try {
      await crm.contacts.create({ email: "a@x.fr" })
      const unreadable = await importFile(crm, "/no/such/file.csv").catch((e: unknown) => e)
      expect(unreadable).toBeInstanceOf(RapportImportError)
      expect(unreadable).toMatchObject({ code: "IMPORT_UNREADABLE", reason: "unreadable" })
      const dir = mkdtempSync(join(tmpdir(), "rapport-"))
      const unwritable = await exportFile(crm, join(dir, "missing-dir", "out.csv")).catch((e: unknown) => e)
      expect(unwritable).toBeInstanceOf(RapportExportError)
      expect((unwritable as RapportError).code).toMatch(/^EXPORT_/)
      const wrongOption = await importFile(crm, bytes("email\na@x.fr\n"), { policy: "merge" as "skip" }).catch((e: unknown) => e)
      expect(wrongOption).toBeInstanceOf(RapportError)
      expect((wrongOption as RapportError).code).toBe("VALIDATION_FAILED")
    } finally {
      await crm.close()
    }
  })

  it("a storage failure while an export stream is read errors the stream with a RapportStorageError", async () => {
    // A storage whose contact listing fails once the stream reads it (the selection checks pass).
    const failing = Layer.effect(
      Storage.Storage,
      Effect.map(Storage.Storage, (storage) => ({
        ...storage,
        contacts: { ...storage.contacts, list: () => Effect.fail(new Errors.StorageError({ reason: "unavailable", message: "connection lost" })) }
      }))
    ).pipe(Layer.provide(SqliteStorage.memoryLayer))
    const crm = await createCrm({ storage: { layer: failing } })
    try {
      const stream = await exportStream(crm, { format: "csv" })
      const reader = stream.getReader()
      const failure = await (async () => {
        for (;;) {
          const { done } = await reader.read()
          if (done) return undefined
        }
      })().catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(RapportStorageError)
      expect(failure).toMatchObject({ code: "STORAGE_UNAVAILABLE" })
    } finally {
      await crm.close()
    }
  })
})
