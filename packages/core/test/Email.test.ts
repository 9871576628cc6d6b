import { Email } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

describe("Email.normalize", () => {
  it("trims, lower-cases the domain and keeps the local part", () => {
    expect(Email.normalize("  Ada.Lovelace@Example.COM ")).toEqual(Either.right("Ada.Lovelace@example.com"))
  })

  it("converts an internationalised domain to punycode", () => {
    expect(Email.normalize("marie@café.fr")).toEqual(Either.right("marie@xn--caf-dma.fr"))
  })

  it.each([
    ["", "must not be empty"],
    ["ada", "expected name@domain"],
    ["ada@", "expected name@domain"],
    ["@example.com", "expected name@domain"],
    ["ada@localhost", "invalid domain"],
    ["ada@1.2.3.4", "invalid domain"],
    ["ada lovelace@example.com", "invalid part before @"],
    ["ada..l@example.com", "invalid part before @"],
    ["ada@exa_mple.com", "invalid domain"],
    [`${"a".repeat(65)}@example.com`, "invalid part before @"]
  ])("rejects %j (%s)", (raw, reason) => {
    const result = Email.normalize(raw)
    expect(Either.isLeft(result) && result.left.includes(reason)).toBe(true)
  })

  it.prop("normalising twice changes nothing, and the key ignores case", [Arbitrary.make(Email.Email)], ([email]) => {
    const once = Either.getOrThrow(Email.normalize(` ${email.toUpperCase()} `))
    expect(Email.normalize(once)).toEqual(Either.right(once))
    expect(Email.emailKey(once)).toBe(email.toLowerCase())
  })

  it.prop("never throws, whatever the input", [FastCheck.string()], ([raw]) => {
    expect(Either.isEither(Email.normalize(raw))).toBe(true)
  })
})
