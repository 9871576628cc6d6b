// Encoding detection and streaming decoding: what a file's bytes say about their encoding, text
// that comes out whole whatever the chunk boundaries, and binary data refused with a clear error.
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import iconv from "iconv-lite"
import * as Encoding from "../src/Encoding.js"
import type { Bytes } from "../src/Source.js"

/** Bytes delivered in the given chunks, one per pull, as a reader gets them from a file or a socket. */
const bytesOf = (chunks: ReadonlyArray<Uint8Array>, name?: string): Bytes => ({
  stream: Stream.rechunk(Stream.fromIterable(chunks), 1),
  size: chunks.reduce((n, c) => n + c.byteLength, 0),
  read: () => 0,
  name
})

/** The bytes cut every `size` bytes, so characters straddle chunk boundaries. */
const chunked = (bytes: Uint8Array, size: number): ReadonlyArray<Uint8Array> =>
  Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))

const decodeAll = (bytes: Bytes, options?: Encoding.DecodeOptions) =>
  Effect.flatMap(Encoding.decode(bytes, options), (decoded) =>
    Effect.map(Stream.runFold(decoded.text, "", (text, chunk) => text + chunk), (text) => ({ ...decoded, all: text }))
  )

const french = "Prénom;Nom;Société\r\nJérôme;Lefèvre;Crédit Agricole\r\nFrançoise;Dupré;Œuvres d’Été – 5 €\r\n"

