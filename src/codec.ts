/**
 * Turns backend records into the shapes users see: parses the JSON text
 * fields and leaves out what is not set. Never touches a store.
 *
 * @module
 */

import type { JobRecord, UpdateRecord } from "./backend/interface.ts";
import type { ClaimedJob, Job, JobUpdate, JsonValue } from "./types.ts";

/**
 * The metadata key under which a job's own `timeout` (ms) is stored, until
 * the backend records have a field for it. Reserved: enqueue refuses it in
 * a caller's metadata, and decoding moves it to `job.timeout`.
 */
export const TIMEOUT_KEY = "jobline:timeout";

/** Turns a stored record into a Job. */
export function decodeJob<D>(record: JobRecord): Job<D> {
  const metadata = record.metadata === "{}"
    ? {}
    : JSON.parse(record.metadata) as Record<string, JsonValue>;
  const timeout = metadata[TIMEOUT_KEY];
  if (timeout !== undefined) delete metadata[TIMEOUT_KEY];
  const job: Job<D> = {
    id: record.id,
    type: record.type,
    data: JSON.parse(record.data) as D,
    status: record.status,
    priority: record.priority,
    progress: record.progress,
    message: record.message,
    attempt: record.attempt,
    maxAttempts: record.maxAttempts,
    runAt: record.runAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    metadata,
    version: record.version,
  };
  if (record.result !== null) job.result = JSON.parse(record.result);
  if (record.error !== null) job.error = record.error;
  if (record.startedAt !== null) job.startedAt = record.startedAt;
  if (record.completedAt !== null) job.completedAt = record.completedAt;
  if (record.ttl !== null) job.ttl = record.ttl;
  if (record.expiresAt !== null) job.expiresAt = record.expiresAt;
  if (record.key !== null) job.key = record.key;
  if (typeof timeout === "number") job.timeout = timeout;
  if (record.group !== undefined) job.group = record.group;
  if (record.flow !== undefined) {
    job.flow = {
      id: record.flow.id,
      ref: record.flow.ref,
      dependsOn: Object.keys(record.flow.parents),
      onParentFailure: record.flow.onParentFailure,
    };
  }
  return job;
}

/** Turns a claimed record (which must hold a lease) into a ClaimedJob. */
export function decodeClaimed<D>(record: JobRecord): ClaimedJob<D> {
  const job = decodeJob<D>(record) as ClaimedJob<D>;
  // The record is the backend's copy, handed over: its lease is the job's.
  job.lease = record.lease!;
  return job;
}

/** Turns a published update record into a JobUpdate. */
export function decodeUpdate(record: UpdateRecord): JobUpdate {
  const update: JobUpdate = {
    jobId: record.jobId,
    type: record.type,
    status: record.status,
    progress: record.progress,
    message: record.message,
    attempt: record.attempt,
    at: record.at,
    version: record.version,
  };
  if (record.result !== null) update.result = JSON.parse(record.result);
  if (record.error !== null) update.error = record.error;
  return update;
}

/** The update that describes a job's current state. */
export function updateOf(job: Job): JobUpdate {
  const update: JobUpdate = {
    jobId: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    message: job.message,
    attempt: job.attempt,
    at: job.updatedAt,
    version: job.version,
  };
  if (job.result !== undefined) update.result = job.result;
  if (job.error !== undefined) update.error = job.error;
  return update;
}

/** Makes the update record of a job record (for backend authors). */
export function updateRecordOf(record: JobRecord): UpdateRecord {
  return {
    jobId: record.id,
    type: record.type,
    status: record.status,
    progress: record.progress,
    message: record.message,
    attempt: record.attempt,
    result: record.result,
    error: record.error,
    at: record.updatedAt,
    version: record.version,
  };
}

/** True for complete, failed and cancelled. */
export function isTerminal(status: string): boolean {
  return status === "complete" || status === "failed" || status === "cancelled";
}
