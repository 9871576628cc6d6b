/**
 * Contacts over HTTP: create (one or a batch), read, find by email, change, delete, merge, list
 * with filters and cursor pagination, counts per stage, and a contact's timeline.
 *
 * @since 0.6.0
 */
import { Contact, Contacts, Errors, Ids, Timeline, TimelineEntry } from "@rapport/core"
import type { ContactCreate, ContactMergeOptions, ContactUpdate, ContactUpsert, RemoveContactOptions } from "@rapport/core"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { created, idempotent, input, json, noContent, page, versionedInput } from "../internal/http.js"
import { apiOf, Authorized, ConflictResponse, type GroupHandlers, NotFoundResponse, pageOf, PreconditionResponse, queryOf, route, UnprocessableResponse } from "../internal/routes.js"

const ContactPath = Schema.Struct({ contactId: Ids.ContactId })

/**
 * What `POST /contacts/{keepId}/merge` takes: the duplicate to merge into the kept contact, and
 * the versions read of either.
 *
 * @since 0.6.0
 * @category schemas
 */
export const MergeRequest = Schema.Struct({ mergeId: Ids.ContactId, ...Contact.ContactMergeOptions.fields }).annotations({ identifier: "MergeRequest" })

/**
 * Contacts per stage, as `GET /contacts/stages` answers them.
 *
 * @since 0.6.0
 * @category schemas
 */
export const StageCount = Schema.Struct({ stage: Schema.String, label: Schema.String, count: Schema.Int })

/**
 * The contacts routes (internal: their type names the core's internal modules; the public
 * description of every route is the OpenAPI document).
 *
 * @internal
 */
