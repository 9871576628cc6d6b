// French company identifiers, checked before they reach the CRM: Rapport's field types have no
// pattern or checksum, so the back office refuses a mistyped SIRET or VAT number itself, with a
// message naming the field, before a salesperson's typo becomes a customer's invoice address.

/** Digits only: SIRETs are written "532 109 876 00014" as often as "53210987600014". */
const digitsOf = (input: string) => input.replace(/[\s.-]/g, "")

/** The Luhn sum of a string of digits is a multiple of 10 (doubling every second digit from the right). */
export const luhnValid = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** The digit that makes `payload + digit` pass the Luhn check (used to make valid sample data). */
export const luhnDigit = (payload: string): string => {
  for (let d = 0; d <= 9; d++) if (luhnValid(payload + d)) return String(d)
  throw new Error("unreachable: one digit always completes a Luhn sum")
}

// La Poste's establishments share one SIREN and are numbered beyond what Luhn allows: INSEE checks
// them by the sum of their digits instead.
const LA_POSTE = "356000000"

/** A SIRET, normalised to its 14 digits, or why it is not one. */
export const parseSiret = (input: string): { readonly siret: string } | { readonly error: string } => {
  const digits = digitsOf(input)
  if (!/^\d{14}$/.test(digits)) return { error: `a SIRET has 14 digits (got ${JSON.stringify(input)})` }
  const valid = digits.startsWith(LA_POSTE)
    ? [...digits].reduce((s, d) => s + Number(d), 0) % 5 === 0
    : luhnValid(digits)
  return valid ? { siret: digits } : { error: `${digits} is not a valid SIRET: its check digit is wrong (a typo?)` }
}

/** The key of a French VAT number for a SIREN: (12 + 3 × (SIREN mod 97)) mod 97, on two digits. */
export const frenchVatKey = (siren: string): string => String((12 + 3 * (Number(siren) % 97)) % 97).padStart(2, "0")

const EU_VAT = /^(AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI|GB|CH)[0-9A-Z]{8,13}$/

/**
 * A VAT number, normalised (upper case, no spaces), or why it is not one. A French number's key is
 * checked, and so is its SIREN against the company's SIRET when one is known.
 */
export const parseVatNumber = (input: string, siret?: string): { readonly vat: string } | { readonly error: string } => {
  const vat = input.replace(/[\s.-]/g, "").toUpperCase()
  if (vat.startsWith("FR")) {
    const match = /^FR(\d{2})(\d{9})$/.exec(vat)
    if (match === null) return { error: `a French VAT number is FR, a 2-digit key and the 9-digit SIREN (got ${JSON.stringify(input)})` }
    if (frenchVatKey(match[2]!) !== match[1]) return { error: `${vat} is not a valid French VAT number: its key should be ${frenchVatKey(match[2]!)}` }
    if (siret !== undefined && !siret.startsWith(match[2]!)) return { error: `${vat} is not this company's VAT number: its SIREN ${match[2]} differs from the SIRET's ${siret.slice(0, 9)}` }
    return { vat }
  }
  return EU_VAT.test(vat) ? { vat } : { error: `a VAT number starts with its country code, e.g. FR45532109876 or GB123456789 (got ${JSON.stringify(input)})` }
}

/** A valid SIRET and French VAT number made from 8 digits (sample data). */
export const sampleIdentifiers = (eightDigits: string, establishment = "0001") => {
  const siren = eightDigits + luhnDigit(eightDigits)
  const nic = establishment + luhnDigit(siren + establishment)
  return { siret: siren + nic, vatNumber: `FR${frenchVatKey(siren)}${siren}` }
}

/** "53210987600014" as people write it: "532 109 876 00014". */
export const formatSiret = (siret: string) => `${siret.slice(0, 3)} ${siret.slice(3, 6)} ${siret.slice(6, 9)} ${siret.slice(9)}`
