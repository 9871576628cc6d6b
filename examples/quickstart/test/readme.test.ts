// The README's two code samples, run as written (on a temporary database instead of data/crm.db):
// if this test breaks, the README is wrong.
import { Crm, createCrm } from "@rapport/core"
import { SqliteStorage, sqliteStorage } from "@rapport/sqlite"
import { Effect, Layer, Logger } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const tempDb = () => join(mkdtempSync(join(tmpdir(), "rapport-readme-")), "data", "crm.db")

describe("README samples", () => {
  it("the Promise client sample", async () => {
    const crm = await createCrm({ storage: sqliteStorage({ filename: tempDb() }) })
    await crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } })
    const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", source: { channel: "trade-show" } })
    await crm.events.emit({ id: "quote-1", type: "quote.sent", contactId: ada.id, payload: { quoteRef: "Q-1" } })
    expect((await crm.contacts.get(ada.id)).stage).toBe("prospect")
    expect((await crm.timeline.list(ada.id)).items.map((entry) => entry.summary)).toEqual([
      "Moved from Suspect to Prospect (automatic: first quote.sent)",
      "Quote Q-1 sent",
      "Contact created"
    ])
    await crm.close()
  })

  it("the Effect sample", async () => {
    const logs: Array<unknown> = []
    const CrmLive = Crm.layer.pipe(Layer.provide(SqliteStorage.layer({ filename: tempDb() })))

    const program = Effect.gen(function* () {
      const crm = yield* Crm.Crm
      const line = { sku: "RED-42", name: "Red shoe", quantity: 1, unitPrice: { amountMinor: 4990, currency: "EUR" } }
      const { contact } = yield* crm.events.emit({ id: "order-1", type: "order.placed", email: "ada@example.com", payload: { orderId: "o-1", lines: [line] } })
      yield* Effect.log(`Ada is now a ${contact?.stage}`)
    }).pipe(Effect.catchTag("ValidationError", (error) => Effect.logError(error.message)))

    const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logs.push(message)))
    await Effect.runPromise(program.pipe(Effect.provide(CrmLive), Effect.provide(capture)))
    expect(logs).toEqual([["Ada is now a customer"]])
  })
})
