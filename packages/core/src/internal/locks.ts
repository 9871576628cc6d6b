// The locks services take inside their transactions, so that concurrent callers on PostgreSQL
// see what SQLite's one-writer-at-a-time gives for free. Always in this order: workspace, email,
// contact, then company rows.
import * as Effect from "effect/Effect"
import type { WorkspaceId } from "../domain/Ids.js"
import type { StorageService } from "../ports/Storage.js"
import { CurrentWorkspace } from "./workspace.js"

/**
 * The current workspace: record writes (which validate against its definitions) share it;
 * definition, lifecycle and settings changes (which check every record) have it alone.
 */
export const workspaceLock = (storage: StorageService, mode: "shared" | "exclusive") =>
  Effect.flatMap(CurrentWorkspace, (id) => storage.lock(id, "workspace", mode))

/** Finding or creating the contact of an email happens once at a time per email. */
export const emailLock = (storage: StorageService, workspaceId: WorkspaceId, emailKey: string) =>
  storage.lock(workspaceId, `email:${emailKey}`, "exclusive")

/** Changing a contact (its stage, fields, timeline, existence) happens once at a time. */
export const contactLock = (storage: StorageService, workspaceId: WorkspaceId, contactId: string, mode: "shared" | "exclusive" = "exclusive") =>
  storage.lock(workspaceId, `contact:${contactId}`, mode)

/** {@link emailLock} on several emails at once (a batch of events), in one statement. */
export const emailLocks = (storage: StorageService, workspaceId: WorkspaceId, emailKeys: ReadonlyArray<string>) =>
  storage.lockMany(workspaceId, emailKeys.map((key) => `email:${key}`), "exclusive")

/** {@link contactLock} on several contacts at once (a batch of events), in one statement. */
export const contactLocks = (storage: StorageService, workspaceId: WorkspaceId, contactIds: ReadonlyArray<string>) =>
  storage.lockMany(workspaceId, contactIds.map((id) => `contact:${id}`), "exclusive")

// Companies are held by row (storage.companies.lockExisting), last: joining shares them,
// removing has them alone.
