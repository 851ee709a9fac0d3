/**
 * The records that cross the backend interface: a new job, a stored job, a
 * change of a job, the events a backend tells its listeners, and the
 * arguments and results of its transitions. Types only.
 *
 * @module
 */

import type { JobError, JobStatus, Lease } from "../types.ts";

/**
 * A new job as the queue layer hands it to {@linkcode Backend.enqueue}:
 * validated, with its id and defaults filled in.
 *
 * @example
 * ```ts
 * import type { NewJobRecord } from "@jobline/jobline";
 * const now = Date.now();
 * const job: NewJobRecord = {
 *   id: "01JBX0000000000000000000000", type: "resize", data: '{"url":"a.png"}',
 *   priority: 5, maxAttempts: 3, runAt: now, createdAt: now,
 *   ttl: null, expiresAt: null, key: null, metadata: "{}",
 *   keep: { complete: { age: 86_400_000, count: null }, failed: { age: null, count: null } },
 * };
 * ```
 */
export interface NewJobRecord {
  /** Unique id, sortable by creation time (made by the queue layer). */
  id: string;
  /** The job type (already validated). */
  type: string;
  /** The data as JSON text. */
  data: string;
  /** Integer 1..100. */
  priority: number;
  /** At least 1. */
  maxAttempts: number;
  /** Epoch ms from which it may be claimed. */
  runAt: number;
  /** Epoch ms of creation; also the first `updatedAt`. */
  createdAt: number;
  /** Seconds to live, or null. */
  ttl: number | null;
  /** createdAt + ttl * 1000, or null. */
  expiresAt: number | null;
  /** Idempotency key, or null. */
  key: string | null;
  /** The metadata object as JSON text. */
  metadata: string;
  /**
   * How long the job is kept once it finishes: `complete` when it completes,
   * `failed` when it fails for good or is cancelled.
   */
  keep: KeepRecord;
  /**
   * Its group (1 to 128 characters, like a type); absent for a job without
   * one. Groups take turns at claim, and group limits bind each key.
   */
  group?: string;
}

/**
 * A job's retention rules, one per way of finishing (see
 * {@linkcode KeepRule}).
 *
 * @example
 * ```ts
 * import type { KeepRecord } from "@jobline/jobline";
 * const defaults: KeepRecord = {
 *   complete: { age: 86_400_000, count: null }, // a day
 *   failed: { age: 604_800_000, count: null }, // a week
 * };
 * ```
 */
export interface KeepRecord {
  /** The rule once the job completes. */
  complete: KeepRule;
  /** The rule once the job fails for good or is cancelled. */
  failed: KeepRule;
}

/**
 * What becomes of a finished job. A backend applies the rule of the status
 * a job finishes with, in the transition that finishes it:
 *
 * - `age` 0: the job is deleted as it finishes, after its final update is
 *   published; `age` n: it may be deleted from `completedAt + n` on (its
 *   removal time, kept in an index by time); null: no age limit.
 * - `count` n: once the job has finished, only the newest n jobs of its
 *   status are kept (every job of that status counts, whatever its own
 *   rule); null: no count limit.
 *
 * Removal by age may be lazy, but happens at the latest in the next
 * transition that finishes a job of the queue (each such transition also
 * deletes a bounded batch of jobs whose removal time has passed). `{ age:
 * null, count: null }` keeps the job until it is removed, cleaned or expires.
 *
 * @example
 * ```ts
 * import type { KeepRule } from "@jobline/jobline";
 * const removeAtOnce: KeepRule = { age: 0, count: null };
 * const newestThousand: KeepRule = { age: null, count: 1_000 };
 * ```
 */
export interface KeepRule {
  /** Ms after finishing that the job may be deleted; null: no limit. */
  age: number | null;
  /** How many newest finished jobs of its status are kept; null: all. */
  count: number | null;
}

/**
 * A job as a backend stores and returns it. A new job starts with status
 * "pending", progress 0, message "", attempt 0, version 1 and
 * `updatedAt = createdAt`; every transition that changes the job adds one to
 * `version` and sets `updatedAt = now`.
 *
 * @example
 * ```ts
 * import type { JobRecord } from "@jobline/jobline";
 * const isHeld = (r: JobRecord): boolean => r.status === "processing" && r.lease !== null;
 * ```
 */
