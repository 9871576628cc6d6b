/**
 * The double opt-in confirmation link over HTTP (`consent.request` mails it; the mail settings'
 * `confirmation.url` points here):
 *
 * - `GET /consent/confirm?token=…` changes nothing (mail scanners follow links): it shows a plain,
 *   accessible page, in French or English after `Accept-Language`, whose button sends the POST; a
 *   token that does not hold (forged, damaged, expired) shows an error page (400).
 * - `POST /consent/confirm?token=…` confirms: the consent becomes granted with its proof (now, the
 *   IP address of the click — Express's `req.ip` when the app set it, which follows its
 *   `trust proxy` setting, else the socket's peer — and the `User-Agent`). It answers a page to a
 *   browser, JSON otherwise; the same link again answers the same and changes nothing.
 *
 * These routes are not behind `authenticate`: the signed token is the proof, and it names the one
 * workspace, contact and purpose they may touch.
 *
 * @since 0.7.0
 */
import { Consents, Errors } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { problem, type Problem } from "../Problem.js"
import { basePath, NodeRequest } from "../internal/context.js"
import { json } from "../internal/http.js"
import { apiOf, type GroupHandlers, problemResponse, route } from "../internal/routes.js"
import { escape, type Language, languageOf, page, wantsHtml } from "./Unsubscribe.js"

const TokenQuery = Schema.Struct({
  token: Schema.optional(Schema.String).annotations({ description: "The signed token of the confirmation link (consent.request)" })
})

/**
 * The confirmation routes: not behind `authenticate`, the token is the proof.
 *
 * @internal
 */
export const group = HttpApiGroup.make("consentConfirm")
  .add(
    HttpApiEndpoint.post("confirm", "/consent/confirm")
      .setUrlParams(TokenQuery)
      .addSuccess(
        Schema.Struct({ confirmed: Schema.Boolean, purpose: Schema.String }).annotations({
          description: "Confirmed (confirmed: false when the link was used before); text/html for a browser"
        })
      )
      .addError(problemResponse(400, "The token is missing, forged, damaged or expired, or its request was withdrawn (VALIDATION_FAILED)"))
      .annotateContext(route("consent.confirm"))
  )
  .add(
    HttpApiEndpoint.get("page", "/consent/confirm")
      .setUrlParams(TokenQuery)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }).annotations({ description: "A page whose button sends the confirming POST" }))
      .addError(problemResponse(400, "The token is forged, damaged or expired: an HTML page says so"))
      .annotateContext(route("consent.confirmPage"))
  )

const texts = {
  en: {
    title: "Confirm your subscription",
    ask: "Confirm your subscription?",
    explain: "Confirm below to receive our emails. You can unsubscribe at any time with the link in each email.",
    button: "Confirm",
    doneTitle: "Thank you: your subscription is confirmed",
    done: "You will receive our emails. You can unsubscribe at any time with the link in each email.",
    badTitle: "This link does not work",
    bad: "This confirmation link is invalid or has expired. Sign up again to receive a new one.",
    brokenTitle: "Confirmation is not available",
    broken: "Subscriptions cannot be confirmed from this page at the moment. Please try again later."
  },
  fr: {
    title: "Confirmez votre inscription",
    ask: "Confirmer votre inscription ?",
    explain: "Confirmez ci-dessous pour recevoir nos e-mails. Vous pourrez vous désabonner à tout moment grâce au lien présent dans chaque e-mail.",
    button: "Confirmer",
    doneTitle: "Merci : votre inscription est confirmée",
    done: "Vous recevrez nos e-mails. Vous pourrez vous désabonner à tout moment grâce au lien présent dans chaque e-mail.",
    badTitle: "Ce lien ne fonctionne pas",
    bad: "Ce lien de confirmation est invalide ou a expiré. Inscrivez-vous à nouveau pour en recevoir un nouveau.",
    brokenTitle: "La confirmation est indisponible",
    broken: "Les inscriptions ne peuvent pas être confirmées depuis cette page pour le moment. Réessayez plus tard."
  }
} as const

/** Missing confirmation settings are the server's fault, not the reader's. */
const notConfigured = (failure: Errors.ValidationError) => failure.issues.some((issue) => issue.path[0] === "confirmation")

const errorPage = (language: Language, failure: Errors.ValidationError) =>
  Effect.gen(function* () {
    const t = texts[language]
    if (notConfigured(failure)) {
      yield* Effect.logError("Rapport HTTP: /consent/confirm: confirmation links are not configured (mail settings)", failure)
      return page(language, 500, t.brokenTitle, t.brokenTitle, `<p>${escape(t.broken)}</p>`)
    }
    return page(language, 400, t.badTitle, t.badTitle, `<p>${escape(t.bad)}</p>`)
  })

const tokenProblem = (failure: Errors.ValidationError): Problem =>
  notConfigured(failure)
    ? problem(500, "INTERNAL_ERROR", "Confirmation links are not configured on this server (mail settings: confirmation)")
    : problem(400, "VALIDATION_FAILED", `The confirmation token ${failure.issues[0]?.message ?? "is not valid"}`, {
        errors: failure.issues.map((issue) => ({ pointer: "/token", in: "query" as const, detail: issue.message }))
      })

const missingToken = problem(400, "VALIDATION_FAILED", "The confirmation link has no token", {
  errors: [{ pointer: "/token", in: "query", detail: "is required: the token of the link" }]
})

/** The click's IP address (Express's `req.ip` when set, else the socket's peer) and user agent. */
const proofOfRequest = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const node = yield* Effect.serviceOption(NodeRequest)
  const expressIp = Option.isSome(node) ? (node.value.req as { readonly ip?: unknown }).ip : undefined
  const ip = typeof expressIp === "string" && expressIp !== "" ? expressIp : Option.getOrUndefined(request.remoteAddress)
  const userAgent = request.headers["user-agent"]
  return {
    ...(ip !== undefined && /^[0-9A-Fa-f.:]{2,45}$/.test(ip) ? { ip } : {}),
    ...(userAgent === undefined || userAgent === "" ? {} : { userAgent: userAgent.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, 500) })
  }
})

/**
 * The confirmation routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"consentConfirm"> = HttpApiBuilder.group(apiOf(group), "consentConfirm", (routes) =>
  routes
    .handleRaw("confirm", ({ urlParams }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const token = urlParams.token
        if (token === undefined || token === "") return yield* missingToken
        const result = yield* (yield* Consents.Consents).confirm(token, yield* proofOfRequest).pipe(
          Effect.mapError((failure) => (failure instanceof Errors.ValidationError ? tokenProblem(failure) : failure))
        )
        if (wantsHtml(request.headers["accept"])) {
          const language = languageOf(request.headers["accept-language"])
          const t = texts[language]
          return page(language, 200, t.doneTitle, t.doneTitle, `<p>${escape(t.done)}</p>`)
        }
        return json({ confirmed: result.confirmed, purpose: result.purpose }, 200, { "cache-control": "no-store" })
      })
    )
    .handleRaw("page", ({ urlParams }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const language = languageOf(request.headers["accept-language"])
        const t = texts[language]
        const token = urlParams.token ?? ""
        const checked = yield* Effect.either((yield* Consents.Consents).verifyConfirmationToken(token))
        if (checked._tag === "Left") return yield* errorPage(language, checked.left)
        const action = `${yield* basePath}/consent/confirm?token=${encodeURIComponent(token)}`
        return page(
          language,
          200,
          t.title,
          t.ask,
          `<p>${escape(t.explain)}</p>
<form method="post" action="${escape(action)}">
<button type="submit">${escape(t.button)}</button>
</form>`
        )
      })
    )
)
