/**
 * Rapport on embedded SQLite (better-sqlite3 through `@effect/sql-sqlite-node`).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SqliteStorage from "./SqliteStorage.js"

export {
  /**
   * SQLite storage for the Promise client.
   *
   * @since 0.1.0
   * @category constructors
   */
  sqliteStorage,
  /**
   * Storage in memory (SQLite's `:memory:` database) for the Promise client: tests and demos.
   *
   * @since 0.4.0
   * @category constructors
   */
  memoryStorage
} from "./SqliteStorage.js"
