// The current workspace: which one a fiber works in, its settings (read without writing, so a
// read never creates a tenant), and the writes that store it.
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Conflict } from "../domain/Errors.js"
import { DefaultWorkspaceId, type WorkspaceId } from "../domain/Ids.js"
import { classic, type LifecycleDefinition } from "../domain/LifecycleDefinition.js"
import { Timezone, type Timezone as TimezoneType } from "../domain/Time.js"
import { defaultSalesSettings, type SalesSettings } from "../domain/Pipeline.js"
import { defaultMessagingSettings, type MessagingSettings, Workspace } from "../domain/Workspace.js"
import type { StorageService } from "../ports/Storage.js"

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
 * Settings of a workspace that was never configured: the `classic` lifecycle, UTC, and pipeline
 * settings with no floor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: {
  readonly timezone: TimezoneType
  readonly lifecycle: LifecycleDefinition
  readonly sales: SalesSettings
  readonly messaging: MessagingSettings
} = {
  timezone: Timezone.make("UTC"),
  lifecycle: classic,
  sales: defaultSalesSettings,
  messaging: defaultMessagingSettings
}

const unstored = (id: WorkspaceId, now: DateTime.Utc) =>
  new Workspace({ id, name: id, ...defaults, country: null, version: 1, createdAt: now, updatedAt: now })

/** The counter that rules, field definitions and lifecycles bump: what is compiled from them is cached under it. */
export const RULES_COUNTER = "rules"

// Bumps of the rules counter made by this process, per store and workspace: a workspace read
// before one of them (earlier in the same transaction) no longer vouches for the counter.
const localBumps = new WeakMap<StorageService, Map<WorkspaceId, number>>()
const bumpsOf = (storage: StorageService, id: WorkspaceId) => localBumps.get(storage)?.get(id) ?? 0

/** Notes that this process bumped the workspace's rules counter (see {@link rulesVersionOf}). */
export const noteRulesChanged = (storage: StorageService, id: WorkspaceId) => {
  let perStore = localBumps.get(storage)
  if (perStore === undefined) {
    perStore = new Map()
    localBumps.set(storage, perStore)
  }
  perStore.set(id, bumpsOf(storage, id) + 1)
}

// The rules counter read with a workspace object in the same statement, inside the caller's
// transaction: caches keyed by it then need no read of their own. `memo` holds what the
// transaction compiled under that counter (see transactionMemo).
const rulesVersions = new WeakMap<Workspace, { readonly counter: number; readonly bumps: number; readonly memo: Map<string, unknown> }>()

/**
 * The rules counter read together with this workspace by {@link ensureWorkspaceForRecording}, unless
 * this process changed rules, fields or the lifecycle since; `undefined` otherwise (read it).
 */
export const rulesVersionOf = (storage: StorageService, workspace: Workspace): number | undefined => {
  const read = rulesVersions.get(workspace)
  return read !== undefined && read.bumps === bumpsOf(storage, workspace.id) ? read.counter : undefined
}

/**
 * What the transaction that read this workspace (with {@link ensureWorkspaceForRecording}) compiled
 * under its rules counter, by key; `undefined` when the counter no longer vouches (see
 * {@link rulesVersionOf}). Caches shared across transactions are filled only after commit: this
 * keeps what one transaction compiled for its own later steps (the batches of an emitMany).
 */
export const transactionMemo = (storage: StorageService, workspace: Workspace): Map<string, unknown> | undefined => {
  const read = rulesVersions.get(workspace)
  return read !== undefined && read.bumps === bumpsOf(storage, workspace.id) ? read.memo : undefined
}

/**
 * The current workspace as {@link ensureWorkspace} gives it, read with its rules counter in one
 * statement. Only for a workspace used inside the transaction that read it (an emit): one held
 * across transactions would vouch for an old counter.
 */
export const ensureWorkspaceForRecording = (storage: StorageService) =>
  Effect.gen(function* () {
    const id = yield* CurrentWorkspace
    const stored = yield* storage.workspaces.getWithCounter(id, RULES_COUNTER)
    if (Option.isNone(stored)) return yield* storage.workspaces.insertIfAbsent(unstored(id, yield* DateTime.now))
    const { workspace, counter } = stored.value
    rulesVersions.set(workspace, { counter, bumps: bumpsOf(storage, id), memo: new Map() })
    return workspace
  })

/**
 * The current workspace as {@link readWorkspace} gives it, with its rules counter read in the same
 * statement (`undefined` for a workspace never stored): what is cached under the counter can be
 * used without another read.
 */
export const readWorkspaceWithCounter = (storage: StorageService) =>
  Effect.gen(function* () {
    const id = yield* CurrentWorkspace
    const stored = yield* storage.workspaces.getWithCounter(id, RULES_COUNTER)
    return Option.isSome(stored) ? stored.value : { workspace: unstored(id, yield* DateTime.now), counter: undefined }
  })

/** The current workspace's settings; defaults (not stored) for a workspace never written to. */
export const readWorkspace = (storage: StorageService) =>
  Effect.gen(function* () {
    const id = yield* CurrentWorkspace
    const stored = yield* storage.workspaces.get(id)
    return Option.isSome(stored) ? stored.value : unstored(id, yield* DateTime.now)
  })

/** The current workspace, stored with default settings the first time something is written to it. */
export const ensureWorkspace = (storage: StorageService) =>
  Effect.gen(function* () {
    const id = yield* CurrentWorkspace
    const stored = yield* storage.workspaces.get(id)
    return Option.isSome(stored) ? stored.value : yield* storage.workspaces.insertIfAbsent(unstored(id, yield* DateTime.now))
  })

/** Changes the current workspace's settings (storing it first if needed), checking the version. */
export const replaceWorkspace = (
  storage: StorageService,
  changes: Partial<Pick<Workspace, "name" | "timezone" | "lifecycle" | "sales" | "messaging" | "country">>,
  expectedVersion: number | undefined
) =>
  Effect.gen(function* () {
    const workspace = yield* ensureWorkspace(storage)
    if (expectedVersion !== undefined && expectedVersion !== workspace.version) {
      return yield* Conflict.version("workspace", workspace.id, expectedVersion, workspace.version)
    }
    const next = new Workspace({ ...workspace, ...changes, version: workspace.version + 1, updatedAt: yield* DateTime.now })
    yield* storage.workspaces.update(next, workspace.version)
    return next
  })
