// A deal's follow-up over HTTP with a file attached (a quote's PDF, in base64): it reaches the
// Mailer as bytes; a file name with a line break or bad base64 is a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

const as = "admin-a"
const pdf = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x00, 0xff, 0x0d, 0x0a, 0x80])

describe("POST /deals/:dealId/follow-ups with attachments", () => {
  it("queues the mail with the file, and the dispatcher hands the same bytes to the Mailer", async () => {
    const crm = api.crm.workspace("ws-a")
    const buyer = await crm.contacts.create({ email: "achats@client.example" })
    const deal = await crm.deals.create({ title: "Flotte", amount: { amountMinor: 100, currency: "EUR" }, contactId: buyer.id })
    const template = await crm.templates.create({ name: "Relance", subject: "Votre devis", text: "Bonjour" })
    const answer = await api.request("POST", `/deals/${deal.id}/follow-ups`, {
      as,
      json: { channel: "email", templateId: template.id, attachments: [{ filename: "devis.pdf", contentType: "application/pdf", content: pdf.toString("base64") }] }
    })
    expect(answer.status).toBe(201)
    expect(answer.body.mail).toMatchObject({ status: "queued" })
    await crm.dispatcher.runDue()
    const mail = api.crm.mails.sent().find((m) => m.to === "achats@client.example")
    expect(mail?.attachments?.map((a) => [a.filename, a.contentType, Buffer.from(a.content).toString("base64")])).toEqual([["devis.pdf", "application/pdf", pdf.toString("base64")]])
  })

  it("answers 400 naming the attachment's file name or content when they are unusable (VALIDATION_FAILED)", async () => {
    const crm = api.crm.workspace("ws-a")
    const buyer = await crm.contacts.create({ email: "other@client.example" })
    const deal = await crm.deals.create({ title: "Autre", amount: { amountMinor: 100, currency: "EUR" }, contactId: buyer.id })
    const template = await crm.templates.create({ name: "Relance 2", subject: "Votre devis", text: "Bonjour" })
    const post = (attachment: unknown) => api.request("POST", `/deals/${deal.id}/follow-ups`, { as, json: { channel: "email", templateId: template.id, attachments: [attachment] } })
    const badName = await post({ filename: "devis.pdf\r\nBcc: all@example.com", contentType: "application/pdf", content: pdf.toString("base64") })
    const badContent = await post({ filename: "devis.pdf", contentType: "application/pdf", content: "%%% not base64" })
    expect([badName.status, badContent.status]).toEqual([400, 400])
    const pointers = (answer: { body: { errors: Array<{ pointer: string }> } }) => answer.body.errors.map((e) => e.pointer)
    expect(pointers(badName)).toEqual(["/attachments/0/filename"])
    expect(pointers(badContent)).toEqual(["/attachments/0/content"])
  })
})
