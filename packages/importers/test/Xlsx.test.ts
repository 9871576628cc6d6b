import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import ExcelJS from "exceljs"
import { randomBytes } from "node:crypto"
import { PassThrough, Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { workbookReader } from "../src/internal/workbookReader.js"
import { ImportError, type Opened, type SourceRecord } from "../src/Records.js"
import * as Source from "../src/Source.js"
import * as Xlsx from "../src/Xlsx.js"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/xlsx/${name}`, import.meta.url))

const build = async (
  fill: (workbook: ExcelJS.Workbook) => void,
  compression: "DEFLATE" | "STORE" = "DEFLATE"
): Promise<Uint8Array> => {
  const workbook = new ExcelJS.Workbook()
  fill(workbook)
  return new Uint8Array(await workbook.xlsx.writeBuffer({ zip: { compression } }))
}

const open = (input: Source.Input, options?: Xlsx.Options) => Effect.flatMap(Source.open(input), (bytes) => Xlsx.open(bytes, options))

const records = (opened: Opened) => Effect.map(Stream.runCollect(opened.records), Chunk.toReadonlyArray)

const read = (input: Source.Input, options?: Xlsx.Options) =>
  Effect.flatMap(open(input, options), (opened) => Effect.map(records(opened), (rows) => ({ opened, rows })))

const failure = (input: Source.Input, options?: Xlsx.Options) =>
  Effect.flip(Effect.flatMap(open(input, options), records))

const values = (rows: ReadonlyArray<SourceRecord>) => rows.map((r) => r.values)

// A salon export as people make them: a merged title row, a header, a blank row, typed cells.
const salon = () =>
  build((workbook) => {
    const sheet = workbook.addWorksheet("Contacts")
    sheet.mergeCells("A1:F1")
    sheet.getCell("A1").value = "Contacts — salon 2025"
    sheet.addRow(["Email", "Nom", "Téléphone", "Code postal", "Inscrit le", "Score"])
    sheet.addRow(["ada@example.com", "Lovelace", 639981234, 1000, new Date(Date.UTC(2025, 2, 14)), 42])
    sheet.getCell("C3").numFmt = "0000000000"
    sheet.getCell("D3").numFmt = "00000"
    sheet.getCell("E3").numFmt = "dd/mm/yyyy"
    sheet.addRow([])
    sheet.addRow(["grace@example.com", "Hopper", 612345678, 75011, new Date(Date.UTC(2025, 2, 15)), 7])
    sheet.getCell("C5").numFmt = "00 00 00 00 00"
    sheet.getCell("E5").numFmt = "dd/mm/yyyy"
  })

describe("Xlsx.open", () => {
  it.effect("skips a merged title row above the header and gives Excel row numbers as lines", () =>
    Effect.gen(function* () {
      const { opened, rows } = yield* read(yield* Effect.promise(salon))
      expect(opened.format).toBe("xlsx")
      expect(opened.details).toEqual({ sheet: "Contacts", headerLine: 2 })
      expect(opened.headers).toEqual(["Email", "Nom", "Téléphone", "Code postal", "Inscrit le", "Score"])
      expect(rows.map((r) => r.line)).toEqual([3, 5])
      expect(values(rows)[0]).toEqual({
        Email: "ada@example.com",
        Nom: "Lovelace",
        Téléphone: "0639981234",
        "Code postal": "01000",
        "Inscrit le": new Date("2025-03-14T00:00:00.000Z"),
        Score: 42
      })
      expect(values(rows)[1]?.["Téléphone"]).toBe("0612345678")
    }))

  it.effect("reads a workbook from a file path (committed fixture)", () =>
    Effect.gen(function* () {
      const { opened, rows } = yield* read(fixture("salon-2025.xlsx"))
      expect(opened.details.headerLine).toBe(2)
      expect(rows.length).toBe(2)
      expect(rows[0]?.values["Code postal"]).toBe("01000")
    }))

  it.effect("dates: date-formatted cells and date-formatted formula results become Dates; other numbers stay numbers", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("Dates")
          sheet.addRow(["Email", "Born", "Next call", "Amount"])
          sheet.addRow(["a@example.com", new Date(Date.UTC(1990, 4, 3, 14, 30)), { formula: "B2+30", result: 45000 }, 1234.5])
          sheet.getCell("B2").numFmt = "yyyy-mm-dd hh:mm"
          sheet.getCell("C2").numFmt = "[$-409]d-mmm-yy;@"
          sheet.getCell("D2").numFmt = '#,##0.00 "€"'
        })
      )
      const { rows } = yield* read(file)
      expect(rows[0]?.values).toEqual({
        Email: "a@example.com",
        Born: new Date("1990-05-03T14:30:00.000Z"),
        "Next call": new Date("2023-03-15T00:00:00.000Z"),
        Amount: 1234.5
      })
    }))

  it.effect("phones stored as numbers: zero-padded format, scientific display, or just a phone column", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("Phones")
          sheet.addRow(["Name", "Mobile", "Fax", "SIRET", "Customer id", "Ref"])
          // 0639981234 typed into Excel: stored as 639981234, format "0000000000" brings the 0 back.
          sheet.addRow(["padded", 639981234, null, 12345678901234, 639981234, 639981234])
          sheet.getCell("B2").numFmt = "0000000000"
          // The same number in General format in a narrow column: Excel shows 6.39981234E+8.
          sheet.addRow(["scientific", 639981234, 33612345678, 12345678901234, 1e21, 5])
          sheet.getCell("B3").numFmt = "0.00E+00"
          // A CSV pasted into Excel leaves the scientific text itself.
          sheet.addRow(["pasted text", "6.39981234E+8", "+33 1 23 45 67 89", "12345678901234", 12, { formula: "A1", result: 7 }])
          sheet.getCell("F4").numFmt = "@"
        })
      )
      const { rows } = yield* read(file)
      expect(values(rows)).toEqual([
        { Name: "padded", Mobile: "0639981234", Fax: null, SIRET: "12345678901234", "Customer id": 639981234, Ref: 639981234 },
        { Name: "scientific", Mobile: "639981234", Fax: "33612345678", SIRET: "12345678901234", "Customer id": 1e21, Ref: 5 },
        { Name: "pasted text", Mobile: "639981234", Fax: "+33 1 23 45 67 89", SIRET: "12345678901234", "Customer id": 12, Ref: "7" }
      ])
      for (const row of values(rows)) {
        for (const cell of Object.values(row)) if (typeof cell === "string") expect(cell).not.toMatch(/e\+?\d/i)
      }
    }))

  it.effect("postcodes: zero-padded '00000' cells, text-formatted cells and postcode columns", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("Postcodes")
          sheet.addRow(["Ville", "CP", "Zip code", "Département"])
          sheet.addRow(["Bourg-en-Bresse", 1000, 2134, 1])
          sheet.getCell("B2").numFmt = "00000"
          sheet.getCell("C2").numFmt = "@"
          sheet.getCell("D2").numFmt = "00"
          sheet.addRow(["Paris", 75011, "01000", 75])
        })
      )
      const { rows } = yield* read(file)
      expect(values(rows)).toEqual([
        { Ville: "Bourg-en-Bresse", CP: "01000", "Zip code": "2134", Département: "01" },
        { Ville: "Paris", CP: "75011", "Zip code": "01000", Département: 75 }
      ])
    }))

  it.effect("cells: formulas give their cached result, rich text and links their text, booleans stay, #N/A is empty", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("Cells")
          sheet.addRow(["Formula", "Text formula", "Rich", "Site", "Opt-in", "Error", "Multi-line"])
          sheet.addRow([
            { formula: "1+1", result: 2 },
            { formula: 'CONCAT("a","b")', result: "ab" },
            { richText: [{ text: "Ada " }, { font: { bold: true }, text: "Lovelace" }] },
            { text: "our site", hyperlink: "https://example.com" },
            true,
            { error: "#N/A" },
            "12 rue Roche_x000D_\n75011 Paris"
          ])
          sheet.addRow([{ formula: "NA()", result: { error: "#N/A" } }, null, null, null, false, null, "x"])
        })
      )
      const { rows } = yield* read(file)
      expect(values(rows)).toEqual([
        {
          Formula: 2,
          "Text formula": "ab",
          Rich: "Ada Lovelace",
          Site: "our site",
          "Opt-in": true,
          Error: null,
          "Multi-line": "12 rue Roche\r\n75011 Paris"
        },
        { Formula: null, "Text formula": null, Rich: null, Site: null, "Opt-in": false, Error: null, "Multi-line": "x" }
      ])
    }))

  describe("sheets", () => {
    const twoSheets = () =>
      build((workbook) => {
        workbook.addWorksheet("Notes").addRow(["This export was made on 12/03/2025"])
        const leads = workbook.addWorksheet("Leads")
        leads.addRow(["Email", "Company"])
        leads.addRow(["lin@example.com", "Acme"])
        workbook.addWorksheet("Archive", { state: "hidden" }).addRow(["Email", "Company"])
      })

    it.effect("a second sheet chosen by name (any case) or by position", () =>
      Effect.gen(function* () {
        const file = yield* Effect.promise(twoSheets)
        for (const sheet of ["Leads", "leads", 2] as const) {
          const { opened, rows } = yield* read(file, { sheet })
          expect(opened.details.sheet).toBe("Leads")
          expect(values(rows)).toEqual([{ Email: "lin@example.com", Company: "Acme" }])
        }
      }))

    it.effect("the first visible sheet by default", () =>
      Effect.gen(function* () {
        // "Notes" comes first: its one line is taken as a header with nothing below.
        const notes = yield* failure(yield* Effect.promise(twoSheets))
        expect(notes.message).toBe('Sheet "Notes" has a header (row 1) but no rows below it')
        const hiddenFirst = yield* Effect.promise(() =>
          build((workbook) => {
            workbook.addWorksheet("Archive", { state: "hidden" }).addRow(["Old", "Data"])
            const leads = workbook.addWorksheet("Leads")
            leads.addRow(["Email", "Company"])
            leads.addRow(["lin@example.com", "Acme"])
          })
        )
        const { opened } = yield* read(hiddenFirst)
        expect(opened.details.sheet).toBe("Leads")
      }))

    // Uncompressed parts are unzipped at once, while the first sheets are still being put aside
    // in temporary files: exceljs's own archive walk stopped at the unzipper's early 'end' and
    // lost every later part (xl/workbook.xml among them), on every read (exceljs#3064). With
    // compressed parts the same loss came and went with the machine's load.
    it.effect("a workbook with uncompressed parts loses none of them", () =>
      Effect.gen(function* () {
        const stored = yield* Effect.promise(() =>
          build((workbook) => {
            workbook.addWorksheet("Notes").addRow(["This export was made on 12/03/2025"])
            const leads = workbook.addWorksheet("Leads")
            leads.addRow(["Email", "Company"])
            leads.addRow(["lin@example.com", "Acme"])
            workbook.addWorksheet("Archive", { state: "hidden" }).addRow(["Email", "Company"])
          }, "STORE")
        )
        const { opened, rows } = yield* read(stored, { sheet: "leads" })
        expect([opened.details.sheet, values(rows)]).toEqual(["Leads", [{ Email: "lin@example.com", Company: "Acme" }]])
        const unknown = yield* failure(stored, { sheet: "Prospects" })
        expect(unknown.message).toBe('There is no sheet "Prospects": the workbook has 3 sheets: "Notes", "Leads", "Archive"')
      }))

    // CI once failed with an uncaught ENOENT: a read stopped while the stream of a sheet put aside
    // in a temporary file was still opening that file, which the stop had just removed.
    it.effect("a read stopped while a parked sheet is opening raises no unhandled error", () =>
      Effect.promise(async () => {
        const bytes = await build((workbook) => {
          workbook.addWorksheet("One").addRow(["Email"])
          workbook.addWorksheet("Two").addRow(["Email"])
        }, "STORE")
        const reader = new (workbookReader(ExcelJS))(Readable.from([Buffer.from(bytes)]), { sharedStrings: "cache", styles: "cache" })
        const sheets = reader[Symbol.asyncIterator]()
        const first = await sheets.next()
        expect(first.done).toBe(false)
        reader.release()
        await new Promise((resolve) => setTimeout(resolve, 100))
        await sheets.return(undefined)
      }))

    it.effect("an unknown sheet fails as unsupported and names the sheets the workbook has", () =>
      Effect.gen(function* () {
        const file = yield* Effect.promise(twoSheets)
        const byName = yield* failure(file, { sheet: "Prospects" })
        expect(byName).toBeInstanceOf(ImportError)
        // Reason and message together, so that a wrong reason shows which error it was.
        expect([byName.reason, byName.message]).toEqual([
          "unsupported",
          'There is no sheet "Prospects": the workbook has 3 sheets: "Notes", "Leads", "Archive"'
        ])
        const byPosition = yield* failure(file, { sheet: 4 })
        expect(byPosition.message).toContain("There is no sheet number 4")
      }))
  })

  it.effect("headerLine: the header row given, rows above it skipped", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("S")
          sheet.addRow(["Exported by", "Rapport"])
          sheet.addRow(["on", "2025-03-12"])
          sheet.addRow(["Email", "Name"])
          sheet.addRow(["a@example.com", "A"])
        })
      )
      const { opened, rows } = yield* read(file, { headerLine: 3 })
      expect(opened.headers).toEqual(["Email", "Name"])
      expect(opened.details.headerLine).toBe(3)
      expect(rows).toEqual([{ line: 4, values: { Email: "a@example.com", Name: "A" } }])
    }))

  it.effect("a row wider than the header is kept with a problem", () =>
    Effect.gen(function* () {
      const file = yield* Effect.promise(() =>
        build((workbook) => {
          const sheet = workbook.addWorksheet("S")
          sheet.addRow(["Email", "Name"])
          for (let i = 0; i < 10; i++) sheet.addRow([`u${i}@example.com`, `U${i}`])
          sheet.addRow(["a@example.com", "A", "stray"])
        })
      )
      const { rows } = yield* read(file)
      expect(rows.length).toBe(11)
      expect(rows[10]).toMatchObject({ line: 12, values: { Email: "a@example.com", Name: "A" } })
      expect(rows[10]?.problem).toContain("has 3 fields, but the header has 2")
    }))

  describe("files that cannot be read fail with an ImportError, never a crash or a hang", () => {
    it.effect("CSV bytes", () =>
      Effect.gen(function* () {
        const error = yield* failure(new TextEncoder().encode("email,name\nada@example.com,Ada\n"))
        expect(error.reason).toBe("unreadable")
        expect(error.message).toBe("This is not an XLSX workbook: the file is text (a CSV file? import it as CSV)")
      }))

    it.effect("random bytes, a PDF, an empty file", () =>
      Effect.gen(function* () {
        expect(yield* failure(randomBytes(4096))).toMatchObject({ reason: "unreadable", message: expect.stringContaining("not an XLSX workbook") })
        expect(yield* failure(new TextEncoder().encode("%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<<>>\nendobj\n"))).toMatchObject({
          reason: "unreadable",
          message: "This is not an XLSX workbook: the file is a PDF document"
        })
        expect(yield* failure(new Uint8Array(0))).toMatchObject({ reason: "empty", message: "The file is empty (0 bytes)" })
      }))

    it.effect("an old .xls workbook", () =>
      Effect.gen(function* () {
        const ole = new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ...randomBytes(600)])
        expect(yield* failure(ole)).toMatchObject({ reason: "unsupported", message: expect.stringContaining(".xls") })
      }))

    it.effect("a truncated or corrupt workbook", () =>
      Effect.gen(function* () {
        const good = yield* Effect.promise(salon)
        const truncated = yield* failure(good.subarray(0, 3000))
        expect(truncated.reason).toBe("unreadable")
        expect(truncated.message).toContain("truncated")
        const corrupt = Uint8Array.from(good)
        for (let i = 1500; i < 2500; i++) corrupt[i] = (i * 7) & 255
        expect((yield* failure(corrupt)).reason).toBe("unreadable")
      }))

    it.effect("a ZIP archive that is not a workbook, an OpenDocument spreadsheet", () =>
      Effect.gen(function* () {
        expect(yield* failure(fixture("csv-in-a-zip.zip"))).toMatchObject({
          reason: "unreadable",
          message: "This is a ZIP archive, but not an XLSX workbook (it has no worksheet)"
        })
        expect(yield* failure(fixture("contacts.ods"))).toMatchObject({ reason: "unsupported", message: expect.stringContaining("OpenDocument") })
      }))

    it.effect("a workbook without sheets, an empty sheet, a sheet with only a header", () =>
      Effect.gen(function* () {
        const none = yield* failure(yield* Effect.promise(() => build(() => undefined)))
        expect(none).toMatchObject({ reason: "empty", message: "The workbook has no sheet" })
        const blank = yield* failure(yield* Effect.promise(() => build((w) => void w.addWorksheet("Vide"))))
        expect(blank).toMatchObject({ reason: "empty", message: 'Sheet "Vide" is empty' })
        const header = yield* failure(yield* Effect.promise(() => build((w) => void w.addWorksheet("H").addRow(["Email", "Name"]))))
        expect(header).toMatchObject({ reason: "empty", message: 'Sheet "H" has a header (row 1) but no rows below it' })
      }))

    it.effect("a byte stream that fails midway fails with its own error", () =>
      Effect.gen(function* () {
        const good = yield* Effect.promise(salon)
        const broken = new ImportError({ reason: "unreadable", message: "upload interrupted" })
        const bytes: Source.Bytes = {
          stream: Stream.concat(Stream.make(good.subarray(0, 2000)), Stream.fail(broken)),
          size: undefined,
          read: () => 0,
          name: "salon.xlsx"
        }
        const error = yield* Effect.flip(Effect.flatMap(Xlsx.open(bytes), records))
        expect(error).toBe(broken)
      }))
  })

  it.effect(
    "a 50,000-row sheet written with the streaming writer is read back whole",
    () =>
      Effect.gen(function* () {
        const size = 50_000
        const file = yield* Effect.promise(async () => {
          const out = new PassThrough()
          const chunks: Array<Buffer> = []
          out.on("data", (chunk: Buffer) => chunks.push(chunk))
          const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: true })
          const sheet = workbook.addWorksheet("Big")
          sheet.addRow(["Big export"]).commit()
          sheet.addRow(["Email", "Name", "Phone", "Since"]).commit()
          for (let i = 0; i < size; i++) {
            const row = sheet.addRow([`user${i}@example.com`, `User ${i}`, 600000000 + i, new Date(Date.UTC(2020, 0, 1 + (i % 1000)))])
            row.getCell(3).numFmt = "0000000000"
            row.getCell(4).numFmt = "yyyy-mm-dd"
            row.commit()
          }
          sheet.commit()
          await workbook.commit()
          return new Uint8Array(Buffer.concat(chunks))
        })
        const opened = yield* open(file)
        const counted = yield* Stream.runFold(opened.records, { n: 0, last: undefined as SourceRecord | undefined }, (acc, r) => ({
          n: acc.n + 1,
          last: r
        }))
        expect(counted.n).toBe(size)
        expect(counted.last).toEqual({
          line: size + 2,
          values: {
            Email: `user${size - 1}@example.com`,
            Name: `User ${size - 1}`,
            Phone: `0${600000000 + size - 1}`,
            Since: new Date(Date.UTC(2020, 0, 1 + ((size - 1) % 1000)))
          }
        })
      }),
    60_000
  )

  it.effect("stopping early lets go of the file", () =>
    Effect.gen(function* () {
      const opened = yield* open(yield* Effect.promise(salon))
      const first = yield* Stream.runCollect(Stream.take(opened.records, 1))
      expect(Chunk.size(first)).toBe(1)
    }))

  it("isTextColumn, isDateFormat and zeroPadWidth", () => {
    for (const h of ["Phone", "Téléphone", "Tél.", "mobilePhone", "phone_number", "Fax", "Portable", "Code postal", "CP", "Zip", "Postcode", "SIRET", "N° TVA", "VAT number"]) {
      expect(Xlsx.isTextColumn(h), h).toBe(true)
    }
    for (const h of ["Email", "Score", "Hotel", "Company", "Employees", "Capital"]) expect(Xlsx.isTextColumn(h), h).toBe(false)
    expect(["dd/mm/yyyy", "m/d/yy h:mm", "[$-409]d-mmm-yy;@", "hh:mm:ss", "mm-dd-yy"].every(Xlsx.isDateFormat)).toBe(true)
    expect(["General", "0.00", '#,##0 "€"', "0.00E+00", "@", "00000", '0 "days"', undefined].some(Xlsx.isDateFormat)).toBe(false)
    expect([Xlsx.zeroPadWidth("00000"), Xlsx.zeroPadWidth("0000000000"), Xlsx.zeroPadWidth("00 00 00 00 00"), Xlsx.zeroPadWidth("00.00.00.00.00")]).toEqual([5, 10, 10, 10])
    expect([Xlsx.zeroPadWidth("0"), Xlsx.zeroPadWidth("0.00000"), Xlsx.zeroPadWidth("#,##0"), Xlsx.zeroPadWidth("General")]).toEqual([undefined, undefined, undefined, undefined])
  })
})
