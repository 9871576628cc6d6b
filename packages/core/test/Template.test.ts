import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Ids from "../src/domain/Ids.js"
import * as Template from "../src/domain/Template.js"

const fc = FastCheck

const compile = (content: Partial<Template.Content>) =>
  Either.getOrThrow(Template.compile({ subject: "", html: null, text: null, ...content }))

const issuesOf = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) throw new Error("expected a Left")
  return result.left
}

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
const pathArb = fc.array(identifier, { minLength: 1, maxLength: 4 })
const quoted = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`
const anyText = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string({ unit: "binary" }))

describe("Template.parse", () => {
  it("reads literals and placeholders, with or without spaces, with the line of each", () => {
    expect(Template.parse("Hi {{contact.firstName}},\nabout {{ deal.amount | \"your order\" }}.")).toEqual(
      Either.right([
        { _tag: "Literal", text: "Hi " },
        { _tag: "Placeholder", path: ["contact", "firstName"], fallback: undefined, line: 1 },
        { _tag: "Literal", text: ",\nabout " },
        { _tag: "Placeholder", path: ["deal", "amount"], fallback: "your order", line: 2 },
        { _tag: "Literal", text: "." }
      ])
    )
  })

  it("unescapes \\\" and \\\\ in a fallback, which may itself contain braces", () => {
    expect(Template.parse('{{ contact.nick | "say \\"hi\\" \\\\ {{ }}" }}')).toEqual(
      Either.right([{ _tag: "Placeholder", path: ["contact", "nick"], fallback: 'say "hi" \\ {{ }}', line: 1 }])
    )
  })

  it("reports an unclosed {{ with its line", () => {
    expect(Template.parse("Hello\n\nDear {{ contact.firstName ,")).toEqual(
      Either.left([{ message: 'unclosed "{{" on line 3', line: 3 }])
    )
  })

  it("reports what is not a placeholder, and says how to write one", () => {
    expect(Template.parse("{{ contact. }}")).toEqual(
      Either.left([
        {
          message: '"{{ contact. }}" on line 1 is not a placeholder: write {{ contact.firstName }} or {{ contact.firstName | "there" }}',
          line: 1
        }
      ])
    )
  })

  it("reports every error, recovering after an unclosed {{", () => {
    const messages = issuesOf(Template.parse("{{ a } and {{ b }}\n{{ 1x }} {{ c | 'single' }}\n{{ d")).map((i) => i.message)
    expect(messages).toEqual([
      'unclosed "{{" on line 1',
      expect.stringMatching(/^"\{\{ 1x \}\}" on line 2 is not a placeholder/),
      expect.stringMatching(/^"\{\{ c \| 'single' \}\}" on line 2 is not a placeholder/),
      'unclosed "{{" on line 3'
    ])
  })

  it.prop("never throws, whatever the source", [anyText], ([source]) => {
    expect(Either.isEither(Template.parse(source))).toBe(true)
  })

  it.prop("a source without {{ is one literal, kept as it is", [anyText.filter((s) => !s.includes("{{"))], ([source]) => {
    expect(Template.parse(source)).toEqual(Either.right(source === "" ? [] : [{ _tag: "Literal", text: source }]))
  })
})

describe("Template.placeholders", () => {
  it("lists distinct paths in order of first use and skips syntax errors", () => {
    expect(Template.placeholders("{{ deal.amount }} {{ contact.firstName }} {{ x. }} {{deal.amount}}")).toEqual([
      "deal.amount",
      "contact.firstName"
    ])
  })

  it.prop(
    "returns exactly the paths a template was built from",
    [
      fc.array(
        fc.record({
          before: fc.string().filter((s) => !s.includes("{")),
          path: pathArb,
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
      expect(Either.isRight(Template.parse(source))).toBe(true)
    }
  )
})

describe("Template.check", () => {
  const known = new Set(["contact.firstName", "contact.fields.siret", "deal.amount"])
  const isKnown = (path: ReadonlyArray<string>) => known.has(path.join("."))

  it("names each unknown placeholder with where it is and its line", () => {
    const content = {
      subject: "Hello {{ contact.firstName }}",
      html: "<p>Hi</p>\n<p>{{ contact.fristName }}</p>",
      text: "{{ deal.amount }} {{ deal.nope | \"?\" }}"
    }
    expect(Template.check(content, isKnown)).toEqual([
      { path: ["html"], message: "unknown placeholder {{contact.fristName}} on line 2" },
      { path: ["text"], message: "unknown placeholder {{deal.nope}} on line 1" }
    ])
  })

  it("reports syntax errors with their part, and skips absent bodies", () => {
    expect(Template.check({ subject: "Re: {{ deal.", html: null, text: "ok" }, isKnown)).toEqual([
      { path: ["subject"], message: 'unclosed "{{" on line 1' }
    ])
  })

  it("finds nothing in a valid template", () => {
    expect(Template.check({ subject: "{{contact.fields.siret}}", html: "<b>{{ deal.amount }}</b>", text: null }, isKnown)).toEqual([])
  })
})

describe("Template.compile", () => {
  const context = {
    contact: { firstName: "Ada", age: 36, vip: true, nick: null, tags: ["a"], fields: { siret: "123 456 789 00012" } },
    deal: { amount: 1250.5, ratio: Number.NaN, stage: { key: "won" } }
  }

  it("refuses a template with a syntax error instead of rendering it", () => {
    expect(Template.compile({ subject: "Hi", html: null, text: "{{ contact. }}" })).toEqual(
      Either.left([{ path: ["text"], message: expect.stringContaining('"{{ contact. }}" on line 1 is not a placeholder') }])
    )
  })

  it("renders strings, numbers and booleans; nested custom fields too", () => {
    const text = "{{ contact.firstName }} {{ contact.age }} {{ contact.vip }} {{ deal.amount }} {{ contact.fields.siret }}"
    expect(compile({ text }).render(context).text).toBe("Ada 36 true 1250.5 123 456 789 00012")
  })

  it("renders the fallback (or nothing) for null, missing, NaN, objects and arrays", () => {
    const text = '[{{ contact.nick | "there" }}][{{ contact.nope }}][{{ deal.ratio | "n/a" }}][{{ deal.stage }}][{{ contact.tags | "-" }}][{{ nobody.at.all }}]'
    expect(compile({ text }).render(context).text).toBe("[there][][n/a][][-][]")
  })

  it("never reaches prototypes, array lengths or getters", () => {
    const withGetter = { get secret() { return "leaked" } }
    const text = "[{{ contact.constructor.name }}][{{ contact.tags.length }}][{{ contact.firstName.length }}][{{ g.secret }}][{{ toString }}]"
    expect(compile({ text }).render({ ...context, g: withGetter }).text).toBe("[][][][][]")
  })

  it("keeps French accents and emoji as they are", () => {
    const rendered = compile({ subject: "Bonjour {{ contact.firstName }} 🎉", html: "<p>Élodie, {{ contact.firstName }}</p>", text: "Ça va, {{ contact.firstName }} ? 👋🏽" })
      .render({ contact: { firstName: "Zoé 👩🏽‍💻 Œuvre" } })
    expect(rendered).toEqual({
      subject: "Bonjour Zoé 👩🏽‍💻 Œuvre 🎉",
      html: "<p>Élodie, Zoé 👩🏽‍💻 Œuvre</p>",
      text: "Ça va, Zoé 👩🏽‍💻 Œuvre ? 👋🏽"
    })
  })

  it("escapes values and fallbacks in html, not the template's own html, and nothing in text", () => {
    const rendered = compile({
      html: '<a href="/x?a=1&b=2">{{ contact.firstName }}</a>{{ contact.nick | "<i>you</i>" }}',
      text: "{{ contact.firstName }} & {{ contact.nick | \"<i>you</i>\" }}"
    }).render({ contact: { firstName: `<script>alert("x")</script> & 'co'` } })
    expect(rendered.html).toBe(
      '<a href="/x?a=1&b=2">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</a>&lt;i&gt;you&lt;/i&gt;'
    )
    expect(rendered.text).toBe(`<script>alert("x")</script> & 'co' & <i>you</i>`)
  })

  it("puts the subject on one line, whatever the values hold", () => {
    const rendered = compile({ subject: " Hello\r\n {{ contact.firstName }}\t! " }).render({
      contact: { firstName: "Ada\r\nBcc: all@example.com\u2028\u0000x" }
    })
    expect(rendered.subject).toBe("Hello Ada Bcc: all@example.com x !")
  })

  it("keeps absent bodies absent", () => {
    expect(compile({ subject: "s" }).render(context)).toEqual({ subject: "s", html: null, text: null })
  })

  it.prop("html output is the template with the escaped value, and adds no tag", [anyText], ([value]) => {
    const html = compile({ html: "<p>{{ contact.firstName }}</p>" }).render({ contact: { firstName: value } }).html ?? ""
    expect(html).toBe(`<p>${Template.escapeHtml(value)}</p>`)
    expect(html.split("<").length - 1).toBe(2)
  })

  it.prop(
    "the subject never holds a line break or control character",
    [anyText, anyText, anyText],
    ([first, fallback, literal]) => {
      const subject = `${literal.replace(/[{}]/g, "")} {{ contact.firstName }}\n{{ deal.name | ${quoted(fallback)} }}`
      const rendered = compile({ subject }).render({ contact: { firstName: first } }).subject
      expect(rendered).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
      expect(rendered).toBe(rendered.trim())
    }
  )

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
