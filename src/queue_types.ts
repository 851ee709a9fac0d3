/**
 * The types of the queue API: options, the Queue interface and its typed
 * payloads. Types only; no behaviour.
 *
 * @module
 */

import type { Backend, Topic } from "./backend/interface.ts";
import type { BackoffOptions } from "./backoff.ts";
import type { ClaimedJob, Job, JobUpdate, Lease, QueueStats } from "./types.ts";
import type {
  QueueControl,
  RemoveOption,
  WaitForOptions,
} from "./control_types.ts";
import type { QueueFlows } from "./flow_types.ts";
import type { QueueLimits } from "./limits_types.ts";
import type { EnqueueOptions } from "./enqueue_types.ts";

export type { EnqueueOptions };
import type { QueueSchedules } from "./schedule_types.ts";

/**
 * A map from job type to the type of its data, for typed queues:
 * `createQueue<{ resize: { url: string } }>()`.
 *
 * @example
 * ```ts
 * import type { JobTypes } from "@jobline/jobline";
 * type Jobs = { resize: { url: string }; email: { to: string } };
 * const ok: JobTypes = {} as Jobs;
 * ```
 */
// deno-lint-ignore no-explicit-any
export type JobTypes = Record<string, any>;

/**
 * A job of a typed queue: its `type` narrows its `data`.
 *
 * @example
 * ```ts
 * import type { JobOf } from "@jobline/jobline";
 * type Jobs = { resize: { url: string }; email: { to: string } };
 * const show = (job: JobOf<Jobs>): string => job.type === "resize" ? job.data.url : job.data.to;
 * ```
 */
export type JobOf<J extends JobTypes> = string extends keyof J ? Job<J[string]>
  : { [T in keyof J & string]: Job<J[T]> & { type: T } }[keyof J & string];

/**
 * Options of createQueue.
 *
 * @example
 * ```ts
 * import { createQueue, memoryBackend } from "@jobline/jobline";
 * const queue = createQueue({ backend: memoryBackend(), name: "emails", maxAttempts: 5, leaseMs: 60_000 });
 * await queue.close();
 * ```
 */
export interface QueueOptions<Tx = never> {
  /**
   * The queue's name: 1 to 128 characters of `[A-Za-z0-9_.:-]`. Queues of
   * different names on one backend never see each other's jobs.
   * @default {"default"}
   */
  name?: string;
  /** A backend object (stays yours to close). Not with a URL. */
  backend?: Backend<Tx>;
  /**
   * Claims a job may have before it fails for good.
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * Delay before a retry.
   * @default {{ type: "exponential", base: 1000, max: 300000, jitter: 0.1 }}
   */
  backoff?: BackoffOptions;
  /**
   * Lease length in ms: a claimed job not heartbeated for this long goes back
   * to pending.
   * @default {30000}
   */
  leaseMs?: number;
  /**
   * The largest data, result or metadata, in bytes of UTF-8 JSON.
   * @default {1048576}
   */
  maxPayloadBytes?: number;
  /**
   * Seconds to live for jobs enqueued without a `ttl`; none by default. A
   * ttl removes a job whatever its status, counted from its creation (a
   * backlog too): to keep finished jobs for a while, use `removeOnComplete`
   * and `removeOnFail` instead.
   */
  defaultTtl?: number;
  /**
   * What becomes of jobs that complete (for jobs enqueued without their
   * own): `true` removes each as it completes (its subscribers still get the
   * final update), `false` keeps them, `{ age, count }` keeps each at most
   * `age` ms after it completed and only the newest `count` complete jobs.
   * @default {{ age: 86400000 }}
   */
  removeOnComplete?: RemoveOption;
  /**
   * Like `removeOnComplete`, for jobs that fail for good or are cancelled.
   * @default {{ age: 604800000 }}
   */
  removeOnFail?: RemoveOption;
  /**
   * Whether `enqueue` and `enqueueMany` hand their jobs to an idle worker
   * made on this queue object: on memory, SQLite and PostgreSQL the backend
   * stores the jobs and claims for that worker in one atomic step, so the
   * job starts with the enqueue's reply. That reply then waits for the claim
   * too (on PostgreSQL about a millisecond more); `false` keeps it a plain
   * insert, and the worker wakes and claims as its own workers elsewhere do.
   * @default {true}
   */
  handOff?: boolean;
  /**
   * The clock, in epoch ms: for tests that move time.
   * @default {Date.now}
   */
  clock?: () => number;
}

