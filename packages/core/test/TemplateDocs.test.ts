// Every example of docs/templates.md, rendered: each ```liquid block (a text body; `liquid html`
// an HTML body; `locale=xx` another locale; `error` a template saving refuses) and the ```output
// block after it. A new example in the page is tested without touching this file. The variables
// tables are checked against TemplateVariables, the one place that defines them.
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import * as Template from "../src/domain/Template.js"
import * as TemplateVariables from "../src/domain/TemplateVariables.js"

const page = readFileSync(new URL("../../../docs/templates.md", import.meta.url), "utf8")

interface Example {
  readonly line: number
  readonly flags: ReadonlyArray<string>
  readonly source: string
  readonly output: string | undefined
}

const examples = (): ReadonlyArray<Example> => {
  const blocks = [...page.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1]!.trim().split(/\s+/),
    body: m[2]!.replace(/\n$/, ""),
    line: page.slice(0, m.index).split("\n").length
  }))
  const out: Array<Example> = []
  blocks.forEach((block, i) => {
    if (block.info[0] !== "liquid") return
    const next = blocks[i + 1]
    out.push({ line: block.line, flags: block.info.slice(1), source: block.body, output: next?.info[0] === "output" ? next.body : undefined })
  })
  return out
}

// The reader of the page: described in its introduction.
const fields = [
  { entity: "contact" as const, key: "locale" },
  { entity: "contact" as const, key: "note" },
  { entity: "contact" as const, key: "website" },
  { entity: "contact" as const, key: "vip" },
  { entity: "contact" as const, key: "nickname" }
]
const sample = TemplateVariables.sampleEvent("order.placed")
const contextFor = (locale: string | undefined) => {
  const context = TemplateVariables.contextFor({
    workspace: { name: "Boutique Lumière", timezone: "Europe/Paris", country: "FR" },
    contact: {
      id: "0190a6e2-7c3b-7def-8abc-0123456789ab",
      email: "zoe@example.com",
      firstName: "Zoé",
      lastName: "Martin",
      timezone: "Europe/Paris",
      tags: ["vip"],
      fields: { locale: "fr-FR", note: '<b>VIP</b> & "friends"', website: "javascript:alert(1)" }
    },
    company: { id: "c-1", name: "Atelier Martin", domain: "atelier-martin.example", phone: null, tags: [], fields: {} },
    event: { id: "e-1", type: sample.type, occurredAt: "2026-12-07T23:30:00.000Z", payload: sample.payload }
  })
  return locale === undefined ? context : { ...context, contact: { ...(context["contact"] as object), locale } }
}

// Intl separates thousands and currencies with narrow and no-break spaces; the page writes spaces.
const spaces = (s: string) => s.replace(/[\u00a0\u202f]/g, " ")

describe("docs/templates.md", () => {
  const all = examples()

  it("has examples, each followed by its output", () => {
    expect(all.length).toBeGreaterThanOrEqual(12)
    expect(all.filter((e) => e.output === undefined).map((e) => `line ${e.line}`)).toEqual([])
  })

  for (const example of all) {
    const locale = example.flags.find((f) => f.startsWith("locale="))?.slice("locale=".length)
    const html = example.flags.includes("html")
    const content = { subject: "", html: html ? example.source : null, text: html ? null : example.source }
    if (example.flags.includes("error")) {
      it(`line ${example.line}: saving refuses it with the messages shown`, () => {
        const issues = Template.check(content, (path) => TemplateVariables.isKnown(path, { fields }))
        expect(issues.map((i) => i.message).join("\n")).toBe(example.output)
      })
    } else {
      it(`line ${example.line}: renders the output shown, and saving accepts it`, () => {
        expect(Template.check(content, (path) => TemplateVariables.isKnown(path, { fields }))).toEqual([])
        const rendered = Either.getOrThrow(Either.getOrThrow(Template.compile(content)).renderEither(contextFor(locale)))
        expect(spaces((html ? rendered.html : rendered.text) ?? "")).toBe(example.output)
      })
    }
  }

  it("lists exactly the variables TemplateVariables defines, per kind of mail", () => {
    const sections = [...page.matchAll(/<!-- variables: ([\w.]+) -->\n((?:\|.*\n)+)/g)]
    const expected: Record<string, Readonly<Record<string, TemplateVariables.Shape>>> = {
      common: TemplateVariables.common,
      followUp: TemplateVariables.followUp,
      confirmation: TemplateVariables.confirmation,
      ...TemplateVariables.byEventType
    }
    expect(sections.map((s) => s[1]).sort()).toEqual(Object.keys(expected).sort())
    for (const [, name, table] of sections) {
      const inPage = [...table!.matchAll(/^\| `([^`]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2]!.replace(/\\\|/g, "|")])
      const paths: Array<Array<string>> = []
      const visit = (path: string, shape: TemplateVariables.Shape) => {
        paths.push([path, shape.doc])
        if (shape._tag === "Object") for (const [key, child] of Object.entries(shape.fields)) visit(`${path}.${key}`, child)
        if (shape._tag === "List") visit(`${path}[]`, shape.of)
      }
      for (const [root, shape] of Object.entries(expected[name!]!)) visit(root, shape)
      expect([name, inPage]).toEqual([name, paths])
    }
  })
})
