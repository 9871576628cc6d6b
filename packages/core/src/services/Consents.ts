/**
 * Consent and personal data. Granting and withdrawing consent are events on the contact's
 * timeline (`consent.granted`, `consent.withdrawn`, `consent.requested`, `consent.unsubscribed`),
 * so rules can react to them; a grant keeps its proof (time, method, IP address, user agent,
 * wording). Double opt-in: `request` queues a confirmation mail whose signed link expires, and
 * `confirm` grants the consent with the click's proof. Unsubscribe links carry a signed token that
 * `unsubscribe` verifies. Bounces and complaints (`recordMailFeedback`) flag the address or
 * withdraw consent. For the GDPR, `export` returns everything Rapport holds about a contact as
 * JSON, and `erase` removes it.
 *
 * @since 0.3.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  AddressHealth,
  type AddressStatus,
  allows,
  ConsentChange,
  ConsentProof,
  ConsentRecord,
  ConsentStatus,
  defaultPurpose,
  everyPurpose,
  feedbackEventType,
  MailFeedback,
  Purpose,
  type ProofInput as ProofInputType,
  ProofInput
} from "../domain/Consent.js"
import type { Contact } from "../domain/Contact.js"
import type { Job } from "../domain/Job.js"
import { emailKey, EmailFromString } from "../domain/Email.js"
import { compile as compileTemplate, escapeHtml, type RenderContext } from "../domain/Template.js"
import { InstantText, isInInstantRange } from "../domain/Time.js"
import type { Workspace } from "../domain/Workspace.js"
import { RuleId, TemplateId } from "../domain/Ids.js"
import { getTemplate } from "../internal/sales.js"
import { newJob, queuedMail } from "../internal/rules.js"
import { StoredEvent } from "../domain/CrmEvent.js"
import { Deal } from "../domain/Deal.js"
import { NotFound, type StorageError, ValidationError } from "../domain/Errors.js"
import { ContactId, EventId, WorkspaceId } from "../domain/Ids.js"
import type { TimelineEntry } from "../domain/TimelineEntry.js"
import { toJson } from "../internal/json.js"
import { contactLock, workspaceLock } from "../internal/locks.js"
import { record, type Recorder } from "../internal/recording.js"
import { getContact } from "../internal/records.js"
import { JobSignal } from "../internal/signal.js"
import { makeConfirmationToken, makeToken, readConfirmationToken, readToken, unsubscribeUrl as urlFor } from "../internal/unsubscribe.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace, withWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { type ConfirmationSettings, defaultConfirmationLifetime, defaultUnsubscribeLifetime, MailSettings, safeMail, type UnsubscribeSettings } from "../ports/Mailer.js"
import { Storage } from "../ports/Storage.js"

const decodeContactId = decodeInput(ContactId, ["contactId"])

/** What a decision writes: its date, more facts for the event's payload, its proof, a pending request. */
interface Decision {
  readonly at: DateTime.Utc
  readonly payload: Readonly<Record<string, unknown>>
  readonly proof?: ConsentProof | null | undefined
  readonly requestedAt?: DateTime.Utc | null | undefined
  /** The record's source when it differs from the call's (a confirmation keeps the request's). */
  readonly source?: string | null | undefined
}

/**
 * Given a contact's consent records, now and the contact (under its lock): the decision, none when
 * it changes nothing, or a failure that stops it.
 */
type Plan = (
  records: ReadonlyArray<ConsentRecord>,
  now: DateTime.Utc,
  contact: Contact
) => Effect.Effect<Option.Option<Decision>, ValidationError>

/** What runs after the decision's event is recorded, in its transaction (a confirmation mail queued). */
type After = (workspace: Workspace, contact: Contact, event: StoredEvent) => Effect.Effect<void, ValidationError | NotFound | StorageError>

/** The rule id confirmation mails are queued under (they belong to no rule). */
const confirmationRule = RuleId.make("consent.request")

/**
 * What `consent.request` did: the contact's consent after it, and the confirmation mail queued (none
 * when consent for the purpose was already granted).
 *
 * @since 0.7.0
 * @category schemas
 */
export const ConsentRequestResult = Schema.Struct({
  status: ConsentStatus,
  /** The confirmation mail queued: to whom, its job, and when its link expires; null when consent was already granted. */
  mail: Schema.NullOr(
    Schema.Struct({
      to: Schema.String,
      jobId: Schema.String,
      idempotencyKey: Schema.String,
      expiresAt: InstantText
    })
  )
}).annotations({ identifier: "ConsentRequestResult" })

