// Exports over HTTP on loopback (issue 14, "exports (streamed CSV/XLSX)"): the contacts of a
// selection come back as a CSV or XLSX file, streamed (chunked, no Content-Length), with the right
// Content-Type and an attachment name made of no user input; the files read back with csv-parse
// and exceljs to the stored contacts, formulas neutralised; a wrong query is a 400 naming the
// parameter; a failure after the first byte aborts the connection instead of ending a truncated
// file as if it were complete.
import { parse } from "csv-parse/sync"
import ExcelJS from "exceljs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as http from "node:http"
import { type Served, serve } from "./helpers.js"

let api: Served
const ids: Record<string, string> = {}

beforeAll(async () => {
  api = await serve()
  const crm = api.crm.workspace("ws-a")
  await crm.fields.define({ key: "siret", label: "SIRET", type: "text" })
  const created = await crm.contacts.createMany([
    { email: "elodie@exemple.fr", firstName: "Élodie", lastName: "Lefèvre", tags: ["vip"], fields: { siret: "53210987600014" } },
    { email: "mallory@exemple.fr", firstName: "=HYPERLINK(\"http://evil.example\",\"Cliquez\")", lastName: "@SUM(A1:A9)", phone: "+33612345678" },
    { email: "zoe@exemple.fr", firstName: "Zoé", lastName: "Ngo, \"la boss\"", tags: ["vip", "salon"] }
  ])
  for (const c of created) ids[c.email!] = c.id
  await api.crm.workspace("ws-b").contacts.create({ email: "other@tenant.example", firstName: "Other" })
})
afterAll(() => api.close())

const download = async (query: string, as = "reader-a") => {
  const response = await fetch(`${api.url}/exports/contacts?${query}`, { headers: { authorization: `Bearer ${as}` } })
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) }
}

const csvRows = (bytes: Buffer, delimiter = ",") => parse(bytes, { bom: true, columns: true, delimiter, record_delimiter: "\r\n" }) as Array<Record<string, string>>

