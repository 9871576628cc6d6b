// The development mail server: an SMTP server on 127.0.0.1 that accepts every mail, keeps it
// (raw and parsed with mailparser) and logs one line per mail. The app's mailer sends to it over
// real SMTP, so what a customer would receive (subject, attachments, headers) is what you see.
import { type ParsedMail, simpleParser } from "mailparser"
import type { AddressInfo } from "node:net"
import { SMTPServer } from "smtp-server"

/** A mail the local server accepted. */
export interface ReceivedMail {
  /** The message as it came over SMTP. */
  readonly raw: Buffer
  readonly parsed: ParsedMail
  readonly envelopeTo: ReadonlyArray<string>
  readonly receivedAt: string
}

/** The local SMTP server and what it received. */
export interface Mailbox {
  readonly port: number
  readonly received: ReadonlyArray<ReceivedMail>
  close(): Promise<void>
}

/** Starts the server on 127.0.0.1 (`port` 0: any free port). */
export const startMailbox = async (port: number, log: (line: string) => void): Promise<Mailbox> => {
  const received: Array<ReceivedMail> = []
  const server = new SMTPServer({
    authOptional: true,
    // Loopback only, in development: no certificate to make.
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 20 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        const raw = Buffer.concat(chunks)
        simpleParser(raw).then(
          (parsed) => {
            received.push({ raw, parsed, envelopeTo: session.envelope.rcptTo.map((r) => r.address), receivedAt: new Date().toISOString() })
            const files = parsed.attachments.map((a) => a.filename ?? "(unnamed)")
            log(`[smtp] to ${session.envelope.rcptTo.map((r) => r.address).join(", ")}: ${parsed.subject ?? "(no subject)"}${files.length > 0 ? ` [${files.join(", ")}]` : ""}`)
            callback()
          },
          (error: Error) => callback(error)
        )
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
