/**
 * The context of each queue createQueue makes (src/queue.ts): its checked
 * settings, its backend handle and the offers of the workers made on it,
 * kept per queue object for the library's own modules that work below the
 * Queue interface (src/migrate.ts, the worker's hand-off and flows). Not
 * exported from the package; holds no storage and calls no backend.
 *
 * @module
 */

import type { Taker } from "./handoff.ts";
import type { BackendHandle } from "./queue_handle.ts";
import type { QueueSettings } from "./queue_options.ts";

/** What the queue's operations share: its settings and its backend handle. */
export interface Context<Tx> extends QueueSettings<Tx> {
  handle: BackendHandle<Tx>;
  /**
   * The offers to take new jobs of the workers made on this queue object
   * (offerToTake, handoff.ts).
   */
  takers: Set<Taker>;
}

/** Each queue's context, by the queue object createQueue returned. */
const contexts = new WeakMap<object, Context<unknown>>();

/** Keeps the context of a queue createQueue just made. */
export function keepContext(queue: object, c: Context<unknown>): void {
  contexts.set(queue, c);
}

/**
 * The name, clock and backend handle of a queue made by createQueue, for
 * library modules that work below the Queue interface (moving jobs as they
 * are).
 *
 * @throws {TypeError} for an object createQueue did not make.
 */
export function queueInternals(
  queue: object,
): Pick<Context<unknown>, "name" | "clock" | "handle"> {
  const c = contexts.get(queue);
  if (c === undefined) {
    throw new TypeError("Cannot use a queue that createQueue did not make");
  }
  return c;
}

/**
 * Offers `taker` to the enqueues of `queue` (handoff.ts), until the
 * returned function is called. A queue that createQueue did not make, or
 * made with `handOff: false`, gets no offer.
 */
export function offerToTake(queue: object, taker: Taker): () => void {
  const c = contexts.get(queue);
  if (c === undefined || !c.handOff) return () => {};
  const takers = c.takers;
  takers.add(taker);
  return () => void takers.delete(taker);
}
