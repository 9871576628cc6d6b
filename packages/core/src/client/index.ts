// The Promise client's public names, re-exported by the package's index.
export { createCrm, type CrmClient, type RunningDispatcher } from "./client.js"
export {
  RapportClientClosedError,
  RapportConflictError,
  RapportError,
  RapportInternalError,
  RapportInvalidTransitionError,
  RapportMailerError,
  RapportNotFoundError,
  RapportStorageError,
  RapportValidationError,
  toRapportError
} from "./errors.js"
export type * from "./json.js"
export { consoleMailer, type CreateCrmOptions, type CustomActionContextJson, type CustomActionHandler, type MailerProvider, type StorageProvider } from "./providers.js"
