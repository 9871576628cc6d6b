// Test support: JSON requests to the app, and bounded waits for mails over SMTP.

/**
 * A JSON request to the app (a POST without a body sends `{}`); answers the status and the parsed
 * body, read loosely (`any`): each test asserts the shape it reads.
 */
export const call = async (base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
  const json = method === "GET" ? undefined : JSON.stringify(body ?? {})
  const response = await fetch(base + path, {
    method,
    headers: { accept: "application/json", ...(json === undefined ? {} : { "content-type": "application/json" }) },
    ...(json === undefined ? {} : { body: json }),
    signal: AbortSignal.timeout(30_000)
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : JSON.parse(text) }
}

/** Polls until `find` returns something, or fails after `timeoutMs` saying what it waited for. */
export const waitFor = async <A>(what: string, find: () => A | undefined, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