/**
 * One job of an enqueueMany batch.
 *
 * @example
 * ```ts
 * import type { EnqueueItem } from "@jobline/jobline";
 * const item: EnqueueItem = { type: "resize", data: { url: "a.png" }, options: { priority: 10 } };
 * ```
 */
export type EnqueueItem<J extends JobTypes = JobTypes> = {
  [T in keyof J & string]: {
    type: T;
    data: J[T];
    options?: Omit<EnqueueOptions, "tx">;
  };
}[keyof J & string];

/**
 * Options of claim and claimMany.
 *
 * @example
 * ```ts
 * import type { ClaimOptions } from "@jobline/jobline";
 * const o: ClaimOptions = { types: ["resize"], leaseMs: 10_000 };
 * ```
 */
export interface ClaimOptions {
  /** Only these job types; every type when omitted. */
  types?: readonly string[];
  /** Lease length in ms; the queue's `leaseMs` when omitted. */
  leaseMs?: number;
}

/**
 * Options of list.
 *
 * @example
 * ```ts
 * import type { ListOptions } from "@jobline/jobline";
 * const o: ListOptions = { status: "failed", limit: 100 };
 * ```
 */
export interface ListOptions {
  /** Only jobs with this status. */
  status?: Job["status"];
  /** Only jobs of this type. */
  type?: string;
  /**
   * At most this many jobs (1..10000).
   * @default {100}
   */
  limit?: number;
  /** The `cursor` of the previous page, to read on. */
  cursor?: string | null;
}

/**
 * A page of list results, oldest first.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * let cursor: string | null = null;
 * do {
 *   const page = await queue.list({ limit: 50, cursor });
 *   for (const job of page.jobs) console.log(job.id);
 *   cursor = page.cursor;
 * } while (cursor !== null);
 * ```
 */
export interface ListPage<J extends JobTypes = JobTypes> {
  /** The jobs, by ascending id. */
  jobs: JobOf<J>[];
  /** Pass as `cursor` to read the next page; null when this page was the last. */
  cursor: string | null;
}

/**
 * What {@linkcode Queue.listen} delivers: decoded updates, the worker signals
 * of the backend, and "closed" when the queue closes.
 *
 * @example
 * ```ts
 * import type { QueueEvent } from "@jobline/jobline";
 * const onEvent = (e: QueueEvent): void => {
 *   if (e.kind === "update") console.log(e.update.status);
 * };
 * ```
 */
export type QueueEvent =
  | { kind: "update"; update: JobUpdate }
  | { kind: "wake"; at: number }
  | { kind: "cancel"; jobId: string }
  | { kind: "paused"; type: string | null }
  | { kind: "resync" }
  | { kind: "closed" };

/**
 * A queue: enqueue, inspect and manage jobs, and the claim/complete calls
 * that workers use.
 *
 * @typeParam J The job types map.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.enqueueMany([
 *   { type: "resize", data: { url: "a.png" } },
 *   { type: "resize", data: { url: "b.png" }, options: { priority: "high" } },
 * ]);
 * const batch = await queue.claimMany(10);
 * console.log(batch.map((j) => j.data)); // [{ url: "b.png" }, { url: "a.png" }]
 * ```
 */
