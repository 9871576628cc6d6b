/**
 * Rapport's Mailer over SMTP, with nodemailer: pooled connections, implicit TLS or STARTTLS,
 * authentication, DKIM signing, default sender and reply-to, and attachments.
 *
 * SMTP has no idempotency key, so the Message-ID does the job a key does at an HTTP provider: it
 * is derived from the job's idempotency key (`<sha256(key)@messageIdDomain>`), so a mail handed
 * over again after a crash carries the same Message-ID, which receiving systems use to drop
 * duplicates, and the job records that one id whichever attempt succeeded.
 *
 * Failures reach the dispatcher as `MailerError`: a 4xx reply, a refused or dropped connection, a
 * timeout, a TLS or authentication failure are `unavailable` (retried with backoff); a 5xx reply is
 * `rejected` with the server's code and text, and the job is dead-lettered at once with them.
 *
 * @since 0.7.0
 */
import { createHash } from "node:crypto"
import { Errors, Mailer as MailerPort, type MailerLayer, RapportValidationError } from "@rapport/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createTransport, type SendMailOptions, type SentMessageInfo, type Transporter } from "nodemailer"

/**
 * How Rapport connects to the SMTP server and signs and addresses its mail.
 *
 * @since 0.7.0
 * @category models
 */
export interface SmtpMailerOptions {
  /** The SMTP server's host name or IP address. */
  readonly host: string
  /** Default 465 with `secure`, else 587. */
  readonly port?: number | undefined
  /** Implicit TLS from the first byte (SMTPS, port 465). */
  readonly secure?: boolean | undefined
  /** Refuse to send unless the server upgrades the connection with STARTTLS (port 587). */
  readonly requireTLS?: boolean | undefined
  /** TLS settings: the server name to verify, extra trusted certificates, or (for a test server only) `rejectUnauthorized: false`. */
  readonly tls?:
    | {
        readonly servername?: string | undefined
        readonly ca?: string | ReadonlyArray<string> | undefined
        readonly rejectUnauthorized?: boolean | undefined
      }
    | undefined
  /** The account Rapport logs in with; the password may be an Effect `Redacted`. */
  readonly auth?: { readonly user: string; readonly pass: string | Redacted.Redacted<string> } | undefined
  /**
   * Pooled connections (the default, 5 connections, each replaced after 100 messages), or `false`
   * for one connection per mail.
   */
  readonly pool?: false | { readonly maxConnections?: number | undefined; readonly maxMessages?: number | undefined } | undefined
  /** Signs every mail with DKIM; publish the public key at `<keySelector>._domainkey.<domainName>`. */
  readonly dkim?:
    | {
        readonly domainName: string
        readonly keySelector: string
        /** The private key, PEM (PKCS#1 or PKCS#8). */
        readonly privateKey: string | Redacted.Redacted<string>
      }
    | undefined
  /** The sender of mails that name none (`"Shop" <hello@shop.example>`). */
  readonly from?: string | undefined
  /** The reply-to address of mails that name none. */
  readonly replyTo?: string | undefined
  /**
   * The domain of Message-IDs: your sending domain. Default: the DKIM domain, else the domain of
   * `from`.
   */
  readonly messageIdDomain?: string | undefined
  /** The host name given in EHLO (default: the machine's). */
  readonly name?: string | undefined
  /** How long to wait for the connection, the greeting, and each reply (defaults 10 s, 10 s and 60 s), in milliseconds. */
  readonly timeouts?: { readonly connection?: number | undefined; readonly greeting?: number | undefined; readonly socket?: number | undefined } | undefined
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

const domainOf = (address: string | undefined): string | undefined => {
  const match = address === undefined ? null : /@([^\s@<>]+?)>?\s*$/.exec(address)
  return match?.[1]
}

interface Settings {
  readonly transport: Parameters<typeof createTransport>[0]
  readonly from: string | undefined
  readonly replyTo: string | undefined
  readonly messageIdDomain: string
}

const positive = (value: number | undefined) => value === undefined || (Number.isSafeInteger(value) && value > 0)

/** The options checked, or every issue with them. */
const settingsOf = (options: SmtpMailerOptions): Either.Either<Settings, Errors.ValidationError> => {
  const issues: Array<Errors.ValidationIssue> = []
  const issue = (path: ReadonlyArray<string>, message: string) => issues.push({ path, message })
  if (typeof options.host !== "string" || options.host.trim() === "" || CONTROL.test(options.host)) issue(["host"], "must be the SMTP server's host name or IP address")
  if (options.port !== undefined && !(Number.isSafeInteger(options.port) && options.port >= 1 && options.port <= 65535)) issue(["port"], `must be a port number from 1 to 65535, got ${String(options.port)}`)
  if (options.secure === true && options.requireTLS === true) issue(["requireTLS"], "is STARTTLS on a plain connection; with secure (implicit TLS) the connection is encrypted already: set one of them")
  for (const field of ["from", "replyTo"] as const) {
    const value = options[field]
    if (value !== undefined && (value.trim() === "" || CONTROL.test(value) || !value.includes("@"))) issue([field], "must be one address, on one line, such as \"Shop\" <hello@shop.example>")
  }
  const pool = options.pool === false ? undefined : (options.pool ?? {})
  if (pool !== undefined) {
    if (!positive(pool.maxConnections)) issue(["pool", "maxConnections"], `must be a whole number above 0, got ${String(pool.maxConnections)}`)
    if (!positive(pool.maxMessages)) issue(["pool", "maxMessages"], `must be a whole number above 0, got ${String(pool.maxMessages)}`)
  }
  for (const key of ["connection", "greeting", "socket"] as const) {
    if (!positive(options.timeouts?.[key])) issue(["timeouts", key], `must be a whole number of milliseconds above 0, got ${String(options.timeouts?.[key])}`)
  }
  const dkim = options.dkim
  if (dkim !== undefined) {
    if (!HOSTNAME.test(dkim.domainName)) issue(["dkim", "domainName"], "must be the signing domain, such as shop.example")
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/.test(dkim.keySelector)) issue(["dkim", "keySelector"], "must be a selector such as rapport2026 (letters, digits, dots, dashes)")
    const key = Redacted.isRedacted(dkim.privateKey) ? Redacted.value(dkim.privateKey) : dkim.privateKey
    if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(key)) issue(["dkim", "privateKey"], "must be a private key in PEM form (-----BEGIN PRIVATE KEY----- …)")
  }
  const messageIdDomain = options.messageIdDomain ?? dkim?.domainName ?? domainOf(options.from)
  if (messageIdDomain === undefined) issue(["messageIdDomain"], "is needed when neither dkim nor from names a domain: Message-IDs are made from it")
  else if (!HOSTNAME.test(messageIdDomain)) issue(["messageIdDomain"], `must be a domain such as shop.example, got ${JSON.stringify(messageIdDomain).slice(0, 80)}`)
  if (issues.length > 0) return Either.left(Errors.ValidationError.fromIssues(issues, "Invalid SMTP mailer options"))
  const secret = (value: string | Redacted.Redacted<string>) => (Redacted.isRedacted(value) ? Redacted.value(value) : value)
  return Either.right({
    transport: {
      host: options.host,
      ...(options.port === undefined ? {} : { port: options.port }),
      secure: options.secure === true,
      requireTLS: options.requireTLS === true,
      ...(options.tls === undefined
        ? {}
        : {
            tls: {
              ...(options.tls.servername === undefined ? {} : { servername: options.tls.servername }),
              ...(options.tls.ca === undefined ? {} : { ca: typeof options.tls.ca === "string" ? options.tls.ca : [...options.tls.ca] }),
              ...(options.tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.tls.rejectUnauthorized })
            }
          }),
      ...(options.auth === undefined ? {} : { auth: { user: options.auth.user, pass: secret(options.auth.pass) } }),
      ...(pool === undefined ? {} : { pool: true, maxConnections: pool.maxConnections ?? 5, maxMessages: pool.maxMessages ?? 100 }),
      ...(dkim === undefined ? {} : { dkim: { domainName: dkim.domainName, keySelector: dkim.keySelector, privateKey: secret(dkim.privateKey) } }),
      ...(options.name === undefined ? {} : { name: options.name }),
      connectionTimeout: options.timeouts?.connection ?? 10_000,
      greetingTimeout: options.timeouts?.greeting ?? 10_000,
      socketTimeout: options.timeouts?.socket ?? 60_000,
      // Mails carry bytes only: nothing in a template may make nodemailer read a file or a URL.
      disableFileAccess: true,
      disableUrlAccess: true
    } as Parameters<typeof createTransport>[0],
    from: options.from,
    replyTo: options.replyTo,
    messageIdDomain: messageIdDomain!
  })
}

