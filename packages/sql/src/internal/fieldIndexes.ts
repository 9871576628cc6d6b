// Expression indexes for contact fields the app marks `indexed` (frequently filtered): one index
// per field key on rapport_contacts (workspace_id, <the field's value>), the expression being the
// one the segment compiler reads the field by (conditionSql.ts), so the planner can use it. One
// index serves every workspace that indexes a field of that key (workspace_id leads it). An index
// stays when the flag is cleared or the field removed (another workspace may still filter on it;
// dropping it is an operator's decision).
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { fieldExpression } from "./conditionSql.js"

// Field keys are validated (a letter, then letters, digits or _; at most 64): checked again here
// before they become part of the DDL text.
const FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

/** The index's name: readable, within PostgreSQL's 63 bytes, distinct per key (case included). */
export const fieldIndexName = (key: string): string =>
  `rapport_cf_${key.slice(0, 32).toLowerCase()}_${createHash("sha256").update(key).digest("hex").slice(0, 10)}`

/** Creates the index of an indexed contact field when it does not exist yet. */
export const ensureFieldIndex = (sql: SqlClient.SqlClient, def: { readonly entity: string; readonly key: string; readonly indexed: boolean }) => {
  if (def.entity !== "contact" || !def.indexed) return Effect.void
  if (!FIELD_KEY.test(def.key)) return Effect.dieMessage(`not a field key: ${JSON.stringify(def.key)}`)
  const pg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
  return Effect.asVoid(
    sql.unsafe(`CREATE INDEX IF NOT EXISTS "${fieldIndexName(def.key)}" ON rapport_contacts (workspace_id, ${fieldExpression(pg, def.key)})`).raw
  )
}
