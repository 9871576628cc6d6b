// `pnpm bench`: each section times Rapport against the raw driver on the same work, in one run
// (the rules section: against the same rules written by hand, and against json-rules-engine).
// RAPPORT_PG_URL chooses the PostgreSQL server (a role allowed to create databases);
// BENCH_CONTACTS the number of contacts (default 20,000), BENCH_ROUNDS the rounds (default 3 for
// contacts, 5 for the pipeline; sides alternate which runs first, figures are medians);
// BENCH_DEALS the number of deals of the pipeline section (default 1,000,000);
// BENCH_ANALYTICS_CONTACTS the contacts of the analytics section (default 1,000,000; twice as many orders; 5 rounds by default;
// BENCH_ANALYTICS_DIALECTS=SQLite or PostgreSQL runs one database);
// BENCH_RULES, BENCH_EVENTS and BENCH_PEER_EVENTS the rules (default 1,000), events (default
// 100,000) and events given to json-rules-engine (default 1,000) of the rules section (5 rounds by
// default); BENCH_EMITS the events emitted per run by the emit section on each database (default
// 1,000 on SQLite, 500 on PostgreSQL; 3 rounds by default) and BENCH_BATCH_EMITS those its emitMany
// lines send in batches of 1,000 (default 10,000 on SQLite, 5,000 on PostgreSQL); BENCH_IMPORT_ROWS the rows of the CSV
// the import section generates and imports (default 1,000,000; 1 round by default, each side in
// a process of its own), BENCH_IMPORT_PROFILE a folder for each side's .cpuprofile;
// BENCH_HTTP_REQUESTS the POST /events of each run of the HTTP section (default 2,000),
// BENCH_HTTP_BATCHES its POST /events/batch of 100 events (default 100) and BENCH_HTTP_CONNECTIONS
// the load generator's connections (default 1: the added latency, not queueing, is measured);
// BENCH_ONLY=contacts, BENCH_ONLY=pipeline, BENCH_ONLY=analytics, BENCH_ONLY=rules, BENCH_ONLY=emit, BENCH_ONLY=import or BENCH_ONLY=http
// runs that section alone (BENCH_ONLY=mail: BENCH_MAILS rule mails per run, default 2,000, sent
// over SMTP to a loopback server through the dispatcher and by nodemailer alone; 3 rounds by default;
// BENCH_MAIL_CONCURRENCY the dispatcher's concurrency, default 10;
// BENCH_ONLY=templates: BENCH_TEMPLATE_MAILS order receipts rendered per round, default 5,000,
// through Rapport and by LiquidJS alone; 5 rounds by default).
// Sections are loaded when they run: the rules and import sections need no PostgreSQL server.

