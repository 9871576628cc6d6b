/**
 * What {@link createCrm} is given: a storage, a mailer, custom actions.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Mailers from "../adapters/Mailers.js"
import type { StorageError } from "../domain/Errors.js"
import { toJson } from "../internal/json.js"
import { ActionFailure, type CustomAction } from "../ports/CustomActions.js"
import type { IdGeneratorService } from "../ports/IdGenerator.js"
import type { Mailer, MailSettingsService } from "../ports/Mailer.js"
import type { Storage } from "../ports/Storage.js"
import type { ContactJson, EventJson } from "./json.js"

/**
 * A storage for {@link createCrm}: `sqliteStorage()` or `memoryStorage()` from `@rapport/sqlite`,
 * `postgresStorage()` from `@rapport/postgres`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageProvider {
  readonly layer: Layer.Layer<Storage, StorageError>
}

/**
 * A mailer for {@link createCrm}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MailerProvider {
  readonly layer: Layer.Layer<Mailer>
}

/**
 * A mailer that prints mails to the console.
 *
 * @since 0.1.0
 * @category constructors
 */
export const consoleMailer = (): MailerProvider => ({ layer: Mailers.consoleLayer })

/**
 * What a custom action is given besides its parameters, as JSON.
 *
 * @since 0.3.0
 * @category models
 */
export interface CustomActionContextJson {
  readonly workspaceId: string
  readonly ruleId: string
  readonly variant: string | null
  readonly contact: ContactJson
  readonly event: EventJson
  /** The same on every attempt: pass it on to make external calls idempotent. */
  readonly idempotencyKey: string
}

/**
 * A custom rule action for the Promise client: the Schema its `params` must fit, and what it does.
 * A thrown error is retried with backoff; throw an `ActionFailure` with `retryable: false` to
 * dead-letter the job at once. What `run` returns (JSON) is kept as the job's outcome.
 *
 * @since 0.3.0
 * @category models
 */
export interface CustomActionHandler<P = any> {
  /** What a rule's `params` must fit; checked when the rule is saved and when it runs. */
  readonly params: Schema.Schema<P, any>
  /** Does the action (may return a Promise); its result, as JSON, is kept as the job's outcome. */
  readonly run: (params: P, context: CustomActionContextJson) => unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateCrmOptions {
  readonly storage: StorageProvider
  /** Where mail goes; mails are printed to the console when not given. */
  readonly mailer?: MailerProvider | undefined
  /** The sender, and the unsubscribe URL and secret marketing mail needs. */
  readonly mail?: MailSettingsService | undefined
  /** Custom actions rules may call by name. */
  readonly actions?: Readonly<Record<string, CustomActionHandler>> | undefined
  /** The workspace the client works in; `default` when not given. */
  readonly workspace?: string | undefined
  /** How ids are made; UUID v7 when not given. */
  readonly ids?: IdGeneratorService | undefined
  /**
   * The clock Rapport reads (event times, delays, due jobs); the system clock when not given. An
   * app that replays or simulates time passes its own.
   */
  readonly clock?: Clock.Clock | undefined
}

/** The Promise client's custom actions as the CustomActions port's (internal: not exported by the package). */
export const customActions = (handlers: Readonly<Record<string, CustomActionHandler>>): ReadonlyMap<string, CustomAction> =>
  new Map(
    Object.entries(handlers).map(([name, handler]): [string, CustomAction] => [
      name,
      {
        params: handler.params,
        run: (params, context) =>
          Effect.tryPromise({
            try: async () =>
              handler.run(params, { ...context, contact: toJson(context.contact) as ContactJson, event: toJson(context.event) as EventJson }),
            catch: (error) =>
              error instanceof ActionFailure
                ? error
                : new ActionFailure({ message: error instanceof Error ? error.message : String(error), retryable: true, cause: error })
          })
      }
    ])
  )

