// Every failure answers an RFC 9457 problem document: decode errors with a JSON pointer per
// failing input, unknown routes, 401/403/429, body size and type, stale versions, cross-workspace
// ids, and unexpected failures without their internals.
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { type Served, serve } from "./helpers.js"

let api: Served
let limited: Served
let rateLimited = false
let throwing = false
beforeAll(async () => {
  api = await serve({
    rateLimit: () => (rateLimited ? { allowed: false, retryAfter: 7 } : { allowed: true })
  })
  limited = await serve({
    bodyLimit: 1000,
    authenticate: (req) => {
      if (throwing) throw new Error("session store down: secret-detail")
      return req.headers.authorization === "Bearer admin-a" ? { workspace: "ws-a", principal: "alice", role: "admin" } : null
    }
  })
})
afterAll(async () => {
  await api.close()
  await limited.close()
})

const expectProblem = (answer: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect(answer.headers.get("content-type")).toBe("application/problem+json")
  expect(answer.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String), type: expect.stringContaining(code.toLowerCase()) })
  expect(answer.status).toBe(status)
}

const contactCount = async (served: Served, workspace: string) => (await served.crm.workspace(workspace).contacts.list({ limit: 500 })).items.length

// A body sent in chunks without a Content-Length, so that only the streaming check can refuse it.
const chunked = (url: string, path: string, chunks: ReadonlyArray<string>, headers: Record<string, string>) =>
  new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const request = http.request(url + path, { method: "POST", headers: { "content-type": "application/json", ...headers } }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }))
    })
    request.on("error", reject)
    const write = (i: number) => {
      if (i === chunks.length) return void request.end()
      request.write(chunks[i], () => setTimeout(() => write(i + 1), 5))
    }
    write(0)
  })

