// Mail throughput over SMTP: rule mails sent by the dispatcher (crm.dispatcher.runDue: claim, render,
// hand over to @rapport/mailer-smtp, record the outcome and the timeline entry) to an SMTP server on
// loopback (smtp-server, in this process), against nodemailer alone sending the same rendered mails
// (same from, to, subject, parts, headers and Message-IDs) with the same pool settings, all queued
// at once (nodemailer's fastest way). Each round uses a fresh CRM in memory whose jobs were queued
// beforehand (untimed: contacts.createMany, then events.emitMany, one mail job per event); sides
// turn which runs first; every side's deliveries are checked equal (recipients and subjects). Two
// more lines say where the time goes: the SMTP adapter alone (SmtpMailer's send of the same mails,
// no dispatcher) and the dispatcher alone (the same jobs, a Mailer that answers at once).
import { createCrm, type CrmClient, Mailer } from "@rapport/core"
import { SmtpMailer } from "@rapport/mailer-smtp"
import { memoryStorage } from "@rapport/sqlite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { AddressInfo } from "node:net"
import { createTransport } from "nodemailer"
import { SMTPServer } from "smtp-server"
import { median } from "./stats.js"

export interface Options {
  readonly mails: number
  readonly rounds: number
  readonly maxConnections: number
  readonly maxMessages: number
  /** The dispatcher's concurrency (contacts whose jobs run at once). */
  readonly concurrency: number
}

const FROM = '"Boutique" <commandes@boutique.example>'
const DOMAIN = "boutique.example"

/**
 * An SMTP server on 127.0.0.1 that accepts everything and keeps, for each mail, its recipient and
 * its Subject header as sent (both sides encode with nodemailer, so equal mails read equal).
 */
const startServer = async () => {
  const mails: Array<string> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      let head = ""
      stream.on("data", (chunk: Buffer) => {
        if (!head.includes("\r\n\r\n") && head.length < 64 * 1024) head += chunk.toString("latin1")
      })
      stream.on("end", () => {
        const subject = /^Subject:(.*(?:\r\n[ \t].*)*)/im.exec(head)?.[1]?.replace(/\r\n[ \t]/g, " ").trim() ?? ""
        mails.push(`${session.envelope.rcptTo.map((r) => r.address).join(",")} ${subject}`)
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** A CRM in memory with `count` rule mails queued, its mailer handing them to the SMTP server and keeping what it handed over. */
const smtpOptions = (port: number, options: Options): SmtpMailer.SmtpMailerOptions => ({
  host: "127.0.0.1",
  port,
  from: FROM,
  messageIdDomain: DOMAIN,
  pool: { maxConnections: options.maxConnections, maxMessages: options.maxMessages }
})

/** The same mailer layer without SMTP: it answers at once (the dispatcher's own cost). */
const nothing = Layer.succeed(Mailer.Mailer, Mailer.Mailer.of({ send: (mail) => Effect.succeed({ messageId: SmtpMailer.messageIdFor(mail.idempotencyKey, DOMAIN) }) }))

export const prepare = async (port: number | "none", options: Options) => {
  const handed: Array<Mailer.OutgoingMail> = []
  const inner = port === "none" ? nothing : SmtpMailer.layer(smtpOptions(port, options))
  const keeping = Layer.effect(
    Mailer.Mailer,
    Effect.map(Mailer.Mailer, (inner) => Mailer.Mailer.of({ send: (mail) => Effect.zipRight(Effect.sync(() => void handed.push(mail)), inner.send(mail)) }))
  ).pipe(Layer.provide(inner), Layer.orDie)
  const crm = await createCrm({ storage: memoryStorage(), mailer: { layer: keeping }, mail: { from: FROM } })
  const template = await crm.templates.create({
    name: "Order confirmed",
    subject: "Commande {{ event.payload.orderId }} confirmée",
    text: "Bonjour {{ contact.firstName }},\n\nvotre commande {{ event.payload.orderId }} est confirmée. Merci !",
    html: "<p>Bonjour {{ contact.firstName }},</p><p>votre commande <b>{{ event.payload.orderId }}</b> est confirmée. Merci !</p>"
  })
  await crm.rules.create({ id: "order-confirmed", name: "Order confirmed", on: "order.confirmed", actions: [{ type: "sendEmail", template: template.id }] })
  const ids: Array<string> = []
  for (let from = 0; from < options.mails; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, options.mails - from) }, (_, i) => ({ email: `client${from + i}@example.com`, firstName: `Client ${from + i}` }))
    const created = await crm.contacts.createMany(batch)
    ids.push(...created.map((c) => c.id))
  }
  for (let from = 0; from < ids.length; from += 1_000) {
    await crm.events.emitMany(ids.slice(from, from + 1_000).map((contactId, i) => ({ type: "order.confirmed", contactId, payload: { orderId: `CMD-${from + i}` } })))
  }
  return { crm, handed }
}

const rapportRun = async (crm: CrmClient, options: Options) => {
  const started = performance.now()
  const report = await crm.dispatcher.runDue({ concurrency: options.concurrency, batchSize: 200 })
  const seconds = (performance.now() - started) / 1000
  if (report.done !== options.mails) throw new Error(`the dispatcher sent ${report.done} of ${options.mails} mails: ${JSON.stringify(report)}`)
  return seconds
}

