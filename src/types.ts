/**
 * The job model: the shapes users see. Owns no behaviour; it must never import
 * a backend or anything runtime-specific.
 *
 * @module
 */

/**
 * Where a job is in its life. "waiting" is a job of a flow whose parents
 * have not all finished (SPEC §12); it becomes "pending" when they have.
 * "complete", "failed" and "cancelled" are
 * terminal: nothing changes them but {@linkcode Queue.retry} (failed,
 * cancelled) and {@linkcode Queue.remove}.
 *
 * @example Checking for a terminal status
 * ```ts
 * import type { JobStatus } from "@jobline/jobline";
 * const done = (s: JobStatus): boolean => s === "complete" || s === "failed" || s === "cancelled";
 * console.log(done("pending")); // false
 * ```
 */
export type JobStatus =
  | "waiting"
  | "pending"
  | "processing"
  | "complete"
  | "failed"
  | "cancelled";

/**
 * A JSON value: what job data, results and metadata may hold.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "@jobline/jobline";
 * const v: JsonValue = { url: "https://example.com/a.png", sizes: [64, 128] };
 * ```
 */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A priority: an integer 1..100 (higher is claimed first) or one of the
 * names "low" (1), "normal" (5) and "high" (10).
 *
 * @example
 * ```ts
 * import type { Priority } from "@jobline/jobline";
 * const p: Priority = "high"; // same as 10
 * ```
 */
export type Priority = number | "low" | "normal" | "high";

/**
 * How a failed handler is recorded on the job.
 *
 * @example
 * ```ts
 * import type { JobError } from "@jobline/jobline";
 * const e: JobError = { message: "bad image", name: "TypeError" };
 * ```
 */
export interface JobError {
  /** The error's message. */
  message: string;
  /** The error's name, such as "TypeError", when it had one. */
  name?: string;
  /** The stack trace, when there was one. */
  stack?: string;
}

/**
 * A job as stored: see the job table of the specification.
 *
 * @typeParam D The type of the job's data.
 *
 * @example Reading a job
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * const id = await queue.enqueue("resize", { url: "a.png" });
 * const job = await queue.get(id);
 * console.log(job?.status); // "pending"
 * ```
 */
export interface Job<D = unknown> {
  /** Unique id, sortable by creation time. */
  id: string;
  /** The job type: 1 to 128 characters of `[A-Za-z0-9_.:-]`. */
  type: string;
  /** The job's data, as enqueued (a JSON value). */
  data: D;
  /** Where the job is in its life. */
  status: JobStatus;
  /** Integer 1..100; higher is claimed first. */
  priority: number;
  /** 0..1, set by the handler. */
  progress: number;
  /** A message set by the handler, or "" when none was. */
  message: string;
  /** The handler's return value, once complete. */
  result?: unknown;
  /** The last failure, if any attempt failed. */
  error?: JobError;
  /** How many times the job has been claimed. */
  attempt: number;
  /** How many claims the job may have before it fails for good. */
  maxAttempts: number;
  /** Epoch ms from which a pending job may be claimed. */
  runAt: number;
  /** Epoch ms of creation. */
  createdAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** Epoch ms of the last claim, if it was ever claimed. */
  startedAt?: number;
  /** Epoch ms at which the job reached a terminal status. */
  completedAt?: number;
  /** Seconds from creation after which the job is gone, if set. */
  ttl?: number;
  /** Epoch ms after which the job is gone (createdAt + ttl * 1000), if set. */
  expiresAt?: number;
  /** The idempotency key, if one was given. */
  key?: string;
  /** The most ms one attempt may run, if the job was enqueued with a `timeout`. */
  timeout?: number;
  /** The caller's metadata (a JSON object). */
  metadata: Record<string, JsonValue>;
  /** Increases by one on every change; orders updates of the same job. */
  version: number;
  /** Its place in a flow, for a job enqueued by `enqueueFlow`. */
  flow?: JobFlow;
  /** Its group (SPEC §7.4), if it was enqueued with one. */
  group?: string;
}

/**
 * Where a job of a flow stands in it (SPEC §12).
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * const flow = await queue.enqueueFlow([
 *   { ref: "fetch", type: "fetch", data: null },
 *   { ref: "resize", type: "resize", data: null, dependsOn: ["fetch"] },
 * ]);
 * const job = await queue.get(flow.jobs.resize!);
 * console.log(job?.status, job?.flow?.dependsOn); // "waiting" ["fetch"]
 * ```
 */
