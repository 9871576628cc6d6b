/**
 * The API as a Node request handler, for Express 4 and 5, Connect and `node:http`. It runs on the
 * Promise client's runtime: the same services, the same database connections, the same clock.
 *
 * @example
 * ```ts
 * import express from "express"
 * import { createCrm } from "@rapport/core"
 * import { rapportRouter } from "@rapport/express"
 * import { sqliteStorage } from "@rapport/sqlite"
 *
 * const crm = await createCrm({ storage: sqliteStorage({ filename: "crm.db" }) })
 * const app = express()
 * app.use("/crm", rapportRouter(crm, {
 *   authenticate: async (req) => (req.user ? { workspace: req.user.shopId, principal: req.user.id, role: req.user.crmRole } : null)
 * }))
 * app.use(express.json()) // the app's own body parser, after Rapport
 * ```
 *
 * @since 0.6.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { type Crm, type CrmClient, type InboundWebhook, type Storage, Workspaces } from "@rapport/core"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import { Api, handlers } from "./Api.js"
import { WebhookMappers } from "./api/WebhooksIn.js"
import { ImportUploads, uploadSettingsOf } from "./api/Imports.js"
import { type Authenticate, type Authorize, authorizeByRole } from "./Auth.js"
import { authorizedLayer, type RateLimit } from "./internal/authorize.js"
import { basePath, HttpSettings, type Settings } from "./internal/context.js"
import { failed, makeNodeHandler, type MountedRequest, type NodeHandler } from "./internal/node.js"
import { defaultProblemTypeBase, problems } from "./internal/problems.js"
import { routeTable } from "./internal/routes.js"

export type { RateLimit, RateLimitDecision } from "./internal/authorize.js"

/**
 * Options of {@link toNodeHandler} and {@link rapportRouter}.
 *
 * @since 0.6.0
 * @category models
 */
export interface RapportHttpOptions<Req extends IncomingMessage = IncomingMessage> {
  /** Recognises the caller of a request: its workspace, principal and role; `null` answers 401. */
  readonly authenticate: Authenticate<Req>
  /** Decides whether the caller may do a route's action; {@link authorizeByRole} when not given. */
  readonly authorize?: Authorize | undefined
  /** Refuses requests with 429 (after authentication and authorization); none when not given. */
  readonly rateLimit?: RateLimit<Req> | undefined
  /** The largest request body, in bytes (default 1 MiB); a larger one answers 413 as soon as it goes past. */
  readonly bodyLimit?: number | undefined
  /** How long the answer to an `Idempotency-Key` is kept (default 24 hours). */
  readonly idempotencyTtl?: Duration.DurationInput | undefined
  /** Serves `GET /openapi.json` and `GET /docs` (a reference that works offline), without authentication (default `true`). */
  readonly docs?: boolean | undefined
  /** Where problem `type` URIs point; the lower-cased code follows (default: the sections of docs/http.md). */
  readonly problemTypeBase?: string | undefined
  /** The `WWW-Authenticate` challenge of a 401 (default `Bearer realm="rapport"`). */
  readonly challenge?: string | undefined
  /**
   * Webhooks in (`POST /webhooks/in/:source`): mappers by source name, used instead of the
   * built-in one of the source's provider (`(payload, headers) => event | events | null`).
   */
  readonly webhooks?: { readonly mappers?: Readonly<Record<string, InboundWebhook.WebhookMapper>> | undefined } | undefined
  /**
   * Uploads to `POST /imports`: the largest file in bytes (default 50 MiB; a larger one answers
   * 413 as soon as it goes past) and the directory of the temporary files (default the system's).
   */
  readonly imports?: { readonly maxFileSize?: number | undefined; readonly directory?: string | undefined } | undefined
}

/**
 * A Node request handler serving the API: `(req, res, next?)`. Mount it before body parsers (a
 * body `express.json()` already parsed is reused as it was parsed). `next` receives only the
 * adapter's own failures: every answer of the API, errors included, is written by the handler.
 *
 * @since 0.6.0
 * @category models
 */
export interface RapportHandler<Req extends IncomingMessage = IncomingMessage> {
  (req: Req, res: ServerResponse, next?: (error?: unknown) => void): void
  /** Builds the API now (the first request otherwise does); rejects when the client is closed. */
  ready(): Promise<void>
  /** Releases what the handler built. The client stays open: close it after. */
  close(): Promise<void>
}

interface Built {
  readonly handle: NodeHandler
  readonly scope: Scope.CloseableScope
}

const settingsOf = (options: RapportHttpOptions<any>): Settings => {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) throw new TypeError(`bodyLimit must be a positive whole number of bytes, got ${String(options.bodyLimit)}`)
  return {
    bodyLimit,
    idempotencyTtl: Duration.toMillis(options.idempotencyTtl ?? Duration.hours(24)),
    problemTypeBase: options.problemTypeBase ?? defaultProblemTypeBase
  }
}

