// Imports over HTTP on loopback (issue 14, "imports (streamed multipart upload, with a progress
// resource to poll)"): a French CSV in Windows-1252 is uploaded, answered 202 with Location, and
// polled until done with its report; wrong options are refused before any row (400, one JSON
// pointer each); an upload over the limit is refused (413) whether its length is declared or it
// streams; a body that is not multipart is 415; nothing is imported and no temporary file is left
// by a refused upload; another workspace cannot read the import; a second instance on the same
// database answers the poll; an import whose process died is reported interrupted.
import { createCrm, type CrmClient } from "@rapport/core"
import { toNodeHandler } from "@rapport/express"
import { sqliteStorage } from "@rapport/sqlite"
import { createTestCrm } from "@rapport/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { once } from "node:events"
import { mkdtemp, readdir, rm } from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { callers, type Served, serve } from "./helpers.js"

// A trade-show export as Excel saves it in France: semicolons, Windows-1252 (é is the single byte
// 0xE9), CRLF. Line 5 has no usable email.
const salon = [
  "Prénom;Nom;Courriel;Téléphone;Société",
  "Élodie;Lefèvre;elodie.lefevre@exemple.fr;06 12 34 56 78;Boulangerie Saint-Honoré",
  "François;Müller;francois.muller@exemple.fr;+33 6 98 76 54 32;Café de la Gare",
  "Gaëlle;Dubois;gaelle.dubois@exemple.fr;;",
  "Jérôme;Noël;pas-un-courriel;;",
  ""
].join("\r\n")
const salonBytes = Buffer.from(salon, "latin1")

const form = (parts: { readonly options?: string; readonly file?: { readonly bytes: Uint8Array; readonly name: string; readonly type?: string } }) => {
  const data = new FormData()
  // Options first: wrong options are refused before the file is read.
  if (parts.options !== undefined) data.append("options", parts.options)
  if (parts.file !== undefined) data.append("file", new Blob([parts.file.bytes], { type: parts.file.type ?? "text/csv" }), parts.file.name)
  return data
}

const upload = async (url: string, as: string, data: FormData) => {
  const response = await fetch(`${url}/imports`, { method: "POST", headers: { authorization: `Bearer ${as}` }, body: data })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
}

/** Polls an import until it is done or failed (5 s at most). */
const poll = async (url: string, as: string, location: string) => {
  for (const started = Date.now(); Date.now() - started < 5000; ) {
    const response = await fetch(url + location, { headers: { authorization: `Bearer ${as}` } })
    const body = (await response.json()) as any
    if (response.status !== 200) return { status: response.status, body }
    if (body.status === "done" || body.status === "failed") return { status: response.status, body }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`${location} did not finish in 5 s`)
}

