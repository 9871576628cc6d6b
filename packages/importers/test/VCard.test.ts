// The vCard reader on the files people really have (iPhone, Android, Outlook, Google Contacts, a
// business-card scanner, RFC 6350's own example), on 2.1's quoted-printable and charsets, on
// malformed cards (reported, the next card still read), on files that hold no card, and on large
// inputs read card by card.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import iconv from "iconv-lite"
import { readFile } from "node:fs/promises"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import type { SourceRecord } from "../src/Records.js"
import * as Source from "../src/Source.js"
import * as VCard from "../src/VCard.js"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/vcard/${name}`, import.meta.url))

const open = (input: Source.Input) => Effect.flatMap(Source.open(input), VCard.open)

const read = (input: Source.Input) =>
  Effect.flatMap(open(input), (opened) => Effect.map(Stream.runCollect(opened.records), (records) => ({ opened, records: Chunk.toReadonlyArray(records) })))

const utf8 = (text: string) => new TextEncoder().encode(text)

/** The values a record has (the keys it lacks are all `null`). */
const filled = (record: SourceRecord | undefined) => Object.fromEntries(Object.entries(record?.values ?? {}).filter(([, value]) => value !== null))

const card = (...lines: ReadonlyArray<string>) => ["BEGIN:VCARD", ...lines, "END:VCARD", ""].join("\r\n")

describe("VCard.open - real exports", () => {
  it.effect("an iPhone 3.0 export: item groups and their X-ABLabel, the preferred email first, a folded photo skipped", () =>
    Effect.gen(function*() {
      const { opened, records } = yield* read(fixture("iphone-3.0.vcf"))
      expect(opened.format).toBe("vcard")
      expect(opened.headers).toEqual(VCard.keys)
      expect(opened.details).toEqual({ encoding: "utf-8" })
      expect(records.map((r) => r.line)).toEqual([1, 297, 307])
      expect(records.every((r) => r.problem === undefined)).toBe(true)
      expect(filled(records[0])).toEqual({
        "N.family": "Martin",
        "N.given": "Élodie",
        "N.additional": "Anne",
        "N.prefix": "Dr",
        "FN": "Dr Élodie Anne Martin",
        "ORG": "Atelier Martin, Lyon",
        "ORG.unit": "Design, Studio",
        "TITLE": "Fondatrice",
        "EMAIL": "elodie@atelier-martin.fr",
        "EMAIL 2": "elodie.martin@gmail.com",
        "EMAIL.work": "elodie@atelier-martin.fr",
        "TEL": "+33 6 12 34 56 78",
        "TEL 2": "+33 4 78 12 34 56",
        "TEL 3": "+33 9 87 65 43 21",
        "TEL 4": "+33 4 78 12 34 57",
        "TEL.cell": "+33 6 12 34 56 78",
        "TEL.work": "+33 4 78 12 34 56",
        "TEL.home": "+33 9 87 65 43 21",
        "TEL.fax": "+33 4 78 12 34 57",
        "ADR.street": "5 rue des Arts\nCour intérieure\nBâtiment B",
        "ADR.city": "Lyon",
        "ADR.region": "Auvergne-Rhône-Alpes",
        "ADR.postcode": "69001",
        "ADR.country": "France",
        "URL": "https://atelier-martin.fr",
        "NOTE": "Rencontrée au salon Maison&Objet, stand B12.\nRappeler en mars; devis à suivre.",
        "BDAY": "1985-04-12"
      })
      // every key is there, null when the card lacks it
      expect(Object.keys(records[1]!.values).slice(0, VCard.keys.length)).toEqual(VCard.keys)
      expect(filled(records[1])).toEqual({
        "N.family": "Nguyen",
        "N.given": "Bao",
        "FN": "Bao Nguyen",
        "EMAIL": "bao.nguyen@example.net",
        "EMAIL.home": "bao.nguyen@example.net",
        "TEL": "06 98 76 54 32",
        "TEL.cell": "06 98 76 54 32",
        "BDAY": "--11-03"
      })
      expect(filled(records[2])).toEqual({ "FN": "Boulangerie Dupain", "ORG": "Boulangerie Dupain", "TEL": "04 72 00 00 00" })
    }))

  it.effect("an Android 2.1 export: CHARSET=UTF-8 quoted-printable names, soft line breaks, a BASE64 photo skipped", () =>
    Effect.gen(function*() {
      const { opened, records } = yield* read(fixture("android-2.1.vcf"))
      expect(opened.details.encoding).toBe("utf-8")
      expect(records.map((r) => [r.line, r.problem])).toEqual([[1, undefined], [75, undefined]])
      expect(filled(records[0])).toEqual({
        "N.family": "de La Rochefoucauld-Lefèvre",
        "N.given": "François-Xavier",
        "FN": "François-Xavier de La Rochefoucauld-Lefèvre",
        "ORG": "Société Exemple SARL",
        "TITLE": "Responsable achats",
        "EMAIL": "fx.lefevre@example.fr",
        "EMAIL 2": "f.lefevre@exemple-sarl.fr",
        "EMAIL.work": "f.lefevre@exemple-sarl.fr",
        "EMAIL.home": "fx.lefevre@example.fr",
        "TEL": "+33612345678",
        "TEL 2": "+33 2 40 12 34 56",
        "TEL 3": "+33 2 40 12 34 57",
        "TEL.cell": "+33612345678",
        "TEL.home": "+33 2 40 12 34 56",
        "TEL.fax": "+33 2 40 12 34 57",
        "ADR.street": "12 allée des Chênes",
        "ADR.city": "Nantes",
        "ADR.postcode": "44000",
        "ADR.country": "France",
        "NOTE": "Rencontré à la fête de la musique, très sympa. Préfère être appelé le matin.\nAllergique aux noix.",
        "BDAY": "1985-04-12"
      })
      // 2.1's bare PREF puts the second number first
      expect(filled(records[1])).toEqual({
        "N.family": "Østergaard",
        "N.given": "Jørgen",
        "FN": "Jørgen Østergaard",
        "EMAIL": "jorgen@example.dk",
        "TEL": "+45 20 12 34 56",
        "TEL 2": "+45 33 12 34 56",
        "TEL.cell": "+45 20 12 34 56"
      })
    }))

  it.effect("a business-card scanner export in ISO-8859-1: CHARSET=ISO-8859-1 values, raw and quoted-printable, 3.0 and 2.1", () =>
    Effect.gen(function*() {
      const { opened, records } = yield* read(fixture("camcard.vcf"))
      expect(opened.details.encoding).toBe("windows-1252")
      expect(records.map((r) => [r.line, r.problem])).toEqual([[1, undefined], [16, undefined]])
      expect(filled(records[0])).toEqual({
        "N.family": "Müller",
        "N.given": "Jürgen",
        "N.prefix": "Dr.",
        "FN": "Dr. Jürgen Müller",
        "ORG": "Bäckerei Müller GmbH",
        "ORG.unit": "Vertrieb",
        "TITLE": "Geschäftsführer",
        "EMAIL": "j.mueller@baeckerei-mueller.de",
        "EMAIL.work": "j.mueller@baeckerei-mueller.de",
        "TEL": "+49 89 1234567",
        "TEL 2": "+49 170 1234567",
        "TEL 3": "+49 89 1234568",
        "TEL.cell": "+49 170 1234567",
        "TEL.work": "+49 89 1234567",
        "TEL.fax": "+49 89 1234568",
        "ADR.street": "Hauptstraße 5",
        "ADR.city": "München",
        "ADR.region": "Bayern",
        "ADR.postcode": "80331",
        "ADR.country": "Deutschland",
        "URL": "www.baeckerei-mueller.de",
        "NOTE": "Messe München 2024, Stand 4: Brötchen für 200 Gäste"
      })
      // a fax listed before the mobile still comes after it; an unlabelled 8-bit TITLE is read too
      expect(filled(records[1])).toMatchObject({
        "N.family": "François",
        "N.given": "Valérie",
        "FN": "Valérie François",
        "ORG": "Crêperie du Château",
        "TITLE": "Gérante",
        "TEL": "02 99 12 34 56",
        "TEL 2": "06 11 22 33 44",
        "TEL 3": "02 99 12 34 57",
        "TEL.fax": "02 99 12 34 57",
        "ADR.street": "3 place du Marché",
        "NOTE": "Carte scannée le 12/03/2024"
      })
    }))

  it.effect("a Google Contacts 3.0 export with LF line ends: escaped colons in URLs, a birthday without a year", () =>
    Effect.gen(function*() {
      const { records } = yield* read(fixture("google-3.0.vcf"))
      expect(records.map((r) => r.line)).toEqual([1, 18])
      expect(filled(records[0])).toEqual({
        "N.family": "Durand",
        "N.given": "Camille",
        "FN": "Camille Durand",
        "ORG": "Agence Durand",
        "TITLE": "Directrice artistique",
        "EMAIL": "camille.durand@gmail.com",
        "EMAIL 2": "c.durand@agence-durand.fr",
        "EMAIL.work": "c.durand@agence-durand.fr",
        "EMAIL.home": "camille.durand@gmail.com",
        "TEL": "06 45 67 89 01",
        "TEL 2": "01 44 55 66 77",
        "TEL.cell": "06 45 67 89 01",
        "TEL.work": "01 44 55 66 77",
        "ADR.street": "18 boulevard Haussmann",
        "ADR.city": "Paris",
        "ADR.region": "Île-de-France",
        "ADR.postcode": "75009",
        "ADR.country": "France",
        "URL": "http://www.agence-durand.fr",
        "NOTE": "Cliente depuis 2019.\nPréfère les rendez-vous le jeudi.",
        "BDAY": "--07-21",
        "CATEGORIES": "myContacts, Clients"
      })
      expect(filled(records[1])).toMatchObject({ "FN": "Thomas Petit", "TEL.home": "+33 1 23 45 67 89", "BDAY": "1990-02-28" })
    }))

  it.effect("an Outlook 2.1 export in Windows-1252: a quoted-printable LABEL over three lines and an indented photo are skipped whole", () =>
    Effect.gen(function*() {
      const { opened, records } = yield* read(fixture("outlook-2.1.vcf"))
      expect(opened.details.encoding).toBe("windows-1252")
      expect(records.map((r) => [r.line, r.problem])).toEqual([[1, undefined], [63, undefined]])
      expect(filled(records[0])).toEqual({
        "N.family": "Lefèvre",
        "N.given": "Hélène",
        "FN": "Hélène Lefèvre",
        "ORG": "Société Générale d'Équipement",
        "ORG.unit": "Service Achats",
        "TITLE": "Acheteuse",
        "EMAIL": "helene.lefevre@sge.example.fr",
        "EMAIL 2": "h.lefevre@gmail.com",
        "TEL": "01 23 45 67 89",
        "TEL 2": "06 12 34 56 78",
        "TEL 3": "01 23 45 67 90",
        "TEL.cell": "06 12 34 56 78",
        "TEL.work": "01 23 45 67 89",
        "TEL.fax": "01 23 45 67 90",
        // 2.1 has no comma lists: the comma is the street's
        "ADR.street": "12, rue de la Paix",
        "ADR.city": "Paris",
        "ADR.postcode": "75002",
        "ADR.country": "France",
        "URL": "http://www.sge.example.fr",
        "NOTE": "Budget validé – relancer fin du trimestre",
        "BDAY": "1978-09-23"
      })
      expect(filled(records[1])).toEqual({ "N.family": "Bernard", "N.given": "Luc", "FN": "Luc Bernard", "EMAIL": "luc.bernard@example.com" })
    }))

  it.effect("RFC 6350's 4.0 example: a folded ADR, quoted TYPE lists, PREF=1, tel: URIs with an extension, --0203", () =>
    Effect.gen(function*() {
      const { records } = yield* read(fixture("rfc6350-4.0.vcf"))
      expect(records).toHaveLength(1)
      expect(records[0]!.problem).toBeUndefined()
      expect(filled(records[0])).toEqual({
        "N.family": "Perreault",
        "N.given": "Simon",
        "N.suffix": "ing. jr, M.Sc.",
        "FN": "Simon Perreault",
        "ORG": "Viagenie",
        "EMAIL": "simon.perreault@viagenie.ca",
        "EMAIL.work": "simon.perreault@viagenie.ca",
        "TEL": "+1-418-656-9254 ext. 102",
        "TEL 2": "+1-418-262-6501",
        "TEL.cell": "+1-418-262-6501",
        "TEL.work": "+1-418-656-9254 ext. 102",
        "ADR.street": "2875 Laurier\nSuite D2-630",
        "ADR.city": "Quebec",
        "ADR.region": "QC",
        "ADR.postcode": "G1V 2M2",
        "ADR.country": "Canada",
        "URL": "http://nomis80.org",
        "BDAY": "--02-03"
      })
    }))
})

describe("VCard.open - malformed cards", () => {
  it.effect("a malformed card between two good ones: both good ones read, the bad one reported with its line, text before the cards ignored", () =>
    Effect.gen(function*() {
      const { records } = yield* read(fixture("malformed-middle.vcf"))
      expect(records.map((r) => [r.line, r.values["FN"], r.values["EMAIL"]])).toEqual([
        [3, "Inès Girard", "ines.girard@example.fr"],
        [9, "Paul Roux", null],
        [16, "Léa Fontaine", "lea.fontaine@example.fr"]
      ])
      expect(records[0]!.problem).toBeUndefined()
      expect(records[1]!.problem).toBe(`line 13 has no colon ("EMAILpaul.roux@example.fr"): a property line reads NAME:value`)
      expect(records[1]!.values["TEL.cell"]).toBe("06 00 00 00 01")
      expect(records[2]!.problem).toBeUndefined()
    }))

  it.effect("a card without END at the end of the file is reported with what it holds", () =>
    Effect.gen(function*() {
      const { records } = yield* read(fixture("no-end.vcf"))
      expect(records.map((r) => [r.line, r.values["FN"], r.problem])).toEqual([
        [1, "Anne Leroy", undefined],
        [6, "Marc Blanc", "no END:VCARD before the end of the file"]
      ])
      expect(records[1]!.values["EMAIL"]).toBe("marc.blanc@example.fr")
    }))

  it.effect("a card without END before the next BEGIN is reported, and the next card is read whole", () =>
    Effect.gen(function*() {
      const text = ["BEGIN:VCARD", "VERSION:3.0", "FN:Sans Fin", "BEGIN:VCARD", "VERSION:3.0", "FN:Suivant", "EMAIL:suivant@example.fr", "END:VCARD", ""].join("\n")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => [r.line, r.values["FN"], r.problem])).toEqual([
        [1, "Sans Fin", "no END:VCARD before the BEGIN:VCARD of line 4"],
        [4, "Suivant", undefined]
      ])
      expect(records[1]!.values["EMAIL"]).toBe("suivant@example.fr")
    }))

  it.effect("broken quoted-printable is reported, and a soft line break never swallows END:VCARD", () =>
    Effect.gen(function*() {
      const text = card("VERSION:2.1", "N;ENCODING=QUOTED-PRINTABLE:Dupr=E9;Jean", "NOTE;ENCODING=QUOTED-PRINTABLE:100=G1 net")
        + card("VERSION:2.1", "FN:Coupé", "NOTE;ENCODING=QUOTED-PRINTABLE:fin=")
        + card("VERSION:2.1", "FN:Ensuite")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => [r.line, r.problem])).toEqual([
        [1, `line 4: broken quoted-printable "=G1" in NOTE`],
        [6, `line 9: the quoted-printable NOTE ends with a soft line break ("=") and nothing follows`],
        [11, undefined]
      ])
      // what could be read is kept: =E9 without a charset, not UTF-8, is Windows-1252
      expect(records[0]!.values).toMatchObject({ "N.family": "Dupré", "N.given": "Jean", "NOTE": "100=G1 net" })
      expect(records[1]!.values).toMatchObject({ "FN": "Coupé", "NOTE": "fin" })
    }))

  it.effect("an unknown VERSION is reported with the values read; a line that is not a property line too", () =>
    Effect.gen(function*() {
      const text = card("VERSION:5.0", "FN:Futur", "EMAIL:futur@example.fr") + card("VERSION:3.0", "FN:Coupée", "Rappeler en mars: urgent", "EMAIL:c@example.fr")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => [r.line, r.problem])).toEqual([
        [1, `unknown VERSION "5.0" (2.1, 3.0 and 4.0 are read)`],
        [6, `line 9 is not a property line ("Rappeler en mars: urgent")`]
      ])
      expect(records[0]!.values).toMatchObject({ "FN": "Futur", "EMAIL": "futur@example.fr" })
      expect(records[1]!.values).toMatchObject({ "FN": "Coupée", "EMAIL": "c@example.fr" })
    }))

  it.effect("a value over 1 MiB is cut and reported; a photo of any size is skipped without a problem", () =>
    Effect.gen(function*() {
      const photo = "A".repeat(3 * 1024 * 1024)
      const folded = photo.match(/.{1,74}/g)!.join("\r\n ")
      const text = card("VERSION:3.0", "FN:Bavard", `NOTE:${"bla ".repeat(300_000)}`)
        + card("VERSION:2.1", "FN:Une ligne", `PHOTO;ENCODING=BASE64;JPEG:${photo}`, "", "EMAIL:ligne@example.fr")
        + card("VERSION:3.0", "FN:Pliée", `PHOTO;ENCODING=b;TYPE=JPEG:${folded}`, "EMAIL:pliee@example.fr")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => [r.values["FN"], r.values["EMAIL"], r.problem])).toEqual([
        ["Bavard", null, "line 4: NOTE is longer than 1 MiB and was cut"],
        ["Une ligne", "ligne@example.fr", undefined],
        ["Pliée", "pliee@example.fr", undefined]
      ])
      expect(String(records[0]!.values["NOTE"]).length).toBeLessThanOrEqual(1024 * 1024)
    }))
})

describe("VCard.open - values", () => {
  it.effect("birthdays in every form become YYYY-MM-DD or --MM-DD; anything else is kept as written", () =>
    Effect.gen(function*() {
      const bdays = ["19850412", "1985-04-12", "--0412", "--04-12", "1985-04-12T00:00:00Z", "19850412T103000", "circa 1985", "1985-13-40"]
      const text = bdays.map((b) => card("VERSION:4.0", `BDAY:${b}`)).join("") + card("VERSION:3.0", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => r.values["BDAY"])).toEqual(
        ["1985-04-12", "1985-04-12", "--04-12", "--04-12", "1985-04-12", "1985-04-12", "circa 1985", "1985-13-40", "--04-12"]
      )
    }))

  it.effect("every address and number is kept: EMAIL 4 and TEL 4 when a card has them, repeats once; pref=1 wins in 4.0", () =>
    Effect.gen(function*() {
      const text = card(
        "VERSION:4.0",
        "EMAIL:a@example.fr",
        "EMAIL:b@example.fr",
        "EMAIL;PREF=2:c@example.fr",
        "EMAIL;PREF=1:d@example.fr",
        "EMAIL:A@example.fr",
        "EMAIL:e@example.fr",
        "TEL;TYPE=fax:01",
        "TEL;TYPE=pager:02",
        "TEL:03",
        "TEL;TYPE=home:04"
      )
      const { records } = yield* read(utf8(text))
      expect(filled(records[0])).toEqual({
        "EMAIL": "d@example.fr",
        "EMAIL 2": "c@example.fr",
        "EMAIL 3": "a@example.fr",
        "EMAIL 4": "b@example.fr",
        "EMAIL 5": "e@example.fr",
        "TEL": "03",
        "TEL 2": "04",
        "TEL 3": "01",
        "TEL 4": "02",
        "TEL.home": "04",
        "TEL.fax": "01"
      })
    }))

  it.effect("escapes: \\n \\, \\; \\\\ in 3.0; in 2.1 only \\; (a backslash is kept)", () =>
    Effect.gen(function*() {
      const text = card("VERSION:3.0", "NOTE:a\\nb\\, c\\; d\\\\e", "ORG:Dupont\\; Fils;Ventes\\, Export") + card("VERSION:2.1", "NOTE:C:\\new\\; x", "ORG:Dupont\\; Fils;Ventes")
      const { records } = yield* read(utf8(text))
      expect(records.map((r) => [r.values["NOTE"], r.values["ORG"], r.values["ORG.unit"]])).toEqual([
        ["a\nb, c; d\\e", "Dupont; Fils", "Ventes, Export"],
        ["C:\\new; x", "Dupont; Fils", "Ventes"]
      ])
    }))

  it.effect("a quoted parameter value may hold colons and semicolons; a header folded in its middle is read whole", () =>
    Effect.gen(function*() {
      const text = card(
        "VERSION:4.0",
        `ADR;TYPE=work;LABEL="12 rue de la Paix\\n75002 Paris: France; FR":;;12 rue de la Paix;Paris;;75002;France`,
        "TEL;TYPE=CE",
        " LL:06 12 34 56 78",
        "EMAIL; TYPE = work : \tspaces@example.fr "
      )
      const { records } = yield* read(utf8(text))
      expect(records[0]!.problem).toBeUndefined()
      expect(filled(records[0])).toEqual({
        "ADR.street": "12 rue de la Paix",
        "ADR.city": "Paris",
        "ADR.postcode": "75002",
        "ADR.country": "France",
        "TEL": "06 12 34 56 78",
        "TEL.cell": "06 12 34 56 78",
        "EMAIL": "spaces@example.fr",
        "EMAIL.work": "spaces@example.fr"
      })
    }))

  it.effect("a UTF-16 file with a BOM (Windows) is read", () =>
    Effect.gen(function*() {
      const text = card("VERSION:3.0", "N:Hébert;Zoé;;;", "EMAIL:zoe@example.fr")
      const { opened, records } = yield* read(iconv.encode(text, "utf-16le", { addBOM: true }))
      expect(opened.details.encoding).toBe("utf-16le")
      expect(filled(records[0])).toEqual({ "N.family": "Hébert", "N.given": "Zoé", "EMAIL": "zoe@example.fr" })
    }))

  it.effect("a UTF-8 BOM before the first card is not in the way", () =>
    Effect.gen(function*() {
      const { records } = yield* read(utf8(`\uFEFF${card("VERSION:3.0", "FN:Avec BOM")}`))
      expect(records.map((r) => [r.line, r.values["FN"]])).toEqual([[1, "Avec BOM"]])
    }))
})

describe("VCard.open - files that are not vCards", () => {
  it.effect("an empty file fails with ImportError empty", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(open(fixture("empty.vcf")))
      expect([error._tag, error.reason, error.message]).toEqual(["ImportError", "empty", `"empty.vcf" is empty`])
    }))

  it.effect("text without any card fails with ImportError empty", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(open(utf8("Nom;Prénom;Email\nDupont;Jean;jean@example.fr\n")))
      expect([error.reason, error.message]).toEqual(["empty", "The file holds no vCard (no BEGIN:VCARD line)"])
    }))

  it.effect("binary data fails with ImportError unreadable", () =>
    Effect.gen(function*() {
      const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, ...Array.from({ length: 2000 }, (_, i) => (i * 37) % 256)])
      const error = yield* Effect.flip(open(jpeg))
      expect([error.reason, error.message]).toEqual(["unreadable", "The file is not a vCard file: it holds binary data"])
    }))
})

describe("VCard.open - streaming", () => {
  const chunked = (bytes: Uint8Array, size: number) => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => Buffer.from(bytes.subarray(i * size, (i + 1) * size))))

  it.effect("chunks cut anywhere (inside a CRLF, a UTF-8 character, a quoted-printable sequence) give the same records", () =>
    Effect.gen(function*() {
      for (const name of ["android-2.1.vcf", "iphone-3.0.vcf", "outlook-2.1.vcf", "rfc6350-4.0.vcf"]) {
        const whole = yield* read(fixture(name))
        const bytes = yield* Effect.promise(() => readFile(fixture(name)))
        for (const size of [1, 2, 3, 7, 100, 4099]) {
          const { records } = yield* read(chunked(bytes, size))
          expect(records, `${name} in chunks of ${size}`).toEqual(whole.records)
        }
      }
    }))

  it.effect("100,000 cards are read card by card: the first comes before the input is read, and stopping closes the input", () =>
    Effect.gen(function*() {
      const total = 100_000
      let produced = 0
      let closed = false
      const cards = function*() {
        try {
          for (let i = 0; i < total; i += 500) {
            let text = ""
            for (let j = i; j < i + 500; j++) {
              text += card("VERSION:3.0", `N:Nom${j};Prénom${j};;;`, `EMAIL;TYPE=INTERNET:contact${j}@example.fr`, `TEL;TYPE=CELL:+33 6 00 ${String(j).padStart(6, "0")}`)
            }
            produced += 500
            yield Buffer.from(text, "utf8")
          }
        } finally {
          closed = true
        }
      }
      // all of it: counted, not collected
      const bytes = yield* Source.open(Readable.from(cards()))
      const opened = yield* VCard.open(bytes)
      const { count, last } = yield* Stream.runFold(opened.records, { count: 0, last: undefined as SourceRecord | undefined, problems: 0 }, (acc, r) => ({
        count: acc.count + 1,
        last: r,
        problems: acc.problems + (r.problem === undefined ? 0 : 1)
      }))
      expect(count).toBe(total)
      expect(last?.line).toBe((total - 1) * 6 + 1)
      expect(last?.values).toMatchObject({ "N.family": `Nom${total - 1}`, "EMAIL": `contact${total - 1}@example.fr` })
      expect(bytes.read()).toBeGreaterThan(10_000_000)

      // the first card only
      produced = 0
      closed = false
      const again = yield* Source.open(Readable.from(cards()))
      const first = yield* Effect.flatMap(VCard.open(again), (o) => Stream.runCollect(Stream.take(o.records, 1)))
      expect(Chunk.toReadonlyArray(first).map((r) => r.values["EMAIL"])).toEqual(["contact0@example.fr"])
      expect(produced).toBeLessThan(5_000)
      expect(again.read()).toBeLessThan(1_000_000)
      expect(closed).toBe(true)
    }))

  it.effect("the records can be read once", () =>
    Effect.gen(function*() {
      const opened = yield* open(utf8(card("VERSION:3.0", "FN:Une fois")))
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(opened.records)).map((r) => r.values["FN"])).toEqual(["Une fois"])
      const error = yield* Effect.flip(Stream.runCollect(opened.records))
      expect(error.reason).toBe("unreadable")
    }))
})
