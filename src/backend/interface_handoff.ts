/**
 * The optional enqueue-and-claim a backend may offer (`enqueueClaim`): it
 * stores a batch and then, in the same atomic step, claims for a worker
 * made on the same queue object that has free slots. The queue layer uses
 * it to hand new jobs to such a worker with the enqueue's reply (see
 * src/handoff.ts); a backend without it leaves the worker to its wake-up.
 *
 * @module
 */

import type {
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  NewJobRecord,
} from "./records.ts";

/**
 * An enqueue and a claim in one atomic step, for backends where a claim
 * costs a commit of its own (PostgreSQL: one statement, one commit, where
 * an enqueue, a notification and a claim take two commits in sequence).
 *
 * @example
 * ```ts
 * import type { BackendHandOff } from "@jobline/jobline/backend";
 * const canHandOff = (b: BackendHandOff) => b.enqueueClaim !== undefined;
 * ```
 */
export interface BackendHandOff {
  /**
   * Optional. Stores `jobs` as `enqueue` does (with no transaction of the
   * caller's), then claims as `claim` does with `request`, seeing the new
   * jobs: the claim's own rules hold (order, pause, limits, groups), so it
   * may take other jobs than the new ones, or none. A claim that is made
   * is made with the enqueue, in the same atomic step; a backend may
   * instead store the batch alone and claim nothing (PostgreSQL: a batch
   * with a key, or one whose joined statement the server refused). The
   * batch's `wake` need only be for the new jobs left pending: the worker
   * that took the others would claim again for nothing.
   *
   * @returns The enqueue's outcomes, in order, and the claimed jobs, best
   *   first.
   */
  enqueueClaim?(
    queue: string,
    jobs: readonly NewJobRecord[],
    request: ClaimRequest,
  ): Promise<{ outcomes: EnqueueOutcome[]; claimed: JobRecord[] }>;
}