const BOUNDARY = "----rapport-test-boundary"
const part = (name: string, filename: string) =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\nemail\r\n`)

/**
 * A multipart upload as admin-b that sends `chunks` and then waits for the answer without ending
 * the body: an answer proves the server did not wait for the rest.
 */
const rawUpload = async (headers: Record<string, string>, chunks: ReadonlyArray<Buffer>) => {
  const request = http.request(`${api.url}/imports`, {
    method: "POST",
    headers: { authorization: "Bearer admin-b", "content-type": `multipart/form-data; boundary=${BOUNDARY}`, ...headers }
  })
  request.on("error", () => undefined) // the server closes the connection after refusing
  request.flushHeaders()
  for (const chunk of chunks) request.write(chunk)
  const [response] = (await once(request, "response")) as [http.IncomingMessage]
  const body: Array<Buffer> = []
  for await (const chunk of response) body.push(chunk as Buffer)
  request.destroy()
  return { status: response.statusCode, body: Buffer.concat(body).toString("utf8") }
}

let api: Served
let uploads: string
beforeAll(async () => {
  uploads = await mkdtemp(join(tmpdir(), "rapport-imports-test-"))
  api = await serve({ imports: { maxFileSize: 4096, directory: uploads } })
})
afterAll(async () => {
  await api.close()
  await rm(uploads, { recursive: true, force: true })
})

const contactsOf = (workspace: string) => api.crm.workspace(workspace).contacts.list({ limit: 100 })

describe("POST /imports", () => {
  it("a Windows-1252 CSV with French headers: 202 with Location, then the poll shows it done with its report; the temporary file is gone", async () => {
    const answer = await upload(api.url, "admin-a", form({ options: JSON.stringify({ source: { channel: "salon" }, tags: ["salon-2025"] }), file: { bytes: salonBytes, name: "Salon Été 2025.csv" } }))
    expect(answer.status).toBe(202)
    expect(answer.body).toMatchObject({ workspaceId: "ws-a", fileName: "Salon Été 2025.csv", options: { source: { channel: "salon" }, tags: ["salon-2025"] }, createdBy: "alice", error: null })
    expect(["queued", "running", "done"]).toContain(answer.body.status)
    expect(answer.headers.get("location")).toBe(`/imports/${answer.body.id}`)

    const done = await poll(api.url, "admin-a", answer.headers.get("location")!)
    expect(done.status).toBe(200)
    expect(done.body.status).toBe("done")
    expect(done.body.progress).toMatchObject({ rowsRead: 4, created: 3, imported: 3, rejected: 1 })
    expect(done.body.report).toMatchObject({ format: "csv", details: { encoding: "windows-1252", delimiter: ";" }, created: 3, rejected: 1 })
    expect(done.body.report.rejections).toEqual([{ line: 5, reason: expect.stringContaining("Courriel") }])

    const elodie = await api.crm.workspace("ws-a").contacts.findByEmail("elodie.lefevre@exemple.fr")
    expect(elodie).toMatchObject({ firstName: "Élodie", lastName: "Lefèvre", tags: ["salon-2025"], source: { channel: "salon" } })
    expect((await contactsOf("ws-a")).items.map((c) => c.email).sort()).toEqual(["elodie.lefevre@exemple.fr", "francois.muller@exemple.fr", "gaelle.dubois@exemple.fr"])
    expect(await readdir(uploads)).toEqual([])

    // The listing has it, newest first.
    const list = await api.request("GET", "/imports", { as: "reader-a" })
    expect(list.status).toBe(200)
    expect(list.body.items[0]).toEqual(done.body)
  })

  it("a file that cannot be imported (empty) ends failed, with its code, and leaves no temporary file", async () => {
    const answer = await upload(api.url, "admin-a", form({ file: { bytes: new Uint8Array(0), name: "vide.csv" } }))
    expect(answer.status).toBe(202)
    const failed = await poll(api.url, "admin-a", answer.headers.get("location")!)
    expect(failed.body).toMatchObject({ status: "failed", error: { code: "IMPORT_EMPTY" }, report: null })
    expect(await readdir(uploads)).toEqual([])
  })

  it("wrong options: 400 naming each one by its JSON pointer, before any row is read; nothing is stored", async () => {
    const before = await api.request("GET", "/imports", { as: "admin-b" })
    const answer = await upload(
      api.url,
      "admin-b",
      form({ options: JSON.stringify({ policy: "merge", mapping: { Courriel: 5 }, batchSize: 0 }), file: { bytes: salonBytes, name: "salon.csv" } })
    )
    expect(answer.status).toBe(400)
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(answer.body.code).toBe("VALIDATION_FAILED")
    expect(answer.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(["/options/batchSize", "/options/mapping/Courriel", "/options/policy"])
    expect(answer.body.errors.every((e: { in: string }) => e.in === "body")).toBe(true)

    const notJson = await upload(api.url, "admin-b", form({ options: "{policy: update}", file: { bytes: salonBytes, name: "salon.csv" } }))
    expect(notJson.status).toBe(400)
    expect(notJson.body.errors).toEqual([{ pointer: "/options", in: "body", detail: expect.stringContaining("is not JSON") }])

    expect((await contactsOf("ws-b")).items).toEqual([])
    expect((await api.request("GET", "/imports", { as: "admin-b" })).body).toEqual(before.body)
    expect(await readdir(uploads)).toEqual([])
  })

  it("no file part: 400 at /file", async () => {
    const answer = await upload(api.url, "admin-b", form({ options: "{}" }))
    expect(answer.status).toBe(400)
    expect(answer.body.errors).toEqual([{ pointer: "/file", in: "body", detail: expect.stringContaining("required") }])
  })

  it("a file whose declared length is over the limit: 413 before any of it is sent; nothing imported, no import recorded, no temporary file", async () => {
    // Only the headers go: the answer comes without the body.
    const response = await rawUpload({ "content-length": String(10 * 1024 * 1024) }, [])
    expect(response.status).toBe(413)
    expect(JSON.parse(response.body)).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" })
    expect((await contactsOf("ws-b")).items).toEqual([])
    expect((await api.request("GET", "/imports", { as: "admin-b" })).body.items).toEqual([])
    expect(await readdir(uploads)).toEqual([])
  })

  it("a file over the limit streamed without Content-Length: 413 as soon as it goes past, while the upload is still open; nothing imported", async () => {
    // 6 KiB of a file, never ended: the answer comes while the client could still send more.
    const rows = Array.from({ length: 6 }, (_, i) => Buffer.from(`row${i}@exemple.fr\r\n`.padEnd(1024, "x")))
    const response = await rawUpload({ "transfer-encoding": "chunked" }, [part("file", "flot.csv"), ...rows])
    expect(response.status).toBe(413)
    expect(JSON.parse(response.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", detail: expect.stringContaining("4096 bytes") })
    expect((await contactsOf("ws-b")).items).toEqual([])
    expect((await api.request("GET", "/imports", { as: "admin-b" })).body.items).toEqual([])
    expect(await readdir(uploads)).toEqual([])
  })

  it("a multipart body cut before its closing boundary: 400, nothing imported (it does not hang)", async () => {
    const boundary = "cut"
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nemail\r\ncut@exemple.fr\r\n`)
    const answer = await api.request("POST", "/imports", { as: "admin-b", body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } })
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ code: "BODY_UNREADABLE" })
    // Cut right after a part's boundary: the file part looks complete, the form is not.
    const atBoundary = Buffer.concat([body, Buffer.from(`--${boundary}\r\n`)])
    const second = await api.request("POST", "/imports", { as: "admin-b", body: atBoundary, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } })
    expect(second.status).toBe(400)
    expect(second.body).toMatchObject({ code: "BODY_UNREADABLE" })
    expect((await contactsOf("ws-b")).items).toEqual([])
    expect(await readdir(uploads)).toEqual([])
  })

  it("a body that is not multipart/form-data: 415 with Accept-Post", async () => {
    const answer = await api.request("POST", "/imports", { as: "admin-b", json: { file: "email\r\na@b.fr" } })
    expect(answer.status).toBe(415)
    expect(answer.body).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" })
    expect(answer.headers.get("accept-post")).toBe("multipart/form-data")
    const none = await api.request("POST", "/imports", { as: "admin-b" })
    expect(none.status).toBe(415)
  })

  it("a read-only principal may not import (403), but reads imports", async () => {
    const answer = await upload(api.url, "reader-a", form({ file: { bytes: salonBytes, name: "salon.csv" } }))
    expect(answer.status).toBe(403)
    expect((await api.request("GET", "/imports", { as: "reader-a" })).status).toBe(200)
  })
})

