/**
 * The storage contract for adapter authors: the suites every dialect passes unchanged, registered
 * as vitest tests. This entry needs `vitest` and `@effect/vitest` (optional peers of this package);
 * the main entry, `@rapport/testing`, does not, so apps can use `createTestCrm` under any runner.
 *
 * @example
 * ```ts
 * import { hostileInputSuite, sharedDatabaseSuite, storageSuite } from "@rapport/testing/contract"
 * ```
 *
 * @since 0.4.0
 */

export {
  /**
   * Registers the storage contract tests for an adapter's layer.
   *
   * @since 0.1.0
   * @category constructors
   */
  storageSuite,
  /**
   * @since 0.1.0
   * @category models
   */
  type StorageSuiteOptions
} from "./StorageSuite.js"

export {
  /**
   * Registers the hostile-input property tests for a dialect's layer (it must provide `Storage`
   * and `@effect/sql`'s `SqlClient`): every public write of the Promise client either stores
   * exactly what it returns or refuses with a `RapportError` and changes no row.
   *
   * @since 0.4.0
   * @category constructors
   */
  hostileInputSuite,
  /**
   * @since 0.4.0
   * @category models
   */
  type HostileInputSuiteOptions
} from "./HostileSuite.js"

export {
  /**
   * Registers the test that two clients on one database see each other's rule, field and
   * lifecycle changes on their next emit (what a process caches never hides another's change).
   *
   * @since 0.5.0
   * @category constructors
   */
  sharedDatabaseSuite,
  /**
   * @since 0.5.0
   * @category models
   */
  type SharedDatabaseSuiteOptions
} from "./SharedDatabaseSuite.js"
