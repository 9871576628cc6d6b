/**
 * Imports over HTTP: `POST /imports` takes a file as a streamed `multipart/form-data` upload (the
 * `file` part, written to a temporary file as it arrives, never held in memory; `options`, the
 * importer's options as JSON, checked before a row is read) and answers `202 Accepted` with the
 * import and its `Location`; the import then runs in the background with `@rapport/importers`.
 * `GET /imports/{id}` is the resource to poll: its status (`queued`, `running`, `done`,
 * `failed`), its progress and, once done, its report. Imports are stored, so any instance of the
 * app answers the poll; one whose process died is reported `failed` (`IMPORT_INTERRUPTED`) once
 * its heartbeat is ten minutes old (see the core's `Imports`).
 *
 * @since 0.6.0
 */
import { ImportRun, Imports, type Json } from "@rapport/core"
import type { ImportListOptions } from "@rapport/core"
import { type ImportOptions, Recorded, runRecorded, validateOptions } from "@rapport/importers"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Schema from "effect/Schema"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jsonPointer, problem, type Problem } from "../Problem.js"
import { basePath, currentCaller, NodeRequest } from "../internal/context.js"
import { json, page } from "../internal/http.js"
import { apiOf, Authorized, type GroupHandlers, NotFoundResponse, queryOf, route } from "../internal/routes.js"
import { extensionOf, MAX_FIELD_SIZE, multipartType, readUpload, tooLarge } from "../internal/upload.js"

/**
 * How uploads are received: the largest file (default 50 MiB; a larger one is refused with 413
 * as soon as it goes past), and the directory of the temporary files (default the system's).
 *
 * @since 0.6.0
 * @category models
 */
export interface ImportUploadSettings {
  readonly maxFileSize: number
  readonly directory: string | undefined
}

/**
 * The upload settings; `toNodeHandler`'s `imports` option sets them.
 *
 * @since 0.6.0
 * @category models
 */
export class ImportUploads extends Context.Reference<ImportUploads>()("@rapport/express/ImportUploads", {
  defaultValue: (): ImportUploadSettings => ({ maxFileSize: 50 * 1024 * 1024, directory: undefined })
}) {}

const ImportPath = Schema.Struct({ importId: ImportRun.ImportId })

/**
 * What `POST /imports` takes, as `multipart/form-data`: the file, and the import options as a
 * JSON text field (send it before the file: wrong options are then refused before the file is
 * read).
 *
 * @since 0.6.0
 * @category schemas
 */
export const ImportUpload = HttpApiSchema.MultipartStream(
  Schema.Struct({
    options: Schema.optional(Schema.String).annotations({
      description:
        'The import options as JSON: format, encoding, delimiter, sheet, mapping, source, firstSeenAt, tags, country, currency, dateOrder, policy, onIdentityConflict, dryRun, batchSize, startAtLine (e.g. {"policy":"update","mapping":{"Courriel":"email"}})'
    }),
    file: Multipart.FileSchema.annotations({ description: "The file: CSV, TSV, TXT, XLSX or vCard; its name's extension tells the format unless `options.format` does" })
  })
).annotations({ identifier: "ImportUpload" })

/**
 * The imports routes (internal: their type names the core's internal modules; the public
 * description of every route is the OpenAPI document).
 *
 * @internal
 */
export const group = HttpApiGroup.make("imports")
  .add(
    HttpApiEndpoint.post("create", "/imports")
      .setPayload(ImportUpload)
      .addSuccess(ImportRun.ImportRun, { status: 202 })
      .annotateContext(route("contacts.import"))
  )
  .add(
    HttpApiEndpoint.get("list", "/imports")
      .setUrlParams(queryOf(ImportRun.ImportListOptions))
      .addSuccess(Schema.Struct({ items: Schema.Array(ImportRun.ImportRun), nextCursor: Schema.NullOr(Schema.String) }))
      .annotateContext(route("imports.list"))
  )
  .add(
    HttpApiEndpoint.get("get", "/imports/:importId")
      .setPath(ImportPath)
      .addSuccess(ImportRun.ImportRun)
      .addError(NotFoundResponse)
      .annotateContext(route("imports.get"))
  )
  .middleware(Authorized)

/** The `options` field, parsed and checked by the importer's own rules; pointers start at /options. */
const parseOptions = (text: string): Either.Either<ImportOptions, Problem> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    const detail = `is not JSON: ${error instanceof Error ? error.message : String(error)}`
    return Either.left(problem(400, "VALIDATION_FAILED", `Invalid import options: options ${detail}`, { errors: [{ pointer: "/options", in: "body", detail }] }))
  }
  const checked = validateOptions(parsed)
  if (Either.isRight(checked)) {
    if (checked.right.onProgress !== undefined) {
      return Either.left(problem(400, "VALIDATION_FAILED", "Invalid import options", { errors: [{ pointer: "/options/onProgress", in: "body", detail: "is not an option over HTTP" }] }))
    }
    return Either.right(checked.right)
  }
  const errors = checked.left.issues.map((issue) => ({ pointer: jsonPointer(["options", ...issue.path]), in: "body" as const, detail: issue.message }))
  return Either.left(problem(400, "VALIDATION_FAILED", checked.left.message, { errors }))
}

