/**
 * Storage in memory: for tests, examples and apps that do not need to keep data. It honours the
 * same contract as the SQL adapters (the contract suite runs on it): transactions are
 * all-or-nothing and isolated, nested transactions roll back on their own like savepoints,
 * versions and unique values are enforced, workspaces never see each other.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Company } from "../domain/Company.js"
import { ConsentRecord } from "../domain/Consent.js"
import { Contact, identityLists } from "../domain/Contact.js"
import { StoredEvent } from "../domain/CrmEvent.js"
import { emailKey } from "../domain/Email.js"
import { Conflict, type EntityName } from "../domain/Errors.js"
import type { FieldDefinition } from "../domain/FieldDefinition.js"
import type { WorkspaceId } from "../domain/Ids.js"
import { Firing, Job } from "../domain/Job.js"
import { Order } from "../domain/Order.js"
import { Deal, type DealFilter } from "../domain/Deal.js"
import type { Pipeline } from "../domain/Pipeline.js"
import type { Rule } from "../domain/Rule.js"
import { Task } from "../domain/Task.js"
import type { Template } from "../domain/Template.js"
import { TimelineEntry } from "../domain/TimelineEntry.js"
import { sumDeals } from "../domain/Weighting.js"
import type { Workspace } from "../domain/Workspace.js"
import { type HistoryWindow, Storage, type StorageService } from "../ports/Storage.js"

type Undo = Array<() => void>

class Tables {
  workspace: Workspace | undefined = undefined
  readonly fieldDefinitions = new Map<string, FieldDefinition>()
  readonly contacts = new Map<string, Contact>()
  readonly emails = new Map<string, string>()
  readonly companies = new Map<string, Company>()
  readonly unique = new Map<string, string>()
  readonly timeline = new Map<string, TimelineEntry>()
  readonly events = new Map<string, StoredEvent>()
  readonly orders = new Map<string, Order>()
  readonly pipelines = new Map<string, Pipeline>()
  readonly deals = new Map<string, Deal>()
  readonly tasks = new Map<string, Task>()
  readonly templates = new Map<string, Template>()
  readonly rules = new Map<string, Rule>()
  readonly jobs = new Map<string, Job>()
  readonly jobKeys = new Map<string, string>()
  readonly firings = new Map<string, Firing>()
  readonly consents = new Map<string, ConsentRecord>()
  readonly counters = new Map<string, number>()
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const byId = <A extends { readonly id: string }>(a: A, b: A) => compare(a.id, b.id)
const ms = DateTime.toEpochMillis

const inWindow = (at: DateTime.Utc, query: HistoryWindow) =>
  (query.until === undefined || ms(at) <= ms(query.until)) && (query.since === undefined || ms(at) > ms(query.since))

/**
 * Builds an empty in-memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<StorageService> = Effect.gen(function* () {
  const workspaces = new Map<WorkspaceId, Tables>()
  const lock = yield* Effect.makeSemaphore(1)
  const currentUndo = FiberRef.unsafeMake<Undo | undefined>(undefined)

  const tables = (ws: WorkspaceId): Tables => {
    let t = workspaces.get(ws)
    if (t === undefined) {
      t = new Tables()
      workspaces.set(ws, t)
    }
    return t
  }

  // Every mutation goes through `put`/`del` so a failing transaction can undo it.
  const put = <K, V>(undo: Undo | undefined, map: Map<K, V>, key: K, value: V) => {
    if (undo !== undefined) {
      const had = map.has(key)
      const previous = map.get(key)
      undo.push(() => (had ? map.set(key, previous as V) : map.delete(key)))
    }
    map.set(key, value)
  }
  const del = <K, V>(undo: Undo | undefined, map: Map<K, V>, key: K) => {
    if (!map.has(key)) return false
    if (undo !== undefined) {
      const previous = map.get(key) as V
      undo.push(() => map.set(key, previous))
    }
    return map.delete(key)
  }

  // Outside a transaction each operation takes the lock, so it never sees another fiber's
  // uncommitted writes; inside one, the transaction already holds it.
  const op = <A, E>(body: (undo: Undo | undefined) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(FiberRef.get(currentUndo), (undo) =>
      undo === undefined ? lock.withPermits(1)(Effect.suspend(() => body(undefined))) : Effect.suspend(() => body(undo))
    )
  const read = <A>(body: () => A) => op(() => Effect.sync(body))

  const rollbackTo = (undo: Undo, mark: number) =>
    Effect.sync(() => {
      while (undo.length > mark) undo.pop()!()
    })

  const transaction: StorageService["transaction"] = (effect) =>
    Effect.flatMap(FiberRef.get(currentUndo), (outer) => {
      if (outer !== undefined) {
        const mark = outer.length
        return Effect.onExit(effect, (exit) => (Exit.isFailure(exit) ? rollbackTo(outer, mark) : Effect.void))
      }
      return lock.withPermits(1)(
        Effect.suspend(() => {
          const undo: Undo = []
          return effect.pipe(
            Effect.locally(currentUndo, undo),
            Effect.onExit((exit) => (Exit.isFailure(exit) ? rollbackTo(undo, 0) : Effect.void))
          )
        })
      )
    })

  const eventsIn = (ws: WorkspaceId, query: HistoryWindow & { readonly types: ReadonlyArray<string> }) =>
    [...(workspaces.get(ws)?.events.values() ?? [])].filter(
      (e) => e.contactId === query.contactId && query.types.includes(e.type) && inWindow(e.occurredAt, query)
    )
  const ordersIn = (ws: WorkspaceId, query: HistoryWindow) =>
    [...(workspaces.get(ws)?.orders.values() ?? [])].filter((o) => o.contactId === query.contactId && inWindow(o.placedAt, query))

  /** Stores a contact, or says why not (a taken id or email). */
  // Every email of a contact (primary or not) is a key of `emails`, held by one contact only.
  const emailKeys = (contact: Contact) => contact.emails.map((e) => emailKey(e.value))

  // Stored as the SQL adapters store it: the primary email and phone first of their lists.
  const normalized = (contact: Contact): Contact => {
    const lists = identityLists(contact)
    return lists.emails.length === contact.emails.length && lists.phones.length === contact.phones.length &&
      lists.emails.every((e, i) => e === contact.emails[i]) && lists.phones.every((p, i) => p === contact.phones[i])
      ? contact
      : new Contact({ ...contact, ...lists }, true)
  }

  /** Claims the contact's emails; the Conflict (nothing claimed) when another contact holds one. */
  const claimEmails = (undo: Undo | undefined, t: Tables, contact: Contact): Conflict | undefined => {
    const keys = emailKeys(contact)
    for (const [i, key] of keys.entries()) {
      const holder = t.emails.get(key)
      if (holder !== undefined && holder !== contact.id) return Conflict.unique("contact", i === 0 ? "email" : "emails", holder)
    }
    for (const key of keys) put(undo, t.emails, key, contact.id)
    return undefined
  }

  const insertContact = (undo: Undo | undefined, given: Contact): Conflict | undefined => {
    const contact = normalized(given)
    const t = tables(contact.workspaceId)
    if (t.contacts.has(contact.id)) return Conflict.unique("contact", "id", contact.id)
    const conflict = claimEmails(undo, t, contact)
    if (conflict !== undefined) return conflict
    put(undo, t.contacts, contact.id, contact)
    return undefined
  }

  const versioned = <A extends { readonly id: string; readonly version: number }>(
    entity: EntityName,
    map: Map<string, A>,
    next: A,
    expectedVersion: number
  ): Effect.Effect<A, Conflict> => {
    const stored = map.get(next.id)
    return stored !== undefined && stored.version === expectedVersion
      ? Effect.succeed(stored)
      : Effect.fail(Conflict.version(entity, next.id, expectedVersion, stored?.version))
  }

  /** Insert, get, versioned update and remove over one map per workspace. */
  const records = <A extends { readonly id: string; readonly workspaceId: WorkspaceId; readonly version: number }>(
    entity: EntityName,
    mapOf: (t: Tables) => Map<string, A>
  ) => ({
    insert: (record: A) => op((undo) => Effect.sync(() => put(undo, mapOf(tables(record.workspaceId)), record.id, record))),
    get: (ws: WorkspaceId, id: string) =>
      read(() => {
        const t = workspaces.get(ws)
        return Option.fromNullable(t === undefined ? undefined : mapOf(t).get(id))
      }),
    update: (record: A, expectedVersion: number) =>
      op((undo) => {
        const map = mapOf(tables(record.workspaceId))
        return Effect.map(versioned(entity, map, record, expectedVersion), () => put(undo, map, record.id, record))
      }),
    remove: (ws: WorkspaceId, id: string) => op((undo) => Effect.sync(() => del(undo, mapOf(tables(ws)), id))),
    all: (ws: WorkspaceId): ReadonlyArray<A> => {
      const t = workspaces.get(ws)
      return t === undefined ? [] : [...mapOf(t).values()]
    }
  })
  const pipelines = records("pipeline", (t) => t.pipelines)
  const deals = records("deal", (t) => t.deals)
  const tasks = records("task", (t) => t.tasks)
  const templates = records("template", (t) => t.templates)
  const rules = records("rule", (t) => t.rules)
  const allTables = (only?: ReadonlyArray<WorkspaceId>) =>
    only === undefined ? [...workspaces.values()] : only.flatMap((ws) => (workspaces.has(ws) ? [workspaces.get(ws)!] : []))
  const byDue = (a: Job, b: Job) => ms(a.dueAt) - ms(b.dueAt) || byId(a, b)
  const forContact = <A extends { readonly contactId: string }>(map: Map<string, A>, contactId: string) =>
    [...map.values()].filter((r) => r.contactId === contactId)
  const removeWhere = <A>(undo: Undo | undefined, map: Map<string, A>, drop: (a: A) => boolean) => {
    let n = 0
    for (const [key, value] of [...map]) if (drop(value) && del(undo, map, key)) n++
    return n
  }

  const matches = (f: DealFilter) => (d: Deal) =>
    (f.pipelineId === undefined || d.pipelineId === f.pipelineId) &&
    (f.stages === undefined || f.stages.includes(d.stage)) &&
    (f.statuses === undefined || f.statuses.includes(d.status)) &&
    (f.ownerId === undefined || d.ownerId === f.ownerId) &&
    (f.contactId === undefined || d.contactId === f.contactId) &&
    (f.companyId === undefined || d.companyId === f.companyId) &&
    (f.currency === undefined || d.amount.currency === f.currency) &&
    (f.closeFrom === undefined || (d.expectedCloseDate !== null && d.expectedCloseDate >= f.closeFrom)) &&
    (f.closeTo === undefined || (d.expectedCloseDate !== null && d.expectedCloseDate < f.closeTo))

  const service: StorageService = {
    transaction,
    // Transactions hold the store's lock from start to end: they never overlap.
    lock: () => Effect.void,
    workspaces: {
      get: (id) => read(() => Option.fromNullable(workspaces.get(id)?.workspace)),
      insertIfAbsent: (workspace) =>
        op((undo) =>
          Effect.sync(() => {
            const t = tables(workspace.id)
            if (t.workspace !== undefined) return t.workspace
            if (undo !== undefined) undo.push(() => (t.workspace = undefined))
            t.workspace = workspace
            return workspace
          })
        ),
      update: (workspace, expectedVersion) =>
        op((undo) => {
          const t = tables(workspace.id)
          const stored = t.workspace
          if (stored === undefined || stored.version !== expectedVersion) {
            return Effect.fail(Conflict.version("workspace", workspace.id, expectedVersion, stored?.version))
          }
          if (undo !== undefined) undo.push(() => (t.workspace = stored))
          t.workspace = workspace
          return Effect.void
        })
    },
    fieldDefinitions: {
      list: (ws, entity) =>
        read(() =>
          [...tables(ws).fieldDefinitions.values()]
            .filter((d) => entity === undefined || d.entity === entity)
            .sort((a, b) => a.position - b.position || compare(a.key, b.key) || compare(a.entity, b.entity))
        ),
      insert: (def) =>
        op((undo) => {
          const map = tables(def.workspaceId).fieldDefinitions
          const key = `${def.entity}|${def.key}`
          if (map.has(key)) return Effect.fail(Conflict.unique("fieldDefinition", "key", def.key))
          put(undo, map, key, def)
          return Effect.void
        }),
      update: (def, expectedVersion) =>
        op((undo) => {
          const map = tables(def.workspaceId).fieldDefinitions
          const key = `${def.entity}|${def.key}`
          const stored = map.get(key)
          if (stored === undefined || stored.version !== expectedVersion) {
            return Effect.fail(Conflict.version("fieldDefinition", def.key, expectedVersion, stored?.version))
          }
          put(undo, map, key, def)
          return Effect.void
        }),
      remove: (ws, entity, key) =>
        op((undo) => Effect.sync(() => void del(undo, tables(ws).fieldDefinitions, `${entity}|${key}`)))
    },
    contacts: {
      insert: (contact) =>
        op((undo) => {
          const conflict = insertContact(undo, contact)
          return conflict === undefined ? Effect.void : Effect.fail(conflict)
        }),
      insertMany: (contacts) =>
        op((undo) => {
          // A failing contact undoes the ones before it, as one SQL statement would.
          const local: Undo = undo ?? []
          const mark = local.length
          for (const contact of contacts) {
            const conflict = insertContact(local, contact)
            if (conflict !== undefined) {
              while (local.length > mark) local.pop()!()
              return Effect.fail(conflict)
            }
          }
          return Effect.void
        }),
      findByEmails: (ws, keys) =>
        read(() => {
          const t = workspaces.get(ws)
          // One contact per holder, even when several of its emails are asked for.
          const ids = new Set(keys.flatMap((key) => t?.emails.get(emailKey(key)) ?? []))
          return [...ids].flatMap((id) => t?.contacts.get(id) ?? [])
        }),
      findByPhones: (ws, phones) =>
        read(() => {
          const wanted = new Set(phones)
          return [...(workspaces.get(ws)?.contacts.values() ?? [])]
            .filter((c) => (c.phone !== null && wanted.has(c.phone)) || c.phones.some((p) => wanted.has(p.value)))
            .sort(byId)
        }),
      get: (ws, id) => read(() => Option.fromNullable(workspaces.get(ws)?.contacts.get(id))),
      findByEmail: (ws, email) =>
        read(() => {
          const t = workspaces.get(ws)
          const id = t?.emails.get(emailKey(email))
          return Option.fromNullable(id === undefined ? undefined : t?.contacts.get(id))
        }),
      update: (given, expectedVersion) =>
        op((undo) =>
          Effect.flatMap(versioned("contact", tables(given.workspaceId).contacts, given, expectedVersion), (stored) => {
            const contact = normalized(given)
            const t = tables(contact.workspaceId)
            const kept = new Set(emailKeys(contact))
            const conflict = claimEmails(undo, t, contact)
            if (conflict !== undefined) return Effect.fail(conflict)
            for (const key of emailKeys(stored)) if (!kept.has(key)) del(undo, t.emails, key)
            put(undo, t.contacts, contact.id, contact)
            return Effect.void
          })
        ),
      remove: (ws, id) =>
        op((undo) =>
          Effect.sync(() => {
            const t = tables(ws)
            const stored = t.contacts.get(id)
            if (stored === undefined) return false
            for (const key of emailKeys(stored)) del(undo, t.emails, key)
            return del(undo, t.contacts, id)
          })
        ),
      list: (ws, query) =>
        read(() =>
          [...(workspaces.get(ws)?.contacts.values() ?? [])]
            .filter(
              (c) =>
                (query.after === undefined || c.id > query.after) &&
                (query.stage === undefined || c.stage === query.stage) &&
                (query.tag === undefined || c.tags.includes(query.tag)) &&
                (query.companyId === undefined || c.companyId === query.companyId) &&
                (query.ownerId === undefined || c.ownerId === query.ownerId)
            )
            .sort(byId)
            .slice(0, query.limit)
        ),
      reassign: (ws, fromId, toId, at) =>
        op((undo) =>
          Effect.sync(() => {
            const t = tables(ws)
            const move = <A extends { readonly contactId: string | null }>(map: Map<string, A>, rebuild: (a: A) => A) => {
              let n = 0
              for (const [key, record] of [...map]) {
                if (record.contactId !== fromId) continue
                put(undo, map, key, rebuild(record))
                n++
              }
              return n
            }
            // A purpose both contacts have keeps the later decision (the kept contact's on a tie).
            let consents = 0
            for (const [key, record] of [...t.consents]) {
              if (record.contactId !== fromId) continue
              del(undo, t.consents, key)
              const theirs = `${toId}|${record.purpose}`
              const other = t.consents.get(theirs)
              if (other !== undefined && ms(other.at) >= ms(record.at)) continue
              put(undo, t.consents, theirs, new ConsentRecord({ ...record, contactId: toId }, true))
              consents++
            }
            return {
              timeline: move(t.timeline, (e) => new TimelineEntry({ ...e, contactId: toId }, true)),
              events: move(t.events, (e) => new StoredEvent({ ...e, contactId: toId }, true)),
              orders: move(t.orders, (o) => new Order({ ...o, contactId: toId }, true)),
              deals: move(t.deals, (d) => new Deal({ ...d, contactId: toId, version: d.version + 1, updatedAt: at }, true)),
              tasks: move(t.tasks, (k) => new Task({ ...k, contactId: toId, version: k.version + 1, updatedAt: at }, true)),
              jobs: move(t.jobs, (j) => new Job({ ...j, contactId: toId }, true)),
              firings: move(t.firings, (f) => new Firing({ ...f, contactId: toId }, true)),
              consents
            }
          })
        ),
      countByStage: (ws) =>
        read(() => {
          const counts = new Map<string, number>()
          for (const c of workspaces.get(ws)?.contacts.values() ?? []) counts.set(c.stage, (counts.get(c.stage) ?? 0) + 1)
          return [...counts].map(([stage, count]) => ({ stage, count }))
        }),
      countByCompany: (ws, companyId) =>
        read(() => [...(workspaces.get(ws)?.contacts.values() ?? [])].filter((c) => c.companyId === companyId).length)
    },
    companies: {
      insert: (company) =>
        op((undo) => {
          const map = tables(company.workspaceId).companies
          if (map.has(company.id)) return Effect.fail(Conflict.unique("company", "id", company.id))
          put(undo, map, company.id, company)
          return Effect.void
        }),
      get: (ws, id) => read(() => Option.fromNullable(workspaces.get(ws)?.companies.get(id))),
      lockExisting: (ws, ids) => read(() => ids.filter((id) => workspaces.get(ws)?.companies.has(id) === true)),
      update: (company, expectedVersion) =>
        op((undo) =>
          Effect.map(versioned("company", tables(company.workspaceId).companies, company, expectedVersion), () =>
            put(undo, tables(company.workspaceId).companies, company.id, company)
          )
        ),
      remove: (ws, id) => op((undo) => Effect.sync(() => del(undo, tables(ws).companies, id))),
      list: (ws, query) =>
        read(() =>
          [...(workspaces.get(ws)?.companies.values() ?? [])]
            .filter((c) => query.after === undefined || c.id > query.after)
            .sort(byId)
            .slice(0, query.limit)
        )
    },
    customFields: {
      scan: (ws, entity, after, limit) =>
        read(() => {
          const t = workspaces.get(ws)
          const records: ReadonlyArray<Contact | Company | Deal> =
            t === undefined ? [] : [...(entity === "contact" ? t.contacts : entity === "company" ? t.companies : t.deals).values()]
          return records
            .filter((r) => after === undefined || r.id > after)
            .sort(byId)
            .slice(0, limit)
            // Only a contact's stage is a lifecycle stage; a deal's is a pipeline stage.
            .map((r) => ({ id: r.id, stage: r instanceof Contact ? r.stage : null, fields: r.fields }))
        }),
      purge: (ws, entity, key, at) =>
        op((undo) =>
          Effect.sync(() => {
            const purgeIn = <A extends Contact | Company | Deal>(map: Map<string, A>, rebuild: (a: A, fields: Record<string, unknown>) => A) => {
              let n = 0
              for (const record of [...map.values()]) {
                if (!Object.hasOwn(record.fields, key)) continue
                const { [key]: _, ...rest } = record.fields
                put(undo, map, record.id, rebuild(record, rest))
                n++
              }
              return n
            }
            const t = tables(ws)
            if (entity === "contact") {
              return purgeIn(t.contacts, (c, fields) => new Contact({ ...c, fields, version: c.version + 1, updatedAt: at }))
            }
            if (entity === "company") {
              return purgeIn(t.companies, (c, fields) => new Company({ ...c, fields, version: c.version + 1, updatedAt: at }))
            }
            return purgeIn(t.deals, (d, fields) => new Deal({ ...d, fields, version: d.version + 1, updatedAt: at }))
          })
        )
    },
    uniqueValues: {
      set: (ws, entity, recordId, fieldKey, valueKey) =>
        op((undo) => {
          const map = tables(ws).unique
          const prefix = `${entity}|${fieldKey}|`
          if (valueKey !== null) {
            const holder = map.get(prefix + valueKey)
            if (holder !== undefined && holder !== recordId) {
              return Effect.fail(Conflict.unique(entity, `fields.${fieldKey}`, holder))
            }
          }
          for (const [k, holder] of [...map]) {
            if (holder === recordId && k.startsWith(prefix)) del(undo, map, k)
          }
          if (valueKey !== null) put(undo, map, prefix + valueKey, recordId)
          return Effect.void
        }),
      claimMany: (ws, entity, claims) =>
        op((undo) => {
          const map = tables(ws).unique
          for (const claim of claims) {
            const holder = map.get(`${entity}|${claim.fieldKey}|${claim.valueKey}`)
            if (holder !== undefined && holder !== claim.recordId) {
              return Effect.fail(Conflict.unique(entity, `fields.${claim.fieldKey}`, holder))
            }
          }
          for (const claim of claims) put(undo, map, `${entity}|${claim.fieldKey}|${claim.valueKey}`, claim.recordId)
          return Effect.void
        }),
      find: (ws, entity, fieldKey, valueKey) =>
        read(() => Option.fromNullable(workspaces.get(ws)?.unique.get(`${entity}|${fieldKey}|${valueKey}`))),
      releaseRecord: (ws, entity, recordId) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).unique
            for (const [k, holder] of [...map]) if (holder === recordId && k.startsWith(`${entity}|`)) del(undo, map, k)
          })
        ),
      releaseField: (ws, entity, fieldKey) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).unique
            for (const k of [...map.keys()]) if (k.startsWith(`${entity}|${fieldKey}|`)) del(undo, map, k)
          })
        )
    },
    timeline: {
      append: (entry) => op((undo) => Effect.sync(() => put(undo, tables(entry.workspaceId).timeline, entry.id, entry))),
      appendMany: (entries) =>
        op((undo) => Effect.sync(() => entries.forEach((entry) => put(undo, tables(entry.workspaceId).timeline, entry.id, entry)))),
      list: (ws, query) =>
        read(() =>
          [...(workspaces.get(ws)?.timeline.values() ?? [])]
            .filter(
              (e) =>
                (query.contactId === undefined || e.contactId === query.contactId) &&
                (query.kinds === undefined || query.kinds.includes(e.kind)) &&
                (query.from === undefined || ms(e.occurredAt) >= ms(query.from)) &&
                (query.to === undefined || ms(e.occurredAt) < ms(query.to)) &&
                (query.before === undefined ||
                  ms(e.occurredAt) < ms(query.before.occurredAt) ||
                  (ms(e.occurredAt) === ms(query.before.occurredAt) && e.id < query.before.id))
            )
            .sort((a, b) => ms(b.occurredAt) - ms(a.occurredAt) || -byId(a, b))
            .slice(0, query.limit)
        ),
      removeForContact: (ws, contactId) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).timeline
            for (const [id, e] of [...map]) if (e.contactId === contactId) del(undo, map, id)
          })
        )
    },
    events: {
      insert: (event) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(event.workspaceId).events
            if (map.has(event.id)) return false
            put(undo, map, event.id, event)
            return true
          })
        ),
      insertMany: (events) =>
        op((undo) =>
          Effect.sync(() =>
            events.flatMap((event) => {
              const map = tables(event.workspaceId).events
              if (map.has(event.id)) return [event.id]
              put(undo, map, event.id, event)
              return []
            })
          )
        ),
      get: (ws, id) => read(() => Option.fromNullable(workspaces.get(ws)?.events.get(id))),
      count: (ws, query) => read(() => eventsIn(ws, query).length),
      times: (ws, query) => read(() => eventsIn(ws, query).map((e) => e.occurredAt).sort((a, b) => ms(a) - ms(b))),
      list: (ws, query) =>
        read(() =>
          eventsIn(ws, query)
            .filter(
              (e) =>
                query.before === undefined ||
                ms(e.occurredAt) < ms(query.before.occurredAt) ||
                (ms(e.occurredAt) === ms(query.before.occurredAt) && e.id < query.before.id)
            )
            .sort((a, b) => ms(b.occurredAt) - ms(a.occurredAt) || -byId(a, b))
            .slice(0, query.limit)
        ),
      forContact: (ws, contactId, page) =>
        read(() =>
          forContact(workspaces.get(ws)?.events ?? new Map<string, StoredEvent>(), contactId)
            .filter((e) => page.after === undefined || e.id > page.after)
            .sort(byId)
            .slice(0, page.limit)
        ),
      eraseForContact: (ws, contactId) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).events
            const mine = forContact(map, contactId)
            for (const e of mine) put(undo, map, e.id, new StoredEvent({ ...e, payload: {} }))
            return mine.length
          })
        )
    },
    orders: {
      insert: (order) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(order.workspaceId).orders
            if (map.has(order.id)) return false
            put(undo, map, order.id, order)
            return true
          })
        ),
      get: (ws, id) => read(() => Option.fromNullable(workspaces.get(ws)?.orders.get(id))),
      count: (ws, query) => read(() => ordersIn(ws, query).length),
      times: (ws, query) => read(() => ordersIn(ws, query).map((o) => o.placedAt).sort((a, b) => ms(a) - ms(b))),
      forContact: (ws, contactId, page) =>
        read(() =>
          forContact(workspaces.get(ws)?.orders ?? new Map<string, Order>(), contactId)
            .filter((o) => page.after === undefined || o.id > page.after)
            .sort(byId)
            .slice(0, page.limit)
        )
    },
    pipelines: {
      insert: pipelines.insert,
      get: pipelines.get,
      update: pipelines.update,
      remove: pipelines.remove,
      list: (ws) => read(() => [...pipelines.all(ws)].sort((a, b) => a.position - b.position || byId(a, b)))
    },
    deals: {
      insert: deals.insert,
      get: deals.get,
      update: deals.update,
      remove: deals.remove,
      list: (ws, q) =>
        read(() =>
          deals
            .all(ws)
            .filter((d) => matches(q)(d) && (q.after === undefined || d.id > q.after))
            .sort(byId)
            .slice(0, q.limit)
        ),
      count: (ws, filter) => read(() => deals.all(ws).filter(matches(filter)).length),
      restage: (ws, pipelineId, stage, probability, at) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).deals
            const affected = [...map.values()].filter((d) => d.pipelineId === pipelineId && d.stage === stage && d.stageProbability !== probability)
            for (const d of affected) {
              put(undo, map, d.id, new Deal({ ...d, stageProbability: probability, version: d.version + 1, updatedAt: at }))
            }
            return affected.length
          })
        ),
      sums: (ws, q) => read(() => sumDeals(deals.all(ws).filter(matches(q.filter)), q.groupBy, q.coldProbability)),
      stale: (ws, q) =>
        read(() =>
          deals
            .all(ws)
            .filter(
              (d) =>
                d.status === "open" &&
                q.thresholds.some((t) => t.pipelineId === d.pipelineId && t.stage === d.stage && ms(d.lastActivityAt) < ms(t.before)) &&
                (q.after === undefined ||
                  ms(d.lastActivityAt) > ms(q.after.lastActivityAt) ||
                  (ms(d.lastActivityAt) === ms(q.after.lastActivityAt) && d.id > q.after.id))
            )
            .sort((a, b) => ms(a.lastActivityAt) - ms(b.lastActivityAt) || byId(a, b))
            .slice(0, q.limit)
        )
    },
    tasks: {
      insert: tasks.insert,
      get: tasks.get,
      update: tasks.update,
      list: (ws, q) =>
        read(() =>
          tasks
            .all(ws)
            .filter(
              (t) =>
                (q.status === undefined || t.status === q.status) &&
                (q.ownerId === undefined || t.ownerId === q.ownerId) &&
                (q.contactId === undefined || t.contactId === q.contactId) &&
                (q.dealId === undefined || t.dealId === q.dealId) &&
                (q.dueFrom === undefined || ms(t.dueAt) >= ms(q.dueFrom)) &&
                (q.dueBefore === undefined || ms(t.dueAt) < ms(q.dueBefore)) &&
                (q.after === undefined || ms(t.dueAt) > ms(q.after.dueAt) || (ms(t.dueAt) === ms(q.after.dueAt) && t.id > q.after.id))
            )
            .sort((a, b) => ms(a.dueAt) - ms(b.dueAt) || byId(a, b))
            .slice(0, q.limit)
        ),
      removeForContact: (ws, contactId) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).tasks
            for (const [id, t] of [...map]) if (t.contactId === contactId) del(undo, map, id)
          })
        )
    },
    templates: {
      insert: templates.insert,
      get: templates.get,
      update: templates.update,
      remove: templates.remove,
      list: (ws) => read(() => [...templates.all(ws)].sort((a, b) => compare(a.name, b.name) || byId(a, b)))
    },
    rules: {
      insert: (rule) =>
        op((undo) => {
          const map = tables(rule.workspaceId).rules
          if (map.has(rule.id)) return Effect.fail(Conflict.unique("rule", "id", rule.id))
          put(undo, map, rule.id, rule)
          return Effect.void
        }),
      get: rules.get,
      update: rules.update,
      remove: rules.remove,
      list: (ws) => read(() => [...rules.all(ws)].sort(byId))
    },
    jobs: {
      insertMany: (jobs) =>
        op((undo) =>
          Effect.sync(() => {
            for (const job of jobs) {
              const t = tables(job.workspaceId)
              if (t.jobKeys.has(job.idempotencyKey)) continue
              put(undo, t.jobKeys, job.idempotencyKey, job.id)
              put(undo, t.jobs, job.id, job)
            }
          })
        ),
      get: (ws, id) => read(() => Option.fromNullable(workspaces.get(ws)?.jobs.get(id))),
      claim: (request) =>
        op((undo) =>
          Effect.sync(() => {
            const now = ms(request.now)
            const due = allTables(request.workspaces)
              .flatMap((t) => [...t.jobs.values()])
              .filter((j) => (j.status === "pending" && ms(j.dueAt) <= now) || (j.status === "running" && j.leaseUntil !== null && ms(j.leaseUntil) <= now))
              .sort(byDue)
              .slice(0, request.limit)
            return due.map((j) => {
              const claimed = new Job({ ...j, status: "running", attempts: j.attempts + 1, leaseUntil: request.leaseUntil, claimToken: request.token, updatedAt: request.now }, true)
              put(undo, tables(j.workspaceId).jobs, j.id, claimed)
              return claimed
            })
          })
        ),
      settle: (job, token) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(job.workspaceId).jobs
            const stored = map.get(job.id)
            if (stored === undefined || stored.status !== "running" || stored.claimToken !== token) return false
            put(undo, map, job.id, job.contactId === stored.contactId ? job : new Job({ ...job, contactId: stored.contactId }, true))
            return true
          })
        ),
      requeue: (ws, id, at) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).jobs
            const stored = map.get(id)
            if (stored === undefined || (stored.status !== "dead" && stored.status !== "skipped")) return Option.none()
            const requeued = new Job({ ...stored, status: "pending", attempts: 0, dueAt: at, completedAt: null, updatedAt: at }, true)
            put(undo, map, id, requeued)
            return Option.some(requeued)
          })
        ),
      list: (ws, q) =>
        read(() =>
          [...(workspaces.get(ws)?.jobs.values() ?? [])]
            .filter(
              (j) =>
                (q.statuses === undefined || q.statuses.includes(j.status)) &&
                (q.ruleId === undefined || j.ruleId === q.ruleId) &&
                (q.contactId === undefined || j.contactId === q.contactId) &&
                (q.after === undefined || ms(j.dueAt) > ms(q.after.dueAt) || (ms(j.dueAt) === ms(q.after.dueAt) && j.id > q.after.id))
            )
            .sort(byDue)
            .slice(0, q.limit)
        ),
      nextDue: (only) =>
        read(() => {
        let next: DateTime.Utc | undefined
        for (const t of allTables(only)) {
          for (const j of t.jobs.values()) {
            const at = j.status === "pending" ? j.dueAt : j.status === "running" ? j.leaseUntil : null
            if (at !== null && (next === undefined || ms(at) < ms(next))) next = at
          }
        }
        return Option.fromNullable(next)
        }),
      marketingSince: (ws, contactId, since) =>
        read(
          () =>
            forContact(workspaces.get(ws)?.jobs ?? new Map<string, Job>(), contactId).filter(
              (j) => j.category === "marketing" && j.reservedAt !== null && ms(j.reservedAt) > ms(since)
            ).length
        ),
      sentByVariant: (ws, ruleId) =>
        read(() => {
          const counts = new Map<string | null, number>()
          for (const j of workspaces.get(ws)?.jobs.values() ?? []) {
            if (j.ruleId === ruleId && j.status === "done" && j.action?.type === "sendEmail") counts.set(j.variant, (counts.get(j.variant) ?? 0) + 1)
          }
          return [...counts].map(([variant, sent]) => ({ variant, sent }))
        }),
      removeForContact: (ws, contactId) =>
        op((undo) =>
          Effect.sync(() => {
            const t = tables(ws)
            const mine = forContact(t.jobs, contactId)
            for (const j of mine) {
              del(undo, t.jobs, j.id)
              del(undo, t.jobKeys, j.idempotencyKey)
            }
            return mine.length
          })
        )
    },
    firings: {
      insert: (firing) => op((undo) => Effect.sync(() => put(undo, tables(firing.workspaceId).firings, firing.id, firing))),
      insertMany: (firings) => op((undo) => Effect.sync(() => firings.forEach((f) => put(undo, tables(f.workspaceId).firings, f.id, f)))),
      latest: (ws, ruleId, contactId) =>
        read(() => {
          const mine = forContact(workspaces.get(ws)?.firings ?? new Map<string, Firing>(), contactId).filter((f) => f.ruleId === ruleId)
          return Option.fromNullable(mine.sort((a, b) => ms(b.firedAt) - ms(a.firedAt) || -byId(a, b))[0])
        }),
      hasKey: (ws, ruleId, contactId, key) =>
        read(() => forContact(workspaces.get(ws)?.firings ?? new Map<string, Firing>(), contactId).some((f) => f.ruleId === ruleId && f.dedupeKey === key)),
      convert: (ws, contactId, eventType, at) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).firings
            const converted = forContact(map, contactId).filter(
              (f) => f.goalEvent === eventType && f.convertedAt === null && ms(f.firedAt) <= ms(at) && f.goalUntil !== null && ms(at) <= ms(f.goalUntil)
            )
            for (const f of converted) put(undo, map, f.id, new Firing({ ...f, convertedAt: at }, true))
            return converted.length
          })
        ),
      stats: (ws, ruleId) =>
        read(() => {
          const counts = new Map<string | null, { fired: number; converted: number }>()
          for (const f of workspaces.get(ws)?.firings.values() ?? []) {
            if (f.ruleId !== ruleId) continue
            const c = counts.get(f.variant) ?? { fired: 0, converted: 0 }
            counts.set(f.variant, { fired: c.fired + 1, converted: c.converted + (f.convertedAt === null ? 0 : 1) })
          }
          return [...counts].map(([variant, c]) => ({ variant, ...c }))
        }),
      forContact: (ws, contactId) =>
        read(() => forContact(workspaces.get(ws)?.firings ?? new Map<string, Firing>(), contactId).sort((a, b) => ms(a.firedAt) - ms(b.firedAt) || byId(a, b))),
      removeForContact: (ws, contactId) => op((undo) => Effect.sync(() => removeWhere(undo, tables(ws).firings, (f) => f.contactId === contactId)))
    },
    consents: {
      list: (ws, contactId) =>
        read(() => forContact(workspaces.get(ws)?.consents ?? new Map<string, ConsentRecord>(), contactId).sort((a, b) => compare(a.purpose, b.purpose))),
      put: (record) => op((undo) => Effect.sync(() => put(undo, tables(record.workspaceId).consents, `${record.contactId}|${record.purpose}`, record))),
      removeForContact: (ws, contactId) => op((undo) => Effect.sync(() => removeWhere(undo, tables(ws).consents, (c) => c.contactId === contactId)))
    },
    counters: {
      increment: (ws, key) =>
        op((undo) =>
          Effect.sync(() => {
            const map = tables(ws).counters
            const next = (map.get(key) ?? 0) + 1
            put(undo, map, key, next)
            return next
          })
        ),
      get: (ws, key) => read(() => workspaces.get(ws)?.counters.get(key) ?? 0)
    }
  }
  return service
})

/**
 * A fresh in-memory Storage for each build of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Storage> = Layer.effect(Storage, make)
