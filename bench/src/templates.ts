// Template rendering per mail: an order receipt in Liquid (subject, HTML and text bodies: a loop
// over the order's lines, conditions, `money` and `date`), rendered for generated contacts and
// orders, two ways on the same data:
//
//   Rapport         Template.compile once, then per mail TemplateVariables.contextFor (what the
//                   dispatcher builds from the contact, the workspace and the event: the order's
//                   lines with their totals) and compiled.render (escaping for the HTML context,
//                   URL checks, the subject on one line, the recipient's locale and timezone);
//   LiquidJS alone  the same three sources parsed once by plain Liquid instances (outputEscape
//                   "escape" for the HTML body, none for the subject and text; `money` and `date`
//                   filters registered as a developer would write them with Intl), rendered with
//                   renderSync on the values contextFor produced.
//
// Both must give the same mails (checked on every mail of the first round). Each round renders
// every mail on each side, the order alternating; figures are medians, with the range of the
// rounds' ratios.
import { Template, TemplateVariables } from "@rapport/core"
import { Liquid } from "liquidjs"
import { median, random } from "./stats.js"

export interface Options {
  readonly mails: number
  readonly rounds: number
}

const content: Template.Content = {
  subject: "{{ contact.firstName | default: 'Hello' }}, your order {{ order.id }} is confirmed",
  html:
    '<h1>Thank you {{ contact.firstName }}!</h1><table>{% for line in order.lines %}<tr class="{% if forloop.index0 == 0 %}first{% else %}next{% endif %}"><td>{{ line.name }}</td>' +
    "<td>{{ line.quantity }}</td><td>{{ line.total | money }}</td></tr>{% endfor %}</table>" +
    "{% if order.lines.size > 2 %}<p>Free delivery!</p>{% endif %}<p>Total: {{ order.total | money }}, {{ event.occurredAt | date }}</p>" +
    '<p><a href="https://shop.example/orders/{{ order.id }}">Your order</a></p>',
  text:
    "Thank you {{ contact.firstName }}!\n{% for line in order.lines %}{{ line.quantity }} × {{ line.name }}: {{ line.total | money }}\n{% endfor %}" +
    "Total: {{ order.total | money }}, {{ event.occurredAt | date }}"
}

const NAMES = ["Ada", "Zoé", "Élodie", "Bob", "Marie-Anne", "Jean <Dev>", "Chloé & Co", "Noémie"]
const PRODUCTS = ["Red shoes", "Socks (3 pairs)", "Blue scarf", "Leather belt", "Wool hat", "Gloves"]
const LOCALES = ["fr-FR", "en-GB", "en-US", "fr-BE"]
const ZONES = ["Europe/Paris", "Europe/London", "America/New_York", "Europe/Brussels"]

const workload = (mails: number) => {
  const next = random(15)
  return Array.from({ length: mails }, (_, i) => {
    const lines = Array.from({ length: 1 + Math.floor(next() * 5) }, (_, j) => ({
      sku: `SKU-${i}-${j}`,
      name: PRODUCTS[Math.floor(next() * PRODUCTS.length)]!,
      quantity: 1 + Math.floor(next() * 3),
      unitPrice: { amountMinor: 500 + Math.floor(next() * 20_000), currency: "EUR" }
    }))
    const at = Math.floor(next() * 4)
    return {
      workspace: { name: "Boutique Lumière", timezone: "Europe/Paris", country: "FR" },
      contact: { id: `c-${i}`, email: `c${i}@example.com`, firstName: NAMES[i % NAMES.length]!, lastName: "Martin", timezone: ZONES[at]!, fields: { locale: LOCALES[at]! } },
      company: null,
      event: { id: `e-${i}`, type: "order.placed", occurredAt: new Date(Date.UTC(2026, 11, 1 + (i % 28), 8 + (i % 12))).toISOString(), payload: { orderId: `O-${1000 + i}`, lines } }
    } satisfies TemplateVariables.ContextInput
  })
}

// LiquidJS as a developer would set it up for the same mails.
const peer = () => {
  // One instance escapes for the HTML body, the other prints the subject and the text as they are.
  const html = new Liquid({ outputEscape: "escape", strictFilters: true })
  const text = new Liquid({ strictFilters: true })
  for (const liquid of [html, text]) filters(liquid)
  const parsed = { subject: text.parse(content.subject), html: html.parse(content.html!), text: text.parse(content.text!) }
  return (values: object): Template.Content => ({
    subject: text.renderSync(parsed.subject, values) as string,
    html: html.renderSync(parsed.html, values) as string,
    text: text.renderSync(parsed.text, values) as string
  })
}

