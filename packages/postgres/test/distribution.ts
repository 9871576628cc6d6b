// The rules a PostgreSQL distributed by workspace (Citus, `workspace_id` as distribution column)
// imposes on Rapport, as checks the tests run on a plain PostgreSQL: one on the migrated schema,
// one on the statements the storage sends. Citus cannot run here; these follow its documented
// rules (docs/scaling.md says which), they were not run on Citus.
import type pg from "pg"

/**
 * How each table is placed. Tables not listed are distributed by `workspace_id`, colocated.
 * A new table either carries `workspace_id` in every key or is added here, with a reason.
 */
export const placement = {
  /** Distributed by another column than `workspace_id`: the workspace's own row, by its id. */
  distributedBy: { rapport_workspaces: "id" } as Readonly<Record<string, string>>,
  /**
   * Copied to every node: API keys and inbound webhook sources. Their rows belong to a workspace,
   * but they are looked up by key id or source name alone (a request presents a key, a shop posts
   * to /webhooks/in/:source, neither knows the workspace), through a unique index on that column
   * that a distributed table could not enforce across shards. Both are small and read far more than
   * written: what reference tables are for.
   */
  reference: ["rapport_api_keys", "rapport_inbound_webhooks"] as ReadonlyArray<string>,
  /** Kept on the coordinator only: the migrator's bookkeeping (migrations run there). */
  local: ["rapport_migrations"] as ReadonlyArray<string>
}

export const DISTRIBUTION_COLUMN = "workspace_id"

type Kind = "distributed" | "reference" | "local"

interface Catalog {
  readonly tables: ReadonlyArray<string>
  readonly columns: ReadonlyArray<{ table: string; column: string; type: string; collation: string | null; notNull: boolean }>
  readonly keys: ReadonlyArray<{ table: string; name: string; kind: string; columns: ReadonlyArray<string | null> }>
  readonly foreignKeys: ReadonlyArray<{ table: string; name: string; columns: ReadonlyArray<string>; references: string; referencedColumns: ReadonlyArray<string> }>
}

