// Setup the importer tests share: an in-memory CRM, fixtures, and the report's row accounting.
import { type Contact, Crm, type Errors, type Storage } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import type { ImportReport } from "@rapport/importers"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

export const fixture = (path: string) => fileURLToPath(new URL(`./fixtures/${path}`, import.meta.url))
export const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))
export const run = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage>) => Effect.provide(program, TestCrm)
export const bytes = (text: string) => new Uint8Array(Buffer.from(text, "utf8"))
/** Every row read is in exactly one outcome. */
export const accountedFor = (report: ImportReport) =>
  expect(report.created + report.updated + report.unchanged + report.skipped + report.rejected + report.conflicted).toBe(report.rowsRead)
export const allContacts: Effect.Effect<ReadonlyArray<Contact.Contact>, Errors.ValidationError | Errors.StorageError, Crm.Crm> = Effect.flatMap(Crm.Crm, (crm) => Effect.map(crm.contacts.list({ limit: 500 }), (page) => page.items))
