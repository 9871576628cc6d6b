// Opens reported by the host: an `email.opened` event of the mail's own contact whose payload names
// the mail by `jobId` (what consent.recordMailFeedback and the Brevo and Mailjet webhooks record)
// or by `messageId` (the Mailer's answer, kept in the job's outcome). One fragment for the rule and
// campaign stats, so both count an open the same way.
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"

/**
 * `EXISTS` an open of the job aliased `j`. Read through rapport_events_contact (workspace_id,
 * contact_id, type, occurred_at): the contact's opens only, so an open of another contact or of an
 * unknown message matches no job, and a mail opened many times is one row of `j` either way.
 */
export const openedFragment = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql`EXISTS (
      SELECT 1 FROM rapport_events e
      WHERE e.workspace_id = j.workspace_id AND e.contact_id = j.contact_id AND e.type = 'email.opened'
        AND (e.payload ->> 'jobId' = j.id OR e.payload ->> 'messageId' = j.outcome ->> 'messageId')
    )`,
    orElse: () => sql`EXISTS (
      SELECT 1 FROM rapport_events e
      WHERE e.workspace_id = j.workspace_id AND e.contact_id = j.contact_id AND e.type = 'email.opened'
        AND (json_extract(e.payload, '$.jobId') = j.id OR json_extract(e.payload, '$.messageId') = json_extract(j.outcome, '$.messageId'))
    )`
  })
