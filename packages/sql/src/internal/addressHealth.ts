// The deliverability of mail addresses per workspace (hard bounces, soft bounce counts, spam
// complaints), keyed by workspace and address key. One upsert per report, returning the state.
import { Consent, Errors, type Ids, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AddressHealthRow } from "./rows.js"
import { makeTables } from "./tables.js"

export const makeAddressHealth = (sql: SqlClient.SqlClient): Storage.AddressHealthRepository => {
  const { all, first, affected } = makeTables(sql)
  const iso = (at: DateTime.Utc) => DateTime.formatIso(at)

  const upsert = (ws: string, email: string, report: Exclude<Storage.AddressReport, { kind: "clear" }>) => {
    switch (report.kind) {
      case "hard":
        return sql`INSERT INTO rapport_address_health (workspace_id, email, hard_bounced_at, hard_bounce_reason, soft_bounces)
                   VALUES (${ws}, ${email}, ${iso(report.at)}, ${report.reason}, 0)
                   ON CONFLICT (workspace_id, email) DO UPDATE SET hard_bounced_at = excluded.hard_bounced_at, hard_bounce_reason = excluded.hard_bounce_reason
                   RETURNING *`
      case "soft":
        return sql`INSERT INTO rapport_address_health (workspace_id, email, soft_bounces, last_soft_bounce_at)
                   VALUES (${ws}, ${email}, 1, ${iso(report.at)})
                   ON CONFLICT (workspace_id, email) DO UPDATE SET soft_bounces = rapport_address_health.soft_bounces + 1, last_soft_bounce_at = excluded.last_soft_bounce_at
                   RETURNING *`
      case "complaint":
        return sql`INSERT INTO rapport_address_health (workspace_id, email, soft_bounces, complained_at)
                   VALUES (${ws}, ${email}, 0, ${iso(report.at)})
                   ON CONFLICT (workspace_id, email) DO UPDATE SET complained_at = excluded.complained_at
                   RETURNING *`
    }
  }

  const nothing = (ws: Ids.WorkspaceId, email: string) =>
    new Consent.AddressHealth({ workspaceId: ws, email, hardBouncedAt: null, hardBounceReason: null, softBounces: 0, lastSoftBounceAt: null, complainedAt: null }, true)

  return {
    list: (ws, emails) =>
      emails.length === 0 ? Effect.succeed([]) : all(AddressHealthRow)(sql`SELECT * FROM rapport_address_health WHERE workspace_id = ${ws} AND ${sql.in("email", emails)}`),
    report: (ws, email, report) =>
      report.kind === "clear"
        ? Effect.map(
            first(AddressHealthRow)(
              sql`UPDATE rapport_address_health SET hard_bounced_at = NULL, hard_bounce_reason = NULL, soft_bounces = 0, last_soft_bounce_at = NULL
                  WHERE workspace_id = ${ws} AND email = ${email} RETURNING *`
            ),
            Option.getOrElse(() => nothing(ws, email))
          )
        : Effect.flatMap(first(AddressHealthRow)(upsert(ws, email, report)), (row) =>
            Option.isSome(row) ? Effect.succeed(row.value) : Effect.fail(new Errors.StorageError({ reason: "failed", message: `the state of a mail address was not returned after its report` }))
          ),
    remove: (ws, emails) =>
      emails.length === 0 ? Effect.succeed(0) : affected(sql`DELETE FROM rapport_address_health WHERE workspace_id = ${ws} AND ${sql.in("email", emails)} RETURNING email`)
  }
}
