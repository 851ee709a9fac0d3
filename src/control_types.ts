/**
 * The types of the queue's flow-control calls (pause, resume, isPaused,
 * reschedule): the interface that {@linkcode Queue} extends with them, and
 * their options. Types only; no behaviour (that is src/queue_control.ts).
 *
 * @module
 */

import type { Priority } from "./types.ts";

/**
 * What {@linkcode QueueControl.reschedule} changes: `runAt` or `delay` (not
 * both), and/or `priority`.
 *
 * @example
 * ```ts
 * import type { RescheduleOptions } from "@jobline/jobline";
 * const sooner: RescheduleOptions = { delay: 0, priority: "high" };
 * ```
 */
export interface RescheduleOptions {
  /** When the job may run: epoch ms or a Date (a past time means now). */
  runAt?: number | Date;
  /** Milliseconds from now until the job may run. */
  delay?: number;
  /** Integer 1..100, or "low" (1), "normal" (5), "high" (10). */
  priority?: Priority;
}

/**
 * The flow-control calls of a queue.
 *
 * @example Pause one type while its downstream API is down
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.pause("email");
 * console.log(await queue.isPaused("email")); // true
 * await queue.resume("email");
 * ```
 */
export interface QueueControl {
  /**
   * Pauses the whole queue, or one type: no worker of any process claims
   * its jobs until resumed. Enqueue still works and running jobs finish.
   * The state lives in the backend.
   *
   * @returns True if the pause state changed.
   */
  pause(type?: string): Promise<boolean>;
  /**
   * Resumes the whole queue, or one type (a type paused on its own stays
   * paused when the queue resumes). Idle workers wake at once.
   *
   * @returns True if the pause state changed.
   */
  resume(type?: string): Promise<boolean>;
  /** True if the queue is paused, or (given a type) that type is. */
  isPaused(type?: string): Promise<boolean>;
  /**
   * The types paused on their own (by `pause(type)`), sorted, whether or
   * not they have jobs; a pause of the whole queue adds none (see
   * `isPaused()`).
   *
   * @example
   * ```ts
   * import { createQueue } from "@jobline/jobline";
   * await using queue = createQueue();
   * await queue.pause("email");
   * await queue.pause();
   * console.log(await queue.pausedTypes()); // ["email"]
   * ```
   */
  pausedTypes(): Promise<string[]>;
  /**
   * Changes when a pending job may run and/or its priority; among jobs of
   * equal priority it keeps its enqueue order.
   *
   * @returns True if the job changed: false for a job that is not pending
   *   (processing, finished, unknown) or already has these values.
   * @throws {ValidationError} for bad options.
   */
  reschedule(id: string, options: RescheduleOptions): Promise<boolean>;
  /**
   * Removes jobs of one status (not "processing") that finished more than
   * `olderThan` ms ago (for "pending": were created that long ago), of one
   * type if given, at most `limit` of them, oldest first. Large cleans go in
   * batches of a thousand, each atomic. Removed jobs publish no update.
   *
   * @returns How many jobs were removed.
   * @throws {ValidationError} for bad options.
   */
  clean(options: CleanOptions): Promise<number>;
}

/**
 * Options of {@linkcode QueueControl.clean}.
 *
 * @example Remove failed jobs older than a day
 * ```ts
 * import { createQueue, type CleanOptions } from "@jobline/jobline";
 * await using queue = createQueue();
 * const options: CleanOptions = { status: "failed", olderThan: 86_400_000 };
 * console.log(await queue.clean(options)); // 0
 * ```
 */
export interface CleanOptions {
  /** The status of the jobs to remove. */
  status: "pending" | "complete" | "failed" | "cancelled";
  /**
   * Only jobs that finished (pending: were created) at least this many ms
   * ago.
   * @default {0}
   */
  olderThan?: number;
  /** Only jobs of this type. */
  type?: string;
  /** At most this many jobs. All when omitted. */
  limit?: number;
}

/**
 * Options of {@linkcode Queue.waitFor}.
 *
 * @example Wait at most 30 s, or until the client goes away
 * ```ts
 * import type { WaitForOptions } from "@jobline/jobline";
 * const request = new Request("http://localhost/");
 * const o: WaitForOptions = { timeout: 30_000, signal: request.signal };
 * ```
 */
export interface WaitForOptions {
  /**
   * Ms to wait at most; then it rejects with a DOMException named
   * "TimeoutError". No limit when omitted.
   */
  timeout?: number;
  /** Rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

/**
 * What becomes of a finished job (`removeOnComplete`, `removeOnFail`):
 * `true` removes it as it finishes, `false` keeps it, `{ age, count }` keeps
 * it at most `age` ms after it finished and only the newest `count` finished
 * jobs of its status (either may be left out). Removal by age and count may
 * happen lazily, at the latest when the next job of the queue finishes.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue({
 *   removeOnComplete: { age: 3_600_000, count: 1_000 }, // an hour, 1,000 at most
 *   removeOnFail: false, // keep failures until cleaned
 * });
 * ```
 */
export type RemoveOption = boolean | { age?: number; count?: number };
