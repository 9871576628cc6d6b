// Idempotency keys on PostgreSQL, where concurrent requests really run at once on several
// connections: the claim waits on the unique key, so one request creates and the others replay.
import { once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { randomUUID } from "node:crypto"
import { createCrm, type CrmClient } from "@rapport/core"
import { postgresStorage } from "@rapport/postgres"
import { toNodeHandler, type RapportHandler } from "@rapport/express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const workspace = `http-${randomUUID().slice(0, 8)}`

// Unreachable means skipped, loudly, unless RAPPORT_REQUIRE_PG=1 (CI): then the file fails.
const connected = await createCrm({ storage: postgresStorage({ url: pgUrl }) }).then(
  (client) => ({ client, problem: undefined }),
  (error: unknown) => ({ client: undefined, problem: error instanceof Error ? error.message : String(error) })
)
if (connected.problem !== undefined) {
  if (process.env["RAPPORT_REQUIRE_PG"] === "1") throw new Error(`PostgreSQL is required but unreachable: ${connected.problem}`)
  console.warn(`\n*** PostgreSQL HTTP tests SKIPPED: ${connected.problem}. Set RAPPORT_PG_URL to run them. ***\n`)
}
const suite = connected.client === undefined ? describe.skip : describe

let crm: CrmClient
let handler: RapportHandler
let server: http.Server
let url: string
beforeAll(async () => {
  if (connected.client === undefined) return
  crm = connected.client
  handler = toNodeHandler(crm, { authenticate: (req) => ({ workspace, principal: String(req.headers["x-principal"] ?? "p1"), role: "admin" }) })
  server = http.createServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server?.close()
  await handler?.close()
  await crm?.close()
})

const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }).then(async (r) => ({
    status: r.status,
    replayed: r.headers.get("idempotent-replayed"),
    body: (await r.json()) as { readonly id?: string; readonly code?: string }
  }))

suite(`Idempotency-Key on PostgreSQL${connected.problem === undefined ? "" : " (SKIPPED: unreachable)"}`, () => {
  it("concurrent requests with one key create one contact; every other request waits and gets its answer", async () => {
    const email = `race-${randomUUID().slice(0, 8)}@example.com`
    const answers = await Promise.all(Array.from({ length: 12 }, () => post("/contacts", { email }, { "idempotency-key": `k-${email}` })))
    const created = answers.filter((a) => a.status === 201)
    // A request arriving while the first holds the key waits for it (no 409 on PostgreSQL: the
    // claim blocks on the unique key until the first transaction commits).
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(201))
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1)
    expect(answers.filter((a) => a.replayed === "true")).toHaveLength(11)
    const stored = (await crm.workspace(workspace).contacts.list({ limit: 500 })).items.filter((c) => c.email === email)
    expect(stored).toHaveLength(1)
  })

  it("the same key with another body is a 422 on PostgreSQL too", async () => {
    const key = `k-${randomUUID()}`
    expect((await post("/companies", { name: "One" }, { "idempotency-key": key })).status).toBe(201)
    const other = await post("/companies", { name: "Two" }, { "idempotency-key": key })
    expect([other.status, other.body.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"])
  })
})
