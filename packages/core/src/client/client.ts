/**
 * The Promise client, for apps that do not use Effect: the same services, run by a
 * `ManagedRuntime`. Results are plain JSON (instants are ISO-8601 UTC strings), ready to send
 * over HTTP. Failures are thrown as {@link RapportError} subclasses that keep the Effect error's
 * `_tag` and a stable `code`.
 *
 * @example
 * ```ts
 * import { createCrm } from "@rapport/core"
 * import { sqliteStorage } from "@rapport/sqlite"
 *
 * const crm = await createCrm({ storage: sqliteStorage({ filename: "crm.db" }) })
 * const ada = await crm.contacts.create({ email: "ada@example.com", source: { channel: "trade-show" } })
 * await crm.events.emit({ id: "order-1", type: "order.placed", contactId: ada.id, payload: { orderId: "o-1", lines } })
 * await crm.close()
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { type StorageError, ValidationError } from "../domain/Errors.js"
import { WorkspaceId } from "../domain/Ids.js"
import * as Crm from "../Crm.js"
import { dispatchSettings } from "../internal/dispatchOptions.js"
import { toJson } from "../internal/json.js"
import { CustomActions } from "../ports/CustomActions.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { MailSettings } from "../ports/Mailer.js"
import type { Storage } from "../ports/Storage.js"
import type { StartOptions } from "../services/Dispatcher.js"
import { CurrentWorkspace } from "../services/Workspaces.js"
import { WebhookSettings } from "../internal/webhookDelivery.js"
import { assertEffectVersion, type RapportError, RapportClientClosedError, RapportValidationError, rethrow } from "./errors.js"
import type { ClientJson } from "./json.js"
import { consoleMailer, type CreateCrmOptions, customActions, mailerLayer } from "./providers.js"

/**
 * A background dispatcher started by `dispatcher.start()`.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunningDispatcher {
  /** Stops it after the job it is running (jobs it claimed and did not run are claimed again later). */
  stop(): Promise<void>
}

/**
 * A service member as a Promise client method. A function keeps its parameters; an Effect value
 * (such as `lifecycle.definition`) becomes a method without parameters. Either way the result
 * comes back as {@link ClientJson}, and failures are thrown as {@link RapportError}s.
 *
 * @since 0.5.0
 * @category models
 */
export type ClientMethod<M> = M extends (...args: infer P) => Effect.Effect<infer A, infer _E, infer _R> ? (...args: P) => Promise<ClientJson<A>>
  : M extends Effect.Effect<infer A, infer _E, infer _R> ? () => Promise<ClientJson<A>>
  : never

/**
 * One namespace of the Promise client: every member of the Effect service `S` as a
 * {@link ClientMethod}, with the service's documentation.
 *
 * @since 0.5.0
 * @category models
 */
export type ServiceClient<S> = { readonly [K in keyof S as K extends "_tag" ? never : K]: ClientMethod<S[K]> }

/**
 * Every namespace of {@link Crm.services} as a {@link ServiceClient}.
 *
 * @since 0.5.0
 * @category models
 */
export type ServicesClient = { readonly [K in keyof Crm.Namespaces]: ServiceClient<Crm.Namespaces[K]> }

/**
 * The `dispatcher` namespace: the service's methods, except that `start` runs the dispatcher in
 * the background and returns a handle to stop it.
 *
 * @since 0.5.0
 * @category models
 */
export interface DispatcherClient extends Omit<ServiceClient<Crm.Namespaces["dispatcher"]>, "start"> {
  /** Runs due jobs in the background until `stop()` or `close()` (same `workspaces` option as `runDue`). */
  start(options?: StartOptions): RunningDispatcher
}

/**
 * The `setup` namespace: callable itself (`crm.setup(declaration)` applies it), with the
 * service's `apply` and `plan` (a dry run) as methods.
 *
 * @since 0.7.0
 * @category models
 */
export interface SetupClient extends ServiceClient<Crm.Namespaces["setup"]> {
  /** Makes the workspace what the declaration says, in one transaction; returns the plan (`dryRun: true` stores nothing). */
  (declaration: Parameters<Crm.Namespaces["setup"]["apply"]>[0]): ReturnType<ServiceClient<Crm.Namespaces["setup"]>["apply"]>
}

/**
 * The Promise client: one namespace per Effect service (the names of {@link Crm.services}), one
 * method per service member, derived from the services' types ({@link ServiceClient}); results
 * are plain JSON ({@link ClientJson}); failures are {@link RapportError}s.
 *
 * @since 0.1.0
 * @category models
 */
export interface CrmClient extends Omit<ServicesClient, "dispatcher" | "setup"> {
  /** Set-up as code: `crm.setup(declaration)`; see {@link SetupClient}. */
  readonly setup: SetupClient
  /** The workspace this client works in. */
  readonly workspaceId: string
  /** Runs the jobs rules queue (mails, delayed checks, custom actions). */
  readonly dispatcher: DispatcherClient
  /** A client for another workspace, sharing this one's runtime and connections. */
  workspace(id: string): CrmClient
  /**
   * Runs an Effect program against the same services and storage, in this client's workspace
   * (integrations such as `@rapport/importers` run through it).
   */
  run<A, E>(effect: Effect.Effect<A, E, Crm.Services | Storage>): Promise<A>
  /**
   * Releases the storage (closes database connections). Clients made with `workspace(id)` share
   * it: after `close()`, every call of any of them rejects.
   */
  close(): Promise<void>
}

