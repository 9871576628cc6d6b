import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import * as Ids from "../src/domain/Ids.js"
import * as Template from "../src/domain/Template.js"

const fc = FastCheck

const compile = (content: Partial<Template.Content>) =>
  Either.getOrThrow(Template.compile({ subject: "", html: null, text: null, ...content }))

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
const quoted = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`
const anyText = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string({ unit: "binary" }))

const KEYWORDS = new Set(["nil", "null", "true", "false", "empty", "blank", "and", "or", "not", "contains", "in"])
const safeIdentifier = identifier.filter((s) => !KEYWORDS.has(s) && !s.startsWith("rapport_"))
const safePath = fc.array(safeIdentifier, { minLength: 1, maxLength: 4 })

// The old engine's outputs, captured by running it on these templates and contexts before the
// LiquidJS engine replaced it (see the fixture's note).
const legacy = JSON.parse(readFileSync(new URL("./fixtures/templates/legacy.json", import.meta.url), "utf8")) as {
  readonly contexts: Readonly<Record<string, Template.RenderContext>>
  readonly templates: ReadonlyArray<{ readonly name: string; readonly content: Template.Content; readonly renders: Readonly<Record<string, Template.Content>> }>
}

describe("Template: templates of earlier versions", () => {
  it("render exactly as the placeholder engine of 0.7 rendered them (captured fixture)", () => {
    expect(legacy.templates.length).toBeGreaterThanOrEqual(8)
    let compared = 0
    for (const template of legacy.templates) {
      const compiled = Either.getOrThrow(Template.compile(template.content))
      for (const [context, expected] of Object.entries(template.renders)) {
        expect([template.name, context, compiled.render(legacy.contexts[context]!)]).toEqual([template.name, context, expected])
        compared++
      }
    }
    expect(compared).toBe(legacy.templates.length * Object.keys(legacy.contexts).length)
  })

  it("read `{{ path | \"fallback\" }}` with its old meaning: the fallback replaces missing, null, NaN, objects and lists, not \"\" or false", () => {
    const text = '[{{ a | "x" }}][{{ b | "x" }}][{{ c | "x" }}][{{ d | "x" }}][{{ e | "x" }}][{{ f | "x" }}][{{ g | "x" }}][{{ h | "say \\"hi\\"" }}]'
    expect(compile({ text }).render({ b: null, c: "", d: false, e: [1], f: { a: 1 }, g: 0 }).text).toBe('[x][x][][false][x][x][0][say "hi"]')
  })

  it("a stored template of the first engine whose text holds {% still renders it as text; saving a new one refuses it", () => {
    const content = { subject: "20{% off", html: '<p>Remise {% de 20 %} pour {{ contact.firstName | "vous" }}</p>', text: "50{%} {{ contact.firstName }}" }
    expect(compile(content).render({ contact: { firstName: "<Zoé>" } })).toEqual({ subject: "20{% off", html: "<p>Remise {% de 20 %} pour &lt;Zoé&gt;</p>", text: "50{%} <Zoé>" })
    expect(Template.check(content, () => true).map((i) => i.path[0])).toEqual(["subject", "html", "text"])
    expect(Either.isLeft(Template.compile({ subject: "", html: null, text: "{% if x %}{{ x | nope }}" }))).toBe(true)
  })

  it.prop(
    "the fallback is used exactly when the value is missing or null",
    [
      fc.oneof(
        fc.constant({ kind: "missing" as const }),
        fc.constant({ kind: "null" as const }),
        fc.string().map((value) => ({ kind: "value" as const, value })),
        fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()).map((value) => ({ kind: "value" as const, value }))
      ),
      fc.string()
    ],
    ([slot, fallback]) => {
      const contact = slot.kind === "missing" ? {} : { nick: slot.kind === "null" ? null : slot.value }
      const text = compile({ text: `{{ contact.nick | ${quoted(fallback)} }}` }).render({ contact }).text
      expect(text).toBe(slot.kind === "value" ? String(slot.value) : fallback)
    }
  )

  it.prop(
    "variables lists exactly the paths an old template was built from",
    [
      fc.array(
        fc.record({
          before: fc.string().filter((s) => !s.includes("{")),
          path: safePath,
          spaces: fc.constantFrom("", " ", "  ", "\t", "\n"),
          fallback: fc.option(fc.string(), { nil: undefined })
        }),
        { maxLength: 8 }
      )
    ],
    ([pieces]) => {
      const source = pieces
        .map(({ before, fallback, path, spaces }) => {
          const tail = fallback === undefined ? "" : `${spaces}|${spaces}${quoted(fallback)}`
          return `${before}{{${spaces}${path.join(".")}${tail}${spaces}}}`
        })
        .join("")
      expect(Template.placeholders(source)).toEqual([...new Set(pieces.map((p) => p.path.join(".")))])
      expect(Template.check({ subject: "", html: null, text: source }, () => true)).toEqual([])
    }
  )
})

