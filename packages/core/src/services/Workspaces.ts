/**
 * The current workspace and its settings. Every service call runs in one workspace: the default
 * one unless {@link withWorkspace} (or `crm.workspace(id)` in the Promise client) says otherwise.
 * A workspace is stored with default settings the first time something is written to it; reading
 * an unknown workspace shows the defaults and writes nothing.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { WorkspaceChanges } from "../domain/Workspace.js"
import { workspaceLock } from "../internal/locks.js"
import { decodeInput } from "../internal/validation.js"
import { readWorkspace, replaceWorkspace } from "../internal/workspace.js"
import { Storage } from "../ports/Storage.js"

export {
  /**
   * The workspace the current fiber works in (the default workspace unless provided).
   *
   * @since 0.1.0
   * @category services
   */
  CurrentWorkspace,
  /**
   * Settings of a workspace that was never configured: the `classic` lifecycle and UTC.
   *
   * @since 0.1.0
   * @category constructors
   */
  defaults,
  /**
   * Runs an effect in another workspace.
   *
   * @since 0.1.0
   * @category utils
   */
  withWorkspace
} from "../internal/workspace.js"

/**
 * @since 0.1.0
 * @category services
 */
export class Workspaces extends Effect.Service<Workspaces>()("@rapport/core/Workspaces", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    /**
     * The current workspace's settings. (Named `current` before 0.5.0; renamed so that the Effect
     * service and the Promise client's `settings.get()` share one name.)
     */
    const get = readWorkspace(storage).pipe(Effect.withSpan("Workspaces.get"))

    /** Changes the name, timezone, marketing frequency cap, pressure caps or default country of the current workspace. */
    const update = Effect.fn("Workspaces.update")(function* (input: WorkspaceChanges) {
      const changes = yield* decodeInput(WorkspaceChanges)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "exclusive")
          const workspace = yield* readWorkspace(storage)
          return yield* replaceWorkspace(
            storage,
            {
              name: changes.name ?? workspace.name,
              timezone: changes.timezone ?? workspace.timezone,
              messaging: {
                ...workspace.messaging,
                ...(changes.frequencyCap === undefined ? {} : { frequencyCap: changes.frequencyCap }),
                ...(changes.pressure === undefined ? {} : { pressure: changes.pressure ?? {} })
              },
              country: changes.country === undefined ? workspace.country : changes.country
            },
            changes.expectedVersion
          )
        })
      )
    })

    return {
      /** The workspace's settings. */
      get,
      /** Changes the workspace's name or timezone. */
      update
    } as const
  })
}) {}
