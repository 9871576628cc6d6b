/**
 * Email addresses: trimmed, domain lower-cased (and internationalised domains converted to
 * punycode), validated. Two addresses that differ only by case are the same contact: the
 * lookup key ({@link emailKey}) is fully lower-cased.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * Normalises and validates an address; the left side says why it is not one.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalize = (raw: string): Either.Either<string, string> => {
  const trimmed = raw.trim()
  if (trimmed.length === 0) return Either.left("must not be empty")
  if (trimmed.length > 254) return Either.left("must be at most 254 characters")
  const at = trimmed.lastIndexOf("@")
  if (at <= 0 || at === trimmed.length - 1) return Either.left(`"${trimmed}" is not an email address (expected name@domain)`)
  const local = trimmed.slice(0, at)
  const rawDomain = trimmed.slice(at + 1)
  if (local.length > 64 || !LOCAL_PART.test(local)) {
    return Either.left(`"${trimmed}" is not an email address (invalid part before @)`)
  }
  let domain: string
  try {
    // URL parsing lower-cases the host and converts internationalised names to punycode.
    domain = new URL(`http://${rawDomain}`).hostname
  } catch {
    return Either.left(`"${trimmed}" is not an email address (invalid domain)`)
  }
  const labels = domain.split(".")
  if (labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1]!)) {
    return Either.left(`"${trimmed}" is not an email address (invalid domain)`)
  }
  return Either.right(`${local}@${domain}`)
}

/**
 * The case-insensitive key contacts are found and de-duplicated by.
 *
 * @since 0.1.0
 * @category utils
 */
export const emailKey = (email: string): string => email.toLowerCase()

// What normalize() produces: a valid local part, then lower-case ASCII labels (punycode for
// internationalised names). Checking the form is enough for values already normalised, and
// avoids re-parsing a URL for every stored email that is read or written.
const isNormalized = (s: string): boolean => {
  const at = s.lastIndexOf("@")
  if (at <= 0 || s.length > 254) return false
  const local = s.slice(0, at)
  const labels = s.slice(at + 1).split(".")
  return (
    local.length <= 64 &&
    LOCAL_PART.test(local) &&
    labels.length >= 2 &&
    labels.every((l) => DOMAIN_LABEL.test(l)) &&
    !/^\d+$/.test(labels[labels.length - 1]!)
  )
}

/**
 * A normalised, valid email address.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Email = Schema.String.pipe(
  Schema.filter(isNormalized, {
    message: () => "must be a normalised email address",
    arbitrary: () => (fc) =>
      fc
        .tuple(
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9+_-]{0,11}(\.[A-Za-z0-9_-]{1,6})?$/),
          fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/),
          fc.constantFrom("com", "fr", "io", "co.uk")
        )
        .map(([local, domain, tld]) => `${local}@${domain}.${tld}`)
  }),
  Schema.brand("Email"),
  Schema.annotations({ identifier: "Email" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Email = typeof Email.Type

/**
 * Accepts any string and normalises it into an {@link Email}, failing with the reason.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmailFromString = Schema.transformOrFail(Schema.String, Email, {
  strict: true,
  decode: (raw, _, ast) =>
    Either.match(normalize(raw), {
      onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, raw, reason)),
      onRight: (email) => ParseResult.succeed(Email.make(email))
    }),
  encode: ParseResult.succeed
}).annotations({ identifier: "EmailFromString" })
