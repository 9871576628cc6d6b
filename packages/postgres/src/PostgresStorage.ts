/**
 * Rapport on PostgreSQL: the storage for apps that run several instances on one database. The
 * same SQL as SQLite runs here (see `@rapport/sql`); PostgreSQL adds JSONB with a GIN index for
 * custom fields, timestamptz instants, and an advisory lock so instances starting together
 * migrate the database once.
 *
 * @since 0.1.0
 */
import { Errors, type Storage, type StorageProvider } from "@rapport/core"
import { SqlStorage } from "@rapport/sql"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { Pool } from "pg"

/**
 * @since 0.1.0
 * @category models
 */
export interface PostgresStorageConfig {
  /** A connection string, e.g. `postgres://app@db.internal:5432/crm`. */
  readonly url: string | Redacted.Redacted<string>
  /** The most connections the pool opens (default 10). */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection before failing with `StorageError` (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Shown in `pg_stat_activity` (default `rapport`). */
  readonly applicationName?: string | undefined
}

/**
 * What every PostgreSQL storage layer provides: Rapport's Storage, and the client tags for host
 * code that queries the same database.
 *
 * @since 0.1.0
 * @category models
 */
export type PostgresStorageLayer = Layer.Layer<Storage.Storage | PgClient.PgClient | SqlClient.SqlClient, Errors.StorageError>

const withStorage = (client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown>): PostgresStorageLayer =>
  SqlStorage.layer.pipe(Layer.provideMerge(client), Layer.catchAllCause(SqlStorage.startFailure("Could not start the PostgreSQL storage")))

/**
 * Connects with a pool, migrates the database, and provides Rapport's Storage plus the client
 * tags (for host code that queries the same database).
 *
 * @example
 * ```ts
 * const CrmLive = Crm.layer.pipe(Layer.provide(PostgresStorage.layer({ url: process.env.DATABASE_URL! })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: PostgresStorageConfig): PostgresStorageLayer =>
  withStorage(
    PgClient.layer({
      url: typeof config.url === "string" ? Redacted.make(config.url) : config.url,
      maxConnections: config.maxConnections ?? 10,
      ...(config.connectTimeout === undefined ? {} : { connectTimeout: config.connectTimeout }),
      applicationName: config.applicationName ?? "rapport"
    })
  )

/**
 * {@link layer} configured from the environment: `RAPPORT_PG_URL` by default, or the
 * configuration you give.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<PostgresStorageConfig> = { url: Config.redacted("RAPPORT_PG_URL") }
): PostgresStorageLayer =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.mapError(
        Config.unwrap(config),
        (error) => new Errors.StorageError({ reason: "failed", message: `Invalid PostgreSQL storage configuration: ${error.message}`, cause: error })
      ),
      layer
    )
  )

/**
 * Rapport's Storage on the host app's existing `pg` pool. The pool stays the host's: Rapport
 * never ends it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromPool = (pool: Pool): PostgresStorageLayer =>
  withStorage(PgClient.layerFromPool({ acquire: Effect.succeed(pool) }))

/**
 * PostgreSQL storage for the Promise client: `createCrm({ storage: postgresStorage({ url }) })`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const postgresStorage = (config: PostgresStorageConfig): StorageProvider => ({ layer: layer(config) })
