// The imports page's upload: the same streamed multipart reading and recorded import as the HTTP
// API's POST /imports (internal/upload.ts and the importers' runRecorded), answered for a browser:
// 202 JSON to the page's script, a redirect to the report to a plain form (no JavaScript needed).
import { mkdtemp, rm } from "node:fs/promises"
import type { IncomingMessage } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Crm, ImportRun, type Storage } from "@rapport/core"
import { runRecorded } from "@rapport/importers"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import { Problem } from "../Problem.js"
import type { ImportUploadSettings } from "../api/Imports.js"
import { extensionOf, MAX_FIELD_SIZE, multipartType, readUpload } from "../internal/upload.js"
import type { PageContext } from "./ui.js"

export type UploadOutcome =
  | { readonly _tag: "Accepted"; readonly importId: string }
  | { readonly _tag: "Refused"; readonly status: number; readonly detail: string }

/** Receives uploads and runs their imports in the background; `close()` interrupts those still running (each is then marked failed). */
export const makeUploads = (settings: ImportUploadSettings) => {
  const running = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  const receive = async (ctx: PageContext, req: IncomingMessage): Promise<UploadOutcome> => {
    const contentType = req.headers["content-type"]
    if (contentType === undefined || !multipartType.test(contentType)) {
      return { _tag: "Refused", status: 415, detail: "Send the file as multipart/form-data, in a part named \"file\"" }
    }
    const length = Number(req.headers["content-length"] ?? Number.NaN)
    if (length > settings.maxFileSize + MAX_FIELD_SIZE + 16 * 1024) {
      return { _tag: "Refused", status: 413, detail: `The uploaded file is larger than ${settings.maxFileSize} bytes; split it` }
    }
    const directory = await mkdtemp(join(settings.directory ?? tmpdir(), "rapport-import-"))
    const remove = Effect.promise(() => rm(directory, { recursive: true, force: true }))
    let handedOver = false
    try {
      const upload = await Effect.runPromise(
        Effect.either(
          readUpload(req, contentType, {
            file: { field: "file", path: (name) => join(directory, `upload${extensionOf(name)}`), maxSize: settings.maxFileSize },
            fields: [],
            otherFields: "ignore",
            maxFieldSize: MAX_FIELD_SIZE
          })
        )
      )
      if (Either.isLeft(upload)) return { _tag: "Refused", status: upload.left.status, detail: upload.left.detail }
      const file = upload.right.file
      if (file === undefined) return { _tag: "Refused", status: 400, detail: "Choose a file to import (the \"file\" part)" }
      const run = await ctx.crm.imports.create({ fileName: file.name === undefined ? null : file.name.slice(0, 255), options: {}, createdBy: ctx.caller.principal.slice(0, 255) })
      // The caller's workspace's runtime: the import writes there and nowhere else.
      const runtime = await ctx.crm.run(Effect.runtime<Crm.Services | Storage.Storage>())
      const fiber = Runtime.runFork(runtime)(runRecorded(ImportRun.ImportId.make(run.id), file.path, {}, remove).pipe(Effect.ignoreLogged, Effect.ensuring(remove)))
      handedOver = true
      running.add(fiber)
      fiber.addObserver(() => running.delete(fiber))
      return { _tag: "Accepted", importId: run.id }
    } catch (error) {
      if (error instanceof Problem) return { _tag: "Refused", status: error.status, detail: error.detail }
      throw error
    } finally {
      if (!handedOver) await Effect.runPromise(remove)
    }
  }
  const close = async (): Promise<void> => {
    await Promise.all([...running].map((fiber) => Effect.runPromise(Fiber.interrupt(fiber))))
  }
  return { receive, close }
}
