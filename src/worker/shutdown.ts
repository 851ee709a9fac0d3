/**
 * A worker's shutdown: stop() (stop claiming, give back the jobs claimed
 * ahead, wait for running handlers up to a timeout, then give up on them),
 * the give-back that pause() shares, and `handleSignals`, which stops the
 * worker on SIGTERM and SIGINT. It reaches the runtime's signals through
 * globalThis (Deno.addSignalListener, or process.on on Node and Bun), never
 * by importing a runtime module, and it never ends the process itself.
 *
 * @module
 */

import { QueueClosedError } from "../errors.ts";
import type { Queue } from "../queue_types.ts";
import { longTimeout } from "../timers.ts";
import type { ClaimedJob } from "../types.ts";
import type { WorkerEventHub } from "./events.ts";
import type { LeaseKeeper, Running } from "./leases.ts";
import type { Slots } from "./slots.ts";
import type { HandleSignalsOptions, Worker } from "./types.ts";
import type { Wakeups } from "./wake.ts";

/** The parts of a worker that its shutdown works on. */
export interface ShutdownParts {
  /** stop() was called: no claim and no start from now on. */
  stopping: boolean;
  readonly queue: Pick<Queue, "release">;
  readonly slots: Pick<Slots, "drain">;
  readonly leases: Pick<LeaseKeeper, "drained" | "abortAll" | "stop">;
  readonly wakeups: Pick<Wakeups, "poke">;
  readonly events: Pick<WorkerEventHub, "report">;
  /** Ends the worker's listening for wake-ups and cancels, once started. */
  unlisten: (() => Promise<void>) | undefined;
  /** Gives up on a running handler: its attempt fails with `reason`. */
  abandon(entry: Running, reason: unknown): void;
  /** A job's lease is no longer the worker's. */
  settle(job: ClaimedJob): void;
}

/**
 * How long stop(), once it gave up, waits at most for the outcomes it is
 * storing (ms): only a backend that does not answer makes it wait this long.
 */
const STORE_GRACE_MS = 1_000;

/**
 * Gives jobs claimed ahead back to the queue unstarted (their attempt not
 * counted) and lets go of their leases. Never rejects: a failure is
 * reported, and their leases run out as a crashed worker's would.
 */
export async function giveBack(
  w: ShutdownParts,
  entries: readonly Running[],
): Promise<void> {
  if (entries.length === 0) return;
  await w.queue.release(entries.map((entry) => entry.job)).catch((err) => {
    if (!(err instanceof QueueClosedError)) w.events.report(err);
  });
  for (const entry of entries) w.settle(entry.job);
}

/**
 * Stops the worker: ends the loop, gives back the jobs claimed ahead,
 * waits for running handlers up to `timeout`, then gives up on them:
 * aborts their signals, fails their attempts with that AbortError (runJob),
 * and waits only for those outcomes to be stored; what the handlers return
 * later is discarded.
 */
export async function stopWorker(
  w: ShutdownParts,
  looping: Promise<void>,
  timeout: number,
): Promise<void> {
  w.stopping = true;
  w.wakeups.poke();
  await looping;
  await giveBack(w, w.slots.drain());
  if (!(await drainedWithin(w, timeout))) {
    const reason = new DOMException(
      "The worker stopped before the job finished",
      "AbortError",
    );
    w.leases.abortAll(reason, (entry) => w.abandon(entry, reason));
    await drainedWithin(w, STORE_GRACE_MS);
  }
  w.leases.stop();
  await w.unlisten?.().catch(() => {});
  w.unlisten = undefined;
}

/** Whether every lease settled within `ms` (a timer of any length). */
async function drainedWithin(w: ShutdownParts, ms: number): Promise<boolean> {
  let cancel = () => {};
  const expired = new Promise<false>((resolve) => {
    cancel = longTimeout(() => resolve(false), ms);
  });
  const drained = w.leases.drained().then(() => true);
  try {
    return await Promise.race([drained, expired]);
  } finally {
    cancel();
  }
}

/** The signals a worker stops on. */
const SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** What the runtimes offer to listen for signals. */
interface SignalHosts {
  Deno?: {
    addSignalListener?(signal: string, listener: () => void): void;
    removeSignalListener?(signal: string, listener: () => void): void;
  };
  process?: {
    on?(signal: string, listener: () => void): unknown;
    off?(signal: string, listener: () => void): unknown;
  };
}

/**
 * Calls `fn` on SIGTERM or SIGINT, on Deno, Node or Bun; elsewhere (or for
 * a signal the platform lacks, SIGTERM on Windows) it listens for nothing.
 *
 * @returns A function that removes the listeners (later calls do nothing).
 */
export function onSignals(
  fn: (signal: (typeof SIGNALS)[number]) => void,
): () => void {
  const { Deno: deno, process: proc } = globalThis as SignalHosts;
  let add: ((s: string, l: () => void) => unknown) | undefined;
  let remove: ((s: string, l: () => void) => unknown) | undefined;
  if (deno?.addSignalListener && deno.removeSignalListener) {
    add = (s, l) => deno.addSignalListener!(s, l);
    remove = (s, l) => deno.removeSignalListener!(s, l);
  } else if (proc?.on && proc.off) {
    add = (s, l) => proc.on!(s, l);
    remove = (s, l) => proc.off!(s, l);
  }
  if (add === undefined || remove === undefined) return () => {};
  const added: [string, () => void][] = [];
  for (const signal of SIGNALS) {
    const listener = () => fn(signal);
    try {
      add(signal, listener);
      added.push([signal, listener]);
    } catch { /* not a signal of this platform */ }
  }
  return () => {
    for (const [signal, listener] of added.splice(0)) {
      try {
        remove(signal, listener);
      } catch { /* already gone with the runtime */ }
    }
  };
}

/**
 * `handleSignals`: on SIGTERM or SIGINT, stops the worker with the
 * option's timeout, then calls `onStopped`. The worker's stop() removes the
 * listeners as it begins.
 *
 * @returns A function that removes the listeners.
 */
export function stopOnSignals(
  worker: Pick<Worker, "stop">,
  { timeout, onStopped }: HandleSignalsOptions,
  report: (error: unknown) => void,
): () => void {
  return onSignals((signal) => {
    worker.stop(timeout === undefined ? {} : { timeout })
      .then(() => onStopped?.(signal))
      .catch(report);
  });
}
