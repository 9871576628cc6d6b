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
/** @since 0.9.0 */
export { type ManualClock, manualClock } from "./ManualClock.js"

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
   * Fills a workspace with a year of deterministic demo data (French and English contacts,
   * channels with spend, orders with costs, deals with a floor, tasks, an A/B rule, a segment).
   *
   * @since 0.9.0
   * @category constructors
   */
  seedDemoData,
  /**
   * @since 0.9.0
   * @category models
   */
  type DemoDataOptions,
  /**
   * @since 0.9.0
   * @category models
   */
  type DemoDataSummary
} from "./DemoData.js"
