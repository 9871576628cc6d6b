import { FieldDefinition, Ids } from "@rapport/core"
import { Mapping } from "@rapport/importers"
import { Fixtures } from "@rapport/testing"
import { describe, expect, it } from "vitest"

const field = (key: string, label: string, type: FieldDefinition.FieldType, options: ReadonlyArray<string> = []) =>
  Fixtures.fieldDefinition(Ids.WorkspaceId.make("w"), key, { label, type, options: options.map((value) => ({ value, label: value })) })

const fields = [
  field("siret", "SIRET", "text"),
  field("employees", "Effectif", "integer"),
  field("revenue", "Chiffre d'affaires", "money"),
  field("newsletter", "Newsletter", "boolean"),
  field("birthday", "Anniversaire", "date"),
  field("lastOrder", "Last order", "datetime"),
  field("size", "Taille", "select", ["S", "M", "L"]),
  field("interests", "Centres d'intérêt", "multiSelect", ["vin", "bière", "spiritueux"])
]

const targets = (headers: ReadonlyArray<string>, explicit: Record<string, string> = {}) => {
  const mapping = Mapping.recognize(headers, fields, explicit)
  if (!("columns" in mapping)) throw new Error(JSON.stringify(mapping))
  return { map: Object.fromEntries(mapping.columns.map((c) => [c.column, c.target])), unmapped: mapping.unmapped, mapping }
}

describe("header recognition", () => {
  it("recognises Google Contacts, Outlook, HubSpot, Mailchimp, French and vCard headers", () => {
    expect(targets(["Name", "Given Name", "Family Name", "E-mail 1 - Type", "E-mail 1 - Value", "E-mail 2 - Value", "Phone 1 - Value", "Organization 1 - Name", "Group Membership"])).toMatchObject({
      map: { Name: "fullName", "Given Name": "firstName", "Family Name": "lastName", "E-mail 1 - Value": "email", "E-mail 2 - Value": "email", "Phone 1 - Value": "phone", "Organization 1 - Name": "company", "Group Membership": "tags" },
      unmapped: ["E-mail 1 - Type"]
    })
    expect(targets(["First Name", "Last Name", "Company", "E-mail Address", "Business Phone", "Mobile Phone"]).map).toEqual({
      "First Name": "firstName",
      "Last Name": "lastName",
      Company: "company",
      "E-mail Address": "email",
      "Business Phone": "phone",
      "Mobile Phone": "phone"
    })
    expect(targets(["Email", "First Name", "Last Name", "Company Name", "Contact owner", "Lead Status", "Create Date", "Original Source"]).map).toMatchObject({
      Email: "email",
      "Company Name": "company",
      "Contact owner": "ownerId",
      "Create Date": "firstSeenAt",
      "Original Source": "source.channel"
    })
    expect(targets(["Email Address", "First Name", "Last Name", "MEMBER_RATING", "OPTIN_TIME", "TAGS"]).map).toMatchObject({ "Email Address": "email", OPTIN_TIME: "firstSeenAt", TAGS: "tags" })
    expect(targets(["Prénom", "Nom", "Société", "Téléphone", "Adresse e-mail", "SIRET", "Effectif", "Chiffre d'affaires"]).map).toEqual({
      Prénom: "firstName",
      Nom: "lastName",
      Société: "company",
      Téléphone: "phone",
      "Adresse e-mail": "email",
      SIRET: "fields.siret",
      Effectif: "fields.employees",
      "Chiffre d'affaires": "fields.revenue"
    })
    expect(targets(["N.family", "N.given", "FN", "ORG", "EMAIL", "EMAIL 2", "TEL", "TEL.cell", "BDAY"]).map).toMatchObject({
      "N.family": "lastName",
      "N.given": "firstName",
      FN: "fullName",
      ORG: "company",
      EMAIL: "email",
      TEL: "phone",
      "TEL.cell": "phone"
    })
  })

  it("a mobile number wins over a landline; the first e-mail over the second", () => {
    const { mapping } = targets(["Home Phone", "E-mail 2 - Value", "Mobile Phone", "E-mail 1 - Value"])
    expect(mapping.columns.map((c) => c.column)).toEqual(["E-mail 1 - Value", "E-mail 2 - Value", "Mobile Phone", "Home Phone"])
  })

  it("an explicit mapping overrides recognition; its mistakes are named", () => {
    expect(targets(["Courriel pro", "Notes", "Nom"], { "Courriel pro": "email", Notes: "ignore", Nom: "fullName" }).map).toEqual({ "Courriel pro": "email", Notes: "ignore", Nom: "fullName" })
    expect(Mapping.recognize(["A", "B"], fields, { C: "email", A: "fields.vat", B: "phone number" })).toEqual([
      { column: "C", message: 'the file has no column "C" (its columns: A, B)' },
      { column: "A", message: 'no contact field "vat" is defined (fields: siret, employees, revenue, newsletter, birthday, lastOrder, size, interests)' },
      { column: "B", message: '"phone number" is not a target; use one of email, firstName, lastName, fullName, phone, company, tags, ownerId, score, timezone, stage, source.channel, source.campaign, firstSeenAt, consent.status, consent.at, ignore or fields.<key>' }
    ])
  })
})

