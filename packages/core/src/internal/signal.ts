// Wakes a running dispatcher when a write queued jobs due now, so an order confirmation leaves at
// once instead of at the next poll. Only a hint: a dispatcher that misses it finds the jobs anyway.
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"

/**
 * Wakes a running dispatcher when an emission in this process queues jobs due now.
 *
 * @since 0.3.0
 * @category services
 */
export class JobSignal extends Effect.Service<JobSignal>()("@rapport/core/JobSignal", {
  effect: Effect.map(Queue.sliding<void>(1), (queue) => ({
    /** Says that jobs are due now. */
    notify: Effect.asVoid(Queue.offer(queue, undefined)),
    /** Waits until jobs are said to be due. */
    wait: Queue.take(queue)
  }))
}) {}
