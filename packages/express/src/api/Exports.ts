/**
 * Exports over HTTP: `GET /exports/contacts?format=csv|xlsx` streams the contacts of a selection
 * (`ids`, a segment as `where`, or everyone) as the file `@rapport/importers` writes, text
 * neutralised against spreadsheet formulas unless `neutralize=exceptNumbers` says otherwise. The
 * file is written as it is sent (a page of contacts at a time), never held whole in memory.
 *
 * What is checked before the first byte (the query, the condition, the columns, the sheet name)
 * is answered as a problem document. A failure after the first byte (the database goes away, an id
 * of `ids` is not a contact) cannot change the status any more: the connection is then aborted
 * (no final chunk of the chunked encoding), so that a client, a browser or `curl` reports an
 * incomplete download instead of saving a truncated file that looks complete.
 *
 * @since 0.6.0
 */
import { Errors, Workspaces } from "@rapport/core"
import { CrmExport, Export } from "@rapport/importers"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { problem } from "../Problem.js"
import { apiOf, Authorized, type GroupHandlers, route } from "../internal/routes.js"

// The exporter's own rule for a sheet name (Excel refuses others), checked with the query so that
// a wrong one is a 400 naming `sheetName` rather than a failed download.
const SheetName = Schema.String.pipe(
  Schema.filter((name) => /^[^[\]:*?/\\]{1,31}$/.test(name) && !name.startsWith("'") && !name.endsWith("'"), {
    message: () => "must be 1 to 31 characters, none of [ ] : * ? / \\, not starting or ending with '"
  })
)

const oneOf = (...values: ReadonlyArray<string>) => () => ({ message: `must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}`, override: true })

/**
 * The query of `GET /exports/contacts`.
 *
 * @since 0.6.0
 * @category schemas
 */
export const ExportQuery = Schema.Struct({
  format: Schema.Literal("csv", "xlsx").annotations({ description: "csv (UTF-8 with a BOM, CRLF) or xlsx", message: oneOf("csv", "xlsx") }),
  ids: Schema.optional(Schema.Array(Schema.String)).annotations({ description: "Contacts by id (repeat the parameter), in that order" }),
  where: Schema.optional(Schema.String).annotations({
    description: 'A segment: a condition as JSON, on contact.* paths (e.g. {"path":"contact.tags","op":"contains","value":"vip"})'
  }),
  columns: Schema.optional(Schema.Array(Schema.String)).annotations({ description: "The columns, in order (email, firstName, fields.siret…); the default columns otherwise" }),
  delimiter: Schema.optional(Schema.Literal(",", ";", "\t").annotations({ message: oneOf(",", ";", "\t") })).annotations({
    description: "The CSV delimiter (default ,; with ; numbers take a decimal comma)"
  }),
  sheetName: Schema.optional(SheetName).annotations({ description: "The XLSX sheet's name (default Contacts)" }),
  neutralize: Schema.optional(Schema.Literal("all", "exceptNumbers").annotations({ message: oneOf("all", "exceptNumbers") })).annotations({
    description: "Which text is neutralised against formula injection (default all)"
  })
}).annotations({ parseOptions: { onExcessProperty: "error", errors: "all" } })

const types = {
  csv: "text/csv; charset=utf-8; header=present",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
} as const

/**
 * The exports routes (internal: their type names the core's internal modules; the public
 * description of every route is the OpenAPI document).
 *
 * @internal
 */
export const group = HttpApiGroup.make("exports")
  .add(
    HttpApiEndpoint.get("contacts", "/exports/contacts")
      .setUrlParams(ExportQuery)
      .addSuccess(
        HttpApiSchema.Uint8Array({ contentType: "text/csv" }).annotations({
          description: "The file (text/csv or the XLSX type), sent as it is written, with Content-Disposition: attachment"
        })
      )
      .annotateContext(route("contacts.export"))
  )
  .middleware(Authorized)

/** The condition of `where`, parsed; its rules are checked by the exporter. */
const whereOf = (text: string | undefined) =>
  text === undefined
    ? Effect.succeed(undefined)
    : Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (error) => Errors.ValidationError.at(["where"], `is not JSON: ${error instanceof Error ? error.message : String(error)}`)
      })

/** Column keys, each checked by the exporter's own `column` (which names what it knows). */
const columnsOf = (keys: ReadonlyArray<string> | undefined) =>
  keys === undefined
    ? Effect.succeed(undefined)
    : Effect.forEach(keys, (key, i) =>
        Effect.try({
          try: () => {
            Export.column(key as Export.ColumnKey)
            return key as Export.ColumnKey
          },
          catch: (error) => Errors.ValidationError.at(["columns", i], error instanceof Error ? error.message : String(error))
        })
      )

/**
 * The exports routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"exports"> = HttpApiBuilder.group(apiOf(group), "exports", (routes) =>
  routes.handleRaw("contacts", ({ urlParams }) =>
    Effect.gen(function* () {
      const where = yield* whereOf(urlParams.where)
      const columns = yield* columnsOf(urlParams.columns)
      const options: CrmExport.ExportOptions = {
        format: urlParams.format,
        ...(urlParams.ids === undefined ? {} : { ids: urlParams.ids }),
        ...(where === undefined ? {} : { where: where as CrmExport.ExportOptions["where"] }),
        ...(columns === undefined ? {} : { columns }),
        ...(urlParams.delimiter === undefined ? {} : { delimiter: urlParams.delimiter }),
        ...(urlParams.sheetName === undefined ? {} : { sheetName: urlParams.sheetName }),
        ...(urlParams.neutralize === undefined ? {} : { neutralize: urlParams.neutralize })
      }
      // The selection is checked here, before the first byte: a wrong one is a 400.
      const bytes = yield* CrmExport.prepare(options).pipe(
        Effect.catchTag("ExportError", (error) =>
          Effect.fail(error.reason === "options" ? problem(400, "VALIDATION_FAILED", error.message) : problem(500, "INTERNAL_ERROR", "The export could not be started; the error was logged"))
        )
      )
      const workspace = yield* Workspaces.CurrentWorkspace
      const date = DateTime.formatIso(yield* DateTime.now).slice(0, 10)
      const body = bytes.pipe(
        // The answer is under way: the failure can only be logged, and the connection aborted.
        Stream.tapErrorCause((cause) =>
          Effect.logError(`Rapport HTTP: the ${urlParams.format} export of workspace ${workspace} failed after it started; the download is aborted`, cause)
        )
      )
      // No user input in the header: the name is made of the date alone.
      return HttpServerResponse.stream(body, {
        contentType: types[urlParams.format],
        headers: {
          "content-disposition": `attachment; filename="contacts-${date}.${urlParams.format}"`,
          "cache-control": "no-store",
          "x-content-type-options": "nosniff"
        }
      })
    })
  )
)
