// Rules' tag, score, field and owner changes leave one `ruleChange` entry each on the contact's
// timeline, naming the rule (issue 15); an action that changes nothing leaves none.
import { Crm } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { withCrm } from "./helpers.js"

describe("rules on the timeline", () => {
  it.effect("each of addTag, adjustScore, setField and assignOwner leaves one entry naming its rule", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        yield* crm.fields.define({ key: "tier", type: "select", options: ["bronze", "gold"] })
        const ada = yield* crm.contacts.create({ email: "ada@example.com" })
        const tag = yield* crm.rules.create({ name: "Tag VIPs", on: "page.viewed", actions: [{ type: "addTag", tag: "vip" }] })
        const score = yield* crm.rules.create({ name: "Score visits", on: "page.viewed", actions: [{ type: "adjustScore", by: 5 }] })
        const field = yield* crm.rules.create({ name: "Gold tier", on: "page.viewed", actions: [{ type: "setField", key: "tier", value: "gold" }] })
        const owner = yield* crm.rules.create({ name: "Assign sales", on: "page.viewed", actions: [{ type: "assignOwner", roundRobin: ["alice"] }] })
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
        yield* crm.dispatcher.runDue()

        const entries = (yield* crm.timeline.list(ada.id, { kinds: ["ruleChange"] })).items
        const byRule = (id: string) => entries.filter((e) => e.author === `rule:${id}`)
        expect(entries.length).toBe(4)
        for (const [rule, action] of [[tag, "addTag"], [score, "adjustScore"], [field, "setField"], [owner, "assignOwner"]] as const) {
          const mine = byRule(rule.id)
          expect(mine.length).toBe(1)
          expect(mine[0]!.summary).toContain(`Rule "${rule.name}"`)
          expect(mine[0]!.payload).toMatchObject({ ruleId: rule.id, ruleName: rule.name, action })
        }
        expect(byRule(tag.id)[0]!.payload).toMatchObject({ tag: "vip" })
        expect(byRule(score.id)[0]!.payload).toMatchObject({ from: 0, to: 5 })
        expect(byRule(field.id)[0]!.payload).toMatchObject({ key: "tier", from: null, to: "gold" })
        expect(byRule(owner.id)[0]!.payload).toMatchObject({ from: null, to: "alice" })

        // Again: the tag, the field and the owner are already so; only the score changes.
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/again" } })
        yield* crm.dispatcher.runDue()
        const after = (yield* crm.timeline.list(ada.id, { kinds: ["ruleChange"] })).items
        expect(after.length).toBe(5)
        expect(after[0]!.payload).toMatchObject({ ruleId: score.id, from: 5, to: 10 })
      })
    ))

  it.effect("removeTag leaves an entry too", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ada = yield* crm.contacts.create({ email: "ada@example.com", tags: ["cart"] })
        const rule = yield* crm.rules.create({ name: "Bought", on: "page.viewed", actions: [{ type: "removeTag", tag: "cart" }] })
        yield* crm.events.emit({ type: "page.viewed", contactId: ada.id, payload: { url: "/" } })
        yield* crm.dispatcher.runDue()
        const entries = (yield* crm.timeline.list(ada.id, { kinds: ["ruleChange"] })).items
        expect(entries.map((e) => [e.author, e.summary])).toEqual([[`rule:${rule.id}`, 'Rule "Bought" removed tag cart']])
      })
    ))
})