describe("values", () => {
  it("reads numbers as the French, the English and the Germans write them", () => {
    expect(["1 234,50", "1\u202f234,50 €", "1,234.50", "1.234,50", "1234.5", "12,5", "-3", "1.234.567", "abc", ""].map(Mapping.parseNumber)).toEqual([
      1234.5, 1234.5, 1234.5, 1234.5, 1234.5, 12.5, -3, 1234567, undefined, undefined
    ])
  })

  it("reads dates day first by default, month first when asked, and spreadsheet dates as their calendar day", () => {
    expect(Mapping.parseDate("12/03/2025")).toBe("2025-03-12")
    expect(Mapping.parseDate("12/03/2025", "mdy")).toBe("2025-12-03")
    expect(Mapping.parseDate("2025-03-12")).toBe("2025-03-12")
    expect(Mapping.parseDate("31/02/2025")).toBeUndefined()
    expect(Mapping.parseDate("05.06.85")).toBe("1985-06-05")
    expect(Mapping.parseDate(new Date(Date.UTC(2025, 2, 12)))).toBe("2025-03-12")
    expect(Mapping.parseInstant("12/03/2025 14:30", "Europe/Paris")).toBe("2025-03-12T13:30:00.000Z")
    expect(Mapping.parseInstant("2025-07-01 09:00", "Europe/Paris")).toBe("2025-07-01T07:00:00.000Z")
  })

  it("reads yes and no, money and phones", () => {
    expect(["oui", "Non", "yes", "FALSE", "1", "x", "peut-être"].map(Mapping.parseBoolean)).toEqual([true, false, true, false, true, true, undefined])
    expect(Mapping.parseMoney("1 234,50 €", "USD")).toEqual({ amountMinor: 123450, currency: "EUR" })
    expect(Mapping.parseMoney("EUR 12.5", "USD")).toEqual({ amountMinor: 1250, currency: "EUR" })
    expect(Mapping.parseMoney(99.99, "EUR")).toEqual({ amountMinor: 9999, currency: "EUR" })
    expect(Mapping.normalizePhone("06 39 98 12 34", "FR")).toEqual({ phone: "+33639981234", valid: true })
    expect(Mapping.normalizePhone(639981234, "FR")).toEqual({ phone: "+33639981234", valid: true })
    expect(Mapping.normalizePhone("+32 470 12 34 56", "FR")).toEqual({ phone: "+32470123456", valid: true })
    expect(Mapping.normalizePhone("poste 12", "FR")).toEqual({ phone: "poste 12", valid: false })
  })

  it("maps a record into a contact candidate: names split, custom fields typed, problems named by column", () => {
    const { mapping } = targets(["Nom complet", "Email", "Mobile", "Effectif", "Newsletter", "Anniversaire", "Taille", "Centres d'intérêt", "Chiffre d'affaires", "Source"])
    const mapped = Mapping.map(
      {
        line: 2,
        values: {
          "Nom complet": "Ada Marie Lovelace",
          Email: " ada@example.com ",
          Mobile: "06 39 98 12 34",
          Effectif: "1 200",
          Newsletter: "oui",
          Anniversaire: "10/12/1815",
          Taille: "m",
          "Centres d'intérêt": "vin; Bière",
          "Chiffre d'affaires": "12 500,00 €",
          Source: "salon"
        }
      },
      mapping,
      fields,
      { country: "FR", timezone: "Europe/Paris" }
    )
    expect(mapped).toEqual({
      candidate: {
        firstName: "Ada Marie",
        lastName: "Lovelace",
        email: "ada@example.com",
        phone: "+33639981234",
        // The column says what the phone is (since 0.4.0).
        phones: [{ value: "+33639981234", label: "mobile" }],
        source: { channel: "salon" },
        fields: { employees: 1200, newsletter: true, birthday: "1815-12-10", size: "M", interests: ["vin", "bière"], revenue: { amountMinor: 1_250_000, currency: "EUR" } }
      },
      issues: [],
      warnings: []
    })
    const bad = Mapping.map({ line: 3, values: { Email: "x@example.com", Effectif: "beaucoup", Taille: "XXL", Mobile: "poste 12" } }, mapping, fields, { country: "FR", timezone: "UTC" })
    expect(bad.issues).toEqual([
      { column: "Effectif", message: '"beaucoup" is not a number' },
      { column: "Taille", message: '"XXL" is not one of S, M, L' }
    ])
    expect(bad.warnings).toEqual(['Mobile: "poste 12" is not a phone number of FR; kept as written'])
  })
})

describe("custom fields under other names", () => {
  it("a vCard's or a spreadsheet's birthday, job title, address and notes go to the fields that hold them", () => {
    const own = [field("birthday", "Anniversaire", "date"), field("jobTitle", "Fonction", "text"), field("postcode", "Code postal", "text"), field("notes", "Notes", "longText")]
    const mapping = Mapping.recognize(["BDAY", "TITLE", "ADR.postcode", "NOTE", "Date de naissance", "URL"], own)
    if (!("columns" in mapping)) throw new Error("mapping failed")
    expect(Object.fromEntries(mapping.columns.map((c) => [c.column, c.target]))).toEqual({
      BDAY: "fields.birthday",
      "Date de naissance": "fields.birthday",
      TITLE: "fields.jobTitle",
      "ADR.postcode": "fields.postcode",
      NOTE: "fields.notes"
    })
    expect(mapping.unmapped).toEqual(["URL"])
  })
})
