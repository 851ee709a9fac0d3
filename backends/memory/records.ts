/**
 * Records of the memory backend: the stored job (a JobRecord with its
 * enqueue sequence and heap generation), made from a new job, and the
 * copy of it handed to callers. Pure functions; no state is touched here.
 *
 * @module
 */

import type { JobRecord, NewJobRecord } from "../../src/backend/interface.ts";

/** A stored job. Callers never see it: they get {@linkcode toRecord}. */
export interface Rec extends JobRecord {
  seq: number;
  /** Bumped when the job leaves a heap's state: stale entries are skipped. */
  gen: number;
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
    gen: 0,
  };
}

/** A copy the caller may keep (explicit fields: much faster than a spread). */
export function toRecord(rec: Rec): JobRecord {
  return {
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
}
