/**
 * waitFor: the final state of one job, for a caller that answers with a
 * job's result (a web handler). Built on get() and subscribe(), so it
 * waits on the backend's events and never polls on its own; a timeout and
 * an AbortSignal bound the wait. It never changes a job.
 *
 * @module
 */

import { isTerminal } from "./codec.ts";
import { QueueClosedError } from "./errors.ts";
import type { JobOf, JobTypes, Queue } from "./queue_types.ts";
import { jobUpdates } from "./subscribe.ts";
import { longTimeout } from "./timers.ts";
import type { Job, JobUpdate } from "./types.ts";
import type { WaitForOptions } from "./control_types.ts";
import { checkId, checkNumber, invalid } from "./validate.ts";

/**
 * Waits until a job is complete, failed or cancelled. See
 * {@linkcode Queue.waitFor}.
 *
 * @param queue The queue of the job.
 * @param id The job's id.
 * @param options A timeout and an AbortSignal.
 * @returns The job in a terminal status, or null when it does not exist or
 *   vanished (removed, expired) before it finished.
 */
export async function waitForJob<J extends JobTypes>(
  queue: Queue<J>,
  id: string,
  options: WaitForOptions = {},
): Promise<JobOf<J> | null> {
  const act = "wait for job";
  checkId(id, act);
  if (options === null || typeof options !== "object") {
    throw invalid(act, "options", "an object", options);
  }
  const { timeout, signal } = options;
  if (timeout !== undefined) checkNumber(timeout, act, "timeout");
  if (signal !== undefined && typeof signal?.throwIfAborted !== "function") {
    throw invalid(act, "signal", "an AbortSignal", signal);
  }
  signal?.throwIfAborted();
  const done = new AbortController();
  let cancelTimer = () => {};
  const interrupted = new Promise<never>((_resolve, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), {
      once: true,
      signal: done.signal,
    });
    if (timeout === undefined) return;
    cancelTimer = longTimeout(() =>
      reject(
        new DOMException(
          `Timed out after ${timeout} ms waiting for job '${id}'`,
          "TimeoutError",
        ),
      ), timeout);
  });
  const finished = finalState(queue, id, done.signal);
  // The loser of the race must not become an unhandled rejection.
  finished.catch(() => {});
  try {
    return await Promise.race([finished, interrupted]);
  } finally {
    cancelTimer();
    done.abort();
  }
}

/**
 * The job once it finished (null if missing), until `signal` aborts.
 *
 * It asks for its listener first and reads the job right after, in the
 * same turn, then (listening) reads it again: a job removed as it finishes
 * just after waitFor was called (a complete in the same turn, which a
 * loaded backend runs at once) has the first read to be rebuilt from, and
 * its final update reaches the listener. Read a turn before listening,
 * that final update came while nothing listened, and the job was gone.
 */
async function finalState<J extends JobTypes>(
  queue: Queue<J>,
  id: string,
  signal: AbortSignal,
): Promise<JobOf<J> | null> {
  // The job as last read by jobUpdates (it listens, then reads it again,
  // and gives the final update of a job removed as it finished meanwhile).
  let seen = null as Job | null;
  let last: JobUpdate | undefined;
  // The read made beside the listener (set once that is asked for).
  const reads: { early?: Promise<Job | null> } = {};
  const updates = jobUpdates(
    queue,
    id,
    { signal },
    (job) => (seen = job),
    () => reads.early!, // its own read comes after this one
  );
  const first = updates.next(); // asks for the listener now
  const early = reads.early = queue.get(id);
  early.catch(() => {}); // awaited below; a rejection is thrown there
  try {
    for (let r = await first; !r.done; r = await updates.next()) {
      last = r.value;
    }
  } finally {
    await updates.return(undefined);
  }
  const before = await early;
  if (signal.aborted) return null; // the race is already decided
  if (last === undefined || !isTerminal(last.status)) {
    if (queue.closed) {
      throw new QueueClosedError(
        `Cannot wait for job '${id}' as the queue closed`,
      );
    }
    return null;
  }
  if (
    seen !== null && isTerminal(seen.status) && seen.version === last.version
  ) {
    return seen as JobOf<J>;
  }
  const now = await queue.get(id);
  if (now !== null && isTerminal(now.status)) return now;
  // Removed as it finished, or retried since: the job as it finished.
  const base = now ?? seen ?? before;
  return base === null ? null : finishedAs(base, last) as JobOf<J>;
}

/** A job as the terminal `update` left it. */
function finishedAs(job: Job, update: JobUpdate): Job {
  const { result: _result, error: _error, ...rest } = job;
  const out: Job = {
    ...rest,
    status: update.status,
    progress: update.progress,
    message: update.message,
    attempt: update.attempt,
    updatedAt: update.at,
    completedAt: update.at,
    version: update.version,
  };
  if (update.result !== undefined) out.result = update.result;
  if (update.error !== undefined) out.error = update.error;
  return out;
}
