// A pg pool that keeps the text of every statement its connections send, for tests that check
// what the storage asks of the database (see distribution.ts: row locks pinned to one workspace).
import pg from "pg"

/** A pool on `url` and the statements sent through it so far, in order. */
export const recordingPool = (url: string, max = 10) => {
  const statements: Array<string> = []
  const pool = new pg.Pool({ connectionString: url, max })
  pool.on("connect", (client) => {
    const send = client.query.bind(client)
    // @effect/sql-pg sends text with a values array, or a Cursor (an object with `text`).
    const recording = (...args: Parameters<typeof send>) => {
      const [first] = args
      statements.push(typeof first === "string" ? first : String((first as { text?: unknown }).text ?? ""))
      return send(...args)
    }
    client.query = recording as typeof client.query
  })
  return { pool, statements }
}
