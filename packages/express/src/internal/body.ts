// Why a request body could not be read, as the Node adapter says it to the route that reads it:
// the body went past the limit while streaming, or a body parser of the host app read it first.

/** The body went past the limit (checked on every chunk, before it is all received). */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes`)
    this.name = "BodyTooLarge"
  }
}

/** Something before Rapport read the body and left nothing to reuse. */
export class BodyConsumed extends Error {
  constructor() {
    super("The request body was read before Rapport's handler ran")
    this.name = "BodyConsumed"
  }
}

/** The first of these in an error's cause chain (`request.text` wraps what the stream failed with). */
export const findCause = <A>(error: unknown, is: (u: unknown) => u is A): A | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (is(current)) return current
    current = typeof current === "object" && "cause" in current ? current.cause : undefined
  }
  return undefined
}
