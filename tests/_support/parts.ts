/**
 * Helpers of the tests of the worker's parts alone: a job as a claim hands
 * it over, a real job claimed on a fresh memory queue, and whether a
 * promise settles within a time. Tests only; never imported by the library.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createQueue } from "../../src/queue.ts";
import type { Queue, QueueOptions } from "../../src/queue_types.ts";
import type { ClaimedJob } from "../../src/types.ts";
import type { Running } from "../../src/worker/leases.ts";

/**
 * A claimed job of a priority, with only what the worker's parts read.
 *
 * @example
 * ```ts
 * import { fakeJob } from "./parts.ts";
 * console.log(fakeJob("a", 10).priority); // 10
 * ```
 *
 * @param id The job's id, also its lease token.
 * @param priority 1..100.
 * @returns The job.
 */
export function fakeJob(id: string, priority = 5): ClaimedJob {
  return {
    id,
    type: "t",
    priority,
    lease: { token: id, until: 0 },
  } as unknown as ClaimedJob;
}

/**
 * A fake job with a fresh controller, as the lease keeper holds it.
 *
 * @example
 * ```ts
 * import { entry } from "./parts.ts";
 * console.log(entry("a").controller.signal.aborted); // false
 * ```
 *
 * @param id The job's id.
 * @param priority 1..100.
 * @returns The job and its controller.
 */
export function entry(id: string, priority = 5): Running {
  return { job: fakeJob(id, priority), controller: new AbortController() };
}

/**
 * Whether `p` settles within `ms` of real time; the timer is cleared either way.
 *
 * @example
 * ```ts
 * import { settlesWithin } from "./parts.ts";
 * console.log(await settlesWithin(Promise.resolve(), 10)); // true
 * ```
 *
 * @param p The promise.
 * @param ms Milliseconds.
 * @returns True if it settled in time.
 */
export function settlesWithin(
  p: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `body` with a fresh memory queue (closed after) and one job of type
 * "t" claimed on it with a 60 s lease.
 *
 * @example
 * ```ts
 * import { withClaimed } from "./parts.ts";
 * await withClaimed(async (_queue, job) => console.log(job.attempt)); // 1
 * ```
 *
 * @param body What to do with them.
 * @param options The queue's options, and the job's `data` (default null).
 */
export async function withClaimed(
  body: (queue: Queue, job: ClaimedJob) => Promise<void>,
  options: QueueOptions & { data?: unknown } = {},
): Promise<void> {
  const { data = null, ...queueOptions } = options;
  const queue = createQueue(queueOptions);
  try {
    await queue.enqueue("t", data);
    const job = await queue.claim({ leaseMs: 60_000 });
    assert.ok(job);
    await body(queue, job);
  } finally {
    await queue.close();
  }
}
