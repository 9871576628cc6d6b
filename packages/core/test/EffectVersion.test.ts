// createCrm refuses at once to run on an effect it was not built for (effect 4 is a different
// API: with it, calls failed later with "Not a valid effect: undefined").
import { checkEffectVersion, installedEffectVersion, RapportEffectVersionError, RapportError, requiredEffect } from "@rapport/core"
import { describe, expect, it } from "vitest"

describe("the effect version check", () => {
  it("reads the effect version actually installed here (an effect 3 from 3.22.4)", () => {
    expect(installedEffectVersion()).toMatch(/^3\.(2[2-9]|[3-9]\d)\.\d+/)
    expect(checkEffectVersion(installedEffectVersion())).toBeUndefined()
  })

  it.each(["3.22.4", "3.22.10", "3.23.0", "3.30.1-beta.2"])("accepts %s", (version) => {
    expect(checkEffectVersion(version)).toBeUndefined()
  })

  it.each([
    ["4.0.0", "effect 4.0.0 is installed"],
    ["4.0.0-beta.5", "effect 4.0.0-beta.5 is installed"],
    ["3.22.3", "effect 3.22.3 is installed"],
    ["3.9.0", "effect 3.9.0 is installed"],
    ["2.4.19", "effect 2.4.19 is installed"],
    [undefined, "another major version of effect (not 3.x) is installed"]
  ])("refuses %s, saying which version to install", (version, found) => {
    const error = checkEffectVersion(version)
    expect(error).toBeInstanceOf(RapportEffectVersionError)
    expect(error).toBeInstanceOf(RapportError)
    expect(error).toMatchObject({ code: "UNSUPPORTED_EFFECT", installed: version })
    expect(error?.message).toBe(`Rapport needs effect ${requiredEffect}; ${found}: npm install effect@^3.22.4`)
  })
})
