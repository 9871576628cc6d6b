import { createCrm } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runDemo } from "../src/demo.js"

const run = async (filename: string) => {
  const lines: Array<string> = []
  const crm = await createCrm({ storage: sqliteStorage({ filename }) })
  try {
    return { report: await runDemo(crm, (line) => lines.push(line)), output: lines.join("\n") }
  } finally {
    await crm.close()
  }
}

describe("quickstart demo", () => {
  it("reports stages, moves with causes and a timeline, and a second run on the same file changes nothing", async () => {
    const filename = join(mkdtempSync(join(tmpdir(), "rapport-demo-")), "demo.db")
    const first = await run(filename)
    expect(first.report.stageCounts.filter((s) => s.count > 0)).toEqual([
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

    const second = await run(filename)
    expect(second.report.stageCounts).toEqual(first.report.stageCounts)
    expect(second.report.moves).toEqual(first.report.moves)
    expect(second.report.duplicates).toBe(7)
  })
})