/** The tables, columns, unique keys and foreign keys of the connection's current schema. */
export const readCatalog = async (client: pg.ClientBase): Promise<Catalog> => {
  const tables = await client.query<{ table: string }>(
    `SELECT c.relname::text AS table FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname::text COLLATE "C"`
  )
  const columns = await client.query<{ table: string; column: string; type: string; collation: string | null; notNull: boolean }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attcollation = 0 THEN NULL ELSE a.attcollation::regcollation::text END AS collation, a.attnotnull AS "notNull"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`
  )
  // Primary keys, unique constraints and unique indexes (partial or on expressions too), and
  // exclusion constraints: each is enforced per shard, so each must hold the distribution column.
  // An expression's place in the key is NULL.
  const keys = await client.query<{ table: string; name: string; kind: string; columns: Array<string | null> }>(
    `SELECT t.relname AS table, i.relname AS name,
            CASE WHEN x.indisprimary THEN 'primary key' WHEN x.indisexclusion THEN 'exclusion constraint' ELSE 'unique index' END AS kind,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, n)
                  LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n) AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = current_schema()::regnamespace AND (x.indisunique OR x.indisexclusion)
      ORDER BY t.relname::text COLLATE "C", i.relname::text COLLATE "C"`
  )
  const foreignKeys = await client.query<{ table: string; name: string; columns: Array<string>; references: string; referencedColumns: Array<string> }>(
    `SELECT t.relname AS table, k.conname AS name, r.relname AS references,
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS c(attnum, n)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.attnum ORDER BY c.n) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS c(attnum, n)
                  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = c.attnum ORDER BY c.n) AS "referencedColumns"
       FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
      WHERE k.contype = 'f' AND t.relnamespace = current_schema()::regnamespace ORDER BY t.relname::text COLLATE "C", k.conname::text COLLATE "C"`
  )
  return { tables: tables.rows.map((r) => r.table), columns: columns.rows, keys: keys.rows, foreignKeys: foreignKeys.rows }
}

const kindOf = (table: string): Kind =>
  placement.reference.includes(table) ? "reference" : placement.local.includes(table) ? "local" : "distributed"

/** The distribution column of a distributed table. */
export const distributionColumn = (table: string) => placement.distributedBy[table] ?? DISTRIBUTION_COLUMN

/**
 * What would stop the schema from being distributed by workspace, in words; empty when nothing.
 * Citus's rules, as documented: a distributed table's primary and unique keys include its
 * distribution column (they are enforced shard by shard); colocated tables' distribution columns
 * have one type and collation; a foreign key between distributed tables includes the
 * distribution column on both sides, one from a distributed table may point at a reference table,
 * and reference tables point at nothing distributed. Local tables point at local or reference
 * tables only.
 */
export const schemaProblems = (catalog: Catalog): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const listed of [...placement.reference, ...placement.local, ...Object.keys(placement.distributedBy)]) {
    if (!catalog.tables.includes(listed)) problems.push(`${listed} is placed in test/distribution.ts but no such table exists`)
  }
  const column = (table: string, name: string) => catalog.columns.find((c) => c.table === table && c.column === name)
  const distributed = catalog.tables.filter((t) => kindOf(t) === "distributed")
  const types = new Set<string>()
  for (const table of distributed) {
    const dist = distributionColumn(table)
    const found = column(table, dist)
    if (found === undefined) {
      problems.push(`${table} has no ${dist} column: give it one, or list it as a reference or local table (with a reason)`)
      continue
    }
    if (!found.notNull) problems.push(`${table}.${dist} may be NULL: a row without a workspace has no shard`)
    types.add(`${found.type} COLLATE ${found.collation ?? "none"}`)
  }
  if (types.size > 1) problems.push(`distribution columns differ in type or collation (${[...types].join(", ")}): the tables could not be colocated`)
  for (const key of catalog.keys) {
    if (kindOf(key.table) !== "distributed") continue
    const dist = distributionColumn(key.table)
    if (!key.columns.includes(dist)) {
      problems.push(`${key.kind} ${key.name} of ${key.table} (${key.columns.map((c) => c ?? "<expression>").join(", ")}) does not include ${dist}`)
    }
  }
  for (const fk of catalog.foreignKeys) {
    const from = kindOf(fk.table)
    const to = kindOf(fk.references)
    const where = `foreign key ${fk.name} of ${fk.table} → ${fk.references}`
    if (from === "distributed" && to === "distributed") {
      const at = fk.columns.indexOf(distributionColumn(fk.table))
      if (at < 0 || fk.referencedColumns[at] !== distributionColumn(fk.references)) {
        problems.push(`${where} does not pair ${distributionColumn(fk.table)} with ${fk.references}.${distributionColumn(fk.references)}`)
      }
    } else if (from === "distributed" && to === "local") problems.push(`${where}: a distributed table cannot point at a local table`)
    else if (from !== "distributed" && to === "distributed") problems.push(`${where}: a ${from} table cannot point at a distributed table`)
    else if (from === "reference" && to === "local") problems.push(`${where}: a reference table cannot point at a local table`)
  }
  return problems
}

/** The DDL that distributes the schema (docs/scaling.md shows it): one statement per table. */
export const distributionDdl = (catalog: Catalog): ReadonlyArray<string> => {
  const distributed = catalog.tables.filter((t) => kindOf(t) === "distributed")
  // The anchor every other table is colocated with: one workspace's rows share a node.
  const anchor = "rapport_workspaces"
  return [
    ...placement.reference.filter((t) => catalog.tables.includes(t)).map((t) => `SELECT create_reference_table('${t}');`),
    ...[anchor, ...distributed.filter((t) => t !== anchor)].map((t) =>
      t === anchor
        ? `SELECT create_distributed_table('${t}', '${distributionColumn(t)}');`
        : `SELECT create_distributed_table('${t}', '${distributionColumn(t)}', colocate_with => '${anchor}');`
    )
  ]
}

// --- statements

const LOCK = /\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b/gi

/** The statement's text with string literals and comments blanked, so words inside them count for nothing. */
const code = (text: string) =>
  text
    .replace(/--[^\n]*/g, (m) => " ".repeat(m.length))
    .replace(/'(?:[^']|'')*'/g, (m) => `'${" ".repeat(m.length - 2)}'`)

/** Whether the statement locks rows explicitly (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE). */
export const locksRows = (text: string) => new RegExp(LOCK.source, "i").test(code(text))

const depthSplit = (text: string, separator: RegExp): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === "(") depth++
    else if (ch === ")") depth--
    else if (depth === 0) {
      separator.lastIndex = i
      const m = separator.exec(text)
      if (m !== null && m.index === i) {
        parts.push(text.slice(start, i))
        start = i + m[0].length
        i = start - 1
      }
    }
  }
  parts.push(text.slice(start))
  return parts
}

const unwrap = (text: string): string => {
  const t = text.trim()
  if (!t.startsWith("(") || !t.endsWith(")")) return t
  let depth = 0
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "(") depth++
    else if (t[i] === ")") depth--
    if (depth === 0 && i < t.length - 1) return t
  }
  return unwrap(t.slice(1, -1))
}

/** The conditions ANDed at the top of a WHERE clause (an OR is one condition). */
const conjuncts = (where: string): Array<string> => {
  const parts = depthSplit(unwrap(where), / AND /iy)
  return parts.length === 1 ? [unwrap(parts[0]!)] : parts.flatMap(conjuncts)
}

/**
 * Why a row-locking statement is not pinned to one workspace; empty when it is. Each SELECT that
 * locks (the query a FOR UPDATE/SHARE clause ends) must read one table, and its WHERE clause must
 * say, ANDed at the top, that the table's distribution column equals a parameter: Citus runs it on
 * that workspace's shard, the only place it can lock rows.
 */
export const pinProblems = (text: string): ReadonlyArray<string> => {
  const src = code(text).replace(/\s+/g, " ")
  const problems: Array<string> = []
  for (const lock of src.matchAll(LOCK)) {
    // The SELECT the clause ends: back to the parenthesis that opens it, or the statement's start.
    let depth = 0
    let open = -1
    for (let i = lock.index - 1; i >= 0; i--) {
      if (src[i] === ")") depth++
      else if (src[i] === "(") {
        if (depth === 0) {
          open = i
          break
        }
        depth--
      }
    }
    const query = src.slice(open + 1, lock.index)
    const select = /\bSELECT\b/i.exec(query)
    const keyword = "(?:WHERE|ORDER|LIMIT|GROUP|HAVING|FOR|JOIN|INNER|LEFT|RIGHT|FULL|CROSS|NATURAL|ON|USING)\\b"
    const from = new RegExp(`\\bFROM\\s+"?([a-z_][a-z0-9_]*)"?(?:\\s+(?:AS\\s+)?(?!${keyword})"?([a-z_][a-z0-9_]*)"?)?(.*)$`, "i").exec(query)
    if (select === null || from === null) {
      problems.push(`${lock[0]} ends no SELECT … FROM a table: ${query.trim()}`)
      continue
    }
    const table = from[1]!
    const alias = from[2]
    const body = depthSplit(from[3] ?? "", /\s(?=(?:ORDER BY|LIMIT|OFFSET|GROUP BY|HAVING|WINDOW)\b)/iy)[0] ?? ""
    if (/^\s*(?:,|JOIN\b|INNER\b|LEFT\b|RIGHT\b|FULL\b|CROSS\b|NATURAL\b)/i.test(body)) {
      problems.push(`${lock[0]} over several tables (${table} and more): lock one table, pinned to one workspace`)
      continue
    }
    const where = /^\s*WHERE\s+(.*)$/i.exec(body)
    const column = distributionColumn(table)
    const pinned = new RegExp(`^(?:"?(?:${table}${alias === undefined ? "" : `|${alias}`})"?\\.)?"?${column}"?\\s*=\\s*\\$\\d+$`, "i")
    if (where === null || !conjuncts(where[1]!).some((c) => pinned.test(c.trim()))) {
      problems.push(`${lock[0]} on ${table} without "${column} = $n" ANDed at the top of its WHERE clause: ${query.trim()}`)
    }
  }
  return problems
}
