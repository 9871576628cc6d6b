// Test helpers: a small browser (fetch with a cookie jar, following the shop's 303 redirects), and a
// bounded wait for mails to reach the local SMTP server.
import type { CrmClient } from "@rapport/core"
import type { Mailbox, ReceivedMail } from "../src/mailbox.js"

/** A browser with its own cookies. `post` sends a form; redirects (303) are followed with GET. */
export const browser = (base: string, headers: Record<string, string> = {}) => {
  const jar = new Map<string, string>()
  const request = async (method: string, path: string, body?: Record<string, string>, extra: Record<string, string> = {}): Promise<{ status: number; url: string; text: string }> => {
    let url = new URL(path, base).toString()
    let init: RequestInit = {
      method,
      redirect: "manual",
      headers: {
        ...headers,
        ...extra,
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
        ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" })
      },
      ...(body === undefined ? {} : { body: new URLSearchParams(body).toString() })
    }
    for (let hops = 0; hops < 5; hops++) {
      const response = await fetch(url, init)
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(";")
        const eq = pair!.indexOf("=")
        jar.set(pair!.slice(0, eq), pair!.slice(eq + 1))
      }
      const location = response.headers.get("location")
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.arrayBuffer()
        url = new URL(location, url).toString()
        init = { method: "GET", redirect: "manual", headers: { ...headers, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } }
        continue
      }
      return { status: response.status, url, text: await response.text() }
    }
    throw new Error(`too many redirects from ${path}`)
  }
  return {
    get: (path: string, extra?: Record<string, string>) => request("GET", path, undefined, extra),
    post: (path: string, form: Record<string, string> = {}, extra?: Record<string, string>) => request("POST", path, form, extra)
  }
}

/** Waits (at most `timeoutMs`) until a mail to `to` matching `subject` has reached the SMTP server. */
export const waitForMail = async (mailbox: Mailbox, to: string, subject: RegExp, timeoutMs = 20_000): Promise<ReceivedMail> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = mailbox.to(to).find((m) => subject.test(m.subject))
    if (found !== undefined) return found
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} matching ${subject} within ${timeoutMs} ms; received: ${JSON.stringify(mailbox.received.map((m) => [m.to, m.subject]))}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Waits (bounded) until no job is running. The virtual clock must not jump while a job is in
 * flight: its lease would end at once and another claim would send its mail a second time (with
 * the same Message-ID, as after a crash), which the real clock never does in a few milliseconds.
 */
export const settle = async (crm: CrmClient, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while ((await crm.dispatcher.jobs({ status: "running", limit: 1 })).items.length > 0) {
    if (Date.now() > deadline) throw new Error(`jobs still running after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
