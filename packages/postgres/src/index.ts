/**
 * Rapport on PostgreSQL (node-postgres through `@effect/sql-pg`).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as PostgresStorage from "./PostgresStorage.js"

export {
  /**
   * PostgreSQL storage for the Promise client.
   *
   * @since 0.1.0
   * @category constructors
   */
  postgresStorage
} from "./PostgresStorage.js"
