/**
 * Rapport's Storage over any `@effect/sql` client, with embedded migrations.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Migrations from "./Migrations.js"
/** @since 0.1.0 */
export * as SqlStorage from "./SqlStorage.js"
