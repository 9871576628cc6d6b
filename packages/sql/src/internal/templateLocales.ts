// A template's per-locale variants: one row per workspace, template and locale, written whole
// (an upsert) and read whole with the template when a mail is rendered.
import { Template, type Storage } from "@rapport/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Instant, Text } from "./columns.js"
import { rowOf } from "./rows.js"
import { orStorage } from "./statements.js"
import { makeTables } from "./tables.js"

const TemplateVariantRow = rowOf(
  {
    workspace_id: Schema.String,
    template_id: Schema.String,
    locale: Schema.String,
    subject: Schema.String,
    html: Text,
    text: Text,
    updated_at: Instant
  },
  Template.TemplateVariant,
  (r) => ({ workspaceId: r.workspace_id, templateId: r.template_id, locale: r.locale, subject: r.subject, html: r.html, text: r.text, updatedAt: r.updated_at }),
  (v) => ({
    workspace_id: v.workspaceId,
    template_id: v.templateId,
    locale: v.locale,
    subject: v.subject,
    html: v.html,
    text: v.text,
    updated_at: DateTime.formatIso(v.updatedAt)
  })
)

export const makeTemplateLocales = (sql: SqlClient.SqlClient): Storage.TemplateLocaleRepository => {
  const { all, removed } = makeTables(sql)
  return {
    list: (ws, templateId) =>
      all(TemplateVariantRow)(sql`SELECT * FROM rapport_template_locales WHERE workspace_id = ${ws} AND template_id = ${templateId} ORDER BY locale`),
    put: (variant) =>
      orStorage(
        Effect.flatMap(Schema.encode(TemplateVariantRow)(variant), (row) =>
          Effect.asVoid(
            sql`INSERT INTO rapport_template_locales ${sql.insert(row)}
                ON CONFLICT (workspace_id, template_id, locale) DO UPDATE
                SET subject = excluded.subject, html = excluded.html, text = excluded.text, updated_at = excluded.updated_at`
          )
        )
      ),
    remove: (ws, templateId, locale) =>
      removed(sql`DELETE FROM rapport_template_locales WHERE workspace_id = ${ws} AND template_id = ${templateId} AND locale = ${locale} RETURNING locale`),
    removeAll: (ws, templateId) => orStorage(Effect.asVoid(sql`DELETE FROM rapport_template_locales WHERE workspace_id = ${ws} AND template_id = ${templateId}`))
  }
}