describe("GET /exports/contacts", () => {
  it("CSV: streamed, text/csv, an attachment named by the date; reads back to the workspace's contacts, formulas neutralised", async () => {
    const answer = await download("format=csv")
    expect(answer.status).toBe(200)
    expect(answer.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present")
    expect(answer.headers.get("content-disposition")).toBe('attachment; filename="contacts-2025-01-06.csv"')
    expect(answer.headers.get("content-length")).toBeNull()
    expect(answer.headers.get("transfer-encoding")).toBe("chunked")
    expect(answer.bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]))
    const rows = csvRows(answer.bytes)
    expect(rows.map((r) => r["email"])).toEqual(["elodie@exemple.fr", "mallory@exemple.fr", "zoe@exemple.fr"])
    expect(rows[0]).toMatchObject({ firstName: "Élodie", lastName: "Lefèvre", tags: "vip", SIRET: "53210987600014" })
    expect(rows[1]).toMatchObject({ firstName: "'=HYPERLINK(\"http://evil.example\",\"Cliquez\")", lastName: "'@SUM(A1:A9)", phone: "'+33612345678" })
    expect(rows[2]).toMatchObject({ firstName: "Zoé", lastName: "Ngo, \"la boss\"", tags: "vip, salon" })
    // Nothing of another workspace.
    expect(answer.bytes.toString("utf8")).not.toContain("other@tenant.example")
  })

  it("CSV with ; and neutralize=exceptNumbers: a phone stays a phone, a formula is still neutralised", async () => {
    const answer = await download(`format=csv&delimiter=${encodeURIComponent(";")}&neutralize=exceptNumbers`)
    expect(answer.status).toBe(200)
    const mallory = csvRows(answer.bytes, ";").find((r) => r["email"] === "mallory@exemple.fr")!
    expect(mallory).toMatchObject({ phone: "+33612345678", lastName: "'@SUM(A1:A9)" })
  })

  it("XLSX: the spreadsheet type, read back with exceljs to the same contacts, in the sheet named", async () => {
    const answer = await download("format=xlsx&sheetName=Clients%20VIP")
    expect(answer.status).toBe(200)
    expect(answer.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    expect(answer.headers.get("content-disposition")).toBe('attachment; filename="contacts-2025-01-06.xlsx"')
    expect(answer.headers.get("content-length")).toBeNull()
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.load(answer.bytes as unknown as ExcelJS.Buffer)
    const sheet = workbook.getWorksheet("Clients VIP")!
    expect(sheet).toBeDefined()
    const table: Array<Array<string>> = []
    sheet.eachRow({ includeEmpty: false }, (row) => table.push((row.values as Array<unknown>).slice(1).map((v) => (v === null || v === undefined ? "" : String(v)))))
    const header = table[0]!
    const byEmail = new Map(table.slice(1).map((row) => [row[header.indexOf("email")], Object.fromEntries(header.map((h, i) => [h, row[i] ?? ""]))]))
    expect([...byEmail.keys()]).toEqual(["elodie@exemple.fr", "mallory@exemple.fr", "zoe@exemple.fr"])
    expect(byEmail.get("elodie@exemple.fr")).toMatchObject({ firstName: "Élodie", SIRET: "53210987600014" })
    expect(byEmail.get("mallory@exemple.fr")).toMatchObject({ firstName: "'=HYPERLINK(\"http://evil.example\",\"Cliquez\")" })
  })

  it("a selection: a segment (where) or ids, in their order; chosen columns", async () => {
    const where = encodeURIComponent(JSON.stringify({ path: "contact.tags", op: "contains", value: "vip" }))
    expect(csvRows((await download(`format=csv&where=${where}`)).bytes).map((r) => r["email"])).toEqual(["elodie@exemple.fr", "zoe@exemple.fr"])
    const byIds = await download(`format=csv&ids=${ids["zoe@exemple.fr"]}&ids=${ids["elodie@exemple.fr"]}&columns=email&columns=fields.siret`)
    expect(byIds.status).toBe(200)
    expect(csvRows(byIds.bytes)).toEqual([
      { email: "zoe@exemple.fr", "fields.siret": "" },
      { email: "elodie@exemple.fr", "fields.siret": "53210987600014" }
    ])
  })

  it("a wrong query is a 400 naming each parameter (query), before any byte of a file", async () => {
    const notJson = await download("format=csv&where=%7Bnope")
    expect(notJson.status).toBe(400)
    expect(notJson.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(notJson.bytes.toString()).errors).toEqual([expect.objectContaining({ pointer: "/where", in: "query" })])

    const unknownPath = await download(`format=csv&where=${encodeURIComponent(JSON.stringify({ path: "contact.shoeSize", op: "eq", value: 42 }))}`)
    expect(unknownPath.status).toBe(400)
    expect(JSON.parse(unknownPath.bytes.toString()).errors[0].pointer).toMatch(/^\/where/)

    const bad = await download("format=pdf&sheetName=a%2Fb&neutralize=some&typo=1")
    expect(bad.status).toBe(400)
    expect([...new Set(JSON.parse(bad.bytes.toString()).errors.map((e: { pointer: string }) => e.pointer))].sort()).toEqual(["/format", "/neutralize", "/sheetName", "/typo"])

    const column = await download("format=csv&columns=email&columns=shoeSize")
    expect(column.status).toBe(400)
    expect(JSON.parse(column.bytes.toString()).errors).toEqual([expect.objectContaining({ pointer: "/columns/1", in: "query" })])
  })

  it("the caller's workspace only; unauthenticated is 401", async () => {
    const other = csvRows((await download("format=csv", "admin-b")).bytes)
    expect(other.map((r) => r["email"])).toEqual(["other@tenant.example"])
    const anonymous = await fetch(`${api.url}/exports/contacts?format=csv`)
    expect(anonymous.status).toBe(401)
  })

  it("a failure after the first byte aborts the connection: the client never sees a complete file", async () => {
    // The second id is no contact: the exporter finds out while streaming, after the header row.
    const missing = "00000000-0000-7000-8000-0000000fffff"
    const outcome = await new Promise<{ readonly status: number | undefined; readonly complete: boolean; readonly error: string | undefined; readonly body: string }>((resolve) => {
      let status: number | undefined
      let complete = false
      let body = ""
      const request = http.get(`${api.url}/exports/contacts?format=csv&ids=${ids["elodie@exemple.fr"]}&ids=${missing}`, { headers: { authorization: "Bearer reader-a" } }, (response) => {
        status = response.statusCode
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (body += chunk))
        response.on("end", () => {
          complete = response.complete
          resolve({ status, complete, error: undefined, body })
        })
        response.on("error", (error) => resolve({ status, complete: response.complete, error: error.message, body }))
        response.on("aborted", () => resolve({ status, complete: response.complete, error: "aborted", body }))
      })
      request.on("error", (error) => resolve({ status, complete, error: error.message, body }))
    })
    // Either the connection closed before the status line, or after a 200 whose body never ended.
    expect(outcome.complete).toBe(false)
    expect(outcome.error).toBeDefined()
    expect(outcome.body).not.toContain("elodie@exemple.fr")
    // And a good export right after works: the server is fine.
    expect((await download("format=csv")).status).toBe(200)
  })
})