const removeDirectory = (directory: string) => Effect.promise(() => rm(directory, { recursive: true, force: true }))

/**
 * Runs an accepted import to its end, in the background, recorded as it goes (see the importers'
 * `runRecorded`). Never fails itself; the temporary directory is removed at the end, whatever
 * happened.
 */
const runImport = (id: ImportRun.ImportId, path: string, options: ImportOptions, directory: string) =>
  // Removed once read, before the end is recorded: a poll that sees the import done finds no file left.
  runRecorded(id, path, options, removeDirectory(directory)).pipe(Effect.ignoreLogged, Effect.ensuring(removeDirectory(directory)))

/**
 * The imports routes' handlers. Imports running in the background belong to the handler: its
 * `close()` interrupts them (each is then marked failed, `IMPORT_INTERRUPTED`).
 *
 * @internal
 */
export const handlers: GroupHandlers<"imports"> = HttpApiBuilder.group(apiOf(group), "imports", (routes) =>
  Effect.gen(function* () {
    const running = yield* FiberSet.make()
    return routes
      .handleRaw("create", () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const uploads = yield* ImportUploads
          const contentType = request.headers["content-type"]
          if (contentType === undefined || !multipartType.test(contentType)) {
            return yield* problem(415, "UNSUPPORTED_MEDIA_TYPE", `Send the file as multipart/form-data (a "file" part, and "options" as JSON)${contentType === undefined ? "" : `, not ${contentType.slice(0, 100)}`}`, {
              headers: { "accept-post": "multipart/form-data" }
            })
          }
          const node = yield* Effect.serviceOption(NodeRequest)
          if (node._tag === "None") return yield* Effect.dieMessage("Rapport: the imports route was called without its Node request")
          const req = node.value.req
          if (req.complete && !req.readable) {
            return yield* problem(500, "BODY_CONSUMED", "The upload was read before Rapport's handler (a body parser of the app, such as multer): mount Rapport's router before it")
          }
          // A declared length past the limit is refused before anything is read.
          const length = Number(request.headers["content-length"] ?? Number.NaN)
          if (length > uploads.maxFileSize + MAX_FIELD_SIZE + 16 * 1024) return yield* tooLarge(uploads.maxFileSize)
          const caller = yield* currentCaller
          const directory = yield* Effect.promise(() => mkdtemp(join(uploads.directory ?? tmpdir(), "rapport-import-")))
          let handedOver = false
          return yield* Effect.gen(function* () {
            let options: ImportOptions = {}
            let optionsJson: { readonly [key: string]: Json.JsonInput } = {}
            const upload = yield* readUpload(req, contentType, {
              file: { field: "file", path: (name) => join(directory, `upload${extensionOf(name)}`), maxSize: uploads.maxFileSize },
              fields: ["options"],
              maxFieldSize: MAX_FIELD_SIZE,
              onField: (_, value) => {
                const parsed = parseOptions(value)
                if (Either.isLeft(parsed)) return parsed.left
                options = parsed.right
                optionsJson = Recorded.storedOptions(parsed.right)
                return undefined
              }
            })
            if (upload.file === undefined) {
              return yield* problem(400, "VALIDATION_FAILED", "Send the file to import as the \"file\" part", { errors: [{ pointer: "/file", in: "body", detail: "is required: the file to import" }] })
            }
            const file = upload.file
            const imports = yield* Imports.Imports
            const run = yield* imports.create({ fileName: file.name === undefined ? null : file.name.slice(0, 255), options: optionsJson, createdBy: caller.principal.slice(0, 255) })
            // Handed over at once: from here the background import owns the directory. (A fiber
            // forked in an uninterruptible region is born uninterruptible: the import is made
            // interruptible again, so that the handler's close() can stop it.)
            yield* Effect.uninterruptible(
              Effect.tap(FiberSet.run(running, Effect.interruptible(runImport(run.id, file.path, options, directory))), () => {
                handedOver = true
              })
            )
            return json(run, 202, { location: `${yield* basePath}/imports/${run.id}` })
          }).pipe(Effect.ensuring(Effect.suspend(() => (handedOver ? Effect.void : removeDirectory(directory)))))
        })
      )
      .handleRaw("list", ({ urlParams }) => Effect.flatMap(Imports.Imports, (service) => service.list(urlParams as ImportListOptions)).pipe(Effect.flatMap(page)))
      .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Imports.Imports, (service) => service.get(path.importId)), (run) => json(run)))
  })
)

/**
 * The upload settings from `toNodeHandler`'s `imports` option, checked.
 *
 * @internal
 */
export const uploadSettingsOf = (
  options: { readonly maxFileSize?: number | undefined; readonly directory?: string | undefined } | undefined
): ImportUploadSettings => {
  const maxFileSize = options?.maxFileSize ?? 50 * 1024 * 1024
  if (!Number.isSafeInteger(maxFileSize) || maxFileSize < 1) {
    throw new TypeError(`imports.maxFileSize must be a positive whole number of bytes, got ${String(options?.maxFileSize)}`)
  }
  const directory = options?.directory
  if (directory !== undefined && (typeof directory !== "string" || directory === "")) throw new TypeError("imports.directory must be a directory path")
  return { maxFileSize, directory }
}
