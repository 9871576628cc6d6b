// A real SMTP server on 127.0.0.1 (an ephemeral port) for the tests: it keeps every message it
// accepted, raw and parsed with mailparser, and answers DATA as the test says (250, or a 4xx/5xx
// reply with its text).
import { type ParsedMail, simpleParser } from "mailparser"
import type { AddressInfo } from "node:net"
import { SMTPServer } from "smtp-server"

export interface Received {
  readonly raw: string
  readonly parsed: ParsedMail
  readonly envelopeFrom: string | null
  readonly envelopeTo: ReadonlyArray<string>
}

export interface TestServer {
  readonly port: number
  readonly received: Array<Received>
  /** DATA attempts, accepted or not. */
  readonly attempts: () => number
  /** Connections opened so far. */
  readonly connections: () => number
  /** The most connections open at once. */
  readonly peakConnections: () => number
  /** How DATA is answered: `null` accepts; `{ code, message }` refuses with that reply. */
  answer: { readonly code: number; readonly message: string } | null
  close(): Promise<void>
}

export const startServer = async (): Promise<TestServer> => {
  const received: Array<Received> = []
  let attempts = 0
  let connections = 0
  let open = 0
  let peak = 0
  const state = {
    answer: null as TestServer["answer"]
  }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 30 * 1024 * 1024,
    onConnect(_session, callback) {
      connections++
      open++
      peak = Math.max(peak, open)
      callback()
    },
    onClose() {
      open--
    },
    onData(stream, session, callback) {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        attempts++
        const answer = state.answer
        if (answer !== null) return callback(Object.assign(new Error(answer.message), { responseCode: answer.code }))
        const raw = Buffer.concat(chunks).toString("utf8")
        const envelopeFrom = session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address)
        simpleParser(raw).then(
          (parsed) => {
            received.push({ raw, parsed, envelopeFrom, envelopeTo })
            callback()
          },
          (error: Error) => callback(error)
        )
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  const result: TestServer = {
    port,
    received,
    attempts: () => attempts,
    connections: () => connections,
    peakConnections: () => peak,
    get answer() {
      return state.answer
    },
    set answer(value) {
      state.answer = value
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return result
}
