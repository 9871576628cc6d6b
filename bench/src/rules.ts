// Rule evaluation, three ways on one generated workload: Rapport's compiled rules
// (Rule.compileRules, then Rule.matches on each enabled rule of the event's type); the same rules
// in json-rules-engine, the usual JSON rules engine of Node (one Engine per event type, the facts
// of each event passed to engine.run); and the same rules as the plain functions a developer would
// write by hand, indexed by event type in a Map (the limit: nothing is interpreted at run time).
//
// The workload is drawn from a seeded generator, so every run is the same: rules over 20 event
// types, each `{ all: [2 to 4 conditions] }` — eq/ne on strings, gt/gte/lt/lte on numbers, in and
// notIn lists, contains on tags or a multi-select field, startsWith on the email, exists, payload
// comparisons, some of them `any` of two or `not` — and events over a few thousand contacts.
// Each rule is written once as a Rapport condition; the json-rules-engine rule and the
// hand-written function are translations of it. One rule in its three forms:
//
//   Rapport            { all: [{ path: "contact.score", op: "gt", value: 40 },
//                              { not: { path: "contact.tags", op: "contains", value: "vip" } }] }
//   json-rules-engine  { all: [{ fact: "contact.score", operator: "greaterThan", value: 40 },
//                              { not: { fact: "contact.tags", operator: "contains", value: "vip" } }] }
//   by hand            (c) => c.contact.score > 40 && !c.contact.tags.includes("vip")
//
// A thousand hand-written functions cannot be typed out here, so they are made from the rules
// once, as source text (`new Function`), before anything is timed: what runs is the function a
// developer would have written, not an interpreter.
//
// The three must agree: Rapport and the functions find the same number of (event, rule) matches
// over all events, json-rules-engine the same as Rapport on the events it runs (it is async and
// far slower, so it runs on the first BENCH_PEER_EVENTS events only). Per engine: two untimed
// warm-up passes, the first of which checks the answers, then rounds alternating the order;
// events/s are medians of wall-clock times, ratios the medians of each round's ratio.
import { Condition, Contact, Email, FieldDefinition, Ids, LifecycleDefinition, Rule } from "@rapport/core"
import * as DateTime from "effect/DateTime"
import { Engine, type RuleProperties, type TopLevelCondition } from "json-rules-engine"
import { median, random } from "./stats.js"

export interface Options {
  /** Rules, spread evenly over the event types. */
  readonly rules: number
  /** Events evaluated by Rapport and by the hand-written functions, per round. */
  readonly events: number
  /** The first events, evaluated by json-rules-engine, per round. */
  readonly peerEvents: number
  readonly rounds: number
}

export interface Round {
  readonly rapportMs: number
  readonly closuresMs: number
  readonly peerMs: number
}

export interface Result {
  readonly rules: number
  readonly eventTypes: number
  readonly events: number
  readonly contacts: number
  readonly peerEvents: number
  readonly rounds: ReadonlyArray<Round>
  /** (event, rule) matches over all events, the same for Rapport and the functions. */
  readonly matches: number
  /** Matches over the first `peerEvents` events, the same for Rapport and json-rules-engine. */
  readonly peerMatches: number
  readonly rapportPerSecond: number
  readonly closuresPerSecond: number
  readonly peerPerSecond: number
  /** Rapport's time over the functions' time on all events: the median of the rounds' ratios. */
  readonly ratio: number
  /** Rapport's events/s over json-rules-engine's: the median of the rounds' factors. */
  readonly peerFactor: number
  /** Making the rule sets from the rules, once (not compared). */
  readonly compileMs: { readonly rapport: number; readonly peer: number; readonly closures: number }
}

const WORKSPACE = Ids.WorkspaceId.make("bench")
const CONTACTS = 5_000
const NOW = Date.parse("2026-01-01T00:00:00.000Z")
const EPOCH = DateTime.unsafeMake(Date.parse("2025-01-01T00:00:00.000Z"))
const NO_COUNTS: ReadonlyArray<number> = []

/** Untimed passes per engine before the rounds; the first also checks that the three agree. */
export const warmUps = 2

// --- the vocabulary

