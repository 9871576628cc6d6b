/**
 * Segments over HTTP: saved, named conditions over contacts (create, read, change, delete,
 * list), how many contacts one selects, its members a page at a time, its members as a CSV file
 * (the exporter of `@rapport/importers`, formulas neutralised), and a preview of a condition not
 * saved yet (its count and first page). The database evaluates them.
 *
 * @since 0.8.0
 */
import { Contact, Segment, Segments } from "@rapport/core"
import type { SegmentCreate, SegmentUpdate } from "@rapport/core"
import { CrmExport } from "@rapport/importers"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { created, idempotent, input, json, noContent, page, versionedInput } from "../internal/http.js"
import { problem } from "../Problem.js"
import { apiOf, Authorized, ConflictResponse, type GroupHandlers, NotFoundResponse, pageOf, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const SegmentPath = Schema.Struct({ segmentId: Segment.SegmentId })

/**
 * The answer of `GET /segments/{id}/count`.
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentCount = Schema.Struct({ count: Schema.Int }).annotations({ identifier: "SegmentCount" })

/**
 * What `POST /segments/preview` takes: a condition, and how many members to show (50 by default).
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentPreviewInput = Schema.Struct({
  condition: Schema.Unknown.annotations({ description: "A condition on contact.* paths, as rules write them" }),
  limit: Schema.optional(Schema.Int)
}).annotations({ identifier: "SegmentPreviewInput" })

/**
 * The answer of `POST /segments/preview`: how many contacts the condition selects, and the first
 * page of them.
 *
 * @since 0.8.0
 * @category schemas
 */
export const SegmentPreview = Schema.Struct({ count: Schema.Int, members: pageOf(Contact.Contact) }).annotations({ identifier: "SegmentPreview" })

/**
 * The segments routes.
 *
 * @internal
 */
export const group = HttpApiGroup.make("segments")
  .add(
    HttpApiEndpoint.post("create", "/segments")
      .setPayload(Segment.SegmentCreate)
      .addSuccess(Segment.Segment, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("segments.create", { idempotent: true }))
  )
  .add(HttpApiEndpoint.get("list", "/segments").addSuccess(Schema.Array(Segment.Segment)).annotateContext(route("segments.list")))
  .add(
    HttpApiEndpoint.post("preview", "/segments/preview")
      .setPayload(SegmentPreviewInput)
      .addSuccess(SegmentPreview)
      .addError(UnprocessableResponse)
      .annotateContext(route("segments.preview", { readOnly: true }))
  )
  .add(
    HttpApiEndpoint.get("count", "/segments/:segmentId/count")
      .setPath(SegmentPath)
      .addSuccess(SegmentCount)
      .addError(NotFoundResponse)
      .annotateContext(route("segments.count"))
  )
  .add(
    HttpApiEndpoint.get("members", "/segments/:segmentId/members")
      .setPath(SegmentPath)
      .setUrlParams(queryOf(Segment.MembersOptions))
      .addSuccess(pageOf(Contact.Contact))
      .addError(NotFoundResponse)
      .annotateContext(route("segments.members"))
  )
  .add(
    HttpApiEndpoint.get("export", "/segments/:segmentId/export.csv")
      .setPath(SegmentPath)
      .addSuccess(
        HttpApiSchema.Uint8Array({ contentType: "text/csv" }).annotations({
          description: "The members as CSV (UTF-8 with a BOM, CRLF, formulas neutralised), sent as it is written, with Content-Disposition: attachment"
        })
      )
      .addError(NotFoundResponse)
      .annotateContext(route("segments.export"))
  )
  .add(
    HttpApiEndpoint.get("get", "/segments/:segmentId")
      .setPath(SegmentPath)
      .addSuccess(Segment.Segment)
      .addError(NotFoundResponse)
      .annotateContext(route("segments.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/segments/:segmentId")
      .setPath(SegmentPath)
      .setPayload(Segment.SegmentUpdate)
      .addSuccess(Segment.Segment)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("segments.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/segments/:segmentId")
      .setPath(SegmentPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .annotateContext(route("segments.remove"))
  )
  .middleware(Authorized)

/**
 * The segments routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"segments"> = HttpApiBuilder.group(apiOf(group), "segments", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const segment = yield* (yield* Segments.Segments).create(yield* input<SegmentCreate>())
          return yield* created(segment, `/segments/${segment.id}`)
        })
      )
    )
    .handleRaw("list", () => Effect.map(Effect.flatMap(Segments.Segments, (service) => service.list()), (segments) => json(segments)))
    .handleRaw("preview", () =>
      Effect.gen(function* () {
        const body = yield* input<{ readonly condition?: unknown; readonly limit?: number }>()
        const service = yield* Segments.Segments
        const ref = { condition: body?.condition }
        const count = yield* service.count(ref)
        const members = yield* service.members(ref, body?.limit === undefined ? {} : { limit: body.limit })
        return json({ count, members })
      })
    )
    .handleRaw("count", ({ path }) => Effect.map(Effect.flatMap(Segments.Segments, (service) => service.count({ segmentId: path.segmentId })), (count) => json({ count })))
    .handleRaw("members", ({ path, urlParams }) =>
      Effect.flatMap(Segments.Segments, (service) => service.members({ segmentId: path.segmentId }, urlParams)).pipe(Effect.flatMap(page))
    )
    .handleRaw("export", ({ path }) =>
      Effect.gen(function* () {
        // The segment is read first: an unknown one is a 404 before the first byte.
        const segment = yield* (yield* Segments.Segments).get(path.segmentId)
        const bytes = yield* CrmExport.prepare({ format: "csv", where: segment.condition }).pipe(
          Effect.catchTag("ExportError", () => Effect.fail(problem(500, "INTERNAL_ERROR", "The export could not be started; the error was logged")))
        )
        const date = DateTime.formatIso(yield* DateTime.now).slice(0, 10)
        const body = bytes.pipe(
          // The answer is under way: the failure can only be logged, and the connection aborted.
          Stream.tapErrorCause((cause) => Effect.logError(`Rapport HTTP: the CSV export of segment ${segment.id} failed after it started; the download is aborted`, cause))
        )
        // No user input in the header: the name is the segment's id (a UUID) and the date.
        return HttpServerResponse.stream(body, {
          contentType: "text/csv; charset=utf-8; header=present",
          headers: {
            "content-disposition": `attachment; filename="segment-${segment.id}-${date}.csv"`,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff"
          }
        })
      })
    )
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Segments.Segments, (service) => service.get(path.segmentId)), (segment) => json(segment)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Segments.Segments).update(path.segmentId, yield* versionedInput<SegmentUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Segments.Segments).remove(path.segmentId)
        return yield* noContent
      })
    )
)
