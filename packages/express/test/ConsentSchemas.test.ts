// The consent routes' answers are what their OpenAPI schemas (the core's Schemas) say: every
// answer, with each nullable part both null and filled in (a proof, a pending request and its mail,
// a bounce, a complaint, an ignored and a duplicate report), decodes with its Schema and no
// property beyond it, so the schemas and the answers cannot drift apart.
import { Consent, Consents } from "@rapport/core"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve()
})
afterAll(() => api.close())

// The answer is JSON, the Schema's encoded side: decoding it checks every field (ISO instants,
// whole numbers, literals) and refuses a property the Schema does not name.
const conforms = <A, I>(schema: Schema.Schema<A, I>, body: unknown): A => Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(body)

const ok = async (method: string, path: string, json?: unknown) => {
  const answer = await api.request(method, path, { as: "admin-a", json })
  expect([method, path, answer.status]).toEqual([method, path, 200])
  return answer.body as unknown
}

describe("consent answers match their schemas", () => {
  it("status, grant, withdraw, request, mail feedback, clear-bounce and erase", async () => {
    const contact = await api.crm.workspace("ws-a").contacts.create({ email: "schemas@example.com" })
    const base = `/contacts/${contact.id}`

    const empty = conforms(Consent.ConsentStatus, await ok("GET", `${base}/consent`))
    expect(empty).toEqual({ contactId: contact.id, purposes: {}, unsubscribedAt: null, addresses: [] })

    const granted = conforms(
      Consent.ConsentStatus,
      await ok("POST", `${base}/consent/grant`, { source: "form", proof: { ip: "198.51.100.4", method: "form", evidence: "Newsletter box", userAgent: "Test/1.0" } })
    )
    expect(granted.purposes["marketing"]?.proof).toMatchObject({ method: "form", requestedAt: null })
    conforms(Consent.ConsentStatus, await ok("POST", `${base}/consent/withdraw`, { purpose: "marketing" }))

    const pending = conforms(Consents.ConsentRequestResult, await ok("POST", `${base}/consent/request`, { purpose: "newsletter", evidence: "Footer box" }))
    expect(pending.mail).not.toBeNull()
    expect(pending.status.purposes["newsletter"]).toMatchObject({ pending: true, granted: false })
    await ok("POST", `${base}/consent/grant`, { purpose: "partners" })
    const already = conforms(Consents.ConsentRequestResult, await ok("POST", `${base}/consent/request`, { purpose: "partners" }))
    expect(already.mail).toBeNull()

    const feedback = conforms(
      Consents.MailFeedbackResults,
      await ok("POST", "/consent/mail-feedback", [
        { id: "schemas-1", type: "bounced", kind: "hard", email: "schemas@example.com", reason: "no such user", provider: "ses" },
        { type: "bounced", kind: "soft", email: "schemas@example.com" },
        { type: "complained", email: "schemas@example.com" },
        { type: "complained", email: "nobody@example.com" },
        { id: "schemas-1", type: "bounced", email: "schemas@example.com" }
      ])
    )
    expect(feedback.map((r) => [r.kind, r.duplicate, r.ignored === null])).toEqual([
      ["hard", false, true],
      ["soft", false, true],
      [null, false, true],
      [null, false, false],
      ["hard", true, true]
    ])

    const flagged = conforms(Consent.ConsentStatus, await ok("GET", `${base}/consent`))
    expect(flagged.unsubscribedAt).not.toBeNull()
    expect(flagged.addresses).toHaveLength(1)
    expect(Object.values(flagged.addresses[0]!).every((value) => value !== null)).toBe(true)

    const cleared = conforms(Consent.AddressStatus, await ok("POST", "/consent/clear-bounce", { email: "schemas@example.com" }))
    expect(cleared).toMatchObject({ hardBouncedAt: null, softBounces: 0 })
    expect(cleared.complainedAt).not.toBeNull()

    const report = conforms(Consents.ErasureReport, await ok("POST", `${base}/erase`))
    expect(report.contactId).toBe(contact.id)
    expect(report.consents).toBeGreaterThan(0)
  })

  it("a field the answer lacks, or one it has beyond the schema, is refused", () => {
    const address = { email: "a@example.com", hardBouncedAt: null, hardBounceReason: null, softBounces: 0, lastSoftBounceAt: null, complainedAt: null }
    expect(conforms(Consent.AddressStatus, address)).toEqual(address)
    expect(() => conforms(Consent.AddressStatus, { ...address, workspaceId: "ws-a" })).toThrow(/workspaceId/)
    expect(() => conforms(Consent.AddressStatus, { ...address, complainedAt: undefined })).toThrow(/complainedAt/)
    expect(() => conforms(Consent.AddressStatus, { ...address, complainedAt: "yesterday" })).toThrow(/ISO-8601/)
  })
})
