// Indexes on contact fields, both kinds on rapport_contacts (workspace_id, …) and shared by every
// workspace (workspace_id leads them):
// - a field the app marks `indexed` (frequently filtered): one index on its value;
// - a segment the app marks `indexed`: one index on the fields its condition tests, equalities
//   first, then a range (`Segment.indexColumns`).
// Each column is the expression the segment compiler reads the field by for the kind of its values
// (conditionSql.ts `indexedFieldExpression`): an expression index serves only that very expression,
// and on SQLite an index holding the typed value serves a count without reading the table. An
// index's name derives from its expressions, so one made by an earlier reading of a field is never
// mistaken for the current one. Indexes stay when flags are cleared or fields and segments removed
// (another workspace may still use them; dropping one is an operator's decision).
import { Condition, type FieldDefinition, type Segment } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { type IndexedKind, indexedFieldExpression } from "./conditionSql.js"

// Field keys are validated (a letter, then letters, digits or _; at most 64): checked again here
// before they become part of the DDL text.
const FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

const digest = (texts: ReadonlyArray<string>) => createHash("sha256").update(texts.join("\u0000")).digest("hex").slice(0, 10)

const KINDS: Readonly<Partial<Record<Condition.ValueKind, IndexedKind>>> = { string: "string", date: "string", number: "number", boolean: "boolean", instant: "instant" }

/** How comparisons read the field, from the kind `Condition` gives it (a date compares as text); none for lists and amounts. */
const kindOf = (def: FieldDefinition.FieldDefinition): IndexedKind | undefined => {
  const info = Condition.resolvePath(`contact.fields.${def.key}`, Condition.contactRegistry([def], []))
  return typeof info === "string" ? undefined : KINDS[info.kind]
}

const create = (sql: SqlClient.SqlClient, name: string, expressions: ReadonlyArray<string>) =>
  Effect.asVoid(sql.unsafe(`CREATE INDEX IF NOT EXISTS "${name}" ON rapport_contacts (workspace_id, ${expressions.join(", ")})`).raw)

const expressionOf = (sql: SqlClient.SqlClient, key: string, kind: IndexedKind) =>
  FIELD_KEY.test(key) ? Effect.succeed(indexedFieldExpression(sql, key, kind)) : Effect.dieMessage(`not a field key: ${JSON.stringify(key)}`)

/**
 * Creates the index of an indexed contact field when it does not exist yet. Money and multi-select
 * fields get none: no comparison reads them as one value.
 */
export const ensureFieldIndex = (sql: SqlClient.SqlClient, def: FieldDefinition.FieldDefinition) => {
  if (def.entity !== "contact" || !def.indexed) return Effect.void
  const kind = kindOf(def)
  if (kind === undefined) return Effect.void
  return Effect.flatMap(expressionOf(sql, def.key, kind), (expression) =>
    // Readable, within PostgreSQL's 63 bytes, distinct per key (case included) and per reading.
    create(sql, `rapport_cf_${def.key.slice(0, 32).toLowerCase()}_${digest([def.key, expression])}`, [expression])
  )
}

/** Creates the index on these fields, in this order, when it does not exist yet. */
export const ensureContactIndex = (sql: SqlClient.SqlClient, columns: ReadonlyArray<Segment.IndexColumn>) =>
  Effect.flatMap(
    Effect.forEach(columns, (c) => expressionOf(sql, c.key, c.kind)),
    (expressions) => create(sql, `rapport_cx_${columns.map((c) => c.key.slice(0, 12).toLowerCase()).join("_").slice(0, 36)}_${digest(expressions)}`, expressions)
  )
