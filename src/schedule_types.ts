/**
 * The types of schedules (SPEC §8): what `queue.schedule()` takes, what
 * `queue.schedules()` returns, and the interface {@linkcode Queue} extends
 * with them. Types only; no behaviour (that is src/schedule.ts).
 *
 * @module
 */

import type { JsonValue, Priority } from "./types.ts";
import type { RemoveOption } from "./control_types.ts";

/**
 * The enqueue options a schedule gives each job it makes (those that make
 * sense for a job enqueued on its own: no delay, runAt nor transaction).
 *
 * @example
 * ```ts
 * import type { ScheduleJobOptions } from "@jobline/jobline";
 * const o: ScheduleJobOptions = { priority: "high", timeout: 60_000, key: "nightly" };
 * ```
 */
export interface ScheduleJobOptions {
  /** 1..100 or "low" | "normal" | "high". */
  priority?: Priority;
  /** Seconds from creation after which each job is gone. */
  ttl?: number;
  /**
   * Idempotency key: while a job of this schedule with this key is still
   * pending or running, an occurrence makes no new job (no overlap).
   */
  key?: string;
  /** The caller's own JSON object, stored with each job. */
  metadata?: Record<string, JsonValue>;
  /** Claims each job may have. */
  maxAttempts?: number;
  /** The most ms one attempt may run. */
  timeout?: number;
  /** Retention of complete jobs. */
  removeOnComplete?: RemoveOption;
  /** Retention of failed and cancelled jobs. */
  removeOnFail?: RemoveOption;
}

/**
 * What {@linkcode QueueSchedules.schedule} takes: `cron` (5 fields, or 6
 * with seconds first) in `tz`, or `every` ms; and the job each occurrence
 * enqueues.
 *
 * @example
 * ```ts
 * import type { ScheduleSpec } from "@jobline/jobline";
 * const nightly: ScheduleSpec = {
 *   cron: "0 3 * * *", tz: "Europe/Paris",
 *   type: "report", data: { kind: "daily" }, options: { priority: "high" },
 * };
 * const ping: ScheduleSpec = { every: 30_000, type: "ping" };
 * ```
 */
export interface ScheduleSpec<D = unknown> {
  /** A cron expression: 5 fields, or 6 with seconds first. Not with `every`. */
  cron?: string;
  /** An IANA time zone for `cron` ("Europe/Paris").
   * @default {"UTC"} */
  tz?: string;
  /** Ms between occurrences (at least 1). Not with `cron`. */
  every?: number;
  /** The type of the jobs it enqueues. */
  type: string;
  /** Their data (a JSON value). @default {null} */
  data?: D;
  /** Their enqueue options. */
  options?: ScheduleJobOptions;
}

/**
 * A stored schedule, as {@linkcode QueueSchedules.schedules} lists it.
 *
 * @example
 * ```ts
 * import type { Schedule } from "@jobline/jobline";
 * const when = (s: Schedule): string => new Date(s.nextRunAt).toISOString();
 * ```
 */
export interface Schedule<D = unknown> {
  /** Its name, unique in the queue. */
  name: string;
  /** The cron expression, for a cron schedule. */
  cron?: string;
  /** The time zone of `cron`. */
  tz?: string;
  /** Ms between occurrences, for an `every` schedule. */
  every?: number;
  /** The type of the jobs it enqueues. */
  type: string;
  /** Their data. */
  data: D;
  /** Their enqueue options. */
  options: ScheduleJobOptions;
  /** Epoch ms of the next occurrence. */
  nextRunAt: number;
}

/**
 * The schedule calls of a queue.
 *
 * @example Every 30 s, and at 03:00 Paris time
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.schedule("ping", { every: 30_000, type: "ping" });
 * await queue.schedule("nightly", { cron: "0 3 * * *", tz: "Europe/Paris", type: "report" });
 * console.log((await queue.schedules()).map((s) => s.name)); // ["nightly", "ping"]
 * ```
 */
export interface QueueSchedules {
  /**
   * Creates or replaces the schedule `name`. Declaring a schedule again
   * exactly as it is stored changes nothing (it keeps its next occurrence),
   * so every process may declare its schedules as it starts; a changed one
   * starts afresh from now.
   *
   * @returns The schedule as stored, with its next occurrence.
   * @throws {ValidationError} for a bad name, cron expression, time zone,
   *   `every`, type, data or options.
   */
  schedule<D = unknown>(name: string, spec: ScheduleSpec<D>): Promise<
    Schedule<D>
  >;
  /** Deletes a schedule; true if it existed. No job of it is made after. */
  unschedule(name: string): Promise<boolean>;
  /** The queue's schedules, by name. */
  schedules(): Promise<Schedule[]>;
  /**
   * Enqueues one job for each schedule that is due (a schedule that missed
   * several occurrences makes one), exactly once however many processes
   * call it at once. Workers call it every poll interval; call it yourself
   * only where no worker runs.
   *
   * A schedule that fails does not stop the others. One whose job this
   * queue cannot make (its data over this queue's `maxPayloadBytes`, say)
   * stays due, as it is, for a process that can: it fails once, and is
   * then passed over by this queue until it changes (fired elsewhere, or
   * replaced). A fire the store refuses fails at every call.
   *
   * @param options.onError Called with each schedule's failure; the call
   *   then throws only when the due schedules cannot be read. Without it,
   *   the first failure is thrown once the other schedules have fired.
   * @returns How many jobs it enqueued.
   */
  runSchedules(
    options?: { onError?: (error: unknown) => void },
  ): Promise<number>;
}
