/**
 * Companies (accounts): create, read, update, delete and list, with their custom fields.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Company, CompanyCreate, CompanyListOptions, CompanyUpdate } from "../domain/Company.js"
import { Conflict, NotFound } from "../domain/Errors.js"
import { applyPatch } from "../domain/FieldDefinition.js"
import { CompanyId, type WorkspaceId } from "../domain/Ids.js"
import * as Page from "../domain/Page.js"
import { workspaceLock } from "../internal/locks.js"
import { checkFields, claimUniqueValues, compiledFields, keep } from "../internal/records.js"
import { decodeInput } from "../internal/validation.js"
import { ensureWorkspace, readWorkspace } from "../internal/workspace.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { Storage } from "../ports/Storage.js"

const decodeCompanyId = decodeInput(CompanyId, ["companyId"])

/**
 * @since 0.1.0
 * @category services
 */
export class Companies extends Effect.Service<Companies>()("@rapport/core/Companies", {
  effect: Effect.gen(function* () {
    const storage = yield* Storage

    const getIn = (workspaceId: WorkspaceId, id: CompanyId) =>
      Effect.flatMap(storage.companies.get(workspaceId, id), Option.match({
        onNone: () => Effect.fail(NotFound.of("company", id)),
        onSome: Effect.succeed
      }))



    /** Creates a company. */
    const create = Effect.fn("Companies.create")(function* (input: CompanyCreate) {
      const data = yield* decodeInput(CompanyCreate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* ensureWorkspace(storage)
          const compiled = yield* compiledFields(storage, workspace, "company")
          const values = yield* checkFields(compiled, applyPatch({}, data.fields ?? {}), undefined)
          const now = yield* DateTime.now
          const company = new Company({
            id: CompanyId.make(yield* (yield* IdGenerator).next),
            workspaceId: workspace.id,
            name: data.name,
            domain: data.domain ?? null,
            phone: data.phone ?? null,
            tags: data.tags ?? [],
            ownerId: data.ownerId ?? null,
            fields: values,
            version: 1,
            createdAt: now,
            updatedAt: now
          })
          yield* storage.companies.insert(company)
          yield* claimUniqueValues(storage, workspace.id, "company", compiled, company.id, {}, values)
          return company
        })
      )
    })

    /** The company with this id, or `NotFound`. */
    const get = Effect.fn("Companies.get")(function* (companyId: string) {
      const id = yield* decodeCompanyId(companyId)
      return yield* getIn((yield* readWorkspace(storage)).id, id)
    })

    /** Changes a company; a stale `expectedVersion` fails with `Conflict`. */
    const update = Effect.fn("Companies.update")(function* (companyId: string, input: CompanyUpdate) {
      const id = yield* decodeCompanyId(companyId)
      const data = yield* decodeInput(CompanyUpdate)(input)
      return yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          const current = yield* getIn(workspace.id, id)
          if (data.expectedVersion !== current.version) {
            return yield* Conflict.version("company", id, data.expectedVersion, current.version)
          }
          const compiled = yield* compiledFields(storage, workspace, "company")
          const values = yield* checkFields(compiled, data.fields === undefined ? current.fields : applyPatch(current.fields, data.fields), undefined)
          const next = new Company({
            ...current,
            name: keep(data.name, current.name),
            domain: keep(data.domain, current.domain),
            phone: keep(data.phone, current.phone),
            tags: keep(data.tags, current.tags),
            ownerId: keep(data.ownerId, current.ownerId),
            fields: values,
            version: current.version + 1,
            updatedAt: yield* DateTime.now
          })
          yield* storage.companies.update(next, current.version)
          yield* claimUniqueValues(storage, workspace.id, "company", compiled, id, current.fields, values)
          return next
        })
      )
    })

    /** Deletes a company; refused with `Conflict` (`inUse`) while contacts belong to it. */
    const remove = Effect.fn("Companies.remove")(function* (companyId: string) {
      const id = yield* decodeCompanyId(companyId)
      yield* storage.transaction(
        Effect.gen(function* () {
          yield* workspaceLock(storage, "shared")
          const workspace = yield* readWorkspace(storage)
          // Held alone: contacts joining it wait, then find it gone.
          yield* storage.companies.lockExisting(workspace.id, [id], "update")
          yield* getIn(workspace.id, id)
          const members = yield* storage.contacts.countByCompany(workspace.id, id)
          const deals = yield* storage.deals.count(workspace.id, { companyId: id })
          if (deals > 0) {
            return yield* Conflict.inUse("company", id, deals, `Company "${id}" still has ${deals} deal${deals === 1 ? "" : "s"}; move or delete them first`)
          }
          if (members > 0) {
            return yield* new Conflict({
              reason: "inUse",
              entity: "company",
              id,
              affected: members,
              message: `Company "${id}" still has ${members} contact${members === 1 ? "" : "s"}; move or delete them first`
            })
          }
          yield* storage.uniqueValues.releaseRecord(workspace.id, "company", id)
          yield* storage.companies.remove(workspace.id, id)
        })
      )
    })

    /** Companies in creation order, a page at a time. */
    const list = Effect.fn("Companies.list")(function* (options: CompanyListOptions = {}) {
      const query = yield* decodeInput(CompanyListOptions)(options)
      const limit = query.limit ?? Page.defaultLimit
      const after = query.cursor === undefined ? undefined : yield* Page.decodeIdCursor(query.cursor, "companies.list")
      const rows = yield* storage.companies.list((yield* readWorkspace(storage)).id, { after, limit: limit + 1 })
      return Page.fromRows(rows, limit, (c) => [c.id])
    })

    return {
      /** Creates a company. */
      create,
      /** The company, or a `RapportNotFoundError`. */
      get,
      /** Changes a company; `expectedVersion` is the version you read. */
      update,
      /** Deletes a company that no contact belongs to. */
      remove,
      /** Companies in creation order, a page at a time. */
      list
    } as const
  })
}) {}
