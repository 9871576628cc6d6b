// The load generator of the HTTP section, run in a process of its own so that it does not share
// the server's event loop. It sends a fixed number of POSTs over keep-alive connections, each a
// loop that waits for its answer before the next, and prints one JSON line: latencies (ms,
// sub-millisecond), requests/s, and the answers that were not a fresh 2xx.
//
// Not autocannon: its histogram records whole milliseconds, and an emit takes a few, so the
// 0.3 ms the API may add would vanish in rounding.
import http from "node:http"

const config = JSON.parse(process.argv[2])
const { url, connections, requests, batch, contactIds, prefix, headers } = config
const target = new URL(url)
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
const PAGES = ["/", "/sale", "/sale/shoes", "/products/p-101", "/blog/care-guide"]

const event = (i) => ({
  id: `${prefix}-${i}`,
  type: "page.viewed",
  contactId: contactIds[(i * 7919) % contactIds.length],
  payload: { url: PAGES[i % PAGES.length] }
})

const bodyOf = (n) =>
  JSON.stringify(batch === undefined ? event(n) : Array.from({ length: batch }, (_, k) => event(n * batch + k)))

const send = (body) =>
  new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const request = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } },
      (response) => {
        const chunks = []
        response.on("data", (c) => chunks.push(c))
        response.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, status: response.statusCode, text: Buffer.concat(chunks).toString("utf8") }))
        response.on("error", reject)
      }
    )
    request.on("error", reject)
    request.end(body)
  })

const latencies = []
const failures = []
let next = 0
const loop = async () => {
  for (let n = next++; n < requests; n = next++) {
    const answer = await send(bodyOf(n))
    latencies.push(answer.ms)
    const results = answer.status >= 200 && answer.status < 300 ? [JSON.parse(answer.text)].flat() : []
    if (results.length === 0 || results.some((r) => r.duplicate !== false)) failures.push(`${answer.status} ${answer.text.slice(0, 200)}`)
  }
}
const start = process.hrtime.bigint()
await Promise.all(Array.from({ length: connections }, loop))
const seconds = Number(process.hrtime.bigint() - start) / 1e9
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
process.stdout.write(JSON.stringify({ p50: at(0.5), p99: at(0.99), perSecond: requests / seconds, failures: failures.slice(0, 5), failed: failures.length }) + "\n")
