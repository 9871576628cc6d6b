// A mailer given to createCrm as { send(mail): Promise<{ messageId }> }: what it receives, and how
// its failures reach the job (retried, or dead at once with the reason).
import { createCrm, type CrmClient, MailRejected, type Mailer } from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { afterEach, describe, expect, it } from "vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

const open: Array<CrmClient> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})

// A CRM whose welcome rule mails every new sign-up, on a clock the test moves.
const start = async (send: (mail: Mailer.OutgoingMail) => Promise<unknown>) => {
  const time = { now: Date.parse("2025-06-02T18:00:00Z") }
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => time.now,
    currentTimeMillis: Effect.sync(() => time.now),
    unsafeCurrentTimeNanos: () => BigInt(time.now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(time.now) * 1_000_000n),
    sleep: () => Effect.void
  }
  // The cast lets the last test hand over a send that breaks the contract, as JavaScript callers can.
  const crm = await createCrm({ storage: memoryStorage(), clock, mailer: { send: send as (mail: Mailer.OutgoingMail) => Promise<{ messageId: string }> } })
  open.push(crm)
  const template = await crm.templates.create({ name: "Welcome", subject: "Welcome {{ contact.firstName }}", text: "Hello" })
  await crm.rules.create({ id: "welcome", name: "Welcome", on: "signed.up", actions: [{ type: "sendEmail", template: template.id }] })
  const ada = await crm.contacts.create({ email: "ada@example.com", firstName: "Ada" })
  await crm.events.emit({ type: "signed.up", contactId: ada.id })
  const mailJob = async () => (await crm.dispatcher.jobs()).items.find((j) => j.kind === "action")!
  return { crm, time, mailJob }
}

describe("a Promise mailer", () => {
  it("is handed the mail and its idempotency key; its messageId is recorded on the job", async () => {
    const sent: Array<Mailer.OutgoingMail> = []
    const { crm, mailJob } = await start(async (mail) => (sent.push(mail), { messageId: "provider-42" }))
    expect(await crm.dispatcher.runDue()).toMatchObject({ done: 1, dead: 0 })
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ to: "ada@example.com", subject: "Welcome Ada", text: "Hello" })
    const job = await mailJob()
    expect(sent[0]!.idempotencyKey).toContain(job.idempotencyKey)
    expect([job.status, job.outcome?.messageId]).toEqual(["done", "provider-42"])
  })

  it("that throws is retried with backoff, the error's message recorded, and the same key sent again", async () => {
    const keys: Array<string> = []
    const { crm, time, mailJob } = await start(async (mail) => {
      keys.push(mail.idempotencyKey)
      if (keys.length === 1) throw new Error("provider timed out")
      return { messageId: "provider-43" }
    })
    expect(await crm.dispatcher.runDue()).toMatchObject({ retried: 1, dead: 0 })
    expect(await mailJob()).toMatchObject({ status: "pending", lastError: "provider timed out", attempts: 1 })
    time.now += 3_600_000
    await crm.dispatcher.runDue()
    expect(await mailJob()).toMatchObject({ status: "done", outcome: { messageId: "provider-43" } })
    expect(keys).toHaveLength(2)
    expect(keys[1]).toBe(keys[0])
  })

  it.each([
    ["a MailRejected", () => new MailRejected("mailbox does not exist")],
    ["an error marked permanent", () => Object.assign(new Error("mailbox does not exist"), { permanent: true })],
    ["an error marked not retryable", () => Object.assign(new Error("mailbox does not exist"), { retryable: false })]
  ])("that throws %s dead-letters the job at once, with the reason", async (_, error) => {
    let calls = 0
    const { crm, time, mailJob } = await start(async () => {
      calls++
      throw error()
    })
    expect(await crm.dispatcher.runDue()).toMatchObject({ dead: 1, retried: 0 })
    expect(await mailJob()).toMatchObject({ status: "dead", lastError: "mailbox does not exist" })
    time.now += 86_400_000
    await crm.dispatcher.runDue()
    expect(calls).toBe(1)
  })

  it.each([
    ["undefined", undefined],
    ["a string", "provider-44"],
    ["a number as messageId", { messageId: 44 }]
  ])("that resolves with %s is a contract error: the job is dead with a message saying what send must return", async (_, receipt) => {
    const { crm, mailJob } = await start(async () => receipt)
    expect(await crm.dispatcher.runDue()).toMatchObject({ dead: 1 })
    const job = await mailJob()
    expect(job.status).toBe("dead")
    expect(job.lastError).toContain("it must resolve with { messageId: string }")
  })
})
