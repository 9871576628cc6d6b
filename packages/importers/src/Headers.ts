/**
 * The header row of a table (CSV or XLSX): found among the first rows (a title such as "Contacts —
 * export of 12/03/2025" above it is skipped), and rows turned into records keyed by its names.
 * Shared by the table readers so they agree.
 *
 * @since 0.3.0
 */
import type { Cell, SourceRecord } from "./Records.js"

/**
 * How many leading rows are searched for the header.
 *
 * @since 0.3.0
 * @category constructors
 */
export const searchDepth = 10

const text = (cell: Cell): string => (cell === null ? "" : cell instanceof Date ? cell.toISOString() : String(cell)).trim()

const filled = (row: ReadonlyArray<Cell>) => row.filter((cell) => text(cell) !== "")

/**
 * The index, among `rows` (the first rows of a table), of its header: the first row with at least
 * two filled cells, all of them text that is not a number or a date, that reaches as far right as
 * most of the rows below it (a title row above the header is narrower; one ragged data row does
 * not count). `0` when no row qualifies (the first row is then taken as the header).
 *
 * @since 0.3.0
 * @category utils
 */
export const detect = (rows: ReadonlyArray<ReadonlyArray<Cell>>): number => {
  const looksLikeName = (cell: Cell) => typeof cell === "string" && cell.trim() !== "" && !/^[\d\s.,:/+-]+$/.test(cell.trim())
  const width = (row: ReadonlyArray<Cell>) => {
    let w = row.length
    while (w > 0 && text(row[w - 1] ?? null) === "") w--
    return w
  }
  for (let i = 0; i < Math.min(rows.length, searchDepth); i++) {
    const cells = filled(rows[i]!)
    if (cells.length < 2 || !cells.every(looksLikeName)) continue
    const below = rows.slice(i + 1, i + 1 + searchDepth).map(width).filter((w) => w > 0)
    if (width(rows[i]!) >= mostCommon(below)) return i
  }
  return 0
}

// The most common value (the largest among equally common ones); 0 for none.
const mostCommon = (values: ReadonlyArray<number>): number => {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best = 0
  let bestCount = 0
  for (const [v, n] of counts) if (n > bestCount || (n === bestCount && v > best)) [best, bestCount] = [v, n]
  return best
}

/**
 * The header's names: trimmed, blanks named `column <n>`, repeated names suffixed ` (2)`, ` (3)`.
 *
 * @since 0.3.0
 * @category utils
 */
export const names = (header: ReadonlyArray<Cell>): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  return header.map((cell, i) => {
    const name = text(cell) || `column ${i + 1}`
    const n = (seen.get(name) ?? 0) + 1
    seen.set(name, n)
    return n === 1 ? name : `${name} (${n})`
  })
}

/**
 * A row as a record keyed by the header's names; missing trailing cells are empty (spreadsheets
 * drop them). A row with more filled cells than the header has columns is kept with a `problem`
 * saying so: it is reported, not silently cut. Trailing empty cells do not count.
 *
 * @since 0.3.0
 * @category constructors
 */
export const record = (headers: ReadonlyArray<string>, cells: ReadonlyArray<Cell>, line: number): SourceRecord => {
  let width = cells.length
  while (width > 0 && text(cells[width - 1] ?? null) === "") width--
  const values: Record<string, Cell> = Object.create(null) as Record<string, Cell>
  headers.forEach((name, i) => {
    const cell = cells[i] ?? null
    values[name] = typeof cell === "string" && cell.trim() === "" ? null : cell
  })
  if (width > headers.length) {
    return { line, values, problem: `has ${width} fields, but the header has ${headers.length}: a separator or quote is probably misplaced` }
  }
  return { line, values }
}

/**
 * Whether a row is empty (every cell blank): such rows are skipped, as spreadsheets leave them.
 *
 * @since 0.3.0
 * @category utils
 */
export const isBlank = (cells: ReadonlyArray<Cell>): boolean => cells.every((cell) => text(cell) === "")
