// Inputs that used to crash, be silently changed, or reach the database: each is refused with a
// typed error naming the field, through the Promise client and the Effect API.
import { createCrm, Crm, RapportValidationError } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { failure, line, withCrm } from "./helpers.js"

const start = () => createCrm({ storage: memoryStorage() })

const refusal = async (call: () => Promise<unknown>) => {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(RapportValidationError)
  return error as RapportValidationError
}

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value]
  return value
}

describe("impossible instants", () => {
  // Regression: JavaScript's Date.parse rolls 2025-02-30 over to March 2 and 24:00 to the next day.
  it("are refused, naming the field, instead of being rolled over", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const cases = ["2025-02-30T10:00:00Z", "2025-02-28T24:00:00Z", "2025-02-28T23:60:00Z", "2025-02-28T23:59:60Z", "2025-13-01T10:00:00Z", "2025-02-28T10:00:00+24:00", "2023-02-29T10:00:00Z", "0000-12-31T10:00:00Z"]
    for (const occurredAt of cases) {
      const error = await refusal(() => crm.events.emit({ id: `e-${occurredAt}`, type: "note.added", contactId: ada.id, occurredAt }))
      expect(error.issues.map((i) => i.path.join("."))).toEqual(["occurredAt"])
      expect(error.issues[0]!.message).toContain(occurredAt)
      const task = await refusal(() => crm.tasks.create({ title: "Call", channel: "call", contactId: ada.id, dueAt: occurredAt }))
      expect(task.issues.map((i) => i.path.join("."))).toEqual(["dueAt"])
      const update = await refusal(() => crm.contacts.update(ada.id, { expectedVersion: 1, firstSeenAt: occurredAt }))
      expect(update.issues.map((i) => i.path.join("."))).toEqual(["firstSeenAt"])
    }
    // A leap day exists in leap years, and offsets up to ±23:59 are valid.
    const leap = await crm.events.emit({ id: "leap", type: "note.added", contactId: ada.id, occurredAt: "2024-02-29T23:30:00-05:00" })
    expect(leap.event.occurredAt).toBe("2024-03-01T04:30:00.000Z")
    await crm.close()
  })
})

describe("deeply nested input", () => {
  // Regression: a payload a few thousand levels deep overflowed the stack (RangeError) in decoding
  // and in error formatting.
  it("is refused past 64 levels, at the path where it gets too deep, and 60 levels are kept", async () => {
    const crm = await start()
    for (const depth of [65, 300, 5_000, 100_000]) {
      const error = await refusal(() => crm.events.emit({ type: "thing.seen", email: "ada@example.com", payload: { d: nested(depth) } as never }))
      expect(error.issues).toHaveLength(1)
      expect(error.issues[0]!.path.slice(0, 2)).toEqual(["payload", "d"])
      expect(error.issues[0]!.path).toHaveLength(64)
      expect(error.issues[0]!.message).toContain("64 levels")
      await refusal(() => crm.contacts.create({ email: "deep@example.com", fields: { x: nested(depth) } } as never))
    }
    expect(await crm.contacts.findByEmail("deep@example.com")).toBeNull()
    const kept = await crm.events.emit({ id: "ok", type: "thing.seen", email: "ada@example.com", payload: { d: nested(60) } as never })
    expect(kept.event.payload).toEqual({ d: nested(60) })
    await crm.close()
  })

  it("a cycle is refused like a value too deep, and a deep condition too", async () => {
    const crm = await start()
    const cycle: Record<string, unknown> = { name: "loop" }
    cycle["self"] = cycle
    const looped = await refusal(() => crm.events.emit({ type: "thing.seen", email: "ada@example.com", payload: cycle as never }))
    expect(looped.issues[0]!.path.slice(0, 3)).toEqual(["payload", "self", "self"])
    let when: unknown = { path: "contact.email", op: "exists" }
    for (let i = 0; i < 50_000; i++) when = { not: when }
    const deep = await refusal(() => crm.rules.create({ name: "Deep", on: "page.viewed", when: when as never, actions: [{ type: "addTag", tag: "t" }] }))
    expect(deep.issues.map((i) => i.message)).toEqual([expect.stringContaining("64 levels")])
    expect(await crm.rules.list()).toEqual([])
    await crm.close()
  })
})

