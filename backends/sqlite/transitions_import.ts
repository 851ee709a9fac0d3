/**
 * The import transition of the SQLite backend (moving a queue between
 * backends, SPEC §10): stores jobs as they are, in one write transaction,
 * each with the next seq (its place in claim order), its key held while
 * pending, its finish time and keep rules once finished; then sweeps
 * the removals that are due, as a finishing step does. It publishes no
 * update (the jobs did not change), only one wake for the pending ones.
 * It checks every job before it writes: a refused call writes nothing.
 *
 * @module
 */

import { checkImported } from "../../src/backend/import_check.ts";
import type { ImportOutcome, JobRecord } from "../../src/backend/interface.ts";
import type { Tx } from "./db.ts";
import { dropExpired, laneFor } from "./limits.ts";
import { sweep } from "./retention.ts";
import { DROP_EXPIRED_HOLDER } from "./sql.ts";
import { ID_TAKEN, IMPORT_JOB } from "./sql_import.ts";

/** Stores jobs as they are (see BackendImport.importJobs). */
export function importJobs(
  tx: Tx,
  queue: string,
  jobs: readonly JobRecord[],
  now: number,
): ImportOutcome[] {
  checkImported(jobs);
  let wakeAt = Infinity;
  const outcomes = jobs.map((job): ImportOutcome => {
    const pending = job.status === "pending";
    if (pending && job.key !== null) {
      dropExpired(tx, queue, now, DROP_EXPIRED_HOLDER, job.key);
    }
    const row = insert(tx, queue, job, now);
    if (row === undefined) {
      const taken = tx.stmt(ID_TAKEN).get(queue, job.id) !== undefined;
      return taken ? "exists" : "key-held";
    }
    if (pending && job.group !== undefined && job.runAt <= now) {
      laneFor(tx, queue, job, row[0] as number);
    }
    if (pending && job.runAt < wakeAt) wakeAt = job.runAt;
    return "created";
  });
  sweep(tx, queue, now);
  if (wakeAt !== Infinity) tx.emit(queue, "w", null, String(wakeAt));
  return outcomes;
}

/** Inserts one job; undefined when its id is stored or its key held. */
function insert(
  tx: Tx,
  queue: string,
  job: JobRecord,
  now: number,
): readonly unknown[] | undefined {
  const pending = job.status === "pending";
  const { complete, failed } = job.keep;
  return tx.stmt(IMPORT_JOB).get(
    queue,
    job.id,
    job.type,
    job.data,
    job.priority,
    job.maxAttempts,
    job.runAt,
    job.createdAt,
    job.ttl,
    job.expiresAt,
    job.key,
    pending ? job.key : null,
    job.metadata,
    pending ? (job.runAt > now ? 1 : 0) : 3,
    job.status,
    job.progress,
    job.message,
    job.result,
    job.error === null ? null : JSON.stringify(job.error),
    job.attempt,
    job.updatedAt,
    job.startedAt,
    job.completedAt,
    job.version,
    complete.age,
    complete.count,
    failed.age,
    failed.count,
    job.group ?? null,
  );
}
