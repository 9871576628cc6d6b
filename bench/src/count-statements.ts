// Statements per emit, on SQLite: counts every statement the driver runs (better-sqlite3's
// Statement.run/all/get/iterate) while events are emitted one at a time through the Promise
// client, on the emit section's rules and event mix. `tsx src/count-statements.ts` (BENCH_EMITS events, default 500;
// BENCH_BATCH=1 sends them with events.emitMany in batches of 1,000).
import { createCrm } from "@rapport/core"
import { sqliteStorage } from "@rapport/sqlite"
import Database from "better-sqlite3"
import { randomUUID } from "node:crypto"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { random } from "./stats.js"

const probe = new Database(":memory:")
const proto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: Array<unknown>) => unknown>
probe.close()
const counted: Record<string, number> = {}
let on = false
for (const method of ["run", "all", "get", "iterate"]) {
  const original = proto[method]!
  proto[method] = function (this: { source: string }, ...args: Array<unknown>) {
    if (on) {
      const key = this.source.replace(/\s+/g, " ").slice(0, 60)
      counted[key] = (counted[key] ?? 0) + 1
    }
    return original.apply(this, args)
  }
}

const events = Number(process.env["BENCH_EMITS"] ?? 500)
const filename = join(tmpdir(), `rapport-count-${randomUUID().slice(0, 8)}.db`)
const crm = await createCrm({ storage: sqliteStorage({ filename }) })
try {
  await crm.fields.define({ key: "loyalty", type: "select", options: ["none", "silver", "gold"] })
  const template = await crm.templates.create({ name: "Receipt", purpose: "transactional", subject: "Your order", text: "Thanks" })
  await crm.rules.create({ id: "order-confirmation", name: "Order confirmation", on: "order.placed", actions: [{ type: "sendEmail", template: template.id, transactional: true }] })
  await crm.rules.create({
    id: "abandoned-cart", name: "Cart reminder", on: "cart.abandoned", delay: "1 day",
    unless: { count: { event: "order.placed", sinceTrigger: true }, op: "gte", value: 1 }, limits: { oncePer: "event.payload.cartId" },
    actions: [{ type: "sendEmail", template: template.id, transactional: true }]
  })
  await crm.rules.create({
    id: "sale-interest", name: "Sale", on: "page.viewed",
    when: { all: [{ path: "event.payload.url", op: "startsWith", value: "/sale" }, { path: "contact.fields.loyalty", op: "in", value: ["silver", "gold"] }] },
    actions: [{ type: "adjustScore", by: 5 }]
  })
  const contacts = await crm.contacts.createMany(Array.from({ length: 200 }, (_, i) => ({ email: `c${i}@example.com`, fields: { loyalty: i % 2 === 0 ? "gold" : "none" } })))
  const next = random(7)
  const start = Date.parse("2025-03-01T08:00:00.000Z")
  const batched = process.env["BENCH_BATCH"] === "1"
  const inputs: Array<Parameters<typeof crm.events.emit>[0]> = []
  const emit = (input: Parameters<typeof crm.events.emit>[0]) => (batched ? void inputs.push(input) : crm.events.emit(input))
  on = true
  const started = process.hrtime.bigint()
  for (let i = 0; i < events; i++) {
    const roll = next()
    const contactId = contacts[Math.floor(next() ** 2 * contacts.length)]!.id
    const occurredAt = new Date(start + i * 3_600_000).toISOString()
    const line = { sku: "S", name: "S", quantity: 1, unitPrice: { amountMinor: 500, currency: "EUR" } }
    if (roll < 0.55) await emit({ id: `e${i}`, type: "page.viewed", contactId, occurredAt, payload: { url: next() < 0.5 ? "/sale" : "/" } })
    else if (roll < 0.75) await emit({ id: `e${i}`, type: "cart.abandoned", contactId, occurredAt, payload: { cartId: `c${i}`, lines: [line] } })
    else await emit({ id: `e${i}`, type: "order.placed", contactId, occurredAt, payload: { orderId: `o${i}`, lines: [line] } })
  }
  for (let i = 0; i < inputs.length; i += 1_000) await crm.events.emitMany(inputs.slice(i, i + 1_000))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`${batched ? "emitMany (batches of 1,000)" : "emit, one at a time"}: ${Math.round(events / seconds)} events/s (statement counting on)`)
  on = false
} finally {
  await crm.close()
  for (const suffix of ["", "-wal", "-shm"]) rmSync(filename + suffix, { force: true })
}
const total = Object.values(counted).reduce((a, b) => a + b, 0)
console.log(`${events} emits: ${total} statements, ${(total / events).toFixed(2)} per emit`)
for (const [k, v] of Object.entries(counted).sort((a, b) => b[1] - a[1])) console.log(`  ${(v / events).toFixed(2).padStart(6)}  ${k}`)
