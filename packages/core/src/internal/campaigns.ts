// A campaign's fan-out, one page at a time, inside the dispatcher's transaction that also settles
// the fan-out job: the page's mail jobs (keyed by campaign and contact, so a contact is never queued
// twice) and the campaign's new position are written together, or not at all. A dispatcher that
// dies mid-page leaves the job to be claimed again once its lease ends; it resumes from the
// position the last committed page recorded.
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Audience, Campaign, type CampaignId, jobRuleOf } from "../domain/Campaign.js"
import type { Contact } from "../domain/Contact.js"
import { EventId, RuleId, type WorkspaceId } from "../domain/Ids.js"
import { type Job, NO_CONTACT } from "../domain/Job.js"
import type { Page } from "../domain/Page.js"
import type { Action } from "../domain/Rule.js"
import { clampInstant } from "../domain/Time.js"
import type { StorageService } from "../ports/Storage.js"
import { newJob } from "./rules.js"

/** Contacts per fan-out step: one statement of jobs (see the outbox's insert chunks). */
export const FANOUT_PAGE = 500

/** Reads one page of an audience: the Segments service's `members`. */
export type Members = (audience: Audience, options: { readonly cursor?: string; readonly limit: number }) => Effect.Effect<Page<Contact>, unknown>

const ms = DateTime.toEpochMillis

/** The idempotency key of a campaign's mail to a contact: one per campaign and contact, ever. */
export const mailKey = (workspaceId: WorkspaceId, id: CampaignId, contactId: string) => `${workspaceId}/${jobRuleOf(id)}/${contactId}`

/**
 * For a campaign's mail that a merge moved to another contact (its key names the contact merged
 * away), the key the campaign's mail to the job's contact has; `undefined` for any other job.
 */
export const keyOfMovedCampaignMail = (job: Job): string | undefined => {
  if (!job.ruleId.startsWith("campaign:") || job.action?.type !== "sendEmail") return undefined
  const own = `${job.workspaceId}/${job.ruleId}/${job.contactId}`
  return job.idempotencyKey === own ? undefined : own
}

/** The key of a campaign's fan-out job. */
export const fanOutKey = (workspaceId: WorkspaceId, id: CampaignId) => `${workspaceId}/${jobRuleOf(id)}/fan-out`

/**
 * When the campaign's `ordinal`-th recipient (from 0) is due: all at the start without a rate,
 * else `ratePerMinute` per minute from the start.
 */
export const dueOf = (campaign: Campaign, start: DateTime.Utc, ordinal: number): DateTime.Utc =>
  campaign.ratePerMinute === null ? start : clampInstant(ms(start) + Math.floor(ordinal / campaign.ratePerMinute) * 60_000)

/** The fan-out job of a campaign, due at `at` (not written). */
export const fanOutJob = (campaign: Campaign, at: DateTime.Utc) =>
  newJob(campaign.workspaceId, {
    idempotencyKey: fanOutKey(campaign.workspaceId, campaign.id),
    kind: "action",
    ruleId: RuleId.make(jobRuleOf(campaign.id)),
    eventId: EventId.make(jobRuleOf(campaign.id)),
    contactId: NO_CONTACT,
    variant: null,
    action: { type: "campaign", campaignId: campaign.id },
    actionIndex: 0,
    dueAt: at
  })

/** What one step did: `more` when pages remain; `skipped` with why when there is nothing to do. */
export type Step =
  | { readonly status: "more" | "done"; readonly queued: number }
  | { readonly status: "skipped"; readonly reason: string }

/**
 * Queues the mails of the campaign's next page of recipients and records the new position, in
 * the caller's transaction. A concurrent change of the campaign (a cancellation) makes the
 * versioned update fail with `Conflict`, which rolls the page back: the job runs again and sees it.
 */
export const fanOutStep = (storage: StorageService, members: Members, workspaceId: WorkspaceId, id: CampaignId, pageSize = FANOUT_PAGE) =>
  Effect.gen(function* () {
    const skip = (reason: string): Step => ({ status: "skipped", reason })
    const queuedNow = (status: "more" | "done", queued: number): Step => ({ status, queued })
    const found = yield* storage.campaigns.get(workspaceId, id)
    if (Option.isNone(found)) return skip("the campaign was removed")
    const campaign = found.value
    if (campaign.status === "cancelled") return skip("the campaign was cancelled")
    if (campaign.status === "sent") return queuedNow("done", 0)
    if (campaign.status === "draft") return skip("the campaign is a draft: it was never sent")
    const now = yield* DateTime.now
    const start = campaign.startedAt ?? now
    const page = yield* members(campaign.audience, { ...(campaign.cursor === null ? {} : { cursor: campaign.cursor }), limit: pageSize })
    const action: Action = { type: "sendEmail", template: campaign.templateId, purpose: campaign.purpose }
    const jobs = yield* Effect.forEach(page.items, (contact, i) =>
      newJob(workspaceId, {
        idempotencyKey: mailKey(workspaceId, id, contact.id),
        kind: "action",
        ruleId: RuleId.make(jobRuleOf(id)),
        eventId: EventId.make(jobRuleOf(id)),
        contactId: contact.id,
        variant: null,
        action,
        actionIndex: 0,
        category: "marketing",
        dueAt: dueOf(campaign, start, campaign.queued + i)
      })
    )
    // Jobs whose key is taken are left as they are (the outbox inserts with ON CONFLICT DO NOTHING).
    if (jobs.length > 0) yield* storage.jobs.insertMany(jobs)
    const last = page.nextCursor === null
    yield* storage.campaigns.update(
      new Campaign(
        {
          ...campaign,
          status: last ? "sent" : "sending",
          cursor: page.nextCursor,
          queued: campaign.queued + page.items.length,
          startedAt: start,
          finishedAt: last ? now : null,
          version: campaign.version + 1,
          updatedAt: now
        },
        true
      ),
      campaign.version
    )
    return queuedNow(last ? "done" : "more", page.items.length)
  })
