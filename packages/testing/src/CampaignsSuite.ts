// Campaigns as part of the storage contract (issue 16): a campaign is stored exactly, found by key,
// listed newest first and replaced only at the version read; its results (jobs by status, and the
// recipients whose goal event came within the window after their mail, and the sent mails their own
// recipient reported opened, each once) are computed by the database, exactly at the window's
// edges; and, on the services, a fan-out over several pages
// that a dispatcher abandons mid-way resumes without queueing anyone twice, spreads the mails by
// the rate, and a re-run from the start queues nobody again. Registered by `storageSuite`.
import { Campaign, Crm, Ids, Job, Mailer, Segment, Storage, Workspaces } from "@rapport/core"
import { describe, expect } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { failure } from "./failures.js"
import * as Fixtures from "./fixtures.js"

type Test = <A, E>(name: string, body: () => Effect.Effect<A, E, Storage.Storage | Crm.Services>) => void

const at = Fixtures.instant
const encode = Schema.encodeSync(Campaign.Campaign)
const settings: Mailer.MailSettingsService = { unsubscribe: { url: "https://shop.example/unsubscribe?token={token}", secret: "contract-secret" } }

const campaign = (workspaceId: Ids.WorkspaceId, overrides: Partial<Campaign.Campaign> = {}) =>
  new Campaign.Campaign({
    id: Campaign.CampaignId.make(randomUUID()),
    workspaceId,
    key: null,
    name: "Soldes d'été — 20 %",
    templateId: Ids.TemplateId.make(randomUUID()),
    audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } },
    purpose: "marketing",
    sendAt: at("2025-06-01T10:00:00.000Z"),
    ratePerMinute: 120,
    goal: { event: "order.placed", within: "7 days" },
    status: "draft",
    cursor: null,
    queued: 0,
    version: 1,
    createdAt: at("2025-06-01T09:00:00.000Z"),
    updatedAt: at("2025-06-01T09:00:00.000Z"),
    startedAt: null,
    finishedAt: null,
    cancelledAt: null,
    ...overrides
  })

