/**
 * The limit transitions (SPEC §7.3, §7.4) a backend implements, and what
 * limits and groups add to its claim. The queue layer checks the limits
 * and hands them over in canonical form; the backend stores them and
 * enforces them inside each claim's atomic step.
 *
 * @module
 */

import type { Limits } from "../limits_types.ts";

export type { Limits };

/**
 * Storing and reading a queue's limits. Limits and groups also change
 * **claim** (still one atomic step):
 *
 * - **Order.** Highest priority first; among due jobs of equal priority,
 *   groups take turns (the group served longest ago first, a group never
 *   served before ahead of all), in enqueue order within a group. Jobs
 *   without a group (`group` absent) take turns as one group. A claim
 *   never scans every pending job or every group: with 100,000 pending
 *   jobs in 10,000 groups it costs about what it costs with 1,000.
 * - **Concurrency** (queue, type, each group key): a claim takes no job
 *   that would make more jobs processing at once than a limit allows. A
 *   processing job counts until it leaves "processing" (complete, fail,
 *   release, cancel, remove, or its lease running out: a dead worker's job
 *   holds its slot until then).
 * - **Rate** `{ max, per }` (queue, type, each group key): a claim takes
 *   no job that would make more than `max` claims in the `per` ms up to
 *   `now`, counting every claim since (claims before a change of limits
 *   may be forgotten).
 * - A job held back stays pending, its attempt not counted; a claim takes
 *   the next job that no limit holds back.
 * - **Wake-ups.** When a job stops processing while a concurrency limit it
 *   counted in was full, the backend publishes a `wake` (now); when a
 *   claim is held back by a rate limit, a `wake` for the time the window
 *   lets the next claim through. Group limits bind only jobs that have a
 *   group.
 *
 * @example
 * ```ts
 * import type { BackendLimits } from "@jobline/jobline/backend";
 * const clear = (b: BackendLimits) => b.setLimits("default", {}, { now: Date.now() });
 * ```
 */
export interface BackendLimits {
  /** Replaces the queue's limits (`{}`: none); they bind from the next claim. */
  setLimits(
    queue: string,
    limits: Limits,
    options: { now: number },
  ): Promise<void>;

  /** The queue's limits as stored; `{}` when none. */
  getLimits(queue: string, options: { now: number }): Promise<Limits>;
}
