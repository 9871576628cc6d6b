/**
 * Consent and personal data. Granting and withdrawing consent are events on the contact's
 * timeline (`consent.granted`, `consent.withdrawn`, `consent.unsubscribed`), so rules can react
 * to them; unsubscribe links carry a signed token that `unsubscribe` verifies. For the GDPR,
 * `export` returns everything Rapport holds about a contact as JSON, and `erase` removes it.
 *
 * @since 0.3.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { allows, ConsentChange, ConsentRecord, type ConsentStatus, defaultPurpose, everyPurpose } from "../domain/Consent.js"
import { StoredEvent } from "../domain/CrmEvent.js"
import { Deal } from "../domain/Deal.js"
import { NotFound, ValidationError } from "../domain/Errors.js"
import { ContactId, EventId, WorkspaceId } from "../domain/Ids.js"
import type { TimelineEntry } from "../domain/TimelineEntry.js"
import { toJson } from "../internal/json.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { record, type Recorder } from "../internal/recording.js"
import { getContact } from "../internal/records.js"
import { JobSignal } from "../internal/signal.js"
import { makeToken, readToken, unsubscribeUrl as urlFor } from "../internal/unsubscribe.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace, withWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { defaultUnsubscribeLifetime, MailSettings, type UnsubscribeSettings } from "../ports/Mailer.js"
import { Storage } from "../ports/Storage.js"

const decodeContactId = decodeInput(ContactId, ["contactId"])

/** Given a contact's consent records and now: when to date a decision, or none when it changes nothing. */
type Plan = (
  records: ReadonlyArray<ConsentRecord>,
  now: DateTime.Utc
) => Option.Option<{ readonly at: DateTime.Utc; readonly payload: Readonly<Record<string, string>> }>
const PAGE = 500

/**
 * What `consent.erase` removed.
 *
 * @since 0.3.0
 * @category models
 */
export interface ErasureReport {
  readonly contactId: string
  readonly timelineEntries: number
  /** Events whose payload was emptied (their ids stay, so re-sent events are still recognised). */
  readonly events: number
  readonly tasks: number
  readonly jobs: number
  readonly firings: number
  readonly consents: number
  /** Deals removed (they had no company) and deals kept for their company, without the contact. */
  readonly dealsRemoved: number
  readonly dealsUnlinked: number
}

const statusOf = (contactId: string, records: ReadonlyArray<ConsentRecord>): ConsentStatus => {
  const everything = records.find((r) => r.purpose === everyPurpose)
  const unsubscribedAt = everything !== undefined && !everything.granted ? everything.at : undefined
  return {
    contactId,
    purposes: Object.fromEntries(
      records
        .filter((r) => r.purpose !== everyPurpose)
        .map((r) => [r.purpose, { granted: allows(records, r.purpose), at: DateTime.formatIso(r.at), source: r.source }])
    ),
    // An opt-in after the unsubscription lifts it for that purpose; the date stays informative.
    unsubscribedAt: unsubscribedAt === undefined || records.some((r) => r.purpose !== everyPurpose && r.granted && r.at.epochMillis > unsubscribedAt.epochMillis)
      ? null
      : DateTime.formatIso(unsubscribedAt)
  }
}

/**
 * @since 0.3.0
 * @category services
 */
