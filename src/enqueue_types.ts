/**
 * The options of one enqueue, shared by enqueue, enqueueMany's items and
 * the jobs of a flow. Types only.
 *
 * @module
 */

import type { RemoveOption } from "./control_types.ts";
import type { JsonValue, Priority } from "./types.ts";

/**
 * Options of one enqueue.
 *
 * @example
 * ```ts
 * import type { EnqueueOptions } from "@jobline/jobline";
 * const o: EnqueueOptions = { priority: "high", delay: 5_000, key: "order-42", ttl: 3600, timeout: 60_000 };
 * ```
 */
export interface EnqueueOptions<Tx = never> {
  /**
   * 1..100 or "low" | "normal" | "high"; higher is claimed first.
   * @default {"normal"}
   */
  priority?: Priority;
  /** Ms to wait before the job may be claimed. Not with `runAt`. */
  delay?: number;
  /** When the job may be claimed (epoch ms or a Date). Not with `delay`. */
  runAt?: number | Date;
  /** Seconds from creation after which the job is gone. */
  ttl?: number;
  /** Idempotency key: while a job with this key is pending or processing, enqueue returns its id. */
  key?: string;
  /** The caller's own JSON object, stored with the job. */
  metadata?: Record<string, JsonValue>;
  /**
   * The job's group (1 to 128 characters of `[A-Za-z0-9_.:-]`, such as a
   * tenant): groups of equal priority take turns at claim, and the
   * `groups` limits bind each group key.
   */
  group?: string;
  /** Overrides the queue's `maxAttempts` for this job. */
  maxAttempts?: number;
  /**
   * The most ms one attempt may run: then its `ctx.signal` aborts with a
   * "TimeoutError" and the attempt fails (retried while attempts remain).
   * Overrides the worker's `timeout`.
   */
  timeout?: number;
  /** Overrides the queue's `removeOnComplete` for this job. */
  removeOnComplete?: RemoveOption;
  /** Overrides the queue's `removeOnFail` for this job. */
  removeOnFail?: RemoveOption;
  /**
   * A transaction of the backend's driver to enqueue inside (PostgreSQL:
   * the argument of `sql.begin`'s callback). Typed by the queue's `Tx`.
   */
  tx?: Tx;
}
