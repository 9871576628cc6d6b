// Test helpers: a fresh in-memory CRM per test, and a way to read what a failing effect failed with.
import { Crm, FieldDefinition, Storage, type Ids, Workspaces } from "@rapport/core"
import * as DateTime from "effect/DateTime"
import { SqliteStorage } from "@rapport/sqlite"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

export const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))

/** Runs a program on a fresh in-memory CRM. */
export const withCrm = <A, E>(program: Effect.Effect<A, E, Crm.Services | Storage.Storage>) =>
  Effect.provide(program, TestCrm)

/** The error an effect fails with; fails the test if it succeeds. */
export const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.either(effect), (result) =>
    Either.isLeft(result) ? Effect.succeed(result.left) : Effect.dieMessage("expected a failure, got a success")
  )

export const inWorkspace = (id: Ids.WorkspaceId) => Workspaces.withWorkspace(id)

export const line = (sku: string, quantity = 1, amountMinor = 1000, currency = "EUR") => ({
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPrice: { amountMinor, currency }
})

export { Storage }

/** A contact field definition as stored, with plain options (for tests of conditions over fields). */
export const contactField = (workspaceId: Ids.WorkspaceId, key: string, type: FieldDefinition.FieldType, options: ReadonlyArray<string> = []) =>
  new FieldDefinition.FieldDefinition({
    workspaceId,
    entity: "contact",
    key: FieldDefinition.FieldKey.make(key),
    label: key,
    type,
    options: options.map((value) => ({ value, label: value })),
    required: "never",
    unique: false,
    description: null,
    position: 0,
    version: 1,
    createdAt: DateTime.unsafeMake("2025-01-01T00:00:00Z"),
    updatedAt: DateTime.unsafeMake("2025-01-01T00:00:00Z")
  })
