import { describe, expect, it } from "@effect/vitest"
import { Contact, type ContactJson, Ids } from "@rapport/core"
import { Fixtures } from "@rapport/testing"
import { parse } from "csv-parse/sync"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import ExcelJS from "exceljs"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Export from "../src/Export.js"
import * as Source from "../src/Source.js"
import * as Xlsx from "../src/Xlsx.js"

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

const contact = (n: number, patch: Partial<ContactJson> = {}): ContactJson => ({
  id: uuid(n),
  workspaceId: "w1",
  email: `user${n}@example.com`,
  firstName: "Zoé",
  lastName: "Lefèvre",
  phone: "06 39 98 12 34",
  emails: [],
  phones: [],
  companyId: null,
  source: { channel: "trade-show", campaign: "Salon 2025" },
  firstSeenAt: "2025-03-14T09:30:00.000Z",
  stage: "lead",
  tags: ["vip", "salon"],
  ownerId: null,
  score: 12,
  timezone: null,
  fields: {},
  version: 1,
  createdAt: "2025-03-15T10:00:00.000Z",
  updatedAt: "2025-03-15T10:00:00.000Z",
  ...patch
})

const csvOf = <E>(stream: Stream.Stream<Uint8Array, E>) => Effect.map(Export.toBuffer(stream), (b) => b)
const parseCsv = (buffer: Buffer, delimiter = ","): ReadonlyArray<Record<string, string>> => parse(buffer, { bom: true, columns: true, delimiter, record_delimiter: "\r\n" })

const workbookOf = (buffer: Buffer) =>
  Effect.promise(async () => {
    const workbook = new ExcelJS.Workbook()
    // exceljs's typings want its own Buffer type; a Node Buffer is what it reads.
    await workbook.xlsx.load(buffer as unknown as ExcelJS.Buffer)
    return workbook
  })

const cellsOf = (sheet: ExcelJS.Worksheet): Array<Array<ExcelJS.Cell>> => {
  const rows: Array<Array<ExcelJS.Cell>> = []
  sheet.eachRow({ includeEmpty: false }, (row) => {
    const cells: Array<ExcelJS.Cell> = []
    row.eachCell({ includeEmpty: true }, (cell) => void cells.push(cell))
    rows.push(cells)
  })
  return rows
}

const hostile = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tindented", "\rreturn", "＝1+1"]

describe("Export.neutralize", () => {
  it("prefixes text a spreadsheet would run with a single quote, and nothing else", () => {
    for (const text of hostile) expect(Export.neutralize(text)).toBe(`'${text}`)
    for (const text of ["Ada", "ada@example.com", "06 39 98 12 34", "", " =not at the start", "'already quoted", "1-2", "'"]) {
      expect(Export.neutralize(text)).toBe(text)
    }
    expect(Export.neutralize("+33 6 39 98 12 34")).toBe("'+33 6 39 98 12 34")
    // Quoted already: one more quote, which an import removes.
    expect(Export.neutralize("'=1+1")).toBe("''=1+1")
  })
})

