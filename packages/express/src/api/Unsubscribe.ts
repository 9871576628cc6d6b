/**
 * One-click unsubscribe (RFC 8058) over HTTP, for the links marketing mails carry
 * (`consent.unsubscribeUrl`, with `List-Unsubscribe` and `List-Unsubscribe-Post` headers):
 *
 * - `POST /unsubscribe?token=…` with the body `List-Unsubscribe=One-Click` (as
 *   `application/x-www-form-urlencoded` or `multipart/form-data`) unsubscribes the contact the
 *   token names, in the token's workspace, and answers 200: no cookie, no redirect. Sent again, it
 *   changes nothing and answers the same. A forged, damaged or expired token is a 400 problem.
 * - `GET /unsubscribe?token=…` changes nothing (mail scanners follow links): it shows a plain,
 *   accessible page, in French or English after `Accept-Language`, whose button sends that POST;
 *   a token that does not hold shows an error page (400).
 *
 * These routes are not behind `authenticate`: the signed token is the proof, and it names the one
 * workspace and contact they may touch.
 *
 * @since 0.6.0
 */
import { Consents, Errors } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { problem, type Problem } from "../Problem.js"
import { basePath, NodeRequest } from "../internal/context.js"
import { json } from "../internal/http.js"
import { apiOf, type GroupHandlers, problemResponse, route } from "../internal/routes.js"
import { readUpload } from "../internal/upload.js"

const TokenQuery = Schema.Struct({
  token: Schema.optional(Schema.String).annotations({ description: "The signed token of the link (consent.unsubscribeUrl)" })
})

/**
 * What the one-click POST sends (RFC 8058), form-encoded.
 *
 * @since 0.6.0
 * @category schemas
 */
export const OneClick = Schema.Struct({ "List-Unsubscribe": Schema.Literal("One-Click") }).pipe(HttpApiSchema.withEncoding({ kind: "UrlParams" }))

/**
 * The unsubscribe routes: not behind `authenticate` (no `Authorized` middleware), the token is the
 * proof. Internal: the OpenAPI document is their public description.
 *
 * @internal
 */
export const group = HttpApiGroup.make("unsubscribe")
  .add(
    HttpApiEndpoint.post("oneClick", "/unsubscribe")
      .setUrlParams(TokenQuery)
      .setPayload(OneClick)
      .addSuccess(Schema.Struct({ unsubscribed: Schema.Literal(true) }).annotations({ description: "Unsubscribed (also when it already was); text/html for a browser" }))
      .addError(problemResponse(400, "The token is missing, forged, damaged or expired, or the body is not List-Unsubscribe=One-Click (VALIDATION_FAILED)"))
      .addError(problemResponse(415, "The body is not a form (UNSUPPORTED_MEDIA_TYPE)"))
      .annotateContext(route("unsubscribe.oneClick"))
  )
  .add(
    HttpApiEndpoint.get("page", "/unsubscribe")
      .setUrlParams(TokenQuery)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }).annotations({ description: "A page whose button sends the one-click POST" }))
      .addError(problemResponse(400, "The token is forged, damaged or expired: an HTML page says so"))
      .annotateContext(route("unsubscribe.page"))
  )

/** @internal */
export type Language = "en" | "fr"

/**
 * The first of French and English the client prefers (RFC 9110 weights), English otherwise.
 *
 * @internal
 */
