/**
 * Campaigns: a marketing template sent to an audience (a saved segment or a condition), now or at
 * a time: a newsletter, a promotion. `create` makes a draft; `send` schedules it, queueing one
 * fan-out job in the outbox, due at `sendAt`. When the dispatcher runs it, the job reads the
 * audience a page at a time and queues one mail job per contact, keyed by campaign and contact,
 * recording its position with each page: a crash resumes where the last page ended, and no
 * contact is ever queued twice. Mails are spread by `ratePerMinute` (recipient `n` is due
 * `floor(n / rate)` minutes after the start) and each goes through a rule's marketing-mail checks
 * when it runs: consent for the campaign's purpose (an unsubscribe withdraws it), hard bounces,
 * the frequency cap and the purpose's pressure cap, and an unsubscribe link.
 *
 * `stats` reports like a rule: mails sent, pending, skipped, failed, and recipients converted to
 * the goal event within its window after their mail was sent. `cancel` stops a campaign: nothing
 * more is queued, and mails not sent yet are skipped.
 *
 * @since 0.8.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  Campaign,
  CampaignCreate,
  CampaignId,
  CampaignListOptions,
  CampaignSend,
  type CampaignStats,
  jobRuleOf
} from "../domain/Campaign.js"
import { defaultPurpose } from "../domain/Consent.js"
import { Conflict, NotFound, type StorageError, ValidationError } from "../domain/Errors.js"
import * as Page from "../domain/Page.js"
import { durationMillis } from "../domain/Schedule.js"
import { fanOutJob } from "../internal/campaigns.js"
import { JobSignal } from "../internal/signal.js"
import { decodeInput } from "../internal/validation.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { MailSettings } from "../ports/Mailer.js"
import { Storage } from "../ports/Storage.js"
import { Segments } from "./Segments.js"
import { CurrentWorkspace } from "./Workspaces.js"

const decodeId = decodeInput(CampaignId, ["campaignId"])
const Position = Schema.Tuple(Schema.DateTimeUtc, CampaignId)

// A campaign's sending and its cancellation may meet: each is a versioned update, retried on a
// fresh read this many times.
const ATTEMPTS = 5

/**
 * @since 0.8.0
 * @category services
 */
