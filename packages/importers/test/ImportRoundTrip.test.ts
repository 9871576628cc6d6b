// Files other tools write, generated: random valid contacts (each with its own email and phone: a
// shared phone with another email is an identity conflict, tested in Identity.test.ts) written as a CSV in a random header
// dialect (English, French, Google Contacts, Outlook), encoding (UTF-8 with or without a BOM,
// Windows-1252 when every character fits), delimiter, quoting and line ends, imported into an
// empty workspace, read back: every value is there, as the contact holds it.
import { Crm } from "@rapport/core"
import { SqliteStorage } from "@rapport/sqlite"
import { importContacts } from "@rapport/importers"
import { describe, expect, it } from "@effect/vitest"
import { stringify } from "csv-stringify/sync"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import iconv from "iconv-lite"

const TestCrm = Crm.layer.pipe(Layer.provideMerge(SqliteStorage.memoryLayer))

// Characters of real names and notes; the Latin ones fit Windows-1252, the others need UTF-8.
const latin = [..."aAzZéÉèçÇœŒßüÖñ' ,;|.\"&()/"]
const wide = [..."日本語😀Ωж"]
const line = (chars: ReadonlyArray<string>, max: number) =>
  fc
    .array(fc.constantFrom(...chars), { minLength: 1, maxLength: max })
    .map((cs) => cs.join("").replace(/\s+/g, " ").trim())
    // A leading quote before a formula character is an export's neutralisation, removed on import.
    .filter((s) => s.length > 0 && /[\p{L}\p{N}]/u.test(s) && !s.startsWith("'"))