const EVENT_TYPES = [
  "page.viewed", "email.opened", "email.clicked", "form.submitted", "cart.abandoned",
  "order.placed", "order.refunded", "quote.sent", "quote.accepted", "trial.started",
  "trial.ended", "subscription.renewed", "subscription.cancelled", "webinar.registered", "webinar.attended",
  "support.ticketOpened", "review.posted", "referral.made", "app.installed", "invoice.paid"
] as const
/** How many event types the rules react to. */
export const eventTypes = EVENT_TYPES.length
const STAGES = LifecycleDefinition.stageKeys(LifecycleDefinition.classic)
const CHANNELS = ["website", "referral", "trade-show", "ads", "partner", "import"] as const
const PLANS = ["free", "starter", "pro", "enterprise"] as const
const COUNTRIES = ["FR", "DE", "US", "GB", "ES", "IT", "NL", "BE"] as const
const INTERESTS = ["pricing", "security", "api", "mobile", "reporting", "integrations", "training", "support"] as const
const TAGS = ["vip", "newsletter", "beta", "churn-risk", "partner", "press", "investor", "event-2025", "webinar", "trial", "upsell", "dormant"] as const
const FIRST_NAMES = ["anna", "andrew", "marie", "martin", "julia", "james", "sophie", "samuel", "lucas", "laura", "paul", "petra", "chloe", "carlos", "emma", "ethan"] as const
const LAST_NAMES = ["smith", "martin", "durand", "muller", "rossi", "garcia", "jones", "bernard", "weber", "lopez"] as const
const DOMAINS = ["example.com", "mail.fr", "corp.io", "shop.de", "agency.co.uk"] as const
const CURRENCIES = ["EUR", "USD", "GBP", "CHF"] as const
const PAGES = ["/", "/pricing", "/docs", "/blog", "/signup", "/contact", "/features"] as const
const CAMPAIGNS = ["spring", "summer", "black-friday", "newsletter", "retargeting"] as const
const PAYLOAD_KEYS = ["amount", "currency", "page", "items", "campaign"] as const
type PayloadKey = (typeof PAYLOAD_KEYS)[number]

const choicesOf = (values: ReadonlyArray<string>) => values.map((value) => ({ value, label: value }))
const field = (key: string, type: FieldDefinition.FieldType, choices: ReadonlyArray<string> = []) =>
  new FieldDefinition.FieldDefinition({
    workspaceId: WORKSPACE,
    entity: "contact",
    key: FieldDefinition.FieldKey.make(key),
    label: key,
    type,
    options: choicesOf(choices),
    required: "never",
    unique: false,
    description: null,
    position: 0,
    version: 1,
    createdAt: EPOCH,
    updatedAt: EPOCH
  })

const FIELDS: ReadonlyArray<FieldDefinition.FieldDefinition> = [
  field("plan", "select", PLANS),
  field("employees", "integer"),
  field("country", "text"),
  field("interests", "multiSelect", INTERESTS),
  field("ltv", "number")
]

/**
 * What a condition can read, and how each side reads it: `js` is the expression a hand-written
 * function uses, `optional` says it may be missing (or, for the email, null).
 */
interface Attribute {
  readonly path: string
  readonly js: string
  readonly optional: boolean
  readonly kind: "text" | "number" | "list"
  readonly values?: ReadonlyArray<string>
  readonly range?: readonly [number, number]
  readonly payload?: PayloadKey
}

