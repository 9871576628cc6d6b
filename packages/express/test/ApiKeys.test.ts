// API keys over HTTP on loopback (issue 14, "Who may do what"): an admin creates a key (shown
// once, not cached), the key authenticates by `Authorization: Bearer` or `X-Api-Key` with its
// workspace and role, the presets refuse what the role may not do (key management is admin only,
// reads included), and a revoked, unknown or malformed key is a 401.
import { apiKeyAuth } from "@rapport/express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callers, type Served, serve } from "./helpers.js"

let served: Served

beforeAll(async () => {
  // Rapport's API keys for servers, else the host's own session (the helper's test callers).
  served = await serve({
    authenticate: async (req) => (await apiKeyAuth(served.crm)(req)) ?? callers[req.headers.authorization ?? ""] ?? null
  })
})
afterAll(() => served.close())

const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
  const answer = await served.request(method, path, { headers, ...(body === undefined ? {} : { json: body }) })
  return { status: answer.status, headers: answer.headers, body: answer.body as Record<string, any> | undefined }
}
const admin = { authorization: "Bearer admin-a" }
const newKey = async (role: string, name = `${role} key`) => {
  const created = await call("POST", "/api-keys", admin, { name, role })
  expect(created.status).toBe(201)
  return created.body as { key: { id: string; role: string }; secret: string }
}

describe("API keys over HTTP", () => {
  it("POST /api-keys answers 201 with the key once, not cacheable; GET lists them without secrets", async () => {
    const created = await call("POST", "/api-keys", admin, { name: "ERP", role: "sales" })
    expect(created.status).toBe(201)
    expect(created.headers.get("cache-control")).toBe("no-store")
    expect(created.body).toMatchObject({ key: { name: "ERP", role: "sales", workspaceId: "ws-a", revokedAt: null } })
    const secret = created.body!.secret as string
    expect(secret).toMatch(/^rk_/)
    const listed = await call("GET", "/api-keys", admin)
    expect(listed.status).toBe(200)
    expect((listed.body as unknown as Array<{ id: string }>).map((k) => k.id)).toContain(created.body!.key.id)
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(-20))
  })

  it("a key authenticates with its workspace and role, by Authorization: Bearer or X-Api-Key", async () => {
    const { secret } = await newKey("read-only")
    expect((await call("GET", "/contacts", { authorization: `Bearer ${secret}` })).status).toBe(200)
    expect((await call("GET", "/contacts", { authorization: `bearer ${secret}` })).status).toBe(200)
    expect((await call("GET", "/contacts", { "x-api-key": secret })).status).toBe(200)
    // read-only: no writes.
    const refused = await call("POST", "/contacts", { "x-api-key": secret }, { email: "ro@example.com" })
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ code: "FORBIDDEN" })
    // A sales key writes contacts, in the key's workspace.
    const sales = await newKey("sales")
    const made = await call("POST", "/contacts", { authorization: `Bearer ${sales.secret}` }, { email: "ada@example.com" })
    expect(made.status).toBe(201)
    expect(made.body).toMatchObject({ workspaceId: "ws-a" })
    // Another workspace's admin sees neither the key's contact nor the key.
    expect((await call("GET", "/contacts/by-email?email=ada@example.com", { authorization: "Bearer admin-b" })).status).toBe(404)
    expect((await call("GET", "/api-keys", { authorization: "Bearer admin-b" })).body).toEqual([])
  })

  it("only admin keys manage keys, reads included", async () => {
    for (const role of ["sales", "marketing", "read-only"]) {
      const { secret, key } = await newKey(role)
      const auth = { authorization: `Bearer ${secret}` }
      expect([role, (await call("GET", "/api-keys", auth)).status]).toEqual([role, 403])
      expect([role, (await call("POST", "/api-keys", auth, { name: "escalate", role: "admin" })).status]).toEqual([role, 403])
      expect([role, (await call("DELETE", `/api-keys/${key.id}`, auth)).status]).toEqual([role, 403])
    }
    const root = await newKey("admin")
    expect((await call("GET", "/api-keys", { authorization: `Bearer ${root.secret}` })).status).toBe(200)
  })

  it("DELETE /api-keys/:id revokes: the key is then a 401; unknown, malformed and missing keys are 401s", async () => {
    const { secret, key } = await newKey("admin", "soon revoked")
    const revoked = await call("DELETE", `/api-keys/${key.id}`, admin)
    expect(revoked.status).toBe(200)
    expect(revoked.body!.revokedAt).toEqual(expect.any(String))
    const after = await call("GET", "/contacts", { authorization: `Bearer ${secret}` })
    expect(after.status).toBe(401)
    expect(after.body).toMatchObject({ code: "UNAUTHENTICATED" })
    expect(after.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect((await call("GET", "/contacts", { authorization: `Bearer rk_${"A".repeat(16)}_${"b".repeat(43)}` })).status).toBe(401)
    expect((await call("GET", "/contacts", { "x-api-key": "rk_nope" })).status).toBe(401)
    expect((await call("GET", "/contacts")).status).toBe(401)
    expect((await call("DELETE", `/api-keys/${"Z".repeat(16)}`, admin)).status).toBe(404)
  })

  it("bad input is a 400 naming the field", async () => {
    const bad = await call("POST", "/api-keys", admin, { name: "", role: "owner" })
    expect(bad.status).toBe(400)
    expect((bad.body!.errors as Array<{ pointer: string }>).map((e) => e.pointer)).toEqual(["/name", "/role"])
  })
})