const contactArb = (chars: ReadonlyArray<string>) =>
  fc.record({
    firstName: line(chars, 12),
    lastName: line(chars, 14),
    mobile: fc.integer({ min: 10_000_000, max: 99_999_999 }),
    company: fc.option(line(chars, 20), { nil: undefined }),
    tags: fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9éà_-]{1,10}$/), { maxLength: 3, selector: (t) => t.toLowerCase() }),
    jobTitle: fc.option(line(chars, 20), { nil: undefined }),
    birthday: fc.option(fc.date({ min: new Date("1920-01-01T00:00:00Z"), max: new Date("2010-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)), { nil: undefined }),
    notes: fc.option(fc.tuple(line(chars, 20), line(chars, 20)).map(([a, b]) => `${a}\n${b}`), { nil: undefined })
  })
type Generated = typeof contactArb extends (chars: ReadonlyArray<string>) => fc.Arbitrary<infer A> ? A : never

interface Dialect {
  readonly name: string
  readonly headers: readonly [email: string, first: string, last: string, phone: string, company: string, tags: string, job: string, birthday: string, notes: string]
  /** Extra columns the tool writes (and the importer must not take for a value). */
  readonly extra: ReadonlyArray<readonly [string, (g: Generated, i: number) => string]>
  readonly tags: (tags: ReadonlyArray<string>) => string
  readonly date: (iso: string) => string
  readonly phone: (n: number) => string
}

const [y, m, d] = [(iso: string) => iso.slice(0, 4), (iso: string) => Number(iso.slice(5, 7)), (iso: string) => Number(iso.slice(8, 10))]
const dialects: ReadonlyArray<Dialect> = [
  {
    name: "english",
    headers: ["Email", "First Name", "Last Name", "Phone", "Company", "Tags", "Job Title", "Birthday", "Notes"],
    extra: [],
    tags: (t) => t.join(", "),
    date: (iso) => iso,
    phone: (n) => `+33 6 ${String(n).replace(/(\d{2})(?=\d)/g, "$1 ")}`
  },
  {
    name: "french",
    headers: ["Courriel", "Prénom", "Nom", "Téléphone portable", "Société", "Étiquettes", "Fonction", "Date de naissance", "Remarques"],
    extra: [["Civilité", (_, i) => (i % 2 === 0 ? "Mme" : "M.")]],
    tags: (t) => t.join(";"),
    date: (iso) => `${String(d(iso)).padStart(2, "0")}/${String(m(iso)).padStart(2, "0")}/${y(iso)}`,
    phone: (n) => `06 ${String(n).replace(/(\d{2})(?=\d)/g, "$1 ")}`
  },
  {
    name: "google",
    headers: ["E-mail 1 - Value", "First Name", "Last Name", "Phone 1 - Value", "Organization Name", "Labels", "Organization Title", "Birthday", "Notes"],
    extra: [["E-mail 1 - Label", () => "* Work"], ["Phone 1 - Label", () => "Mobile"]],
    tags: (t) => ["* myContacts", ...t].join(" ::: "),
    date: (iso) => iso,
    phone: (n) => `+336${n}`
  },
  {
    name: "outlook",
    headers: ["E-mail Address", "First Name", "Last Name", "Mobile Phone", "Company", "Categories", "Job Title", "Birthday", "Notes"],
    extra: [["Title", (_, i) => (i % 2 === 0 ? "Ms." : "Dr.")], ["E-mail Display Name", (g) => `${g.firstName} ${g.lastName}`], ["Gender", () => "Unspecified"], ["Priority", () => "Normal"]],
    tags: (t) => t.join(";"),
    date: (iso) => `${m(iso)}/${d(iso)}/${y(iso)}`,
    phone: (n) => `+33 6 ${n}`
  }
]

const fileArb = fc
  .record({
    dialect: fc.constantFrom(...dialects),
    encoding: fc.constantFrom("utf-8", "utf-8-bom", "windows-1252"),
    delimiter: fc.constantFrom(",", ";", "\t", "|"),
    quoted: fc.boolean(),
    crlf: fc.boolean()
  })
  .chain((file) => fc.record({ file: fc.constant(file), contacts: fc.uniqueArray(contactArb(file.encoding === "windows-1252" ? latin : [...latin, ...wide]), { minLength: 1, maxLength: 10, selector: (c) => c.mobile }) }))

const build = (file: { readonly dialect: Dialect; readonly encoding: string; readonly delimiter: string; readonly quoted: boolean; readonly crlf: boolean }, contacts: ReadonlyArray<Generated>): Uint8Array => {
  const { dialect } = file
  const header = [...dialect.headers, ...dialect.extra.map(([h]) => h)]
  const rows = contacts.map((g, i) => [
    `contact.${i}@example.com`,
    g.firstName,
    g.lastName,
    dialect.phone(g.mobile),
    g.company ?? "",
    dialect.tags(g.tags),
    g.jobTitle ?? "",
    g.birthday === undefined ? "" : dialect.date(g.birthday),
    g.notes ?? "",
    ...dialect.extra.map(([, value]) => value(g, i))
  ])
  // Minimal quoting still quotes a line break inside a value (csv-stringify would not with CRLF records).
  const text = stringify([header, ...rows], { delimiter: file.delimiter, quoted: file.quoted, quoted_match: /[\r\n]/, record_delimiter: file.crlf ? "windows" : "unix" })
  if (file.encoding === "windows-1252") return new Uint8Array(iconv.encode(text, "windows-1252"))
  return new Uint8Array(Buffer.from(`${file.encoding === "utf-8-bom" ? "\uFEFF" : ""}${text}`, "utf8"))
}

describe("import round trip: files other tools write", () => {
  it("every value of random contacts, in a random dialect, encoding, delimiter and quoting, is read back", async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ file, contacts }) => {
        const bytes = build(file, contacts)
        // Text that is all ASCII is both UTF-8 and Windows-1252: the reader says UTF-8.
        const ascii = bytes.every((b) => b < 0x80)
        const { report, stored } = await Effect.runPromise(
          Effect.gen(function* () {
            const crm = yield* Crm.Crm
            yield* crm.fields.define({ key: "jobTitle", label: "Job title", type: "text" })
            yield* crm.fields.define({ key: "birthday", label: "Birthday", type: "date" })
            yield* crm.fields.define({ key: "notes", label: "Notes", type: "longText" })
            const report = yield* importContacts(bytes, { country: "FR" })
            const page = yield* crm.contacts.list({ limit: 500 })
            const stored = yield* Effect.forEach(page.items, (c) =>
              Effect.map(c.companyId === null ? Effect.succeed(null) : crm.companies.get(c.companyId), (company) => ({ contact: c, company: company?.name ?? null }))
            )
            return { report, stored }
          }).pipe(Effect.provide(TestCrm))
        )
        expect(report.rejections).toEqual([])
        expect(report.created).toBe(contacts.length)
        expect(report.details.encoding).toBe(file.encoding === "windows-1252" && !ascii ? "windows-1252" : "utf-8")
        contacts.forEach((g, i) => {
          const s = stored.find((one) => one.contact.email === `contact.${i}@example.com`)!
          expect({
            firstName: s.contact.firstName,
            lastName: s.contact.lastName,
            phone: s.contact.phone,
            company: s.company,
            tags: s.contact.tags,
            fields: s.contact.fields
          }).toEqual({
            firstName: g.firstName,
            lastName: g.lastName,
            phone: `+336${g.mobile}`,
            // Companies are linked by name, case aside: the first spelling names the company.
            company: g.company === undefined ? null : contacts.find((o) => o.company?.toLowerCase() === g.company!.toLowerCase())!.company,
            tags: g.tags,
            fields: {
              ...(g.jobTitle === undefined ? {} : { jobTitle: g.jobTitle }),
              ...(g.birthday === undefined ? {} : { birthday: g.birthday }),
              ...(g.notes === undefined ? {} : { notes: g.notes })
            }
          })
        })
      }),
      { numRuns: 120 }
    )
  }, 120_000)
})
