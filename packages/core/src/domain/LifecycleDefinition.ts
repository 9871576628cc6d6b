/**
 * The lifecycle a workspace's contacts move through, as data: ordered stages, the criteria that
 * move a contact forward automatically, and whether moving back is allowed. Also the pure engine
 * that decides automatic progression. No I/O here: counts come from the caller.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { showValue } from "../internal/show.js"
import { SafeString } from "./Json.js"

/**
 * A stage key: an identifier such as `customer` or `marketingQualified`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageKey = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-zA-Z0-9_]{0,63}$/, {
    message: (issue) =>
      `must be a stage key: a lower-case letter then letters, digits or _ (max 64), got ${showValue(issue.actual)}`
  }),
  Schema.brand("StageKey"),
  Schema.annotations({ identifier: "StageKey" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type StageKey = typeof StageKey.Type

/**
 * An event type: dot-separated lower-camel words, e.g. `order.placed`, `referral.made`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventType = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-zA-Z0-9_-]*(?:\.[a-z][a-zA-Z0-9_-]*)+$/, {
    message: (issue) =>
      `must be an event type such as "order.placed" (dot-separated words), got ${showValue(issue.actual)}`
  }),
  Schema.maxLength(100),
  Schema.annotations({ identifier: "EventType" })
)

const PositiveInt = Schema.Int.pipe(Schema.positive())

/**
 * Automatic progression criteria:
 * - `events`: the contact has at least `atLeast` events of one of `types` (within the last
 *   `withinDays` days, when given);
 * - `orders`: the contact has placed at least `atLeast` distinct orders (within `withinDays`).
 *
 * Windows end at the instant of the event being processed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Criterion = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("events"),
    types: Schema.NonEmptyArray(EventType),
    atLeast: PositiveInt,
    withinDays: Schema.optional(PositiveInt)
  }),
  Schema.Struct({
    kind: Schema.Literal("orders"),
    atLeast: PositiveInt,
    withinDays: Schema.optional(PositiveInt)
  })
).annotations({ identifier: "Criterion" })

/**
 * @since 0.1.0
 * @category models
 */