const order = {
  id: "o-1",
  currency: "EUR",
  total: { amountMinor: 11400, currency: "EUR" },
  lines: [
    { sku: "S", name: "Red <shoes>", quantity: 1, unitPrice: { amountMinor: 8900, currency: "EUR" }, total: { amountMinor: 8900, currency: "EUR" } },
    { sku: "K", name: "Socks", quantity: 2, unitPrice: { amountMinor: 1250, currency: "EUR" }, total: { amountMinor: 2500, currency: "EUR" } }
  ]
}

describe("Template: Liquid", () => {
  it("loops over order lines, with conditions and forloop", () => {
    const text = "{% for line in order.lines %}{{ forloop.index }}. {{ line.quantity }} × {{ line.name }}{% if line.quantity > 1 %} (×{{ line.quantity }}){% endif %}\n{% endfor %}{% unless order.lines.size > 5 %}short{% endunless %}"
    expect(compile({ text }).render({ order }).text).toBe("1. 1 × Red <shoes>\n2. 2 × Socks (×2)\nshort")
    const html = "<ul>{% for line in order.lines %}<li>{{ line.name }}</li>{% endfor %}</ul>"
    expect(compile({ html }).render({ order }).html).toBe("<ul><li>Red &lt;shoes&gt;</li><li>Socks</li></ul>")
  })

  it("money: exact Money in the recipient's locale; minor units with a currency argument; nothing for anything else", () => {
    const text = "{{ order.total | money }}|{{ 123456789012345 | money: 'EUR' }}|{{ 150 | money: 'JPY' }}|{{ 1234 | money: 'KWD' }}|{{ 'x' | money }}|{{ order | money }}"
    expect(compile({ text }).render({ order, contact: { locale: "fr-FR" } }).text).toBe("114,00\u00a0€|1\u202f234\u202f567\u202f890\u202f123,45\u00a0€|150\u00a0JPY|1,234\u00a0KWD||")
    expect(compile({ text }).render({ order, contact: { locale: "en-US" } }).text).toBe("€114.00|€1,234,567,890,123.45|¥150|KWD\u00a01.234||")
    expect(compile({ text: "{{ order.total | money }}" }).render({ order }).text).toBe("€114.00")
  })

  it("date: in the contact's timezone, else the workspace's, and locale; a date-only value stays that day", () => {
    const text = "{{ at | date }}|{{ at | date: 'short' }}|{{ at | date: 'datetime' }}|{{ day | date }}|{{ 'nope' | date }}"
    const values = { at: "2026-12-07T23:30:00.000Z", day: "2026-12-31" }
    expect(compile({ text }).render({ ...values, contact: { locale: "fr-FR", timezone: "Europe/Paris" } }).text).toBe(
      "8 décembre 2026|08/12/2026|8 décembre 2026 à 00:30|31 décembre 2026|"
    )
    expect(compile({ text }).render({ ...values, contact: { locale: "en-US" }, workspace: { timezone: "America/New_York" } }).text).toBe(
      "December 7, 2026|12/7/26|December 7, 2026 at 6:30 PM|December 31, 2026|"
    )
  })

  it("refuses unknown filters, the raw filter, file tags and reserved names, with the line", () => {
    const issues = Template.check({ subject: "Hi\n{{ contact.firstName | shout }}", html: "<p>\n\n{{ contact.firstName | raw }}</p>", text: "{% include 'footer' %}" }, () => true)
    expect(issues).toEqual([
      { path: ["subject"], message: 'unknown filter "shout" (docs/templates.md lists the filters) on line 2' },
      { path: ["html"], message: 'the "raw" filter is not available: values are always escaped on line 3' },
      { path: ["text"], message: "the tag {% include %} on line 1 is not available: templates cannot read other files" }
    ])
    for (const text of ["{% render 'x' %}", "{% layout 'x' %}", "{% echo contact.email %}", "{% liquid echo x %}", "{{ rapport_url_0 }}", "{% assign rapport_x = 1 %}"]) {
      expect([text, Template.check({ subject: "", html: null, text }, () => true).length]).toEqual([text, 1])
    }
    expect(Template.check({ subject: "{% if x %}", html: null, text: "{{ x" }, () => true).map((i) => i.message)).toEqual([
      "tag {% if x %} not closed on line 1",
      'output "{{ x" not closed on line 1'
    ])
  })

  it("names each unknown variable with its part and line, loop variables resolved to their list", () => {
    const known = new Set(["contact.firstName", "order.lines", "order.lines.*.name"])
    const content = { subject: "Hello {{ contact.firstName }}", html: "<p>Hi</p>\n<p>{{ contact.fristName }}</p>", text: "{% for l in order.lines %}{{ l.name }} {{ l.nmae }}{% endfor %}{% assign x = 1 %}{{ x }}" }
    expect(Template.check(content, (path) => known.has(path.join(".")))).toEqual([
      { path: ["html"], message: "unknown variable contact.fristName on line 2" },
      { path: ["text"], message: "unknown variable order.lines.*.nmae on line 1" }
    ])
  })

  it("a loop that runs too long or a range too large fails the render (renderEither), it never hangs", () => {
    const slow = compile({ text: "{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}" })
    const started = Date.now()
    const result = slow.renderEither({})
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(Either.isLeft(result) && result.left[0]!.message).toMatch(/took more than 1000 ms|too much memory|more than 2000000 characters/)
    expect(slow.render({}).text).toBe("")
    const huge = compile({ text: "{% for a in (1..1000000000) %}x{% endfor %}" }).renderEither({})
    expect(Either.isLeft(huge) && huge.left[0]!.message).toMatch(/too much memory/)
  })

  it("reads no file: a Liquid instance with no file system", () => {
    expect(Template.check({ subject: "", html: null, text: "{% include '/etc/passwd' %}" }, () => true)).toHaveLength(1)
    expect(Either.isLeft(Template.compile({ subject: "", html: null, text: "{{ contact.firstName }}{% include '/etc/passwd' %}{{ x | upcase }}" }))).toBe(true)
    // A stored template of the first engine held it as text: it still prints as text, nothing is read.
    expect(compile({ text: "{% include '/etc/passwd' %}" }).render({}).text).toBe("{% include '/etc/passwd' %}")
    expect(Template.tags).not.toContain("include")
    expect(Template.filters).toContain("money")
    expect(Template.filters).not.toContain("raw")
  })

  it("a variant per locale: exact locale, else its language, else another region of it, else the template", () => {
    const compiled = Either.getOrThrow(
      Template.compile({ subject: "Hello", html: null, text: "Hi {{ contact.firstName }}" }, [
        { locale: "fr", content: { subject: "Bonjour", html: null, text: "Salut {{ contact.firstName }}" } },
        { locale: "en-GB", content: { subject: "Hello mate", html: null, text: "Cheers" } }
      ])
    )
    const at = (locale: string | undefined) => ({ ...compiled.render({ contact: { firstName: "Zoé", locale } }), locale: compiled.localeFor({ contact: { locale } }) })
    expect(at("fr-CA")).toEqual({ subject: "Bonjour", html: null, text: "Salut Zoé", locale: "fr" })
    expect(at("fr")).toMatchObject({ subject: "Bonjour", locale: "fr" })
    expect(at("en-GB")).toMatchObject({ subject: "Hello mate", locale: "en-GB" })
    expect(at("en-US")).toMatchObject({ subject: "Hello mate", locale: "en-GB" })
    expect(at("de")).toEqual({ subject: "Hello", html: null, text: "Hi Zoé", locale: null })
    expect(at(undefined)).toMatchObject({ subject: "Hello", locale: null })
    expect(Template.compile({ subject: "x", html: null, text: "y" }, [{ locale: "fr", content: { subject: "{{ x | nope }}", html: null, text: "z" } }])).toEqual(
      Either.left([{ path: ["locales", "fr", "subject"], message: 'unknown filter "nope" (docs/templates.md lists the filters) on line 1' }])
    )
  })
})

