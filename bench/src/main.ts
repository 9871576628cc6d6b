// `pnpm bench`: each section times Rapport against the raw driver on the same work, in one run.
// RAPPORT_PG_URL chooses the PostgreSQL server (a role allowed to create databases);
// BENCH_CONTACTS the number of contacts (default 20,000), BENCH_ROUNDS the rounds (default 3;
// sides alternate which runs first, figures are medians).
import * as Postgres from "./postgres.js"

const contacts = Number(process.env["BENCH_CONTACTS"] ?? 20_000)
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3)
const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const format = (n: number) => Math.round(n).toLocaleString("en-US")

console.log(`Rapport benchmarks — node ${process.version}, ${contacts.toLocaleString("en-US")} contacts per run, median of ${rounds} rounds\n`)
console.log("PostgreSQL: bulk contact creation (contacts.createMany, batches of 1,000)")
const pg = await Postgres.run(pgUrl, contacts, rounds)
console.log(`  Rapport      ${format(pg.rapportPerSecond).padStart(8)} contacts/s`)
console.log(`  raw driver   ${format(pg.rawPerSecond).padStart(8)} contacts/s   (postgres.js, same rows, batched transactions)`)
console.log(`  ratio        ${pg.ratio.toFixed(2)}x the raw driver's time   (target: within 2x; rounds: ${pg.rounds.map((r) => (r.rapportSeconds / r.rawSeconds).toFixed(2)).join(", ")})`)
