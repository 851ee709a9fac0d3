/**
 * Retention in the SQLite backend: the step a finishing transition ends
 * with, in its own transaction (the job's keep rule, then a bounded sweep
 * of jobs whose removal time has passed), and clean(). The finishing
 * statement itself (sql.ts) has set the removal time and thereby indexed
 * the job; this step only deletes. It must never emit: a deleted job's last
 * update was emitted by the transition that finished it.
 *
 * @module
 */

import type { CleanRequest } from "../../src/backend/interface.ts";
import type { Row } from "./records.ts";
import type { Tx } from "./db.ts";
import * as SQL from "./sql_retention.ts";

/** The statuses a job finishes with. */
export type Finished = "complete" | "failed" | "cancelled";

/**
 * Applies the keep rule of a job that just finished with `status`: deletes
 * it at once (age 0) or trims its status to the rule's count; then deletes
 * due removals (at most SQL.SWEEP_LIMIT), once per transaction and queue
 * however many jobs it finished (before its commit: db.ts). `row[at..at+2]` is the RETAIN
 * tail of the finishing statement (sql.ts): seq, the rule's age, its count.
 */
export function retain(
  tx: Tx,
  queue: string,
  status: Finished,
  now: number,
  row: Row,
  at: number,
): void {
  const age = row[at + 1] as number | null;
  const count = row[at + 2] as number | null;
  if (age === 0) {
    tx.stmt(SQL.DELETE_JOB).run(row[at] as number);
  } else if (count !== null) {
    trim(tx, queue, status, count);
  }
  tx.last(`sweep ${queue}`, () => sweep(tx, queue, now));
}

/** Deletes the jobs of a finished status beyond its newest `count`. */
export function trim(
  tx: Tx,
  queue: string,
  status: Finished,
  count: number,
): void {
  const from = tx.stmt(SQL.TRIM_FROM).get(queue, status, count) as
    | [number, number]
    | undefined;
  if (from !== undefined) tx.stmt(SQL.TRIM).run(queue, status, ...from);
}

/**
 * Deletes due removals (at most SQL.SWEEP_LIMIT): what a finishing step
 * ends with, and an import of finished jobs too.
 */
export function sweep(tx: Tx, queue: string, now: number): void {
  const drop = tx.stmt(SQL.DELETE_JOB);
  for (const [seq] of tx.stmt(SQL.SWEEP).all(queue, now)) {
    drop.run(seq as number);
  }
}

/** Deletes up to `limit` live jobs of one status, oldest first. */
export function cleanJobs(
  tx: Tx,
  queue: string,
  { status, cutoff, type, limit, now }: CleanRequest,
): number {
  const sql = status === "pending" ? SQL.CLEAN_PENDING : SQL.CLEAN_FINISHED;
  const done = tx.stmt(sql).run(queue, now, status, cutoff, type, limit) as {
    changes: number | bigint;
  };
  return Number(done.changes);
}
