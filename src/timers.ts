/**
 * Timers for durations of any length. Deno, Node and Bun clamp a
 * setTimeout or setInterval delay above 2^31-1 ms (about 24.8 days) to 1 ms,
 * so a long lease, poll interval, delay or stop timeout given as it is would
 * fire at once, and again and again. Every timer of the queue, the worker
 * and subscribe takes its delay from here. It holds no state of its own.
 *
 * @module
 */

/** The longest delay a runtime's timer holds: 2^31-1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay a timer holds as it is: `ms` capped at {@linkcode MAX_TIMER_MS}
 * (0 for a negative or NaN delay). Right for a repeating timer, such as a
 * heartbeat or a poll, where firing sooner than asked is harmless.
 *
 * @param ms The delay wanted.
 * @returns The delay to give the timer.
 */
export function timerMs(ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms > 0 ? ms : 0;
}

/**
 * Calls `fn` once after `ms`, however long: a delay above what a timer holds
 * is waited out by a chain of timers.
 *
 * @param fn What to call.
 * @param ms The delay.
 * @param cap The longest single timer (tests pass a short one).
 * @returns A function that cancels the call.
 */
export function longTimeout(
  fn: () => void,
  ms: number,
  cap: number = MAX_TIMER_MS,
): () => void {
  let left = ms > 0 ? ms : 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const step = Math.min(left, cap);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fn, step);
  };
  arm();
  return () => clearTimeout(timer);
}