const nodemailerRun = async (port: number, mails: ReadonlyArray<Mailer.OutgoingMail>, options: Options) => {
  const transporter = createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    pool: true,
    maxConnections: options.maxConnections,
    maxMessages: options.maxMessages,
    disableFileAccess: true,
    disableUrlAccess: true
  })
  const started = performance.now()
  await Promise.all(
    mails.map((mail) =>
      transporter.sendMail({
        from: mail.from ?? FROM,
        to: mail.to,
        subject: mail.subject,
        ...(mail.text === undefined ? {} : { text: mail.text }),
        ...(mail.html === undefined ? {} : { html: mail.html }),
        headers: { ...mail.headers },
        messageId: SmtpMailer.messageIdFor(mail.idempotencyKey, DOMAIN)
      })
    )
  )
  const seconds = (performance.now() - started) / 1000
  transporter.close()
  return seconds
}

/** The SMTP adapter alone (no dispatcher): the same rendered mails handed to SmtpMailer's send, all at once. */
const adapterRun = async (port: number, mails: ReadonlyArray<Mailer.OutgoingMail>, options: Options) => {
  const runtime = ManagedRuntime.make(SmtpMailer.layer(smtpOptions(port, options)))
  const mailer = await runtime.runPromise(Mailer.Mailer)
  const started = performance.now()
  await runtime.runPromise(Effect.forEach(mails, (mail) => mailer.send(mail), { concurrency: "unbounded", discard: true }))
  const seconds = (performance.now() - started) / 1000
  await runtime.dispose()
  return seconds
}

export const run = async (options: Options, print: (line: string) => void) => {
  const rounds: Array<{ rapport: number; nodemailer: number; adapter: number; dispatcher: number }> = []
  // Round 0 warms every side up and is not counted; the mails its dispatcher rendered are those
  // nodemailer and the adapter alone send in every round (the same templates, contacts and events).
  let rendered: ReadonlyArray<Mailer.OutgoingMail> = []
  let expected = ""
  const delivered = (mails: ReadonlyArray<string>) => [...mails].sort().join("\n")
  for (let round = 0; round <= options.rounds; round++) {
    const rapportServer = await startServer()
    const prepared = await prepare(rapportServer.port, options)
    const idle = await prepare("none", options)
    const sides: Record<"rapport" | "nodemailer" | "adapter" | "dispatcher", () => Promise<number>> = {
      rapport: () => rapportRun(prepared.crm, options),
      dispatcher: () => rapportRun(idle.crm, options),
      nodemailer: async () => {
        const server = await startServer()
        const seconds = await nodemailerRun(server.port, rendered, options)
        await server.close()
        if (delivered(server.mails) !== expected) throw new Error(`nodemailer delivered other mails than the dispatcher (${server.mails.length} of ${options.mails})`)
        return seconds
      },
      adapter: async () => {
        const server = await startServer()
        const seconds = await adapterRun(server.port, rendered, options)
        await server.close()
        if (delivered(server.mails) !== expected) throw new Error(`the adapter alone delivered other mails than the dispatcher (${server.mails.length} of ${options.mails})`)
        return seconds
      }
    }
    // The dispatcher goes first in the warm-up (its mails are the ones the others send); then the
    // order of the sides turns each round.
    const order = ["rapport", "nodemailer", "adapter", "dispatcher"] as const
    const turned = round === 0 ? order : [...order.slice(round % 4), ...order.slice(0, round % 4)]
    const times = { rapport: 0, nodemailer: 0, adapter: 0, dispatcher: 0 }
    for (const side of turned) {
      times[side] = await sides[side]()
      if (round === 0 && side === "rapport") {
        rendered = [...prepared.handed]
        expected = delivered(rapportServer.mails)
      }
    }
    await prepared.crm.close()
    await idle.crm.close()
    await rapportServer.close()
    if (rapportServer.mails.length !== options.mails || delivered(rapportServer.mails) !== expected) {
      throw new Error(`the dispatcher delivered ${rapportServer.mails.length} of ${options.mails} mails, or other mails than in the warm-up`)
    }
    if (round > 0) rounds.push(times)
  }
  const rate = (seconds: number) => options.mails / seconds
  const whole = (n: number) => Math.round(n).toLocaleString("en-US")
  const figures = (side: keyof (typeof rounds)[number]) => {
    const rates = rounds.map((r) => rate(r[side]))
    return `${whole(median(rates)).padStart(7)} mails/s   (range ${whole(Math.min(...rates))}–${whole(Math.max(...rates))}`
  }
  const ratios = (side: "rapport" | "adapter") => rounds.map((r) => r[side] / r.nodemailer)
  print(`  Rapport      ${figures("rapport")}; dispatcher + SMTP adapter: claim, render, send, outcome and timeline recorded)`)
  print(`  nodemailer   ${figures("nodemailer")}; the same rendered mails, all queued at once)`)
  print(`  ratio        ${median(ratios("rapport")).toFixed(2)}x nodemailer's time   (target: within 1.5x; rounds: ${ratios("rapport").map((r) => r.toFixed(2)).join(", ")})`)
  print(`  where the time goes:`)
  print(`    adapter alone      ${figures("adapter")}; SmtpMailer's send of the same mails, all at once) — ${median(ratios("adapter")).toFixed(2)}x nodemailer's time`)
  print(`    dispatcher alone   ${figures("dispatcher")}; the same jobs, a Mailer that answers at once)`)
  return { rounds, ratio: median(ratios("rapport")) }
}
