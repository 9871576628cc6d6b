// Refusals for removing what rules still use: a field, a template, a lifecycle stage. A rule that
// named a vanished field would silently never match; one that sent a deleted template would fail.
import * as Effect from "effect/Effect"
import { Conflict, type EntityName } from "../domain/Errors.js"
import type { WorkspaceId } from "../domain/Ids.js"
import { referencesOf } from "../domain/Rule.js"
import type { StorageService } from "../ports/Storage.js"

export const refuseIfRulesUse = (
  storage: StorageService,
  workspaceId: WorkspaceId,
  what: "fields" | "templates" | "stages",
  values: ReadonlyArray<string>,
  entity: EntityName,
  id: string
) =>
  Effect.gen(function* () {
    if (values.length === 0) return
    const users = (yield* storage.rules.list(workspaceId)).filter((rule) => {
      const used = referencesOf(rule)[what]
      return values.some((v) => used.has(v))
    })
    if (users.length === 0) return
    const named = users.slice(0, 5).map((r) => `"${r.id}"`).join(", ")
    return yield* Conflict.inUse(entity, id, users.length, `${users.length === 1 ? "Rule" : "Rules"} ${named}${users.length > 5 ? "…" : ""} still use${users.length === 1 ? "s" : ""} it; change or remove ${users.length === 1 ? "that rule" : "those rules"} first`)
  })