describe("problems", () => {
  it("malformed JSON is a 400 MALFORMED_JSON problem; nothing is created", async () => {
    const before = await contactCount(api, "ws-a")
    const answer = await api.request("POST", "/contacts", { as: "admin-a", body: '{"email": "ada@example.com",', headers: { "content-type": "application/json" } })
    expectProblem(answer, 400, "MALFORMED_JSON")
    expect(answer.body.detail).toMatch(/not JSON/)
    expect(await contactCount(api, "ws-a")).toBe(before)
  })

  it("a body that is not JSON is refused with 415", async () => {
    const answer = await api.request("POST", "/contacts", { as: "admin-a", body: "email=ada@example.com", headers: { "content-type": "application/x-www-form-urlencoded" } })
    expectProblem(answer, 415, "UNSUPPORTED_MEDIA_TYPE")
  })

  it("invalid input is a 400 naming every failing path as a JSON pointer into the body", async () => {
    const answer = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "not-an-email", score: 1.5, nickname: "x" } })
    expectProblem(answer, 400, "VALIDATION_FAILED")
    const pointers = (answer.body.errors as Array<{ pointer: string; in: string }>).map((e) => `${e.in}:${e.pointer}`).sort()
    expect(pointers).toEqual(["body:/email", "body:/nickname", "body:/score"])
  })

  it("bad query and path parameters are 400s pointing at them", async () => {
    const notNumber = await api.request("GET", "/contacts?limit=abc", { as: "admin-a" })
    expectProblem(notNumber, 400, "VALIDATION_FAILED")
    expect(notNumber.body.errors).toEqual([expect.objectContaining({ pointer: "/limit", in: "query" })])
    const outOfRange = await api.request("GET", "/contacts?limit=900", { as: "admin-a" })
    expectProblem(outOfRange, 400, "VALIDATION_FAILED")
    expect(outOfRange.body.errors).toEqual([expect.objectContaining({ pointer: "/limit", in: "query" })])
    const unknown = await api.request("GET", "/contacts?stag=customer", { as: "admin-a" })
    expect(unknown.body.errors).toEqual([expect.objectContaining({ pointer: "/stag", in: "query" })])
    const badId = await api.request("GET", "/contacts/not-a-uuid", { as: "admin-a" })
    expectProblem(badId, 400, "VALIDATION_FAILED")
    expect(badId.body.errors).toEqual([expect.objectContaining({ pointer: "/contactId", in: "path" })])
  })

  it("an unknown route is a 404 ROUTE_NOT_FOUND problem", async () => {
    const answer = await api.request("GET", "/nothing/here", { as: "admin-a" })
    expectProblem(answer, 404, "ROUTE_NOT_FOUND")
    expect(answer.body.instance).toBe("/nothing/here")
  })

  it("no caller is a 401 with a WWW-Authenticate challenge", async () => {
    const answer = await api.request("GET", "/contacts", {})
    expectProblem(answer, 401, "UNAUTHENTICATED")
    expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="rapport"')
  })

  it("a role that may not act is a 403, and nothing changes", async () => {
    const before = await contactCount(api, "ws-a")
    expectProblem(await api.request("POST", "/contacts", { as: "reader-a", json: { email: "reader@example.com" } }), 403, "FORBIDDEN")
    expectProblem(await api.request("POST", "/fields", { as: "sales-a", json: { key: "siret", type: "text" } }), 403, "FORBIDDEN")
    expect(await contactCount(api, "ws-a")).toBe(before)
    expect(await api.crm.workspace("ws-a").fields.list()).toEqual([])
    expect((await api.request("GET", "/contacts", { as: "reader-a" })).status).toBe(200)
  })

  it("the rateLimit hook refuses with 429 and Retry-After", async () => {
    rateLimited = true
    try {
      const answer = await api.request("GET", "/contacts", { as: "admin-a" })
      expectProblem(answer, 429, "RATE_LIMITED")
      expect(answer.headers.get("retry-after")).toBe("7")
    } finally {
      rateLimited = false
    }
  })

  it("an unexpected failure is a 500 without its internals; the cause is logged", async () => {
    const logged: Array<string> = []
    const spies = (["log", "error", "warn", "info"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: Array<unknown>) => void logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${String(a.cause)}` : String(a))).join(" ")))
    )
    throwing = true
    try {
      const answer = await limited.request("GET", "/contacts", { as: "admin-a" })
      expectProblem(answer, 500, "INTERNAL_ERROR")
      expect(answer.text).not.toContain("secret-detail")
      expect(logged.join("\n")).toContain("secret-detail")
    } finally {
      throwing = false
      spies.forEach((spy) => spy.mockRestore())
    }
  })

  it("a body over the limit with a Content-Length is refused with 413 before it is read", async () => {
    const before = await contactCount(limited, "ws-a")
    const answer = await limited.request("POST", "/contacts", { as: "admin-a", json: { email: "big@example.com", lastName: "x".repeat(2000) } })
    expectProblem(answer, 413, "PAYLOAD_TOO_LARGE")
    expect(await contactCount(limited, "ws-a")).toBe(before)
  })

  it("a streamed body is refused with 413 on the chunk that goes past the limit", async () => {
    const before = await contactCount(limited, "ws-a")
    const chunks = ['{"email": "stream@example.com", "lastName": "', ..."x".repeat(3000).match(/.{1,300}/g)!, '"}']
    const answer = await chunked(limited.url, "/contacts", chunks, { authorization: "Bearer admin-a" })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", status: 413 })
    expect(await contactCount(limited, "ws-a")).toBe(before)
    // The same streamed body under the limit goes through.
    const small = await chunked(limited.url, "/contacts", ['{"email": "stream@', 'example.com"}'], { authorization: "Bearer admin-a" })
    expect(small.status).toBe(201)
  })

  it("a stale If-Match is a 412 and a stale expectedVersion a 409; nothing is written", async () => {
    const created = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "versions@example.com" } })
    const id = created.body.id
    const first = await api.request("PATCH", `/contacts/${id}`, { as: "admin-a", json: { firstName: "One" }, headers: { "if-match": '"1"' } })
    expect(first.status).toBe(200)
    expect(first.headers.get("etag")).toBe('"2"')
    const stale = await api.request("PATCH", `/contacts/${id}`, { as: "admin-a", json: { firstName: "Two" }, headers: { "if-match": '"1"' } })
    expectProblem(stale, 412, "VERSION_CONFLICT")
    expect(stale.body).toMatchObject({ expectedVersion: 1, actualVersion: 2 })
    const staleBody = await api.request("PATCH", `/contacts/${id}`, { as: "admin-a", json: { firstName: "Two", expectedVersion: 1 } })
    expectProblem(staleBody, 409, "VERSION_CONFLICT")
    expectProblem(await api.request("PATCH", `/contacts/${id}`, { as: "admin-a", json: { firstName: "Two" }, headers: { "if-match": 'W/"2"' } }), 412, "VERSION_CONFLICT")
    expectProblem(await api.request("DELETE", `/contacts/${id}`, { as: "admin-a", headers: { "if-match": '"1"' } }), 412, "VERSION_CONFLICT")
    expect((await api.crm.workspace("ws-a").contacts.get(id)).firstName).toBe("One")
  })

  it("If-Match on a route that keeps no version is refused, not ignored", async () => {
    const company = await api.request("POST", "/companies", { as: "admin-a", json: { name: "Acme" } })
    const answer = await api.request("DELETE", `/companies/${company.body.id}`, { as: "admin-a", headers: { "if-match": '"1"' } })
    expectProblem(answer, 400, "PRECONDITION_UNSUPPORTED")
    expect((await api.crm.workspace("ws-a").companies.get(company.body.id)).id).toBe(company.body.id)
  })

  it("a caller of workspace A gets 404 for the ids of workspace B, and B's records do not change", async () => {
    const b = await api.request("POST", "/contacts", { as: "admin-b", json: { email: "bea@example.com", firstName: "Bea" } })
    expect(b.status).toBe(201)
    const before = await api.crm.workspace("ws-b").contacts.get(b.body.id)
    expectProblem(await api.request("GET", `/contacts/${b.body.id}`, { as: "admin-a" }), 404, "NOT_FOUND")
    expectProblem(await api.request("PATCH", `/contacts/${b.body.id}`, { as: "admin-a", json: { firstName: "Hacked", expectedVersion: 1 } }), 404, "NOT_FOUND")
    expectProblem(await api.request("DELETE", `/contacts/${b.body.id}`, { as: "admin-a" }), 404, "NOT_FOUND")
    expect(await api.crm.workspace("ws-b").contacts.get(b.body.id)).toEqual(before)
  })
})
