/**
 * The check every backend's `importJobs` makes before it writes anything:
 * each record a pending or finished job with values a backend can store
 * (finite numbers, a priority in 1..100, whole attempt counts, keep rules
 * of whole non-negative ms or counts), so that a bad record fails the
 * whole batch with a ValidationError and leaves nothing half-written. A
 * store that applies a batch step by step (a Redis script does not roll
 * back) could otherwise keep the records before the bad one.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { JobRecord, KeepRule } from "./interface.ts";

/** The statuses a job may be imported with. */
const IMPORTABLE = new Set(["pending", "complete", "failed", "cancelled"]);

/**
 * Throws a ValidationError for the first record of `jobs` that no backend
 * may import; returns when every one may be.
 *
 * @example
 * ```ts
 * import { checkImported } from "@jobline/jobline/backend";
 * try {
 *   checkImported([{ id: "a", status: "processing" } as never]);
 * } catch (err) {
 *   console.log((err as Error).name); // "ValidationError"
 * }
 * ```
 *
 * @param jobs The records an importJobs call was given.
 * @throws {ValidationError} naming the record and what is wrong with it.
 */
export function checkImported(jobs: readonly JobRecord[]): void {
  if (!Array.isArray(jobs)) {
    throw new ValidationError("Cannot import jobs as they must be an array");
  }
  for (const job of jobs) {
    const why = problem(job);
    if (why !== null) {
      const id = typeof job?.id === "string" ? `'${job.id}'` : "(no id)";
      throw new ValidationError(`Cannot import job ${id} as ${why}`);
    }
  }
}

/** What makes a record unfit to import, or null. */
function problem(job: JobRecord): string | null {
  if (job === null || typeof job !== "object") return "it is not a record";
  if (!IMPORTABLE.has(job.status)) {
    return `its status is '${job.status}': only pending and finished jobs are imported`;
  }
  for (const field of ["id", "type", "data", "metadata", "message"] as const) {
    if (typeof job[field] !== "string") return `its '${field}' is not text`;
  }
  if (
    !Number.isInteger(job.priority) || job.priority < 1 || job.priority > 100
  ) {
    return `its priority ${job.priority} is not a whole number in 1..100`;
  }
  if (!Number.isInteger(job.maxAttempts) || job.maxAttempts < 1) {
    return `its maxAttempts ${job.maxAttempts} is not a whole number of 1 or more`;
  }
  if (!Number.isInteger(job.attempt) || job.attempt < 0) {
    return `its attempt ${job.attempt} is not a whole number of 0 or more`;
  }
  if (!(job.progress >= 0 && job.progress <= 1)) {
    return `its progress ${job.progress} is not in 0..1`;
  }
  for (const field of ["runAt", "createdAt", "updatedAt"] as const) {
    if (!Number.isFinite(job[field])) return `its '${field}' is not a time`;
  }
  for (
    const field of ["ttl", "expiresAt", "startedAt", "completedAt"] as const
  ) {
    const value = job[field];
    if (value !== null && !Number.isFinite(value)) {
      return `its '${field}' is neither null nor a number`;
    }
  }
  if (!Number.isInteger(job.version) || job.version < 0) {
    return `its version ${job.version} is not a whole number`;
  }
  const keep = job.keep;
  if (
    keep === null || typeof keep !== "object" || !rule(keep.complete) ||
    !rule(keep.failed)
  ) {
    return "its keep rules are not { age, count } of whole numbers or null";
  }
  return null;
}

/** A keep rule: `age` and `count` each null or a whole number ≥ 0. */
function rule(r: KeepRule): boolean {
  const ok = (v: number | null) =>
    v === null || (Number.isInteger(v) && v >= 0);
  return r !== null && typeof r === "object" && ok(r.age) && ok(r.count);
}
