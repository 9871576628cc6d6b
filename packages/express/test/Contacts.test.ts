import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

describe("contacts", () => {
  it("create then get: 201 with Location and ETag, the same JSON as the Promise client", async () => {
    const created = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "ada@example.com", firstName: "Ada" } })
    expect(created.status).toBe(201)
    expect(created.headers.get("location")).toBe(`/contacts/${created.body.id}`)
    expect(created.headers.get("etag")).toBe('"1"')
    const got = await api.request("GET", `/contacts/${created.body.id}`, { as: "admin-a" })
    expect(got.status).toBe(200)
    expect(got.body).toEqual(await api.crm.workspace("ws-a").contacts.get(created.body.id))
  })
})
