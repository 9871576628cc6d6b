/**
 * A CRM for testing an app's own rules with the Promise client: in memory, on a virtual clock, with
 * a Mailer that keeps every mail. `await crm.clock.advance("1 day")` moves time forward and runs
 * every job at the moment it falls due, so a reminder at D+1 is tested in milliseconds — what
 * Effect's `TestClock` gives Effect users.
 *
 * @example
 * ```ts
 * const crm = await createTestCrm()
 * await crm.rules.create(abandonedCartRule)
 * await crm.events.emit({ type: "cart.abandoned", email: "ada@example.com", payload: { cartId: "c-1" } })
 * await crm.clock.advance("1 day")
 * expect(crm.mails.sent().map((m) => m.subject)).toEqual(["Your cart is waiting"])
 * await crm.close()
 * ```
 *
 * @since 0.3.0
 */
import {
  createCrm,
  type CrmClient,
  type CustomActionHandler,
  type DispatchReport,
  IdGenerator,
  Mailer,
  type MailerProvider,
  type Webhooks
} from "@rapport/core"
import { memoryStorage } from "@rapport/sqlite"
import { manualClock } from "./ManualClock.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * @since 0.3.0
 * @category models
 */
export interface TestCrmOptions {
  /** Where the virtual clock starts (default 2025-01-06T09:00:00Z, a Monday morning). */
  readonly start?: string | Date | undefined
  /** The workspace of the client (default `default`). */
  readonly workspace?: string | undefined
  /**
   * Mail settings (default: a test unsubscribe URL and secret, so marketing mail can be sent, and a
   * test confirmation URL, so double opt-in can be requested).
   */
  readonly mail?: Mailer.MailSettingsService | undefined
  /** Custom actions your rules call. */
  readonly actions?: Readonly<Record<string, CustomActionHandler>> | undefined
  /** Ids (default: sequential, so two runs of a test make the same ids). */
  readonly ids?: IdGenerator.IdGeneratorService | undefined
  /**
   * Outbound webhook settings (default: none). A test whose receiver listens on 127.0.0.1 allows
   * it here (`allowPrivateNetworks: true`) or on its subscription.
   *
   * @since 0.6.0
   */
  readonly webhooks?: Webhooks.WebhookSettingsService | undefined
  /**
   * A real mailer to hand mails to (an SMTP layer to a test server, say): the test CRM still
   * records every hand-over in `mails`, and the mailer's receipt and failures reach the jobs.
   *
   * @since 0.7.0
   */
  readonly mailer?: MailerProvider | undefined
}

/**
 * What the virtual clock does.
 *
 * @since 0.3.0
 * @category models
 */
export interface VirtualClock {
  /** The current virtual instant, ISO-8601. */
  now(): string
  /**
   * Moves time forward by a duration (`"1 day"`, `"90 minutes"`, or milliseconds), running the
   * jobs of every workspace at the moment each falls due; resolves with what they did.
   */
  advance(duration: Duration.DurationInput): Promise<DispatchReport>
  /** Moves time forward to an instant (never back), running what falls due on the way. */
  advanceTo(instant: string | Date): Promise<DispatchReport>
}

/**
 * A mail the test Mailer received, with when it was sent (virtual time).
 *
 * @since 0.3.0
 * @category models
 */
export interface SentMail extends Mailer.OutgoingMail {
  readonly sentAt: string
}

/**
 * A Promise client with a virtual clock and the mails it sent.
 *
 * @since 0.3.0
 * @category models
 */
export interface TestCrm extends CrmClient {
  readonly clock: VirtualClock
  readonly mails: {
    /** Mails sent so far, in order; a mail sent again under the same idempotency key is kept once, as a careful provider would. */
    sent(): ReadonlyArray<SentMail>
    /** Every hand-over to the Mailer, retries included. */
    attempts(): ReadonlyArray<SentMail>
    /** Forgets the mails so far. */
    clear(): void
  }
}

const DEFAULT_START = "2025-01-06T09:00:00.000Z"

const toMillis = (instant: string | Date) => {
  const ms = instant instanceof Date ? instant.getTime() : Date.parse(instant)
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${String(instant)}`)
  return ms
}

const add = (a: DispatchReport, b: DispatchReport): DispatchReport => ({
  claimed: a.claimed + b.claimed,
  done: a.done + b.done,
  skipped: a.skipped + b.skipped,
  retried: a.retried + b.retried,
  dead: a.dead + b.dead,
  lost: a.lost + b.lost
})

/**
 * Creates a test CRM: memory storage, a virtual clock, a Mailer that keeps mails, sequential ids.
 * Nothing runs by itself: `clock.advance` runs what falls due (as does `dispatcher.runDue()`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const createTestCrm = async (options: TestCrmOptions = {}): Promise<TestCrm> => {
  const time = manualClock(options.start ?? DEFAULT_START)
  const attempts: Array<SentMail> = []
  const record = (mail: Mailer.OutgoingMail) => Effect.sync(() => void attempts.push({ ...mail, sentAt: time.now() }))
  const given = options.mailer
  const mailer =
    given === undefined
      ? {
          layer: Layer.succeed(
            Mailer.Mailer,
            Mailer.Mailer.of({ send: (mail) => Effect.as(record(mail), { messageId: `test-${mail.idempotencyKey}` }) })
          )
        }
      : "layer" in given
        ? {
            layer: Layer.effect(
              Mailer.Mailer,
              Effect.map(Mailer.Mailer, (inner) => Mailer.Mailer.of({ send: (mail) => Effect.zipRight(record(mail), inner.send(mail)) }))
            ).pipe(Layer.provide(given.layer))
          }
        : { send: async (mail: Mailer.OutgoingMail) => (attempts.push({ ...mail, sentAt: time.now() }), given.send(mail)) }
  const crm = await createCrm({
    storage: memoryStorage(),
    mailer,
    clock: time.clock,
    mail: options.mail ?? {
      from: "test@rapport.example",
      unsubscribe: { url: "https://test.example/unsubscribe?token={token}", secret: "rapport-test-secret" },
      confirmation: { url: "https://test.example/consent/confirm?token={token}" }
    },
    ids: options.ids ?? IdGenerator.makeSequential(),
    ...(options.actions === undefined ? {} : { actions: options.actions }),
    ...(options.webhooks === undefined ? {} : { webhooks: options.webhooks }),
    ...(options.workspace === undefined ? {} : { workspace: options.workspace })
  })

  const everywhere = { workspaces: "all" as const }
  const runUntil = async (target: number): Promise<DispatchReport> => {
    let report = await crm.dispatcher.runDue(everywhere)
    for (;;) {
      const next = await crm.dispatcher.nextDue(everywhere)
      if (next === null || Date.parse(next) > target) break
      time.advanceTo(next)
      report = add(report, await crm.dispatcher.runDue(everywhere))
    }
    time.advanceTo(new Date(target))
    return add(report, await crm.dispatcher.runDue(everywhere))
  }

  const clock: VirtualClock = {
    now: () => time.now(),
    advance: (duration) => runUntil(Date.parse(time.now()) + Duration.toMillis(Duration.decode(duration))),
    advanceTo: (instant) => runUntil(toMillis(instant))
  }
  const unique = () => {
    const seen = new Set<string>()
    return attempts.filter((m) => (seen.has(m.idempotencyKey) ? false : (seen.add(m.idempotencyKey), true)))
  }
  return Object.assign(Object.create(null) as object, crm, {
    clock,
    mails: { sent: unique, attempts: () => [...attempts], clear: () => void attempts.splice(0) }
  }) as TestCrm
}
