// The checks the back office makes before company details reach the CRM, and the quote's PDF.
import { PDFDocument } from "pdf-lib"
import { describe, expect, it } from "vitest"
import { parseEuros } from "../src/app.js"
import { frenchVatKey, luhnValid, parseSiret, parseVatNumber, sampleIdentifiers } from "../src/legal.js"
import { quotePdf } from "../src/pdf.js"

describe("SIRET and VAT numbers", () => {
  it("accepts a SIRET whose Luhn sum holds, written with or without spaces, and names the problem otherwise", () => {
    expect(parseSiret("732 829 320 00074")).toEqual({ siret: "73282932000074" })
    expect(parseSiret("73282932000074")).toEqual({ siret: "73282932000074" })
    expect(parseSiret("73282932000075")).toEqual({ error: "73282932000075 is not a valid SIRET: its check digit is wrong (a typo?)" })
    expect(parseSiret("7328293200007")).toEqual({ error: 'a SIRET has 14 digits (got "7328293200007")' })
    expect(parseSiret("7328293200007A")).toEqual({ error: 'a SIRET has 14 digits (got "7328293200007A")' })
  })

  it("checks La Poste's establishments by the sum of their digits, as INSEE does", () => {
    // 356 000 000 09075: digit sum 35, a multiple of 5, though its Luhn sum does not hold.
    expect(luhnValid("35600000009075")).toBe(false)
    expect(parseSiret("356 000 000 09075")).toEqual({ siret: "35600000009075" })
    expect("error" in parseSiret("35600000009076")).toBe(true)
  })

  it("checks a French VAT number's key and that its SIREN is the SIRET's", () => {
    expect(frenchVatKey("732829320")).toBe("44")
    expect(parseVatNumber("fr 44 732 829 320")).toEqual({ vat: "FR44732829320" })
    expect(parseVatNumber("FR45732829320")).toEqual({ error: "FR45732829320 is not a valid French VAT number: its key should be 44" })
    expect(parseVatNumber("FR44732829320", "53210987600014")).toEqual({
      error: "FR44732829320 is not this company's VAT number: its SIREN 732829320 differs from the SIRET's 532109876"
    })
    expect(parseVatNumber("GB123456789")).toEqual({ vat: "GB123456789" })
    expect("error" in parseVatNumber("123456789")).toBe(true)
  })

  it("makes sample identifiers that pass both checks", () => {
    for (const digits of ["12345678", "53210987", "99999999", "10000000"]) {
      const { siret, vatNumber } = sampleIdentifiers(digits)
      expect(parseSiret(siret)).toEqual({ siret })
      expect(parseVatNumber(vatNumber, siret)).toEqual({ vat: vatNumber })
    }
  })

  it("reads amounts in euros exactly, in French or English notation", () => {
    expect(parseEuros("12 900,00", "unitPrice")).toBe(1_290_000)
    expect(parseEuros("4200", "unitPrice")).toBe(420_000)
    expect(parseEuros("0.1", "unitPrice")).toBe(10)
    expect(parseEuros("19,99 €", "unitPrice")).toBe(1_999)
    expect(() => parseEuros("12.345", "unitPrice")).toThrow('unitPrice must be an amount in euros such as 1250 or 1 250,50 (got "12.345")')
  })
})

describe("the quote's PDF", () => {
  it("renders accents, the euro sign and names outside Latin-1 without failing, the same bytes every time", async () => {
    const quote = {
      quoteRef: "Q-2026-0042",
      title: "Cuisine du Café Søndergaard — Łódź",
      issuedOn: "2026-12-03",
      validUntil: "2027-01-02",
      seller: { name: "Vasseur Équipement Pro", address: "14 rue des Tanneurs, 69002 Lyon", siret: "532 109 876 00014", vatNumber: "FR45532109876" },
      customer: { company: "Café Søndergaard", contact: "Søren Kjær", email: "soren@cafe.example", siret: null, vatNumber: "DK12345678", paymentTerms: "30 days" },
      lines: [{ description: "Four mixte 10 niveaux", quantity: 2, unitPriceMinor: 1_290_000 }],
      currency: "EUR",
      vatRatePercent: 20
    }
    const bytes = await quotePdf(quote)
    expect(Buffer.from(bytes.subarray(0, 5)).toString("latin1")).toBe("%PDF-")
    const doc = await PDFDocument.load(bytes)
    expect([doc.getTitle(), doc.getSubject()]).toEqual(["Devis Q-2026-0042", "Cuisine du Café Søndergaard — Łódź"])
    expect(Buffer.from(await quotePdf(quote)).equals(Buffer.from(bytes))).toBe(true)
  })
})
