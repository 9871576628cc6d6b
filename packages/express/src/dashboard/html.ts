// HTML built with a tagged template that escapes every interpolated value unless it is already
// HTML (another template's result): a user's string can never become markup by forgetting to escape.

const brand: unique symbol = Symbol.for("@rapport/express/dashboard/Html")

/** Markup that is safe to write as is: made by {@link html}, {@link raw} or {@link jsonBlock}. */
export interface Html {
  readonly [brand]: true
  readonly text: string
}

const make = (text: string): Html => ({ [brand]: true, text })

export const isHtml = (u: unknown): u is Html => typeof u === "object" && u !== null && (u as { [brand]?: unknown })[brand] === true

const entities: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Text as HTML: the five characters that could open markup or close an attribute are escaped. */
export const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c]!)

/** What may be interpolated: text is escaped, arrays are joined, null/undefined/false write nothing. */
export type Interpolation = Html | string | number | bigint | boolean | null | undefined | ReadonlyArray<Interpolation>

const render = (value: Interpolation): string => {
  if (value === null || value === undefined || value === false || value === true) return ""
  if (Array.isArray(value)) return (value as ReadonlyArray<Interpolation>).map(render).join("")
  if (isHtml(value)) return value.text
  return escape(String(value))
}

/** The tagged template: `` html`<td>${name}</td>` `` escapes `name`. */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Interpolation>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? "")
  return make(out)
}

/** Markup the code itself wrote (never a user's text). */
export const raw = (text: string): Html => make(text)

/**
 * A JSON value inside `<script type="application/json">`: `<`, `>`, `&` and the line separators
 * are written as \u escapes, so no string in it can close the script element.
 */
export const jsonText = (value: unknown): Html =>
  make(
    JSON.stringify(value)
      .replace(/</g, "\\u003c")
      .replace(/>/g, "\\u003e")
      .replace(/&/g, "\\u0026")
      .replace(/\u2028/g, "\\u2028")
      .replace(/\u2029/g, "\\u2029")
  )