/**
 * The Message-ID of the mail with this idempotency key: `<` 40 hex digits of the key's SHA-256
 * `@domain>`. The same key always gives the same id.
 *
 * @since 0.7.0
 * @category utils
 */
export const messageIdFor = (idempotencyKey: string, domain: string): string =>
  `<${createHash("sha256").update(idempotencyKey, "utf8").digest("hex").slice(0, 40)}@${domain}>`

interface SmtpFailure {
  readonly message?: unknown
  readonly code?: unknown
  readonly responseCode?: unknown
  readonly response?: unknown
  readonly command?: unknown
  readonly permanent?: unknown
}

/**
 * What a nodemailer failure means to the dispatcher: a 5xx reply (but 503, a session out of step) is
 * `rejected`, with the reply; everything else (4xx replies, connection, TLS, timeouts,
 * authentication) is `unavailable`.
 */
const toMailerError = (error: unknown): MailerPort.MailerError => {
  const e: SmtpFailure = typeof error === "object" && error !== null ? (error as SmtpFailure) : {}
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined
  const reply = typeof e.response === "string" ? e.response.replace(/\s+/g, " ").trim().slice(0, 500) : undefined
  const what = typeof e.code === "string" ? e.code : "SMTP"
  const during = typeof e.command === "string" ? ` (after ${e.command.split(" ")[0]})` : ""
  const rejected = code !== undefined && (typeof e.permanent === "boolean" ? e.permanent : code >= 500 && code !== 503)
  const message =
    code !== undefined
      ? `the SMTP server answered ${reply ?? code}${during}`
      : `${what}: ${typeof e.message === "string" ? e.message : String(error)}`
  return new MailerPort.MailerError({ message, reason: rejected ? "rejected" : "unavailable", cause: error })
}

