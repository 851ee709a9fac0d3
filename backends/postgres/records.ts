/**
 * Row shapes of the PostgreSQL backend: jobs rows to JobRecords (and
 * re-read rows to updates), stats rows to QueueStats, schedule rows to
 * ScheduleRecords, new jobs to the columns the enqueue statements read, and
 * flow or imported jobs to the JSON their insert statements read. Pure
 * functions; it must never touch a connection. A row stored before
 * migration 4 has no keep rules: it reads as kept (`{ age: null, count:
 * null }`), as it was.
 *
 * @module
 */

import type {
  JobRecord,
  KeepRule,
  NewJobRecord,
  ScheduleRecord,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import type { NewFlowJobRecord } from "../../src/backend/interface_flows.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import { INSERT_COLUMNS } from "./sql_enqueue.ts";
import type { JobStatus, QueueStats } from "../../src/types.ts";

/** A row as the driver returns it. */
export interface Row {
  [column: string]: unknown;
}

/**
 * A raw jobs row, as the statements return it, to a JobRecord; `group`
 * only on a job of a group, `flow` only on a job of a flow.
 */
export function toRecord(r: Row): JobRecord {
  const record: JobRecord = {
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
    keep: {
      complete: ruleOf(r.keepcompleteage, r.keepcompletecount),
      failed: ruleOf(r.keepfailedage, r.keepfailedcount),
    },
  };
  if (typeof r.jobgroup === "string") record.group = r.jobgroup;
  if (typeof r.flowid === "string") {
    record.flow = {
      id: r.flowid,
      ref: r.flowref as string,
      parents: JSON.parse(r.flowparents as string),
      onParentFailure: r.flowcontinue === true ? "continue" : "cancel",
    };
  }
  return record;
}

function ruleOf(age: unknown, count: unknown): KeepRule {
  return {
    age: (age ?? null) as number | null,
    count: (count ?? null) as number | null,
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

/**
 * A batch of new jobs as the insert statements read it (their $3..$23):
 * `[shared, kca, kcc, kfa, kfc, ...columns]`. When every job has the same
 * keep rules (its queue's, as a rule), they are sent once (`shared` true)
 * and their four columns are null. The batch goes column by column
 * (sql_enqueue.ts, INSERT_COLUMNS): a text column as a JSON array of
 * strings, a number column as an array literal (`{1,2,NULL}`), a column
 * with no value in any job as null; a batch of one job sends its values as
 * they are (`insertOne`).
 */
export function insertArgs(
  jobs: readonly NewJobRecord[],
): (string | boolean | number | null)[] {
  const { complete, failed } = jobs[0]!.keep;
  const shared = jobs.every(({ keep: k }) =>
    k.complete.age === complete.age && k.complete.count === complete.count &&
    k.failed.age === failed.age && k.failed.count === failed.count
  );
  const n = jobs.length;
  const cols = INSERT_COLUMNS.map(() => new Array<string | number | null>(n));
  for (let i = 0; i < n; i++) {
    const job = jobs[i]!;
    cols[0]![i] = job.id;
    cols[1]![i] = job.type;
    cols[2]![i] = job.data;
    cols[3]![i] = job.priority;
    cols[4]![i] = job.maxAttempts;
    cols[5]![i] = job.runAt;
    cols[6]![i] = job.createdAt;
    cols[7]![i] = job.ttl;
    cols[8]![i] = job.expiresAt;
    cols[9]![i] = job.key;
    cols[10]![i] = job.metadata;
    cols[11]![i] = job.group ?? null;
    if (shared) continue;
    cols[12]![i] = job.keep.complete.age;
    cols[13]![i] = job.keep.complete.count;
    cols[14]![i] = job.keep.failed.age;
    cols[15]![i] = job.keep.failed.count;
  }
  return [
    shared,
    complete.age,
    complete.count,
    failed.age,
    failed.count,
    ...cols.map((values, c) =>
      shared && c >= 12
        ? null
        : n === 1
        ? values[0]!
        : columnText(values, INSERT_COLUMNS[c]![1] === "text")
    ),
  ];
}

/** One column as sent: JSON (text), an array literal (numbers), or null. */
function columnText(
  values: (string | number | null)[],
  text: boolean,
): string | null {
  let any = false;
  for (const v of values) {
    if (v !== null) {
      any = true;
      break;
    }
  }
  if (!any) return null;
  if (text) return JSON.stringify(values);
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += (i === 0 ? "" : ",") + (v === null ? "NULL" : v);
  }
  return out + "}";
}

function jobJson(job: NewJobRecord): Record<string, unknown> {
  return {
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
    grp: job.group,
  };
}

/**
 * The jobs of a new flow as its insert statement reads them (sql_flows.ts):
 * each with its keep rules, its link (parents as JSON text), its children
 * (null when none) and how many parents it waits for.
 */
export function flowJson(jobs: readonly NewFlowJobRecord[]): string {
  return JSON.stringify(jobs.map((job) => {
    const { ttl: _t, expires_at: _e, key: _k, ...rest } = jobJson(job);
    return {
      ...rest,
      kca: job.keep.complete.age,
      kcc: job.keep.complete.count,
      kfa: job.keep.failed.age,
      kfc: job.keep.failed.count,
      ref: job.flow.ref,
      parents: JSON.stringify(job.flow.parents),
      cont: job.flow.onParentFailure === "continue",
      children: job.children.length === 0 ? null : job.children,
      waiting: Object.keys(job.flow.parents).length,
    };
  }));
}

/** A row of the re-read statement (sql_final.ts) to an UpdateRecord. */
export function toUpdate(r: Row): UpdateRecord {
  return {
    jobId: r.id as string,
    type: r.type as string,
    status: r.status as UpdateRecord["status"],
    progress: r.progress as number,
    message: r.message as string,
    attempt: r.attempt as number,
    result: r.result as string | null,
    error: r.error === null ? null : JSON.parse(r.error as string),
    at: r.updatedat as number,
    version: r.version as number,
  };
}

/** A schedule row (sql_schedule.ts) to a ScheduleRecord. */
export function toSchedule(r: Row): ScheduleRecord {
  return {
    name: r.name as string,
    definition: r.definition as string,
    nextRunAt: r.nextrunat as number,
    version: r.version as number,
  };
}

/** Jobs to import as the import statement reads them (sql_import.ts). */
export function importJson(jobs: readonly JobRecord[]): string {
  return JSON.stringify(jobs.map((job) => ({
    ...jobJson(job),
    status: job.status,
    progress: job.progress,
    message: job.message,
    result: job.result,
    error: job.error === null ? null : JSON.stringify(job.error),
    attempt: job.attempt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    version: job.version,
    kca: job.keep.complete.age,
    kcc: job.keep.complete.count,
    kfa: job.keep.failed.age,
    kfc: job.keep.failed.count,
  })));
}