// Values a shop's customers control: markup, quotes, line breaks, Liquid delimiters.
const hostile = fc.oneof(
  anyText,
  fc.constantFrom(
    `<script>alert("x")</script>`,
    `"><img src=x onerror=alert(1)>`,
    `' onmouseover='alert(1)`,
    "x onmouseover=alert(1)",
    "\r\nBcc: all@example.com",
    "{{ contact.email }}",
    "{% for i in (1..9) %}x{% endfor %}",
    "{{",
    "{%",
    "javascript:alert(1)",
    "</title><script>",
    "-->",
    "\u2028\u0085\u0000"
  ),
  fc.array(fc.constantFrom("<", ">", '"', "'", "&", "=", " ", "`", "\r", "\n", "{{", "}}", "{%", "%}", "a", "é", "/", ":"), { maxLength: 12 }).map((a) => a.join(""))
)

// A body that prints every value in text, in quoted and unquoted attributes, inside a tag, in
// URL attributes and in loops over order lines.
const body =
  '<p title="{{ contact.firstName }}" class={{ contact.lastName }} {{ event.payload.note }}>{{ contact.firstName }} {{ contact.lastName | upcase }}</p>' +
  '<a href="{{ contact.fields.website }}">site</a><img src={{ event.payload.note }}>' +
  "{% for line in order.lines %}<li data-sku='{{ line.sku }}'>{{ line.name }} {{ line.total | money }}</li>{% endfor %}" +
  '<a href="https://shop.example/o/{{ order.id }}">order</a>'