/**
 * What `consent.request` did: the contact's consent after it, and the confirmation mail queued (none
 * when consent for the purpose was already granted).
 *
 * @since 0.7.0
 * @category models
 */
export interface ConsentRequestResult extends Schema.Schema.Type<typeof ConsentRequestResult> {}

/**
 * What `consent.confirm` did: the workspace and contact the token named, the purpose confirmed,
 * whether this call confirmed it (false when the link was used before), and the consent after it.
 *
 * @since 0.7.0
 * @category models
 */
export interface ConfirmationResult {
  readonly workspaceId: string
  readonly contactId: string
  readonly purpose: string
  readonly confirmed: boolean
  readonly status: ConsentStatus
}

/**
 * What `consent.recordMailFeedback` did with one report: the contact it concerns and the event
 * recorded, or why it was ignored (no contact has the address), or `duplicate` when its id was
 * recorded before.
 *
 * @since 0.7.0
 * @category schemas
 */
export const MailFeedbackResult = Schema.Struct({
  type: Schema.Literal("bounced", "complained", "unsubscribed", "opened"),
  /** The address, in its key form (lower case). */
  email: Schema.String,
  /** Bounces: `hard` or `soft`; null for complaints and unsubscriptions. */
  kind: Schema.NullOr(Schema.Literal("hard", "soft")),
  contactId: Schema.NullOr(Schema.String),
  eventId: Schema.NullOr(Schema.String),
  /** The job of the mail the report is about, when it was found. */
  jobId: Schema.NullOr(Schema.String),
  duplicate: Schema.Boolean,
  /** Why the report was ignored (nothing was stored), or null. */
  ignored: Schema.NullOr(Schema.String)
}).annotations({ identifier: "MailFeedbackResult" })

/**
 * What `consent.recordMailFeedback` did with one report.
 *
 * @since 0.7.0
 * @category models
 */
export interface MailFeedbackResult extends Schema.Schema.Type<typeof MailFeedbackResult> {}

/**
 * What `consent.recordMailFeedback` returns: one {@link MailFeedbackResult} per report, in order
 * (an array for a single report too).
 *
 * @since 0.7.0
 * @category schemas
 */
export const MailFeedbackResults = Schema.Array(MailFeedbackResult).annotations({
  identifier: "MailFeedbackResults",
  description: "Per report, in order: the contact and the event recorded, a duplicate, or why it was ignored"
})

/**
 * What `consent.request` accepts: the purpose and source, and the wording shown when the request
 * was made (kept as the proof's evidence once the contact confirms).
 *
 * @since 0.7.0
 * @category schemas
 */
export const ConsentRequest = Schema.Struct({
  purpose: Schema.optional(Purpose),
  source: ConsentChange.fields.source,
  evidence: ProofInput.fields.evidence
})

/**
 * @since 0.7.0
 * @category models
 */
export type ConsentRequest = typeof ConsentRequest.Encoded

const MAX_FEEDBACK = 500
const PAGE = 500

/**
 * What `consent.erase` removed: how many of each kind of record.
 *
 * @since 0.7.0
 * @category schemas
 */
export const ErasureReport = Schema.Struct({
  contactId: Schema.String,
  timelineEntries: Schema.Int,
  /** Events whose payload was emptied (their ids stay, so re-sent events are still recognised). */
  events: Schema.Int,
  tasks: Schema.Int,
  jobs: Schema.Int,
  firings: Schema.Int,
  consents: Schema.Int,
  /**
   * Bounce and complaint records of the contact's addresses.
   *
   * @since 0.7.0
   */
  addresses: Schema.Int,
  /** Deals removed (they had no company). */
  dealsRemoved: Schema.Int,
  /** Deals kept for their company, without the contact. */
  dealsUnlinked: Schema.Int
}).annotations({ identifier: "ErasureReport", description: "What the erasure removed (GDPR erasure)" })

/**
 * What `consent.erase` removed.
 *
 * @since 0.3.0
 * @category models
 */
export interface ErasureReport extends Schema.Schema.Type<typeof ErasureReport> {}

const isoOrNull = (at: DateTime.Utc | null) => (at === null ? null : DateTime.formatIso(at))

const proofJson = (proof: ConsentProof | null) =>
  proof === null
    ? null
    : {
        at: DateTime.formatIso(proof.at),
        method: proof.method,
        ip: proof.ip,
        userAgent: proof.userAgent,
        evidence: proof.evidence,
        requestedAt: isoOrNull(proof.requestedAt)
      }

