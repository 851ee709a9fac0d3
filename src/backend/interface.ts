/**
 * The backend interface: the one contract every store (memory, SQLite, Redis,
 * PostgreSQL, or your own) implements.
 *
 * Each method is one atomic state transition. A backend holds storage and
 * atomicity; the queue layer holds the rules (validation, defaults, ids,
 * backoff, JSON encoding). Times are passed in as `now` (epoch ms) so that one
 * clock rules every transition. No Redis or SQL detail belongs here.
 *
 * JSON fields (`data`, `result`, `metadata`) cross this interface as JSON
 * text: the queue layer has already checked and encoded them, so a backend
 * stores and returns the text as it is.
 *
 * @module
 */

import type { BackendCapabilities, JobError, QueueStats } from "../types.ts";
import type {
  BackendEvent,
  ClaimRequest,
  CleanRequest,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  ScheduleFire,
  ScheduleRecord,
  Topic,
} from "./records.ts";
import type { BackendFlows } from "./interface_flows.ts";
import type { BackendHandOff } from "./interface_handoff.ts";
import type { BackendLimits } from "./interface_limits.ts";

export type {
  BackendEvent,
  ClaimRequest,
  CleanRequest,
  EnqueueOutcome,
  JobRecord,
  KeepRecord,
  KeepRule,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  ScheduleFire,
  ScheduleRecord,
  Topic,
  UpdateRecord,
} from "./records.ts";

/**
 * The storage contract, with `Tx` the type of a driver transaction that
 * enqueue may join (`never` where the backend has none). Every method is one atomic transition; all of them
 * reject with {@linkcode BackendError} when the store fails and with
 * {@linkcode LeaseLostError} where a lease no longer holds.
 *
 * Rules every backend keeps (the conformance suite in "./testing" checks
 * them):
 *
 * - Expired jobs (`expiresAt <= now`) are invisible: get returns null, claim,
 *   list and stats skip them, and their keys are free.
 * - An idempotency key is held while its job is pending or processing.
 * - Claim order: highest priority, then enqueue order.
 * - Every change of status, progress or message publishes an `update` to the
 *   "queue" and `{ job }` topics, in order per job.
 * - Retention: every transition that finishes a job (complete, a fail for
 *   good, cancel, a lease that runs out on the last attempt) applies the
 *   job's {@linkcode KeepRule} for that status, and deletes a bounded batch
 *   of jobs whose removal time has passed; none scans every job.
 *
 * @example A backend that wraps another and counts claims
 * ```ts
 * import { type Backend, memoryBackend } from "@jobline/jobline";
 * function counting(inner: Backend): Backend & { claims: number } {
 *   const self = { ...inner, claims: 0 };
 *   self.claim = (queue, req) => {
 *     self.claims++;
 *     return inner.claim(queue, req);
 *   };
 *   return self;
 * }
 * const backend = counting(memoryBackend());
 * ```
 */
