/**
 * The public types of the worker: handlers, their context, options, events
 * and the Worker interface. Types only; it must never hold behaviour.
 *
 * @module
 */

import type { JobTypes } from "../queue_types.ts";
import type { ClaimedJob } from "../types.ts";

/**
 * What a handler gets besides its job.
 *
 * @example
 * ```ts
 * import type { JobContext } from "@jobline/jobline";
 * async function work(ctx: JobContext): Promise<void> {
 *   for (let i = 1; i <= 4; i++) {
 *     ctx.signal.throwIfAborted();
 *     await ctx.progress(i / 4, `step ${i}`);
 *   }
 * }
 * ```
 */
export interface JobContext {
  /**
   * Aborts when the job is cancelled or removed, its lease is lost, its
   * attempt's `timeout` passes (the reason's name is "TimeoutError"), or the
   * worker stops past its timeout (an "AbortError").
   */
  signal: AbortSignal;
  /** Reports progress (0..1) and an optional message; subscribers see it live. */
  progress(progress: number, message?: string): Promise<void>;
  /** Extends the lease now (the worker also does so on its own). */
  heartbeat(): Promise<void>;
  /**
   * Puts the job back to pending, due in `delay` ms, without counting the
   * attempt: for work that cannot run yet, such as an API that answered 429
   * with a Retry-After. It throws (a signal the worker catches), so nothing
   * after it runs; a handler that catches errors must rethrow it.
   *
   * @example
   * ```ts
   * import type { Handler } from "@jobline/jobline";
   * const send: Handler<{ url: string }> = async (job, ctx) => {
   *   const res = await fetch(job.data.url, { signal: ctx.signal });
   *   if (res.status === 429) {
   *     ctx.snooze(Number(res.headers.get("retry-after") ?? 60) * 1000);
   *   }
   *   return res.status;
   * };
   * ```
   */
  snooze(delay: number): never;
  /**
   * The results of this job's parents in its flow, by ref (SPEC §12); a
   * parent that failed or was cancelled (under `onParentFailure:
   * "continue"`) gives `{ error }`. Empty for a job outside any flow.
   *
   * @example
   * ```ts
   * import type { Handler } from "@jobline/jobline";
   * const notify: Handler<{ to: string }> = async (job, ctx) => {
   *   const { large, thumb } = await ctx.parents();
   *   return { to: job.data.to, sizes: [large, thumb] };
   * };
   * ```
   */
  parents(): Promise<Record<string, unknown>>;
}

/**
 * A handler: returns the job's result (a JSON value) or throws to fail the
 * attempt.
 *
 * @example
 * ```ts
 * import type { Handler } from "@jobline/jobline";
 * const resize: Handler<{ url: string }> = async (job) => ({ url: job.data.url, width: 640 });
 * ```
 */
export type Handler<D = unknown, T extends string = string> = (
  job: ClaimedJob<D> & { type: T },
  ctx: JobContext,
) => unknown;

/**
 * The handlers of a worker, by job type. A worker claims only these types.
 *
 * @example
 * ```ts
 * import type { Handlers } from "@jobline/jobline";
 * type Jobs = { resize: { url: string } };
 * const handlers: Handlers<Jobs> = { resize: (job) => job.data.url.length };
 * ```
 */
export type Handlers<J extends JobTypes> = string extends keyof J
  ? Record<string, Handler<J[string]>>
  : { [T in keyof J & string]?: Handler<J[T], T> };

/**
 * What a worker reports.
 *
 * @example
 * ```ts
 * import type { WorkerEvents } from "@jobline/jobline";
 * const onFailed: WorkerEvents["failed"] = (job, error, retrying) => console.log(job.id, error, retrying);
 * ```
 */
export interface WorkerEvents {
  /** A handler returned and its result was stored. */
  completed: (job: ClaimedJob, result: unknown) => void;
  /** A handler threw; `retrying` tells whether the job went back to pending. */
  failed: (job: ClaimedJob, error: unknown, retrying: boolean) => void;
  /** A backend call failed (the worker retries) or a listener threw. */
  error: (error: unknown, job?: ClaimedJob) => void;
}

/**
 * Options of createWorker.
 *
 * @example
 * ```ts
 * import type { WorkerOptions } from "@jobline/jobline";
 * const o: WorkerOptions = {
 *   concurrency: 10,
 *   leaseMs: 30_000,
 *   pollInterval: 1_000,
 *   timeout: 60_000, // for jobs enqueued without a timeout
 *   handleSignals: true, // stop gracefully on SIGTERM and SIGINT
 * };
 * ```
 */
