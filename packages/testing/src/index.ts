/**
 * Testing Rapport: a test CRM on a virtual clock and arbitraries for apps that test their own
 * rules, under any test runner (vitest, `node --test`, …); fixtures for adapter authors. The
 * storage contract suite, which needs vitest, is on its own entry: `@rapport/testing/contract`.
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
