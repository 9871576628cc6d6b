/**
 * Testing Rapport: a test CRM on a virtual clock and arbitraries for apps that test their own
 * rules; the storage contract suite and fixtures for adapter authors.
 *
 * @since 0.1.0
 */

/** @since 0.3.0 */
export * as Arbitraries from "./Arbitraries.js"
/** @since 0.1.0 */
export * as Fixtures from "./fixtures.js"

export {
  /**
   * Creates a CRM in memory on a virtual clock, with a Mailer that keeps mails.
   *
   * @since 0.3.0
   * @category constructors
   */
  createTestCrm,
  /**
   * @since 0.3.0
   * @category models
   */
  type SentMail,
  /**
   * @since 0.3.0
   * @category models
   */
  type TestCrm,
  /**
   * @since 0.3.0
   * @category models
   */
  type TestCrmOptions,
  /**
   * @since 0.3.0
   * @category models
   */
  type VirtualClock
} from "./TestCrm.js"

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