export const campaignsSuite = (test: Test): void => {
  const store = Storage.Storage

  describe("campaigns (storage)", () => {
    test("a campaign is stored exactly, found by id and key in its own workspace only; a taken key is a Conflict", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const draft = campaign(ws, { key: Ids.SetupKey.make("summer-sale"), audience: { segmentId: Segment.SegmentId.make(randomUUID()) } })
        const sending = campaign(ws, {
          status: "sending",
          cursor: "WyIwMThmIl0",
          queued: 500,
          goal: null,
          ratePerMinute: null,
          sendAt: null,
          startedAt: at("2025-06-01T10:00:00.123Z"),
          version: 3
        })
        yield* s.campaigns.insert(draft)
        yield* s.campaigns.insert(sending)
        expect(Option.map(yield* s.campaigns.get(ws, draft.id), encode)).toEqual(Option.some(encode(draft)))
        expect(Option.map(yield* s.campaigns.get(ws, sending.id), encode)).toEqual(Option.some(encode(sending)))
        expect(Option.map(yield* s.campaigns.getByKey(ws, "summer-sale"), (c) => c.id)).toEqual(Option.some(draft.id))
        expect(Option.isNone(yield* s.campaigns.get(Fixtures.freshWorkspaceId(), draft.id))).toBe(true)
        expect(Option.isNone(yield* s.campaigns.getByKey(Fixtures.freshWorkspaceId(), "summer-sale"))).toBe(true)
        expect(yield* failure(s.campaigns.insert(campaign(ws, { key: Ids.SetupKey.make("summer-sale") })))).toMatchObject({ _tag: "Conflict", reason: "unique" })
        // The same key in another workspace is another campaign.
        yield* s.campaigns.insert(campaign(Fixtures.freshWorkspaceId(), { key: Ids.SetupKey.make("summer-sale") }))
      }))

    test("list is newest first (then by id), pages with before, keeps one status; update needs the version read", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const old = campaign(ws, { createdAt: at("2025-06-01T08:00:00.000Z"), status: "sent" })
        const a = campaign(ws, { id: Campaign.CampaignId.make("00000000-0000-7000-8000-00000000000a") })
        const b = campaign(ws, { id: Campaign.CampaignId.make("00000000-0000-7000-8000-00000000000b"), status: "sent" })
        const recent = campaign(ws, { createdAt: at("2025-06-02T09:00:00.000Z") })
        for (const c of [a, old, recent, b]) yield* s.campaigns.insert(c)
        const ids = (rows: ReadonlyArray<Campaign.Campaign>) => rows.map((r) => r.id)
        expect(ids(yield* s.campaigns.list(ws, { limit: 10 }))).toEqual([recent.id, b.id, a.id, old.id])
        expect(ids(yield* s.campaigns.list(ws, { limit: 10, before: { createdAt: b.createdAt, id: b.id } }))).toEqual([a.id, old.id])
        expect(ids(yield* s.campaigns.list(ws, { limit: 10, status: "sent" }))).toEqual([b.id, old.id])
        const next = new Campaign.Campaign({ ...a, status: "cancelled", cancelledAt: at("2025-06-01T09:30:00.000Z"), version: 2 })
        yield* s.campaigns.update(next, 1)
        expect(yield* failure(s.campaigns.update(new Campaign.Campaign({ ...a, name: "stale", version: 2 }), 1))).toMatchObject({ _tag: "Conflict", reason: "version" })
        expect(Option.map(yield* s.campaigns.get(ws, a.id), encode)).toEqual(Option.some(encode(next)))
      }))

    test("results count the campaign's mail jobs by status, and recipients converted within the goal window (edges included)", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ruleId = Ids.RuleId.make(`campaign:${randomUUID()}`)
        const sentAt = at("2025-06-01T10:00:00.250Z")
        const within = 3 * 24 * 3600 * 1000
        const send = { type: "sendEmail" as const, template: Ids.TemplateId.make(randomUUID()) }
        const contacts = Array.from({ length: 7 }, () => Ids.ContactId.make(randomUUID()))
        const mail = (i: number, overrides: Partial<Job.Job>) =>
          Fixtures.job(ws, { ruleId, contactId: contacts[i]!, action: send, idempotencyKey: `${ws}/${ruleId}/${contacts[i]}`, ...overrides })
        const done = { status: "done" as const, completedAt: sentAt }
        yield* s.jobs.insertMany([
          yield* mail(0, done), // converts at the window's last instant
          yield* mail(1, done), // converts at the instant it was sent
          yield* mail(2, done), // one millisecond too late
          yield* mail(3, done), // before the mail, and another event type within the window
          yield* mail(4, { status: "skipped", completedAt: sentAt }), // not sent: its order does not count
          yield* mail(5, { status: "pending" }),
          yield* mail(6, { status: "dead", completedAt: sentAt }),
          // The campaign's fan-out job, and a job of another rule for a converting contact: not mails of the campaign.
          yield* Fixtures.job(ws, { ruleId, contactId: Job.NO_CONTACT, action: { type: "campaign", campaignId: ruleId.slice(9) }, status: "done", completedAt: sentAt }),
          yield* Fixtures.job(ws, { contactId: contacts[2]!, action: send, status: "done", completedAt: sentAt })
        ])
        const plus = (millis: number) => DateTime.unsafeMake(DateTime.toEpochMillis(sentAt) + millis)
        const order = (i: number, occurredAt: DateTime.Utc, type = "order.placed") =>
          s.events.insert(Fixtures.storedEvent(ws, contacts[i]!, `e-${i}-${type}-${DateTime.toEpochMillis(occurredAt)}`, { type, occurredAt, payload: {} }))
        yield* order(0, plus(within))
        yield* order(1, sentAt)
        yield* order(2, plus(within + 1))
        yield* order(3, plus(-1))
        yield* order(3, plus(1000), "cart.abandoned")
        yield* order(4, plus(1000))
        // Another workspace's event for the same contact id changes nothing.
        yield* s.events.insert(Fixtures.storedEvent(Fixtures.freshWorkspaceId(), contacts[2]!, "e-other", { type: "order.placed", occurredAt: plus(1000) }))
        const results = yield* s.campaigns.results(ws, { ruleId, actionType: "sendEmail", goal: { event: "order.placed", withinMillis: within } })
        expect([...results.byStatus].sort((x, y) => x.status.localeCompare(y.status))).toEqual([
          { status: "dead", count: 1 },
          { status: "done", count: 4 },
          { status: "pending", count: 1 },
          { status: "skipped", count: 1 }
        ])
        expect(results.converted).toBe(2)
        expect((yield* s.campaigns.results(ws, { ruleId, actionType: "sendEmail" })).converted).toBe(0)
        expect((yield* s.campaigns.results(Fixtures.freshWorkspaceId(), { ruleId, actionType: "sendEmail" })).byStatus).toEqual([])
        // skipPending skips the pending ones only, with the reason.
        expect(yield* s.campaigns.skipPending(ws, ruleId, "the campaign was cancelled", sentAt)).toBe(1)
        const skipped = yield* s.jobs.list(ws, { ruleId, statuses: ["skipped"], limit: 10 })
        expect(skipped.map((j) => [j.contactId, j.outcome])).toEqual(
          expect.arrayContaining([[contacts[5], { reason: "the campaign was cancelled" }]])
        )
        expect(skipped.length).toBe(2)
      }))

    test("results count each sent mail opened once, by jobId or its messageId, only when its own contact opened it", () =>
      Effect.gen(function* () {
        const s = yield* store
        const ws = Fixtures.freshWorkspaceId()
        const ruleId = Ids.RuleId.make(`campaign:${randomUUID()}`)
        const sentAt = at("2025-06-01T10:00:00.250Z")
        const send = { type: "sendEmail" as const, template: Ids.TemplateId.make(randomUUID()) }
        const contacts = Array.from({ length: 6 }, () => Ids.ContactId.make(randomUUID()))
        const mail = (i: number, overrides: Partial<Job.Job>) =>
          Fixtures.job(ws, { ruleId, contactId: contacts[i]!, action: send, idempotencyKey: `${ws}/${ruleId}/${contacts[i]}`, ...overrides })
        const sent = (i: number) => mail(i, { status: "done", completedAt: sentAt, outcome: { to: `c${i}@example.com`, messageId: `<m${i}-${ws}@mail.example>` } })
        const jobs = [
          yield* sent(0), // opened three times by its messageId
          yield* sent(1), // opened, named by its job id
          yield* sent(2), // its messageId opened by contact 3
          yield* sent(3), // contact 3 opens an unknown message and contact 2's
          yield* mail(4, { status: "skipped", completedAt: sentAt, outcome: { reason: "no consent" } }), // never sent
          yield* sent(5) // not opened
        ]
        // The same contact's mail of another rule, opened: not the campaign's.
        const other = yield* Fixtures.job(ws, { contactId: contacts[5]!, action: send, status: "done", completedAt: sentAt, outcome: { messageId: `other-${ws}` } })
        yield* s.jobs.insertMany([...jobs, other])
        let n = 0
        const open = (workspaceId: Ids.WorkspaceId, i: number, payload: Record<string, string>) =>
          s.events.insert(Fixtures.storedEvent(workspaceId, contacts[i]!, `open-${ws}-${n++}`, { type: "email.opened", occurredAt: sentAt, payload }))
        for (let k = 0; k < 3; k++) yield* open(ws, 0, { messageId: `<m0-${ws}@mail.example>` })
        yield* open(ws, 1, { jobId: jobs[1]!.id })
        yield* open(ws, 3, { messageId: `<m2-${ws}@mail.example>` })
        yield* open(ws, 3, { messageId: `<unknown-${ws}@mail.example>` })
        yield* open(ws, 4, { jobId: jobs[4]!.id })
        yield* open(ws, 5, { jobId: other.id, messageId: `other-${ws}` })
        yield* open(Fixtures.freshWorkspaceId(), 2, { jobId: jobs[2]!.id })
        const results = yield* s.campaigns.results(ws, { ruleId, actionType: "sendEmail", goal: { event: "order.placed", withinMillis: 1000 } })
        expect(results).toEqual({
          byStatus: expect.arrayContaining([{ status: "done", count: 5 }, { status: "skipped", count: 1 }]),
          converted: 0,
          opened: 2
        })
        expect((yield* s.campaigns.results(ws, { ruleId, actionType: "sendEmail" })).opened).toBe(2)
        expect((yield* s.campaigns.results(ws, { ruleId, actionType: "campaign" })).opened).toBe(0)
      }))
  })

  describe("campaigns (services on this storage)", () => {
    test("a fan-out over three pages abandoned by a dispatcher mid-way resumes: each member queued once, mails spread by the rate; a re-run queues nobody again", () =>
      Effect.gen(function* () {
        const s = yield* store
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const sent: Array<Mailer.OutgoingMail> = []
        const mailer = Mailer.Mailer.of({ send: (mail) => Effect.sync(() => (sent.push(mail), { messageId: `m-${sent.length}` })) })
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          effect.pipe(Workspaces.withWorkspace(ws), Effect.provideService(Mailer.MailSettings, settings), Effect.provideService(Mailer.Mailer, mailer))
        const runDue = (limit?: number) => run(crm.dispatcher.runDue(limit === undefined ? {} : { limit }))
        const start = DateTime.toEpochMillis(yield* DateTime.now)

        const template = yield* run(crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Hi {{ contact.firstName }}", html: '<a href="{{ unsubscribeUrl }}">stop</a>' }))
        const members = yield* run(crm.contacts.createMany(Array.from({ length: 1001 }, (_, i) => ({ email: `m${i}@example.com`, firstName: `M${i}`, tags: ["vip"] }))))
        yield* run(crm.contacts.create({ email: "outsider@example.com" }))
        // In the segment's order (by id); four of them consent: the first two, one of the second page, the last.
        const byId = members.map((m) => m.id).sort()
        const consenting = [byId[0]!, byId[1]!, byId[599]!, byId[1000]!]
        for (const id of consenting) yield* run(crm.consent.grant(id))
        const emailOf = (id: string) => `m${members.findIndex((m) => m.id === id)}@example.com`
        // One a minute: recipient n is due n minutes after the start.
        const created = yield* run(
          crm.campaigns.create({ name: "Promo", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } }, ratePerMinute: 1 })
        )
        const ruleId = `campaign:${created.id}`
        yield* run(crm.campaigns.send(created.id))

        // The first page (the fan-out job is the only job due).
        expect((yield* runDue(1)).claimed).toBe(1)
        const afterOne = yield* run(crm.campaigns.get(created.id))
        expect([afterOne.status, afterOne.queued, afterOne.cursor === null]).toEqual(["sending", 500, false])

        // A dispatcher claims every due job (the fan-out and the first mail), then dies.
        const now = yield* DateTime.now
        const claimed = yield* s.jobs.claim({ now, leaseUntil: DateTime.unsafeMake(DateTime.toEpochMillis(now) + 60_000), token: "crashed", limit: 1000, workspaces: [ws] })
        expect(claimed.map((j) => j.action?.type).sort()).toEqual(["campaign", "sendEmail"])
        expect((yield* runDue()).claimed).toBe(0)
        expect(sent.length).toBe(0)

        // Its lease ends: the fan-out resumes where it was, and the first mail is claimed again.
        yield* TestClock.adjust("61 seconds")
        yield* runDue()
        const done = yield* run(crm.campaigns.get(created.id))
        expect([done.status, done.queued, done.cursor, done.startedAt === null ? null : DateTime.toEpochMillis(done.startedAt)]).toEqual(["sent", 1001, null, start])
        // (Jobs of different contacts run concurrently: the order of the two is not fixed.)
        expect(sent.map((m) => m.to).sort()).toEqual([emailOf(byId[0]!), emailOf(byId[1]!)].sort())
        // At 11 minutes 1 second, recipients 0 to 11 were due: two sent, ten without consent skipped.
        yield* TestClock.adjust("10 minutes")
        yield* runDue()
        expect(yield* run(crm.campaigns.stats(created.id))).toEqual({ campaignId: created.id, status: "sent", queued: 1001, sent: 2, skipped: 10, pending: 989, failed: 0, opened: 0, converted: 0 })
        const dueOf = (contactId: string) =>
          Effect.map(s.jobs.getByKey(ws, `${ws}/${ruleId}/${contactId}`), (job) => Option.map(job, (j) => (DateTime.toEpochMillis(j.dueAt) - start) / 60_000))
        expect(yield* Effect.forEach(consenting, dueOf)).toEqual([Option.some(0), Option.some(1), Option.some(599), Option.some(1000)])

        // A re-run from the start (its position lost) finds every member queued already.
        const current = yield* run(crm.campaigns.get(created.id))
        yield* s.campaigns.update(new Campaign.Campaign({ ...current, status: "sending", cursor: null, queued: 0, version: current.version + 1 }), current.version)
        yield* s.jobs.insertMany([
          yield* Fixtures.job(ws, {
            ruleId: Ids.RuleId.make(ruleId),
            contactId: Job.NO_CONTACT,
            idempotencyKey: `${ws}/${ruleId}/re-run`,
            action: { type: "campaign", campaignId: created.id },
            dueAt: yield* DateTime.now
          })
        ])
        yield* runDue()
        yield* TestClock.adjust("10 minutes")
        yield* runDue()
        expect(yield* run(crm.campaigns.stats(created.id))).toMatchObject({ queued: 1001, sent: 2, skipped: 20, pending: 979 })
        expect(yield* Effect.forEach(consenting, dueOf)).toEqual([Option.some(0), Option.some(1), Option.some(599), Option.some(1000)])
        expect(sent.length).toBe(2)
      }))

    test("cancel before the start queues nothing; send of a cancelled campaign is refused", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Workspaces.withWorkspace(ws), Effect.provideService(Mailer.MailSettings, settings))
        const template = yield* run(crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' }))
        yield* run(crm.contacts.create({ email: "ada@example.com", tags: ["vip"] }))
        const created = yield* run(crm.campaigns.create({ name: "P", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } } }))
        yield* run(crm.campaigns.send(created.id, { at: "2030-01-01T00:00:00.000Z" }))
        expect((yield* run(crm.campaigns.cancel(created.id))).status).toBe("cancelled")
        yield* TestClock.setTime(DateTime.toEpochMillis(at("2030-01-02T00:00:00.000Z")))
        yield* run(crm.dispatcher.runDue())
        expect(yield* run(crm.campaigns.stats(created.id))).toMatchObject({ status: "cancelled", queued: 0, sent: 0, pending: 0, skipped: 0 })
        expect(yield* failure(run(crm.campaigns.send(created.id)))).toMatchObject({ _tag: "ValidationError" })
      }))

    test("stats count a mail opened once: opens emitted with the Mailer's messageId or reported by the provider, only by the mail's own contact", () =>
      Effect.gen(function* () {
        const crm = yield* Crm.Crm
        const ws = Fixtures.freshWorkspaceId()
        const mailer = Mailer.Mailer.of({ send: (mail) => Effect.succeed({ messageId: `<${mail.to.split("@")[0]}-${ws}@mail.example>` }) })
        const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          effect.pipe(Workspaces.withWorkspace(ws), Effect.provideService(Mailer.MailSettings, settings), Effect.provideService(Mailer.Mailer, mailer))
        const template = yield* run(crm.templates.create({ name: "Promo", purpose: "marketing", subject: "Hi", html: '<a href="{{ unsubscribeUrl }}">stop</a>' }))
        const [ada, bob, cyd, dan] = yield* run(crm.contacts.createMany(["ada", "bob", "cyd", "dan"].map((n) => ({ email: `${n}@example.com`, tags: ["vip"] }))))
        for (const c of [ada!, bob!, cyd!]) yield* run(crm.consent.grant(c.id))
        const created = yield* run(crm.campaigns.create({ name: "Promo", templateId: template.id, audience: { condition: { path: "contact.tags", op: "contains", value: "vip" } } }))
        yield* run(crm.campaigns.send(created.id))
        for (let i = 0; i < 3; i++) yield* run(crm.dispatcher.runDue())
        expect(yield* run(crm.campaigns.stats(created.id))).toMatchObject({ sent: 3, skipped: 1, opened: 0 })
        // The job outcome shows the host the messageId it reports opens with.
        const jobs = (yield* run(crm.dispatcher.jobs({ ruleId: `campaign:${created.id}`, status: "done" }))).items
        expect(jobs.find((j) => j.contactId === ada!.id)?.outcome?.["messageId"]).toBe(`<ada-${ws}@mail.example>`)

        // Ada's mail is opened twice (by the host's own tracking): one mail opened.
        yield* run(crm.events.emit({ type: "email.opened", contactId: ada!.id, payload: { messageId: `<ada-${ws}@mail.example>` } }))
        yield* run(crm.events.emit({ type: "email.opened", contactId: ada!.id, payload: { messageId: `<ada-${ws}@mail.example>` } }))
        // Cyd forwards Ada's mail and opens it; dan (skipped: no consent) opens Ada's too; an unknown message is opened.
        yield* run(crm.events.emit({ type: "email.opened", contactId: cyd!.id, payload: { messageId: `<ada-${ws}@mail.example>` } }))
        yield* run(crm.events.emit({ type: "email.opened", contactId: dan!.id, payload: { messageId: `<ada-${ws}@mail.example>` } }))
        yield* run(crm.events.emit({ type: "email.opened", contactId: cyd!.id, payload: { messageId: `<unknown-${ws}@mail.example>` } }))
        expect(yield* run(crm.campaigns.stats(created.id))).toMatchObject({ sent: 3, opened: 1 })

        // Bob's open comes from the provider's webhook, its message id without angle brackets: the
        // mail's job is found and named.
        const [report, nobody] = yield* run(
          crm.consent.recordMailFeedback([
            { id: `open-bob-${ws}`, type: "opened", email: "bob@example.com", provider: "brevo", messageId: `bob-${ws}@mail.example` },
            { id: `open-x-${ws}`, type: "opened", email: "stranger@example.com", messageId: `<ada-${ws}@mail.example>` }
          ])
        )
        expect(report).toMatchObject({ type: "opened", contactId: bob!.id, jobId: jobs.find((j) => j.contactId === bob!.id)?.id, ignored: null })
        expect(nobody).toMatchObject({ contactId: null, ignored: "no contact has this address" })
        expect(yield* run(crm.campaigns.stats(created.id))).toMatchObject({ sent: 3, opened: 2 })
        // An open withdraws no consent (a complaint reported the same way would).
        expect((yield* run(crm.consent.status(bob!.id))).purposes["marketing"]?.granted).toBe(true)
      }))
  })
}
