// Exports from the CRM: which contacts (ids, a segment, everyone), refused selections, and the
// Promise client's exportFile / exportStream; the workspace's country read by imports.
import { Crm, createCrm, Errors } from "@rapport/core"
import { SqliteStorage, memoryStorage } from "@rapport/sqlite"
import { CrmExport, Export, exportFile, exportStream, importFile } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import ExcelJS from "exceljs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))
const emails = (contacts: ReadonlyArray<{ readonly email: string | null }>) => contacts.map((c) => c.email)

/** Ada (vip, customer, 3 page views), Bob (prospect), Cleo (vip, prospect). */
const seed = Effect.gen(function* () {
  const crm = yield* Crm.Crm
  const ada = yield* crm.contacts.create({ email: "ada@example.com", tags: ["vip"], stage: "customer" })
  const bob = yield* crm.contacts.create({ email: "bob@example.com", stage: "prospect" })
  const cleo = yield* crm.contacts.create({ email: "cleo@example.com", tags: ["vip"], stage: "prospect" })
  for (let i = 0; i < 3; i++) yield* crm.events.emit({ id: `view-${i}`, type: "page.viewed", contactId: ada.id, payload: { url: "/shoes" } })
  return { ada, bob, cleo }
})

const issuesOf = (error: { readonly _tag: string }) => {
  expect(error._tag).toBe("ValidationError")
  return (error as Errors.ValidationError).issues
}

const selected = (selection: CrmExport.Selection) => Effect.flatMap(CrmExport.select(selection), (contacts) => Stream.runCollect(contacts))

