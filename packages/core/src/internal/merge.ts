// What a contact becomes when a duplicate is merged into it: pure, no I/O. The kept contact's own
// values always win; it takes what it has none of; nothing of the merged one is dropped without
// being reported (the service keeps the losing values on the merge's timeline entry).
import * as DateTime from "effect/DateTime"
import { Contact, unknownSource } from "../domain/Contact.js"
import { emailKey } from "../domain/Email.js"
import type { FieldValues } from "../domain/FieldDefinition.js"
import { indexOf, type LifecycleDefinition } from "../domain/LifecycleDefinition.js"

/** Attributes taken when the kept contact has none (`null`). */
const nullable = ["email", "phone", "firstName", "lastName", "companyId", "ownerId", "timezone"] as const

/** The outcome of merging `merged` into `kept`, before it is stored. */
export interface Merged {
  /** The kept contact's new attributes (its version and `updatedAt` are the caller's). */
  readonly contact: Contact
  readonly attributesTaken: ReadonlyArray<string>
  readonly fieldsTaken: ReadonlyArray<string>
  /** Fields both have with different values: the kept contact's stays, the merged one's is here. */
  readonly fieldsNotTaken: Readonly<Record<string, unknown>>
  /** The stage move, when the merged contact was further in the lifecycle. */
  readonly stage: { readonly from: string; readonly to: string } | null
}

const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false
  const left = a as Readonly<Record<string, unknown>>
  const right = b as Readonly<Record<string, unknown>>
  const keys = Object.keys(left)
  return keys.length === Object.keys(right).length && keys.every((k) => Object.hasOwn(right, k) && sameValue(left[k], right[k]))
}

/**
 * Merges `merged` into `kept`:
 * - names, company, owner and timezone: the kept contact's, or the merged one's when the kept
 *   one has none;
 * - emails and phones: the kept contact's, then the merged one's it lacks (its primary ones stay
 *   primary; the merged one's become primary when the kept one has none);
 * - first seen: the earlier of the two, and the source goes with it (the channel through which the
 *   business first knew the person), unless that source is unknown and the other is not;
 * - tags: the kept contact's, then the merged one's it lacks, in order;
 * - score: the higher of the two (duplicates often carry the same imported or rule-given score:
 *   a sum would count it twice);
 * - stage: the later of the two in the lifecycle (never backwards);
 * - custom fields: the kept contact's values, plus the merged one's for fields it has none of.
 */
export const mergeContacts = (kept: Contact, merged: Contact, lifecycle: LifecycleDefinition): Merged => {
  const attributesTaken: Array<string> = nullable.filter((key) => kept[key] === null && merged[key] !== null)
  const pick = <K extends (typeof nullable)[number]>(key: K): Contact[K] => (kept[key] === null ? merged[key] : kept[key])

  const mergedFirst = DateTime.lessThan(merged.firstSeenAt, kept.firstSeenAt)
  const known = (c: Contact) => c.source.channel !== unknownSource.channel
  const takeSource = known(merged) && (mergedFirst || !known(kept))
  if (mergedFirst) attributesTaken.push("firstSeenAt")
  if (takeSource && (merged.source.channel !== kept.source.channel || merged.source.campaign !== kept.source.campaign)) attributesTaken.push("source")

  // Maps, then entries: every key stays an own property (even one named "__proto__").
  const fields = new Map(Object.entries(kept.fields))
  const fieldsTaken: Array<string> = []
  const notTaken = new Map<string, unknown>()
  for (const [key, value] of Object.entries(merged.fields as FieldValues)) {
    if (!fields.has(key)) {
      fields.set(key, value)
      fieldsTaken.push(key)
    } else if (!sameValue(fields.get(key), value)) {
      notTaken.set(key, value)
    }
  }

  // Every address and phone of both, the kept contact's first (its primary stays the primary).
  const heldEmails = new Set(kept.emails.map((e) => emailKey(e.value)))
  const emails = [...kept.emails, ...merged.emails.filter((e) => !heldEmails.has(emailKey(e.value)))]
  const heldPhones = new Set(kept.phones.map((p) => p.value))
  const phones = [...kept.phones, ...merged.phones.filter((p) => !heldPhones.has(p.value))]
  // "emails" (or "phones") when it took any beyond the primary one it had none of ("email").
  if (emails.length - kept.emails.length > (kept.emails.length === 0 ? 1 : 0)) attributesTaken.push("emails")
  if (phones.length - kept.phones.length > (kept.phones.length === 0 ? 1 : 0)) attributesTaken.push("phones")

  const later = indexOf(lifecycle, merged.stage) > indexOf(lifecycle, kept.stage)
  const stage = later ? merged.stage : kept.stage

  return {
    contact: new Contact(
      {
        ...kept,
        email: emails[0]?.value ?? null,
        phone: phones[0]?.value ?? null,
        emails,
        phones,
        firstName: pick("firstName"),
        lastName: pick("lastName"),
        companyId: pick("companyId"),
        ownerId: pick("ownerId"),
        timezone: pick("timezone"),
        firstSeenAt: mergedFirst ? merged.firstSeenAt : kept.firstSeenAt,
        source: takeSource ? merged.source : kept.source,
        tags: [...kept.tags, ...merged.tags.filter((t) => !kept.tags.includes(t))],
        score: Math.max(kept.score, merged.score),
        stage,
        fields: Object.fromEntries(fields)
      },
      true
    ),
    attributesTaken,
    fieldsTaken,
    fieldsNotTaken: Object.fromEntries(notTaken),
    stage: later ? { from: kept.stage, to: merged.stage } : null
  }
}
