// The Node adapter on real sockets: the HttpServerRequest it makes of an IncomingMessage (one read
// of the body whatever asks for it, streams with back-pressure and the size limit, multipart, a
// client that goes away) and what the handler does with HEAD, a body past the limit that is still
// arriving, a client that leaves mid-request, and a failure of its own (Express's `next`).
import { once } from "node:events"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"
import { Readable } from "node:stream"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Multipart from "@effect/platform/Multipart"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { createTestCrm } from "@rapport/testing"
import { rapportRouter } from "@rapport/express"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BodyTooLarge, findCause } from "../src/internal/body.js"
import { makeNodeHandler } from "../src/internal/node.js"
import { NodeServerRequest } from "../src/internal/request.js"
import { type Served, serve } from "./helpers.js"

const listen = async (handler: http.RequestListener) => {
  const server = http.createServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return { server, port: (server.address() as AddressInfo).port, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

// Sends raw bytes and returns everything the server sent back until it closed the connection.
const raw = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")))
    socket.on("error", reject)
    socket.write(text)
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const describePart = (part: Multipart.Part): Effect.Effect<unknown, Multipart.MultipartError> =>
  part._tag === "Field"
    ? Effect.succeed({ field: part.key, value: part.value })
    : Effect.map(part.contentEffect, (bytes) => ({ file: part.key, name: part.name, content: Buffer.from(bytes).toString("utf8") }))

describe("NodeServerRequest", () => {
  // Each request runs the effect the test set, on a NodeServerRequest of it; the outcome is answered as JSON.
  let effect: (request: NodeServerRequest) => Effect.Effect<unknown, unknown> = () => Effect.void
  let outcomes: Array<Exit.Exit<unknown, unknown>> = []
  let port = 0
  let url = ""
  let server: http.Server
  beforeAll(async () => {
    ;({ server, port, url } = await listen((req, res) => {
      const request = NodeServerRequest.make(req, res)
      void Effect.runPromiseExit(effect(request)).then((exit) => {
        outcomes.push(exit)
        res.writeHead(Exit.isSuccess(exit) ? 200 : 500, { "content-type": "application/json" })
        res.end(JSON.stringify(Exit.isSuccess(exit) ? exit.value : String(Exit.isFailure(exit) ? exit.cause : "")))
      })
    }))
  })
  afterAll(() => void server.close())
  const limited = (limit: number) => <A, E>(self: Effect.Effect<A, E>) => HttpIncomingMessage.withMaxBodySize(self, Option.some(FileSystem.Size(limit)))

  it("text, json and arrayBuffer give the same body: it is read once, whatever asks", async () => {
    effect = (request) =>
      Effect.all({
        text: request.text,
        again: request.text,
        json: request.json,
        bytes: Effect.map(request.arrayBuffer, (buffer) => Buffer.from(buffer).toString("utf8"))
      })
    const answer = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":"é"}' })
    expect(await answer.json()).toEqual({ text: '{"a":"é"}', again: '{"a":"é"}', json: { a: "é" }, bytes: '{"a":"é"}' })
  })

  it("a client that goes away mid-body fails the read at once instead of waiting for the rest", async () => {
    outcomes = []
    effect = (request) => request.text
    const socket = net.connect(port, "127.0.0.1")
    await once(socket, "connect")
    socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"partial\":")
    await sleep(50)
    socket.destroy()
    for (let i = 0; i < 40 && outcomes.length === 0; i++) await sleep(25)
    expect(outcomes).toHaveLength(1)
    expect(Exit.isFailure(outcomes[0]!)).toBe(true)
    expect(String(Exit.isFailure(outcomes[0]!) ? outcomes[0].cause : "")).toContain("RequestError")
  })

  it("a client that went away before its body was read (all of it sent): the read fails, it does not wait", async () => {
    outcomes = []
    // The body is read only after the client left (as when the API is still being built).
    effect = (request) => Effect.zipRight(Effect.sleep(150), request.text)
    const socket = net.connect(port, "127.0.0.1")
    await once(socket, "connect")
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
    await sleep(50)
    socket.destroy()
    for (let i = 0; i < 40 && outcomes.length === 0; i++) await sleep(25)
    expect(outcomes).toHaveLength(1)
    expect(Exit.isFailure(outcomes[0]!)).toBe(true)
  })

  it("stream gives the chunks as they come, and fails with BodyTooLarge on the chunk past MaxBodySize", async () => {
    const send = (chunks: ReadonlyArray<string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(url, { method: "POST", headers: { "content-type": "text/plain" } }, (response) => {
          let body = ""
          response.setEncoding("utf8")
          response.on("data", (chunk) => (body += chunk))
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
        request.on("error", reject)
        const write = (i: number) => (i === chunks.length ? void request.end() : request.write(chunks[i], () => setTimeout(() => write(i + 1), 10)))
        write(0)
      })
    effect = (request) =>
      Stream.runCollect(request.stream).pipe(
        Effect.map((chunks) => Chunk.toReadonlyArray(chunks).map((c) => Buffer.from(c).toString("utf8"))),
        Effect.mapError((error) => (findCause(error, (u): u is BodyTooLarge => u instanceof BodyTooLarge) === undefined ? error : "too large")),
        limited(25)
      )
    const fits = await send(["first,", "second,", "third"])
    expect(fits.status).toBe(200)
    expect((JSON.parse(fits.body) as Array<string>).join("")).toBe("first,second,third")
    expect(JSON.parse(fits.body).length).toBeGreaterThan(1)
    const past = await send(["0123456789", "0123456789", "0123456789", "never read"])
    expect([past.status, JSON.parse(past.body)]).toEqual([500, expect.stringContaining("too large")])
  })

  it("multipartStream reads a form's fields and files from the Node request", async () => {
    effect = (request) =>
      Stream.runCollect(request.multipartStream).pipe(
        Effect.flatMap((parts) => Effect.forEach(Chunk.toReadonlyArray(parts), describePart)),
        limited(1024 * 1024)
      )
    const form = new FormData()
    form.append("options", '{"policy":"update"}')
    form.append("file", new Blob(["email\nada@example.com\n"], { type: "text/csv" }), "contacts.csv")
    const answer = await fetch(url, { method: "POST", body: form })
    expect(await answer.json()).toEqual([
      { field: "options", value: '{"policy":"update"}' },
      { file: "file", name: "contacts.csv", content: "email\nada@example.com\n" }
    ])
  })

  it("a body a parser of the app read first: json is the parsed value, text its JSON", async () => {
    const { server: parsedServer, url: parsedUrl } = await listen((req, res) => {
      // As express.json() leaves it: the stream consumed, the value on req.body.
      const chunks: Array<Buffer> = []
      req.on("data", (chunk) => chunks.push(chunk))
      req.on("end", () => {
        Object.assign(req, { body: { parsed: true, from: Buffer.concat(chunks).toString("utf8") } })
        const request = NodeServerRequest.make(req, res)
        void Effect.runPromise(Effect.all({ json: request.json, text: request.text })).then((value) => res.end(JSON.stringify(value)))
      })
    })
    try {
      const answer = await fetch(parsedUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
      expect(await answer.json()).toEqual({ json: { parsed: true, from: "{}" }, text: '{"parsed":true,"from":"{}"}' })
    } finally {
      parsedServer.close()
    }
  })
})

describe("answers written to the Node response", () => {
  const CHUNK = 64 * 1024
  const CHUNKS = 256
  let buffered = 0
  const byte = (i: number) => i % 251
  // Each answer the platform can give, by path.
  const app: HttpApp.Default = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    switch (request.url) {
      case "/stream": {
        const res = (request as NodeServerRequest).response
        return Effect.succeed(
          HttpServerResponse.stream(
            Stream.map(Stream.range(0, CHUNKS - 1, 1), (n) => {
              buffered = Math.max(buffered, res.writableLength)
              return new Uint8Array(CHUNK).fill(byte(n))
            }),
            { contentType: "application/octet-stream" }
          )
        )
      }
      case "/readable":
        return Effect.succeed(HttpServerResponse.raw(Readable.from([Buffer.from("from a "), Buffer.from("Node stream")]), { contentType: "text/plain" }))
      case "/form": {
        const form = new FormData()
        form.append("a", "1")
        form.append("file", new Blob(["x,y"], { type: "text/csv" }), "f.csv")
        return Effect.succeed(HttpServerResponse.formData(form))
      }
      case "/cookie":
        return Effect.succeed(HttpServerResponse.unsafeSetCookie(HttpServerResponse.empty({ status: 204 }), "session", "abc", { httpOnly: true }))
      default:
        return Effect.succeed(HttpServerResponse.text("hello", { status: 200 }))
    }
  })
  let server: http.Server
  let url = ""
  beforeAll(async () => {
    ;({ server, url } = await listen(makeNodeHandler(Runtime.defaultRuntime, app)))
  })
  afterAll(() => void server.close())

  it("a stream: every chunk, in order; pulled only as fast as the client reads (back-pressure)", async () => {
    buffered = 0
    const received = await new Promise<Buffer>((resolve, reject) => {
      http.get(`${url}/stream`, (response) => {
        const chunks: Array<Buffer> = []
        response.once("data", () => {
          // The client stops reading for a while: the server's socket fills up meanwhile.
          response.pause()
          setTimeout(() => response.resume(), 300)
        })
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => resolve(Buffer.concat(chunks)))
        response.on("error", reject)
      })
    })
    // What waits in the response's own buffer when a chunk is pulled: at most about one chunk
    // with back-pressure (the stream waits for "drain"); megabytes without.
    expect(buffered).toBeLessThanOrEqual(2 * CHUNK)
    expect(received.length).toBe(CHUNK * CHUNKS)
    const wrong = Array.from({ length: CHUNKS }, (_, n) => n).filter((n) => received.subarray(n * CHUNK, (n + 1) * CHUNK).some((b) => b !== byte(n)))
    expect(wrong).toEqual([])
  })

  it("a Node stream, FormData with its boundary, cookies, and text", async () => {
    const readable = await fetch(`${url}/readable`)
    expect([readable.headers.get("content-type"), await readable.text()]).toEqual(["text/plain", "from a Node stream"])
    const form = await (await fetch(`${url}/form`)).formData()
    expect(form.get("a")).toBe("1")
    expect(await (form.get("file") as Blob).text()).toBe("x,y")
    const cookie = await fetch(`${url}/cookie`)
    expect([cookie.status, cookie.headers.getSetCookie()]).toEqual([204, ["session=abc; HttpOnly"]])
    const text = await fetch(`${url}/`)
    expect([text.headers.get("content-type"), text.headers.get("content-length"), await text.text()]).toEqual(["text/plain", "5", "hello"])
  })
})

