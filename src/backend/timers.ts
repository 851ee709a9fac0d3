/**
 * Timers that never keep a process alive by themselves, on Deno, Node and
 * Bun: a backend's housekeeping and polling must not hold an application
 * open after it closed its queues.
 *
 * @module
 */

/**
 * Lets the process exit while the timer is still set (Node and Bun timers
 * have `unref()`, Deno's are numbers for `Deno.unrefTimer`).
 *
 * @example
 * ```ts
 * import { unrefTimer } from "@jobline/jobline/backend";
 * const timer = setInterval(() => {}, 1_000);
 * unrefTimer(timer);
 * clearInterval(timer);
 * ```
 *
 * @param timer What `setTimeout` or `setInterval` returned.
 */
export function unrefTimer(timer: unknown): void {
  const t = timer as { unref?: () => void } | number;
  if (typeof t === "object" && t !== null && typeof t.unref === "function") {
    t.unref();
  } else if (typeof t === "number") {
    const deno =
      (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    deno?.unrefTimer?.(t);
  }
}