const ATTRIBUTES: ReadonlyArray<Attribute> = [
  { path: "contact.email", js: "c.contact.email", optional: true, kind: "text" },
  { path: "contact.stage", js: "c.contact.stage", optional: false, kind: "text", values: STAGES },
  { path: "contact.source.channel", js: "c.contact.source.channel", optional: false, kind: "text", values: CHANNELS },
  { path: "contact.tags", js: "c.contact.tags", optional: false, kind: "list", values: TAGS },
  { path: "contact.score", js: "c.contact.score", optional: false, kind: "number", range: [0, 100] },
  { path: "contact.fields.plan", js: "c.contact.fields.plan", optional: true, kind: "text", values: PLANS },
  { path: "contact.fields.employees", js: "c.contact.fields.employees", optional: true, kind: "number", range: [1, 2_000] },
  { path: "contact.fields.country", js: "c.contact.fields.country", optional: true, kind: "text", values: COUNTRIES },
  { path: "contact.fields.interests", js: "c.contact.fields.interests", optional: true, kind: "list", values: INTERESTS },
  { path: "contact.fields.ltv", js: "c.contact.fields.ltv", optional: true, kind: "number", range: [0, 10_000] },
  { path: "event.payload.amount", js: "c.event.payload.amount", optional: true, kind: "number", range: [0, 2_000], payload: "amount" },
  { path: "event.payload.currency", js: "c.event.payload.currency", optional: true, kind: "text", values: CURRENCIES, payload: "currency" },
  { path: "event.payload.page", js: "c.event.payload.page", optional: true, kind: "text", values: PAGES, payload: "page" },
  { path: "event.payload.items", js: "c.event.payload.items", optional: true, kind: "number", range: [1, 10], payload: "items" },
  { path: "event.payload.campaign", js: "c.event.payload.campaign", optional: true, kind: "text", values: CAMPAIGNS, payload: "campaign" }
]
const BY_PATH = new Map(ATTRIBUTES.map((a) => [a.path, a]))
const attribute = (path: string) => {
  const found = BY_PATH.get(path)
  if (found === undefined) throw new Error(`no attribute ${path}`)
  return found
}

// --- the workload

type Next = () => number

interface Workload {
  readonly rules: ReadonlyArray<Rule.Rule>
  readonly contacts: ReadonlyArray<Contact.Contact>
  readonly events: ReadonlyArray<Condition.EventView>
  /** The contact of each event, by index. */
  readonly contactOf: ReadonlyArray<Contact.Contact>
}

const pick = <A>(next: Next, values: ReadonlyArray<A>): A => values[Math.floor(next() * values.length)]!
const between = (next: Next, [low, high]: readonly [number, number]) => low + Math.floor(next() * (high - low + 1))
const some = <A>(next: Next, values: ReadonlyArray<A>, min: number, max: number): Array<A> => {
  const shuffled = [...values]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  return shuffled.slice(0, min + Math.floor(next() * (max - min + 1)))
}

/** The payload keys each event type carries (2 to 4 of them). */
const payloadKeys = (next: Next): ReadonlyMap<string, ReadonlyArray<PayloadKey>> =>
  new Map(
    EVENT_TYPES.map((type) => {
      const chosen = some(next, PAYLOAD_KEYS, 2, 4)
      return [type, PAYLOAD_KEYS.filter((key) => chosen.includes(key))] as const
    })
  )

