// createTestCrm with outbound webhooks: a receiver on 127.0.0.1 is allowed by the `webhooks`
// option, and clock.advance runs a retry at the virtual moment it falls due.
import { createTestCrm } from "@rapport/testing"
import { describe, expect, it } from "vitest"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

describe("createTestCrm — webhooks", () => {
  it("allowPrivateNetworks lets a loopback receiver get messages; a 503 with Retry-After: 60 is attempted again 60 virtual seconds later", async () => {
    const requests: Array<{ id: string; at: string }> = []
    const crm = await createTestCrm({ webhooks: { allowPrivateNetworks: true } })
    const server = http.createServer((req, res) => {
      requests.push({ id: String(req.headers["webhook-id"]), at: crm.clock.now() })
      req.resume()
      if (requests.length === 1) res.writeHead(503, { "retry-after": "60" }).end()
      else res.writeHead(200).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
      await crm.webhooks.create({ url, eventTypes: ["contact.created"] })
      await crm.contacts.create({ email: "ada@example.com" })
      await crm.clock.advance("59 seconds")
      expect(requests.map((r) => r.at)).toEqual(["2025-01-06T09:00:00.000Z"])
      await crm.clock.advance("1 second")
      expect(requests.map((r) => r.at)).toEqual(["2025-01-06T09:00:00.000Z", "2025-01-06T09:01:00.000Z"])
      expect(new Set(requests.map((r) => r.id)).size).toBe(1)
      expect(await crm.dispatcher.nextDue()).toBeNull()
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await crm.close()
    }
  })
})