const filters = (liquid: Liquid) => {
  const money = new Map<string, Intl.NumberFormat>()
  const dates = new Map<string, Intl.DateTimeFormat>()
  const recipient = (self: { readonly context: { readonly environments: unknown } }) => (self.context.environments as { contact: { locale: string; timezone: string } }).contact
  liquid.registerFilter("money", function (this: { readonly context: { readonly environments: unknown } }, value: { amountMinor: number; currency: string }) {
    const { locale } = recipient(this)
    const key = `${locale}/${value.currency}`
    let format = money.get(key)
    if (format === undefined) money.set(key, (format = new Intl.NumberFormat(locale, { style: "currency", currency: value.currency })))
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2
    const units = String(Math.abs(value.amountMinor)).padStart(digits + 1, "0")
    return format.format(`${value.amountMinor < 0 ? "-" : ""}${units.slice(0, -digits)}.${units.slice(-digits)}` as unknown as number)
  })
  liquid.registerFilter("date", function (this: { readonly context: { readonly environments: unknown } }, value: string) {
    const { locale, timezone } = recipient(this)
    const key = `${locale}/${timezone}`
    let format = dates.get(key)
    if (format === undefined) dates.set(key, (format = new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: timezone })))
    return format.format(Date.parse(value))
  })
}

export const run = async (options: Options, print: (line: string) => void) => {
  const inputs = workload(options.mails)
  const compiled = Template.compile(content)
  if (compiled._tag === "Left") throw new Error(`the bench template does not compile: ${JSON.stringify(compiled.left)}`)
  const rapport = compiled.right
  const liquidAlone = peer()
  const contexts = inputs.map((input) => TemplateVariables.contextFor(input))

  // The answers: the same mails (LiquidJS's escape writes &#34; where Rapport writes &quot;).
  const same = (a: Template.Content, b: Template.Content) =>
    a.subject === b.subject && a.text === b.text && a.html?.replace(/&quot;/g, "&#34;") === b.html
  inputs.forEach((input, i) => {
    const ours = rapport.render(TemplateVariables.contextFor(input))
    const theirs = liquidAlone(contexts[i]!)
    if (!same(ours, theirs)) throw new Error(`mail ${i} differs:\n${JSON.stringify(ours)}\n${JSON.stringify(theirs)}`)
  })

  const time = (body: () => void) => {
    const started = performance.now()
    body()
    return performance.now() - started
  }
  const sides = {
    rapport: () => time(() => inputs.forEach((input) => rapport.render(TemplateVariables.contextFor(input)))),
    renderOnly: () => time(() => contexts.forEach((context) => rapport.render(context))),
    peer: () => time(() => contexts.forEach((context) => liquidAlone(context)))
  }
  // One untimed warm-up of each side.
  sides.rapport()
  sides.renderOnly()
  sides.peer()
  const rounds: Array<{ rapport: number; renderOnly: number; peer: number }> = []
  for (let r = 0; r < options.rounds; r++) {
    if (r % 2 === 0) {
      const rapport = sides.rapport()
      const renderOnly = sides.renderOnly()
      rounds.push({ rapport, renderOnly, peer: sides.peer() })
    } else {
      const peerMs = sides.peer()
      const renderOnly = sides.renderOnly()
      rounds.push({ rapport: sides.rapport(), renderOnly, peer: peerMs })
    }
  }
  const perMail = (ms: number) => (ms * 1000) / options.mails
  const line = (label: string, values: ReadonlyArray<number>, note: string) => {
    const us = values.map(perMail)
    print(`  ${label.padEnd(28)} ${median(us).toFixed(1).padStart(7)} µs/mail   (rounds ${Math.min(...us).toFixed(1)}–${Math.max(...us).toFixed(1)})   ${note}`)
  }
  line("Rapport (context + render)", rounds.map((r) => r.rapport), "TemplateVariables.contextFor + compiled.render: subject, html, text")
  line("Rapport (render only)", rounds.map((r) => r.renderOnly), "compiled.render on the same values as LiquidJS")
  line("LiquidJS alone", rounds.map((r) => r.peer), "renderSync of the same parsed sources, outputEscape \"escape\"")
  const ratios = rounds.map((r) => r.rapport / r.peer)
  const renderRatios = rounds.map((r) => r.renderOnly / r.peer)
  print(
    `  ratio                        ${median(ratios).toFixed(2)}x LiquidJS alone (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); ` +
      `render only ${median(renderRatios).toFixed(2)}x (${Math.min(...renderRatios).toFixed(2)}–${Math.max(...renderRatios).toFixed(2)}); the same ${options.mails.toLocaleString("en-US")} mails on both sides`
  )
}
