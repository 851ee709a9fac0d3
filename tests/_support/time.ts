/**
 * Waiting in tests and benches: real-time sleep and polling until a
 * condition holds. The one copy every test, fixture, bench and the
 * conformance suite use. Never for time that a test can move with the
 * queue's clock instead.
 *
 * @module
 */

/**
 * Resolves after `ms` of real time.
 *
 * @example
 * ```ts
 * import { sleep } from "./time.ts";
 * await sleep(1);
 * ```
 *
 * @param ms Milliseconds.
 * @returns A promise that resolves then.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns a value other than undefined or false , or throws after `timeout` ms with
 * `what` in the message.
 *
 * @example
 * ```ts
 * import { waitFor } from "./time.ts";
 * const start = Date.now();
 * await waitFor("5 ms to pass", () => Date.now() - start >= 5);
 * ```
 *
 * @param what What is awaited, for the timeout's message.
 * @param check The condition.
 * @param options `timeout` (default 5,000 ms) and poll `interval` (10 ms).
 * @returns The check's first truthy value.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeout = 5_000, interval = 10 }: { timeout?: number; interval?: number } =
    {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await sleep(interval);
  }
}