describe("CrmExport.select", () => {
  it.effect("ids: those contacts in that order, each once", () =>
    Effect.gen(function* () {
      const { ada, bob, cleo } = yield* seed
      expect(emails([...(yield* selected({ ids: [cleo.id, ada.id, cleo.id] }))])).toEqual(["cleo@example.com", "ada@example.com"])
      expect((yield* selected({})).length).toBe(3)
      expect(emails([...(yield* selected({ ids: [bob.id, cleo.id], where: { path: "contact.tags", op: "contains", value: "vip" } }))])).toEqual(["cleo@example.com"])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("an id that is not a stored contact fails the export, naming its position; a malformed id fails before reading", () =>
    Effect.gen(function* () {
      const { ada, bob } = yield* seed
      yield* Crm.Crm.pipe(Effect.flatMap((crm) => crm.contacts.remove(bob.id)))
      const gone = yield* Effect.flip(selected({ ids: [ada.id, bob.id] }))
      expect(issuesOf(gone)).toEqual([{ path: ["ids", 1], message: `no contact "${bob.id}" in this workspace` }])
      const malformed = yield* Effect.flip(CrmExport.select({ ids: [ada.id, "ct_missing"] }))
      expect(issuesOf(malformed)).toEqual([{ path: ["ids", 1], message: 'must be a contact id (a UUID), got "ct_missing"' }])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("a segment: tags, stage, and counts of past events", () =>
    Effect.gen(function* () {
      yield* seed
      const vips = yield* selected({ where: { path: "contact.tags", op: "contains", value: "vip" } })
      expect(emails([...vips]).sort()).toEqual(["ada@example.com", "cleo@example.com"])
      const prospects = yield* selected({ where: { all: [{ path: "contact.stage", op: "eq", value: "prospect" }, { not: { path: "contact.tags", op: "contains", value: "vip" } }] } })
      expect(emails([...prospects])).toEqual(["bob@example.com"])
      const keen = yield* selected({ where: { count: { event: "page.viewed", within: "30 days" }, op: "gte", value: 3 } })
      expect(emails([...keen])).toEqual(["ada@example.com"])
    }).pipe(Effect.provide(TestCrm)))

  it.effect("a segment that cannot be evaluated is refused before anything is read: event paths, unknown fields and stages, a bad shape", () =>
    Effect.gen(function* () {
      yield* seed
      const refused = (where: unknown) => Effect.flip(selected({ where: where as never }))
      expect(issuesOf(yield* refused({ path: "event.type", op: "eq", value: "x" }))[0]!.path[0]).toBe("where")
      expect(issuesOf(yield* refused({ path: "contact.fields.nope", op: "exists" }))[0]!.message).toMatch(/nope/)
      expect(issuesOf(yield* refused({ path: "contact.stage", op: "eq", value: "emperor" }))[0]!.message).toMatch(/emperor/)
      expect(issuesOf(yield* refused({ path: "contact.tags", op: "resembles", value: 1 })).length).toBeGreaterThan(0)
      expect(issuesOf(yield* Effect.flip(CrmExport.prepare({ format: "pdf" as never })))).toEqual([{ path: ["format"], message: 'must be "csv" or "xlsx" (got "pdf")' }])
    }).pipe(Effect.provide(TestCrm)))
})

describe("CrmExport.exportContacts", () => {
  it.effect("the company's name and the fields' labels head their columns", () =>
    Effect.gen(function* () {
      const crm = yield* Crm.Crm
      yield* crm.fields.define({ key: "budget", label: "Budget", type: "money" })
      const company = yield* crm.companies.create({ name: "Martin & Fils" })
      yield* crm.contacts.create({ email: "ada@example.com", companyId: company.id, fields: { budget: { amountMinor: 123450, currency: "EUR" } } })
      const text = (yield* Export.toBuffer(CrmExport.exportContacts({ format: "csv" }))).toString("utf8")
      const [header, row] = text.replace(/^\uFEFF/, "").split("\r\n")
      expect(header!.split(",")).toContain("company")
      expect(header!.split(",")).toContain("Budget")
      expect(row).toContain("Martin & Fils")
      expect(row).toContain("1234.50 EUR")
    }).pipe(Effect.provide(TestCrm)))
})

describe("the Promise client", () => {
  it("exportFile writes CSV or XLSX by extension; exportStream gives a web stream; both refuse a bad segment", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    try {
      await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", tags: ["vip"] })
      await crm.contacts.create({ email: "bob@example.com", firstName: "Bob" })
      const dir = mkdtempSync(join(tmpdir(), "rapport-export-"))
      await exportFile(crm, join(dir, "vip.csv"), { where: { path: "contact.tags", op: "contains", value: "vip" } })
      const csv = readFileSync(join(dir, "vip.csv"), "utf8")
      expect(csv.startsWith("\uFEFF")).toBe(true)
      expect(csv).toContain("ada@example.com")
      expect(csv).not.toContain("bob@example.com")

      await exportFile(crm, join(dir, "all.xlsx"))
      const book = new ExcelJS.Workbook()
      await book.xlsx.readFile(join(dir, "all.xlsx"))
      expect(book.worksheets[0]!.rowCount).toBe(3)

      const stream = await exportStream(crm, { format: "csv" })
      const text = await new Response(stream).text()
      expect(text.split("\r\n").filter((line) => line.length > 0)).toHaveLength(3)

      await expect(exportFile(crm, join(dir, "bad.csv"), { where: { path: "event.type", op: "eq", value: "x" } })).rejects.toMatchObject({ code: "VALIDATION_FAILED" })
      await expect(exportStream(crm, { format: "csv", ids: ["ct_missing"] }).then((s) => new Response(s).text())).rejects.toThrow(/ct_missing/)
    } finally {
      await crm.close()
    }
  })

  it("importFile reads national phone numbers with the workspace's country unless the import names one", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    try {
      await crm.settings.update({ country: "FR" })
      const dir = mkdtempSync(join(tmpdir(), "rapport-import-"))
      writeFileSync(join(dir, "salon.csv"), "email;téléphone\nada@example.com;06 39 98 12 34\n")
      const report = await importFile(crm, join(dir, "salon.csv"))
      expect(report.created).toBe(1)
      expect((await crm.contacts.findByEmail("ada@example.com"))?.phone).toBe("+33639981234")

      writeFileSync(join(dir, "uk.csv"), "email;phone\nbob@example.com;07911 123456\n")
      await importFile(crm, join(dir, "uk.csv"), { country: "GB" })
      expect((await crm.contacts.findByEmail("bob@example.com"))?.phone).toBe("+447911123456")
    } finally {
      await crm.close()
    }
  })
})
