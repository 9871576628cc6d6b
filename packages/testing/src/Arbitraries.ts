/**
 * fast-check arbitraries (the fast-check that `effect` ships, `effect/FastCheck`) for property
 * tests of an app's rules: contacts, events, and sequences of events over time, so a shop can check
 * "never two reminders for one cart" against its own rule set, on thousands of generated journeys.
 *
 * @example
 * ```ts
 * import { Arbitraries, createTestCrm } from "@rapport/testing"
 * import { FastCheck } from "effect"
 *
 * await FastCheck.assert(FastCheck.asyncProperty(Arbitraries.cartJourney(), async (journey) => {
 *   const crm = await createTestCrm()
 *   // …install your rules, play the journey, check the mails…
 *   await crm.close()
 * }))
 * ```
 *
 * @since 0.3.0
 */
import { Contact, type ContactCreate, type EmitInput } from "@rapport/core"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"

const first = ["Ada", "Bruno", "Claire", "Hugo", "Léa", "Marc", "Zoé", "Grace"]
const last = ["Martin", "Roux", "Moreau", "Lovelace", "Hopper", "Dupont"]

/**
 * A contact to create: a unique-looking email (`c<n>@example.com` style), names, and a source
 * derived from the `Source` Schema.
 *
 * @since 0.3.0
 * @category constructors
 */
export const contact = (): FastCheck.Arbitrary<ContactCreate> =>
  FastCheck.record({
    local: FastCheck.stringMatching(/^[a-z][a-z0-9]{2,10}$/),
    domain: FastCheck.constantFrom("example.com", "example.org", "shop.example"),
    firstName: FastCheck.option(FastCheck.constantFrom(...first), { nil: undefined }),
    lastName: FastCheck.option(FastCheck.constantFrom(...last), { nil: undefined }),
    source: Arbitrary.make(Contact.Source).filter((s) => s.channel.trim().length > 0 && s.channel.length <= 100 && (s.campaign ?? "").length <= 200)
  }).map(({ local, domain, firstName, lastName, source }) => ({
    email: `${local}@${domain}`,
    ...(firstName === undefined ? {} : { firstName }),
    ...(lastName === undefined ? {} : { lastName }),
    source: { channel: source.channel.trim(), campaign: source.campaign?.trim() || null }
  }))

/**
 * How to generate an event's payload, by event type.
 *
 * @since 0.3.0
 * @category models
 */
export type Payloads = Readonly<Record<string, FastCheck.Arbitrary<Readonly<Record<string, unknown>>>>>

/**
 * Payloads of the shop events: `cart.abandoned` (a `cartId` among a few), `order.placed` (an
 * order id and one line, the `cartId` it came from), `page.viewed` (a product URL and a colour).
 *
 * @since 0.3.0
 * @category constructors
 */
export const shopPayloads = (options: { readonly carts?: number } = {}): Payloads => {
  const cartId = FastCheck.integer({ min: 1, max: options.carts ?? 3 }).map((n) => `cart-${n}`)
  return {
    "cart.abandoned": FastCheck.record({ cartId }),
    "order.placed": FastCheck.record({
      cartId,
      orderId: FastCheck.uuid(),
      amount: FastCheck.integer({ min: 100, max: 50_000 })
    }).map(({ cartId, orderId, amount }) => ({
      cartId,
      orderId: `o-${orderId.slice(0, 8)}`,
      lines: [{ sku: "SKU-1", name: "Product", quantity: 1, unitPrice: { amountMinor: amount, currency: "EUR" } }]
    })),
    "page.viewed": FastCheck.record({ url: FastCheck.constantFrom("/shoes/red", "/shoes/blue", "/bags"), colour: FastCheck.constantFrom("red", "blue") })
  }
}

/**
 * One step of a journey: wait `after` (milliseconds), then emit `event`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Step {
  readonly after: number
  readonly event: EmitInput
}

/**
 * A sequence of events over time among `contacts` contacts (named by email, so the first event of
 * each creates it): each step waits up to `maxGap` (default 12 hours) and emits an event of one of
 * the payloads' types. Event ids are unique within the sequence, so every step is a new event.
 *
 * @since 0.3.0
 * @category constructors
 */
export const eventSequence = (options: {
  readonly payloads: Payloads
  readonly contacts?: number | undefined
  readonly minLength?: number | undefined
  readonly maxLength?: number | undefined
  readonly maxGap?: number | undefined
}): FastCheck.Arbitrary<ReadonlyArray<Step>> => {
  const types = Object.keys(options.payloads)
  if (types.length === 0) throw new Error("eventSequence needs at least one event type in payloads")
  const step = FastCheck.constantFrom(...types).chain((type) =>
    FastCheck.record({
      after: FastCheck.integer({ min: 0, max: options.maxGap ?? 12 * 3_600_000 }),
      contact: FastCheck.integer({ min: 1, max: options.contacts ?? 3 }),
      type: FastCheck.constant(type),
      payload: options.payloads[type]!
    })
  )
  return FastCheck.array(step, { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 30 }).map((steps) =>
    steps.map((s, i) => ({
      after: s.after,
      event: { id: `gen-${i + 1}`, type: s.type, email: `customer${s.contact}@example.com`, payload: s.payload as EmitInput["payload"] }
    }))
  )
}

/**
 * Shop journeys: contacts viewing products, abandoning carts (often the same cart several times)
 * and sometimes ordering, hours apart.
 *
 * @since 0.3.0
 * @category constructors
 */
export const cartJourney = (options: { readonly contacts?: number; readonly carts?: number; readonly maxLength?: number } = {}) =>
  eventSequence({ payloads: shopPayloads({ carts: options.carts ?? 3 }), contacts: options.contacts ?? 3, maxLength: options.maxLength ?? 25 })