export interface Backend<Tx = never>
  extends
    BackendSchedules,
    BackendImport,
    BackendFlows,
    BackendLimits,
    BackendHandOff {
  /** A short name: "memory", "sqlite", "redis", "postgres". */
  readonly name: string;
  /** What this backend can do. */
  readonly capabilities: BackendCapabilities;

  /**
   * Stores jobs, all or none. A job whose key is held by a live pending or
   * processing job is not stored; its outcome names the holder. A key that
   * appears twice in one batch is held by the first. Publishes a "pending"
   * update per created job and one `wake` for the batch (the Redis backends
   * also wake their own workers as they send the batch, so these hear two;
   * see also `enqueueClaim`, which the queue uses instead when a worker
   * made on the same queue object has room).
   *
   * @param queue The queue's name.
   * @param jobs The jobs, in enqueue order.
   * @param options `now`, and `tx`: a transaction of the backend's driver to
   *   enqueue inside (backends with `transactionalEnqueue`, whose `Tx` type
   *   parameter names the transaction type; `never` for the others).
   * @returns One outcome per job, in order.
   */
  enqueue(
    queue: string,
    jobs: readonly NewJobRecord[],
    options: { now: number; tx?: Tx },
  ): Promise<EnqueueOutcome[]>;

  /**
   * First returns processing jobs whose lease ran out (`lease.until <= now`)
   * to pending (`runAt = now`, error "lease expired") or, with no attempts
   * left, to failed; then moves up to `limit` due, unexpired pending jobs to
   * processing with a fresh lease, `attempt + 1` and `startedAt = now`.
   *
   * @returns The claimed jobs, best first.
   */
  claim(queue: string, request: ClaimRequest): Promise<JobRecord[]>;

  /**
   * Extends a lease to `now + leaseMs`.
   *
   * @returns The new `until`.
   * @throws {LeaseLostError} when the job is not processing under this token.
   */
  heartbeat(
    queue: string,
    lease: LeaseRef,
    options: { leaseMs: number; now: number },
  ): Promise<number>;

  /**
   * Sets progress and/or message of a processing job.
   *
   * @throws {LeaseLostError} when the job is not processing under this token.
   */
  update(
    queue: string,
    lease: LeaseRef,
    change: { progress?: number; message?: string; now: number },
  ): Promise<void>;

  /**
   * Marks a processing job complete with its result (JSON text), releases
   * its key and lease, sets `completedAt`, and applies its `keep.complete`
   * rule (after publishing the update).
   *
   * @throws {LeaseLostError} when the job is not processing under this token.
   */
  complete(
    queue: string,
    lease: LeaseRef,
    result: string,
    options: { now: number },
  ): Promise<void>;

  /**
   * Records a failed attempt. With `retryAt` a number the job goes back to
   * pending with `runAt = retryAt` (and a `wake` for that time); with null it
   * fails for good (key released, `completedAt` set, `keep.failed` applied).
   *
   * @returns The job's new status.
   * @throws {LeaseLostError} when the job is not processing under this token.
   */
  fail(
    queue: string,
    lease: LeaseRef,
    failure: { error: JobError; retryAt: number | null; now: number },
  ): Promise<"pending" | "failed">;

  /**
   * Gives claimed jobs back unstarted, as a worker does on stop with the jobs
   * it claimed ahead of its free slots. Each job still processing under its
   * token returns to pending as it was before the claim: `attempt - 1`,
   * lease cleared, `runAt`, priority and place in line unchanged, key still
   * held. Publishes an update per job and one `wake` for the batch. Jobs
   * whose lease no longer holds (or that expired) are skipped.
   *
   * With `runAt` (a snooze: a handler puts its job back for later without
   * counting the attempt), each job's `runAt` becomes that time and the
   * `wake` is for it; its place among equals stays its enqueue order.
   *
   * @returns The ids given back, in the order of `leases`.
   */
  release(
    queue: string,
    leases: readonly LeaseRef[],
    options: { now: number; runAt?: number },
  ): Promise<string[]>;

  /**
   * Cancels a pending or processing job: status "cancelled", `error` set to
   * `{ name: "CancelledError", message: reason }`, key and lease released,
   * and a `cancel` event on the worker topic when it was processing;
   * applies its `keep.failed` rule.
   *
   * @returns True if the job changed.
   */
  cancel(
    queue: string,
    id: string,
    options: { reason: string; now: number },
  ): Promise<boolean>;

  /**
   * Puts a failed or cancelled job back to pending: attempt 0, `runAt = now`,
   * error, result, progress, message and completedAt cleared; it takes its
   * key again if the key is free; it has no removal time any more.
   * Publishes the update and a `wake`.
   *
   * @returns True if the job changed.
   */
  retry(queue: string, id: string, options: { now: number }): Promise<boolean>;

  /**
   * Deletes a job whatever its status (a processing job's lease is lost: a
   * `cancel` event goes to the worker topic).
   *
   * @returns True if a job was deleted.
   */
  remove(queue: string, id: string, options: { now: number }): Promise<boolean>;

  /**
   * Pauses or resumes the whole queue (`type` null) or one type. While the
   * queue or a job's type is paused, claim returns none of its jobs (checked
   * inside the claim's atomic step); enqueue and the calls on held leases go
   * on. Pause state is stored by the backend (a persistent one keeps it
   * across restarts). A resume that changed something publishes a `wake`
   * (at `now`), so idle workers of every process start at once.
   *
   * @returns True if the pause state changed.
   */
  setPaused(
    queue: string,
    change: { type: string | null; paused: boolean; now: number },
  ): Promise<boolean>;

  /**
   * Reads the pause state: whether the whole queue is paused, and the paused
   * types (in any order).
   */
  pausedState(
    queue: string,
    options: { now: number },
  ): Promise<{ queue: boolean; types: string[] }>;

  /**
   * Changes `runAt` and/or `priority` of a live pending job. Its place among
   * jobs of equal priority stays its enqueue order (its sequence is kept).
   * A change publishes an update (same status) and, when the job became due
   * earlier, a `wake` for its new `runAt`.
   *
   * @returns True if the job changed (false for a job that is not pending,
   *   unknown or expired, or already has these values).
   */
  reschedule(
    queue: string,
    id: string,
    change: { runAt?: number; priority?: number; now: number },
  ): Promise<boolean>;

  /**
   * Deletes up to `limit` live jobs of one status (never "processing"),
   * oldest first: finished at or before `cutoff`, or for "pending", created
   * at or before it; of one type if given. Like remove, it publishes no
   * update; keys of pending jobs are freed. Finished jobs are found through an
   * index by status and finish time, not by scanning every job.
   *
   * @returns How many jobs were deleted (fewer than `limit`: no more left).
   */
  clean(queue: string, request: CleanRequest): Promise<number>;

  /** Reads a job; null when unknown or expired. */
  get(
    queue: string,
    id: string,
    options: { now: number },
  ): Promise<JobRecord | null>;

  /** Lists live jobs by ascending id. */
  list(queue: string, request: ListRequest): Promise<JobRecord[]>;

  /** Counts live jobs by status and type. */
  stats(queue: string, options: { now: number }): Promise<QueueStats>;

  /**
   * Starts delivering events of a topic to a listener. Resolves once
   * listening is in place, so no event published after that is missed
   * (barring a reconnect, which is signalled by `resync`). A listener that
   * throws is not allowed to break delivery.
   *
   * @returns A function that stops delivery.
   */
  listen(
    queue: string,
    topic: Topic,
    listener: (event: BackendEvent) => void,
  ): Promise<() => Promise<void>>;

  /** Releases connections, timers and files this backend opened. */
  close(): Promise<void>;
}

