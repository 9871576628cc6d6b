/**
 * Rapport's Mailer over SMTP (nodemailer): pooled connections, STARTTLS or implicit TLS, DKIM,
 * attachments, and Message-IDs derived from idempotency keys.
 *
 * @since 0.7.0
 */

/** @since 0.7.0 */
export * as SmtpMailer from "./SmtpMailer.js"

export {
  /**
   * The SMTP mailer for the Promise client: `createCrm({ mailer: smtpMailer({ host, … }) })`.
   *
   * @since 0.7.0
   * @category constructors
   */
  smtpMailer
} from "./SmtpMailer.js"
