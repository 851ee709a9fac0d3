/**
 * A worker's part in schedules: while it runs (not paused, not stopping),
 * it asks the queue to fire due schedules at start and then every poll
 * interval, one call at a time. Which process makes an occurrence's job is
 * the backend's business (a compare-and-set); this only keeps asking. A
 * failure is reported, never thrown. A schedule that fails is reported
 * alone and the looks go on at the poll interval, so one bad schedule
 * delays no other; only when the due schedules cannot be read do the looks
 * slow down (doubling, up to 30 s), so a store that is down is not asked
 * every poll interval.
 *
 * @module
 */

import { QueueClosedError } from "../errors.ts";
import type { Queue } from "../queue_types.ts";
import { timerMs } from "../timers.ts";

/** The longest wait between looks while calls fail. */
const MAX_BACKOFF_MS = 30_000;

/** What the schedule timer needs of its worker. */
export interface ScheduleTimerOptions {
  queue: Pick<Queue, "runSchedules" | "closed">;
  /** Ms between looks. */
  pollInterval: number;
  /** False while the worker is paused or stopping: no look then. */
  active(): boolean;
  /** Reports a failed call, or a schedule that failed. */
  report(error: unknown): void;
}

/**
 * Starts the looks.
 *
 * @returns A function that stops them (a look under way ends on its own).
 */
export function startScheduleTimer(o: ScheduleTimerOptions): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let failures = 0;
  const report = (err: unknown): void => {
    if (!(err instanceof QueueClosedError)) o.report(err);
  };
  const look = async (): Promise<void> => {
    if (stopped || o.queue.closed) return;
    if (o.active()) {
      try {
        await o.queue.runSchedules({ onError: report });
        failures = 0;
      } catch (err) {
        failures++;
        report(err);
      }
    }
    const wait = failures === 0 ? o.pollInterval : Math.min(
      o.pollInterval * 2 ** failures,
      Math.max(o.pollInterval, MAX_BACKOFF_MS),
    );
    if (!stopped) timer = setTimeout(look, timerMs(wait));
  };
  timer = setTimeout(look, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
