// Idempotency-Key on creating POSTs: the first answer again for the same request, 422 for another
// request under the same key, one creation for concurrent duplicates, keys per principal, nothing
// kept for a failed request, and keys that expire.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
beforeAll(async () => {
  api = await serve({ idempotencyTtl: "1 hour" })
})
afterAll(() => api.close())

const emails = async (workspace: string) => (await api.crm.workspace(workspace).contacts.list({ limit: 500 })).items.map((c) => c.email)

describe("Idempotency-Key", () => {
  it("the same key and body get the first answer again, and the contact is created once", async () => {
    const headers = { "idempotency-key": "key-same" }
    const first = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "once@example.com" }, headers })
    const again = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "once@example.com" }, headers })
    expect(first.status).toBe(201)
    expect(first.headers.get("idempotent-replayed")).toBeNull()
    expect(again.status).toBe(201)
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expect(again.text).toBe(first.text)
    expect(again.headers.get("location")).toBe(first.headers.get("location"))
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"))
    expect(again.headers.get("content-type")).toBe("application/json")
    expect((await emails("ws-a")).filter((e) => e === "once@example.com")).toHaveLength(1)
  })

  it("the same key with another body is refused with 422, and nothing is created", async () => {
    const headers = { "idempotency-key": "key-reused" }
    expect((await api.request("POST", "/contacts", { as: "admin-a", json: { email: "first@example.com" }, headers })).status).toBe(201)
    const other = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "second@example.com" }, headers })
    expect(other.status).toBe(422)
    expect(other.body).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" })
    expect(await emails("ws-a")).not.toContain("second@example.com")
  })

  it("concurrent requests with one key create once; every answer is that creation", async () => {
    const headers = { "idempotency-key": "key-concurrent" }
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => api.request("POST", "/contacts", { as: "admin-a", json: { email: "race@example.com" }, headers }))
    )
    const statuses = answers.map((a) => a.status)
    expect(statuses).toEqual(Array(8).fill(201))
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1)
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") === "true")).toHaveLength(7)
    expect((await emails("ws-a")).filter((e) => e === "race@example.com")).toHaveLength(1)
  })

  it("keys are per principal and per workspace: the same key of another caller acts on its own", async () => {
    const headers = { "idempotency-key": "key-shared" }
    const alice = await api.request("POST", "/companies", { as: "admin-a", json: { name: "Alice Co" }, headers })
    const anna = await api.request("POST", "/companies", { as: "admin-a2", json: { name: "Anna Co" }, headers })
    const bob = await api.request("POST", "/companies", { as: "admin-b", json: { name: "Alice Co" }, headers })
    expect([alice.status, anna.status, bob.status]).toEqual([201, 201, 201])
    expect(new Set([alice.body.id, anna.body.id, bob.body.id]).size).toBe(3)
    expect([anna.headers.get("idempotent-replayed"), bob.headers.get("idempotent-replayed")]).toEqual([null, null])
  })

  it("a request that failed keeps nothing: the corrected request with the same key creates", async () => {
    const headers = { "idempotency-key": "key-after-failure" }
    const invalid = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "not an email" }, headers })
    expect(invalid.status).toBe(400)
    const fixed = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "fixed@example.com" }, headers })
    expect(fixed.status).toBe(201)
    expect(fixed.headers.get("idempotent-replayed")).toBeNull()
  })

  it("a key expires after idempotencyTtl: the same request then acts again", async () => {
    const headers = { "idempotency-key": "key-expiring" }
    const first = await api.request("POST", "/events", { as: "admin-a", json: { type: "page.viewed", email: "ttl@example.com", payload: { url: "/a" } }, headers })
    expect(first.status).toBe(201)
    await api.crm.clock.advance("2 hours")
    const later = await api.request("POST", "/events", { as: "admin-a", json: { type: "page.viewed", email: "ttl@example.com", payload: { url: "/a" } }, headers })
    expect(later.status).toBe(201)
    expect(later.headers.get("idempotent-replayed")).toBeNull()
    expect(later.body.event.id).not.toBe(first.body.event.id)
  })

  it("a malformed key is a 400 naming the header", async () => {
    const answer = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "k@example.com" }, headers: { "idempotency-key": "é" } })
    expect(answer.status).toBe(400)
    expect(answer.body.errors).toEqual([expect.objectContaining({ pointer: "/Idempotency-Key", in: "header" })])
  })
})