describe("bigints", () => {
  // Regression: the error formatter called JSON.stringify on the input and threw a TypeError.
  it("in money, a probability or a score are validation errors naming the field", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const amount = await refusal(() => crm.deals.create({ title: "Quote", contactId: ada.id, amount: { amountMinor: 10n as never, currency: "EUR" } }))
    expect(amount.issues.map((i) => i.path.join("."))).toEqual(["amount.amountMinor"])
    const probability = await refusal(() => crm.deals.create({ title: "Quote", contactId: ada.id, amount: { amountMinor: 10, currency: "EUR" }, probability: { probability: 50n as never, reason: "x" } }))
    expect(probability.issues.map((i) => i.path.join("."))).toEqual(["probability.probability"])
    const score = await refusal(() => crm.contacts.update(ada.id, { expectedVersion: 1, score: 5n as never }))
    expect(score.issues.map((i) => i.path.join("."))).toEqual(["score"])
    await refusal(() => crm.events.emit({ type: "order.placed", contactId: ada.id, payload: { orderId: "o", lines: [{ ...line("A"), quantity: 2n as never }] } }))
    expect((await crm.deals.list()).items).toEqual([])
    await crm.close()
  })
})

describe("text PostgreSQL cannot store", () => {
  // Regression: two event ids differing only by a NUL or a lone surrogate were taken as one on PostgreSQL.
  it("in ids, tags, owners and list filters is refused everywhere, naming the field", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    for (const bad of ["order\u0000-1", "order-\ud800", "\udc00order"]) {
      const emitted = await refusal(() => crm.events.emit({ id: bad, type: "note.added", contactId: ada.id }))
      expect(emitted.issues[0]!.path).toEqual(["id"])
      await refusal(() => crm.events.get(bad))
      await refusal(() => crm.contacts.update(ada.id, { expectedVersion: 1, tags: [bad] }))
      await refusal(() => crm.contacts.update(ada.id, { expectedVersion: 1, ownerId: bad }))
      await refusal(() => crm.contacts.list({ tag: bad }))
      await refusal(() => crm.contacts.list({ ownerId: bad }))
      await refusal(() => crm.rules.list({ on: bad }))
      await refusal(() => crm.dispatcher.jobs({ ruleId: bad }))
      await refusal(() => crm.fields.define({ key: "k", type: "text", label: bad }))
    }
    expect((await crm.contacts.get(ada.id)).version).toBe(1)
    await crm.close()
  })
})

describe("dispatcher options", () => {
  // Regression: a string batch size reached SQL, a negative lease and zero concurrency were taken,
  // and a bad duration threw a plain Error.
  const bad = [
    [{ batchSize: "5" }, "batchSize"],
    [{ batchSize: 2.5 }, "batchSize"],
    [{ batchSize: 0 }, "batchSize"],
    [{ lease: "-1 minute" }, "lease"],
    [{ lease: -5 }, "lease"],
    [{ lease: "soon" }, "lease"],
    [{ concurrency: 0 }, "concurrency"],
    [{ maxAttempts: -1 }, "maxAttempts"],
    [{ retryDelay: "1 fortnight" }, "retryDelay"],
    [{ limit: Number.NaN }, "limit"],
    [{ batchSise: 5 }, "batchSise"]
  ] as const

  it("are checked before anything runs, every problem named (Promise client)", async () => {
    const crm = await start()
    for (const [options, field] of bad) {
      const error = await refusal(() => crm.dispatcher.runDue(options as never))
      expect(error.issues.map((i) => i.path.join("."))).toEqual([field])
      expect(() => crm.dispatcher.start(options as never)).toThrow(RapportValidationError)
    }
    expect(() => crm.dispatcher.start({ pollInterval: 0 })).toThrow(RapportValidationError)
    expect(() => crm.dispatcher.start({ workspaces: ["no spaces"] })).toThrow(RapportValidationError)
    const all = await refusal(() => crm.dispatcher.runDue({ batchSize: "5", lease: "-1 minute", concurrency: 0 } as never))
    expect(all.issues.map((i) => i.path[0])).toEqual(["batchSize", "concurrency", "lease"])
    expect(await crm.dispatcher.runDue({ batchSize: 5, lease: "2 minutes", concurrency: 2, maxAttempts: 3, retryDelay: 0, limit: 10 })).toMatchObject({ claimed: 0 })
    const running = crm.dispatcher.start({ pollInterval: "50 millis" })
    await running.stop()
    await crm.close()
  })

  it.effect("are checked by the Effect API too", () =>
    withCrm(
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const error = yield* failure(crm.dispatcher.runDue({ batchSize: "5" } as never))
        expect(error._tag).toBe("ValidationError")
        const started = yield* failure(Effect.scoped(crm.dispatcher.start({ lease: "-1 minute" })))
        expect(started._tag).toBe("ValidationError")
      })
    )
  )
})