export interface JobRecord extends NewJobRecord {
  /** Current status. */
  status: JobStatus;
  /** 0..1. */
  progress: number;
  /** Handler's message, "" when none. */
  message: string;
  /** The result as JSON text, once complete; otherwise null. */
  result: string | null;
  /** The last failure (or the cancel reason), or null. */
  error: JobError | null;
  /** Claims so far. */
  attempt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** Epoch ms of the last claim, or null. */
  startedAt: number | null;
  /** Epoch ms of reaching a terminal status, or null. */
  completedAt: number | null;
  /** The current lease while processing, otherwise null. */
  lease: Lease | null;
  /** Change counter, starting at 1. */
  version: number;
  /** Its place in a flow (SPEC §12); absent for a job outside any flow. */
  flow?: FlowLink;
}

/**
 * A change of a job, as a backend publishes it. The queue layer turns it into
 * a {@linkcode JobUpdate}.
 *
 * @example
 * ```ts
 * import type { UpdateRecord } from "@jobline/jobline";
 * const done = (u: UpdateRecord): boolean => u.status === "complete";
 * ```
 */
export interface UpdateRecord {
  /** The job's id. */
  jobId: string;
  /** The job's type. */
  type: string;
  /** Status after the change. */
  status: JobStatus;
  /** Progress after the change. */
  progress: number;
  /** Message after the change. */
  message: string;
  /** Attempt after the change. */
  attempt: number;
  /** The result as JSON text on "complete", else null. */
  result: string | null;
  /** The error after the change, or null. */
  error: JobError | null;
  /** Epoch ms of the change. */
  at: number;
  /** The job's version after the change. */
  version: number;
}

/**
 * What a backend tells its listeners.
 *
 * - `update`: a job changed (topics "queue" and `{ job }`).
 * - `wake`: work may be claimable from `at` (epoch ms; now or earlier means
 *   now). Sent on the "worker" topic when jobs are enqueued, retried, or put
 *   back to pending after a failure, on resume, and when a reschedule makes
 *   a job due earlier.
 * - `cancel`: a processing job was cancelled or removed, so its handler
 *   should stop (topic "worker").
 * - `paused`: the queue (`type` null) or a type was paused, so workers give
 *   back the jobs of it they claimed and have not started (topic
 *   "worker"). A backend that does not send it only lets those jobs run.
 * - `resync`: events may have been missed (a reconnect); listeners re-read
 *   what they care about (every topic).
 *
 * @example
 * ```ts
 * import type { BackendEvent } from "@jobline/jobline";
 * const onEvent = (e: BackendEvent): void => {
 *   if (e.kind === "update") console.log(e.update.jobId, e.update.status);
 * };
 * ```
 */
export type BackendEvent =
  | { kind: "update"; update: UpdateRecord }
  | { kind: "wake"; at: number }
  | { kind: "cancel"; jobId: string }
  | { kind: "paused"; type: string | null }
  | { kind: "resync" };

/**
 * What a listener hears: every update of one job, every update of the queue,
 * or the signals a worker needs (wake, cancel).
 *
 * @example
 * ```ts
 * import type { Topic } from "@jobline/jobline";
 * const topics: Topic[] = [{ job: "01JBX..." }, "queue", "worker"];
 * ```
 */
export type Topic = { job: string } | "queue" | "worker";

/**
 * Identifies a lease on a job: what complete, fail, update and heartbeat
 * carry.
 *
 * @example
 * ```ts
 * import type { LeaseRef } from "@jobline/jobline";
 * const ref: LeaseRef = { id: "01JBX...", token: "t-1" };
 * ```
 */
export interface LeaseRef {
  /** The job's id. */
  id: string;
  /** The fencing token from the claim. */
  token: string;
}

/**
 * Options of {@linkcode Backend.claim}.
 *
 * @example
 * ```ts
 * import type { ClaimRequest } from "@jobline/jobline";
 * const req: ClaimRequest = { types: ["resize"], limit: 10, leaseMs: 30_000, now: Date.now() };
 * ```
 */
export interface ClaimRequest {
  /** Only these types, or every type when null. Never empty. */
  types: readonly string[] | null;
  /** At most this many jobs (at least 1). */
  limit: number;
  /** Lease length; each lease runs until `now + leaseMs`. */
  leaseMs: number;
  /** The current time. */
  now: number;
}

/**
 * Options of {@linkcode Backend.list}.
 *
 * @example
 * ```ts
 * import type { ListRequest } from "@jobline/jobline";
 * const req: ListRequest = { status: "failed", type: null, limit: 100, after: null, now: Date.now() };
 * ```
 */