export class Consents extends Effect.Service<Consents>()("@rapport/core/Consents", {
  dependencies: [JobSignal.Default],
  effect: Effect.gen(function* () {
    const storage = yield* Storage
    const recorder: Recorder = { storage, signal: yield* JobSignal }

    /**
     * Stores a decision and records it as an event (rules on it run), in one transaction. `plan`,
     * given the contact's records under its lock, may say the decision changes nothing (none: nothing
     * is written) or date the record otherwise than now (with more facts for the event's payload).
     */
    const decide = (
      contactId: ContactId,
      purpose: string,
      granted: boolean,
      type: string,
      source: string | null,
      plan: Plan = (_, now) => Option.some({ at: now, payload: {} })
    ) =>
      Effect.gen(function* () {
        yield* storage.transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            const workspace = yield* ensureWorkspace(storage)
            yield* contactLock(storage, workspace.id, contactId)
            const contact = yield* getContact(storage, workspace.id, contactId)
            const now = yield* DateTime.now
            const planned = plan(yield* storage.consents.list(workspace.id, contactId), now)
            if (Option.isNone(planned)) return
            const { at, payload } = planned.value
            yield* storage.consents.put(new ConsentRecord({ workspaceId: workspace.id, contactId, purpose, granted, source, at }))
            const event = new StoredEvent({
              id: EventId.make(`${type}:${yield* (yield* IdGenerator).next}`),
              workspaceId: workspace.id,
              type,
              contactId,
              occurredAt: now,
              receivedAt: now,
              payload: { purpose, ...(source === null ? {} : { source }), ...payload }
            })
            yield* record(recorder, workspace, event, contact)
          })
        )
        return statusOf(contactId, yield* storage.consents.list((yield* readWorkspace(storage)).id, contactId))
      }).pipe(Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`consent event ${e.eventId} already stored`)))

    /** Records the contact's consent to marketing mail of a purpose (`marketing` by default). */
    const grant = Effect.fn("Consents.grant")(function* (contactId: string, change: ConsentChange = {}) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ConsentChange)(change)
      return yield* decide(id, data.purpose ?? defaultPurpose, true, "consent.granted", data.source ?? null)
    })

    /** Records that the contact withdrew consent for a purpose (`marketing` by default). */
    const withdraw = Effect.fn("Consents.withdraw")(function* (contactId: string, change: ConsentChange = {}) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ConsentChange)(change)
      return yield* decide(id, data.purpose ?? defaultPurpose, false, "consent.withdrawn", data.source ?? null)
    })

    /** The contact's consent per purpose, and whether they unsubscribed from everything. */
    const status = Effect.fn("Consents.status")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getContact(storage, workspaceId, id)
      return statusOf(id, yield* storage.consents.list(workspaceId, id))
    })

    const secret = Effect.gen(function* () {
      const settings = (yield* MailSettings).unsubscribe
      if (settings === undefined) {
        return yield* ValidationError.at(["unsubscribe"], "no unsubscribe URL and secret are configured (mail settings)")
      }
      return settings
    })

    const lifetimeOf = (settings: UnsubscribeSettings) => {
      const lifetime = Duration.decodeUnknown(settings.lifetime ?? defaultUnsubscribeLifetime)
      return Option.isSome(lifetime) && Duration.isFinite(lifetime.value) && Duration.toMillis(lifetime.value) > 0
        ? Effect.succeed(lifetime.value)
        : Effect.fail(ValidationError.at(["unsubscribe", "lifetime"], 'must be a positive, finite duration such as "365 days" (mail settings)'))
    }

    /** The contact's unsubscribe link, as marketing mails carry it. */
    const unsubscribeUrl = Effect.fn("Consents.unsubscribeUrl")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const settings = yield* secret
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getContact(storage, workspaceId, id)
      return urlFor(settings.url, makeToken(settings.secret, workspaceId, id, DateTime.toEpochMillis(yield* DateTime.now)))
    })

    // What a link's token names, once its signature, form and age are checked.
    const validToken = (token: string) =>
      Effect.gen(function* () {
        const settings = yield* secret
        const lifetime = yield* lifetimeOf(settings)
        const named = typeof token === "string" ? readToken(settings.secret, token.trim()) : undefined
        const workspaceId = named !== undefined && Schema.is(WorkspaceId)(named.workspaceId) ? named.workspaceId : undefined
        const contactId = named !== undefined && Schema.is(ContactId)(named.contactId) ? named.contactId : undefined
        if (workspaceId === undefined || contactId === undefined) {
          return yield* ValidationError.at(["token"], "is not a valid unsubscribe token (it was altered, or signed with another secret)")
        }
        const issuedAt = named?.issuedAt
        if (issuedAt === undefined) {
          return yield* ValidationError.at(
            ["token"],
            "was made before Rapport 0.4.0 and carries no issue time, so it is no longer accepted: unsubscribe the contact with consent.withdraw, or ask them to use the link of a recent mail"
          )
        }
        const now = yield* DateTime.now
        if (DateTime.toEpochMillis(now) - issuedAt > Duration.toMillis(lifetime)) {
          return yield* ValidationError.at(
            ["token"],
            `has expired: it was issued on ${DateTime.formatIso(DateTime.unsafeMake(issuedAt))} and unsubscribe links work for ${Duration.format(lifetime)}`
          )
        }
        return { workspaceId, contactId, issuedAt }
      })

    /**
     * Checks an unsubscribe link's token without acting on it (a confirmation page shows before
     * the click): the workspace and contact it names, or the `ValidationError` that `unsubscribe`
     * would fail with (forged, damaged, too old).
     *
     * @since 0.6.0
     */
    const verifyUnsubscribeToken = Effect.fn("Consents.verifyUnsubscribeToken")(function* (token: string) {
      const { workspaceId, contactId } = yield* validToken(token)
      return { workspaceId, contactId }
    })

    /**
     * Unsubscribes the contact a link's token names from all marketing mail, in the token's
     * workspace (one route serves every tenant). A forged or damaged token fails with
     * `ValidationError`, and so do an expired one (older than `unsubscribe.lifetime`, one year by
     * default) and one made before 0.4.0 (it carries no issue time). A token used again, or any
     * token issued before the contact's last unsubscription, changes nothing and writes nothing.
     * A token issued before a newer opt-in does not withdraw it: the unsubscription is dated at the
     * token's issue time, so it withdraws only the consents given before the link was made.
     */
    const unsubscribe = Effect.fn("Consents.unsubscribe")(function* (token: string) {
      const { workspaceId, contactId, issuedAt } = yield* validToken(token)
      const plan: Plan = (records, at) => {
        const everything = records.find((r) => r.purpose === everyPurpose)
        // Already unsubscribed since this link was made (this link, or a newer one): a replay.
        if (everything !== undefined && !everything.granted && everything.at.epochMillis >= issuedAt) return Option.none()
        const issued = DateTime.unsafeMake(Math.min(issuedAt, DateTime.toEpochMillis(at)))
        const optedInSince = records.some((r) => r.purpose !== everyPurpose && r.granted && r.at.epochMillis > issuedAt)
        return Option.some({ at: optedInSince ? issued : at, payload: { linkIssuedAt: DateTime.formatIso(issued) } })
      }
      const result = yield* decide(contactId, everyPurpose, false, "consent.unsubscribed", "unsubscribe-link", plan).pipe(withWorkspace(workspaceId))
      return { workspaceId, contactId, status: result }
    })

    /** Everything Rapport holds about a contact, as JSON: for a GDPR access request. */
    const exportData = Effect.fn("Consents.export")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = (yield* readWorkspace(storage)).id
      const contact = yield* getContact(storage, workspaceId, id)
      const all = <A>(page: (after: A | undefined) => Effect.Effect<ReadonlyArray<A>, unknown>) =>
        Effect.gen(function* () {
          const items: Array<A> = []
          let after: A | undefined
          while (true) {
            const rows = yield* page(after)
            items.push(...rows)
            if (rows.length < PAGE) return items
            after = rows[rows.length - 1]
          }
        })
      const timeline = yield* all<TimelineEntry>((last) =>
        storage.timeline.list(workspaceId, { contactId: id, limit: PAGE, before: last === undefined ? undefined : { occurredAt: last.occurredAt, id: last.id } })
      )
      const events = yield* all<StoredEvent>((last) => storage.events.forContact(workspaceId, id, { after: last?.id, limit: PAGE }))
      const orders = yield* all((last: { readonly id: string } | undefined) => storage.orders.forContact(workspaceId, id, { after: last?.id, limit: PAGE }))
      const deals = yield* all((last: { readonly id: string } | undefined) => storage.deals.list(workspaceId, { contactId: id, after: last?.id, limit: PAGE }))
      const tasks = yield* storage.tasks.list(workspaceId, { contactId: id, limit: 100_000 })
      const jobs = yield* storage.jobs.list(workspaceId, { contactId: id, limit: 100_000 })
      const firings = yield* storage.firings.forContact(workspaceId, id)
      const consents = yield* storage.consents.list(workspaceId, id)
      return toJson({ exportedAt: yield* DateTime.now, contact, consents, timeline, events, orders, deals, tasks, ruleActions: jobs, ruleFirings: firings }) as Readonly<Record<string, unknown>>
    })

    /**
     * Erases a contact's personal data everywhere: the contact, its timeline, tasks, queued and
     * past rule actions, consent records, and the payloads of its events (their ids stay, so an
     * event sent again is recognised and does not re-create the contact). Its deals with a
     * company stay with the company, without the contact; its other deals are removed. Orders
     * stay, as the business's accounting, tied to an id that names no one any more.
     */
    const erase = Effect.fn("Consents.erase")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspaceId = (yield* readWorkspace(storage)).id
          yield* contactLock(storage, workspaceId, id)
          yield* getContact(storage, workspaceId, id)
          let dealsRemoved = 0
          let dealsUnlinked = 0
          const now = yield* DateTime.now
          while (true) {
            const deals = yield* storage.deals.list(workspaceId, { contactId: id, limit: PAGE })
            for (const deal of deals) {
              if (deal.companyId === null) {
                yield* storage.deals.remove(workspaceId, deal.id)
                dealsRemoved++
              } else {
                yield* storage.deals.update(new Deal({ ...deal, contactId: null, version: deal.version + 1, updatedAt: now }), deal.version)
                dealsUnlinked++
              }
            }
            if (deals.length < PAGE) break
          }
          const timelineEntries = yield* countTimeline(workspaceId, id)
          yield* storage.timeline.removeForContact(workspaceId, id)
          const tasks = (yield* storage.tasks.list(workspaceId, { contactId: id, limit: 100_000 })).length
          yield* storage.tasks.removeForContact(workspaceId, id)
          const report: ErasureReport = {
            contactId: id,
            timelineEntries,
            events: yield* storage.events.eraseForContact(workspaceId, id),
            tasks,
            jobs: yield* storage.jobs.removeForContact(workspaceId, id),
            firings: yield* storage.firings.removeForContact(workspaceId, id),
            consents: yield* storage.consents.removeForContact(workspaceId, id),
            dealsRemoved,
            dealsUnlinked
          }
          yield* storage.uniqueValues.releaseRecord(workspaceId, "contact", id)
          if (!(yield* storage.contacts.remove(workspaceId, id))) return yield* NotFound.of("contact", id)
          return report
        })
      )
    })

    const countTimeline = (workspaceId: WorkspaceId, id: ContactId) =>
      Effect.gen(function* () {
        let n = 0
        let before: { occurredAt: DateTime.Utc; id: TimelineEntry["id"] } | undefined
        while (true) {
          const page = yield* storage.timeline.list(workspaceId, { contactId: id, limit: PAGE, before })
          n += page.length
          if (page.length < PAGE) return n
          const last = page[page.length - 1]!
          before = { occurredAt: last.occurredAt, id: last.id }
        }
      })

    return {
      /** Records consent to marketing mail (of `purpose`, `marketing` by default). */
      grant,
      /** Records that consent was withdrawn. */
      withdraw,
      /** The contact's consent per purpose. */
      status,
      /** The contact's signed unsubscribe link. */
      unsubscribeUrl,
      /** Unsubscribes the contact a link's token names (in the token's workspace). */
      unsubscribe,
      /** Checks an unsubscribe link's token without acting on it. */
      verifyUnsubscribeToken,
      /** Everything Rapport holds about a contact, as JSON: for a GDPR access request. */
      export: exportData,
      /** Removes the contact's personal data everywhere (GDPR erasure). */
      erase
    } as const
  })
}) {}
