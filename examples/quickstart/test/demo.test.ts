import { createCrm, type CrmClient, Mailer, RapportStorageError, type StorageProvider } from "@rapport/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { postgresStorage } from "@rapport/postgres"
import { sqliteStorage } from "@rapport/sqlite"
import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { demoMail, runDemo } from "../src/demo.js"

/** A run of the demo, with what reached its mailer (the demo prints mails; here they are kept). */
const run = async (storage: StorageProvider, workspace?: string) => {
  const lines: Array<string> = []
  const delivered: Array<{ readonly key: string; readonly to: string; readonly subject: string }> = []
  const mailer = {
    layer: Layer.succeed(
      Mailer.Mailer,
      Mailer.Mailer.of({ send: (mail) => Effect.sync(() => (delivered.push({ key: mail.idempotencyKey, to: mail.to, subject: mail.subject }), { messageId: mail.idempotencyKey })) })
    )
  }
  const crm = await createCrm({ storage, workspace, mail: demoMail, mailer })
  try {
    const client: CrmClient = crm
    return { report: await runDemo(client, (line) => lines.push(line)), output: lines.join("\n"), delivered }
  } finally {
    await crm.close()
  }
}

const checkTwoRuns = async (first: Awaited<ReturnType<typeof run>>, second: Awaited<ReturnType<typeof run>>) => {
  expect(first.report.stageCounts.filter((s) => s.count > 0)).toEqual([
    { stage: "suspect", count: 1 },
    { stage: "prospect", count: 1 },
    { stage: "customer", count: 1 },
    { stage: "fan", count: 1 }
  ])
  expect(second.report.stageCounts).toEqual(first.report.stageCounts)
  expect(second.report.moves).toEqual(first.report.moves)
  expect([first.report.duplicates, second.report.duplicates]).toEqual([0, 9])
  expect(first.report.weightedByStage).toEqual([
    { stage: "prospecting", count: 1, weighted: 120_000 },
    { stage: "firstContact", count: 1, weighted: 48_000 },
    { stage: "demo", count: 1, weighted: 247_500 },
    { stage: "won", count: 1, weighted: 186_000 },
    { stage: "lost", count: 1, weighted: 0 }
  ])
  expect(first.report.floor).toEqual({ below: true, weighted: 601_500, shortfall: 198_500 })
  expect(first.report.mails.map((m) => `${m.rule} ${m.to} ${m.subject}`)).toEqual([
    "order-confirmation ada@restaurant-ada.example Votre commande W-1001 est confirmée",
    "order-confirmation ada@restaurant-ada.example Votre commande W-1042 est confirmée",
    "order-confirmation ada@restaurant-ada.example Votre commande W-1107 est confirmée",
    "order-confirmation claire.martin@cave-martin.example Votre commande B-2001 est confirmée",
    "abandoned-cart hugo@example.com Hugo, votre panier vous attend"
  ])
  expect(first.report.heldBack).toEqual([
    { rule: "abandoned-cart", reason: '"unless" holds: count of order.placed since the trigger gte 1 (found 3)' }
  ])
  // Each mail the report lists reached the mailer once, under a key of its own (jobs due together go in any order).
  expect(first.delivered.map((m) => `${m.to} ${m.subject}`).sort()).toEqual(first.report.mails.map((m) => `${m.to} ${m.subject}`).sort())
  expect(new Set(first.delivered.map((m) => m.key)).size).toBe(first.report.mails.length)
  // The second run sends nothing more: every event was recognised and every job had run.
  expect(second.delivered).toEqual([])
  expect(second.report.mails).toEqual(first.report.mails)
  expect(second.report.heldBack).toEqual(first.report.heldBack)
  expect(second.report.weightedByStage).toEqual(first.report.weightedByStage)
  expect(second.report.floor).toEqual(first.report.floor)
}

// PostgreSQL when reachable (CI requires it); each run of this test uses a workspace of its own.
const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const pgProblem = await createCrm({ storage: postgresStorage({ url: pgUrl, connectTimeout: "3 seconds" }) }).then(
  (crm) => crm.close().then(() => undefined),
  (error: unknown) => (error instanceof RapportStorageError ? error.message : String(error))
)
if (pgProblem !== undefined && process.env["RAPPORT_REQUIRE_PG"] === "1") throw new Error(`PostgreSQL is required: ${pgProblem}`)
if (pgProblem !== undefined) console.warn(`\n*** Quickstart on PostgreSQL SKIPPED: ${pgProblem} ***\n`)

describe("quickstart demo", () => {
  it.runIf(pgProblem === undefined)(`runs on PostgreSQL the same way${pgProblem === undefined ? "" : " (SKIPPED: PostgreSQL unreachable)"}`, async () => {
    const workspace = `demo-${randomUUID().slice(0, 8)}`
    const storage = postgresStorage({ url: pgUrl })
    await checkTwoRuns(await run(storage, workspace), await run(storage, workspace))
  })

  it("reports stages, moves with causes and a timeline, and a second run on the same file changes nothing", async () => {
    const filename = join(mkdtempSync(join(tmpdir(), "rapport-demo-")), "demo.db")
    const first = await run(sqliteStorage({ filename }))
    expect(first.report.stageCounts.filter((s) => s.count > 0)).toEqual([
      { stage: "suspect", count: 1 },
      { stage: "prospect", count: 1 },
      { stage: "customer", count: 1 },
      { stage: "fan", count: 1 }
    ])
    expect(first.report.moves).toEqual([
      "Ada Moreau    suspect → customer",
      "Claire Martin suspect → prospect",
      "Ada Moreau    customer → loyal",
      "Ada Moreau    loyal → fan",
      "Claire Martin prospect → customer",
      "Bruno Roux    suspect → prospect"
    ])
    expect(first.output).toContain("Claire: cannot become customer yet, missing siret, vatNumber, paymentTerms")
    expect(first.output).toContain("automatic: 3 orders within 90 days (event web-order-3)")
    expect(first.output).toContain("by sales:lea: Qualified on the intro call")
    expect(first.report.duplicates).toBe(0)
    // French amounts separate thousands with a narrow no-break space.
    expect(first.output.replace(/\s/gu, " ")).toContain("Floor 8 000,00 €: BELOW by 1 985,00 €")
    expect(first.output).toContain("Next: Tasting at Bistrot Bruno (meeting, due 2025-02-27)")

    await checkTwoRuns(first, await run(sqliteStorage({ filename })))
  })
})