interface Lifetime {
  closed: boolean
  readonly dispatchers: Set<Fiber.RuntimeFiber<unknown, unknown>>
}

type Run = <A, E>(effect: Effect.Effect<A, E, Crm.Services | Storage>) => Promise<A>

// What a service member returns, seen from here: its requirements are the runtime's services.
type Member = Effect.Effect<unknown, unknown, Crm.Services | Storage>

// The one encoder: every service member becomes a method running it and returning toJson of its
// result. Members are read from the service values themselves, so a new one is on the client at once.
const serviceClient = (service: object, run: Run): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(service).flatMap(([name, member]): Array<[string, unknown]> =>
      Effect.isEffect(member)
        ? [[name, () => run(member as Member).then(toJson)]]
        : typeof member === "function"
          ? [[name, (...args: Array<unknown>) => run(Effect.suspend(() => member(...args) as Member)).then(toJson)]]
          : []
    )
  )

const makeClient = (
  runtime: ManagedRuntime.ManagedRuntime<Crm.Services | Storage, StorageError>,
  namespaces: Crm.Namespaces,
  lifetime: Lifetime,
  workspaceId: WorkspaceId
): CrmClient => {
  const run: Run = (effect) =>
    lifetime.closed
      ? Promise.reject(new RapportClientClosedError())
      : runtime
          .runPromiseExit(Effect.provideService(effect, CurrentWorkspace, workspaceId))
          .then(Exit.match({ onFailure: rethrow, onSuccess: (a) => a }))

  const services = Object.fromEntries(
    Object.entries(namespaces).map(([name, service]) => [name, serviceClient(service, run)])
  ) as unknown as ServicesClient

  const dispatcher: DispatcherClient = {
    ...services.dispatcher,
    start: (options) => {
      if (lifetime.closed) throw new RapportClientClosedError()
      // Checked here, not in the forked fiber, so that bad options throw instead of stopping it silently.
      const settings = dispatchSettings(options, true)
      if (settings instanceof ValidationError) throw new RapportValidationError(settings)
      if (settings.workspaces !== undefined && settings.workspaces !== "all" && !Schema.is(Schema.Array(WorkspaceId))(settings.workspaces)) {
        throw new RapportValidationError(ValidationError.at(["workspaces"], 'must be "all" or a list of workspace ids'))
      }
      const fiber = runtime.runFork(
        Effect.provideService(Effect.scoped(Effect.zipRight(namespaces.dispatcher.start(options), Effect.never)), CurrentWorkspace, workspaceId)
      )
      lifetime.dispatchers.add(fiber)
      return {
        stop: async () => {
          lifetime.dispatchers.delete(fiber)
          await runtime.runPromise(Fiber.interrupt(fiber))
        }
      }
    }
  }

  const setup: SetupClient = Object.assign((declaration: Parameters<SetupClient>[0]) => services.setup.apply(declaration), services.setup)

  return {
    ...services,
    workspaceId,
    dispatcher,
    setup,
    workspace: (id) => makeClient(runtime, namespaces, lifetime, parseWorkspaceId(id)),
    run,
    close: async () => {
      lifetime.closed = true
      const running = [...lifetime.dispatchers]
      lifetime.dispatchers.clear()
      if (running.length > 0) await runtime.runPromise(Fiber.interruptAll(running))
      await runtime.dispose()
    }
  }
}

const parseWorkspaceId = (id: string): WorkspaceId => {
  if (Schema.is(WorkspaceId)(id)) return id
  throw new RapportValidationError(
    ValidationError.at(["workspace"], `must be 1-64 letters, digits or . _ : - starting with a letter or digit, got ${JSON.stringify(id)}`)
  )
}

/**
 * Starts a CRM on the given storage (opening the database and applying migrations) and returns
 * the Promise client. Call `close()` when done.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createCrm = async (options: CreateCrmOptions): Promise<CrmClient> => {
  assertEffectVersion()
  const workspaceId = parseWorkspaceId(options.workspace ?? "default")
  const layer = Layer.mergeAll(
    Crm.layer,
    mailerLayer(options.mailer ?? consoleMailer()),
    options.ids === undefined ? Layer.empty : Layer.succeed(IdGenerator, options.ids),
    options.mail === undefined ? Layer.empty : Layer.succeed(MailSettings, options.mail),
    options.actions === undefined ? Layer.empty : Layer.succeed(CustomActions, customActions(options.actions)),
    options.clock === undefined ? Layer.empty : Layer.setClock(options.clock),
    options.webhooks === undefined ? Layer.empty : Layer.succeed(WebhookSettings, options.webhooks)
  ).pipe(Layer.provideMerge(options.storage.layer))
  const runtime = ManagedRuntime.make(layer)
  const started = await runtime.runPromiseExit(Crm.Crm)
  if (Exit.isFailure(started)) {
    await runtime.dispose()
    return rethrow(started.cause)
  }
  return makeClient(runtime, started.value, { closed: false, dispatchers: new Set() }, workspaceId)
}

