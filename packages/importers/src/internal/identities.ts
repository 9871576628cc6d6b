// Every email and phone a record holds, labelled: the columns mapped to `email` (or `phone`) in
// the mapping's order (best column first: its first value is the primary one), each cell split
// into its values (Google's "a ::: b", HubSpot's "a;b"), each value once. A label comes from the
// column's own "… - Label" sibling (Google's "E-mail 1 - Label": "* Work") or from the column's name
// ("Home Phone", "Mobile Phone", "TEL.work", "Adresse e-mail pro"); a value met again under a
// labelled column (a vCard's TEL.cell repeats one of TEL, TEL 2…) takes that label.

import type { Labelled } from "../Mapping.js"

const LABELS: ReadonlyArray<readonly [label: string, words: ReadonlyArray<string>]> = [
  ["mobile", ["mobile", "cell", "cellular", "portable", "iphone", "gsm"]],
  ["fax", ["fax", "telecopie"]],
  ["pager", ["pager"]],
  ["home", ["home", "personal", "perso", "personnel", "personnelle", "domicile", "private", "prive"]],
  ["work", ["work", "business", "pro", "professionnel", "professionnelle", "bureau", "office", "company"]],
  ["other", ["other", "autre"]]
]

const words = (text: string): ReadonlyArray<string> =>
  text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "")

// A file has few columns: each name is looked at once.
const columnLabels = new Map<string, string | null>()

/** The label a column's name gives its values (`Home Phone 2` → `home`), or `null`. */
export const labelOfColumn = (column: string): string | null => {
  let label = columnLabels.get(column)
  if (label === undefined) {
    const found = words(column)
    label = LABELS.find(([, synonyms]) => synonyms.some((s) => found.includes(s)))?.[0] ?? null
    if (columnLabels.size < 10_000) columnLabels.set(column, label)
  }
  return label
}

/**
 * A label as a file writes it (`* Work`, `HOME`, `Mobile`): one of the known labels when it names
 * one, else the text itself (trimmed, without Google's `* ` mark, at most 32 characters), else `null`.
 */
export const cleanLabel = (raw: string): string | null => {
  const text = raw.replace(/^\s*\*\s*/, "").trim()
  if (text === "") return null
  const known = labelOfColumn(text)
  return known ?? (text.length <= 32 ? text.toLowerCase() : null)
}

/** The values of one cell: Google joins several with " ::: ", HubSpot's additional emails with ";". */
export const valuesOf = (cell: string, separators: RegExp = / ::: /): ReadonlyArray<string> =>
  cell
    .split(separators)
    .map((part) => part.trim())
    .filter((part) => part !== "")

// Google Contacts: "E-mail 1 - Value" is labelled by "E-mail 1 - Label" (older exports: "E-mail 1 -
// Type"), several labels joined by " ::: " like the values.
const labelCellOf = (values: Readonly<Record<string, unknown>>, column: string): unknown => {
  const m = /^(.*\S)\s*-\s*value$/i.exec(column)
  return m === null ? undefined : (values[`${m[1]} - Label`] ?? values[`${m[1]} - Type`])
}

/**
 * The labelled values of the columns, in order, each value once (by `key`): `read` turns a raw
 * value into the stored one, or `undefined` to leave it out (the caller reports why).
 */
export const collect = (
  values: Readonly<Record<string, unknown>>,
  columns: ReadonlyArray<string>,
  read: (raw: string, column: string) => string | undefined,
  key: (value: string) => string,
  separators?: RegExp
): ReadonlyArray<Labelled> => {
  const out: Array<Labelled> = []
  const at = new Map<string, number>()
  for (const column of columns) {
    const cell = values[column]
    if (typeof cell !== "string" && typeof cell !== "number") continue
    const typeCell = labelCellOf(values, column)
    const types = typeof typeCell === "string" ? valuesOf(typeCell) : []
    valuesOf(String(cell), separators).forEach((raw, i) => {
      const value = read(raw, column)
      if (value === undefined) return
      const type = types[i] ?? types[0]
      const label = type !== undefined ? cleanLabel(type) : labelOfColumn(column)
      const k = key(value)
      const seen = at.get(k)
      if (seen === undefined) {
        at.set(k, out.length)
        out.push({ value, label })
      } else if (out[seen]!.label === null && label !== null) {
        out[seen] = { value: out[seen]!.value, label }
      }
    })
  }
  return out
}
