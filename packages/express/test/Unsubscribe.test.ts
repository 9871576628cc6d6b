// One-click unsubscribe over HTTP on loopback (issue 14, RFC 8058): the POST a mail client sends
// (List-Unsubscribe=One-Click, form-encoded, no cookie, no credentials) unsubscribes the contact
// the link's token names, in the token's workspace only, and answers 200 without a cookie or a
// redirect; sent again it changes nothing; a bad, altered or expired token is a 400 problem. The
// GET confirmation page changes nothing, speaks French or English after Accept-Language, and its
// button sends that POST; a bad token gets an HTML error page.
import { rapportRouter } from "@rapport/express"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { once } from "node:events"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { callers, type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

/** A contact of `workspace` and the token of its unsubscribe link. */
const contactWithLink = async (workspace: string, email: string, served: Served = api) => {
  const crm = served.crm.workspace(workspace)
  const contact = await crm.contacts.create({ email })
  await crm.consent.grant(contact.id)
  const url = new URL(await crm.consent.unsubscribeUrl(contact.id))
  return { contact, token: url.searchParams.get("token")! }
}

const oneClick = (token: string, init: { readonly body?: string; readonly headers?: Record<string, string> } = {}, served: Served = api) =>
  fetch(`${served.url}/unsubscribe?token=${encodeURIComponent(token)}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...init.headers },
    body: init.body ?? "List-Unsubscribe=One-Click"
  })

const unsubscribedEvents = async (workspace: string, contactId: string) =>
  ((await api.crm.workspace(workspace).consent.export(contactId)).events as ReadonlyArray<{ readonly type: string }>).filter((e) => e.type === "consent.unsubscribed").length

describe("POST /unsubscribe (one click)", () => {
  it("unsubscribes the contact the token names: 200, no cookie, no redirect, no credentials needed", async () => {
    const { contact, token } = await contactWithLink("ws-a", "ada@exemple.fr")
    expect((await api.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).toBeNull()
    const response = await oneClick(token)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ unsubscribed: true })
    expect(response.headers.get("set-cookie")).toBeNull()
    expect(response.headers.get("location")).toBeNull()
    const status = await api.crm.workspace("ws-a").consent.status(contact.id)
    expect(status.unsubscribedAt).not.toBeNull()
    expect(status.purposes["marketing"]?.granted).toBe(false)
    expect(await unsubscribedEvents("ws-a", contact.id)).toBe(1)
  })

  it("sent again, it answers the same and changes nothing", async () => {
    const { contact, token } = await contactWithLink("ws-a", "bis@exemple.fr")
    expect((await oneClick(token)).status).toBe(200)
    const first = await api.crm.workspace("ws-a").consent.status(contact.id)
    await api.crm.clock.advance("1 hour")
    const again = await oneClick(token)
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ unsubscribed: true })
    expect(await api.crm.workspace("ws-a").consent.status(contact.id)).toEqual(first)
    expect(await unsubscribedEvents("ws-a", contact.id)).toBe(1)
  })

  it("multipart/form-data, as RFC 8058 also allows, works the same", async () => {
    const { contact, token } = await contactWithLink("ws-a", "multi@exemple.fr")
    const form = new FormData()
    form.append("List-Unsubscribe", "One-Click")
    const response = await fetch(`${api.url}/unsubscribe?token=${encodeURIComponent(token)}`, { method: "POST", body: form })
    expect(response.status).toBe(200)
    expect((await api.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).not.toBeNull()
  })

  it("only the token's workspace is touched: the same email in another workspace stays subscribed", async () => {
    const inA = await contactWithLink("ws-a", "shared@exemple.fr")
    const inB = await contactWithLink("ws-b", "shared@exemple.fr")
    expect((await oneClick(inB.token)).status).toBe(200)
    expect((await api.crm.workspace("ws-b").consent.status(inB.contact.id)).unsubscribedAt).not.toBeNull()
    expect((await api.crm.workspace("ws-a").consent.status(inA.contact.id)).unsubscribedAt).toBeNull()
  })

  it("an altered or missing token is a 400 problem at /token (query); nothing changes", async () => {
    const { contact, token } = await contactWithLink("ws-a", "forged@exemple.fr")
    const [payload, signature] = token.split(".")
    const other = await contactWithLink("ws-a", "other@exemple.fr")
    // Another contact's payload under this signature: forged.
    const forged = await oneClick(`${other.token.split(".")[0]}.${signature}`)
    expect(forged.status).toBe(400)
    expect(forged.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    const problem = (await forged.json()) as any
    expect(problem).toMatchObject({ status: 400, code: "VALIDATION_FAILED" })
    expect(problem.errors).toEqual([{ pointer: "/token", in: "query", detail: expect.stringContaining("not a valid unsubscribe token") }])
    expect((await oneClick(`${payload}.${signature}x`)).status).toBe(400)
    const missing = await fetch(`${api.url}/unsubscribe`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" })
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as any).errors).toEqual([expect.objectContaining({ pointer: "/token", in: "query" })])
    for (const c of [contact, other.contact]) expect((await api.crm.workspace("ws-a").consent.status(c.id)).unsubscribedAt).toBeNull()
  })

  it("a body other than List-Unsubscribe=One-Click is a 400 at /List-Unsubscribe; JSON is 415; nothing changes", async () => {
    const { contact, token } = await contactWithLink("ws-a", "body@exemple.fr")
    const wrong = await oneClick(token, { body: "List-Unsubscribe=Yes" })
    expect(wrong.status).toBe(400)
    expect(((await wrong.json()) as any).errors).toEqual([expect.objectContaining({ pointer: "/List-Unsubscribe", in: "body" })])
    const empty = await oneClick(token, { body: "" })
    expect(empty.status).toBe(400)
    const asJson = await oneClick(token, { body: JSON.stringify({ "List-Unsubscribe": "One-Click" }), headers: { "content-type": "application/json" } })
    expect(asJson.status).toBe(415)
    expect((await api.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).toBeNull()
  })

  it("an expired token (over a year old) is a 400 that says so", async () => {
    const served = await serve()
    try {
      const { contact, token } = await contactWithLink("ws-a", "old@exemple.fr", served)
      await served.crm.clock.advance("366 days")
      const response = await oneClick(token, {}, served)
      expect(response.status).toBe(400)
      expect(((await response.json()) as any).errors[0].detail).toContain("has expired")
      expect((await served.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).toBeNull()
    } finally {
      await served.close()
    }
  })
})

describe("GET /unsubscribe (confirmation page)", () => {
  const page = (token: string, language?: string) =>
    fetch(`${api.url}/unsubscribe?token=${encodeURIComponent(token)}`, { headers: language === undefined ? {} : { "accept-language": language } })

  it("in French for a French reader; it changes nothing, and its button sends the one-click POST", async () => {
    const { contact, token } = await contactWithLink("ws-a", "page-fr@exemple.fr")
    const response = await page(token, "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7")
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(response.headers.get("content-language")).toBe("fr")
    expect(response.headers.get("set-cookie")).toBeNull()
    const html = await response.text()
    expect(html).toContain('<html lang="fr">')
    expect(html).toContain("Ne plus recevoir nos e-mails ?")
    expect(html).toContain('<button type="submit">Me désabonner</button>')
    expect((await api.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).toBeNull()

    // The form, as a browser sends it.
    const action = /<form method="post" action="([^"]+)">/.exec(html)![1]!.replaceAll("&amp;", "&")
    expect(action).toBe(`/unsubscribe?token=${encodeURIComponent(token)}`)
    const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]+)">/g)].map((m) => `${m[1]}=${m[2]}`)
    const submitted = await fetch(api.url + action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html", "accept-language": "fr" },
      body: fields.join("&")
    })
    expect(submitted.status).toBe(200)
    expect(await submitted.text()).toContain("Votre désabonnement est enregistré")
    expect((await api.crm.workspace("ws-a").consent.status(contact.id)).unsubscribedAt).not.toBeNull()
  })

  it("in English otherwise (no header, or a language neither French nor English first)", async () => {
    const { token } = await contactWithLink("ws-a", "page-en@exemple.fr")
    for (const language of [undefined, "de-DE,de;q=0.9,en;q=0.5,fr;q=0.4", "en-GB"]) {
      const response = await page(token, language)
      expect(response.status).toBe(200)
      const html = await response.text()
      expect(html).toContain('<html lang="en">')
      expect(html).toContain('<button type="submit">Unsubscribe</button>')
    }
    expect(await (await page(token, "en;q=0.3, fr;q=0.8")).text()).toContain('<html lang="fr">')
  })

  it("a bad token gets an HTML error page (400), in the reader's language", async () => {
    const fr = await page("garbage.token", "fr")
    expect(fr.status).toBe(400)
    expect(fr.headers.get("content-type")).toBe("text/html; charset=utf-8")
    const html = await fr.text()
    expect(html).toContain("Ce lien ne fonctionne pas")
    expect(html).not.toContain("<form")
    const en = await fetch(`${api.url}/unsubscribe`)
    expect(en.status).toBe(400)
    expect(await en.text()).toContain("This link does not work")
  })

  it("mounted under a path (Express), the button posts under that path", async () => {
    const { token } = await contactWithLink("ws-a", "mounted@exemple.fr")
    const app = express()
    const router = rapportRouter(api.crm, { authenticate: (req) => callers[req.headers.authorization ?? ""] ?? null })
    app.use("/crm", router)
    const server: Server = app.listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/crm/unsubscribe?token=${encodeURIComponent(token)}`)
      expect(await response.text()).toContain(`action="/crm/unsubscribe?token=${encodeURIComponent(token)}"`)
    } finally {
      server.close()
      await router.close()
    }
  })
})