const addressJson = (a: AddressHealth): AddressStatus => ({
  email: a.email,
  hardBouncedAt: isoOrNull(a.hardBouncedAt),
  hardBounceReason: a.hardBounceReason,
  softBounces: a.softBounces,
  lastSoftBounceAt: isoOrNull(a.lastSoftBounceAt),
  complainedAt: isoOrNull(a.complainedAt)
})

/** The address keys of a contact's emails, primary first. */
const addressesOf = (contact: Contact) => [...new Set(contact.emails.map((e) => emailKey(e.value)))]

const statusOf = (contactId: string, records: ReadonlyArray<ConsentRecord>, health: ReadonlyArray<AddressHealth> = []): ConsentStatus => {
  const everything = records.find((r) => r.purpose === everyPurpose)
  const unsubscribedAt = everything !== undefined && !everything.granted ? everything.at : undefined
  return {
    contactId,
    purposes: Object.fromEntries(
      records
        .filter((r) => r.purpose !== everyPurpose)
        .map((r) => [
          r.purpose,
          { granted: allows(records, r.purpose), at: DateTime.formatIso(r.at), source: r.source, pending: !r.granted && r.requestedAt !== null, proof: proofJson(r.proof) }
        ])
    ),
    // An opt-in after the unsubscription lifts it for that purpose; the date stays informative.
    unsubscribedAt: unsubscribedAt === undefined || records.some((r) => r.purpose !== everyPurpose && r.granted && r.at.epochMillis > unsubscribedAt.epochMillis)
      ? null
      : DateTime.formatIso(unsubscribedAt),
    addresses: health.filter((a) => a.hardBouncedAt !== null || a.softBounces > 0 || a.complainedAt !== null).map(addressJson)
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
      plan: Plan = (_, now) => Effect.succeed(Option.some({ at: now, payload: {} })),
      after?: After
    ) =>
      Effect.gen(function* () {
        const changed = yield* storage.transaction(
          Effect.gen(function* () {
            yield* workspaceLock(storage, "shared")
            const workspace = yield* ensureWorkspace(storage)
            yield* contactLock(storage, workspace.id, contactId)
            const contact = yield* getContact(storage, workspace.id, contactId)
            const now = yield* DateTime.now
            const planned = yield* plan(yield* storage.consents.list(workspace.id, contactId), now, contact)
            if (Option.isNone(planned)) return false
            const { at, payload } = planned.value
            const recordSource = planned.value.source === undefined ? source : planned.value.source
            yield* storage.consents.put(
              new ConsentRecord({
                workspaceId: workspace.id,
                contactId,
                purpose,
                granted,
                source: recordSource,
                at,
                proof: planned.value.proof ?? null,
                requestedAt: planned.value.requestedAt ?? null
              })
            )
            const event = new StoredEvent({
              id: EventId.make(`${type}:${yield* (yield* IdGenerator).next}`),
              workspaceId: workspace.id,
              type,
              contactId,
              occurredAt: now,
              receivedAt: now,
              payload: { purpose, ...(recordSource === null ? {} : { source: recordSource }), ...payload }
            })
            yield* record(recorder, workspace, event, contact)
            if (after !== undefined) yield* after(workspace, contact, event)
            return true
          })
        )
        return { changed, status: yield* currentStatus(contactId) }
      }).pipe(Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`consent event ${e.eventId} already stored`)))

    /** The contact's consent and the health of its addresses, as stored now. */
    const currentStatus = (contactId: ContactId) =>
      Effect.gen(function* () {
        const workspaceId = (yield* readWorkspace(storage)).id
        const contact = yield* getContact(storage, workspaceId, contactId)
        return statusOf(contactId, yield* storage.consents.list(workspaceId, contactId), yield* storage.addressHealth.list(workspaceId, addressesOf(contact)))
      })

    /** The proof a caller passed, checked: not in the future, `at` now by default. */
    const proofOf = (input: typeof ProofInput.Type, now: DateTime.Utc, defaults: { readonly method: ConsentProof["method"]; readonly requestedAt: DateTime.Utc | null }, path: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const at = input.at ?? now
        if (DateTime.toEpochMillis(at) > DateTime.toEpochMillis(now)) {
          return yield* ValidationError.at([...path, "at"], `is in the future (${DateTime.formatIso(at)}); consent is proven for when it was given`)
        }
        return new ConsentProof({
          at,
          method: input.method ?? defaults.method,
          ip: input.ip ?? null,
          userAgent: input.userAgent ?? null,
          evidence: input.evidence ?? null,
          requestedAt: defaults.requestedAt
        })
      })

    /** Records the contact's consent to marketing mail of a purpose (`marketing` by default). */
    const grant = Effect.fn("Consents.grant")(function* (contactId: string, change: ConsentChange = {}) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ConsentChange)(change)
      const proofInput = data.proof
      const plan: Plan | undefined =
        proofInput === undefined
          ? undefined
          : (_, now) =>
              Effect.map(proofOf(proofInput, now, { method: "api", requestedAt: null }, ["proof"]), (proof) =>
                Option.some({ at: now, payload: { method: proof.method }, proof })
              )
      return (yield* decide(id, data.purpose ?? defaultPurpose, true, "consent.granted", data.source ?? null, plan)).status
    })

    /** Records that the contact withdrew consent for a purpose (`marketing` by default). */
    const withdraw = Effect.fn("Consents.withdraw")(function* (contactId: string, change: ConsentChange = {}) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ConsentChange)(change)
      if (data.proof !== undefined) return yield* ValidationError.at(["proof"], "is recorded with a grant; a withdrawal takes effect without one")
      return (yield* decide(id, data.purpose ?? defaultPurpose, false, "consent.withdrawn", data.source ?? null)).status
    })

    /** The contact's consent per purpose, and whether they unsubscribed from everything. */
    const status = Effect.fn("Consents.status")(function* (contactId: string) {
      const id = yield* decodeContactId(contactId)
      const workspaceId = (yield* readWorkspace(storage)).id
      yield* getContact(storage, workspaceId, id)
      return yield* currentStatus(id)
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
      const plan = (records: ReadonlyArray<ConsentRecord>, at: DateTime.Utc): Option.Option<Decision> => {
        const everything = records.find((r) => r.purpose === everyPurpose)
        // Already unsubscribed since this link was made (this link, or a newer one): a replay.
        if (everything !== undefined && !everything.granted && everything.at.epochMillis >= issuedAt) return Option.none()
        const issued = DateTime.unsafeMake(Math.min(issuedAt, DateTime.toEpochMillis(at)))
        const optedInSince = records.some((r) => r.purpose !== everyPurpose && r.granted && r.at.epochMillis > issuedAt)
        return Option.some({ at: optedInSince ? issued : at, payload: { linkIssuedAt: DateTime.formatIso(issued) } })
      }
      const result = yield* decide(contactId, everyPurpose, false, "consent.unsubscribed", "unsubscribe-link", (records, at) => Effect.succeed(plan(records, at))).pipe(
        withWorkspace(workspaceId)
      )
      return { workspaceId, contactId, status: result.status }
    })

    // --- double opt-in

    const confirmationSettings = Effect.gen(function* () {
      const settings = yield* MailSettings
      const confirmation = settings.confirmation
      if (confirmation === undefined) {
        return yield* ValidationError.at(["confirmation"], "no confirmation URL is configured (mail settings: confirmation.url), so consent cannot be requested or confirmed")
      }
      const secret = confirmation.secret ?? settings.unsubscribe?.secret
      if (secret === undefined || secret === "") {
        return yield* ValidationError.at(["confirmation", "secret"], "no secret signs confirmation links: set confirmation.secret (or unsubscribe.secret) in the mail settings")
      }
      const lifetime = Duration.decodeUnknown(confirmation.lifetime ?? defaultConfirmationLifetime)
      if (Option.isNone(lifetime) || !Duration.isFinite(lifetime.value) || Duration.toMillis(lifetime.value) <= 0) {
        return yield* ValidationError.at(["confirmation", "lifetime"], 'must be a positive, finite duration such as "7 days" (mail settings)')
      }
      return { settings, confirmation, secret, lifetime: lifetime.value }
    })

    /** The confirmation mail: the configured template, or a plain one in English and French. */
    const confirmationMail = (
      workspace: Workspace,
      contact: Contact,
      confirmation: ConfirmationSettings,
      purpose: string,
      url: string,
      expiresAt: DateTime.Utc
    ) =>
      Effect.gen(function* () {
        if (confirmation.template !== undefined) {
          const templateId = yield* decodeInput(TemplateId, ["confirmation", "template"])(confirmation.template)
          const template = yield* getTemplate(storage, workspace.id, templateId)
          if (template.purpose !== "transactional") {
            return yield* ValidationError.at(["confirmation", "template"], `template "${template.name}" is a marketing template; a confirmation mail is transactional`)
          }
          if (![template.subject, template.html ?? "", template.text ?? ""].some((part) => part.includes("confirmationUrl"))) {
            return yield* ValidationError.at(["confirmation", "template"], `template "${template.name}" does not show the link: put {{ confirmationUrl }} in it`)
          }
          const compiled = compileTemplate(template)
          if (compiled._tag === "Left") return yield* ValidationError.fromIssues(compiled.left, `Template "${template.name}" is invalid`)
          const context = toJson({ contact, workspace: { name: workspace.name }, purpose, confirmationUrl: url, expiresAt }) as RenderContext
          const rendered = compiled.right.render(context)
          return { subject: rendered.subject, html: rendered.html, text: rendered.text }
        }
        const until = DateTime.formatIso(expiresAt).slice(0, 10)
        const name = workspace.name
        const text = [
          `Please confirm that you want to receive ${purpose} mail from ${name}: ${url}`,
          `This link works until ${until}. If you did not ask for it, ignore this mail: nothing will be sent.`,
          "",
          `Merci de confirmer que vous souhaitez recevoir les messages (${purpose}) de ${name} : ${url}`,
          `Ce lien est valable jusqu'au ${until}. Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne vous sera envoyé.`
        ].join("\n")
        const link = escapeHtml(url)
        const html =
          `<p>Please confirm that you want to receive ${escapeHtml(purpose)} mail from ${escapeHtml(name)}.</p>` +
          `<p><a href="${link}">Confirm my subscription</a></p>` +
          `<p>This link works until ${until}. If you did not ask for it, ignore this mail: nothing will be sent.</p><hr>` +
          `<p lang="fr">Merci de confirmer que vous souhaitez recevoir les messages (${escapeHtml(purpose)}) de ${escapeHtml(name)}.</p>` +
          `<p lang="fr"><a href="${link}">Confirmer mon inscription</a></p>` +
          `<p lang="fr">Ce lien est valable jusqu'au ${until}. Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne vous sera envoyé.</p>`
        return { subject: `Please confirm your subscription / Merci de confirmer votre inscription — ${name}`, html: html as string | null, text: text as string | null }
      })

    /**
     * Asks the contact to confirm their consent (double opt-in): records the consent as pending
     * (not granted: marketing mail still does not go) and queues, in the same transaction, a
     * transactional mail carrying a signed link that expires after `confirmation.lifetime` (7 days
     * by default). Asking again sends a new link; a consent already granted for the purpose
     * changes nothing and sends nothing (`mail: null`). Needs `confirmation` in the mail settings.
     */
    const request = Effect.fn("Consents.request")(function* (contactId: string, input: ConsentRequest = {}) {
      const id = yield* decodeContactId(contactId)
      const data = yield* decodeInput(ConsentRequest)(input)
      const { confirmation, secret, lifetime } = yield* confirmationSettings
      const purpose = data.purpose ?? defaultPurpose
      let mail: ConsentRequestResult["mail"] = null
      const plan: Plan = (records, now, contact) =>
        Effect.gen(function* () {
          if (contact.email === null) return yield* ValidationError.at(["contactId"], "the contact has no email address to send the confirmation to")
          if (allows(records, purpose)) return Option.none()
          return Option.some({
            at: now,
            payload: {
              expiresAt: DateTime.formatIso(DateTime.addDuration(now, lifetime)),
              ...(data.evidence === undefined ? {} : { evidence: data.evidence })
            },
            requestedAt: now,
            // Until confirmed, the proof holds only the request: when, and the wording shown.
            proof: new ConsentProof({ at: now, method: "double-opt-in", ip: null, userAgent: null, evidence: data.evidence ?? null, requestedAt: now })
          })
        })
      const after: After = (workspace, contact, event) =>
        Effect.gen(function* () {
          const issuedAt = DateTime.toEpochMillis(event.occurredAt)
          const expiresAt = DateTime.addDuration(event.occurredAt, lifetime)
          const token = makeConfirmationToken(secret, { workspaceId: workspace.id, contactId: contact.id, purpose, issuedAt })
          const url = urlFor(confirmation.url, token)
          const content = yield* confirmationMail(workspace, contact, confirmation, purpose, url, expiresAt)
          const key = `${workspace.id}/consent.request/${event.id}`
          const outgoing = yield* safeMail({
            to: contact.email!,
            subject: content.subject,
            ...(content.html === null ? {} : { html: content.html }),
            ...(content.text === null ? {} : { text: content.text }),
            headers: {},
            idempotencyKey: key
          })
          const job = yield* newJob(workspace.id, {
            idempotencyKey: key,
            kind: "action",
            ruleId: confirmationRule,
            eventId: event.id,
            contactId: contact.id,
            variant: null,
            action: queuedMail(outgoing, null, "consent.request"),
            actionIndex: 0,
            category: "transactional",
            dueAt: event.occurredAt
          })
          yield* storage.jobs.insertMany([job])
          yield* storage.afterCommit(recorder.signal.notify)
          mail = { to: outgoing.to, jobId: job.id, idempotencyKey: key, expiresAt: DateTime.formatIso(expiresAt) }
        })
      const decided = yield* decide(id, purpose, false, "consent.requested", data.source ?? null, plan, after)
      // `mail` is set by `after`, inside the transaction: the declared type, not the narrowed one.
      const result: ConsentRequestResult = { status: decided.status, mail }
      return result
    })

    /** A confirmation token's content once its signature, form and age are checked. */
    const validConfirmation = (token: string) =>
      Effect.gen(function* () {
        const { secret, lifetime } = yield* confirmationSettings
        const named = typeof token === "string" ? readConfirmationToken(secret, token.trim()) : undefined
        const workspaceId = named !== undefined && Schema.is(WorkspaceId)(named.workspaceId) ? named.workspaceId : undefined
        const contactId = named !== undefined && Schema.is(ContactId)(named.contactId) ? named.contactId : undefined
        if (named === undefined || workspaceId === undefined || contactId === undefined || !Schema.is(Purpose)(named.purpose) || !isInInstantRange(named.issuedAt)) {
          return yield* ValidationError.at(["token"], "is not a valid confirmation token (it was altered, or signed with another secret)")
        }
        const now = yield* DateTime.now
        if (DateTime.toEpochMillis(now) - named.issuedAt > Duration.toMillis(lifetime)) {
          return yield* ValidationError.at(
            ["token"],
            `has expired: the confirmation was requested on ${DateTime.formatIso(DateTime.unsafeMake(named.issuedAt))} and confirmation links work for ${Duration.format(lifetime)}; request a new confirmation (consent.request)`
          )
        }
        return { workspaceId, contactId, purpose: named.purpose, issuedAt: named.issuedAt }
      })

    /**
     * Checks a confirmation link's token without acting on it (a page shows before the click):
     * the workspace, contact and purpose it names, or the `ValidationError` `confirm` would fail with.
     */
    const verifyConfirmationToken = Effect.fn("Consents.verifyConfirmationToken")(function* (token: string) {
      const { workspaceId, contactId, purpose } = yield* validConfirmation(token)
      return { workspaceId, contactId, purpose }
    })

    /**
     * Confirms a double opt-in from its link's token, in the token's workspace: the consent becomes
     * granted, with its proof (now, method `double-opt-in`, when it was requested, and what the
     * host passes: the IP address and user agent of the click, the wording shown). A forged or
     * damaged token fails with `ValidationError`, and so does an expired one (older than
     * `confirmation.lifetime`) and one whose request was withdrawn since. A link used again
     * changes nothing (`confirmed: false`). Confirming lifts a hard bounce of the contact's
     * address: the click shows the mailbox works.
     */
    const confirm = Effect.fn("Consents.confirm")(function* (token: string, proof: Pick<ProofInputType, "ip" | "userAgent" | "evidence"> = {}) {
      const named = yield* validConfirmation(token)
      const input = yield* decodeInput(ProofInput, ["proof"])(proof)
      const { workspaceId, contactId, purpose, issuedAt } = named
      const plan: Plan = (records, now, contact) =>
        Effect.gen(function* () {
          const own = records.find((r) => r.purpose === purpose)
          // This link (or another way of granting) already did it: a replay changes nothing.
          if (own !== undefined && own.granted) return Option.none()
          if (own === undefined || own.requestedAt === null) {
            return yield* ValidationError.at(["token"], `no confirmation is pending for this contact and purpose "${purpose}": the request was withdrawn since the link was sent`)
          }
          // The wording shown when consent was requested, kept on the pending record.
          const evidence = input.evidence ?? own.proof?.evidence ?? undefined
          const made = yield* proofOf(
            { ...(input.ip === undefined ? {} : { ip: input.ip }), ...(input.userAgent === undefined ? {} : { userAgent: input.userAgent }), ...(evidence === undefined ? {} : { evidence }) },
            now,
            { method: "double-opt-in", requestedAt: own.requestedAt },
            ["proof"]
          )
          // The click proves the mailbox works: a hard bounce of the address is lifted.
          if (contact.email !== null) {
            const key = emailKey(contact.email)
            const health = yield* Effect.orDie(storage.addressHealth.list(workspaceId, [key]))
            if (health.some((h) => h.hardBouncedAt !== null)) yield* Effect.orDie(storage.addressHealth.report(workspaceId, key, { kind: "clear" }))
          }
          return Option.some({
            at: now,
            payload: { method: "double-opt-in", requestedAt: DateTime.formatIso(own.requestedAt), linkIssuedAt: DateTime.formatIso(DateTime.unsafeMake(issuedAt)) },
            proof: made,
            requestedAt: null,
            source: own.source
          })
        })
      const decided = yield* decide(contactId, purpose, true, "consent.granted", null, plan).pipe(withWorkspace(workspaceId))
      return { workspaceId, contactId, purpose, confirmed: decided.changed, status: decided.status } satisfies ConfirmationResult
    })

    // --- bounces and complaints

    /**
     * Records what mail providers report: bounces (`hard`: the address stops receiving marketing
     * mail, transactional mail still goes; `soft`: counted), spam complaints and unsubscriptions
     * through the provider's own link (consent to all marketing mail is withdrawn, as with
     * Rapport's unsubscribe links), and opens (recorded only, naming the mail's job as `jobId` for
     * the rule and campaign stats). Each report becomes a `mail.bounced`, `mail.complained`,
     * `consent.unsubscribed` or `email.opened` event on the contact's timeline, which rules can react
     * to. The contact is the one of the job whose idempotency key the provider echoed back, else the
     * one holding the address; a report for an address no contact has is ignored (nothing is stored). A report
     * whose `id` was recorded before is a duplicate and changes nothing. One transaction for all.
     */
    const recordMailFeedback = Effect.fn("Consents.recordMailFeedback")(function* (input: MailFeedback | ReadonlyArray<MailFeedback>) {
      const many = Array.isArray(input)
      const items: ReadonlyArray<unknown> = many ? input : [input]
      if (items.length > MAX_FEEDBACK) return yield* ValidationError.at([], `at most ${MAX_FEEDBACK} reports per call (got ${items.length})`)
      const decoded: Array<typeof MailFeedback.Type> = []
      for (const [index, item] of items.entries()) decoded.push(yield* decodeInput(MailFeedback, many ? [index] : [])(item))
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const ids = yield* IdGenerator
          const results: Array<MailFeedbackResult> = []
          for (const item of decoded) {
            const key = emailKey(item.email)
            const kind = item.type === "bounced" ? (item.kind ?? "hard") : null
            const base = { type: item.type, email: key, kind, contactId: null, eventId: null, jobId: null, duplicate: false, ignored: null }
            let job = item.idempotencyKey === undefined ? Option.none<Job>() : yield* storage.jobs.getByKey(workspace.id, item.idempotencyKey)
            let contact: Contact | undefined
            if (Option.isSome(job)) contact = Option.getOrUndefined(yield* storage.contacts.get(workspace.id, job.value.contactId))
            contact ??= (yield* storage.contacts.findByEmails(workspace.id, [key]))[0]
            if (Option.isNone(job) && contact !== undefined && item.messageId !== undefined) job = yield* jobByMessageId(workspace.id, contact.id, item.messageId)
            if (contact === undefined) {
              results.push({ ...base, ignored: "no contact has this address" })
              continue
            }
            const eventType = feedbackEventType(item.type)
            const eventId = item.id ?? EventId.make(`${eventType}:${yield* ids.next}`)
            if (Option.isSome(yield* storage.events.get(workspace.id, eventId))) {
              results.push({ ...base, contactId: contact.id, eventId, duplicate: true })
              continue
            }
            yield* contactLock(storage, workspace.id, contact.id)
            const now = yield* DateTime.now
            const occurredAt = item.occurredAt ?? now
            const matched = Option.isSome(job) && job.value.contactId === contact.id ? job.value : undefined
            // An open says nothing of the address's health or the contact's consent: only its event is recorded.
            const health =
              item.type === "unsubscribed" || item.type === "opened"
                ? undefined
                : yield* storage.addressHealth.report(
                    workspace.id,
                    key,
                    kind === "hard" ? { kind: "hard", at: occurredAt, reason: item.reason ?? null } : kind === "soft" ? { kind: "soft", at: occurredAt } : { kind: "complaint", at: occurredAt }
                  )
            const provider = item.provider === undefined ? "" : `:${item.provider}`
            if (item.type === "complained" || item.type === "unsubscribed") {
              // A complaint or an unsubscription withdraws every marketing purpose, as Rapport's
              // unsubscribe links do, recorded now.
              yield* storage.consents.put(
                new ConsentRecord({
                  workspaceId: workspace.id,
                  contactId: contact.id,
                  purpose: everyPurpose,
                  granted: false,
                  source: `${item.type === "complained" ? "complaint" : "unsubscribe"}${provider}`,
                  at: now
                })
              )
            }
            const event = new StoredEvent({
              id: eventId,
              workspaceId: workspace.id,
              type: eventType,
              contactId: contact.id,
              occurredAt,
              receivedAt: now,
              payload: {
                email: key,
                ...(kind === null ? {} : { kind }),
                ...(item.reason === undefined ? {} : { reason: item.reason }),
                ...(item.provider === undefined ? {} : { provider: item.provider }),
                ...(item.messageId === undefined ? {} : { messageId: item.messageId }),
                ...(item.idempotencyKey === undefined ? {} : { idempotencyKey: item.idempotencyKey }),
                ...(matched === undefined ? {} : { jobId: matched.id, ruleId: matched.ruleId }),
                ...(kind === "soft" && health !== undefined ? { softBounces: health.softBounces } : {}),
                ...(item.type === "unsubscribed" ? { purpose: everyPurpose, source: `unsubscribe${provider}` } : {})
              }
            })
            yield* record(recorder, workspace, event, contact)
            results.push({ ...base, contactId: contact.id, eventId, jobId: matched?.id ?? null })
          }
          return results
        })
      ).pipe(Effect.catchTag("DuplicateEvent", (e) => Effect.dieMessage(`mail feedback event ${e.eventId} already stored`)))
    })

    /**
     * The contact's sent job whose receipt carries this Message-ID (with or without its angle
     * brackets), among its last jobs: the provider's id of the mail that bounced.
     */
    const jobByMessageId = (workspaceId: WorkspaceId, contactId: ContactId, messageId: string) =>
      Effect.gen(function* () {
        const bare = (id: string) => id.trim().replace(/^<|>$/g, "")
        const wanted = bare(messageId)
        let after: { dueAt: DateTime.Utc; id: Job["id"] } | undefined
        for (let page = 0; page < 10; page++) {
          const jobs = yield* storage.jobs.list(workspaceId, { contactId, statuses: ["done"], after, limit: PAGE })
          const found = jobs.find((j) => typeof j.outcome?.["messageId"] === "string" && bare(j.outcome["messageId"]) === wanted)
          if (found !== undefined) return Option.some(found)
          if (jobs.length < PAGE) break
          const last = jobs[jobs.length - 1]!
          after = { dueAt: last.dueAt, id: last.id }
        }
        return Option.none<Job>()
      })

    /**
     * Forgets an address's hard bounce and soft bounces (the contact fixed their mailbox, or the
     * provider bounced by mistake): marketing mail may go to it again. Returns the address's state.
     */
    const clearBounce = Effect.fn("Consents.clearBounce")(function* (email: string) {
      const address = yield* decodeInput(EmailFromString, ["email"])(email)
      const workspace = yield* readWorkspace(storage)
      return addressJson(yield* storage.addressHealth.report(workspace.id, emailKey(address), { kind: "clear" }))
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
      const addresses = (yield* storage.addressHealth.list(workspaceId, addressesOf(contact))).map(addressJson)
      return toJson({ exportedAt: yield* DateTime.now, contact, consents, addresses, timeline, events, orders, deals, tasks, ruleActions: jobs, ruleFirings: firings }) as Readonly<Record<string, unknown>>
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
          const erased = yield* getContact(storage, workspaceId, id)
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
          yield* storage.snapshots.removeForContact(workspaceId, id)
          const report: ErasureReport = {
            contactId: id,
            timelineEntries,
            events: yield* storage.events.eraseForContact(workspaceId, id),
            tasks,
            jobs: yield* storage.jobs.removeForContact(workspaceId, id),
            firings: yield* storage.firings.removeForContact(workspaceId, id),
            consents: yield* storage.consents.removeForContact(workspaceId, id),
            addresses: yield* storage.addressHealth.remove(workspaceId, addressesOf(erased)),
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
      /** Double opt-in: records a pending consent and queues the confirmation mail with its signed link. */
      request,
      /** Confirms a double opt-in from its link's token, recording the proof; the consent is then granted. */
      confirm,
      /** Checks a confirmation link's token without acting on it. */
      verifyConfirmationToken,
      /** Records bounces and spam complaints reported by the mail provider. */
      recordMailFeedback,
      /** Forgets an address's bounces: marketing mail may go to it again. */
      clearBounce,
      /** Everything Rapport holds about a contact, as JSON: for a GDPR access request. */
      export: exportData,
      /** Removes the contact's personal data everywhere (GDPR erasure). */
      erase
    } as const
  })
}) {}
