/**
 * Running one job: calls its handler with a context (signal, progress,
 * heartbeat) and decides the outcome of the attempt. A return completes the
 * job, a throw fails the attempt (retried while attempts remain), a result
 * that is not JSON fails the job for good, an attempt past its timeout
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
import type { Queue } from "../queue_types.ts";
import { longTimeout } from "../timers.ts";
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
export type Outcome = "completed" | "retrying" | "failed" | "lost" | "error";

/** The queue calls that running a job makes. */
export type RunQueue = Pick<
  Queue,
  "update" | "heartbeat" | "complete" | "fail"
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
  /** Reports a store call that failed. */
  report(error: unknown, job?: ClaimedJob): void;
  /**
   * The most ms an attempt of a job without its own `timeout` may run;
   * none when undefined. Past it the job's signal aborts with a
   * TimeoutError and the attempt fails with it at once.
   */
  timeout?: number | undefined;
}

/** How a handler's call ended, or that the worker gave up waiting for it. */
type Ending =
  | { kind: "returned"; value: unknown }
  | { kind: "threw"; error: unknown }
  | { kind: "abandoned"; reason: unknown };

/**
 * Calls the handler and resolves with how it ended, or as soon as the job
 * is abandoned: the worker gave up on it (stop() past its timeout calls
 * `entry.abandon` through the lease keeper) or its timeout passed. Never
 * rejects: a handler left behind may settle later, and its rejection must
 * not go unhandled. No listener per job: `entry.abandon` is the hook, so the
 * common path costs one promise.
 */
function call(entry: Running, o: RunOptions): Promise<Ending> {
  const { job, controller } = entry;
  let ending: Promise<Ending>;
  try {
    ending = Promise.resolve(
      o.handlers[job.type]!(job, contextOf(job, controller.signal, o)),
    ).then(
      (value): Ending => ({ kind: "returned", value }),
      (error): Ending => ({ kind: "threw", error }),
    );
  } catch (error) {
    return Promise.resolve({ kind: "threw", error });
  }
  return new Promise((resolve) => {
    entry.abandon = (reason) => resolve({ kind: "abandoned", reason });
    void ending.then(resolve);
  });
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
  if (ms === undefined) return () => {};
  return longTimeout(() => {
    const reason = new DOMException(
      `Job '${job.id}' timed out after ${ms} ms`,
      "TimeoutError",
    );
    controller.abort(reason);
    entry.abandon?.(reason);
  }, ms);
}

/** Fails the attempt with what the handler threw, or why it was abandoned. */
async function failWith(
  job: ClaimedJob,
  error: unknown,
  o: RunOptions,
): Promise<Outcome> {
  const status = await o.queue.fail(job, error);
  o.emit("failed", job, error, status === "pending");
  return status === "pending" ? "retrying" : "failed";
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
  };
}

/** Stores a handler's return value; one that is not JSON fails the job. */
async function store(
  job: ClaimedJob,
  result: unknown,
  o: RunOptions,
): Promise<Outcome> {
  try {
    await o.queue.complete(job, result);
    o.emit("completed", job, result);
    return "completed";
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // The result is not JSON: running again would give the same, so fail for good.
    await o.queue.fail(job, err, { retry: false });
    o.emit("failed", job, err, false);
    return "failed";
  }
}

/**
 * Runs one job's handler and stores the outcome of the attempt.
 *
 * @param entry The job and the controller of its signal; a signal aborted
 *   with a LeaseLostError means the lease is gone. The job's own `timeout`
 *   wins over the worker's.
 * @param o The handler, the queue and the callbacks.
 * @returns How the attempt ended; never rejects.
 */
export async function runJob(
  entry: Running,
  o: RunOptions,
): Promise<Outcome> {
  const { job, controller } = entry;
  let released = false;
  const release = () => {
    released = true;
    o.freed();
  };
  const lost = () => controller.signal.reason instanceof LeaseLostError;
  const cancelTimeout = startTimeout(entry, o);
  try {
    const end = await call(entry, o);
    entry.abandon = undefined;
    cancelTimeout();
    release();
    if (lost()) return "lost";
    if (end.kind === "returned") return await store(job, end.value, o);
    return await failWith(
      job,
      end.kind === "threw" ? end.error : end.reason,
      o,
    );
  } catch (err) {
    if (err instanceof LeaseLostError) return "lost";
    if (!(err instanceof QueueClosedError)) o.report(err, job);
    return "error";
  } finally {
    cancelTimeout();
    if (!released) o.freed();
  }
}
