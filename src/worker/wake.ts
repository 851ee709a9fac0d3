/**
 * The claim loop's wake-ups: whether there may be work to claim, the loop's
 * idle wait (ended by a poke, by a wake-up, or by the poll interval), and
 * wake-ups at a time, for a delayed job that becomes due. It never claims.
 *
 * @module
 */

import { timerMs } from "../timers.ts";

/** The wake-ups of one worker's claim loop. */
export interface Wakeups {
  /**
   * There may be work to claim. Set by `wake()`; the loop clears it when it
   * claims and sets it again after a claim that came back full.
   */
  requested: boolean;
  /** Ends the loop's idle wait, so it looks again (a slot freed, or it stops). */
  poke(): void;
  /** There may be work: claim as soon as a slot is free. */
  wake(): void;
  /** Wakes the loop at `at` (epoch ms by the queue's clock), or now if due. */
  wakeAt(at: number): void;
  /**
   * Waits until poked, unless `done`, or a wake-up is requested and there is
   * `room` to claim. With room, the poll interval ends the wait with a
   * wake-up.
   */
  idle(room: boolean, done: boolean): Promise<void>;
  /** Cancels a pending `wakeAt`. */
  stop(): void;
}

/**
 * Makes the wake-ups of one worker.
 *
 * @param now The queue's clock, epoch ms.
 * @param pollInterval How often (ms) an idle loop with room looks for work.
 * @returns Wake-ups with one requested, so the loop claims at once.
 */
export function createWakeups(
  now: () => number,
  pollInterval: number,
): Wakeups {
  let notify: (() => void) | null = null;
  let delayedTimer: ReturnType<typeof setTimeout> | undefined;
  let delayedAt = Infinity;

  const w: Wakeups = {
    requested: true,
    poke() {
      const n = notify;
      notify = null;
      n?.();
    },
    wake() {
      w.requested = true;
      w.poke();
    },
    wakeAt(at) {
      const delay = at - now();
      if (delay <= 0) return w.wake();
      if (at >= delayedAt) return;
      clearTimeout(delayedTimer);
      delayedAt = at;
      // A delay above 2^31-1 ms waits in steps: each timer looks again.
      delayedTimer = setTimeout(() => {
        delayedAt = Infinity;
        // Timers may fire a millisecond early by the queue's clock (Node does):
        // claiming then would find nothing and wait a whole poll interval.
        w.wakeAt(at);
      }, timerMs(delay));
    },
    idle(room, done) {
      if (done || (w.requested && room)) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = room
          ? setTimeout(w.wake, timerMs(pollInterval))
          : undefined;
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    stop() {
      clearTimeout(delayedTimer);
    },
  };
  return w;
}