describe("GET /imports/{id}", () => {
  it("a principal of workspace B cannot read workspace A's import (404), nor list it", async () => {
    const answer = await upload(api.url, "admin-a", form({ file: { bytes: Buffer.from("email\r\nwsa@exemple.fr\r\n"), name: "a.csv" } }))
    expect(answer.status).toBe(202)
    await poll(api.url, "admin-a", answer.headers.get("location")!)
    const other = await api.request("GET", `/imports/${answer.body.id}`, { as: "admin-b" })
    expect(other.status).toBe(404)
    expect(other.body).toMatchObject({ code: "NOT_FOUND", entity: "import" })
    expect((await api.request("GET", "/imports", { as: "admin-b" })).body.items.map((i: { id: string }) => i.id)).not.toContain(answer.body.id)
    expect((await api.request("GET", `/imports/${answer.body.id}`, { as: "admin-a" })).status).toBe(200)
  })

  it("an import whose process stopped beating is answered failed (IMPORT_INTERRUPTED) once its heartbeat is over 10 minutes old", async () => {
    const imports = api.crm.workspace("ws-a").imports
    const stuck = await imports.start((await imports.create({ fileName: "perdu.csv" })).id)
    expect((await api.request("GET", `/imports/${stuck.id}`, { as: "admin-a" })).body.status).toBe("running")
    await api.crm.clock.advance("10 minutes")
    await api.crm.clock.advance("1 second")
    const read = await api.request("GET", `/imports/${stuck.id}`, { as: "admin-a" })
    expect(read.body).toMatchObject({ status: "failed", error: { code: "IMPORT_INTERRUPTED" } })
  })

  it("a malformed id is 400 at /importId (path)", async () => {
    const answer = await api.request("GET", "/imports/not-an-id", { as: "admin-a" })
    expect(answer.status).toBe(400)
    expect(answer.body.errors).toEqual([expect.objectContaining({ pointer: "/importId", in: "path" })])
  })
})

