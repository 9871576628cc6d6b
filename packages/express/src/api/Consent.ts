/**
 * Consent over HTTP: a contact's consent per purpose, granting it (with its proof) and withdrawing
 * it, requesting a double opt-in confirmation, the bounces and complaints a mail provider reports
 * (for providers without a built-in webhook mapper), and the GDPR rights: the export of everything
 * held on a contact, and its erasure. The confirmation link's route is public (ConsentConfirm.ts).
 *
 * @since 0.6.0
 */
import { Consent, Consents, Ids } from "@rapport/core"
import type { ConsentChange, ConsentRequest, MailFeedback } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { input, json } from "../internal/http.js"
import { apiOf, Authorized, computed, knownFailures, NotFoundResponse, route } from "../internal/routes.js"

const ContactPath = Schema.Struct({ contactId: Ids.ContactId })

const decision = <const Name extends "grant" | "withdraw">(name: Name) =>
  HttpApiEndpoint.post(name, `/contacts/:contactId/consent/${name}`)
    .setPath(ContactPath)
    .setPayload(Consent.ConsentChange)
    .addSuccess(Consent.ConsentStatus)
    .addError(NotFoundResponse)
    .annotateContext(route(`consent.${name}`))

/**
 * The consent routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("consent")
  .add(
    HttpApiEndpoint.get("status", "/contacts/:contactId/consent")
      .setPath(ContactPath)
      .addSuccess(Consent.ConsentStatus)
      .addError(NotFoundResponse)
      .annotateContext(route("consent.status"))
  )
  .add(decision("grant"))
  .add(decision("withdraw"))
  .add(
    HttpApiEndpoint.post("request", "/contacts/:contactId/consent/request")
      .setPath(ContactPath)
      .setPayload(Consents.ConsentRequest)
      .addSuccess(Consents.ConsentRequestResult)
      .addError(NotFoundResponse)
      .annotateContext(route("consent.request"))
  )
  .add(
    HttpApiEndpoint.post("recordMailFeedback", "/consent/mail-feedback")
      .setPayload(Schema.Union(Consent.MailFeedback, Schema.Array(Consent.MailFeedback)))
      .addSuccess(Consents.MailFeedbackResults)
      .annotateContext(route("consent.recordMailFeedback"))
  )
  .add(
    HttpApiEndpoint.post("clearBounce", "/consent/clear-bounce")
      .setPayload(Schema.Struct({ email: Schema.String }))
      .addSuccess(Consent.AddressStatus)
      .annotateContext(route("consent.clearBounce"))
  )
  .add(
    HttpApiEndpoint.post("unsubscribeUrl", "/contacts/:contactId/consent/unsubscribe-url")
      .setPath(ContactPath)
      .addSuccess(Schema.Struct({ url: Schema.String }).annotations({ identifier: "UnsubscribeUrl", description: "A signed link that unsubscribes the contact from all marketing mail (as the one in marketing mails)" }))
      .addError(NotFoundResponse)
      .annotateContext(route("consent.unsubscribeUrl"))
  )
  .add(
    HttpApiEndpoint.get("export", "/contacts/:contactId/personal-data")
      .setPath(ContactPath)
      .addSuccess(computed("PersonalData", "Everything held on the contact (GDPR access): the contact, consents, timeline, events, orders, deals, tasks, rule actions"))
      .addError(NotFoundResponse)
      .annotateContext(route("consent.export"))
  )
  .add(
    HttpApiEndpoint.post("erase", "/contacts/:contactId/erase")
      .setPath(ContactPath)
      .addSuccess(Consents.ErasureReport)
      .addError(NotFoundResponse)
      .annotateContext(route("consent.erase"))
  )
  .middleware(Authorized)

/**
 * The consent routes' handlers.
 *
 * @internal
 */
export const handlers = HttpApiBuilder.group(apiOf(group), "consent", (routes) =>
  routes
    .handleRaw("status", ({ path }) => Effect.map(Effect.flatMap(Consents.Consents, (service) => service.status(path.contactId)), (status) => json(status)))
    .handleRaw("grant", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Consents.Consents).grant(path.contactId, yield* input<ConsentChange | undefined>()))
      })
    )
    .handleRaw("withdraw", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Consents.Consents).withdraw(path.contactId, yield* input<ConsentChange | undefined>()))
      })
    )
    .handleRaw("request", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Consents.Consents).request(path.contactId, yield* input<ConsentRequest | undefined>()))
      })
    )
    .handleRaw("recordMailFeedback", () =>
      Effect.gen(function* () {
        return json(yield* (yield* Consents.Consents).recordMailFeedback(yield* input<MailFeedback | ReadonlyArray<MailFeedback>>()))
      })
    )
    .handleRaw("clearBounce", () =>
      Effect.gen(function* () {
        // A missing body or email is the core's ValidationError on `email`, not a crash here.
        const body = yield* input<{ readonly email?: unknown } | undefined>()
        const email = typeof body === "object" && body !== null ? body.email : undefined
        return json(yield* (yield* Consents.Consents).clearBounce(email as string))
      })
    )
    .handleRaw("unsubscribeUrl", ({ path }) =>
      Effect.map(Effect.flatMap(Consents.Consents, (service) => service.unsubscribeUrl(path.contactId)), (url) => json({ url }))
    )
    .handleRaw("export", ({ path }) =>
      // consent.export's error channel is typed unknown: its failures are the core's all the same.
      Effect.map(knownFailures(Effect.flatMap(Consents.Consents, (service) => service.export(path.contactId))), (data) =>
        json(data, 200, { "cache-control": "no-store" })
      )
    )
    .handleRaw("erase", ({ path }) => Effect.map(Effect.flatMap(Consents.Consents, (service) => service.erase(path.contactId)), (report) => json(report)))
)
