// A local SMTP server for development: Rapport sends the shop's mails over real SMTP
// (@rapport/mailer-smtp) to this server on 127.0.0.1, which keeps each mail parsed (mailparser)
// and logs it, so a developer sees what customers would receive without a mail provider.
import { type ParsedMail, simpleParser } from "mailparser"
import type { AddressInfo } from "node:net"
import { SMTPServer } from "smtp-server"

/** A mail the local server accepted. */
export interface ReceivedMail {
  readonly to: ReadonlyArray<string>
  readonly from: string | null
  readonly subject: string
  readonly text: string
  readonly html: string | null
  readonly headers: ParsedMail["headers"]
  readonly receivedAt: Date
}

/** The local SMTP server and the mails it received. */
export interface Mailbox {
  readonly port: number
  /** Every mail received so far, oldest first. */
  readonly received: ReadonlyArray<ReceivedMail>
  /** Mails to one address. */
  to(address: string): ReadonlyArray<ReceivedMail>
  close(): Promise<void>
}

export interface MailboxOptions {
  /** 0 (the default) takes any free port. */
  readonly port?: number | undefined
  /** Called with one line per mail received. */
  readonly log?: ((line: string) => void) | undefined
}

/** Starts the local SMTP server on 127.0.0.1. */
export const startMailbox = async (options: MailboxOptions = {}): Promise<Mailbox> => {
  const received: Array<ReceivedMail> = []
  const server = new SMTPServer({
    authOptional: true,
    // Loopback only, and no certificate to make: the mailer sends in plain text here.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    size: 20 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const mail: ReceivedMail = {
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address,
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : null,
            headers: parsed.headers,
            receivedAt: new Date()
          }
          received.push(mail)
          options.log?.(`[smtp] mail to ${mail.to.join(", ")}: ${mail.subject}`)
          callback()
        },
        (error: Error) => callback(error)
      )
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    to: (address) => received.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
