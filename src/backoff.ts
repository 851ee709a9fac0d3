/**
 * Retry delays: how long a failed job waits before its next attempt.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import type { JobError } from "./types.ts";

/**
 * How long to wait before retrying a failed job: exponential (the default),
 * fixed, or a function of the attempt that just failed.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * const queue = createQueue({ backoff: { type: "fixed", delay: 500 } });
 * await queue.close();
 * ```
 */
export type BackoffOptions =
  | {
    /** Doubling delays: base, 2 * base, 4 * base ..., at most `max`. */
    type: "exponential";
    /**
     * The first delay in ms.
     * @default {1000}
     */
    base?: number;
    /**
     * The largest delay in ms.
     * @default {300000}
     */
    max?: number;
    /**
     * Random spread, as a fraction of the delay (0 for none).
     * @default {0.1}
     */
    jitter?: number;
  }
  | {
    /** The same delay each time. */
    type: "fixed";
    /** The delay in ms. */
    delay: number;
    /**
     * Random spread, as a fraction of the delay.
     * @default {0}
     */
    jitter?: number;
  }
  | ((attempt: number, error: JobError) => number);

/** A resolved backoff: attempt (1-based) and error in, delay in ms out. */
export type BackoffFn = (attempt: number, error: JobError) => number;

function checkMs(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(
      `Cannot use backoff as '${name}' must be a finite number >= 0: current value is ${
        String(value)
      }`,
    );
  }
  return value;
}

function spread(delay: number, jitter: number): number {
  if (jitter <= 0) return delay;
  return Math.max(
    0,
    Math.round(delay * (1 - jitter + 2 * jitter * Math.random())),
  );
}

/**
 * Turns backoff options into a function, checking them.
 *
 * @example
 * ```ts
 * import { backoffFunction } from "./backoff.ts";
 * const delay = backoffFunction({ type: "exponential", base: 1000, jitter: 0 });
 * console.log(delay(1, { message: "x" }), delay(3, { message: "x" })); // 1000 4000
 * ```
 *
 * @param options The options; exponential from 1 s when omitted.
 * @returns A function from the failed attempt (1-based) to a delay in ms.
 */
export function backoffFunction(
  options: BackoffOptions = { type: "exponential" },
): BackoffFn {
  if (typeof options === "function") {
    return (attempt, error) => checkMs(options(attempt, error), "delay");
  }
  if (options.type === "fixed") {
    const delay = checkMs(options.delay, "delay");
    const jitter = checkMs(options.jitter ?? 0, "jitter");
    return () => spread(delay, jitter);
  }
  if (options.type === "exponential") {
    const base = checkMs(options.base ?? 1000, "base");
    const max = checkMs(options.max ?? 300_000, "max");
    const jitter = checkMs(options.jitter ?? 0.1, "jitter");
    return (attempt) =>
      spread(Math.min(max, base * 2 ** Math.max(0, attempt - 1)), jitter);
  }
  throw new ValidationError(
    `Cannot use backoff as 'type' must be "exponential" or "fixed": current value is ${
      String((options as { type: unknown }).type)
    }`,
  );
}