export const group = HttpApiGroup.make("contacts")
  .add(
    HttpApiEndpoint.post("create", "/contacts")
      .setPayload(Contact.ContactCreate)
      .addSuccess(Contact.Contact, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("contacts.create", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.post("createMany", "/contacts/batch")
      .setPayload(Schema.Array(Contact.ContactCreate))
      .addSuccess(Schema.Array(Contact.Contact), { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("contacts.createMany", { idempotent: true }))
  )
  .add(
    HttpApiEndpoint.get("list", "/contacts")
      .setUrlParams(queryOf(Contact.ContactListOptions))
      .addSuccess(pageOf(Contact.Contact))
      .annotateContext(route("contacts.list"))
  )
  .add(
    HttpApiEndpoint.get("findByEmail", "/contacts/by-email")
      .setUrlParams(Schema.Struct({ email: Schema.String }))
      .addSuccess(Contact.Contact)
      .addError(NotFoundResponse)
      .annotateContext(route("contacts.findByEmail"))
  )
  .add(
    HttpApiEndpoint.put("upsert", "/contacts/by-email")
      .setUrlParams(Schema.Struct({ email: Schema.String }))
      .setPayload(Contacts.ContactUpsertAttributes)
      .addSuccess(Contact.Contact)
      .addSuccess(Contact.Contact, { status: 201 })
      .addError(ConflictResponse)
      .addError(UnprocessableResponse)
      .annotateContext(route("contacts.upsert"))
  )
  .add(
    HttpApiEndpoint.get("countByStage", "/contacts/stages")
      .addSuccess(Schema.Array(StageCount))
      .annotateContext(route("contacts.countByStage"))
  )
  .add(
    HttpApiEndpoint.get("get", "/contacts/:contactId")
      .setPath(ContactPath)
      .addSuccess(Contact.Contact)
      .addError(NotFoundResponse)
      .annotateContext(route("contacts.get"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/contacts/:contactId")
      .setPath(ContactPath)
      .setPayload(Contact.ContactUpdate)
      .addSuccess(Contact.Contact)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("contacts.update", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.del("remove", "/contacts/:contactId")
      .setPath(ContactPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("contacts.remove", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.post("merge", "/contacts/:keepId/merge")
      .setPath(Schema.Struct({ keepId: Ids.ContactId }))
      .setPayload(MergeRequest)
      .addSuccess(Contacts.MergeResult)
      .addError(NotFoundResponse)
      .addError(ConflictResponse)
      .addError(PreconditionResponse)
      .annotateContext(route("contacts.merge", { versioned: true }))
  )
  .add(
    HttpApiEndpoint.get("timeline", "/contacts/:contactId/timeline")
      .setPath(ContactPath)
      .setUrlParams(queryOf(TimelineEntry.TimelineListOptions))
      .addSuccess(pageOf(TimelineEntry.TimelineEntry))
      .addError(NotFoundResponse)
      .annotateContext(route("timeline.list"))
  )
  .middleware(Authorized)

/**
 * The contacts routes' handlers.
 *
 * @internal
 */
export const handlers: GroupHandlers<"contacts"> = HttpApiBuilder.group(apiOf(group), "contacts", (routes) =>
  routes
    .handleRaw("create", () =>
      idempotent(
        Effect.gen(function* () {
          const contact = yield* (yield* Contacts.Contacts).create(yield* input<ContactCreate>())
          return yield* created(contact, `/contacts/${contact.id}`)
        })
      )
    )
    .handleRaw("createMany", () =>
      idempotent(
        Effect.gen(function* () {
          const contacts = yield* (yield* Contacts.Contacts).createMany(yield* input<ReadonlyArray<ContactCreate>>())
          return json(contacts, 201)
        })
      )
    )
    .handleRaw("list", ({ urlParams }) =>
      Effect.flatMap(Contacts.Contacts, (service) => service.list(urlParams)).pipe(Effect.flatMap(page))
    )
    .handleRaw("findByEmail", ({ urlParams }) =>
      Effect.gen(function* () {
        const found = yield* (yield* Contacts.Contacts).findByEmail(urlParams.email)
        if (found._tag === "Some") return json(found.value)
        return yield* new Errors.NotFound({ entity: "contact", id: urlParams.email, message: `No contact with email ${JSON.stringify(urlParams.email)} in this workspace` })
      })
    )
    .handleRaw("upsert", ({ urlParams }) =>
      Effect.gen(function* () {
        const body = (yield* input<Partial<ContactUpsert> | undefined>()) ?? {}
        if (body.email !== undefined && body.email !== urlParams.email) {
          return yield* Errors.ValidationError.at(["email"], "must be left out, or be the email of the query")
        }
        const result = yield* (yield* Contacts.Contacts).upsert({ ...body, email: urlParams.email })
        return result.created ? yield* created(result.contact, `/contacts/${result.contact.id}`) : json(result.contact)
      })
    )
    .handleRaw("countByStage", () => Effect.map(Effect.flatMap(Contacts.Contacts, (service) => service.countByStage()), (counts) => json(counts)))
    .handleRaw("get", ({ path }) => Effect.map(Effect.flatMap(Contacts.Contacts, (service) => service.get(path.contactId)), (contact) => json(contact)))
    .handleRaw("update", ({ path }) =>
      Effect.gen(function* () {
        return json(yield* (yield* Contacts.Contacts).update(path.contactId, yield* versionedInput<ContactUpdate>()))
      })
    )
    .handleRaw("remove", ({ path }) =>
      Effect.gen(function* () {
        yield* (yield* Contacts.Contacts).remove(path.contactId, yield* versionedInput<RemoveContactOptions | undefined>())
        return yield* noContent
      })
    )
    .handleRaw("merge", ({ path }) =>
      Effect.gen(function* () {
        const { mergeId, ...options } = (yield* versionedInput<({ readonly mergeId?: string } & ContactMergeOptions) | undefined>()) ?? {}
        if (mergeId === undefined) return yield* Errors.ValidationError.at(["mergeId"], "is required: the id of the contact to merge into this one")
        return json(yield* (yield* Contacts.Contacts).merge(path.keepId, mergeId, options))
      })
    )
    .handleRaw("timeline", ({ path, urlParams }) =>
      Effect.flatMap(Timeline.Timeline, (service) => service.list(path.contactId, urlParams)).pipe(Effect.flatMap(page))
    )
)