export const languageOf = (header: string | undefined): Language => {
  const ranked = (header ?? "")
    .split(",")
    .map((item, index) => {
      const [tag = "", ...params] = item.trim().split(";")
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
      const weight = q === undefined ? 1 : Number(q.slice(2))
      return { primary: tag.trim().toLowerCase().split("-")[0], weight: Number.isFinite(weight) ? weight : 0, index }
    })
    .filter((l) => l.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
  const chosen = ranked.find((l) => l.primary === "fr" || l.primary === "en")
  return chosen?.primary === "fr" ? "fr" : "en"
}

const texts = {
  en: {
    title: "Unsubscribe",
    ask: "Unsubscribe from our emails?",
    explain: "Confirm below and you will no longer receive our marketing emails. Emails about your orders and your account will still be sent.",
    button: "Unsubscribe",
    doneTitle: "You are unsubscribed",
    done: "You will no longer receive our marketing emails.",
    badTitle: "This link does not work",
    bad: "This unsubscribe link is invalid or has expired. Use the link in a more recent email, or reply to one of our emails to be unsubscribed.",
    brokenTitle: "Unsubscribing is not available",
    broken: "Unsubscribing cannot be done from this page at the moment. Reply to one of our emails to be unsubscribed."
  },
  fr: {
    title: "Désabonnement",
    ask: "Ne plus recevoir nos e-mails ?",
    explain:
      "Confirmez ci-dessous et vous ne recevrez plus nos e-mails commerciaux. Les e-mails concernant vos commandes et votre compte continueront d’être envoyés.",
    button: "Me désabonner",
    doneTitle: "Votre désabonnement est enregistré",
    done: "Vous ne recevrez plus nos e-mails commerciaux.",
    badTitle: "Ce lien ne fonctionne pas",
    bad: "Ce lien de désabonnement est invalide ou a expiré. Utilisez le lien d’un e-mail plus récent, ou répondez à l’un de nos e-mails pour être désabonné.",
    brokenTitle: "Le désabonnement est indisponible",
    broken: "Le désabonnement ne peut pas se faire depuis cette page pour le moment. Répondez à l’un de nos e-mails pour être désabonné."
  }
} as const

/** @internal */
export const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;")

/**
 * A plain, accessible page that leaks no token (no referrer, no framing, no script).
 *
 * @internal
 */
export const page = (language: Language, status: number, title: string, heading: string, body: string) =>
  HttpServerResponse.text(
    `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escape(title)}</title>
<style>
body { font: 1.125rem/1.5 system-ui, sans-serif; margin: 0; padding: 2rem 1rem; color: #1a1a1a; background: #fff; }
main { max-width: 36rem; margin: 0 auto; }
button { font: inherit; padding: .75rem 1.5rem; border: 2px solid #1a1a1a; border-radius: .25rem; background: #1a1a1a; color: #fff; cursor: pointer; }
button:focus-visible { outline: 3px solid #0b57d0; outline-offset: 3px; }
</style>
</head>
<body>
<main>
<h1>${escape(heading)}</h1>
${body}
</main>
</body>
</html>
`,
    {
      status,
      contentType: "text/html; charset=utf-8",
      headers: {
        "content-language": language,
        vary: "Accept-Language",
        "cache-control": "no-store",
        // The token is in the URL: no page it links to may see it; no site may frame the button.
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
      }
    }
  )

const errorPage = (language: Language, failure: Errors.ValidationError) =>
  Effect.gen(function* () {
    const t = texts[language]
    // No unsubscribe settings on this server: not the reader's fault.
    if (failure.issues.some((issue) => issue.path[0] === "unsubscribe")) {
      yield* Effect.logError("Rapport HTTP: GET /unsubscribe: unsubscribe links are not configured (mail settings)", failure)
      return page(language, 500, t.brokenTitle, t.brokenTitle, `<p>${escape(t.broken)}</p>`)
    }
    return page(language, 400, t.badTitle, t.badTitle, `<p>${escape(t.bad)}</p>`)
  })

/** A token problem as a 400 naming the query's `token`; missing settings as a 500 (logged). */
const tokenProblem = (failure: Errors.ValidationError): Problem =>
  failure.issues.some((issue) => issue.path[0] === "unsubscribe")
    ? problem(500, "INTERNAL_ERROR", "Unsubscribe links are not configured on this server (mail settings: unsubscribe)")
    : problem(400, "VALIDATION_FAILED", `The unsubscribe token ${failure.issues[0]?.message ?? "is not valid"}`, {
        errors: failure.issues.map((issue) => ({ pointer: "/token", in: "query" as const, detail: issue.message }))
      })

const missingToken = problem(400, "VALIDATION_FAILED", "The unsubscribe link has no token", {
  errors: [{ pointer: "/token", in: "query", detail: "is required: the token of the link" }]
})

const formType = /^application\/x-www-form-urlencoded\s*(?:;|$)/i
const multipartType = /^multipart\/form-data\s*;/i

/** The value of `List-Unsubscribe` in the POST's form, whichever form encoding it came in. */
const oneClickValue = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const type = request.headers["content-type"]
  if (type !== undefined && multipartType.test(type)) {
    const node = yield* Effect.serviceOption(NodeRequest)
    if (node._tag === "None") return yield* Effect.dieMessage("Rapport: the unsubscribe route was called without its Node request")
    const form = yield* readUpload(node.value.req, type, { fields: ["List-Unsubscribe"], otherFields: "ignore", maxFieldSize: 1024 })
    return form.fields["List-Unsubscribe"]
  }
  if (type !== undefined && !formType.test(type)) {
    return yield* problem(415, "UNSUPPORTED_MEDIA_TYPE", `Send List-Unsubscribe=One-Click as a form (application/x-www-form-urlencoded or multipart/form-data), not ${type.slice(0, 100)}`, {
      headers: { "accept-post": "application/x-www-form-urlencoded, multipart/form-data" }
    })
  }
  const text = yield* Effect.mapError(request.text, () => problem(400, "BODY_UNREADABLE", "The request body could not be read"))
  return new URLSearchParams(text).get("List-Unsubscribe") ?? undefined
})

