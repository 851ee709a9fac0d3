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

/** A worker claims ahead about as many jobs as it finishes in this many ms. */
const AHEAD_MS = 100;

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
    prefetch = 2000,
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
  checkNumber(prefetch, act, "prefetch", {
    min: 0,
    integer: true,
    max: 10_000,
  });

  const listeners: { [E in keyof WorkerEvents]: Set<WorkerEvents[E]> } = {
    completed: new Set(),
    failed: new Set(),
    error: new Set(),
  };
  // Jobs whose lease this worker holds: claimed ahead, handler running, or
  // result being stored.
  const active = new Map<string, Running>();
  // Jobs claimed ahead of a free slot, best LAST (the next to start is popped).
  let waiting: Running[] = [];
  // Handlers running now; a slot frees as soon as its handler returns, while the
  // lease is kept (and heartbeated) until the result is stored.
  let busy = 0;
  // Handlers finished in about the last AHEAD_MS (exponentially weighted):
  // how many jobs to hold ahead.
  let recent = 0;
  let recentAt = performance.now();
  // How long a claim call takes (ms, a moving average).
  let claimMs = AHEAD_MS;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let wakeRequested = true;
  let maybeMore = true;
  // Claim calls under way, and the jobs they ask for.
  let claims = 0;
  let claimingFor = 0;
  const maxClaims = prefetch > 0 ? 2 : 1;
  // Claiming pauses after a failed backend call, with growing backoff.
  let failures = 0;
  let pausedUntil = 0;
  let closedUnder = false;
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
      const entry = active.get(event.jobId);
      if (entry === undefined || entry.controller.signal.aborted) return;
      // The event may be about an earlier lease of the job: one that ran out
      // just before this worker claimed the job again. Ask the backend.
      queue.heartbeat(entry.job, { leaseMs }).catch((err) => {
        if (err instanceof LeaseLostError) {
          lose(
            entry,
            new LeaseLostError(
              event.jobId,
              `Job '${event.jobId}' was cancelled, removed or its lease expired`,
            ),
          );
        } else if (!(err instanceof QueueClosedError)) report(err, entry.job);
      });
    } else if (event.kind === "resync") {
      wake();
      beat();
    } else if (event.kind === "closed") wake();
  }

  /** The job's lease is gone: abort its handler, or drop it if not started. */
  function lose(entry: Running, reason: LeaseLostError): void {
    entry.controller.abort(reason);
    const i = waiting.indexOf(entry);
    if (i >= 0) {
      waiting.splice(i, 1);
      settle(entry.job);
    }
  }

  function beat(): void {
    for (const entry of active.values()) {
      if (entry.controller.signal.aborted) continue;
      queue.heartbeat(entry.job, { leaseMs }).catch((err) => {
        if (err instanceof LeaseLostError) lose(entry, err);
        else if (!(err instanceof QueueClosedError)) report(err, entry.job);
      });
    }
  }

  /** Decays `recent` to the present. */
  function decay(): void {
    const t = performance.now();
    recent *= Math.exp((recentAt - t) / AHEAD_MS);
    recentAt = t;
  }

  /**
   * How many jobs to claim now: one per free slot, plus enough to hold
   * about as many ahead as handlers finish in four claim round trips (no
   * more than in AHEAD_MS): where a claim costs next to nothing, such as in
   * memory, hardly any. Jobs held ahead are claimed in two halves, so one
   * claim is under way while the jobs of the other run. At most twice as
   * many leases are held in all, so results being stored do not hold up the
   * next claim.
   */
  function wanted(): number {
    let ahead = 0;
    if (prefetch > 0) {
      decay();
      const share = Math.min(1, (4 * claimMs) / AHEAD_MS);
      ahead = Math.min(prefetch, Math.floor(recent * share));
    }
    const coming = waiting.length + claimingFor;
    if (coming > 0 && coming >= ahead) return 0;
    return Math.min(
      concurrency - busy + Math.ceil(ahead / 2),
      concurrency - busy + ahead - coming,
      2 * (concurrency + ahead) - active.size - claimingFor,
    );
  }

  /** Takes claimed jobs on: they start as slots free up, best first. */
  function hold(jobs: ClaimedJob[]): void {
    if (jobs.length === 0) return;
    const last = waiting[0];
    const taken = jobs.map((job) => {
      const entry = { job, controller: new AbortController() };
      active.set(job.id, entry);
      return entry;
    });
    // New jobs line up behind the ones already waiting, unless better.
    waiting = taken.reverse().concat(waiting);
    if (last !== undefined && jobs[0]!.priority > last.job.priority) {
      waiting.sort((a, b) => a.job.priority - b.job.priority); // stable
    }
    heartbeatTimer ??= setInterval(beat, heartbeatInterval);
    pump();
  }

  /** Starts waiting jobs while slots are free. */
  function pump(): void {
    while (!stopping && busy < concurrency && waiting.length > 0) {
      void run(waiting.pop()!);
    }
  }

  /** A handler finished: its slot may take the next job. */
  function freeSlot(): void {
    busy--;
    decay();
    recent++;
    pump();
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

  async function run({ job, controller }: Running): Promise<void> {
    busy++;
    let released = false;
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
        freeSlot();
        if (lost()) return;
        const status = await queue.fail(job, err);
        emit("failed", job, err, status === "pending");
        return;
      }
      released = true;
      freeSlot();
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
      if (!released) freeSlot();
      settle(job);
    }
  }

  function idle(): Promise<void> {
    const room = wanted() > 0 && claims < maxClaims;
    if (stopping || closedUnder || (wakeRequested && room)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = room ? setTimeout(wake, pollInterval) : undefined;
      notify = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A backend call failed: report it and pause claiming, longer each time. */
  function backOff(err: unknown): void {
    report(err);
    pausedUntil = performance.now() + Math.min(5_000, 100 * 2 ** failures++);
  }

  /** Claims `want` jobs; a failure pauses claiming, with growing backoff. */
  async function claim(want: number): Promise<void> {
    claims++;
    claimingFor += want;
    let jobs: ClaimedJob[] = [];
    try {
      const began = performance.now();
      jobs = await queue.claimMany(want, { types, leaseMs });
      claimMs = 0.8 * claimMs + 0.2 * (performance.now() - began);
      failures = 0;
    } catch (err) {
      if (err instanceof QueueClosedError || queue.closed) closedUnder = true;
      else {
        backOff(err);
        wakeRequested = true;
      }
    } finally {
      claims--;
      claimingFor -= want;
    }
    maybeMore = jobs.length === want;
    hold(jobs);
    if (maybeMore) wakeRequested = true;
    poke();
  }

  async function loop(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while (!stopping && !closedUnder) {
      const pause = pausedUntil - performance.now();
      if (pause > 0) {
        await sleep(pause);
        continue;
      }
      try {
        unlisten ??= await queue.listen("worker", onEvent);
      } catch (err) {
        if (err instanceof QueueClosedError || queue.closed) break;
        backOff(err);
        continue;
      }
      // A second claim goes out only while the last one came back full.
      while (wakeRequested && claims < maxClaims) {
        const want = wanted();
        if (want <= 0) break;
        wakeRequested = maybeMore && claims === 0;
        const p = claim(want);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await idle();
    }
    await Promise.all(inFlight);
    clearTimeout(delayedTimer);
  }

  const looping = loop();

  const worker: Worker = {
    get running() {
      return busy;
    },
    get prefetched() {
      return waiting.length;
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
        // Jobs claimed ahead go back unstarted, their attempt not counted.
        const unstarted = waiting.splice(0);
        if (unstarted.length > 0) {
          await queue.release(unstarted.map((entry) => entry.job)).catch(
            (err) => {
              if (!(err instanceof QueueClosedError)) report(err);
            },
          );
          for (const entry of unstarted) settle(entry.job);
        }
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
