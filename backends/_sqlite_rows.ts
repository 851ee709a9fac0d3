/**
 * Rows of `jobline_jobs` to the records of the backend interface. Pure
 * functions; no statement runs here.
 *
 * @module
 */

import type { JobRecord, UpdateRecord } from "../src/backend.ts";
import type {
  JobError,
  JobStatus,
  QueueStats,
  StatusCounts,
} from "../src/types.ts";

/** The columns of an update, as RETURNING gives them. */
export interface UpdateRow {
  id: string;
  type: string;
  status: JobStatus;
  progress: number;
  message: string;
  attempt: number;
  result: string | null;
  error: string | null;
  updated_at: number;
  version: number;
}

/** Every column of a job record. */
export interface JobRow extends UpdateRow {
  data: string;
  priority: number;
  max_attempts: number;
  run_at: number;
  created_at: number;
  ttl: number | null;
  expires_at: number | null;
  key: string | null;
  metadata: string;
  started_at: number | null;
  completed_at: number | null;
  lease_token: string | null;
  lease_until: number | null;
  seq: number;
}

function errorOf(text: string | null): JobError | null {
  return text === null ? null : JSON.parse(text) as JobError;
}

/** The record of a row. */
export function recordOf(r: JobRow): JobRecord {
  return {
    id: r.id,
    type: r.type,
    data: r.data,
    priority: r.priority,
    maxAttempts: r.max_attempts,
    runAt: r.run_at,
    createdAt: r.created_at,
    ttl: r.ttl,
    expiresAt: r.expires_at,
    key: r.key,
    metadata: r.metadata,
    status: r.status,
    progress: r.progress,
    message: r.message,
    result: r.result,
    error: errorOf(r.error),
    attempt: r.attempt,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    lease: r.lease_token === null
      ? null
      : { token: r.lease_token, until: r.lease_until! },
    version: r.version,
  };
}

/** The update record of a row. */
export function updateOf(r: UpdateRow): UpdateRecord {
  return {
    jobId: r.id,
    type: r.type,
    status: r.status,
    progress: r.progress,
    message: r.message,
    attempt: r.attempt,
    result: r.result,
    error: errorOf(r.error),
    at: r.updated_at,
    version: r.version,
  };
}

/** Claim order: priority first, then enqueue order. */
export function bestFirst(a: JobRow, b: JobRow): number {
  return b.priority - a.priority || a.seq - b.seq;
}

function emptyCounts(): StatusCounts {
  return { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 };
}

/** Sums `(status, type, n)` rows into stats. */
export function statsOf(
  rows: { status: JobStatus; type: string; n: number }[],
): QueueStats {
  const stats: QueueStats = { ...emptyCounts(), byType: {} };
  for (const { status, type, n } of rows) {
    stats[status] += n;
    (stats.byType[type] ??= emptyCounts())[status] += n;
  }
  return stats;
}
