/**
 * A worker's events: its listeners ("completed", "failed", "error") and the
 * one place errors are reported (the `onError` option, "error" listeners,
 * or console.error when there is neither). A listener that throws is
 * reported, never rethrown.
 *
 * @module
 */

import type { ClaimedJob } from "../types.ts";
import type { WorkerEvents, WorkerOptions } from "./types.ts";

/** Calls the listeners of one event. */
export type Emit = <E extends keyof WorkerEvents>(
  event: E,
  ...args: Parameters<WorkerEvents[E]>
) => void;

/** A worker's listeners and error reporting. */
export interface WorkerEventHub {
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof WorkerEvents>(
    event: E,
    listener: WorkerEvents[E],
  ): () => void;
  /** Calls the listeners of an event; one that throws is reported. */
  emit: Emit;
  /** Reports an error: to `onError`, then to "error" listeners or the console. */
  report(error: unknown, job?: ClaimedJob): void;
}

/**
 * Makes the event hub of one worker.
 *
 * @param onError The worker's `onError` option.
 * @returns A hub with no listeners.
 */
export function createWorkerEvents(
  onError: WorkerOptions["onError"],
): WorkerEventHub {
  const listeners: { [E in keyof WorkerEvents]: Set<WorkerEvents[E]> } = {
    completed: new Set(),
    failed: new Set(),
    error: new Set(),
  };

  const emit: Emit = (event, ...args) => {
    for (const listener of listeners[event]) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        if (event !== "error") report(err);
      }
    }
  };

  function report(error: unknown, job?: ClaimedJob): void {
    if (onError) {
      try {
        onError(error, job);
      } catch { /* an error reporter that throws has nowhere left to report */ }
    }
    if (listeners.error.size > 0) emit("error", error, job);
    else if (!onError) console.error("jobline worker:", error);
  }

  return {
    on(event, listener) {
      listeners[event].add(listener);
      return () => void listeners[event].delete(listener);
    },
    emit,
    report,
  };
}