/** @internal */
export const wantsHtml = (accept: string | undefined) => accept !== undefined && /\btext\/html\b/i.test(accept)

/**
 * The unsubscribe routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"unsubscribe"> = HttpApiBuilder.group(apiOf(group), "unsubscribe", (routes) =>
  routes
    .handleRaw("oneClick", ({ urlParams }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const token = urlParams.token
        if (token === undefined || token === "") return yield* missingToken
        const value = yield* oneClickValue
        if (value !== "One-Click") {
          return yield* problem(400, "VALIDATION_FAILED", "A one-click unsubscribe sends List-Unsubscribe=One-Click (RFC 8058)", {
            errors: [{ pointer: "/List-Unsubscribe", in: "body", detail: value === undefined ? "is required: One-Click" : `must be One-Click (got ${JSON.stringify(value.slice(0, 40))})` }]
          })
        }
        yield* (yield* Consents.Consents).unsubscribe(token).pipe(
          Effect.mapError((failure) => (failure instanceof Errors.ValidationError ? tokenProblem(failure) : failure)),
          // A contact erased since the mail was sent: nobody left to mail, which is what was asked.
          Effect.catchTag("NotFound", () => Effect.void)
        )
        if (wantsHtml(request.headers["accept"])) {
          const t = texts[languageOf(request.headers["accept-language"])]
          return page(languageOf(request.headers["accept-language"]), 200, t.doneTitle, t.doneTitle, `<p>${escape(t.done)}</p>`)
        }
        return json({ unsubscribed: true }, 200, { "cache-control": "no-store" })
      })
    )
    .handleRaw("page", ({ urlParams }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const language = languageOf(request.headers["accept-language"])
        const t = texts[language]
        const token = urlParams.token ?? ""
        const checked = yield* Effect.either((yield* Consents.Consents).verifyUnsubscribeToken(token))
        if (checked._tag === "Left") return yield* errorPage(language, checked.left)
        const action = `${yield* basePath}/unsubscribe?token=${encodeURIComponent(token)}`
        return page(
          language,
          200,
          t.title,
          t.ask,
          `<p>${escape(t.explain)}</p>
<form method="post" action="${escape(action)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escape(t.button)}</button>
</form>`
        )
      })
    )
)
