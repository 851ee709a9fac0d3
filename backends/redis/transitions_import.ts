/**
 * The import transition of the Redis backend (moving a queue between
 * backends, SPEC §10): every job of a call written as it is, in one script
 * call (IMPORT in lua_import.ts), each hash field as records.ts reads it
 * back. It checks every job before it sends any: a refused call writes
 * nothing.
 *
 * @module
 */

import { checkImported } from "../../src/backend/import_check.ts";
import type { ImportOutcome, JobRecord } from "../../src/backend/interface.ts";
import { keepField, packJob } from "./records.ts";
import type { Scripts } from "./transitions.ts";

/** A job's IMPORT_FIELDS script arguments ("" for an absent field). */
function importFields(job: JobRecord): string[] {
  const opt = (v: number | string | null): string =>
    v === null ? "" : String(v);
  return [
    job.id,
    job.type,
    job.status,
    packJob(job),
    keepField(job.keep),
    opt(job.expiresAt),
    opt(job.key),
    job.progress === 0 ? "" : String(job.progress),
    job.message,
    job.status === "complete" ? opt(job.result) : "",
    job.error === null ? "" : JSON.stringify(job.error),
    String(job.attempt),
    String(job.updatedAt),
    opt(job.startedAt),
    opt(job.completedAt),
    String(job.version),
    String(job.priority),
    String(job.runAt),
    job.group ?? "",
  ];
}

/** Stores jobs as they are (see BackendImport.importJobs). */
export async function importJobs(
  s: Scripts,
  queue: string,
  jobs: readonly JobRecord[],
  now: number,
): Promise<ImportOutcome[]> {
  checkImported(jobs);
  if (jobs.length === 0) return [];
  const args = [String(now), String(jobs.length)];
  for (const job of jobs) args.push(...importFields(job));
  const reply = await s.run("import", queue, args) as unknown[];
  return reply.map((o) => String(o) as ImportOutcome);
}
