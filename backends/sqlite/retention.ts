/**
 * Retention in the SQLite backend: the step a finishing transition ends
 * with (the job's keep rule, then, once per transaction and queue before
 * its commit, a bounded sweep of jobs whose removal time has passed), and
 * clean(). A finished job has one entry in jobline_jobs_kept, by status,
 * keep age and finish time (sql_retention_schema.ts): per age, finish
 * order is removal order. This step only deletes, and keeps the queue's
 * gate right: a time before which none of its jobs is due, lowered by a
 * finishing job due earlier, recomputed by a sweep, read once per
 * transaction (one row: what a finishing transaction with nothing due
 * costs). It lives in the file, so processes sharing it agree. It must
 * never emit: a deleted job's last update was emitted by the transition
 * that finished it.
 *
 * @module
 */

import type { CleanRequest } from "../../src/backend/interface.ts";
import type { Row } from "./records.ts";
import type { Tx } from "./db.ts";
import * as SQL from "./sql_retention.ts";

/** The statuses a job finishes with. */
export type Finished = "complete" | "failed" | "cancelled";

const FINISHED: readonly Finished[] = ["complete", "failed", "cancelled"];

/** What a transaction's finishing jobs of one queue leave for its step. */
interface Due {
  /** The latest `now` of the transaction's calls. */
  now: number;
  /** The earliest removal time they set (Infinity: none). */
  min: number;
  /** Set when removal times were written that `min` does not know. */
  full: boolean;
}

/** The queue's Due in this transaction; its step is registered with it. */
function dueOf(tx: Tx, queue: string, now: number): Due {
  const key = `retain ${queue}`;
  let due = tx.memo.get(key) as Due | undefined;
  if (due === undefined) {
    const fresh: Due = { now, min: Infinity, full: false };
    tx.memo.set(key, due = fresh);
    tx.last(key, () => step(tx, queue, fresh));
  } else if (now > due.now) {
    due.now = now;
  }
  return due;
}

/**
 * Applies the keep rule of a job that just finished with `status` at
 * `now`: deletes it at once (age 0) or trims its status to the rule's
 * count; notes its removal time for the gate. `row[at..at+3]` is the
 * RETAIN tail of the finishing statement (sql.ts): seq, the rule's age,
 * its count, then FLOW_TAIL. A flow job that failed or was cancelled may
 * have cancelled its dependents (transitions_flows.ts), whose removal
 * times are not noted: the step then sweeps in full.
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
  const due = dueOf(tx, queue, now);
  if (row[at + 3] !== null && status !== "complete") due.full = true;
  if (age === 0) {
    tx.stmt(SQL.DELETE_JOB).run(row[at] as number);
    return;
  }
  if (age !== null && now + age < due.min) due.min = now + age;
  if (count !== null) trim(tx, queue, status, count);
}

/**
 * Sweeps in full before this transaction commits: for a step that wrote
 * removal times without retain (an import, a flow's cancel).
 */
export function sweep(tx: Tx, queue: string, now: number): void {
  dueOf(tx, queue, now).full = true;
}

/**
 * The gate check a transaction's finishing jobs end with: one row read
 * when nothing is due (one write more when a job lowered the gate), else
 * a sweep.
 */
function step(tx: Tx, queue: string, due: Due): void {
  const { now, min } = due;
  const row = due.full ? undefined : tx.stmt(SQL.GATE).get(queue);
  if (row !== undefined) {
    const gate = (row[0] as number | null) ?? Infinity;
    if (Math.min(gate, min) > now) {
      if (min < gate) tx.stmt(SQL.GATE_SET).run(queue, min);
      return;
    }
  }
  sweepDue(tx, queue, now);
}

/**
 * Deletes due removals (at most SQL.SWEEP_LIMIT) by (status, age), oldest
 * first, then sets the gate to the earliest removal time left: `now` or
 * before while some are still due, so that the next step sweeps on.
 */
function sweepDue(tx: Tx, queue: string, now: number): void {
  const drop = tx.stmt(SQL.DELETE_JOB);
  let budget = SQL.SWEEP_LIMIT;
  let next = Infinity;
  for (const status of FINISHED) {
    for (const [age] of tx.stmt(SQL.AGES_TIMED).all(queue, status)) {
      const ms = age as number;
      if (budget > 0) {
        const rows = tx.stmt(SQL.DUE).all(queue, status, ms, now - ms);
        for (const [seq] of rows.slice(0, budget)) drop.run(seq as number);
        budget -= Math.min(budget, rows.length);
      }
      const head = tx.stmt(SQL.HEAD).get(queue, status, ms);
      if (head !== undefined) next = Math.min(next, (head[0] as number) + ms);
    }
  }
  const gate = tx.stmt(SQL.GATE).get(queue);
  const stored = gate === undefined ? undefined : gate[0] ?? Infinity;
  if (stored !== next) {
    tx.stmt(SQL.GATE_SET).run(queue, next === Infinity ? null : next);
  }
}

/** The keep ages of a finished status (null first: kept with no age). */
function agesOf(tx: Tx, queue: string, status: string): (number | null)[] {
  return tx.stmt(SQL.AGES).all(queue, status).map((r) => r[0] as number | null);
}

/**
 * Deletes the jobs of a finished status beyond its newest `count`: the
 * oldest ones, as many as the status has above `count` (none mostly).
 */
export function trim(
  tx: Tx,
  queue: string,
  status: Finished,
  count: number,
): void {
  const [total] = tx.stmt(SQL.tally(status)).get(queue)! as [number];
  if (total <= count) return;
  const ages = agesOf(tx, queue, status);
  if (ages.length === 0) return;
  const drop = tx.stmt(SQL.DELETE_JOB);
  const rows = tx.stmt(SQL.oldest(ages.length)).all(
    queue,
    status,
    total - count,
    ...ages,
  );
  for (const [seq] of rows) drop.run(seq as number);
}

/** Deletes up to `limit` live jobs of one status, oldest first. */
export function cleanJobs(
  tx: Tx,
  queue: string,
  { status, cutoff, type, limit, now }: CleanRequest,
): number {
  const params = [queue, now, status, cutoff, type, limit];
  let sql = SQL.CLEAN_PENDING;
  if (status !== "pending") {
    const ages = agesOf(tx, queue, status);
    if (ages.length === 0) return 0;
    sql = SQL.cleanFinished(ages.length);
    params.push(...ages);
  }
  const done = tx.stmt(sql).run(...params) as { changes: number | bigint };
  return Number(done.changes);
}