export interface JobFlow {
  /** The flow's id. */
  id: string;
  /** The job's ref in the flow. */
  ref: string;
  /** The refs of its parents (empty for a job without parents). */
  dependsOn: string[];
  /** What it does when a parent fails for good or is cancelled. */
  onParentFailure: "cancel" | "continue";
}

/**
 * The lease a claim hands out: the fencing token and its deadline.
 *
 * @example
 * ```ts
 * import type { Lease } from "@jobline/jobline";
 * const lease: Lease = { token: "abc", until: Date.now() + 30_000 };
 * ```
 */
export interface Lease {
  /** The fencing token; complete, fail, update and heartbeat must carry it. */
  token: string;
  /** Epoch ms at which the lease runs out unless extended. */
  until: number;
}

/**
 * A job that a claim handed out, with its lease.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.enqueue("resize", { url: "a.png" });
 * const job = await queue.claim();
 * if (job) await queue.complete(job, { ok: true });
 * ```
 */
export interface ClaimedJob<D = unknown> extends Job<D> {
  /** The lease: status "processing" holds it until it runs out. */
  lease: Lease;
}

/**
 * One change of a job's status, progress or message, as
 * {@linkcode subscribe} yields it.
 *
 * @example
 * ```ts
 * import type { JobUpdate } from "@jobline/jobline";
 * const show = (u: JobUpdate): string => `${u.jobId} ${u.status} ${Math.round(u.progress * 100)}%`;
 * ```
 */
export interface JobUpdate {
  /** The job's id. */
  jobId: string;
  /** The job's type. */
  type: string;
  /** The status after the change. */
  status: JobStatus;
  /** The progress after the change. */
  progress: number;
  /** The message after the change. */
  message: string;
  /** The attempt after the change. */
  attempt: number;
  /** The result, on "complete". */
  result?: unknown;
  /** The error, on "failed" or on a retry after a failure. */
  error?: JobError;
  /** Epoch ms of the change. */
  at: number;
  /** The job's version after the change. */
  version: number;
}

/**
 * Counts of the live (unexpired) jobs of a queue, by status and by type.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.enqueue("resize", null);
 * const stats = await queue.stats();
 * console.log(stats.pending, stats.byType.resize?.pending); // 1 1
 * ```
 */
export interface QueueStats extends StatusCounts {
  /** The same counts for each job type that has jobs. */
  byType: Record<string, StatusCounts>;
}

/**
 * How many jobs have each status.
 *
 * @example
 * ```ts
 * import type { StatusCounts } from "@jobline/jobline";
 * const none: StatusCounts = {
 *   waiting: 0, pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0,
 * };
 * ```
 */
export interface StatusCounts {
  /** Jobs of flows waiting for their parents. */
  waiting: number;
  /** Jobs due or delayed. */
  pending: number;
  /** Jobs held by a lease. */
  processing: number;
  /** Jobs that finished. */
  complete: number;
  /** Jobs that failed for good. */
  failed: number;
  /** Jobs that were cancelled. */
  cancelled: number;
}

/**
 * What a backend can do, so that callers (and the conformance suite) know
 * what to expect of it.
 *
 * @example
 * ```ts
 * import { memoryBackend } from "@jobline/jobline";
 * console.log(memoryBackend().capabilities.persistence); // false
 * ```
 */
export interface BackendCapabilities {
  /** Jobs survive the process. */
  persistence: boolean;
  /** Several processes may share the queue. */
  multiProcess: boolean;
  /** Updates made in one process reach subscribers in another. */
  crossProcessEvents: boolean;
  /** Runs on a cluster of servers (Redis Cluster). */
  clustering: boolean;
  /** Idle workers are woken when work arrives, without polling. */
  wakeups: boolean;
  /** Enqueue can join the caller's database transaction. */
  transactionalEnqueue: boolean;
  /**
   * Claims honour priority (§4.1); false when claims ignore priority: FIFO
   * by due time (the Redis Streams backend). Absent means true.
   */
  priorities?: boolean;
  /**
   * The backend keeps a history of the jobs that became due, which can be
   * read back (the Redis Streams backend's `replay`). Absent means false.
   */
  replay?: boolean;
  /**
   * The backend stores flows of dependent jobs (SPEC §12: enqueueFlow,
   * getFlow, cancelFlow, `ctx.parents()`). Absent means true.
   */
  flows?: boolean;
  /**
   * The backend enforces limits and group turns at claim (SPEC §7.3, §7.4:
   * setLimits, getLimits, the `group` option). Absent means true.
   */
  limits?: boolean;
}
