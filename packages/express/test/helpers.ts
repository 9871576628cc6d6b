// A CRM on SQLite in memory behind the API on a loopback port, with callers known by their
// Authorization header: what every route test starts from.
import { once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { createTestCrm, type TestCrm } from "@rapport/testing"
import { type Caller, type RapportHttpOptions, toNodeHandler } from "@rapport/express"

export const callers: Readonly<Record<string, Caller>> = {
  "Bearer admin-a": { workspace: "ws-a", principal: "alice", role: "admin" },
  "Bearer admin-a2": { workspace: "ws-a", principal: "anna", role: "admin" },
  "Bearer sales-a": { workspace: "ws-a", principal: "sam", role: "sales" },
  "Bearer reader-a": { workspace: "ws-a", principal: "rita", role: "read-only" },
  "Bearer admin-b": { workspace: "ws-b", principal: "bob", role: "admin" }
}

export interface Served {
  readonly crm: TestCrm
  readonly url: string
  readonly server: http.Server
  /** A request as `who` (a key of callers, or none); JSON bodies are sent as JSON. */
  request(method: string, path: string, options?: { readonly as?: string | undefined; readonly json?: unknown; readonly body?: string | Uint8Array; readonly headers?: Record<string, string> }): Promise<Answer>
  close(): Promise<void>
}

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

export const serve = async (options: Partial<RapportHttpOptions> = {}): Promise<Served> => {
  const crm = await createTestCrm()
  const handler = toNodeHandler(crm, { authenticate: (req) => callers[req.headers.authorization ?? ""] ?? null, ...options })
  const server = http.createServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    crm,
    url,
    server,
    request: async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...(options.as === undefined ? {} : { authorization: `Bearer ${options.as}` }), ...options.headers }
      let body: string | Uint8Array | undefined = options.body
      if (options.json !== undefined) {
        body = JSON.stringify(options.json)
        headers["content-type"] ??= "application/json"
      }
      const response = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) })
      const text = await response.text()
      let parsed: unknown = undefined
      try {
        parsed = text === "" ? undefined : JSON.parse(text)
      } catch {
        parsed = undefined
      }
      return { status: response.status, headers: response.headers, text, body: parsed }
    },
    close: async () => {
      server.close()
      await handler.close()
      await crm.close()
    }
  }
}