// The OpenAPI document, with the mount path as its server so that tools call the right URLs. It is
// derived from the API once, on the first request for it, not on each.
let openApiDocument: OpenApi.OpenAPISpec | undefined
const openApiRoute = HttpApiBuilder.Router.use((router) =>
  router.get(
    "/openapi.json",
    Effect.map(basePath, (base) => HttpServerResponse.unsafeJson({ ...(openApiDocument ??= OpenApi.fromApi(Api)), servers: [{ url: base === "" ? "/" : base }] }))
  )
)

const build = async (crm: CrmClient, options: RapportHttpOptions<any>, settings: Settings): Promise<Built> => {
  const runtime = await crm.run(Effect.runtime<Crm.Services | Storage.Storage>())
  // The client's workspace is not the caller's: each request provides its own (Authorized), and
  // a route outside it must not fall back to the client's.
  const services = Context.omit(Workspaces.CurrentWorkspace)(runtime.context)
  const ApiLive = HttpApiBuilder.api(Api).pipe(
    Layer.provide(handlers),
    Layer.provide(
      authorizedLayer(routeTable(Api), {
        authenticate: options.authenticate,
        authorize: options.authorize ?? authorizeByRole,
        rateLimit: options.rateLimit,
        challenge: options.challenge ?? 'Bearer realm="rapport"'
      })
    ),
    Layer.provide(Layer.succeed(HttpSettings, settings)),
    Layer.provide(Layer.succeed(WebhookMappers, options.webhooks?.mappers ?? {})),
    Layer.provide(Layer.succeed(ImportUploads, uploadSettingsOf(options.imports))),
    Layer.provide(Layer.succeedContext(services))
  )
  const docs = options.docs === false ? Layer.empty : Layer.mergeAll(openApiRoute, HttpApiScalar.layer({ path: "/docs", scalar: { withDefaultFonts: false } }))
  const layer = Layer.mergeAll(
    docs,
    HttpApiBuilder.middleware(problems(settings)),
    HttpApiBuilder.Router.Live,
    HttpApiBuilder.Middleware.layer,
    HttpServer.layerContext,
    // Every body read is bounded by bodyLimit (a route may raise it with HttpServerRequest.withMaxBodySize).
    Layer.succeed(HttpIncomingMessage.MaxBodySize, Option.some(FileSystem.Size(settings.bodyLimit)))
  ).pipe(Layer.provideMerge(ApiLive))
  const scope = Effect.runSync(Scope.make())
  // Built on the client's runtime, so requests run with its clock, logger and other settings.
  const apiRuntime = await Runtime.runPromise(runtime)(Scope.extend(Layer.toRuntime(layer), scope)).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  const app = await Runtime.runPromise(apiRuntime)(HttpApiBuilder.httpApp)
  return { handle: makeNodeHandler(apiRuntime, app), scope }
}

/**
 * The API as a `(req, res, next?)` handler for Express 4 and 5, Connect and `node:http`
 * (`http.createServer(toNodeHandler(crm, options))`). It reuses the client's runtime and database
 * connections; each request works in the workspace `authenticate` returns.
 *
 * @since 0.6.0
 * @category constructors
 */
export const toNodeHandler = <Req extends IncomingMessage = IncomingMessage>(crm: CrmClient, options: RapportHttpOptions<Req>): RapportHandler<Req> => {
  if (typeof options?.authenticate !== "function") throw new TypeError("toNodeHandler needs options.authenticate: (req) => { workspace, principal, role } | null")
  const settings = settingsOf(options)
  uploadSettingsOf(options.imports)
  let built: Built | undefined
  let building: Promise<Built> | undefined
  const get = (): Promise<Built> =>
    (building ??= build(crm, options, settings).then(
      (b) => (built = b),
      (error: unknown) => {
        building = undefined
        throw error
      }
    ))
  const handle = (req: Req, res: ServerResponse, next?: (error?: unknown) => void): void => {
    if (built !== undefined) return built.handle(req, res, next)
    // The first request builds the API; a failure to build is the adapter's own (next, or a 500).
    get().then(
      (b) => b.handle(req, res, next),
      (error: unknown) => failed(error, res, next)
    )
  }
  return Object.assign(handle, {
    ready: async () => void (await get()),
    close: async () => {
      const current = building
      building = undefined
      built = undefined
      if (current !== undefined) await current.then((b) => Effect.runPromise(Scope.close(b.scope, Exit.void)), () => undefined)
    }
  })
}

/**
 * The API as an Express router (4 or 5): `app.use("/crm", rapportRouter(crm, options))`. Links it
 * answers with (`Location`, `Link`) include the mount path. Mount it before `express.json()`.
 *
 * @since 0.6.0
 * @category constructors
 */
export const rapportRouter = <Req extends MountedRequest = MountedRequest>(crm: CrmClient, options: RapportHttpOptions<Req>): RapportHandler<Req> =>
  toNodeHandler(crm, options)