describe("Export.toCsv", () => {
  it.effect("UTF-8 with a BOM and CRLF; accents, quotes, delimiters and line breaks round-trip through csv-parse", () =>
    Effect.gen(function* () {
      const tricky = contact(2, { firstName: 'Jean "Jojo", fils', lastName: "Müller\r\nde la Tour", tags: [] })
      const buffer = yield* csvOf(Export.toCsv([contact(1), tricky]))
      expect([...buffer.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      const text = buffer.toString("utf8")
      expect(text.split("\r\n")[0]).toBe(
        "\ufeffemail,firstName,lastName,phone,companyId,stage,tags,ownerId,score,timezone,source.channel,source.campaign,firstSeenAt,createdAt"
      )
      expect(text.endsWith("\r\n")).toBe(true)
      expect(text).toContain('"Jean ""Jojo"", fils"')
      const rows = parseCsv(buffer)
      expect(rows).toEqual([
        {
          email: "user1@example.com",
          firstName: "Zoé",
          lastName: "Lefèvre",
          phone: "06 39 98 12 34",
          companyId: "",
          stage: "lead",
          tags: "vip, salon",
          ownerId: "",
          score: "12",
          timezone: "",
          "source.channel": "trade-show",
          "source.campaign": "Salon 2025",
          firstSeenAt: "2025-03-14T09:30:00.000Z",
          createdAt: "2025-03-15T10:00:00.000Z"
        },
        expect.objectContaining({ firstName: 'Jean "Jojo", fils', lastName: "Müller\r\nde la Tour", tags: "" })
      ])
    }))

  it.effect("values starting with = + - @ tab or CR are neutralised, headers included", () =>
    Effect.gen(function* () {
      const contacts = hostile.map((text, i) => contact(i, { firstName: text, tags: [text], fields: { note: text } }))
      const buffer = yield* csvOf(
        Export.toCsv(contacts, {
          columns: ["firstName", "tags", "fields.note", { header: "=HEADER()", value: (c) => c.firstName }, "score"]
        })
      )
      const rows = parse(buffer, { bom: true, record_delimiter: "\r\n" }) as Array<Array<string>>
      expect(rows[0]).toEqual(["firstName", "tags", "fields.note", "'=HEADER()", "score"])
      rows.slice(1).forEach((row, i) => {
        expect(row.slice(0, 4)).toEqual([`'${hostile[i]}`, `'${hostile[i]}`, `'${hostile[i]}`, `'${hostile[i]}`])
      })
      // A negative number is a number, not a formula: it is written as is.
      const negative = parseCsv(yield* csvOf(Export.toCsv([contact(1, { score: -5 })], { columns: ["score"] })))
      expect(negative).toEqual([{ score: "-5" }])
    }))

  it.effect("custom fields: one column per key found, or typed columns from field definitions", () =>
    Effect.gen(function* () {
      const contacts = [
        contact(1, { fields: { siret: "12345678901234", budget: { amountMinor: 123450, currency: "EUR" } } }),
        contact(2, { fields: { interests: ["wine", "cheese"], birthday: "1990-05-03", budget: { amountMinor: -500, currency: "JPY" } } })
      ]
      const found = parseCsv(yield* csvOf(Export.toCsv(contacts)))
      expect(Object.keys(found[0]!).slice(14)).toEqual(["fields.siret", "fields.budget", "fields.interests", "fields.birthday"])
      expect(found.map((r) => [r["fields.siret"], r["fields.budget"], r["fields.interests"], r["fields.birthday"]])).toEqual([
        ["12345678901234", "1234.50 EUR", "", ""],
        ["", "-500 JPY", "wine, cheese", "1990-05-03"]
      ])

      const fields: ReadonlyArray<Export.FieldInfo> = [
        { key: "interests", label: "Centres d'intérêt", type: "multiSelect", options: [{ value: "wine", label: "Vin" }, { value: "cheese", label: "Fromage" }] },
        { key: "birthday", label: "Anniversaire", type: "date" },
        { key: "budget", label: "Budget", type: "money" }
      ]
      const typed = parseCsv(yield* csvOf(Export.toCsv(contacts, { fields })))
      expect(Object.keys(typed[0]!).slice(14)).toEqual(["Centres d'intérêt", "Anniversaire", "Budget"])
      expect(typed[1]).toMatchObject({ "Centres d'intérêt": "Vin, Fromage", Anniversaire: "1990-05-03", Budget: "-500 JPY" })
    }))

  it.effect("columns chosen by the caller, with their own headers; ';' for French Excel", () =>
    Effect.gen(function* () {
      const buffer = yield* csvOf(
        Export.toCsv([contact(1, { fields: { siret: "123" } })], {
          delimiter: ";",
          columns: [
            Export.column("lastName", "Nom"),
            Export.column("email", "E-mail"),
            Export.column("fields.siret", "SIRET"),
            { header: "Nom complet", value: (c) => `${c.firstName} ${c.lastName}` }
          ]
        })
      )
      expect(buffer.toString("utf8")).toBe("\ufeffNom;E-mail;SIRET;Nom complet\r\nLefèvre;user1@example.com;123;Zoé Lefèvre\r\n")
    }))

  it.effect("an unknown column key or a throwing column fails with ExportError options", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Export.toBuffer(Export.toCsv([contact(1)], { columns: ["nickname" as Export.ColumnKey] })))
      expect(error).toBeInstanceOf(Export.ExportError)
      expect(error.reason).toBe("options")
      expect(error.message).toContain('Unknown export column "nickname"')
      const throwing: Export.Column = {
        header: "Broken",
        value: () => {
          throw new Error("no such thing")
        }
      }
      const thrown = yield* Effect.flip(Export.toBuffer(Export.toCsv([contact(1)], { columns: [throwing] })))
      expect(thrown).toMatchObject({ reason: "options", message: `Column "Broken" failed on contact ${uuid(1)}: no such thing` })
    }))

  it.effect("no contacts: a header row only", () =>
    Effect.gen(function* () {
      const buffer = yield* csvOf(Export.toCsv([], { columns: ["email", "phone"] }))
      expect(buffer.toString("utf8")).toBe("\ufeffemail,phone\r\n")
    }))

  it.effect("reads async iterables, Effect streams and Contact entities; a failing source fails the export", () =>
    Effect.gen(function* () {
      async function* pages() {
        yield contact(1)
        yield contact(2)
      }
      expect(parseCsv(yield* csvOf(Export.toCsv(pages()))).length).toBe(2)

      const entity = Schema.decodeSync(Contact.Contact)(contact(3))
      expect(parseCsv(yield* csvOf(Export.toCsv(Stream.make(entity))))[0]).toMatchObject({ email: "user3@example.com", createdAt: "2025-03-15T10:00:00.000Z" })

      class Boom extends Error {}
      const typed = yield* Effect.flip(Export.toBuffer(Export.toCsv(Stream.concat(Stream.make(contact(1)), Stream.fail(new Boom("db down"))))))
      expect(typed).toBeInstanceOf(Boom)

      function* throwing() {
        yield contact(1)
        throw new Error("cursor closed")
      }
      const thrown = yield* Effect.flip(Export.toBuffer(Export.toCsv(throwing())))
      expect(thrown).toMatchObject({ _tag: "ExportError", reason: "source", message: "Cannot read the contacts to export: cursor closed" })
    }))

  it.effect("streams 100,000 contacts: bytes flow before the contacts are all read", () =>
    Effect.gen(function* () {
      const total = 100_000
      let pulled = 0
      function* many() {
        for (let i = 0; i < total; i++) {
          pulled++
          yield contact(i, { fields: { n: i } })
        }
      }
      let pulledAtFirstBytes = -1
      let rows = 0
      yield* Export.toCsv(many()).pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            if (pulledAtFirstBytes < 0) pulledAtFirstBytes = pulled
            for (const byte of chunk) if (byte === 0x0a) rows++
          })
        )
      )
      expect(pulledAtFirstBytes).toBeLessThan(2_000)
      expect(rows).toBe(total + 1)
    }), 60_000)

  it.effect("toFile writes the file; a failed export leaves no file behind", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "rapport-export-"))
      const path = join(dir, "contacts.csv")
      yield* Export.toCsv([contact(1)]).pipe(Export.toFile(path))
      expect(parseCsv(readFileSync(path))[0]?.email).toBe("user1@example.com")

      const broken = join(dir, "broken.csv")
      const failing = Stream.concat(Stream.make(contact(1)), Stream.fail("db down" as const))
      expect(yield* Effect.flip(Export.toFile(Export.toCsv(failing), broken))).toBe("db down")
      expect(existsSync(broken)).toBe(false)
      expect(existsSync(`${broken}.part`)).toBe(false)
    }))
})

