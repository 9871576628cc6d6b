/**
 * Testing Rapport: the storage contract suite for adapter authors, and fixtures.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Fixtures from "./fixtures.js"

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