export interface ListRequest {
  /** Only this status, or any when null. */
  status: JobStatus | null;
  /** Only this type, or any when null. */
  type: string | null;
  /** At most this many jobs. */
  limit: number;
  /** Only ids greater than this one (the cursor), or from the start. */
  after: string | null;
  /** The current time (expired jobs are left out). */
  now: number;
}

/**
 * Options of {@linkcode Backend.clean}.
 *
 * @example
 * ```ts
 * import type { CleanRequest } from "@jobline/jobline";
 * const now = Date.now();
 * const req: CleanRequest = { status: "failed", cutoff: now - 3_600_000, type: null, limit: 1000, now };
 * ```
 */
export interface CleanRequest {
  /** Only jobs of this status (never "processing"). */
  status: "pending" | "complete" | "failed" | "cancelled";
  /**
   * Only jobs that finished (`completedAt`) at or before this time, or for
   * "pending", that were created (`createdAt`) at or before it.
   */
  cutoff: number;
  /** Only this type, or any when null. */
  type: string | null;
  /** At most this many jobs (at least 1); the oldest first. */
  limit: number;
  /** The current time. */
  now: number;
}

/**
 * The result of enqueueing one job.
 *
 * @example
 * ```ts
 * import type { EnqueueOutcome } from "@jobline/jobline";
 * const o: EnqueueOutcome = { id: "01JBX...", created: false }; // key was held
 * ```
 */
export interface EnqueueOutcome {
  /** The new job's id, or the id of the job that holds the key. */
  id: string;
  /** False when an idempotency key was already held. */
  created: boolean;
}

/**
 * A stored schedule (SPEC §8). The backend keeps its definition as the
 * queue layer wrote it (JSON text it never reads), its next occurrence, and
 * a version that every change moves on: firing is a compare-and-set on it.
 *
 * @example
 * ```ts
 * import type { ScheduleRecord } from "@jobline/jobline";
 * const rec: ScheduleRecord = {
 *   name: "ping", definition: '{"every":30000,"type":"ping","data":null,"options":{}}',
 *   nextRunAt: Date.now() + 30_000, version: 1,
 * };
 * ```
 */
export interface ScheduleRecord {
  /** Its name, unique in the queue. */
  name: string;
  /** The definition, JSON text written by the queue layer. */
  definition: string;
  /** Epoch ms of the next occurrence. */
  nextRunAt: number;
  /**
   * A new schedule's is one more than the highest a removed schedule of
   * the queue had (1 when none was removed), so a (queue, name) never has
   * the same version twice; every put that changes it and every fire adds
   * 1.
   */
  version: number;
}

/**
 * What {@linkcode Backend.fireSchedule} is told: which version of a
 * schedule fires, its next occurrence, and the job it enqueues.
 *
 * @example
 * ```ts
 * import type { NewJobRecord, ScheduleFire } from "@jobline/jobline";
 * const fire = (job: NewJobRecord): ScheduleFire => ({
 *   name: "ping", version: 3, nextRunAt: job.runAt + 30_000, job,
 * });
 * ```
 */
export interface ScheduleFire {
  /** The schedule's name. */
  name: string;
  /** The version it must still have (else nothing happens). */
  version: number;
  /** Its next occurrence once fired. */
  nextRunAt: number;
  /** The job of this occurrence. */
  job: NewJobRecord;
}

/**
 * How a job belongs to a flow, as stored with it and returned on its
 * {@linkcode JobRecord} (`flow`; absent for a job outside any flow).
 *
 * @example
 * ```ts
 * import type { FlowLink } from "@jobline/jobline/backend";
 * const link: FlowLink = {
 *   id: "01JBXFLOW00000000000000000", ref: "notify",
 *   parents: { large: "01JBX0000000000000000000002", thumb: "01JBX0000000000000000000003" },
 *   onParentFailure: "continue",
 * };
 * ```
 */
export interface FlowLink {
  /** The flow's id. */
  id: string;
  /** The job's ref in its flow. */
  ref: string;
  /** Its parents, ref to job id; empty for a job without parents. */
  parents: Record<string, string>;
  /**
   * What it does when a parent fails for good or is cancelled: "cancel" it
   * (and its own dependents, in turn), or "continue" once every parent has
   * finished, complete or not.
   */
  onParentFailure: "cancel" | "continue";
}