describe("scores", () => {
  // Regression: adjustScore added past Number.MAX_SAFE_INTEGER, a value no storage reads back exactly.
  it("adjustScore saturates at the safe-integer bounds", async () => {
    const crm = await start()
    await crm.rules.create({ name: "Up", on: "score.up", actions: [{ type: "adjustScore", by: 1_000_000 }] })
    await crm.rules.create({ name: "Down", on: "score.down", actions: [{ type: "adjustScore", by: -1_000_000 }] })
    const high = await crm.contacts.create({ email: "high@example.com", score: Number.MAX_SAFE_INTEGER - 5 })
    const low = await crm.contacts.create({ email: "low@example.com", score: Number.MIN_SAFE_INTEGER + 5 })
    await crm.events.emit({ id: "up", type: "score.up", contactId: high.id })
    await crm.events.emit({ id: "down", type: "score.down", contactId: low.id })
    expect(await crm.dispatcher.runDue()).toMatchObject({ claimed: 2, done: 2 })
    expect((await crm.contacts.get(high.id)).score).toBe(Number.MAX_SAFE_INTEGER)
    expect((await crm.contacts.get(low.id)).score).toBe(Number.MIN_SAFE_INTEGER)
    await crm.close()
  })
})

describe("inputs the hostile-input property found (@rapport/testing hostileInputSuite)", () => {
  // Regression: contacts.remove did not decode its options; a string version reached the Conflict
  // constructor, which threw (INTERNAL_ERROR).
  it("contacts.remove: a version that is not a whole number is refused, the contact kept", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    for (const expectedVersion of ["1\r\n", 1.5, { nested: 1 }]) {
      const error = await refusal(() => crm.contacts.remove(ada.id, { expectedVersion } as never))
      expect(error.issues.map((i) => i.path.join("."))).toEqual(["expectedVersion"])
    }
    expect((await crm.contacts.get(ada.id)).version).toBe(1)
    await crm.close()
  })

  // Regression: a stage key that is not a string (a Symbol) reached a template string in deals.move
  // (TypeError, INTERNAL_ERROR); options that are not an object were destructured without a check.
  it("deals.move, win, lose, markCold: a stage or options of the wrong type are refused, naming them", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const deal = await crm.deals.create({ title: "Quote", contactId: ada.id, amount: { amountMinor: 100, currency: "EUR" } })
    const stage = await refusal(() => crm.deals.move(deal.id, Symbol("demo") as never))
    expect(stage.issues.map((i) => i.path.join("."))).toEqual(["stage"])
    for (const options of [null, "demo", 5]) {
      await refusal(() => crm.deals.move(deal.id, "demo", options as never))
      await refusal(() => crm.deals.win(deal.id, options as never))
      await refusal(() => crm.deals.lose(deal.id, options as never))
      await refusal(() => crm.deals.markCold(deal.id, options as never))
    }
    const pipeline = await refusal(() => crm.deals.move(deal.id, "demo", { pipelineId: "p\u0000" }))
    expect(pipeline.issues.map((i) => i.path.join("."))).toEqual(["pipelineId"])
    expect((await crm.deals.get(deal.id)).version).toBe(1)
    expect((await crm.deals.move(deal.id, "demo", { expectedVersion: 1 })).stage).toBe("demo")
    await crm.close()
  })

  // Regression: Intl.NumberFormat threw a RangeError (INTERNAL_ERROR) on a malformed locale, after
  // the follow-up had been validated.
  it("deals.followUp: a malformed locale is refused, naming it", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const deal = await crm.deals.create({ title: "Quote", contactId: ada.id, amount: { amountMinor: 100, currency: "EUR" } })
    for (const locale of ["fr\r\nFR", "not a locale", "en_US"]) {
      const error = await refusal(() => crm.deals.followUp(deal.id, { channel: "call", locale }))
      expect(error.issues.map((i) => i.path.join("."))).toEqual(["locale"])
    }
    expect((await crm.timeline.list(ada.id)).items.filter((e) => e.kind === "followUp")).toEqual([])
    expect((await crm.deals.followUp(deal.id, { channel: "call", locale: "fr-FR" })).entry.kind).toBe("followUp")
    await crm.close()
  })

  // Regression: a consent source and a lifecycle definition's preset were plain strings; on
  // PostgreSQL a NUL or a lone surrogate in them was a STORAGE_FAILED, elsewhere it was kept.
  it("a consent source and a lifecycle preset refuse text PostgreSQL cannot store", async () => {
    const crm = await start()
    const ada = await crm.contacts.create({ email: "ada@example.com" })
    const before = await crm.consent.status(ada.id)
    for (const bad of ["form\u0000", "form-\ud800"]) {
      const granted = await refusal(() => crm.consent.grant(ada.id, { source: bad }))
      expect(granted.issues.map((i) => i.path.join("."))).toEqual(["source"])
      await refusal(() => crm.consent.withdraw(ada.id, { source: bad }))
      const preset = await refusal(() => crm.lifecycle.configure({ definition: { preset: bad, allowBackward: true, stages: [{ key: "lead", label: "Lead" }] } }))
      expect(preset.issues.map((i) => i.path.join("."))).toContain("definition.preset")
    }
    expect(await crm.consent.status(ada.id)).toEqual(before)
    expect((await crm.lifecycle.definition()).preset).toBe("classic")
    await crm.close()
  })

  // Regression: a condition's value was checked to be a string but not storable text; on
  // PostgreSQL a rule comparing with a lone surrogate was a STORAGE_FAILED (invalid JSON).
  it("a condition's value refuses text PostgreSQL cannot store, naming it", async () => {
    const crm = await start()
    for (const bad of ["\ud800", "vip\u0000"]) {
      const single = await refusal(() => crm.rules.create({ name: "R", on: "page.viewed", when: { path: "contact.tags", op: "contains", value: bad }, actions: [{ type: "addTag", tag: "t" }] }))
      expect(single.issues.map((i) => i.path.join("."))).toEqual(["when.value"])
      const listed = await refusal(() =>
        crm.rules.create({ name: "R", on: "page.viewed", unless: { path: "event.payload.plan", op: "in", value: ["pro", bad] }, actions: [{ type: "addTag", tag: "t" }] })
      )
      expect(listed.issues.map((i) => i.path.join("."))).toEqual(["unless.value.1"])
    }
    expect(await crm.rules.list()).toEqual([])
    await crm.close()
  })

  // Regression: the message of a delay's time of day quoted the value with JSON.stringify, which
  // threw on a bigint (INTERNAL_ERROR) instead of naming the field.
  it("a delay's time of day that is not a string is refused, naming it", async () => {
    const crm = await start()
    for (const at of [10n, 2n ** 64n, 930]) {
      const error = await refusal(() => crm.rules.create({ name: "R", on: "page.viewed", delay: { after: "1 day", at } as never, actions: [{ type: "addTag", tag: "t" }] }))
      expect(error.issues.map((i) => i.path.join("."))).toContain("delay.at")
    }
    expect(await crm.rules.list()).toEqual([])
    await crm.close()
  })
})

describe("fields.remove options", () => {
  // Regression: a purgeValues that was not a boolean ("yes") was silently taken as false.
  it("a purgeValues that is not true or false is refused, naming it, and the field stays", async () => {
    const crm = await start()
    await crm.fields.define({ key: "colour", type: "text" })
    await crm.contacts.create({ email: "ada@example.com", fields: { colour: "red" } })
    const error = await refusal(() => crm.fields.remove("contact", "colour", { purgeValues: "yes" } as never))
    expect(error.issues.map((i) => i.path.join("."))).toEqual(["options.purgeValues"])
    expect((await crm.fields.get("contact", "colour")).key).toBe("colour")
    await crm.fields.remove("contact", "colour", { purgeValues: true })
    expect(await crm.fields.list("contact")).toEqual([])
    await crm.close()
  })
})
