/**
 * createWorker: claims jobs and runs their handlers. Owns concurrency,
 * wake-ups, heartbeats, cancellation and graceful stop. A failing backend
 * call is reported and retried with backoff; nothing it does in the
 * background may become an unhandled rejection.
 *
 * @module
 */

import { LeaseLostError, QueueClosedError, ValidationError } from "./errors.ts";
import type { JobTypes, Queue, QueueEvent } from "./queue_types.ts";
import type { ClaimedJob } from "./types.ts";
import type {
  Handler,
  Handlers,
  JobContext,
  Worker,
  WorkerEvents,
  WorkerOptions,
} from "./worker_types.ts";
import { checkNumber, invalid } from "./validate.ts";

interface Running {
  job: ClaimedJob;
  controller: AbortController;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts a worker: it claims jobs of the handlers' types and runs up to
 * `concurrency` handlers at once. A return value completes the job, a throw
 * fails the attempt (retried with backoff while attempts remain).
 *
 * @example A typed worker
 * ```ts
 * import { createQueue, createWorker, subscribe } from "@jobline/jobline";
 * type Jobs = { resize: { url: string } };
 * await using queue = createQueue<Jobs>();
 * await using _worker = createWorker(queue, {
 *   resize: async (job, ctx) => {
 *     await ctx.progress(0.5, `fetching ${job.data.url}`);
 *     return { width: 640 };
 *   },
 * }, { concurrency: 10 });
 * const id = await queue.enqueue("resize", { url: "a.png" });
 * for await (const u of subscribe(queue, id)) console.log(u.status);
 * ```
 *
 * @param queue The queue to work on.
 * @param handlers A handler per job type.
 * @param options Concurrency, lease, polling.
 * @returns The worker, already running.
 */
export function createWorker<J extends JobTypes>(
  queue: Queue<J>,
  handlers: Handlers<J>,
  options: WorkerOptions = {},
): Worker {
  const act = "create worker";
  if (handlers === null || typeof handlers !== "object") {
    throw invalid(act, "handlers", "an object", handlers);
  }
  const types = Object.keys(handlers);
  if (types.length === 0) {
    throw new ValidationError("Cannot create worker without handlers");
  }
  for (const t of types) {
    if (typeof handlers[t] !== "function") {
      throw invalid(act, `handlers.${t}`, "a function", handlers[t]);
    }
  }
  const {
    concurrency = 1,
    leaseMs = queue.leaseMs,
    pollInterval = 1000,
    heartbeatInterval = Math.max(1, Math.floor(leaseMs / 3)),
  } = options;
  checkNumber(concurrency, act, "concurrency", {
    min: 1,
    integer: true,
    max: 10_000,
  });
  checkNumber(leaseMs, act, "leaseMs", { min: 0, exclusive: true });
  checkNumber(pollInterval, act, "pollInterval", { min: 0, exclusive: true });
  checkNumber(heartbeatInterval, act, "heartbeatInterval", {
    min: 0,
    exclusive: true,
  });

  const listeners: { [E in keyof WorkerEvents]: Set<WorkerEvents[E]> } = {
    completed: new Set(),
    failed: new Set(),
    error: new Set(),
  };
  // Jobs whose lease this worker holds: handler running, or result being stored.
  const active = new Map<string, Running>();
  // Handlers running now; a slot frees as soon as its handler returns, while the
  // lease is kept (and heartbeated) until the result is stored.
  let busy = 0;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let wakeRequested = true;
  let maybeMore = true;
  let notify: (() => void) | null = null;
  let drained: (() => void) | null = null;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let delayedTimer: ReturnType<typeof setTimeout> | undefined;
  let delayedAt = Infinity;
  let unlisten: (() => Promise<void>) | undefined;

  function emit<E extends keyof WorkerEvents>(
    event: E,
    ...args: Parameters<WorkerEvents[E]>
  ): void {
    for (const listener of listeners[event]) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        if (event !== "error") report(err);
      }
    }
  }

  function report(error: unknown, job?: ClaimedJob): void {
    if (options.onError) {
      try {
        options.onError(error, job);
      } catch { /* an error reporter that throws has nowhere left to report */ }
    }
    if (listeners.error.size > 0) emit("error", error, job);
    else if (!options.onError) console.error("jobline worker:", error);
  }

  /** Lets the loop look again (a slot freed, or it is stopping). */
  function poke(): void {
    const n = notify;
    notify = null;
    n?.();
  }

  /** There may be work: claim as soon as a slot is free. */
  function wake(): void {
    wakeRequested = true;
    poke();
  }

  function wakeAt(at: number): void {
    const delay = at - queue.now();
    if (delay <= 0) return wake();
    if (at >= delayedAt) return;
    clearTimeout(delayedTimer);
    delayedAt = at;
    delayedTimer = setTimeout(() => {
      delayedAt = Infinity;
      // Timers may fire a millisecond early by the queue's clock (Node does):
      // claiming then would find nothing and wait a whole poll interval.
      wakeAt(at);
    }, delay);
  }

  function onEvent(event: QueueEvent): void {
    if (event.kind === "wake") wakeAt(event.at);
    else if (event.kind === "cancel") {
      active.get(event.jobId)?.controller.abort(
        new LeaseLostError(
          event.jobId,
          `Job '${event.jobId}' was cancelled, removed or its lease expired`,
        ),
      );
    } else if (event.kind === "resync") {
      wake();
      beat();
    } else if (event.kind === "closed") wake();
  }

  function beat(): void {
    for (const { job, controller } of active.values()) {
      queue.heartbeat(job, { leaseMs }).catch((err) => {
        if (err instanceof LeaseLostError) controller.abort(err);
        else if (!(err instanceof QueueClosedError)) report(err, job);
      });
    }
  }

  /** Slots to claim for: free handlers, with at most 2 x concurrency leases held. */
  function freeSlots(): number {
    return Math.min(concurrency - busy, 2 * concurrency - active.size);
  }

  /** A handler finished: its slot may take the next job. */
  function release(): void {
    busy--;
    if (maybeMore) wakeRequested = true;
    poke();
  }

  /** The job's result is stored (or it was lost): its lease is no longer ours. */
  function settle(job: ClaimedJob): void {
    active.delete(job.id);
    if (active.size === 0) {
      clearInterval(heartbeatTimer);
      heartbeatTimer = undefined;
      drained?.();
    }
    poke();
  }

  async function run(job: ClaimedJob): Promise<void> {
    const controller = new AbortController();
    active.set(job.id, { job, controller });
    busy++;
    let released = false;
    heartbeatTimer ??= setInterval(beat, heartbeatInterval);
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (progress, message) =>
        queue.update(
          job,
          message === undefined ? { progress } : { progress, message },
        ),
      heartbeat: async () => {
        await queue.heartbeat(job, { leaseMs });
      },
    };
    const lost = () => controller.signal.reason instanceof LeaseLostError;
    try {
      let result: unknown;
      try {
        result = await (handlers[job.type] as Handler)(job, ctx);
      } catch (err) {
        released = true;
        release();
        if (lost()) return;
        const status = await queue.fail(job, err);
        emit("failed", job, err, status === "pending");
        return;
      }
      released = true;
      release();
      if (lost()) return;
      try {
        await queue.complete(job, result);
        emit("completed", job, result);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        // The result is not JSON: running again would give the same, so fail for good.
        await queue.fail(job, err, { retry: false });
        emit("failed", job, err, false);
      }
    } catch (err) {
      if (
        !(err instanceof LeaseLostError) && !(err instanceof QueueClosedError)
      ) report(err, job);
    } finally {
      if (!released) release();
      settle(job);
    }
  }

  function idle(): Promise<void> {
    const free = freeSlots() > 0;
    if (stopping || (wakeRequested && free)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = free ? setTimeout(wake, pollInterval) : undefined;
      notify = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      try {
        unlisten ??= await queue.listen("worker", onEvent);
        const free = freeSlots();
        if (free > 0 && wakeRequested) {
          wakeRequested = false;
          const jobs = await queue.claimMany(free, { types, leaseMs });
          maybeMore = jobs.length === free;
          for (const job of jobs) void run(job);
          if (maybeMore) wakeRequested = true;
        }
        failures = 0;
      } catch (err) {
        if (err instanceof QueueClosedError || queue.closed) break;
        report(err);
        wakeRequested = true;
        await sleep(Math.min(5_000, 100 * 2 ** failures++));
        continue;
      }
      await idle();
    }
    clearTimeout(delayedTimer);
  }

  const looping = loop();

  const worker: Worker = {
    get running() {
      return busy;
    },
    get stopped() {
      return stopping;
    },
    on(event, listener) {
      listeners[event].add(listener);
      return () => void listeners[event].delete(listener);
    },
    stop({ timeout = 10_000 } = {}) {
      checkNumber(timeout, "stop worker", "timeout");
      stopped ??= (async () => {
        stopping = true;
        poke();
        await looping;
        const allDone = () =>
          active.size === 0
            ? Promise.resolve()
            : new Promise<void>((resolve) => (drained = resolve));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = (ms: number) =>
          new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
        await Promise.race([allDone(), expired(timeout)]);
        clearTimeout(timer);
        if (active.size > 0) {
          for (const { controller } of active.values()) {
            controller.abort(
              new DOMException(
                "The worker stopped before the job finished",
                "AbortError",
              ),
            );
          }
          await Promise.race([allDone(), expired(1000)]);
          clearTimeout(timer);
        }
        clearInterval(heartbeatTimer);
        await unlisten?.().catch(() => {});
        unlisten = undefined;
      })();
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return worker.stop();
    },
  };
  return worker;
}