const contacts = Number(process.env["BENCH_CONTACTS"] ?? 20_000)
const deals = Number(process.env["BENCH_DEALS"] ?? 1_000_000)
const analyticsContacts = Number(process.env["BENCH_ANALYTICS_CONTACTS"] ?? 1_000_000)
const rounds = process.env["BENCH_ROUNDS"] === undefined ? undefined : Number(process.env["BENCH_ROUNDS"])
const rules = Number(process.env["BENCH_RULES"] ?? 1_000)
const events = Number(process.env["BENCH_EVENTS"] ?? 100_000)
const peerEvents = Number(process.env["BENCH_PEER_EVENTS"] ?? 1_000)
const emits = process.env["BENCH_EMITS"] === undefined ? undefined : Number(process.env["BENCH_EMITS"])
const batchEmits = process.env["BENCH_BATCH_EMITS"] === undefined ? undefined : Number(process.env["BENCH_BATCH_EMITS"])
const importRows = Number(process.env["BENCH_IMPORT_ROWS"] ?? 1_000_000)
const importProfile = process.env["BENCH_IMPORT_PROFILE"]
const httpRequests = Number(process.env["BENCH_HTTP_REQUESTS"] ?? 2_000)
const httpBatches = Number(process.env["BENCH_HTTP_BATCHES"] ?? 100)
const httpConnections = Number(process.env["BENCH_HTTP_CONNECTIONS"] ?? 1)
const mails = Number(process.env["BENCH_MAILS"] ?? 2_000)
const templateMails = Number(process.env["BENCH_TEMPLATE_MAILS"] ?? 5_000)
const only = process.env["BENCH_ONLY"]
const pgUrl = process.env["RAPPORT_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const format = (n: number) => Math.round(n).toLocaleString("en-US")
const count = (n: number) => n.toLocaleString("en-US")

const SECTIONS = ["contacts", "pipeline", "analytics", "rules", "emit", "import", "http", "mail", "templates"]
if (only !== undefined && !SECTIONS.includes(only)) throw new Error(`BENCH_ONLY must be one of ${SECTIONS.join(", ")}, got "${only}"`)

console.log(`Rapport benchmarks — node ${process.version}`)

if (only === undefined || only === "contacts") {
  const contactRounds = rounds ?? 3
  console.log(`\nPostgreSQL: bulk contact creation (contacts.createMany, batches of 1,000) — ${count(contacts)} contacts per run, median of ${contactRounds} rounds`)
  const Postgres = await import("./postgres.js")
  const pg = await Postgres.run(pgUrl, contacts, contactRounds)
  console.log(`  Rapport      ${format(pg.rapportPerSecond).padStart(8)} contacts/s`)
  console.log(`  raw driver   ${format(pg.rawPerSecond).padStart(8)} contacts/s   (postgres.js, same rows, batched transactions)`)
  console.log(`  ratio        ${pg.ratio.toFixed(2)}x the raw driver's time   (target: within 2x; rounds: ${pg.rounds.map((r) => (r.rapportSeconds / r.rawSeconds).toFixed(2)).join(", ")})`)
}

if (only === undefined || only === "pipeline") {
  const pipelineRounds = rounds ?? 5
  console.log(
    `\nWeighted pipeline (deals.weightedPipeline, by pipeline and by month) — ${count(deals)} deals, 3 pipelines, EUR + USD; ` +
      `against the limit (hand-written SQL on the raw driver, over a covering index made for it); median of ${pipelineRounds} rounds after 1 warm-up; target: within 1.5x`
  )
  const Pipeline = await import("./pipeline.js")
  await Pipeline.run(pgUrl, deals, pipelineRounds, (line) => console.log(line))
}

if (only === undefined || only === "analytics") {
  const analyticsRounds = rounds ?? 5
  console.log(
    `\nAnalytics (segments.count of an indexed segment testing two custom fields, analytics.topProducts over a year, analytics.channels, analytics.funnel) — ` +
      `${count(analyticsContacts)} contacts, ${count(2 * analyticsContacts)} orders with 1 to 3 lines; loaded once by raw inserts; ` +
      `against the limit (hand-written SQL on the raw driver, on a copy of the data with indexes made for it); median of ${analyticsRounds} rounds after 1 warm-up that checks both answers (a report faster than 200 ms runs untimed for 5 s per side, then each round is a run of calls lasting 200 ms after one untimed call, timed per call); target: within 1.5x`
  )
  const Analytics = await import("./analytics.js")
  const dialects = process.env["BENCH_ANALYTICS_DIALECTS"]?.split(",").filter((d): d is "SQLite" | "PostgreSQL" => d === "SQLite" || d === "PostgreSQL")
  await Analytics.run(pgUrl, analyticsContacts, analyticsRounds, (line) => console.log(line), dialects)
}

if (only === undefined || only === "rules") {
  const ruleRounds = rounds ?? 5
  const Rules = await import("./rules.js")
  console.log(
    `\nRule evaluation (Rule.compileRules + Rule.matches) — ${count(rules)} rules over ${Rules.eventTypes} event types, ${count(events)} events ` +
      `(json-rules-engine: the first ${count(Math.min(peerEvents, events))}); median of ${ruleRounds} rounds after ${Rules.warmUps} warm-ups; target: within 2x of hand-written functions`
  )
  await Rules.run({ rules, events, peerEvents, rounds: ruleRounds }, (line) => console.log(line))
}

if (only === undefined || only === "emit") {
  const emitRounds = rounds ?? 3
  const Emit = await import("./emit.js")
  console.log(
    `\nEnd-to-end emit (crm.events.emit, one event at a time: the event, its timeline entry, the order and its lines, the lifecycle move, ` +
      `rule firings and jobs in one transaction; then crm.events.emitMany, ${count(Emit.BATCH)} events per call) — ${count(Emit.CONTACTS)} contacts, ${Emit.RULES} rules; median of ${emitRounds} rounds on fresh databases after 1 warm-up`
  )
  await Emit.run({ pgUrl, emits, batchEmits, rounds: emitRounds }, (line) => console.log(line))
}

if (only === undefined || only === "import") {
  const importRounds = rounds ?? 1
  const Import = await import("./import.js")
  console.log(
    `\nContact import (importFile from a generated CSV, country FR, into a fresh SQLite file; WAL, synchronous FULL on both sides) — ${count(importRows)} rows, ` +
      `${count(Import.COMPANIES)} companies; ${importRounds === 1 ? "1 round" : `median of ${importRounds} rounds`}, each side in its own process; ` +
      `target: within ${Import.TARGET_RATIO}x of the limit, peak RSS under ${Import.TARGET_RSS_MB} MB`
  )
  await Import.run({ rows: importRows, rounds: importRounds, profileDir: importProfile }, (line) => console.log(line))
}

if (only === undefined || only === "http") {
  const httpRounds = rounds ?? 3
  const Http = await import("./http.js")
  const options = { requests: httpRequests, batches: httpBatches, batchSize: 100, connections: httpConnections, rounds: httpRounds }
  console.log(
    `\nHTTP API over loopback (@rapport/express; load generator in another process, ${options.connections} keep-alive connection${options.connections === 1 ? "" : "s"}) — ${count(options.requests)} POST /events per run, ` +
      `then ${count(options.batches)} POST /events/batch of ${options.batchSize}; fresh SQLite file per run (synchronous FULL); median of ${httpRounds} rounds after 1 warm-up`
  )
  await Http.run(options, (line) => console.log(line))
}

if (only === undefined || only === "mail") {
  const mailRounds = rounds ?? 3
  const Mail = await import("./mail.js")
  const options = { mails, rounds: mailRounds, maxConnections: 5, maxMessages: 100, concurrency: Number(process.env["BENCH_MAIL_CONCURRENCY"] ?? 10) }
  console.log(
    `\nMail over SMTP to a loopback smtp-server (@rapport/mailer-smtp through crm.dispatcher.runDue, concurrency ${options.concurrency}; nodemailer alone with the same rendered mails) — ` +
      `${count(options.mails)} rule mails per run, pool of ${options.maxConnections} connections × ${options.maxMessages} messages on both sides; median of ${mailRounds} rounds after 1 warm-up`
  )
  await Mail.run(options, (line) => console.log(line))
}

if (only === undefined || only === "templates") {
  const templateRounds = rounds ?? 5
  const Templates = await import("./templates.js")
  console.log(
    `\nTemplate rendering per mail (an order receipt in Liquid: subject, HTML and text, a loop over 1 to 5 lines, money and date in 4 locales and timezones) — ` +
      `${count(templateMails)} mails per round through Rapport and by LiquidJS alone on the same data; median of ${templateRounds} rounds after 1 warm-up`
  )
  await Templates.run({ mails: templateMails, rounds: templateRounds }, (line) => console.log(line))
}
