// Where the PostgreSQL tests run, and whether they may run. Unreachable means skipped, loudly,
// unless RAPPORT_REQUIRE_PG=1 (CI sets it): then the test file fails.
import pg from "pg"
import { randomUUID } from "node:crypto"

export const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const required = process.env["RAPPORT_REQUIRE_PG"] === "1"
const shown = pgUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@")

const probe = async (): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await client.end().catch(() => undefined)
  }
}

const problem = await probe()
if (problem !== undefined) {
  if (required) throw new Error(`PostgreSQL is required (RAPPORT_REQUIRE_PG=1) but ${shown} is unreachable: ${problem}`)
  console.warn(`\n*** PostgreSQL tests SKIPPED: ${shown} is unreachable (${problem}). Set RAPPORT_PG_URL to run them. ***\n`)
}

/** Whether the PostgreSQL tests run; when not, `skipReason` says why (for test names). */
export const available = problem === undefined
export const skipReason = `SKIPPED: PostgreSQL unreachable at ${shown}`

const admin = async <A>(f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: pgUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** A new, empty database on the same server; returns its URL and a way to drop it. */
export const emptyDatabase = async () => {
  const name = `rapport_t_${randomUUID().replace(/-/g, "").slice(0, 16)}`
  await admin((c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(pgUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    // Pools closed a moment ago may still be hanging up: wait for them rather than terminating
    // them (a terminated connection emits an error on a client nobody listens to any more).
    drop: async () => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const dropped = await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name}`)).then(
          () => true,
          (error: { code?: string }) => (error.code === "55006" ? false : Promise.reject(error))
        )
        if (dropped) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    }
  }
}

/** Runs a query as an administrator (e.g. to terminate the adapter's connections). */
export const adminQuery = (text: string, values: ReadonlyArray<unknown> = []) => admin((c) => c.query(text, values as Array<unknown>))
