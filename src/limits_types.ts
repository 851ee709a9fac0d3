/**
 * The types of the queue's limits (SPEC §7.3, §7.4): concurrency and rate
 * for the whole queue, for each type, and for each group key, and the calls
 * that store and read them. Types only; src/limits.ts checks them.
 *
 * @module
 */

/**
 * At most `max` claims in any window of `per` ms.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@jobline/jobline";
 * const hundredPerSecond: RateLimit = { max: 100, per: 1_000 };
 * ```
 */
export interface RateLimit {
  /** Claims per window: an integer from 1 to 1,000,000. */
  max: number;
  /** The window, in ms: an integer from 1 to 31,536,000,000 (a year). */
  per: number;
}

/**
 * A concurrency and/or a rate limit.
 *
 * @example
 * ```ts
 * import type { LimitRule } from "@jobline/jobline";
 * const transcodes: LimitRule = { concurrency: 4 };
 * ```
 */
export interface LimitRule {
  /** At most this many jobs processing at once: an integer from 1 to 1,000,000. */
  concurrency?: number;
  /** At most `max` claims in any window of `per` ms. */
  rate?: RateLimit;
}

/**
 * What {@linkcode QueueLimits.setLimits} stores: limits for the whole queue,
 * for each named type, and for each group key (every group has the same
 * limits; jobs without a group have none of them).
 *
 * @example The three stories
 * ```ts
 * import type { Limits } from "@jobline/jobline";
 * const limits: Limits = {
 *   types: {
 *     transcode: { concurrency: 4 }, // at most 4 transcodes at once, cluster-wide
 *     email: { rate: { max: 100, per: 1_000 } }, // at most 100 emails a second
 *   },
 *   groups: { concurrency: 1 }, // one job at a time per customer
 * };
 * ```
 */
export interface Limits extends LimitRule {
  /** Limits of single types, by type. */
  types?: Record<string, LimitRule>;
  /** Limits of each group key. */
  groups?: LimitRule;
}

/**
 * The queue's limit calls.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.setLimits({ concurrency: 50, groups: { concurrency: 1 } });
 * console.log(await queue.getLimits()); // { concurrency: 50, groups: { concurrency: 1 } }
 * await queue.setLimits({}); // no limits
 * ```
 */
export interface QueueLimits {
  /**
   * Replaces the queue's stored limits (`{}` clears them). They bind every
   * worker of every process, checked inside each claim's atomic step.
   *
   * @throws {ValidationError} for a bad limit; nothing is stored then.
   */
  setLimits(limits: Limits): Promise<void>;
  /** What setLimits stored; `{}` when none. */
  getLimits(): Promise<Limits>;
}