export type Criterion = typeof Criterion.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Stage = Schema.Struct({
  key: StageKey,
  label: SafeString.pipe(Schema.minLength(1), Schema.maxLength(100)),
  /** Move contacts here automatically when this holds (and the stage's required fields are filled). */
  enterWhen: Schema.optional(Criterion)
}).annotations({ identifier: "Stage" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Stage extends Schema.Schema.Type<typeof Stage> {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const LifecycleDefinition = Schema.Struct({
  /** The preset this definition started from, for information. */
  preset: Schema.optional(SafeString),
  stages: Schema.NonEmptyArray(Stage),
  /** Whether a manual move may go to an earlier stage. Automatic progression never goes back. */
  allowBackward: Schema.Boolean
}).pipe(
  Schema.filter((def) => {
    const seen = new Set<string>()
    for (const [i, stage] of def.stages.entries()) {
      if (seen.has(stage.key)) return { path: ["stages", i, "key"], message: `stage "${stage.key}" appears twice` }
      seen.add(stage.key)
    }
    if (def.stages[0].enterWhen !== undefined) {
      return { path: ["stages", 0, "enterWhen"], message: "the first stage is where contacts start; it has no entry criterion" }
    }
    return true
  }),
  Schema.annotations({ identifier: "LifecycleDefinition" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type LifecycleDefinition = typeof LifecycleDefinition.Type

const stage = (key: string, label: string, enterWhen?: Criterion): Stage => ({
  key: StageKey.make(key),
  label,
  ...(enterWhen === undefined ? {} : { enterWhen })
})
const firstEvent = (...types: [string, ...Array<string>]): Criterion => ({ kind: "events", types, atLeast: 1 })
const orders = (atLeast: number, withinDays?: number): Criterion => ({
  kind: "orders",
  atLeast,
  ...(withinDays === undefined ? {} : { withinDays })
})

/**
 * The French small-business lifecycle (the default):
 * suspect (known of) → prospect (first `quote.sent`) → customer (first order) → loyal (2 orders)
 * → fan (3 orders within 90 days) → addict (12 orders within 365 days). Backward moves allowed
 * (a fan who stops buying can be moved back by hand).
 *
 * @since 0.1.0
 * @category constructors
 */
export const classic: LifecycleDefinition = {
  preset: "classic",
  allowBackward: true,
  stages: [
    stage("suspect", "Suspect"),
    stage("prospect", "Prospect", firstEvent("quote.sent")),
    stage("customer", "Customer", orders(1)),
    stage("loyal", "Loyal", orders(2)),
    stage("fan", "Fan", orders(3, 90)),
    stage("addict", "Addict", orders(12, 365))
  ]
}

/**
 * Relationship marketing: target → lead (opened an email or viewed a page) → prospect (first
 * `quote.sent`) → customer (first order) → ambassador (3 orders within 365 days) → referrer
 * (first `referral.made` event). Forward only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const relationship: LifecycleDefinition = {
  preset: "relationship",
  allowBackward: false,
  stages: [
    stage("target", "Target"),
    stage("lead", "Lead", firstEvent("email.opened", "page.viewed")),
    stage("prospect", "Prospect", firstEvent("quote.sent")),
    stage("customer", "Customer", orders(1)),
    stage("ambassador", "Ambassador", orders(3, 365)),
    stage("referrer", "Referrer", firstEvent("referral.made"))
  ]
}

/**
 * HubSpot-like: subscriber → lead (first `form.submitted`) → marketingQualified and
 * salesQualified (moved by hand or by rules) → opportunity (first `quote.sent`) → customer
 * (first order) → evangelist (first `referral.made`). Forward only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hubspot: LifecycleDefinition = {
  preset: "hubspot",
  allowBackward: false,
  stages: [
    stage("subscriber", "Subscriber"),
    stage("lead", "Lead", firstEvent("form.submitted")),
    stage("marketingQualified", "Marketing qualified lead"),
    stage("salesQualified", "Sales qualified lead"),
    stage("opportunity", "Opportunity", firstEvent("quote.sent")),
    stage("customer", "Customer", orders(1)),
    stage("evangelist", "Evangelist", firstEvent("referral.made"))
  ]
}

/**
 * The presets by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const presets = { classic, relationship, hubspot } as const

/**
 * @since 0.1.0
 * @category schemas
 */
export const PresetName = Schema.Literal("classic", "relationship", "hubspot")

/**
 * @since 0.1.0
 * @category models
 */
export type PresetName = typeof PresetName.Type

/**
 * Position of a stage in the definition, or -1 when it is not one of its stages.
 *
 * @since 0.1.0
 * @category utils
 */
export const indexOf = (def: LifecycleDefinition, key: string): number => def.stages.findIndex((s) => s.key === key)

/**
 * The stage new contacts start in.
 *
 * @since 0.1.0
 * @category utils
 */
export const initialStage = (def: LifecycleDefinition): StageKey => def.stages[0].key

/**
 * The stage keys, in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const stageKeys = (def: LifecycleDefinition): ReadonlyArray<StageKey> => def.stages.map((s) => s.key)

/**
 * Describes a criterion for timelines and reports: `3 orders within 90 days`.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeCriterion = (criterion: Criterion): string => {
  const window = criterion.withinDays === undefined ? "" : ` within ${criterion.withinDays} days`
  if (criterion.kind === "orders") {
    return `${criterion.atLeast} order${criterion.atLeast === 1 ? "" : "s"}${window}`
  }
  const types = criterion.types.join(" or ")
  return criterion.atLeast === 1 ? `first ${types}${window}` : `${criterion.atLeast} × ${types}${window}`
}

/**
 * The stages after `current` whose entry criterion holds, furthest first, given the counts the
 * caller measured for each criterion (`count(criterion)`). Automatic progression moves to the
 * first of them whose required fields are filled; it never returns `current` or an earlier stage,
 * so it never goes back.
 *
 * @since 0.1.0
 * @category utils
 */
export const satisfiedStages = (
  def: LifecycleDefinition,
  current: string,
  count: (criterion: Criterion) => number
): ReadonlyArray<Stage> => {
  const from = indexOf(def, current)
  const result: Array<Stage> = []
  for (let i = def.stages.length - 1; i > from; i--) {
    const candidate = def.stages[i]!
    if (candidate.enterWhen !== undefined && count(candidate.enterWhen) >= candidate.enterWhen.atLeast) {
      result.push(candidate)
    }
  }
  return result
}

/**
 * Whether an event of this type can change a criterion's count.
 *
 * @since 0.1.0
 * @category utils
 */
export const isAffectedBy = (criterion: Criterion, eventType: string): boolean =>
  criterion.kind === "orders" ? eventType === "order.placed" : criterion.types.includes(eventType)

const DAY_MS = 86_400_000

/**
 * The most instants (epoch milliseconds, ascending) that fall in one window of `withinDays` days,
 * the window being `(end - withinDays, end]`. This is what a windowed criterion is measured by:
 * "3 orders within 90 days" holds when some 90-day window holds 3 orders, whatever order the
 * orders were reported in.
 *
 * @since 0.1.0
 * @category utils
 */
export const busiestWindow = (times: ReadonlyArray<number>, withinDays: number): number => {
  const width = withinDays * DAY_MS
  let best = 0
  let start = 0
  for (let end = 0; end < times.length; end++) {
    while (times[start]! <= times[end]! - width) start++
    best = Math.max(best, end - start + 1)
  }
  return best
}

/**
 * The criteria a contact in `current` could still meet (those of later stages), so a caller
 * counts only what matters.
 *
 * @since 0.1.0
 * @category utils
 */
export const pendingCriteria = (def: LifecycleDefinition, current: string): ReadonlyArray<Criterion> =>
  def.stages.slice(indexOf(def, current) + 1).flatMap((s) => (s.enterWhen === undefined ? [] : [s.enterWhen]))
