/**
 * Row shapes of the PostgreSQL backend: jobs rows to JobRecords, stats rows
 * to QueueStats, and new jobs to the JSON the insert statements read. Pure
 * functions; it must never touch a connection.
 *
 * @module
 */

import type { JobRecord, NewJobRecord } from "../../src/backend/interface.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import type { JobStatus, QueueStats } from "../../src/types.ts";

/** A row as the driver returns it. */
export interface Row {
  [column: string]: unknown;
}

/** A raw jobs row, as the statements return it, to a JobRecord. */
export function toRecord(r: Row): JobRecord {
  return {
    id: r.id as string,
    type: r.type as string,
    data: r.data as string,
    priority: r.priority as number,
    maxAttempts: r.maxattempts as number,
    runAt: r.runat as number,
    createdAt: r.createdat as number,
    ttl: r.ttl as number | null,
    expiresAt: r.expiresat as number | null,
    key: r.key as string | null,
    metadata: r.metadata as string,
    status: r.status as JobRecord["status"],
    progress: r.progress as number,
    message: r.message as string,
    result: r.result as string | null,
    error: r.error === null ? null : JSON.parse(r.error as string),
    attempt: r.attempt as number,
    updatedAt: r.updatedat as number,
    startedAt: r.startedat as number | null,
    completedAt: r.completedat as number | null,
    lease: r.leasetoken === null
      ? null
      : { token: r.leasetoken as string, until: r.leaseuntil as number },
    version: r.version as number,
  };
}

/** Rows of the stats statement (`status`, `type`, `n`) to QueueStats. */
export function toStats(rows: readonly Row[]): QueueStats {
  const stats = emptyStats();
  for (const r of rows) {
    countJobs(stats, r.type as string, r.status as JobStatus, r.n as number);
  }
  return stats;
}

/** A batch of new jobs as the JSON the insert statements read. */
export function jobsJson(jobs: readonly NewJobRecord[]): string {
  return JSON.stringify(jobs.map((job) => ({
    id: job.id,
    type: job.type,
    data: job.data,
    priority: job.priority,
    max_attempts: job.maxAttempts,
    run_at: job.runAt,
    created_at: job.createdAt,
    ttl: job.ttl,
    expires_at: job.expiresAt,
    key: job.key,
    metadata: job.metadata,
  })));
}
