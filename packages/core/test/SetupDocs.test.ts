// docs/setup.md's example, run through the Promise client: the declaration (its first JSON block)
// applied to a new workspace answers the plan the page shows (its second JSON block); applied
// again, every line is unchanged; `crm.setup.plan` stores nothing.
import { createCrm, type CrmClient, type SetupDeclaration } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const page = readFileSync(new URL("../../../docs/setup.md", import.meta.url), "utf8")
const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown)
const declaration = blocks[0] as SetupDeclaration
const plan = blocks[1]

let crm: CrmClient
beforeAll(async () => {
  crm = await createCrm({ storage: memoryStorage() })
})
afterAll(() => crm.close())

describe("docs/setup.md", () => {
  it("has its two JSON blocks: a declaration and its plan", () => {
    expect(blocks.length).toBe(2)
    expect(Object.keys(declaration)).toEqual(["fields", "lifecycle", "pipelines", "templates", "rules"])
  })

  it("crm.setup.plan stores nothing; crm.setup(declaration) answers the plan the page shows; again, everything is unchanged", async () => {
    const preview = await crm.setup.plan(declaration)
    expect(preview).toEqual({ applied: false, plan })
    expect(await crm.templates.list()).toEqual([])
    expect(await crm.setup(declaration)).toEqual({ applied: true, plan })
    const again = await crm.setup(declaration)
    expect(again.plan.map((s) => s.action)).toEqual(Array((plan as ReadonlyArray<unknown>).length).fill("unchanged"))
    const [rule] = await crm.rules.list()
    const [template] = await crm.templates.list()
    expect(rule!.actions).toEqual([{ type: "sendEmail", template: template!.id, transactional: true }])
  })

  it("contacts.upsert through the Promise client: created, then updated", async () => {
    const first = await crm.contacts.upsert({ email: "chef@bistro.example", firstName: "Paul", fields: { segment: "restaurant" } })
    const second = await crm.contacts.upsert({ email: "CHEF@bistro.example", lastName: "Bocuse" })
    expect([first.created, second.created, second.contact.id === first.contact.id]).toEqual([true, false, true])
    expect(second.contact).toMatchObject({ firstName: "Paul", lastName: "Bocuse", fields: { segment: "restaurant" } })
  })
})
