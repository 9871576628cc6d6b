// How error messages quote a caller's value. It never throws — a bigint, a cycle or a value nested
// thousands of levels deep made JSON.stringify fail inside the error path and turned a validation
// error into a crash — and it stays short, so a 10 MB string is not copied into a message.
const MAX = 80

const clip = (text: string): string => (text.length > MAX ? `${text.slice(0, MAX - 3)}...` : text)

export const showValue = (u: unknown): string => {
  switch (typeof u) {
    case "bigint":
      return `${u}n (a bigint; pass a number)`
    case "string":
      return JSON.stringify(u.length > MAX ? `${u.slice(0, MAX - 3)}...` : u)
    case "number":
    case "boolean":
      return String(u)
    case "undefined":
      return "undefined"
    case "function":
      return "a function"
    case "symbol":
      return "a symbol"
  }
  if (u === null) return "null"
  if (u instanceof Date) return Number.isNaN(u.getTime()) ? "an invalid Date" : `a Date (${u.toISOString()})`
  try {
    return clip(JSON.stringify(u, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(u))
  } catch {
    return Array.isArray(u) ? "an array" : "an object"
  }
}
