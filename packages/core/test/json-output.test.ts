// The Promise client converts results with toJson instead of Schema.encode (for speed): both must
// give the same JSON for every entity it returns.
import { Company, Contact, Contacts, CrmEvent, FieldDefinition, TimelineEntry, Workspace } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import { toJson } from "../src/internal/json.js"

const same =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: A): void => {
    expect(toJson(value)).toEqual(Schema.encodeSync(schema)(value))
  }

describe("toJson", () => {
  it.prop("equals Schema.encode for contacts", [Arbitrary.make(Contact.Contact)], ([c]) => same(Contact.Contact)(c), { fastCheck: { numRuns: 200 } })
  it.prop("equals Schema.encode for companies", [Arbitrary.make(Company.Company)], ([c]) => same(Company.Company)(c))
  it.prop("equals Schema.encode for field definitions", [Arbitrary.make(FieldDefinition.FieldDefinition)], ([d]) => same(FieldDefinition.FieldDefinition)(d))
  it.prop("equals Schema.encode for timeline entries", [Arbitrary.make(TimelineEntry.TimelineEntry)], ([e]) => same(TimelineEntry.TimelineEntry)(e))
  it.prop("equals Schema.encode for stage changes", [Arbitrary.make(TimelineEntry.StageChange)], ([e]) => same(TimelineEntry.StageChange)(e))
  it.prop("equals Schema.encode for events", [Arbitrary.make(CrmEvent.StoredEvent)], ([e]) => same(CrmEvent.StoredEvent)(e))
  it.prop("equals Schema.encode for merge results", [Arbitrary.make(Contacts.MergeResult)], ([r]) => same(Contacts.MergeResult)(r), { fastCheck: { numRuns: 50 } })
  it.prop("equals Schema.encode for workspaces", [Arbitrary.make(Workspace.Workspace)], ([w]) => same(Workspace.Workspace)(w), { fastCheck: { numRuns: 30 } })
})
