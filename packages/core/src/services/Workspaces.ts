/**
 * The current workspace and its settings. Every service call runs in one workspace: the default
 * one unless {@link withWorkspace} (or `crm.workspace(id)` in the Promise client) says otherwise.
 * A workspace is created with default settings the first time it is used.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Conflict } from "../domain/Errors.js"
import { DefaultWorkspaceId, type WorkspaceId } from "../domain/Ids.js"
import { classic, type LifecycleDefinition } from "../domain/LifecycleDefinition.js"
import { Timezone } from "../domain/Time.js"
import { Workspace, WorkspaceChanges } from "../domain/Workspace.js"
import { decodeInput } from "../internal/validation.js"
import { Storage } from "../ports/Storage.js"

/**
 * The workspace the current fiber works in (the default workspace unless provided).
 *
 * @since 0.1.0
 * @category services
 */
export class CurrentWorkspace extends Context.Reference<CurrentWorkspace>()("@rapport/core/CurrentWorkspace", {
  defaultValue: (): WorkspaceId => DefaultWorkspaceId
}) {}

/**
 * Runs an effect in another workspace.
 *
 * @example
 * ```ts
 * const acmeContacts = contacts.list({}).pipe(withWorkspace(WorkspaceId.make("acme")))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const withWorkspace =
  (id: WorkspaceId) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, CurrentWorkspace, id)

/**
 * Settings of a workspace created on first use: the `classic` lifecycle and UTC.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults = {
  timezone: Timezone.make("UTC"),
  lifecycle: classic
} as const

/**
 * @since 0.1.0
 * @category services
 */
export class Workspaces extends Effect.Service<Workspaces>()("@rapport/core/Workspaces", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /** The current workspace, created with default settings if it does not exist yet. */
    const current = Effect.gen(function* () {
      const id = yield* CurrentWorkspace
      const stored = yield* storage.workspaces.get(id)
      if (Option.isSome(stored)) return stored.value
      const now = yield* DateTime.now
      return yield* storage.workspaces.insertIfAbsent(
        new Workspace({ id, name: id, ...defaults, version: 1, createdAt: now, updatedAt: now })
      )
    }).pipe(Effect.withSpan("Workspaces.current"))

    const replace = (workspace: Workspace, changes: Partial<Pick<Workspace, "name" | "timezone" | "lifecycle">>, expectedVersion?: number) =>
      Effect.gen(function* () {
        if (expectedVersion !== undefined && expectedVersion !== workspace.version) {
          return yield* Conflict.version("workspace", workspace.id, expectedVersion, workspace.version)
        }
        const next = new Workspace({
          ...workspace,
          ...changes,
          version: workspace.version + 1,
          updatedAt: yield* DateTime.now
        })
        yield* storage.workspaces.update(next, workspace.version)
        return next
      })

    /** Changes the name or timezone of the current workspace. */
    const update = Effect.fn("Workspaces.update")(function* (input: WorkspaceChanges) {
      const changes = yield* decodeInput(WorkspaceChanges)(input)
      const workspace = yield* current
      return yield* replace(
        workspace,
        { name: changes.name ?? workspace.name, timezone: changes.timezone ?? workspace.timezone },
        changes.expectedVersion
      )
    })

    /** Replaces the lifecycle definition (the Lifecycle service checks it first). */
    const setLifecycle = (workspace: Workspace, lifecycle: LifecycleDefinition, expectedVersion?: number) =>
      replace(workspace, { lifecycle }, expectedVersion)

    return { current, update, setLifecycle } as const
  })
}) {}
