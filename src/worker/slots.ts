/**
 * A worker's handler slots: how many handlers run, and the line of jobs
 * claimed ahead of a free slot, best first, in claim order among equals.
 * It never claims, runs or stores a job; the worker starts what `take`
 * gives it.
 *
 * @module
 */

import type { Running } from "./leases.ts";

/** The slots of one worker and the jobs waiting for them. */
export interface Slots {
  /** Handlers running now. */
  readonly busy: number;
  /** Jobs claimed ahead and waiting for a slot. */
  readonly waiting: number;
  /**
   * Lines up newly claimed jobs (best first, as a claim returns them):
   * behind the ones already waiting, unless of a higher priority.
   */
  line(entries: readonly Running[]): void;
  /** The next job to start, counted as running; undefined when no slot is free or none waits. */
  take(): Running | undefined;
  /** A handler finished: its slot is free. */
  free(): void;
  /** Takes a job out of the line; false if it was not waiting. */
  drop(entry: Running): boolean;
  /** Takes every waiting job out of the line (those that `pick`, if given). */
  drain(pick?: (entry: Running) => boolean): Running[];
}

/**
 * Makes the slots of one worker.
 *
 * @param concurrency How many handlers may run at once.
 * @returns Free slots and an empty line.
 */
export function createSlots(concurrency: number): Slots {
  let busy = 0;
  // Best LAST: the next to start is popped.
  let waiting: Running[] = [];
  return {
    get busy() {
      return busy;
    },
    get waiting() {
      return waiting.length;
    },
    line(entries) {
      if (entries.length === 0) return;
      const last = waiting[0];
      waiting = [...entries].reverse().concat(waiting);
      if (last !== undefined && entries[0]!.job.priority > last.job.priority) {
        waiting.sort((a, b) => a.job.priority - b.job.priority); // stable
      }
    },
    take() {
      if (busy >= concurrency) return undefined;
      const entry = waiting.pop();
      if (entry !== undefined) busy++;
      return entry;
    },
    free() {
      busy--;
    },
    drop(entry) {
      const i = waiting.indexOf(entry);
      if (i < 0) return false;
      waiting.splice(i, 1);
      return true;
    },
    drain(pick) {
      if (pick === undefined) return waiting.splice(0);
      const out = waiting.filter(pick);
      if (out.length > 0) waiting = waiting.filter((entry) => !pick(entry));
      return out;
    },
  };
}