describe("the handler closing", () => {
  it("close() stops the imports it runs and marks them failed (IMPORT_INTERRUPTED) at once", async () => {
    const crm = await createTestCrm()
    const handler = toNodeHandler(crm, { authenticate: (req) => callers[req.headers.authorization ?? ""] ?? null })
    const server = http.createServer(handler).listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      // One row per transaction: long enough to be caught running.
      const rows = Array.from({ length: 3000 }, (_, i) => `row${i}@exemple.fr`)
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const answer = await upload(url, "admin-a", form({ options: JSON.stringify({ batchSize: 1 }), file: { bytes: Buffer.from(["email", ...rows].join("\r\n")), name: "long.csv" } }))
      expect(answer.status).toBe(202)
      server.close()
      await handler.close()
      const run = await crm.workspace("ws-a").imports.get(answer.body.id)
      expect(run).toMatchObject({ status: "failed", error: { code: "IMPORT_INTERRUPTED" } })
      expect(run.progress.rowsRead).toBeLessThan(3000)
    } finally {
      await crm.close()
    }
  })
})

describe("two instances on one database", () => {
  let directory: string
  const clients: Array<CrmClient> = []
  const servers: Array<http.Server> = []
  const handlers: Array<ReturnType<typeof toNodeHandler>> = []
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "rapport-imports-shared-"))
  })
  afterAll(async () => {
    for (const server of servers) server.close()
    for (const handler of handlers) await handler.close()
    for (const client of clients) await client.close()
    await rm(directory, { recursive: true, force: true })
  })

  it("an import uploaded to one instance is polled to done on the other", async () => {
    const urls: Array<string> = []
    for (let i = 0; i < 2; i++) {
      const crm = await createCrm({ storage: sqliteStorage({ filename: join(directory, "crm.db") }) })
      clients.push(crm)
      const handler = toNodeHandler(crm, { authenticate: (req) => callers[req.headers.authorization ?? ""] ?? null })
      handlers.push(handler)
      const server = http.createServer(handler).listen(0, "127.0.0.1")
      servers.push(server)
      await once(server, "listening")
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    }
    const answer = await upload(urls[0]!, "admin-a", form({ file: { bytes: salonBytes, name: "salon.csv" } }))
    expect(answer.status).toBe(202)
    const done = await poll(urls[1]!, "admin-a", answer.headers.get("location")!)
    expect(done.body).toMatchObject({ status: "done", progress: { created: 3, rejected: 1 } })
    expect((await clients[1]!.workspace("ws-a").contacts.findByEmail("francois.muller@exemple.fr"))?.firstName).toBe("François")
  })
})