describe("Encoding.detect", () => {
  it("a byte order mark wins", () => {
    expect(Encoding.detect(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toBe("utf-8")
    expect(Encoding.detect(iconv.encode("a;b", "utf-16le", { addBOM: true }))).toBe("utf-16le")
    expect(Encoding.detect(iconv.encode("a;b", "utf-16be", { addBOM: true }))).toBe("utf-16be")
    // A UTF-8 mark in front of bytes that are not UTF-8 still says UTF-8.
    expect(Encoding.detect(new Uint8Array([0xef, 0xbb, 0xbf, 0xe9, 0x3b]))).toBe("utf-8")
  })

  it("valid UTF-8 (ASCII included) is UTF-8", () => {
    expect(Encoding.detect(new TextEncoder().encode(french))).toBe("utf-8")
    expect(Encoding.detect(new TextEncoder().encode("email,name\nann@example.com,Ann\n"))).toBe("utf-8")
    expect(Encoding.detect(new Uint8Array(0))).toBe("utf-8")
  })

  it("UTF-8 cut in the middle of a character by the end of the sample is still UTF-8", () => {
    const bytes = new TextEncoder().encode("é".repeat(Encoding.sampleSize))
    expect(Encoding.detect(bytes.subarray(0, Encoding.sampleSize + 1))).toBe("utf-8")
    expect(Encoding.detect(new TextEncoder().encode("Nom;Hélène").subarray(0, 8))).toBe("utf-8")
  })

  it("8-bit text from a French Excel is windows-1252, ISO-8859-1 included", () => {
    expect(Encoding.detect(iconv.encode(french, "windows-1252"))).toBe("windows-1252")
    expect(Encoding.detect(iconv.encode("Nom;Prénom\r\nDupont;Hélène\r\n", "latin1"))).toBe("windows-1252")
  })

  it("other 8-bit and multi-byte encodings are named as iconv-lite knows them", () => {
    expect(Encoding.detect(iconv.encode("Имя;Фамилия\nИван;Петров\nСергей;Иванов\n", "windows-1251"))).toBe("windows-1251")
    expect(Encoding.detect(iconv.encode("名前,メール\n山田太郎,taro@example.jp\n鈴木花子,hanako@example.jp\n", "shift_jis"))).toBe("shift_jis")
  })

  it("UTF-16 without a byte order mark is recognised by its zero bytes", () => {
    expect(Encoding.detect(iconv.encode("Nom\tPrénom\r\nDurand\tChloé\r\n", "utf-16le"))).toBe("utf-16le")
    expect(Encoding.detect(iconv.encode("Nom\tPrénom\r\nDurand\tChloé\r\n", "utf-16be"))).toBe("utf-16be")
  })
})

describe("Encoding.decode", () => {
  it.scoped("a multi-byte character split across chunks decodes whole, in UTF-8 and UTF-16", () =>
    Effect.gen(function* () {
      // Longer than the sample, so the split characters are decoded chunk by chunk after it.
      const text = "Hélène 😀 Œuvre – ".repeat(10_000)
      const utf8 = yield* decodeAll(bytesOf(chunked(new TextEncoder().encode(text), 1001)))
      expect(utf8.encoding).toBe("utf-8")
      expect(utf8.all).toBe(text)
      const utf16 = yield* decodeAll(bytesOf(chunked(iconv.encode(text, "utf-16le", { addBOM: true }), 1001)))
      expect(utf16.encoding).toBe("utf-16le")
      expect(utf16.all).toBe(text)
    }))

  it.scoped("the byte order mark is not part of the text, even when it is split across chunks", () =>
    Effect.gen(function* () {
      const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("email\nann@example.com\n")])
      const decoded = yield* decodeAll(bytesOf(chunked(bytes, 1)))
      expect(decoded.all).toBe("email\nann@example.com\n")
      expect(decoded.head).toBe("email\nann@example.com\n")
      expect(decoded.complete).toBe(true)
      const utf16 = yield* decodeAll(bytesOf([iconv.encode("a\tb", "utf-16be", { addBOM: true })]))
      expect(utf16.all).toBe("a\tb")
    }))

  it.scoped("windows-1252 text decodes with its curly quotes, œ and €", () =>
    Effect.gen(function* () {
      const decoded = yield* decodeAll(bytesOf(chunked(iconv.encode(french, "windows-1252"), 7)))
      expect(decoded.encoding).toBe("windows-1252")
      expect(decoded.all).toBe(french)
    }))

  it.scoped("head is the decoded start of the text and complete says whether there is more", () =>
    Effect.gen(function* () {
      const text = "x".repeat(Encoding.sampleSize * 3)
      // The sample stops after the chunk that reaches 64 KiB.
      const decoded = yield* decodeAll(bytesOf(chunked(new TextEncoder().encode(text), 16 * 1024)))
      expect(decoded.complete).toBe(false)
      expect(decoded.head.length).toBeGreaterThanOrEqual(Encoding.sampleSize)
      expect(decoded.head.length).toBeLessThan(text.length)
      expect(text.startsWith(decoded.head)).toBe(true)
      expect(decoded.all.length).toBe(text.length)
      expect(decoded.all === text).toBe(true)
    }))

  it.scoped("a given encoding is used instead of detecting one", () =>
    Effect.gen(function* () {
      const decoded = yield* decodeAll(bytesOf([iconv.encode("René;Besançon", "macintosh")]), { encoding: "Macintosh" })
      expect(decoded.encoding).toBe("macintosh")
      expect(decoded.all).toBe("René;Besançon")
    }))

  it.scoped("an encoding iconv-lite does not know fails with ImportError unsupported", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Encoding.decode(bytesOf([new Uint8Array([0x61])]), { encoding: "klingon" }))
      expect(error.reason).toBe("unsupported")
      expect(error.message).toContain(`"klingon" is not supported`)
    }))

  it.scoped("a ZIP archive (an XLSX workbook) fails with ImportError unreadable saying what it is", () =>
    Effect.gen(function* () {
      const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, ...new TextEncoder().encode("xl/workbook.xml")])
      const error = yield* Effect.flip(Encoding.decode(bytesOf([zip], "contacts.csv")))
      expect(error.reason).toBe("unreadable")
      expect(error.message).toBe(`"contacts.csv" is a ZIP archive (an XLSX workbook or a Word document?): open it as XLSX, or save it as CSV first, not a text file`)
    }))

  it.scoped("a PDF fails with ImportError unreadable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Encoding.decode(bytesOf([new TextEncoder().encode("%PDF-1.7\n%âãÏÓ\n1 0 obj\n")])))
      expect(error.reason).toBe("unreadable")
      expect(error.message).toBe("The file is a PDF document, not a text file")
    }))

  it.scoped("NUL bytes in a file that is not UTF-16 fail with ImportError unreadable, even with a forced encoding", () =>
    Effect.gen(function* () {
      const bytes = new Uint8Array([...new TextEncoder().encode("email,name\n"), 0x00, 0x13, 0x00, 0x00, 0xff, 0x10, 0x42, 0x00])
      const detected = yield* Effect.flip(Encoding.decode(bytesOf([bytes])))
      expect(detected.reason).toBe("unreadable")
      expect(detected.message).toBe("The file holds binary data, not text (a NUL byte at offset 11): it is not a CSV or text file")
      const forced = yield* Effect.flip(Encoding.decode(bytesOf([bytes]), { encoding: "utf-8" }))
      expect(forced.reason).toBe("unreadable")
    }))

  it.scoped("the text can be read only once", () =>
    Effect.gen(function* () {
      const decoded = yield* Encoding.decode(bytesOf([new TextEncoder().encode("a,b\n")]))
      expect(yield* Stream.runFold(decoded.text, "", (a, b) => a + b)).toBe("a,b\n")
      const again = yield* Effect.flip(Stream.runDrain(decoded.text))
      expect(again.reason).toBe("unreadable")
    }))

  it.scoped("an input that fails while being read fails the text with its ImportError", () =>
    Effect.gen(function* () {
      const { ImportError } = yield* Effect.promise(() => import("../src/Records.js"))
      const failing: Bytes = {
        stream: Stream.concat(Stream.make(new Uint8Array(Encoding.sampleSize).fill(0x61)), Stream.fail(new ImportError({ reason: "unreadable", message: "disk gone" }))),
        size: undefined,
        read: () => 0,
        name: undefined
      }
      const decoded = yield* Encoding.decode(failing)
      const error = yield* Effect.flip(Stream.runDrain(decoded.text))
      expect(error.message).toBe("disk gone")
    }))
})