const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`

const makeContacts = (next: Next): Array<Contact.Contact> =>
  Array.from({ length: CONTACTS }, (_, i) => {
    const first = pick(next, FIRST_NAMES)
    const last = pick(next, LAST_NAMES)
    const fields: Record<string, unknown> = {}
    if (next() < 0.9) fields["plan"] = pick(next, PLANS)
    if (next() < 0.75) fields["employees"] = Math.round(Math.exp(next() * Math.log(2_000)))
    if (next() < 0.85) fields["country"] = pick(next, COUNTRIES)
    if (next() < 0.6) fields["interests"] = some(next, INTERESTS, 1, 3)
    if (next() < 0.7) fields["ltv"] = Math.round(next() * 1_000_000) / 100
    const seen = DateTime.unsafeMake(NOW - Math.floor(next() * 400) * 86_400_000)
    const email = next() < 0.08 ? null : Email.Email.make(`${first}.${last}${i}@${pick(next, DOMAINS)}`)
    return new Contact.Contact({
      id: Ids.ContactId.make(uuid(i + 1)),
      workspaceId: WORKSPACE,
      email,
      firstName: first,
      lastName: last,
      phone: null,
      emails: email === null ? [] : [{ value: email, label: null }],
      phones: [],
      companyId: null,
      source: { channel: pick(next, CHANNELS), campaign: null },
      firstSeenAt: seen,
      stage: pick(next, STAGES),
      tags: TAGS.filter(() => next() < 0.2),
      ownerId: null,
      score: between(next, [0, 100]),
      timezone: null,
      fields,
      version: 1,
      createdAt: seen,
      updatedAt: seen
    })
  })

const makeEvents = (next: Next, count: number, contacts: ReadonlyArray<Contact.Contact>, keys: ReadonlyMap<string, ReadonlyArray<PayloadKey>>) => {
  const events: Array<Condition.EventView> = []
  const contactOf: Array<Contact.Contact> = []
  const start = NOW - count * 1_000
  for (let i = 0; i < count; i++) {
    const type = pick(next, EVENT_TYPES)
    const payload: Record<string, unknown> = {}
    for (const key of keys.get(type)!) {
      if (next() < 0.1) continue // now and then a key is missing
      if (key === "amount") payload[key] = Math.round(next() * 200_000) / 100
      else if (key === "items") payload[key] = between(next, [1, 10])
      else if (key === "currency") payload[key] = pick(next, CURRENCIES)
      else if (key === "page") payload[key] = pick(next, PAGES)
      else payload[key] = pick(next, CAMPAIGNS)
    }
    const at = DateTime.unsafeMake(start + i * 1_000)
    events.push({ id: `event-${i}`, type, occurredAt: at, receivedAt: at, payload })
    contactOf.push(pick(next, contacts))
  }
  return { events, contactOf }
}

/** One comparison on what an event of this type can read (now and then a payload key it lacks). */
const comparison = (next: Next, payload: ReadonlyArray<PayloadKey>): Condition.Comparison => {
  const readable = (a: Attribute) => a.payload === undefined || payload.includes(a.payload) || next() < 0.1
  const of = (kind: Attribute["kind"], filter: (a: Attribute) => boolean = () => true) =>
    pick(next, ATTRIBUTES.filter((a) => a.kind === kind && filter(a) && readable(a)))
  const kind = next()
  if (kind < 0.25) {
    const a = of("text", (a) => a.values !== undefined)
    return { path: a.path, op: next() < 0.1 ? "ne" : "eq", value: pick(next, a.values!) }
  }
  if (kind < 0.5) {
    const a = of("number")
    return { path: a.path, op: pick(next, ["gt", "gte", "lt", "lte"] as const), value: between(next, a.range!) }
  }
  if (kind < 0.65) {
    const a = of("text", (a) => a.values !== undefined)
    return { path: a.path, op: next() < 0.15 ? "notIn" : "in", value: some(next, a.values!, 2, 4) }
  }
  if (kind < 0.8) {
    const a = next() < 0.7 ? attribute("contact.tags") : attribute("contact.fields.interests")
    return { path: a.path, op: "contains", value: pick(next, a.values!) }
  }
  if (kind < 0.93) return { path: "contact.email", op: "startsWith", value: pick(next, FIRST_NAMES).slice(0, 1 + Math.floor(next() * 3)) }
  return { path: pick(next, ["contact.fields.plan", "contact.fields.employees", "contact.fields.interests", "event.payload.campaign"]), op: "exists" }
}

const condition = (next: Next, payload: ReadonlyArray<PayloadKey>): Condition.Condition => {
  const size = 2 + Math.floor(next() * 3)
  const parts: Array<Condition.Condition> = []
  for (let i = 0; i < size; i++) {
    const roll = next()
    if (roll < 0.15) parts.push({ any: [comparison(next, payload), comparison(next, payload)] })
    else if (roll < 0.27) parts.push({ not: comparison(next, payload) })
    else parts.push(comparison(next, payload))
  }
  return { all: parts }
}

const makeWorkload = (ruleCount: number, eventCount: number): Workload => {
  const next = random(20260101)
  const keys = payloadKeys(next)
  const registry: Condition.Registry = { fields: FIELDS, stages: STAGES, event: true }
  const rules = Array.from({ length: ruleCount }, (_, i) => {
    const on = EVENT_TYPES[i % EVENT_TYPES.length]!
    const when = condition(next, keys.get(on)!)
    const issues = Condition.check(when, registry)
    if (issues.length > 0) throw new Error(`generated rule ${i} does not check: ${JSON.stringify(issues)}`)
    return new Rule.Rule({
      id: Ids.RuleId.make(`rule-${String(i + 1).padStart(5, "0")}`),
      workspaceId: WORKSPACE,
      name: `Rule ${i + 1}`,
      on,
      when,
      unless: null,
      delay: null,
      actions: [{ type: "addTag", tag: `r${i + 1}` }],
      variants: null,
      goal: null,
      limits: {},
      enabled: true,
      version: 1,
      createdAt: EPOCH,
      updatedAt: EPOCH
    })
  })
  const contacts = makeContacts(next)
  return { rules, contacts, ...makeEvents(next, eventCount, contacts, keys) }
}

// --- json-rules-engine: the same rules, one Engine per event type

type JreCondition = Extract<TopLevelCondition, { all: unknown }>["all"][number]

const OPERATORS: Readonly<Record<Exclude<Condition.Operator, "exists">, string>> = {
  eq: "equal",
  ne: "notEqual",
  gt: "greaterThan",
  gte: "greaterThanInclusive",
  lt: "lessThan",
  lte: "lessThanInclusive",
  in: "in",
  notIn: "notIn",
  contains: "contains",
  startsWith: "startsWith" // added to each engine below
}

const toJre = (c: Condition.Condition): JreCondition => {
  if ("all" in c) return { all: c.all.map(toJre) }
  if ("any" in c) return { any: c.any.map(toJre) }
  if ("not" in c) return { not: toJre(c.not) }
  if ("count" in c || !("op" in c)) throw new Error(`the workload has no ${JSON.stringify(c)}`)
  // Missing facts are given as null (see `facts`), so "exists" is "not equal to null".
  if (c.op === "exists") return { fact: c.path, operator: "notEqual", value: null }
  return { fact: c.path, operator: OPERATORS[c.op], value: c.value }
}

/** The facts of one event, as a json-rules-engine user passes them to engine.run. */
const facts = (contact: Contact.Contact, event: Condition.EventView) => {
  const f = contact.fields
  const p = event.payload
  return {
    "contact.email": contact.email,
    "contact.stage": contact.stage,
    "contact.source.channel": contact.source.channel,
    "contact.tags": contact.tags,
    "contact.score": contact.score,
    "contact.fields.plan": f["plan"] ?? null,
    "contact.fields.employees": f["employees"] ?? null,
    "contact.fields.country": f["country"] ?? null,
    "contact.fields.interests": f["interests"] ?? null,
    "contact.fields.ltv": f["ltv"] ?? null,
    "event.payload.amount": p["amount"] ?? null,
    "event.payload.currency": p["currency"] ?? null,
    "event.payload.page": p["page"] ?? null,
    "event.payload.items": p["items"] ?? null,
    "event.payload.campaign": p["campaign"] ?? null
  }
}

const peerEngines = (rules: ReadonlyArray<Rule.Rule>): ReadonlyMap<string, Engine> => {
  const byType = new Map<string, Array<RuleProperties>>()
  for (const rule of rules) {
    const list = byType.get(rule.on) ?? []
    const conditions = toJre(rule.when!)
    list.push({ name: rule.id, conditions: "fact" in conditions ? { all: [conditions] } : conditions, event: { type: rule.id } })
    byType.set(rule.on, list)
  }
  return new Map(
    [...byType].map(([type, list]) => {
      const engine = new Engine(list)
      engine.addOperator<unknown, string>("startsWith", (a, b) => typeof a === "string" && a.startsWith(b))
      return [type, engine] as const
    })
  )
}

// --- by hand: the same rules as plain functions

const js = (c: Condition.Condition): string => {
  if ("all" in c) return `(${c.all.map(js).join(" && ")})`
  if ("any" in c) return `(${c.any.map(js).join(" || ")})`
  if ("not" in c) return `!(${js(c.not)})`
  if ("count" in c || !("op" in c)) throw new Error(`the workload has no ${JSON.stringify(c)}`)
  const a = attribute(c.path)
  const v = JSON.stringify(c.value)
  switch (c.op) {
    case "eq":
      return `${a.js} === ${v}`
    case "ne":
      return `${a.js} !== ${v}`
    case "gt":
      return `${a.js} > ${v}`
    case "gte":
      return `${a.js} >= ${v}`
    case "lt":
      return `${a.js} < ${v}`
    case "lte":
      return `${a.js} <= ${v}`
    case "in":
    case "notIn": {
      const either = `(${(c.value as ReadonlyArray<Condition.Scalar>).map((x) => `${a.js} === ${JSON.stringify(x)}`).join(" || ")})`
      return c.op === "in" ? either : `!${either}`
    }
    case "contains":
      return a.optional ? `${a.js}?.includes(${v}) === true` : `${a.js}.includes(${v})`
    case "startsWith":
      return a.optional ? `${a.js}?.startsWith(${v}) === true` : `${a.js}.startsWith(${v})`
    case "exists":
      return `${a.js} != null`
  }
}

type Predicate = (c: Condition.Context) => boolean
const NONE: ReadonlyArray<Predicate> = []

const handWritten = (rules: ReadonlyArray<Rule.Rule>): ReadonlyMap<string, ReadonlyArray<Predicate>> => {
  const byType = new Map<string, Array<Predicate>>()
  for (const rule of [...rules].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const list = byType.get(rule.on) ?? []
    list.push(new Function("c", `return ${js(rule.when!)}`) as Predicate)
    byType.set(rule.on, list)
  }
  return byType
}

// --- the three loops: each returns the number of (event, rule) matches over the first `n` events

const viaRapport = (set: Rule.RuleSet, w: Workload, n: number) => {
  let matched = 0
  for (let i = 0; i < n; i++) {
    const event = w.events[i]!
    const context: Condition.Context = { contact: w.contactOf[i]!, event, now: NOW, counts: NO_COUNTS }
    for (const rule of set.forType(event.type)) if (Rule.matches(rule, context)) matched++
  }
  return matched
}

const viaClosures = (byType: ReadonlyMap<string, ReadonlyArray<Predicate>>, w: Workload, n: number) => {
  let matched = 0
  for (let i = 0; i < n; i++) {
    const event = w.events[i]!
    const context: Condition.Context = { contact: w.contactOf[i]!, event, now: NOW, counts: NO_COUNTS }
    for (const test of byType.get(event.type) ?? NONE) if (test(context)) matched++
  }
  return matched
}

const viaPeer = async (engines: ReadonlyMap<string, Engine>, w: Workload, n: number) => {
  let matched = 0
  for (let i = 0; i < n; i++) {
    const event = w.events[i]!
    const engine = engines.get(event.type)
    if (engine === undefined) continue
    matched += (await engine.run(facts(w.contactOf[i]!, event))).events.length
  }
  return matched
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6
const timed = <A>(f: () => A): readonly [A, number] => {
  const start = process.hrtime.bigint()
  const a = f()
  return [a, ms(start)]
}

const count = (n: number) => n.toLocaleString("en-US")
const format = (n: number) => Math.round(n).toLocaleString("en-US")

/** Makes the workload, checks that the three agree, then times them; lines are reported as they come. */
export const run = async (options: Options, report: (line: string) => void): Promise<Result> => {
  const { rules: ruleCount, events: eventCount, rounds: roundCount } = options
  const peerEvents = Math.max(1, Math.min(options.peerEvents, eventCount))
  const [w, makeMs] = timed(() => makeWorkload(ruleCount, eventCount))
  report(`  ${"workload".padEnd(18)}${count(ruleCount)} rules, ${count(w.contacts.length)} contacts, ${count(eventCount)} events made in ${(makeMs / 1000).toFixed(1)} s (seeded; not compared)`)

  const [set, rapportCompileMs] = timed(() => Rule.compileRules(w.rules, { fields: FIELDS, stages: STAGES }))
  const [engines, peerCompileMs] = timed(() => peerEngines(w.rules))
  const [closures, closuresCompileMs] = timed(() => handWritten(w.rules))
  if (set.size !== ruleCount) throw new Error(`Rapport compiled ${set.size} rules of ${ruleCount}`)

  // The warm-up, which also checks that the three agree.
  const matches = viaRapport(set, w, eventCount)
  const byHand = viaClosures(closures, w, eventCount)
  if (matches !== byHand) throw new Error(`Rapport found ${count(matches)} matches, the hand-written functions ${count(byHand)}`)
  const peerMatches = viaRapport(set, w, peerEvents)
  const byPeer = await viaPeer(engines, w, peerEvents)
  if (byPeer !== peerMatches) {
    throw new Error(`on the first ${count(peerEvents)} events, Rapport found ${count(peerMatches)} matches, json-rules-engine ${count(byPeer)}`)
  }
  if (matches === 0) throw new Error("no rule matched any event: the workload is wrong")
  // A second untimed pass: a thousand hand-written functions, each called a few thousand times a
  // pass, are not all optimised after the first one (its first timed round would flatter Rapport).
  for (let pass = 1; pass < warmUps; pass++) {
    viaRapport(set, w, eventCount)
    viaClosures(closures, w, eventCount)
    await viaPeer(engines, w, peerEvents)
  }

  const rounds: Array<Round> = []
  for (let i = 0; i < roundCount; i++) {
    const round = { rapportMs: 0, closuresMs: 0, peerMs: 0 }
    const order = i % 2 === 0 ? (["rapport", "closures", "peer"] as const) : (["peer", "closures", "rapport"] as const)
    for (const side of order) {
      const start = process.hrtime.bigint()
      const found =
        side === "rapport" ? viaRapport(set, w, eventCount) : side === "closures" ? viaClosures(closures, w, eventCount) : await viaPeer(engines, w, peerEvents)
      const elapsed = ms(start)
      if (found !== (side === "peer" ? peerMatches : matches)) throw new Error(`round ${i + 1}: ${side} found ${count(found)} matches`)
      if (side === "rapport") round.rapportMs = elapsed
      else if (side === "closures") round.closuresMs = elapsed
      else round.peerMs = elapsed
    }
    rounds.push(round)
  }

  const [rapportMs, closuresMs, peerMs] = [median(rounds.map((r) => r.rapportMs)), median(rounds.map((r) => r.closuresMs)), median(rounds.map((r) => r.peerMs))]
  // Ratios are taken within a round, where the sides ran one after the other, then their median.
  const ratioOf = (r: Round) => r.rapportMs / r.closuresMs
  const peerFactorOf = (r: Round) => r.peerMs / peerEvents / (r.rapportMs / eventCount)
  const rapportPerSecond = (eventCount / rapportMs) * 1000
  const closuresPerSecond = (eventCount / closuresMs) * 1000
  const peerPerSecond = (peerEvents / peerMs) * 1000
  const result: Result = {
    rules: ruleCount,
    eventTypes: EVENT_TYPES.length,
    events: eventCount,
    contacts: w.contacts.length,
    peerEvents,
    rounds,
    matches,
    peerMatches,
    rapportPerSecond,
    closuresPerSecond,
    peerPerSecond,
    ratio: median(rounds.map(ratioOf)),
    peerFactor: median(rounds.map(peerFactorOf)),
    compileMs: { rapport: rapportCompileMs, peer: peerCompileMs, closures: closuresCompileMs }
  }
  const checks = w.events.reduce((n, event) => n + set.forType(event.type).length, 0)
  report(
    `  Rapport           ${format(rapportPerSecond).padStart(10)} events/s   (Rule.compileRules, then Rule.matches; ${count(checks)} rule checks, ${count(matches)} matches)`
  )
  report(`  by hand           ${format(closuresPerSecond).padStart(10)} events/s   (the same rules as plain functions in a Map by event type; the same matches)`)
  report(`  json-rules-engine ${format(peerPerSecond).padStart(10)} events/s   (one Engine per event type, on the first ${count(peerEvents)} events: ${count(peerMatches)} matches, as Rapport's)`)
  report(
    `  ratio             ${result.ratio.toFixed(2)}x the hand-written functions' time   (target: within 2x; rounds: ${rounds.map((r) => ratioOf(r).toFixed(2)).join(", ")})`
  )
  report(
    `  vs the peer       Rapport ${format(result.peerFactor)}x json-rules-engine's events/s   (rounds: ${rounds.map((r) => format(peerFactorOf(r))).join(", ")})`
  )
  report(
    `  compile           Rapport ${rapportCompileMs.toFixed(1)} ms, json-rules-engine ${peerCompileMs.toFixed(1)} ms, by hand (new Function) ${closuresCompileMs.toFixed(1)} ms for ${count(ruleCount)} rules (not compared)`
  )
  return result
}