describe("Export.toXlsx", () => {
  it.effect("a bold header, real dates, numbers and money as numbers, no formula anywhere", () =>
    Effect.gen(function* () {
      const contacts = [
        contact(1, { fields: { budget: { amountMinor: 123450, currency: "EUR" }, birthday: "1990-05-03", vip: true } }),
        ...hostile.map((text, i) => contact(10 + i, { firstName: text, lastName: text, tags: [text], fields: { note: text } }))
      ]
      const fields: ReadonlyArray<Export.FieldInfo> = [
        { key: "budget", label: "Budget", type: "money" },
        { key: "birthday", label: "Birthday", type: "date" },
        { key: "vip", label: "VIP", type: "boolean" },
        { key: "note", label: "Note", type: "text" }
      ]
      const buffer = yield* Export.toBuffer(Export.toXlsx(contacts, { fields, sheetName: "Export" }))
      const workbook = yield* workbookOf(buffer)
      const sheet = workbook.getWorksheet("Export")!
      const rows = cellsOf(sheet)
      expect(rows.length).toBe(contacts.length + 1)
      for (const row of rows) {
        for (const cell of row) {
          expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)
          expect(cell.formula).toBeUndefined()
        }
      }
      const header = rows[0]!
      expect(header.map((c) => c.value)).toEqual([...Export.defaultColumns().map((c) => c.header), "Budget", "Birthday", "VIP", "Note"])
      expect(header.every((c) => c.font?.bold === true)).toBe(true)

      const first = Object.fromEntries(header.map((h, i) => [String(h.value), rows[1]![i]!]))
      expect(first["firstSeenAt"]!.value).toEqual(new Date("2025-03-14T09:30:00.000Z"))
      expect(first["firstSeenAt"]!.numFmt).toBe("yyyy-mm-dd hh:mm:ss")
      expect(first["Birthday"]!.value).toEqual(new Date("1990-05-03T00:00:00.000Z"))
      expect(first["Birthday"]!.numFmt).toBe("yyyy-mm-dd")
      expect(first["score"]!.value).toBe(12)
      expect(first["Budget"]!.value).toBe(1234.5)
      expect(first["Budget"]!.numFmt).toBe('#,##0.00 "EUR"')
      expect(first["VIP"]!.value).toBe(true)
      expect(first["tags"]!.value).toBe("vip, salon")

      rows.slice(2).forEach((row, i) => {
        const byHeader = Object.fromEntries(header.map((h, j) => [String(h.value), row[j]!.value]))
        // A carriage return is written as Excel writes line breaks in a cell, LF, which no
        // spreadsheet reads as the start of a formula: a leading CR needs no quote once it is LF.
        const written = hostile[i]!.replace(/\r/g, "\n")
        for (const key of ["firstName", "lastName", "tags", "Note"]) expect(byHeader[key]).toBe(written.startsWith("\n") ? written : `'${written}`)
      })
    }))

  it.effect("columns chosen by the caller", () =>
    Effect.gen(function* () {
      const buffer = yield* Export.toBuffer(
        Export.toXlsx([contact(1)], {
          columns: [Export.column("email", "E-mail"), { header: "Since", value: (c) => DateTime.unsafeMake(c.createdAt), kind: "datetime" }]
        })
      )
      const rows = cellsOf((yield* workbookOf(buffer)).worksheets[0]!)
      expect(rows.map((r) => r.map((c) => c.value))).toEqual([
        ["E-mail", "Since"],
        ["user1@example.com", new Date("2025-03-15T10:00:00.000Z")]
      ])
    }))

  it.effect(
    "100,000 contacts stream out as they are read, and read back whole with Xlsx.open",
    () =>
      Effect.gen(function* () {
        const total = 100_000
        let pulled = 0
        let pulledAtFirstBytes = -1
        const contacts = Stream.fromIterable({
          *[Symbol.iterator]() {
            for (let i = 0; i < total; i++) {
              pulled++
              yield contact(i, { phone: `06${String(i).padStart(8, "0")}` })
            }
          }
        })
        const chunks: Array<Uint8Array> = []
        yield* Export.toXlsx(contacts).pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              if (pulledAtFirstBytes < 0) pulledAtFirstBytes = pulled
              chunks.push(chunk)
            })
          )
        )
        // exceljs hands its sheet over in 64 KB blocks: a few thousand rows, far from all of them.
        expect(pulledAtFirstBytes).toBeLessThan(20_000)
        const opened = yield* Effect.flatMap(Source.open(Buffer.concat(chunks)), (bytes) => Xlsx.open(bytes))
        expect(opened.details).toEqual({ sheet: "Contacts", headerLine: 1 })
        const last = yield* Stream.runFold(opened.records, { n: 0, phone: null as unknown }, (acc, r) => ({ n: acc.n + 1, phone: r.values["phone"] }))
        expect(last).toEqual({ n: total, phone: `06${String(total - 1).padStart(8, "0")}` })
      }),
    120_000
  )

  it.effect("no contacts: a header row only; a name Excel refuses for a sheet fails with ExportError options", () =>
    Effect.gen(function* () {
      const rows = cellsOf((yield* workbookOf(yield* Export.toBuffer(Export.toXlsx([], { columns: ["email"] })))).worksheets[0]!)
      expect(rows.map((r) => r.map((c) => c.value))).toEqual([["email"]])
      const error = yield* Effect.flip(Export.toBuffer(Export.toXlsx([contact(1)], { sheetName: "a/b" })))
      expect(error).toMatchObject({ _tag: "ExportError", reason: "options", message: expect.stringContaining('"a/b" cannot name a sheet') })
    }))

  it.effect("a failing source fails the export with its own error", () =>
    Effect.gen(function* () {
      const failing = Stream.concat(Stream.make(contact(1)), Stream.fail("db down" as const))
      expect(yield* Effect.flip(Export.toBuffer(Export.toXlsx(failing)))).toBe("db down")
      const chunks = yield* Stream.runCollect(Export.toXlsx(Stream.make(contact(1))).pipe(Stream.take(1)))
      expect(Chunk.size(chunks)).toBe(1)
    }))
})

describe("Export.column", () => {
  it("knows the contact's attributes and custom fields, and refuses other keys", () => {
    expect(Export.column("source.campaign", "Campagne").value(contact(1))).toBe("Salon 2025")
    expect(Export.column("fields.siret").value(contact(1, { fields: { siret: "1" } }))).toBe("1")
    expect(Export.column("fields.constructor").value(contact(1))).toBeUndefined()
    expect(() => Export.column("nickname" as Export.ColumnKey)).toThrow(TypeError)
    expect(Export.fieldColumn({ key: "k", type: "date" }).kind).toBe("date")
  })

  it("the FieldDefinition entity fits FieldInfo", () => {
    const definition = Fixtures.fieldDefinition(Ids.WorkspaceId.make("w"), "interests", {
      label: "Interests",
      type: "multiSelect",
      options: [{ value: "wine", label: "Wine" }]
    })
    expect(Export.fieldColumn(definition).value(contact(1, { fields: { interests: ["wine"] } }))).toEqual(["Wine"])
  })
})
