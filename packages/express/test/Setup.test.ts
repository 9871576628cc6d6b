// Set-up as code and contacts.upsert over HTTP (issue 15): POST /setup (admin only, dryRun in
// the body) and PUT /contacts/by-email?email=… (201 when created, 200 when updated).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

const declaration = {
  fields: [{ key: "siret", type: "text", label: "SIRET" }],
  templates: [{ key: "welcome", name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello!" }],
  rules: [{ key: "welcome", name: "Welcome mail", on: "signup.completed", actions: [{ type: "sendEmail", templateKey: "welcome" }] }]
}

describe("POST /setup", () => {
  it("a dry run answers the plan and stores nothing; the real run applies it; again, everything is unchanged", async () => {
    const dry = await api.request("POST", "/setup", { as: "admin-a", json: { ...declaration, dryRun: true } })
    expect(dry.status).toBe(200)
    expect(dry.body).toEqual({
      applied: false,
      plan: [
        { kind: "field", key: "contact.siret", action: "create", changes: ["label", "type"] },
        { kind: "template", key: "welcome", action: "create", changes: ["name", "subject", "text"] },
        { kind: "rule", key: "welcome", action: "create", changes: ["name", "on", "actions"] }
      ]
    })
    expect(await api.crm.workspace("ws-a").templates.list()).toEqual([])
    const applied = await api.request("POST", "/setup", { as: "admin-a", json: declaration })
    expect(applied.body).toEqual({ ...dry.body, applied: true })
    expect((await api.crm.workspace("ws-a").rules.list()).map((r) => r.key)).toEqual(["welcome"])
    const again = await api.request("POST", "/setup", { as: "admin-a", json: declaration })
    expect(again.body.plan.map((s: { action: string }) => s.action)).toEqual(["unchanged", "unchanged", "unchanged"])
  })

  it("is for admins: a sales caller is refused with 403 and nothing changes; bad input is a 400 naming the path", async () => {
    const refused = await api.request("POST", "/setup", { as: "sales-a", json: { fields: [{ key: "vat", type: "text" }] } })
    expect([refused.status, refused.body.code]).toEqual([403, "FORBIDDEN"])
    expect((await api.crm.workspace("ws-a").fields.list()).map((f) => f.key)).not.toContain("vat")
    const bad = await api.request("POST", "/setup", { as: "admin-b", json: { rules: [{ key: "r", name: "R", on: "x.y", actions: [{ type: "sendEmail", templateKey: "nope" }] }] } })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/rules/0/actions/0/templateKey"])
  })
})

describe("PUT /contacts/by-email", () => {
  it("creates (201, Location) then updates (200) the contact with that email; the same body again changes nothing", async () => {
    const first = await api.request("PUT", "/contacts/by-email?email=Grace%40Example.com", { as: "sales-a", json: { firstName: "Grace" } })
    expect(first.status).toBe(201)
    expect(first.headers.get("location")).toBe(`/contacts/${first.body.id}`)
    const second = await api.request("PUT", "/contacts/by-email?email=grace%40example.com", { as: "sales-a", json: { lastName: "Hopper" } })
    expect(second.status).toBe(200)
    expect(second.body).toMatchObject({ id: first.body.id, firstName: "Grace", lastName: "Hopper", version: first.body.version + 1 })
    const third = await api.request("PUT", "/contacts/by-email?email=grace%40example.com", { as: "sales-a", json: { lastName: "Hopper" } })
    expect(third.body).toEqual(second.body)
    const clash = await api.request("PUT", "/contacts/by-email?email=grace%40example.com", { as: "sales-a", json: { email: "other@example.com" } })
    expect(clash.status).toBe(400)
    const reader = await api.request("PUT", "/contacts/by-email?email=rita%40example.com", { as: "reader-a", json: {} })
    expect(reader.status).toBe(403)
  })
})

describe("across workspaces", () => {
  it("a setup in A naming B's template by id is refused and B does not change; an upsert in A of B's email makes A's own contact", async () => {
    const b = api.crm.workspace("ws-b")
    const template = await b.templates.create({ name: "B's", subject: "Hi", text: "Hello" })
    const bob = await b.contacts.create({ email: "bob@b.example", firstName: "Bob" })
    const before = JSON.stringify([await b.templates.list(), await b.rules.list(), await b.contacts.list({})])
    const refused = await api.request("POST", "/setup", {
      as: "admin-a",
      json: { rules: [{ key: "steal", name: "Steal", on: "page.viewed", actions: [{ type: "sendEmail", template: template.id }] }] }
    })
    expect(refused.status).toBe(400)
    expect(refused.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/rules/0/actions/0/template"])
    const upserted = await api.request("PUT", "/contacts/by-email?email=bob%40b.example", { as: "admin-a", json: { firstName: "Robert" } })
    expect(upserted.status).toBe(201)
    expect(upserted.body.id).not.toBe(bob.id)
    expect(JSON.stringify([await b.templates.list(), await b.rules.list(), await b.contacts.list({})])).toBe(before)
  })
})
