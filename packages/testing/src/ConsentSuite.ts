// Consent proof, double opt-in and the deliverability of addresses, as part of the storage contract
// (issue 15): a consent's proof and pending request are stored exactly and replaced with the
// record; address reports (hard, soft, complaint, clear) add up per workspace and address; and the
// services on this storage run a double opt-in and a bounce end to end. Registered by
// `storageSuite`; not a public entry point of its own.
import { Consent, Crm, Ids, Mailer, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const encode = Schema.encodeSync(Consent.ConsentRecord)
const health = Schema.encodeSync(Consent.AddressHealth)
const ada = Ids.ContactId.make("018f0000-0000-7000-8000-0000000000a1")

const settings: Mailer.MailSettingsService = {
  unsubscribe: { url: "https://shop.example/unsubscribe?token={token}", secret: "contract-secret" },
  confirmation: { url: "https://shop.example/consent/confirm?token={token}", lifetime: "2 days" }
}

export const consentSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("consent proof and address health (storage)", () => {
    test("a consent's proof and pending request are stored exactly, and replaced with the record", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const pending = Fixtures.consent(ws, {
          contactId: ada,
          granted: false,
          at: at("2025-03-01T10:00:00.000Z"),
          requestedAt: at("2025-03-01T10:00:00.000Z"),
          proof: new Consent.ConsentProof({ at: at("2025-03-01T10:00:00.000Z"), method: "double-opt-in", ip: null, userAgent: null, evidence: "Footer « newsletter » box", requestedAt: at("2025-03-01T10:00:00.000Z") })
        })
        yield* s.consents.put(pending)
        expect((yield* s.consents.list(ws, ada)).map((r) => encode(r))).toEqual([encode(pending)])
        const granted = Fixtures.consent(ws, {
          contactId: ada,
          at: at("2025-03-02T08:30:00.001Z"),
          proof: new Consent.ConsentProof({
            at: at("2025-03-02T08:30:00.001Z"),
            method: "double-opt-in",
            ip: "2001:db8::7",
            userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            evidence: "Footer « newsletter » box",
            requestedAt: at("2025-03-01T10:00:00.000Z")
          })
        })
        yield* s.consents.put(granted)
        expect((yield* s.consents.list(ws, ada)).map((r) => encode(r))).toEqual([encode(granted)])
        // A record without proof replaces the proof too.
        const withdrawn = Fixtures.consent(ws, { contactId: ada, granted: false, at: at("2025-03-03T00:00:00.000Z") })
        yield* s.consents.put(withdrawn)
        const [read] = yield* s.consents.list(ws, ada)
        expect([read!.proof, read!.requestedAt]).toEqual([null, null])
      }))

    test("address reports add up per workspace and address: hard, soft (counted), complaint, clear; remove forgets them", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const other = Fixtures.freshWorkspaceId()
        expect(yield* s.addressHealth.list(ws, ["ada@example.com"])).toEqual([])
        yield* s.addressHealth.report(ws, "ada@example.com", { kind: "soft", at: at("2025-03-01T10:00:00.000Z") })
        const second = yield* s.addressHealth.report(ws, "ada@example.com", { kind: "soft", at: at("2025-03-01T11:00:00.000Z") })
        expect([second.softBounces, second.lastSoftBounceAt]).toEqual([2, at("2025-03-01T11:00:00.000Z")])
        const hard = yield* s.addressHealth.report(ws, "ada@example.com", { kind: "hard", at: at("2025-03-02T09:00:00.000Z"), reason: "550 5.1.1 « inconnu »" })
        const complained = yield* s.addressHealth.report(ws, "ada@example.com", { kind: "complaint", at: at("2025-03-03T09:00:00.000Z") })
        const expected = new Consent.AddressHealth({
          workspaceId: ws,
          email: "ada@example.com",
          hardBouncedAt: at("2025-03-02T09:00:00.000Z"),
          hardBounceReason: "550 5.1.1 « inconnu »",
          softBounces: 2,
          lastSoftBounceAt: at("2025-03-01T11:00:00.000Z"),
          complainedAt: at("2025-03-03T09:00:00.000Z")
        })
        expect([health(hard).hardBounceReason, health(complained)]).toEqual(["550 5.1.1 « inconnu »", health(expected)])
        yield* s.addressHealth.report(other, "ada@example.com", { kind: "hard", at: at("2025-03-02T09:00:00.000Z"), reason: null })
        yield* s.addressHealth.report(ws, "bob@example.com", { kind: "complaint", at: at("2025-03-04T09:00:00.000Z") })
        expect((yield* s.addressHealth.list(ws, ["ada@example.com", "carol@example.com"])).map((h) => health(h))).toEqual([health(expected)])
        const cleared = yield* s.addressHealth.report(ws, "ada@example.com", { kind: "clear" })
        expect([cleared.hardBouncedAt, cleared.softBounces, cleared.lastSoftBounceAt, cleared.complainedAt]).toEqual([null, 0, null, at("2025-03-03T09:00:00.000Z")])
        expect((yield* s.addressHealth.report(ws, "nobody@example.com", { kind: "clear" })).softBounces).toBe(0)
        expect(yield* s.addressHealth.list(ws, ["nobody@example.com"])).toEqual([])
        expect(yield* s.addressHealth.remove(ws, ["ada@example.com", "bob@example.com", "carol@example.com"])).toBe(2)
        expect(yield* s.addressHealth.list(ws, ["ada@example.com", "bob@example.com"])).toEqual([])
        expect((yield* s.addressHealth.list(other, ["ada@example.com"])).length).toBe(1)
      }))

    test("a report written in a transaction that fails is not stored", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        yield* Effect.either(s.transaction(Effect.zipRight(s.addressHealth.report(ws, "ada@example.com", { kind: "soft", at: at("2025-03-01T10:00:00.000Z") }), Effect.fail("boom"))))
        expect(yield* s.addressHealth.list(ws, ["ada@example.com"])).toEqual([])
      }))
  })

  describe("double opt-in and bounces (services on this storage)", () => {
    test("request queues the confirmation mail; confirm grants with the proof; a hard bounce flags the address; erase forgets it", () =>
      Effect.gen(function* () {
        const s = yield* store
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Workspaces.withWorkspace(ws), Effect.provideService(Mailer.MailSettings, settings))
        const contact = yield* run(crm.contacts.create({ email: "ada@example.com" }))
        const requested = yield* run(crm.consent.request(contact.id, { evidence: "Footer box" }))
        expect(requested.status.purposes["marketing"]).toMatchObject({ granted: false, pending: true })
        const job = (yield* s.jobs.list(ws, { contactId: contact.id, limit: 10 })).find((j) => j.action?.type === "mail")
        expect(job?.category).toBe("transactional")
        const text = job?.action?.type === "mail" ? (job.action.text ?? "") : ""
        const token = decodeURIComponent(/confirm\?token=([^\s"<]+)/.exec(text)?.[1] ?? "")
        const forged = yield* failure(run(crm.consent.confirm(`${token}x`)))
        expect(forged).toMatchObject({ _tag: "ValidationError" })
        const confirmed = yield* run(crm.consent.confirm(token, { ip: "192.0.2.10", userAgent: "Contract/1" }))
        expect(confirmed.confirmed).toBe(true)
        expect(confirmed.status.purposes["marketing"]!.proof).toMatchObject({ method: "double-opt-in", ip: "192.0.2.10", userAgent: "Contract/1", evidence: "Footer box" })

        const [bounce] = yield* run(crm.consent.recordMailFeedback({ id: "contract-bounce-1", type: "bounced", email: "ADA@example.com", reason: "user unknown" }))
        expect(bounce).toMatchObject({ contactId: contact.id, duplicate: false })
        expect((yield* run(crm.consent.status(contact.id))).addresses).toMatchObject([{ email: "ada@example.com", hardBounceReason: "user unknown" }])
        expect((yield* run(crm.consent.recordMailFeedback([{ id: "contract-bounce-1", type: "bounced", email: "ada@example.com" }])))[0]!.duplicate).toBe(true)
        const report = yield* run(crm.consent.erase(contact.id))
        expect(report.addresses).toBe(1)
        expect(yield* s.addressHealth.list(ws, ["ada@example.com"])).toEqual([])
      }))
  })
}
