// An import that wrote tells the subscribers of the `import.finished` webhook, with its counts, in
// the client's workspace; a dry run tells no one.
import { createCrm, type CrmClient, type Job } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { importFile } from "@rapport/importers"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { bytes } from "./helpers.js"

let crm: CrmClient | undefined
afterEach(async () => {
  await crm?.close()
  crm = undefined
})

const csv = bytes("E-mail Address,First Name\nada@example.com,Ada\nnot-an-email,Bob\nada@example.com,Ada again\n")

const messages = async (client: CrmClient, subscriptionId: string) =>
  (await client.dispatcher.jobs({ ruleId: `webhook:${subscriptionId}` })).items.map((job) => JSON.parse((job.action as Job.WebhookMessage).body) as { type: string; data: unknown })

describe("import.finished", () => {
  it("an import queues one import.finished message per subscriber with the report's counts; a dry run queues none", async () => {
    const client = await createCrm({ storage: memoryStorage(), workspace: "acme" })
    crm = client
    const { subscription } = await client.webhooks.create({ url: "https://erp.example.com/hooks", eventTypes: ["import.finished"] })
    await importFile(client, csv, { dryRun: true })
    expect(await messages(client, subscription.id)).toEqual([])
    const report = await importFile(client, csv)
    const sent = await messages(client, subscription.id)
    expect(sent).toEqual([
      {
        type: "import.finished",
        timestamp: expect.any(String),
        data: {
          import: {
            importId: expect.any(String),
            format: report.format,
            rowsRead: 3,
            created: report.created,
            updated: report.updated,
            skipped: report.skipped,
            rejected: report.rejected,
            conflicted: report.conflicted,
            stopped: null,
            durationMs: report.durationMs
          }
        }
      }
    ])
    expect([report.created, report.rejected]).toEqual([1, 1])
    // Another workspace's subscribers hear nothing of it.
    const other = client.workspace("other")
    const elsewhere = await other.webhooks.create({ url: "https://erp.example.com/other", eventTypes: ["*"] })
    await importFile(client, csv)
    expect(await messages(other, elsewhere.subscription.id)).toEqual([])
    expect(await messages(client, subscription.id)).toHaveLength(2)
  })
})
