import {
  createCrm,
  IdGenerator,
  RapportClientClosedError,
  RapportConflictError,
  RapportError,
  RapportInternalError,
  RapportInvalidTransitionError,
  RapportNotFoundError,
  RapportValidationError,
  Contacts
} from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterEach, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { line } from "./helpers.js"

const open: Array<{ close(): Promise<void> }> = []
const start = async (options: Partial<Parameters<typeof createCrm>[0]> = {}) => {
  const crm = await createCrm({ storage: memoryStorage(), ...options })
  open.push(crm)
  return crm
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})

describe("the Promise client", () => {
  it("returns plain JSON: ISO strings for instants, no Effect types", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada", source: { channel: "trade-show" } })
    expect(typeof ada.createdAt).toBe("string")
    expect(ada.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(JSON.parse(JSON.stringify(ada))).toEqual(ada)
    const result = await crm.events.emit({ id: "o-1", type: "order.placed", contactId: ada.id, payload: { orderId: "1", lines: [line("A")] } })
    expect([result.contact?.stage, result.stageChange?.to]).toEqual(["customer", "customer"])
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
  })

  it("throws RapportError subclasses that keep the tag, a stable code and the details", async () => {
    const crm = await start()
    const invalid = await crm.contacts.create({ email: "nope" }).catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(RapportValidationError)
    expect(invalid).toBeInstanceOf(RapportError)
    expect(invalid).toMatchObject({ _tag: "ValidationError", code: "VALIDATION_FAILED", issues: [{ path: ["email"] }] })
    expect((invalid as Error).message).toContain("email:")

    const missing = await crm.contacts.get("018f0000-0000-7000-8000-000000000000").catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(RapportNotFoundError)
    expect(missing).toMatchObject({ code: "NOT_FOUND", entity: "contact" })

    const c = await crm.contacts.create({ email: "a@example.com" })
    await crm.contacts.update(c.id, { expectedVersion: c.version, firstName: "A" })
    const stale = await crm.contacts.update(c.id, { expectedVersion: c.version, firstName: "B" }).catch((e: unknown) => e)
    expect(stale).toBeInstanceOf(RapportConflictError)
    expect(stale).toMatchObject({ code: "VERSION_CONFLICT", reason: "version" })

    await crm.fields.define({ key: "siret", type: "text", required: { fromStage: "customer" } })
    const refused = await crm.lifecycle.move(c.id, "customer", { reason: "signed" }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(RapportInvalidTransitionError)
    expect(refused).toMatchObject({ code: "INVALID_TRANSITION", missingFields: ["siret"] })
  })

  it("keeps several labelled emails and phones as JSON; a secondary email finds the contact and is refused to another", async () => {
    const crm = await start()
    const grace = await crm.contacts.create({
      emails: [{ value: "Grace@Navy.mil", label: "work" }, { value: "grace@home.org" }],
      phones: [{ value: "+1 202 555 0100", label: "mobile" }]
    })
    expect([grace.email, grace.emails, grace.phone, grace.phones]).toEqual([
      "Grace@navy.mil",
      [{ value: "Grace@navy.mil", label: "work" }, { value: "grace@home.org", label: null }],
      "+1 202 555 0100",
      [{ value: "+1 202 555 0100", label: "mobile" }]
    ])
    expect(await crm.contacts.findByEmail("GRACE@home.org")).toEqual(grace)
    await expect(crm.contacts.create({ email: "other@example.com", emails: [{ value: "grace@HOME.org" }] })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
      field: "emails",
      existingId: grace.id
    })
    const updated = await crm.contacts.update(grace.id, { expectedVersion: grace.version, emails: [{ value: "grace@home.org", label: "home" }] })
    expect([updated.email, updated.emails]).toEqual(["grace@home.org", [{ value: "grace@home.org", label: "home" }]])
    expect(await crm.contacts.findByEmail("grace@navy.mil")).toBeNull()
  })

  it("covers every namespace", async () => {
    const crm = await start()
    const batch = await crm.contacts.createMany([{ email: "one@example.com" }, { email: "two@example.com" }])
    expect(batch.map((c) => c.email)).toEqual(["one@example.com", "two@example.com"])
    await expect(crm.contacts.createMany([{ email: "x" }])).rejects.toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: [0, "email"] }] })
    await crm.settings.update({ timezone: "Europe/Paris" })
    expect((await crm.settings.get()).timezone).toBe("Europe/Paris")
    expect((await crm.settings.update({ country: "FR" })).country).toBe("FR")
    const firm = await crm.companies.create({ name: "Acme", domain: "acme.com" })
    const c = await crm.contacts.create({ email: "a@acme.com", companyId: firm.id })
    expect((await crm.companies.list()).items.map((x) => x.id)).toEqual([firm.id])
    await expect(crm.companies.remove(firm.id)).rejects.toMatchObject({ code: "IN_USE" })
    expect((await crm.contacts.findByEmail("A@ACME.COM"))?.id).toBe(c.id)
    expect(await crm.contacts.findByEmail("nobody@acme.com")).toBeNull()
    expect((await crm.fields.define({ key: "size", type: "select", options: ["S", "M"] })).options).toEqual([
      { value: "S", label: "S" },
      { value: "M", label: "M" }
    ])
    expect((await crm.fields.list()).map((f) => f.key)).toEqual(["size"])
    await crm.timeline.log({ contactId: c.id, kind: "call", summary: "Intro call" })
    expect((await crm.timeline.list(c.id)).items[0]?.summary).toBe("Intro call")
    expect((await crm.timeline.feed({ kinds: ["call"] })).items.length).toBe(1)
    const moved = await crm.lifecycle.move(c.id, "prospect", { reason: "Interested" })
    expect((await crm.lifecycle.history(moved.id)).map((h) => h.to)).toEqual(["prospect"])
    expect((await crm.lifecycle.definition()).preset).toBe("classic")
    expect((await crm.contacts.countByStage()).find((s) => s.stage === "prospect")?.count).toBe(1)
    await crm.contacts.remove(c.id)
    await crm.companies.remove(firm.id)
    await crm.fields.remove("contact", "size")
  })

  it("contacts.merge returns JSON, and throws RapportError subclasses for a stale version or a merge with itself", async () => {
    const crm = await start()
    const kept = await crm.contacts.create({ email: "kept@example.com", tags: ["a"] })
    const dup = await crm.contacts.create({ email: "dup@example.com", phone: "+33612345678", tags: ["b", "a"] })
    await crm.timeline.log({ contactId: dup.id, kind: "call", summary: "Called the duplicate" })
    const stale = await crm.contacts.merge(kept.id, dup.id, { expectedVersion: kept.version + 1 }).catch((e: unknown) => e)
    expect(stale).toBeInstanceOf(RapportConflictError)
    expect(stale).toMatchObject({ code: "VERSION_CONFLICT", reason: "version", entity: "contact" })
    expect((stale as Error).message).toContain(kept.id)
    await expect(crm.contacts.merge(kept.id, kept.id)).rejects.toBeInstanceOf(RapportValidationError)

    const result = await crm.contacts.merge(kept.id, dup.id, { expectedVersion: kept.version })
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
    expect([result.contact.email, result.contact.phone, result.contact.tags, result.contact.version]).toEqual(["kept@example.com", "+33612345678", ["a", "b"], kept.version + 1])
    expect(result.contact.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(result.moved).toEqual({ timeline: 2, events: 1, orders: 0, deals: 0, tasks: 0, jobs: 0, firings: 0, consents: 0 })
    expect([result.entry.kind, result.entry.payload["merged"]]).toMatchObject(["merge", { id: dup.id, email: "dup@example.com" }])
    expect((await crm.timeline.list(kept.id)).items.map((e) => e.summary)).toContain("Called the duplicate")
    await expect(crm.contacts.get(dup.id)).rejects.toBeInstanceOf(RapportNotFoundError)
  })

  it("workspace(id) gives a client that never sees another workspace's data", async () => {
    const crm = await start()
    const tenant = crm.workspace("tenant-42")
    const a = await tenant.contacts.create({ email: "same@example.com" })
    const b = await crm.contacts.create({ email: "same@example.com" })
    expect(a.id).not.toBe(b.id)
    expect(tenant.workspaceId).toBe("tenant-42")
    await expect(crm.contacts.get(a.id)).rejects.toBeInstanceOf(RapportNotFoundError)
    expect(() => crm.workspace("no spaces allowed")).toThrow(RapportValidationError)
  })

  it("after close(), every call of the client and its workspace clients rejects clearly", async () => {
    const crm = await createCrm({ storage: memoryStorage() })
    const tenant = crm.workspace("tenant-1")
    await crm.close()
    for (const call of [() => crm.contacts.list(), () => tenant.contacts.list(), async () => crm.dispatcher.start()]) {
      const error = await call().then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(RapportClientClosedError)
      expect(error).toMatchObject({ code: "CLIENT_CLOSED", message: expect.stringContaining("This Rapport client was closed") })
    }
  })

  it("a defect (a custom action's params Schema that throws) reaches Promise users as RapportInternalError with a code", async () => {
    const crm = await start({
      actions: {
        explode: {
          params: Schema.declare((u: unknown): u is unknown => {
            if (u !== null) throw new TypeError("params check blew up")
            return true
          }),
          run: () => undefined
        }
      }
    })
    const error = await crm.rules
      .create({ name: "Boom", on: "order.placed", actions: [{ type: "custom", name: "explode", params: { a: 1 } }] })
      .then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(RapportInternalError)
    expect(error).toMatchObject({ code: "INTERNAL_ERROR", _tag: "Defect" })
    expect((error as RapportInternalError).cause).toBeInstanceOf(TypeError)
  })

  it("a forged cursor is a validation error, not a crash", async () => {
    const crm = await start()
    const c = await crm.contacts.create({ firstName: "x" })
    const forged = Buffer.from(JSON.stringify(["2025-01-01T00:00:00.000Z", "not-a-uuid"])).toString("base64url")
    await expect(crm.timeline.list(c.id, { cursor: forged })).rejects.toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: ["cursor"] }] })
    await expect(crm.contacts.list({ cursor: "%%%" })).rejects.toBeInstanceOf(RapportValidationError)
  })

  it("run() executes an Effect program on the same services and workspace", async () => {
    const crm = await start({ ids: IdGenerator.makeSequential() })
    const created = await crm.run(Effect.flatMap(Contacts.Contacts, (contacts) => contacts.create({ firstName: "Via Effect" })))
    expect(created.id).toBe("00000000-0000-7000-8000-000000000001")
    expect((await crm.contacts.get(created.id)).firstName).toBe("Via Effect")
  })
})