/**
 * The schedule transitions (SPEC §8) a backend implements.
 *
 * @example
 * ```ts
 * import type { BackendSchedules } from "@jobline/jobline";
 * const names = async (b: BackendSchedules): Promise<string[]> =>
 *   (await b.listSchedules("default", { dueBy: null, now: Date.now() })).map((s) => s.name);
 * ```
 */
export interface BackendSchedules {
  /**
   * Creates or replaces a schedule (SPEC §8). A replaced schedule gets the
   * old version + 1; a new one gets one more than a per-queue counter that
   * only grows, kept at the highest version a removed schedule of the queue
   * had (1 while none was removed). So a (queue, name) never has the same
   * version twice, even across remove and re-create, and a fire that read
   * a removed schedule finds another version on its successor. A schedule
   * stored with the same definition is left as it is (its next occurrence
   * too).
   *
   * @returns The schedule as stored.
   */
  putSchedule(
    queue: string,
    schedule: { name: string; definition: string; nextRunAt: number },
    options: { now: number },
  ): Promise<ScheduleRecord>;

  /**
   * Deletes a schedule, raising the queue's counter of removed versions to
   * its version in the same atomic step; true if it existed.
   */
  removeSchedule(
    queue: string,
    name: string,
    options: { now: number },
  ): Promise<boolean>;

  /**
   * Reads schedules: with `dueBy` null every one, by name; otherwise those
   * whose next occurrence is at or before `dueBy`, soonest first (through
   * an index by next occurrence, not a scan).
   */
  listSchedules(
    queue: string,
    options: { dueBy: number | null; now: number },
  ): Promise<ScheduleRecord[]>;

  /**
   * Fires a schedule, if it still has `fire.version`: in one atomic step,
   * sets its next occurrence and version + 1, and enqueues `fire.job` as
   * enqueue would (a held key makes no job; the update and `wake` are
   * published). Two callers that read the same version fire it once.
   *
   * @returns The job's outcome, or null when the schedule is gone or has
   *   another version.
   */
  fireSchedule(
    queue: string,
    fire: ScheduleFire,
    options: { now: number },
  ): Promise<EnqueueOutcome | null>;
}

/**
 * What {@linkcode BackendImport.importJobs} did with one job: stored it,
 * found a job of that id already there (nothing changed), or found its key
 * held by another live job (a pending job is not stored then).
 *
 * @example
 * ```ts
 * import type { ImportOutcome } from "@jobline/jobline";
 * const stored = (o: ImportOutcome): boolean => o === "created";
 * ```
 */
export type ImportOutcome = "created" | "exists" | "key-held";

/**
 * The transition that moving a queue between backends needs (SPEC §10).
 *
 * @example
 * ```ts
 * import type { BackendImport, JobRecord } from "@jobline/jobline";
 * const copy = (b: BackendImport, jobs: JobRecord[]) =>
 *   b.importJobs("default", jobs, { now: Date.now() });
 * ```
 */
export interface BackendImport {
  /**
   * Writes jobs as they are, all in one atomic step: id, type, data,
   * priority, attempts, runAt, createdAt, ttl, expiresAt, key, metadata,
   * keep rules, status, progress, message, result, error, timestamps and
   * version (never a lease: jobs that are processing are not imported).
   * Each gets the next enqueue sequence, so jobs imported in enqueue order
   * keep their claim order. A pending job holds its key (when another live
   * job holds it, that job is not stored: "key-held"); a finished job gets
   * its removal time from its keep rule and `completedAt`. A job whose id
   * is already stored is left alone ("exists"), so importing twice stores
   * nothing twice. Publishes one `wake` for the pending jobs stored.
   *
   * @returns One outcome per job, in order.
   */
  importJobs(
    queue: string,
    jobs: readonly JobRecord[],
    options: { now: number },
  ): Promise<ImportOutcome[]>;
}