const escapeUnquoted = (s: string) =>
  Template.escapeHtml(s).replace(/[ \t\n\f\r=`]/g, (c) => ({ " ": "&#32;", "\t": "&#9;", "\n": "&#10;", "\f": "&#12;", "\r": "&#13;", "=": "&#61;", "`": "&#96;" })[c]!)
const url = (v: string, escape: (s: string) => string) => (Template.isSafeUrl(v) ? escape(v) : Template.blockedUrl)

describe("Template: no value injects HTML, a header or Liquid (property)", () => {
  const compiled = compile({ subject: "Order {{ order.id }} for {{ contact.firstName }} {{ event.payload.note }}", html: body, text: "{{ contact.firstName }}|{{ event.payload.note }}" })
  const contextOf = (v: ReadonlyArray<string>) => ({
    contact: { firstName: v[0], lastName: v[1], fields: { website: v[2] } },
    event: { payload: { note: v[3] } },
    order: { id: v[4], lines: [{ sku: v[5], name: v[6], total: { amountMinor: 100, currency: "EUR" } }] }
  })

  it.prop("the HTML body is the template with each value escaped for where it prints", [fc.array(hostile, { minLength: 7, maxLength: 7 })], ([v]) => {
    const e = Template.escapeHtml
    const expected =
      `<p title="${e(v[0]!)}" class=${escapeUnquoted(v[1]!)} ${escapeUnquoted(v[3]!)}>${e(v[0]!)} ${e(v[1]!.toUpperCase())}</p>` +
      `<a href="${url(v[2]!, e)}">site</a><img src=${url(v[3]!, escapeUnquoted)}>` +
      `<li data-sku='${e(v[5]!)}'>${e(v[6]!)} €1.00</li>` +
      `<a href="https://shop.example/o/${e(v[4]!)}">order</a>`
    expect(compiled.render(contextOf(v)).html).toBe(expected)
  })

  it.prop("the subject is one line, with every value as text", [fc.array(hostile, { minLength: 7, maxLength: 7 })], ([values]) => {
    const subject = compiled.render(contextOf(values)).subject
    expect(subject).not.toMatch(/[\r\n\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
    expect(subject).toBe(subject.trim())
  })

  it.prop("values are printed, never read as Liquid", [hostile, hostile], ([a, b]) => {
    const text = compiled.render(contextOf([a, "x", "x", b, "x", "x", "x"])).text
    expect(text).toBe(`${a}|${b}`)
  })
})

describe("Template.compile: URL placeholders", () => {
  const href = (html: string, value: string) => compile({ html }).render({ contact: { fields: { website: value } } }).html
  const link = (value: string) => href('<a href="{{ contact.fields.website }}">site</a>', value)
  const blocked = `<a href="${Template.blockedUrl}">site</a>`
  const hostile = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "  javascript:alert(1)",
    "\u0001\u0010javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "java\u0000script:alert(1)",
    "javascript\t:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "livescript:alert(1)",
    "file:///etc/passwd",
    "tel:+33123456789"
  ]

  it("blocks every scheme but http, https and mailto when a placeholder writes the URL, however it is disguised", () => {
    for (const value of hostile) expect([value, link(value)]).toEqual([value, blocked])
  })

  it("keeps http, https, mailto and relative URLs, escaped", () => {
    expect(link("https://ada.example/?a=1&b=2")).toBe('<a href="https://ada.example/?a=1&amp;b=2">site</a>')
    expect(link("HTTP://ADA.EXAMPLE")).toBe('<a href="HTTP://ADA.EXAMPLE">site</a>')
    expect(link("mailto:ada@example.com")).toBe('<a href="mailto:ada@example.com">site</a>')
    expect(link("/shop/red-shoes#size")).toBe('<a href="/shop/red-shoes#size">site</a>')
    expect(link("ada.example/page")).toBe('<a href="ada.example/page">site</a>')
    // Entities in a value are escaped: the browser reads "&colon;" as text, not as a colon.
    expect(link("javascript&colon;alert(1)")).toBe('<a href="javascript&amp;colon;alert(1)">site</a>')
  })

  it("checks every URL attribute, quoted or not, in any case, and the fallback too", () => {
    const x = "javascript:alert(1)"
    expect(href("<img src='{{ contact.fields.website }}'>", x)).toBe(`<img src='${Template.blockedUrl}'>`)
    expect(href("<A HREF={{ contact.fields.website }}>x</A>", x)).toBe(`<A HREF=${Template.blockedUrl}>x</A>`)
    expect(href('<form action="{{ contact.fields.website }}"><button formaction = "{{ contact.fields.website }}">', x)).toBe(
      `<form action="${Template.blockedUrl}"><button formaction = "${Template.blockedUrl}">`
    )
    expect(href('<img srcset="/a.png 1x, {{ contact.fields.website }} 2x">', x)).toBe(`<img srcset="${Template.blockedUrl}">`)
    expect(href('<svg><a xlink:href="{{ contact.fields.website }}">', x)).toBe(`<svg><a xlink:href="${Template.blockedUrl}">`)
    expect(href('<a href="{{ contact.fields.missing | "javascript:alert(1)" }}">', "")).toBe(`<a href="${Template.blockedUrl}">`)
    expect(href('<a title="{{ contact.fields.website }}" href="/x">', x)).toBe('<a title="javascript:alert(1)" href="/x">')
  })

  it("checks the whole value, template text included: pieces cannot spell a scheme together", () => {
    const render = (html: string, a: string, b: string) => compile({ html }).render({ a, b }).html
    expect(render('<a href="{{ a }}{{ b }}">', "javascript", ":alert(1)")).toBe(`<a href="${Template.blockedUrl}">`)
    expect(render('<a href="{{ a }}&#58;alert(1)">', "javascript", "")).toBe(`<a href="${Template.blockedUrl}">`)
    expect(render('<a href="&#x6A;ava{{ a }}">', "script:alert(1)", "")).toBe(`<a href="${Template.blockedUrl}">`)
    expect(render('<a href="java&Tab;{{ a }}">', "script:alert(1)", "")).toBe(`<a href="${Template.blockedUrl}">`)
    expect(render('<a href="{{ a }}/{{ b }}">', "https:", "/ada.example")).toBe('<a href="https://ada.example">')
  })

  it("after a scheme or path the template writes, values are only escaped", () => {
    const render = (html: string, v: string) => compile({ html }).render({ v }).html
    expect(render('<a href="tel:{{ v }}">', "+33 1 23 45 67 89")).toBe('<a href="tel:+33 1 23 45 67 89">')
    expect(render('<a href="https://shop.example/{{ v }}">', "javascript:alert(1)")).toBe('<a href="https://shop.example/javascript:alert(1)">')
    expect(render('<a href="/p?q={{ v }}">', '"><script>')).toBe('<a href="/p?q=&quot;&gt;&lt;script&gt;">')
  })

  it("no value adds an attribute: unquoted values and names inside a tag escape spaces and =", () => {
    const render = (html: string, v: string) => compile({ html }).render({ v }).html
    expect(render("<td title={{ v }}>", "x onmouseover=alert(1)")).toBe("<td title=x&#32;onmouseover&#61;alert(1)>")
    expect(render("<td {{ v }}>", "onclick=alert(1)")).toBe("<td onclick&#61;alert(1)>")
    // An attribute whose name comes from data may be href: its value is checked as a URL.
    expect(compile({ html: '<a {{ n }}="{{ v }}">' }).render({ n: "href", v: "javascript:alert(1)" }).html).toBe(`<a href="${Template.blockedUrl}">`)
  })

  it("text, comments and script content keep plain escaping; the template's own links are its author's", () => {
    const render = (html: string, v: string) => compile({ html }).render({ v }).html
    expect(render("<p>{{ v }}</p><!-- <a href={{ v }}> -->", "javascript:x")).toBe("<p>javascript:x</p><!-- <a href=javascript:x> -->")
    expect(render('<style>a[href="{{ v }}"]{}</style><a href="{{ v }}">', "javascript:x")).toBe(`<style>a[href="javascript:x"]{}</style><a href="${Template.blockedUrl}">`)
    expect(render('<a href="javascript:void(0)">{{ v }}</a>', "x")).toBe('<a href="javascript:void(0)">x</a>')
    // Only an opening <script> (even written <script/>) starts script content; a stray end tag does not.
    expect(render('<script/>var a = "<a href={{ v }}>"</script><a href="{{ v }}">', "javascript:x")).toBe(`<script/>var a = "<a href=javascript:x>"</script><a href="${Template.blockedUrl}">`)
    expect(render('</script></style><a href="{{ v }}"><br/><img src={{ v }}>', "javascript:x")).toBe(`</script></style><a href="${Template.blockedUrl}"><br/><img src=${Template.blockedUrl}>`)
  })

  const scrambled = fc
    .tuple(
      fc.constantFrom("javascript", "data", "vbscript"),
      fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
      fc.array(fc.tuple(fc.nat(10), fc.constantFrom("\t", "\n", "\r", "\u0000", "\u0001", "\u001f", " ", "\u007f")), { maxLength: 4 }),
      fc.string()
    )
    .map(([scheme, upper, inserts, rest]) => {
      let s = [...scheme].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("")
      for (const [at, c] of inserts) s = `${s.slice(0, at)}${c}${s.slice(at)}`
      return `${s}:${rest}`
    })

  it.prop("a script, data or vbscript URL never survives, whatever its case and the controls around or inside its scheme", [scrambled], ([value]) => {
    expect(link(value)).toBe(blocked)
  })

  it.prop("any value gives a safe URL or the blocked one, and never leaves the attribute", [anyText], ([value]) => {
    const html = link(value) ?? ""
    const attribute = /^<a href="([^"]*)">site<\/a>$/.exec(html)
    expect(attribute).not.toBeNull()
    expect(attribute![1] === Template.blockedUrl || (Template.isSafeUrl(value) && attribute![1] === Template.escapeHtml(value))).toBe(true)
  })
})

describe("Template.escapeHtml", () => {
  it("escapes the five characters that matter", () => {
    expect(Template.escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
  })
})

describe("Template schemas", () => {
  const decodeCreate = Schema.decodeUnknownEither(Template.TemplateCreate)
  const decodeUpdate = Schema.decodeUnknownEither(Template.TemplateUpdate)

  it("TemplateCreate trims name and subject and keeps purpose optional", () => {
    expect(decodeCreate({ name: " Welcome ", subject: " Hi {{ contact.firstName }} ", text: "Hello" })).toEqual(
      Either.right({ name: "Welcome", subject: "Hi {{ contact.firstName }}", text: "Hello" })
    )
  })

  it.each([
    [{}],
    [{ html: null, text: "  " }],
    [{ html: "" }]
  ])("TemplateCreate refuses a template without a body (%j)", (bodies) => {
    const result = decodeCreate({ name: "n", subject: "s", ...bodies })
    expect(Either.isLeft(result) && result.left.message.includes('at least one of "html" or "text"')).toBe(true)
  })

  it("TemplateCreate refuses a body over 500 000 characters", () => {
    expect(Either.isLeft(decodeCreate({ name: "n", subject: "s", text: "x".repeat(500_001) }))).toBe(true)
  })

  it("TemplateUpdate accepts a partial change and refuses removing both bodies at once", () => {
    expect(decodeUpdate({ expectedVersion: 2, html: null })).toEqual(Either.right({ expectedVersion: 2, html: null }))
    expect(Either.isLeft(decodeUpdate({ expectedVersion: 2, html: null, text: "" }))).toBe(true)
  })

  it("a stored Template compiles as it is", () => {
    const now = DateTime.unsafeMake(0)
    const template = new Template.Template({
      id: Ids.TemplateId.make("0190a6e2-7c3b-7def-8abc-0123456789ab"),
      workspaceId: Ids.DefaultWorkspaceId,
      name: "Welcome",
      purpose: "transactional",
      subject: "Welcome {{ contact.firstName | \"aboard\" }}",
      html: null,
      text: "Hi",
      version: 1,
      createdAt: now,
      updatedAt: now
    })
    expect(Either.map(Template.compile(template), (c) => c.render({}).subject)).toEqual(Either.right("Welcome aboard"))
  })
})
