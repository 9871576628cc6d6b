// Templates over HTTP: the preview (a read: a read-only caller may preview) and the per-locale
// variants, answering what the Promise client answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

const as = "admin-a"
const client = () => api.crm.workspace("ws-a")
const ok = async (method: string, path: string, json?: unknown, who = as) => {
  const answer = await api.request(method, path, { as: who, ...(json === undefined ? {} : { json }) })
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`)
  return answer
}

describe("templates: preview and locales over HTTP", () => {
  it("PUT, GET and DELETE a locale's variant; POST …/preview renders it for a contact and a sample order, read-only callers included", async () => {
    await client().fields.define({ key: "locale", type: "text" })
    const template = await ok("POST", "/templates", {
      name: "Receipt",
      subject: "Order {{ order.id }}",
      html: "<p>{% for line in order.lines %}{{ line.name }}: {{ line.total | money }}; {% endfor %}</p>"
    })
    const zoe = await client().contacts.create({ email: "zoe@example.com", firstName: "Zoé", fields: { locale: "fr-FR" } })
    const fr = await ok("PUT", `/templates/${template.body.id}/locales/fr`, { subject: "Commande {{ order.id }}", html: "<p>{{ order.total | money }}</p>" })
    expect(fr.body).toEqual((await client().templates.locales(template.body.id))[0])
    expect((await ok("GET", `/templates/${template.body.id}/locales`)).body.map((v: { locale: string }) => v.locale)).toEqual(["fr"])

    const preview = await ok("POST", `/templates/${template.body.id}/preview`, { contactId: zoe.id, event: "order.placed" }, "reader-a")
    expect(preview.body).toEqual(await client().templates.preview(template.body.id, { contactId: zoe.id, event: "order.placed" }))
    expect(preview.body).toEqual({ subject: "Commande SAMPLE-1001", html: "<p>114,00\u00a0€</p>", text: null, locale: "fr", event: { type: "order.placed", sample: true } })
    const english = await ok("POST", `/templates/${template.body.id}/preview`, { contactId: zoe.id, event: "order.placed", locale: "en" })
    expect(english.body.html).toBe("<p>Red shoes: €89.00; Socks (3 pairs): €25.00; </p>")

    const unknown = await api.request("POST", `/templates/${template.body.id}/preview`, { as, json: { contactId: "0190a6e2-7c3b-7def-8abc-0123456789ab" } })
    expect([unknown.status, unknown.body.code]).toEqual([404, "NOT_FOUND"])
    const invalid = await api.request("PUT", `/templates/${template.body.id}/locales/fr`, { as, json: { subject: "{{ order.nope }}", text: "x" } })
    expect([invalid.status, invalid.body.code]).toEqual([400, "VALIDATION_FAILED"])
    expect(invalid.body.errors).toEqual([expect.objectContaining({ pointer: "/locales/fr/subject", detail: "unknown variable order.nope on line 1" })])
    expect((await api.request("PUT", `/templates/${template.body.id}/locales/fr`, { as: "reader-a", json: { subject: "x", text: "y" } })).status).toBe(403)

    const forCart = await ok("POST", "/templates/check?eventType=cart.abandoned", { name: "x", subject: "{{ order.id }}", text: "y" })
    expect(forCart.body).toEqual(await client().templates.check({ name: "x", subject: "{{ order.id }}", text: "y" }, { eventType: "cart.abandoned" }))
    expect(forCart.body.issues).toEqual([{ path: ["subject"], message: "unknown variable order.id on line 1" }])
    expect((await api.request("DELETE", `/templates/${template.body.id}/locales/fr`, { as })).status).toBe(204)
    expect((await api.request("DELETE", `/templates/${template.body.id}/locales/fr`, { as })).status).toBe(404)
    expect((await ok("POST", `/templates/${template.body.id}/preview`, { contactId: zoe.id, event: "order.placed" })).body.subject).toBe("Order SAMPLE-1001")
  })
})
