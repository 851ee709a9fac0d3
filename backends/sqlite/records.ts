/**
 * Rows of `jobline_jobs` (and of `jobline_schedules`) to the records of the
 * backend interface, and the payloads of update events both ways. Pure
 * functions; no statement runs here.
 * Rows are read as arrays (faster than objects in every runtime), so the
 * positions come from the column lists beside the SQL.
 *
 * @module
 */

import type { FlowLink } from "../../src/backend/interface_flows.ts";
import type {
  JobRecord,
  KeepRecord,
  ScheduleRecord,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import type { JobError, JobStatus, QueueStats } from "../../src/types.ts";
import { RECORD_COLUMNS } from "./sql.ts";
import { CLAIMED_COLUMNS } from "./sql_claim.ts";

/** A row read as an array. */
export type Row = readonly unknown[];

function positions<const C extends readonly string[]>(
  columns: C,
): { [K in C[number]]: number } {
  return Object.fromEntries(columns.map((c, i) => [c, i])) as {
    [K in C[number]]: number;
  };
}

const R = positions(RECORD_COLUMNS);
const C = positions(CLAIMED_COLUMNS);

function errorOf(text: unknown): JobError | null {
  return text === null ? null : JSON.parse(text as string) as JobError;
}

/**
 * The keep rules of a row whose four keep columns start at `at` (null in
 * rows stored before schema 3: kept until removed).
 */
function keepOf(r: Row, at: number): KeepRecord {
  return {
    complete: {
      age: r[at] as number | null,
      count: r[at + 1] as number | null,
    },
    failed: {
      age: r[at + 2] as number | null,
      count: r[at + 3] as number | null,
    },
  };
}

/**
 * Adds a flow job's link (JSON in `r[at]`) and a job's group (`r[at + 1]`)
 * to its record; a plain job's are null, and its record gets no `flow` or
 * `group` key.
 */
function withFlow(record: JobRecord, r: Row, at: number): JobRecord {
  const link = r[at] as string | null;
  if (link !== null) record.flow = JSON.parse(link) as FlowLink;
  const group = r[at + 1] as string | null;
  if (group !== null) record.group = group;
  return record;
}

/** The record of a RECORD row. */
export function toRecord(r: Row): JobRecord {
  const token = r[R.lease_token] as string | null;
  return withFlow(
    {
      id: r[R.id] as string,
      type: r[R.type] as string,
      data: r[R.data] as string,
      priority: r[R.priority] as number,
      maxAttempts: r[R.max_attempts] as number,
      runAt: r[R.run_at] as number,
      createdAt: r[R.created_at] as number,
      ttl: r[R.ttl] as number | null,
      expiresAt: r[R.expires_at] as number | null,
      key: r[R.key] as string | null,
      metadata: r[R.metadata] as string,
      keep: keepOf(r, R.keep_complete_age),
      status: r[R.status] as JobStatus,
      progress: r[R.progress] as number,
      message: r[R.message] as string,
      result: r[R.result] as string | null,
      error: errorOf(r[R.error]),
      attempt: r[R.attempt] as number,
      updatedAt: r[R.updated_at] as number,
      startedAt: r[R.started_at] as number | null,
      completedAt: r[R.completed_at] as number | null,
      lease: token === null
        ? null
        : { token, until: r[R.lease_until] as number },
      version: r[R.version] as number,
    },
    r,
    R.flow_link,
  );
}

/** The type of a CLAIMED row. */
export function typeOfClaimed(r: Row): string {
  return r[C.type] as string;
}

/** The seq (enqueue order) of a CLAIMED row. */
export function seqOf(r: Row): number {
  return r[C.seq] as number;
}

/** The priority of a CLAIMED row. */
export function priorityOf(r: Row): number {
  return r[C.priority] as number;
}

/** Claim order of CLAIMED rows: priority first, then enqueue order. */
export function bestFirst(a: Row, b: Row): number {
  return (b[C.priority] as number) - (a[C.priority] as number) ||
    (a[C.seq] as number) - (b[C.seq] as number);
}

/**
 * The record of a CLAIMED row, with what the claim set: status processing,
 * `startedAt = updatedAt = now`, the lease `token + seq` until `until`.
 */
export function claimedOf(
  r: Row,
  now: number,
  token: string,
  until: number,
): JobRecord {
  return withFlow(
    {
      id: r[C.id] as string,
      type: r[C.type] as string,
      data: r[C.data] as string,
      priority: r[C.priority] as number,
      maxAttempts: r[C.max_attempts] as number,
      runAt: r[C.run_at] as number,
      createdAt: r[C.created_at] as number,
      ttl: r[C.ttl] as number | null,
      expiresAt: r[C.expires_at] as number | null,
      key: r[C.key] as string | null,
      metadata: r[C.metadata] as string,
      keep: keepOf(r, C.keep_complete_age),
      status: "processing",
      progress: r[C.progress] as number,
      message: r[C.message] as string,
      result: null,
      error: errorOf(r[C.error]),
      attempt: r[C.attempt] as number,
      updatedAt: now,
      startedAt: now,
      completedAt: null,
      lease: { token: `${token}${r[C.seq]}`, until },
      version: r[C.version] as number,
    },
    r,
    C.flow_link,
  );
}

/**
 * The update payload of a claimed job, as the SQL's json_array would make
 * it (type, status, progress, message, attempt, result, error, at, version).
 */
export function claimedPayload(r: Row, now: number): string {
  const error = r[C.error] as string | null;
  return `[${JSON.stringify(r[C.type])},"processing",${r[C.progress]},${
    JSON.stringify(r[C.message])
  },${r[C.attempt]},null,${error ?? "null"},${now},${r[C.version]}]`;
}

/** The payload of a new job's "pending" (or a flow job's "waiting") update. */
export function pendingPayload(
  type: string,
  at: number,
  status: "pending" | "waiting" = "pending",
): string {
  return `[${JSON.stringify(type)},"${status}",0,"",0,null,null,${at},1]`;
}

/** Sums `[status, type, n]` rows into stats. */
export function statsOf(rows: readonly Row[]): QueueStats {
  const stats = emptyStats();
  for (const [status, type, n] of rows as [JobStatus, string, number][]) {
    countJobs(stats, type, status, n);
  }
  return stats;
}

/**
 * The update of an update event's payload (the array type, status,
 * progress, message, attempt, result text, error, at, version).
 */
export function updateOf(jobId: string, payload: unknown): UpdateRecord {
  const [type, status, progress, message, attempt, result, error, at, version] =
    payload as [
      string,
      JobStatus,
      number,
      string,
      number,
      string | null,
      JobError | null,
      number,
      number,
    ];
  return {
    jobId,
    type,
    status,
    progress,
    message,
    attempt,
    result,
    error,
    at,
    version,
  };
}

/** The record of a schedule row (`[name, definition, next_run_at, version]`). */
export function scheduleOf(r: Row): ScheduleRecord {
  return {
    name: r[0] as string,
    definition: r[1] as string,
    nextRunAt: r[2] as number,
    version: r[3] as number,
  };
}
