/**
 * Records of the memory backend: the stored job (a JobRecord with its
 * enqueue sequence and its places in the heaps), made from a new job, and
 * the copy of it handed to callers. Pure functions; no state is touched
 * here.
 *
 * @module
 */

import type { JobRecord, NewJobRecord } from "../../src/backend/interface.ts";

/** A job's entry in a timed heap (delayed, leases, expiry), keyed by `at`. */
export interface Entry {
  rec: Rec;
  at: number;
  /** Its place in the heap (indexed_heap.ts); -1 when in none. */
  i: number;
}

/** A stored job. Callers never see it: they get {@linkcode toRecord}. */
export interface Rec extends JobRecord {
  seq: number;
  /** Its place in a lane's heap of late arrivals (job_queue.ts), or -1. */
  i: number;
  /** Its stamp in its lane's queue while due and pending; 0 otherwise. */
  readyStamp: number;
  /** Its entry in the delayed heap, while pending and not yet due. */
  inDelayed: Entry | null;
  /**
   * Its entry in the lease heap (in it while processing: `i >= 0`), kept
   * for its next claim; null once it finishes.
   */
  inLeases: Entry | null;
  /** Its entry in the TTL heap, while stored with a TTL. */
  inExpiry: Entry | null;
  /** Its entry in a finished FIFO (retention.ts); 0 when none. */
  finishStamp: number;
  /** The finished FIFO that holds it, while finished and kept. */
  finishedIn: { live: number } | null;
  /**
   * Its removal time, while finished with an age rule; else NaN (a
   * number, so that setting it allocates nothing).
   */
  removeAt: number;
  /** A flow job's dependents (transitions_flows.ts). */
  children?: string[];
  /** A flow job's parents that have not finished for it yet. */
  waitingOn?: number;
  /** The parent whose failure cancelled it, for retry to undo. */
  blockedBy?: string | null;
  /** A flow job's own delay, counted from its release. */
  delay?: number;
}

/** The stored form of a new job: pending, version 1. */
export function newRec(job: NewJobRecord, seq: number): Rec {
  return {
    ...job,
    status: "pending",
    progress: 0,
    message: "",
    result: null,
    error: null,
    attempt: 0,
    updatedAt: job.createdAt,
    startedAt: null,
    completedAt: null,
    lease: null,
    version: 1,
    seq,
    i: -1,
    readyStamp: 0,
    inDelayed: null,
    inLeases: null,
    inExpiry: null,
    finishStamp: 0,
    finishedIn: null,
    removeAt: NaN,
  };
}

/** A copy the caller may keep (explicit fields: much faster than a spread). */
export function toRecord(rec: Rec): JobRecord {
  const out: JobRecord = {
    id: rec.id,
    type: rec.type,
    data: rec.data,
    priority: rec.priority,
    maxAttempts: rec.maxAttempts,
    runAt: rec.runAt,
    createdAt: rec.createdAt,
    ttl: rec.ttl,
    expiresAt: rec.expiresAt,
    key: rec.key,
    metadata: rec.metadata,
    keep: rec.keep,
    status: rec.status,
    progress: rec.progress,
    message: rec.message,
    result: rec.result,
    error: rec.error === null ? null : { ...rec.error },
    attempt: rec.attempt,
    updatedAt: rec.updatedAt,
    startedAt: rec.startedAt,
    completedAt: rec.completedAt,
    lease: rec.lease === null
      ? null
      : { token: rec.lease.token, until: rec.lease.until },
    version: rec.version,
  };
  if (rec.group !== undefined) out.group = rec.group;
  if (rec.flow !== undefined) {
    out.flow = { ...rec.flow, parents: { ...rec.flow.parents } };
  }
  return out;
}
