// Segments over HTTP (issue 16): CRUD, count, members a page at a time, the CSV export through the
// exporter (formulas neutralised), an ad-hoc preview; roles (sales and marketing edit, read-only
// reads, including the preview POST); bad conditions are 400s naming the path; nothing crosses
// workspaces.
import { parse } from "csv-parse/sync"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served

beforeAll(async () => {
  api = await serve()
  const crm = api.crm.workspace("ws-a")
  await crm.fields.define({ key: "colour", type: "text" })
  await crm.fields.define({ key: "vip", type: "boolean" })
  await crm.contacts.createMany([
    { email: "ada@example.com", firstName: "Ada", fields: { colour: "red", vip: true } },
    { email: "bob@example.com", firstName: "=HYPERLINK(\"http://evil.example\")", fields: { colour: "red" } },
    { email: "cy@example.com", firstName: "Cy", fields: { colour: "blue", vip: false } },
    { email: "di@example.com", firstName: "Di" }
  ])
  await api.crm.workspace("ws-b").contacts.create({ email: "other@tenant.example", fields: {} })
})
afterAll(() => api.close())

const red = { path: "contact.fields.colour", op: "eq", value: "red" }

describe("/segments", () => {
  it("CRUD: create (201, Location, ETag), get, list, update with If-Match, delete; a taken name is a 409", async () => {
    const created = await api.request("POST", "/segments", { as: "sales-a", json: { name: "Red", condition: red } })
    expect(created.status).toBe(201)
    expect(created.headers.get("location")).toBe(`/segments/${created.body.id}`)
    expect(created.headers.get("etag")).toBe('"1"')
    expect(created.body).toMatchObject({ name: "Red", description: null, condition: red, version: 1 })
    const again = await api.request("POST", "/segments", { as: "admin-a", json: { name: "Red", condition: red } })
    expect(again.status).toBe(409)
    const got = await api.request("GET", `/segments/${created.body.id}`, { as: "reader-a" })
    expect(got.body).toEqual(created.body)
    const listed = await api.request("GET", "/segments", { as: "reader-a" })
    expect(listed.body.map((s: { name: string }) => s.name)).toEqual(["Red"])
    const updated = await api.request("PATCH", `/segments/${created.body.id}`, { as: "admin-a", json: { name: "Reds" }, headers: { "if-match": '"1"' } })
    expect([updated.status, updated.body.name, updated.body.version]).toEqual([200, "Reds", 2])
    const stale = await api.request("PATCH", `/segments/${created.body.id}`, { as: "admin-a", json: { name: "Stale" }, headers: { "if-match": '"1"' } })
    expect(stale.status).toBe(412)
    expect((await api.request("DELETE", `/segments/${created.body.id}`, { as: "admin-a" })).status).toBe(204)
    expect((await api.request("GET", `/segments/${created.body.id}`, { as: "admin-a" })).status).toBe(404)
  })

  it("an indexed segment over HTTP: indexed in the body and the answer; a condition no index serves is a 400 naming /indexed, and nothing is stored", async () => {
    const created = await api.request("POST", "/segments", { as: "admin-a", json: { name: "Red indexed", condition: red, indexed: true } })
    expect([created.status, created.body.indexed]).toEqual([201, true])
    expect((await api.request("GET", `/segments/${created.body.id}/count`, { as: "reader-a" })).body).toEqual({ count: 2 })
    const refused = await api.request("POST", "/segments", { as: "admin-a", json: { name: "Tagged", condition: { path: "contact.tags", op: "contains", value: "vip" }, indexed: true } })
    expect(refused.status).toBe(400)
    expect(JSON.stringify(refused.body)).toContain("indexed")
    expect((await api.request("GET", "/segments", { as: "reader-a" })).body.map((s: { name: string }) => s.name)).not.toContain("Tagged")
    expect((await api.request("DELETE", `/segments/${created.body.id}`, { as: "admin-a" })).status).toBe(204)
  })

  it("count, members a page at a time, and the CSV export of a saved segment, formulas neutralised, nothing of another workspace", async () => {
    const segment = (await api.request("POST", "/segments", { as: "admin-a", json: { name: "Red 2", condition: red } })).body
    expect((await api.request("GET", `/segments/${segment.id}/count`, { as: "reader-a" })).body).toEqual({ count: 2 })
    const first = await api.request("GET", `/segments/${segment.id}/members?limit=1`, { as: "reader-a" })
    expect(first.status).toBe(200)
    expect(first.body.items).toHaveLength(1)
    expect(typeof first.body.nextCursor).toBe("string")
    const second = await api.request("GET", `/segments/${segment.id}/members?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`, { as: "reader-a" })
    expect(second.body.nextCursor).toBeNull()
    expect([...first.body.items, ...second.body.items].map((c: { email: string }) => c.email).sort()).toEqual(["ada@example.com", "bob@example.com"])
    const response = await fetch(`${api.url}/segments/${segment.id}/export.csv`, { headers: { authorization: "Bearer reader-a" } })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present")
    expect(response.headers.get("content-disposition")).toMatch(new RegExp(`^attachment; filename="segment-${segment.id}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`))
    const rows = parse(Buffer.from(await response.arrayBuffer()), { bom: true, columns: true, record_delimiter: "\r\n" }) as Array<Record<string, string>>
    expect(rows.map((r) => r["email"])).toEqual(["ada@example.com", "bob@example.com"].sort())
    expect(rows.find((r) => r["email"] === "bob@example.com")!["firstName"]).toBe("'=HYPERLINK(\"http://evil.example\")")
    // Another workspace does not see the segment.
    expect((await api.request("GET", `/segments/${segment.id}/count`, { as: "admin-b" })).status).toBe(404)
  })

  it("POST /segments/preview: count and first page of a condition not saved; allowed to read-only callers", async () => {
    const answer = await api.request("POST", "/segments/preview", { as: "reader-a", json: { condition: { not: { path: "contact.fields.vip", op: "eq", value: true } }, limit: 2 } })
    expect(answer.status).toBe(200)
    expect(answer.body.count).toBe(3)
    expect(answer.body.members.items).toHaveLength(2)
    expect(typeof answer.body.members.nextCursor).toBe("string")
  })

  it("a bad condition is a 400 naming the path; an event.* path is refused (there is no event)", async () => {
    const unknown = await api.request("POST", "/segments", { as: "admin-a", json: { name: "Bad", condition: { path: "contact.fields.color", op: "eq", value: "red" } } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/condition/path"])
    const event = await api.request("POST", "/segments/preview", { as: "admin-a", json: { condition: { path: "event.payload.x", op: "exists" } } })
    expect(event.status).toBe(400)
    expect(event.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/condition/path"])
  })

  it("roles: read-only cannot create, update or delete segments; sales can", async () => {
    expect((await api.request("POST", "/segments", { as: "reader-a", json: { name: "No", condition: red } })).status).toBe(403)
    const made = await api.request("POST", "/segments", { as: "sales-a", json: { name: "Sales", condition: red } })
    expect(made.status).toBe(201)
    expect((await api.request("DELETE", `/segments/${made.body.id}`, { as: "reader-a" })).status).toBe(403)
    expect((await api.request("DELETE", `/segments/${made.body.id}`, { as: "sales-a" })).status).toBe(204)
  })
})