describe("tracing", () => {
  // Answers the name of the span the route runs in, if any.
  const app: HttpApp.Default = Effect.map(Effect.option(Effect.currentSpan), (span) => HttpServerResponse.text(span._tag === "Some" ? span.value.name : "no span"))
  const call = async (handler: http.RequestListener) => {
    const { server, url } = await listen(handler)
    try {
      return await (await fetch(`${url}/x`)).text()
    } finally {
      server.close()
    }
  }

  it("with a tracer installed, each request runs in the platform's http.server span; with Effect's built-in one, in none", async () => {
    const builtIn = Effect.runSync(Effect.tracer)
    const names: Array<string> = []
    const recording = Tracer.make({
      span(name, parent, context, links, startTime, kind, options) {
        names.push(name)
        return builtIn.span(name, parent, context, links, startTime, kind, options)
      },
      context: (f, fiber) => builtIn.context(f, fiber)
    })
    const traced = Effect.runSync(Effect.withTracer(Effect.runtime<never>(), recording))
    expect(await call(makeNodeHandler(traced, app))).toBe("http.server GET")
    expect(names).toEqual(["http.server GET"])
    expect(await call(makeNodeHandler(Runtime.defaultRuntime, app))).toBe("no span")
  })
})

describe("the handler", () => {
  let api: Served
  let slow: Served
  let authenticated = 0
  beforeAll(async () => {
    api = await serve({ bodyLimit: 1000 })
    // Authentication that takes a while: time for a client to leave before the route runs.
    slow = await serve({
      authenticate: async () => {
        authenticated++
        await sleep(300)
        return { workspace: "ws-slow", principal: "sloth", role: "admin" }
      }
    })
  })
  afterAll(async () => {
    await api.close()
    await slow.close()
  })

  it("HEAD answers the GET's status and headers, and no body", async () => {
    const created = await api.request("POST", "/contacts", { as: "admin-a", json: { email: "head@example.com" } })
    const got = await api.request("GET", `/contacts/${created.body.id}`, { as: "admin-a" })
    const port = Number(new URL(api.url).port)
    const answer = await raw(port, `HEAD /contacts/${created.body.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-a\r\nConnection: close\r\n\r\n`)
    const [head, body] = answer.split("\r\n\r\n")
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    expect(head).toContain(`etag: ${got.headers.get("etag")}`)
    expect(head).toContain(`content-length: ${Buffer.byteLength(got.text)}`)
    expect(body).toBe("")
    const missing = await raw(port, "HEAD /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    expect(missing).toMatch(/^HTTP\/1\.1 404 /)
    expect(missing.split("\r\n\r\n")[1]).toBe("")
  })

  it("a chunked body past the limit is refused while it is still arriving, and the connection is closed", async () => {
    const before = (await api.crm.workspace("ws-a").contacts.list({ limit: 500 })).items.length
    const answer = await new Promise<{ status: number; connection: string | undefined; body: string; ended: boolean }>((resolve, reject) => {
      let ended = false
      const request = http.request(`${api.url}/contacts`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer admin-a" } }, (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (body += chunk))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body, ended }))
      })
      request.on("error", reject)
      // 1,200 bytes in 300-byte chunks, and the request never ended: only a check on each chunk answers.
      request.write(`{"email": "big@example.com", "lastName": "${"x".repeat(260)}`)
      const more = (left: number) => (left === 0 ? undefined : request.write("x".repeat(300), () => setTimeout(() => more(left - 1), 10)))
      more(3)
      setTimeout(() => {
        ended = true
        request.end('"}')
      }, 3000)
    })
    expect(answer.ended).toBe(false)
    expect([answer.status, answer.connection, JSON.parse(answer.body).code]).toEqual([413, "close", "PAYLOAD_TOO_LARGE"])
    expect((await api.crm.workspace("ws-a").contacts.list({ limit: 500 })).items.length).toBe(before)
  })

  it("a client that leaves before the route ran: its work is interrupted (nothing deleted), the next request is served", async () => {
    const port = Number(new URL(slow.url).port)
    const kept = await slow.crm.workspace("ws-slow").contacts.create({ email: "kept@example.com" })
    const socket = net.connect(port, "127.0.0.1")
    await once(socket, "connect")
    socket.write(`DELETE /contacts/${kept.id} HTTP/1.1\r\nHost: x\r\n\r\n`)
    for (let i = 0; i < 40 && authenticated === 0; i++) await sleep(10)
    expect(authenticated).toBe(1)
    socket.destroy()
    // Authentication ends 300 ms after it began: the delete would have run by now.
    await sleep(600)
    expect((await slow.crm.workspace("ws-slow").contacts.get(kept.id)).email).toBe("kept@example.com")
    const next = await slow.request("DELETE", `/contacts/${kept.id}`)
    expect(next.status).toBe(204)
    expect((await slow.crm.workspace("ws-slow").contacts.list({ limit: 10 })).items).toEqual([])
  })

  it("a failure of the handler itself (the client was closed) goes to Express's next, not to a response of its own", async () => {
    const crm = await createTestCrm()
    await crm.close()
    const app = express()
    app.use("/crm", rapportRouter(crm, { authenticate: () => ({ workspace: "w", principal: "p", role: "admin" }) }))
    const seen: Array<unknown> = []
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen.push(error)
      res.status(503).json({ host: "handled it" })
    })
    const { server, url } = await listen(app)
    try {
      const answer = await fetch(`${url}/crm/contacts`)
      expect([answer.status, await answer.json()]).toEqual([503, { host: "handled it" }])
      expect(seen).toHaveLength(1)
      expect(seen[0]).toBeInstanceOf(Error)
    } finally {
      server.close()
    }
  })
})
