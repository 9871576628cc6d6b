// The dashboard's money and language helpers: amounts are exact from minor units at any size and
// sign, in each currency's digits; the browser's language is read by quality; the two
// dictionaries hold the same keys, and the escaping template never lets text become markup.
import { describe, expect, it } from "vitest"
import { formatMoney } from "../../src/dashboard/format.js"
import { html, jsonText, raw } from "../../src/dashboard/html.js"
import { fromAcceptLanguage, messages } from "../../src/dashboard/i18n.js"

describe("formatMoney", () => {
  it("is exact from minor units, beyond what a float divided by 100 shows", () => {
    // 2^53 − 1 cents: divided by 100 as a float, Intl shows €90,071,992,547,409.90.
    expect(formatMoney({ amountMinor: Number.MAX_SAFE_INTEGER, currency: "EUR" }, "en")).toBe("€90,071,992,547,409.91")
    expect(formatMoney({ amountMinor: Number.MAX_SAFE_INTEGER, currency: "EUR" }, "fr")).toBe("90\u202f071\u202f992\u202f547\u202f409,91\u00a0€")
  })

  it("keeps the sign of amounts under one unit, and each currency's digits", () => {
    expect(formatMoney({ amountMinor: -5, currency: "EUR" }, "en")).toBe("-€0.05")
    expect(formatMoney({ amountMinor: -123_456, currency: "EUR" }, "fr")).toBe("-1\u202f234,56\u00a0€")
    expect(formatMoney({ amountMinor: 1500, currency: "JPY" }, "en")).toBe("JP¥1,500")
    expect(formatMoney({ amountMinor: 1234, currency: "KWD" }, "en")).toBe("KWD\u00a01.234")
    expect(formatMoney({ amountMinor: 0, currency: "USD" }, "fr")).toBe("0,00\u00a0$US")
  })
})

describe("languages", () => {
  it("the browser's first language the dashboard speaks, by quality", () => {
    expect(fromAcceptLanguage("de-DE,fr;q=0.7,en;q=0.8")).toBe("en")
    expect(fromAcceptLanguage("fr-CA")).toBe("fr")
    expect(fromAcceptLanguage("de, es;q=0.5")).toBeUndefined()
    expect(fromAcceptLanguage("fr;q=0, en;q=0.1")).toBe("en")
    expect(fromAcceptLanguage(undefined)).toBeUndefined()
  })

  it("French and English have the same keys, and no message is empty", () => {
    expect(Object.keys(messages.fr).sort()).toEqual(Object.keys(messages.en).sort())
    expect(Object.entries({ ...messages.en }).filter(([, v]) => v === "")).toEqual([])
    expect(Object.entries({ ...messages.fr }).filter(([, v]) => v === "")).toEqual([])
  })
})

describe("html", () => {
  it("escapes interpolated text, lists and attributes; markup from templates stays markup", () => {
    const name = `"><img src=x onerror=alert(1)>&'`
    expect(html`<a title="${name}">${name}</a>`.text).toBe(
      "<a title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;\">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;</a>"
    )
    expect(html`<ul>${["<b>", html`<li>ok</li>`]}</ul>`.text).toBe("<ul>&lt;b&gt;<li>ok</li></ul>")
    expect(html`${null}${undefined}${false}${raw("<br>")}`.text).toBe("<br>")
  })

  it("JSON for a script element cannot close it", () => {
    const text = jsonText({ name: "</script><script>alert(1)</script>" }).text
    expect(text).not.toContain("</script")
    expect(JSON.parse(text)).toEqual({ name: "</script><script>alert(1)</script>" })
  })
})