export interface WorkerOptions {
  /**
   * Handlers run at once, at most.
   * @default {1}
   */
  concurrency?: number;
  /**
   * Lease length (ms) of its claims; the queue's `leaseMs` when omitted. Any
   * length: heartbeats of a lease above 2^31-1 ms (~24.8 days) come every
   * ~24.8 days.
   */
  leaseMs?: number;
  /**
   * How often (ms) an idle worker looks for work when no wake-up came. Above
   * 2^31-1 ms (~24.8 days) it looks every ~24.8 days.
   * @default {1000}
   */
  pollInterval?: number;
  /**
   * The most jobs a worker may hold claimed ahead of its free handler slots,
   * so that quick jobs do not wait a backend round trip each. It holds only
   * about as many as it finishes in four claim round trips at its current
   * pace, never more than in 100 ms: hardly any in memory, none while
   * handlers are slow, so it never hoards work another worker could run,
   * and a newly enqueued job of higher priority waits at most about 100 ms
   * behind them. Jobs held ahead are leased and heartbeated like running
   * ones; `stop()` gives back those not started (their attempt not
   * counted). `0` claims only for free slots.
   * @default {2000}
   */
  prefetch?: number;
  /** How often (ms) running jobs' leases are extended; a third of the lease when omitted. */
  heartbeatInterval?: number;
  /** Called on errors; the default logs them with console.error unless an "error" listener is set. */
  onError?: (error: unknown, job?: ClaimedJob) => void;
  /**
   * The most ms one attempt of a job enqueued without a `timeout` may run.
   * Past it the handler's `ctx.signal` aborts with a "TimeoutError", the
   * attempt fails with it (retried while attempts remain) and the slot runs
   * the next job at once, even if the handler never settles; what it
   * returns later is discarded. None by default.
   */
  timeout?: number;
  /**
   * Stops the worker gracefully on SIGTERM and SIGINT (Deno, Node and Bun):
   * `stop()` with `timeout` (default 10 000 ms), then `onStopped`. The
   * listeners go as the stop begins, so a second signal ends the process
   * as it would without the worker. The worker never exits the process.
   * @default {false}
   */
  handleSignals?: boolean | HandleSignalsOptions;
}

/**
 * What `handleSignals` does besides stopping the worker.
 *
 * @example Close the queue once the worker stopped
 * ```ts
 * import { createQueue, createWorker } from "@jobline/jobline";
 * const queue = createQueue();
 * const worker = createWorker(queue, { resize: () => ({ width: 640 }) }, {
 *   handleSignals: { timeout: 30_000, onStopped: () => queue.close() },
 * });
 * await worker.stop();
 * await queue.close();
 * ```
 */
export interface HandleSignalsOptions {
  /**
   * The stop's timeout, ms: how long running handlers may finish.
   * @default {10000}
   */
  timeout?: number;
  /**
   * Called once the worker stopped after a signal, with its name: close
   * the queue (and what else keeps the process alive) here, or exit.
   * Errors go to the worker's error reporting.
   */
  onStopped?: (signal: "SIGTERM" | "SIGINT") => unknown;
}

/**
 * A running worker.
 *
 * @example
 * ```ts
 * import { createQueue, createWorker } from "@jobline/jobline";
 * await using queue = createQueue();
 * const worker = createWorker(queue, { resize: () => ({ ok: true }) }, { concurrency: 4 });
 * worker.on("completed", (job) => console.log("done", job.id));
 * await worker.pause(); // claims nothing until resume()
 * await queue.enqueue("resize", null);
 * worker.resume();
 * await worker.stop({ timeout: 5_000 });
 * ```
 */
export interface Worker extends AsyncDisposable {
  /** How many handlers are running now. */
  readonly running: number;
  /** How many jobs are claimed ahead and waiting for a free slot. */
  readonly prefetched: number;
  /** True once stop() was called. */
  readonly stopped: boolean;
  /** True while paused by pause(), until resume(). */
  readonly paused: boolean;
  /**
   * Stops this worker claiming: running handlers finish, and the jobs it
   * holds claimed ahead go back to the queue (pending, attempt not
   * counted), for other workers. Resolves once they are back. Other
   * workers, and this worker's stop(), are unaffected.
   */
  pause(): Promise<void>;
  /** Undoes pause(): the worker claims again at once. */
  resume(): void;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof WorkerEvents>(
    event: E,
    listener: WorkerEvents[E],
  ): () => void;
  /**
   * Stops claiming, gives back the jobs claimed ahead (their attempt not
   * counted), and waits for running handlers up to `timeout` ms (default
   * 10 000). Past it, it gives up on them: their signals abort with an
   * AbortError, their attempts fail with it (retried while attempts
   * remain), and it resolves once that is stored; whatever those handlers
   * return or throw later is discarded. Later calls return the first
   * call's promise.
   */
  stop(options?: { timeout?: number }): Promise<void>;
}
