/**
 * What {@link createCrm} is given: a storage, a mailer, custom actions.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Mailers from "../adapters/Mailers.js"
import type { StorageError } from "../domain/Errors.js"
import { toJson } from "../internal/json.js"
import { ActionFailure, type CustomAction } from "../ports/CustomActions.js"
import type { IdGeneratorService } from "../ports/IdGenerator.js"
import { Mailer, MailerError, type MailSettingsService, type OutgoingMail } from "../ports/Mailer.js"
import type { Storage } from "../ports/Storage.js"
import type { WebhookSettingsService } from "../internal/webhookDelivery.js"
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
 * A mailer for {@link createCrm}, for Effect users: a layer providing the `Mailer` port.
 *
 * @since 0.5.0
 * @category models
 */
export interface MailerLayer {
  readonly layer: Layer.Layer<Mailer>
}

/**
 * A mailer for {@link createCrm}, for Promise users: `send` hands one mail to your provider and
 * resolves with the provider's id for it.
 *
 * `mail` holds `to`, `subject`, `html` and/or `text`, `from` and `replyTo` when known, `headers`
 * (`List-Unsubscribe` for marketing mail…) and `idempotencyKey`: the same for every attempt at the
 * same mail. Pass it to your provider (most take an idempotency key or a custom message id) so that
 * a mail retried after a crash or a timeout is delivered once.
 *
 * Failures: throw (or reject with) any error and the dispatcher retries the mail with backoff,
 * recording the error's message on the job; throw a {@link MailRejected} (or any error with
 * `permanent: true` or `retryable: false`) when retrying cannot help (an address the provider
 * refuses) and the job is dead at once, with your message as `lastError`. A result that is not
 * `{ messageId: string }` is a contract error: the job is dead with a message saying so (the mail
 * may have been sent, so it is not retried).
 *
 * @since 0.5.0
 * @category models
 */
export interface PromiseMailer {
  /** Sends one mail; resolves with the provider's message id. */
  readonly send: (mail: OutgoingMail) => Promise<{ readonly messageId: string }>
}

/**
 * A mailer for {@link createCrm}: a {@link PromiseMailer} (`{ send }`) or an Effect
 * {@link MailerLayer} (`{ layer }`).
 *
 * @since 0.1.0
 * @category models
 */
export type MailerProvider = MailerLayer | PromiseMailer

/**
 * What a {@link PromiseMailer}'s `send` throws when the provider refused the mail for good: the job
 * is not retried, and `message` is recorded as its `lastError`.
 *
 * @since 0.5.0
 * @category errors
 */
export class MailRejected extends Error {
  /** Always `true`: retrying will not help. */
  readonly permanent = true
  /** `cause` is kept for your logs. */
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = "MailRejected"
  }
}

const isPermanent = (error: unknown): boolean =>
  error instanceof MailRejected ||
  (typeof error === "object" && error !== null && (("permanent" in error && error.permanent === true) || ("retryable" in error && error.retryable === false)))

const describe = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const promiseMailerLayer = (mailer: PromiseMailer): Layer.Layer<Mailer> =>
  Layer.succeed(
    Mailer,
    Mailer.of({
      send: (mail) =>
        Effect.tryPromise({
          // Called inside a Promise so that a send that throws synchronously is a failure too.
          try: async () => mailer.send(mail) as unknown,
          catch: (error) =>
            new MailerError({
              message: error instanceof Error ? error.message : String(error),
              reason: isPermanent(error) ? "rejected" : "unavailable",
              cause: error
            })
        }).pipe(
          Effect.flatMap((receipt) =>
            typeof receipt === "object" && receipt !== null && "messageId" in receipt && typeof receipt.messageId === "string"
              ? Effect.succeed({ messageId: receipt.messageId })
              : Effect.fail(
                  new MailerError({
                    message: `the mailer's send returned ${describe(receipt)}; it must resolve with { messageId: string } (the mail may have been sent, so it is not retried)`,
                    reason: "rejected"
                  })
                )
          )
        )
    })
  )

/** The mailer's layer, whichever form it was given in (internal: not exported by the package). */
export const mailerLayer = (mailer: MailerProvider): Layer.Layer<Mailer> => ("layer" in mailer ? mailer.layer : promiseMailerLayer(mailer))

/**
 * A mailer that prints mails to the console.
 *
 * @since 0.1.0
 * @category constructors
 */
export const consoleMailer = (): MailerLayer => ({ layer: Mailers.consoleLayer })

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
  /**
   * How outbound webhooks are delivered: `allowPrivateNetworks` (receivers on private, loopback,
   * link-local or unique-local addresses; refused by default), `timeout`, `userAgent`.
   */
  readonly webhooks?: WebhookSettingsService | undefined
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