export interface Queue<J extends JobTypes = JobTypes, Tx = never>
  extends
    AsyncDisposable,
    QueueControl,
    QueueSchedules,
    QueueFlows,
    QueueLimits {
  /** The queue's name. */
  readonly name: string;
  /** The default lease length in ms. */
  readonly leaseMs: number;
  /** True once close() was called. */
  readonly closed: boolean;
  /** The queue's clock (epoch ms). */
  now(): number;

  /** Stores a job; returns its id (or, with a held `key`, the holder's id). */
  enqueue<T extends keyof J & string>(
    type: T,
    data: J[T],
    options?: EnqueueOptions<Tx>,
  ): Promise<string>;
  /** Stores a batch, all or none; returns the ids in order. */
  enqueueMany(
    items: readonly EnqueueItem<J>[],
    options?: { tx?: Tx },
  ): Promise<string[]>;
  /** Reads a job; null when unknown, removed or expired. */
  get(id: string): Promise<JobOf<J> | null>;
  /** Cancels a pending or processing job; true if it changed. */
  cancel(id: string, reason?: string): Promise<boolean>;

  /** Claims the best due job, or null when none is. */
  claim(options?: ClaimOptions): Promise<(JobOf<J> & ClaimedJob) | null>;
  /** Claims up to `limit` due jobs in one call, best first. */
  claimMany(
    limit: number,
    options?: ClaimOptions,
  ): Promise<(JobOf<J> & ClaimedJob)[]>;
  /** Sets progress (0..1) and/or message of a claimed job. */
  update(
    job: ClaimedJob,
    change: { progress?: number; message?: string },
  ): Promise<void>;
  /** Completes a claimed job with its result. */
  complete(job: ClaimedJob, result?: unknown): Promise<void>;
  /**
   * Fails an attempt: retried after backoff while attempts remain (unless
   * `retry: false`). Returns the job's new status.
   */
  fail(
    job: ClaimedJob,
    error: unknown,
    options?: { retry?: boolean },
  ): Promise<"pending" | "failed">;
  /**
   * Gives claimed jobs back unstarted: each returns to pending as it was
   * before its claim (the attempt is not counted), in its old place in line.
   * For a claimer that took more than it will run, such as a worker that
   * stops with jobs claimed ahead. Jobs whose lease no longer holds are
   * skipped. With `delay`, they are due that many ms from now instead (a
   * snooze: what `ctx.snooze()` does in a worker).
   *
   * @returns How many jobs went back.
   */
  release(
    jobs: ClaimedJob | readonly ClaimedJob[],
    options?: { delay?: number },
  ): Promise<number>;
  /** Extends a claimed job's lease (and updates `job.lease.until`). */
  heartbeat(job: ClaimedJob, options?: { leaseMs?: number }): Promise<Lease>;

  /** Puts a failed or cancelled job back to pending with fresh attempts. */
  retry(id: string): Promise<boolean>;
  /** Deletes a job; true if there was one. */
  remove(id: string): Promise<boolean>;
  /** Counts live jobs by status and type. */
  stats(): Promise<QueueStats>;
  /** Lists jobs, oldest first, a page at a time. */
  list(options?: ListOptions): Promise<ListPage<J>>;
  /**
   * Waits until a job is complete, failed or cancelled and resolves with
   * it; with null when it does not exist, or vanishes (removed, expired)
   * before it finishes. Rejects with the signal's reason when it aborts,
   * and with a "TimeoutError" DOMException after `timeout` ms.
   */
  waitFor(id: string, options?: WaitForOptions): Promise<JobOf<J> | null>;

  /**
   * Low level: delivers the events of a topic ("queue", `{ job: id }` or
   * "worker") until the returned function is called or the queue closes.
   * Most code wants {@linkcode subscribe} or a worker instead.
   */
  listen(
    topic: Topic,
    listener: (event: QueueEvent) => void,
  ): Promise<() => Promise<void>>;

  /** Closes the queue (and the backend it made from a URL). */
  close(): Promise<void>;
}
