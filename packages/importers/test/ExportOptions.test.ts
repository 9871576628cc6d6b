// Export options for files meant for another tool: phones and signed numbers written as they are
// (the strict formula neutralisation stays the default), and decimal commas with `;`.
import { describe, expect, it } from "@effect/vitest"
import type { ContactJson } from "@rapport/core"
import { parse } from "csv-parse/sync"
import * as Effect from "effect/Effect"
import ExcelJS from "exceljs"
import * as Export from "../src/Export.js"

const contact = (patch: Partial<ContactJson> = {}): ContactJson => ({
  id: "00000000-0000-4000-8000-000000000001",
  workspaceId: "w1",
  email: "ada@example.com",
  firstName: "Ada",
  lastName: "=HYPERLINK(\"http://evil.example\")",
  phone: "+33 6 39 98 12 34",
  emails: [],
  phones: [],
  companyId: null,
  source: { channel: "trade-show", campaign: "-2+3" },
  firstSeenAt: "2025-03-14T09:30:00.000Z",
  stage: "lead",
  tags: [],
  ownerId: null,
  score: 12,
  timezone: null,
  fields: { balance: "-12.50", fax: "+1 (617) 555-0101", ratio: 12.5, budget: { amountMinor: 123450, currency: "EUR" } },
  version: 1,
  createdAt: "2025-03-15T10:00:00.000Z",
  updatedAt: "2025-03-15T10:00:00.000Z",
  ...patch
})

const fields = [
  { key: "balance", label: "Balance", type: "text" },
  { key: "fax", label: "Fax", type: "phone" },
  { key: "ratio", label: "Ratio", type: "number" },
  { key: "budget", label: "Budget", type: "money" }
] as const
const rows = (buffer: Buffer, delimiter = ",") => parse(buffer, { bom: true, columns: true, delimiter }) as Array<Record<string, string>>

describe("Export: neutralize", () => {
  it.effect("strict by default: a phone gets the quote; exceptNumbers writes phones and signed numbers as they are, and still quotes formulas", () =>
    Effect.gen(function* () {
      const strict = rows(yield* Export.toBuffer(Export.toCsv([contact()], { fields })))[0]!
      expect([strict["phone"], strict["Balance"], strict["Fax"]]).toEqual(["'+33 6 39 98 12 34", "'-12.50", "'+1 (617) 555-0101"])
      const relaxed = rows(yield* Export.toBuffer(Export.toCsv([contact()], { fields, neutralize: "exceptNumbers" })))[0]!
      expect([relaxed["phone"], relaxed["Balance"], relaxed["Fax"]]).toEqual(["+33 6 39 98 12 34", "-12.50", "+1 (617) 555-0101"])
      // A formula, or a sign followed by anything but digits and separators, is still quoted.
      expect([relaxed["lastName"], relaxed["source.campaign"]]).toEqual(["'=HYPERLINK(\"http://evil.example\")", "'-2+3"])
    }))

  it.effect("exceptNumbers applies to XLSX cells too", () =>
    Effect.gen(function* () {
      const buffer = yield* Export.toBuffer(Export.toXlsx([contact()], { fields, neutralize: "exceptNumbers" }))
      const workbook = new ExcelJS.Workbook()
      yield* Effect.promise(() => workbook.xlsx.load(buffer as unknown as ExcelJS.Buffer))
      const sheet = workbook.worksheets[0]!
      const header = (sheet.getRow(1).values as Array<unknown>).map(String)
      const cell = (name: string) => sheet.getRow(2).getCell(header.indexOf(name)).value
      expect([cell("phone"), cell("lastName")]).toEqual(["+33 6 39 98 12 34", "'=HYPERLINK(\"http://evil.example\")"])
    }))

  it.effect("an unknown neutralize value fails with ExportError options", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Export.toBuffer(Export.toCsv([contact()], { neutralize: "none" as "all" })))
      expect(error).toMatchObject({ _tag: "ExportError", reason: "options" })
    }))
})

describe("Export: delimiter ;", () => {
  it.effect("writes decimal commas in numbers and amounts; a comma delimiter keeps dots", () =>
    Effect.gen(function* () {
      const semicolon = rows(yield* Export.toBuffer(Export.toCsv([contact()], { fields, delimiter: ";" })), ";")[0]!
      expect([semicolon["Ratio"], semicolon["Budget"], semicolon["score"]]).toEqual(["12,5", "1234,50 EUR", "12"])
      const comma = rows(yield* Export.toBuffer(Export.toCsv([contact()], { fields })))[0]!
      expect([comma["Ratio"], comma["Budget"]]).toEqual(["12.5", "1234.50 EUR"])
    }))
})
