/**
 * Running one job: calls its handler with a context (signal, progress,
 * heartbeat) and decides the outcome of the attempt. A return completes the
 * job, a throw fails the attempt (retried while attempts remain), a result
 * that is not JSON fails the job for good, `ctx.snooze(ms)` puts it back
 * for later without counting the attempt, an attempt past its timeout
 * fails with a TimeoutError at once, and whatever comes after the lease was
 * lost, after the timeout, or after the worker gave up on the handler, is
 * discarded. The one place that decides an attempt's outcome. It never
 * claims, never keeps a lease, and never rejects.
 *
 * @module
 */

import {
  LeaseLostError,
  QueueClosedError,
  ValidationError,
} from "../errors.ts";
import { parentsOf } from "../flows.ts";
import { queueInternals } from "../queue_context.ts";
import type { Queue } from "../queue_types.ts";
import { longTimeout } from "../timers.ts";
import { checkNumber } from "../validate.ts";
import type { ClaimedJob } from "../types.ts";
import type { Emit } from "./events.ts";
import type { Running } from "./leases.ts";
import type { Handler, JobContext } from "./types.ts";

/**
 * How an attempt ended: its result stored ("completed"), failed and back to
 * pending ("retrying") or failed for good ("failed"), its lease lost so
 * nothing was stored ("lost"), or a store call that failed otherwise
 * ("error", reported unless the queue was closed).
 */
export type Outcome =
  | "completed"
  | "retrying"
  | "failed"
  | "snoozed"
  | "lost"
  | "error";

/** The queue calls that running a job makes. */
export type RunQueue = Pick<
  Queue,
  "update" | "heartbeat" | "complete" | "fail" | "release"
>;

/** What running jobs needs: made once per worker, shared by its jobs. */
export interface RunOptions {
  /** The handlers by job type. */
  handlers: Readonly<Record<string, Handler>>;
  /** The queue to store the outcome on. */
  queue: RunQueue;
  /** The lease length `ctx.heartbeat()` asks for, ms. */
  leaseMs: number;
  /**
   * Called once per job, as soon as its handler returned or threw (or was
   * abandoned): its slot is free while the lease is kept until the outcome
   * is stored.
   */
  freed(): void;
  /** Tells "completed" and "failed" listeners. */
  emit: Emit;
  /**
   * Called once per job, when its outcome is stored (or it was lost): its
   * lease is no longer the worker's.
   */
  settled?: ((job: ClaimedJob) => void) | undefined;
  /** Reports a store call that failed. */
  report(error: unknown, job?: ClaimedJob): void;
  /**
   * The most ms an attempt of a job without its own `timeout` may run;
   * none when undefined. Past it the job's signal aborts with a
   * TimeoutError and the attempt fails with it at once.
   */
  timeout?: number | undefined;
}

/**
 * Starts the attempt's timeout, if it has one: past it the job's signal
 * aborts with a TimeoutError and the job is abandoned with that reason.
 *
 * @returns A function that cancels the timeout.
 */
function startTimeout(entry: Running, o: RunOptions): () => void {
  const { job, controller } = entry;
  const ms = job.timeout ?? o.timeout;
  if (ms === undefined) return noop;
  return longTimeout(() => {
    const reason = new DOMException(
      `Job '${job.id}' timed out after ${ms} ms`,
      "TimeoutError",
    );
    controller.abort(reason);
    void abandonJob(entry, reason, o);
  }, ms);
}

const noop = (): void => {};

/** What `ctx.snooze()` throws: the worker gives the job back for later. */
class Snooze {
  readonly delay: number;
  constructor(delay: number) {
    this.delay = delay;
  }
}

/** The context a handler gets with its job. */
function contextOf(
  job: ClaimedJob,
  signal: AbortSignal,
  o: RunOptions,
): JobContext {
  return {
    signal,
    progress: (progress, message) =>
      o.queue.update(
        job,
        message === undefined ? { progress } : { progress, message },
      ),
    heartbeat: async () => {
      await o.queue.heartbeat(job, { leaseMs: o.leaseMs });
    },
    snooze(delay) {
      checkNumber(delay, "snooze job", "delay");
      throw new Snooze(delay);
    },
    parents: () =>
      job.flow === undefined || job.flow.dependsOn.length === 0
        ? Promise.resolve({})
        : parentsOf(queueInternals(o.queue), job.id),
  };
}

/**
 * Runs one job's handler and stores the outcome of the attempt: what the
 * handler returns or throws, unless the attempt was abandoned first (see
 * {@linkcode abandonJob}), in which case what the handler gives later is
 * discarded. The common path costs what a plain `await` of the handler
 * costs: this runs for every job.
 *
 * @param entry The job and the controller of its signal; a signal aborted
 *   with a LeaseLostError means the lease is gone. The job's own `timeout`
 *   wins over the worker's.
 * @param o The handlers, the queue and the callbacks.
 * @returns How the attempt ended ("abandoned" when abandonJob decided it);
 *   never rejects. A handler that never settles never resolves it: an
 *   abandoned job's outcome is abandonJob's.
 */
export async function runJob(
  entry: Running,
  o: RunOptions,
): Promise<Outcome | "abandoned"> {
  const { job, controller } = entry;
  const cancelTimeout = startTimeout(entry, o);
  let value: unknown;
  try {
    value = await o.handlers[job.type]!(
      job,
      contextOf(job, controller.signal, o),
    );
  } catch (error) {
    cancelTimeout();
    if (entry.decided) return "abandoned";
    return await decide(entry, o, "fail", error);
  }
  cancelTimeout();
  if (entry.decided) return "abandoned";
  return await decide(entry, o, "store", value);
}

/**
 * Gives up on a running handler (the worker stopped past its timeout, or
 * the attempt's own timeout passed): its slot frees at once and the attempt
 * fails with `reason` (retried while attempts remain); what the handler
 * returns or throws later is discarded.
 *
 * @returns The attempt's outcome, or undefined when it was decided already.
 */
export function abandonJob(
  entry: Running,
  reason: unknown,
  o: RunOptions,
): Promise<Outcome> | undefined {
  if (entry.decided) return undefined;
  return decide(entry, o, "fail", reason);
}

/**
 * Decides an attempt once: frees the slot and stores the outcome, the
 * result ("store") or the failure ("fail"). A result that is not JSON fails
 * the job for good: running it again would give the same. The store calls
 * are made here, not in helpers, to keep one promise per step on the path
 * every job takes.
 */
async function decide(
  entry: Running,
  o: RunOptions,
  how: "store" | "fail",
  payload: unknown,
): Promise<Outcome> {
  const { job, controller } = entry;
  entry.decided = true;
  o.freed();
  try {
    if (controller.signal.reason instanceof LeaseLostError) return "lost";
    if (how === "store") {
      try {
        await o.queue.complete(job, payload);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        await o.queue.fail(job, err, { retry: false });
        o.emit("failed", job, err, false);
        return "failed";
      }
      o.emit("completed", job, payload);
      return "completed";
    }
    if (payload instanceof Snooze) {
      await o.queue.release(job, { delay: payload.delay });
      return "snoozed";
    }
    const status = await o.queue.fail(job, payload);
    o.emit("failed", job, payload, status === "pending");
    return status === "pending" ? "retrying" : "failed";
  } catch (err) {
    if (err instanceof LeaseLostError) return "lost";
    if (!(err instanceof QueueClosedError)) o.report(err, job);
    return "error";
  } finally {
    o.settled?.(job);
  }
}
