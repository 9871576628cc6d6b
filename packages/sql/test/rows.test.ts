// Rows are written without the Schema machinery (writeRow): what is written must be what
// Schema.encode of the row codec gives, for any valid entity, on every table.
import { Company, Consent, Contact, CrmEvent, Deal, FieldDefinition, Job, Money, Task, Template, TimelineEntry, Workspace } from "@rapport/core"
import { Fixtures } from "@rapport/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import {
  CompanyRow,
  ConsentRow,
  ContactRow,
  DealRow,
  EventRow,
  FieldDefinitionRow,
  FiringRow,
  JobRow,
  PipelineRow,
  RuleRow,
  TaskRow,
  TemplateRow,
  OrderFromRows,
  TimelineRow,
  WorkspaceRow,
  writeOrder,
  writeRow
} from "../src/internal/rows.js"

const cases: ReadonlyArray<readonly [string, Schema.Schema<any, any>, Schema.Schema<any, any>]> = [
  ["workspace", WorkspaceRow, Workspace.Workspace],
  ["field definition", FieldDefinitionRow, FieldDefinition.FieldDefinition],
  ["contact", ContactRow, Contact.Contact],
  ["company", CompanyRow, Company.Company],
  ["timeline entry", TimelineRow, TimelineEntry.TimelineEntry],
  ["event", EventRow, CrmEvent.StoredEvent],
  ["deal", DealRow, Deal.Deal],
  ["task", TaskRow, Task.Task],
  ["template", TemplateRow, Template.Template],
  ["firing", FiringRow, Job.Firing],
  ["consent", ConsentRow, Consent.ConsentRecord]
]

describe("writeRow", () => {
  for (const [name, row, entity] of cases) {
    it(`writes a ${name} as Schema.encode of its row codec does`, () => {
      const encode = Schema.encodeSync(row)
      const write = writeRow(row)
      FastCheck.assert(
        FastCheck.property(Arbitrary.make(entity), (value) => {
          expect(write(value)).toStrictEqual(encode(value))
        }),
        { numRuns: 50 }
      )
    })
  }

  // Pipelines, rules and jobs have no quick arbitrary (refinements, recursive conditions): a few of
  // each by hand, with every nullable column both ways.
  it("writes pipelines, rules and jobs as Schema.encode of their row codecs does", () => {
    const ws = Fixtures.freshWorkspaceId()
    const at = DateTime.unsafeMake("2025-05-01T10:00:00.000Z")
    const pipelines = Effect.runSync(Effect.all([Fixtures.pipeline(ws), Fixtures.pipeline(ws, { floor: { amountMinor: 1_000_000, currency: Money.Currency.make("EUR") } })]))
    const rules = Effect.runSync(
      Effect.all([
        Fixtures.rule(ws),
        Fixtures.rule(ws, {
          when: { path: "event.payload.url", op: "startsWith", value: "/sale" },
          delay: "1 day",
          limits: { oncePer: "event.payload.cartId", cooldown: "2 hours" },
          goal: { event: "order.placed", within: "7 days" },
          enabled: false
        })
      ])
    )
    const jobs = Effect.runSync(
      Effect.all([
        Fixtures.job(ws),
        Fixtures.job(ws, { kind: "check", action: null, actionIndex: null }),
        Fixtures.job(ws, { status: "done", outcome: { messageId: "m-1" }, completedAt: at, leaseUntil: at, claimToken: "t", reservedAt: at, category: "marketing", variant: "b" })
      ])
    )
    for (const p of pipelines) expect(writeRow(PipelineRow)(p)).toStrictEqual(Schema.encodeSync(PipelineRow)(p))
    for (const r of rules) expect(writeRow(RuleRow)(r)).toStrictEqual(Schema.encodeSync(RuleRow)(r))
    for (const j of jobs) expect(writeRow(JobRow)(j)).toStrictEqual(Schema.encodeSync(JobRow)(j))
    // A job without an action is written with the JSON text null, as Schema.encode writes it.
    expect(writeRow(JobRow)(jobs[1]!).action).toBe("null")
  })

  it("writes orders (header and lines) as Schema.encode of OrderFromRows does", () => {
    const ws = Fixtures.freshWorkspaceId()
    const contact = Effect.runSync(Fixtures.contact(ws)).id
    const eur = Money.Currency.make("EUR")
    const orders = [
      Fixtures.order(ws, contact, "o-1"),
      Fixtures.order(ws, contact, "o-2", {
        placedAt: DateTime.unsafeMake("2025-05-01T10:00:00.123Z"),
        totalMinor: 7,
        lines: [{ sku: "A", name: "A thing", quantity: 7, unitPrice: { amountMinor: 1, currency: eur } }]
      })
    ]
    for (const o of orders) expect(writeOrder(o)).toStrictEqual(Schema.encodeSync(OrderFromRows)(o))
  })
})
