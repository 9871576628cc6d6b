/**
 * Rapport on embedded SQLite: one file, no server. This is the default storage: the database is
 * opened in WAL mode (readers never block the writer), migrated on start, and shared by every
 * service of the process.
 *
 * @since 0.1.0
 */
import { Errors, type Storage, type StorageProvider } from "@rapport/core"
import { SqlStorage } from "@rapport/sql"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"

/**
 * @since 0.1.0
 * @category models
 */
export interface SqliteStorageConfig {
  /** The database file (created with its folder if missing), or `:memory:`. */
  readonly filename: string
  /** How long a write waits for another process holding the file's lock (default 5 seconds). */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /**
   * `"full"` (the default) flushes every commit to disk: an event acknowledged to its sender
   * survives a power loss. `"normal"` is faster and still safe from process crashes, but a power
   * loss may undo the last commits.
   */
  readonly synchronous?: "full" | "normal" | undefined
}

const prepareFolder = (filename: string) =>
  Effect.try({
    try: () => {
      if (filename !== ":memory:" && !filename.startsWith("file:")) mkdirSync(dirname(filename), { recursive: true })
    },
    catch: (cause) => new Errors.StorageError({ reason: "unavailable", message: `Could not create the folder of "${filename}"`, cause })
  })

const pragmas = (config: SqliteStorageConfig) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const busyTimeout = Math.round(Duration.toMillis(config.busyTimeout ?? Duration.seconds(5)))
      // The client keeps one connection, so these hold for the whole session. Both values are
      // ours (a number, one of two keywords), never caller text.
      yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeout}`).raw
      yield* sql.unsafe(`PRAGMA synchronous = ${config.synchronous === "normal" ? "NORMAL" : "FULL"}`).raw
    })
  )

/**
 * The SQLite client, Rapport's Storage over it, and the client tags (for host code that wants to
 * query the same database).
 *
 * @example
 * ```ts
 * const CrmLive = Crm.layer.pipe(Layer.provide(SqliteStorage.layer({ filename: "data/crm.db" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: SqliteStorageConfig
): Layer.Layer<Storage.Storage | SqliteClient.SqliteClient | SqlClient.SqlClient, Errors.StorageError> =>
  SqlStorage.layer.pipe(
    Layer.provide(pragmas(config)),
    Layer.provideMerge(SqliteClient.layer({ filename: config.filename })),
    Layer.provide(Layer.effectDiscard(prepareFolder(config.filename))),
    Layer.catchAllCause(SqlStorage.startFailure(`Could not open the SQLite database "${config.filename}"`))
  )

/**
 * A fresh database in memory, migrated on start: nothing is kept when the layer is released. It is
 * the same SQL as on disk, so tests and demos see exactly what production sees.
 *
 * @since 0.4.0
 * @category layers
 */
export const memoryLayer: Layer.Layer<Storage.Storage | SqliteClient.SqliteClient | SqlClient.SqlClient, Errors.StorageError> = layer({
  filename: ":memory:"
})

/**
 * {@link layer} with its settings read from configuration, e.g.
 * `layerConfig({ filename: Config.string("RAPPORT_SQLITE_FILE") })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<SqliteStorageConfig>
): Layer.Layer<Storage.Storage | SqliteClient.SqliteClient | SqlClient.SqlClient, Errors.StorageError> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.mapError(
        Config.unwrap(config),
        (error) => new Errors.StorageError({ reason: "failed", message: `Invalid SQLite storage configuration: ${error.message}`, cause: error })
      ),
      layer
    )
  )

/**
 * SQLite storage for the Promise client: `createCrm({ storage: sqliteStorage({ filename: "crm.db" }) })`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sqliteStorage = (config: SqliteStorageConfig): StorageProvider => ({ layer: layer(config) })

/**
 * Storage in memory for the Promise client (SQLite's `:memory:` database, migrated on start):
 * `createCrm({ storage: memoryStorage() })`. Each call is a new, empty database; nothing is kept
 * when the client closes.
 *
 * @since 0.4.0
 * @category constructors
 */
export const memoryStorage = (): StorageProvider => ({ layer: memoryLayer })
