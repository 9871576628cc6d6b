import { describe, expect, it } from "vitest"
import { cleanLabel, collect, labelOfColumn, valuesOf } from "../src/internal/identities.js"

const lower = (raw: string) => raw.toLowerCase()
const same = (raw: string) => raw

describe("several emails and phones in one record", () => {
  it("labels a value by its column's name, in English and French", () => {
    expect(["Home Phone 2", "Mobile Phone", "Business Phone", "TEL.cell", "TEL.work", "Adresse e-mail pro", "Téléphone domicile", "E-mail 2 Address", "Business Fax"].map(labelOfColumn)).toEqual([
      "home", "mobile", "work", "mobile", "work", "work", "home", null, "fax"
    ])
    expect(["* Work", "HOME", " mobile ", "Custom label", "", "x".repeat(33)].map(cleanLabel)).toEqual(["work", "home", "mobile", "custom label", null, null])
  })

  it("splits Google's ' ::: ' multi-values, takes Google's '- Type' labels, keeps each value once in column order", () => {
    const values = {
      "E-mail 1 - Label": "* Work ::: Home",
      "E-mail 1 - Value": "ada@work.com ::: ada@home.org",
      "E-mail 2 - Type": "Other",
      "E-mail 2 - Value": "ADA@home.org ::: ada@else.net",
      "E-mail 3 - Value": "  "
    }
    expect(collect(values, ["E-mail 1 - Value", "E-mail 2 - Value", "E-mail 3 - Value"], same, lower)).toEqual([
      { value: "ada@work.com", label: "work" },
      { value: "ada@home.org", label: "home" },
      { value: "ada@else.net", label: "other" }
    ])
  })

  it("gives a repeated value the label of a later labelled column (a vCard's TEL.cell repeats TEL 2)", () => {
    const values = { TEL: "+33123456789", "TEL 2": "+33612345678", "TEL.cell": "+33612345678", "TEL.work": null }
    expect(collect(values, ["TEL", "TEL 2", "TEL.cell", "TEL.work"], same, same)).toEqual([
      { value: "+33123456789", label: null },
      { value: "+33612345678", label: "mobile" }
    ])
  })

  it("leaves out values read refuses, and splits on the separators given (HubSpot's additional emails)", () => {
    expect(valuesOf("a@x.com;b@y.com ; ", /;/)).toEqual(["a@x.com", "b@y.com"])
    const values = { Email: "ada@x.com", "Additional email addresses": "not-an-email;bob@y.com" }
    const read = (raw: string) => (raw.includes("@") ? raw : undefined)
    expect(collect(values, ["Email", "Additional email addresses"], read, lower, /;| ::: /)).toEqual([
      { value: "ada@x.com", label: null },
      { value: "bob@y.com", label: null }
    ])
  })
})
