// A small DKIM verifier for the tests (RFC 6376, rsa-sha256 with relaxed/relaxed canonicalization,
// the form nodemailer signs in): it checks the body hash and the signature over the signed
// headers with the public key, so a signature that does not match the mail as received fails.
import { createHash, createVerify, type KeyObject } from "node:crypto"

const splitMessage = (raw: string) => {
  const crlf = raw.replace(/\r?\n/g, "\r\n")
  const end = crlf.indexOf("\r\n\r\n")
  return { head: crlf.slice(0, end + 2), body: crlf.slice(end + 4) }
}

/** Header fields as [name, whole field with its folding], in order. */
const fields = (head: string): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  for (const line of head.split("\r\n").slice(0, -1)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1]![1] += `\r\n${line}`
    else out.push([line.slice(0, line.indexOf(":")).trim().toLowerCase(), line])
  }
  return out
}

const relaxedHeader = (field: string) => {
  const colon = field.indexOf(":")
  const name = field.slice(0, colon).trim().toLowerCase()
  const value = field.slice(colon + 1).replace(/\r\n/g, "").replace(/[ \t]+/g, " ").trim()
  return `${name}:${value}`
}

const relaxedBody = (body: string) => {
  let text = body
    .split("\r\n")
    .map((line) => line.replace(/[ \t]+/g, " ").replace(/ $/, ""))
    .join("\r\n")
  text = text.replace(/(\r\n)*$/, "")
  return text === "" ? "" : `${text}\r\n`
}

export interface DkimTags {
  readonly [tag: string]: string
}

export const dkimTags = (raw: string): DkimTags | undefined => {
  const signature = fields(splitMessage(raw).head).find(([name]) => name === "dkim-signature")
  if (signature === undefined) return undefined
  const value = signature[1].slice(signature[1].indexOf(":") + 1).replace(/\r\n/g, "")
  return Object.fromEntries(
    value
      .split(";")
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .map((part) => [part.slice(0, part.indexOf("=")).trim(), part.slice(part.indexOf("=") + 1).replace(/[ \t]+/g, "")])
  )
}

/** Whether the mail's DKIM signature holds under `publicKey`; a reason when it does not. */
export const verifyDkim = (raw: string, publicKey: KeyObject): true | string => {
  const { head, body } = splitMessage(raw)
  const all = fields(head)
  const signature = all.find(([name]) => name === "dkim-signature")
  const tags = dkimTags(raw)
  if (signature === undefined || tags === undefined) return "no DKIM-Signature header"
  if (tags["a"] !== "rsa-sha256" || tags["c"] !== "relaxed/relaxed") return `unsupported a=${tags["a"]} c=${tags["c"]}`
  const bodyHash = createHash("sha256").update(relaxedBody(body), "utf8").digest("base64")
  if (bodyHash !== tags["bh"]) return `body hash ${bodyHash} is not bh=${tags["bh"]}`
  // Each name in h= takes the next instance of that field from the bottom.
  const used = new Map<string, number>()
  const signed: Array<string> = []
  for (const name of (tags["h"] ?? "").split(":").map((n) => n.trim().toLowerCase())) {
    const instances = all.filter(([n]) => n === name && n !== "dkim-signature")
    const seen = used.get(name) ?? 0
    const field = instances[instances.length - 1 - seen]
    used.set(name, seen + 1)
    if (field !== undefined) signed.push(`${relaxedHeader(field[1])}\r\n`)
  }
  // The signature's own field, last and without its CRLF, with the b= value emptied (bh= stays).
  const withoutB = relaxedHeader(signature[1]).replace(/(;\s*)b=[^;]*/, "$1b=")
  const verifier = createVerify("RSA-SHA256")
  verifier.update(signed.join("") + withoutB, "utf8")
  return verifier.verify(publicKey, tags["b"] ?? "", "base64") ? true : "the signature does not match the signed headers"
}
