// Server-rendered HTML for the back office: a few plain pages, no front-end build. Every value
// from the database goes through `esc`; every form field has a label; the layout works on a phone.

/** Escapes text for HTML content and attribute values. */
export const esc = (value: unknown): string =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** HTML already escaped, to be placed as it is. */
export interface Html {
  readonly html: string
}

/** A template literal that escapes every interpolated value except {@link Html} (and lists of it). */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>): Html => ({
  html: strings.reduce((out, s, i) => out + s + (i < values.length ? show(values[i]) : ""), "")
})

const show = (value: unknown): string =>
  Array.isArray(value) ? value.map(show).join("") : typeof value === "object" && value !== null && "html" in value ? String((value as Html).html) : esc(value)

/** Amounts in minor units, as the French back office writes them. */
export const euros = (amountMinor: number, currency = "EUR") =>
  new Intl.NumberFormat("fr-FR", { style: "currency", currency }).format(amountMinor / 100)

const CSS = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2330;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:.75rem 1rem}header a{color:#fff;margin-right:1rem}
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem}section{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6eb}td.num,th.num{text-align:right}
form{display:grid;gap:.5rem;max-width:32rem}label{font-weight:600}input,select,textarea,button{font:inherit;padding:.4rem;min-height:2.5rem}
button{background:#1f3a5f;color:#fff;border:0;border-radius:4px;cursor:pointer}.inline{display:inline-grid;margin:.25rem}
.error{background:#fde8e8;border:1px solid #b42318;color:#7a1111;padding:.75rem;border-radius:6px}.ok{background:#e7f6ec;border:1px solid #1a7f37;padding:.75rem;border-radius:6px}
.below{color:#b42318;font-weight:700}.above{color:#1a7f37;font-weight:700}@media(max-width:40rem){table{font-size:.875rem}}`

/** A whole page: one h1, a nav, the main content, and an optional error or notice. */
export const page = (title: string, body: Html, options: { readonly error?: string | null; readonly notice?: string | null } = {}): string =>
  `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Vasseur Équipement Pro</title><style>${{ html: CSS }}</style></head>
<body><header><nav aria-label="Main"><a href="/">Pipeline</a><a href="/companies">Companies</a><a href="/quotes">Quotes</a><a href="/mails">Mails (dev)</a><a href="/crm/api/docs">API</a><a href="/crm/dashboard/">Dashboard</a></nav></header>
<main><h1>${title}</h1>${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}${options.notice ? html`<p class="ok" role="status">${options.notice}</p>` : ""}${body}</main></body></html>`.html}`
