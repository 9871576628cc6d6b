/**
 * Custom rule actions: the host app registers actions by name, each with a Schema for its
 * parameters, and rules call them with `{ "type": "custom", "name": "notifySlack", "params": … }`.
 * Parameters are checked when a rule is saved, and the action runs from the outbox like every
 * other action: retried with backoff when it fails, with an idempotency key that stays the same
 * across retries.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { Contact } from "../domain/Contact.js"
import type { StoredEvent } from "../domain/CrmEvent.js"

/**
 * What a custom action is given besides its parameters.
 *
 * @since 0.3.0
 * @category models
 */
export interface ActionContext {
  readonly workspaceId: string
  readonly ruleId: string
  readonly variant: string | null
  /** The contact as it is when the action runs. */
  readonly contact: Contact
  /** The event the rule reacted to. */
  readonly event: StoredEvent
  /** The same on every attempt of this action: pass it on to make external calls idempotent. */
  readonly idempotencyKey: string
}

/**
 * A custom action failed. With `retryable` (the default for thrown errors) the outbox tries again
 * later; without, the job is dead-lettered at once.
 *
 * @since 0.3.0
 * @category errors
 */
export class ActionFailure extends Schema.TaggedError<ActionFailure>("@rapport/core/ActionFailure")("ActionFailure", {
  message: Schema.String,
  retryable: Schema.Boolean,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A registered action: the Schema its `params` must fit, and what it does. What `run` returns
 * (JSON) is kept as the job's outcome.
 *
 * @since 0.3.0
 * @category models
 */
export interface CustomAction<P = any> {
  /** What a rule's `params` must fit; checked when the rule is saved and when it runs. */
  readonly params: Schema.Schema<P, any>
  /** Does the action; a failure is retried with backoff unless it says it is not retryable. */
  readonly run: (params: P, context: ActionContext) => Effect.Effect<unknown, ActionFailure>
}

/**
 * Defines a custom action with typed parameters.
 *
 * @example
 * ```ts
 * const notifySlack = CustomActions.define({
 *   params: Schema.Struct({ channel: Schema.String }),
 *   run: ({ channel }, { contact }) => Effect.log(`#${channel}: ${contact.email} is a customer`)
 * })
 * const ActionsLive = CustomActions.layer({ notifySlack })
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const define = <P, I>(action: { readonly params: Schema.Schema<P, I>; readonly run: (params: P, context: ActionContext) => Effect.Effect<unknown, ActionFailure> }): CustomAction<P> =>
  action

/**
 * The registered custom actions, by name; none by default.
 *
 * @since 0.3.0
 * @category services
 */
export class CustomActions extends Context.Reference<CustomActions>()("@rapport/core/CustomActions", {
  defaultValue: (): ReadonlyMap<string, CustomAction> => new Map()
}) {}

/**
 * Registers custom actions for the CRM's rules.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (actions: Readonly<Record<string, CustomAction>>): Layer.Layer<CustomActions> =>
  Layer.succeed(CustomActions, new Map(Object.entries(actions)))