const make = (settings: Settings, transporter: Transporter<SentMessageInfo>): MailerPort.MailerService => ({
  send: (mail) =>
    Effect.gen(function* () {
      const from = mail.from ?? settings.from
      if (from === undefined) {
        return yield* new MailerPort.MailerError({ message: "the mail has no sender: set from in the SMTP mailer's options or in Rapport's mail settings", reason: "rejected" })
      }
      const replyTo = mail.replyTo ?? settings.replyTo
      const messageId = messageIdFor(mail.idempotencyKey, settings.messageIdDomain)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(mail.headers ?? {})) if (name.toLowerCase() !== "message-id") headers[name] = value
      const message: SendMailOptions = {
        from,
        to: mail.to,
        ...(replyTo === undefined ? {} : { replyTo }),
        subject: mail.subject,
        ...(mail.text === undefined ? {} : { text: mail.text }),
        ...(mail.html === undefined ? {} : { html: mail.html }),
        headers,
        messageId,
        ...(mail.attachments === undefined
          ? {}
          : {
              attachments: mail.attachments.map((a) => ({
                filename: a.filename,
                contentType: a.contentType,
                content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength)
              }))
            })
      }
      yield* Effect.tryPromise({ try: () => transporter.sendMail(message), catch: toMailerError })
      return { messageId }
    })
})

/** The transporter for the settings, closed (its pooled connections with it) when the scope ends. */
const scoped = (settings: Settings) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => createTransport(settings.transport) as Transporter<SentMessageInfo>),
      (transporter) => Effect.sync(() => transporter.close())
    ),
    (transporter) => MailerPort.Mailer.of(make(settings, transporter))
  )

/**
 * The Mailer over SMTP, for Effect users. Fails with a `ValidationError` naming each bad option.
 * Pooled connections are closed when the layer's scope ends.
 *
 * @example
 * ```ts
 * const MailerLive = SmtpMailer.layer({
 *   host: "smtp.shop.example", port: 587, requireTLS: true,
 *   auth: { user: "crm", pass: Redacted.make(process.env.SMTP_PASSWORD!) },
 *   from: '"Shop" <hello@shop.example>'
 * })
 * const CrmLive = Crm.layer.pipe(Layer.provide(MailerLive), Layer.provide(SqliteStorage.layer({ filename: "crm.db" })))
 * ```
 *
 * @since 0.7.0
 * @category layers
 */
export const layer = (options: SmtpMailerOptions): Layer.Layer<MailerPort.Mailer, Errors.ValidationError> =>
  Layer.scoped(MailerPort.Mailer, Effect.flatMap(settingsOf(options), scoped))

/**
 * The Mailer over SMTP for `createCrm({ mailer: smtpMailer({ … }) })`. Throws a
 * `RapportValidationError` naming each bad option at once; pooled connections are closed by
 * `crm.close()`.
 *
 * @example
 * ```ts
 * const crm = await createCrm({
 *   storage: sqliteStorage({ filename: "crm.db" }),
 *   mailer: smtpMailer({ host: "smtp.shop.example", requireTLS: true, auth: { user: "crm", pass: process.env.SMTP_PASSWORD! }, from: "hello@shop.example" })
 * })
 * ```
 *
 * @since 0.7.0
 * @category constructors
 */
export const smtpMailer = (options: SmtpMailerOptions): MailerLayer => {
  const settings = settingsOf(options)
  if (Either.isLeft(settings)) throw new RapportValidationError(settings.left)
  return { layer: Layer.scoped(MailerPort.Mailer, scoped(settings.right)) }
}
