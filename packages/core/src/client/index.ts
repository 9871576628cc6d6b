// The Promise client's public names, re-exported by the package's index.
export { type ClientMethod, createCrm, type CrmClient, type DispatcherClient, type RunningDispatcher, type ServiceClient, type ServicesClient, type SetupClient } from "./client.js"
export {
  assertEffectVersion,
  checkEffectVersion,
  installedEffectVersion,
  RapportAuthenticationError,
  RapportClientClosedError,
  RapportEffectVersionError,
  RapportConflictError,
  RapportError,
  RapportInternalError,
  RapportInvalidTransitionError,
  RapportMailerError,
  RapportNotFoundError,
  RapportStorageError,
  RapportValidationError,
  RapportWebhookError,
  requiredEffect,
  toRapportError
} from "./errors.js"
export type * from "./json.js"
export { toJson } from "../internal/json.js"
export {
  consoleMailer,
  type CreateCrmOptions,
  type CustomActionContextJson,
  type CustomActionHandler,
  type MailerLayer,
  type MailerProvider,
  MailRejected,
  type PromiseMailer,
  type StorageProvider
} from "./providers.js"