export class Campaigns extends Effect.Service<Campaigns>()("@rapport/core/Campaigns", {
  dependencies: [JobSignal.Default, Segments.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const signal = yield* JobSignal
    const segments = yield* Segments

    const find = (workspaceId: Campaign["workspaceId"], id: CampaignId) =>
      Effect.flatMap(storage.campaigns.get(workspaceId, id), (found) => (Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(NotFound.of("campaign", id))))

    /** A marketing template of the workspace, or a ValidationError naming `templateId`. */
    const marketingTemplate = (workspaceId: Campaign["workspaceId"], templateId: string) =>
      Effect.gen(function* () {
        const template = yield* storage.templates.get(workspaceId, templateId as Campaign["templateId"])
        if (Option.isNone(template)) return yield* ValidationError.at(["templateId"], `no template with id "${templateId}" in this workspace`)
        if (template.value.purpose !== "marketing") {
          return yield* ValidationError.at(["templateId"], `template "${template.value.name}" is transactional; a campaign sends marketing mail (consent, caps and unsubscribe apply): make it a marketing template`)
        }
        return template.value
      })

    /**
     * Applies `next` to the stored campaign as a versioned update, with `also` written in the same
     * transaction; on a concurrent write, reads again and retries. Returns the campaign as stored.
     */
    const change = (
      id: CampaignId,
      next: (campaign: Campaign, now: DateTime.Utc) => Option.Option<Campaign>,
      also: (campaign: Campaign, now: DateTime.Utc) => Effect.Effect<void, StorageError> = () => Effect.void
    ) =>
      Effect.gen(function* () {
        const workspaceId = yield* CurrentWorkspace
        for (let attempt = 1; ; attempt++) {
          const written = yield* storage
            .transaction(
              Effect.gen(function* () {
                const campaign = yield* find(workspaceId, id)
                const now = yield* DateTime.now
                const updated = next(campaign, now)
                if (Option.isNone(updated)) return campaign
                const stored = new Campaign({ ...updated.value, version: campaign.version + 1, updatedAt: now }, true)
                yield* storage.campaigns.update(stored, campaign.version)
                yield* also(stored, now)
                return stored
              })
            )
            .pipe(
              Effect.map(Option.some),
              Effect.catchIf(
                (error): error is Conflict => error instanceof Conflict && error.reason === "version" && attempt < ATTEMPTS,
                () => Effect.succeed(Option.none<Campaign>())
              )
            )
          if (Option.isSome(written)) return written.value
        }
      })

    /**
     * A draft campaign: a marketing template, an audience (`{ segmentId }` or `{ condition }`),
     * and optionally a start (`sendAt`), a throttle (`ratePerMinute`), a consent `purpose`
     * (default `marketing`) and a `goal` (an event within a window after each mail) for `stats`.
     */
    const create = Effect.fn("Campaigns.create")(function* (input: CampaignCreate) {
      const data = yield* decodeInput(CampaignCreate)(input)
      const workspaceId = yield* CurrentWorkspace
      yield* marketingTemplate(workspaceId, data.templateId)
      // The audience is read once, so that an unknown segment or an invalid condition fails here.
      yield* segments.members(data.audience, { limit: 1 })
      const now = yield* DateTime.now
      const campaign = new Campaign(
        {
          id: CampaignId.make(yield* (yield* IdGenerator).next),
          workspaceId,
          key: data.key ?? null,
          name: data.name,
          templateId: data.templateId,
          audience: data.audience,
          purpose: data.purpose ?? defaultPurpose,
          sendAt: data.sendAt ?? null,
          ratePerMinute: data.ratePerMinute ?? null,
          goal: data.goal ?? null,
          status: "draft",
          cursor: null,
          queued: 0,
          version: 1,
          createdAt: now,
          updatedAt: now,
          startedAt: null,
          finishedAt: null,
          cancelledAt: null
        },
        true
      )
      yield* storage.campaigns.insert(campaign)
      return campaign
    })

    /** The campaign, with its status and how many recipients its fan-out queued so far. */
    const get = Effect.fn("Campaigns.get")(function* (campaignId: string) {
      return yield* find(yield* CurrentWorkspace, yield* decodeId(campaignId))
    })

    /** The campaign with this key (the app's own name for it). */
    const getByKey = Effect.fn("Campaigns.getByKey")(function* (key: string) {
      const found = yield* storage.campaigns.getByKey(yield* CurrentWorkspace, key)
      return Option.isSome(found) ? found.value : yield* Effect.fail(NotFound.of("campaign", key))
    })

    /** The workspace's campaigns, newest first, a page at a time; of one status when given. */
    const list = Effect.fn("Campaigns.list")(function* (options: CampaignListOptions = {}) {
      const query = yield* decodeInput(CampaignListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const before = query.cursor === undefined ? undefined : yield* Page.decodePositionCursor(Position, query.cursor, "campaigns.list")
      const rows = yield* storage.campaigns.list(yield* CurrentWorkspace, {
        before: before === undefined ? undefined : { createdAt: before[0], id: before[1] },
        status: query.status,
        limit: limit + 1
      })
      return Page.fromRows(rows, limit, (c) => [DateTime.formatIso(c.createdAt), c.id])
    })

    /**
     * Sends the draft: at `at`, else at its `sendAt`, else now (an instant past is now). Checks
     * first that marketing mail can be sent (unsubscribe links configured), that the template is
     * still a marketing one and that the audience can be read. A campaign already sent or being
     * sent is returned as it is (sending twice queues nobody twice); a cancelled one cannot be sent.
     */
    const send = Effect.fn("Campaigns.send")(function* (campaignId: string, options: CampaignSend = {}) {
      const id = yield* decodeId(campaignId)
      const data = yield* decodeInput(CampaignSend)(options)
      const workspaceId = yield* CurrentWorkspace
      const current = yield* find(workspaceId, id)
      if (current.status === "cancelled") return yield* ValidationError.at(["campaignId"], `campaign "${current.name}" was cancelled; create a new one to send it again`)
      if (current.status !== "draft") return current
      if ((yield* MailSettings).unsubscribe === undefined) {
        return yield* ValidationError.at(["templateId"], "a campaign sends marketing mail, which needs unsubscribe links: configure the unsubscribe URL and secret in the mail settings")
      }
      yield* marketingTemplate(workspaceId, current.templateId)
      // The audience is read once now, so that a segment that does not exist fails this call.
      yield* segments.members(current.audience, { limit: 1 })
      const sent = yield* change(
        id,
        (campaign, now) => {
          if (campaign.status !== "draft") return Option.none()
          const requested = data.at ?? campaign.sendAt ?? now
          return Option.some(new Campaign({ ...campaign, status: "scheduled", sendAt: DateTime.max(requested, now) }, true))
        },
        (campaign) =>
          Effect.gen(function* () {
            if (campaign.status !== "scheduled" || campaign.sendAt === null) return
            yield* storage.jobs.insertMany([yield* fanOutJob(campaign, campaign.sendAt)])
            yield* storage.afterCommit(signal.notify)
          })
      )
      return sent
    })

    /**
     * Cancels the campaign: its fan-out queues nobody more, and its mails not sent yet are skipped
     * (those sent stay sent). Cancelling a cancelled campaign changes nothing.
     */
    const cancel = Effect.fn("Campaigns.cancel")(function* (campaignId: string) {
      const id = yield* decodeId(campaignId)
      return yield* change(
        id,
        (campaign, now) =>
          campaign.status === "cancelled" ? Option.none() : Option.some(new Campaign({ ...campaign, status: "cancelled", cancelledAt: now }, true)),
        (campaign, now) => Effect.asVoid(storage.campaigns.skipPending(campaign.workspaceId, jobRuleOf(campaign.id), "the campaign was cancelled", now))
      )
    })

    /**
     * The campaign's results: recipients queued, mails sent, pending, skipped (no consent,
     * unsubscribed, bounced, over a cap, cancelled) and failed, mails the host reported opened,
     * and recipients converted (the goal event within its window after their mail was sent),
     * computed by the database.
     */
    const stats = Effect.fn("Campaigns.stats")(function* (campaignId: string) {
      const campaign = yield* find(yield* CurrentWorkspace, yield* decodeId(campaignId))
      const results = yield* storage.campaigns.results(campaign.workspaceId, {
        ruleId: jobRuleOf(campaign.id),
        actionType: "sendEmail",
        goal: campaign.goal === null ? undefined : { event: campaign.goal.event, withinMillis: durationMillis(campaign.goal.within) }
      })
      const count = (...statuses: ReadonlyArray<string>) => results.byStatus.filter((r) => statuses.includes(r.status)).reduce((n, r) => n + r.count, 0)
      const answer: CampaignStats = {
        campaignId: campaign.id,
        status: campaign.status,
        queued: campaign.queued,
        pending: count("pending", "running"),
        sent: count("done"),
        skipped: count("skipped"),
        failed: count("dead"),
        opened: results.opened,
        converted: results.converted
      }
      return answer
    })

    return {
      /** Creates a draft campaign. */
      create,
      /** The campaign. */
      get,
      /** The campaign with this key. */
      getByKey,
      /** Campaigns, newest first. */
      list,
      /** Sends the campaign now or at a time. */
      send,
      /** Cancels the campaign: nothing more is queued or sent. */
      cancel,
      /** Sent, pending, skipped, failed, opened and converted recipients. */
      stats
    } as const
  })
}) {}
