// The pure checks outbound webhooks rely on: which addresses a delivery may reach (every class of
// IPv4 and IPv6 address, in every spelling, IPv4 carried inside IPv6 included), what Retry-After
// asks, message ids, and the subscription inputs.
import { OutboundWebhook } from "@rapport/core"
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

const { classifyAddress } = OutboundWebhook

const byte = FastCheck.integer({ min: 0, max: 255 })
const v4 = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`

/** IPv4 addresses in a prefix: the fixed leading bits, random trailing ones. */
const inV4 = (prefix: ReadonlyArray<number>, bits: number) =>
  FastCheck.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((host) => {
    const base = ((prefix[0]! << 24) | ((prefix[1] ?? 0) << 16) | ((prefix[2] ?? 0) << 8) | (prefix[3] ?? 0)) >>> 0
    const value = (base + host) >>> 0
    return v4(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255)
  })

const v4Classes: ReadonlyArray<readonly [OutboundWebhook.AddressKind, ReadonlyArray<number>, number]> = [
  ["unspecified", [0], 8],
  ["private", [10], 8],
  ["private", [100, 64], 10],
  ["loopback", [127], 8],
  ["linkLocal", [169, 254], 16],
  ["private", [172, 16], 12],
  ["reserved", [192, 0, 0], 24],
  ["documentation", [192, 0, 2], 24],
  ["reserved", [192, 88, 99], 24],
  ["private", [192, 168], 16],
  ["benchmarking", [198, 18], 15],
  ["documentation", [198, 51, 100], 24],
  ["documentation", [203, 0, 113], 24],
  ["multicast", [224], 4],
  ["reserved", [240], 4]
]

const inAnyV4Class = (address: string) => {
  const [a, b, c] = address.split(".").map(Number) as [number, number, number, number]
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b < 128) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 192 && b === 88 && c === 99) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  )
}
const publicV4 = FastCheck.tuple(byte, byte, byte, byte).map(([a, b, c, d]) => v4(a, b, c, d)).filter((a) => !inAnyV4Class(a))
const anyV4 = FastCheck.oneof(publicV4, ...v4Classes.map(([, prefix, bits]) => inV4(prefix, bits)))

const hex16 = FastCheck.integer({ min: 0, max: 0xffff })
/** An IPv6 address from 8 groups, written out in full, compressed (longest zero run) or upper-case. */
const spellings = (groups: ReadonlyArray<number>): ReadonlyArray<string> => {
  const full = groups.map((g) => g.toString(16)).join(":")
  let best = { start: -1, length: 0 }
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.length) best = { start: i, length: j - i }
    i = j
  }
  const compressed =
    best.length < 2
      ? full
      : `${groups.slice(0, best.start).map((g) => g.toString(16)).join(":")}::${groups.slice(best.start + best.length).map((g) => g.toString(16)).join(":")}`
  const padded = groups.map((g) => g.toString(16).padStart(4, "0")).join(":")
  return [full, compressed, padded.toUpperCase(), `[${compressed}]`]
}
const groupsWith = (first: (g: number) => number, rest = FastCheck.array(hex16, { minLength: 7, maxLength: 7 })) =>
  FastCheck.tuple(hex16, rest).map(([g, others]) => [first(g), ...others])

describe("OutboundWebhook.classifyAddress", () => {
  for (const [kind, prefix, bits] of v4Classes) {
    it.prop(`IPv4 ${prefix.join(".")}/${bits} is ${kind}`, [inV4(prefix, bits)], ([address]) => {
      expect(classifyAddress(address)).toBe(kind)
    })
  }

  it.prop("IPv4 outside every special range is public", [publicV4], ([address]) => {
    expect(classifyAddress(address)).toBe("public")
  })

  it("the edges of the ranges fall on the right side", () => {
    expect([classifyAddress("9.255.255.255"), classifyAddress("10.0.0.0"), classifyAddress("11.0.0.0")]).toEqual(["public", "private", "public"])
    expect([classifyAddress("172.15.255.255"), classifyAddress("172.16.0.0"), classifyAddress("172.31.255.255"), classifyAddress("172.32.0.0")]).toEqual([
      "public",
      "private",
      "private",
      "public"
    ])
    expect([classifyAddress("100.63.255.255"), classifyAddress("100.64.0.0"), classifyAddress("100.127.255.255"), classifyAddress("100.128.0.0")]).toEqual([
      "public",
      "private",
      "private",
      "public"
    ])
    expect([classifyAddress("223.255.255.255"), classifyAddress("255.255.255.255")]).toEqual(["public", "reserved"])
  })

  it.prop("an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any spelling) is what its IPv4 address is", [anyV4], ([address]) => {
    const [a, b, c, d] = address.split(".").map(Number) as [number, number, number, number]
    const groups = [0, 0, 0, 0, 0, 0xffff, (a << 8) | b, (c << 8) | d]
    for (const spelling of [...spellings(groups), `::ffff:${address}`, `0:0:0:0:0:FFFF:${address}`, `[::ffff:${address}]`]) {
      expect([spelling, classifyAddress(spelling)]).toEqual([spelling, classifyAddress(address)])
    }
  })

  it.prop("NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are what the IPv4 address they carry is", [anyV4, FastCheck.array(hex16, { minLength: 5, maxLength: 5 })], ([address, tail]) => {
    const [a, b, c, d] = address.split(".").map(Number) as [number, number, number, number]
    const expected = classifyAddress(address)
    expect(classifyAddress(`64:ff9b::${address}`)).toBe(expected)
    for (const spelling of spellings([0x2002, (a << 8) | b, (c << 8) | d, ...tail])) expect(classifyAddress(spelling)).toBe(expected)
  })

  it("loopback and unspecified IPv6, in every spelling", () => {
    for (const spelling of ["::1", "0:0:0:0:0:0:0:1", "0000:0000:0000:0000:0000:0000:0000:0001", "[::1]", "::0:1"]) expect(classifyAddress(spelling)).toBe("loopback")
    for (const spelling of ["::", "0:0:0:0:0:0:0:0", "[::]"]) expect(classifyAddress(spelling)).toBe("unspecified")
  })

  const v6Classes: ReadonlyArray<readonly [OutboundWebhook.AddressKind, string, (g: number) => number]> = [
    ["linkLocal", "fe80::/10", (g) => 0xfe80 | (g & 0x3f)],
    ["uniqueLocal", "fc00::/7", (g) => 0xfc00 | (g & 0x1ff)],
    ["private", "fec0::/10 (site-local)", (g) => 0xfec0 | (g & 0x3f)],
    ["multicast", "ff00::/8", (g) => 0xff00 | (g & 0xff)],
    ["reserved", "2001::/23 (Teredo and other protocol assignments)", () => 0x2001],
    ["reserved", "outside 2000::/3", (g) => (g % 2 === 0 ? 0x4000 | (g & 0x3fff) : 0x0100 | (g & 0xff))]
  ]
  for (const [kind, range, first] of v6Classes) {
    const arb =
      range.startsWith("2001::/23")
        ? FastCheck.tuple(FastCheck.integer({ min: 0, max: 0x1ff }), FastCheck.array(hex16, { minLength: 6, maxLength: 6 })).map(([second, rest]) => [0x2001, second, ...rest])
        : groupsWith(first)
    it.prop(`IPv6 ${range} is ${kind}, in every spelling`, [arb], ([groups]) => {
      // 2001:db8::/32 and 2001:2::/48 are named more precisely.
      const expected = groups[0] === 0x2001 && groups[1] === 0xdb8 ? "documentation" : groups[0] === 0x2001 && groups[1] === 2 && groups[2] === 0 ? "benchmarking" : kind
      for (const spelling of spellings(groups)) expect([spelling, classifyAddress(spelling)]).toEqual([spelling, expected])
    })
  }

  it.prop(
    "global unicast IPv6 (2000::/3) outside the special blocks is public",
    [groupsWith((g) => 0x2000 | (g & 0x1fff)).filter((g) => g[0] !== 0x2001 && g[0] !== 0x2002 && g[0] !== 0x3fff)],
    ([groups]) => {
      for (const spelling of spellings(groups)) expect([spelling, classifyAddress(spelling)]).toEqual([spelling, "public"])
    }
  )

  it("a zone id does not hide a link-local address", () => {
    expect(classifyAddress("fe80::1%eth0")).toBe("linkLocal")
  })

  it("host names and malformed addresses are not addresses", () => {
    for (const text of ["example.com", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", ":::1", "1::2::3", "12345::", "::ffff:1.2.3", "g::1", ""]) {
      expect([text, classifyAddress(text)]).toEqual([text, undefined])
    }
  })

  it("refusal names the address and its class; a public address has none", () => {
    expect(OutboundWebhook.refusal("10.1.2.3")).toBe("10.1.2.3 is a private network address")
    expect(OutboundWebhook.refusal("::ffff:127.0.0.1")).toBe("::ffff:127.0.0.1 is a loopback address")
    expect(OutboundWebhook.refusal("93.184.216.34")).toBeUndefined()
  })

  it("localhost and names under .localhost are loopback names, whatever their case", () => {
    expect(["localhost", "LOCALHOST.", "api.localhost", "localhost.example.com"].map(OutboundWebhook.isLocalhostName)).toEqual([true, true, true, false])
  })
})

describe("OutboundWebhook.retryAfterMillis", () => {
  const now = Date.parse("2025-01-06T09:00:00.000Z")
  it("reads delay-seconds and HTTP dates; a date past is 0; anything else is unreadable", () => {
    expect(OutboundWebhook.retryAfterMillis("120", now)).toBe(120_000)
    expect(OutboundWebhook.retryAfterMillis(" 0 ", now)).toBe(0)
    expect(OutboundWebhook.retryAfterMillis("Mon, 06 Jan 2025 09:05:00 GMT", now)).toBe(300_000)
    expect(OutboundWebhook.retryAfterMillis("Sun, 05 Jan 2025 09:00:00 GMT", now)).toBe(0)
    expect(OutboundWebhook.retryAfterMillis("Monday, 06-Jan-25 09:01:00 GMT", now)).toBe(60_000)
    for (const unreadable of [undefined, null, "", "soon", "-5", "1.5", "2025-01-07"]) expect(OutboundWebhook.retryAfterMillis(unreadable, now)).toBeUndefined()
  })
})

describe("OutboundWebhook inputs", () => {
  const decode = Schema.decodeUnknownEither(OutboundWebhook.SubscriptionCreate)
  const problems = (input: unknown) => {
    const result = decode(input, { errors: "all", onExcessProperty: "error" })
    return Either.isLeft(result) ? String(result.left) : undefined
  }

  it("a URL is absolute http(s), without credentials or fragment, and event types are known, once each", () => {
    expect(problems({ url: "https://erp.example.com/hooks", eventTypes: ["contact.created", "deal.won"] })).toBeUndefined()
    expect(problems({ url: "ftp://erp.example.com/", eventTypes: ["*"] })).toContain("must be an http:// or https:// URL, not ftp:")
    expect(problems({ url: "/hooks", eventTypes: ["*"] })).toContain("must be an absolute http:// or https:// URL")
    expect(problems({ url: "https://user:pw@erp.example.com/", eventTypes: ["*"] })).toContain("must not carry a user name or password")
    expect(problems({ url: "https://erp.example.com/#x", eventTypes: ["*"] })).toContain("must not have a #fragment")
    expect(problems({ url: "https://erp.example.com/", eventTypes: [] })).toBeDefined()
    expect(problems({ url: "https://erp.example.com/", eventTypes: ["deal.won", "deal.won"] })).toContain("lists an event type twice")
    expect(problems({ url: "https://erp.example.com/", eventTypes: ["deal.signed"] })).toContain('must be "*" or one of')
  })

  it("a given secret is whsec_ and base64 of 24 to 64 bytes; generated secrets are", () => {
    const ok = `whsec_${Buffer.alloc(32, 7).toString("base64")}`
    expect(problems({ url: "https://a.example/", eventTypes: ["*"], secret: ok })).toBeUndefined()
    expect(problems({ url: "https://a.example/", eventTypes: ["*"], secret: `whsec_${Buffer.alloc(8).toString("base64")}` })).toContain("24 to 64 bytes")
    expect(problems({ url: "https://a.example/", eventTypes: ["*"], secret: Buffer.alloc(32).toString("base64") })).toContain('must start with "whsec_"')
    const generated = OutboundWebhook.generateSecret()
    expect(problems({ url: "https://a.example/", eventTypes: ["*"], secret: generated })).toBeUndefined()
    expect(generated).not.toBe(OutboundWebhook.generateSecret())
  })

  it("a message id is printable ASCII, the same for the same event and subscription, and differs otherwise", () => {
    const id = OutboundWebhook.messageIdFor("acme", "sub-1", "deal.won", "deal.won:d-1:3")
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{32}$/)
    expect(OutboundWebhook.messageIdFor("acme", "sub-1", "deal.won", "deal.won:d-1:3")).toBe(id)
    expect(new Set([
      id,
      OutboundWebhook.messageIdFor("other", "sub-1", "deal.won", "deal.won:d-1:3"),
      OutboundWebhook.messageIdFor("acme", "sub-2", "deal.won", "deal.won:d-1:3"),
      OutboundWebhook.messageIdFor("acme", "sub-1", "deal.lost", "deal.won:d-1:3"),
      OutboundWebhook.messageIdFor("acme", "sub-1", "deal.won", "deal.won:d-1:4")
    ]).size).toBe(5)
  })
})
